"""Aggregate calls for measures, and the NULL-safe division ratios use; dialect-neutral trees."""

from __future__ import annotations

from typing import assert_never

from sqlglot import exp

from metrics_layer.graph.model import Measure
from metrics_layer.spec.models import Agg
from metrics_layer.sql.names import cast

__all__ = ["aggregate_call", "fills_with_zero", "safe_divide"]

_ONE = exp.Literal.number(1)
_ZERO = exp.Literal.number(0)


def fills_with_zero(agg: Agg) -> bool:
    """Counts are 0, not NULL, where a group has no rows."""
    return agg in (Agg.COUNT, Agg.COUNT_DISTINCT, Agg.SUM_BOOLEAN)


def aggregate_call(measure: Measure, condition: exp.Expr | None) -> exp.Expr:
    """The aggregate of ``measure``; rows failing ``condition`` do not contribute.

    >>> from metrics_layer.graph.model import Measure
    >>> m = Measure("buyers", "orders", Agg.COUNT_DISTINCT, exp.column("user_id", "orders"))
    >>> aggregate_call(m, exp.column("paid").eq(exp.true())).sql()
    'COUNT(DISTINCT CASE WHEN paid = TRUE THEN orders.user_id END)'
    """
    value = measure.expr.copy() if measure.expr is not None else None
    agg = measure.agg
    if agg is Agg.SUM_BOOLEAN:
        assert value is not None
        test = value if condition is None else exp.and_(condition, value, copy=False)
        return exp.Sum(
            this=exp.Case(ifs=[exp.If(this=test, true=_ONE.copy())], default=_ZERO.copy())
        )
    if value is None:
        value = exp.Star() if condition is None else _ONE.copy()
    if condition is not None:
        value = exp.Case(ifs=[exp.If(this=condition, true=value)])
    if agg is Agg.COUNT:
        return exp.Count(this=value)
    if agg is Agg.COUNT_DISTINCT:
        return exp.Count(this=exp.Distinct(expressions=[value]))
    if agg is Agg.SUM:
        return exp.Sum(this=value)
    if agg is Agg.AVG:
        return exp.Avg(this=value)
    if agg is Agg.MIN:
        return exp.Min(this=value)
    if agg is Agg.MAX:
        return exp.Max(this=value)
    if agg is Agg.MEDIAN or agg is Agg.PERCENTILE:
        # Interpolated in floating point on every engine: DuckDB would round the result of a
        # DECIMAL column to the column's scale (10.00 and 10.05 give 10.02, not 10.025).
        fraction = 0.5 if agg is Agg.MEDIAN else measure.percentile
        ordered = exp.Ordered(this=cast(value, exp.DataType.Type.DOUBLE), nulls_first=False)
        return exp.WithinGroup(
            this=exp.PercentileCont(this=exp.Literal.number(fraction)),
            expression=exp.Order(expressions=[ordered]),
        )
    assert_never(agg)


def safe_divide(numerator: exp.Expr, denominator: exp.Expr) -> exp.Expr:
    """``numerator / denominator`` as a float, NULL when the denominator is 0.

    >>> safe_divide(exp.column("a"), exp.column("b")).sql("postgres")
    'CAST(a AS DOUBLE PRECISION) / NULLIF(b, 0)'
    """
    return exp.Div(
        this=cast(numerator, exp.DataType.Type.DOUBLE),
        expression=exp.Nullif(this=denominator, expression=_ZERO.copy()),
    )
