"""The plan: which scans, joins, groupings and aggregates a query needs, independent of dialect.

A plan holds sqlglot expressions for the row-level parts (dimension expressions, conditions,
aggregate calls) and names for everything else; ``metrics_layer.sql.build`` turns it into one
SELECT with a CTE per aggregation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlglot import exp

from metrics_layer.graph.model import Calendar, Offset
from metrics_layer.planner.types import ValueType
from metrics_layer.spec.models import Agg, Grain, Rollup, SemiAdditive

__all__ = [
    "PER_PERIOD",
    "SNAPSHOT_DAY",
    "AggColumn",
    "Aggregation",
    "Daily",
    "Fill",
    "Grouping",
    "Join",
    "Lookup",
    "Narrow",
    "OutputMetric",
    "Periods",
    "Plan",
    "Shifted",
    "Spine",
    "Window",
    "expressions",
]


@dataclass(frozen=True)
class Grouping:
    """One output column of the query grain."""

    name: str
    alias: str
    type: ValueType = ValueType.AS_RETURNED


@dataclass(frozen=True)
class Join:
    """A many-to-one LEFT JOIN of a dimension source (``relation`` is the graph's, unchanged)."""

    alias: str
    relation: exp.Expr
    on: exp.Expr


@dataclass(frozen=True)
class Lookup:
    """A filter on one dimension source, applied to a derived source's entities as a
    semi-join: ``entities.<entity> IN (SELECT <key> FROM <join's relation> WHERE condition)``.
    ``join`` names the relation and its alias; ``key`` and ``condition`` read that alias.

    With ``base_rows``, the relation is that of the base events, one row per entity, read in
    the CTE ``base_rows`` under its source's name, and ``condition`` (over that name) filters
    those rows instead: the relation is read once."""

    join: Join
    entity: exp.Column
    key: exp.Column
    condition: exp.Expr
    base_rows: str | None = None


@dataclass(frozen=True)
class Narrow:
    """The entities a derived source builds rows for: those of its CTE ``cte`` (one row per
    entity, read as ``entities``) passing ``condition``, with ``joins`` LEFT JOINed to it, and
    found by each of ``lookups``.

    For a churn source (``rows``), ``condition`` applies to its reads of the activity's rows
    instead (``cte`` is empty): they keep the query's periods and the one before, and the
    query's range still applies to the derived rows."""

    cte: str
    condition: exp.Expr
    joins: tuple[Join, ...] = ()
    rows: bool = False
    lookups: tuple[Lookup, ...] = ()


@dataclass(frozen=True)
class AggColumn:
    """One aggregate of a scan.

    For per-period scans, ``rollup`` says how the per-period values combine, and ``counts``
    that a period without rows counts as 0 (so an average divides by every period).
    """

    alias: str
    call: exp.Expr
    rollup: Rollup | None = None
    counts: bool = False


@dataclass(frozen=True)
class Periods:
    """The periods of each time bucket, over all of a source's rows in the date range.

    ``period`` is a row's period (a snapshot day for semi-additive measures, the ``per`` period
    for per metrics); ``partition`` are the grain aliases that cut time buckets, with their
    expressions over the source. The build turns this into first, last and count per bucket.
    """

    period: exp.Expr
    partition: tuple[tuple[str, exp.Expr], ...]
    time_range: exp.Expr | None
    # A per-period scan counts its periods on the calendar, not in the source: ``period``,
    # ``partition`` and ``time_range`` are then over the spine's day column, and the spine spans
    # the query's range moved back by the scan's offset. A missing bound is the first or last
    # ``row_day`` (a row's own day) of the source's rows within ``row_range``, whatever the
    # filters: a group's days do not depend on how it was selected.
    spine: Spine | None = None
    row_day: exp.Expr | None = None
    row_range: exp.Expr | None = None
    # A per-day scan grouped by built-in grains of metric_time alone (aliases and grains), or
    # by none: each bucket's first and last day and number of days are date arithmetic on its
    # first day and the spine's bounds (a missing one read from the source's rows, as for the
    # spine), with no spine of days in the SQL.
    grains: tuple[tuple[str, Grain], ...] | None = None


# The column of a semi-additive scan's per-day step holding each row's snapshot day.
SNAPSHOT_DAY = "snapshot_day"
# The column of a per-period scan holding each row's period (``per``).
PER_PERIOD = "period_start"


@dataclass(frozen=True)
class Daily:
    """A semi-additive scan aggregated per snapshot day first, in one read of the source.

    The per-day step groups the rows of the range by ``day`` (a row's snapshot day) and by the
    ``inner`` groupings; each aggregate holds the query's filters in its own condition, and a
    group exists on a day when a row passes ``kept`` (None: every row counts). The last (first)
    day of each time bucket is then found among those per-day rows, whatever the filters, and
    the aggregation's ``groups`` and ``periods`` are expressions over ``SNAPSHOT_DAY``: the
    time buckets are computed for the few days, not for every row."""

    day: exp.Expr
    inner: tuple[tuple[str, exp.Expr], ...]
    kept: exp.Expr | None
    # The per-day step of another scan this one reads (an offset input of the same measures
    # and filters): one read of the source for both, over both ranges.
    shared: str | None = None
    # Each aggregate of the scan's ``columns`` with its metric's own filter alone, without the
    # query's filters (which ``kept`` holds; empty when ``kept`` is None): for a form that
    # tests ``kept`` in its WHERE (``sql/build.py: _edges_first_ctes``).
    own: tuple[exp.Expr, ...] = ()


@dataclass(frozen=True)
class Spine:
    """Every day from ``start`` to ``end``; a bound that is None comes from the data (the first
    or last day with rows). ``digits``: the spine counts days in base 10 with this many digits,
    so it spans at most 10**digits days."""

    start: dt.date | None
    end: dt.date | None
    digits: int


@dataclass(frozen=True)
class Fill:
    """Every period of the range as a row: ``periods`` are the query's metric_time groupings
    as expressions over the spine's day column; without a bound, the spine spans the periods
    the aggregations found (``bounded_by``, a period alias)."""

    periods: tuple[tuple[str, exp.Expr], ...]
    spine: Spine
    bounded_by: str


@dataclass(frozen=True)
class Window:
    """A rolling or cumulative aggregate, evaluated on a day spine.

    The aggregation's scan yields per-day partial aggregates (``day`` is a row's calendar day in
    the project's time zone; for distinct counts the distinct values themselves). Each period
    of the query shows the window ending on one day of it: its last (``edge`` LAST), its first
    (FIRST), or every day averaged (AVERAGE). ``periods`` are the time groupings as expressions
    over the spine's day column (``SPINE_DAY``), already shifted by the offset. The window ending
    on day d holds the rows of days after d - ``span`` up to d; with ``to_grain`` it starts on
    the first day of d's period of that grain; with neither it holds every day up to d.
    ``apart``: the fewest days between the days of two periods' windows (the shortest period
    of the query's one time grouping; 1 when unknown or when every day is shown), None when
    the query shows a single window.
    """

    day: exp.Expr
    agg: Agg
    value: exp.Expr | None
    periods: tuple[tuple[str, exp.Expr], ...]
    span: Offset | None
    to_grain: exp.Expr | None
    edge: Rollup
    # offset_to_grain: each period shows the window ending on this day (over SPINE_DAY, the
    # period's first day) instead of its edge.
    start_of: exp.Expr | None
    spine: Spine
    counts: bool
    apart: int | None = 1
    fill: float | None = None


@dataclass(frozen=True)
class Aggregation:
    """One scan of one source at the query grain (a CTE, or a few for per/semi-additive)."""

    name: str
    source: str
    relation: exp.Expr
    joins: tuple[Join, ...]
    where: exp.Expr | None
    groups: tuple[tuple[str, exp.Expr], ...]
    columns: tuple[AggColumn, ...]
    per: exp.Expr | None = None
    periods: Periods | None = None
    keep: SemiAdditive | None = None
    offset: Offset | None = None
    window: Window | None = None
    # A derived source's date range (and the query's filters on its entity) applied inside
    # its relation instead (``graph/entity_metrics.py``).
    narrow: Narrow | None = None
    daily: Daily | None = None
    # For a per-day scan: metric_time groupings computed when rolling up, as expressions over
    # the per-day step's ``PER_PERIOD`` column; the per-day step leaves them out.
    regroup: tuple[tuple[str, exp.Expr], ...] = ()


@dataclass(frozen=True)
class Shifted:
    """An offset input read from an aggregation already at the query grain: its rows with each
    metric_time grouping (``moved``: alias, the shifted value over the aggregation's column)
    moved by the offset. Aggregate first, shift after: the grain's few rows are shifted, not
    every source row."""

    name: str
    of: str
    moved: tuple[tuple[str, exp.Expr], ...]


@dataclass(frozen=True)
class OutputMetric:
    """A requested metric as an expression over aggregation columns (``cte.alias``)."""

    name: str
    expr: exp.Expr
    type: ValueType = ValueType.FLOAT
    # The column's name in the SQL when the name is not an identifier (``min(x)``, ``m@1``).
    sql_name: str | None = None
    # The graph's metric it computes (``m@1`` for a kept version); None for min() and max().
    metric: str | None = None

    @property
    def alias(self) -> str:
        return self.sql_name or self.name


@dataclass(frozen=True)
class Plan:
    groupings: tuple[Grouping, ...]
    aggregations: tuple[Aggregation, ...]
    metrics: tuple[OutputMetric, ...]
    order: tuple[tuple[str, bool], ...]
    limit: int | None
    versions: tuple[tuple[str, int], ...]
    fill: Fill | None = None
    # The project's calendar table, joined where the plan cuts a calendar period.
    calendar: Calendar | None = None
    shifted: tuple[Shifted, ...] = ()
    # Grain keys no aggregation can give NULL (a built-in grain of metric_time within a date
    # range): joined on plain equality, which every engine can hash and estimate.
    never_null: frozenset[str] = frozenset()
    # Grain keys (a built-in grain of metric_time) kept within a range (start, end, either
    # may be None): an offset input shifted after aggregating reads and moves periods outside.
    within: tuple[tuple[str, dt.date | None, dt.date | None], ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The result's column names, as the caller asked for them."""
        return tuple(g.name for g in self.groupings) + tuple(m.name for m in self.metrics)

    @property
    def types(self) -> tuple[ValueType, ...]:
        """The Python type of each column, in ``columns`` order."""
        return tuple(g.type for g in self.groupings) + tuple(m.type for m in self.metrics)


def expressions(value: object, skip: tuple[str, ...] = ()) -> Iterator[exp.Expr]:
    """Every sqlglot expression held by ``value`` (a plan's dataclass, a tuple or an
    expression), through nested dataclasses and tuples, without ``value``'s own fields named in
    ``skip``."""
    pending: list[object] = [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        pending = [getattr(value, f.name) for f in fields if f.name not in skip]
    while pending:
        item = pending.pop()
        if isinstance(item, exp.Expr):
            yield item
        elif isinstance(item, tuple):
            pending.extend(item)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            pending.extend(getattr(item, f.name) for f in dataclasses.fields(item))
