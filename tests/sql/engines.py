"""Helpers for checking compiled SQL on real engines without writing anything that lasts.

Server checks run inside one transaction that is always rolled back, against TEMPORARY tables
that only the test's own connection sees (and that disappear when it closes). The week probe is a
one-table project whose visits straddle week boundaries, so a wrong week start shows up as wrong
counts rather than as different SQL text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy
from conftest import require_service
from sqlalchemy.pool import NullPool

DemoSql = Callable[[str], list[tuple[object, ...]]]
Schema = dict[str, list[tuple[str, str]]]


def demo_schema(demo_sql: DemoSql) -> Schema:
    """Table -> [(column, DuckDB type)] of the demo database."""
    rows = demo_sql(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
    )
    schema: Schema = {}
    for table, column, kind in rows:
        schema.setdefault(str(table), []).append((str(column), str(kind)))
    return schema


def server_type(duckdb_type: str, server: str) -> str:
    """The column type to declare on ``server`` ('postgres' or 'mysql') for a DuckDB type."""
    if duckdb_type == "VARCHAR":
        return "TEXT"
    if duckdb_type == "TIMESTAMP" and server == "mysql":
        return "DATETIME"
    return duckdb_type


def create_temporary_tables(connection: sqlalchemy.Connection, schema: Schema, server: str) -> None:
    for table, columns in schema.items():
        declared = ", ".join(f"{name} {server_type(kind, server)}" for name, kind in columns)
        connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {table} ({declared})")


@contextmanager
def rolled_back(name: str, url: str) -> Iterator[sqlalchemy.Connection]:
    """A connection to ``url`` inside a transaction that is rolled back on exit.

    A server that cannot be reached skips the test (and fails it under CI=true).
    """
    engine = sqlalchemy.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        connection = engine.connect()
    except sqlalchemy.exc.OperationalError as exc:
        engine.dispose()
        require_service(name, False, str(exc.orig).strip().splitlines()[0])
        raise AssertionError("unreachable") from exc
    transaction = connection.begin()
    try:
        yield connection
    finally:
        transaction.rollback()
        connection.close()
        engine.dispose()


@dataclass(frozen=True)
class Ran:
    """What a statement returned: (name, driver type code) per column, and the rows."""

    columns: list[tuple[str, Any]]
    rows: list[tuple[Any, ...]]

    def types(self) -> dict[str, Any]:
        return dict(self.columns)


def attempt(connection: sqlalchemy.Connection, sql: str) -> Ran:
    """Run ``sql`` under a savepoint, so that an error leaves the transaction usable."""
    savepoint = connection.begin_nested()
    try:
        if connection.dialect.paramstyle in ("format", "pyformat"):
            sql = sql.replace("%", "%%")
        result = connection.exec_driver_sql(sql)
        description = result.cursor.description if result.cursor is not None else None
        columns = [(str(c[0]), c[1]) for c in description or ()]
        rows = [tuple(row) for row in result.fetchall()] if result.returns_rows else []
    except sqlalchemy.exc.DBAPIError:
        savepoint.rollback()
        raise
    savepoint.commit()
    return Ran(columns, rows)


def first_line(exc: sqlalchemy.exc.DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0]


# -- the week probe ----------------------------------------------------------------------------

VISIT_TIMES: tuple[str, ...] = (
    "2026-03-01 23:30:00",  # a Sunday
    "2026-03-02 00:00:00",  # the next Monday, at midnight
    "2026-03-08 23:59:59",  # the Sunday after
    "2026-03-09 00:00:01",  # the Monday after that
)

# Week start -> [(first day of the week, visits)], counted by hand from VISIT_TIMES.
EXPECTED_WEEKS: dict[str, list[tuple[dt.date, int]]] = {
    "monday": [(dt.date(2026, 2, 23), 1), (dt.date(2026, 3, 2), 2), (dt.date(2026, 3, 9), 1)],
    "sunday": [(dt.date(2026, 3, 1), 2), (dt.date(2026, 3, 8), 2)],
}


def week_probe_files(week_start: str) -> dict[str, str]:
    return {
        "metrics_layer.yml": f"""
            project:
              name: week_probe
              paths: [defs]
              week_start: {week_start}
            """,
        "defs/visits.yml": """
            sources:
              - name: visits
                table: visits
                time: visited_at
                entities:
                  - {name: visit, key: visit_id, primary: true}
                dimensions:
                  - {name: visited_at, type: time, grain: hour}
                measures:
                  - {name: visits, agg: count}
            metrics:
              - {name: visits, type: simple, measure: visits.visits, version: 1}
            """,
    }


def visits_table_sql(timestamp_type: str, *, temporary: bool) -> list[str]:
    kind = "TEMPORARY TABLE" if temporary else "TABLE"
    values = ", ".join(f"({i}, '{t}')" for i, t in enumerate(VISIT_TIMES, start=1))
    return [
        f"CREATE {kind} visits (visit_id INTEGER, visited_at {timestamp_type})",
        f"INSERT INTO visits VALUES {values}",
    ]


def as_dates(rows: Sequence[Sequence[object]]) -> list[tuple[object, ...]]:
    """Week rows with the period as a date (drivers return DATE or DATETIME)."""
    shown: list[tuple[object, ...]] = []
    for period, *rest in rows:
        if isinstance(period, dt.datetime):
            period = period.date()
        shown.append((period, *rest))
    return shown


# -- time bucket columns -----------------------------------------------------------------------

GRAINS = ("hour", "day", "week", "month", "quarter", "year")


def bucket_columns(by: Sequence[str]) -> dict[str, str]:
    """Output alias -> 'timestamp' (hour) or 'date' (coarser) for each time grain in ``by``."""
    return {
        name.replace(".", "__"): "timestamp" if name.rsplit(".", 1)[-1] == "hour" else "date"
        for name in by
        if name.rsplit(".", 1)[-1] in GRAINS
    }
