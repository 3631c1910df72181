"""``postgres_flat_with``: the CTEs of a CTE's own WITH move into the statement's WITH,
just before that CTE, and PostgreSQL returns the same rows before and after; where moving
would change what a name reads (a name another CTE has, a table of that name read elsewhere)
or what a CTE may read (a recursive WITH), the statement is left as it is.

The rows are literals and catalogue tables (``pg_am``: heap and btree are always there), so
nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlglot
from conftest import POSTGRES_URL

import metrics_layer as ml
from metrics_layer.sql.dialects import postgres_flat_with
from tests.conftest import DEFINITIONS

from .engines import attempt, rolled_back

Run = Callable[[str], list[tuple[object, ...]]]

STEPS = "s__a AS (SELECT 1 AS x UNION ALL SELECT 2), s__b AS (SELECT x * 10 AS x FROM s__a)"
# (statement, whether its WITH is flattened)
CASES = {
    "two steps": (f"WITH s AS (WITH {STEPS} SELECT x FROM s__b) SELECT x FROM s", True),
    "two holders": (
        f"WITH s AS (WITH {STEPS} SELECT x FROM s__b), "
        "t AS (WITH t__a AS (SELECT 3 AS x) SELECT x FROM t__a), "
        "u AS (SELECT x FROM s UNION ALL SELECT x FROM t) SELECT x FROM u",
        True,
    ),
    "a step reading an earlier CTE": (
        "WITH e AS (SELECT 7 AS x), s AS (WITH s__a AS (SELECT x + 1 AS x FROM e) "
        "SELECT x FROM s__a) SELECT x FROM s UNION ALL SELECT x FROM e",
        True,
    ),
    "a schema's table of a moved name": (
        "WITH s AS (WITH pg_am AS (SELECT 'mine' AS amname) SELECT amname FROM pg_am), "
        "t AS (SELECT amname FROM pg_catalog.pg_am WHERE amname IN ('heap', 'btree')) "
        "SELECT amname FROM s UNION ALL SELECT amname FROM t",
        True,
    ),
    "a table of a moved name read elsewhere": (
        "WITH s AS (WITH pg_am AS (SELECT 'mine' AS amname) SELECT amname FROM pg_am), "
        "t AS (SELECT amname FROM pg_am WHERE amname IN ('heap', 'btree')) "
        "SELECT amname FROM s UNION ALL SELECT amname FROM t",
        False,
    ),
    "a table of a moved name read by the statement": (
        "WITH s AS (WITH pg_am AS (SELECT 'mine' AS amname) SELECT amname FROM pg_am) "
        "SELECT amname FROM s UNION ALL SELECT amname FROM pg_am WHERE amname = 'heap'",
        False,
    ),
    "a moved name another CTE has": (
        "WITH s__a AS (SELECT 5 AS x), "
        f"s AS (WITH {STEPS} SELECT x FROM s__b) SELECT x FROM s UNION ALL SELECT x FROM s__a",
        False,
    ),
    "a moved name of a CTE nobody reads": (
        f"WITH s__b AS (SELECT 5 AS x), s AS (WITH {STEPS} SELECT x FROM s__a) SELECT x FROM s",
        False,
    ),
    "one name in two holders": (
        "WITH s AS (WITH a AS (SELECT 1 AS x) SELECT x FROM a), "
        "t AS (WITH a AS (SELECT 2 AS x) SELECT x FROM a) "
        "SELECT x FROM s UNION ALL SELECT x FROM t",
        False,
    ),
    "a recursive inner WITH": (
        "WITH s AS (WITH RECURSIVE n AS (SELECT 1 AS x UNION ALL SELECT x + 1 FROM n "
        "WHERE x < 3) SELECT x FROM n) SELECT x FROM s",
        False,
    ),
}


@pytest.fixture(scope="module")
def postgres() -> Iterator[Run]:
    with rolled_back("PostgreSQL", POSTGRES_URL) as connection:
        yield lambda sql: sorted(attempt(connection, sql).rows, key=repr)


def _nested(tree: sqlglot.exp.Expr) -> int:
    """How many WITHs are inside a CTE."""
    return sum(1 for w in tree.find_all(sqlglot.exp.With) if w.parent is not tree)


@pytest.mark.parametrize("case", CASES)
def test_same_rows_on_postgres(postgres: Run, case: str) -> None:
    sql, flattened = CASES[case]
    tree = sqlglot.parse_one(sql, read="postgres")
    assert _nested(tree) > 0
    postgres_flat_with(tree.args["with_"])
    assert _nested(tree) == (0 if flattened else _nested(sqlglot.parse_one(sql, read="postgres")))
    if not flattened:
        assert tree.sql("postgres") == sqlglot.parse_one(sql, read="postgres").sql("postgres")
    assert postgres(tree.sql("postgres")) == postgres(sql)


def test_only_the_statements_with() -> None:
    """A WITH inside a CTE is not the statement's: nothing moves out of it."""
    sql = "WITH s AS (WITH t AS (WITH t__a AS (SELECT 1 AS x) SELECT x FROM t__a) " + (
        "SELECT x FROM t) SELECT x FROM s"
    )
    tree = sqlglot.parse_one(sql, read="postgres")
    inner = tree.args["with_"].expressions[0].this.args["with_"]
    assert postgres_flat_with(inner).sql("postgres") == inner.sql("postgres")
    assert tree.sql("postgres") == sqlglot.parse_one(sql, read="postgres").sql("postgres")


def test_derived_sources_flat_on_postgres() -> None:
    """A conversion metric's steps are CTEs of the statement on PostgreSQL, and nested on DuckDB
    (the rule is PostgreSQL's alone)."""
    layer = ml.load(DEFINITIONS)
    query = layer.query("activation_rate_7d", by="metric_time.month", start="2026-01-01")
    names = ["activation_rate_7d__base_rows", "activation_rate_7d__first_base"]
    postgres_tree = sqlglot.parse_one(query.sql(dialect="postgres"), read="postgres")
    ctes = [cte.alias for cte in postgres_tree.args["with_"].expressions]
    assert ctes[ctes.index(names[0]) : ctes.index(names[0]) + 3] == [
        *names,
        "activation_rate_7d_agg_narrowed_source",
    ]
    assert _nested(postgres_tree) == 0
    duckdb_tree = sqlglot.parse_one(query.sql(dialect="duckdb"), read="duckdb")
    assert _nested(duckdb_tree) == 1
