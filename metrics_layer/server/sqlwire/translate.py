"""The SQL form of a metrics query, turned into the service's ``QueryRequest``.

Only one shape is read, through an allow-list of sqlglot node kinds (docs/sql-interface.md)::

    SELECT metric_time__month, "user".plan, MEASURE(signups) AS s
    FROM metrics
    WHERE "user".country = 'DE' AND metric_time >= '2026-01-01'
    GROUP BY 1, 2 ORDER BY s DESC LIMIT 10

Dimensions are columns; metrics are columns too, bare or inside ``MEASURE``/``AGG`` or one of
the aggregates a BI tool writes (``SUM``, ``MIN``, ``MAX``, ``AVG``, ``ANY_VALUE``): the table
has one row per combination of the grouped dimensions, so an aggregate of a metric's one value
is the metric itself. Conditions on ``metric_time`` against dates become ``start``/``end``;
every other condition becomes the library's own filter text, which the library parses and
checks again. No text of the query ever reaches the warehouse.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from pydantic import ValidationError
from sqlglot import exp

from metrics_layer.api import SemanticLayer
from metrics_layer.server.models import QueryRequest
from metrics_layer.server.sqlwire.errors import ALLOWED, SqlError

__all__ = ["MetricSelect", "Selected", "is_metrics_table", "translate"]

TABLE = "metrics"
"""The one table metrics are asked from (schema ``public``)."""

_AGGREGATES = (exp.Sum, exp.Min, exp.Max, exp.Avg, exp.AnyValue)
_MEASURE_FUNCTIONS = {"MEASURE", "AGG"}
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_FILTER_NODES = (
    exp.And,
    exp.Or,
    exp.Not,
    exp.Paren,
    *_COMPARISONS,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Is,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Neg,
    exp.Column,
    exp.Identifier,
)
_FILTER_HINT = (
    "A WHERE clause may hold dimension names, literals, comparisons (= <> < <= > >=), AND, OR, "
    "NOT, IN (list), BETWEEN, LIKE, ILIKE and IS [NOT] NULL; metric_time compared with dates "
    "('2026-01-01') sets the date range"
)
_SELECT_ARGS = {"expressions", "from_", "where", "group", "order", "limit"}
_VERSION = re.compile(r"__v(\d+)$")


@dataclass(frozen=True)
class Selected:
    """One output column: the library's name, the column's name in the result, whether it is
    a metric."""

    name: str
    column: str
    metric: bool


@dataclass(frozen=True)
class MetricSelect:
    """A metrics SELECT as a service request and its output columns in SELECT order."""

    request: QueryRequest
    columns: tuple[Selected, ...]


def is_metrics_table(table: exp.Table) -> bool:
    """Whether ``table`` is the metrics table (``metrics``, ``public.metrics``,
    ``metrics.public.metrics``)."""
    return (
        table.name.lower() == TABLE
        and table.db.lower() in ("", "public")
        and table.catalog.lower() in ("", TABLE)
    )


def translate(select: exp.Select, layer: SemanticLayer) -> MetricSelect:
    """The request of a metrics SELECT; a SqlError naming the clause and what is allowed for
    anything outside the form."""
    for key, value in select.args.items():
        if key not in _SELECT_ARGS and value not in (None, False, []):
            clause = key.rstrip("_").upper()
            raise SqlError("0A000", f"{clause} is not supported in a metrics query", ALLOWED)
    source = select.args["from_"].this
    if not isinstance(source, exp.Table) or not is_metrics_table(source):
        raise SqlError("42P01", "metrics are read from the table 'metrics' only", ALLOWED)
    names = _Names(layer, source.alias_or_name)
    columns = [_selected(item, names) for item in select.expressions]
    if not any(c.metric for c in columns):
        raise SqlError(
            "0A000",
            "a metrics query selects at least one metric",
            "Add MEASURE(<metric>) to the SELECT list; information_schema.columns lists them",
        )
    by = list(dict.fromkeys(c.name for c in columns if not c.metric))
    metrics = list(dict.fromkeys(c.name for c in columns if c.metric))
    _check_group(select, columns, names, by)
    start, end, where = _conditions(select.args.get("where"), names)
    order = _order(select, columns, names)
    limit = _limit(select)
    try:
        request = QueryRequest(
            metrics=metrics, by=by, where=where, start=start, end=end, order=order, limit=limit
        )
    except ValidationError as exc:
        raise SqlError("22023", f"the query is out of bounds: {exc.errors()[0]['msg']}") from exc
    return MetricSelect(request, tuple(columns))


class _Names:
    """Turns SQL column references into the library's dotted names."""

    def __init__(self, layer: SemanticLayer, table: str) -> None:
        self.layer = layer
        self.prefixes = {"public", TABLE, table.lower()}

    def of(self, column: exp.Expr) -> str:
        if not isinstance(column, exp.Column) or isinstance(column.this, exp.Star):
            what = "*" if isinstance(column, exp.Column) else column.key.upper()
            raise SqlError(
                "0A000",
                f"{what} cannot be selected here; name the metrics and dimensions",
                ALLOWED,
            )
        parts = [
            p.this if p.quoted else p.this.lower()
            for p in column.parts
            if isinstance(p, exp.Identifier)
        ]
        while len(parts) > 1 and parts[0].lower() in self.prefixes:
            parts = parts[1:]
        name = ".".join(parts)
        name = _VERSION.sub(r"@\1", name)
        return name.replace("__", ".")

    def is_metric(self, name: str) -> bool:
        base = name.partition("@")[0]
        return base in self.layer.graph.current or base in self.layer.broken


