"""Date parts (``metric_time.day_of_week``) as dialect-neutral trees, and each engine's spelling.

A part is ``CAST(EXTRACT(unit FROM value) AS INT)`` with a standard unit (``ISODOW``, ``DOY``,
``WEEK`` for the ISO week, ...), which DuckDB and PostgreSQL run as written; a rule per dialect
rewrites the units another engine names differently or lacks. The value is the local timestamp
for parts of a day (hour, minute) and the local calendar date for the others.
"""

from __future__ import annotations

from typing import assert_never

from sqlglot import exp

from metrics_layer.spec.models import DatePart, Grain
from metrics_layer.sql.names import cast

__all__ = [
    "PART_GRAIN",
    "bigquery_date_part",
    "clickhouse_date_part",
    "date_part",
    "mysql_date_part",
    "redshift_date_part",
    "snowflake_date_part",
    "spark_date_part",
    "sqlite_date_part",
    "trino_date_part",
]

# The finest grain a time dimension must be recorded at for the part to mean anything.
PART_GRAIN: dict[DatePart, Grain] = {
    DatePart.MINUTE_OF_HOUR: Grain.MINUTE,
    DatePart.HOUR_OF_DAY: Grain.HOUR,
    DatePart.DAY_OF_WEEK: Grain.DAY,
    DatePart.DAY_OF_MONTH: Grain.DAY,
    DatePart.DAY_OF_YEAR: Grain.DAY,
    DatePart.WEEK_OF_YEAR: Grain.DAY,
    DatePart.MONTH_OF_YEAR: Grain.MONTH,
    DatePart.QUARTER_OF_YEAR: Grain.QUARTER,
    DatePart.FISCAL_QUARTER_OF_YEAR: Grain.MONTH,
    DatePart.FISCAL_YEAR_NUMBER: Grain.MONTH,
}


def _extract(unit: str, value: exp.Expr) -> exp.Expr:
    return exp.Extract(this=exp.var(unit), expression=value)


def date_part(expression: exp.Expr, part: DatePart, fiscal_year_start: int = 1) -> exp.Expr:
    """The integer ``part`` of a local time (``expression`` already in the project's zone).

    Days of the week are ISO (1 = Monday ... 7 = Sunday) and weeks of the year ISO weeks
    (1-53), whatever the project's ``week_start``. A fiscal year is numbered after the calendar
    year it ends in: with ``fiscal_year_start`` 2 (February), 2026-02-01 is in fiscal year 2027.

    >>> date_part(exp.column("t"), DatePart.DAY_OF_WEEK).sql("duckdb")
    'CAST(EXTRACT(ISODOW FROM CAST(t AS DATE)) AS INT)'
    >>> date_part(exp.column("t"), DatePart.HOUR_OF_DAY).sql("duckdb")
    'CAST(EXTRACT(HOUR FROM t) AS INT)'
    >>> date_part(exp.column("t"), DatePart.FISCAL_YEAR_NUMBER, 2).sql("duckdb")
    "CAST(EXTRACT(YEAR FROM DATE_TRUNC('MONTH', CAST(t AS DATE)) + INTERVAL 11 MONTH) AS INT)"
    """
    value: exp.Expr = expression
    if part is DatePart.MINUTE_OF_HOUR:
        found = _extract("MINUTE", value)
    elif part is DatePart.HOUR_OF_DAY:
        found = _extract("HOUR", value)
    else:
        day = cast(value, exp.DataType.Type.DATE)
        months = fiscal_year_start - 1
        month = exp.DateTrunc(  # type: ignore[no-untyped-call]
            this=day.copy(), unit=exp.var("MONTH")
        )
        if part is DatePart.DAY_OF_WEEK:
            found = _extract("ISODOW", day)
        elif part is DatePart.DAY_OF_MONTH:
            found = _extract("DAY", day)
        elif part is DatePart.DAY_OF_YEAR:
            found = _extract("DOY", day)
        elif part is DatePart.WEEK_OF_YEAR:
            found = _extract("WEEK", day)
        elif part is DatePart.MONTH_OF_YEAR:
            found = _extract("MONTH", day)
        elif part is DatePart.QUARTER_OF_YEAR:
            found = _extract("QUARTER", day)
        elif part is DatePart.FISCAL_QUARTER_OF_YEAR:
            found = _extract("QUARTER", _add_months(month, -months) if months else day)
        elif part is DatePart.FISCAL_YEAR_NUMBER:
            found = _extract("YEAR", _add_months(month, 12 - months) if months else day)
        else:
            assert_never(part)
    return cast(found, exp.DataType.Type.INT)


