"""Plan a metric query: which source scans, joins, groupings and aggregates answer it.

Each requested metric is broken into leaf measures. Leaves of one source (and one time
dimension, ``per`` period or semi-additive mode) share one scan, aggregated at the query grain;
dimension sources are joined many-to-one; different scans are joined on the grain keys
afterwards, so a fan-out can never double-count.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from metrics_layer.errors import FilterError, QueryError
from metrics_layer.graph.calendars import finer, fits_in
from metrics_layer.graph.entity_metrics import narrowing
from metrics_layer.graph.expressions import column_parts, parse_condition
from metrics_layer.graph.graph import METRIC_TIME, DimensionRef, Graph
from metrics_layer.graph.model import (
    CalendarPeriod,
    Dimension,
    Measure,
    Metric,
    MetricKind,
    Offset,
    Period,
    Source,
)
from metrics_layer.planner.aggregates import aggregate_call, fills_with_zero, safe_divide
from metrics_layer.planner.conditions import (
    TIME_GRAIN,
    conjunction,
    rejects_missing,
    typed_time_literals,
)
from metrics_layer.planner.joins import Joins, requalify, unread_joins_dropped
from metrics_layer.planner.periods import period_of, widened
from metrics_layer.planner.plan import (
    PER_PERIOD,
    SNAPSHOT_DAY,
    AggColumn,
    Aggregation,
    Daily,
    Fill,
    Grouping,
    Join,
    Lookup,
    Narrow,
    OutputMetric,
    Periods,
    Plan,
    Shifted,
    Spine,
)
from metrics_layer.planner.query import MAX_NAME_LENGTH, MetricQuery
from metrics_layer.planner.types import dimension_type, metric_type
from metrics_layer.planner.windows import fill_periods, minus, plan_window
from metrics_layer.spec.models import Agg, DimensionType, Grain, Rollup, SemiAdditive
from metrics_layer.sql.build import FIXED_NAMES
from metrics_layer.sql.names import cast, column, date_literal, ident, table_alias
from metrics_layer.sql.parts import PART_GRAIN, date_part
from metrics_layer.sql.spine import SPINE_DAY, spine_digits
from metrics_layer.sql.time import (
    IN_DAYS,
    IN_MONTHS,
    SUB_DAY,
    bucket,
    in_time_zone,
    shift,
    within_dates,
)
from metrics_layer.sql.windows import DAY, PART

__all__ = ["check_query", "extent_of", "plan_query"]


@dataclass(frozen=True)
class Leaf:
    """A measure to aggregate for a metric, with the metric's filter and period."""

    measure: Measure
    condition: exp.Expr | None
    per: Grain | None
    rollup: Rollup | None
    offset: Offset | None = None
    window: Metric | None = None
    start_of: Period | None = None


# A scan's key: source, time dimension, per, semi-additive mode, offset, and for a window its
# metric, filter and offset_to_grain.
_ScanKey = tuple[
    str,
    str | None,
    Grain | None,
    SemiAdditive | None,
    Offset | None,
    tuple[str, exp.Expr | None, Period | None] | None,
]


@dataclass
class _Scan:
    """An aggregation being assembled for one (source, time, per, semi-additive, offset) key;
    ``time`` is the measures' time dimension (their metric_time). A rolling or cumulative
    metric has a scan of its own (``window``)."""

    source: str
    time: str | None
    own_time: bool
    per: Grain | None
    keep: SemiAdditive | None
    offset: Offset | None
    window: Metric | None = None
    # The first day the scan reads when an offset input shifted after aggregating reads it
    # too (the query's start moved back by the largest such offset); the result keeps the
    # periods of the query's range (``Plan.within``).
    reach: dt.date | None = None
    # Put after the source's name when the name would clash (``_clashes``): a rolling metric
    # named ``per_day`` beside the per-day scan of its source is ``events_2_per_day``.
    suffix: str = ""
    aliases: dict[tuple[str, exp.Expr | None, Rollup | None], str] = field(default_factory=dict)
    leaves: list[tuple[str, Leaf]] = field(default_factory=list)

    @property
    def name(self) -> str:
        base = f"{self.source}_by_{self.time}" if self.own_time else self.source
        base += self.suffix
        if self.offset is not None:
            # Before the kind: a view shifted after aggregating is ``events_agg_1_month_ago``.
            base += f"_{self.offset.label}"
        if self.window is not None:
            return f"{base}_{self.window.sql_name}"
        if self.per is not None:
            return f"{base}_per_{self.per.value}"
        if self.keep is not None:
            return f"{base}_{self.keep.value}_snapshot"
        return f"{base}_agg"

    @property
    def final(self) -> str:
        """The CTE holding the scan's values at the query grain."""
        return self.name if self.per is None else f"{self.name}_rollup"


def _clashes(name: str, others: Sequence[str], read: frozenset[str]) -> bool:
    """Whether a scan named ``name`` could give a CTE the name of another CTE of the statement
    or of a table a source reads.

    The builder names a scan's CTEs after it, a word added at a time (``events_agg``,
    ``events_agg_periods``, ``events_agg_periods_written``), and a few of its own
    (``FIXED_NAMES``, ``<source>_source``). Two names neither of which begins with the other
    and an underscore never give the same CTE name, so a scan's name must not be so related to
    another scan's name or a fixed name; nor may it be, or begin, a name the statement reads
    otherwise (``read``: ``Graph.read_names``, a table named ``events_per_day``, a source's
    ``users_source``), which would be read in place of the table or defined twice:

    >>> read = frozenset({"events", "events_per", "events_per_day"})
    >>> _clashes("events_per_day_bounds", ["events_per_day"], read)
    True
    >>> _clashes("events_2_per_day_bounds", ["events_per_day"], read)
    False
    >>> _clashes("events_per_day", ["events_per_day_bounds"], read)
    True
    >>> _clashes("fill_bounds_agg", [], read)
    True
    >>> _clashes("events_per_day", [], read), _clashes("events_agg", [], read)
    (True, False)
    """
    if name in read:
        return True
    return any(_starts(name, other) or _starts(other, name) for other in (*others, *FIXED_NAMES))


def _starts(name: str, prefix: str) -> bool:
    """``name`` is ``prefix`` or ``prefix`` followed by an underscore and more."""
    return name.startswith(prefix) and name[len(prefix) : len(prefix) + 1] in ("", "_")


def plan_query(graph: Graph, query: MetricQuery, *, checking: bool = False) -> Plan:
    """Plan ``query`` against ``graph``; every user mistake is a QueryError naming the field.
    With ``checking``, the plan's filters and aggregates are stand-ins (``check_query``)."""
    settings = graph.settings
    if query.whole_periods:
        for name in query.by:
            if isinstance(graph.metric_time_period(name), CalendarPeriod):
                raise QueryError(
                    f"'{name}': whole_periods widens the range by built-in grains only; "
                    "a calendar table's periods are known to the database, not to the "
                    f"query. Give start and end on its first and last days (list them "
                    f"with '{name}' and no metrics), or leave out whole_periods",
                    field="whole_periods",
                )
    widened_query = widened(query, settings.week_start, settings.fiscal_year_start)
    return Planner(graph, widened_query, checking=checking).plan()


def check_query(graph: Graph, query: MetricQuery) -> None:
    """Raise the QueryError ``plan_query(graph, query)`` raises, if any, without making the
    SQL of the query's filters and aggregates (``Planner.checking``): the checks of a project
    plan every metric to find those that cannot be computed, and never read the plan."""
    plan_query(graph, query, checking=True)


