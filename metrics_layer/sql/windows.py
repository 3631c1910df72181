"""Rolling and cumulative aggregations as CTEs: per-day partials, a day spine, windows.

For an aggregation ``N`` with a window (``metrics_layer.planner.plan.Window``):

- ``N``: the source's rows reduced to one row per day and group, with partial aggregates (a
  count, a sum, a minimum...), or for a distinct count the distinct values of each day
  (rows without a value are in no window);
- ``N_bounds``, ``N_days``: the day spine (``metrics_layer.sql.spine``);
- ``N_points``: for each period of the query, the day whose window it shows (its last or first
  day), or every day of it (average);
- ``N_ends``: the partials of the days inside each point's window, combined: a sum of sums,
  a distinct count over the window's values (never a sum of daily distinct counts); for a
  distinct count over all time, grain-to-date, or days or weeks longer than the periods
  shown, from ``N_runs`` (each value's next day), ``N_marks`` (+1 when a value enters the
  window, -1 when it leaves) and ``N_changes`` (their sum per day) instead; a window of no
  values is NULL either way;
- ``N_average`` (average over a period's days) and ``N_filled`` (every period of the spine,
  when nothing but time is grouped), where needed; the last of these stages is named
  ``N_window``. Grouped by time alone with a window bounded on both sides, ``N_ends`` joins
  the days to the points (LEFT JOIN on the window's range) and is itself ``N_window``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlglot import exp

from metrics_layer.planner.plan import Aggregation, Window
from metrics_layer.spec.models import Agg, Grain, Rollup
from metrics_layer.sql.calendar import has_lookup, in_calendar
from metrics_layer.sql.names import alias, cast, column, ident, table_alias
from metrics_layer.sql.nodes import CHANGE_MARKS, RANGE_JOINED
from metrics_layer.sql.spine import SPINE_DAY, bounds_select, days_select, read_by, spine_last
from metrics_layer.sql.time import shift

__all__ = ["DAY", "JOINED_WINDOWS", "PART", "window_ctes"]

DAY = "metric_day"
# Per dialect, the most windows one day's values may join before a distinct count over windows
# of days is counted by changes instead (``_by_changes``); 1 for the others, so that only
# windows no longer than the periods shown are joined. Both forms give the same rows; which
# one is faster depends on the engine (docs/benchmarks.md, "Distinct counts over windows:
# joined or counted by changes"): ClickHouse and Spark sort every value's days for ``LEAD``
# slowly, and Spark adds a shuffle per stage, where DuckDB and PostgreSQL are as fast or
# faster by changes. Monthly active users by day (28) is the longest window measured.
JOINED_WINDOWS = {"clickhouse": 7, "spark": 28}
PART = "part"
PART_COUNT = "part_count"
END = "window_end"
START = "window_start"
PERIOD_DAYS = "period_days"
MARK = "mark_day"
CHANGE = "change"
SIGN = "sign"
SIGNS = "signs"
NEXT = "next_day"
EXPIRY = "expiry_day"


class Relations(Protocol):
    def digits(self) -> None: ...

    def use(self, relation: exp.Expr, alias: str | None = None) -> exp.Expr: ...


def window_ctes(
    agg: Aggregation,
    relations: Relations,
    take: Callable[[exp.Expr], exp.Expr],
    joined: int = 1,
) -> tuple[list[exp.CTE], str]:
    """The CTEs of a windowed aggregation and the name of the one holding its values.

    ``take`` gives an expression of the plan used once in the tree: the expression itself when
    the plan is consumed, else a copy (as in ``metrics_layer.sql.build``). ``joined``: the
    most windows a day's values may join (``JOINED_WINDOWS``).
    """
    window = agg.window
    assert window is not None
    name = agg.name
    relations.digits()
    ctes = [exp.CTE(this=_daily(agg, window, relations, take), alias=table_alias(name))]
    bounds, days, points = f"{name}_bounds", f"{name}_days", f"{name}_points"
    spine = window.spine
    ctes.append(
        exp.CTE(
            this=bounds_select(
                spine.start, spine.end, exp.Table(this=ident(name)), column(DAY, name)
            ),
            alias=table_alias(bounds),
        )
    )
    ctes.append(
        exp.CTE(
            this=days_select(bounds, spine.digits, spine_last(spine.start, spine.end)),
            alias=table_alias(days),
        )
    )
    points_select = read_by(_points(window, days, take), days)
    ctes.append(exp.CTE(this=points_select, alias=table_alias(points)))
    times = [a for a, _ in window.periods]
    others = [a for a, _ in agg.groups]
    column_alias = agg.columns[0].alias
    # Stages after the points; the last one is named ``N_window`` (the planner refers to it).
    stages: list[tuple[str, exp.Select]] = []
    values = f"{name}_ends"
    # Grouped by time alone, each point's window is joined to it (LEFT JOIN): every point is a
    # row, with no values where its window holds none, and the points are read once. Engines
    # that plan a CTE again at each reference (MariaDB, ClickHouse, Spark) built the points,
    # and the day spine under them, twice when a later stage joined the points to the values.
    # Only for a window bounded on both sides (ClickHouse joins on a range, but refuses a join
    # on one inequality).
    by_changes = _by_changes(window, joined)
    if by_changes:
        bounded = window.to_grain is not None
    else:
        bounded = window.span is not None or window.to_grain is not None
    every_point = bool(times) and not others and window.edge is not Rollup.AVERAGE and bounded
    if every_point:
        points_select.meta[RANGE_JOINED] = True
    if by_changes:
        changes = f"{name}_changes"
        ctes.extend(_change_ctes(window, name, others))
        counted = _counted(window, changes, points, others, column_alias, every_point)
        stages.append((values, counted))
    else:
        stages.append((values, _windows(window, name, points, others, column_alias, every_point)))
    keys = points
    if window.edge is Rollup.AVERAGE:
        period_days = f"{name}_period_days"
        count = exp.Count(this=exp.Star())
        select = exp.Select(
            expressions=[*(column(t, points) for t in times), alias(count, PERIOD_DAYS)]
        ).from_(exp.Table(this=ident(points)), copy=False)
        if times:
            select = select.group_by(*(column(t, points) for t in times), copy=False)
        ctes.append(exp.CTE(this=select, alias=table_alias(period_days)))
        averaged = f"{name}_average"
        stages.append(
            (averaged, _average(window, values, period_days, times, others, column_alias))
        )
        values, keys = averaged, period_days
    if times and not others and not every_point:
        select = exp.Select(
            expressions=[*(column(t, keys) for t in times), column(column_alias, values)]
        ).from_(exp.Table(this=ident(keys)), copy=False)
        on = exp.and_(
            *(exp.EQ(this=column(t, keys), expression=column(t, values)) for t in times),
            copy=False,
        )
        select.append("joins", exp.Join(this=exp.Table(this=ident(values)), on=on, side="LEFT"))
        stages.append((f"{name}_filled", select))
    final = f"{name}_window"
    for position, (stage, select) in enumerate(stages):
        last = position == len(stages) - 1
        ctes.append(exp.CTE(this=select, alias=table_alias(final if last else stage)))
    return ctes, final


def _daily(
    agg: Aggregation, window: Window, relations: Relations, take: Callable[[exp.Expr], exp.Expr]
) -> exp.Select:
    """One row per group and day: partial aggregates, or a distinct count's values."""
    group_by = [e.copy() for _, e in agg.groups] + [window.day.copy()]
    select = exp.Select(expressions=[alias(take(e), a) for a, e in agg.groups])
    select.append("expressions", alias(take(window.day), DAY))
    value = window.value
    if window.agg is Agg.COUNT_DISTINCT:
        assert value is not None
        group_by.append(value.copy())
        select.append("expressions", alias(take(value), PART))
    elif window.agg is Agg.AVG:
        assert value is not None
        select.append("expressions", alias(exp.Sum(this=value.copy()), PART))
        select.append("expressions", alias(exp.Count(this=take(value)), PART_COUNT))
    else:
        select.append("expressions", alias(take(agg.columns[0].call), PART))
    select = select.from_(relations.use(agg.relation), copy=False)
    for join in agg.joins:
        select.append(
            "joins",
            exp.Join(this=relations.use(join.relation, join.alias), on=take(join.on), side="LEFT"),
        )
    if agg.where is not None:
        select = select.where(take(agg.where), copy=False)
    return select.group_by(*group_by, copy=False)


