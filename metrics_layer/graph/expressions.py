"""Parsing SQL fragments with sqlglot: trusted definition expressions and untrusted filters.

Definition expressions (dimension, measure and key ``expr``, a source's ``sql``) are written by
the owners of the definitions and may use queries and the pure functions of
``metrics_layer.safety.allowlist``; filters (a metric's ``filter``, a query's ``where``, a derived
metric's ``expr``) are untrusted: only a boolean over dotted dimension names, literals, operators
and a few functions. Both are refused, with the reason, when they hold anything else, and both are
bounded in length and depth.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

from metrics_layer.errors import FilterError, printable
from metrics_layer.safety.allowlist import FILTER_FUNCTIONS, LIMITS
from metrics_layer.safety.trees import definition_problem, depth, drop_comments, filter_problem

__all__ = [
    "ALLOWED_FUNCTIONS",
    "ExpressionSyntaxError",
    "column_parts",
    "parse_condition",
    "parse_expression",
    "parse_query",
    "qualify",
    "references",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ALLOWED_FUNCTIONS = FILTER_FUNCTIONS


class ExpressionSyntaxError(ValueError):
    """A SQL fragment that does not parse or is not allowed; ``str()`` says why."""


def parse_expression(text: str) -> exp.Expr:
    """Parse one SQL scalar expression of a definition; plain identifiers skip the parser.

    >>> parse_expression("user_id").sql()
    'user_id'
    >>> parse_expression("amount * 2").sql()
    'amount * 2'
    >>> parse_expression("pg_sleep(10)")
    Traceback (most recent call last):
    metrics_layer.graph.expressions.ExpressionSyntaxError: the function pg_sleep() ...
    """
    if _IDENTIFIER.match(text):
        return exp.column(text)
    expression = _parse_definition(text)
    if isinstance(expression, (exp.Query, exp.Command, exp.DDL, exp.DML)):
        raise ExpressionSyntaxError("expected an expression, not a statement")
    if expression.find(exp.Star) is not None:
        raise ExpressionSyntaxError("'*' is not an expression; name a column")
    return expression


def parse_query(text: str) -> exp.Query:
    """Parse a source's ``sql``: exactly one SELECT (or WITH ... SELECT, or set operation) over
    plain tables, with the definition allow-list.

    >>> parse_query("SELECT id, lower(email) AS email FROM users -- no test users").sql()
    'SELECT id, LOWER(email) AS email FROM users'
    >>> parse_query("SELECT 1; DROP TABLE users")
    Traceback (most recent call last):
    metrics_layer.graph.expressions.ExpressionSyntaxError: 'sql' must be one SELECT statement, ...
    """
    query = _parse_definition(text, statement=True)
    assert isinstance(query, exp.Query)
    return query


def _parse_definition(text: str, *, statement: bool = False) -> exp.Expr:
    if len(text) > LIMITS.definition_chars:
        raise ExpressionSyntaxError(
            f"it is {len(text):,} characters long; the limit is {LIMITS.definition_chars:,}. "
            "Move the logic into a view or table"
        )
    try:
        statements = sqlglot.parse(text)
    except (ParseError, TokenError) as exc:
        raise ExpressionSyntaxError(_first_line(exc)) from exc
    except RecursionError:
        raise ExpressionSyntaxError(_too_deep(LIMITS.definition_depth)) from None
    if len(statements) != 1 or statements[0] is None:
        raise ExpressionSyntaxError(
            "'sql' must be one SELECT statement, not several; remove the ';'"
            if statement
            else "expected exactly one SQL expression"
        )
    tree = drop_comments(statements[0])
    if statement and (not isinstance(tree, exp.Query) or not tree.selects):
        raise ExpressionSyntaxError("'sql' must be one SELECT statement with columns")
    if depth(tree) > LIMITS.definition_depth:
        raise ExpressionSyntaxError(_too_deep(LIMITS.definition_depth))
    problem = definition_problem(tree)
    if problem is not None:
        raise ExpressionSyntaxError(f"{problem} is not allowed in definitions")
    return _without_positions(tree)


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
        "A filter is a SQL boolean over dimension names such as \"entity.dimension = 'value'\""
        if boolean
        else 'An expression is arithmetic over metric names such as "revenue / customers"'
    )
    if not isinstance(text, str):
        raise FilterError(f"{what} must be a string, not {type(text).__name__}", field=field)
    if len(text) > LIMITS.filter_chars:
        raise FilterError(
            f"{what} of {len(text):,} characters is longer than the limit of "
            f"{LIMITS.filter_chars:,}; shorten it (a long IN list belongs in a dimension)",
            field=field,
        )
    dialect = Dialect.get_or_raise(None)
    try:
        tokens = dialect.tokenize(text)
        if not tokens:
            raise FilterError(f"{what} is empty; {example[0].lower()}{example[1:]}", field=field)
        if any(token.comments for token in tokens):
            raise FilterError(f"comments are not allowed in {what}; remove them", field=field)
        if len(tokens) > LIMITS.filter_nodes or _paren_depth(tokens) > LIMITS.filter_depth:
            raise FilterError(_too_big(what), field=field)
        statements = dialect.parser().parse(tokens, text)
    except (ParseError, TokenError) as exc:
        raise FilterError(
            f"cannot parse {_quote(text)}: {_first_line(exc)}. {example}",
            field=field,
        ) from exc
    except RecursionError:
        raise FilterError(_too_big(what), field=field) from None
    if len(statements) != 1 or statements[0] is None:
        raise FilterError(
            f"{what} must be one {'boolean ' if boolean else ''}expression, not several "
            "statements; remove the ';'",
            field=field,
        )
    condition = statements[0]
    if depth(condition) > LIMITS.filter_depth:
        raise FilterError(_too_big(what), field=field)
    refused = filter_problem(condition)
    if refused is not None:
        raise FilterError(
            f"{refused} is not allowed in {what}. Use dimension names, literals, "
            "comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL, CAST to a plain type and the "
            f"functions {', '.join(sorted(_function_names()))}",
            field=field,
        )
    if boolean and isinstance(condition, (exp.Literal, exp.Add, exp.Sub, exp.Mul, exp.Div)):
        raise FilterError(
            f"{_quote(text)} is not a condition; compare it with something, e.g. "
            f"\"{_quote(text, 20)[1:-1]} = 'x'\"",
            field=field,
        )
    return _without_positions(condition)


def _without_positions(tree: exp.Expr) -> exp.Expr:
    """``tree`` without the token positions (line, column, offsets) the parser keeps in the
    meta of each literal and name: nothing reads them once the text is checked, and the
    planner copies these trees for every query, where copying them made copies 1.7 times slower.

    >>> tree = _without_positions(sqlglot.parse_one("country = 'DE'"))
    >>> [node.meta_get("line") for node in tree.walk()]
    [None, None, None, None]
    """
    for node in tree.walk():
        if node.meta_get("line") is not None:
            node.meta.clear()
    return tree


def references(expression: exp.Expr) -> list[exp.Column]:
    """Every column a parsed filter names, in order."""
    return list(expression.find_all(exp.Column))


def column_parts(column: exp.Column) -> list[str]:
    """The dotted name of a column as a list: ``user.signed_up_at.month`` → three parts."""
    return [part.name for part in column.parts]


def _function_names() -> list[str]:
    return [cls.sql_names()[0] if cls.sql_names() else cls.__name__ for cls in ALLOWED_FUNCTIONS]


def _paren_depth(tokens: Sequence[Token]) -> int:
    level = deepest = 0
    for token in tokens:
        kind = token.token_type
        if kind in (TokenType.L_PAREN, TokenType.L_BRACKET):
            level += 1
            deepest = max(deepest, level)
        elif kind in (TokenType.R_PAREN, TokenType.R_BRACKET):
            level -= 1
    return deepest


def _too_big(what: str) -> str:
    return (
        f"{what} nests deeper than {LIMITS.filter_depth} levels or has more than "
        f"{LIMITS.filter_nodes:,} parts; simplify it"
    )


def _too_deep(limit: int) -> str:
    return f"it nests deeper than {limit} levels; simplify it or move it into a view"


def _quote(text: str, width: int = 60) -> str:
    shown = printable(text)
    return repr(shown if len(shown) <= width else shown[: width - 3] + "...")


def _first_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = re.sub(r"<class 'sqlglot\.[\w.]*?(\w+)'>", lambda m: m.group(1).upper(), text)
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