class Planner:
    """Plans one query.

    With ``checking``, every step runs as when planning, in the same order, with the same
    checks, but three kinds of tree that no check reads are not made: a filter's names are
    resolved and checked one by one without copying the filter into SQL (``resolve``
    returns a stand-in TRUE), aggregate calls are a stand-in ``*`` (``aggregate``), and so is
    the value of a ratio or derived metric once its inputs are planned (``_metric_expr``). The
    plan made is only good for knowing that the query plans (``check_query``);
    ``tests/planner/test_check_query.py`` compares both answers."""

    def __init__(self, graph: Graph, query: MetricQuery, *, checking: bool = False) -> None:
        self.graph = graph
        self.query = query
        self.checking = checking
        # The caller's filter and the access policy's row filter (``MetricQuery.policy``),
        # resolved, joined and checked as one ``where``.
        self.where = conjunction(
            parse_condition(query.where, field="where") if query.where else None,
            query.policy.tree.copy() if query.policy is not None else None,
        )
        self.scans: dict[_ScanKey, _Scan] = {}
        # Offset inputs read from a scan at the grain: view name -> (scan, offset, moved aliases).
        self.shifted: dict[str, tuple[_Scan, Offset, tuple[str, ...]]] = {}

    def plan(self) -> Plan:
        extents = [e for e in map(extent_of, self.query.metrics) if e is not None]
        if extents and len(extents) != len(self.query.metrics):
            raise QueryError(
                "min() and max() of a dimension make a query without metrics; ask for the "
                "metrics in a query of their own",
                field="metrics",
            )
        if extents:
            return self._extent_plan(extents)
        metrics = [self.graph.metric(name) for name in self.query.metrics]
        outputs = [
            OutputMetric(
                asked,
                self._metric_expr(m, None),
                metric_type(self.graph, m),
                _pinned_alias(asked, m, self.query.metrics),
                m.name,
            )
            for asked, m in zip(self.query.metrics, metrics, strict=True)
        ]
        fill: Fill | None = None
        if not self.scans and self._only_metric_time():
            fill = fill_periods(self.graph, self.query, self.query.by, required=True)
            groupings = tuple(
                Grouping(name, name.replace(".", "__"), dimension_type(self._period_ref(name)))
                for name in self.query.by
            )
            aggregations: tuple[Aggregation, ...] = ()
        else:
            if not self.scans:
                self._scan_for_dimensions()
            groupings = self._groupings()
            aggregations = self._share_days([self._aggregation(s) for s in self.scans.values()])
            aggregations = self._share_pairs(aggregations)
            if self.query.fill_periods or any(m.fill_periods for m in metrics):
                periods = [name for name in self.query.by if name.split(".")[0] == METRIC_TIME]
                fill = fill_periods(self.graph, self.query, periods, required=False)
        aliases = {g.name: g.alias for g in groupings} | {m.name: m.alias for m in outputs}
        order = tuple((aliases.get(o.name, o.name), o.descending) for o in self.query.order)
        versions = tuple(sorted(self._versions(metrics).items()))
        return Plan(
            groupings,
            aggregations,
            tuple(outputs),
            order,
            self.query.limit,
            versions,
            fill,
            self.graph.calendar,
            self._shifted_views(),
            self._never_null(groupings),
            self._within(),
        )

    def _never_null(self, groupings: Sequence[Grouping]) -> frozenset[str]:
        """The metric_time groupings by a built-in grain when the query has a date range: every
        scan keeps only rows whose time is in it, so none has a NULL period (a calendar table's
        period is NULL for a day the table does not hold)."""
        if self.query.start is None and self.query.end is None:
            return frozenset()
        return frozenset(
            g.alias for g in groupings if isinstance(self.graph.metric_time_period(g.name), Grain)
        )

    def _within(self) -> tuple[tuple[str, dt.date | None, dt.date | None], ...]:
        """The grain keys an offset input shifted after aggregating moved, with the query's
        range: its scan reaches back before ``start`` and its view moves periods past
        ``end``, and the range holds whole periods, so a period is in it when its key is."""
        start, end = self.query.start, self.query.end
        if start is None and end is None:
            return ()
        moved = dict.fromkeys(a for _, _, aliases in self.shifted.values() for a in aliases)
        return tuple((a, start, end) for a in moved)

    def _shifted_views(self) -> tuple[Shifted, ...]:
        """The shifted views of the offset inputs read at the query grain."""
        views = []
        for name, (scan, offset, moved) in self.shifted.items():
            values = tuple(
                (
                    a,
                    cast(shift(column(a, scan.final), offset.amount, offset.unit), DATE),
                )
                for a in moved
            )
            views.append(Shifted(name, scan.final, values))
        return tuple(views)

    def _extent_plan(self, extents: list[tuple[str, str, str]]) -> Plan:
        """``min(dimension)`` / ``max(dimension)`` of time dimensions, by the ``by`` names,
        from the one source that reaches them all (as a query without metrics lists values)."""
        self._scan_for_dimensions([name for _, _, name in extents])
        [scan] = self.scans.values()
        groupings = self._groupings()
        outputs: list[OutputMetric] = []
        for index, (function, text, name) in enumerate(extents, start=1):
            ref = self.graph.resolve(name, scan.source, field="metrics", time=scan.time)
            if not ref.is_time:
                raise QueryError(
                    f"'{text}': min() and max() take a time dimension (the first or last time); "
                    f"'{name}' is not one",
                    field="metrics",
                )
            outputs.append(
                OutputMetric(
                    text,
                    column(f"extent_{index}", scan.name),
                    dimension_type(ref),
                    f"{function}_{index}",
                )
            )
        aggregation = self._aggregation(scan, extents)
        aliases = {g.name: g.alias for g in groupings} | {m.name: m.alias for m in outputs}
        order = tuple((aliases.get(o.name, o.name), o.descending) for o in self.query.order)
        return Plan(
            groupings,
            (aggregation,),
            tuple(outputs),
            order,
            self.query.limit,
            (),
            None,
            self.graph.calendar,
        )

    def _only_metric_time(self) -> bool:
        return bool(self.query.by) and all(
            name.split(".")[0] == METRIC_TIME for name in self.query.by
        )

    def _period_ref(self, name: str) -> DimensionRef:
        """A metric_time name without a source: its grain only (day when none is given)."""
        grain = self.graph.metric_time_period(name) or Grain.DAY
        return DimensionRef(name, (), "", None, None, grain)

    def _versions(self, metrics: list[Metric]) -> dict[str, int]:
        found: dict[str, int] = {}
        pending = list(metrics)
        while pending:
            metric = pending.pop()
            found[metric.name] = metric.version
            pending.extend(self.graph.metrics[i.name] for i in metric.inputs if i.measure is None)
        return found

    # -- metrics into leaves ------------------------------------------------------------------

    def _metric_expr(
        self,
        metric: Metric,
        outer: exp.Expr | None,
        offset: Offset | None = None,
        start_of: Period | None = None,
    ) -> exp.Expr:
        # Filters belong to the graph, which other queries (and threads) read at the same time:
        # one is used as it is (it is copied when resolved), two are copied before conjunction()
        # links them into a new tree.
        if outer is not None and metric.filter is not None:
            condition = conjunction(outer.copy(), metric.filter.copy())
        else:
            condition = outer if metric.filter is None else metric.filter
        self._entity_checks(metric)
        kind = metric.compiles_as
        if start_of is not None and (kind is MetricKind.SIMPLE or metric.kind.entity_level):
            raise QueryError(
                f"'offset_to_grain' reads a rolling or cumulative metric on the first day of a "
                f"period; '{metric.name}' is a {metric.kind.value} metric",
                field="metrics",
            )
        if kind is MetricKind.SIMPLE:
            assert metric.measure is not None
            measure = self.graph.measures[metric.measure]
            if metric.per is not None and measure.semi_additive is not None:
                raise QueryError(
                    f"metric '{metric.name}' has 'per' over a semi-additive measure; "
                    "use one or the other",
                    field="metrics",
                )
            rollup = (metric.rollup or Rollup.AVERAGE) if metric.per else None
            ref = self._leaf(Leaf(measure, condition, metric.per, rollup, offset))
            return _filled(ref, metric, measure)
        if metric.kind.windowed:
            assert metric.measure is not None
            measure = self.graph.measures[metric.measure]
            edge = metric.rollup or Rollup.LAST
            ref = self._leaf(Leaf(measure, condition, None, edge, offset, metric, start_of))
            return _filled(ref, metric, measure)
        if metric.per is not None:
            raise QueryError(
                f"metric '{metric.name}': 'per' is supported on simple metrics only",
                field="metrics",
            )
        inputs: dict[str, exp.Expr] = {}
        for item in metric.inputs:
            if item.measure is not None:
                if start_of is not None:
                    raise QueryError(
                        f"'offset_to_grain' reads rolling or cumulative metrics; "
                        f"'{metric.name}' uses the measure '{item.measure}' directly",
                        field="metrics",
                    )
                measure = self.graph.measures[item.measure]
                leaf = self._leaf(Leaf(measure, condition, None, None, offset))
                inputs[item.column] = (
                    exp.Coalesce(this=leaf, expressions=[exp.Literal.number(0)])
                    if fills_with_zero(measure.agg)
                    else leaf
                )
            else:
                inputs[item.column] = self._metric_expr(
                    self.graph.metrics[item.name],
                    condition,
                    _add(offset, item.offset, metric),
                    item.to_grain or start_of,
                )
        if self.checking:
            # What follows makes the value's SQL from its inputs' and refuses nothing.
            return exp.true()
        if kind is MetricKind.RATIO:
            numerator, denominator = (inputs[i.column] for i in metric.inputs)
            value = safe_divide(numerator, denominator)
        else:
            assert metric.expr is not None

            def substitute(node: exp.Expr) -> exp.Expr:
                if isinstance(node, exp.Column):
                    value = inputs[node.name].copy()
                    return (
                        value
                        if isinstance(value, (exp.Column, exp.Func))
                        else exp.Paren(this=value)
                    )
                return node

            value = metric.expr.copy()
            for node in reversed([n for n in value.dfs() if isinstance(n, exp.Div)]):
                divided = safe_divide(node.this, node.expression)
                value = divided if node is value else value
                node.replace(divided)
            value = value.transform(substitute, copy=False)
        if metric.fill_null is None:
            return value
        return exp.Coalesce(this=value, expressions=[_number(metric.fill_null)])

    def _entity_checks(self, metric: Metric) -> None:
        """A churn metric compares whole periods of its own grain, and a cohort table is read
        by its period number: other groupings are refused with the fix."""
        if metric.period is not None:
            for name in self.query.by:
                if name.split(".")[0] != METRIC_TIME:
                    continue
                if self.graph.metric_time_period(name) != metric.period:
                    grain = metric.period.value
                    raise QueryError(
                        f"'{name}': '{metric.name}' compares each {grain} with the {grain} "
                        f"before, so it is grouped by metric_time.{grain} only (or without "
                        f"metric_time: every {grain} of the range pooled); use "
                        f"metric_time.{grain}, or a churn metric defined for that period",
                        field="by",
                    )
        if metric.cohort_period is not None and metric.cohort_period not in self.query.by:
            raise QueryError(
                f"'{metric.name}' is a cohort table: each row is one period after the cohort's; "
                f"add '{metric.cohort_period}' to by",
                field="by",
            )

    def _leaf(self, leaf: Leaf) -> exp.Expr:
        measure = leaf.measure
        keep = measure.semi_additive
        window = None if leaf.window is None else (leaf.window.name, leaf.condition, leaf.start_of)
        moved = self._shifts_after(leaf)
        # An offset input shifted after aggregating reads the very scan of the unshifted
        # metric, which reaches back by the offset from the query's start: one scan of the
        # source for both (the extra periods are dropped from the result).
        offset = None if moved is not None else leaf.offset
        key: _ScanKey = (measure.source, measure.time, leaf.per, keep, offset, window)
        scan = self.scans.get(key)
        if scan is None:
            own = measure.time != self.graph.sources[measure.source].time
            scan = self.scans[key] = _Scan(
                measure.source, measure.time, own, leaf.per, keep, offset, leaf.window
            )
            others = [other.name for other in self.scans.values() if other is not scan]
            number = 1
            while _clashes(scan.name, others, self.graph.read_names):
                number += 1
                scan.suffix = f"_{number}"
        if scan.window is not None:
            if not scan.leaves:
                scan.leaves.append((measure.name, leaf))
            return column(measure.name, f"{scan.name}_window")
        identity = (measure.ref, leaf.condition, leaf.rollup)
        alias = scan.aliases.get(identity)
        if alias is None:
            alias = measure.name
            suffix = 2
            while alias in scan.aliases.values():
                alias = f"{measure.name}_{suffix}"
                suffix += 1
            scan.aliases[identity] = alias
            scan.leaves.append((alias, leaf))
        if moved is None or leaf.offset is None:
            return column(alias, scan.final)
        reach = minus(self.query.start, leaf.offset)
        if reach is not None:
            scan.reach = min(reach, scan.reach or reach)
        view = f"{scan.final}_{leaf.offset.label}"
        self.shifted[view] = (scan, leaf.offset, moved)
        return column(alias, view)

    def _shifts_after(self, leaf: Leaf) -> tuple[str, ...] | None:
        """The metric_time groupings to move when ``leaf``'s offset can be applied after
        aggregating, at the query grain; None when each row must be shifted.

        Shifting the grain's periods gives the same numbers as shifting every row when the
        offset is a whole number of each metric_time grain (a month of days folds Jan 29-31
        into Feb 28, so a month is whole for months, quarters and years, not for days or
        weeks), no filter reads the shifted time, and a date range, if any, holds whole periods
        (so the rows a period earlier are exactly those of the range moved back).
        """
        offset, measure = leaf.offset, leaf.measure
        if offset is None or leaf.window is not None or not isinstance(offset.unit, Grain):
            return None
        source, time = measure.source, measure.time
        moved: list[str] = []
        grains: list[Grain] = []
        try:  # a name the row-level plan reports, or a range at the calendar's ends
            for name in self.query.by:
                ref = self.graph.resolve(name, source, field="by", time=time)
                if not ref.is_metric_time(source, time):
                    continue
                grain = ref.grain
                if ref.part is not None or not isinstance(grain, Grain):
                    return None
                if not _whole(offset.amount, offset.unit, grain):
                    return None
                moved.append(name.replace(".", "__"))
                grains.append(grain)
            for condition in (self.where, leaf.condition):
                if condition is not None and self._reads_time(condition, source, time):
                    return None
            if not moved or not self._whole_range(grains):
                return None
            _moved_back(self.query.start, offset)
            _moved_back(self.query.end, offset, last=True)
        except (QueryError, OverflowError, ValueError):
            return None
        ranged = self.query.start is not None or self.query.end is not None
        if ranged and self.graph.sources[source].narrow is not None:
            return None  # a derived source narrows its rows to the range: shift them
        return tuple(moved)

    def _narrow_rows(
        self,
        narrow_rows: tuple[exp.Expr, Grain],
        offset: Offset | None,
        start: dt.date | None,
        end: dt.date | None,
    ) -> Narrow | None:
        """The activity rows a churn source needs for the range ``start``-``end`` (moved back
        by ``offset``): those of the periods the range touches and of the period before each,
        whose values the churn compares; None without a range (or with an offset by a calendar's
        periods, whose days are not known here)."""
        if offset is not None:
            if not isinstance(offset.unit, Grain):
                return None
            start, end = unmoved_range(start, end, offset)
        if start is None and end is None:
            return None
        local, period = narrow_rows
        settings = self.graph.settings
        calendar = (settings.week_start, settings.fiscal_year_start)
        first = None
        if start is not None:
            first = period_of(
                period_of(start, period, *calendar)[0] - dt.timedelta(days=1), period, *calendar
            )[0]
        last = None if end is None else period_of(end, period, *calendar)[1]
        condition = within_dates(local.copy(), first, last)
        assert condition is not None
        return Narrow("", condition, rows=True)

    def _reads_time(self, condition: exp.Expr, source: str, time: str | None) -> bool:
        """Whether ``condition`` names the scan's metric_time (which an offset shifts)."""
        for node in condition.find_all(exp.Column):
            parts = self._filter_name(node, source)
            if len(parts) == 2 and self._metric_valued(parts[0], parts[1]):
                continue
            ref = self.graph.resolve(".".join(parts), source, field="where", time=time)
            if ref.is_metric_time(source, time):
                return True
        return False

    def _filter_name(self, node: exp.Column, source: str) -> list[str]:
        """The parts of a filter's name; a bare dimension of ``source`` is ``source.name``."""
        parts = column_parts(node)
        if len(parts) == 1 and parts[0] in self.graph.sources[source].dimensions:
            return [source, parts[0]]
        return parts

    def _whole_range(self, grains: Sequence[Grain]) -> bool:
        """Whether ``start`` is the first day and ``end`` the last day of a period of every
        grain of ``grains``."""
        settings = self.graph.settings
        for grain in grains:
            for day, edge in ((self.query.start, 0), (self.query.end, 1)):
                if day is None:
                    continue
                period = period_of(day, grain, settings.week_start, settings.fiscal_year_start)
                if period[edge] != day:
                    return False
        return True

    def _scan_for_dimensions(self, also: Sequence[str] = ()) -> None:
        """A query without metrics lists distinct dimension values from the best source (one
        that also reaches the names ``also``). A key-only entity's keys are in every source
        that holds them: then every source that reaches all the names is scanned, and the
        listing is their union."""
        if any(name.split(".")[0] == METRIC_TIME for name in self.query.by):
            raise QueryError(
                "without metrics, metric_time lists the periods of start..end on its own; "
                "with other dimensions it needs a metric (it is each metric's own time), or "
                f"group by a named time dimension instead, such as "
                f"{self.graph.time_example(near=self.query.by)}",
                field="by",
            )
        best: tuple[int, str] | None = None
        first_error: QueryError | None = None
        reaching: list[str] = []
        for source in sorted(self.graph.sources):
            try:
                cost = sum(
                    len(self.graph.resolve(n, source, field=f).path)
                    for n, f in (
                        *((n, "by") for n in self.query.by),
                        *((n, "metrics") for n in also),
                    )
                )
                if self.where is not None:
                    self.resolve(self.where, source, None)
            except QueryError as exc:
                first_error = first_error or exc
                continue
            reaching.append(source)
            if best is None or cost < best[0]:
                best = (cost, source)
        if best is None:
            if first_error is not None and len(self.query.by) + len(also) == 1:
                raise first_error
            raise QueryError(
                "no single source reaches all of "
                + ", ".join((*self.query.by, *also))
                + "; ask for them separately",
                field="by",
            )
        key_only = not also and any(name in self.graph.key_only for name in self.query.by)
        for source in reaching if key_only else [best[1]]:
            time = self.graph.sources[source].time
            self.scans[(source, time, None, None, None, None)] = _Scan(
                source, time, False, None, None, None
            )

    # -- names into expressions ---------------------------------------------------------------

    def _groupings(self) -> tuple[Grouping, ...]:
        groupings: list[Grouping] = []
        first = next(iter(self.scans.values()))
        for name in self.query.by:
            ref = self.graph.resolve(name, first.source, field="by", time=first.time)
            alias = name.replace(".", "__")
            if ref.entity is not None and len(ref.entity.keys) > 1:
                groupings.extend(
                    Grouping(f"{name}.{_key_name(k, i)}", f"{alias}__{i}")
                    for i, k in enumerate(ref.entity.keys, start=1)
                )
            else:
                groupings.append(Grouping(name, alias, dimension_type(ref)))
        return tuple(groupings)

    def _aggregation(
        self, scan: _Scan, extents: Sequence[tuple[str, str, str]] = ()
    ) -> Aggregation:
        if scan.window is not None:
            return plan_window(self, scan.source, scan.time, scan.leaves[0][1], scan.name)
        joins = Joins(self.graph, scan.source, scan.time)
        offset = scan.offset
        start, end = scan.reach or self.query.start, self.query.end
        groups: list[tuple[str, exp.Expr]] = []
        partition: list[tuple[str, exp.Expr]] = []
        time_refs: list[tuple[str, DimensionRef]] = []
        for name in self.query.by:
            ref = self.graph.resolve(name, scan.source, field="by", time=scan.time)
            alias = name.replace(".", "__")
            expressions = self.expressions(ref, joins, offset, scan.time)
            if len(expressions) == 1:
                groups.append((alias, expressions[0]))
            else:
                groups.extend((f"{alias}__{i}", e) for i, e in enumerate(expressions, start=1))
            if ref.is_metric_time(scan.source, scan.time):
                self._check_per(scan, ref, name)
                partition.append((alias, expressions[0]))
                time_refs.append((alias, ref))
        time_range = self._time_range(scan.source, scan.time, offset, scan.own_time, start, end)
        shared = _shared_condition(scan)
        # Each metric filter of the scan resolved once (none when one filter serves them all).
        filters = {
            condition: _Reused(
                self.resolve(condition, scan.source, joins, offset, "filter", scan.time)
            )
            for condition in dict.fromkeys(leaf.condition for _, leaf in scan.leaves)
            if condition is not None and shared is None
        }
        conditions = [
            self.resolve(condition, scan.source, joins, offset, field, scan.time)
            for condition, field in ((self.where, "where"), (shared, "filter"))
            if condition is not None
        ]
        source = self.graph.sources[scan.source]
        narrow = None
        pushed: list[exp.Expr] = []  # the filters the narrowed entities already passed
        if source.narrow is not None and time_range is not None and scan.time == source.time:
            base = self.graph.sources[source.narrow_base[0]] if source.narrow_base else None
            narrow, pushed = _narrow(source, time_range, conditions, joins.joins(), base)
        elif source.narrow_rows is not None and scan.time == source.time:
            narrow = self._narrow_rows(source.narrow_rows, offset, start, end)
        if self._by_day(scan, offset, time_refs, narrow, extents):
            return self._daily_aggregation(
                scan, joins, groups, time_refs, time_range, conditions, filters
            )
        # A derived source's rows are built only for the entities whose time is in the range
        # and which pass the filters on the entity's dimensions, so neither is applied again
        # to its rows: PostgreSQL multiplied the two conditions' selectivities and planned for
        # a handful of rows, and the second join of the dimension source cost every engine a
        # join. The date range comes after the filters: SQLite tests conditions in the written
        # order, and parsing a timestamp costs more than comparing a column.
        in_where = time_range if narrow is None or narrow.rows else None
        if in_where is not None and (scan.per is not None or scan.keep is not None):
            in_where = in_where.copy()  # the periods below hold the range too
        where = conjunction(
            *(c for c in _conjuncts(conditions) if not any(c is p for p in pushed)),
            in_where,
            _any_filter(scan, filters),
        )
        columns = tuple(
            AggColumn(
                alias,
                self.aggregate(
                    leaf.measure,
                    filters[leaf.condition].take() if leaf.condition in filters else None,
                ),
                leaf.rollup,
                fills_with_zero(leaf.measure.agg),
            )
            for alias, leaf in scan.leaves
        )
        for index, (function, _, name) in enumerate(extents, start=1):
            ref = self.graph.resolve(name, scan.source, field="metrics", time=scan.time)
            [value] = self.expressions(ref, joins, None, scan.time)
            call = exp.Min(this=value) if function == "min" else exp.Max(this=value)
            columns += (AggColumn(f"extent_{index}", call),)
        # A row's period is its own (unshifted) day: shifting by months would fold the last days
        # of a long month into one. Offsets move the buckets (partition), not the periods.
        time_expr = (
            self.source_time(scan.source, scan.time, None)
            if scan.per is not None or scan.keep is not None
            else None
        )
        per: exp.Expr | None = None
        periods: Periods | None = None
        regroup: tuple[tuple[str, exp.Expr], ...] = ()
        if time_expr is not None and scan.per is not None:
            per = self.bucket(time_expr, scan.per)
            day = self.bucket(time_expr.copy(), Grain.DAY)
            periods = self._calendar_periods(
                scan.per, offset, time_refs, day, time_range, start, end
            )
            if periods is None:
                periods = Periods(per.copy(), tuple(partition), time_range)
            regroup = self._regroup(scan, offset, time_refs)
        elif time_expr is not None and scan.keep is not None:
            grain = source.dimensions[scan.time or ""].grain or Grain.DAY
            periods = Periods(self.bucket(time_expr, grain), tuple(partition), time_range)
        aggregation = Aggregation(
            name=scan.name,
            source=scan.source,
            relation=source.relation,
            narrow=narrow,
            joins=joins.joins(),
            where=where,
            groups=tuple(groups),
            columns=columns,
            per=per,
            periods=periods,
            keep=scan.keep,
            offset=offset,
            regroup=regroup,
        )
        return unread_joins_dropped(aggregation) if pushed else aggregation

    def _regroup(
        self,
        scan: _Scan,
        offset: Offset | None,
        time_refs: Sequence[tuple[str, DimensionRef]],
    ) -> tuple[tuple[str, exp.Expr], ...]:
        """For a scan measured per day, its metric_time groupings as expressions over each
        row's day (``PERIOD``), computed when rolling the days up: the per-day step then
        groups by the day alone, and the buckets are computed for the few days, not for every
        row. Empty when a grouping is not a function of the day (a calendar period, a time
        finer than a day, an offset that is not a whole number of days or more)."""
        if scan.per is not Grain.DAY or not time_refs or not _of_the_day(offset, time_refs):
            return ()
        return self._on_days(column(PER_PERIOD, scan.name), offset, time_refs)

    def _on_days(
        self, day: exp.Expr, offset: Offset | None, time_refs: Sequence[tuple[str, DimensionRef]]
    ) -> tuple[tuple[str, exp.Expr], ...]:
        """Each metric_time grouping of ``time_refs`` as an expression over the day column
        ``day``, moved by ``offset``."""
        moved = day if offset is None else shift(day, offset.amount, offset.unit)
        return tuple((alias, self.on_day(ref, moved.copy())) for alias, ref in time_refs)

    def _by_day(
        self,
        scan: _Scan,
        offset: Offset | None,
        time_refs: Sequence[tuple[str, DimensionRef]],
        narrow: Narrow | None,
        extents: Sequence[tuple[str, str, str]],
    ) -> bool:
        """Whether a semi-additive scan can aggregate per snapshot day first (``Daily``): its
        snapshots are days, and every metric_time grouping is a built-in grain or date part of
        a day or coarser, so it is a function of the (shifted) day."""
        if scan.keep is None or scan.per is not None or scan.time is None:
            return False
        if narrow is not None or extents:
            return False
        if (self.graph.sources[scan.source].dimensions[scan.time].grain or Grain.DAY) != Grain.DAY:
            return False
        return _of_the_day(offset, time_refs)

    def _daily_aggregation(
        self,
        scan: _Scan,
        joins: Joins,
        groups: Sequence[tuple[str, exp.Expr]],
        time_refs: Sequence[tuple[str, DimensionRef]],
        time_range: exp.Expr | None,
        conditions: Sequence[exp.Expr],
        filters: dict[exp.Expr, _Reused],
    ) -> Aggregation:
        """A semi-additive scan aggregated per snapshot day first (``Daily``): one read of the
        source instead of one for the last days and one for their rows. The query's filters
        move into each aggregate's condition, so the days with rows are found over every row
        of the range, as the two-read form finds them."""
        time_expr = self.source_time(scan.source, scan.time, None)
        assert time_expr is not None
        conditions, looked_up = _keys_looked_up(scan.source, conditions, joins.joins())
        days = f"{scan.name}_days"
        day: exp.Expr = column(SNAPSHOT_DAY, days)
        offset = scan.offset
        times = dict(self._on_days(day, offset, time_refs))
        inner = tuple((alias, e) for alias, e in groups if alias not in times)
        outer = tuple(
            (alias, times[alias].copy() if alias in times else column(alias, days))
            for alias, _ in groups
        )
        columns = tuple(
            AggColumn(
                alias,
                self.aggregate(
                    leaf.measure,
                    conjunction(
                        *(c.copy() for c in conditions),
                        filters[leaf.condition].take() if leaf.condition in filters else None,
                    ),
                ),
                leaf.rollup,
                fills_with_zero(leaf.measure.agg),
            )
            for alias, leaf in scan.leaves
        )
        kept = conjunction(*conditions, _any_filter(scan, filters))
        own: tuple[exp.Expr, ...] = ()
        if kept is not None:  # the aggregates without the query's filters (``Daily.own``)
            own = tuple(
                self.aggregate(leaf.measure, filters[leaf.condition].take())
                if leaf.condition in filters
                else self.aggregate(leaf.measure, None)
                for _, leaf in scan.leaves
            )
        source = self.graph.sources[scan.source]
        # An offset moves each day, not each row: the rows read are those of the range moved
        # back (a few days to spare), and the days whose move lands in the range are kept.
        where, day_range = time_range, None
        start, end = self.query.start, self.query.end
        if offset is not None and (start is not None or end is not None):
            near = unmoved_range(start, end, offset)
            where = self._time_range(scan.source, scan.time, None, scan.own_time, *near)
            day_range = within_dates(shift(day.copy(), offset.amount, offset.unit), start, end)
        aggregation = Aggregation(
            name=scan.name,
            source=scan.source,
            relation=source.relation,
            joins=joins.joins(),
            where=where,
            groups=outer,
            columns=columns,
            periods=Periods(day.copy(), tuple(times.items()), day_range),
            keep=scan.keep,
            offset=offset,
            daily=Daily(self.bucket(time_expr, Grain.DAY), inner, kept, own=own),
        )
        # A join that only the filters looked up read goes.
        return unread_joins_dropped(aggregation) if looked_up else aggregation

    def _share_days(self, aggregations: list[Aggregation]) -> tuple[Aggregation, ...]:
        """Offset inputs of a semi-additive measure read the per-day step of the unshifted
        scan of the same measures and filters: that step reads the source once over the
        range and the ranges moved back, and each scan keeps the days of its own range."""
        scans = dict(zip((a.name for a in aggregations), self.scans.values(), strict=True))
        owners = {
            _days_identity(a): a for a in aggregations if a.daily is not None and a.offset is None
        }
        reads: dict[str, list[_Scan]] = {}
        for index, agg in enumerate(aggregations):
            owner = owners.get(_days_identity(agg)) if agg.offset is not None else None
            if agg.daily is None or owner is None:
                continue
            mine, theirs = f"{agg.name}_days", f"{owner.name}_days"

            def requalified(node: exp.Expr, mine: str = mine, theirs: str = theirs) -> exp.Expr:
                if isinstance(node, exp.Column) and node.table == mine:
                    return column(node.name, theirs)
                return node

            assert agg.periods is not None
            periods = agg.periods
            aggregations[index] = dataclasses.replace(
                agg,
                where=None,
                groups=tuple((a, e.transform(requalified)) for a, e in agg.groups),
                periods=dataclasses.replace(
                    periods,
                    period=periods.period.transform(requalified),
                    partition=tuple((a, e.transform(requalified)) for a, e in periods.partition),
                    time_range=None
                    if periods.time_range is None
                    else periods.time_range.transform(requalified),
                ),
                daily=dataclasses.replace(agg.daily, shared=theirs),
            )
            reads.setdefault(owner.name, []).append(scans[agg.name])
        if not reads:
            return tuple(aggregations)
        for index, agg in enumerate(aggregations):
            if agg.name in reads:
                aggregations[index] = self._days_for(agg, scans[agg.name], reads[agg.name])
        # A per-day step is defined before the scans that read it.
        return tuple(
            sorted(aggregations, key=lambda a: a.daily is not None and a.daily.shared is not None)
        )

    def _share_pairs(self, aggregations: tuple[Aggregation, ...]) -> tuple[Aggregation, ...]:
        """A distinct count per day (``per: day``) next to a rolling distinct count of the same
        measure and filters (DAU next to MAU, as in stickiness) counts the rolling scan's
        distinct (day, value) pairs of its days instead of reading the source again: the
        rolling scan reads the range and the days its first window reaches back, which hold
        the per-day scan's range. One read of the source and one grouping by (day, value)
        instead of two (DuckDB, stickiness by month over 10M events: 1.57x the time of the
        hand-written query, which groups the pairs once).

        Only for a query with a start and an end (the per-day scan then counts its periods'
        days on the calendar, never in the source) whose per-day scan groups by metric_time
        alone and neither scan is offset or reads a derived source's narrowed rows."""
        if self.query.start is None or self.query.end is None:
            return aggregations
        scans = {scan.name: scan for scan in self.scans.values()}
        owners: dict[tuple[object, ...], Aggregation] = {}
        for agg in aggregations:
            scan = scans.get(agg.name)
            window = agg.window
            if scan is None or window is None or window.agg is not Agg.COUNT_DISTINCT:
                continue
            leaf = scan.leaves[0][1]
            if agg.offset is None and not agg.groups and leaf.start_of is None:
                owners.setdefault(_pairs_identity(scan, leaf), agg)
        if not owners:
            return aggregations
        shared = list(aggregations)
        readers = set()
        for index, agg in enumerate(aggregations):
            scan = scans.get(agg.name)
            if scan is None or not _counts_pairs_per_day(agg, scan):
                continue
            owner = owners.get(_pairs_identity(scan, scan.leaves[0][1]))
            if owner is None or owner.window is None or owner.window.day != agg.per:
                continue
            pairs = owner.name
            day = column(DAY, pairs)
            [counted] = agg.columns
            shared[index] = dataclasses.replace(
                agg,
                relation=exp.Table(this=ident(pairs), alias=table_alias(pairs)),
                joins=(),
                where=exp.GTE(this=day, expression=date_literal(self.query.start)),
                per=day.copy(),
                columns=(dataclasses.replace(counted, call=exp.Count(this=column(PART, pairs))),),
            )
            readers.add(agg.name)
        # The rolling scans are defined before the per-day scans that read them.
        return tuple(sorted(shared, key=lambda a: a.name in readers))

    def _days_for(self, owner: Aggregation, scan: _Scan, readers: list[_Scan]) -> Aggregation:
        """``owner`` reading the rows of its range and of its readers' ranges moved back, and
        keeping the days of its own range."""
        start, end = scan.reach or self.query.start, self.query.end
        if start is None and end is None:
            return owner
        first, last = start, end
        for reader in readers:
            assert reader.offset is not None
            near_start, near_end = unmoved_range(self.query.start, self.query.end, reader.offset)
            first = None if first is None or near_start is None else min(first, near_start)
            last = None if last is None or near_end is None else max(last, near_end)
        where = self._time_range(scan.source, scan.time, None, scan.own_time, first, last)
        assert owner.periods is not None
        day = owner.periods.period
        return dataclasses.replace(
            owner,
            where=where,
            periods=dataclasses.replace(
                owner.periods, time_range=within_dates(day.copy(), start, end)
            ),
        )

    def _calendar_periods(
        self,
        per: Grain,
        offset: Offset | None,
        time_refs: Sequence[tuple[str, DimensionRef]],
        row_day: exp.Expr,
        row_range: exp.Expr | None,
        start: dt.date | None,
        end: dt.date | None,
    ) -> Periods | None:
        """The ``per`` periods of each time bucket, counted on a day spine over the query's
        range: every calendar day is in its period, whether the source has rows that day or
        not. None for periods shorter than a day, which a spine of days cannot count (those
        count the periods in which the source has rows)."""
        if per in SUB_DAY:
            return None
        day: exp.Expr = column(SPINE_DAY)
        shifted = day if offset is None else shift(day, offset.amount, offset.unit)
        partition = tuple((alias, self.on_day(ref, shifted.copy())) for alias, ref in time_refs)
        first, last = minus(start, offset), minus(end, offset)
        within = None
        if offset is not None:
            # Months are clamped: the spine's bounds moved back a month may reach a day whose
            # shift falls outside the range, so the range is checked on the shifted day.
            within = within_dates(shifted.copy(), start, end)
        spine = Spine(first, last, spine_digits(first, last))
        period = self.bucket(day.copy(), per)
        range_copy = row_range.copy() if row_range is not None else None
        grains = tuple(
            (alias, ref.grain)
            for alias, ref in time_refs
            if isinstance(ref.grain, Grain) and _arithmetic(ref)
        )
        by_arithmetic = per is Grain.DAY and offset is None and len(grains) == len(time_refs)
        return Periods(
            period,
            partition,
            within,
            spine,
            row_day,
            range_copy,
            grains if by_arithmetic else None,
        )

    def on_day(self, ref: DimensionRef, day: exp.Expr) -> exp.Expr:
        """The metric_time grouping ``ref`` (a grain or a date part) of the calendar day
        ``day``."""
        if ref.part is not None:
            return date_part(day, ref.part, self.graph.settings.fiscal_year_start)
        assert ref.grain is not None
        return self.bucket(day, ref.grain)

    def _check_per(self, scan: _Scan, ref: DimensionRef, name: str) -> None:
        grain = PART_GRAIN[ref.part] if ref.part is not None else ref.grain
        if scan.per is None or grain is None:
            return
        if not fits_in(scan.per, grain):
            raise QueryError(
                f"'{name}' is finer than the metrics measured per {scan.per.value} on "
                f"'{scan.source}'; group by {scan.per.value} or coarser"
                + ("" if finer(grain, scan.per) else f" (that a {scan.per.value} fits in)"),
                field="by",
            )

    def source_time(self, source: str, time: str | None, offset: Offset | None) -> exp.Expr | None:
        """The time dimension ``time`` of ``source`` (a scan's metric_time) in the project's
        time zone, shifted by ``offset``."""
        if time is None:
            return None
        dimension = self.graph.sources[source].dimensions[time]
        local = self._local(dimension, dimension.expr.copy())
        return local if offset is None else shift(local, offset.amount, offset.unit)

    def _local(self, dimension: Dimension, expression: exp.Expr) -> exp.Expr:
        """A time dimension in the project's time zone; a calendar date (grain day or coarser)
        has no time of day, so only dimensions recorded per hour, minute or second are
        converted."""
        if dimension.grain not in SUB_DAY:
            return expression
        return in_time_zone(expression, self.graph.settings.time_zone)

    def _time_range(
        self,
        source: str,
        time: str | None,
        offset: Offset | None,
        own_time: bool,
        start: dt.date | None,
        end: dt.date | None,
    ) -> exp.Expr | None:
        """``start``/``end`` on the scan's time; a measure's own time must also be set (a row
        without it, an open subscription without ``ended_at``, is in no period)."""
        happened = None
        if own_time and time is not None:
            column = self.graph.sources[source].dimensions[time].expr.copy()
            happened = exp.Not(this=exp.Is(this=column, expression=exp.Null()))
        if start is None and end is None:
            return happened
        time_expr = self.source_time(source, time, offset)
        if time_expr is None:
            raise QueryError(
                f"source '{source}' has no time dimension, so start/end cannot apply to its "
                "metrics; drop start/end or set 'time:' on the source (or on its measures)",
                field="start",
            )
        exact = within_dates(time_expr, start, end)
        if offset is None or not isinstance(offset.unit, Grain):
            return conjunction(happened, exact)
        # Each row's time is moved by the offset before the range applies, so the engine
        # computes the move for every row; the rows it can keep are also within a range of
        # the time itself, which engines can scan for and estimate.
        unmoved = self.source_time(source, time, None)
        assert unmoved is not None, "the moved time is the unmoved one's"
        near = within_dates(unmoved, *unmoved_range(start, end, offset))
        return conjunction(happened, near, exact)

    def expressions(
        self,
        ref: DimensionRef,
        joins: Joins | None,
        offset: Offset | None = None,
        time: str | None = None,
    ) -> list[exp.Expr]:
        """The SQL of a resolved name; the scan's ``time`` (its metric_time) in an offset scan is
        shifted by the offset."""
        alias = joins.alias(ref.path) if joins is not None else None
        if ref.entity is not None:
            keys = [k.copy() for k in ref.entity.keys]
            return [requalify(k, ref.entity.source, alias) for k in keys]
        assert ref.dimension is not None
        expression = requalify(ref.dimension.expr.copy(), ref.dimension.source, alias)
        if ref.grain is None and ref.part is None:
            return [expression]
        zoned = self._local(ref.dimension, expression)
        if offset is not None and self._moved(ref, offset, time):
            zoned = shift(zoned, offset.amount, offset.unit)
        if ref.part is not None:
            return [date_part(zoned, ref.part, self.graph.settings.fiscal_year_start)]
        assert ref.grain is not None
        return [self.bucket(zoned, ref.grain)]

    def aggregate(self, measure: Measure, condition: exp.Expr | None) -> exp.Expr:
        """``aggregate_call``, which refuses nothing: when only ``checking``, a stand-in."""
        return exp.Star() if self.checking else aggregate_call(measure, condition)

    def _moved(self, ref: DimensionRef, offset: Offset | None, time: str | None) -> bool:
        """Whether ``offset`` moves the time bucket or date part ``ref``: it is the scan's
        ``time`` (its metric_time), of a day or coarser (finer ones are refused)."""
        if offset is None or (ref.grain is None and ref.part is None):
            return False
        if not ref.is_metric_time(ref.source, time):
            return False
        if ref.grain in SUB_DAY or (ref.part is not None and PART_GRAIN[ref.part] in SUB_DAY):
            raise QueryError(
                f"'{ref.name}': period-over-period offsets work on days or coarser; "
                "group by day or a coarser grain",
                field="by",
            )
        return True

    def bucket(self, expression: exp.Expr, grain: Period) -> exp.Expr:
        settings = self.graph.settings
        return bucket(expression, grain, settings.week_start, settings.fiscal_year_start)

    def _metric_valued(self, owner: str, name: str) -> bool:
        """``entity.metric`` in a filter: a metric computed per entity (when the entity has no
        dimension of that name)."""
        graph = self.graph
        entity = owner in graph.primary or owner in graph.key_only
        return entity and name in graph.metrics and not graph.has_dimension(owner, name)

    def _metric_filter(
        self,
        entity: str,
        metric_name: str,
        source: str,
        joins: Joins | None,
        field: str,
        time: str | None,
    ) -> exp.Expr:
        """The value of ``metric_name`` for each row's ``entity`` (over all its rows, with the
        metric's own filter, no date range): a per-entity aggregation LEFT JOINed on the key;
        an entity without rows has 0 for a count (the metric's fill_null, else NULL)."""
        shown = f"{entity}.{metric_name}"
        if (entity, metric_name) in _PLANNING.get():
            raise FilterError(
                f"'{shown}' is a metric-valued filter that needs itself; filter '{metric_name}' "
                "on something else",
                field=field,
            )
        try:
            ref = self.graph.resolve(entity, source, field=field, time=time)
        except QueryError as exc:
            raise FilterError(str(exc).removeprefix(f"{field}: "), field=field) from exc
        keys = self.expressions(ref, joins)
        if len(keys) != 1:
            raise FilterError(
                f"'{shown}': entity '{entity}' has a key of several columns; a metric-valued "
                "filter needs a one-column key",
                field=field,
            )
        alias = f"{metric_name}_by_{entity}"
        if joins is None:
            return column(metric_name, alias)
        from metrics_layer.sql.build import build_select

        token = _PLANNING.set((*_PLANNING.get(), (entity, metric_name)))
        try:
            inner = plan_query(self.graph, MetricQuery.of([metric_name], by=[entity]))
        except QueryError as exc:
            raise FilterError(f"'{shown}': {str(exc).split(': ', 1)[-1]}", field=field) from exc
        finally:
            _PLANNING.reset(token)
        relation = exp.Subquery(
            this=_prefixed(build_select(inner), f"{alias}_"), alias=table_alias(alias)
        )
        on = exp.EQ(this=column(inner.groupings[0].alias, alias), expression=keys[0])
        joins.extra(alias, relation, on)
        value: exp.Expr = column(inner.metrics[0].name, alias)
        metric = self.graph.metrics[metric_name]
        fill = metric.fill_null
        if fill is None and metric.compiles_as is MetricKind.SIMPLE and metric.measure is not None:
            fill = 0 if fills_with_zero(self.graph.measures[metric.measure].agg) else None
        return value if fill is None else exp.Coalesce(this=value, expressions=[_number(fill)])

    def resolve(
        self,
        condition: exp.Expr,
        source: str,
        joins: Joins | None,
        offset: Offset | None = None,
        field: str = "where",
        time: str | None = None,
    ) -> exp.Expr:
        """Replace the dotted names of a filter by expressions over ``source`` (and its joins);
        ``time`` is the scan's time dimension (default: the source's).

        When only ``checking``, each name is resolved and checked in the same order (the
        order ``transform`` visits them), and a stand-in TRUE is returned."""
        time = time or self.graph.sources[source].time
        if self.checking:
            for node in condition.dfs():
                if isinstance(node, exp.Column):
                    self._resolved_name(node, node is condition, source, joins, offset, field, time)
            return exp.true()
        tree = condition.copy()
        bucketed = False  # whether a name is a time bucket, next to which literals are typed

        def rule(node: exp.Expr) -> exp.Expr:
            if not isinstance(node, exp.Column):
                return node
            nonlocal bucketed
            resolved = self._resolved_name(node, node is tree, source, joins, offset, field, time)
            bucketed = bucketed or resolved.meta_get(TIME_GRAIN) is not None
            return resolved

        resolved = tree.transform(rule, copy=False)
        return typed_time_literals(resolved) if bucketed else resolved

    def _resolved_name(
        self,
        node: exp.Column,
        whole: bool,
        source: str,
        joins: Joins | None,
        offset: Offset | None,
        field: str,
        time: str | None,
    ) -> exp.Expr:
        """The expression of a name in a filter (``whole``: the filter is that name alone),
        after every check of it; a time bucket's carries its grain (``TIME_GRAIN``). When only
        ``checking``, a dimension's expression is not made (a stand-in is returned)."""
        parts = self._filter_name(node, source)
        name = ".".join(parts)
        if len(parts) == 2 and self._metric_valued(parts[0], parts[1]):
            return self._metric_filter(parts[0], parts[1], source, joins, field, time)
        if len(name) > MAX_NAME_LENGTH:
            raise FilterError(
                f"'{name[:40]}...' ({len(name):,} characters) is not a dimension name; "
                f"names are at most {MAX_NAME_LENGTH:,} characters",
                field=field,
            )
        try:
            ref = self.graph.resolve(name, source, field=field, time=time)
        except FilterError:
            raise
        except QueryError as exc:
            raise FilterError(str(exc).removeprefix(f"{field}: "), field=field) from exc
        if whole and (ref.dimension is None or ref.dimension.type is not DimensionType.BOOLEAN):
            raise FilterError(
                f"'{name}' is not a boolean dimension, so it cannot be a filter "
                f"on its own; compare it, e.g. \"{name} = 'x'\"",
                field=field,
            )
        if ref.entity is not None and len(ref.entity.keys) != 1:
            raise FilterError(
                f"'{name}' has a key of several columns; filter on its dimensions instead",
                field=field,
            )
        if self.checking:
            if ref.entity is None:
                self._moved(ref, offset, time)  # what making its expression refuses
            return exp.true()
        [expression] = self.expressions(ref, joins, offset, time)
        if ref.grain is not None:
            expression.meta[TIME_GRAIN] = ref.grain
        return expression


