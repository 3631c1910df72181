"""Per-dialect differences that sqlglot does not settle, in one table per dialect.

``RULES`` rewrites the neutral tree (each rule a small pure function over one node);
``UNSUPPORTED`` names node types a dialect cannot run exactly, so compiling fails with an
UnsupportedError instead of producing SQL that is subtly different.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from sqlglot import exp
from sqlglot.dialects import MODULE_BY_DIALECT
from sqlglot.dialects.dialect import Dialect

from metrics_layer.errors import UnsupportedError, did_you_mean
from metrics_layer.sql.names import cast
from metrics_layer.sql.sqlite import (
    sqlite_calendar_months,
    sqlite_inner_join_order,
    sqlite_truncate,
)

__all__ = ["DEFAULT_DIALECT", "RULES", "UNSUPPORTED", "dialect_name", "render"]

DEFAULT_DIALECT = "duckdb"
Rule = Callable[[exp.Expr], exp.Expr]

_ALIASES = {
    "postgresql": "postgres",
    "mariadb": "mysql",
    "mssql": "tsql",
    "sparksql": "spark",
    "pyspark": "spark",
}


def _week_truncation(node: exp.Expr) -> exp.Expr | None:
    """The truncated value when ``node`` truncates to a week, else None."""
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
        unit = node.args.get("unit")
        if unit is not None and unit.name.upper() == "WEEK":
            value: exp.Expr = node.this
            return value
    return None


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


def mysql_week(node: exp.Expr) -> exp.Expr:
    """MySQL has no week truncation: step back WEEKDAY() days (Monday is 0).

    >>> t = exp.DateTrunc(this=exp.column("d"), unit=exp.var("WEEK"))
    >>> mysql_week(t).sql("mysql")
    'DATE_SUB(CAST(d AS DATE), INTERVAL (WEEKDAY(d)) DAY)'
    """
    value = _week_truncation(node)
    if value is None:
        return node
    return exp.DateSub(
        this=cast(value.copy(), exp.DataType.Type.DATE),
        expression=exp.Anonymous(this="WEEKDAY", expressions=[value.copy()]),
        unit=exp.var("DAY"),
    )


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


RULES: dict[str, tuple[Rule, ...]] = {
    "bigquery": (week_starts_monday,),
    "snowflake": (iso_week,),
    "redshift": (null_safe_equality,),
    "mysql": (mysql_week,),
    "sqlite": (sqlite_truncate, sqlite_calendar_months, sqlite_inner_join_order),
    "spark": (exact_percentile,),
    "spark2": (exact_percentile,),
    "databricks": (exact_percentile,),
}

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
            "set the project's time_zone to UTC, or query another engine",
        ),
    },
    "trino": {exp.PercentileCont: _PERCENTILE},
    "presto": {exp.PercentileCont: _PERCENTILE},
    "athena": {exp.PercentileCont: _PERCENTILE},
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
    return lowered


def render(tree: exp.Expr, dialect: str, *, pretty: bool = True) -> str:
    """SQL text for ``dialect``; applies its rules and refuses what it cannot run exactly.

    ``tree`` is consumed: the rules and the generator may change it in place.
    """
    unsupported = UNSUPPORTED.get(dialect, {})
    for kind, (what, fix) in unsupported.items():
        if tree.find(kind) is not None:
            raise UnsupportedError(f"{dialect} cannot compute {what} exactly; {fix}")
    for rule in RULES.get(dialect, ()):
        tree = tree.transform(rule, copy=False)
    return Dialect.get_or_raise(dialect).generate(tree, copy=False, pretty=pretty)
