"""The demo data in a chdb directory: database ``metrics_layer_demo``, MergeTree tables.

Called by ``load_demo`` for ``chdb:///dir`` URLs. Timestamps are ``DateTime64(6, 'UTC')``
(time-zone-aware), dates ``Date32``, money ``Decimal(10, 2)``; each table is sorted by its key
(the user key, the calendar's day), ClickHouse's counterpart of the other engines' index. Rows
are streamed as CSV, and the (version, layout) marker is written last, so an interrupted load
loads again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from sqlglot import exp

from metrics_layer.demo.data import DATA_VERSION, KEYS, generate
from metrics_layer.demo.load import (
    _LAYOUT,
    _MARKER,
    DEMO_SCHEMA,
    Loaded,
    _batches,
    _create,
    _marker_table,
    _Place,
)
from metrics_layer.demo.model import Table
from metrics_layer.errors import EngineError

__all__ = ["load_clickhouse", "merge_tree", "place_in"]

_CLICKHOUSE = _Place(
    "clickhouse",
    DEMO_SCHEMA,
    "",
    "demo_clickhouse",
    {
        "TIMESTAMP": "DateTime64(6, 'UTC')",
        "DATE": "Date32",
        "VARCHAR": "String",
        "BOOLEAN": "Bool",
        "INTEGER": "Int32",
        "BIGINT": "Int64",
        "DECIMAL(10,2)": "Decimal(10, 2)",
    },
)


def place_in(schema: str) -> _Place:
    """Where the loader writes, moved to database ``schema`` (for the benchmarks' copy)."""
    return dataclasses.replace(_CLICKHOUSE, schema=schema)


def merge_tree(table: Table, place: _Place) -> exp.Create:
    """CREATE TABLE ... ENGINE = MergeTree ORDER BY <the table's key in ``KEYS``> (no key:
    ORDER BY tuple())."""
    create = _create(table, place)
    for column, definition in zip(table.columns, create.this.expressions, strict=True):
        if column.nullable:  # ClickHouse columns are NOT NULL unless declared Nullable
            definition.args["kind"].set("nullable", True)
    # sorted by the key, ClickHouse's counterpart of the other engines' index on it
    key = exp.column(KEYS[table.name].column) if table.name in KEYS else exp.Tuple(expressions=[])
    engine = exp.Properties(
        expressions=[
            exp.EngineProperty(this=exp.to_identifier("MergeTree")),
            exp.Order(expressions=[exp.Ordered(this=key)]),
        ]
    )
    create.set("properties", engine)
    return create


def load_clickhouse(url: str, *, replace: bool = False) -> Loaded:
    """The demo in database ``metrics_layer_demo`` of a chdb directory (created if missing).

    Through the adapter's process-wide engine (one chdb database per process), on a connection
    of its own that may write; the marker is written last, so an interrupted load loads again.
    """
    from pathlib import Path

    try:
        from metrics_layer.engine.adapters.clickhouse import ENGINE, engine_path
    except ImportError as exc:
        raise EngineError(
            f"the chdb:// engine needs an optional package ({exc.name}): "
            'pip install "kpi-layer[clickhouse]"'
        ) from exc

    rest = url.split("://", 1)[1]
    if not rest:
        raise EngineError(
            "give the demo a chdb directory: chdb:///absolute/path/to/dir (chdb:// is an "
            "in-memory database, gone when the process ends)"
        )
    if rest.startswith("/") and not any(c in rest for c in "?#&"):
        Path(rest).mkdir(parents=True, exist_ok=True)
    path = engine_path(url)
    place = _CLICKHOUSE
    try:
        with ENGINE.connection(path, "session_timezone=UTC") as connection:
            if not replace and _clickhouse_version(connection) == (DATA_VERSION, _LAYOUT):
                return Loaded(place.where(), place.target, 0, created=False)
            rows = _clickhouse_write(connection)
        return Loaded(place.where(), place.target, rows, created=True)
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineError(f"cannot load the demo into {path}: {detail}") from exc
    finally:
        ENGINE.close_unused()


def _clickhouse_version(connection: Any) -> tuple[int, int] | None:
    """(data version, layout) in the marker table; None when there is no current marker."""
    columns = (
        exp.select(exp.func("count"))
        .from_("system.columns")
        .where(
            exp.and_(
                exp.column("database").eq(exp.Literal.string(DEMO_SCHEMA)),
                exp.column("table").eq(exp.Literal.string(_MARKER)),
                exp.column("name").isin(
                    exp.Literal.string("version"), exp.Literal.string("layout")
                ),
            )
        )
    )
    if int(_clickhouse_scalar(connection, columns) or 0) != 2:
        return None
    marker = _CLICKHOUSE.table(_MARKER)
    found = _clickhouse_scalar(connection, exp.select("version", "layout").from_(marker).limit(1))
    if found is None:
        return None
    version, layout = found.split("\t")
    return int(version), int(layout)


def _clickhouse_scalar(connection: Any, query: exp.Expr) -> str | None:
    text = bytes(connection.query(query.sql("clickhouse"), "TSV").bytes()).decode().strip()
    return None if text in ("", "\\N") else text


def _clickhouse_write(connection: Any) -> int:
    import csv
    import io

    place = _CLICKHOUSE
    database = exp.Create(
        kind="DATABASE", this=exp.Table(this=exp.to_identifier(DEMO_SCHEMA)), exists=True
    )
    connection.query(database.sql("clickhouse"), "TSV")
    total = 0
    for table in [*generate().values(), _marker_table()]:
        target = place.table(table.name)
        drop = exp.Drop(kind="TABLE", tables=[target.copy()], exists=True)
        connection.query(drop.sql("clickhouse"), "TSV")
        connection.query(merge_tree(table, place).sql("clickhouse"), "TSV")
        rows = [(DATA_VERSION, _LAYOUT)] if table.name == _MARKER else table.rows
        columns = [exp.to_identifier(name) for name in table.column_names]
        insert = exp.Insert(this=exp.Schema(this=target.copy(), expressions=columns))
        inserter = connection.send_insert(insert.sql("clickhouse"), "CSV")
        cells = _csv_cells(table)
        for batch in _batches(rows):
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows(
                batch if cells is None else map(cells, batch)
            )
            connection.insert_append(inserter, text.getvalue().encode("utf-8"))
        connection.insert_done(inserter)
        total += len(rows) if table.name != _MARKER else 0
    return total


def _csv_cells(table: Table) -> Callable[[Sequence[Any]], list[Any]] | None:
    """What a row needs before ``csv`` writes it for ClickHouse, or None when it is ready:
    the ``str()`` of dates, timestamps (UTC wall times) and decimals is what ClickHouse reads;
    NULL is ``\\N`` and a boolean ``true``/``false``.

    >>> from metrics_layer.demo.model import Column
    >>> cells = _csv_cells(Table("t", (Column("a", "BOOLEAN"), Column("b", "DATE", True)), []))
    >>> cells((True, None))
    ['true', '\\\\N']
    """
    special = [
        index
        for index, column in enumerate(table.columns)
        if column.nullable or column.sql_type == "BOOLEAN"
    ]
    if not special:
        return None

    def cells(row: Sequence[Any]) -> list[Any]:
        values = list(row)
        for index in special:
            value = values[index]
            if value is None:
                values[index] = "\\N"
            elif isinstance(value, bool):
                values[index] = "true" if value else "false"
        return values

    return cells
