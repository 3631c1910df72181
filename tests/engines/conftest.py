"""One small project with real rows on every engine: DuckDB, SQLite, PostgreSQL, MariaDB,
ClickHouse (chdb, in memory) and Spark.

The rows are a plain SELECT of literals (a source's ``sql``), so nothing is written to any
database; DuckDB and SQLite get an empty file created here, Spark runs with no warehouse.
Server engines skip (fail under CI=true) when the server is down.
"""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from conftest import MARIADB_URL, POSTGRES_URL, require_pyspark, require_server

import metrics_layer as ml

ENGINES = ("duckdb", "sqlite", "postgres", "mariadb", "chdb", "spark")
SERVERS = {
    "postgres": ("PostgreSQL", POSTGRES_URL),
    "mariadb": ("MariaDB", MARIADB_URL),
}

# user_id, signed_up_at, country, plan, ever_paid, amount (DECIMAL(10, 2)) and score (DOUBLE,
# the same numbers). Countries differ only by case ('DE'/'de', 'FR'/'Fr') or by a trailing
# space ('DE '), which is what a case-insensitive or space-padding collation would merge; the
# amounts are the halves that rounding half to even and half away from zero tell apart.
ROWS = (
    (1, "2026-02-15 10:00:00", "'DE'", "'pro'", "TRUE", "2.5"),
    (2, "2026-02-20 00:00:00", "'de'", "'free'", "FALSE", "-2.5"),
    (3, "2026-01-15 00:00:00", "'FR'", "'free'", "TRUE", "1.5"),
    (4, "2026-03-01 00:00:00", "'Fr'", "'pro'", "FALSE", "0.5"),
    (5, "2026-01-31 23:30:00", "NULL", "'pro'", "FALSE", "-0.5"),
    (6, "2025-12-01 00:00:00", "'DE '", "'free'", "TRUE", "3.5"),
)


def rows_sql() -> str:
    """The rows as one SELECT ... UNION ALL SELECT ... of literals."""
    selects = []
    for number, (user_id, at, country, plan, paid, value) in enumerate(ROWS):
        if number == 0:
            selects.append(
                f"SELECT {user_id} AS user_id, CAST('{at}' AS TIMESTAMP) AS signed_up_at, "
                f"{country} AS country, {plan} AS plan, {paid} AS ever_paid, "
                f"CAST({value} AS DECIMAL(10, 2)) AS amount, CAST({value} AS DOUBLE) AS score"
            )
        else:
            selects.append(
                f"SELECT {user_id}, CAST('{at}' AS TIMESTAMP), {country}, {plan}, {paid}, "
                f"CAST({value} AS DECIMAL(10, 2)), CAST({value} AS DOUBLE)"
            )
    return " UNION ALL ".join(selects)


# Events of users 1 ('DE'), 2 ('de', twice) and 6 ('DE '), all in February 2026.
EVENTS = (
    "SELECT 1 AS event_id, 1 AS user_id, CAST('2026-02-16 00:00:00' AS TIMESTAMP) AS occurred_at "
    "UNION ALL SELECT 2, 2, CAST('2026-02-21 00:00:00' AS TIMESTAMP) "
    "UNION ALL SELECT 3, 2, CAST('2026-02-22 00:00:00' AS TIMESTAMP) "
    "UNION ALL SELECT 4, 6, CAST('2026-02-22 00:00:00' AS TIMESTAMP)"
)

PROJECT = {
    "metrics_layer.yml": """
        project:
          name: same_everywhere
          paths: [defs]
        """,
    "defs/users.yml": f"""
        sources:
          - name: users
            sql: "{rows_sql()}"
            time: signed_up_at
            entities: [{{name: user, key: user_id, primary: true}}]
            dimensions:
              - {{name: signed_up_at, type: time}}
              - {{name: country}}
              - {{name: plan}}
              - {{name: ever_paid, type: boolean}}
              - {{name: amount}}
              - {{name: score}}
            measures:
              - {{name: signups, agg: count}}
              - {{name: countries, agg: count_distinct, expr: country}}
          - name: events
            sql: "{EVENTS}"
            time: occurred_at
            entities: [{{name: user, key: user_id}}]
            dimensions:
              - {{name: occurred_at, type: time}}
            measures:
              - {{name: events, agg: count}}
        metrics:
          - {{name: signups, type: simple, measure: users.signups, version: 1, owner: tests}}
          - {{name: events, type: simple, measure: events.events, version: 1, owner: tests}}
          - {{name: countries, type: simple, measure: users.countries, version: 1, owner: tests}}
          - name: german_signups
            type: simple
            measure: users.signups
            filter: "country = 'de'"
            version: 1
            owner: tests
        """,
}


def _url(engine: str, folder: Path) -> str:
    if engine == "duckdb":
        path = folder / "empty.duckdb"
        duckdb.connect(str(path)).close()
        return f"duckdb:///{path}"
    if engine == "sqlite":
        path = folder / "empty.db"
        sqlite3.connect(path).close()
        return f"sqlite:///{path}"
    if engine == "chdb":
        pytest.importorskip("chdb")
        return "chdb://"
    if engine == "spark":
        return require_pyspark()
    name, url = SERVERS[engine]
    require_server(name, url)
    return url


@pytest.fixture(scope="module", params=ENGINES)
def engine_layer(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, ml.SemanticLayer]]:
    """(engine, the project loaded on it), once per engine."""
    engine: str = request.param
    folder = tmp_path_factory.mktemp(f"same_{engine}")
    for name, text in PROJECT.items():
        path = folder / "project" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    layer = ml.load(folder / "project", connection=_url(engine, folder))
    yield engine, layer
    layer.connection.close()


Count = Callable[..., int]


@pytest.fixture
def count(engine_layer: tuple[str, ml.SemanticLayer]) -> Count:
    """The number of signups that pass ``where`` on the engine under test."""
    _, layer = engine_layer

    def run(where: str | None = None, metric: str = "signups") -> int:
        rows = layer.query([metric], where=where).run().rows
        return int(rows[0][0]) if rows else 0

    return run
