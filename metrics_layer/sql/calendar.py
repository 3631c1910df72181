"""Periods of the project's calendar table: a marker in the plan, a LEFT JOIN in the query.

A calendar table has one row per date and a column per custom period (``retail_month``)
holding the first day of that date's period (docs/calendars.md). The planner cuts a local date
into such a period with ``calendar_period``: a ``CalendarLookup`` node that stands wherever a
built-in grain's date arithmetic would (a scan's grouping and filter, a window's points, the
spine of every period). Once the whole query is built, ``join_calendar`` replaces each lookup
by the period column of a LEFT JOIN of the calendar on that date, added to the SELECT that uses
it: one join per SELECT and date, however many periods and clauses use it. A date the calendar
does not hold finds no row, so its period is NULL, as a missing dimension row is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from sqlglot import exp

from metrics_layer.graph.model import Calendar, CalendarPeriod
from metrics_layer.sql.names import column, ident, table_alias

__all__ = ["CalendarLookup", "calendar_period", "in_calendar", "join_calendar"]

CALENDAR_ROWS = "calendar_rows"


class CalendarLookup(exp.Expression):
    """The ``column`` of the calendar table's row for the date ``this`` (replaced before SQL
    is generated)."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "column": True}


def calendar_period(day: exp.Expr, period: CalendarPeriod) -> exp.Expr:
    """The first day of ``period`` holding the DATE ``day``, looked up in the calendar."""
    return CalendarLookup(this=day, column=exp.Literal.string(period.column))


def in_calendar(periods: Sequence[tuple[str, exp.Expr]]) -> exp.Expr | None:
    """For a spine's days: the condition that each calendar period among ``periods`` (alias,
    expression) is known, so that days the calendar does not hold are not periods; None when
    no period comes from the calendar.

    >>> month = CalendarPeriod("retail_month", "retail_month")
    >>> in_calendar([("m", calendar_period(exp.column("d"), month))]) is not None
    True
    >>> in_calendar([("m", exp.column("d"))]) is None
    True
    """
    known = [
        exp.Not(this=exp.Is(this=e.copy(), expression=exp.Null()))
        for _, e in periods
        if e.find(CalendarLookup) is not None
    ]
    return exp.and_(*known) if known else None


def join_calendar(select: exp.Select, calendar: Calendar | None) -> None:
    """Replace every ``CalendarLookup`` under ``select`` (the whole query, WITH included) by a
    column of the calendar LEFT JOINed in the SELECT holding it, on its date.

    The join goes right after the last join whose columns the date uses (right after FROM
    when it uses only FROM's), so that it precedes every join condition that may use the
    period. A calendar given as SQL becomes one CTE, ``calendar_rows``.

    >>> from metrics_layer.graph.model import Calendar, CalendarPeriod
    >>> month = CalendarPeriod("retail_month", "retail_month")
    >>> cal = Calendar(exp.to_table("cal").as_("calendar"), "day", {"retail_month": month})
    >>> q = exp.select(calendar_period(exp.column("d", "t"), month)).from_("t")
    >>> join_calendar(q, cal)
    >>> q.sql()
    't.calendar_1.retail_month FROM t LEFT JOIN cal AS calendar_1 ON calendar_1."day" = t.d'
    """
    lookups = list(select.find_all(CalendarLookup))
    if not lookups:
        return
    if calendar is None:
        raise ValueError("a calendar period was planned without a calendar table")
    relation = _relation(select, calendar)
    joined: dict[tuple[int, str], str] = {}
    # Deepest first: a lookup whose date holds another lookup joins after that one's join.
    for node in sorted(lookups, key=_depth, reverse=True):
        owner = node.find_ancestor(exp.Select)
        assert owner is not None, "a calendar lookup outside any SELECT"
        day: exp.Expr = node.this
        key = (id(owner), day.sql())
        name = joined.get(key)
        if name is None:
            name = f"calendar_{len(joined) + 1}"
            joined[key] = name
            table = relation.copy()
            table.set("alias", table_alias(name))
            on = exp.EQ(this=column(calendar.day, name), expression=day.copy())
            joins: list[exp.Join] = list(owner.args.get("joins") or [])
            joins.insert(_position(joins, day), exp.Join(this=table, on=on, side="LEFT"))
            owner.set("joins", joins)
        node.replace(column(node.args["column"].name, name))


def _relation(select: exp.Select, calendar: Calendar) -> exp.Expr:
    """The calendar as a table to join: its table, or the CTE of its SQL."""
    if not isinstance(calendar.relation, exp.Subquery):
        return calendar.relation
    with_ = select.args.get("with_")
    ctes: list[exp.CTE] = list(with_.expressions) if with_ is not None else []
    taken = {cte.alias for cte in ctes}
    name = CALENDAR_ROWS
    while name in taken:
        name = f"{name}_"
    ctes.insert(0, exp.CTE(this=calendar.relation.this.copy(), alias=table_alias(name)))
    select.set("with_", exp.With(expressions=ctes))
    return exp.Table(this=ident(name))


def _position(joins: list[exp.Join], day: exp.Expr) -> int:
    """Just after the last of ``joins`` whose table ``day`` reads (0: only FROM's)."""
    tables = {c.table for c in day.find_all(exp.Column)}
    position = 0
    for index, join in enumerate(joins):
        if join.this.alias_or_name in tables:
            position = index + 1
    return position


def _depth(node: exp.Expr) -> int:
    depth = 0
    parent = node.parent
    while parent is not None:
        depth += 1
        parent = parent.parent
    return depth
