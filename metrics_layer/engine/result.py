"""A query's result: rows and columns, plus the SQL that made them, metric versions and timing."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from metrics_layer.formats import ValueFormat, render
from metrics_layer.planner.types import ValueType

if TYPE_CHECKING:
    import pandas
    import polars
    import pyarrow
    from matplotlib.axes import Axes

__all__ = ["ColumnInfo", "MetricVersion", "Result", "column_type", "json_value"]

Decimals = Literal["float", "exact"]


PARTIAL_NOTE = "* partial period: the date range holds only part of it"
INCOMPLETE_NOTE = "~ incomplete: a conversion window of the period is still open"


@dataclass(frozen=True)
class MetricVersion:
    """What produced a metric column: the metric, the version of it computed, and that
    version's fingerprint (docs/python.md: pinned versions)."""

    name: str
    version: int
    fingerprint: str


@dataclass(frozen=True)
class ColumnInfo:
    """How a metric column is presented: the metric's label, description and value format."""

    label: str
    description: str | None = None
    format: ValueFormat | None = None


@dataclass(frozen=True)
class Result:
    """Rows as tuples, in ``columns`` order; column names are the names the query asked for.

    ``partial`` holds one boolean per row: True when the row's ``metric_time`` period is only
    partly inside ``start``/``end`` (a week cut by a Wednesday start), so a chart can grey it.
    ``incomplete``: True when a conversion metric's window is still open for a day of the row's
    base period, so conversions may still come in. ``metrics``: for each metric column, the
    metric, version and fingerprint that produced it (``versions`` also lists the versions of
    the metrics they are built on). ``types``: each column's type from the plan, which the
    DataFrame conversions follow; ``info``: each metric column's label, description and value
    format, which the text table, HTML and charts use (docs/notebooks.md).
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    sql: str
    dialect: str
    versions: dict[str, int]
    compile_ms: float
    execute_ms: float
    partial: tuple[bool, ...] = ()
    # Conversion metrics: the row's base period has a conversion window still open today.
    incomplete: tuple[bool, ...] = ()
    metrics: Mapping[str, MetricVersion] = field(default_factory=dict)
    # The Python type of each column as the plan says (empty: every column as returned).
    types: tuple[ValueType, ...] = ()
    # For each metric column: its label, description and value format.
    info: Mapping[str, ColumnInfo] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.types:
            object.__setattr__(self, "types", (ValueType.AS_RETURNED,) * len(self.columns))
        elif len(self.types) != len(self.columns):
            raise ValueError(f"{len(self.types)} types for {len(self.columns)} columns")
        for name in ("partial", "incomplete"):
            flags = getattr(self, name)
            if not flags:
                object.__setattr__(self, name, (False,) * len(self.rows))
            elif len(flags) != len(self.rows):
                raise ValueError(f"{len(flags)} {name} flags for {len(self.rows)} rows")

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)

    def to_dicts(self, *, partial: bool = False) -> list[dict[str, Any]]:
        """One JSON-safe dict per row, keyed by column name, values as the service writes them
        (:func:`json_value`: dates ISO text, decimals as strings of their digits, NaN as
        None); with ``partial``, also ``"partial"``: whether the row's period is only partly
        inside the date range."""
        from metrics_layer.errors import QueryError

        if not isinstance(partial, bool):
            raise QueryError(
                f"expected True or False, not {type(partial).__name__}", field="partial"
            )
        rows = [[json_value(v) for v in row] for row in self.rows]
        if not partial:
            return [dict(zip(self.columns, row, strict=True)) for row in rows]
        if "partial" in self.columns:
            raise QueryError(
                "a column is already named 'partial'; read result.partial instead",
                field="partial",
            )
        return [
            {**dict(zip(self.columns, row, strict=True)), "partial": cut}
            for row, cut in zip(rows, self.partial, strict=True)
        ]

    def metadata(self) -> dict[str, Any]:
        """What a dashboard stores beside ``to_dicts()``, as JSON-safe data: the columns, the
        SQL and its dialect, and for each metric column the metric, version and fingerprint
        that produced it."""
        return {
            "columns": list(self.columns),
            "metrics": {
                column: {"metric": m.name, "version": m.version, "fingerprint": m.fingerprint}
                for column, m in self.metrics.items()
            },
            "dialect": self.dialect,
            "sql": self.sql,
        }

    def column(self, name: str) -> list[Any]:
        """The values of one column, in row order."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def kinds(self) -> list[str]:
        """Each column's client type (:func:`column_type`), in ``columns`` order."""
        return [
            column_type(kind, [row[i] for row in self.rows]) for i, kind in enumerate(self.types)
        ]

    def formats(self) -> dict[str, ValueFormat]:
        """The value format of each metric column that has one."""
        return {c: i.format for c, i in self.info.items() if i.format is not None}

    def to_pandas(self, *, decimals: Decimals = "float") -> pandas.DataFrame:
        """A pandas DataFrame (needs the ``pandas`` extra), typed by column: dates and
        timestamps ``datetime64`` (naive, in the project's time zone), integers ``Int64``,
        metrics ``float64``, booleans ``boolean``, text ``string``; NULL is ``NA``/``NaN``/
        ``NaT``. Exact decimals (a categorical column the engine returns as DECIMAL) are
        ``float64``, or with ``decimals="exact"`` an ``object`` column of ``Decimal``."""
        _check_decimals(decimals)
        pd = _need("pandas", "pandas")
        import pandas

        data = {}
        for index, (name, kind) in enumerate(zip(self.columns, self.kinds(), strict=True)):
            values = [row[index] for row in self.rows]
            data[name] = _pandas_series(pd, values, kind, decimals)
        return pandas.DataFrame(data, columns=list(self.columns))

    def to_arrow(self, *, decimals: Decimals = "float") -> pyarrow.Table:
        """A pyarrow Table (needs the ``arrow`` extra), typed as :meth:`to_pandas`: ``date32``,
        ``timestamp[us]``, ``int64``, ``float64``, ``bool``, ``string``; exact decimals as
        ``float64``, or with ``decimals="exact"`` as ``decimal128``. The metric versions and
        fingerprints are the schema's ``metrics_layer`` metadata (JSON)."""
        import json

        _check_decimals(decimals)
        pa = _need("pyarrow", "arrow")
        arrays = []
        for index, kind in enumerate(self.kinds()):
            values = [row[index] for row in self.rows]
            arrays.append(_arrow_array(pa, values, kind, decimals))
        metadata = {"metrics_layer": json.dumps(self.metadata(), ensure_ascii=False)}
        return pa.Table.from_arrays(arrays, names=list(self.columns), metadata=metadata)

    def to_polars(self, *, decimals: Decimals = "float") -> polars.DataFrame:
        """A polars DataFrame (needs the ``polars`` extra), from :meth:`to_arrow`: the same
        column types."""
        _need("polars", "polars")
        import polars

        frame = polars.from_arrow(self.to_arrow(decimals=decimals))
        assert isinstance(frame, polars.DataFrame)  # a Table gives a DataFrame, not a Series
        return frame

    def plot(self, *, top: int = 5, ax: Axes | None = None) -> Axes:
        """A default chart (needs the ``plot`` extra: matplotlib): lines over ``metric_time``,
        one per value of the other dimensions (the ``top`` by total, the rest summed as
        "other"), or bars without a time column. Returns the matplotlib Axes
        (docs/notebooks.md)."""
        from metrics_layer.notebook import plot_result

        return plot_result(self, top=top, ax=ax)

    def __repr__(self) -> str:
        shown = format_table(
            self.columns,
            self.rows[:20],
            self.partial[:20],
            self.incomplete[:20],
            formats=self.formats(),
        )
        more = f"\n... {len(self.rows) - 20} more rows" if len(self.rows) > 20 else ""
        return f"{shown}{more}\n({len(self.rows)} rows, {self.execute_ms:.1f} ms)"

    def _repr_html_(self) -> str:
        """A table of formatted values for notebooks (docs/notebooks.md)."""
        from metrics_layer.notebook import result_html

        return result_html(self)


