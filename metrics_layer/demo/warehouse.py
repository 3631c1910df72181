"""The demo data as a Spark warehouse: parquet folders that ``spark://local?warehouse=`` reads.

Layout: ``<warehouse>/metrics_layer_demo.db/<table>/part-00000.parquet``, the layout Spark gives
a database's tables, so the Spark adapter registers them as ``metrics_layer_demo.<table>``
(target ``demo_spark`` in definitions/metrics_layer.yml). Types as Spark reads them: timestamps
``TIMESTAMP`` (an instant, written as UTC; Spark's ``TIMESTAMP_NTZ`` would also do, as the
compiler reads either as a UTC wall clock), money ``DECIMAL(10,2)``, ids ``INT``/``BIGINT``,
dates ``DATE``.

The files are written by DuckDB's parquet writer (seconds, and no JVM is started), from an
in-memory DuckDB database that holds only the generated rows. A lock file keeps two processes
from loading at once, and the marker table ``demo_version`` is written last: loading again
finds it and does nothing. Only this database's folder is ever written.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from sqlglot import exp

from metrics_layer.demo.data import DATA_VERSION, generate
from metrics_layer.demo.model import Column, Table
from metrics_layer.errors import EngineError

__all__ = ["SPARK_TARGET", "load_warehouse"]

SPARK_TARGET = "demo_spark"
_MARKER = "demo_version"
_PART = "part-00000.parquet"


def load_warehouse(
    warehouse: Path, database: str, *, replace: bool = False
) -> tuple[str, int, bool]:
    """Write the demo tables under ``warehouse``; (where, rows written, whether written)."""
    folder = warehouse / f"{database}.db"
    where = f"database {database} ({folder})"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(warehouse / f".{database}.lock"):
            if not replace and _version(folder) == DATA_VERSION:
                return where, 0, False
            rows = _write(folder)
    except OSError as exc:
        raise EngineError(
            f"cannot write the demo into {str(folder)!r}: {exc.strerror or exc}. The warehouse "
            "must be a folder this user can write"
        ) from exc
    _refresh(database)
    return where, rows, True


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One loader at a time per warehouse (an advisory lock, released when the file closes)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; loading twice at once is not guarded
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _version(folder: Path) -> int | None:
    import duckdb

    marker = folder / _MARKER / _PART
    if not marker.is_file():
        return None
    scan = exp.select("version").from_(
        exp.func("read_parquet", exp.Literal.string(str(marker))), copy=False
    )
    with duckdb.connect() as connection:
        found = connection.execute(scan.sql("duckdb")).fetchall()
    return int(found[0][0]) if found else None


def _write(folder: Path) -> int:
    import duckdb

    data = generate()
    marker = Table(_MARKER, (Column("version", "INTEGER", nullable=False),), [(DATA_VERSION,)])
    total = 0
    with duckdb.connect() as connection:
        # the marker goes last: a folder with a marker holds every table
        for table in [*data.values(), marker]:
            create = exp.Create(
                kind="TABLE",
                this=exp.Schema(
                    this=exp.to_table(table.name),
                    expressions=[
                        exp.ColumnDef(
                            this=exp.to_identifier(c.name), kind=exp.DataType.build(c.sql_type)
                        )
                        for c in table.columns
                    ],
                ),
            )
            connection.execute(create.sql("duckdb"))
            with connection.appender(table.name) as appender:
                appender.append_rows(table.rows)
                appender.flush()
            target = folder / table.name
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            connection.sql(_as_spark_types(table).sql("duckdb")).write_parquet(str(target / _PART))
            total += len(table.rows) if table is not marker else 0
    return total


def _as_spark_types(table: Table) -> exp.Select:
    """The table's rows with timestamps as instants (TIMESTAMPTZ: Spark's TIMESTAMP).

    The naive UTC time becomes the instant of its epoch seconds (the demo's times are whole
    seconds), which no session time zone can shift, as a cast could.

    >>> _as_spark_types(Table("t", (Column("at", "TIMESTAMP"),), [])).sql("duckdb")
    'SELECT TO_TIMESTAMP(EPOCH("at")) AS "at" FROM t'
    """
    columns = [
        exp.func("to_timestamp", exp.func("epoch", exp.column(c.name))).as_(c.name)
        if c.sql_type == "TIMESTAMP"
        else exp.column(c.name)
        for c in table.columns
    ]
    return exp.select(*columns).from_(table.name)


def _refresh(database: str) -> None:
    """Tables this process's Spark session already reads are re-listed (their files changed)."""
    from metrics_layer.engine.adapters.spark import refresh

    refresh(database)
