"""SQLite's rules: calendar arithmetic with ``DATE()`` modifiers, and a join order it keeps.

SQLite has no ``DATE_TRUNC`` and no interval type; ``DATE(value, modifier, ...)`` does both,
exactly, on ISO-8601 text. Each rule rewrites one node and leaves every other node alone; they
run from ``RULES["sqlite"]`` in ``metrics_layer.sql.dialects``.
"""

from __future__ import annotations

import re
from enum import Enum

from sqlglot import exp

from metrics_layer.errors import UnsupportedError
from metrics_layer.sql.names import (
    alias,
    cast,
    column,
    conjuncts,
    day_of_column,
    ident,
    table_alias,
)
from metrics_layer.sql.nodes import DATE_DAYS, RANGE_JOINED

__all__ = [
    "sqlite_calendar_months",
    "sqlite_days_as_written",
    "sqlite_decimal_cast",
    "sqlite_inner_join_order",
    "sqlite_one_date_call",
    "sqlite_range_joined_first",
    "sqlite_truncate",
]

_MONTHS_IN = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}
# Key in ``Expression.meta`` marking a truncation to the first day of a month, quarter or year:
# months added to it need no clamping to the target month's last day.
_FIRST_OF_MONTH = "sqlite_first_of_month"
# Modifiers that move a date by whole days (or set it to the first of a month or year), so that
# applying them to a timestamp or to its day gives the same day.
_DAY_MODIFIER = re.compile(
    r"[+-]?\d+ (day|days|month|months|year|years)|weekday [0-6]|start of (day|month|year)",
    re.IGNORECASE,  # as SQLite reads them
)
_TIME_FORMATS = {
    "SECOND": "%Y-%m-%d %H:%M:%S",
    "MINUTE": "%Y-%m-%d %H:%M:00",
    "HOUR": "%Y-%m-%d %H:00:00",
}


def _date(value: exp.Expr, *modifiers: str) -> exp.Expr:
    """``DATE(value, 'modifier', ...)``: SQLite's calendar arithmetic, as a tree."""
    arguments = [value.copy(), *(exp.Literal.string(m) for m in modifiers)]
    return exp.Anonymous(this="DATE", expressions=arguments)


def _unit(node: exp.Expr) -> str:
    unit = node.args.get("unit")
    return "DAY" if unit is None else unit.name.upper()


def sqlite_truncate(node: exp.Expr) -> exp.Expr:
    """Truncation to a second, minute, hour, day, week (Monday), month, quarter or year, in SQLite.

    ``'weekday 1'`` moves forward to the next Monday unless the date is one, so stepping back six
    days first lands on the Monday that starts the week (another ``week_start`` is shifted around
    this by ``sql/time.py``). A quarter starts 0, 3, 6 or 9 months after the start of the year.

    >>> week = exp.DateTrunc(this=exp.column("d"), unit=exp.var("WEEK"))
    >>> sqlite_truncate(week).sql("sqlite")
    "DATE(d, '-6 days', 'weekday 1')"
    >>> month = exp.DateTrunc(this=exp.column("d"), unit=exp.var("MONTH"))
    >>> sqlite_truncate(month).sql("sqlite")
    "DATE(d, 'start of month')"
    >>> hour = exp.TimestampTrunc(this=exp.column("t"), unit=exp.var("HOUR"))
    >>> sqlite_truncate(hour).sql("sqlite")
    "STRFTIME('%Y-%m-%d %H:00:00', t)"
    """
    if not isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)):
        return node
    # A rewritten node is not walked again: truncations inside it (a fiscal quarter truncates
    # a month) are rewritten here.
    value: exp.Expr = node.this.transform(sqlite_truncate)
    unit = _unit(node)
    truncated: exp.Expr
    if unit in _TIME_FORMATS:
        return exp.TimeToStr(this=value.copy(), format=exp.Literal.string(_TIME_FORMATS[unit]))
    if unit == "DAY":
        truncated = _date(value)
    elif unit == "WEEK":
        truncated = _date(value, "-6 days", "weekday 1")
    elif unit == "MONTH":
        truncated = _date(value, "start of month")
    elif unit == "QUARTER":
        truncated = _quarter_start(value)
    elif unit == "YEAR":
        truncated = _date(value, "start of year")
    else:
        raise UnsupportedError(
            f"sqlite cannot truncate to a {unit.lower()} exactly; use second, minute, hour, day, "
            "week, month, quarter or year, or compile for another dialect"
        )
    if isinstance(node, exp.TimestampTrunc):
        return cast(truncated, exp.DataType.Type.TIMESTAMP)
    if unit in _MONTHS_IN:
        truncated.meta[_FIRST_OF_MONTH] = True
    return truncated