_EXTENT = re.compile(r"(?i)(min|max)\(\s*([^()\s]+)\s*\)")


def extent_of(text: str) -> tuple[str, str, str] | None:
    """``min(name)`` or ``max(name)``: (function, the text as asked, name); None otherwise.

    >>> extent_of("max( events.occurred_at.second )"), extent_of("signups")
    (('max', 'max( events.occurred_at.second )', 'events.occurred_at.second'), None)
    """
    found = _EXTENT.fullmatch(text)
    return None if found is None else (found.group(1).lower(), text, found.group(2))


def _prefixed(select: exp.Select, prefix: str) -> exp.Select:
    """``select`` with its CTEs renamed ``prefix`` + name, so that, nested in another query's
    CTE, none is named like one of the outer query's (Spark refuses that).

    >>> q = exp.select("x").from_("a").with_("a", as_="SELECT 1 AS x")
    >>> _prefixed(q, "m_").sql()
    'WITH m_a AS (SELECT 1 AS x) SELECT x FROM m_a AS a'
    """
    with_ = select.args.get("with_")
    if with_ is None:
        return select
    names = {cte.alias for cte in with_.expressions}
    for cte in with_.expressions:
        cte.set("alias", table_alias(prefix + cte.alias))
    for table in select.find_all(exp.Table):
        if not table.args.get("db") and table.name in names:
            if not table.alias:
                table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
            table.set("this", exp.to_identifier(prefix + table.name))
    return select