def _add_months(value: exp.Expr, months: int) -> exp.Expr:
    kind = exp.DateAdd if months >= 0 else exp.DateSub
    return kind(this=value, expression=exp.Literal.number(abs(months)), unit=exp.var("MONTH"))


def _unit(node: exp.Expr) -> str | None:
    """The unit of an EXTRACT, upper-case; None for any other node."""
    if not isinstance(node, exp.Extract):
        return None
    unit: str = node.this.name
    return unit.upper()


def mysql_date_part(node: exp.Expr) -> exp.Expr:
    """MySQL and MariaDB: ``WEEKDAY()`` counts from Monday = 0, ``WEEK(d, 3)`` is the ISO week,
    and the day of the year is ``DAYOFYEAR()``; EXTRACT has none of them.

    >>> mysql_date_part(exp.Extract(this=exp.var("ISODOW"), expression=exp.column("d"))).sql(
    ...     "mysql")
    'WEEKDAY(d) + 1'
    >>> mysql_date_part(exp.Extract(this=exp.var("WEEK"), expression=exp.column("d"))).sql(
    ...     "mysql")
    'WEEK(d, 3)'
    """
    unit = _unit(node)
    if unit is None:
        return node
    value = node.expression
    if unit == "ISODOW":
        weekday = exp.Anonymous(this="WEEKDAY", expressions=[value.copy()])
        return exp.Add(this=weekday, expression=exp.Literal.number(1))
    if unit == "WEEK":
        return exp.Week(this=value.copy(), mode=exp.Literal.number(3))
    if unit == "DOY":
        return exp.DayOfYear(this=value.copy())
    return node


def _strftime(value: exp.Expr, form: str) -> exp.Expr:
    text = exp.TimeToStr(this=value.copy(), format=exp.Literal.string(form))
    return cast(text, exp.DataType.Type.INT)


def _paren(value: exp.Expr) -> exp.Expr:
    return exp.Paren(this=value)


def _int_div(value: exp.Expr, divisor: int) -> exp.Expr:
    """Integer division (``typed``: as SQLite divides two integers)."""
    return exp.Div(this=value, expression=exp.Literal.number(divisor), typed=True)


def sqlite_date_part(node: exp.Expr) -> exp.Expr:
    """SQLite: ``STRFTIME`` text as integers. Older SQLite (before 3.46) has no ``%u`` or
    ``%V``: the ISO weekday comes from ``%w`` (0 = Sunday), and the ISO week from the day of the
    year of the week's Thursday, which is always in the ISO year (``'weekday 4'`` moves forward
    to a Thursday, so stepping back three days first finds the one of the same Monday week).

    >>> sqlite_date_part(exp.Extract(this=exp.var("ISODOW"), expression=exp.column("d"))).sql(
    ...     "sqlite")
    "(CAST(STRFTIME('%w', d) AS INTEGER) + 6) % 7 + 1"
    >>> sqlite_date_part(exp.Extract(this=exp.var("WEEK"), expression=exp.column("d"))).sql(
    ...     "sqlite")
    "(CAST(STRFTIME('%j', DATE(d, '-3 days', 'weekday 4')) AS INTEGER) - 1) / 7 + 1"
    """
    unit = _unit(node)
    if unit is None:
        return node
    value: exp.Expr = node.expression
    one = exp.Literal.number(1)
    simple = {"MINUTE": "%M", "HOUR": "%H", "DAY": "%d", "DOY": "%j", "MONTH": "%m", "YEAR": "%Y"}
    if unit in simple:
        return _strftime(value, simple[unit])
    if unit == "ISODOW":
        weekday = exp.Add(this=_strftime(value, "%w"), expression=exp.Literal.number(6))
        return exp.Add(
            this=exp.Mod(this=_paren(weekday), expression=exp.Literal.number(7)), expression=one
        )
    if unit == "WEEK":
        thursday = exp.Anonymous(
            this="DATE",
            expressions=[
                value.copy(),
                exp.Literal.string("-3 days"),
                exp.Literal.string("weekday 4"),
            ],
        )
        day = exp.Sub(this=_strftime(thursday, "%j"), expression=one.copy())
        return exp.Add(this=_int_div(_paren(day), 7), expression=one)
    if unit == "QUARTER":
        month = exp.Add(this=_strftime(value, "%m"), expression=exp.Literal.number(2))
        return _int_div(_paren(month), 3)
    return node


