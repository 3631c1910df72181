"""A reference evaluator: the rows a query should return, computed in plain Python.

It reads the fixture's rows (fixture.py) and a query (grammar.py), and applies the rules as
docs/queries.md and docs/definitions.md state them, without SQL and without the library's
graph, planner or SQL builder. The model of the definitions below is written by hand from the
same YAML, so a definition the library reads differently shows up as a difference too.

What it computes, rule by rule (the docs section in brackets):

- Joins go many-to-one along entities, shortest path; a row without a partner sees NULL for the
  partner's dimensions. A source's own entity key is its own column, joined or not [Joins].
- ``where`` keeps a row when it is TRUE (three-valued logic: NULL is not TRUE), in every source
  the query scans; a metric's ``filter`` narrows its own rows only, and a ratio's filter applies
  to both sides [Filters, ratio]. Strings compare by code point, so case and trailing spaces
  count; LIKE is case-sensitive with ``%`` and ``_`` [Filters].
- Timestamps (``grain: hour``) are UTC instants, converted to the project's ``time_zone``
  before they are bucketed and before ``start``/``end`` (inclusive local dates) apply; calendar
  dates are not shifted [Time]. Periods are named by their first day; weeks start on the
  project's ``week_start``; quarters in January, April, July and October [Time].
- Each metric is aggregated over the rows of its own source at the query grain; a group appears
  when at least one metric has a row in it after ``where``, the range and its own filter;
  without ``by`` there is exactly one row [Empty groups]. Aggregates skip NULLs; an empty group
  is 0 for counts (``count``, ``count_distinct``, ``sum_boolean``), NULL otherwise, unless
  ``fill_null`` [Measures, Empty groups].
- Ratios and ``/`` divide the values aggregated at the query grain; a zero or NULL denominator
  gives NULL [Ratios and derived metrics].
- Rows are sorted by ``order``, then by every ``by`` column not in it, ascending; NULLs last in
  every direction; ``limit`` keeps the first rows [Order and limit].
- Types: counts and derived metrics of counts with ``+ - *`` are ``int``; every other metric is
  ``float`` (sums of DECIMAL are computed exactly and converted once); day-or-coarser buckets
  are ``datetime.date``, hours naive ``datetime.datetime`` in the project's zone [Result types].
- A query without metrics lists the distinct ``by`` values of the one source that reaches every
  name with the fewest joins [Queries without metrics].

Values are computed exactly (``Decimal`` and ``Fraction``) and converted to the result type at
the end; the test compares floats within a relative 1e-9.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from . import fixture
from .grammar import (
    And,
    Between,
    Compare,
    CompareColumns,
    Filter,
    In,
    IsNull,
    IsTrue,
    Like,
    Not,
    Or,
    Query,
    names_in,
)

__all__ = ["METRICS", "SOURCES", "Expected", "evaluate", "reachable", "source_of"]

Row = Mapping[str, object]
Truth = bool | None

GRAINS = ("hour", "day", "week", "month", "quarter", "year")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


# -- the definitions, by hand ------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    name: str
    rows: tuple[Row, ...]
    entities: Mapping[str, str]  # entity -> key column
    primary: str
    dimensions: Mapping[str, str]  # name -> "text", "number", "boolean", "timestamp", "date"
    time: str | None = None


SOURCES: dict[str, Source] = {
    "teams": Source("teams", fixture.TEAMS, {"team": "team_id"}, "team", {"name": "text"}),
    "users": Source(
        "users",
        fixture.USERS,
        {"user": "user_id", "team": "team_id"},
        "user",
        {
            "signed_up_at": "timestamp",
            "country": "text",
            "plan": "text",
            "credit": "number",
            "is_active": "boolean",
        },
        time="signed_up_at",
    ),
    "orders": Source(
        "orders",
        fixture.ORDERS,
        {"order": "order_id", "user": "user_id"},
        "order",
        {
            "ordered_at": "timestamp",
            "shipped_on": "date",
            "amount": "number",
            "status": "text",
            "quantity": "number",
            "is_gift": "boolean",
        },
        time="ordered_at",
    ),
}
PRIMARY = {source.primary: name for name, source in SOURCES.items()}
COUNTS = ("count", "count_distinct", "sum_boolean")


@dataclass(frozen=True)
class Measure:
    source: str
    agg: str  # count, count_distinct, sum, avg, min, max, sum_boolean
    column: str | None  # None: every row (count only)


MEASURES = {
    "users.signups": Measure("users", "count", None),
    "users.countries": Measure("users", "count_distinct", "country"),
    "users.with_country": Measure("users", "count", "country"),
    "users.credit": Measure("users", "sum", "credit"),
    "users.average_credit": Measure("users", "avg", "credit"),
    "users.lowest_credit": Measure("users", "min", "credit"),
    "users.highest_credit": Measure("users", "max", "credit"),
    "users.active_users": Measure("users", "sum_boolean", "is_active"),
    "orders.orders": Measure("orders", "count", None),
    "orders.buyers": Measure("orders", "count_distinct", "user_id"),
    "orders.revenue": Measure("orders", "sum", "amount"),
    "orders.average_amount": Measure("orders", "avg", "amount"),
    "orders.smallest_order": Measure("orders", "min", "amount"),
    "orders.largest_order": Measure("orders", "max", "amount"),
    "orders.items": Measure("orders", "sum", "quantity"),
    "orders.gifts": Measure("orders", "sum_boolean", "is_gift"),
}


@dataclass(frozen=True)
class Simple:
    measure: str
    filter: Filter | None = None
    fill_null: int | None = None


@dataclass(frozen=True)
class Ratio:
    numerator: str  # a metric, or a measure as source.measure
    denominator: str
    filter: Filter | None = None


# Arithmetic: a metric name, an integer, or (operator, left, right).
Arithmetic = str | int | tuple[str, "Arithmetic", "Arithmetic"]


@dataclass(frozen=True)
class Derived:
    expr: Arithmetic


Metric = Simple | Ratio | Derived

PAID = Compare("orders.status", "=", "paid")
PRO = Compare("user.plan", "=", "pro")
METRICS: dict[str, Metric] = {
    "signups": Simple("users.signups"),
    "countries": Simple("users.countries"),
    "users_with_country": Simple("users.with_country"),
    "total_credit": Simple("users.credit"),
    "average_credit": Simple("users.average_credit"),
    "lowest_credit": Simple("users.lowest_credit"),
    "highest_credit": Simple("users.highest_credit"),
    "active_users": Simple("users.active_users"),
    "german_signups": Simple("users.signups", Compare("users.country", "=", "DE")),
    "orders": Simple("orders.orders"),
    "buyers": Simple("orders.buyers"),
    "revenue": Simple("orders.revenue"),
    "revenue_or_zero": Simple("orders.revenue", fill_null=0),
    "average_amount": Simple("orders.average_amount"),
    "smallest_order": Simple("orders.smallest_order"),
    "largest_order": Simple("orders.largest_order"),
    "items": Simple("orders.items"),
    "gift_orders": Simple("orders.gifts"),
    "paid_orders": Simple("orders.orders", PAID),
    "paid_revenue": Simple("orders.revenue", PAID),
    "big_orders": Simple("orders.orders", Compare("orders.amount", ">=", 10)),
    "pro_buyers": Simple("orders.buyers", PRO),
    "paid_share": Ratio("paid_orders", "orders"),
    "gift_share": Ratio("orders.gifts", "orders.orders"),
    "revenue_per_buyer": Ratio("revenue", "buyers"),
    "orders_per_signup": Ratio("orders", "signups"),
    "pro_paid_share": Ratio("paid_orders", "orders", PRO),
    "unpaid_orders": Derived(("-", "orders", "paid_orders")),
    "unpaid_revenue": Derived(("-", "revenue", "paid_revenue")),
    "orders_minus_signups": Derived(("-", "orders", "signups")),
    "revenue_per_order": Derived(("/", "revenue", "orders")),
    "weighted_orders": Derived(("+", ("*", "orders", 2), "big_orders")),
}


def _inputs(metric: Metric) -> list[str]:
    if isinstance(metric, Simple):
        return [metric.measure]
    if isinstance(metric, Ratio):
        return [metric.numerator, metric.denominator]

    def walk(node: Arithmetic) -> Iterable[str]:
        if isinstance(node, str):
            yield node
        elif isinstance(node, tuple):
            yield from walk(node[1])
            yield from walk(node[2])

    return list(walk(metric.expr))


def source_of(name: str) -> set[str]:
    """The sources a metric (or measure) reads."""
    if name in MEASURES:
        return {MEASURES[name].source}
    return set().union(*(source_of(i) for i in _inputs(METRICS[name])))


def is_int(name: str) -> bool:
    """Whether a metric's values are ``int`` [Result types]."""
    metric = METRICS[name]
    if isinstance(metric, Simple):
        return MEASURES[metric.measure].agg in COUNTS
    if isinstance(metric, Ratio):
        return False

    def whole(node: Arithmetic) -> bool:
        if isinstance(node, int):
            return True
        if isinstance(node, str):
            return is_int(node)
        return node[0] in "+-*" and whole(node[1]) and whole(node[2])

    return whole(metric.expr)