_PLANNING: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar(
    "metric_valued_filters", default=()
)


class _Reused:
    """A resolved tree for several places: the first takes it, later ones take copies."""

    def __init__(self, tree: exp.Expr) -> None:
        self.tree = tree
        self.taken = False

    def take(self) -> exp.Expr:
        if self.taken:
            return self.tree.copy()
        self.taken = True
        return self.tree


def _of_the_day(offset: Offset | None, time_refs: Sequence[tuple[str, DimensionRef]]) -> bool:
    """Whether every metric_time grouping of ``time_refs``, moved by ``offset``, is a function
    of a row's day: built-in grains and date parts of a day or coarser, an offset of whole days
    or more (not a calendar period, nor a time finer than a day)."""
    if offset is not None and (not isinstance(offset.unit, Grain) or offset.unit in SUB_DAY):
        return False
    for _, ref in time_refs:
        grain = PART_GRAIN[ref.part] if ref.part is not None else ref.grain
        if not isinstance(grain, Grain) or grain in SUB_DAY:
            return False
    return True


def _arithmetic(ref: DimensionRef) -> bool:
    """Whether a metric_time grouping's buckets are whole days from a first day that date
    arithmetic moves to the last: a built-in grain of a day or longer (not a date part, not
    a calendar table's period)."""
    grain = ref.grain
    return (
        ref.part is None and isinstance(grain, Grain) and (grain in IN_DAYS or grain in IN_MONTHS)
    )


