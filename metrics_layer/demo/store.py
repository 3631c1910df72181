"""The demo data set as a DuckDB database file."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb

from metrics_layer.demo.data import DATA_VERSION, KEYS, generate
from metrics_layer.demo.model import DemoData, Table


def demo_path() -> Path:
    """Default location of the demo database for the current ``DATA_VERSION``.

    ``$METRICS_LAYER_HOME`` if set, else ``$XDG_CACHE_HOME/metrics_layer``
    (``~/.cache/metrics_layer`` when unset or not absolute).
    """
    home = os.environ.get("METRICS_LAYER_HOME")
    if home:
        directory = Path(home).expanduser()
    else:
        cache = os.environ.get("XDG_CACHE_HOME", "")
        cache_root = Path(cache) if os.path.isabs(cache) else Path.home() / ".cache"
        directory = cache_root / "metrics_layer"
    return directory / f"demo-v{DATA_VERSION}.duckdb"


def ensure_demo(path: Path | None = None) -> Path:
    """Create the demo database unless it exists; return its path.

    Safe to call from several processes at once: each builds a private
    temporary file and moves it into place atomically.
    """
    target = demo_path() if path is None else Path(path)
    if not target.exists():
        _build(target, replace_existing=False)
    return target


def create_demo(path: Path, *, overwrite: bool = False) -> Path:
    """Create the demo database at ``path``; an existing file needs ``overwrite``."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists")
    _build(target, replace_existing=True)
    return target


def write_duckdb(data: DemoData, path: Path) -> None:
    """Write every table of ``data`` into a new DuckDB database at ``path``."""
    with duckdb.connect(str(path)) as connection:
        for table in data.values():
            connection.execute(_create_table_sql(table))
            with connection.appender(table.name) as appender:
                appender.append_rows(table.rows)
                appender.flush()
        connection.checkpoint()


def _create_table_sql(table: Table) -> str:
    """CREATE TABLE with a primary key on the table's key when that is unique (``KEYS``).

    >>> from metrics_layer.demo.model import Column
    >>> _create_table_sql(Table("retail_calendar", (Column("day", "DATE"),), []))
    'CREATE TABLE "retail_calendar" ("day" DATE NOT NULL, PRIMARY KEY ("day"))'
    """
    parts = [
        f'"{column.name}" {column.sql_type}{"" if column.nullable else " NOT NULL"}'
        for column in table.columns
    ]
    key = KEYS.get(table.name)
    if key is not None and key.unique:
        parts.append(f'PRIMARY KEY ("{key.column}")')
    return f'CREATE TABLE "{table.name}" ({", ".join(parts)})'


def _build(target: Path, *, replace_existing: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex}.tmp")
    try:
        write_duckdb(generate(), temporary)
        if replace_existing or not target.exists():
            try:
                os.replace(temporary, target)
            except PermissionError:
                if replace_existing or not target.exists():
                    raise
    finally:
        for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
            leftover.unlink(missing_ok=True)
