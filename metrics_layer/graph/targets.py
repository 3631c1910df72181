"""Targets: the same definitions against another environment's tables (dev, staging, prod).

A target renames the tables a source reads, never what the definitions mean: a schema for tables
written without one, renamed schemas, a prefix for every table name, and its own connection.
Tables are renamed in the source's ``table`` and in every table its ``sql`` reads (names of the
query's own CTEs are left alone).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlglot import exp

from metrics_layer.errors import Diagnostic, Level, did_you_mean
from metrics_layer.spec.models import ProjectSpec

__all__ = ["TARGET_VARIABLE", "Target", "choose_target"]

TARGET_VARIABLE = "METRICS_LAYER_TARGET"


@dataclass(frozen=True)
class Target:
    """How table names change in one environment; ``Target()`` changes nothing."""

    name: str | None = None
    schema: str | None = None
    schemas: Mapping[str, str] = field(default_factory=dict)
    prefix: str | None = None
    connection: str | None = None

    def rename(self, relation: exp.Expr) -> exp.Expr:
        """``relation`` (a table or a query) with its tables renamed for this target.

        >>> t = Target("dev", schema="dev", schemas={"analytics": "analytics_dev"}, prefix="ml_")
        >>> t.rename(exp.to_table("events")).sql()
        'dev.ml_events AS events'
        >>> import sqlglot
        >>> t.rename(sqlglot.parse_one(
        ...     "WITH u AS (SELECT * FROM analytics.users) SELECT * FROM u, orders")).sql()[:60]
        'WITH u AS (SELECT * FROM analytics_dev.ml_users AS users) SE'
        """
        if self.schema is None and not self.schemas and self.prefix is None:
            return relation
        ctes = {cte.alias_or_name for cte in relation.find_all(exp.CTE)}
        for table in list(relation.find_all(exp.Table)):
            if not isinstance(table.this, exp.Identifier):
                continue
            if not table.args.get("db") and table.name in ctes:
                continue
            self._rename_table(table)
        return relation

    def _rename_table(self, table: exp.Table) -> None:
        db = table.args.get("db")
        if isinstance(db, exp.Identifier) and db.name in self.schemas:
            table.set("db", exp.Identifier(this=self.schemas[db.name], quoted=db.quoted))
        elif db is None and self.schema is not None:
            table.set("db", exp.to_identifier(self.schema))
        if self.prefix is not None:
            name = table.this
            if not table.alias:
                # Columns may be qualified by the table's name (users.user_id): keep it.
                table.set("alias", exp.TableAlias(this=name.copy()))
            table.set("this", exp.Identifier(this=self.prefix + name.name, quoted=name.quoted))


def choose_target(
    settings: ProjectSpec, explicit: str | None, file: str | None
) -> tuple[Target, list[Diagnostic]]:
    """The target named by the caller, else ``METRICS_LAYER_TARGET``, else the project's
    ``target``; ``Target()`` when none is named. An unknown name is a diagnostic."""
    name = explicit or os.environ.get(TARGET_VARIABLE) or settings.target
    if not name:
        return Target(), []
    spec = settings.targets.get(name)
    if spec is None:
        known = ", ".join(sorted(settings.targets)) or "none"
        return Target(), [
            Diagnostic(
                Level.ERROR,
                f"unknown target {name!r}.{did_you_mean(name, settings.targets)} The project's "
                f"targets: {known}",
                file,
                code="project",
                hint="declare it under project.targets, or choose another with target=, "
                f"--target or {TARGET_VARIABLE}",
            )
        ]
    target = Target(name, spec.schema_, dict(spec.schemas), spec.table_prefix, spec.connection)
    return target, []
