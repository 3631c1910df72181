"""``exists_as_in`` (MariaDB, MySQL, ClickHouse): a correlated ``EXISTS`` on one key written as
``COALESCE(key IN (SELECT ...), FALSE)`` gives the same value for every row, on MariaDB and on
ClickHouse (chdb, with the layer's session settings) themselves.

The rows are literals (CTEs), so nothing is written: keys that differ by case or by a trailing
space (which MariaDB's default collation compares as equal, in both forms), NULL keys on
either side, and an empty table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlglot
from conftest import MARIADB_URL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics_layer.engine.connection import Connection
from metrics_layer.sql.dialects import exists_as_in, render

from .engines import attempt, rolled_back

OUTSIDE = ("a", None, "B", "c ", "d", "A")
KEYS = st.sampled_from(["A", "a", "b", "c", "d ", "x", None])


def _rows(name: str, keys: list[str | None]) -> str:
    """A CTE of one column ``k`` holding ``keys`` (none: an empty table)."""
    if not keys:
        return f"{name} AS (SELECT z.k FROM (SELECT CAST(NULL AS CHAR(5)) AS k) AS z WHERE 1 = 0)"
    values = ["NULL" if key is None else f"'{key}'" for key in keys]
    selects = [f"SELECT CAST({value} AS CHAR(5)) AS k" for value in values]
    return f"{name} AS ({' UNION ALL '.join(selects)})"


def _outside() -> str:
    selects = [
        f"SELECT {n} AS id, CAST({'NULL' if k is None else repr(k)} AS CHAR(5)) AS k"
        for n, k in enumerate(OUTSIDE)
    ]
    return f"o AS ({' UNION ALL '.join(selects)})"


@pytest.fixture(scope="module")
def mariadb() -> Iterator[Callable[[str], list[tuple[object, ...]]]]:
    with rolled_back("MariaDB", MARIADB_URL) as connection:
        yield lambda sql: attempt(connection, sql).rows


@pytest.fixture(scope="module")
def clickhouse() -> Iterator[Callable[[str], list[tuple[object, ...]]]]:
    pytest.importorskip("chdb")
    connection = Connection("chdb://")
    yield lambda sql: [tuple(row) for row in connection._run(sql, timeout=10, max_rows=100).rows]
    connection.close()


@pytest.mark.parametrize(
    ("engine", "dialect"), [("mariadb", "mysql"), ("clickhouse", "clickhouse")]
)
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(keys=st.lists(KEYS, max_size=4), negated=st.booleans())
def test_the_rewritten_exists_gives_every_rows_value(
    request: pytest.FixtureRequest, engine: str, dialect: str, keys: list[str | None], negated: bool
) -> None:
    run = request.getfixturevalue(engine)
    test = "EXISTS(SELECT 1 FROM t WHERE t.k = o.k)"
    test = f"NOT {test}" if negated else test
    sql = f"WITH {_outside()}, {_rows('t', keys)} SELECT o.id, {test} AS e FROM o ORDER BY o.id"
    tree = sqlglot.parse_one(sql, read="mysql")
    original = tree.sql(dialect)
    rewritten = render(tree, dialect, pretty=False)
    assert "EXISTS" not in rewritten
    assert "IN (SELECT t.k FROM t)" in rewritten
    want, got = run(original), run(rewritten)
    assert all(row[1] is not None for row in want + got)
    assert [(row[0], bool(row[1])) for row in got] == [(row[0], bool(row[1])) for row in want]
    assert len(got) == len(OUTSIDE)


@pytest.mark.parametrize(
    "test",
    [
        "EXISTS(SELECT 1 FROM t WHERE t.k = o.k AND t.k <> 'x')",  # more than the key
        "EXISTS(SELECT 1 FROM t WHERE t.k = t.k)",  # not correlated
        "EXISTS(SELECT 1 FROM t WHERE k = o.k)",  # an unqualified side
        "EXISTS(SELECT 1 FROM t JOIN o AS p ON p.k = t.k WHERE t.k = o.k)",  # a join
        "EXISTS(SELECT 1 FROM t WHERE t.k = o.k LIMIT 1)",  # a limit
        "EXISTS(SELECT 1 FROM t AS s WHERE t.k = o.k)",  # t is not the table read inside
    ],
)
def test_other_subqueries_are_left_as_they_are(test: str) -> None:
    tree = sqlglot.parse_one(f"SELECT {test} FROM o", read="mysql")
    assert tree.transform(exists_as_in).sql("mysql") == tree.sql("mysql")