_CLICKHOUSE = {"ISODOW": "toDayOfWeek", "DOY": "toDayOfYear", "WEEK": "toISOWeek"}


def clickhouse_date_part(node: exp.Expr) -> exp.Expr:
    """ClickHouse: ``toDayOfWeek`` (Monday = 1), ``toDayOfYear``, ``toISOWeek``.

    >>> clickhouse_date_part(exp.Extract(this=exp.var("WEEK"), expression=exp.column("d"))).sql(
    ...     "clickhouse")
    'toISOWeek(d)'
    """
    unit = _unit(node)
    if unit not in _CLICKHOUSE:
        return node
    return exp.Anonymous(this=_CLICKHOUSE[unit], expressions=[node.expression.copy()])


def spark_date_part(node: exp.Expr) -> exp.Expr:
    """Spark names the ISO weekday ``DAYOFWEEK_ISO`` (its ``DAYOFWEEK`` has Sunday = 1).

    >>> spark_date_part(exp.Extract(this=exp.var("ISODOW"), expression=exp.column("d"))).sql(
    ...     "spark")
    'EXTRACT(DAYOFWEEK_ISO FROM d)'
    """
    if _unit(node) != "ISODOW":
        return node
    return exp.Extract(this=exp.var("DAYOFWEEK_ISO"), expression=node.expression.copy())


def _renamed(node: exp.Expr, names: dict[str, str]) -> exp.Expr:
    unit = _unit(node)
    if unit not in names:
        return node
    return exp.Extract(this=exp.var(names[unit]), expression=node.expression.copy())


def _iso_from_sunday_first(weekday: exp.Expr, plus: int) -> exp.Expr:
    """The ISO weekday from one counting Sunday first: ``(weekday + plus) % 7 + 1``."""
    shifted = exp.Paren(this=exp.Add(this=weekday, expression=exp.Literal.number(plus)))
    return exp.Add(
        this=exp.Mod(this=shifted, expression=exp.Literal.number(7)),
        expression=exp.Literal.number(1),
    )


def bigquery_date_part(node: exp.Expr) -> exp.Expr:
    """BigQuery: ``DAYOFWEEK`` counts from Sunday = 1, the ISO week is ``ISOWEEK``.

    >>> bigquery_date_part(exp.Extract(this=exp.var("ISODOW"), expression=exp.column("d"))).sql(
    ...     "bigquery")
    'MOD(EXTRACT(DAYOFWEEK FROM d) + 5, 7) + 1'
    """
    if _unit(node) == "ISODOW":
        weekday = exp.Extract(this=exp.var("DAYOFWEEK"), expression=node.expression.copy())
        return _iso_from_sunday_first(weekday, 5)
    return _renamed(node, {"WEEK": "ISOWEEK", "DOY": "DAYOFYEAR"})


def snowflake_date_part(node: exp.Expr) -> exp.Expr:
    """Snowflake: ``WEEK`` and ``DAYOFWEEK`` follow session parameters; the ISO ones do not.

    >>> snowflake_date_part(exp.Extract(this=exp.var("WEEK"), expression=exp.column("d"))).sql(
    ...     "snowflake")
    'DATE_PART(WEEKISO, d)'
    """
    return _renamed(node, {"ISODOW": "DAYOFWEEKISO", "WEEK": "WEEKISO", "DOY": "DAYOFYEAR"})


def trino_date_part(node: exp.Expr) -> exp.Expr:
    """Trino (and Presto, Athena): ``DAY_OF_WEEK`` is ISO (Monday = 1), ``DAY_OF_YEAR``.

    >>> trino_date_part(exp.Extract(this=exp.var("ISODOW"), expression=exp.column("d"))).sql(
    ...     "trino")
    'EXTRACT(DAY_OF_WEEK FROM d)'
    """
    return _renamed(node, {"ISODOW": "DAY_OF_WEEK", "DOY": "DAY_OF_YEAR"})


def redshift_date_part(node: exp.Expr) -> exp.Expr:
    """Redshift has no ``ISODOW``: its ``DOW`` counts from Sunday = 0.

    >>> redshift_date_part(exp.Extract(this=exp.var("ISODOW"), expression=exp.column("d"))).sql(
    ...     "redshift")
    '(EXTRACT(DOW FROM d) + 6) % 7 + 1'
    """
    if _unit(node) != "ISODOW":
        return node
    weekday = exp.Extract(this=exp.var("DOW"), expression=node.expression.copy())
    return _iso_from_sunday_first(weekday, 6)
