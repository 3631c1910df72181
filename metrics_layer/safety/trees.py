"""Check a parsed SQL fragment against the allow-lists; return what is refused, if anything.

Every node kind either list lets through is handled here: the ones that can carry text into
the SQL (columns, tables, types, interval units, variables) are checked for what that text is,
since sqlglot prints some of them verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp
from sqlglot.expressions.datatypes import DType

from metrics_layer.errors import printable
from metrics_layer.safety.allowlist import (
    DEFINITION_ANONYMOUS,
    DEFINITION_FUNCTIONS,
    DEFINITION_NODES,
    DEFINITION_TYPES,
    FILTER_NODES,
    FILTER_TYPES,
    INTERVAL_UNITS,
    NAME,
    TABLE_NAME,
)

__all__ = ["definition_problem", "depth", "drop_comments", "filter_problem", "table_problem"]

_WHOLE_NUMBER = re.compile(r"^[0-9]{1,9}$")
_INTERVAL_AMOUNT = re.compile(r"^-?[0-9]{1,9}$")
_NUMBER = re.compile(r"^[0-9]{0,38}\.?[0-9]{0,38}(?:[eE][-+]?[0-9]{1,3})?$")
_FILTER_KINDS = frozenset(FILTER_NODES)
_DEFINITION_KINDS = frozenset(DEFINITION_NODES)
_DEFINITION_CALLS = frozenset(DEFINITION_FUNCTIONS)
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
_TABLE_PARTS = ("this", "db", "catalog")


def filter_problem(tree: exp.Expr) -> str | None:
    """What in an untrusted filter is not allowed (``None`` when it is all allowed).

    >>> import sqlglot
    >>> filter_problem(sqlglot.parse_one("lower(user.country) IN ('de', 'at')")) is None
    True
    >>> filter_problem(sqlglot.parse_one('CAST(x AS "t; DROP TABLE users") = 1'))
    'the type name "t; DROP TABLE users" (use one of BIGINT, BOOLEAN, CHAR, DATE, ...)'
    """
    return _first_problem(tree, _filter_node_problem)


def definition_problem(tree: exp.Expr) -> str | None:
    """What in a definition's SQL is not allowed (``None`` when it is all allowed).

    >>> import sqlglot
    >>> definition_problem(sqlglot.parse_one("SELECT * FROM users WHERE NOT is_test")) is None
    True
    >>> definition_problem(sqlglot.parse_one("SELECT pg_read_file('/etc/passwd')"))
    'the function pg_read_file() (see the functions definitions may use in docs/security.md)'
    """
    return _first_problem(tree, _definition_node_problem)


def table_problem(table: exp.Expr) -> str | None:
    """What makes ``table`` more than a plain ``[catalog.][schema.]name``, if anything.

    >>> table_problem(exp.to_table("analytics.events")) is None
    True
    >>> table_problem(exp.to_table("'/etc/passwd'"))
    "the table name '/etc/passwd' (letters, digits, '_', '$' and '-' only)"
    """
    if not isinstance(table, exp.Table):
        return f"'{_short(table)}' (a table name)"
    if not isinstance(table.this, exp.Identifier):
        function = table.this.sql_name() if isinstance(table.this, exp.Func) else table.this.key
        return f"the table function {function.lower()}()"
    for key, value in table.args.items():
        if value is None or key in ("alias", "joins"):
            continue
        if key not in _TABLE_PARTS:
            return f"'{key}' on the table {table.name}"
        if not isinstance(value, exp.Identifier) or not TABLE_NAME.match(value.name):
            return (
                f"the table name '{_short(value, raw=True)}' (letters, digits, '_', '$' and '-' "
                "only)"
            )
    return None


def depth(tree: exp.Expr) -> int:
    """How deeply ``tree`` nests; a chain of AND (or OR) counts as one level.

    >>> import sqlglot
    >>> depth(sqlglot.parse_one("a = 1")), depth(sqlglot.parse_one("a = 1 AND b = 2 AND c = 3"))
    (3, 4)
    """
    deepest = 0
    stack: list[tuple[exp.Expr, int]] = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        for child in node.iter_expressions():
            same_chain = isinstance(child, exp.Connector) and type(child) is type(node)
            stack.append((child, level if same_chain else level + 1))
    return deepest


def drop_comments(tree: exp.Expr) -> exp.Expr:
    """Remove every comment from ``tree``: a comment never reaches an engine (MySQL runs the
    text of ``/*! ... */``).

    >>> import sqlglot
    >>> drop_comments(sqlglot.parse_one("SELECT a /*! DROP TABLE t */ FROM t")).sql()
    'SELECT a FROM t'
    """
    for node in tree.walk():
        if node.comments:
            node.comments = None
    return tree


def _first_problem(tree: exp.Expr, kind_problem: Callable[[exp.Expr], str | None]) -> str | None:
    for node in tree.walk():
        problem = _common_problem(node) or kind_problem(node)
        if problem is not None:
            return problem
    return None


def _common_problem(node: exp.Expr) -> str | None:
    if isinstance(node, (exp.Command, exp.DDL, exp.DML)):
        return f"a statement ({node.key.upper()})"
    if isinstance(node, (exp.Placeholder, exp.Parameter)):
        return "a placeholder"
    if isinstance(node, exp.DataType):
        return None
    if isinstance(node, exp.Var) and not _WORD.match(node.name):
        return f"'{_short(node, raw=True)}'"
    if isinstance(node, exp.Literal) and not node.is_string and not _NUMBER.match(node.name):
        return f"the number '{_short(node, raw=True)}'"
    if isinstance(node, exp.DataTypeParam) and not (
        isinstance(node.this, exp.Literal) and _WHOLE_NUMBER.match(node.this.name)
    ):
        return f"the type parameter '{_short(node)}' (whole numbers only)"
    return None


def _type_problem(node: exp.DataType, allowed: frozenset[DType]) -> str | None:
    names = ", ".join(sorted(t.value for t in allowed)[:4])
    if node.this is exp.DataType.Type.USERDEFINED:
        return f'the type name "{_short(node.args.get("kind"))}" (use one of {names}, ...)'
    if node.this not in allowed or node.args.get("kind") is not None:
        return f"the type {node.this.value} (use one of {names}, ...)"
    for param in node.expressions:
        if not isinstance(param, exp.DataTypeParam):
            return f"the type '{_short(node)}'"
    return None


def _filter_node_problem(node: exp.Expr) -> str | None:
    if node.comments:
        return "a comment"
    if isinstance(node, (exp.Query, exp.Subquery, exp.Exists)):
        return "a subquery"
    if isinstance(node, exp.Star):
        return "'*'"
    if isinstance(node, exp.Column):
        if any(not NAME.match(part.name) for part in node.parts):
            return f"'{_short(node)}' (only dotted dimension names)"
        return None
    if isinstance(node, exp.Identifier):
        return None if isinstance(node.parent, exp.Column) else f"the name '{_short(node)}'"
    if isinstance(node, exp.In) and not node.expressions:
        return "an empty IN list" if not node.args.get("query") else "a subquery"
    if isinstance(node, exp.DataType):
        if not isinstance(node.parent, exp.Cast):
            return f"the type '{_short(node)}'"
        return _type_problem(node, FILTER_TYPES)
    if isinstance(node, exp.Cast) and set(_set_args(node)) - {"this", "to"}:
        return f"'{_short(node)}' (a plain CAST(value AS type))"
    if isinstance(node, exp.Var):
        if isinstance(node.parent, exp.Interval) and node.name.upper() in INTERVAL_UNITS:
            return None
        return f"'{_short(node)}'"
    if isinstance(node, exp.Interval):
        amount = node.this
        if not isinstance(amount, exp.Literal) or not _INTERVAL_AMOUNT.match(amount.name):
            return f"'{_short(node)}' (an interval is a whole number and a unit)"
        return None
    if type(node) in _FILTER_KINDS:
        return None
    if isinstance(node, exp.AggFunc):
        return f"the aggregate {node.key.upper()}()"
    if isinstance(node, exp.Anonymous):
        return f"the function {node.name}()"
    if isinstance(node, exp.Func):
        return f"the function {node.sql_name()}()"
    return f"'{_short(node)}' ({node.key})"


def _definition_node_problem(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Table):
        return table_problem(node)
    if isinstance(node, exp.DataType):
        return _type_problem(node, DEFINITION_TYPES)
    if isinstance(node, exp.Anonymous):
        if node.name.lower() in DEFINITION_ANONYMOUS:
            return None
        return (
            f"the function {node.name}() (see the functions definitions may use in "
            "docs/security.md)"
        )
    if type(node) in _DEFINITION_KINDS:
        return None
    if isinstance(node, exp.Func) and type(node) not in _DEFINITION_CALLS:
        return (
            f"the function {node.sql_name().lower()}() (see the functions definitions may use "
            "in docs/security.md)"
        )
    return f"'{_short(node)}' ({node.key})"


def _set_args(node: exp.Expr) -> list[str]:
    return [key for key, value in node.args.items() if value is not None and value is not False]


def _short(node: object, *, raw: bool = False, width: int = 40) -> str:
    if isinstance(node, exp.Expr) and not raw:
        text = node.sql()
    elif isinstance(node, exp.Expr):
        text = node.name or node.sql()
    else:
        text = str(node)
    text = printable(text)
    return text if len(text) <= width else text[: width - 3] + "..."
