"""Parsing SQL fragments with sqlglot: trusted definition expressions and untrusted filters.

Definition expressions (dimension, measure and key ``expr``) are written by the owners of the
definitions, in portable SQL, and may use any function. Filters (a metric's ``filter`` and a
query's ``where``) are untrusted: they may only be a boolean over dotted dimension names,
literals, operators and an allow-list of functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError

from metrics_layer.errors import FilterError

__all__ = [
    "ALLOWED_FUNCTIONS",
    "ExpressionSyntaxError",
    "column_parts",
    "parse_condition",
    "parse_expression",
    "qualify",
    "references",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ExpressionSyntaxError(ValueError):
    """A SQL fragment that does not parse; ``str()`` says why."""


def parse_expression(text: str) -> exp.Expr:
    """Parse one SQL scalar expression; plain identifiers skip the parser.

    >>> parse_expression("user_id").sql()
    'user_id'
    >>> parse_expression("amount * 2").sql()
    'amount * 2'
    """
    if _IDENTIFIER.match(text):
        return exp.column(text)
    try:
        statements = sqlglot.parse(text)
    except (ParseError, TokenError) as exc:
        raise ExpressionSyntaxError(_first_line(exc)) from exc
    if len(statements) != 1 or statements[0] is None:
        raise ExpressionSyntaxError("expected exactly one SQL expression")
    expression = statements[0]
    if isinstance(expression, (exp.Query, exp.Command, exp.DDL, exp.DML)):
        raise ExpressionSyntaxError("expected an expression, not a statement")
    if expression.find(exp.Star) is not None:
        raise ExpressionSyntaxError("'*' is not an expression; name a column")
    return expression


def qualify(expression: exp.Expr, table: str) -> exp.Expr:
    """Give every unqualified column the table alias ``table``.

    >>> qualify(parse_expression("a + b.c"), "t").sql()
    't.a + b.c'
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table:
            return exp.column(node.this.copy(), table=table)
        return node

    return expression.transform(rule, copy=False)


# Functions a filter may call, by sqlglot class. Aggregates, subqueries and anything with side
# effects are absent on purpose.
ALLOWED_FUNCTIONS: tuple[type[exp.Func], ...] = (
    exp.Lower,
    exp.Upper,
    exp.Trim,
    exp.Length,
    exp.Coalesce,
    exp.Abs,
    exp.Round,
    exp.Floor,
    exp.Ceil,
    exp.Nullif,
    exp.If,
    exp.Case,
    exp.Substring,
    exp.Concat,
    exp.StartsWith,
)

_ALLOWED_NODES: tuple[type[exp.Expr], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Tuple,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Xor,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.DPipe,
    exp.Cast,
    exp.DataType,
    exp.DataTypeParam,
    exp.Interval,
    exp.Var,
    exp.If,
    exp.Case,
    *ALLOWED_FUNCTIONS,
)


@dataclass(frozen=True)
class _Refused:
    what: str


def parse_condition(text: str, *, field: str, boolean: bool = True) -> exp.Expr:
    """Parse an untrusted filter; refuse anything but a safe boolean over dotted names.

    >>> parse_condition("user.country = 'DE'", field="where").sql()
    "user.country = 'DE'"
    >>> parse_condition("1=1; DROP TABLE users", field="where")
    Traceback (most recent call last):
    metrics_layer.errors.FilterError: where: a filter must be one boolean expression, ...
    """
    what = "a filter" if boolean else "an expression"
    example = (
        "A filter is a SQL boolean such as \"user.country = 'DE'\""
        if boolean
        else 'An expression is arithmetic over metric names such as "revenue / customers"'
    )
    dialect = Dialect.get_or_raise(None)
    try:
        tokens = dialect.tokenize(text)
        if any(token.comments for token in tokens):
            raise FilterError(f"comments are not allowed in {what}; remove them", field=field)
        statements = dialect.parser().parse(tokens, text)
    except (ParseError, TokenError) as exc:
        raise FilterError(
            f"cannot parse {text!r}: {_first_line(exc)}. {example}",
            field=field,
        ) from exc
    if len(statements) != 1 or statements[0] is None:
        raise FilterError(
            f"{what} must be one {'boolean ' if boolean else ''}expression, not several "
            "statements; remove the ';'",
            field=field,
        )
    condition = statements[0]
    refused = _first_refused(condition)
    if refused is not None:
        raise FilterError(
            f"{refused.what} is not allowed in {what}. Use dimension names, literals, "
            "comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL and the functions "
            f"{', '.join(sorted(_function_names()))}",
            field=field,
        )
    if boolean and isinstance(condition, (exp.Literal, exp.Add, exp.Sub, exp.Mul, exp.Div)):
        raise FilterError(
            f"{text!r} is not a condition; compare it with something, e.g. \"{text} = 'x'\"",
            field=field,
        )
    return condition


def references(expression: exp.Expr) -> list[exp.Column]:
    """Every column a parsed filter names, in order."""
    return list(expression.find_all(exp.Column))


def column_parts(column: exp.Column) -> list[str]:
    """The dotted name of a column as a list: ``user.signed_up_at.month`` → three parts."""
    return [part.name for part in column.parts]


def _first_refused(condition: exp.Expr) -> _Refused | None:
    for node in condition.walk():
        if node.comments:
            return _Refused("a comment")
        if isinstance(node, (exp.Query, exp.Subquery, exp.Exists)):
            return _Refused("a subquery")
        if isinstance(node, (exp.Command, exp.DDL, exp.DML)):
            return _Refused("a statement")
        if isinstance(node, exp.Star):
            return _Refused("'*'")
        if isinstance(node, (exp.Placeholder, exp.Parameter)):
            return _Refused("a placeholder")
        if isinstance(node, exp.Column) and any(
            not _IDENTIFIER.match(part.name) for part in node.parts
        ):
            return _Refused(f"'{node.sql()}' (only dotted dimension names)")
        if isinstance(node, exp.In) and not (node.expressions or node.args.get("query")):
            return _Refused("an empty IN list")
        if isinstance(node, _ALLOWED_NODES):
            continue
        if isinstance(node, exp.AggFunc):
            return _Refused(f"the aggregate {node.key.upper()}()")
        if isinstance(node, exp.Anonymous):
            return _Refused(f"the function {node.name}()")
        if isinstance(node, exp.Func):
            return _Refused(f"the function {node.sql_name()}()")
        if not isinstance(node, _ALLOWED_NODES):
            return _Refused(f"'{node.sql()[:40]}' ({node.key})")
    return None


def _function_names() -> list[str]:
    return [cls.sql_names()[0] if cls.sql_names() else cls.__name__ for cls in ALLOWED_FUNCTIONS]


def _first_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
