"""Faults end in one clear EngineError naming the fix, and no password is ever shown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy

import metrics_layer as ml
from metrics_layer.engine.connection import Connection
from metrics_layer.engine.urls import redact, scrub, secrets

from .conftest import POSTGRES

SECRET = "hunter2-Zq9"
WriteProject = Callable[[dict[str, str]], Path]


@pytest.fixture
def catalog_project(write_project: WriteProject) -> Path:
    """One metric: the number of the two schemas every PostgreSQL database has."""
    return write_project(
        {
            "metrics_layer.yml": """
                project: {name: catalog}
                sources:
                  - name: schemas
                    sql: "SELECT oid AS id FROM pg_catalog.pg_namespace
                          WHERE nspname IN ('pg_catalog', 'information_schema')"
                    entities: [{name: schema, key: id, primary: true}]
                    measures: [{name: schemas, agg: count}]
                metrics:
                  - {name: schemas, type: simple, measure: schemas.schemas, version: 1}
                """
        }
    )


def assert_hidden(error: BaseException, *shown: object) -> None:
    for text in (str(error), repr(error), str(error.__cause__), *map(str, shown)):
        assert SECRET not in text


def test_server_down(catalog_project: Path) -> None:
    layer = ml.load(catalog_project, connection=f"postgresql://postgres:{SECRET}@127.0.0.1:1/test")
    with pytest.raises(ml.EngineError, match=r"connection refused\): start the server") as caught:
        layer.query("schemas").run()
    assert "postgresql://postgres:***@127.0.0.1:1/test" in str(caught.value)
    assert_hidden(caught.value, repr(layer.connection), repr(layer))


def test_mariadb_server_down() -> None:
    connection = Connection(f"mariadb://root:{SECRET}@127.0.0.1:1/test")
    with pytest.raises(ml.EngineError, match="connection refused") as caught:
        connection._run("SELECT 1", timeout=5, max_rows=1)
    assert_hidden(caught.value, repr(connection))


def test_wrong_mariadb_password(mariadb: Connection) -> None:
    connection = Connection(f"mariadb://root:{SECRET}@127.0.0.1:3306/test")
    with pytest.raises(ml.EngineError, match="refused the user or password") as caught:
        connection._run("SELECT 1", timeout=5, max_rows=1)
    assert "Access denied" in str(caught.value.__cause__)
    assert_hidden(caught.value, repr(connection))


def test_a_password_in_a_driver_message_is_scrubbed(postgres: Connection) -> None:
    """Trust auth ignores the password; the database name (the same text) is in the error."""
    connection = Connection(f"postgresql://postgres:{SECRET}@127.0.0.1:5432/{SECRET}")
    with pytest.raises(ml.EngineError) as caught:
        connection._run("SELECT 1", timeout=5, max_rows=1)
    assert SECRET in str(caught.value.__cause__)  # the driver's own message, kept as the cause
    assert "does not exist" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(connection)


def test_a_url_without_slashes_is_redacted() -> None:
    with pytest.raises(ml.EngineError, match="not a connection URL") as caught:
        _ = Connection(f"postgresql:postgres:{SECRET}@127.0.0.1/test").dialect
    assert "postgresql:postgres:***@127.0.0.1/test" in str(caught.value)
    assert_hidden(caught.value)


def test_a_url_that_does_not_parse_is_redacted() -> None:
    with pytest.raises(ml.EngineError) as caught:
        _ = Connection(f"postgresql://postgres:{SECRET}@127.0.0.1:port/test").engine
    assert_hidden(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql://u:{SECRET}@h/db", "postgresql://u:***@h/db"),
        (f"mariadb+pymysql://u:{SECRET}@h:3306/db", "mariadb+pymysql://u:***@h:3306/db"),
        (f"postgresql:u:{SECRET}@h/db", "postgresql:u:***@h/db"),
        ("postgresql://u:p%40ss@h/db", "postgresql://u:***@h/db"),
        ("duckdb:///x.duckdb", "duckdb:///x.duckdb"),
    ],
)
def test_redact(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert repr(Connection(url)) == f"<Connection {shown}>"


def test_an_encoded_password_is_scrubbed_in_both_forms() -> None:
    found = secrets("postgresql://u:p%40ss@h/db")
    assert set(found) == {"p%40ss", "p@ss"}
    assert scrub("bad p@ss and p%40ss", found) == "bad *** and ***"


def test_a_dropped_pooled_connection_reconnects(
    catalog_project: Path, postgres: Connection, observer: sqlalchemy.Engine
) -> None:
    layer = ml.load(catalog_project, connection=POSTGRES)
    assert layer.query("schemas").run().rows == ((2,),)
    connection = layer.connection
    pid = connection._run("SELECT pg_backend_pid()", timeout=5, max_rows=1).rows[0][0]
    with observer.connect() as outside:
        assert outside.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})").scalar()
    assert layer.query("schemas").run().rows == ((2,),)
    again = connection._run("SELECT pg_backend_pid()", timeout=5, max_rows=1).rows[0][0]
    assert again != pid
    connection.close()
