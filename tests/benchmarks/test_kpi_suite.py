"""The hand-written KPI suite (``benchmarks/kpi_suite.py``): every shipped KPI has a hand query
in every shape, every query passes the statement guard on every engine, and on the demo
database each gives the library's rows, so a new KPI cannot be left out of the benchmark and a
hand query that drifts from its KPI's rules is caught before a long run."""

from __future__ import annotations

import pytest

import metrics_layer as ml
from benchmarks.hand_sql import DIALECTS, HAND_SQL, SHAPES
from benchmarks.kpi_suite import COHORT_PERIOD, Outcome, Rounds, difference
from metrics_layer.errors import QueryError
from metrics_layer.safety.statement import verify
from tests.conftest import DEFINITIONS

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
