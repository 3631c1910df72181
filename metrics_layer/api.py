"""The public facade: load definitions, browse the catalogue, compile and run queries.

``SemanticLayer`` and ``Query`` only connect the stages (spec → graph → checks → planner →
sql → engine); each stage lives in its own package.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from metrics_layer.errors import DefinitionError, Diagnostic, Level

if TYPE_CHECKING:
    from sqlglot import exp

    from metrics_layer.engine.connection import Connection
    from metrics_layer.engine.result import Result
    from metrics_layer.graph.graph import Graph
    from metrics_layer.graph.model import Metric
    from metrics_layer.planner.plan import Plan
    from metrics_layer.planner.query import MetricQuery
    from metrics_layer.safety.statement import Statement

__all__ = ["Query", "SemanticLayer", "check", "load"]


def check(
    path: str | Path = "definitions", *, allow_outside: bool = False
) -> tuple[Graph | None, list[Diagnostic]]:
    """Load and check the project at ``path``; returns the graph and every diagnostic.

    Files are read only from inside the project folder (symbolic links resolved) unless
    ``allow_outside``; a project file cannot allow it, since it may come from a pull request.
    """
    from metrics_layer.checks.run import run_checks
    from metrics_layer.graph.build import build_graph
    from metrics_layer.spec.project import read_project

    project = read_project(path, allow_outside=allow_outside)
    if project.diagnostics:
        return None, _bounded(project.diagnostics)
    try:
        graph, problems = build_graph(project)
        if any(p.level is Level.ERROR for p in problems):
            return graph, _bounded(problems)
        return graph, _bounded([*problems, *run_checks(graph)])
    except RecursionError:
        # The last net: a stage that recurses on something nested in the files (a SQL
        # expression with dozens of nested parentheses) must still end in a diagnostic.
        return None, [
            Diagnostic(
                Level.ERROR,
                "an expression in the definitions nests too deeply to check (dozens of nested "
                "parentheses or operators); simplify it",
                str(project.root),
                code="limit",
            )
        ]


def _bounded(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics that cannot flood or rewrite a log: messages (which may quote the files) cut
    and escaped, at most ``MAX_DIAGNOSTICS_PER_FILE`` per file and ``MAX_DIAGNOSTICS`` in all,
    the rest counted in one diagnostic per file."""
    from dataclasses import replace

    from metrics_layer.spec.limits import MAX_DIAGNOSTICS, MAX_DIAGNOSTICS_PER_FILE, bounded

    kept: list[Diagnostic] = []
    per_file: dict[str | None, int] = {}
    dropped: dict[str | None, list[Level]] = {}
    for d in diagnostics:
        count = per_file[d.file] = per_file.get(d.file, 0) + 1
        if count > MAX_DIAGNOSTICS_PER_FILE or len(kept) >= MAX_DIAGNOSTICS:
            dropped.setdefault(d.file, []).append(d.level)
        else:
            kept.append(replace(d, message=bounded(d.message)))
    for file, levels in dropped.items():
        level = Level.ERROR if Level.ERROR in levels else Level.WARNING
        kept.append(
            Diagnostic(
                level,
                f"{len(levels)} more problem(s) here are not listed; fix the ones listed and "
                "check again",
                file,
                code="limit",
            )
        )
    return kept


def load(
    path: str | Path = "definitions",
    *,
    connection: str | None = None,
    timeout: float | None = None,
    allow_outside: bool = False,
) -> SemanticLayer:
    """Load the definitions at ``path``; raises DefinitionError listing every problem.

    ``connection`` is a SQLAlchemy URL; without it, ``METRICS_LAYER_URL``, then the project's
    ``connection`` setting, then the embedded demo DuckDB is used. ``timeout`` (seconds) is how
    long each query may run; without it, the project's ``timeout`` (120 s by default).
    ``allow_outside`` lets ``project.paths`` and symbolic links reach files outside the project
    folder.
    """
    graph, diagnostics = check(path, allow_outside=allow_outside)
    if graph is None or any(d.level is Level.ERROR for d in diagnostics):
        raise DefinitionError(diagnostics)
    return SemanticLayer(graph, diagnostics, connection=connection, timeout=timeout)


