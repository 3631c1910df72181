"""Time buckets and date ranges as dialect-neutral sqlglot trees.

Weeks start on the project's ``week_start`` (Monday by default) on every engine: ``DATE_TRUNC``
truncates to a Monday (dialect rules make sure of it), and another start day shifts the value by
k days before truncating and back after. Time zones other than UTC convert the stored UTC
timestamp before any bucketing.
"""

from __future__ import annotations

import datetime as dt

from sqlglot import exp

from metrics_layer.graph.model import CalendarPeriod, Period
from metrics_layer.spec.models import Grain, WeekStart
from metrics_layer.sql.calendar import calendar_period, calendar_shift
from metrics_layer.sql.names import cast, date_literal

__all__ = ["IN_DAYS", "IN_MONTHS", "SUB_DAY", "bucket", "in_time_zone", "shift", "within_dates"]

_WEEKDAYS = tuple(WeekStart)


def in_time_zone(expression: exp.Expr, time_zone: str) -> exp.Expr:
    """The local wall clock in ``time_zone`` of a timestamp (no-op for UTC).

    A naive timestamp is taken as UTC. On DuckDB and PostgreSQL the cast to TIMESTAMP leaves a
    naive value as it is and gives an aware one's UTC wall clock (every session is UTC), so the
    same SQL is right for both column types; MySQL's CONVERT_TZ needs the server's time-zone
    tables (checked by the session before the query runs).

    >>> in_time_zone(exp.column("t"), "Europe/Berlin").sql("postgres")
    "CAST(t AS TIMESTAMP) AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/Berlin'"
    >>> in_time_zone(exp.column("t"), "Europe/Berlin").sql("duckdb")
    "CAST(t AS TIMESTAMP) AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/Berlin'"
    """
    if time_zone.upper() == "UTC":
        return expression
    return exp.ConvertTimezone(
        source_tz=exp.Literal.string("UTC"),
        target_tz=exp.Literal.string(time_zone),
        timestamp=expression,
    )


def bucket(
    expression: exp.Expr,
    grain: Period,
    week_start: WeekStart = WeekStart.MONDAY,
    fiscal_year_start: int = 1,
) -> exp.Expr:
    """The start of the ``grain`` period holding ``expression``: a DATE (a TIMESTAMP for
    seconds, minutes and hours).

    Periods of a day or longer are cut from the calendar date, so every engine does date
    arithmetic on DATEs. A fiscal quarter or year starts ``fiscal_year_start - 1`` months after
    the calendar one: the month is shifted back by that many months, truncated, and shifted
    forward again (first days of months, so no month-end clamping is involved). A calendar
    table's period is looked up by the date (``sql/calendar.py``).

    >>> bucket(exp.column("t"), Grain.MONTH, WeekStart.MONDAY).sql("duckdb")
    "CAST(DATE_TRUNC('MONTH', CAST(t AS DATE)) AS DATE)"
    >>> bucket(exp.column("t"), Grain.WEEK, WeekStart.SUNDAY).sql("duckdb")
    "CAST(DATE_TRUNC('WEEK', CAST(t AS DATE) + INTERVAL (-6) DAY) + INTERVAL 6 DAY AS DATE)"
    >>> bucket(exp.column("t"), Grain.HOUR, WeekStart.MONDAY).sql("duckdb")
    "CAST(DATE_TRUNC('HOUR', t) AS TIMESTAMP)"
    >>> bucket(exp.column("t"), Grain.FISCAL_YEAR, fiscal_year_start=2).sql("duckdb")
    "CAST(DATE_TRUNC('YEAR', DATE_TRUNC('MONTH', CAST(t AS DATE)) - INTERVAL 1 MONTH) + \
INTERVAL 1 MONTH AS DATE)"
    """
    if isinstance(grain, CalendarPeriod):
        return calendar_period(cast(expression, exp.DataType.Type.DATE), grain)
    if grain in SUB_DAY:
        truncated_time = exp.TimestampTrunc(this=expression, unit=exp.var(grain.value.upper()))
        return cast(truncated_time, exp.DataType.Type.TIMESTAMP)
    day: exp.Expr = cast(expression, exp.DataType.Type.DATE)
    if grain is Grain.DAY:
        return day
    if grain in _FISCAL:
        calendar = _FISCAL[grain]
        months = fiscal_year_start - 1
        if not months:
            return bucket(expression, calendar)
        month = _truncate(day, Grain.MONTH)
        start = _truncate(_add(month, -months, "MONTH"), calendar)
        return cast(_add(start, months, "MONTH"), exp.DataType.Type.DATE)
    shift = _WEEKDAYS.index(week_start) if grain is Grain.WEEK else 0
    if shift:
        day = exp.DateAdd(this=day, expression=exp.Literal.number(-shift), unit=exp.var("DAY"))
    truncated = _truncate(day, grain)
    if shift:
        truncated = _add(truncated, shift, "DAY")
    return cast(truncated, exp.DataType.Type.DATE)


