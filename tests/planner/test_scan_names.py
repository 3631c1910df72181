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
metric are those it has alone. A table named like a scan's CTE is read, not the CTE.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb
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


# The words the SQL builder adds to a scan's name, and the fixed names' words: a rolling
# metric named with them gets a scan named like another scan's CTE (``events_per_day_bounds``).
WORDS = [
    "per_day", "agg", "rollup", "bounds", "periods", "days", "window", "points", "ends",
    "marks", "runs", "changes", "average", "filled", "narrowed", "edges", "written", "source",
    "last_snapshot", "fill_bounds", "grain_keys", "spine_digits",
]  # fmt: skip
WORDED = sorted({*WORDS, *(f"per_day_{w}" for w in WORDS), *(f"agg_{w}" for w in WORDS)})
BESIDE = ["daily_active_users", "active_users", "weekly_active_users", "mrr_growth_rate"]


@pytest.fixture(scope="module")
def worded(tmp_path_factory: pytest.TempPathFactory) -> ml.SemanticLayer:
    folder = tmp_path_factory.mktemp("worded") / "definitions"
    shutil.copytree(DEFINITIONS, folder)
    # Windows of different lengths: the load refuses two metrics that compute the same.
    rolling = [ROLLING.format(name=n, days=days) for days, n in enumerate(WORDED, start=2)]
    metrics = "metrics:\n" + "".join(rolling)
    (folder / "metrics" / "worded.yml").write_text(metrics, encoding="utf-8")
    return _within(lambda: ml.load(folder), "loading")


# DuckDB's SQL for every name; SQLite's (days as written, ``*_written``) and PostgreSQL's (a
# derived source's steps moved into the statement's WITH) for the words alone.
@pytest.mark.parametrize(
    ("dialect", "names"), [("duckdb", WORDED), ("sqlite", WORDS), ("postgres", WORDS)]
)
def test_cte_names_unique_whatever_the_metric_is_called(
    worded: ml.SemanticLayer, dialect: str, names: list[str]
) -> None:
    """Every CTE of a statement has a name of its own, for a rolling metric named with any
    of the builder's words, beside a per-day, a plain, a rolling and an offset metric of the
    same source, with and without a range."""
    for name in names:
        for start, end in [("2026-01-01", "2026-03-31"), (None, None)]:
            query = worded.query([name, *BESIDE], by="metric_time.month", start=start, end=end)
            tree = sqlglot.parse_one(query.sql(dialect), read=dialect)
            ctes = [cte.alias for cte in tree.find_all(exp.CTE)]
            assert len(ctes) == len(set(ctes)), (name, start, sorted(ctes))


# Sources named like the first word of a fixed CTE name (``fill_bounds``, ``grain_keys``,
# ``spine_digits``) or read through a CTE of their own (``<source>_source``), each with a
# rolling metric named like the rest.
FIXED = """sources:
  - name: {name}
    {relation}
    time: occurred_at
    entities:
      - {{name: user, key: user_id}}
    dimensions:
      - {{name: occurred_at, type: time, grain: hour}}
    measures:
      - {{name: visitors, agg: count_distinct, expr: user_id}}
metrics:
  - name: {metric}
    type: rolling
    measure: {name}.visitors
    window: {days} days
    owner: growth
"""
SOURCES = {"fill": "bounds", "grain": "keys", "spine": "digits", "visits": "source"}


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> ml.SemanticLayer:
    folder = tmp_path_factory.mktemp("fixed") / "definitions"
    shutil.copytree(DEFINITIONS, folder)
    for days, (name, metric) in enumerate(SOURCES.items(), start=2):
        sql = name == "visits"
        relation = "sql: SELECT user_id, occurred_at FROM events" if sql else "table: events"
        text = FIXED.format(name=name, relation=relation, metric=metric, days=days)
        (folder / "sources" / f"{name}.yml").write_text(text, encoding="utf-8")
    return _within(lambda: ml.load(folder, connection=f"duckdb:///{demo_db}"), "loading")


@pytest.mark.parametrize("metric", SOURCES.values())
def test_scan_names_clear_of_fixed_names(fixed: ml.SemanticLayer, metric: str) -> None:
    """A rolling metric whose scan would be named ``fill_bounds`` (the filled series' bounds),
    ``grain_keys`` (the keys of several sources' groups), ``spine_digits`` (a day spine's
    digits) or ``visits_source`` (the CTE of the source's own SQL) asked with a per-day
    metric of another source, the series filled: each CTE has a name of its own, and the
    rolling metric's rows are those it has alone."""
    metrics = [metric, "daily_active_users", "signups"]

    def query(names: list[str]) -> ml.Query:
        return fixed.query(
            names, by="metric_time.week", start="2026-01-05", end="2026-03-29", fill_periods=True
        )

    sql = query(metrics).sql()
    names = [cte.alias for cte in sqlglot.parse_one(sql, read="duckdb").find_all(exp.CTE)]
    assert len(names) == len(set(names)), sorted(names)
    together = {row[0]: row[1] for row in query(metrics).run()}
    alone = query([metric]).run()
    assert len(alone) == 12  # the weeks of 2026-01-05 to 2026-03-23
    assert any(value for _, value in alone)
    for period, value in alone:
        assert together[period] == pytest.approx(value, rel=1e-12), period


ROLLUP_SOURCE = """sources:
  - name: daily_rollup
    table: events_per_day
    time: day
    dimensions:
      - {name: day, type: time}
    measures:
      - {name: rolled_events, agg: sum, expr: n}
metrics:
  - name: rolled_events
    type: simple
    measure: daily_rollup.rolled_events
    owner: growth
"""


def test_scan_names_clear_of_tables(tmp_path: Path, demo_db: Path) -> None:
    """A warehouse table named like a scan's CTE (``events_per_day``, a rollup a source reads)
    is read, not the CTE: ``daily_active_users`` first gave ``FROM events_per_day AS
    daily_rollup`` the per-day CTE of the events. The table's sums are checked against SQL
    written by hand on the same table."""
    database = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, database)
    with duckdb.connect(str(database)) as connection:
        connection.execute(
            "CREATE TABLE events_per_day AS SELECT CAST(occurred_at AS DATE) AS day, "
            "COUNT(*) AS n FROM events GROUP BY 1"
        )
        expected = dict(
            connection.execute(
                "SELECT CAST(DATE_TRUNC('month', day) AS DATE), SUM(n) FROM events_per_day "
                "WHERE day BETWEEN DATE '2026-01-01' AND DATE '2026-03-31' GROUP BY 1"
            ).fetchall()
        )
    folder = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS, folder)
    (folder / "sources" / "rollups.yml").write_text(ROLLUP_SOURCE, encoding="utf-8")
    layer = ml.load(folder, connection=f"duckdb:///{database}")
    dau = dict(
        layer.query(
            "daily_active_users", by="metric_time.month", start="2026-01-01", end="2026-03-31"
        ).run()
    )
    rows = layer.query(
        ["daily_active_users", "rolled_events"],
        by="metric_time.month",
        start="2026-01-01",
        end="2026-03-31",
    ).run()
    assert len(rows) == 3
    for month, active, rolled in rows:
        assert rolled == expected[month]
        assert active == pytest.approx(dau[month], rel=1e-12)