# -- names -------------------------------------------------------------------------------------


def _edges(source: str) -> list[tuple[str, str]]:
    """(entity, target source) for each many-to-one hop out of ``source``."""
    own = SOURCES[source]
    return sorted(
        (entity, PRIMARY[entity])
        for entity in own.entities
        if entity in PRIMARY and PRIMARY[entity] != source
    )


def _path(start: str, target: str) -> tuple[str, ...] | None:
    """The entities of the shortest hop chain from ``start`` to ``target`` (None: unreachable)."""
    queue: deque[tuple[str, tuple[str, ...]]] = deque([(start, ())])
    seen = {start}
    while queue:
        node, path = queue.popleft()
        if node == target:
            return path
        for entity, right in _edges(node):
            if right not in seen:
                seen.add(right)
                queue.append((right, (*path, entity)))
    return None


@dataclass(frozen=True)
class Name:
    """A dotted name resolved from one source: where its value is, and its grain."""

    path: tuple[str, ...]  # entities to follow from the scanned source
    column: str  # column of the row at the end of the path
    kind: str
    grain: str | None = None


def resolve(name: str, source: str) -> Name | None:
    """``name`` as seen from ``source``; None when no chain of joins reaches it."""
    parts = name.split(".")
    if parts[0] == "metric_time":
        time = SOURCES[source].time
        if time is None:
            return None
        grain = parts[1] if len(parts) == 2 else "day"
        return Name((), time, SOURCES[source].dimensions[time], grain)
    if len(parts) == 1:
        entity = parts[0]
        if entity in SOURCES[source].entities:
            return Name((), SOURCES[source].entities[entity], "number")
        path = _path(source, PRIMARY[entity])
        return (
            None
            if path is None
            else Name(path, SOURCES[PRIMARY[entity]].entities[entity], "number")
        )
    grain = None
    if parts[-1] in GRAINS:
        grain, parts = parts[-1], parts[:-1]
    owner, dimension = parts
    target = PRIMARY.get(owner, owner)
    path = _path(source, target)
    if path is None:
        return None
    kind = SOURCES[target].dimensions[dimension]
    if kind in ("timestamp", "date") and grain is None:
        grain = "day"
    return Name(path, dimension, kind, grain)


