"""Conditions as trees: flattened conjunctions, typed literals next to time buckets, and
whether a condition can hold for a row that a LEFT JOIN left without a match."""

from __future__ import annotations

from sqlglot import exp

from metrics_layer.sql.names import cast
from metrics_layer.sql.time import SUB_DAY

__all__ = ["TIME_GRAIN", "conjunction", "rejects_missing", "typed_time_literals"]

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


# Node kinds through which a NULL input gives a NULL output on every engine (``_null_with``):
# parentheses, casts, case changes and arithmetic.
_NULL_PROPAGATING = (exp.Paren, exp.Cast, exp.Lower, exp.Upper, exp.Add, exp.Sub, exp.Mul, exp.Div)
# Predicates that are NULL when a compared value is NULL.
_NULL_PREDICATES = (*_COMPARISONS, exp.Like, exp.ILike, exp.In, exp.Between)


def rejects_missing(condition: exp.Expr, table: str) -> bool:
    """Whether ``condition`` is never TRUE when every column of ``table`` is NULL, as in a row
    that a LEFT JOIN of ``table`` left without a match; then the LEFT JOIN and the condition
    keep the same rows as a semi-join (``IN (SELECT ...)``) of the rows that pass it.

    Only the node kinds listed here are understood (anything else answers False): AND (one
    part that rejects is enough), OR (every part must), NOT of a predicate, a comparison,
    LIKE, IN or BETWEEN with a side that is NULL with the table's columns
    (``_NULL_PROPAGATING``), IS NOT NULL of such a value, and a boolean column of the table.

    >>> from sqlglot import parse_one
    >>> rejects_missing(parse_one("u.country = 'DE' AND u.plan <> 'free'"), "u")
    True
    >>> rejects_missing(parse_one("u.country = 'DE' OR u.country IS NULL"), "u")
    False
    >>> rejects_missing(parse_one("COALESCE(u.country, 'DE') = 'DE'"), "u")
    False
    >>> rejects_missing(parse_one("NOT LOWER(u.country) IN ('de', 'fr')"), "u")
    True
    >>> [rejects_missing(parse_one(f"u.country {t}"), "u") for t in ("IS NOT NULL", "IS NULL")]
    [True, False]
    """
    if isinstance(condition, exp.Paren):
        return rejects_missing(condition.this, table)
    if isinstance(condition, exp.And):
        return any(rejects_missing(part, table) for part in condition.flatten())
    if isinstance(condition, exp.Or):
        return all(rejects_missing(part, table) for part in condition.flatten())
    if isinstance(condition, exp.Not):
        inner = condition.this.unnest()
        if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null):
            return _null_with(inner.this, table)
        return isinstance(inner, _NULL_PREDICATES) and _null_predicate(inner, table)
    if isinstance(condition, _NULL_PREDICATES):
        return _null_predicate(condition, table)
    return isinstance(condition, exp.Column) and condition.table == table


def _null_predicate(predicate: exp.Expr, table: str) -> bool:
    """Whether a comparison, LIKE, IN or BETWEEN is NULL when ``table``'s columns are: its
    tested value is (``this``), or, for a comparison or LIKE, the value it is compared with."""
    sides = [predicate.this]
    if isinstance(predicate, (*_COMPARISONS, exp.Like, exp.ILike)):
        sides.append(predicate.expression)
    return any(_null_with(side, table) for side in sides)


def _null_with(value: exp.Expr, table: str) -> bool:
    """Whether ``value`` is NULL whenever every column of ``table`` is."""
    if isinstance(value, exp.Column):
        return value.table == table
    if isinstance(value, _NULL_PROPAGATING):
        parts = [value.this, *([value.expression] if isinstance(value, exp.Binary) else [])]
        return any(_null_with(part, table) for part in parts)
    return False