def json_value(value: Any) -> Any:
    """One result value as JSON-safe data: what ``to_dicts()``, the CLI's JSON and the
    service write.

    >>> json_value(dt.date(2026, 1, 31)), json_value(decimal.Decimal("0.10")), json_value(math.nan)
    ('2026-01-31', '0.10', None)
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value) if value.is_finite() else None
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def column_type(kind: ValueType, values: Sequence[Any]) -> str:
    """The type a client reads a column as: ``date``, ``timestamp``, ``integer``, ``float``,
    ``boolean``, ``decimal`` or ``string`` (a categorical column: from its values).

    >>> column_type(ValueType.AS_RETURNED, ["a", None]), column_type(ValueType.AS_RETURNED, [3])
    ('string', 'integer')
    """
    if kind is not ValueType.AS_RETURNED:
        return kind.value
    found = {type(v) for v in values if v is not None}
    if found and all(issubclass(t, bool) for t in found):
        return "boolean"
    if found and all(issubclass(t, int) and not issubclass(t, bool) for t in found):
        return "integer"
    if found and all(issubclass(t, float) for t in found):
        return "float"
    if found and all(issubclass(t, decimal.Decimal) for t in found):
        return "decimal"
    if found and all(issubclass(t, dt.datetime) for t in found):
        return "timestamp"
    if found and all(issubclass(t, dt.date) and not issubclass(t, dt.datetime) for t in found):
        return "date"
    return "string"


def _check_decimals(decimals: object) -> None:
    from metrics_layer.errors import QueryError

    if decimals not in ("float", "exact"):
        raise QueryError(
            f"expected 'float' (the default) or 'exact', not {decimals!r}", field="decimals"
        )


def _need(module: str, extra: str) -> Any:
    """``module`` imported, or a UserError naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        from metrics_layer.errors import UserError

        raise UserError(
            f"this needs {module}, which is not installed: pip install 'kpi-layer[{extra}]'"
        ) from exc


