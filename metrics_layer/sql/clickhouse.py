"""ClickHouse's rules: the types, text functions and division that give DuckDB's values there.

The session settings of ``engine/adapters/clickhouse.py`` make NULLs behave as in standard SQL
(``join_use_nulls``, ``aggregate_functions_null_for_empty``, ``cast_keep_nullable``); these
rules settle what a setting cannot. Each rewrites one node and leaves every other node alone;
they run from ``RULES["clickhouse"]`` in ``metrics_layer.sql.dialects``.
"""

from __future__ import annotations

from sqlglot import exp

__all__ = ["clickhouse_division", "clickhouse_types", "clickhouse_utf8"]

_Type = exp.DataType.Type
_FLOATS = (_Type.DOUBLE, _Type.FLOAT)


def clickhouse_types(node: exp.Expr) -> exp.Expr:
    """``DATE`` as ``Date32`` and ``TIMESTAMP`` as ``DateTime64(6)``.

    ClickHouse's ``Date`` and ``DateTime`` start in 1970 and turn an earlier value into
    1970-01-01 without an error; ``DateTime`` also drops fractions of a second. ``Date32``
    (1900 to 2299) and ``DateTime64(6)`` (microseconds, as DuckDB) keep the value.

    >>> cast = exp.cast(exp.column("d"), "DATE")
    >>> cast.transform(clickhouse_types).sql("clickhouse")
    'CAST(d AS Nullable(Date32))'
    >>> exp.cast(exp.column("t"), "TIMESTAMP").transform(clickhouse_types).sql("clickhouse")
    'CAST(t AS Nullable(DateTime64(6)))'
    """
    if not isinstance(node, exp.DataType):
        return node
    if node.this == _Type.DATE:
        return exp.DataType(this=_Type.DATE32)
    if node.this in (_Type.TIMESTAMP, _Type.DATETIME) and not node.expressions:
        precision = exp.DataTypeParam(this=exp.Literal.number(6))
        return exp.DataType(this=_Type.DATETIME64, expressions=[precision])
    return node


_UTF8: dict[type[exp.Expr], str] = {
    exp.Lower: "lowerUTF8",
    exp.Upper: "upperUTF8",
    exp.Left: "leftUTF8",
}


def clickhouse_utf8(node: exp.Expr) -> exp.Expr:
    """LOWER, UPPER, SUBSTRING and LEFT by character: ClickHouse's own work on bytes (``lower``
    leaves 'É' as it is, ``substring`` can cut a character in two).

    >>> clickhouse_utf8(exp.Lower(this=exp.column("c"))).sql("clickhouse")
    'lowerUTF8(c)'
    >>> node = exp.Substring(this=exp.column("c"), start=exp.Literal.number(1),
    ...                      length=exp.Literal.number(2))
    >>> clickhouse_utf8(node).sql("clickhouse")
    'substringUTF8(c, 1, 2)'
    """
    if isinstance(node, exp.Substring):
        arguments = [node.this, node.args.get("start"), node.args.get("length")]
        present = [argument.copy() for argument in arguments if argument is not None]
        return exp.Anonymous(this="substringUTF8", expressions=present)
    name = _UTF8.get(type(node))
    if name is None:
        return node
    arguments = [node.this, node.args.get("expression")]
    return exp.Anonymous(
        this=name, expressions=[argument.copy() for argument in arguments if argument is not None]
    )


def _is_float(value: exp.Expr) -> bool:
    return isinstance(value, exp.Cast) and value.to.is_type(*_FLOATS)


def clickhouse_division(node: exp.Expr) -> exp.Expr:
    """``a / b`` in floating point, as DuckDB divides: ClickHouse divides a ``Decimal`` within
    its scale and cuts the rest (10.05 / 4 is 2.51 there, 2.5125 on DuckDB).

    >>> div = exp.Div(this=exp.column("a"), expression=exp.Literal.number(4))
    >>> clickhouse_division(div).sql("clickhouse")
    'CAST(a AS Nullable(Float64)) / 4'
    """
    if not isinstance(node, exp.Div) or _is_float(node.this):
        return node
    node.set("this", exp.cast(node.this, _Type.DOUBLE))
    return node