def _quarter_start(value: exp.Expr) -> exp.Expr:
    """``CASE`` over the zero-padded month (``'01'`` to ``'12'`` compare as text)."""
    month = exp.TimeToStr(this=value.copy(), format=exp.Literal.string("%m"))
    ifs = [
        exp.If(
            this=exp.LTE(this=month.copy(), expression=exp.Literal.string(f"{last:02d}")),
            true=_date(value, "start of year", *([f"+{last - 3} months"] if last > 3 else [])),
        )
        for last in (3, 6, 9)
    ]
    return exp.Case(ifs=ifs, default=_date(value, "start of year", "+9 months"))


def sqlite_calendar_months(node: exp.Expr) -> exp.Expr:
    """Add months, quarters or years clamped to the target month's last day, as other engines do.

    ``DATE(d, '+1 months')`` overflows (Jan 31 becomes Mar 3); it is right whenever the day exists
    in the target month, and later than that month's last day otherwise, so the lesser of the two
    is the calendar answer (Jan 31 + 1 month = Feb 28, Feb 29 2024 + 1 year = Feb 28 2025).

    >>> node = exp.DateAdd(this=exp.column("d"), expression=exp.Literal.number(1),
    ...                    unit=exp.var("MONTH"))
    >>> sqlite_calendar_months(node).sql("sqlite")
    "MIN(DATE(d, '+1 months'), DATE(d, 'start of month', '+2 months', '-1 day'))"

    The first day of a month (a truncation to a month, quarter or year) needs no clamping:

    >>> month = sqlite_truncate(exp.DateTrunc(this=exp.column("d"), unit=exp.var("MONTH")))
    >>> sqlite_calendar_months(exp.DateSub(this=month, expression=exp.Literal.number(1),
    ...                                    unit=exp.var("MONTH"))).sql("sqlite")
    "DATE(DATE(d, 'start of month'), '-1 months')"
    """
    if not isinstance(node, (exp.DateAdd, exp.DateSub)):
        return node
    this = node.this.transform(sqlite_calendar_months)  # nested ones, as in sqlite_truncate
    amount, unit = node.expression, _unit(node)
    if isinstance(amount, exp.Interval):  # DATE_ADD(d, INTERVAL 1 MONTH) in a source's SQL
        amount, unit = amount.this, _unit(amount)
    if unit not in _MONTHS_IN:
        return node
    months = _whole_number(amount) * _MONTHS_IN[unit]
    if isinstance(node, exp.DateSub):
        months = -months
    overflowing = _date(this, f"{months:+d} months")
    if this.meta.get(_FIRST_OF_MONTH):
        # The first of a month exists in every month (a fiscal period is built this way).
        overflowing.meta[_FIRST_OF_MONTH] = True
        return overflowing
    last_day = _date(this, "start of month", f"{months + 1:+d} months", "-1 day")
    return exp.Least(this=overflowing, expressions=[last_day])


def sqlite_whole_days(node: exp.Expr) -> exp.Expr:
    """A whole number of days added to or taken from a date as a ``DATE()`` call with a day
    modifier, which ``sqlite_one_date_call`` can merge with the calls inside it.

    sqlglot writes ``DATE(DATE(t), '7 DAY')``, two calls that each parse the text of ``t``;
    per row of a correlated conversion check that was a seventh of the query
    (``activation_rate_7d`` by month). ``'+7 days'`` is the same modifier as SQLite reads it.
    A computed number of days is left to sqlglot (``DATE(t, (n) || ' DAY')``).

    >>> node = exp.DateAdd(this=exp.column("d"), expression=exp.Literal.number(7),
    ...                    unit=exp.var("DAY"))
    >>> sqlite_whole_days(node).sql("sqlite"), node.sql("sqlite")
    ("DATE(d, '+7 days')", "DATE(d, '7 DAY')")
    >>> sqlite_whole_days(exp.DateSub(this=exp.column("d"), expression=exp.Literal.number(1),
    ...                               unit=exp.var("DAY"))).sql("sqlite")
    "DATE(d, '-1 days')"
    """
    if not isinstance(node, (exp.DateAdd, exp.DateSub)) or _unit(node) != "DAY":
        return node
    days = _literal_integer(node.expression)
    if days is None:
        return node
    if isinstance(node, exp.DateSub):
        days = -days
    this = node.this.transform(sqlite_whole_days)  # nested ones, as in sqlite_calendar_months
    return _date(this, f"{days:+d} days")