def _points(window: Window, days: str, take: Callable[[exp.Expr], exp.Expr]) -> exp.Select:
    """The day whose window each period shows (every day of it, for an average)."""
    day = column(SPINE_DAY, days)
    known = in_calendar(window.periods)
    if window.edge is Rollup.AVERAGE:
        every = exp.Select(
            expressions=[
                *(alias(take(e), a) for a, e in window.periods),
                alias(day, END),
                *_start(window, day),
            ]
        ).from_(exp.Table(this=ident(days)), copy=False)
        return every if known is None else every.where(known, copy=False)
    # The first day of the period holding the edge day (offset_to_grain) is taken per day
    # before the edge: periods are monotonic in the day, and a calendar table's period is a
    # join on each day, never on an aggregate.
    edged = day if window.start_of is None else _over(window.start_of, day)
    edge: exp.Expr = exp.Max(this=edged) if window.edge is Rollup.LAST else exp.Min(this=edged)
    group_by = [e.copy() for _, e in window.periods]
    periods = [alias(take(e), a) for a, e in window.periods]
    select = exp.Select(expressions=[*periods, alias(edge, END), *_start(window, edge)]).from_(
        exp.Table(this=ident(days)), copy=False
    )
    if known is not None:
        select = select.where(known, copy=False)
    if group_by:
        select = select.group_by(*group_by, copy=False)
    return select


