"""Calendar periods in Python: their bounds, widening a date range to whole periods, and which
periods of a result a date range covers only in part.

Pure date arithmetic on ``start``/``end`` and the grain, the same calendar the SQL cuts
(``sql/time.py``: weeks start on the project's ``week_start``, quarters in January, April, July
and October). Only ``metric_time`` groupings are periods of the range; a grouping by another
time dimension (``user.signed_up_at.week``) is a dimension like any other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any, assert_never

from metrics_layer.graph.graph import GRAIN_NAMES, METRIC_TIME
from metrics_layer.planner.query import MetricQuery
from metrics_layer.spec.models import Grain, WeekStart
from metrics_layer.sql.time import SUB_DAY

__all__ = ["incomplete_rows", "metric_time_grains", "partial_rows", "period_of", "widened"]

_WEEKDAYS = tuple(WeekStart)


def period_of(
    day: dt.date, grain: Grain, week_start: WeekStart, fiscal_year_start: int = 1
) -> tuple[dt.date, dt.date]:
    """The first and last day of the ``grain`` period holding ``day``; fiscal quarters and
    years start ``fiscal_year_start - 1`` months after calendar ones.

    >>> period_of(dt.date(2026, 10, 7), Grain.WEEK, WeekStart.MONDAY)
    (datetime.date(2026, 10, 5), datetime.date(2026, 10, 11))
    >>> period_of(dt.date(2026, 10, 7), Grain.WEEK, WeekStart.SUNDAY)
    (datetime.date(2026, 10, 4), datetime.date(2026, 10, 10))
    >>> period_of(dt.date(2026, 11, 30), Grain.QUARTER, WeekStart.MONDAY)
    (datetime.date(2026, 10, 1), datetime.date(2026, 12, 31))
    >>> period_of(dt.date(2026, 1, 31), Grain.FISCAL_YEAR, WeekStart.MONDAY, 2)
    (datetime.date(2025, 2, 1), datetime.date(2026, 1, 31))
    """
    if grain is Grain.SECOND or grain is Grain.MINUTE or grain is Grain.HOUR or grain is Grain.DAY:
        return day, day
    shift = 0
    if grain is Grain.WEEK:
        first = day - dt.timedelta(days=(day.weekday() - _WEEKDAYS.index(week_start)) % 7)
        return first, first + dt.timedelta(days=6)
    if grain is Grain.MONTH:
        months = 1
    elif grain is Grain.QUARTER:
        months = 3
    elif grain is Grain.YEAR:
        months = 12
    elif grain is Grain.FISCAL_QUARTER or grain is Grain.FISCAL_YEAR:
        months = 3 if grain is Grain.FISCAL_QUARTER else 12
        shift = fiscal_year_start - 1
    else:
        assert_never(grain)
    index = day.year * 12 + day.month - 1 - shift
    first_index = index - index % months + shift
    after_index = first_index + months
    first = dt.date(first_index // 12, first_index % 12 + 1, 1)
    after = dt.date(after_index // 12, after_index % 12 + 1, 1)
    return first, after - dt.timedelta(days=1)


def metric_time_grains(columns: Sequence[str]) -> dict[int, Grain]:
    """The grain of each ``metric_time`` column, by column index.

    >>> metric_time_grains(["metric_time.week", "user.plan", "metric_time", "x"])
    {0: <Grain.WEEK: 'week'>, 2: <Grain.DAY: 'day'>}
    """
    found: dict[int, Grain] = {}
    for index, name in enumerate(columns):
        parts = name.split(".")
        if parts[0] != METRIC_TIME or len(parts) > 2:
            continue
        if len(parts) == 1:
            found[index] = Grain.DAY
        elif parts[1] in GRAIN_NAMES:
            found[index] = Grain(parts[1])
    return found


def widened(query: MetricQuery, week_start: WeekStart, fiscal_year_start: int = 1) -> MetricQuery:
    """``query`` with ``start`` moved back to the first day and ``end`` forward to the last day
    of their periods of the coarsest ``metric_time`` grain it groups by, when it asks for whole
    periods; otherwise ``query`` itself.

    >>> q = MetricQuery.of("signups", by="metric_time.month", start="2026-10-15", end="2026-11-03")
    >>> w = widened(dataclasses.replace(q, whole_periods=True), WeekStart.MONDAY)
    >>> w.start, w.end
    (datetime.date(2026, 10, 1), datetime.date(2026, 11, 30))
    """
    grains = metric_time_grains(query.by).values()
    if not query.whole_periods or not grains:
        return query
    coarsest = max(grains, key=lambda g: GRAIN_NAMES.index(g.value))
    calendar = (week_start, fiscal_year_start)
    start = None if query.start is None else period_of(query.start, coarsest, *calendar)[0]
    end = None if query.end is None else period_of(query.end, coarsest, *calendar)[1]
    return dataclasses.replace(query, start=start, end=end)


def partial_rows(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    start: dt.date | None,
    end: dt.date | None,
    week_start: WeekStart,
    fiscal_year_start: int = 1,
) -> tuple[bool, ...]:
    """For each row, whether the period of one of its ``metric_time`` columns starts before
    ``start`` or ends after ``end``, so that the range holds only part of it.

    Hours are never partial (a range is whole days); without ``end`` the latest period is not
    marked (whether its data is complete depends on the data, not on the range).

    >>> partial_rows(["metric_time.week", "n"], [(dt.date(2026, 9, 28), 1),
    ...     (dt.date(2026, 10, 5), 2)], dt.date(2026, 9, 30), None, WeekStart.MONDAY)
    (True, False)
    """
    grains = {
        index: grain
        for index, grain in metric_time_grains(columns).items()
        if grain not in SUB_DAY and grain is not Grain.DAY
    }
    if not grains or (start is None and end is None):
        return (False,) * len(rows)
    return tuple(
        any(
            _cut(row[index], grain, start, end, week_start, fiscal_year_start)
            for index, grain in grains.items()
        )
        for row in rows
    )


def _cut(
    value: object,
    grain: Grain,
    start: dt.date | None,
    end: dt.date | None,
    week: WeekStart,
    fiscal_year_start: int,
) -> bool:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        return False
    first, last = period_of(value, grain, week, fiscal_year_start)
    return (start is not None and start > first) or (end is not None and end < last)


def incomplete_rows(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    window_days: int | None,
    end: dt.date | None,
    today: dt.date,
    week_start: WeekStart,
    fiscal_year_start: int = 1,
) -> tuple[bool, ...]:
    """For each row of a query with a conversion metric (``window_days`` its longest window),
    whether a conversion window of its base period is still open on ``today``: the period's
    last day plus the window is today or later. Without a ``metric_time`` column the range is
    one period, ending on ``end`` (today when open); a calendar table's period, whose end is
    not known here, ends at the earliest on its first day.

    >>> incomplete_rows(["metric_time.month", "rate"], [(dt.date(2026, 2, 1), 0.5),
    ...     (dt.date(2026, 3, 1), 0.2)], 7, None, dt.date(2026, 4, 5), WeekStart.MONDAY)
    (False, True)
    """
    if window_days is None:
        return (False,) * len(rows)
    window = dt.timedelta(days=window_days)
    indexes = [i for i, name in enumerate(columns) if name.split(".")[0] == METRIC_TIME]
    grains = metric_time_grains(columns)

    def last_day(row: Sequence[Any]) -> dt.date | None:
        lasts: list[dt.date] = []
        for index in indexes:
            value = row[index]
            if isinstance(value, dt.datetime):
                value = value.date()
            if not isinstance(value, dt.date):
                continue
            grain = grains.get(index)
            lasts.append(
                value
                if grain is None
                else period_of(value, grain, week_start, fiscal_year_start)[1]
            )
        if lasts:
            return min(lasts)
        return None if indexes else (end or today)

    return tuple((last := last_day(row)) is not None and last + window >= today for row in rows)
