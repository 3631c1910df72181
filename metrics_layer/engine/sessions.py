"""How each engine is made read-only, time-limited and UTC: one ``Session`` per engine.

Every mechanism here is the database's own; the statement guard (``safety/statement.py``) runs
before any of it and is the only layer on which a few things rest (see docs/security-engine.md).

=========== ============================================== ============================== ==========
engine      read-only                                      timeout                        time zone
=========== ============================================== ============================== ==========
DuckDB      read_only file, enable_external_access=false,  ``interrupt()`` from a timer   SET GLOBAL
            no extension autoload/install, locked config                                  TimeZone
PostgreSQL  default_transaction_read_only, READ ONLY       statement_timeout, SET LOCAL   TimeZone
            transaction, extended protocol (binary=True)   per query                      option and
                                                                                          SET LOCAL
MariaDB     START TRANSACTION READ ONLY, no                max_statement_time (MariaDB),  time_zone
MySQL       multi-statements (PyMySQL default)             max_execution_time (MySQL)     +00:00; a
                                                                                          named zone
                                                                                          is probed
SQLite      URI mode=ro, PRAGMA query_only, authorizer     progress handler               (none)
ClickHouse  readonly=1 as the first session setting of     max_execution_time             session_
(chdb)      each query's own connection                                                   timezone
                                                                                          UTC
=========== ============================================== ============================== ==========

ClickHouse (chdb) has no SQLAlchemy dialect: ``engine/adapters/clickhouse.py`` does the same
there, and also sets the settings that give standard SQL semantics (join_use_nulls, ...).

SQLite's session also makes LIKE case-sensitive and FLOOR NULL-safe, so that a filter counts the
same rows as on the other engines (docs/queries.md, "Filters"), and gives each connection a
64 MiB page cache (``SQLITE_CACHE_KIB``).

Spark (``spark://local``) runs through an adapter instead (``engine/adapters/spark.py``). Any
other engine is refused at run time; ``metrics-layer compile`` gives its SQL.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from metrics_layer.errors import EngineError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = ["DUCKDB_CONFIG", "ENGINES", "SESSIONS", "Session", "session_for"]

# Passed to duckdb.connect(); the time zone and the lock are applied right after connecting,
# because TimeZone needs the ICU extension, which is loaded only once the database is open.
DUCKDB_CONFIG: dict[str, Any] = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
}


@dataclass(frozen=True)
class Session:
    """How one engine connects, starts a read-only query with a timeout, and runs it.

    ``url`` rewrites the URL, ``connect_args`` are the driver's connect arguments,
    ``on_connect`` prepares each new DBAPI connection, ``query`` wraps one query (read-only
    transaction, timeout) on a DBAPI connection, ``execute`` sends the text, ``timed_out`` tells
    a driver error caused by the timeout, ``check_zone`` raises EngineError when the engine
    cannot convert UTC to a named time zone (run once per DBAPI connection and zone).
    """

    name: str
    url: Callable[[URL], URL]
    connect_args: Callable[[float], dict[str, Any]]
    on_connect: Callable[[Any], None]
    query: Callable[[Any, float], AbstractContextManager[None]]
    execute: Callable[[Any, str], None]
    timed_out: Callable[[BaseException], bool]
    check_zone: Callable[[Any, str], None]


def _same(url: URL) -> URL:
    return url


def _nothing(_: Any) -> None:
    return None


def _any_zone(_: Any, __: str) -> None:
    return None


def _plain_execute(cursor: Any, sql: str) -> None:
    cursor.execute(sql)


# -- DuckDB ------------------------------------------------------------------------------------


def _duckdb_url(url: URL) -> URL:
    """A read-only DuckDB file must exist; say so before DuckDB's own error."""
    database = url.database
    if database and database != ":memory:" and not Path(database).is_file():
        raise EngineError(
            f"no DuckDB database at {database!r}; check the path in the URL "
            "(duckdb:///relative/path.duckdb, duckdb:////absolute/path.duckdb)"
        )
    return url


def _duckdb_connect_args(_: float) -> dict[str, Any]:
    return {"read_only": True, "config": dict(DUCKDB_CONFIG)}


_DUCKDB_SETUP = threading.Lock()


def _duckdb_on_connect(dbapi: Any) -> None:
    """UTC, then lock the configuration (once per database instance: the lock is global).

    Connections to one file share one instance, so two threads connecting at once must not both
    find it unlocked and both try to lock it: the check and the setting happen under one lock.
    """
    with _DUCKDB_SETUP:
        locked, zone = dbapi.execute(
            "SELECT current_setting('lock_configuration'), current_setting('TimeZone')"
        ).fetchone()
        if not locked:
            dbapi.execute("SET GLOBAL TimeZone = 'UTC'")
            dbapi.execute("SET lock_configuration = true")
            return
    if zone != "UTC":
        raise EngineError(
            f"this DuckDB database is already open in this process with time zone {zone}; "
            "open it through metrics_layer only, so that results are in UTC"
        )


