"""Conditions as trees: flattened conjunctions, and typed literals next to time buckets."""

from __future__ import annotations

from sqlglot import exp

from metrics_layer.sql.names import cast
from metrics_layer.sql.time import SUB_DAY

__all__ = ["TIME_GRAIN", "conjunction", "typed_time_literals"]

# Key in ``Expression.meta`` marking a resolved time bucket with its grain.
TIME_GRAIN = "time_grain"
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def typed_time_literals(condition: exp.Expr) -> exp.Expr:
    """Cast string literals compared with a time bucket to DATE (TIMESTAMP for hours, minutes
    and seconds), so engines that do not compare dates with strings (Trino) accept the filter.

    >>> from metrics_layer.spec.models import Grain
    >>> month = exp.column("d")
    >>> month.meta[TIME_GRAIN] = Grain.MONTH
    >>> typed_time_literals(month >= exp.Literal.string("2026-01-01")).sql()
    "d >= CAST('2026-01-01' AS DATE)"
    """
    for node in list(condition.walk()):
        if isinstance(node, _COMPARISONS):
            sides = [node.this, node.expression]
        elif isinstance(node, exp.Between):
            sides = [node.this, node.args["low"], node.args["high"]]
        elif isinstance(node, exp.In):
            sides = [node.this, *node.expressions]
        else:
            continue
        grains = [side.meta.get(TIME_GRAIN) for side in sides if isinstance(side, exp.Expr)]
        grain = next((g for g in grains if g is not None), None)
        if grain is None:
            continue
        kind = exp.DataType.Type.TIMESTAMP if grain in SUB_DAY else exp.DataType.Type.DATE
        for side in sides:
            if isinstance(side, exp.Literal) and side.is_string:
                side.replace(cast(side.copy(), kind))
    return condition


def conjunction(*parts: exp.Expr | None) -> exp.Expr | None:
    """``a AND b AND ...`` flattened, without parentheses around nested ANDs.

    The parts are linked into the result (not copied): pass trees the caller owns. A single
    part is returned as it is, unchanged.

    >>> conjunction(exp.column("a").eq(1).and_(exp.column("b").eq(2)), None,
    ...              exp.column("c").eq(3).or_(exp.column("d").eq(4))).sql()
    'a = 1 AND b = 2 AND (c = 3 OR d = 4)'
    """
    present = [part for part in parts if part is not None]
    if len(present) == 1:
        return present[0]
    flat: list[exp.Expr] = []
    for part in present:
        flat.extend(part.flatten() if isinstance(part, exp.And) else [part])
    return exp.and_(*flat, copy=False) if flat else None