def _whole_number(amount: exp.Expr) -> int:
    """The integer a literal amount spells (``1``, ``-1``, ``'1'``); UnsupportedError otherwise."""
    number = _literal_integer(amount)
    if number is None:
        raise UnsupportedError(
            "sqlite cannot add a computed number of months exactly; use a whole number, "
            "or compile for another dialect"
        )
    return number


def _literal_integer(amount: exp.Expr) -> int | None:
    """The integer a literal amount spells (``1``, ``-1``, ``'1'``); None for anything else."""
    negative = isinstance(amount, exp.Neg)
    literal = amount.this if negative else amount
    text = literal.this if isinstance(literal, exp.Literal) else None
    if not isinstance(text, str) or not text.lstrip("+-").isdigit():
        return None
    return -int(text) if negative else int(text)


def sqlite_one_date_call(node: exp.Expr) -> exp.Expr:
    """One ``DATE()`` call where the compiler nests several: ``DATE(DATE(t), 'start of month')``
    is ``DATE(t, 'start of month')``.

    Each call parses its text argument again, which is most of what a grouped query costs on
    SQLite (a third of the time of a month's truncation over a million rows). Merging is exact
    when every modifier moves by whole days, months or years or goes to the start of a day,
    month or year: the time of day then never changes which day comes out, and an invalid or
    NULL value is NULL either way. A cast to ``DATE`` is ``DATE()`` without modifiers.
    ``tests/sql/test_dialects.py`` checks this on SQLite itself, for text with and without a
    UTC offset.

    >>> import sqlglot
    >>> nested = "CAST(DATE(CAST(t AS DATE), '-6 days', 'weekday 1') AS DATE)"
    >>> sqlglot.parse_one(nested, read="sqlite").transform(sqlite_one_date_call).sql("sqlite")
    "DATE(t, '-6 days', 'weekday 1')"
    >>> kept = "DATE(DATE(t, '+12 hours'), 'start of month')"
    >>> sqlglot.parse_one(kept, read="sqlite").transform(sqlite_one_date_call).sql("sqlite")
    "DATE(DATE(t, '+12 hours'), 'start of month')"
    """
    call = _date_call(node)
    if call is None:
        return node
    value, modifiers = call
    inner = _date_call(value)
    if inner is None:
        return node
    while inner is not None:
        value, modifiers = inner[0], [*inner[1], *modifiers]
        inner = _date_call(value)
    value = value.transform(sqlite_one_date_call)
    if not modifiers:
        return cast(value, exp.DataType.Type.DATE)
    return exp.Anonymous(this="DATE", expressions=[value, *modifiers])


def _date_call(node: exp.Expr) -> tuple[exp.Expr, list[exp.Expr]] | None:
    """``(value, modifiers)`` of a ``DATE()`` call or a cast to ``DATE`` whose modifiers all
    move by whole days; None for anything else."""
    if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.DATE):
        return node.this, []
    if isinstance(node, exp.Date) and not any(v for k, v in node.args.items() if k != "this"):
        # DATE(t), as sqlglot parses it from SQLite
        return node.this, []
    if not (isinstance(node, exp.Anonymous) and node.name.upper() == "DATE" and node.expressions):
        return None
    value, *modifiers = node.expressions
    for modifier in modifiers:
        if not (modifier.is_string and _DAY_MODIFIER.fullmatch(modifier.name)):
            return None
    return value, modifiers


def sqlite_inner_join_order(node: exp.Expr) -> exp.Expr:
    """Keep the written order of an inner join: SQLite's ``CROSS JOIN ... ON`` is the same inner
    join, but its left side is always the outer loop.

    Every inner join the compiler writes has the source rows on the left and a small per-period
    CTE on the right, which SQLite then searches with an automatic index; left to itself it may
    scan the whole source once per period instead (docs/benchmarks.md, "SQLite join order").

    >>> join = exp.Join(this=exp.to_table("p"), on=exp.condition("a = b"), kind="INNER")
    >>> sqlite_inner_join_order(join).sql("sqlite")
    'CROSS JOIN p ON a = b'
    """
    if not isinstance(node, exp.Join) or node.args.get("on") is None:
        return node
    if node.side or (node.kind or "").upper() != "INNER":
        return node
    ordered = node.copy()
    ordered.set("kind", "CROSS")
    return ordered


