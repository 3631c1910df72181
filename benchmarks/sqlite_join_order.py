"""ARPU by day on SQLite with and without the join-order rule (docs/benchmarks.md, "SQLite
join order").

``python -m benchmarks.sqlite_join_order`` copies the demo DuckDB data into a temporary SQLite
file, then runs the SQL the compiler writes for SQLite and the same SQL rendered without
``sqlite_inner_join_order`` (the SQL before the rule), each ``--runs`` times, and prints the median
of each and whether the rows are equal. It writes nothing else.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb

import metrics_layer as ml
from metrics_layer.sql import dialects
from metrics_layer.sql.sqlite import sqlite_inner_join_order

DEFINITIONS = Path(__file__).resolve().parent.parent / "definitions"


def _sqlite_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)  # NUMERIC affinity stores 10.05 as the REAL nearest to it
    return value


Read = Callable[[str], list[tuple[object, ...]]]


def copy_to_sqlite(
    read: Read, target: Path, tables: Iterable[str], where: dict[str, str] | None = None
) -> None:
    """Copy ``tables`` of a DuckDB database, read with ``read(sql) -> rows``, into a new SQLite
    file ``target`` with their declared column types, timestamps as ISO text; ``where`` narrows
    a table's rows. (A test passes the ``demo_sql`` fixture: DuckDB refuses a second connection
    to a file it already has open with another configuration.)"""
    with sqlite3.connect(target) as lite:
        for table in tables:
            columns = read(
                "SELECT column_name, data_type FROM information_schema.columns "
                f"WHERE table_name = '{table}' ORDER BY ordinal_position"
            )
            declared = ", ".join(f'"{name}" {kind}' for name, kind in columns)
            lite.execute(f'CREATE TABLE "{table}" ({declared})')
            condition = f" WHERE {where[table]}" if where and table in where else ""
            rows = read(f'SELECT * FROM "{table}"{condition}')
            marks = ", ".join("?" * len(columns))
            lite.executemany(
                f'INSERT INTO "{table}" VALUES ({marks})',
                [tuple(_sqlite_value(v) for v in row) for row in rows],
            )


def sql_pair(layer: ml.SemanticLayer, metric: str, by: str) -> tuple[str, str]:
    """(the SQL for SQLite, the same SQL rendered without the join-order rule)."""
    query = layer.query(metric, by=by)
    current = query.sql("sqlite")
    without = tuple(r for r in dialects.RULES["sqlite"] if r is not sqlite_inner_join_order)
    saved = dialects.RULES["sqlite"]
    dialects.RULES["sqlite"] = without
    try:
        before = dialects.render(query.tree, "sqlite")
    finally:
        dialects.RULES["sqlite"] = saved
    return current, before


def _timed(database: Path, sql: str, runs: int) -> tuple[float, list[tuple[object, ...]]]:
    times: list[float] = []
    rows: list[tuple[object, ...]] = []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        for _ in range(runs):
            start = time.perf_counter()
            rows = connection.execute(sql).fetchall()
            times.append(time.perf_counter() - start)
    return statistics.median(times), rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="runs of each SQL (median shown)")
    parser.add_argument("--metric", default="arpu")
    parser.add_argument("--by", default="metric_time.day")
    args = parser.parse_args(argv)
    from metrics_layer.demo import ensure_demo

    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "demo.sqlite"
        with duckdb.connect(str(ensure_demo()), read_only=True) as demo:
            copy_to_sqlite(
                lambda sql: demo.execute(sql).fetchall(), database, ["subscription_snapshots"]
            )
        layer = ml.load(DEFINITIONS, connection=f"sqlite:///{database}")
        current, before = sql_pair(layer, args.metric, args.by)
        old_time, old_rows = _timed(database, before, args.runs)
        new_time, new_rows = _timed(database, current, args.runs)
        layer.connection.close()
    print(f"{args.metric} by {args.by} on SQLite {sqlite3.sqlite_version}, median of {args.runs}")
    print(f"  INNER JOIN (before): {old_time * 1000:,.0f} ms")
    print(f"  CROSS JOIN (now):    {new_time * 1000:,.0f} ms")
    print(f"  {len(new_rows)} rows, equal: {old_rows == new_rows}")
    return 0 if old_rows == new_rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
