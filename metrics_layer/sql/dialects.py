"""Per-dialect differences that sqlglot does not settle, in one table per dialect.

``RULES`` rewrites the neutral tree (each rule a small pure function over one node);
``UNSUPPORTED`` names node types a dialect cannot run exactly, so compiling fails with an
UnsupportedError instead of producing SQL that is subtly different.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TypeVar

from sqlglot import exp
from sqlglot.dialects import MODULE_BY_DIALECT
from sqlglot.dialects.dialect import Dialect

from metrics_layer.errors import UnsupportedError, did_you_mean
from metrics_layer.sql.clickhouse import (
    clickhouse_day,
    clickhouse_decimal_cast,
    clickhouse_distinct_keys,
    clickhouse_division,
    clickhouse_lead,
    clickhouse_local_time,
    clickhouse_one_step,
    clickhouse_percentile,
    clickhouse_types,
    clickhouse_unread_columns,
    clickhouse_utf8,
)
from metrics_layer.sql.names import (
    DATE_VALUE,
    cast,
    column,
    conjuncts,
    date_literal_text,
    day_of_column,
    table_alias,
)
from metrics_layer.sql.nodes import (
    CHANGE_MARKS,
    CORRELATED,
    EDGE_PERIODS,
    LATEST,
    NodesByKind,
    by_kind,
    holds,
    kinds_in,
    release,
)
from metrics_layer.sql.parts import (
    bigquery_date_part,
    clickhouse_date_part,
    mysql_date_part,
    redshift_date_part,
    snowflake_date_part,
    spark_date_part,
    sqlite_date_part,
    trino_date_part,
)
from metrics_layer.sql.spine import (
    clickhouse_day_spine,
    spark_day_spine,
    sqlite_spines,
    without_unread_digits,
)
from metrics_layer.sql.sqlite import (
    sqlite_calendar_months,
    sqlite_days_as_written,
    sqlite_decimal_cast,
    sqlite_inner_join_order,
    sqlite_one_date_call,
    sqlite_range_joined_first,
    sqlite_truncate,
    sqlite_whole_days,
)

__all__ = [
    "DEFAULT_DIALECT",
    "REFUSED_DIALECTS",
    "RULES",
    "UNSUPPORTED",
    "dialect_name",
    "prepared",
    "render",
]

DEFAULT_DIALECT = "duckdb"
Rule = Callable[[exp.Expr], exp.Expr]
R = TypeVar("R", bound=Rule)


def acts_on(*kinds: type[exp.Expr]) -> Callable[[R], R]:
    """Mark a rule as changing only nodes of ``kinds``: ``render`` skips it (a whole walk of the
    tree) when the tree holds none of them."""

    def mark(rule: R) -> R:
        rule.kinds = kinds  # type: ignore[attr-defined]
        return rule

    return mark


def each_node(rule: R) -> R:
    """Mark an ``acts_on`` rule as replacing single nodes of its kinds: ``render`` hands it
    only those nodes, as found in the tree, outer first, instead of walking the whole tree
    through it (comparisons are in most queries; the walk cost a third of the compile of a
    conversion metric). A node of its kinds nested in one it replaces still gets its own call,
    as found: a rule that rewrites such nested nodes itself (a truncation inside a truncation)
    builds its replacement from copies, so that call changes nothing in the tree; one that
    moves them into its replacement leaves them to that call."""
    rule.each_node = True  # type: ignore[attr-defined]
    return rule


_ALIASES = {
    "postgresql": "postgres",
    "mariadb": "mysql",
    "mssql": "tsql",
    "sparksql": "spark",
    "pyspark": "spark",
    "chdb": "clickhouse",
}


def _week_truncation(node: exp.Expr) -> exp.Expr | None:
    """The truncated value when ``node`` truncates to a week, else None."""
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
        unit = node.args.get("unit")
        if unit is not None and unit.name.upper() == "WEEK":
            value: exp.Expr = node.this
            return value
    return None


@acts_on(exp.DateTrunc, exp.TimestampTrunc)
def week_starts_monday(node: exp.Expr) -> exp.Expr:
    """BigQuery's WEEK starts on Sunday; ask for Monday explicitly.

    >>> t = exp.DateTrunc(this=exp.column("d"), unit=exp.var("WEEK"))
    >>> week_starts_monday(t).sql("bigquery")
    'DATE_TRUNC(d, WEEK(MONDAY))'
    """
    value = _week_truncation(node)
    if value is None:
        return node
    return node.__class__(this=value, unit=exp.WeekStart(this=exp.var("MONDAY")))


@acts_on(exp.DateTrunc, exp.TimestampTrunc)
def mysql_truncation(node: exp.Expr) -> exp.Expr:
    """MySQL has no date truncation; sqlglot formats the year and month as text and parses
    it back (``STR_TO_DATE(CONCAT(...))``), which doubles the cost of grouping by month on
    MariaDB. Step back with date arithmetic instead: WEEKDAY() days for a week (Monday is 0),
    DAYOFMONTH() - 1 days for a month, and from the year's first day (``MAKEDATE(year, 1)``)
    forward by whole quarters for a quarter.

    >>> t = exp.DateTrunc(this=exp.column("d"), unit=exp.var("WEEK"))
    >>> mysql_truncation(t).sql("mysql")
    'DATE_SUB(CAST(d AS DATE), INTERVAL (WEEKDAY(d)) DAY)'
    >>> t = exp.DateTrunc(this=exp.column("d"), unit=exp.var("MONTH"))
    >>> mysql_truncation(t).sql("mysql")
    'DATE_SUB(CAST(d AS DATE), INTERVAL (DAYOFMONTH(d) - 1) DAY)'
    >>> t = exp.DateTrunc(this=exp.column("d"), unit=exp.var("QUARTER"))
    >>> mysql_truncation(t).sql("mysql")
    'DATE_ADD(MAKEDATE(YEAR(d), 1), INTERVAL (QUARTER(d) - 1) QUARTER)'
    >>> t = exp.DateTrunc(this=exp.column("d"), unit=exp.var("YEAR"))
    >>> mysql_truncation(t).sql("mysql")
    'MAKEDATE(YEAR(d), 1)'
    """
    if not isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)):
        return node
    unit = node.args.get("unit")
    name = "" if unit is None else unit.name.upper()
    if isinstance(node, exp.TimestampTrunc) and name != "WEEK":
        return node
    # A truncation of a truncation (a fiscal quarter: of the month moved back): the rule
    # replaces this node whole, so the inner one is replaced here.
    value = node.this.transform(mysql_truncation)

    def of(function: str) -> exp.Expr:
        return exp.Anonymous(this=function, expressions=[value.copy()])

    def back(days: exp.Expr) -> exp.Expr:
        day = cast(value.copy(), exp.DataType.Type.DATE)
        return exp.DateSub(this=day, expression=days, unit=exp.var("DAY"))

    def minus_one(number: exp.Expr) -> exp.Expr:
        return exp.Sub(this=number, expression=exp.Literal.number(1))

    if name == "WEEK":
        return back(of("WEEKDAY"))
    if name == "MONTH":
        return back(minus_one(of("DAYOFMONTH")))
    first_day = exp.Anonymous(this="MAKEDATE", expressions=[of("YEAR"), exp.Literal.number(1)])
    if name == "YEAR":
        return first_day
    if name == "QUARTER":
        return exp.DateAdd(
            this=first_day, expression=minus_one(of("QUARTER")), unit=exp.var("QUARTER")
        )
    return node


@acts_on(exp.DateTrunc, exp.TimestampTrunc)
def iso_week(node: exp.Expr) -> exp.Expr:
    """Snowflake's WEEK follows the session's WEEK_START; count back from the ISO weekday.

    >>> t = exp.DateTrunc(this=exp.column("d"), unit=exp.var("WEEK"))
    >>> iso_week(t).sql("snowflake")
    'DATEADD(DAY, 1 - DAYOFWEEKISO(d), CAST(d AS DATE))'
    """
    value = _week_truncation(node)
    if value is None:
        return node
    weekday = exp.Anonymous(this="DAYOFWEEKISO", expressions=[value.copy()])
    return exp.DateAdd(
        this=cast(value.copy(), exp.DataType.Type.DATE),
        expression=exp.Sub(this=exp.Literal.number(1), expression=weekday),
        unit=exp.var("DAY"),
    )


@acts_on(exp.NullSafeEQ)
def null_safe_equality(node: exp.Expr) -> exp.Expr:
    """Redshift has no IS NOT DISTINCT FROM: spell it out.

    >>> node = exp.NullSafeEQ(this=exp.column("a"), expression=exp.column("b"))
    >>> null_safe_equality(node).sql("redshift")
    '(a = b OR (a IS NULL AND b IS NULL))'
    """
    if not isinstance(node, exp.NullSafeEQ):
        return node
    left, right = node.this, node.expression
    both_null = exp.and_(
        exp.Is(this=left.copy(), expression=exp.Null()),
        exp.Is(this=right.copy(), expression=exp.Null()),
        copy=False,
    )
    equal = exp.EQ(this=left.copy(), expression=right.copy())
    return exp.Paren(this=exp.or_(equal, exp.Paren(this=both_null), copy=False))


@acts_on(exp.WithinGroup)
def exact_percentile(node: exp.Expr) -> exp.Expr:
    """Spark's PERCENTILE is exact (sqlglot would choose PERCENTILE_APPROX).

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY x)", "postgres")
    >>> exact_percentile(tree).sql("spark")
    'PERCENTILE(x, 0.9)'
    """
    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont):
        ordered = node.expression.expressions[0]
        return exp.Anonymous(
            this="PERCENTILE", expressions=[ordered.this.copy(), node.this.this.copy()]
        )
    return node


@acts_on(exp.Avg)
def average_as_double(node: exp.Expr) -> exp.Expr:
    """Spark averages a DECIMAL as a DECIMAL rounded to 6 places (1.666667, not DuckDB's DOUBLE
    1.6666666666666667), MariaDB and MySQL to 4 more places than the column: divide the exact
    sum, as a DOUBLE, by the count instead.

    The same for DOUBLE and integer columns, whose average is computed that way anyway.

    >>> average_as_double(exp.Avg(this=exp.column("x"))).sql("spark")
    '(CAST(SUM(x) AS DOUBLE) / NULLIF(COUNT(x), 0))'
    """
    if not isinstance(node, exp.Avg) or isinstance(node.this, exp.Distinct):
        return node
    value: exp.Expr = node.this
    total = cast(exp.Sum(this=value.copy()), exp.DataType.Type.DOUBLE)
    count = exp.Nullif(this=exp.Count(this=value.copy()), expression=exp.Literal.number(0))
    return exp.Paren(this=exp.Div(this=total, expression=count))


# Parts of a SELECT beyond FROM one table and WHERE, any of which keeps an EXISTS as it is.
_MORE_THAN_A_TABLE = (
    "with",
    "distinct",
    "joins",
    "laterals",
    "group",
    "having",
    "qualify",
    "order",
    "limit",
    "offset",
)


@acts_on(exp.Exists)
def exists_as_in(node: exp.Expr) -> exp.Expr:
    """``EXISTS (SELECT ... FROM t WHERE t.k = o.k)``, one table matched on one key of the row
    outside, as ``COALESCE(o.k IN (SELECT t.k FROM t), FALSE)`` (MariaDB, MySQL, ClickHouse).

    In a SELECT list MariaDB runs a correlated EXISTS once per row outside, an index lookup
    each (``user_payments``' ``ever_paid`` over 1,689 users: 4 ms of a 10 ms query); an IN
    over a subquery that reads nothing outside it is run once and probed, as a join to the
    distinct keys is (7 ms, the hand-written query's time). ClickHouse turns the EXISTS into
    a join, and an IN into a set built once (0.89x of the time). The value is the same for
    every row: a NULL key matches nothing either way (EXISTS is false, IN is NULL or false), a
    key with no match is false (IN is NULL when the table holds a NULL key), and ``=`` and IN
    compare by the same collation. Any other subquery (more conditions, joins, grouping, a
    limit) is left as it is.

    >>> import sqlglot
    >>> sql = "SELECT EXISTS(SELECT 1 FROM s WHERE s.user_id = u.user_id) FROM u"
    >>> sqlglot.parse_one(sql, read="mysql").transform(exists_as_in).sql("mysql")
    'SELECT COALESCE(u.user_id IN (SELECT s.user_id FROM s), FALSE) FROM u'
    >>> sql = "SELECT EXISTS(SELECT 1 FROM s WHERE s.user_id = u.user_id AND s.x > 1) FROM u"
    >>> sqlglot.parse_one(sql, read="mysql").transform(exists_as_in).sql("mysql")
    'SELECT EXISTS(SELECT 1 FROM s WHERE s.user_id = u.user_id AND s.x > 1) FROM u'
    """
    select = node.this if isinstance(node, exp.Exists) else None
    if not isinstance(select, exp.Select):
        return node
    if any(select.args.get(key) for key in _MORE_THAN_A_TABLE):
        return node
    from_ = select.args.get("from_")
    where = select.args.get("where")
    if from_ is None or not isinstance(from_.this, exp.Table) or where is None:
        return node
    equal = where.this
    if not isinstance(equal, exp.EQ):
        return node
    sides = (equal.this, equal.expression)
    if not all(isinstance(side, exp.Column) and side.table for side in sides):
        return node
    inner = [side for side in sides if side.table == from_.this.alias_or_name]
    outer = [side for side in sides if side.table != from_.this.alias_or_name]
    if len(inner) != 1 or len(outer) != 1:
        return node
    keys = exp.Select(expressions=[inner[0].copy()], from_=from_.copy())
    member = exp.In(this=outer[0].copy(), query=exp.Subquery(this=keys))
    return exp.Coalesce(this=member, expressions=[exp.false()])


def _as_binary(value: exp.Expr) -> exp.Expr:
    return exp.Cast(this=value, to=exp.DataType.build("BINARY"))


_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.Nullif)


def _binary(operand: exp.Expr) -> exp.Expr:
    """A string literal that holds a letter as a binary string; tuples element by element.

    A literal without letters ('2.5', '2026-01-31') is left alone: its case cannot matter, and
    MariaDB would compare a number or date from a derived table with a binary string as text.
    """
    if _lettered(operand):
        return _as_binary(operand)
    if isinstance(operand, exp.Tuple):
        operand.set("expressions", [_binary(item) for item in operand.expressions])
    return operand


def _lettered(operand: exp.Expr) -> bool:
    """A string literal whose case can matter."""
    if not (isinstance(operand, exp.Literal) and operand.is_string):
        return False
    text: str = operand.this
    return text.lower() != text.upper()


def _binary_row_columns(row: exp.Tuple, values: list[exp.Expr]) -> None:
    """MariaDB compares rows by the columns' collation even against binary literals: in
    ``(a, b) IN ((...), ...)`` cast each column that some row compares with a lettered string."""
    columns = list(row.expressions)
    for position, member in enumerate(columns):
        lettered = any(
            isinstance(value, exp.Tuple)
            and position < len(value.expressions)
            and _lettered(value.expressions[position])
            for value in values
        )
        if lettered and not isinstance(member, exp.Cast):
            columns[position] = _as_binary(member)
    row.set("expressions", columns)


@acts_on(*_COMPARISONS, exp.In, exp.Between, exp.Case)
def binary_string_comparison(node: exp.Expr) -> exp.Expr:
    """MariaDB and MySQL compare strings by the column's collation, which by default ignores
    case and trailing spaces: compare with string literals byte for byte instead.

    Only the literal side is cast, so numbers and dates on the other side are compared as
    before, and an index on the column can still be used for the range.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("x = 'de' AND y IN ('a', 'b') AND n = '2.5'")
    >>> tree.transform(binary_string_comparison).sql("mysql")
    "x = CAST('de' AS BINARY) AND y IN (CAST('a' AS BINARY), CAST('b' AS BINARY)) AND n = '2.5'"
    """
    if isinstance(node, _COMPARISONS):
        for key in ("this", "expression"):
            node.set(key, _binary(node.args[key]))
    elif isinstance(node, exp.In):
        if isinstance(node.this, exp.Tuple):
            _binary_row_columns(node.this, node.expressions)
        node.set("this", _binary(node.this))
        node.set("expressions", [_binary(item) for item in node.expressions])
    elif isinstance(node, exp.Between):
        for key in ("this", "low", "high"):
            node.set(key, _binary(node.args[key]))
    elif isinstance(node, exp.Case) and node.args.get("this") is not None:
        node.set("this", _binary(node.this))
        for branch in node.args.get("ifs") or ():
            branch.set("this", _binary(branch.this))
    return node


@acts_on(exp.StartsWith)
def starts_with_prefix(node: exp.Expr) -> exp.Expr:
    """STARTS_WITH(x, p) as ``SUBSTRING(x, 1, LENGTH(p)) = p`` where the function is missing.

    >>> node = exp.StartsWith(this=exp.column("x"), expression=exp.Literal.string("D"))
    >>> starts_with_prefix(node).sql("sqlite")
    "SUBSTRING(x, 1, LENGTH('D')) = 'D'"
    """
    if not isinstance(node, exp.StartsWith):
        return node
    prefix: exp.Expr = node.expression
    head = exp.Substring(
        this=node.this.copy(), start=exp.Literal.number(1), length=exp.Length(this=prefix.copy())
    )
    return exp.EQ(this=head, expression=prefix.copy())


def _round_as_decimal(node: exp.Expr, decimal: str) -> exp.Expr:
    if not isinstance(node, exp.Round) or node.find_ancestor(exp.Predicate) is None:
        return node
    value: exp.Expr = node.this
    if not (isinstance(value, exp.Cast) and value.to.is_type(exp.DataType.Type.DECIMAL)):
        node.set("this", exp.Cast(this=value, to=exp.DataType.build(decimal)))
    return node


@acts_on(exp.Round)
def postgres_round(node: exp.Expr) -> exp.Expr:
    """ROUND in a condition rounds half away from zero: as NUMERIC (a DOUBLE PRECISION rounds
    half to even on PostgreSQL).

    >>> import sqlglot
    >>> postgres_round(sqlglot.parse_one("ROUND(x) = 2").this).sql("postgres")
    'ROUND(CAST(x AS DECIMAL))'
    """
    return _round_as_decimal(node, "DECIMAL")


@each_node
@acts_on(exp.Between, exp.GTE, exp.LTE)
def column_date_range(node: exp.Expr) -> exp.Expr:
    """A date range over a column, ``CAST(t AS DATE) BETWEEN d1 AND d2``, as a range of the
    column itself: ``t >= CAST(d1 AS TIMESTAMP) AND t < CAST(d2 AS TIMESTAMP) + 1 day``.

    The same rows, for a DATE, TIMESTAMP or TIMESTAMP WITH TIME ZONE column: a date compares
    with a timestamp as its midnight, and a zoned timestamp is cast to a date and compared
    with a timestamp in the same session time zone (UTC, docs/engines.md). PostgreSQL has
    statistics for the column, not for its cast, and took 0.5% of the rows for any range of
    a cast: 15 of 487 users, which it planned nested loops for. The dates stay written as
    themselves (the day after is SQL arithmetic, which engines work out once), so that a
    query's SQL differs from another's of the same shape only in them (``sql/shapes.py``). A
    bound read from the calendar table by a subquery (where a year-to-date window at a retail
    year starts) stays a comparison of the cast: PostgreSQL estimates a range of the column
    between a subquery's value and a date at 0.5% of the rows (5 of 759 subscriptions, where
    the cast gave 255), and ran it no faster.

    >>> import sqlglot
    >>> day, d1, d2 = "CAST(t AS DATE)", "CAST('2026-03-30' AS DATE)", "CAST('2026-06-28' AS DATE)"
    >>> tree = sqlglot.parse_one(f"{day} BETWEEN {d1} AND {d2}")
    >>> tree.transform(column_date_range).sql("postgres")  # doctest: +NORMALIZE_WHITESPACE
    "t >= CAST('2026-03-30' AS TIMESTAMP)
     AND t < CAST('2026-06-28' AS TIMESTAMP) + INTERVAL '1 DAY'"
    >>> sqlglot.parse_one(f"{day} <= {d2}").transform(column_date_range).sql("duckdb")
    "t < CAST('2026-06-28' AS TIMESTAMP) + INTERVAL '1' DAY"
    """
    if isinstance(node, exp.Between):
        column_, low, high = (
            day_of_column(node.this),
            date_literal_text(node.args.get("low")),
            date_literal_text(node.args.get("high")),
        )
        if column_ is None or low is None or high is None:
            return node
        return exp.and_(
            exp.GTE(this=column_, expression=_midnight(low)),
            exp.LT(this=column_.copy(), expression=_next_midnight(high)),
            copy=False,
        )
    if not isinstance(node, (exp.GTE, exp.LTE)):
        return node
    column_, day = day_of_column(node.this), date_literal_text(node.expression)
    if column_ is None or day is None:
        return node
    if isinstance(node, exp.GTE):
        return exp.GTE(this=column_, expression=_midnight(day))
    return exp.LT(this=column_, expression=_next_midnight(day))


@acts_on(exp.Where)
def sqlite_text_date_range(node: exp.Expr) -> exp.Expr:
    """A ``WHERE`` holding a date range over a column, ``DATE(t) BETWEEN d1 AND d2`` among the
    conditions it ANDs, first tests the column as text: ``t >= DATE(d1, '-1 day') AND
    t < DATE(d2, '+2 days')`` before every other condition, the range itself kept last.

    SQLite keeps timestamps as ISO-8601 text, whose first ten characters are the day it was
    written in; with a UTC offset, ``DATE()`` gives a day at most one away from it. So every row
    inside the range is inside the wider text range, which SQLite tests by comparing bytes
    (tests run in the written order), and only the rows that pass it are tested further and
    parsed by ``DATE()``: a day over a month of 1M events took 1.5-2x the time of the
    hand-written text range, which parsed every row, 1.4x with the text test after the
    metric's filter. The exact test stays, so the rows are those of ``DATE()``. The days either
    side are SQL arithmetic on the range's own dates, which SQLite works out once per
    statement, so that only the dates differ between queries of the same shape
    (``sql/shapes.py``). Only the conditions the ``WHERE`` ANDs are read: under a ``NOT`` a
    value ``DATE()`` cannot read would turn from NULL into true. A bound read once from the
    calendar table (``_date_bound``) is moved the same way: a retail year-to-date by week with
    a country, 0.54 to 0.45 ms against 0.35 ms by hand (docs/benchmarks.md).

    >>> import sqlglot
    >>> day, d1, d2 = "CAST(t AS DATE)", "CAST('2026-03-01' AS DATE)", "CAST('2026-03-31' AS DATE)"
    >>> tree = sqlglot.parse_one(f"SELECT 1 FROM x WHERE k = 1 AND {day} BETWEEN {d1} AND {d2}")
    >>> tree.transform(sqlite_text_date_range).sql("sqlite")  # doctest: +NORMALIZE_WHITESPACE
    "SELECT 1 FROM x WHERE t >= DATE('2026-03-01', '-1 day')
     AND t < DATE('2026-03-31', '+2 days') AND k = 1
     AND DATE(t) BETWEEN DATE('2026-03-01') AND DATE('2026-03-31')"
    >>> tree = sqlglot.parse_one(f"SELECT 1 FROM x WHERE NOT {day} >= {d1}")
    >>> tree.transform(sqlite_text_date_range).sql("sqlite")
    "SELECT 1 FROM x WHERE NOT DATE(t) >= DATE('2026-03-01')"
    """
    if not isinstance(node, exp.Where):
        return node
    conditions = list(conjuncts(node.this))
    tests = [test for condition in conditions for test in _text_tests(condition)]
    if not tests:
        return node
    exact = _one_between([c.copy() for c in conditions])
    return exp.Where(this=exp.and_(*tests, *exact, copy=False))


def _one_between(conditions: list[exp.Expr]) -> list[exp.Expr]:
    """``conditions`` with ``DATE(t) >= d1`` and ``DATE(t) <= d2`` over one column ``t`` made
    one ``DATE(t) BETWEEN d1 AND d2`` where the later of the two stood: SQLite works out the
    left side of a ``BETWEEN`` once per row, where two comparisons parse the text twice. A
    range whose first day is read from a calendar table is written as two comparisons
    (``planner/windows.py``: PostgreSQL estimates the column's range better that way); a
    retail year to date by month, on SQLite 1.37 to 1.30 ms (docs/benchmarks.md).

    >>> import sqlglot
    >>> where = sqlglot.parse_one("a = 1 AND CAST(t AS DATE) <= d2 AND CAST(t AS DATE) >= d1")
    >>> [c.sql() for c in _one_between(list(conjuncts(where)))]
    ['a = 1', 'CAST(t AS DATE) BETWEEN d1 AND d2']
    """
    lows = [c for c in conditions if isinstance(c, exp.GTE) and day_of_column(c.this) is not None]
    highs = [c for c in conditions if isinstance(c, exp.LTE) and day_of_column(c.this) is not None]
    if len(lows) != 1 or len(highs) != 1 or lows[0].this != highs[0].this:
        return conditions
    (low,), (high,) = lows, highs
    merged = exp.Between(this=low.this, low=low.expression, high=high.expression)
    later = max(i for i, c in enumerate(conditions) if c is low or c is high)
    return [
        merged if i == later else c
        for i, c in enumerate(conditions)
        if i == later or (c is not low and c is not high)
    ]


def _text_tests(condition: exp.Expr) -> list[exp.Expr]:
    """For ``DATE(t) BETWEEN d1 AND d2`` (or ``>= d1``, ``<= d2``) over a column ``t``, the text
    tests a day wider on each side; none for any other condition."""
    if isinstance(condition, exp.Between):
        bounds = [
            (exp.GTE, condition.args.get("low"), "-1 day"),
            (exp.LT, condition.args.get("high"), "+2 days"),
        ]
    elif isinstance(condition, exp.GTE):
        bounds = [(exp.GTE, condition.expression, "-1 day")]
    elif isinstance(condition, exp.LTE):
        bounds = [(exp.LT, condition.expression, "+2 days")]
    else:
        return []
    column_ = day_of_column(condition.this)
    if column_ is None:
        return []
    tests: list[exp.Expr] = []
    for kind, bound, days in bounds:
        day = _date_bound(bound)
        if day is None:
            return []
        tests.append(kind(this=column_.copy(), expression=_moved_day(day, days)))
    return tests


def _moved_day(day: exp.Expr, days: str) -> exp.Expr:
    """``DATE(day, days)``; for a date read by a subquery, the subquery's own value moved,
    ``(SELECT DATE(MIN(...), days) ...)``, which SQLite works out once, where a function of a
    subquery is worked out again for every row."""
    if isinstance(day, exp.Subquery) and isinstance(day.this, exp.Select):
        moved = day.copy()
        [value] = moved.this.expressions
        call = exp.Anonymous(this="DATE", expressions=[value, exp.Literal.string(days)])
        moved.this.set("expressions", [call])
        return moved
    return exp.Anonymous(this="DATE", expressions=[day.copy(), exp.Literal.string(days)])


def _date_bound(node: exp.Expr | None) -> exp.Expr | None:
    """A bound SQLite's text range takes: the literal of ``CAST('YYYY-MM-DD' AS DATE)``, or a
    scalar subquery of one date (``DATE_VALUE``: the first day of a calendar table's earliest
    period, ``sql/calendar.py``), which the engine works out once; None otherwise."""
    if isinstance(node, exp.Subquery) and node.meta.get(DATE_VALUE):
        return node
    return date_literal_text(node)


def _midnight(day: exp.Literal) -> exp.Expr:
    return cast(day.copy(), exp.DataType.Type.TIMESTAMP)


def _next_midnight(day: exp.Literal) -> exp.Expr:
    one_day = exp.Interval(this=exp.Literal.string("1"), unit=exp.var("DAY"))
    return exp.Add(this=_midnight(day), expression=one_day)


@acts_on(exp.Select)
def correlated_entity_rows(node: exp.Expr) -> exp.Expr:
    """A conversion metric's rows with each entity's conversions looked up by correlated
    subqueries (``graph/entity_metrics.py``, kept in the relation's ``meta``): PostgreSQL,
    SQLite and MariaDB search the conversion rows by the entity's key and stop at the first
    one within the window, where the joins read every conversion of every entity (MariaDB,
    activation by week: 45 ms against 3.4 ms by hand, now 3.9 ms). DuckDB turns them back
    into joins, slower than its own (1.6x against 1.1x of hand-written by month); Spark
    cannot run a correlated subquery in a select list. They, and every engine not tested
    with it, keep the joins, which give the same rows (tests/soundness/test_conversion.py).
    """
    correlated = node.meta.get(CORRELATED)
    return node if correlated is None else correlated.taken()


@each_node
@acts_on(exp.Max)
def latest_of_typed_times(node: exp.Expr) -> exp.Expr:
    """The last day a retention metric's activity reached (``graph/entity_metrics.py``) as the
    day of the latest time, ``CAST(MAX(t) AS DATE)``, instead of the latest of every row's day:
    one cast instead of one per row (PostgreSQL, 1M events: 75 ms against 112 ms, a third of a
    D7 retention query by week). The same day wherever times are typed values, ordered as
    times; SQLite's are text, and every engine not tested with it keeps the first form.
    """
    latest = node.meta.get(LATEST)
    return node if latest is None else latest.taken()


@acts_on(exp.Table)
def observed_from_edges(node: exp.Expr) -> exp.Expr:
    """A semi-additive churn metric's last observed period (``graph/entity_metrics.py``) read
    from the period edges, which hold the same periods in a few rows, instead of the values
    per entity and period: MariaDB computes a CTE again for every read, and the second read of
    the values took a third of net revenue retention by month (1M events: 297 ms against 214 ms).
    SQLite reads the values once, and the edges read twice change its plan for the worse
    (220 ms against 313 ms), so every other engine keeps the first form.
    """
    edges = node.meta.get(EDGE_PERIODS)
    return node if edges is None else edges.taken()


@acts_on(exp.CTE)
def postgres_single_row(node: exp.Expr) -> exp.Expr:
    """A CTE of one row (aggregates without GROUP BY, such as the last observed day of a
    retention metric) is MATERIALIZED: PostgreSQL inlines a CTE read once, and on the inner side
    of a nested loop it ran the aggregate over the whole source again for every outer row.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("WITH o AS (SELECT MAX(d) AS m FROM t) SELECT * FROM o")
    >>> tree.transform(postgres_single_row).sql("postgres")
    'WITH o AS MATERIALIZED (SELECT MAX(d) AS m FROM t) SELECT * FROM o'
    """
    if not isinstance(node, exp.CTE):
        return node
    body = node.this
    if not isinstance(body, exp.Select) or body.args.get("group") or not body.expressions:
        return node
    if all(isinstance(e.unalias(), exp.AggFunc) for e in body.expressions):
        node.set("materialized", True)
    return node


@acts_on(exp.Select)
def postgres_marks_kept(node: exp.Expr) -> exp.Expr:
    """A window's marks (``CHANGE_MARKS``: each run's +1 on its day and -1 on the day it leaves,
    computed from its day, next day and expiry) end in ``OFFSET 0``, which keeps them a
    subquery of their own instead of one PostgreSQL merges into the grouping of the changes
    (PostgreSQL does not pull up a subquery with ``LIMIT`` or ``OFFSET``; ``OFFSET 0`` is its
    developers' own way of keeping one apart, as in its regression tests). Grouped by the
    merged ``CASE`` over three columns, PostgreSQL assumed a tenth of the rows were groups
    (16,794 for 44 days: ``weekly_active_users`` by day over 1M events), and the join of the
    changes to the window's days 184,734 rows for 675; grouped by the kept subquery's column,
    of which it has no statistics, it assumes 200. The same time (202.1 against 201.1 ms,
    alternating; ``MATERIALIZED`` instead, which writes the rows out: 7% slower).

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("SELECT d AS mark FROM runs")
    >>> tree.meta[CHANGE_MARKS] = True
    >>> postgres_marks_kept(tree).sql("postgres")
    'SELECT d AS mark FROM runs OFFSET 0'
    """
    if isinstance(node, exp.Select) and node.meta.get(CHANGE_MARKS):
        node.set("offset", exp.Offset(expression=exp.Literal.number(0)))
    return node


@acts_on(exp.With)
def postgres_flat_with(node: exp.Expr) -> exp.Expr:
    """The CTEs of a CTE's own WITH (a derived source's steps, ``activation_rate_7d__base_rows``:
    ``graph/entity_metrics.py: _with``) move into the statement's WITH, just before that CTE,
    where they read and are read as before: PostgreSQL does not pull up a subquery that has a
    WITH of its own, so a grouping over such a CTE's column had no statistics to go by
    (``activation_rate_7d`` by month over 1M events: 1,688 groups estimated for 12; moved, 22,
    from the statistics on the users' signup months), in the same time. Left as it is when a
    moved name would meet another CTE's name, or a table of that name read elsewhere, and when
    the WITH is recursive.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("WITH s AS (WITH s__a AS (SELECT 1 AS x) SELECT x FROM s__a) "
    ...                          "SELECT x FROM s")
    >>> postgres_flat_with(tree.args["with_"]).parent.sql("postgres")
    'WITH s__a AS (SELECT 1 AS x), s AS (SELECT x FROM s__a) SELECT x FROM s'
    """
    statement = node.parent
    if not isinstance(node, exp.With) or not isinstance(statement, exp.Query):
        return node
    if statement.parent is not None:
        return node
    ctes = list(node.expressions)
    holders = [
        cte
        for cte in ctes
        if isinstance(cte.this, exp.Select)
        and cte.this.args.get("with_") is not None
        and not cte.this.args["with_"].args.get("recursive")
    ]
    if not holders:
        return node
    moved = [(inner, cte) for cte in holders for inner in cte.this.args["with_"].expressions]
    origin = {inner.alias: cte for inner, cte in moved}
    if len(origin) < len(moved) or any(cte.alias in origin for cte in ctes):
        return node
    for table in statement.find_all(exp.Table):
        holder = origin.get(table.name)
        if holder is not None and not table.args.get("db") and not _inside(table, holder):
            return node
    flat: list[exp.Expr] = []
    holding = {id(cte) for cte in holders}
    for cte in ctes:
        if id(cte) in holding:
            flat.extend(cte.this.args["with_"].expressions)
            cte.this.set("with_", None)
        flat.append(cte)
    node.set("expressions", flat)
    return node


def _inside(node: exp.Expr, outer: exp.Expr) -> bool:
    """Whether ``outer`` is ``node``'s parent, or its parent's, and so on."""
    parent = node.parent
    while parent is not None and parent is not outer:
        parent = parent.parent
    return parent is not None


@acts_on(exp.Round)
def mysql_round(node: exp.Expr) -> exp.Expr:
    """ROUND in a condition rounds half away from zero: as DECIMAL (a DOUBLE rounds half to
    even on MariaDB and MySQL).

    >>> import sqlglot
    >>> mysql_round(sqlglot.parse_one("ROUND(x) = 2").this).sql("mysql")
    'ROUND(CAST(x AS DECIMAL(65, 30)))'
    """
    return _round_as_decimal(node, "DECIMAL(65, 30)")


@acts_on(exp.Round)
def clickhouse_round(node: exp.Expr) -> exp.Expr:
    """ROUND in a condition rounds half away from zero: as Decimal (a Float64 rounds half to
    even on ClickHouse).

    >>> import sqlglot
    >>> clickhouse_round(sqlglot.parse_one("ROUND(x) = 2").this).sql("clickhouse")
    'ROUND(CAST(x AS Nullable(Decimal(38, 10))))'
    """
    return _round_as_decimal(node, "DECIMAL(38, 10)")


@acts_on(exp.Round)
def duckdb_round(node: exp.Expr) -> exp.Expr:
    """ROUND in a condition rounds the decimal value: ``ROUND(0.35, 1)`` is 0.4 as on the other
    engines, not 0.3 as for the DOUBLE nearest to 0.35.

    >>> import sqlglot
    >>> duckdb_round(sqlglot.parse_one("ROUND(x / 10, 1) = 0.3").this).sql("duckdb")
    'ROUND(CAST(x / 10 AS DECIMAL(38, 10)), 1)'
    """
    return _round_as_decimal(node, "DECIMAL(38, 10)")


_TEXT_TYPES = (exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR)


def _may_be_text(value: exp.Expr) -> bool:
    """False for what is surely not a string: a number literal, a cast to another type."""
    if isinstance(value, exp.Cast):
        return value.to.is_type(*_TEXT_TYPES)
    return not isinstance(value, exp.Literal)


@acts_on(exp.Group)
def binary_group_keys(node: exp.Expr) -> exp.Expr:
    """MariaDB and MySQL group 'de' with 'DE' (and 'DE ') under the usual collations: add each
    key's bytes as a further key, so groups are those of the other engines.

    A further key only splits groups whose values differ byte for byte, so numbers and dates
    (whose text is a function of their value) keep their groups.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("SELECT c, COUNT(*) FROM t GROUP BY c, CAST(d AS DATE)")
    >>> tree.transform(binary_group_keys).sql("mysql")
    'SELECT c, COUNT(*) FROM t GROUP BY c, CAST(d AS DATE), CAST(c AS BINARY)'
    """
    if not isinstance(node, exp.Group):
        return node
    keys = list(node.expressions)
    present = {key.sql() for key in keys}
    for key in list(keys):
        if not _may_be_text(key):
            continue
        extra = _as_binary(key.copy())
        if extra.sql() not in present:
            keys.append(extra)
            present.add(extra.sql())
    node.set("expressions", keys)
    return node


def _all_rows(union: exp.Expr) -> exp.Expr:
    if isinstance(union, exp.Union):
        return exp.Union(
            this=_all_rows(union.this), expression=_all_rows(union.expression), distinct=False
        )
    return union.copy()


@acts_on(exp.Union)
def binary_distinct_union(node: exp.Expr) -> exp.Expr:
    """A UNION (distinct) of grain keys as UNION ALL grouped by the keys, so that
    ``binary_group_keys`` keeps 'de' and 'DE' apart on MariaDB and MySQL.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("SELECT a.k FROM a UNION SELECT b.k FROM b")
    >>> binary_distinct_union(tree).sql("mysql")
    'SELECT grain.k FROM (SELECT a.k FROM a UNION ALL SELECT b.k FROM b) AS grain GROUP BY grain.k'
    """
    if not isinstance(node, exp.Union) or not node.args.get("distinct"):
        return node
    first: exp.Expr = node
    while isinstance(first, exp.Union):
        first = first.this
    if not isinstance(first, exp.Select):
        return node
    names = [projection.alias_or_name for projection in first.expressions]
    rows = exp.Subquery(this=_all_rows(node), alias=table_alias("grain"))
    keys = [column(name, "grain") for name in names]
    select = exp.Select(expressions=keys).from_(rows, copy=False)
    return select.group_by(*(key.copy() for key in keys), copy=False)


@acts_on(exp.Distinct)
def binary_distinct_count(node: exp.Expr) -> exp.Expr:
    """COUNT(DISTINCT x) counts byte-wise distinct values on MariaDB and MySQL, whose usual
    collations would count 'de', 'DE' and 'DE ' once.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("SELECT COUNT(DISTINCT country), COUNT(DISTINCT 1) FROM t")
    >>> tree.transform(binary_distinct_count).sql("mysql")
    'SELECT COUNT(DISTINCT CAST(country AS BINARY)), COUNT(DISTINCT 1) FROM t'
    """
    if not isinstance(node, exp.Distinct) or not isinstance(node.parent, exp.Count):
        return node
    node.set(
        "expressions",
        [_as_binary(e) if _may_be_text(e) else e for e in node.expressions],
    )
    return node


@acts_on(exp.NullSafeEQ)
def binary_grain_join(node: exp.Expr) -> exp.Expr:
    """A join on grain keys (``a <=> b``) also on their bytes, on MariaDB and MySQL.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("SELECT 1 FROM a LEFT JOIN b ON a.k <=> b.k")
    >>> tree.transform(binary_grain_join).sql("mysql")
    'SELECT 1 FROM a LEFT JOIN b ON (a.k <=> b.k AND CAST(a.k AS BINARY) <=> CAST(b.k AS BINARY))'
    """
    if not (
        isinstance(node, exp.NullSafeEQ)
        and isinstance(node.this, exp.Column)
        and isinstance(node.expression, exp.Column)
        and isinstance(node.parent, (exp.Join, exp.And))
    ):
        return node
    same_bytes = exp.NullSafeEQ(
        this=_as_binary(node.this.copy()), expression=_as_binary(node.expression.copy())
    )
    return exp.Paren(this=exp.and_(node.copy(), same_bytes, copy=False))


RULES: dict[str, tuple[Rule, ...]] = {
    "bigquery": (week_starts_monday,),
    "snowflake": (iso_week,),
    "redshift": (null_safe_equality,),
    "mysql": (mysql_truncation, average_as_double),
    "duckdb": (duckdb_round, column_date_range, latest_of_typed_times),
    "postgres": (
        postgres_round,
        postgres_single_row,
        each_node(postgres_marks_kept),
        each_node(postgres_flat_with),
        column_date_range,
        latest_of_typed_times,
    ),
    "sqlite": (
        acts_on(exp.With)(sqlite_spines),
        each_node(sqlite_text_date_range),
        each_node(acts_on(exp.With)(sqlite_days_as_written)),
        each_node(acts_on(exp.Cast)(sqlite_decimal_cast)),
        each_node(acts_on(exp.DateTrunc, exp.TimestampTrunc)(sqlite_truncate)),
        each_node(acts_on(exp.DateAdd, exp.DateSub)(sqlite_calendar_months)),
        each_node(acts_on(exp.DateAdd, exp.DateSub)(sqlite_whole_days)),
        each_node(acts_on(exp.Anonymous, exp.Cast, exp.Date)(sqlite_one_date_call)),
        each_node(acts_on(exp.Join)(sqlite_inner_join_order)),
        starts_with_prefix,
        each_node(acts_on(exp.CTE)(sqlite_range_joined_first)),
    ),
    "clickhouse": (
        # First: the type rules below then see its cast to DATE.
        latest_of_typed_times,
        exists_as_in,
        acts_on(exp.ConvertTimezone)(clickhouse_local_time),
        each_node(acts_on(exp.Cast)(clickhouse_day)),
        acts_on(exp.Lead)(clickhouse_lead),
        each_node(acts_on(exp.Cast)(clickhouse_decimal_cast)),
        acts_on(exp.DataType)(clickhouse_types),
        acts_on(exp.Lower, exp.Upper, exp.Left, exp.Substring)(clickhouse_utf8),
        acts_on(exp.Div)(clickhouse_division),
        clickhouse_round,
        acts_on(exp.WithinGroup)(clickhouse_percentile),
        acts_on(exp.Select)(clickhouse_day_spine),
        acts_on(exp.With)(without_unread_digits),
        acts_on(exp.Select)(clickhouse_distinct_keys),
        acts_on(exp.Select)(clickhouse_one_step),
        acts_on(exp.Select)(clickhouse_unread_columns),
    ),
    "spark": (
        exact_percentile,
        average_as_double,
        acts_on(exp.Select)(spark_day_spine),
        acts_on(exp.With)(without_unread_digits),
        latest_of_typed_times,
    ),
    "spark2": (
        exact_percentile,
        acts_on(exp.Select)(spark_day_spine),
        acts_on(exp.With)(without_unread_digits),
    ),
    "databricks": (
        exact_percentile,
        acts_on(exp.Select)(spark_day_spine),
        acts_on(exp.With)(without_unread_digits),
    ),
}
# Same filter, same rows: string comparisons, ROUND and STARTS_WITH on the engines that differ
# (docs/queries.md, "Dialect notes"). Kept apart from the entries above so that each set of
# rules reads as one decision.
RULES["mysql"] += (
    exists_as_in,
    column_date_range,
    latest_of_typed_times,
    observed_from_edges,
    starts_with_prefix,
    binary_string_comparison,
    mysql_round,
    binary_distinct_union,
    binary_group_keys,
    binary_grain_join,
    binary_distinct_count,
)
# Date parts (metric_time.day_of_week): EXTRACT units the engine names differently or lacks.
RULES["mysql"] += (acts_on(exp.Extract)(mysql_date_part),)
RULES["sqlite"] = (acts_on(exp.Extract)(sqlite_date_part), *RULES["sqlite"])
RULES["clickhouse"] += (acts_on(exp.Extract)(clickhouse_date_part),)
RULES["spark"] += (acts_on(exp.Extract)(spark_date_part),)
RULES["databricks"] += (acts_on(exp.Extract)(spark_date_part),)
RULES["bigquery"] += (acts_on(exp.Extract)(bigquery_date_part),)
RULES["snowflake"] += (acts_on(exp.Extract)(snowflake_date_part),)
RULES["redshift"] += (acts_on(exp.Extract)(redshift_date_part),)
for _trino_like in ("trino", "presto", "athena"):
    RULES[_trino_like] = (*RULES.get(_trino_like, ()), acts_on(exp.Extract)(trino_date_part))

# First, so that every other rule of the dialect applies to the rows it swaps in.
for _correlating in ("postgres", "sqlite", "mysql"):
    RULES[_correlating] = (correlated_entity_rows, *RULES[_correlating])

_REMOVE = "remove that metric or dimension from the query, or compile for another dialect"
_PERCENTILE = ("median/percentile aggregates", _REMOVE)
# node kind -> (what the dialect cannot compute, what to do instead)
UNSUPPORTED: dict[str, dict[type[exp.Expr], tuple[str, str]]] = {
    "bigquery": {exp.PercentileCont: _PERCENTILE},
    "mysql": {exp.PercentileCont: _PERCENTILE},
    "sqlite": {
        exp.PercentileCont: _PERCENTILE,
        exp.ConvertTimezone: (
            "time zones other than UTC (it has no time-zone database)",
            "set `time_zone: UTC` in the project, or query another engine",
        ),
    },
    "trino": {exp.PercentileCont: _PERCENTILE},
    "presto": {exp.PercentileCont: _PERCENTILE},
    "athena": {exp.PercentileCont: _PERCENTILE},
    "clickhouse": {exp.PercentileCont: _PERCENTILE, exp.Median: _PERCENTILE},  # see the rule
}
# SQLite has no interval type (``d - INTERVAL '30' DAY`` is a syntax error there).
UNSUPPORTED["sqlite"][exp.Interval] = (
    "interval arithmetic (INTERVAL '30' DAY)",
    "in a filter, compare with the date itself, e.g. metric_time >= '2026-01-30', or use "
    "start and end",
)


# Dialects whose output is known not to run as written, refused by name instead of compiled.
REFUSED_DIALECTS = {
    "tsql": "T-SQL output does not run on SQL Server today (DATE_TRUNC, ILIKE, INTERVAL, "
    "STARTS_WITH, EXISTS in a select list); compile for another dialect",
}


@cache
def dialect_name(name: str | None) -> str:
    """The sqlglot name of a dialect; UnsupportedError for names sqlglot does not know.

    >>> dialect_name("postgresql"), dialect_name(None)
    ('postgres', 'duckdb')
    """
    if name is None:
        return DEFAULT_DIALECT
    lowered = _ALIASES.get(name.lower(), name.lower())
    known = sorted(MODULE_BY_DIALECT.values())
    if lowered not in known:
        raise UnsupportedError(
            f"unknown SQL dialect '{name}'.{did_you_mean(lowered, known)} "
            f"Known dialects: {', '.join(known)}"
        )
    if lowered in REFUSED_DIALECTS:
        raise UnsupportedError(f"{lowered} is not supported: {REFUSED_DIALECTS[lowered]}")
    return lowered


def render(
    tree: exp.Expr, dialect: str, *, pretty: bool = True, nodes: NodesByKind | None = None
) -> str:
    """SQL text for ``dialect``; applies its rules and refuses what it cannot run exactly.

    ``tree`` is consumed: the rules and the generator may change it in place, and afterwards
    its nodes are unlinked from each other (``sql/nodes.py: release``). ``nodes``: those of
    ``tree`` by type, if the caller has them (``sql/build.py: built``).
    """
    final = prepared(tree, dialect, nodes)
    text = Dialect.get_or_raise(dialect).generate(final, copy=False, pretty=pretty)
    release(final)
    return text


def prepared(tree: exp.Expr, dialect: str, nodes: NodesByKind | None = None) -> exp.Expr:
    """``tree`` after ``dialect``'s rules, as its generator receives it; UnsupportedError for
    what the dialect cannot run exactly. ``tree`` is consumed (changed in place); ``nodes``,
    its nodes by type, are found here unless the caller has them (taken, and changed too).

    >>> prepared(exp.Avg(this=exp.column("x")), "mysql").sql("mysql")
    '(CAST(SUM(x) AS DOUBLE) / NULLIF(COUNT(x), 0))'
    """
    found = by_kind(tree) if nodes is None else nodes
    for rule in RULES.get(dialect, ()):
        kinds: tuple[type[exp.Expr], ...] | None = getattr(rule, "kinds", None)
        if kinds is not None and not holds(found, kinds):
            continue
        if kinds is not None and getattr(rule, "each_node", False):
            # The nodes of its kinds, as found in the tree (a node an earlier rule replaced
            # may linger here, outside the tree: replacing it again changes nothing).
            # A node found twice (a rule's new node can hold nodes it moved) is handed once.
            found_once = {id(n): n for k, of in found.items() if issubclass(k, kinds) for n in of}
            chosen = sorted(found_once.values(), key=lambda node: node.depth)  # outer first
            for node in chosen:
                new = rule(node)
                if new is node:
                    continue
                if node is tree:
                    tree = new
                else:
                    node.replace(new)
                for kind, of in by_kind(new).items():  # the nodes the new one brings
                    found.setdefault(kind, []).extend(of)
        else:
            tree = tree.transform(rule, copy=False)
            found = by_kind(tree)  # the rule may have added kinds a later rule acts on
    # After the rules: a rule may turn a construct into one the dialect has (SQLite's month
    # arithmetic becomes DATE() modifiers, so no INTERVAL is left of it). ``found`` may hold
    # nodes no longer in the tree: a kind found there is looked for again in the tree itself.
    unsupported = UNSUPPORTED.get(dialect, {})
    present: set[type[exp.Expr]] | dict[type[exp.Expr], list[exp.Expr]] = found
    if any(holds(found, (kind,)) for kind in unsupported):
        present = kinds_in(tree)
    for kind, (what, fix) in unsupported.items():
        if holds(present, (kind,)):
            raise UnsupportedError(f"{dialect} cannot compute {what} exactly; {fix}")
    return tree