class SemanticLayer:
    """A loaded, checked set of definitions bound to a database connection."""

    def __init__(
        self,
        graph: Graph,
        diagnostics: Sequence[Diagnostic] = (),
        *,
        connection: str | None = None,
        timeout: float | None = None,
    ) -> None:
        from metrics_layer.engine.connection import Connection, check_timeout, resolve_url

        self.graph = graph
        self.warnings = tuple(diagnostics)
        self.timeout = check_timeout(graph.settings.timeout if timeout is None else timeout)
        self.max_rows = graph.settings.max_rows
        self.connection: Connection = Connection(
            resolve_url(connection, graph.settings.connection), timeout=self.timeout
        )
        # Compiled SQL by (query, dialect, pretty): the graph never changes after loading, so a
        # dashboard asking the same question again skips planning and rendering.
        self.compiled: _Lru[tuple[MetricQuery, str, bool], str] = _Lru(COMPILED_CACHE_SIZE)
        # The run path's SQL, verified by the statement guard, by (query, dialect): a repeated
        # query is neither compiled nor parsed back again.
        self.verified: _Lru[tuple[MetricQuery, str], Statement] = _Lru(COMPILED_CACHE_SIZE)

    @property
    def metrics(self) -> tuple[Metric, ...]:
        """The catalogue: every metric with name, label, description, owner, status, version."""
        return tuple(sorted(self.graph.metrics.values(), key=lambda m: m.name))

    def metric(self, name: str) -> Metric:
        """One metric by name; QueryError with a suggestion when unknown."""
        return self.graph.metric(name, field="metric")

    @property
    def dimensions(self) -> tuple[str, ...]:
        """Every name a query can group or filter by."""
        return tuple(self.graph.query_names())

    @property
    def dialect(self) -> str:
        """The SQL dialect of the layer's connection."""
        return self.connection.dialect

    def query(
        self,
        metrics: str | Sequence[str] = (),
        *,
        by: str | Sequence[str] = (),
        where: str | None = None,
        start: str | dt.date | None = None,
        end: str | dt.date | None = None,
        order: str | Sequence[str] = (),
        limit: int | None = None,
    ) -> Query:
        """A query; compile with ``.sql()``, run with ``.run()``. Names are dotted."""
        from metrics_layer.planner.query import MetricQuery

        spec = MetricQuery.of(
            metrics, by=by, where=where, start=start, end=end, order=order, limit=limit
        )
        return Query(self, spec)

    def __repr__(self) -> str:
        return (
            f"<SemanticLayer {self.graph.settings.name!r}: {len(self.graph.metrics)} metrics, "
            f"{len(self.graph.sources)} sources, dialect {self.dialect}>"
        )

    def _repr_html_(self) -> str:
        """The catalogue as a table, for notebooks."""
        import html

        head = "".join(
            f"<th>{c}</th>" for c in ("name", "label", "type", "status", "version", "owner")
        )
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (m.name, m.label, m.kind.value, m.status.value, m.version, m.owner or "")
            )
            + f'</tr><tr><td></td><td colspan="5"><small>{html.escape(m.description or "")}'
            "</small></td></tr>"
            for m in self.metrics
        )
        title = html.escape(repr(self))
        return f"<p>{title}</p><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


COMPILED_CACHE_SIZE = 1024
K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A small least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)


