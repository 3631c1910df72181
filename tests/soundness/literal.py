"""Literal rows on every engine: what a soundness test needs besides its rows, its definitions
and its hand numbers.

A source's ``sql:`` is a SELECT of literal rows (``literal_rows``), so nothing is written to any
database and the same rows reach DuckDB, SQLite, PostgreSQL, MariaDB, ClickHouse (chdb, in
memory) and Spark. The ``literal_layer`` fixture (tests/soundness/conftest.py) loads a project of
such sources on an engine named here (``engine_url``); ``ENGINES`` is the parametrization, with
``but(...)`` and ``only(...)`` for a test that leaves engines out. Server engines skip (fail
under CI=true) when the server is down.
"""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy
from conftest import MARIADB_URL, POSTGRES_URL, require_pyspark, require_server
from sqlalchemy.pool import NullPool
from sqlglot import exp

import metrics_layer as ml

POSTGRES = POSTGRES_URL
MARIADB = MARIADB_URL
SERVERS = {"postgres": ("PostgreSQL", POSTGRES), "mariadb": ("MariaDB", MARIADB)}

# DuckDB and SQLite run everywhere; the others are marked with the engine they need.
ENGINES = [
    "duckdb",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.engine("postgres")),
    pytest.param("mariadb", marks=pytest.mark.engine("mariadb")),
    pytest.param("chdb", marks=pytest.mark.engine("chdb")),
    pytest.param("spark", marks=pytest.mark.engine("spark")),
]


def but(*left_out: str) -> list[Any]:
    """``ENGINES`` without ``left_out``."""
    return [e for e in ENGINES if _name(e) not in left_out]


def only(*names: str) -> list[Any]:
    """The entries of ``ENGINES`` named ``names``, with their marks."""
    return [e for e in ENGINES if _name(e) in names]


def _name(entry: Any) -> str:
    return str(entry.values[0] if hasattr(entry, "values") else entry)


Rows = Sequence[Sequence[object]]
# tiny_layer({table: (column definitions, rows)}, {file: YAML}): real DuckDB tables
TinyLayer = Callable[[Mapping[str, tuple[str, Rows]], dict[str, str]], ml.SemanticLayer]
# literal_layer(definitions, engine, **project settings)
LiteralLayer = Callable[..., ml.SemanticLayer]


def literal_rows(columns: Mapping[str, str | None], rows: Rows) -> str:
    """``SELECT ... UNION ALL SELECT ...`` of ``rows``, for a source's ``sql:``.

    ``columns`` maps each column's name to the SQL type its values are cast to (None: the literal
    as it is). A ``str`` is a string literal, a number (``Decimal`` keeps its digits) a number, a
    ``datetime`` or ``date`` its ISO text; the first row names the columns.
    """
    if not rows:
        raise ValueError("literal_rows needs at least one row (a SELECT of no rows has no types)")
    selects: list[exp.Query] = []
    for number, row in enumerate(rows):
        if len(row) != len(columns):
            raise ValueError(f"row {number + 1} has {len(row)} values for {len(columns)} columns")
        cells: list[exp.Expr] = []
        for (name, kind), value in zip(columns.items(), row, strict=True):
            cell: exp.Expr = _literal(value)
            if kind is not None:
                cell = exp.cast(cell, kind)
            cells.append(exp.alias_(cell, name) if number == 0 else cell)
        selects.append(exp.select(*cells))
    union = functools.reduce(lambda left, right: exp.union(left, right, distinct=False), selects)
    return union.sql()


def _literal(value: object) -> exp.Expr:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float | Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, dt.datetime):
        return exp.Literal.string(value.isoformat(sep=" "))
    if isinstance(value, dt.date | str):
        return exp.Literal.string(str(value))
    raise TypeError(f"no SQL literal for {value!r}")


def engine_url(engine: str, folder: Path) -> str:
    """A URL of ``engine``: an empty database file in ``folder`` for DuckDB and SQLite (made
    once: a second layer may use it), chdb in memory, a local Spark, or a reachable server."""
    if engine in ("duckdb", "sqlite"):
        path = folder / f"empty.{engine}"
        if not path.exists():
            if engine == "duckdb":
                duckdb.connect(str(path)).close()
            else:
                sqlite3.connect(path).close()
        return f"{engine}:///{path}"
    if engine == "chdb":
        pytest.importorskip("chdb")
        return "chdb://"
    if engine == "spark":
        return require_pyspark()
    name, url = SERVERS[engine]
    require_server(name, url)
    return url


def mariadb_has_zone_tables(zone: str = "Europe/Berlin") -> bool:
    """Whether the MariaDB server knows ``zone`` (CONVERT_TZ gives NULL without its time-zone
    tables)."""
    engine = sqlalchemy.create_engine(MARIADB, poolclass=NullPool)
    convert = sqlalchemy.text("SELECT CONVERT_TZ('2026-01-01 00:00:00', 'UTC', :zone)")
    try:
        with engine.connect() as connection:
            converted = connection.execute(convert, {"zone": zone}).scalar()
    finally:
        engine.dispose()
    return converted is not None


def fetch(layer: ml.SemanticLayer, metrics: list[str], **query: Any) -> list[tuple[Any, ...]]:
    """The rows of ``layer.query(metrics, **query)``."""
    return list(layer.query(metrics, **query).run().rows)


def typed(rows: Iterable[tuple[Any, ...]]) -> list[tuple[tuple[Any, type], ...]]:
    """Each value with its exact type: 1 == 1.0 == True would hide a type difference."""
    return [tuple((value, type(value)) for value in row) for row in rows]