def _pairs_identity(scan: _Scan, leaf: Leaf) -> tuple[object, ...]:
    """What the distinct (day, value) pairs of a scan's rows depend on: its source and time,
    the measure and the metric's filter (the query's ``where`` is the same for every scan)."""
    return (scan.source, scan.time, scan.own_time, leaf.measure.name, leaf.condition)


def _counts_pairs_per_day(agg: Aggregation, scan: _Scan) -> bool:
    """Whether ``agg`` is one distinct count per day, grouped by metric_time alone and with
    its periods' days counted on a calendar spine of given bounds."""
    if scan.per is not Grain.DAY or scan.offset is not None or scan.reach is not None:
        return False
    if len(scan.leaves) != 1 or scan.leaves[0][1].measure.agg is not Agg.COUNT_DISTINCT:
        return False
    if agg.narrow is not None or agg.keep is not None or agg.periods is None:
        return False
    spine = agg.periods.spine
    if spine is None or spine.start is None or spine.end is None:
        return False
    regrouped = {a for a, _ in agg.regroup}
    return all(a in regrouped for a, _ in agg.groups)


def _days_identity(agg: Aggregation) -> tuple[object, ...] | None:
    """What a semi-additive scan's per-day step reads and computes: equal for scans whose
    per-day rows are the same but for the range."""
    if agg.daily is None:
        return None
    daily = agg.daily
    return (
        agg.source,
        agg.keep,
        agg.relation,
        agg.joins,
        daily.day,
        daily.inner,
        daily.kept,
        tuple((c.alias, c.call) for c in agg.columns),
    )