def reachable(name: str, source: str) -> bool:
    return resolve(name, source) is not None


_INDEX: dict[tuple[str, str], dict[object, Row]] = {}


def _follow(source: str, row: Row | None, entity: str) -> Row | None:
    """The row a many-to-one hop through ``entity`` finds (None: no partner)."""
    if row is None:
        return None
    key = row[SOURCES[source].entities[entity]]
    target = PRIMARY[entity]
    index = _INDEX.get((target, entity))
    if index is None:
        column = SOURCES[target].entities[entity]
        index = _INDEX[(target, entity)] = {r[column]: r for r in SOURCES[target].rows}
    return None if key is None else index.get(key)


@dataclass(frozen=True)
class Calendar:
    """How the project cuts time."""

    zone: ZoneInfo
    week_start: int  # 0 = Monday

    def local(self, value: object, kind: str) -> object:
        """A timestamp's wall clock in the project's zone (naive); a date as it is."""
        if value is None or kind == "date":
            return value
        assert isinstance(value, dt.datetime)
        return value.astimezone(self.zone).replace(tzinfo=None)

    def bucket(self, value: object, grain: str) -> object:
        if value is None:
            return None
        if grain == "hour":
            assert isinstance(value, dt.datetime)
            return value.replace(minute=0, second=0, microsecond=0)
        day = value.date() if isinstance(value, dt.datetime) else value
        assert isinstance(day, dt.date)
        if grain == "day":
            return day
        if grain == "week":
            return day - dt.timedelta(days=(day.weekday() - self.week_start) % 7)
        if grain == "month":
            return day.replace(day=1)
        if grain == "quarter":
            return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        if grain == "year":
            return day.replace(month=1, day=1)
        raise ValueError(grain)

    def value(self, name: str, source: str, row: Row) -> object:
        """The value of dotted ``name`` for ``row`` of ``source``."""
        found = resolve(name, source)
        assert found is not None, (name, source)
        at: Row | None = row
        here = source
        for entity in found.path:
            at = _follow(here, at, entity)
            here = PRIMARY[entity]
        if at is None:
            return None
        value = at[found.column]
        if found.grain is None:
            return value
        return self.bucket(self.local(value, found.kind), found.grain)

    def day(self, source: str, row: Row) -> dt.date | None:
        """The local date of a row's metric_time."""
        value = self.value("metric_time", source, row)
        assert value is None or isinstance(value, dt.date)
        return value