def sqlite_range_joined_first(node: exp.Expr) -> exp.Expr:
    """A window's points (``sql/windows.py``), read once on the outer side of a LEFT JOIN on a
    range, are computed first (``AS MATERIALIZED``), as SQLite does for a CTE read twice: left
    to itself it runs them as a co-routine there, and month-to-date by month took 1.5 ms
    instead of 1.0 ms (docs/benchmarks.md, "A fifth round").

    >>> points = exp.select("1 AS n")
    >>> points.meta[RANGE_JOINED] = True
    >>> cte = exp.CTE(this=points, alias=exp.TableAlias(this=exp.to_identifier("p")))
    >>> sqlite_range_joined_first(cte).sql("sqlite")
    'p AS MATERIALIZED (SELECT 1 AS n)'
    """
    if not isinstance(node, exp.CTE) or not node.this.meta.get(RANGE_JOINED):
        return node
    node.set("materialized", True)
    return node


def sqlite_decimal_cast(node: exp.Expr) -> exp.Expr:
    """A cast to ``DECIMAL(p, s)`` rounds to ``s`` places, half away from zero, as elsewhere.

    SQLite has no decimal type: its cast to ``DECIMAL`` only gives the value numeric affinity,
    so ``CAST(2.5 AS DECIMAL(10, 0))`` stays 2.5. ``ROUND`` rounds the value's shortest
    decimal form (``ROUND(1.15, 1)`` is 1.2), as DuckDB and PostgreSQL round the decimal; the
    cast around it keeps a numeric (REAL) affinity, so ``'2.5'`` still compares as a number.

    >>> import sqlglot
    >>> sqlite_decimal_cast(sqlglot.parse_one("CAST(x AS DECIMAL(10, 2))")).sql("sqlite")
    'CAST(ROUND(CAST(x AS REAL), 2) AS REAL(10, 2))'
    """
    if not isinstance(node, exp.Cast) or not node.to.is_type(exp.DataType.Type.DECIMAL):
        return node
    parameters = node.to.expressions
    scale = parameters[1].this if len(parameters) > 1 else exp.Literal.number(0)
    real = exp.Cast(this=node.this, to=exp.DataType.build("DOUBLE"))
    return exp.Cast(this=exp.Round(this=real, decimals=scale.copy()), to=node.to.copy())


# How a per-day step's aggregate of the rows as written is aggregated again per day.
_REGROUPED: dict[type[exp.Expr], type[exp.Func]] = {
    exp.Sum: exp.Sum,
    exp.Count: exp.Sum,
    exp.Min: exp.Min,
    exp.Max: exp.Max,
}
# The tests of a day that move from the rows to the groups: the range's.
_DAY_TESTS = (exp.Between, exp.GTE, exp.LTE)


