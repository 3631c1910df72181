"""Execution never writes: statements are refused, and server transactions are read-only."""

from __future__ import annotations

import pytest
import sqlalchemy
from conftest import require_service

import metrics_layer as ml
from metrics_layer.engine.connection import Connection

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def postgres() -> Connection:
    connection = Connection(POSTGRES)
    try:
        with connection.engine.connect() as probe:
            probe.exec_driver_sql("SELECT 1")
    except sqlalchemy.exc.OperationalError as exc:
        require_service("PostgreSQL", False, str(exc).splitlines()[0])
    return connection


def test_postgres_transaction_is_read_only(postgres: Connection) -> None:
    columns, rows, _ = postgres.execute("SELECT current_setting('transaction_read_only') AS ro")
    assert columns == ("ro",)
    assert rows == (("on",),)


def test_a_writing_query_is_refused_by_postgres(postgres: Connection) -> None:
    writing = "WITH gone AS (DELETE FROM pg_catalog.pg_class WHERE false RETURNING 1) SELECT 1"
    with pytest.raises(ml.EngineError, match="read-only transaction") as caught:
        postgres.execute(writing)
    assert caught.value.sql == writing


def test_a_bad_url_is_an_engine_error() -> None:
    with pytest.raises(ml.EngineError, match="not a connection URL"):
        _ = Connection("not a url").dialect
    with pytest.raises(ml.EngineError, match="cannot use connection URL"):
        _ = Connection("nosuchdriver://x").engine
