"""Analysis of a finished test on the demo data, with a deterministic synthetic assignment
(user_id mod 2): per-variant numbers equal ``layer.query`` restricted to the variant's units
and hand-written SQL; the tests equal SciPy's and statsmodels'."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportions_ztest

import metrics_layer as ml

START, END = "2026-09-01", "2026-10-31"
MEANINGFUL = "event_type NOT IN ('email_open', 'login_failed')"
SQL = Callable[[str], list[tuple[Any, ...]]]


def variant(user_id: int) -> str:
    return "control" if user_id % 2 == 0 else "treatment"


@pytest.fixture(scope="module")
def users(demo_sql: SQL) -> dict[int, str]:
    return {row[0]: variant(row[0]) for row in demo_sql("SELECT user_id FROM users")}


def restricted(layer: ml.SemanticLayer, metric: str, parity: int) -> float:
    (row,) = layer.query(metric, where=f"user % 2 = {parity}", start=START, end=END).run().rows
    return float(row[0])


@pytest.mark.parametrize(
    "metric", ["activation_rate_7d", "paid_conversion_rate", "events_per_active_user", "new_mrr"]
)
def test_per_variant_numbers_equal_restricted_queries(
    layer: ml.SemanticLayer, users: dict[int, str], metric: str
) -> None:
    result = layer.analyze_experiment(metric, users, start=START, end=END)
    control, treatment = result.arms
    assert (control.variant, treatment.variant) == ("control", "treatment")
    simple = layer.metric(metric).kind.value == "simple"
    for arm, parity in ((control, 0), (treatment, 1)):
        expected = restricted(layer, metric, parity)
        # A simple metric sums over units (its total); the others are the metric itself.
        assert (arm.total if simple else arm.value) == pytest.approx(expected)
    assert result.fingerprint == layer.fingerprints[metric]


def test_proportion_equals_hand_sql_and_statsmodels(
    layer: ml.SemanticLayer, users: dict[int, str], demo_sql: SQL
) -> None:
    rows = demo_sql(
        f"""
        SELECT user_id % 2, count(*), sum(CASE WHEN EXISTS (
            SELECT 1 FROM events e WHERE e.user_id = u.user_id
              AND e.event_type = 'project_created' AND e.occurred_at >= u.signed_up_at
              AND CAST(e.occurred_at AS DATE) <= CAST(u.signed_up_at AS DATE) + 7
        ) THEN 1 ELSE 0 END)
        FROM users u
        WHERE CAST(u.signed_up_at AS DATE) BETWEEN DATE '{START}' AND DATE '{END}'
        GROUP BY 1 ORDER BY 1
        """
    )
    (_, n0, x0), (_, n1, x1) = rows
    result = layer.analyze_experiment("activation_rate_7d", users, start=START, end=END)
    control, treatment = result.arms
    assert (control.units, control.total, treatment.units, treatment.total) == (n0, x0, n1, x1)
    ((name, comparison),) = result.comparisons
    assert name == "treatment"
    assert comparison.test == "two-proportion z-test"
    assert comparison.p_value == pytest.approx(proportions_ztest([x1, x0], [n1, n0])[1], rel=1e-9)
    assert comparison.lift == pytest.approx((x1 / n1 - x0 / n0) / (x0 / n0))
    # Units without a signup in the window have no base event: left out, not zeros.
    assert result.without_data == len(users) - n0 - n1


def test_mean_equals_hand_sql_and_welch(
    layer: ml.SemanticLayer, users: dict[int, str], demo_sql: SQL
) -> None:
    rows = demo_sql(
        f"""
        SELECT u.user_id, coalesce(sum(s.mrr), 0)
        FROM users u LEFT JOIN subscriptions s ON s.user_id = u.user_id
          AND s.started_at >= TIMESTAMP '{START}' AND s.started_at < TIMESTAMP '2026-11-01'
        GROUP BY u.user_id
        """
    )
    groups: dict[int, list[float]] = {0: [], 1: []}
    for user_id, mrr in rows:
        groups[user_id % 2].append(float(mrr))
    result = layer.analyze_experiment("new_mrr", users, start=START, end=END)
    control, treatment = result.arms
    # Every assigned user counts; one without a new subscription has 0.
    assert control.units == len(groups[0])
    assert treatment.units == len(groups[1])
    assert control.value == pytest.approx(sum(groups[0]) / len(groups[0]))
    welch = scipy_stats.ttest_ind(groups[1], groups[0], equal_var=False)
    ((_, comparison),) = result.comparisons
    assert comparison.test == "Welch t-test"
    assert comparison.p_value == pytest.approx(welch.pvalue, rel=1e-9)
    interval = welch.confidence_interval(0.95)
    assert comparison.interval == pytest.approx((interval.low, interval.high), rel=1e-9)
    assert not result.srm


def test_ratio_uses_the_delta_method(layer: ml.SemanticLayer, users: dict[int, str]) -> None:
    result = layer.analyze_experiment("events_per_active_user", users, start=START, end=END)
    ((_, comparison),) = result.comparisons
    assert comparison.test == "delta-method z-test"
    low, high = comparison.interval
    assert low < comparison.difference < high


def test_sample_ratio_mismatch_is_flagged(layer: ml.SemanticLayer, users: dict[int, str]) -> None:
    # Keep a third of the treatment users: 3 : 1 instead of 1 : 1.
    skewed = {u: v for u, v in users.items() if v == "control" or u % 3 == 0}
    result = layer.analyze_experiment("new_mrr", skewed, start=START, end=END)
    assert result.srm
    assert result.srm_p_value < 1e-10
    fair = layer.analyze_experiment("new_mrr", skewed, start=START, end=END, allocation=[3, 1])
    assert not fair.srm
    assert "YES" in result.to_markdown()
    assert "YES" in result.to_html()


def test_other_assignment_shapes(layer: ml.SemanticLayer, users: dict[int, str]) -> None:
    import pandas as pd

    base = layer.analyze_experiment("paid_conversion_rate", users, start=START, end=END)
    frame = pd.DataFrame({"user": list(users), "variant": list(users.values())})
    as_frame = layer.analyze_experiment("paid_conversion_rate", frame, start=START, end=END)
    as_text = layer.analyze_experiment(
        "paid_conversion_rate", [(str(k), v) for k, v in users.items()], start=START, end=END
    )
    assert base.arms == as_frame.arms == as_text.arms
    flipped = layer.analyze_experiment(
        "paid_conversion_rate", users, start=START, end=END, control="treatment"
    )
    assert flipped.arms[0].variant == "treatment"


@pytest.mark.parametrize(
    ("assignment", "options", "field", "message"),
    [
        ("users.csv", {}, "assignment", "not a dimension of the project"),
        ("x" * 5000, {}, "assignment", "not a dimension"),
        (42, {}, "assignment", "mapping"),
        ([(1, "a", "b")], {}, "assignment", "pairs"),
        ([(1, "a"), (1, "b")], {}, "assignment", "two variants"),
        ([(None, "a")], {}, "assignment", "empty"),
        ([(1, "")], {}, "assignment", "variants"),
        ([(1, "x" * 101)], {}, "assignment", "variants"),
        ([(1, "a")], {}, "assignment (variants)", "2 to 20"),
        ({2: "a", 4: "b"}, {}, "assignment", "units with data"),
        ({2: "a", 3: "b"}, {"control": "c"}, "control", "no unit"),
        ({2: "a", 3: "b"}, {"alpha": 2}, "alpha", "between"),
        ({2: "a", 3: "b"}, {"contrl": "a"}, "contrl", "Did you mean 'control'"),
    ],
)
def test_bad_assignment_names_the_field(
    layer: ml.SemanticLayer, assignment: object, options: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ml.UserError, match=message) as caught:
        layer.analyze_experiment("new_mrr", assignment, start=START, end=END, **options)
    assert getattr(caught.value, "field", None) == field


def test_bad_dates(layer: ml.SemanticLayer, users: dict[int, str]) -> None:
    with pytest.raises(ml.QueryError) as caught:
        layer.analyze_experiment("new_mrr", users, start=END, end=START)
    assert caught.value.field == "end"
    with pytest.raises(ml.QueryError) as caught:
        layer.analyze_experiment("new_mrr", users, start="yesterday", end=END)
    assert caught.value.field == "start"


def test_assignment_from_a_dimension_of_the_project(layer: ml.SemanticLayer, demo_sql: SQL) -> None:
    # Any categorical dimension of the unit can hold the variant; a real project defines a
    # source over its assignment table. The expectation is read with hand-written SQL.
    channels = dict(demo_sql("SELECT user_id, acquisition_channel FROM users"))
    by_name = layer.analyze_experiment(
        "new_mrr", "user.acquisition_channel", start=START, end=END, control="organic"
    )
    by_data = layer.analyze_experiment("new_mrr", channels, start=START, end=END, control="organic")
    assert by_name.arms == by_data.arms
    assert [arm.variant for arm in by_name.arms] == ["organic", "paid_search", "referral", "social"]
    assert len(by_name.comparisons) == 3
    assert by_name.comparison_alpha == pytest.approx(0.05 / 3)
    with pytest.raises(ml.QueryError) as caught:
        layer.analyze_experiment("new_mrr", "user.nope", start=START, end=END)
    assert caught.value.field == "assignment"


def test_variant_names_are_escaped(layer: ml.SemanticLayer, users: dict[int, str]) -> None:
    hostile = {
        k: "<img src=x onerror=alert(1)>" if v == "treatment" else "a|b" for k, v in users.items()
    }
    result = layer.analyze_experiment("new_mrr", hostile, start=START, end=END)
    html = result.to_html()
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    markdown = result.to_markdown()
    assert "<img" not in markdown
    assert "a\\|b" in markdown


def test_missing_scipy_is_a_clear_error(
    layer: ml.SemanticLayer, users: dict[int, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(ml.UserError, match=r"pip install 'kpi-layer\[stats\]'"):
        layer.analyze_experiment("new_mrr", users, start=START, end=END)
