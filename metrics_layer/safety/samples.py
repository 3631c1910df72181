"""One sample of every construct the allow-lists admit, and what each becomes in an engine's SQL.

sqlglot translates some constructs between dialects (``ILIKE`` is ``LOWER(a) LIKE LOWER(b)`` on
MySQL, ``INITCAP`` a list expression on DuckDB), so the statement guard must accept, for each
engine, exactly the node kinds the allowed constructs are rendered into. ``rendered(dialect)``
computes them from the samples; ``python -m metrics_layer.safety.samples`` (``make allowlist``)
writes them to ``rendered.py``, which a test keeps current, so that the guard never pays for it at
run time and a reviewer sees every change of the table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from metrics_layer.errors import UnsupportedError
from metrics_layer.safety.allowlist import (
    DEFINITION_ANONYMOUS,
    DEFINITION_FUNCTIONS,
    DEFINITION_NODES,
    FILTER_NODES,
)
from metrics_layer.sql.dialects import render

__all__ = [
    "ENGINE_DIALECTS",
    "FILTER_SAMPLES",
    "function_sample",
    "module_text",
    "rendered",
    "samples",
]

# The dialects a Connection runs (engine/sessions.py, engine/adapters).
ENGINE_DIALECTS = ("duckdb", "postgres", "mysql", "sqlite", "clickhouse", "spark")

# One filter per node kind the filter allow-list admits, over the shipped definitions.
FILTER_SAMPLES: dict[type[exp.Expr], str] = {
    exp.Column: "user.country = 'DE'",
    exp.Identifier: "user.country = 'DE'",
    exp.Literal: "user.country = 'DE'",
    exp.Boolean: "user.ever_paid = TRUE",
    exp.Null: "user.country IS NULL",
    exp.Paren: "(user.country = 'DE')",
    exp.Tuple: "(user.country, user.plan) IN (('DE', 'pro'), ('FR', 'free'))",
    exp.And: "user.country = 'DE' AND user.plan = 'pro'",
    exp.Or: "user.country = 'DE' OR user.plan = 'pro'",
    exp.Not: "NOT user.country = 'DE'",
    exp.EQ: "user.country = 'DE'",
    exp.NEQ: "user.country <> 'DE'",
    exp.GT: "user.country > 'DE'",
    exp.GTE: "user.country >= 'DE'",
    exp.LT: "user.country < 'DE'",
    exp.LTE: "user.country <= 'DE'",
    exp.Is: "user.country IS NOT NULL",
    exp.In: "user.country IN ('DE')",
    exp.Between: "user.country BETWEEN 'A' AND 'E'",
    exp.Like: "user.country LIKE 'D%'",
    exp.ILike: "user.country ILIKE 'd%'",
    exp.Neg: "-LENGTH(user.country) < -1",
    exp.Add: "LENGTH(user.country) + 1 = 3",
    exp.Sub: "LENGTH(user.country) - 1 = 1",
    exp.Mul: "LENGTH(user.country) * 2 = 4",
    exp.Div: "LENGTH(user.country) / 2 = 1",
    exp.Mod: "LENGTH(user.country) % 2 = 0",
    exp.DPipe: "user.country || 'x' = 'DEx'",
    exp.Cast: "CAST(user.country AS VARCHAR(10)) = 'DE'",
    exp.DataType: "CAST(LENGTH(user.country) AS DECIMAL(10, 2)) = 2",
    exp.DataTypeParam: "CAST(user.country AS VARCHAR(10)) = 'DE'",
    exp.Interval: "metric_time.day >= CAST('2026-03-01' AS DATE) - INTERVAL '30' DAY",
    exp.Var: "metric_time.day >= CAST('2026-03-01' AS DATE) - INTERVAL '30' DAY",
    exp.Lower: "LOWER(user.country) = 'de'",
    exp.Upper: "UPPER(user.country) = 'DE'",
    exp.Trim: "TRIM(user.country) = 'DE'",
    exp.Length: "LENGTH(user.country) = 2",
    exp.Coalesce: "COALESCE(user.country, 'none') = 'DE'",
    exp.Abs: "ABS(LENGTH(user.country)) = 2",
    exp.Round: "ROUND(LENGTH(user.country)) = 2",
    exp.Floor: "FLOOR(LENGTH(user.country)) = 2",
    exp.Ceil: "CEIL(LENGTH(user.country)) = 2",
    exp.Nullif: "NULLIF(user.country, 'FR') = 'DE'",
    exp.If: "CASE WHEN user.country = 'DE' THEN 1 ELSE 0 END = 1",
    exp.Case: "CASE WHEN user.country = 'DE' THEN 1 ELSE 0 END = 1",
    exp.Substring: "SUBSTRING(user.country, 1, 1) = 'D'",
    exp.Concat: "CONCAT(user.country, 'x') = 'DEx'",
    exp.StartsWith: "STARTS_WITH(user.country, 'D')",
}
assert set(FILTER_SAMPLES) == set(FILTER_NODES)

_ARGUMENTS = ("a", "a, b", "a, 1", "a, 'x'", "a, b, c", "'x', a", "a, 'x', 'y'", "DAY, a", "")
_BY_HAND: dict[type[exp.Expr], str] = {
    exp.Case: "CASE WHEN a THEN 1 ELSE 0 END",
    exp.Pad: "LPAD(a, 2, '0')",
    exp.TryCast: "TRY_CAST(a AS INT)",
    exp.StrToDate: "STR_TO_DATE(a, '%Y-%m-%d')",
    exp.ConvertTimezone: "CONVERT_TIMEZONE('UTC', 'Europe/Berlin', a)",
    exp.Initcap: "INITCAP(a)",
    exp.ToNumber: "TO_NUMBER(a, '999')",
    exp.TimeToStr: "TIME_TO_STR(a, '%Y')",
    exp.DateAdd: "DATE_ADD(a, INTERVAL 1 DAY)",
    exp.DateSub: "DATE_SUB(a, INTERVAL 1 DAY)",
    exp.DateDiff: "DATEDIFF('day', a, b)",
}


def function_sample(kind: type[exp.Func]) -> str | None:
    """A call that sqlglot parses into ``kind`` (found from its SQL names), or None.

    >>> function_sample(exp.Lower)
    'LOWER(a)'
    """
    if kind in _BY_HAND:
        return _BY_HAND[kind]
    for name in kind.sql_names():
        for arguments in _ARGUMENTS:
            text = f"{name}({arguments})"
            try:
                tree = sqlglot.parse_one(text)
            except SqlglotError:
                continue
            if any(type(node) is kind for node in tree.walk()):
                return text
    return None


def samples() -> Iterator[str]:
    """Every sample as a SELECT in the default dialect."""
    for text in FILTER_SAMPLES.values():
        yield f"SELECT 1 FROM t WHERE {text.replace('user.', 't.').replace('metric_time', 'd')}"
    for kind in DEFINITION_FUNCTIONS:
        call = function_sample(kind)
        if call is not None:
            yield f"SELECT {call} AS v FROM t"


def rendered(dialect: str) -> tuple[frozenset[str], frozenset[str]]:
    """The node kinds (class names) and unknown-function names (upper case) that the samples
    become when rendered for ``dialect`` and read back, beyond the definition allow-list."""
    kinds: set[str] = set()
    anonymous: set[str] = set()
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)  # "unsupported" warnings for constructs a dialect lacks
    try:
        _render_all(dialect, kinds, anonymous)
    finally:
        logger.setLevel(level)
    known = {kind.__name__ for kind in DEFINITION_NODES}
    named = {name.upper() for name in DEFINITION_ANONYMOUS}
    return frozenset(kinds - known), frozenset(anonymous - named)


def _rendering(text: str, dialect: str) -> str:
    """The sample as the compiler writes it for ``dialect`` (with the dialect's rules), or as
    sqlglot alone writes it where the compiler refuses the construct: the parts of it that the
    compiler does emit (a cast within a refused interval) stay admitted."""
    try:
        return render(sqlglot.parse_one(text), dialect, pretty=False)
    except UnsupportedError:
        return sqlglot.parse_one(text).sql(dialect)


def _render_all(dialect: str, kinds: set[str], anonymous: set[str]) -> None:
    for text in samples():
        try:
            rendering = _rendering(text, dialect)
            tree = sqlglot.parse_one(rendering, read=dialect)
        except SqlglotError:
            continue  # a construct this dialect cannot render: compiling it fails, not the guard
        for node in tree.walk():
            if isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)):
                anonymous.add(node.name.upper())
            else:
                kinds.add(type(node).__name__)


def _module_text() -> str:
    lines = [
        '"""Generated by ``python -m metrics_layer.safety.samples`` (``make allowlist``): the node',
        "kinds and unknown-function names that the allowed constructs become in each engine's SQL,",
        "beyond the definition allow-list.",
        '"""',
        "",
        "RENDERED: dict[str, tuple[frozenset[str], frozenset[str]]] = {",
    ]
    for dialect in ENGINE_DIALECTS:
        kinds, anonymous = rendered(dialect)
        lines.append(f'    "{dialect}": (')
        lines.append(f"        {_set_text(kinds)},")
        lines.append(f"        {_set_text(anonymous)},")
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _set_text(names: frozenset[str]) -> str:
    """The set as ruff-format writes it at its place in the table: on one line when it fits in
    100 characters, else one name per line."""
    if not names:
        return "frozenset()"
    one_line = "frozenset({" + ", ".join(f'"{name}"' for name in sorted(names)) + "})"
    if len(one_line) + len("        ,") <= 100:
        return one_line
    items = "".join(f'                "{name}",\n' for name in sorted(names))
    return "frozenset(\n            {\n" + items + "            }\n        )"


def module_text() -> str:
    """The text of ``rendered.py`` as the current sqlglot renders the samples."""
    return _module_text()


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).with_name("rendered.py")
    target.write_text(_module_text(), encoding="utf-8")
    print(f"wrote {target}")
