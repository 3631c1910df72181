"""Bad queries: always a QueryError naming the query field at fault, with what to write instead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import metrics_layer as ml

GRAINS = "second, minute, hour, day, week, month, quarter, fiscal_quarter, year, fiscal_year"


def query_error(layer: ml.SemanticLayer, *metrics: Any, **options: Any) -> ml.QueryError:
    with pytest.raises(ml.QueryError) as caught:
        layer.query(*metrics, **options).sql()
    error = caught.value
    if error.field is not None:
        assert str(error).startswith(f"{error.field}: ")
    return error


@pytest.mark.parametrize(
    ("metrics", "options", "field", "expected"),
    [
        (["signup"], {}, "metrics", "unknown metric 'signup'. Did you mean 'signups'?"),
        (
            ["daily_active_user"],
            {},
            "metrics",
            "unknown metric 'daily_active_user'. Did you mean 'daily_active_users'?",
        ),
        (["signup@1"], {}, "metrics", "unknown metric 'signup'. Did you mean 'signups'?"),
        (
            ["signups@2"],
            {},
            "metrics",
            "metric 'signups' has no version 2; its versions are 1 (the current one is 1)",
        ),
        (
            ["signups"],
            {"by": ["user.contry"]},
            "by",
            "'user' has no dimension 'contry'. Did you mean 'country'?",
        ),
        (
            ["signups"],
            {"by": ["usr.country"]},
            "by",
            "unknown entity or source 'usr' in 'usr.country'. Did you mean 'user'?",
        ),
        (
            ["signups"],
            {"by": ["countr"]},
            "by",
            "unknown name 'countr'. Write 'entity.dimension' or 'source.dimension'",
        ),
        (["signups"], {"by": ["countr"]}, "by", "Did you mean 'user.country'?"),
        (
            ["signups"],
            {"by": ["users.plann"]},
            "by",
            "'users' has no dimension 'plann'. Did you mean 'plan'?",
        ),
        (["signups"], {"by": ["user.plan.x.y"]}, "by", "has too many parts"),
    ],
)
def test_unknown_names_suggest_the_right_one(
    layer: ml.SemanticLayer,
    metrics: list[str],
    options: dict[str, Any],
    field: str,
    expected: str,
) -> None:
    error = query_error(layer, metrics, **options)
    assert error.field == field
    assert expected in str(error)


def test_unknown_dimension_lists_the_dimensions_of_its_owner(layer: ml.SemanticLayer) -> None:
    error = query_error(layer, ["signups"], by=["user.contry"])
    assert "Its dimensions: acquisition_channel, country, ever_paid, first_paid_at, plan" in (
        str(error)
    )


def test_unknown_metric_from_the_catalogue(layer: ml.SemanticLayer) -> None:
    with pytest.raises(ml.QueryError) as caught:
        layer.metric("signup")
    assert caught.value.field == "metric"
    assert "Did you mean 'signups'?" in str(caught.value)


@pytest.mark.parametrize("grain", ["fortnight", "weeks", "MONTH"])
def test_metric_time_with_a_bad_grain_lists_the_grains(layer: ml.SemanticLayer, grain: str) -> None:
    error = query_error(layer, ["signups"], by=[f"metric_time.{grain}"])
    assert error.field == "by"
    assert f"'metric_time.{grain}': '{grain}' is not a time grain or date part; " in str(error)
    # the shipped project's calendar table adds its periods
    periods = "retail_week, retail_month, retail_quarter, retail_year"
    assert f"use a grain ({GRAINS}), a calendar period ({periods}) or a date part " in str(error)


def test_metric_time_finer_than_recorded_names_the_fix(layer: ml.SemanticLayer) -> None:
    error = query_error(layer, ["mrr"], by=["metric_time.minute"])
    assert "is recorded per day, so it cannot be grouped by minute; use day or coarser" in str(
        error
    )


def test_metric_time_with_a_near_grain_suggests_it(layer: ml.SemanticLayer) -> None:
    error = query_error(layer, ["signups"], by=["metric_time.weeks"])
    assert "Did you mean 'week'?" in str(error)


def test_named_time_dimension_with_a_bad_grain_lists_the_grains(layer: ml.SemanticLayer) -> None:
    error = query_error(layer, ["signups"], by=["user.signed_up_at.fortnight"])
    assert error.field == "by"
    assert GRAINS in str(error)


@pytest.mark.parametrize(
    ("metrics", "by", "expected"),
    [
        (
            ["mrr"],
            "metric_time.hour",
            "'metric_time.hour': 'subscription_snapshots.snapshot_date' is recorded per day, so it "
            "cannot be grouped by hour; use day or coarser",
        ),
        (
            ["signups"],
            "subscription_snapshots.snapshot_date.hour",
            "'subscription_snapshots.snapshot_date' is recorded per day",
        ),
        (
            ["daily_active_users"],
            "metric_time.hour",
            "'metric_time.hour' is finer than the metrics measured per day on 'events'; "
            "group by day or coarser",
        ),
    ],
)
def test_grain_finer_than_the_data_is_refused(
    layer: ml.SemanticLayer, metrics: list[str], by: str, expected: str
) -> None:
    error = query_error(layer, metrics, by=[by])
    assert error.field == "by"
    assert expected in str(error)


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("user.country.month", "'user.country.month': only time dimensions take a grain"),
        ("user.month", "'user.month': an entity has no time grain"),
    ],
)
def test_grain_on_something_without_time(layer: ml.SemanticLayer, by: str, expected: str) -> None:
    error = query_error(layer, ["signups"], by=[by])
    assert error.field == "by"
    assert expected in str(error)


def test_start_after_end(layer: ml.SemanticLayer) -> None:
    error = query_error(layer, ["signups"], start="2026-02-01", end="2026-01-01")
    assert error.field == "start"
    assert "start 2026-02-01 is after end 2026-01-01; swap them" in str(error)


@pytest.mark.parametrize("field", ["start", "end"])
@pytest.mark.parametrize(
    "value", ["2026-02-30", "01/02/2026", "yesterday", "2026-1-1", "2026-01", "2026-01-01T00:00"]
)
def test_bad_date_string(layer: ml.SemanticLayer, field: str, value: str) -> None:
    error = query_error(layer, ["signups"], **{field: value})
    assert error.field == field
    assert f"{value!r} is not a date; write YYYY-MM-DD" in str(error)


@pytest.mark.parametrize("field", ["start", "end"])
def test_timestamp_instead_of_date(layer: ml.SemanticLayer, field: str) -> None:
    error = query_error(layer, ["signups"], **{field: dt.datetime(2026, 1, 1, 12)})
    assert error.field == field
    assert "give a calendar date (YYYY-MM-DD), not a timestamp" in str(error)


@pytest.mark.parametrize("limit", [0, -1, True, False, 1.5, "10", 2.0])
def test_limit_must_be_a_positive_whole_number(layer: ml.SemanticLayer, limit: object) -> None:
    error = query_error(layer, ["signups"], limit=limit)
    assert error.field == "limit"
    assert f"must be a positive whole number, not {limit!r}" in str(error)


@pytest.mark.parametrize(
    ("order", "by", "named"),
    [
        (["country"], [], "'country'"),
        (["-user.plan"], ["user.country"], "'user.plan'"),
        (["metric_time"], ["metric_time.month"], "'metric_time'"),
        (["signup"], [], "'signup'"),
    ],
)
def test_order_by_an_unrequested_name_lists_the_choices(
    layer: ml.SemanticLayer, order: list[str], by: list[str], named: str
) -> None:
    error = query_error(layer, ["signups"], by=by, order=order)
    assert error.field == "order"
    assert f"{named} is neither a requested metric nor a 'by' name" in str(error)
    assert "order by one of: " + ", ".join(sorted(["signups", *by])) in str(error)


@pytest.mark.parametrize("by", ["metric_time", "metric_time.month"])
def test_metric_time_without_metrics(layer: ml.SemanticLayer, by: str) -> None:
    error = query_error(layer, [], by=[by, "user.country"])
    assert error.field == "by"
    assert "with other dimensions it needs a metric" in str(error)
    assert "'user.signed_up_at.month'" in str(error)


@pytest.mark.parametrize(
    ("metrics", "by", "field", "name"),
    [
        (["signups", "signups"], [], "metrics", "signups"),
        (["signups"], ["user.country", "user.plan", "user.country"], "by", "user.country"),
        (["signups", " signups"], [], "metrics", "signups"),
    ],
)
def test_name_listed_twice(
    layer: ml.SemanticLayer, metrics: list[str], by: list[str], field: str, name: str
) -> None:
    error = query_error(layer, metrics, by=by)
    assert error.field == field
    assert f"'{name}' is listed twice; list it once" in str(error)


def test_empty_query(layer: ml.SemanticLayer) -> None:
    error = query_error(layer, [])
    assert error.field == "metrics"
    assert "ask for at least one metric or one dimension" in str(error)


@pytest.mark.parametrize(
    ("options", "field", "expected"),
    [
        ({"metrics": [123]}, "metrics", "expected names as strings, got 123"),
        ({"metrics": ["signups", ""]}, "metrics", "expected names as strings, got ''"),
        ({"metrics": ["signups"], "by": [None]}, "by", "expected names as strings, got None"),
        ({"metrics": ["signups"], "order": [5]}, "order", "expected names as strings, got 5"),
        ({"metrics": ["signups"], "where": 1}, "where", "must be a SQL boolean as a string"),
    ],
)
def test_values_of_the_wrong_type(
    layer: ml.SemanticLayer, options: dict[str, Any], field: str, expected: str
) -> None:
    error = query_error(layer, **options)
    assert error.field == field
    assert expected in str(error)


def test_none_for_metrics_asks_for_one(layer: ml.SemanticLayer) -> None:
    error = query_error(layer, None)
    assert error.field == "metrics"
    assert "ask for at least one metric or one dimension" in str(error)


@pytest.mark.parametrize("field", ["by", "order"])
def test_none_for_by_or_order_means_not_given(layer: ml.SemanticLayer, field: str) -> None:
    given = layer.query(["signups"], **{field: None}).sql()
    assert given == layer.query(["signups"]).sql()


@pytest.fixture
def timeless(write_project: Callable[[dict[str, str]], Path]) -> ml.SemanticLayer:
    return ml.load(
        write_project(
            {
                "a.yml": """
                sources:
                  - name: plans
                    table: plans
                    entities:
                      - {name: plan, key: plan_id, primary: true}
                    dimensions:
                      - {name: tier}
                    measures:
                      - {name: plan_count, agg: count}
                metrics:
                  - {name: plans, type: simple, measure: plans.plan_count}
                """
            }
        )
    )


@pytest.mark.parametrize(("start", "end"), [("2026-01-01", None), (None, "2026-01-31")])
def test_start_end_on_a_source_without_time(
    timeless: ml.SemanticLayer, start: str | None, end: str | None
) -> None:
    error = query_error(timeless, ["plans"], start=start, end=end)
    assert error.field == "start"
    assert "source 'plans' has no time dimension, so start/end cannot apply" in str(error)


def test_dimension_listing_with_start_on_a_source_without_time(
    timeless: ml.SemanticLayer,
) -> None:
    error = query_error(timeless, [], by=["plan.tier"], start="2026-01-01")
    assert error.field == "start"
    assert "has no time dimension" in str(error)


def test_metric_time_on_a_source_without_time(timeless: ml.SemanticLayer) -> None:
    error = query_error(timeless, ["plans"], by=["metric_time.month"])
    assert error.field == "by"
    assert "source 'plans' has no time dimension, so its metrics have no metric_time" in (
        str(error)
    )


@pytest.mark.parametrize(
    "options",
    [
        {"metrics": ["signups"], "by": ["metric_time.fortnight"]},
        {"metrics": ["signups"], "start": "2026-02-30"},
        {"metrics": ["signups"], "limit": -3},
        {"metrics": ["nope"]},
        {"metrics": ["signups"], "where": "user.countyr = 'de'"},
        {"metrics": ["signups"], "by": ["user.plan"], "order": ["plan"]},
    ],
)
def test_query_errors_are_user_errors_not_internal_ones(
    layer: ml.SemanticLayer, options: dict[str, Any]
) -> None:
    with pytest.raises(ml.QueryError) as caught:
        layer.query(**options)
    assert isinstance(caught.value, ml.UserError)
    assert not isinstance(caught.value, ml.InternalError)
    assert caught.value.field is not None