def _start(window: Window, end: exp.Expr) -> list[exp.Expr]:
    """For grain-to-date at a built-in grain, the first day of each point's window (``end``'s
    period), computed once per point rather than for each day joined to it (SQLite parses a
    date at each call: 12 month-to-date points joined with 400 days took 1 ms). A calendar
    table's period is a join on the end day, made where the days are joined (``_window_start``)."""
    to_grain = window.to_grain
    if to_grain is None or has_lookup(to_grain):
        return []
    return [alias(_over(to_grain, end.copy()), START)]


def _window_start(window: Window, points: str) -> exp.Expr:
    """The first day of each point's grain-to-date window, as ``_start`` made it available."""
    assert window.to_grain is not None
    if has_lookup(window.to_grain):
        return _over(window.to_grain, column(END, points))
    return column(START, points)


def _windows(
    window: Window,
    daily: str,
    points: str,
    others: list[str],
    column_alias: str,
    every_point: bool,
) -> exp.Select:
    """Each point's window: the partials of its days combined (with ``every_point``, a row for
    each point, NULL where the window holds no day: every combination below is NULL over no
    rows, a distinct count by its NULLIF)."""
    times = [a for a, _ in window.periods]
    end = column(END, points)
    day = column(DAY, daily)
    inside: list[exp.Expr] = [exp.LTE(this=day, expression=end)]
    if window.span is not None:
        earliest = cast(
            shift(end.copy(), -window.span.amount, window.span.unit), exp.DataType.Type.DATE
        )
        inside.append(exp.GT(this=day.copy(), expression=earliest))
    elif window.to_grain is not None:
        inside.append(exp.GTE(this=day.copy(), expression=_window_start(window, points)))
    keys = [column(t, points) for t in times] + [column(o, daily) for o in others]
    if window.edge is Rollup.AVERAGE:
        keys.append(end.copy())
    select = exp.Select(
        expressions=[*(k.copy() for k in keys), alias(_combine(window, daily), column_alias)]
    ).from_(exp.Table(this=ident(points)), copy=False)
    _join_inside(select, daily, inside, every_point)
    if keys:
        select = select.group_by(*keys, copy=False)
    return select


def _by_changes(window: Window, joined: int = 1) -> bool:
    """A distinct count over windows of whole days, all time or grain-to-date is counted from
    the days each value enters and leaves the window (below), not by joining every day's
    values to every window holding them: the work no longer grows with the window's length.
    Windows of months are joined as they are: a month back from the 31st is clamped, so when a
    day leaves such a window is not the same as a month after it entered. So are windows of
    days that hold the days of at most ``joined`` points (with the default 1: no longer than
    the periods shown, a 7-day window by week or month): each day's values join at most that
    many windows, and the join reads them that many times where the changes sort every
    value's days (ClickHouse, weekly active users by month: 220 against 130 ms).
    """
    if window.agg is not Agg.COUNT_DISTINCT:
        return False
    span = window.span
    if span is None:
        return True
    if span.unit not in (Grain.DAY, Grain.WEEK):
        return False
    days = span.amount * (7 if span.unit is Grain.WEEK else 1)
    return window.apart is not None and window.apart * joined < days


