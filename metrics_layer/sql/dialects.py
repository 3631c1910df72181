"""Per-dialect differences that sqlglot does not settle, in one table per dialect.

``RULES`` rewrites the neutral tree (each rule a small pure function over one node);
``UNSUPPORTED`` names node types a dialect cannot run exactly, so compiling fails with an
UnsupportedError instead of producing SQL that is subtly different.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from metrics_layer.errors import UnsupportedError, did_you_mean

__all__ = ["DEFAULT_DIALECT", "RULES", "UNSUPPORTED", "dialect_name", "render"]

DEFAULT_DIALECT = "duckdb"
Rule = Callable[[exp.Expr], exp.Expr]

_ALIASES = {"postgresql": "postgres", "mariadb": "mysql", "sparksql": "spark", "pyspark": "spark"}


def week_starts_monday(node: exp.Expr) -> exp.Expr:
    """BigQuery's WEEK starts on Sunday; ask for Monday explicitly.

    >>> t = exp.TimestampTrunc(this=exp.column("t"), unit=exp.var("WEEK"))
    >>> week_starts_monday(t).sql("bigquery")
    'TIMESTAMP_TRUNC(t, WEEK(MONDAY))'
    """
    if isinstance(node, exp.TimestampTrunc) and node.unit and node.unit.name.upper() == "WEEK":
        return exp.TimestampTrunc(this=node.this, unit=exp.WeekStart(this=exp.var("MONDAY")))
    return node


def mysql_week(node: exp.Expr) -> exp.Expr:
    """MySQL has no week truncation: step back WEEKDAY() days (Monday is 0).

    >>> t = exp.TimestampTrunc(this=exp.column("t"), unit=exp.var("WEEK"))
    >>> mysql_week(t).sql("mysql")
    'DATE_SUB(CAST(t AS DATE), INTERVAL (WEEKDAY(t)) DAY)'
    """
    if isinstance(node, exp.TimestampTrunc) and node.unit and node.unit.name.upper() == "WEEK":
        return exp.DateSub(
            this=exp.cast(node.this.copy(), exp.DataType.Type.DATE),
            expression=exp.Anonymous(this="WEEKDAY", expressions=[node.this.copy()]),
            unit=exp.var("DAY"),
        )
    return node


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
    "mysql": (mysql_week,),
    "spark": (exact_percentile,),
    "spark2": (exact_percentile,),
    "databricks": (exact_percentile,),
}

_PERCENTILE = "exact median/percentile aggregates"
UNSUPPORTED: dict[str, dict[type[exp.Expr], str]] = {
    "bigquery": {exp.PercentileCont: _PERCENTILE},
    "mysql": {exp.PercentileCont: _PERCENTILE},
    "sqlite": {
        exp.PercentileCont: _PERCENTILE,
        exp.TimestampTrunc: "week, month, quarter, year and hour grains",
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
    known = sorted(k for k in Dialect.classes if k)
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
    for kind, what in unsupported.items():
        if tree.find(kind) is not None:
            raise UnsupportedError(
                f"{dialect} cannot compute {what} exactly; remove that metric or dimension "
                "from the query, or compile for another dialect"
            )
    for rule in RULES.get(dialect, ()):
        tree = tree.transform(rule, copy=False)
    return Dialect.get_or_raise(dialect).generate(tree, copy=False, pretty=pretty)
