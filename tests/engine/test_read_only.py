"""Every session is read-only and in UTC by the database's own settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy

import metrics_layer as ml
from metrics_layer.engine.connection import Connection


def test_postgres_session_settings(postgres: Connection, observer: sqlalchemy.Engine) -> None:
    with observer.connect() as plain:  # the server's own setting, which the session turns off
        assert plain.exec_driver_sql("SELECT current_setting('jit')").scalar() == "on"
    fetched = postgres._run(
        "SELECT current_setting('transaction_read_only'), "
        "current_setting('default_transaction_read_only'), current_setting('TimeZone'), "
        "current_setting('statement_timeout'), current_setting('jit')",
        timeout=7,
        max_rows=10,
    )
    assert fetched.rows == (("on", "on", "UTC", "7s", "off"),)


def test_mariadb_session_settings(mariadb: Connection) -> None:
    fetched = mariadb._run(
        "SELECT @@session.time_zone, @@session.max_statement_time", timeout=7, max_rows=10
    )
    assert fetched.rows == (("+00:00", 7.0),)


def test_mariadb_transaction_is_read_only(mariadb: Connection) -> None:
    """A DELETE that matches no row: refused for the transaction, not for what it touches."""
    with pytest.raises(ml.EngineError, match="READ ONLY transaction"):
        mariadb._run("DELETE FROM mysql.db WHERE 1 = 0", timeout=5, max_rows=10)


def test_duckdb_session_settings(duckdb_file: Path) -> None:
    connection = Connection(f"duckdb:///{duckdb_file}")
    fetched = connection._run(
        "SELECT current_setting('TimeZone'), current_setting('enable_external_access'), "
        "current_setting('lock_configuration'), current_setting('access_mode')",
        timeout=5,
        max_rows=10,
    )
    connection.close()
    assert fetched.rows == (("UTC", False, True, "read_only"),)


def test_sqlite_session_is_query_only(sqlite_file: Path) -> None:
    connection = Connection(f"sqlite:///{sqlite_file}")
    fetched = connection._run("SELECT a FROM t ORDER BY a", timeout=5, max_rows=10)
    connection.close()
    assert fetched.rows == ((1,), (2,), (3,))


def test_sqlite_session_reads_through_a_64_mib_page_cache(sqlite_file: Path) -> None:
    """The setting as the connection holds it (the authorizer, which refuses reading it through
    the layer, set aside on the raw connection), and the default of a plain connection."""
    connection = Connection(f"sqlite:///{sqlite_file}")
    with connection.engine.connect() as opened:
        raw = opened.connection.dbapi_connection
        assert raw is not None
        raw.set_authorizer(None)
        assert raw.execute("PRAGMA cache_size").fetchone() == (-65_536,)
        assert raw.execute("PRAGMA query_only").fetchone() == (1,)
    connection.close()
    with sqlite3.connect(sqlite_file) as plain:
        assert plain.execute("PRAGMA cache_size").fetchone() != (-65_536,)


def test_a_writing_cte_is_refused_by_postgres(postgres: Connection) -> None:
    writing = "WITH gone AS (DELETE FROM pg_catalog.pg_class WHERE false RETURNING 1) SELECT 1"
    with pytest.raises(ml.EngineError, match="read-only transaction") as caught:
        postgres._run(writing, timeout=5, max_rows=10)
    assert caught.value.sql == writing


def test_a_bad_url_is_an_engine_error() -> None:
    with pytest.raises(ml.EngineError, match="not a connection URL"):
        _ = Connection("not a url").dialect
    with pytest.raises(ml.EngineError, match="cannot use connection URL"):
        _ = Connection("postgresql+nosuchdriver://u@127.0.0.1/x").engine


def test_other_engines_are_refused_with_the_compile_hint() -> None:
    connection = Connection("snowflake://user@account/db")
    assert connection.dialect == "snowflake"
    with pytest.raises(ml.EngineError, match=r"duckdb, postgresql, .*metrics-layer compile"):
        connection._run("SELECT 1", timeout=5, max_rows=10)


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://postgres@127.0.0.1/test", "psycopg"),
        ("mysql://root@127.0.0.1/test", "pymysql"),
        ("mariadb://root@127.0.0.1/test", "pymysql"),
        ("postgresql+psycopg://postgres@127.0.0.1/test", "psycopg"),
    ],
)
def test_urls_without_a_driver_use_the_installed_one(url: str, driver: str) -> None:
    connection = Connection(url)
    assert connection.engine.dialect.driver == driver
    connection.close()