def _any_filter(scan: _Scan, filters: dict[exp.Expr, _Reused]) -> exp.Expr | None:
    """When every aggregate of ``scan`` has its own filter, a row that passes none of them
    counts for no metric: ``f1 OR f2 OR ...`` in WHERE keeps it out, so a group where no row
    passes any filter does not appear (each filter still applies in its aggregate)."""
    if not filters or any(leaf.condition is None for _, leaf in scan.leaves):
        return None
    return exp.or_(*(reused.tree.copy() for reused in filters.values()), copy=False)


def _shared_condition(scan: _Scan) -> exp.Expr | None:
    """The metric filter every aggregate of ``scan`` has, if they all have the same one: it can
    then filter rows in WHERE (much faster) instead of inside each aggregate."""
    conditions = {leaf.condition for _, leaf in scan.leaves}
    if len(conditions) != 1 or None in conditions:
        return None
    return scan.leaves[0][1].condition


DATE = exp.DataType.Type.DATE


def _conjuncts(conditions: Sequence[exp.Expr]) -> list[exp.Expr]:
    """The conjuncts of every condition of ``conditions`` (an AND's parts, flattened)."""
    return [
        conjunct
        for condition in conditions
        for conjunct in (condition.flatten() if isinstance(condition, exp.And) else [condition])
    ]