@contextmanager
def _duckdb_query(dbapi: Any, timeout: float) -> Iterator[None]:
    """DuckDB has no statement timeout: interrupt the connection from a timer."""
    timer = threading.Timer(timeout, dbapi.interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _duckdb_timed_out(exc: BaseException) -> bool:
    return "interrupted" in str(exc).lower()


# -- PostgreSQL (psycopg 3) --------------------------------------------------------------------


def _postgres_connect_args(timeout: float) -> dict[str, Any]:
    """Read-only, the timeout, UTC, and no JIT compilation: PostgreSQL compiles a query once
    its estimated cost passes ``jit_above_cost``, and the grouped and windowed queries of a
    metric are estimated far above their cost (a GROUP BY of a month of a timestamp is taken
    to have as many groups as the timestamp has values): monthly active users by month, 1M
    events, ran in 0.83 s without JIT and 1.33 s with it, 0.5 s of compiling (docs/engines.md).
    """
    ms = _milliseconds(timeout)
    return {
        "options": (
            f"-c default_transaction_read_only=on -c statement_timeout={ms} -c TimeZone=UTC "
            "-c jit=off"
        ),
        "connect_timeout": 10,
    }


@contextmanager
def _postgres_query(dbapi: Any, timeout: float) -> Iterator[None]:
    """A READ ONLY transaction with its own statement_timeout and TimeZone (SET LOCAL ends
    with it).

    TimeZone is set again here because the connect option is not the last word: libpq sends
    ``PGTZ`` from the client's environment as a startup parameter, which the server applies
    after ``options`` (tests/soundness/test_time_zones.py).
    """
    with dbapi.cursor() as cursor:
        cursor.execute("SET TRANSACTION READ ONLY")
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, true), set_config('TimeZone', 'UTC', true)",
            (str(_milliseconds(timeout)),),
        )
    yield


def _postgres_execute(cursor: Any, sql: str) -> None:
    """binary=True forces the extended protocol: one statement only, never a stacked one."""
    cursor.execute(sql, binary=True)


def _postgres_timed_out(exc: BaseException) -> bool:
    return getattr(exc, "sqlstate", None) == "57014" or "statement timeout" in str(exc)


# -- MariaDB and MySQL (PyMySQL) ---------------------------------------------------------------


def _mysql_connect_args(_: float) -> dict[str, Any]:
    # PyMySQL only runs several statements in one call with CLIENT.MULTI_STATEMENTS, which is
    # never set here (tests/engine/test_hostile_sql.py proves it).
    return {"init_command": "SET time_zone = '+00:00'", "connect_timeout": 10}


@contextmanager
def _mysql_query(dbapi: Any, timeout: float) -> Iterator[None]:
    with dbapi.cursor() as cursor:
        if "mariadb" in dbapi.get_server_info().lower():
            cursor.execute("SET SESSION max_statement_time = %s", (float(timeout),))
        else:
            cursor.execute("SET SESSION max_execution_time = %s", (_milliseconds(timeout),))
        cursor.execute("START TRANSACTION READ ONLY")
    yield


def _mysql_check_zone(dbapi: Any, zone: str) -> None:
    """CONVERT_TZ gives NULL for a named zone when the server's time-zone tables are empty
    (the default): every timestamp would silently become NULL. Refuse instead."""
    with dbapi.cursor() as cursor:
        cursor.execute("SELECT CONVERT_TZ('2026-01-01 00:00:00', 'UTC', %s)", (zone,))
        row = cursor.fetchone()
    if row is None or row[0] is None:
        raise EngineError(
            f"this MySQL/MariaDB server cannot convert UTC to the project's time zone {zone!r}: "
            "its time-zone tables are not loaded, so CONVERT_TZ returns NULL and every "
            "timestamp would be lost. Ask the database administrator to load them "
            "(`mariadb-tzinfo-to-sql /usr/share/zoneinfo | mariadb -u root mysql`, or "
            "`mysql_tzinfo_to_sql /usr/share/zoneinfo | mysql -u root mysql` on MySQL), or set "
            "`time_zone: UTC` in the project"
        )


def _mysql_timed_out(exc: BaseException) -> bool:
    code = exc.args[0] if exc.args else None
    return code in (1969, 3024) or "max_statement_time" in str(exc)


# -- SQLite ------------------------------------------------------------------------------------


