"""Names that metrics_layer invents (CTEs, aliases), quoted only where a dialect needs it."""

from __future__ import annotations

import datetime as dt

from sqlglot import exp
from sqlglot.expressions.datatypes import DType

__all__ = [
    "DATE_VALUE",
    "RESERVED",
    "alias",
    "cast",
    "column",
    "conjuncts",
    "date_literal",
    "date_literal_text",
    "day_of_column",
    "ident",
    "table_alias",
]

# Key in ``Expression.meta`` of a scalar subquery whose one value is a date (or NULL), worked
# out once per statement: SQLite's text-range rule (``sql/dialects.py``) takes it as a bound
# the way it takes a date literal.
DATE_VALUE = "date_value"

# Keywords of PostgreSQL (reserved, type and function names) and Snowflake, whose sqlglot
# generators quote none themselves, plus the SQL standard's; an invented name equal to one is
# quoted everywhere, consistently. Other dialects' generators quote their own keywords.
RESERVED = frozenset(
    """
    account all alter analyse analyze and any array as asc asymmetric at authorization
    between bigint binary bit boolean both by case cast char character check coalesce
    collate collation column concurrently connect connection constraint create cross cube
    current current_catalog current_date current_role current_schema current_time
    current_timestamp current_user database date day dec decimal default deferrable delete
    desc distinct do drop else end except exists extract false fetch float following for
    foreign freeze from full grant greatest group grouping gscluster having hour if ilike in
    increment initially inner inout insert int integer intersect interval into is isnull
    issue join key lateral leading least left like limit localtime localtimestamp minus
    minute month national natural nchar none normalize not notnull null nullif numeric of
    offset on only or order organization out outer over overlaps overlay partition placing
    position precision primary qualify quarter range real recursive references regexp
    returning revoke right rlike rollup row rows sample schema second select session_user
    set setof similar smallint some start substring symmetric table tablesample then time
    timestamp to trailing treat trigger trim true try_cast union unique unnest update user
    using value values varchar variadic verbose view week when whenever where window with
    within xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse
    xmlpi xmlroot xmlserialize xmltable year
    """.split()
)


def ident(name: str) -> exp.Identifier:
    """An identifier, quoted when the name is a reserved word.

    >>> ident("user").sql(), ident("signups").sql()
    ('"user"', 'signups')
    """
    return exp.to_identifier(name, quoted=name.lower() in RESERVED)


def column(name: str, table: str | None = None) -> exp.Column:
    """``table.name`` built from invented names.

    >>> column("user", "events_agg").sql()
    'events_agg."user"'
    """
    return exp.Column(this=ident(name), table=ident(table) if table else None)


def table_alias(name: str) -> exp.TableAlias:
    return exp.TableAlias(this=ident(name))


def alias(expression: exp.Expr, name: str) -> exp.Alias:
    """``expression AS name``, built directly (``exp.alias_`` re-parses and copies).

    >>> alias(exp.column("a"), "order").sql()
    'a AS "order"'
    """
    return exp.Alias(this=expression, alias=ident(name))


def cast(expression: exp.Expr, kind: DType) -> exp.Expr:
    """``CAST(expression AS kind)``, taking ``expression`` as is; no-op if it already is one.

    >>> cast(cast(exp.column("t"), exp.DataType.Type.DATE), exp.DataType.Type.DATE).sql()
    'CAST(t AS DATE)'
    """
    if cast_operand(expression, kind) is not None:
        return expression
    return exp.Cast(this=expression, to=exp.DataType(this=kind))


def cast_operand(expression: exp.Expr | None, kind: DType) -> exp.Expr | None:
    """``x`` of ``CAST(x AS kind)``; None for anything else.

    >>> cast_operand(cast(exp.column("t"), exp.DataType.Type.DATE), exp.DataType.Type.DATE).sql()
    't'
    >>> cast_operand(exp.column("t"), exp.DataType.Type.DATE) is None
    True
    """
    if isinstance(expression, exp.Cast) and expression.to.this is kind:
        operand: exp.Expr = expression.this
        return operand
    return None


def date_literal(day: dt.date) -> exp.Expr:
    """``CAST('YYYY-MM-DD' AS DATE)``: a date of the plan, written as its own ISO text (the
    form ``sql/shapes.py`` finds the dates of a query's SQL in).

    >>> date_literal(dt.date(2026, 1, 31)).sql()
    "CAST('2026-01-31' AS DATE)"
    """
    return cast(exp.Literal.string(day.isoformat()), exp.DataType.Type.DATE)


def date_literal_text(node: exp.Expr | None) -> exp.Literal | None:
    """The text of a ``date_literal``, ``CAST('YYYY-MM-DD' AS DATE)`` with a real date; None
    for anything else.

    >>> date_literal_text(date_literal(dt.date(2026, 1, 31))).sql()
    "'2026-01-31'"
    >>> date_literal_text(cast(exp.Literal.string("2026-02-30"), exp.DataType.Type.DATE))
    """
    literal = cast_operand(node, exp.DataType.Type.DATE)
    if not (isinstance(literal, exp.Literal) and literal.is_string):
        return None
    try:
        dt.date.fromisoformat(literal.this)
    except ValueError:
        return None
    return literal


def day_of_column(node: exp.Expr) -> exp.Column | None:
    """A copy of ``t`` of ``CAST(t AS DATE)``, a column; None otherwise.

    >>> day_of_column(cast(exp.column("t"), exp.DataType.Type.DATE)).sql()
    't'
    """
    day = cast_operand(node, exp.DataType.Type.DATE)
    return day.copy() if isinstance(day, exp.Column) else None


def conjuncts(condition: exp.Expr) -> list[exp.Expr]:
    """The conditions ``condition`` ANDs (through parentheses).

    >>> [c.sql() for c in conjuncts(exp.condition("a = 1 AND (b = 2 AND c = 3)"))]
    ['a = 1', 'b = 2', 'c = 3']
    """
    if isinstance(condition, exp.Paren):
        return conjuncts(condition.this)
    if isinstance(condition, exp.And):
        return conjuncts(condition.this) + conjuncts(condition.expression)
    return [condition]
