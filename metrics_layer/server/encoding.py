"""A query result as bytes: JSON (the default), CSV or an Arrow IPC stream.

JSON: dates and timestamps as ISO 8601 text (timestamps without an offset: they are in the
project's time zone), integers and floats as JSON numbers, a ``Decimal`` (an engine's exact
number in a categorical column) as a string of its exact digits, so no digit is lost to a
client's float parsing; NaN and infinities, which JSON cannot write, as ``null``.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from metrics_layer.engine.result import Result, column_type, json_value
from metrics_layer.planner.types import ValueType
from metrics_layer.server.problems import Problem

__all__ = [
    "ARROW",
    "CSV",
    "JSON_TYPE",
    "Format",
    "column_type",
    "encode",
    "json_value",
    "negotiate",
]

JSON_TYPE = "application/json"
CSV = "text/csv"
ARROW = "application/vnd.apache.arrow.stream"


class Format(StrEnum):
    """The encodings a query result is served in, by media type."""

    JSON = JSON_TYPE
    CSV = CSV
    ARROW = ARROW


def negotiate(accept: str | None) -> Format:
    """The encoding ``Accept`` asks for (JSON when it names none we write); 406 when it names
    only types we do not."""
    if not accept:
        return Format.JSON
    wanted = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    for media in wanted:
        if media in ("application/json", "*/*", "application/*"):
            return Format.JSON
        if media == Format.CSV.value or media == "text/*":
            return Format.CSV
        if media == Format.ARROW.value:
            if importlib.util.find_spec("pyarrow") is None:
                raise Problem(
                    406,
                    "not_acceptable",
                    "this server cannot write Arrow (pyarrow is not installed: pip install "
                    "'kpi-layer[server]'); ask for application/json or text/csv",
                    field="Accept",
                )
            return Format.ARROW
    raise Problem(
        406,
        "not_acceptable",
        "Accept names no type this route writes: use application/json, text/csv or "
        "application/vnd.apache.arrow.stream",
        field="Accept",
    )


def columns_of(result: Result, types: Sequence[ValueType]) -> list[dict[str, str]]:
    """Each column's name and client type."""
    return [
        {"name": name, "type": column_type(kind, [row[i] for row in result.rows])}
        for i, (name, kind) in enumerate(zip(result.columns, types, strict=True))
    ]


def encode(
    result: Result,
    types: Sequence[ValueType],
    chosen: Format,
    *,
    include_sql: bool,
    extra: Mapping[str, Any],
) -> bytes:
    """The result in ``chosen``'s encoding; ``extra`` (timings) joins the JSON body and the
    Arrow schema's metadata."""
    columns = columns_of(result, types)
    if chosen is Format.CSV:
        return _csv(result)
    meta = {
        "columns": columns,
        "metrics": {
            column: {"metric": m.name, "version": m.version, "fingerprint": m.fingerprint}
            for column, m in result.metrics.items()
        },
        "versions": dict(result.versions),
        "dialect": result.dialect,
        "sql": result.sql if include_sql else None,
        **extra,
    }
    if chosen is Format.ARROW:
        return _arrow(result, columns, meta)
    body = {
        **meta,
        "rows": [[json_value(v) for v in row] for row in result.rows],
        "partial": list(result.partial),
        "incomplete": list(result.incomplete),
        "row_count": len(result.rows),
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _csv(result: Result) -> bytes:
    """A header line of column names, then one line per row (NULL as an empty field)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if v is None else _csv_text(v) for v in row])
    return out.getvalue().encode()


def _csv_text(value: Any) -> str:
    shown = json_value(value)
    if isinstance(shown, bool):
        return "true" if shown else "false"
    return "" if shown is None else str(shown)


def _arrow(result: Result, columns: list[dict[str, str]], meta: Mapping[str, Any]) -> bytes:
    """An Arrow IPC stream of one record batch; the JSON metadata (versions, fingerprints,
    SQL, timings) is the schema's ``metrics_layer`` metadata."""
    import pyarrow as pa

    kinds = {
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
        "integer": pa.int64(),
        "float": pa.float64(),
        "boolean": pa.bool_(),
        "decimal": pa.string(),
        "string": pa.string(),
    }
    arrays = []
    for index, column in enumerate(columns):
        values = [row[index] for row in result.rows]
        if column["type"] in ("decimal", "string"):
            values = [None if v is None else str(json_value(v)) for v in values]
        arrays.append(pa.array(values, type=kinds[column["type"]]))
    schema = pa.schema(
        [pa.field(c["name"], kinds[c["type"]]) for c in columns],
        metadata={"metrics_layer": json.dumps(meta, ensure_ascii=False)},
    )
    table = pa.Table.from_arrays(arrays, schema=schema)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(table)
    return sink.getvalue()
