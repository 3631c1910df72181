"""Plan a rolling or cumulative metric: per-day partials of its rows, windows on a day spine.

A rolling metric (``window: 7 days``) or a cumulative one (all time, or ``grain_to_date``) is
evaluated for a day d over the rows of the days in its window ending on d. A period of the
query shows the window of its last day (``rollup: last``, the default), its first day
(``first``) or the average over its days (``average``). The query's ``metric_time`` groupings
are cut from the spine's days, so every period of the range exists even where it has no rows;
every other grouping comes from the rows. See docs/time.md.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlglot import exp

from metrics_layer.errors import QueryError, did_you_mean
from metrics_layer.graph.graph import GRAIN_NAMES, Graph
from metrics_layer.graph.model import CalendarPeriod, Measure, Offset, Period, Settings
from metrics_layer.planner.aggregates import fills_with_zero
from metrics_layer.planner.conditions import conjunction
from metrics_layer.planner.joins import Joins
from metrics_layer.planner.periods import period_of
from metrics_layer.planner.plan import AggColumn, Aggregation, Fill, Spine, Window
from metrics_layer.planner.query import MetricQuery
from metrics_layer.spec.models import Agg, Grain, Rollup
from metrics_layer.sql.calendar import calendar_earliest
from metrics_layer.sql.names import cast, column, date_literal
from metrics_layer.sql.parts import PART_GRAIN
from metrics_layer.sql.spine import SPINE_DAY, spine_digits
from metrics_layer.sql.time import SUB_DAY, bucket, shift, within_dates

if TYPE_CHECKING:
    from metrics_layer.planner.planner import Leaf, Planner

__all__ = ["fill_periods", "minus", "plan_window"]

# The longest period of each unit, in days: row ranges are widened by these (the windows
# themselves are cut exactly in SQL).
_LONGEST = {
    Grain.SECOND: 1,
    Grain.MINUTE: 1,
    Grain.HOUR: 1,
    Grain.DAY: 1,
    Grain.WEEK: 7,
    Grain.MONTH: 31,
    Grain.QUARTER: 92,
    Grain.FISCAL_QUARTER: 92,
    Grain.YEAR: 366,
    Grain.FISCAL_YEAR: 366,
}

# The shortest period of each built-in grain, in days (a fiscal quarter of February to April
# has 89).
_SHORTEST = {
    Grain.DAY: 1,
    Grain.WEEK: 7,
    Grain.MONTH: 28,
    Grain.QUARTER: 90,
    Grain.FISCAL_QUARTER: 89,
    Grain.YEAR: 365,
    Grain.FISCAL_YEAR: 365,
}


def plan_window(
    planner: Planner, source: str, time_name: str | None, leaf: Leaf, name: str
) -> Aggregation:
    """The aggregation of one rolling or cumulative leaf of ``source``, whose days are those
    of its time dimension ``time_name`` (the measure's)."""
    metric = leaf.window
    assert metric is not None
    query = planner.query
    joins = Joins(planner.graph, source, time_name)
    offset = leaf.offset
    if offset is not None and isinstance(offset.unit, CalendarPeriod):
        raise QueryError(
            f"'{metric.name}' is a {metric.kind.value} metric, evaluated per day; an offset of "
            f"{offset.text} (a calendar table's period) applies to simple, ratio and derived "
            "metrics. Offset it in days, weeks, months, quarters or years, or read it at the "
            f"start of a period with 'offset_to_grain: {offset.unit.value}'",
            field="metrics",
        )
    spine_day: exp.Expr = column(SPINE_DAY)
    if offset is not None:
        spine_day = shift(spine_day, offset.amount, offset.unit)
    groups: list[tuple[str, exp.Expr]] = []
    periods: list[tuple[str, exp.Expr]] = []
    lengths: list[int] = []  # the shortest period of each time grouping, in days
    for by in query.by:
        ref = planner.graph.resolve(by, source, field="by", time=time_name)
        alias = by.replace(".", "__")
        if ref.is_metric_time(source, time_name):
            if ref.grain in SUB_DAY or (ref.part is not None and PART_GRAIN[ref.part] in SUB_DAY):
                raise QueryError(
                    f"'{by}': '{metric.name}' is a {metric.kind.value} metric, evaluated per "
                    "day; group by metric_time.day or coarser, or a part of a day",
                    field="by",
                )
            periods.append((alias, planner.on_day(ref, spine_day.copy())))
            grain = ref.grain if ref.part is None and isinstance(ref.grain, Grain) else Grain.DAY
            lengths.append(_SHORTEST.get(grain, 1))
            continue
        expressions = planner.expressions(ref, joins, offset, time_name)
        if len(expressions) == 1:
            groups.append((alias, expressions[0]))
        else:
            groups.extend((f"{alias}__{i}", e) for i, e in enumerate(expressions, start=1))
    time = planner.source_time(source, time_name, None)
    assert time is not None
    start = minus(query.start, offset)
    end = minus(query.end, offset)
    settings = planner.graph.settings
    first_edge = _first_edge(start, leaf.start_of, settings)
    where = conjunction(
        within_dates(
            time.copy(),
            _earliest_row(first_edge, metric.window, metric.grain_to_date, settings),
            end,
        ),
        _calendar_earliest_row(time, first_edge, end, metric.grain_to_date, metric.window),
        *(
            planner.resolve(condition, source, joins, offset, field, time_name)
            for condition, field in ((planner.where, "where"), (leaf.condition, "filter"))
            if condition is not None
        ),
        _valued(leaf.measure),
    )
    to_grain = None
    if metric.grain_to_date is not None:
        to_grain = planner.bucket(column(SPINE_DAY), metric.grain_to_date)
    measure = leaf.measure
    counts = fills_with_zero(measure.agg)
    edge = Rollup.FIRST if leaf.start_of is not None else leaf.rollup or Rollup.LAST
    window = Window(
        day=planner.bucket(time, Grain.DAY),
        agg=measure.agg,
        value=measure.expr.copy() if measure.expr is not None else None,
        periods=tuple(periods),
        span=metric.window,
        to_grain=to_grain,
        edge=edge,
        start_of=None
        if leaf.start_of is None
        else planner.bucket(column(SPINE_DAY), leaf.start_of),
        spine=Spine(start, end, spine_digits(start, end)),
        counts=counts,
        apart=_apart(lengths, edge, leaf.start_of is not None),
    )
    call = planner.aggregate(measure, None)
    return Aggregation(
        name=name,
        source=source,
        relation=planner.graph.sources[source].relation,
        joins=joins.joins(),
        where=where,
        groups=tuple(groups),
        columns=(AggColumn(measure.name, call, window.edge, counts),),
        offset=offset,
        window=window,
    )


def _valued(measure: Measure) -> exp.Expr | None:
    """For a distinct count, its rows with a value: a row without one is in no window (a
    window of none is empty, NULL, whether its values are joined or counted by changes)."""
    if measure.agg is not Agg.COUNT_DISTINCT or measure.expr is None:
        return None
    return exp.Not(this=exp.Is(this=measure.expr.copy(), expression=exp.Null()))


def _apart(lengths: Sequence[int], edge: Rollup, start_of: bool) -> int | None:
    """The fewest days between the days of two periods' windows: a period's shortest length
    for one time grouping shown at its last or first day; 1 for every day of a period
    (average), for periods that share the day of their period of ``offset_to_grain``, or for
    several groupings (a week and a month cut each other into periods of a day); None for a
    single window.

    >>> _apart([28], Rollup.LAST, False), _apart([], Rollup.LAST, False)
    (28, None)
    >>> _apart([28], Rollup.AVERAGE, False), _apart([7, 28], Rollup.LAST, False)
    (1, 1)
    """
    if edge is Rollup.AVERAGE or start_of or len(lengths) > 1:
        return 1
    return lengths[0] if lengths else None


def minus(day: dt.date | None, offset: Offset | None) -> dt.date | None:
    """``day`` moved ``offset`` back, months clamped to the month's last day (as SQL does).

    >>> minus(dt.date(2026, 3, 31), Offset(1, Grain.MONTH))
    datetime.date(2026, 2, 28)
    >>> minus(dt.date(2026, 3, 31), Offset(2, Grain.WEEK))
    datetime.date(2026, 3, 17)
    """
    if day is None or offset is None:
        return day
    unit, amount = offset.unit, offset.amount
    assert isinstance(unit, Grain), "windows refuse offsets in calendar periods"
    if unit in (Grain.DAY, Grain.WEEK):
        return day - dt.timedelta(days=amount * (7 if unit is Grain.WEEK else 1))
    years = unit in (Grain.YEAR, Grain.FISCAL_YEAR)
    months = amount * (12 if years else 3 if unit in (Grain.QUARTER, Grain.FISCAL_QUARTER) else 1)
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def _first_edge(
    start: dt.date | None, start_of: Period | None, settings: Settings
) -> dt.date | None:
    """The earliest day whose window a point shows: the range's first day, or with
    ``offset_to_grain`` the first day of its period (None: unknown, a calendar table's)."""
    if start is None or isinstance(start_of, CalendarPeriod):
        return None
    if start_of is None:
        return start
    return period_of(start, start_of, settings.week_start, settings.fiscal_year_start)[0]


def _earliest_row(
    first_edge: dt.date | None, span: Offset | None, to_grain: Period | None, settings: Settings
) -> dt.date | None:
    """A day no later than the first day of the first window (the window cuts exactly): for
    ``grain_to_date`` the first day of the period holding the first edge day. A calendar
    table's period is bounded in SQL (``_calendar_earliest_row``)."""
    if first_edge is None:
        return None
    if span is not None:
        assert isinstance(span.unit, Grain), "a window is in built-in units"
        return first_edge - dt.timedelta(days=span.amount * _LONGEST[span.unit])
    if isinstance(to_grain, Grain):
        return period_of(first_edge, to_grain, settings.week_start, settings.fiscal_year_start)[0]
    return None


def _calendar_earliest_row(
    time: exp.Expr,
    first_edge: dt.date | None,
    end: dt.date | None,
    to_grain: Period | None,
    span: Offset | None,
) -> exp.Expr | None:
    """For ``grain_to_date`` at a calendar table's period, the rows from the first day of the
    earliest such period holding a day of the points' range, looked up in the table once (a
    window starts at its edge day's period, never before that one); None otherwise."""
    if not isinstance(to_grain, CalendarPeriod) or span is not None or first_edge is None:
        return None
    last = end if end is not None else first_edge
    earliest = calendar_earliest(
        date_literal(first_edge), date_literal(max(last, first_edge)), to_grain
    )
    return exp.GTE(this=cast(time.copy(), exp.DataType.Type.DATE), expression=earliest)


def fill_periods(
    graph: Graph, query: MetricQuery, names: Sequence[str], *, required: bool
) -> Fill | None:
    """Every period of the query's range for its metric_time groupings ``names``.

    ``required``: the query has no metrics, so the range must be given (there are no rows to
    take it from).
    """
    if not names:
        return None
    if required and (query.start is None or query.end is None):
        raise QueryError(
            "without metrics, metric_time lists the periods from start to end; give both",
            field="start" if query.start is None else "end",
        )
    periods: list[tuple[str, exp.Expr]] = []
    for name in names:
        grain = graph.metric_time_period(name)
        if grain is None:
            known = (*GRAIN_NAMES, *graph.period_names)
            raise QueryError(
                f"'{name}': every period of a range is listed for a grain, one of "
                f"{', '.join(known)} (a date part such as day_of_week is not a period)."
                + did_you_mean(name.split(".")[-1], known),
                field="by",
            )
        if grain in SUB_DAY:
            raise QueryError(
                f"'{name}': every period of a range is listed by day or coarser; group by "
                "metric_time.day or coarser, or leave out fill_periods",
                field="by",
            )
        day = column(SPINE_DAY)
        settings = graph.settings
        period = bucket(day, grain, settings.week_start, settings.fiscal_year_start)
        periods.append((name.replace(".", "__"), period))
    spine = Spine(query.start, query.end, spine_digits(query.start, query.end))
    return Fill(tuple(periods), spine, periods[0][0])