def _change_ctes(window: Window, daily: str, others: list[str]) -> list[exp.CTE]:
    """``N_marks``: +1 on the day a value enters a group's window and -1 on the day it leaves;
    ``N_changes``: their sum per group and day. A window's distinct count is then the sum of
    the changes up to its last day.

    A value enters on each day it occurs and leaves ``span`` later (``expiry_day``, computed
    once in ``N_runs``) or on its next day (``LEAD``), whichever comes first, so the intervals
    of one value never overlap. For all time a value enters on its first day and never leaves;
    for grain-to-date, on its first day of each period.
    """
    ctes: list[exp.CTE] = []
    marks = f"{daily}_marks"
    if window.span is None:
        keys: list[exp.Expr] = [*(column(o, daily) for o in others), column(PART, daily)]
        if window.to_grain is not None:
            keys.append(_over(window.to_grain, column(DAY, daily)))
        select = exp.Select(
            expressions=[
                *(column(o, daily) for o in others),
                alias(exp.Min(this=column(DAY, daily)), MARK),
                alias(exp.Literal.number(1), CHANGE),
            ]
        ).from_(exp.Table(this=ident(daily)), copy=False)
        select = select.group_by(*keys, copy=False)
        ctes.append(exp.CTE(this=select, alias=table_alias(marks)))
    else:
        runs = f"{daily}_runs"
        following = exp.Window(
            this=exp.Lead(this=column(DAY, daily)),
            partition_by=[*(column(o, daily) for o in others), column(PART, daily)],
            order=exp.Order(expressions=[exp.Ordered(this=column(DAY, daily))]),
        )
        expiry = shift(column(DAY, daily), window.span.amount, window.span.unit)
        select = exp.Select(
            expressions=[
                *(column(o, daily) for o in others),
                column(DAY, daily),
                alias(following, NEXT),
                alias(cast(expiry, exp.DataType.Type.DATE), EXPIRY),
            ]
        ).from_(exp.Table(this=ident(daily)), copy=False)
        ctes.append(exp.CTE(this=select, alias=table_alias(runs)))
        # Each run marks twice, +1 on its day and -1 when it leaves: the runs crossed with the
        # two signs, so they are read once (MariaDB computes a CTE again for every reference).
        next_day = column(NEXT, runs)
        sooner = exp.and_(
            exp.Not(this=exp.Is(this=column(NEXT, runs), expression=exp.Null())),
            exp.LT(this=column(NEXT, runs), expression=column(EXPIRY, runs)),
            copy=False,
        )
        leave = exp.Case(ifs=[exp.If(this=sooner, true=next_day)], default=column(EXPIRY, runs))
        entering = exp.EQ(this=column(SIGN, SIGNS), expression=exp.Literal.number(1))
        mark = exp.Case(ifs=[exp.If(this=entering, true=column(DAY, runs))], default=leave)
        both = exp.Select(
            expressions=[
                *(column(o, runs) for o in others),
                alias(mark, MARK),
                alias(column(SIGN, SIGNS), CHANGE),
            ]
        ).from_(exp.Table(this=ident(runs)), copy=False)
        signs = exp.Union(
            this=exp.Select(expressions=[alias(exp.Literal.number(1), SIGN)]),
            expression=exp.Select(expressions=[alias(exp.Neg(this=exp.Literal.number(1)), SIGN)]),
            distinct=False,
        )
        both.append(
            "joins",
            exp.Join(this=exp.Subquery(this=signs, alias=table_alias(SIGNS)), kind="CROSS"),
        )
        both.meta[CHANGE_MARKS] = True
        ctes.append(exp.CTE(this=both, alias=table_alias(marks)))
    totals = exp.Select(
        expressions=[
            *(column(o, marks) for o in others),
            column(MARK, marks),
            alias(exp.Sum(this=column(CHANGE, marks)), CHANGE),
        ]
    ).from_(exp.Table(this=ident(marks)), copy=False)
    totals = totals.group_by(*(column(o, marks) for o in others), column(MARK, marks), copy=False)
    ctes.append(exp.CTE(this=totals, alias=table_alias(f"{daily}_changes")))
    return ctes