def _pandas_series(pd: Any, values: list[Any], kind: str, decimals: Decimals) -> Any:
    """One column as a typed pandas Series (see ``Result.to_pandas``)."""
    if kind in ("date", "timestamp"):
        stamps = [None if v is None else _as_datetime(v) for v in values]
        return pd.Series(stamps, dtype="datetime64[us]")
    if kind == "integer":
        return pd.Series(values, dtype="Int64")
    if kind == "float":
        return pd.Series([math.nan if v is None else v for v in values], dtype="float64")
    if kind == "decimal":
        if decimals == "exact":
            return pd.Series(values, dtype="object")
        return pd.Series([math.nan if v is None else float(v) for v in values], dtype="float64")
    if kind == "boolean":
        return pd.Series(values, dtype="boolean")
    return pd.Series([None if v is None else str(v) for v in values], dtype="string")


def _as_datetime(value: dt.date) -> dt.datetime:
    """A date as the midnight that starts it; a naive datetime as it is; an aware one (an
    engine's zoned timestamp in a categorical column) as naive UTC, as Arrow stores it.

    >>> _as_datetime(dt.datetime(2026, 1, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    datetime.datetime(2026, 1, 1, 8, 0)
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    return dt.datetime(value.year, value.month, value.day)


def _arrow_array(pa: Any, values: list[Any], kind: str, decimals: Decimals) -> Any:
    """One column as a typed Arrow array (see ``Result.to_arrow``)."""
    if kind == "decimal":
        if decimals == "exact":
            return pa.array(values)
        return pa.array([None if v is None else float(v) for v in values], type=pa.float64())
    if kind == "string":
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())
    types = {
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
        "integer": pa.int64(),
        "float": pa.float64(),
        "boolean": pa.bool_(),
    }
    return pa.array(values, type=types[kind])


def format_table(
    columns: tuple[str, ...],
    rows: tuple[tuple[Any, ...], ...],
    partial: Sequence[bool] = (),
    incomplete: Sequence[bool] = (),
    *,
    formats: Mapping[str, ValueFormat] | None = None,
) -> str:
    """A plain-text table, numbers right-aligned; the ``metric_time`` values of rows marked
    ``partial`` end in ``*``, of rows marked ``incomplete`` in ``~``, explained under the
    table. A column in ``formats`` is shown in its value format, any other as plain text
    (:func:`metrics_layer.formats.plain`), so the same values print the same on every engine.

    >>> print(format_table(("plan", "users", "mrr"), (("pro", 3, 1234567.25), ("free", 12, 0.5))))
    plan  users  mrr
    ----  -----  -------
    pro       3  1234567
    free     12      0.5
    """
    marked = [i for i, c in enumerate(columns) if c.split(".")[0] == "metric_time"]
    shown = [(formats or {}).get(c) for c in columns]
    cells = [[render(v, f) for v, f in zip(row, shown, strict=True)] for row in rows]
    for row_cells, cut in zip(cells, partial, strict=False):
        for index in marked if cut else ():
            row_cells[index] += "*"
    for row_cells, open_ in zip(cells, incomplete, strict=False):
        for index in marked if open_ else ():
            row_cells[index] += "~"
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [
        bool(rows)
        and all(
            (isinstance(r[i], (int, float, decimal.Decimal)) and not isinstance(r[i], bool))
            or r[i] is None
            for r in rows
        )
        and any(r[i] is not None for r in rows)
        for i in range(len(columns))
    ]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    for row in cells:
        lines.append(
            "  ".join(
                (v.rjust(w) if n else v.ljust(w))
                for v, w, n in zip(row, widths, numeric, strict=True)
            ).rstrip()
        )
    if marked and any(partial):
        lines.append(PARTIAL_NOTE)
    if marked and any(incomplete):
        lines.append(INCOMPLETE_NOTE)
    return "\n".join(lines)