# -- filters: three-valued logic ---------------------------------------------------------------

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _not(value: Truth) -> Truth:
    return None if value is None else not value


def _and(left: Truth, right: Truth) -> Truth:
    if left is False or right is False:
        return False
    return None if left is None or right is None else True


def _or(left: Truth, right: Truth) -> Truth:
    if left is True or right is True:
        return True
    return None if left is None or right is None else False


def _like(value: str, pattern: str) -> bool:
    regex = "".join(
        ".*" if char == "%" else "." if char == "_" else re.escape(char) for char in pattern
    )
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def truth(node: Filter, value: Callable[[str], object]) -> Truth:
    """The SQL truth value of a filter, given the value of each name."""
    if isinstance(node, Compare | CompareColumns):
        left = value(node.name if isinstance(node, Compare) else node.left)
        right = node.value if isinstance(node, Compare) else value(node.right)
        if left is None or right is None:
            return None
        return _COMPARE[node.op](left, right)
    if isinstance(node, In):
        found = value(node.name)
        if found is None:
            return None
        inside = any(found == item for item in node.values)
        return not inside if node.negated else inside
    if isinstance(node, Between):
        found = value(node.name)
        if found is None:
            return None
        inside = node.low <= found <= node.high  # type: ignore[operator]
        return not inside if node.negated else inside
    if isinstance(node, IsNull):
        return (value(node.name) is None) != node.negated
    if isinstance(node, Like):
        found = value(node.name)
        if found is None:
            return None
        assert isinstance(found, str)
        return _like(found, node.pattern) != node.negated
    if isinstance(node, IsTrue):
        found = value(node.name)
        return None if found is None else bool(found)
    if isinstance(node, Not):
        return _not(truth(node.operand, value))
    if isinstance(node, And):
        return _and(truth(node.left, value), truth(node.right, value))
    if isinstance(node, Or):
        return _or(truth(node.left, value), truth(node.right, value))
    raise TypeError(node)


# -- aggregation -------------------------------------------------------------------------------


def _exact(value: object) -> Fraction | None:
    if value is None:
        return None
    assert isinstance(value, int | Decimal | Fraction), value
    return Fraction(value)


def aggregate(measure: Measure, rows: list[Row]) -> Fraction | int | None:
    """A measure over a group's rows: NULLs skipped; counts of nothing are 0, the rest NULL."""
    if measure.agg == "count" and measure.column is None:
        return len(rows)
    values = [row[measure.column] for row in rows] if measure.column else []
    present = [v for v in values if v is not None]
    if measure.agg == "count":
        return len(present)
    if measure.agg == "count_distinct":
        return len(set(present))
    if measure.agg == "sum_boolean":
        return sum(1 for v in values if v is True)
    if not present:
        return None
    exact = [_exact(v) for v in present]
    if measure.agg == "sum":
        return sum(exact, Fraction(0))  # type: ignore[arg-type]
    if measure.agg == "avg":
        return sum(exact, Fraction(0)) / len(exact)  # type: ignore[arg-type]
    if measure.agg == "min":
        return min(exact)  # type: ignore[type-var]
    if measure.agg == "max":
        return max(exact)  # type: ignore[type-var]
    raise ValueError(measure.agg)


def _divide(numerator: Any, denominator: Any) -> Fraction | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return Fraction(numerator) / Fraction(denominator)


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _divide,
}


# -- the query ---------------------------------------------------------------------------------

Conditions = tuple[Filter, ...]
Key = tuple[object, ...]


