"""Sizing on the demo data: baselines and traffic equal hand-written SQL; every input checked."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import pytest

import metrics_layer as ml
from metrics_layer.experiments.stats import Moments, sample_size

MEANINGFUL = "event_type NOT IN ('email_open', 'login_failed')"


def test_conversion_baseline_and_traffic_equal_hand_sql(
    layer: ml.SemanticLayer, demo_sql: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    plan = layer.experiment("activation_rate_7d", mde="10%", end="2026-10-31")
    # The window ends the conversion window (7 days) before the last day of data.
    assert (plan.window.start, plan.window.end) == (dt.date(2026, 9, 27), dt.date(2026, 10, 24))
    base, converted = demo_sql(
        """
        SELECT count(*), sum(CASE WHEN EXISTS (
            SELECT 1 FROM events e WHERE e.user_id = u.user_id
              AND e.event_type = 'project_created' AND e.occurred_at >= u.signed_up_at
              AND CAST(e.occurred_at AS DATE) <= CAST(u.signed_up_at AS DATE) + 7
        ) THEN 1 ELSE 0 END)
        FROM users u
        WHERE CAST(u.signed_up_at AS DATE) BETWEEN DATE '2026-09-27' AND DATE '2026-10-24'
        """
    )[0]
    p = converted / base
    assert plan.unit == "user"
    assert plan.kind == "proportion"
    assert plan.baseline.n == base
    assert plan.baseline.value == pytest.approx(p)
    assert plan.baseline.variance == pytest.approx(p * (1 - p))
    assert plan.daily_traffic == pytest.approx(base / 28)
    # The same number the query API gives for the window.
    (whole,) = (
        layer.query("activation_rate_7d", start=plan.window.start, end=plan.window.end).run().rows
    )
    assert whole[0] == pytest.approx(p)
    n = sample_size(Moments(base, p, p * (1 - p), True), 0.1 * p, alpha=0.05, power=0.8)
    assert plan.per_arm == (math.ceil(n), math.ceil(n))
    assert plan.days == math.ceil(2 * math.ceil(n) / (base / 28))


def test_ratio_metric_per_unit_by_delta_method(
    layer: ml.SemanticLayer, demo_sql: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    plan = layer.experiment("events_per_active_user", mde="5%", end="2026-10-31", lookback=14)
    counts = [
        row[0]
        for row in demo_sql(
            f"""
            SELECT count(*) FROM events WHERE {MEANINGFUL}
              AND occurred_at >= TIMESTAMP '2026-10-18' AND occurred_at < TIMESTAMP '2026-11-01'
            GROUP BY user_id
            """
        )
    ]
    n = len(counts)
    mean = sum(counts) / n
    variance = sum((c - mean) ** 2 for c in counts) / (n - 1)
    assert plan.kind == "ratio"
    assert plan.unit == "user"
    assert (plan.baseline.n, plan.baseline.value) == (n, pytest.approx(mean))
    # Every active user has a denominator of 1: the delta method is the sample variance.
    assert plan.baseline.variance == pytest.approx(variance)
    expected = math.ceil(2 * (1.959964 + 0.841621) ** 2 * variance / (0.05 * mean) ** 2)
    assert abs(plan.per_arm[0] - expected) <= 1


def test_simple_metric_with_population(
    layer: ml.SemanticLayer, demo_sql: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    plan = layer.experiment("active_users", mde="2%", end="2026-10-31", population="signups")
    signed, active = demo_sql(
        f"""
        SELECT count(*), count(*) FILTER (WHERE EXISTS (
            SELECT 1 FROM events e WHERE e.user_id = u.user_id AND e.{MEANINGFUL}
              AND e.occurred_at >= TIMESTAMP '2026-10-04'
              AND e.occurred_at < TIMESTAMP '2026-11-01'))
        FROM users u
        WHERE signed_up_at >= TIMESTAMP '2026-10-04' AND signed_up_at < TIMESTAMP '2026-11-01'
        """
    )[0]
    assert plan.kind == "proportion"
    assert plan.population == "signups"
    assert (plan.baseline.n, plan.baseline.value) == (signed, pytest.approx(active / signed))


def test_arms_allocation_and_traffic(layer: ml.SemanticLayer) -> None:
    two = layer.experiment("paid_conversion_rate", mde="20%", end="2026-10-31")
    three = layer.experiment("paid_conversion_rate", mde="20%", end="2026-10-31", arms=3)
    assert three.comparison_alpha == pytest.approx(0.025)
    base, effect = two.baseline, two.effect
    n3 = sample_size(base, effect, alpha=0.025, power=0.8)
    assert three.per_arm == (math.ceil(n3),) * 3
    assert three.per_arm[0] > two.per_arm[0]
    uneven = layer.experiment(
        "paid_conversion_rate", mde="20%", end="2026-10-31", allocation=[2, 1], traffic=0.5
    )
    n_control = sample_size(base, effect, alpha=0.05, power=0.8, ratio=0.5)
    assert uneven.per_arm == (math.ceil(n_control), math.ceil(n_control / 2))
    assert uneven.days == math.ceil(sum(uneven.per_arm) / (uneven.daily_traffic * 0.5))


def test_plan_states_the_definition(layer: ml.SemanticLayer) -> None:
    plan = layer.experiment("trial_to_paid_rate", mde="0.05", end="2026-10-31")
    assert plan.fingerprint == layer.fingerprints["trial_to_paid_rate"]
    assert plan.version == layer.metric("trial_to_paid_rate").version
    text = plan.to_markdown()
    for part in (
        plan.fingerprint,
        "Version | 1",
        f"{plan.per_arm[0]:,}",
        f"{plan.days} days",
        "0.05 absolute",
        "Bonferroni",
        "2026-10-17 to 2026-11-13" if False else "Lookback",
    ):
        assert part in text
    html = plan.to_html()
    assert html.startswith("<!DOCTYPE html>")
    assert plan.fingerprint in html
    hostile = dataclasses.replace(plan, label="<script>alert(1)</script> | x", unit="a<b>")
    assert "<script>" not in hostile.to_html()
    assert "&lt;script&gt;" in hostile.to_html()
    assert "<script>" not in hostile.to_markdown()
    assert "\\| x" in hostile.to_markdown()


@pytest.mark.parametrize(
    ("metric", "options", "field", "message"),
    [
        ("weekly_active_users", {}, "metric", "rolling"),
        ("feature_adoption_rate", {}, "metric", "derived"),
        ("user_churn_rate", {}, "metric", "churn"),
        ("weekly_cohort_retention", {}, "metric", "cohort"),
        ("daily_active_users", {}, "metric", "per day"),
        ("mrr", {}, "metric", "semi-additive"),
        ("arpu", {}, "metric", "semi-additive"),
        ("active_users", {}, "population", "population="),
        ("no_such_metric", {}, "metric", "unknown metric"),
        ("signups", {"alpha": 0}, "alpha", "between"),
        ("signups", {"alpha": float("nan")}, "alpha", "number"),
        ("signups", {"alpha": "0.05"}, "alpha", "number"),
        ("signups", {"power": 1}, "power", "between"),
        ("signups", {"power": True}, "power", "number"),
        ("signups", {"arms": 1}, "arms", "2 to 20"),
        ("signups", {"arms": 2.0}, "arms", "whole number"),
        ("signups", {"arms": 10**9}, "arms", "2 to 20"),
        ("signups", {"allocation": [1]}, "allocation", "one weight per arm"),
        ("signups", {"allocation": "50,50"}, "allocation", "one weight per arm"),
        ("signups", {"allocation": [1, -1]}, "allocation", "between"),
        ("signups", {"lookback": 0}, "lookback", "whole number"),
        ("signups", {"lookback": 10_000}, "lookback", "whole number"),
        ("signups", {"end": "2026-13-01"}, "end", "YYYY-MM-DD"),
        ("signups", {"end": "2026-10-31'; DROP TABLE users; --"}, "end", "YYYY-MM-DD"),
        ("signups", {"traffic": 0}, "traffic", "between"),
        ("signups", {"unit": "nope"}, "unit", "nope"),
        ("signups", {"population": "nope"}, "population", "unknown metric"),
        ("signups", {"where": "1; DROP TABLE users"}, "where", "."),
        ("signups", {"mde": "5%%"}, "mde", "5%"),
        ("signups", {"lookbak": 5}, "lookbak", "Did you mean 'lookback'"),
    ],
)
def test_bad_input_names_the_field(
    layer: ml.SemanticLayer, metric: str, options: dict[str, Any], field: str, message: str
) -> None:
    options = {"mde": "5%", "end": "2026-10-31", **options}
    with pytest.raises(ml.UserError, match=message) as caught:
        layer.experiment(metric, **options)
    assert getattr(caught.value, "field", None) == field


def test_variance_zero_is_refused(layer: ml.SemanticLayer) -> None:
    # Every signup is one signup: nothing varies between users.
    with pytest.raises(ml.QueryError, match="variance 0"):
        layer.experiment("signups", mde="5%", end="2026-10-31")
