"""Two scans of one source never get the same name, nor names that give two CTEs one name,
whatever the metrics are called.

A rolling metric's scan is named after the metric: ``events_per_day`` for one called
``per_day``, the name of the per-day scan of ``daily_active_users`` on the same source, and
``events_agg`` for one called ``agg``, that of the plain scan of ``active_users``. Only a
window's scan took a suffix on such a clash, so when the other scan came second the planner
looped forever. ``per_day_rollup`` and ``per_day_bounds`` give a scan named like the per-day
scan's rollup and, with no range, the CTE of the range's bounds: the statement held two CTEs
of one name, which every engine refuses. Each such metric is asked first and last, with and
without a range, beside a per-day and a plain count of the same source; the rows of each
metric are those it has alone.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import sqlglot
from sqlglot import exp

import metrics_layer as ml
from tests.conftest import DEFINITIONS

NAMES = {
    "per_day": 7,
    "agg": 14,
    "per_day_rollup": 28,
    "per_day_bounds": 3,
}  # and the days of each one's window
ROLLING = """  - name: {name}
    type: rolling
    measure: events.active_users
    window: {days} days
    owner: growth
"""
OTHERS = ["daily_active_users", "active_users"]
T = TypeVar("T")


@pytest.fixture(scope="module")
def clashing(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> ml.SemanticLayer:
    folder = tmp_path_factory.mktemp("clashing") / "definitions"
    shutil.copytree(DEFINITIONS, folder)
    metrics = "metrics:\n" + "".join(ROLLING.format(name=n, days=d) for n, d in NAMES.items())
    (folder / "metrics" / "clashing.yml").write_text(metrics, encoding="utf-8")
    # The load's checks plan metrics together, so they met the clash too.
    return _within(lambda: ml.load(folder, connection=f"duckdb:///{demo_db}"), "loading")


def _within(work: Callable[[], T], what: str) -> T:
    """``work()``, run in a thread that must end within 60 s: the planner once looped forever
    on such names, and a test should fail, not hang."""
    done: list[T] = []
    worker = threading.Thread(target=lambda: done.append(work()), daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), f"{what} did not end"
    assert done, f"{what} failed"
    return done[0]


@pytest.mark.parametrize("bounds", [("2026-01-01", "2026-03-31"), (None, None)])
@pytest.mark.parametrize("first", [True, False], ids=["first", "last"])
@pytest.mark.parametrize("name", NAMES)
def test_scan_names_never_clash(
    clashing: ml.SemanticLayer, name: str, first: bool, bounds: tuple[str | None, ...]
) -> None:
    metrics = [name, *OTHERS] if first else [*OTHERS, name]
    start, end = bounds

    def query() -> ml.Query:
        return clashing.query(metrics, by="metric_time.month", start=start, end=end)

    sql = _within(lambda: query().sql(), f"compiling {metrics}")
    names = [cte.alias for cte in sqlglot.parse_one(sql, read="duckdb").find_all(exp.CTE)]
    assert len(names) == len(set(names)), sorted(names)
    together = {row[0]: row[1:] for row in query().run()}
    for position, metric in enumerate(metrics):
        alone = clashing.query([metric], by="metric_time.month", start=start, end=end).run()
        assert len(alone) > 1
        for period, value in alone:
            assert together[period][position] == pytest.approx(value, rel=1e-12), (metric, period)
