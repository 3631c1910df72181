"""Running compiled SQL through SQLAlchemy 2, read-only, on any engine with a URL.

The URL comes from (first found): the ``connection`` argument, ``METRICS_LAYER_URL``, the
project's ``connection`` setting; otherwise the embedded demo DuckDB file, created on first use.
Only generated SELECTs are ever sent; each runs in a transaction that is rolled back; DuckDB
files are opened read-only and PostgreSQL/MySQL transactions are set read-only before the query.
(MySQL and MariaDB still allow DDL in a read-only transaction: give metrics_layer a user with
SELECT privileges only.)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from metrics_layer.errors import EngineError, InternalError

if TYPE_CHECKING:
    import sqlalchemy

__all__ = ["URL_VARIABLE", "Connection", "resolve_url"]

URL_VARIABLE = "METRICS_LAYER_URL"

_READ_ONLY = {
    "postgresql": "SET TRANSACTION READ ONLY",
    "mysql": "SET TRANSACTION READ ONLY",
    "mariadb": "SET TRANSACTION READ ONLY",
}


def resolve_url(explicit: str | None, project: str | None) -> str | None:
    """The URL to use, or None for the embedded demo database."""
    return explicit or os.environ.get(URL_VARIABLE) or project


@dataclass
class Connection:
    """A lazily created SQLAlchemy engine for one URL (None: the demo DuckDB)."""

    url: str | None = None

    @cached_property
    def engine(self) -> sqlalchemy.Engine:
        import sqlalchemy
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        url = self.url
        connect_args: dict[str, Any] = {}
        if url is None:
            from metrics_layer.demo import ensure_demo

            url = f"duckdb:///{ensure_demo()}"
        if url.startswith("duckdb:"):
            connect_args["read_only"] = True
        try:
            return sqlalchemy.create_engine(url, connect_args=connect_args)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise EngineError(
                f"cannot use connection URL {_redact(url)!r}: {exc}. Use a SQLAlchemy URL such "
                "as postgresql+psycopg://user@127.0.0.1/db, and install the driver extra"
            ) from exc

    @property
    def dialect(self) -> str:
        """The engine's sqlglot dialect name."""
        if self.url is None:
            return "duckdb"
        if "://" not in self.url:
            raise EngineError(
                f"{_redact(self.url)!r} is not a connection URL; write a SQLAlchemy URL such as "
                "postgresql+psycopg://user@127.0.0.1/db or duckdb:///path/to/file.duckdb"
            )
        from metrics_layer.sql.dialects import dialect_name

        return dialect_name(self.url.split(":", 1)[0].split("+", 1)[0])

    def execute(self, sql: str) -> tuple[tuple[str, ...], tuple[tuple[Any, ...], ...], float]:
        """Run one SELECT; returns column names, rows and elapsed milliseconds.

        Anything but a query is refused before it reaches the database: some engines (MySQL,
        MariaDB) still run DDL inside a read-only transaction.
        """
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError

        if not sql.lstrip().upper().startswith(("SELECT", "WITH", "(")):
            raise InternalError("only queries are ever sent to a database; refusing: " + sql[:40])
        engine = self.engine
        started = time.perf_counter()
        try:
            with engine.connect() as connection:
                statement = _READ_ONLY.get(engine.dialect.name)
                if statement:
                    connection.exec_driver_sql(statement)
                if engine.dialect.paramstyle in ("format", "pyformat"):
                    sql = sql.replace("%", "%%")
                cursor = connection.exec_driver_sql(sql)
                columns = tuple(cursor.keys())
                rows = tuple(tuple(row) for row in cursor.fetchall())
                connection.rollback()
        except DBAPIError as exc:
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise EngineError(
                f"the database refused the query: {detail}. Check that the connection points "
                "at the right database and that the tables exist; `metrics-layer compile` "
                "shows the SQL",
                sql=sql,
            ) from exc
        except SQLAlchemyError as exc:
            raise EngineError(f"cannot run the query: {exc}") from exc
        return columns, rows, (time.perf_counter() - started) * 1000

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
    return url
