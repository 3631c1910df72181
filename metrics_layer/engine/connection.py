"""Running verified SQL through SQLAlchemy 2: pooling, fetching a bounded result, errors.

A ``Connection`` runs only a ``Statement`` from ``metrics_layer.safety.statement.verify``;
``engine/sessions.py`` makes each engine read-only, time-limited and UTC by its own mechanism,
and ``engine/urls.py`` keeps passwords out of every message. Every driver or SQLAlchemy error
becomes an EngineError naming the fix, with the password scrubbed out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from metrics_layer.engine.adapters import Adapter, adapter_for
from metrics_layer.engine.sessions import Session, session_for
from metrics_layer.engine.urls import (
    URL_VARIABLE,
    dialect_of,
    parse,
    redact,
    resolve_url,
    scheme,
    scrub,
    secrets,
)
from metrics_layer.errors import EngineError, InternalError, QueryError
from metrics_layer.spec.models import DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT

if TYPE_CHECKING:
    import sqlalchemy

    from metrics_layer.safety.statement import Statement

__all__ = [
    "DEFAULT_MAX_ROWS",
    "DEFAULT_TIMEOUT",
    "URL_VARIABLE",
    "Connection",
    "Fetched",
    "check_max_rows",
    "check_timeout",
    "resolve_url",
]


@dataclass(frozen=True)
class Fetched:
    """What one query returned: column names, rows and elapsed milliseconds."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    elapsed_ms: float


def check_timeout(value: object, field: str = "timeout") -> float:
    """A timeout in seconds: a positive number; QueryError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise QueryError(f"must be a positive number of seconds, not {value!r}", field=field)
    return float(value)


def check_max_rows(value: object, field: str = "max_rows") -> int:
    """A row cap: a positive whole number; QueryError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise QueryError(f"must be a positive whole number, not {value!r}", field=field)
    return value


