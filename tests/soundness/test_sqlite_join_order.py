"""SQLite's inner joins are written ``CROSS JOIN ... ON`` so it keeps their order (a speed fix):
the rows are exactly those of the SQL before the rule, on demo rows straddling month ends.

Five and a half weeks of the demo's events (Jan 24 to Mar 3, 2026) and its users are copied into
a SQLite file; the old SQL is the same tree rendered without ``sqlite_inner_join_order``. The
inner joins are those of per-day metrics rolled up to a date part, a day of the week or a month of
the year (each day joined to its part's day count, from a day spine; a week's or a month's days
are date arithmetic and join nothing); semi-additive measures find their last day with a window
and join nothing (tests/soundness/test_snapshot_days.py runs them on SQLite).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import metrics_layer as ml
from benchmarks.sqlite_join_order import copy_to_sqlite, sql_pair
from tests.conftest import DEFINITIONS

QUERIES = [
    ("daily_active_users", "metric_time.day_of_week"),
    ("daily_active_users", "metric_time.month_of_year"),
    ("stickiness", "metric_time.day_of_week"),
]


@pytest.fixture(scope="module")
def snapshots(
    demo_sql: Callable[[str], list[tuple[object, ...]]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    database = tmp_path_factory.mktemp("sqlite") / "snapshots.sqlite"
    window = "occurred_at >= DATE '2026-01-24' AND occurred_at < DATE '2026-03-04'"
    copy_to_sqlite(demo_sql, database, ["events", "users"], {"events": window})
    return database


@pytest.mark.parametrize(("metric", "by"), QUERIES)
def test_cross_join_gives_the_rows_of_the_inner_join(snapshots: Path, metric: str, by: str) -> None:
    layer = ml.load(DEFINITIONS, connection=f"sqlite:///{snapshots}")
    try:
        current, before = sql_pair(layer, metric, by)
        assert "CROSS JOIN" in current
        assert "INNER JOIN" not in current
        assert "INNER JOIN" in before
        with sqlite3.connect(f"file:{snapshots}?mode=ro", uri=True) as connection:
            old = connection.execute(before).fetchall()
            new = connection.execute(current).fetchall()
        assert len(new) > 1
        assert new == old
        ran = [tuple(row) for row in layer.query(metric, by=by).run()]
        assert ran == [tuple(row) for row in new]
    finally:
        layer.connection.close()