# Sub-day grains: their buckets are timestamps, and their dimensions are converted to the
# project's time zone.
SUB_DAY = frozenset({Grain.SECOND, Grain.MINUTE, Grain.HOUR})
_FISCAL = {Grain.FISCAL_QUARTER: Grain.QUARTER, Grain.FISCAL_YEAR: Grain.YEAR}


def _truncate(day: exp.Expr, grain: Grain) -> exp.Expr:
    return exp.DateTrunc(this=day, unit=exp.var(grain.value.upper()))  # type: ignore[no-untyped-call]


def _add(day: exp.Expr, amount: int, unit: str) -> exp.Expr:
    """``day`` plus ``amount`` units; a negative amount as a subtraction (every dialect parses
    ``- INTERVAL 1 MONTH`` back as written)."""
    kind = exp.DateAdd if amount >= 0 else exp.DateSub
    return kind(this=day, expression=exp.Literal.number(abs(amount)), unit=exp.var(unit))


# The grains an offset can be counted in: their length in days, or in months.
IN_DAYS = {Grain.DAY: 1, Grain.WEEK: 7}
IN_MONTHS = {
    Grain.MONTH: 1,
    Grain.QUARTER: 3,
    Grain.FISCAL_QUARTER: 3,
    Grain.YEAR: 12,
    Grain.FISCAL_YEAR: 12,
}


def shift(expression: exp.Expr, amount: int, unit: Period) -> exp.Expr:
    """The calendar date ``amount`` ``unit``s after ``expression`` (days or months underneath,
    which every engine can add; a calendar table's periods are looked up).

    >>> shift(exp.column("t"), 1, Grain.QUARTER).sql("duckdb")
    'CAST(t AS DATE) + INTERVAL 3 MONTH'
    """
    day = cast(expression, exp.DataType.Type.DATE)
    if isinstance(unit, CalendarPeriod):
        return calendar_shift(day, unit, amount)
    if unit in IN_DAYS:
        count, step = amount * IN_DAYS[unit], "DAY"
    elif unit in IN_MONTHS:
        count, step = amount * IN_MONTHS[unit], "MONTH"
    else:
        raise ValueError(f"cannot shift by {unit.value}s")
    return exp.DateAdd(this=day, expression=exp.Literal.number(count), unit=exp.var(step))


def within_dates(
    expression: exp.Expr, start: dt.date | None, end: dt.date | None
) -> exp.Expr | None:
    """``start <= date(expression) <= end`` (either bound optional).

    Both bounds make one ``BETWEEN``, which names the day once: SQLite works it out once per
    row (its documented rule for ``BETWEEN``), where two comparisons parse the timestamp twice.

    >>> within_dates(exp.column("t"), dt.date(2026, 1, 1), None).sql()
    "CAST(t AS DATE) >= CAST('2026-01-01' AS DATE)"
    >>> within_dates(exp.column("t"), dt.date(2026, 1, 1), dt.date(2026, 1, 31)).sql()
    "CAST(t AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-01-31' AS DATE)"
    """
    day: exp.Expr = cast(expression, exp.DataType.Type.DATE)
    if start is not None and end is not None:
        return exp.Between(this=day, low=date_literal(start), high=date_literal(end))
    parts: list[exp.Expr] = []
    if start is not None:
        parts.append(exp.GTE(this=day, expression=date_literal(start)))
    if end is not None:
        parts.append(exp.LTE(this=day.copy(), expression=date_literal(end)))
    return exp.and_(*parts, copy=False) if parts else None