def _what(node: exp.Expr) -> str:
    """How an error names a node: ``function pg_sleep()``, ``SUBQUERY``, ``STAR``."""
    if isinstance(node, exp.Anonymous):
        return f"function {node.name.lower()}()"
    if isinstance(node, exp.Func):
        return f"function {node.sql_name().lower()}()"
    return node.key.upper()


def _written(node: exp.Expr) -> str:
    """A column's name as the client wrote it (its parts joined by dots)."""
    if isinstance(node, exp.Column):
        return ".".join(p.this for p in node.parts if isinstance(p, exp.Identifier))
    return node.sql("postgres")


def _metric_inside(node: exp.Expr, names: _Names) -> tuple[str, str] | None:
    """The metric of ``MEASURE(m)``, ``AGG(m)`` or ``SUM(m)``-like, with its written name;
    None when ``node`` is not such a call."""
    inner: exp.Expr | None = None
    if isinstance(node, exp.Anonymous) and node.name.upper() in _MEASURE_FUNCTIONS:
        if len(node.expressions) != 1:
            raise SqlError("42601", f"{node.name.upper()} takes one metric", ALLOWED)
        inner = node.expressions[0]
    elif isinstance(node, _AGGREGATES):
        if node.args.get("distinct") or isinstance(node.this, exp.Distinct):
            raise SqlError("0A000", "DISTINCT inside an aggregate is not supported", ALLOWED)
        inner = node.this
    if inner is None:
        return None
    name = names.of(inner)
    if not names.is_metric(name):
        raise SqlError(
            "42703",
            f"'{name}' is not a metric; only metrics go inside {node.key.upper()}()",
            "Group by dimensions as plain columns; information_schema.columns lists the "
            "metrics (data type numeric or bigint)",
        )
    return name, _written(inner)


def _selected(item: exp.Expr, names: _Names) -> Selected:
    alias = item.alias if isinstance(item, exp.Alias) else None
    node = item.this if isinstance(item, exp.Alias) else item
    found = _metric_inside(node, names)
    if found is not None:
        return Selected(found[0], alias or found[1], True)
    if isinstance(node, exp.Func) or not isinstance(node, exp.Column):
        what = _what(node)
        raise SqlError(
            "0A000",
            f"{what} is not allowed in the SELECT list of a metrics query",
            "Select dimension columns and metrics, bare or as MEASURE(<metric>); "
            "the metrics are already aggregated",
        )
    name = names.of(node)
    return Selected(name, alias or _written(node), names.is_metric(name))


def _check_group(select: exp.Select, columns: list[Selected], names: _Names, by: list[str]) -> None:
    group = select.args.get("group")
    if group is None:
        return
    for key in ("rollup", "cube", "grouping_sets"):
        if group.args.get(key):
            raise SqlError("0A000", f"GROUP BY {key.upper()} is not supported", ALLOWED)
    grouped = [_item(e, columns, names, "GROUP BY") for e in group.expressions]
    metric = next((g for g in grouped if g.metric), None)
    if metric is not None:
        raise SqlError("42803", f"GROUP BY names the metric '{metric.name}'", ALLOWED)
    if {g.name for g in grouped} != set(by):
        raise SqlError(
            "42803",
            f"GROUP BY must list exactly the selected dimensions ({', '.join(by) or 'none'})",
            "Each selected dimension is a grouping and every grouping is selected",
        )


def _item(node: exp.Expr, columns: list[Selected], names: _Names, clause: str) -> Selected:
    """A GROUP BY or ORDER BY item: a position, an output name or a column."""
    if isinstance(node, exp.Literal) and not node.is_string:
        position = int(node.this) if node.this.isdigit() else 0
        if not 1 <= position <= len(columns):
            raise SqlError(
                "42P10", f"{clause} position {node.this} is not in the select list", ALLOWED
            )
        return columns[position - 1]
    if isinstance(node, exp.Column) and len(node.parts) == 1:
        written = node.parts[0].this
        for column in columns:
            if column.column == written:
                return column
    found = _metric_inside(node, names)
    if found is not None:
        return Selected(found[0], found[1], True)
    name = names.of(node)
    return Selected(name, name, names.is_metric(name))


