"""Periods of the project's calendar table: a marker in the plan, a LEFT JOIN in the query.

A calendar table has one row per date and a column per custom period (``retail_month``)
holding the first day of that date's period (docs/calendars.md). The planner cuts a local date
into such a period with ``calendar_period``: a lookup marker that stands wherever a
built-in grain's date arithmetic would (a scan's grouping and filter, a window's points, the
spine of every period). Once the whole query is built, ``join_calendar`` replaces each lookup
by the period column of a LEFT JOIN of the calendar on that date, added to the SELECT that uses
it: one join per SELECT and date, however many periods and clauses use it. A date the calendar
does not hold finds no row, so its period is NULL, as a missing dimension row is.

A marker is one of sqlglot's own nodes, an ``Anonymous`` function named after its kind, known
by the kind written in its ``meta`` (which SQL text cannot set, and which copies keep), not a
node class of the package's own: the compiled build of sqlglot (``sqlglot[c]``) refuses to
make an instance of a class defined outside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlglot import exp

from metrics_layer.graph.model import Calendar, CalendarPeriod
from metrics_layer.sql.names import DATE_VALUE, alias, cast, column, ident, table_alias
from metrics_layer.sql.spine import (
    FIRST_DAY,
    LAST_DAY,
    SPINE,
    SPINE_DAY,
    without_unread_digits,
)

__all__ = [
    "calendar_earliest",
    "calendar_period",
    "calendar_shift",
    "has_lookup",
    "has_marker",
    "in_calendar",
    "join_calendar",
]

CALENDAR_ROWS = "calendar_rows"


# Key in ``Expression.meta`` of a calendar marker, with its kind: LOOKUP (the first day of a
# date's period: the date, the period's column), SHIFT (the day some periods on: the date, the
# column, the number of periods) or EARLIEST (the first day of the earliest period holding a
# date of a range: its first and last date, the column), the parts in that order.
MARKER = "calendar"
LOOKUP, SHIFT, EARLIEST = "lookup", "shift", "earliest"


def _marker(kind: str, *parts: exp.Expr) -> exp.Anonymous:
    node = exp.Anonymous(this=f"calendar_{kind}", expressions=list(parts))
    node.meta[MARKER] = kind
    return node


def _kind(node: exp.Expr) -> str | None:
    """The kind of the calendar marker ``node``, None for any other node.

    >>> _kind(exp.Anonymous(this="calendar_lookup", expressions=[exp.column("d")])) is None
    True
    """
    if not isinstance(node, exp.Anonymous):
        return None
    kind: str | None = node.meta.get(MARKER)
    return kind


def has_marker(functions: Iterable[exp.Expr]) -> bool:
    """Whether a calendar marker is among ``functions`` (the ``Anonymous`` nodes of a tree)."""
    return any(_kind(node) for node in functions)


def has_lookup(expression: exp.Expr) -> bool:
    """Whether ``expression`` holds a period looked up in the calendar."""
    return any(_kind(node) == LOOKUP for node in expression.find_all(exp.Anonymous))


def calendar_period(day: exp.Expr, period: CalendarPeriod) -> exp.Expr:
    """The first day of ``period`` holding the DATE ``day``, looked up in the calendar."""
    return _marker(LOOKUP, day, exp.Literal.string(period.column))


def calendar_shift(day: exp.Expr, period: CalendarPeriod, amount: int) -> exp.Expr:
    """The day ``amount`` ``period``s after the DATE ``day``: the same day of its period (the
    first, second, ... day), or the period's last day when it is shorter, as a month shifted
    from the 31st lands on the 30th."""
    return _marker(SHIFT, day, exp.Literal.string(period.column), exp.Literal.number(amount))


def calendar_earliest(first: exp.Expr, last: exp.Expr, period: CalendarPeriod) -> exp.Expr:
    """The first day of the earliest ``period`` holding a date from the DATE ``first`` to the
    DATE ``last``: one value for the whole query, read from the calendar by a scalar subquery
    (NULL when the table holds none of those dates). A window starting at such a period for
    each day of that range starts no earlier, so it bounds the rows a window reads."""
    return _marker(EARLIEST, first, last, exp.Literal.string(period.column))


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
        if has_lookup(e)
    ]
    return exp.and_(*known) if known else None


def join_calendar(select: exp.Select, calendar: Calendar | None) -> None:
    """Replace every calendar marker under ``select`` (the whole
    query, WITH included) by columns of the calendar LEFT JOINed in the SELECT holding it.

    A join goes right after the last join whose columns its date uses (right after FROM when
    it uses only FROM's), so that it precedes every join condition that may use the period.
    With the calendar's ``spine: true``, every day spine's days are first taken from the table
    instead of being generated.
    A calendar given as SQL becomes one CTE, ``calendar_rows``; shifts read two more per
    period column (``sql/calendar.py``: ``_Ctes``).

    >>> from metrics_layer.graph.model import Calendar, CalendarPeriod
    >>> month = CalendarPeriod("retail_month", "retail_month")
    >>> cal = Calendar(exp.to_table("cal").as_("calendar"), "day", {"retail_month": month})
    >>> q = exp.select(calendar_period(exp.column("d", "t"), month)).from_("t")
    >>> join_calendar(q, cal)
    >>> q.sql()
    'SELECT calendar_1.retail_month FROM t LEFT JOIN cal AS calendar_1 ON calendar_1."day" = t.d'
    """
    if calendar is not None and calendar.spine:
        ctes = _Ctes(select, calendar)
        _calendar_spine(select, calendar, ctes)
    markers = [node for node in select.find_all(exp.Anonymous) if _kind(node)]
    if not markers:
        return
    if calendar is None:
        raise ValueError("a calendar period was planned without a calendar table")
    if not calendar.spine:
        ctes = _Ctes(select, calendar)
    joined: dict[tuple[int, str], exp.Expr] = {}
    # Deepest first: a marker whose date holds another one joins after that one's joins.
    for node in sorted(markers, key=lambda node: node.depth, reverse=True):
        kind, parts = _kind(node), node.expressions
        if kind == EARLIEST:
            first, last, period = parts
            node.replace(_earliest(first, last, period.name, ctes, calendar))
            continue
        owner = node.find_ancestor(exp.Select)
        assert owner is not None, "a calendar period outside any SELECT"
        day: exp.Expr = parts[0]
        column_name: str = parts[1].name
        if kind == LOOKUP:
            key = (id(owner), f"lookup {day.sql()}")
            if key not in joined:
                name = f"calendar_{len(joined) + 1}"
                on = exp.EQ(this=column(calendar.day, name), expression=day.copy())
                _insert(owner, day, [_left_join(ctes.calendar(), name, on)])
                joined[key] = exp.to_identifier(name)
            node.replace(column(column_name, joined[key].name))
            continue
        amount = int(parts[2].name)
        key = (id(owner), f"shift {column_name} {amount} {day.sql()}")
        if key not in joined:
            joined[key] = _shift_joins(owner, day, column_name, amount, ctes, len(joined) + 1)
        node.replace(joined[key].copy())


def _earliest(
    first: exp.Expr, last: exp.Expr, column_name: str, ctes: _Ctes, calendar: Calendar
) -> exp.Expr:
    """``(SELECT MIN(column) FROM calendar WHERE day BETWEEN first AND last)``, a date value
    (``DATE_VALUE``): a bound of the rows' range that SQLite's rule tests the time column's
    text against first, as it does a date literal (``sql/dialects.py``)."""
    table = ctes.calendar()
    table.set("alias", table_alias("calendar"))
    inside = exp.Between(this=column(calendar.day, "calendar"), low=first.copy(), high=last.copy())
    earliest = exp.Select(expressions=[exp.Min(this=column(column_name, "calendar"))])
    earliest = earliest.from_(table, copy=False).where(inside, copy=False)
    subquery = exp.Subquery(this=earliest)
    subquery.meta[DATE_VALUE] = True
    return subquery


def _calendar_spine(select: exp.Select, calendar: Calendar, ctes: _Ctes) -> None:
    """Take the days of every spine under ``select`` from the calendar table: each generated
    days SELECT (``sql/spine.py``, marked in its meta) becomes the table's days between its
    bounds, and the table of digits goes when nothing counts with it any more."""
    spines = [node for node in select.find_all(exp.Select) if node.meta.get(SPINE) is not None]
    if not spines:
        return
    for node in spines:
        bounds: str = node.meta[SPINE]
        table = ctes.calendar()
        table.set("alias", table_alias("calendar"))
        day = cast(column(calendar.day, "calendar"), exp.DataType.Type.DATE)
        days = exp.Select(expressions=[alias(day, SPINE_DAY)]).from_(
            exp.Table(this=ident(bounds)), copy=False
        )
        days.append("joins", exp.Join(this=table, kind="CROSS"))
        inside = exp.Between(
            this=day.copy(), low=column(FIRST_DAY, bounds), high=column(LAST_DAY, bounds)
        )
        node.replace(days.where(inside, copy=False))
    with_ = select.args.get("with_")
    if with_ is not None:
        without_unread_digits(with_)


def _shift_joins(
    owner: exp.Select, day: exp.Expr, column_name: str, amount: int, ctes: _Ctes, number: int
) -> exp.Expr:
    """Join the day ``amount`` periods of ``column_name`` after ``day``, at the same place in
    its period (its last day when that period is shorter); the expression of that day."""
    positions, last_days = ctes.positions(column_name)
    here, there, last = f"shift_{number}_from", f"shift_{number}_to", f"shift_{number}_last"
    target = exp.Add(this=column(PERIOD_NUMBER, here), expression=exp.Literal.number(amount))
    joins = [
        _left_join(
            exp.Table(this=ident(positions)),
            here,
            exp.EQ(this=column(CALENDAR_DAY, here), expression=day.copy()),
        ),
        _left_join(
            exp.Table(this=ident(positions)),
            there,
            exp.and_(
                exp.EQ(this=column(PERIOD_NUMBER, there), expression=target.copy()),
                exp.EQ(this=column(DAY_NUMBER, there), expression=column(DAY_NUMBER, here)),
            ),
        ),
        _left_join(
            exp.Table(this=ident(last_days)),
            last,
            exp.EQ(this=column(PERIOD_NUMBER, last), expression=target),
        ),
    ]
    _insert(owner, day, joins)
    return exp.Coalesce(this=column(CALENDAR_DAY, there), expressions=[column(CALENDAR_DAY, last)])


CALENDAR_DAY = "calendar_day"
PERIOD_NUMBER = "period_number"
DAY_NUMBER = "day_number"
PERIOD_DAYS = "period_days"


class _Ctes:
    """The CTEs the calendar's joins read, added at the front of the query's WITH once each:
    ``calendar_rows`` (a calendar given as SQL); per period column, ``calendar_<column>_days``
    (each day's period number, counted from the first period, its place in the period and the
    period's length) and ``calendar_<column>_last_days`` (each period's last day)."""

    def __init__(self, select: exp.Select, calendar: Calendar) -> None:
        self.select = select
        self.source = calendar
        self.added = 0
        self.table: exp.Expr | None = None
        self.columns: dict[str, tuple[str, str]] = {}

    def _add(self, name: str, query: exp.Expr) -> str:
        with_ = self.select.args.get("with_")
        ctes: list[exp.CTE] = list(with_.expressions) if with_ is not None else []
        taken = {cte.alias for cte in ctes}
        while name in taken:
            name = f"{name}_"
        ctes.insert(self.added, exp.CTE(this=query, alias=table_alias(name)))
        self.added += 1
        self.select.set("with_", exp.With(expressions=ctes))
        return name

    def calendar(self) -> exp.Expr:
        """The calendar as a table to join: its table, or the CTE of its SQL."""
        if self.table is None:
            relation = self.source.relation
            if isinstance(relation, exp.Subquery):
                name = self._add(CALENDAR_ROWS, relation.this.copy())
                self.table = exp.Table(this=ident(name))
            else:
                self.table = relation.copy()
                self.table.set("alias", None)
        return self.table.copy()

    def positions(self, period: str) -> tuple[str, str]:
        if period not in self.columns:
            table = self.calendar()
            table.set("alias", table_alias("calendar"))
            start = column(period, "calendar")
            order = exp.Order(expressions=[exp.Ordered(this=column(self.source.day, "calendar"))])
            rows = exp.Select(
                expressions=[
                    alias(column(self.source.day, "calendar"), CALENDAR_DAY),
                    alias(
                        exp.Window(
                            this=exp.Anonymous(this="DENSE_RANK"),
                            order=exp.Order(expressions=[exp.Ordered(this=start.copy())]),
                        ),
                        PERIOD_NUMBER,
                    ),
                    alias(
                        exp.Window(this=exp.RowNumber(), partition_by=[start.copy()], order=order),
                        DAY_NUMBER,
                    ),
                    alias(
                        exp.Window(this=exp.Count(this=exp.Star()), partition_by=[start.copy()]),
                        PERIOD_DAYS,
                    ),
                ]
            ).from_(table, copy=False)
            rows = rows.where(exp.Not(this=exp.Is(this=start, expression=exp.Null())), copy=False)
            days = self._add(f"calendar_{period}_days", rows)
            last = exp.Select(
                expressions=[column(PERIOD_NUMBER, days), column(CALENDAR_DAY, days)]
            ).from_(exp.Table(this=ident(days)), copy=False)
            last = last.where(
                exp.EQ(this=column(DAY_NUMBER, days), expression=column(PERIOD_DAYS, days)),
                copy=False,
            )
            self.columns[period] = (days, self._add(f"calendar_{period}_last_days", last))
        return self.columns[period]


def _left_join(table: exp.Expr, name: str, on: exp.Expr) -> exp.Join:
    table = table.copy()
    table.set("alias", table_alias(name))
    return exp.Join(this=table, on=on, side="LEFT")


def _insert(owner: exp.Select, day: exp.Expr, joins: list[exp.Join]) -> None:
    """Put ``joins`` just after the last join of ``owner`` whose table ``day`` reads (right
    after FROM when it reads only FROM's)."""
    present: list[exp.Join] = list(owner.args.get("joins") or [])
    tables = {c.table for c in day.find_all(exp.Column)}
    position = 0
    for index, join in enumerate(present):
        if join.this.alias_or_name in tables:
            position = index + 1
    owner.set("joins", [*present[:position], *joins, *present[position:]])