class Connection:
    """A lazily created, pooled SQLAlchemy engine for one URL (None: the demo DuckDB)."""

    def __init__(self, url: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.timeout = check_timeout(timeout)

    def __repr__(self) -> str:
        shown = "the demo DuckDB" if self.url is None else redact(self.url)
        return f"<Connection {shown}>"

    @property
    def dialect(self) -> str:
        """The engine's sqlglot dialect name."""
        return dialect_of(self.url)

    @cached_property
    def adapter(self) -> Adapter | None:
        """The adapter of an engine SQLAlchemy has no dialect for (engine/adapters), or None."""
        if self.url is None:
            return None
        return adapter_for(self.url, scheme(self.url))

    @cached_property
    def session(self) -> Session:
        """How this engine is made read-only; EngineError for an engine that cannot be."""
        return session_for("duckdb" if self.url is None else scheme(self.url))

    @cached_property
    def engine(self) -> sqlalchemy.Engine:
        import sqlalchemy
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        if self.url is None:
            from metrics_layer.demo import ensure_demo

            url = parse(f"duckdb:///{ensure_demo()}")
        else:
            url = parse(self.url)
        session = self.session
        try:
            engine = sqlalchemy.create_engine(
                session.url(url),
                connect_args=session.connect_args(self.timeout),
                pool_pre_ping=True,
            )
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise EngineError(
                f"cannot use connection URL {self._shown}: {self._scrub(str(exc))}. Use a "
                "SQLAlchemy URL such as postgresql+psycopg://user@127.0.0.1/db, and install the "
                "driver extra"
            ) from exc
        sqlalchemy.event.listen(engine, "connect", lambda dbapi, _: session.on_connect(dbapi))
        return engine

    def fetch(
        self,
        statement: Statement,
        *,
        timeout: float | None = None,
        max_rows: int = DEFAULT_MAX_ROWS,
    ) -> Fetched:
        """Run one verified query, read-only, within ``timeout`` seconds, at most ``max_rows``.

        An engine that cannot convert to one of the statement's time zones refuses
        (EngineError) before the query runs, rather than returning NULL times.
        """
        from metrics_layer.safety.statement import Statement

        if not isinstance(statement, Statement):
            raise InternalError(
                "Connection.fetch runs only a Statement from metrics_layer.safety.statement."
                "verify(sql, dialect)"
            )
        if statement.dialect != self.dialect:
            raise InternalError(
                f"a statement verified for {statement.dialect} cannot run on {self.dialect}"
            )
        return self._run(
            statement.sql, timeout=timeout, max_rows=max_rows, time_zones=statement.time_zones
        )

    @contextmanager
    def inspecting(self, *, timeout: float | None = None) -> Iterator[sqlalchemy.Inspector]:
        """SQLAlchemy's inspector of the database's catalog (tables, views, columns and their
        types), on a connection made read-only and time-limited as a query's is, always rolled
        back. Connecting and inspecting errors become EngineErrors, password scrubbed; engines
        without a SQLAlchemy dialect (engine/adapters) cannot be inspected.
        """
        import sqlalchemy
        from sqlalchemy.exc import SQLAlchemyError

        if self.adapter is not None:
            raise EngineError(
                f"{self._shown} has no SQLAlchemy dialect, so its tables cannot be inspected; "
                "check the definitions against DuckDB, PostgreSQL, MariaDB/MySQL or SQLite"
            )
        seconds = self.timeout if timeout is None else check_timeout(timeout)
        session = self.session
        engine = self.engine
        errors = (engine.dialect.loaded_dbapi.Error, SQLAlchemyError)
        try:
            connection = engine.connect()
        except errors as exc:
            raise self._connect_error(exc) from exc
        try:
            with session.query(connection.connection.driver_connection, seconds):
                yield sqlalchemy.inspect(connection)
        except errors as exc:
            if session.timed_out(exc):
                raise EngineError(
                    f"reading the tables of {self._shown} took longer than the {seconds:g} s "
                    "timeout; raise timeout (the project setting) or try again",
                    limit="timeout",
                ) from exc
            raise EngineError(
                f"cannot read the tables of {self._shown}: {self._detail(exc)}. Check that the "
                "URL's user may read the catalog"
            ) from exc
        finally:
            try:
                connection.rollback()
            except errors:  # the pool discards an invalidated connection
                connection.invalidate()
            connection.close()

    def _run(
        self, sql: str, *, timeout: float | None, max_rows: int, time_zones: tuple[str, ...] = ()
    ) -> Fetched:
        """Run text below the guard: for ``fetch``, and for tests of the engines' own defences."""
        from sqlalchemy.exc import SQLAlchemyError

        seconds = self.timeout if timeout is None else check_timeout(timeout)
        cap = check_max_rows(max_rows)
        started = time.perf_counter()
        if self.adapter is not None:
            columns, rows = self.adapter.fetch(
                sql, timeout=seconds, max_rows=cap, time_zones=time_zones
            )
            return self._capped(sql, cap, columns, rows, started)
        session = self.session
        engine = self.engine
        try:
            raw = engine.raw_connection()
        except EngineError:
            raise
        except (engine.dialect.loaded_dbapi.Error, SQLAlchemyError) as exc:
            # raw_connection() hands on the driver's own exceptions unwrapped.
            raise self._connect_error(exc) from exc
        try:
            dbapi = raw.driver_connection
            _check_zones(raw, session, time_zones)
            with session.query(dbapi, seconds):
                cursor = raw.cursor()
                try:
                    session.execute(cursor, sql)
                    columns = tuple(str(c[0]) for c in cursor.description or ())
                    rows = tuple(tuple(row) for row in cursor.fetchmany(cap + 1))
                finally:
                    cursor.close()
        except BaseException as exc:
            _rollback(raw)
            raw.close()
            if not isinstance(exc, (engine.dialect.loaded_dbapi.Error, SQLAlchemyError)):
                raise  # EngineError from a session, or a bug: not the database's refusal
            if session.timed_out(exc):
                raise EngineError(
                    f"the query ran longer than the {seconds:g} s timeout; narrow the date range, "
                    "add filters, or raise timeout=... (--timeout on the command line)",
                    sql=sql,
                    limit="timeout",
                ) from exc
            raise EngineError(
                f"the database refused the query: {self._detail(exc)}. Check that the "
                "connection points at the right database and that the tables exist; "
                "`metrics-layer compile` shows the SQL",
                sql=sql,
            ) from exc
        _rollback(raw)
        raw.close()
        return self._capped(sql, cap, columns, rows, started)

    def _capped(
        self,
        sql: str,
        cap: int,
        columns: tuple[str, ...],
        rows: tuple[tuple[Any, ...], ...],
        started: float,
    ) -> Fetched:
        if len(rows) > cap:
            raise EngineError(
                f"the query returned more than max_rows={cap:,} rows; ask for a coarser grain, "
                "fewer dimensions or a `limit`, or raise max_rows=... (the project setting "
                "`max_rows`)",
                sql=sql,
                limit="max_rows",
            )
        return Fetched(columns, rows, (time.perf_counter() - started) * 1000)

    def close(self) -> None:
        adapter = self.__dict__.get("adapter")
        if adapter is not None:
            adapter.close()
        if "engine" in self.__dict__:
            self.engine.dispose()

    # -- errors ---------------------------------------------------------------------------------

    @property
    def _shown(self) -> str:
        return "the demo DuckDB" if self.url is None else repr(redact(self.url))

    def _scrub(self, text: str) -> str:
        return scrub(text, secrets(self.url))

    def _detail(self, exc: BaseException) -> str:
        orig = getattr(exc, "orig", None) or exc
        lines = str(orig).strip().splitlines()
        return self._scrub(lines[0] if lines else type(orig).__name__)

    def _connect_error(self, exc: BaseException) -> EngineError:
        detail = self._detail(exc)
        lowered = detail.lower()
        if "refused" in lowered or "can't connect" in lowered or "could not connect" in lowered:
            return EngineError(
                f"cannot reach the database server of {self._shown} (connection refused): "
                "start the server, or fix the host and port in the URL (--connection, "
                f"{URL_VARIABLE} or the project's `connection`)"
            )
        if "access denied" in lowered or "authentication failed" in lowered:
            return EngineError(
                f"the database refused the user or password of {self._shown}: fix them in the "
                f"URL (--connection, {URL_VARIABLE} or the project's `connection`)"
            )
        return EngineError(
            f"cannot connect to {self._shown}: {detail}. Check the URL and that the database exists"
        )


def _check_zones(raw: Any, session: Session, zones: tuple[str, ...]) -> None:
    """The session's time-zone check, once per pooled DBAPI connection and zone."""
    if not zones:
        return
    checked = raw.info.setdefault("metrics_layer_zones", set())
    for zone in zones:
        if zone not in checked:
            session.check_zone(raw.driver_connection, zone)
            checked.add(zone)


def _rollback(raw: Any) -> None:
    """End the read-only transaction; a connection that cannot roll back is dropped."""
    try:
        raw.rollback()
    except Exception:  # the pool discards an invalidated connection
        raw.invalidate()
