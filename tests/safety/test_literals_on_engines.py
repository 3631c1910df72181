"""Dialect string escapes, proven on the real engines: a hostile string literal, rendered by the
compiler for an engine, comes back from that engine as exactly the same string (so it cannot end
early and turn the rest of the literal into SQL)."""

from __future__ import annotations

import duckdb
import pytest
import sqlalchemy
from conftest import MARIADB_URL, POSTGRES_URL
from sql.engines import attempt, rolled_back
from sqlglot import exp

POSTGRES = POSTGRES_URL
MARIADB = MARIADB_URL

VALUES = [
    "x' OR '1'='1",
    "x\\' OR 1=1 -- ",
    "x\\\\' OR 1=1 -- ",
    "\\",
    "\\\\",
    "x''",
    "$$ OR 1=1 $$",
    "é\u2019ü\U0001f600",
    "%_%%",
    "x\nOR 1=1",
    "\\0\\b\\n\\r\\t\\Z",
    "--",
    "/*! OR 1=1 */",
]


def _select(value: str, dialect: str) -> str:
    literal = exp.Literal.string(value)
    return exp.select(exp.alias_(literal, "v")).sql(dialect)


@pytest.mark.parametrize("value", VALUES)
def test_duckdb_reads_the_literal_back(value: str) -> None:
    connection = duckdb.connect(":memory:")
    assert connection.execute(_select(value, "duckdb")).fetchall() == [(value,)]


@pytest.mark.parametrize("value", VALUES)
def test_sqlite_reads_the_literal_back(value: str) -> None:
    import sqlite3

    connection = sqlite3.connect(":memory:")
    assert connection.execute(_select(value, "sqlite")).fetchall() == [(value,)]


@pytest.mark.engine("postgres")
def test_postgres_reads_every_literal_back() -> None:
    with rolled_back("PostgreSQL", POSTGRES) as connection:
        for value in VALUES:
            assert attempt(connection, _select(value, "postgres")).rows == [(value,)], value


@pytest.mark.engine("mariadb")
def test_mariadb_reads_every_literal_back() -> None:
    with rolled_back("MariaDB", MARIADB) as connection:
        for value in VALUES:
            assert attempt(connection, _select(value, "mysql")).rows == [(value,)], value
        mode = attempt(connection, "SELECT @@sql_mode").rows[0][0]
        assert "NO_BACKSLASH_ESCAPES" not in str(mode).upper()


def test_the_engines_are_the_ones_named() -> None:
    assert sqlalchemy.engine.make_url(POSTGRES).get_backend_name() == "postgresql"
    assert sqlalchemy.engine.make_url(MARIADB).get_backend_name() == "mysql"


@pytest.mark.engine("chdb")
def test_clickhouse_reads_every_literal_back() -> None:
    """ClickHouse reads backslash escapes in string literals (as MariaDB does)."""
    pytest.importorskip("chdb")
    from metrics_layer.engine.connection import Connection
    from metrics_layer.safety.statement import verify

    connection = Connection("chdb://")
    try:
        for value in VALUES:
            statement = verify(_select(value, "clickhouse"), "clickhouse")
            assert connection.fetch(statement, max_rows=1).rows == ((value,),), value
    finally:
        connection.close()