def sqlite_days_as_written(node: exp.Expr) -> exp.Expr:
    """A semi-additive scan's per-day step over a column of dates (``DATE_DAYS``) groups its
    rows by the column as written first (a CTE of its own, ``*_written``), then those few
    groups by their ``DATE()``: each group's sums and counts summed again, its MIN and MAX
    taken again; the range's exact test (``DATE(t) BETWEEN d1 AND d2``) moves to the groups,
    the text test (``sqlite_text_date_range``, which runs before) stays on the rows.

    The same rows: the day of a row is ``DATE()`` of its value as written, so rows of one
    written value are of one day, and a day's rows are the union of its written values'. A
    step with another aggregate (a distinct count, an average) is left as it is. ``DATE()``
    parses a value for every row it is called on: over the 52,000 snapshots of four months,
    twice per row (the test and the group), that and sorting the rows by it took 12 of the
    34 ms of ``mrr_growth_rate`` by week with a country, which took 28 ms grouped as written
    (docs/benchmarks.md). As a subquery in the per-day step, which SQLite runs as a
    co-routine, it took 32 ms; a CTE of its own is computed first. On the other engines a
    date column's day is the column itself.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one(
    ...     "WITH d AS (SELECT CAST(t AS DATE) AS snapshot_day, SUM(x) AS x, COUNT(y) AS n FROM s"
    ...     " WHERE t >= '2026-02-28' AND k = 1 AND CAST(t AS DATE) >= CAST('2026-03-01' AS DATE)"
    ...     " GROUP BY CAST(t AS DATE)) SELECT * FROM d"
    ... )
    >>> tree.args["with_"].expressions[0].this.meta[DATE_DAYS] = True
    >>> sqlite_days_as_written(tree.args["with_"]).sql("sqlite")  # doctest: +NORMALIZE_WHITESPACE
    "WITH d_written AS (SELECT t AS snapshot_day, SUM(x) AS x, COUNT(y) AS n FROM s
     WHERE t >= '2026-02-28' AND k = 1 GROUP BY t),
     d AS (SELECT DATE(d_written.snapshot_day) AS snapshot_day,
     SUM(d_written.x) AS x, SUM(d_written.n) AS n FROM d_written
     WHERE DATE(d_written.snapshot_day) >= DATE('2026-03-01')
     GROUP BY DATE(d_written.snapshot_day))"
    """
    if not isinstance(node, exp.With):
        return node
    ctes: list[exp.Expr] = []
    for cte in node.expressions:
        split = _as_written(cte) if cte.this.meta.get(DATE_DAYS) else None
        ctes.extend([cte] if split is None else split)
    if len(ctes) == len(node.expressions):
        return node
    return exp.With(expressions=ctes, recursive=node.args.get("recursive"))


def _as_written(cte: exp.CTE) -> tuple[exp.CTE, exp.CTE] | None:
    """The per-day step ``cte`` as its rows grouped by the column as written and those groups
    by their day; None when its aggregates cannot be aggregated again."""
    days: exp.Select = cte.this
    *inner, day = days.args["group"].expressions
    written = day_of_column(day)
    roles = [_role(projection, inner, day) for projection in days.expressions]
    if written is None or None in roles or roles.count(_Role.DAY) != 1:
        return None
    name = f"{cte.alias}_written"
    day_name = days.expressions[roles.index(_Role.DAY)].alias
    day_of = cast(column(day_name, name), exp.DataType.Type.DATE)
    values: list[exp.Expr] = []
    groups: list[exp.Expr] = []
    for projection, role in zip(days.expressions, roles, strict=True):
        named = projection.alias
        if role is _Role.DAY:
            values.append(alias(day_of.copy(), named))
            projection.set("this", written.copy())
        elif role is _Role.KEY:
            values.append(alias(column(named, name), named))
            groups.append(column(named, name))
        else:
            again = _REGROUPED[type(projection.this)]
            values.append(alias(again(this=column(named, name)), named))
    groups.append(day_of)
    days.set("group", exp.Group(expressions=[*inner, written]))
    del days.meta[DATE_DAYS]
    where = days.args.get("where")
    tests = [] if where is None else conjuncts(where.this)
    exact = [t for t in tests if isinstance(t, _DAY_TESTS) and day_of_column(t.this) == written]
    kept = [t for t in tests if not any(t is e for e in exact)]
    days.set("where", exp.Where(this=exp.and_(*kept, copy=False)) if kept else None)
    regrouped = exp.select(*values, copy=False).from_(exp.Table(this=ident(name)), copy=False)
    for test in exact:
        test.set("this", day_of.copy())
    if exact:
        regrouped.set("where", exp.Where(this=exp.and_(*exact, copy=False)))
    regrouped.set("group", exp.Group(expressions=groups))
    return exp.CTE(this=days, alias=table_alias(name)), exp.CTE(
        this=regrouped, alias=table_alias(cte.alias)
    )


class _Role(Enum):
    """What a named projection of the per-day step is."""

    DAY = "its day"
    KEY = "one of its other groupings"
    AGGREGATE = "an aggregate that can be aggregated again"


def _role(projection: exp.Expr, inner: list[exp.Expr], day: exp.Expr) -> _Role | None:
    """The role of ``projection`` in the per-day step; None for anything else."""
    if not isinstance(projection, exp.Alias):
        return None
    value = projection.this
    if value == day:
        return _Role.DAY
    if any(value == key for key in inner):
        return _Role.KEY
    if type(value) in _REGROUPED and not isinstance(value.this, exp.Distinct):
        return _Role.AGGREGATE
    return None
