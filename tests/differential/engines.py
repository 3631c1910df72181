"""The engines the differential test runs on, one entry each, and their documented gaps.

Adding an engine is one ``Engine(...)`` in ``ENGINES``: how to reach an empty database of it,
whether it has a time-zone-aware timestamp type, which project zones it computes, and which
known gaps (docs/engines.md, "Known gaps") its comparisons must leave out.
"""

from __future__ import annotations

import enum
import functools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlalchemy
from conftest import MARIADB_URL, POSTGRES_URL
from sqlalchemy.pool import NullPool

from .grammar import And, CompareColumns, Filter, Not, Or, Query
from .reference import SOURCES, resolve

__all__ = ["ENGINES", "Engine", "Gap", "gaps_hit"]

POSTGRES = POSTGRES_URL
MARIADB = MARIADB_URL


class Gap(enum.Enum):
    """A documented difference of an engine (docs/engines.md, "Known gaps")."""

    # "MariaDB/MySQL: ORDER BY a text dimension follows the collation's order ('de' next to
    # 'DE')": rows are compared as a set there, and a query with a limit is not compared.
    TEXT_ORDER = "ORDER BY a text dimension follows the collation"
    # "comparing two text columns with no literal ... [is] still case-insensitive there"
    TEXT_COLUMNS = "comparing two text columns is case-insensitive"


@dataclass(frozen=True)
class Engine:
    name: str
    empty: Callable[[Path], str]  # the URL of an empty database (a new file in the folder)
    aware: bool  # has a time-zone-aware timestamp type for the order times
    named_zones: Callable[[], bool]  # whether it converts to zones other than UTC
    gaps: frozenset[Gap] = frozenset()
    server: str | None = None  # for a skip (or a failure under CI) when it is down


def _duckdb(folder: Path) -> str:
    path = folder / "empty.duckdb"
    duckdb.connect(str(path)).close()
    return f"duckdb:///{path}"


def _sqlite(folder: Path) -> str:
    path = folder / "empty.sqlite"
    sqlite3.connect(path).close()
    return f"sqlite:///{path}"


@functools.cache
def _mariadb_has_zones() -> bool:
    """CONVERT_TZ needs the server's time-zone tables; without them a named zone is refused
    (docs/queries.md, Time), so only UTC projects are compared."""
    engine = sqlalchemy.create_engine(MARIADB, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            found = connection.exec_driver_sql(
                "SELECT CONVERT_TZ('2026-01-01 00:00:00', 'UTC', 'Europe/Berlin')"
            ).scalar()
    finally:
        engine.dispose()
    return found is not None


ENGINES = (
    Engine("duckdb", _duckdb, aware=True, named_zones=lambda: True),
    # SQLite has no time-zone database: a project zone other than UTC is refused when compiled.
    Engine("sqlite", _sqlite, aware=False, named_zones=lambda: False),
    Engine(
        "postgres", lambda _: POSTGRES, aware=True, named_zones=lambda: True, server="PostgreSQL"
    ),
    Engine(
        "mariadb",
        lambda _: MARIADB,
        aware=False,
        named_zones=_mariadb_has_zones,
        gaps=frozenset({Gap.TEXT_ORDER, Gap.TEXT_COLUMNS}),
        server="MariaDB",
    ),
    # chdb:// is an empty in-memory ClickHouse: the sources' literal rows need no directory.
    Engine("chdb", lambda _: "chdb://", aware=True, named_zones=lambda: True),
)


def _text(name: str) -> bool:
    """Whether a dimension name holds text."""
    for source in SOURCES:
        found = resolve(name, source)
        if found is not None:
            return found.kind == "text"
    return False


def _columns_compared(node: Filter) -> bool:
    if isinstance(node, CompareColumns):
        return True
    if isinstance(node, Not):
        return _columns_compared(node.operand)
    if isinstance(node, And | Or):
        return _columns_compared(node.left) or _columns_compared(node.right)
    return False


def gaps_hit(query: Query) -> set[Gap]:
    """The known gaps a query runs into."""
    hit: set[Gap] = set()
    # every ``by`` column is in ORDER BY, as a tie-breaker if not requested
    if any(_text(name) for name in query.by):
        hit.add(Gap.TEXT_ORDER)
    if query.where is not None and _columns_compared(query.where):
        hit.add(Gap.TEXT_COLUMNS)
    return hit
