"""Time buckets and date ranges as dialect-neutral sqlglot trees.

Weeks start on the project's ``week_start`` (Monday by default) on every engine: ``DATE_TRUNC``
truncates to a Monday (dialect rules make sure of it), and another start day shifts the value by
k days before truncating and back after. Time zones other than UTC convert the stored UTC
timestamp before any bucketing.
"""

from __future__ import annotations

import datetime as dt

from sqlglot import exp

from metrics_layer.spec.models import Grain, WeekStart
from metrics_layer.sql.names import cast

__all__ = ["bucket", "in_time_zone", "shift", "within_dates"]

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


def bucket(expression: exp.Expr, grain: Grain, week_start: WeekStart) -> exp.Expr:
    """The start of the ``grain`` period holding ``expression``: a DATE (a TIMESTAMP for hours).

    Periods of a day or longer are cut from the calendar date, so every engine does date
    arithmetic on DATEs.

    >>> bucket(exp.column("t"), Grain.MONTH, WeekStart.MONDAY).sql("duckdb")
    "CAST(DATE_TRUNC('MONTH', CAST(t AS DATE)) AS DATE)"
    >>> bucket(exp.column("t"), Grain.WEEK, WeekStart.SUNDAY).sql("duckdb")
    "CAST(DATE_TRUNC('WEEK', CAST(t AS DATE) + INTERVAL (-6) DAY) + INTERVAL 6 DAY AS DATE)"
    >>> bucket(exp.column("t"), Grain.HOUR, WeekStart.MONDAY).sql("duckdb")
    "CAST(DATE_TRUNC('HOUR', t) AS TIMESTAMP)"
    """
    if grain is Grain.HOUR:
        truncated_hour = exp.TimestampTrunc(this=expression, unit=exp.var("HOUR"))
        return cast(truncated_hour, exp.DataType.Type.TIMESTAMP)
    day: exp.Expr = cast(expression, exp.DataType.Type.DATE)
    if grain is Grain.DAY:
        return day
    shift = _WEEKDAYS.index(week_start) if grain is Grain.WEEK else 0
    if shift:
        day = exp.DateAdd(this=day, expression=exp.Literal.number(-shift), unit=exp.var("DAY"))
    truncated: exp.Expr = exp.DateTrunc(  # type: ignore[no-untyped-call]
        this=day, unit=exp.var(grain.value.upper())
    )
    if shift:
        truncated = exp.DateAdd(
            this=truncated, expression=exp.Literal.number(shift), unit=exp.var("DAY")
        )
    return cast(truncated, exp.DataType.Type.DATE)


_IN_DAYS = {Grain.DAY: 1, Grain.WEEK: 7}
_IN_MONTHS = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}


def shift(expression: exp.Expr, amount: int, unit: Grain) -> exp.Expr:
    """The calendar date ``amount`` ``unit``s after ``expression`` (days or months underneath,
    which every engine can add).

    >>> shift(exp.column("t"), 1, Grain.QUARTER).sql("duckdb")
    'CAST(t AS DATE) + INTERVAL 3 MONTH'
    """
    day = cast(expression, exp.DataType.Type.DATE)
    if unit in _IN_DAYS:
        count, step = amount * _IN_DAYS[unit], "DAY"
    elif unit in _IN_MONTHS:
        count, step = amount * _IN_MONTHS[unit], "MONTH"
    else:
        raise ValueError(f"cannot shift by {unit.value}s")
    return exp.DateAdd(this=day, expression=exp.Literal.number(count), unit=exp.var(step))


def within_dates(
    expression: exp.Expr, start: dt.date | None, end: dt.date | None
) -> exp.Expr | None:
    """``start <= date(expression) <= end`` (either bound optional).

    >>> within_dates(exp.column("t"), dt.date(2026, 1, 1), None).sql()
    "CAST(t AS DATE) >= CAST('2026-01-01' AS DATE)"
    """
    day: exp.Expr = cast(expression, exp.DataType.Type.DATE)
    parts: list[exp.Expr] = []
    if start is not None:
        parts.append(exp.GTE(this=day, expression=_date(start)))
    if end is not None:
        parts.append(exp.LTE(this=day.copy(), expression=_date(end)))
    return exp.and_(*parts) if parts else None


def _date(value: dt.date) -> exp.Expr:
    return cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
