"""A date range over a column is written as a range of the column (``sql/dialects.py``,
``column_date_range``) on PostgreSQL, DuckDB and MariaDB: the same rows as the cast it
replaces, for DATE, TIMESTAMP and zoned TIMESTAMP columns, at the edges of the range, in a
session time zone other than UTC too."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
import sqlglot
from conftest import MARIADB_URL, POSTGRES_URL
from sqlglot import exp

from metrics_layer.sql.dialects import column_date_range

from .engines import attempt, rolled_back

# Moments around the edges of 2026-03-30 .. 2026-06-28 (as wall-clock text in the session's
# zone), and NULL.
MOMENTS = (
    "2026-03-29 23:59:59.999999",
    "2026-03-30 00:00:00",
    "2026-03-30 00:00:00.000001",
    "2026-06-28 23:59:59.5",
    "2026-06-29 00:00:00",
    None,
)
# Counted by hand: the days of MOMENTS within the range.
INSIDE = {"between": 3, "from": 4, "until": 4}
RANGES = {
    "between": "CAST(t AS DATE) BETWEEN CAST('2026-03-30' AS DATE) AND CAST('2026-06-28' AS DATE)",
    "from": "CAST(t AS DATE) >= CAST('2026-03-30' AS DATE)",
    "until": "CAST(t AS DATE) <= CAST('2026-06-28' AS DATE)",
}
# Engine -> (session time zone statement, column types).
ENGINES = {
    "postgres": ("SET TIME ZONE '{zone}'", ("DATE", "TIMESTAMP", "TIMESTAMPTZ")),
    "mysql": ("SET time_zone = '{offset}'", ("DATE", "DATETIME(6)", "TIMESTAMP(6) NULL")),
    "duckdb": ("SET TimeZone = '{zone}'", ("DATE", "TIMESTAMP", "TIMESTAMPTZ")),
}
ZONES = {"UTC": "+00:00", "America/New_York": "-04:00"}


def _rewritten(condition: str, dialect: str) -> str:
    tree = sqlglot.parse_one(condition).transform(column_date_range)
    assert not any(isinstance(n, exp.Cast) and n.this.name == "t" for n in tree.walk())
    return tree.sql(dialect)


def _counts(run, dialect: str) -> dict[str, tuple[int, int]]:  # type: ignore[no-untyped-def]
    return {
        name: (
            run(f"SELECT COUNT(*) FROM probe WHERE {sqlglot.transpile(text, write=dialect)[0]}"),
            run(f"SELECT COUNT(*) FROM probe WHERE {_rewritten(text, dialect)}"),
        )
        for name, text in RANGES.items()
    }


def _values(kind: str) -> str:
    cells = []
    for moment in MOMENTS:
        if moment is None:
            cells.append("(NULL)")
        elif kind == "DATE":
            cells.append(f"('{moment[:10]}')")
        else:
            cells.append(f"('{moment}')")
    return ", ".join(cells)


def _expected(kind: str) -> dict[str, int]:
    if kind != "DATE":
        return INSIDE
    days = [dt.date.fromisoformat(m[:10]) for m in MOMENTS if m is not None]
    low, high = dt.date(2026, 3, 30), dt.date(2026, 6, 28)
    return {
        "between": sum(low <= d <= high for d in days),
        "from": sum(d >= low for d in days),
        "until": sum(d <= high for d in days),
    }


@pytest.mark.parametrize("zone", sorted(ZONES))
@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_a_column_range_keeps_the_rows_of_the_cast(engine: str, zone: str) -> None:
    setting, kinds = ENGINES[engine]
    for kind in kinds:
        if engine == "duckdb":
            with duckdb.connect() as connection:
                if kind == "TIMESTAMPTZ":
                    connection.execute("LOAD icu")
                connection.execute(setting.format(zone=zone, offset=ZONES[zone]))
                connection.execute(f"CREATE TABLE probe (t {kind})")
                connection.execute(f"INSERT INTO probe VALUES {_values(kind)}")
                counts = _counts(lambda sql: connection.execute(sql).fetchone()[0], engine)
        else:
            url = POSTGRES_URL if engine == "postgres" else MARIADB_URL
            with rolled_back(engine, url) as connection:
                attempt(connection, setting.format(zone=zone, offset=ZONES[zone]))
                attempt(connection, f"CREATE TEMPORARY TABLE probe (t {kind})")
                attempt(connection, f"INSERT INTO probe VALUES {_values(kind)}")
                counts = _counts(lambda sql: attempt(connection, sql).rows[0][0], engine)
        expected = _expected(kind)
        for name, (cast_rows, column_rows) in counts.items():
            assert cast_rows == column_rows == expected[name], (engine, zone, kind, name)


@pytest.mark.parametrize(
    "condition",
    [
        "CAST(t AS DATE) = CAST('2026-01-01' AS DATE)",
        "CAST(t AS DATE) < CAST('2026-01-01' AS DATE)",
        "CAST('2026-01-01' AS DATE) <= CAST(t AS DATE)",
        "CAST(t + 1 AS DATE) >= CAST('2026-01-01' AS DATE)",
        "CAST(t AS DATE) >= CAST('2026-01-01 10:00' AS DATE)",
        "CAST(t AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND d",
    ],
)
def test_other_comparisons_keep_the_cast(condition: str) -> None:
    tree = sqlglot.parse_one(condition)
    assert tree.transform(column_date_range).sql() == tree.sql()
