"""The time spine: every calendar day of a range, generated in SQL without a spine table.

The days are counted in base 10 from the first day: a ten-row table of digits joined with
itself once per digit gives 0 .. 10**digits - 1, and each count is added to the first day.
Only plain SELECT, UNION ALL, CROSS JOIN and day arithmetic are used, so the same tree runs on
every engine and passes the statement guard as it is (no table function, no recursion, no
session setting such as MySQL's recursion depth).

>>> sql = days_select("bounds", 2).sql("duckdb")
>>> sql[sql.index("SELECT d0") :].split(" AS n")[0]
'SELECT d0.n + d1.n * 10'
>>> sql[sql.index("INTERVAL") :].split(" AS DATE")[0]
'INTERVAL (spine_offsets.n) DAY'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlglot import exp

from metrics_layer.sql.names import (
    alias,
    cast,
    column,
    date_literal,
    date_literal_text,
    ident,
    table_alias,
)

__all__ = [
    "DIGITS",
    "FIRST_DAY",
    "LAST_DAY",
    "READS_SPINE",
    "SPINE_DAY",
    "bounds_select",
    "clickhouse_day_spine",
    "days_select",
    "digits_cte",
    "read_by",
    "spark_day_spine",
    "spine_digits",
    "spine_last",
    "sqlite_day_spine",
    "sqlite_days_in_reader",
    "sqlite_spines",
    "without_unread_digits",
]

DIGITS = "spine_digits"
OFFSETS = "spine_offsets"
# Key in ``Expression.meta`` marking a spine's SELECT of days, with its bounds' CTE name.
SPINE = "day_spine"
# Key in ``Expression.meta`` marking the one SELECT that reads a spine's days, with the days'
# CTE name (``read_by``).
READS_SPINE = "reads_day_spine"
SPINE_DAY = "spine_day"
FIRST_DAY = "first_day"
LAST_DAY = "last_day"
# Without both bounds the span is unknown when compiling: 100,000 days (273 years).
DEFAULT_DIGITS = 5


def spine_digits(start: dt.date | None, end: dt.date | None) -> int:
    """How many decimal digits count the days from ``start`` to ``end``.

    >>> spine_digits(dt.date(2026, 1, 1), dt.date(2026, 1, 10)), spine_digits(None, None)
    (1, 5)
    >>> spine_digits(dt.date(2025, 1, 1), dt.date(2026, 12, 31))
    3
    """
    if start is None or end is None:
        return DEFAULT_DIGITS
    return max(1, len(str(max((end - start).days, 0))))


def digits_cte() -> exp.CTE:
    """``spine_digits(n)``: the ten rows 0 .. 9."""
    query: exp.Query = _digit(0)
    for n in range(1, 10):
        query = exp.Union(this=query, expression=_digit(n), distinct=False)
    return exp.CTE(this=query, alias=table_alias(DIGITS))


def _digit(n: int) -> exp.Select:
    return exp.Select(expressions=[alias(exp.Literal.number(n), "n")])


def bounds_select(
    start: dt.date | None,
    end: dt.date | None,
    rows: exp.Expr | None,
    day: exp.Expr,
    where: exp.Expr | None = None,
) -> exp.Select:
    """One row: the first and last day of the spine, given or the first and last ``day`` of
    ``rows`` (those matching ``where``); ``rows`` is read only when a bound is missing.

    >>> bounds_select(None, None, exp.to_table("t"), exp.column("d", "t")).sql()
    'SELECT MIN(t.d) AS first_day, MAX(t.d) AS last_day FROM t'
    """

    def bound(value: dt.date | None, edge: type[exp.Min] | type[exp.Max]) -> exp.Expr:
        if value is not None:
            return date_literal(value)
        return edge(this=day.copy())

    select = exp.Select(
        expressions=[alias(bound(start, exp.Min), FIRST_DAY), alias(bound(end, exp.Max), LAST_DAY)]
    )
    if rows is not None and (start is None or end is None):
        select.set("from_", exp.From(this=rows))
        if where is not None:
            select.set("where", exp.Where(this=where.copy()))
    return select


def days_select(bounds: str, digits: int, last: exp.Expr | None = None) -> exp.Select:
    """``spine_day``: every day from the bounds' first day to their last, one row each.

    The day counts come from a derived table (``spine_offsets``), so the day is computed from one
    column, not from the whole sum of digits each time it is used. ``last``: the count of the
    last day, when both bounds are known when compiling (``spine_last``); the counts past it
    are then cut as integers, before any date is computed (SQLite parses a date for each call
    of its date functions: cutting 1,000 counts by date to keep 365 took 1.5 ms).

    >>> last = spine_last(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    >>> print(days_select("b", 3, last).sql("duckdb").split("WHERE ")[1])
    spine_offsets.n <= DATE_DIFF('DAY', CAST('2026-01-01' AS DATE), CAST('2026-12-31' AS DATE))
    """
    count: exp.Expr = column("n", "d0")
    for place in range(1, digits):
        scaled = exp.Mul(this=column("n", f"d{place}"), expression=exp.Literal.number(10**place))
        count = exp.Add(this=count, expression=scaled)
    offsets = exp.Select(expressions=[alias(count, "n")]).from_(_digit_table(0), copy=False)
    for place in range(1, digits):
        offsets.append("joins", exp.Join(this=_digit_table(place), kind="CROSS"))
    select = exp.Select(expressions=[alias(_day(bounds), SPINE_DAY)]).from_(
        exp.Table(this=ident(bounds)), copy=False
    )
    derived = exp.Subquery(this=offsets, alias=table_alias(OFFSETS))
    select.append("joins", exp.Join(this=derived, kind="CROSS"))
    inside: exp.Expr
    if last is None:
        inside = exp.LTE(this=_day(bounds), expression=column(LAST_DAY, bounds))
    else:
        inside = exp.LTE(this=column("n", OFFSETS), expression=last)
    select = select.where(inside, copy=False)
    select.meta[SPINE] = bounds
    return select


def read_by(reader: exp.Select, days: str) -> exp.Select:
    """``reader``, marked as the one SELECT of the query that reads the spine's days of the CTE
    ``days``: SQLite counts the days there (``sqlite_days_in_reader``) without looking through
    the whole query for other readers.

    >>> read_by(exp.select("spine_day").from_("d"), "d").meta[READS_SPINE]
    'd'
    """
    reader.meta[READS_SPINE] = days
    return reader


def spine_last(start: dt.date | None, end: dt.date | None) -> exp.Expr | None:
    """The count of the spine's last day after its first, as SQL date arithmetic on the two
    dates (None: a bound comes from the data). Not the number itself: a query's SQL differs
    from another's of the same shape only in its dates (``sql/shapes.py``), and engines work
    out arithmetic on literals once per statement.

    >>> spine_last(dt.date(2026, 1, 1), dt.date(2026, 1, 10)).sql("duckdb")
    "DATE_DIFF('DAY', CAST('2026-01-01' AS DATE), CAST('2026-01-10' AS DATE))"
    >>> spine_last(None, dt.date(2026, 1, 10)) is None
    True
    """
    if start is None or end is None:
        return None
    return exp.DateDiff(this=date_literal(end), expression=date_literal(start), unit=exp.var("DAY"))


def _digit_table(place: int) -> exp.Table:
    return exp.Table(this=ident(DIGITS), alias=exp.TableAlias(this=exp.to_identifier(f"d{place}")))


def _day(bounds: str) -> exp.Expr:
    """The bounds' first day plus the offset ``spine_offsets.n``, as a DATE."""
    first = cast(column(FIRST_DAY, bounds), exp.DataType.Type.DATE)
    day = exp.DateAdd(this=first, expression=column("n", OFFSETS), unit=exp.var("DAY"))
    return cast(day, exp.DataType.Type.DATE)


def spark_day_spine(node: exp.Expr) -> exp.Expr:
    """Spark multiplies the partitions of a cross join's sides: generate the days with
    SEQUENCE instead of counting them.

    >>> print(spark_day_spine(days_select("b", 3)).sql("spark", pretty=True))
    SELECT
      EXPLODE(SEQUENCE(CAST(b.first_day AS DATE), CAST(b.last_day AS DATE))) AS spine_day
    FROM b
    WHERE
      b.first_day <= b.last_day
    """
    return _generated(node, _sequence)


def clickhouse_day_spine(node: exp.Expr) -> exp.Expr:
    """ClickHouse plans a CTE again at each reference and builds the table of digits from ten
    one-row SELECTs each time (11 ms of a month-to-date query whose hand-written form takes 7):
    generate the days from an array of offsets instead, ``arrayJoin`` of ``range``, only as
    many as the bounds span.

    >>> sql = clickhouse_day_spine(days_select("b", 3)).sql("clickhouse")
    >>> head, tail = sql.split(" FROM")[0].split(", range")
    >>> print(head)
    SELECT arrayJoin(arrayMap(n -> addDays(b.first_day, n)
    >>> print(tail)
    (toUInt32(DATE_DIFF(DAY, b.first_day, b.last_day) + 1)))) AS spine_day
    """
    return _generated(node, _offsets)


def sqlite_day_spine(node: exp.Expr) -> exp.Expr:
    """SQLite parses a date's text at each call of a date function, and a spine's day is
    written as three calls, ``DATE(DATE(DATE(first_day), n || ' DAY'))``, twice per day when a
    later step both groups by it and reads it: count the days on the first day's Julian day
    number instead, ``DATE(JULIANDAY(first_day) + n)``, one parse and one date written per day.
    The same day for every whole ``n`` (both add ``n`` times 24 hours to the first day's
    instant, and a NULL or unreadable first day gives NULL either way). A year-to-date spine of
    365 days by month: 1.70 to 1.46 ms of the whole query (docs/benchmarks.md). When the query
    gives the first day, its own text is counted from, ``JULIANDAY('2026-01-01')``, which
    SQLite works out once, where the bounds' column is read again for each day (the same 365
    days, grouped into months: 400 to 335 µs).

    >>> spine = sqlite_day_spine(days_select("b", 2))
    >>> spine.selects[0].sql("sqlite")
    'DATE(JULIANDAY(b.first_day) + spine_offsets.n) AS spine_day'
    >>> spine.args["where"].sql("sqlite")
    'WHERE DATE(JULIANDAY(b.first_day) + spine_offsets.n) <= b.last_day'
    """
    bounds = node.meta.get(SPINE) if isinstance(node, exp.Select) else None
    if bounds is None:
        return node
    first = column(FIRST_DAY, bounds)
    known = _given_first_day(node, bounds)
    for added in list(node.find_all(exp.DateAdd)):
        day = added.parent
        start, count = added.this, added.expression
        if not (
            isinstance(day, exp.Cast)
            and day.to.this is exp.DataType.Type.DATE
            and isinstance(start, exp.Cast)
            and start.this == first
            and count == column("n", OFFSETS)
        ):
            continue
        julian = exp.Anonymous(this="JULIANDAY", expressions=[(known or first).copy()])
        days = exp.Add(this=julian, expression=count.copy())
        day.replace(exp.Anonymous(this="DATE", expressions=[days]))
    return node


def _given_first_day(days: exp.Expr, bounds: str) -> exp.Literal | None:
    """The first day of a spine's bounds as the text of the date, when the query gives it
    (``bounds_select``: ``CAST('2026-01-01' AS DATE) AS first_day``); None when it comes from
    the data or the bounds are not a CTE beside the days."""
    cte = days.parent
    with_ = cte.parent if isinstance(cte, exp.CTE) else None
    if not isinstance(with_, exp.With):
        return None
    for sibling in with_.expressions:
        if sibling.alias != bounds or not isinstance(sibling.this, exp.Select):
            continue
        for projection in sibling.this.expressions:
            if projection.alias == FIRST_DAY:
                return date_literal_text(projection.unalias())
    return None


def sqlite_spines(node: exp.Expr) -> exp.Expr:
    """A query's day spines for SQLite, in one pass over its WITH: each spine's days counted on
    the Julian day number (``sqlite_day_spine``), then counted in the one SELECT that reads
    them (``sqlite_days_in_reader``); any other node as it is.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("WITH b AS (SELECT 1 AS x) SELECT x FROM b")
    >>> sqlite_spines(tree.args["with_"]) is tree.args["with_"]
    True
    """
    if not isinstance(node, exp.With):
        return node
    for cte in node.expressions:
        if isinstance(cte.this, exp.Select) and cte.this.meta.get(SPINE) is not None:
            sqlite_day_spine(cte.this)
    return sqlite_days_in_reader(node)


def sqlite_days_in_reader(node: exp.Expr) -> exp.Expr:
    """A spine's days, read by one SELECT alone (a window's points, a filled series' periods,
    marked by ``read_by`` where they are built), are counted in that SELECT, and the days' CTE
    goes; any other node as it is. A reader that reads the days twice, or from a subquery too,
    keeps the CTE.

    Its day, ``DATE(JULIANDAY(first_day) + n)`` (``sqlite_day_spine``), is written where the
    reader uses it, so the reader's truncation of it merges into the same call
    (``sqlite_one_date_call``): ``DATE(JULIANDAY(first_day) + n, 'start of month')`` parses no
    text, where the truncation of the days' CTE parsed each day written by the CTE again. A
    year to date by month on SQLite, 365 days: 1.40 to 1.17 ms of the whole query (0.91 ms by
    hand), with the first day written as the query's date (docs/benchmarks.md, "A twelfth
    round").

    >>> import sqlglot
    >>> tree = sqlglot.parse_one(
    ...     "WITH b AS (SELECT '2026-01-01' AS first_day), "
    ...     "d AS (SELECT DATE(JULIANDAY(b.first_day) + spine_offsets.n) AS spine_day FROM b "
    ...     "CROSS JOIN spine_offsets WHERE spine_offsets.n <= 40) "
    ...     "SELECT DATE(spine_day, 'start of month') AS m, MAX(d.spine_day) AS e FROM d GROUP BY 1"
    ... )
    >>> [_, d] = tree.find_all(exp.CTE)
    >>> d.this.meta[SPINE] = "b"
    >>> _ = read_by(tree, "d")
    >>> print(tree.transform(sqlite_days_in_reader).sql("sqlite", pretty=True))
    WITH b AS (
      SELECT
        '2026-01-01' AS first_day
    )
    SELECT
      DATE(DATE(JULIANDAY(b.first_day) + spine_offsets.n), 'start of month') AS m,
      DATE(JULIANDAY(b.first_day) + MAX(spine_offsets.n)) AS e
    FROM b
    CROSS JOIN spine_offsets
    WHERE
      spine_offsets.n <= 40
    GROUP BY
      1
    """
    if not isinstance(node, exp.With):
        return node
    candidates = [cte.this for cte in node.expressions]
    candidates.append(node.parent)  # the query itself
    readers = {
        reader.meta[READS_SPINE]: reader
        for reader in candidates
        if isinstance(reader, exp.Select) and READS_SPINE in reader.meta
    }
    for cte in list(node.expressions):
        days, select = cte.this, readers.get(cte.alias)
        if not (
            isinstance(days, exp.Select)
            and days.meta.get(SPINE) is not None
            and days.args.get("from_") is not None
            and select is not None
        ):
            continue
        # The marked reader reads the days once, from its FROM, and no subquery of it does.
        source = select.args.get("from_")
        table = source.this if isinstance(source, exp.From) else None
        if not isinstance(table, exp.Table) or table.name != cte.alias:
            continue
        name = table.alias_or_name
        tables, read_below = 0, False
        days_columns: list[exp.Column] = []
        for found in select.find_all(exp.Table, exp.Column):
            if isinstance(found, exp.Table):
                tables += found.name == cte.alias
            elif (
                isinstance(found, exp.Column)
                and found.name == SPINE_DAY
                and found.table in (name, "")
            ):
                if found.find_ancestor(exp.Select) is select:
                    days_columns.append(found)
                else:  # a subquery's own day column, unless it names the days' table
                    read_below = read_below or found.table == name
        if tables != 1 or read_below:
            continue
        _count_days_in(select, days, days_columns)
        cte.pop()
    return node


def _count_days_in(select: exp.Select, days: exp.Select, days_columns: list[exp.Column]) -> None:
    """``select``, which reads the days of ``days`` from its FROM, with the days' FROM, joins
    and condition in place of that table, and their day in place of ``days_columns``, its own
    columns of the day (not those of a subquery of it)."""
    day = days.selects[0].unalias()
    count = column("n", OFFSETS)
    counted_once = sum(found == count for found in day.find_all(exp.Column)) == 1
    for found in days_columns:
        edge = found.parent
        if (
            isinstance(edge, (exp.Max, exp.Min))
            and edge.this is found
            and not isinstance(edge.parent, exp.Window)
            and counted_once
        ):
            # The day grows with the count: the last day is the day of the largest count,
            # one date written instead of one per day.
            last = day.copy()
            counted = next(c for c in last.find_all(exp.Column) if c == count)
            counted.replace(type(edge)(this=counted.copy()))
            edge.replace(last)
        else:
            found.replace(day.copy())
    select.set("from_", days.args["from_"].pop())
    select.set("joins", [*days.args.get("joins", []), *select.args.get("joins", [])])
    condition = days.args.get("where")
    if condition is not None:
        select.where(condition.this, copy=False)


def without_unread_digits(node: exp.Expr) -> exp.Expr:
    """A query's WITH without the table of digits once no table of the query reads it (its
    spines generated from an array, a sequence or a calendar table's days); any other node as
    it is.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one(
    ...     "WITH spine_digits AS (SELECT 0 AS n), b AS (SELECT 1 AS x) SELECT x FROM b"
    ... )
    >>> tree.transform(without_unread_digits).sql()
    'WITH b AS (SELECT 1 AS x) SELECT x FROM b'
    """
    query = node.parent
    if not isinstance(node, exp.With) or query is None:
        return node
    if any(table.name == DIGITS for table in query.find_all(exp.Table)):
        return node
    kept = [cte for cte in node.expressions if cte.alias != DIGITS]
    if kept:
        node.set("expressions", kept)
    return node


def _generated(node: exp.Expr, days: Callable[[exp.Expr, exp.Expr], exp.Expr]) -> exp.Expr:
    """A spine's SELECT of days (marked in its meta) as one row per element of ``days(first,
    last)``, an array of the days from its bounds' first to last day; any other node as it is."""
    bounds = node.meta.get(SPINE) if isinstance(node, exp.Select) else None
    if bounds is None:
        return node
    first, last = column(FIRST_DAY, bounds), column(LAST_DAY, bounds)
    select = exp.Select(expressions=[alias(exp.Explode(this=days(first, last)), SPINE_DAY)])
    select = select.from_(exp.Table(this=ident(bounds)), copy=False)
    return select.where(exp.LTE(this=first.copy(), expression=last.copy()), copy=False)


def _sequence(first: exp.Expr, last: exp.Expr) -> exp.Expr:
    """``SEQUENCE(first, last)`` of the two dates."""
    return exp.GenerateSeries(
        start=cast(first.copy(), exp.DataType.Type.DATE),
        end=cast(last.copy(), exp.DataType.Type.DATE),
    )


def _offsets(first: exp.Expr, last: exp.Expr) -> exp.Expr:
    """``arrayMap(n -> addDays(first, n), range(toUInt32(DATE_DIFF(DAY, first, last) + 1)))``."""
    span = exp.DateDiff(this=last.copy(), expression=first.copy(), unit=exp.Var(this="DAY"))
    count = exp.Add(this=span, expression=exp.Literal.number(1))
    offsets = exp.Anonymous(
        this="range", expressions=[exp.Anonymous(this="toUInt32", expressions=[count])]
    )
    offset = exp.to_identifier("n")
    day = exp.Anonymous(this="addDays", expressions=[first.copy(), offset.copy()])
    return exp.Transform(this=offsets, expression=exp.Lambda(this=day, expressions=[offset]))