def _counted(
    window: Window,
    changes: str,
    points: str,
    others: list[str],
    column_alias: str,
    every_point: bool,
) -> exp.Select:
    """Each point's distinct count: the changes up to its day (from its period's first day,
    for grain-to-date); with ``every_point``, a row for each point (NULL without changes)."""
    times = [a for a, _ in window.periods]
    end = column(END, points)
    mark = column(MARK, changes)
    inside: list[exp.Expr] = [exp.LTE(this=mark, expression=end)]
    if window.to_grain is not None:
        inside.append(exp.GTE(this=mark.copy(), expression=_window_start(window, points)))
    keys = [column(t, points) for t in times] + [column(o, changes) for o in others]
    if window.edge is Rollup.AVERAGE:
        keys.append(end.copy())
    total = exp.Sum(this=column(CHANGE, changes))
    # A window of no values counts none: NULL (as where no changes reach it), filled as the
    # metric says.
    counted = exp.Nullif(this=total, expression=exp.Literal.number(0))
    select = exp.Select(
        expressions=[*(k.copy() for k in keys), alias(counted, column_alias)]
    ).from_(exp.Table(this=ident(points)), copy=False)
    _join_inside(select, changes, inside, every_point)
    if keys:
        select = select.group_by(*keys, copy=False)
    if others:
        # A group shows where its window holds a value, as when the values are joined.
        select = select.having(
            exp.GT(this=total.copy(), expression=exp.Literal.number(0)), copy=False
        )
    return select


def _join_inside(select: exp.Select, rows: str, inside: list[exp.Expr], every_point: bool) -> None:
    """Join ``rows`` to the points of ``select`` where ``inside`` holds: a LEFT JOIN on it when
    every point is a row of the result, else a CROSS JOIN filtered by it."""
    condition = exp.and_(*inside, copy=False)
    if every_point:
        select.append(
            "joins", exp.Join(this=exp.Table(this=ident(rows)), on=condition, side="LEFT")
        )
        return
    select.append("joins", exp.Join(this=exp.Table(this=ident(rows)), kind="CROSS"))
    select.set("where", exp.Where(this=condition))


def _over(template: exp.Expr, day: exp.Expr) -> exp.Expr:
    """``template`` (an expression of the spine's day) over ``day`` instead."""
    return template.transform(
        lambda node: day.copy() if isinstance(node, exp.Column) and node.name == SPINE_DAY else node
    )


def _combine(window: Window, daily: str) -> exp.Expr:
    part = column(PART, daily)
    agg = window.agg
    if agg is Agg.COUNT_DISTINCT:
        # NULL for a window of no values, as every other combination over no rows.
        distinct = exp.Count(this=exp.Distinct(expressions=[part]))
        return exp.Nullif(this=distinct, expression=exp.Literal.number(0))
    if agg is Agg.AVG:
        total = cast(exp.Sum(this=part), exp.DataType.Type.DOUBLE)
        rows = exp.Sum(this=column(PART_COUNT, daily))
        return exp.Div(
            this=total, expression=exp.Nullif(this=rows, expression=exp.Literal.number(0))
        )
    if agg is Agg.MIN:
        return exp.Min(this=part)
    if agg is Agg.MAX:
        return exp.Max(this=part)
    return exp.Sum(this=part)


def _average(
    window: Window,
    values: str,
    period_days: str,
    times: list[str],
    others: list[str],
    column_alias: str,
) -> exp.Select:
    """The windows of a period's days averaged; for counts a day without rows counts as 0."""
    value = column(column_alias, values)
    if window.counts:
        averaged: exp.Expr = exp.Div(
            this=cast(exp.Sum(this=value), exp.DataType.Type.DOUBLE),
            expression=exp.Max(this=column(PERIOD_DAYS, period_days)),
        )
    else:
        averaged = exp.Avg(this=value)
    keys = [column(t, values) for t in times] + [column(o, values) for o in others]
    select = exp.Select(expressions=[*(k.copy() for k in keys), alias(averaged, column_alias)])
    select = select.from_(exp.Table(this=ident(values)), copy=False)
    if times:
        on = exp.and_(
            *(exp.EQ(this=column(t, values), expression=column(t, period_days)) for t in times),
            copy=False,
        )
        select.append("joins", exp.Join(this=exp.Table(this=ident(period_days)), on=on))
    else:
        select.append("joins", exp.Join(this=exp.Table(this=ident(period_days)), kind="CROSS"))
    if keys:
        select = select.group_by(*keys, copy=False)
    return select