@dataclass
class _Evaluation:
    query: Query
    calendar: Calendar
    # (measure, conditions) -> group key -> rows that pass where, range and conditions
    leaves: dict[tuple[str, Conditions], dict[Key, list[Row]]] = field(default_factory=dict)

    def kept(self, source: str, row: Row) -> bool:
        """``where`` is TRUE for the row and its local date is within ``start``/``end``."""
        query = self.query
        if query.start is not None or query.end is not None:
            day = self.calendar.day(source, row)
            if day is None:
                return False
            if query.start is not None and day < query.start:
                return False
            if query.end is not None and day > query.end:
                return False
        return query.where is None or self.passes(query.where, source, row)

    def passes(self, condition: Filter, source: str, row: Row) -> bool:
        return truth(condition, lambda name: self.calendar.value(name, source, row)) is True

    def leaf(self, measure: str, conditions: Conditions) -> dict[Key, list[Row]]:
        found = self.leaves.get((measure, conditions))
        if found is not None:
            return found
        source = MEASURES[measure].source
        groups: dict[Key, list[Row]] = {}
        for row in SOURCES[source].rows:
            if not self.kept(source, row):
                continue
            if not all(self.passes(c, source, row) for c in conditions):
                continue
            key = tuple(self.calendar.value(name, source, row) for name in self.query.by)
            groups.setdefault(key, []).append(row)
        self.leaves[(measure, conditions)] = groups
        return groups

    def metric(self, name: str, key: Key, outer: Conditions = ()) -> Any:
        """A metric's exact value in the group ``key``, under the filters of metrics using it."""
        if name in MEASURES:
            return aggregate(MEASURES[name], self.leaf(name, outer).get(key, []))
        metric = METRICS[name]
        if isinstance(metric, Simple):
            conditions = outer if metric.filter is None else (*outer, metric.filter)
            value = aggregate(
                MEASURES[metric.measure], self.leaf(metric.measure, conditions).get(key, [])
            )
            return metric.fill_null if value is None else value
        if isinstance(metric, Ratio):
            conditions = outer if metric.filter is None else (*outer, metric.filter)
            return _divide(
                self.metric(metric.numerator, key, conditions),
                self.metric(metric.denominator, key, conditions),
            )

        def compute(node: Arithmetic) -> Any:
            if isinstance(node, int):
                return node
            if isinstance(node, str):
                return self.metric(node, key, outer)
            left, right = compute(node[1]), compute(node[2])
            if node[0] != "/" and (left is None or right is None):
                return None
            return _ARITHMETIC[node[0]](left, right)

        return compute(metric.expr)


@dataclass(frozen=True)
class Expected:
    """The expected result: column names and rows of Python values."""

    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


def evaluate(query: Query) -> Expected:
    calendar = Calendar(ZoneInfo(query.time_zone), WEEKDAYS.index(query.week_start))
    state = _Evaluation(query, calendar)
    columns = (*query.by, *query.metrics)
    if not query.metrics:
        exact = _listing(state)
    else:
        for name in query.metrics:  # every leaf, so that every group is known
            state.metric(name, ())
        keys: set[Key] = {()} if not query.by else set()
        if query.by:
            for groups in state.leaves.values():
                keys.update(groups)
        exact = [(*key, *(state.metric(m, key) for m in query.metrics)) for key in keys]
    ordered = _sorted(exact, columns, query)
    if query.limit is not None:
        ordered = ordered[: query.limit]
    return Expected(columns, tuple(_typed(row, query) for row in ordered))


def _listing(state: _Evaluation) -> list[tuple[object, ...]]:
    """Distinct ``by`` values from the source reaching every name with the fewest joins."""
    query = state.query
    names = list(query.by)
    wanted = set(names)
    if query.where is not None:
        wanted |= names_in(query.where)
    best: tuple[int, str] | None = None
    for source in sorted(SOURCES):
        resolved = {n: resolve(n, source) for n in wanted}
        if any(r is None for r in resolved.values()):
            continue
        cost = sum(len(resolved[n].path) for n in names)  # type: ignore[union-attr]
        if best is None or cost < best[0]:
            best = (cost, source)
    assert best is not None, "the strategy asks only what some source reaches"
    source = best[1]
    found = {
        tuple(state.calendar.value(n, source, row) for n in names)
        for row in SOURCES[source].rows
        if state.kept(source, row)
    }
    return list(found)


def _sorted(
    rows: list[tuple[object, ...]], columns: tuple[str, ...], query: Query
) -> list[tuple[object, ...]]:
    """The requested order, then each ``by`` column not in it; NULLs last either way."""
    keys = [(name.lstrip("-"), name.startswith("-")) for name in query.order]
    named = {name for name, _ in keys}
    keys += [(name, False) for name in query.by if name not in named]
    ordered = list(rows)
    for name, descending in reversed(keys):
        at = columns.index(name)
        present = [r for r in ordered if r[at] is not None]
        missing = [r for r in ordered if r[at] is None]
        present.sort(key=lambda r: r[at], reverse=descending)  # type: ignore[arg-type, return-value]
        ordered = present + missing
    return ordered


def _typed(row: tuple[object, ...], query: Query) -> tuple[object, ...]:
    by = row[: len(query.by)]
    values = row[len(query.by) :]
    out: list[object] = list(by)
    for name, value in zip(query.metrics, values, strict=True):
        if value is None:
            out.append(None)
        elif is_int(name):
            assert Fraction(value).denominator == 1  # type: ignore[arg-type]
            out.append(int(value))  # type: ignore[call-overload]
        else:
            out.append(float(value))  # type: ignore[arg-type]
    return tuple(out)
