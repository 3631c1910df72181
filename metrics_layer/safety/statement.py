"""The last check before an engine: the final SQL text, parsed back in the target dialect.

``verify(sql, dialect)`` returns a ``Statement`` only when the text is exactly one query
(SELECT, WITH ... SELECT, UNION/INTERSECT/EXCEPT) and holds nothing else:

- no comment anywhere (MySQL and MariaDB execute ``/*! ... */`` comments);
- no statement node anywhere (DML, DDL, commands, COPY, INTO, locks, SET, PRAGMA, ATTACH,
  transactions, USE; also LATERAL, bind parameters and ``@@`` server variables), so a writing
  CTE or ``SELECT ... INTO`` is refused too;
- every table a plain name (no table functions such as ``read_csv`` or ``generate_series``, no
  quoted file paths);
- every node of an allowed kind (its exact class), functions included: the definition allow-list
  of ``metrics_layer.safety.allowlist`` (which holds the filter one), what the compiler itself
  emits (``COMPILER_FUNCTIONS``, ``COMPILER_ANONYMOUS``), and what those become in the target
  dialect (``rendered.py``, generated from ``samples.py``). A definition's SQL was checked against
  the same lists when it was loaded; here it is checked again, as rendered.

``Connection.fetch`` accepts only a ``Statement``, so arbitrary text has no way to an engine.

>>> verify("SELECT 1 AS x", "duckdb").sql
'SELECT 1 AS x'
>>> verify("SELECT 1; DROP TABLE t", "postgres")
Traceback (most recent call last):
...
metrics_layer.errors.StatementError: refused SQL: 2 statements; only one query is ever sent
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError

from metrics_layer.errors import StatementError
from metrics_layer.safety.allowlist import DEFINITION_ANONYMOUS, DEFINITION_NODES
from metrics_layer.safety.rendered import RENDERED

__all__ = [
    "COMPILER_ANONYMOUS",
    "COMPILER_DIALECT_ANONYMOUS",
    "COMPILER_DIALECT_NODES",
    "COMPILER_FUNCTIONS",
    "COMPILER_NODES",
    "REFUSED_NODES",
    "Statement",
    "verify",
]


@dataclass(frozen=True)
class Statement:
    """SQL text that passed ``verify`` for ``dialect``; the only thing an engine runs.

    ``time_zones`` are the zones it converts UTC timestamps to, so that an engine that cannot
    convert to one of them refuses before running it (``Session.check_zone``).
    """

    sql: str
    dialect: str
    time_zones: tuple[str, ...] = ()


# What the compiler emits, as parsed back from the golden SQL of every dialect and the shipped
# metrics compiled for duckdb, postgres, mysql and sqlite (tests/engine/test_statement.py keeps
# it complete), plus the filter functions (graph/expressions.py) in each dialect's spelling.
COMPILER_FUNCTIONS: tuple[type[exp.Func], ...] = (
    # aggregates (planner/aggregates.py)
    exp.Count,
    exp.Sum,
    exp.Min,
    exp.Max,
    exp.Avg,
    exp.PercentileCont,  # inside WITHIN GROUP, a node that is not a function
    # conditionals and NULL handling
    exp.Case,
    exp.If,
    exp.Coalesce,
    exp.Nullif,
    exp.Exists,
    exp.And,
    exp.Or,
    exp.Xor,
    # types and time (sql/time.py, sql/dialects.py)
    exp.Cast,
    exp.TryCast,
    exp.DateTrunc,
    exp.TimestampTrunc,
    exp.DateAdd,
    exp.DateSub,
    exp.TimestampDiff,
    exp.ConvertTimezone,
    exp.Date,
    exp.StrToDate,
    exp.TsOrDsToDate,
    exp.Year,
    exp.Quarter,
    exp.Month,
    exp.DayOfWeekIso,
    exp.WeekStart,
    exp.Concat,
    # filter functions (graph/expressions.py ALLOWED_FUNCTIONS) and their dialect spellings
    exp.Lower,
    exp.Upper,
    exp.Trim,
    exp.Length,
    exp.Abs,
    exp.Round,
    exp.Floor,
    exp.Ceil,
    exp.Substring,
    exp.StartsWith,
    exp.ConcatWs,
    exp.Left,
    exp.SafeDivide,
)

# Other node kinds the compiler emits (its joins, set operations, aggregates' arguments).
COMPILER_NODES: tuple[type[exp.Expr], ...] = (exp.Distinct, exp.WithinGroup, exp.NullSafeEQ)

# Node kinds the compiler emits for one dialect only, as that dialect's parser reads them back:
# Spark's exact PERCENTILE (sql/dialects.py ``exact_percentile``) is a Quantile there.
# Spark's day spine (sql/spine.py ``spark_day_spine``) is EXPLODE(SEQUENCE(first, last)).
# ClickHouse's day spine (sql/spine.py ``clickhouse_day_spine``) is arrayJoin(arrayMap(n ->
# addDays(first, n), range(toUInt32(days + 1)))): an Explode of a Transform with a Lambda.
_SPARK_NODES = (exp.Quantile, exp.Explode, exp.GenerateSeries)
COMPILER_DIALECT_NODES: dict[str, tuple[type[exp.Expr], ...]] = {
    "spark": _SPARK_NODES,
    "spark2": _SPARK_NODES,
    "databricks": _SPARK_NODES,
    "clickhouse": (exp.Explode, exp.Transform, exp.Lambda),
}

# Functions sqlglot does not model, by upper-case name: MySQL's week start and first day of a
# year, Snowflake's ISO weekday, Spark's and ClickHouse's exact percentiles, SQLite's DATE().
COMPILER_ANONYMOUS: frozenset[str] = frozenset(
    {"WEEKDAY", "MAKEDATE", "DAYOFWEEKISO", "PERCENTILE", "QUANTILEEXACTINCLUSIVE", "DATE"}
)
# And for one dialect only: ClickHouse's day spine (range, toUInt32, addDays), day of a value
# (toDate32) and nullable LEAD (toNullable).
COMPILER_DIALECT_ANONYMOUS: dict[str, frozenset[str]] = {
    "clickhouse": frozenset({"RANGE", "TOUINT32", "ADDDAYS", "TODATE32", "TONULLABLE"}),
}

# Node kinds that are never part of a query: statements and what only statements contain.
_REFUSED_NAMES = (
    "DML",
    "DDL",
    "Command",
    "Copy",
    "Into",
    "Lock",
    "Set",
    "SetItem",
    "Pragma",
    "Attach",
    "Detach",
    "Transaction",
    "Commit",
    "Rollback",
    "Use",
    "LoadData",
    "Install",
    "Describe",
    "Kill",
    "Grant",
    "Revoke",
    "Analyze",
    "Summarize",
    "Export",
    "Refresh",
    "Cache",
    "Uncache",
    "Lateral",
    "Placeholder",
    "Parameter",
    "SessionParameter",
)
REFUSED_NODES: tuple[type[exp.Expr], ...] = tuple(
    getattr(exp, name) for name in _REFUSED_NAMES if hasattr(exp, name)
)

_TABLE_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")

# ClickHouse clauses that change how a query runs, not what it reads: its own SETTINGS (which
# readonly=1 refuses as well), an output FORMAT, and joins the compiler never writes.
_REFUSED_CLAUSES = ("settings", "format")
_REFUSED_JOIN_KINDS = frozenset({"ARRAY", "ANY", "ASOF"})


def verify(sql: str, dialect: str) -> Statement:
    """``Statement(sql, dialect)`` if ``sql`` is one plain query; StatementError otherwise."""
    checked = _checked(sql, dialect)
    if isinstance(checked, str):
        raise StatementError(f"refused SQL: {checked}", sql=sql)
    return Statement(sql, dialect, _time_zones(checked))


def _time_zones(tree: exp.Expr) -> tuple[str, ...]:
    """The target zones of the time-zone conversions in ``tree``.

    >>> _time_zones(sqlglot.parse_one("SELECT CONVERT_TZ(t, 'UTC', 'Europe/Berlin')", "mysql"))
    ('Europe/Berlin',)
    """
    zones = {
        node.args["target_tz"].name
        for node in tree.find_all(exp.ConvertTimezone)
        if isinstance(node.args.get("target_tz"), exp.Literal)
    }
    return tuple(sorted(zones))


def _checked(sql: str, dialect: str) -> str | exp.Query:
    """The parsed query, or what is wrong with it."""
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
        if any(token.comments for token in tokens):
            return "it contains a comment (MySQL runs /*! ... */ comments); remove it"
        trees = [tree for tree in sqlglot.parse(sql, read=dialect) if tree is not None]
    except SqlglotError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"it does not parse as {dialect} SQL ({first})"
    if len(trees) != 1:
        return f"{len(trees)} statements; only one query is ever sent"
    tree = trees[0]
    if not isinstance(tree, exp.Query):
        return f"a {type(tree).__name__} statement; only queries are ever sent"
    kinds, anonymous = _allowed(dialect)
    for node in tree.walk():
        if node.comments:
            return "it contains a comment; remove it"
        if isinstance(node, REFUSED_NODES):
            return (
                f"it contains {type(node).__name__} ({_short(node, dialect)}); only reads are sent"
            )
        problem = _clause_problem(node)
        if problem:
            return problem
        if isinstance(node, exp.Table):
            problem = _table_problem(node, dialect)
            if problem:
                return problem
        elif isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc, exp.ParameterizedAgg)):
            # by name: ClickHouse's aggregates that sqlglot does not model are one node kind
            if node.name.upper() not in anonymous:
                return f"function {node.name}() is not allowed"
        elif type(node) not in kinds:
            what = "function" if isinstance(node, exp.Func) else "construct"
            return f"{what} {_short(node, dialect)} ({type(node).__name__}) is not allowed"
    return tree


def _clause_problem(node: exp.Expr) -> str | None:
    """A SETTINGS or FORMAT clause, or an ARRAY, ANY, ASOF or GLOBAL join (ClickHouse).

    >>> _clause_problem(sqlglot.parse_one("SELECT 1 SETTINGS readonly = 0", "clickhouse"))
    'it has a SETTINGS clause; only plain queries are sent'
    """
    if isinstance(node, exp.Query):
        for clause in _REFUSED_CLAUSES:
            if node.args.get(clause):
                return f"it has a {clause.upper()} clause; only plain queries are sent"
    if isinstance(node, exp.Join):
        kind = (node.kind or "").upper()
        if kind in _REFUSED_JOIN_KINDS or node.args.get("global_"):
            return f"it has {'a GLOBAL' if node.args.get('global_') else f'an {kind}'} join"
    return None


def _table_problem(table: exp.Table, dialect: str) -> str | None:
    for part in (table.args.get("this"), table.args.get("db"), table.args.get("catalog")):
        if part is None:
            continue
        if not isinstance(part, exp.Identifier) or not _TABLE_PART.match(part.name):
            return f"table {_short(table, dialect)} is not a plain table name"
    return None


def _short(node: exp.Expr, dialect: str) -> str:
    text = node.sql(dialect=dialect)
    return text if len(text) <= 60 else text[:57] + "..."


@cache
def _allowed(dialect: str) -> tuple[frozenset[type[exp.Expr]], frozenset[str]]:
    """The node kinds and unknown-function names allowed in ``dialect``'s SQL."""
    if dialect in RENDERED:
        extra_kinds, extra_names = RENDERED[dialect]
    else:
        extra_kinds = frozenset().union(*(kinds for kinds, _ in RENDERED.values()))
        extra_names = frozenset().union(*(names for _, names in RENDERED.values()))
    kinds = {*DEFINITION_NODES, *COMPILER_FUNCTIONS, *COMPILER_NODES}
    kinds.update(COMPILER_DIALECT_NODES.get(dialect, ()))
    kinds.update(getattr(exp, name) for name in extra_kinds)
    anonymous = COMPILER_ANONYMOUS | {n.upper() for n in DEFINITION_ANONYMOUS} | extra_names
    anonymous |= COMPILER_DIALECT_ANONYMOUS.get(dialect, frozenset())
    return frozenset(kinds), anonymous
