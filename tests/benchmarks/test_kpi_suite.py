"""The hand-written KPI suite (``benchmarks/kpi_suite.py``): every shipped KPI has a hand query
in every shape, every query passes the statement guard on every engine, and on the demo
database each gives the library's rows, so a new KPI cannot be left out of the benchmark and a
hand query that drifts from its KPI's rules is caught before a long run."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from soundness.literal import engine_url

import metrics_layer as ml
from benchmarks.hand_sql import DIALECTS, HAND_SQL, SHAPES, Dialect
from benchmarks.kpi_suite import COHORT_PERIOD, Outcome, Rounds, _day, difference
from metrics_layer.demo.load import DEMO_SCHEMA
from metrics_layer.errors import QueryError
from metrics_layer.safety.statement import verify
from tests.conftest import (
    DEFINITIONS,
)

SHIPPED = sorted(metric.name for metric in ml.load(DEFINITIONS).metrics)
CHURN = ("net_revenue_retention", "subscription_churn_rate", "user_churn_rate")


def test_every_shipped_kpi_has_a_hand_query() -> None:
    assert len(SHIPPED) == 30
    assert sorted(HAND_SQL) == SHIPPED


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_every_hand_query_passes_the_statement_guard(dialect: str) -> None:
    for hand in HAND_SQL.values():
        for shape in SHAPES:
            verify(hand(shape, DIALECTS[dialect]), dialect)


@pytest.mark.parametrize("kpi", SHIPPED)
def test_hand_query_gives_the_library_rows_on_the_demo(layer: ml.SemanticLayer, kpi: str) -> None:
    """On DuckDB's demo data: the same rows in every shape the library accepts; churn KPIs are
    refused by week and by day (they compare months), every other shape is accepted."""
    for shape in SHAPES:
        by = [f"metric_time.{shape.grain}"]
        if kpi == "weekly_cohort_retention":
            by.append(COHORT_PERIOD)
        asked = {"by": by, "where": shape.where, "start": shape.start, "end": shape.end}
        if kpi in CHURN and shape.grain != "month":
            with pytest.raises(QueryError, match=r"metric_time\.month only"):
                layer.query([kpi], **asked).statement()
            continue
        generated = layer.connection.fetch(layer.query([kpi], **asked).statement()).rows
        hand = layer.connection.fetch(verify(HAND_SQL[kpi](shape, DIALECTS["duckdb"]), "duckdb"))
        assert len(generated) > 1, f"{kpi}, {shape.key}: too few rows to prove anything"
        assert difference(generated, hand.rows) is None, f"{kpi}, {shape.key}"


def test_rounds_go_on_while_under_budget() -> None:
    rounds = Rounds(least=5, budget=1.0, most=40)
    assert rounds.more(3, 9.0)  # fewer than the least: always more
    assert rounds.more(5, 0.5)
    assert not rounds.more(5, 1.5)
    assert not rounds.more(40, 0.0)


def test_spread_is_the_quartiles_of_per_round_ratios() -> None:
    outcome = Outcome(
        "k", "s", generated_ms=[2.0, 12.0, 6.0, 8.0, 4.0], hand_ms=[1.0, 2.0] * 2 + [1.0]
    )
    # per round: 2, 6, 6, 4, 4 -> sorted 2, 4, 4, 6, 6: quartiles 4 and 6
    assert outcome.spread == (4.0, 6.0)
    assert Outcome("k", "s", generated_ms=[1.0], hand_ms=[1.0]).spread is None


# -- each engine's date spellings, on the engine ---------------------------------------------

ENGINE_DIALECTS = {
    "duckdb": "duckdb",
    "sqlite": "sqlite",
    "postgres": "postgres",
    "mariadb": "mysql",
    "chdb": "clickhouse",
    "spark": "spark",
}


def _month_later(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole calendar months, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


# (method, arguments as dates or numbers, the expected date or number). Month ends, leap days,
# year ends and weeks that start in another month or year.
D = dt.date
CASES: tuple[tuple[str, tuple[object, ...], object], ...] = (
    *(
        ("plus_months", (day, months), _month_later(day, months))
        for day, months in (
            (D(2024, 1, 31), 1),  # into a leap February: 02-29
            (D(2023, 1, 31), 1),  # into a common February: 02-28
            (D(2024, 3, 31), -1),  # back into a leap February
            (D(2024, 2, 29), 12),  # a leap day a year on: 2025-02-28
            (D(2024, 2, 29), 1),  # a leap day a month on: 03-29, not the month's end
            (D(2025, 12, 31), 1),  # across a year end: 2026-01-31
            (D(2024, 8, 31), 1),  # into a 30-day month
            (D(2024, 5, 15), -5),  # back across a year end
        )
    ),
    ("plus_days", (D(2024, 2, 28), 1), D(2024, 2, 29)),
    ("plus_days", (D(2024, 3, 1), -1), D(2024, 2, 29)),
    ("plus_days", (D(2025, 12, 31), "7 * 2 + 6"), D(2026, 1, 20)),
    ("week", (D(2024, 3, 3),), D(2024, 2, 26)),  # a Sunday: the Monday before
    ("week", (D(2024, 2, 26),), D(2024, 2, 26)),  # a Monday: itself
    ("week", (D(2026, 1, 1),), D(2025, 12, 29)),  # the week starts in the year before
    ("month", (D(2024, 2, 29),), D(2024, 2, 1)),
    ("month", (D(2025, 12, 31),), D(2025, 12, 1)),
    ("weeks_between", (D(2025, 12, 29), D(2026, 3, 2)), 9),
    ("days_in", (D(2024, 2, 1), D(2024, 2, 29)), 29),
    ("days_in", (D(2023, 2, 1), D(2023, 2, 28)), 28),
    ("days_in", (D(2025, 12, 15), D(2026, 1, 14)), 31),
    ("least", (D(2024, 2, 29), D(2024, 3, 1)), D(2024, 2, 29)),
    ("greatest", (D(2024, 2, 29), D(2024, 3, 1)), D(2024, 3, 1)),
)


@pytest.mark.parametrize(
    "engine",
    [
        # Starting a Spark session takes 15-40 s on 2 cores: the full tier only. The default
        # suite runs the other five; Spark's days between dates are MariaDB's DATEDIFF.
        pytest.param(name, marks=pytest.mark.full_tier) if name == "spark" else name
        for name in ENGINE_DIALECTS
    ],
)
def test_each_engine_spells_the_hand_queries_dates_right(engine: str, tmp_path: Path) -> None:
    """Every date method of the engine's ``Dialect``, run on the engine in one SELECT: month
    clamping (``plus_months``), leap days, year ends, Monday weeks, day counts."""
    dialect = DIALECTS[ENGINE_DIALECTS[engine]]

    def argument(value: object) -> object:
        return dialect.lit(value) if isinstance(value, dt.date) else value

    columns = [
        getattr(dialect, method)(*map(argument, arguments)) for method, arguments, _ in CASES
    ]
    sql = "SELECT " + ", ".join(f"{column} AS c{i}" for i, column in enumerate(columns))
    layer = ml.load(DEFINITIONS, connection=engine_url(engine, tmp_path))
    try:
        row = layer.connection.fetch(verify(sql, dialect.name)).rows[0]
    finally:
        layer.connection.close()
    for (method, arguments, expected), got in zip(CASES, row, strict=True):
        if isinstance(expected, dt.date):
            assert _day(got) == expected.isoformat(), f"{method}{arguments}: {got!r}"
        else:
            assert got == expected, f"{method}{arguments}: {got!r}"


@pytest.fixture(scope="module")
def clickhouse_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ml.SemanticLayer]:
    """The shipped KPI library on the demo loaded into a chdb directory of this module's."""
    pytest.importorskip("chdb")
    from metrics_layer.demo.load import load_demo

    url = f"chdb://{tmp_path_factory.mktemp('kpi_suite_chdb')}"
    loaded = load_demo(url)
    layer = ml.load(DEFINITIONS, connection=url, target=loaded.target)
    yield layer
    layer.connection.close()