class Query:
    """A planned metric query; SQL for any dialect, results from the layer's connection."""

    def __init__(self, layer: SemanticLayer, spec: MetricQuery) -> None:
        self.layer = layer
        self.spec = spec
        started = time.perf_counter()
        plan = self._new_plan()
        self._plan_ms = (time.perf_counter() - started) * 1000
        self._unused: Plan | None = plan
        self.columns: tuple[str, ...] = plan.columns
        self.versions: dict[str, int] = dict(plan.versions)

    def _new_plan(self) -> Plan:
        from metrics_layer.planner.planner import plan_query

        return plan_query(self.layer.graph, self.spec)

    @property
    def plan(self) -> Plan:
        """The query's plan (which scans, joins, groupings and aggregates it needs)."""
        if self._unused is None:
            self._unused = self._new_plan()
        return self._unused

    @property
    def tree(self) -> exp.Select:
        """A new dialect-neutral sqlglot tree of the query (yours to change)."""
        from metrics_layer.sql.build import build_select

        return build_select(self.plan)

    def sql(self, dialect: str | None = None, *, pretty: bool = True) -> str:
        """SQL for ``dialect`` (default: the layer's engine), e.g. ``q.sql("snowflake")``.

        Cached per layer: the same query for the same dialect is compiled once.
        """
        from metrics_layer.sql.dialects import dialect_name, render

        name = dialect_name(dialect or self.layer.dialect)
        key = (self.spec, name, pretty)
        text = self.layer.compiled.get(key)
        if text is None:
            text = render(self._consume_tree(), name, pretty=pretty)
            self.layer.compiled.put(key, text)
        return text

    def _consume_tree(self) -> exp.Select:
        """A tree built from the plan's own expressions (no copies); the plan is then spent."""
        from metrics_layer.sql.build import build_select

        plan = self.plan
        self._unused = None
        return build_select(plan, consume=True)

    def statement(self, dialect: str | None = None) -> Statement:
        """The SQL for ``dialect`` (default: the layer's engine) as checked by the statement guard.

        Cached per layer like ``sql()``. SQL the guard refuses is an InternalError: the compiler
        (or a definition's SQL that slipped past the definition checks) produced it.
        """
        from metrics_layer.errors import InternalError, StatementError
        from metrics_layer.safety.statement import verify
        from metrics_layer.sql.dialects import dialect_name

        name = dialect_name(dialect or self.layer.dialect)
        key = (self.spec, name)
        statement = self.layer.verified.get(key)
        if statement is None:
            try:
                statement = verify(self.sql(name), name)
            except StatementError as exc:
                raise InternalError(
                    f"the compiled SQL was refused before reaching the database ({exc}); a "
                    "source's `sql` or an `expr` may use something the allow-list does not "
                    "permit, otherwise please report this as a bug"
                ) from exc
            self.layer.verified.put(key, statement)
        return statement

    def run(
        self,
        connection: str | Connection | None = None,
        *,
        timeout: float | None = None,
        max_rows: int | None = None,
    ) -> Result:
        """Run on the layer's connection (or the given URL); read-only.

        ``timeout`` (seconds) and ``max_rows`` default to the layer's (the project settings);
        a query running longer, or returning more rows, is an EngineError.
        """
        from metrics_layer.engine.connection import Connection, check_max_rows, check_timeout
        from metrics_layer.engine.result import Result

        seconds = check_timeout(self.layer.timeout if timeout is None else timeout)
        cap = check_max_rows(self.layer.max_rows if max_rows is None else max_rows)
        target = self.layer.connection
        if isinstance(connection, Connection):
            target = connection
        elif connection is not None:
            target = Connection(connection, timeout=seconds)
        started = time.perf_counter()
        statement = self.statement(target.dialect)
        compile_ms = self._plan_ms + (time.perf_counter() - started) * 1000
        fetched = target.fetch(statement, timeout=seconds, max_rows=cap)
        return Result(
            self.columns,
            fetched.rows,
            statement.sql,
            target.dialect,
            self.versions,
            compile_ms,
            fetched.elapsed_ms,
        )

    def __repr__(self) -> str:
        return f"<Query {', '.join(self.columns)}>\n{self.sql()}"