def _order(select: exp.Select, columns: list[Selected], names: _Names) -> list[str]:
    order = select.args.get("order")
    if order is None:
        return []
    found = []
    for ordered in order.expressions:
        item = _item(ordered.this, columns, names, "ORDER BY")
        found.append(f"-{item.name}" if ordered.args.get("desc") else item.name)
    return found


def _limit(select: exp.Select) -> int | None:
    limit = select.args.get("limit")
    if limit is None:
        return None
    value = limit.expression
    if not isinstance(value, exp.Literal) or value.is_string or not value.this.isdigit():
        raise SqlError("42601", "LIMIT takes a whole number", ALLOWED)
    return int(value.this)


def _conditions(
    where: exp.Where | None, names: _Names
) -> tuple[str | None, str | None, str | None]:
    """``start``, ``end`` and the filter text of a WHERE clause."""
    if where is None:
        return None, None, None
    starts: list[dt.date] = []
    ends: list[dt.date] = []
    rest: list[exp.Expr] = []
    for condition in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        if not _time_range(condition, names, starts, ends):
            rest.append(_filter(condition, names))
    start = max(starts).isoformat() if starts else None
    end = min(ends).isoformat() if ends else None
    text = exp.and_(*rest).sql("postgres") if rest else None
    return start, end, text


def _time_range(node: exp.Expr, names: _Names, starts: list[dt.date], ends: list[dt.date]) -> bool:
    """Whether ``node`` compares bare ``metric_time`` with dates; if so its bounds are added
    to ``starts``/``ends`` (inclusive days)."""
    day = dt.timedelta(days=1)
    if isinstance(node, exp.Between) and _is_time(node.this, names):
        low, high = _date(node.args["low"]), _date(node.args["high"])
        if low is None or high is None:
            return False
        starts.append(low)
        ends.append(high)
        return True
    if not isinstance(node, (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.EQ)):
        return False
    left, right = node.this, node.expression
    flipped = not _is_time(left, names)
    if flipped:
        left, right = right, left
    if not _is_time(left, names):
        return False
    value = _date(right)
    if value is None:
        return False
    kind: type[exp.Expr] = type(node)
    if flipped:
        mirrored: dict[type[exp.Expr], type[exp.Expr]] = {
            exp.GT: exp.LT,
            exp.GTE: exp.LTE,
            exp.LT: exp.GT,
            exp.LTE: exp.GTE,
        }
        kind = mirrored.get(kind, kind)
    if kind in (exp.GTE, exp.EQ):
        starts.append(value)
    if kind in (exp.LTE, exp.EQ):
        ends.append(value)
    if kind is exp.GT:
        starts.append(value + day)
    if kind is exp.LT:
        ends.append(value - day)
    return True


def _is_time(node: exp.Expr, names: _Names) -> bool:
    return isinstance(node, exp.Column) and names.of(node) == "metric_time"


def _date(node: exp.Expr) -> dt.date | None:
    """The day of a date literal (``'2026-01-01'``, ``DATE '2026-01-01'``, a timestamp at
    midnight); None for anything else."""
    if isinstance(node, exp.Cast) and node.to.this in (
        exp.DataType.Type.DATE,
        exp.DataType.Type.TIMESTAMP,
    ):
        node = node.this
    if not isinstance(node, exp.Literal) or not node.is_string:
        return None
    text = node.this.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SqlError(
            "22007", f"'{text[:40]}' is not a date", "Write dates as 'YYYY-MM-DD'"
        ) from None
    if moment.time() != dt.time(0):
        raise SqlError(
            "0A000",
            "metric_time bounds are whole days",
            "Compare metric_time with dates ('2026-01-01'); the range is of calendar days",
        )
    return moment.date()


def _filter(node: exp.Expr, names: _Names) -> exp.Expr:
    """``node`` as a condition of the library's filter language: each node kind checked
    against the allow-list, each column turned into its dotted name."""
    if not isinstance(node, _FILTER_NODES):
        what = _what(node)
        raise SqlError("0A000", f"{what} is not allowed in WHERE", _FILTER_HINT)
    if isinstance(node, exp.In) and (node.args.get("query") or node.args.get("unnest")):
        raise SqlError("0A000", "IN takes a list of values, not a subquery", _FILTER_HINT)
    if isinstance(node, exp.Column):
        name = names.of(node)
        if names.is_metric(name):
            raise SqlError(
                "0A000",
                f"a metric ('{name}') cannot be filtered in WHERE; filters apply to rows "
                "before aggregation",
                _FILTER_HINT,
            )
        parts = name.split(".")
        if len(parts) > 4:
            raise SqlError("42703", f"'{name}' has too many parts for a name", _FILTER_HINT)
        ordered = [*reversed(parts), None, None, None][:4]
        return exp.column(ordered[0], ordered[1], ordered[2], ordered[3])  # type: ignore[arg-type]
    copied = node.copy()
    for key, value in node.args.items():
        if isinstance(value, exp.Expr):
            copied.set(key, _filter(value, names))
        elif isinstance(value, list):
            copied.set(key, [_filter(v, names) for v in value])
    return copied