# 30-40 s on 2 cores: the full tier only. The default suite checks the ClickHouse date
# spellings on chdb (test_each_engine_spells_the_hand_queries_dates_right) and every hand
# query's rules on DuckDB's demo (above); `make bench-kpis-more` compares every row at 1M.
@pytest.mark.full_tier
@pytest.mark.parametrize("kpi", SHIPPED)
def test_hand_query_gives_the_library_rows_on_clickhouse(
    clickhouse_demo: ml.SemanticLayer, kpi: str
) -> None:
    """On ClickHouse's copy of the demo, in the layer's session (``join_use_nulls`` and the
    other settings the hand queries rely on): the same rows in every shape accepted."""
    dialect = Dialect("clickhouse", schema=DEMO_SCHEMA)
    for shape in SHAPES:
        if kpi in CHURN and shape.grain != "month":
            continue
        by = [f"metric_time.{shape.grain}"]
        if kpi == "weekly_cohort_retention":
            by.append(COHORT_PERIOD)
        asked = {"by": by, "where": shape.where, "start": shape.start, "end": shape.end}
        fetch = clickhouse_demo.connection.fetch
        generated = fetch(clickhouse_demo.query([kpi], **asked).statement()).rows
        hand = fetch(verify(HAND_SQL[kpi](shape, dialect), "clickhouse")).rows
        assert len(generated) > 1, f"{kpi}, {shape.key}: too few rows to prove anything"
        assert difference(generated, hand) is None, f"{kpi}, {shape.key}"
