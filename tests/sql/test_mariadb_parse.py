"""The mysql golden SQL on the real MariaDB server: planned, typed and run, nothing kept.

As for PostgreSQL: one transaction, always rolled back, over TEMPORARY tables with the demo
schema, which only this connection sees and which vanish when it closes. MariaDB stands in for
MySQL here (the ``mysql`` dialect serves both); a missing server skips loudly, and fails under
CI=true.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy
from conftest import MARIADB_URL
from pymysql.constants import FIELD_TYPE

import metrics_layer as ml

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
from .test_golden import CASE_PARAMS, CASES, UNSUPPORTED, Case, read_golden

URL = MARIADB_URL
WriteProject = Callable[[dict[str, str]], Path]

TYPE_CODES = {
    "date": {FIELD_TYPE.DATE, FIELD_TYPE.NEWDATE},
    "timestamp": {FIELD_TYPE.DATETIME, FIELD_TYPE.TIMESTAMP},
}


@pytest.fixture(scope="module")
def mariadb(demo_sql: DemoSql) -> Iterator[sqlalchemy.Connection]:
    with rolled_back("MariaDB", URL) as connection:
        create_temporary_tables(connection, demo_schema(demo_sql), "mysql")
        yield connection


def _golden_sql(case: Case) -> str:
    text = read_golden(case, "mysql")
    if text.startswith(UNSUPPORTED):
        pytest.skip(f"mysql refuses {case.name} at compile time")
    return text


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_mariadb_plans_golden_sql(mariadb: sqlalchemy.Connection, case: Case) -> None:
    sql = _golden_sql(case)
    try:
        attempt(mariadb, "EXPLAIN " + sql)
    except sqlalchemy.exc.DBAPIError as exc:
        pytest.fail(f"MariaDB refuses tests/golden/mysql/{case.name}.sql: {first_line(exc)}")


@pytest.mark.parametrize("case", [c for c in CASES if bucket_columns(c.by)], ids=lambda c: c.name)
def test_mariadb_time_buckets_are_dates(mariadb: sqlalchemy.Connection, case: Case) -> None:
    buckets = bucket_columns(case.by)
    types = attempt(mariadb, _golden_sql(case)).types()
    wrong = {
        alias: types[alias]
        for alias, kind in buckets.items()
        if types[alias] not in TYPE_CODES[kind]
    }
    assert not wrong, f"bucket columns with the wrong MySQL field type: {wrong}"


@pytest.mark.parametrize("week_start", sorted(EXPECTED_WEEKS))
def test_week_buckets_on_mariadb(
    mariadb: sqlalchemy.Connection, write_project: WriteProject, week_start: str
) -> None:
    layer = ml.load(write_project(week_probe_files(week_start)))
    savepoint = mariadb.begin_nested()
    try:
        for statement in visits_table_sql("DATETIME", temporary=True):
            mariadb.exec_driver_sql(statement)
        sql = layer.query("visits", by="metric_time.week").sql("mysql")
        rows = mariadb.exec_driver_sql(sql).fetchall()
    finally:
        savepoint.rollback()
        mariadb.exec_driver_sql("DROP TEMPORARY TABLE IF EXISTS visits")
    assert as_dates(rows) == EXPECTED_WEEKS[week_start]