def _keys_looked_up(
    source: str, conditions: Sequence[exp.Expr], joins: Sequence[Join]
) -> tuple[list[exp.Expr], bool]:
    """The conjuncts of ``conditions`` for a semi-additive scan's per-day step, where each
    stands inside every aggregate's condition (``Daily``), not in a WHERE that an engine can
    turn into a join's filter. A conjunct that reads one dimension table alone, joined by one
    column of ``source`` equal to one of its own, and that holds for no row without a match
    there (``rejects_missing``), is a test of that column instead: ``source.key IN (SELECT
    key FROM dimension WHERE conjunct)``. The join (many-to-one) then keeps no row apart and
    goes when nothing else reads it (``unread_joins_dropped``; the second value says whether a
    conjunct was looked up): MRR growth by week with a country, 218 to 151 ms on MariaDB, 54 to
    45 ms on SQLite; PostgreSQL 3-6% faster, DuckDB, ClickHouse and Spark within noise
    (docs/benchmarks.md). A dimension source defined by SQL keeps its join (its CTE is made
    where the query is built).

    >>> from sqlglot import parse_one
    >>> users = Join("users", exp.to_table("users"), parse_one("e.user_id = users.user_id"))
    >>> [found], looked_up = _keys_looked_up("e", [parse_one("users.country = 'DE'")], [users])
    >>> found.this.sql(), found.args["query"].this.args["where"].sql()
    ('e.user_id', "WHERE users_keys.country = 'DE'")
    >>> found.args["query"].this.args["from_"].sql()
    'FROM users AS users_keys'
    >>> kept = parse_one("users.country = 'DE' OR users.country IS NULL")
    >>> same, looked_up = _keys_looked_up("e", [kept], [users])
    >>> [c.sql() for c in same], looked_up
    (["users.country = 'DE' OR users.country IS NULL"], False)
    >>> _keys_looked_up("e", [parse_one("users.country = e.country")], [users])[1]
    False
    """
    by_alias = {join.alias: join for join in joins}
    tests: list[exp.Expr] = []
    found = False
    for conjunct in _conjuncts(conditions):
        # The tables the conjunct itself names: one join, not the scan's own rows (which
        # would make the subquery correlated).
        named = {c.table for c in conjunct.find_all(exp.Column)}
        join = by_alias.get(next(iter(named))) if len(named) == 1 else None
        keys = None if join is None else _join_keys(source, join)
        if join is None or keys is None or not rejects_missing(conjunct, join.alias):
            tests.append(conjunct)
            continue
        own, key = keys
        name = f"{join.alias}_keys"
        table = join.relation.copy()
        table.set("alias", table_alias(name))
        matched = exp.Select(
            expressions=[requalify(key.copy(), join.alias, name)],
            from_=exp.From(this=table),
            where=exp.Where(this=requalify(conjunct.copy(), join.alias, name)),
        )
        tests.append(exp.In(this=own.copy(), query=exp.Subquery(this=matched)))
        found = True
    return tests, found


def _join_keys(source: str, join: Join) -> tuple[exp.Column, exp.Column] | None:
    """``source``'s column and ``join``'s when ``join`` is of a table on one column of each
    equal; else None."""
    if not isinstance(join.relation, exp.Table):
        return None
    return _key_pair(join.on, source, join.alias)


def _key_pair(on: exp.Expr, own: str, other: str) -> tuple[exp.Column, exp.Column] | None:
    """The columns of the tables ``own`` and ``other`` when ``on`` is their equality, one
    column of each; else None.

    >>> from sqlglot import parse_one
    >>> [c.sql() for c in _key_pair(parse_one("u.id = e.user_id"), "e", "u")]
    ['e.user_id', 'u.id']
    >>> _key_pair(parse_one("e.a = u.a AND e.b = u.b"), "e", "u") is None
    True
    """
    if not isinstance(on, exp.EQ):
        return None
    sides = [on.this, on.expression]
    if not all(isinstance(side, exp.Column) for side in sides):
        return None
    mine = [side for side in sides if side.table == own]
    theirs = [side for side in sides if side.table == other]
    if len(mine) != 1 or len(theirs) != 1:
        return None
    return mine[0], theirs[0]


