"""A semi-additive measure filtered on a joined dimension (``planner.planner._keys_looked_up``):
the per-day step tests the key against the dimension's matching keys (``IN``) instead of
joining it, where the filter holds for no row without a match; otherwise it keeps the join.
Hand-computed numbers on real DuckDB and SQLite tables.

| day (2026) | subscription | user | MRR   | user's country         |
|------------|--------------|------|-------|------------------------|
| 03-06 Fri  | 1            | 1    | 10.00 | DE                     |
| 03-06      | 4            | 4    | 40.00 | NULL                   |
| 03-07 Sat  | 1            | 1    | 11.00 | DE                     |
| 03-07      | 2            | 2    | 22.00 | de                     |
| 03-07      | 3            | 3    | 33.00 | FR                     |
| 03-07      | 5            | 5    | 55.00 | (no row in ``users``)  |
| 03-10 Tue  | 1            | 1    | 12.00 | DE                     |
| 03-12 Thu  | 3            | 3    | 36.00 | FR                     |

MRR by week is the sum on the week's last day with any row, whatever the filter: 03-07 for
the week of 03-02, 03-12 for the week of 03-09 (only France's row); a week none of whose rows
on that day passes the filter is not shown (docs/queries.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import metrics_layer as ml
from soundness.literal import TinyLayer

USERS = [(1, "DE"), (2, "de"), (3, "FR"), (4, None)]
SNAPSHOTS = [
    ("2026-03-06", 1, 1, "10.00"),
    ("2026-03-06", 4, 4, "40.00"),
    ("2026-03-07", 1, 1, "11.00"),
    ("2026-03-07", 2, 2, "22.00"),
    ("2026-03-07", 3, 3, "33.00"),
    ("2026-03-07", 5, 5, "55.00"),
    ("2026-03-10", 1, 1, "12.00"),
    ("2026-03-12", 3, 3, "36.00"),
]
TABLES = {
    "users": ("user_id INTEGER, country VARCHAR", USERS),
    "snapshots": (
        "snapshot_date DATE, subscription_id INTEGER, user_id INTEGER, mrr DECIMAL(10, 2)",
        SNAPSHOTS,
    ),
}
PROJECT = {
    "metrics_layer.yml": "project:\n  name: semi\n  paths: [defs]\n",
    "defs/defs.yml": """
        sources:
          - name: users
            table: users
            entities: [{name: user, key: user_id, primary: true}]
            dimensions: [{name: country}]
          - name: snapshots
            table: snapshots
            time: snapshot_date
            entities:
              - {name: subscription, key: subscription_id}
              - {name: user, key: user_id}
            dimensions: [{name: snapshot_date, type: time}]
            measures: [{name: mrr, agg: sum, expr: mrr, semi_additive: last}]
        metrics:
          - {name: mrr, type: simple, measure: snapshots.mrr}
    """,
}
WEEK_1, WEEK_2 = "2026-03-02", "2026-03-09"
# filter: (whether its key is looked up, the weeks shown with their MRR)
CASES: dict[str, tuple[bool, dict[str, str]]] = {
    # 03-07: user 1 only ('de' is not 'DE'); 03-12: no German row.
    "user.country = 'DE'": (True, {WEEK_1: "11.00"}),
    "LOWER(user.country) = 'de'": (True, {WEEK_1: "33.00"}),  # users 1 and 2
    # A user without a row, or with no country, is neither 'DE' nor not 'DE'.
    "NOT user.country = 'DE'": (True, {WEEK_1: "55.00", WEEK_2: "36.00"}),  # users 2, 3; 3
    "user.country IN ('FR', 'DE')": (True, {WEEK_1: "44.00", WEEK_2: "36.00"}),
    # These hold for user 5, who has no row: the join stays.
    "user.country IS NULL": (False, {WEEK_1: "55.00"}),
    "user.country = 'DE' OR user.country IS NULL": (False, {WEEK_1: "66.00"}),
}


def _sqlite_layer(
    tmp_path: Path, write_project: Callable[[dict[str, str]], Path]
) -> ml.SemanticLayer:
    database = tmp_path / "semi.sqlite"
    with sqlite3.connect(database) as connection:
        for name, (columns, rows) in TABLES.items():
            connection.execute(f"CREATE TABLE {name} ({columns})")
            marks = ", ".join("?" * len(rows[0]))
            connection.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
    return ml.load(write_project(PROJECT), connection=f"sqlite:///{database}")


@pytest.fixture(params=["duckdb", "sqlite"])
def layer(
    request: pytest.FixtureRequest,
    tiny_layer: TinyLayer,
    tmp_path: Path,
    write_project: Callable[[dict[str, str]], Path],
) -> Iterator[ml.SemanticLayer]:
    if request.param == "duckdb":
        yield tiny_layer(TABLES, PROJECT)
        return
    layer = _sqlite_layer(tmp_path, write_project)
    yield layer
    layer.connection.close()


@pytest.mark.parametrize("where", CASES)
def test_a_joined_filter_of_a_semi_additive_measure(layer: ml.SemanticLayer, where: str) -> None:
    looked_up, expected = CASES[where]
    query = layer.query(
        ["mrr"], by=["metric_time.week"], where=where, start="2026-03-02", end="2026-03-15"
    )
    sql = query.sql()
    assert ("users_keys" in sql) == looked_up
    assert ("LEFT JOIN users" in sql) == (not looked_up)
    got = {str(week)[:10]: Decimal(str(value)) for week, value in query.run().rows}
    assert got == {week: Decimal(value) for week, value in expected.items()}