def _sqlite_url(url: URL) -> URL:
    """``file:<path>?mode=ro`` so that a wrong path is an error, never a new empty file."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        if database and database.startswith("file:") and "mode=ro" not in database:
            raise EngineError("open SQLite URI databases with mode=ro, e.g. file:x.db?mode=ro")
        return url
    path = Path(database)
    if not path.is_file():
        raise EngineError(
            f"no SQLite database at {str(path)!r}; check the path in the URL "
            "(sqlite:///relative/path.db, sqlite:////absolute/path.db)"
        )
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    return url.set(database=uri, query={**dict(url.query), "uri": "true"})


_SQLITE_ALLOWED_PRAGMAS = frozenset({"read_uncommitted", "query_only"})
# Pragmas that only read the schema, for SQLAlchemy's inspector (``Connection.inspecting``,
# ``metrics-layer check --connection``); none of them has a form that changes anything.
_SQLITE_SCHEMA_PRAGMAS = frozenset({"database_list", "table_info", "table_xinfo"})


def _sqlite_authorizer(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
    """Reading only: SELECT, reads, functions (not load_extension), reading two pragmas and
    the pragmas that list the schema."""
    import sqlite3

    if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (arg2 or "").lower() == "load_extension" else 0
    if action == sqlite3.SQLITE_PRAGMA and arg1 in _SQLITE_ALLOWED_PRAGMAS and arg2 is None:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and arg1 in _SQLITE_SCHEMA_PRAGMAS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_TRANSACTION:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _sqlite_floor(value: object) -> object:
    """FLOOR as SQLite's own: NULL stays NULL, REAL stays REAL (SQLAlchemy's replacement is
    ``math.floor``, which raises on NULL and gives an integer)."""
    if value is None or isinstance(value, int):
        return value
    try:
        return float(math.floor(float(value)))  # type: ignore[arg-type]
    except ValueError:
        return 0.0  # SQLite reads text that is not a number as 0


# SQLite's page cache per connection, in KiB when negative: 64 MiB, taken as pages are read.
# Its default, 2 MiB, sends a lookup of many rows through an index (a correlated EXISTS per
# entity) to the file again for most of its pages: activation within 7 days by month over 1M
# events, 116 ms with the default, 79 ms with this (docs/benchmarks.md, "A twelfth round").
# Not memory-mapped reads (``mmap_size``), which were faster still (62 ms) but turn an I/O
# error or a file truncated by another process into a crash (SIGBUS) instead of an error.
# The pool holds at most 15 connections (SQLAlchemy's 5 and 10 more under load): 960 MiB if
# every one of them read that much of the file at once.
SQLITE_CACHE_KIB = 65_536


def _sqlite_on_connect(dbapi: Any) -> None:
    """Read-only, LIKE case-sensitive as on every other engine, a page cache for analytical
    reads (``SQLITE_CACHE_KIB``), then the authorizer.

    The pragmas are set before the authorizer, which would refuse setting them.
    """
    dbapi.execute("PRAGMA query_only = ON")
    dbapi.execute("PRAGMA case_sensitive_like = ON")
    dbapi.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    dbapi.create_function("floor", 1, _sqlite_floor, deterministic=True)
    dbapi.set_authorizer(_sqlite_authorizer)


@contextmanager
def _sqlite_query(dbapi: Any, timeout: float) -> Iterator[None]:
    deadline = time.monotonic() + timeout
    dbapi.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        yield
    finally:
        dbapi.set_progress_handler(None, 0)


def _sqlite_timed_out(exc: BaseException) -> bool:
    return "interrupted" in str(exc).lower()


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


SESSIONS: dict[str, Session] = {
    "duckdb": Session(
        "DuckDB",
        _duckdb_url,
        _duckdb_connect_args,
        _duckdb_on_connect,
        _duckdb_query,
        _plain_execute,
        _duckdb_timed_out,
        _any_zone,
    ),
    "postgresql": Session(
        "PostgreSQL",
        _same,
        _postgres_connect_args,
        _nothing,
        _postgres_query,
        _postgres_execute,
        _postgres_timed_out,
        _any_zone,
    ),
    "mysql": Session(
        "MySQL/MariaDB",
        _same,
        _mysql_connect_args,
        _nothing,
        _mysql_query,
        _plain_execute,
        _mysql_timed_out,
        _mysql_check_zone,
    ),
    "sqlite": Session(
        "SQLite",
        _sqlite_url,
        lambda _: {},
        _sqlite_on_connect,
        _sqlite_query,
        _plain_execute,
        _sqlite_timed_out,
        _any_zone,
    ),
}
_FAMILY = {"mariadb": "mysql", "postgres": "postgresql"}
ENGINES = ("duckdb", "postgresql", "mysql", "mariadb", "sqlite", "chdb", "spark (spark://local)")


def session_for(scheme: str) -> Session:
    """The session of a URL scheme; EngineError for engines where read-only is not enforced."""
    session = SESSIONS.get(_FAMILY.get(scheme, scheme))
    if session is None:
        raise EngineError(
            f"metrics_layer runs queries only where it can make the connection read-only: "
            f"{', '.join(ENGINES)}; {scheme!r} is not one of them. Use `metrics-layer compile "
            "--dialect <dialect>` (or Query.sql(dialect)) for the SQL and run it with your own "
            "client"
        )
    return session
