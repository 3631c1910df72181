"""Hostile SQL sent below the statement guard: each engine refuses it by its own mechanism.

Each test sends text through ``Connection._run`` (no guard) and then checks, from outside, that
the database and the file system are as they were. Where an engine by itself cannot stop a
statement (a PostgreSQL superuser's ``pg_read_file`` or ``COPY ... TO`` a server file, MariaDB's
implicit commit of DDL, ``LOAD_FILE`` and ``INTO OUTFILE`` for a user with the FILE privilege),
the test proves that the guard refuses it instead, and never sends it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy

import metrics_layer as ml
from metrics_layer.engine.connection import Connection
from metrics_layer.safety.statement import verify

from .conftest import duckdb_state, sqlite_state


def refused(connection: Connection, sql: str) -> ml.EngineError:
    with pytest.raises(ml.EngineError) as caught:
        connection._run(sql, timeout=10, max_rows=10)
    return caught.value


# -- DuckDB ------------------------------------------------------------------------------------


def test_duckdb_refuses_writes_files_and_settings(duckdb_file: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n", encoding="utf-8")
    before = duckdb_state(duckdb_file)
    connection = Connection(f"duckdb:///{duckdb_file}")
    attacks = {
        "SELECT 1; DROP TABLE t": "read-only",
        "WITH x AS (DELETE FROM t RETURNING a) SELECT * FROM x": "",
        "CREATE TABLE written (a INTEGER)": "read-only",
        f"COPY t TO '{tmp_path / 'out.csv'}'": "file system operations are disabled",
        f"SELECT * FROM read_text('{secret}')": "file system operations are disabled",
        f"SELECT * FROM read_csv('{secret}')": "file system operations are disabled",
        f"SELECT * FROM '{secret}'": "file system operations are disabled",
        f"ATTACH '{tmp_path / 'new.duckdb'}' AS n": "file system operations are disabled",
        "SET enable_external_access = true": "configuration has been locked",
        "SET TimeZone = 'America/New_York'": "configuration has been locked",
        "INSTALL httpfs": "",
    }
    for sql, message in attacks.items():
        error = refused(connection, sql)
        assert message in str(error), sql
        assert "hunter2" not in str(error)
        assert "hunter2" not in str(error.__cause__)
    assert connection._run("SELECT a FROM t ORDER BY a", timeout=5, max_rows=10).rows == (
        (1,),
        (2,),
        (3,),
    )
    connection.close()
    assert duckdb_state(duckdb_file) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.csv", "small.duckdb"]


# -- SQLite ------------------------------------------------------------------------------------


def test_sqlite_refuses_writes_attach_and_pragmas(sqlite_file: Path, tmp_path: Path) -> None:
    before = sqlite_state(sqlite_file)
    connection = Connection(f"sqlite:///{sqlite_file}")
    attacks = (
        "SELECT 1; DROP TABLE t",
        "DROP TABLE t",
        "DELETE FROM t",
        "WITH x AS (SELECT 4) INSERT INTO t SELECT * FROM x",
        "CREATE TABLE written (a INTEGER)",
        f"ATTACH '{tmp_path / 'new.db'}' AS n",
        "PRAGMA query_only = OFF",
        "PRAGMA writable_schema = ON",
        "SELECT load_extension('/nonexistent/x')",
        "VACUUM",
    )
    for sql in attacks:
        refused(connection, sql)
    connection.close()
    assert sqlite_state(sqlite_file) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.db"]


def test_a_mistyped_sqlite_path_creates_no_file(tmp_path: Path) -> None:
    missing = tmp_path / "mistyped.db"
    with pytest.raises(ml.EngineError, match="no SQLite database at"):
        Connection(f"sqlite:///{missing}")._run("SELECT 1", timeout=5, max_rows=10)
    assert not missing.exists()
    assert list(tmp_path.iterdir()) == []


# -- PostgreSQL --------------------------------------------------------------------------------


def _pg_table_exists(observer: sqlalchemy.Engine, name: str) -> bool:
    with observer.connect() as connection:
        found = connection.exec_driver_sql(f"SELECT to_regclass('public.{name}')").scalar()
    return found is not None


def test_postgres_refuses_stacked_and_writing_statements(
    postgres: Connection, observer: sqlalchemy.Engine
) -> None:
    attacks = {
        "SELECT 1; CREATE TABLE ml_hostile (a INTEGER)": "multiple commands",
        "SELECT 1; COMMIT; CREATE TABLE ml_hostile (a INTEGER)": "multiple commands",
        "CREATE TABLE ml_hostile (a INTEGER)": "read-only transaction",
        "WITH gone AS (DELETE FROM pg_catalog.pg_description WHERE false RETURNING 1) "
        "SELECT * FROM gone": "read-only transaction",
        "SELECT set_config('default_transaction_read_only', 'off', false); "
        "CREATE TABLE ml_hostile (a INTEGER)": "multiple commands",
    }
    for sql, message in attacks.items():
        assert message in str(refused(postgres, sql)), sql
    assert not _pg_table_exists(observer, "ml_hostile")


def test_postgres_session_changes_end_with_the_transaction(
    postgres: Connection, observer: sqlalchemy.Engine
) -> None:
    """A SET is transactional in PostgreSQL: rolled back with the query, never seen again."""
    refused(postgres, "SET default_transaction_read_only = off")  # runs, returns no rows
    refused(postgres, "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
    after = postgres._run(
        "SELECT current_setting('default_transaction_read_only'), "
        "current_setting('transaction_read_only')",
        timeout=5,
        max_rows=10,
    )
    assert after.rows == (("on", "on"),)
    assert "read-only transaction" in str(refused(postgres, "CREATE TABLE ml_hostile (a INT)"))
    assert not _pg_table_exists(observer, "ml_hostile")


def test_postgres_superuser_file_access_is_stopped_by_the_guard() -> None:
    """PostgreSQL lets a superuser read and write server files even in a read-only
    transaction (pg_read_file, COPY ... TO a file): only the guard, or a role without
    pg_read_server_files/pg_write_server_files, stops them. They are never sent here."""
    for sql in (
        "SELECT pg_read_file('/etc/hostname')",
        "COPY (SELECT 1) TO '/tmp/ml_hostile_copy'",
        "SELECT * FROM pg_ls_dir('.')",
        "SELECT lo_import('/etc/hostname')",
    ):
        with pytest.raises(ml.StatementError):
            verify(sql, "postgres")


# -- MariaDB -----------------------------------------------------------------------------------


def test_mariadb_runs_one_statement_per_call(mariadb: Connection) -> None:
    """PyMySQL without CLIENT.MULTI_STATEMENTS: a second statement is a syntax error."""
    error = refused(mariadb, "SELECT 1; DELETE FROM mysql.db WHERE 1 = 0")
    assert "1064" in str(error.__cause__)
    error = refused(mariadb, "SELECT 1; SET SESSION TRANSACTION READ WRITE")
    assert "1064" in str(error.__cause__)


def test_mariadb_refuses_writes_in_the_read_only_transaction(mariadb: Connection) -> None:
    for sql in (
        "DELETE FROM mysql.db WHERE 1 = 0",
        "UPDATE mysql.db SET Db = Db WHERE 1 = 0",
        "INSERT INTO mysql.db SELECT * FROM mysql.db WHERE 1 = 0",
    ):
        assert "READ ONLY transaction" in str(refused(mariadb, sql)), sql


def test_mariadb_session_changes_do_not_outlive_the_transaction(mariadb: Connection) -> None:
    """SET SESSION TRANSACTION READ WRITE runs, but every query starts READ ONLY again."""
    mariadb._run("SET SESSION TRANSACTION READ WRITE", timeout=5, max_rows=10)
    assert "READ ONLY transaction" in str(refused(mariadb, "DELETE FROM mysql.db WHERE 1 = 0"))


def test_mariadb_ddl_files_and_comments_are_stopped_by_the_guard() -> None:
    """MariaDB commits DDL implicitly even inside a READ ONLY transaction, and a user with
    the FILE privilege reads and writes server files in a SELECT: the guard stops these, so
    they are never sent here (and a production user has neither privilege)."""
    for sql in (
        "CREATE TABLE ml_hostile (a INTEGER)",
        "DROP TABLE ml_hostile",
        "SELECT LOAD_FILE('/etc/hostname')",
        "SELECT 1 INTO OUTFILE '/tmp/ml_hostile_outfile'",
        "SELECT 1 /*!50000 , SLEEP(10) */",
        "SELECT 1 FROM DUAL LOCK IN SHARE MODE",
    ):
        with pytest.raises(ml.StatementError):
            verify(sql, "mysql")
