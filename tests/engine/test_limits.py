"""Timeouts and the row cap: on every engine, a slow or huge query ends in a clear EngineError.

Each slow query is a plain SELECT that passes the statement guard (a cross join in a source's
``sql``), so what stops it is the engine's own timeout mechanism.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

import metrics_layer as ml
from metrics_layer.cli.main import main

from .conftest import MARIADB, POSTGRES

WriteProject = Callable[[dict[str, str]], Path]


def project(write_project: WriteProject, source_sql: str) -> Path:
    """A project with one SQL-defined source ``slow`` and the metric ``rows`` (its row count)."""
    return write_project(
        {
            "metrics_layer.yml": f"""
                project: {{name: limits, timeout: 30, max_rows: 1000}}
                sources:
                  - name: slow
                    sql: "{source_sql}"
                    entities: [{{name: thing, key: id, primary: true}}]
                    dimensions: [{{name: id}}]
                    measures: [{{name: rows, agg: count}}]
                metrics:
                  - {{name: rows, type: simple, measure: slow.rows, version: 1}}
                """
        }
    )


def assert_times_out(layer: ml.SemanticLayer) -> None:
    started = time.monotonic()
    with pytest.raises(ml.EngineError, match=r"ran longer than the 1 s timeout; narrow") as caught:
        layer.query("rows").run(timeout=1)
    assert time.monotonic() - started < 30  # cancelled: the query alone runs for hours
    assert caught.value.sql is not None
    assert "slow_source" in caught.value.sql
    assert caught.value.limit == "timeout"


@pytest.fixture
def numbers_duckdb(tmp_path: Path) -> Path:
    """A DuckDB file with n(i) holding 0 .. 99,999."""
    path = tmp_path / "numbers.duckdb"
    db = duckdb.connect(str(path))
    db.execute("CREATE TABLE n AS SELECT range AS i FROM range(100000)")
    db.close()
    return path


@pytest.fixture
def numbers_sqlite(tmp_path: Path) -> Path:
    """A SQLite file with n(i) holding 0 .. 9,999."""
    path = tmp_path / "numbers.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE n (i INTEGER)")
        db.executemany("INSERT INTO n VALUES (?)", [(i,) for i in range(10_000)])
    db.close()
    return path


def test_duckdb_timeout(write_project: WriteProject, numbers_duckdb: Path) -> None:
    root = project(write_project, "SELECT a.i + b.i AS id FROM n AS a, n AS b")
    layer = ml.load(root, connection=f"duckdb:///{numbers_duckdb}")
    assert_times_out(layer)
    # the interrupted connection is usable again: 1e10 rows were too many, 1e5 are not
    small = project(write_project, "SELECT i AS id FROM n")
    assert ml.load(small, connection=f"duckdb:///{numbers_duckdb}").query("rows").run().rows == (
        (100_000,),
    )


def test_sqlite_timeout(write_project: WriteProject, numbers_sqlite: Path) -> None:
    root = project(write_project, "SELECT a.i AS id FROM n AS a, n AS b, n AS c")
    layer = ml.load(root, connection=f"sqlite:///{numbers_sqlite}")
    assert_times_out(layer)
    small = project(write_project, "SELECT i AS id FROM n")
    assert ml.load(small, connection=f"sqlite:///{numbers_sqlite}").query("rows").run().rows == (
        (10_000,),
    )


def test_postgres_timeout(write_project: WriteProject, postgres: object) -> None:
    root = project(
        write_project,
        "SELECT a.oid AS id FROM pg_catalog.pg_class AS a, pg_catalog.pg_class AS b, "
        "pg_catalog.pg_class AS c, pg_catalog.pg_class AS d",
    )
    assert_times_out(ml.load(root, connection=POSTGRES))


def test_mariadb_timeout(write_project: WriteProject, mariadb: object) -> None:
    root = project(
        write_project,
        "SELECT a.TABLE_NAME AS id FROM information_schema.COLUMNS AS a, "
        "information_schema.COLUMNS AS b, information_schema.COLUMNS AS c",
    )
    assert_times_out(ml.load(root, connection=MARIADB))


def test_load_timeout_is_the_default_for_run(
    write_project: WriteProject, numbers_duckdb: Path
) -> None:
    root = project(write_project, "SELECT a.i + b.i AS id FROM n AS a, n AS b")
    layer = ml.load(root, connection=f"duckdb:///{numbers_duckdb}", timeout=1)
    assert layer.timeout == 1
    with pytest.raises(ml.EngineError, match="1 s timeout"):
        layer.query("rows").run()


def test_cli_timeout(
    write_project: WriteProject, numbers_duckdb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(write_project, "SELECT a.i + b.i AS id FROM n AS a, n AS b")
    argv = ["query", "rows", "--project", str(root), "--timeout", "1"]
    code = main([*argv, "--connection", f"duckdb:///{numbers_duckdb}"])
    assert code == 1
    err = capsys.readouterr().err
    assert "ran longer than the 1 s timeout" in err
    assert "Traceback" not in err


def test_the_project_timeout_is_the_default(write_project: WriteProject) -> None:
    root = project(write_project, "SELECT 1 AS id")
    assert ml.load(root).timeout == 30
    assert ml.load(root).max_rows == 1000


@pytest.mark.parametrize("value", [0, -1, "10", True])
def test_a_bad_timeout_is_a_query_error(layer: ml.SemanticLayer, value: object) -> None:
    with pytest.raises(ml.QueryError, match="timeout: must be a positive number"):
        layer.query("signups").run(timeout=value)  # type: ignore[arg-type]


# -- the row cap -------------------------------------------------------------------------------


def test_more_rows_than_max_rows_is_an_error(
    write_project: WriteProject, numbers_duckdb: Path
) -> None:
    root = project(write_project, "SELECT i AS id FROM n WHERE i < 5")
    layer = ml.load(root, connection=f"duckdb:///{numbers_duckdb}")
    query = layer.query("rows", by="slow.id", order="slow.id")
    assert [row[0] for row in query.run(max_rows=5).rows] == [0, 1, 2, 3, 4]
    with pytest.raises(ml.EngineError, match=r"more than max_rows=4 rows; .*raise max_rows"):
        query.run(max_rows=4)


def test_the_project_max_rows_is_the_default(
    write_project: WriteProject, numbers_duckdb: Path
) -> None:
    root = project(write_project, "SELECT i AS id FROM n WHERE i < 1001")
    layer = ml.load(root, connection=f"duckdb:///{numbers_duckdb}")
    with pytest.raises(ml.EngineError, match=r"more than max_rows=1,000 rows"):
        layer.query("rows", by="slow.id").run()
    assert len(layer.query("rows", by="slow.id").run(max_rows=1001).rows) == 1001


def test_a_limit_above_the_cap_is_a_query_error(layer: ml.SemanticLayer) -> None:
    assert layer.query("signups", limit=1_000_000).spec.limit == 1_000_000
    with pytest.raises(ml.QueryError, match=r"limit: 1,000,001 is above the largest limit"):
        layer.query("signups", limit=1_000_001)
