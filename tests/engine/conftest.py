"""Connections to every engine for the engine-layer tests, and the database states they check.

``Connection._run`` sends text below the statement guard: it is how these tests prove what each
engine refuses on its own. Server connections skip (fail under CI=true) when the server is down.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import sqlalchemy
from conftest import MARIADB_URL, POSTGRES_URL, require_server
from sqlalchemy.pool import NullPool

from metrics_layer.engine.connection import Connection

# The test servers under the schemes a user would type (postgresql://, mariadb://).
POSTGRES = sqlalchemy.make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(False)
MARIADB = sqlalchemy.make_url(MARIADB_URL).set(drivername="mariadb").render_as_string(False)


def _server(name: str, url: str) -> Iterator[Connection]:
    require_server(name, url)
    connection = Connection(url)
    yield connection
    connection.close()


@pytest.fixture
def postgres() -> Iterator[Connection]:
    yield from _server("PostgreSQL", POSTGRES)


@pytest.fixture
def mariadb() -> Iterator[Connection]:
    yield from _server("MariaDB", MARIADB)


@pytest.fixture
def observer() -> Iterator[sqlalchemy.Engine]:
    """A plain engine (no metrics_layer session) for looking at PostgreSQL from outside."""
    engine = sqlalchemy.create_engine(POSTGRES_URL, poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    """A SQLite database with one table t(a) holding 1, 2, 3, written by sqlite3 itself."""
    path = tmp_path / "small.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (a INTEGER)")
        db.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
    db.close()
    return path


@pytest.fixture
def duckdb_file(tmp_path: Path) -> Path:
    """A DuckDB database with one table t(a) holding 1, 2, 3."""
    path = tmp_path / "small.duckdb"
    db = duckdb.connect(str(path))
    db.execute("CREATE TABLE t (a INTEGER)")
    db.execute("INSERT INTO t VALUES (1), (2), (3)")
    db.close()
    return path


def sqlite_state(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """(schema objects, rows of t) of a SQLite file, read with sqlite3."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        schema = db.execute("SELECT type, name FROM sqlite_master ORDER BY name").fetchall()
        return schema, db.execute("SELECT a FROM t ORDER BY a").fetchall()
    finally:
        db.close()


def duckdb_state(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """(tables, rows of t) of a DuckDB file (open it only once metrics_layer has closed it)."""
    db = duckdb.connect(str(path), read_only=True)
    try:
        tables = db.execute("SELECT table_name FROM information_schema.tables").fetchall()
        return sorted(tables), db.execute("SELECT a FROM t ORDER BY a").fetchall()
    finally:
        db.close()
