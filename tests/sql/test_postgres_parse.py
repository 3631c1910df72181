"""The postgres golden SQL on a real PostgreSQL server: planned, typed and run, nothing kept.

Everything happens in one transaction that is rolled back at the end, against TEMPORARY tables
with the demo schema (empty: these tests check syntax, name resolution and types; the numbers
are checked on DuckDB). A missing server skips loudly, and fails under CI=true.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy
from conftest import POSTGRES_URL

import metrics_layer as ml
from metrics_layer.sql.names import RESERVED

from .engines import (
    EXPECTED_WEEKS,
    DemoSql,
    as_dates,
    attempt,
    bucket_columns,
    create_temporary_tables,
    demo_schema,
    first_line,
    rolled_back,
    visits_table_sql,
    week_probe_files,
)
from .test_dialects import PERCENTILE_FILES, PERCENTILE_METRICS
from .test_golden import CASE_PARAMS, CASES, UNSUPPORTED, Case, read_golden

URL = POSTGRES_URL
WriteProject = Callable[[dict[str, str]], Path]

# pg_type OIDs of the bucket types.
TYPE_OIDS = {"date": 1082, "timestamp": 1114}


@pytest.fixture(scope="module")
def pg(demo_sql: DemoSql) -> Iterator[sqlalchemy.Connection]:
    with rolled_back("PostgreSQL", URL) as connection:
        create_temporary_tables(connection, demo_schema(demo_sql), "postgres")
        yield connection


@pytest.fixture
def scratch(pg: sqlalchemy.Connection) -> Iterator[sqlalchemy.Connection]:
    """``pg`` with a savepoint that is rolled back after the test (for test-local tables)."""
    savepoint = pg.begin_nested()
    try:
        yield pg
    finally:
        savepoint.rollback()


def _golden_sql(case: Case) -> str:
    text = read_golden(case, "postgres")
    if text.startswith(UNSUPPORTED):
        pytest.skip(f"postgres refuses {case.name} at compile time")
    return text


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_postgres_plans_golden_sql(pg: sqlalchemy.Connection, case: Case) -> None:
    sql = _golden_sql(case)
    try:
        attempt(pg, "EXPLAIN " + sql)
    except sqlalchemy.exc.DBAPIError as exc:
        pytest.fail(f"PostgreSQL refuses tests/golden/postgres/{case.name}.sql: {first_line(exc)}")


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.name) for c in CASES if bucket_columns(c.by)]
)
def test_postgres_time_buckets_are_dates(pg: sqlalchemy.Connection, case: Case) -> None:
    buckets = bucket_columns(case.by)
    types = attempt(pg, _golden_sql(case)).types()
    assert {alias: types[alias] for alias in buckets} == {
        alias: TYPE_OIDS[kind] for alias, kind in buckets.items()
    }


@pytest.mark.parametrize("week_start", sorted(EXPECTED_WEEKS))
def test_week_buckets_on_postgres(
    scratch: sqlalchemy.Connection, write_project: WriteProject, week_start: str
) -> None:
    layer = ml.load(write_project(week_probe_files(week_start)))
    for statement in visits_table_sql("TIMESTAMP", temporary=True):
        scratch.exec_driver_sql(statement)
    rows = scratch.exec_driver_sql(layer.query("visits", by="metric_time.week").sql("postgres"))
    assert as_dates(rows.fetchall()) == EXPECTED_WEEKS[week_start]


def test_postgres_percentiles_interpolate(
    scratch: sqlalchemy.Connection, write_project: WriteProject
) -> None:
    layer = ml.load(write_project(PERCENTILE_FILES))
    scratch.exec_driver_sql(
        "CREATE TEMPORARY TABLE orders "
        "(order_id INTEGER, ordered_at TIMESTAMP, amount NUMERIC(10, 2))"
    )
    scratch.exec_driver_sql(
        "INSERT INTO orders VALUES (1, '2026-01-01', 1), (2, '2026-01-02', 2), "
        "(3, '2026-01-03', 3), (4, '2026-01-04', 10), (5, '2026-01-05', NULL)"
    )
    row = scratch.exec_driver_sql(layer.query(PERCENTILE_METRICS).sql("postgres")).one()
    assert tuple(row) == pytest.approx((2.5, 7.9))


# -- entity names that are PostgreSQL keywords -------------------------------------------------


def _keywords(pg: sqlalchemy.Connection) -> list[str]:
    """Keywords that cannot be a bare column name or ORDER BY key: reserved, type/function."""
    rows = pg.exec_driver_sql(
        "SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T') ORDER BY word"
    )
    return [str(word) for (word,) in rows]


def _keyword_failures(
    pg: sqlalchemy.Connection, write_project: WriteProject, words: list[str]
) -> list[str]:
    """Entity named after each word, grouped by it and sorted descending by it.

    Returns what PostgreSQL refuses, or sorts otherwise: a sort by anything but the entity (a
    bare keyword in ORDER BY can name a function) leaves the ids unsorted or ascending.
    """
    files: dict[str, str] = {}
    for word in words:
        files[f"{word}/metrics_layer.yml"] = "project:\n  name: keyword\n  paths: [defs]\n"
        files[f"{word}/defs/things.yml"] = f"""
            sources:
              - name: things
                table: things
                entities:
                  - {{name: "{word}", key: id, primary: true}}
                measures:
                  - {{name: rows, agg: count}}
            metrics:
              - {{name: thing_rows, type: simple, measure: things.rows, version: 1}}
            """
    root = write_project(files)
    pg.exec_driver_sql("CREATE TEMPORARY TABLE things (id INTEGER)")
    pg.exec_driver_sql("INSERT INTO things VALUES (3), (6), (1), (5), (2), (4)")
    failures: list[str] = []
    for word in words:
        sql = ml.load(root / word).query("thing_rows", by=word, order=f"-{word}").sql("postgres")
        try:
            rows = attempt(pg, sql).rows
        except sqlalchemy.exc.DBAPIError as exc:
            failures.append(f"{word}: {first_line(exc)}")
            continue
        if rows != [(i, 1) for i in range(6, 0, -1)]:
            failures.append(f"{word}: rows {rows} (ORDER BY did not sort by the entity)")
    return failures


def test_listed_reserved_words_work_as_entity_names(
    scratch: sqlalchemy.Connection, write_project: WriteProject
) -> None:
    words = [w for w in _keywords(scratch) if w in RESERVED]
    assert "user" in words
    failures = _keyword_failures(scratch, write_project, words)
    assert not failures, "\n".join(failures)


def test_every_postgres_keyword_works_as_an_entity_name(
    scratch: sqlalchemy.Connection, write_project: WriteProject
) -> None:
    failures = _keyword_failures(scratch, write_project, _keywords(scratch))
    assert not failures, "\n".join(failures)
