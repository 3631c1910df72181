"""PostgreSQL statistics on the expressions the generated SQL groups a table's rows by.

PostgreSQL keeps statistics on columns, not on expressions of them: for ``GROUP BY
CAST(DATE_TRUNC('MONTH', occurred_at) AS DATE)`` over a table it assumes as many groups as
``occurred_at`` has distinct values (92,286 months estimated for 12 on the benchmark's events),
and plans the rest of the query for that many rows. ``CREATE STATISTICS ... ON (expression)``
(PostgreSQL 14 and later) gives it the expression's own distinct count after the next
``ANALYZE``. The library writes nothing to a database: ``SemanticLayer.statistics`` hands these
statements to whoever runs the database (docs/queries.md, "Row estimates on PostgreSQL").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlglot import exp

__all__ = ["GRAINS", "Statistic", "grouped", "statements"]

# The metric_time and time-dimension grains whose buckets are compiled for the statements:
# those PostgreSQL writes as an expression of the table's own column (a calendar grain, fiscal
# or retail, is a join to the calendar table instead).
GRAINS = ("day", "week", "month", "quarter", "year")

# PostgreSQL's longest identifier, in bytes.
_NAME_BYTES = 63


@dataclass(frozen=True, order=True)
class Statistic:
    """One expression of one table's columns, as PostgreSQL text (columns unqualified).

    ``cast``: the expression is a cast of one column to DATE, the day bucket. Of a DATE column
    PostgreSQL takes that for the column itself and refuses a statistic on it ("extended
    statistics require at least 2 columns", SQLSTATE 42P17); the definitions do not say which
    time columns are DATEs, so its statement passes over that refusal (``sql``).
    """

    table: str
    expression: str
    cast: bool = False

    @property
    def name(self) -> str:
        """``ml_<table>_<hash of the table and expression>``: the same statistic gets the
        same name, so ``IF NOT EXISTS`` makes the statements safe to run again."""
        digest = hashlib.sha256(f"{self.table}\n{self.expression}".encode()).hexdigest()[:12]
        table = exp.to_table(self.table, dialect="postgres")
        stem = re.sub(r"[^a-z0-9_]", "_", table.name.lower())[: _NAME_BYTES - 17]
        return f"ml_{stem}_{digest}"

    def sql(self) -> str:
        """The CREATE STATISTICS statement, in the table's schema.

        >>> print(Statistic("bench.events", "DATE_TRUNC('MONTH', at)").sql())
        CREATE STATISTICS IF NOT EXISTS bench.ml_events_... ON (DATE_TRUNC('MONTH', at)) FROM ...
        >>> print(Statistic("bench.events", "CAST(at AS DATE)", cast=True).sql())
        DO $$ BEGIN  -- PostgreSQL refuses the day of a DATE column (the column itself)
          CREATE STATISTICS IF NOT EXISTS bench.ml_events_... ON (CAST(at AS DATE)) FROM ...
        EXCEPTION WHEN invalid_object_definition THEN NULL; END $$;
        """
        table = exp.to_table(self.table, dialect="postgres")
        where = exp.Table(this=exp.to_identifier(self.name), db=table.args.get("db"))
        create = (
            f"CREATE STATISTICS IF NOT EXISTS {where.sql('postgres')} "
            f"ON ({self.expression}) FROM {self.table};"
        )
        if not self.cast:
            return create
        return (
            "DO $$ BEGIN  -- PostgreSQL refuses the day of a DATE column (the column itself)\n"
            f"  {create}\n"
            "EXCEPTION WHEN invalid_object_definition THEN NULL; END $$;"
        )


def grouped(tree: exp.Expr) -> Iterator[Statistic]:
    """The GROUP BY keys of ``tree`` (a query as PostgreSQL's generator receives it) that are
    expressions of one base table's columns; a key that is a plain column is left out (the
    column's own statistics serve).

    >>> import sqlglot
    >>> sql = ("WITH d AS (SELECT CAST(e.at AS DATE) AS day FROM s.events AS e GROUP BY "
    ...        "CAST(e.at AS DATE), e.kind) SELECT day FROM d GROUP BY DATE_TRUNC('MONTH', day)")
    >>> [(s.table, s.expression, s.cast) for s in grouped(sqlglot.parse_one(sql, read="postgres"))]
    [('s.events', 'CAST(at AS DATE)', True)]
    """
    named = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for select in tree.find_all(exp.Select):
        group = select.args.get("group")
        if group is None:
            continue
        tables = _base_tables(select, named)
        for key in group.expressions:
            if isinstance(key, exp.Column) or key.find(exp.Query, exp.AggFunc, exp.Window):
                continue  # a column has its own; PostgreSQL takes no subquery or aggregate
            columns = list(key.find_all(exp.Column))
            owners = {column.table for column in columns}
            if not columns or len(owners) != 1 or next(iter(owners)) not in tables:
                continue
            table = tables[next(iter(owners))]
            cast = (
                isinstance(key, exp.Cast)
                and key.to.this == exp.DataType.Type.DATE
                and isinstance(key.this, exp.Column)
            )
            unqualified = key.copy()
            for column in unqualified.find_all(exp.Column):
                column.set("table", None)
            name = exp.Table(this=table.this.copy(), db=table.args.get("db"))
            yield Statistic(name.sql("postgres"), unqualified.sql("postgres"), cast)


def statements(found: Iterable[Statistic]) -> list[str]:
    """CREATE STATISTICS for each statistic once, then ANALYZE of each table, which is what
    computes them.

    sqlglot has no node for ``CREATE STATISTICS`` or a ``DO`` block (it reads both as an
    opaque command), so ``Statistic.sql`` puts them together from parts sqlglot wrote: the
    table, the statistic's name as an identifier, the expression.
    """
    unique = sorted(set(found))
    tables = sorted({statistic.table for statistic in unique})
    analyze = [
        exp.Analyze(tables=[exp.to_table(table, dialect="postgres")]).sql("postgres") + ";"
        for table in tables
    ]
    return [statistic.sql() for statistic in unique] + analyze


def _base_tables(select: exp.Select, ctes: set[str]) -> dict[str, exp.Table]:
    """The tables ``select`` reads directly (FROM and JOINs, not its CTEs), by alias."""
    read: dict[str, exp.Table] = {}
    sources = [select.args.get("from_"), *(select.args.get("joins") or [])]
    for source in sources:
        table = source.this if source is not None else None
        if not isinstance(table, exp.Table) or not table.name:
            continue
        if not table.db and table.name in ctes:
            continue
        read[table.alias_or_name] = table
    return read