def _narrow(
    source: Source,
    time_range: exp.Expr,
    conditions: Sequence[exp.Expr],
    joins: Sequence[Join],
    base: Source | None = None,
) -> tuple[Narrow, list[exp.Expr]]:
    """The entities a derived source builds rows for: those in the date range, and those that
    pass each filter (a conjunct of ``conditions``) that reads only the entity's dimensions,
    through the scan's own joins; and those conjuncts, which the rows need not pass again
    (every row of an entity has the entity's key, so it joins the same dimension rows).

    The filters on one dimension source joined by the entity's key alone, none of which can
    hold for an entity without a row there (``rejects_missing``), are a ``Lookup`` of the
    keys that pass them rather than a join: Spark estimates a join's size as the product of
    its sides' and a semi-join's as its left side's, and with the join it took the entities
    for the larger side (retention by week with a country: 1.4 against 0.95 s). When that
    source is ``base``, the source of the base events holding one row per entity
    (``Source.narrow_base``), the filters apply to those rows instead, and the source is read
    once (Spark, activation by week with a country: 0.75 against 0.55 s)."""
    assert source.narrow is not None
    in_range = narrowing(source, time_range)
    assert in_range is not None, "a derived source's CTE holds its time"
    by_alias = {join.alias: join for join in joins}
    taken: list[tuple[exp.Expr, exp.Expr, set[str]]] = []  # conjunct, mapped, joins read
    for conjunct in _conjuncts(conditions):
        reached = _joins_read(conjunct, source.name, by_alias)
        mapped = narrowing(source, conjunct)
        if not reached or mapped is None:
            continue  # a filter on the derived rows themselves, or on no join
        if any(narrowing(source, by_alias[a].on) is None for a in reached):
            continue
        taken.append((conjunct, mapped, reached))
    looked_up = {
        alias: keys
        for alias in sorted(set[str]().union(*(reached for _, _, reached in taken)))
        if (keys := _lookup_keys(source, by_alias[alias], [t for t in taken if alias in t[2]]))
    }
    filters: list[exp.Expr] = []
    needed: set[str] = set()
    for _, mapped, reached in taken:
        if not reached & looked_up.keys():
            filters.append(mapped)
            needed |= reached
    lookups = tuple(
        _lookup(
            source,
            by_alias[alias],
            entity,
            key,
            exp.and_(*(c.copy() for c, _, reached in taken if alias in reached), copy=False),
            base,
        )
        for alias, (entity, key) in looked_up.items()
    )
    kept = []
    for join in joins:
        on = narrowing(source, join.on)
        if join.alias in needed and on is not None:
            kept.append(Join(join.alias, join.relation, on))
    narrow = Narrow(
        source.narrow[0], exp.and_(*filters, in_range, copy=False), tuple(kept), lookups=lookups
    )
    return narrow, [conjunct for conjunct, _, _ in taken]


def _lookup(
    source: Source,
    join: Join,
    entity: exp.Column,
    key: exp.Column,
    condition: exp.Expr,
    base: Source | None,
) -> Lookup:
    """The ``Lookup`` of ``condition`` in ``join``: on the base events' own rows when ``join``
    is their source, ``base``, which holds one row per entity."""
    if base is None or source.narrow_base is None or join.relation is not base.relation:
        return Lookup(join, entity, key, condition)
    name, rows = source.narrow_base
    return Lookup(join, entity, key, requalify(condition, join.alias, name), rows)


def _lookup_keys(
    source: Source, join: Join, taken: Sequence[tuple[exp.Expr, exp.Expr, set[str]]]
) -> tuple[exp.Column, exp.Column] | None:
    """The entity's column and ``join``'s key when the filters ``taken`` (each reading
    ``join``) can look the entities up in it: each reads that join alone and holds for no row
    without a match, and ``join`` is on one column of each side; else None."""
    if not all(reached == {join.alias} for _, _, reached in taken):
        return None
    if not all(rejects_missing(conjunct, join.alias) for conjunct, _, _ in taken):
        return None
    on = narrowing(source, join.on)
    return None if on is None else _key_pair(on, "entities", join.alias)


def _joins_read(conjunct: exp.Expr, source: str, joins: Mapping[str, Join]) -> set[str] | None:
    """The joins ``conjunct`` needs (the aliases it names and those their ON conditions name,
    down to the scan's source); None when it names a table that is neither."""
    reached: set[str] = set()
    pending = [c.table for c in conjunct.find_all(exp.Column)]
    while pending:
        table = pending.pop()
        if table == source or table in reached:
            continue
        if table not in joins:
            return None
        reached.add(table)
        pending.extend(c.table for c in joins[table].on.find_all(exp.Column))
    return reached


def unmoved_range(
    start: dt.date | None, end: dt.date | None, offset: Offset
) -> tuple[dt.date | None, dt.date | None]:
    """The days whose move forward by ``offset`` (a built-in grain) can land within ``start``
    and ``end``, with a few to spare: ``start`` moved back, and ``end`` moved back and 3
    days on for months (a move by months clamps to the month's end, Jan 29-31 to Feb 28, and
    moving back clamps again, so a day is at most 3 days after its move forward and back).

    >>> unmoved_range(dt.date(2026, 3, 1), dt.date(2026, 3, 31), Offset(1, Grain.MONTH))
    (datetime.date(2026, 2, 1), datetime.date(2026, 3, 3))

    A bound that would leave the calendar is the calendar's end (a bound given stays a bound,
    so that queries of one shape hold the same dates, ``sql/shapes.py``):

    >>> unmoved_range(dt.date(1, 1, 1), dt.date(9999, 12, 31), Offset(1, Grain.DAY))
    (datetime.date(1, 1, 1), datetime.date(9999, 12, 30))
    """
    slack = dt.timedelta(days=3 if offset.unit in IN_MONTHS else 0)
    try:
        first = minus(start, offset)
    except (ValueError, OverflowError):  # before the calendar's first day
        first = dt.date.min
    try:
        last = minus(end, offset)
        return first, None if last is None else last + slack
    except (ValueError, OverflowError):  # past the calendar's last day
        return first, dt.date.max


def _moved_back(
    day: dt.date | None, offset: Offset | None, *, last: bool = False
) -> dt.date | None:
    """A range's ``day`` moved back by ``offset``; for its ``last`` day, the day before the
    following day moved back (the last day of the period before, for a whole period).

    >>> _moved_back(dt.date(2026, 3, 31), Offset(1, Grain.MONTH), last=True)
    datetime.date(2026, 2, 28)
    """
    if day is None or offset is None:
        return day
    if not last:
        return minus(day, offset)
    following = minus(day + dt.timedelta(days=1), offset)
    assert following is not None
    return following - dt.timedelta(days=1)


def _whole(amount: int, unit: Grain, grain: Grain) -> bool:
    """Whether an offset of ``amount`` ``unit``s is a whole number of ``grain`` periods, so
    that shifting a period's first day lands on the first day of a period.

    >>> _whole(1, Grain.MONTH, Grain.MONTH), _whole(2, Grain.WEEK, Grain.DAY)
    (True, True)
    >>> _whole(14, Grain.DAY, Grain.WEEK), _whole(1, Grain.MONTH, Grain.DAY)
    (True, False)
    >>> _whole(1, Grain.QUARTER, Grain.YEAR), _whole(4, Grain.QUARTER, Grain.FISCAL_YEAR)
    (False, True)
    """
    if unit in IN_DAYS and grain in IN_DAYS:
        return amount * IN_DAYS[unit] % IN_DAYS[grain] == 0
    if unit in IN_MONTHS and grain in IN_MONTHS:
        return amount * IN_MONTHS[unit] % IN_MONTHS[grain] == 0
    return False


def _add(outer: Offset | None, inner: Offset | None, metric: Metric) -> Offset | None:
    if outer is None or inner is None:
        return outer or inner
    try:
        return outer + inner
    except ValueError as exc:
        raise QueryError(
            f"metric '{metric.name}' nests offsets in different units ({exc}); use one unit",
            field="metrics",
        ) from exc


def _filled(ref: exp.Expr, metric: Metric, measure: Measure) -> exp.Expr:
    """A measure's column where its group has no rows: ``fill_null``, 0 for counts."""
    fill = metric.fill_null
    if fill is None and fills_with_zero(measure.agg):
        fill = 0
    if fill is None:
        return ref
    return exp.Coalesce(this=ref, expressions=[_number(fill)])


def _number(value: float) -> exp.Expr:
    """A fill value as a literal: whole numbers without a fraction, so that filling a DECIMAL
    or integer column keeps its type on every engine (ClickHouse makes a Variant of
    COALESCE(Decimal, Float64)).

    >>> _number(0.0).sql(), _number(0.5).sql()
    ('0', '0.5')
    """
    if float(value).is_integer():
        return exp.Literal.number(int(value))
    return exp.Literal.number(value)


def _key_name(key: exp.Expr, index: int) -> str:
    return key.name if isinstance(key, exp.Column) else str(index)


def _pinned_alias(asked: str, metric: Metric, names: Sequence[str]) -> str | None:
    """The SQL alias of a metric asked for with a version (``m@1``: ``m__v1``), so no engine
    needs a quoted ``@``; None for a plain name. A metric really named so in the same query
    keeps its name, and the pinned column gets ``_2`` after it.

    >>> from metrics_layer.spec.models import MetricStatus
    >>> m = Metric("m@1", MetricKind.SIMPLE, 1, "M", None, None, MetricStatus.DRAFT, (), (), (),
    ...            pinned_of="m")
    >>> _pinned_alias("m@1", m, ["m@1"]), _pinned_alias("m@1", m, ["m@1", "m__v1"])
    ('m__v1', 'm__v1_2')
    """
    if "@" not in asked:
        return None
    alias = f"{metric.current_name}__v{metric.version}"
    taken = set(names)
    while alias in taken:
        alias += "_2"
    return alias
