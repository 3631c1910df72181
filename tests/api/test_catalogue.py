"""The catalogue as data: JSON-safe, hand-checked entries, and each metric's dimensions exactly
the names its queries plan with."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import metrics_layer as ml
from metrics_layer.errors import QueryError
from metrics_layer.graph.fingerprint import Fingerprints

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"

SMALL = {
    "metrics_layer.yml": "project:\n  name: shop\n",
    "sources.yml": """
    sources:
      - name: orders
        table: shop.orders
        time: ordered_at
        description: One row per order.
        entities:
          - {name: order, key: order_id, primary: true}
          - {name: customer, key: customer_id}
        dimensions:
          - {name: ordered_at, type: time, grain: hour}
          - {name: status, description: Where the order is.}
          - {name: is_gift, type: boolean}
        measures:
          - {name: orders, agg: count}
          - {name: revenue, agg: sum, expr: amount * quantity, description: Gross revenue.}
      - name: customers
        table: shop.customers
        entities:
          - {name: customer, key: id, primary: true, description: A buying account.}
        dimensions:
          - {name: country}
    """,
    "metrics.yml": """
    metrics:
      - name: completed_orders
        label: Completed orders
        description: Orders that were not cancelled.
        owner: sales
        status: certified
        tags: [orders]
        synonyms: [orders_done]
        type: simple
        measure: orders.orders
        filter: "status <> 'cancelled'"
        version: 2
        changelog:
          - {version: 2, date: 2026-10-01, change: Cancelled orders no longer count.}
          - {version: 1, date: 2026-01-15, change: First definition.}
      - name: revenue
        type: simple
        measure: orders.revenue
      - name: revenue_per_order
        type: ratio
        numerator: revenue
        denominator: orders.orders
      - name: revenue_wow
        type: derived
        expr: "revenue - last_week"
        inputs:
          - {metric: revenue, alias: last_week, offset: 1 week}
    """,
}


@pytest.fixture
def small(write_project: Callable[[dict[str, str]], Path]) -> ml.SemanticLayer:
    return ml.load(write_project(SMALL))


def _time(name: str, grains: list[str], parts: list[str], **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": "time", **fields, "grains": grains, "parts": parts}


HOUR_UP = ["hour", "day", "week", "month", "quarter", "fiscal_quarter", "year", "fiscal_year"]
DAY_UP = HOUR_UP[1:]
HOUR_PARTS = [
    "hour_of_day",
    "day_of_week",
    "day_of_month",
    "day_of_year",
    "week_of_year",
    "month_of_year",
    "quarter_of_year",
    "fiscal_quarter_of_year",
    "fiscal_year_number",
]
DAY_PARTS = HOUR_PARTS[1:]


def _orders_dimensions(grains: list[str], parts: list[str]) -> list[dict[str, Any]]:
    """What any metric of orders alone takes; metric_time and the orders' own time at
    ``grains``."""
    return [
        _time(
            "metric_time",
            grains,
            parts,
            label="Metric time",
            description="The metric's time: orders.ordered_at.",
            source=None,
        ),
        {"name": "order", "type": "entity", "label": None, "description": None, "source": "orders"},
        {
            "name": "customer",
            "type": "entity",
            "label": None,
            "description": "A buying account.",
            "source": "customers",
        },
        _time(
            "order.ordered_at",
            grains,
            parts,
            label=None,
            description=None,
            source="orders",
        ),
        {
            "name": "order.status",
            "type": "categorical",
            "label": None,
            "description": "Where the order is.",
            "source": "orders",
        },
        {
            "name": "order.is_gift",
            "type": "boolean",
            "label": None,
            "description": None,
            "source": "orders",
        },
        {
            "name": "customer.country",
            "type": "categorical",
            "label": None,
            "description": None,
            "source": "customers",
        },
        _time("orders.ordered_at", grains, parts, label=None, description=None, source="orders"),
        {
            "name": "orders.status",
            "type": "categorical",
            "label": None,
            "description": "Where the order is.",
            "source": "orders",
        },
        {
            "name": "orders.is_gift",
            "type": "boolean",
            "label": None,
            "description": None,
            "source": "orders",
        },
        {
            "name": "customers.country",
            "type": "categorical",
            "label": None,
            "description": None,
            "source": "customers",
        },
    ]


COUNT = {
    "name": "orders.orders",
    "agg": "count",
    "expr": None,
    "percentile": None,
    "semi_additive": None,
    "time": "orders.ordered_at",
    "description": None,
}
REVENUE = {
    "name": "orders.revenue",
    "agg": "sum",
    "expr": "amount * quantity",
    "percentile": None,
    "semi_additive": None,
    "time": "orders.ordered_at",
    "description": "Gross revenue.",
}


def test_a_simple_metric_with_a_filter(small: ml.SemanticLayer) -> None:
    described = small.describe("completed_orders")
    assert len(described.pop("fingerprint")) == 16
    assert described == {
        "name": "completed_orders",
        "label": "Completed orders",
        "description": "Orders that were not cancelled.",
        "format": None,
        "owner": "sales",
        "status": "certified",
        "replaced_by": None,
        "sunset": None,
        "type": "simple",
        "version": 2,
        "versions": [2],
        "tags": ["orders"],
        "synonyms": ["orders_done"],
        "changelog": [
            {"version": 2, "date": "2026-10-01", "change": "Cancelled orders no longer count."},
            {"version": 1, "date": "2026-01-15", "change": "First definition."},
        ],
        "defined_in": f"{Path(small.graph.metrics['completed_orders'].file or '')}:2",
        "definition": {
            "measure": COUNT,
            "per": None,
            "rollup": None,
            "filter": "status <> 'cancelled'",
            "fill_null": None,
            "fill_periods": False,
        },
        "dimensions": _orders_dimensions(HOUR_UP, HOUR_PARTS),
        "required_dimensions": [],
    }
    assert described["defined_in"].endswith("metrics.yml:2")


def test_a_ratio_over_a_metric_and_a_measure(small: ml.SemanticLayer) -> None:
    described = small.describe("revenue_per_order")
    assert described["type"] == "ratio"
    assert described["label"] == "Revenue per order"
    assert (described["owner"], described["status"], described["version"]) == (None, "draft", 1)
    assert described["changelog"] == []
    assert described["tags"] == []
    assert described["definition"] == {
        "numerator": {
            "name": "revenue",
            "measure": None,
            "alias": None,
            "offset": None,
            "offset_to_grain": None,
        },
        "denominator": {
            "name": "orders.orders",
            "measure": COUNT,
            "alias": None,
            "offset": None,
            "offset_to_grain": None,
        },
        "filter": None,
        "fill_null": None,
        "fill_periods": False,
    }
    assert described["dimensions"] == _orders_dimensions(HOUR_UP, HOUR_PARTS)


def test_a_derived_metric_with_an_alias_and_an_offset(small: ml.SemanticLayer) -> None:
    described = small.describe("revenue_wow")
    assert described["definition"] == {
        "expr": "revenue - last_week",
        "inputs": [
            {
                "name": "revenue",
                "measure": None,
                "alias": "last_week",
                "offset": "1 week",
                "offset_to_grain": None,
            },
            {
                "name": "revenue",
                "measure": None,
                "alias": None,
                "offset": None,
                "offset_to_grain": None,
            },
        ],
        "filter": None,
        "fill_null": None,
        "fill_periods": False,
    }
    # an offset works on days or coarser: no hour, no hour of the day, for metric_time and
    # for the orders' own time (which is metric_time under its own name)
    assert described["dimensions"] == _orders_dimensions(DAY_UP, DAY_PARTS)
    assert small.describe("revenue")["definition"]["measure"] == REVENUE


def test_the_catalogue_of_a_small_project(small: ml.SemanticLayer) -> None:
    whole = small.catalogue()
    assert list(whole) == ["project", "metrics", "dimensions", "sources"]
    assert whole["project"] == "shop"
    assert [m["name"] for m in whole["metrics"]] == [
        "completed_orders",
        "revenue",
        "revenue_per_order",
        "revenue_wow",
    ]
    assert whole["metrics"][0] == small.describe("completed_orders")
    every = ["completed_orders", "revenue", "revenue_per_order", "revenue_wow"]
    assert whole["dimensions"][6] == {
        "name": "customer.country",
        "type": "categorical",
        "label": None,
        "description": None,
        "source": "customers",
        "metrics": every,
    }
    assert [d["name"] for d in whole["dimensions"]] == [
        d["name"] for d in _orders_dimensions([], [])
    ]
    assert whole["sources"] == [
        {
            "name": "customers",
            "description": None,
            "time": None,
            "entities": ["customer"],
            "dimensions": ["country"],
            "measures": [],
            "derived_for_metric": False,
        },
        {
            "name": "orders",
            "description": "One row per order.",
            "time": "ordered_at",
            "entities": ["customer", "order"],
            "dimensions": ["is_gift", "ordered_at", "status"],
            "measures": [COUNT, REVENUE],
            "derived_for_metric": False,
        },
    ]


def test_each_call_gives_a_new_copy(small: ml.SemanticLayer) -> None:
    first = small.describe("revenue")
    first["dimensions"].clear()
    first["definition"]["measure"]["agg"] = "changed"
    again = small.describe("revenue")
    assert again["dimensions"]
    assert again["definition"]["measure"]["agg"] == "sum"


def test_the_fingerprint_is_the_metrics(small: ml.SemanticLayer) -> None:
    prints = Fingerprints(small.graph)
    for entry in small.catalogue()["metrics"]:
        assert entry["fingerprint"] == prints.metric(entry["name"])


def test_an_unknown_metric_is_a_query_error_with_a_suggestion(small: ml.SemanticLayer) -> None:
    with pytest.raises(QueryError, match="Did you mean 'revenue_wow'"):
        small.describe("revenue_wo")
    with pytest.raises(QueryError, match="expected"):
        small.describe(42)  # type: ignore[arg-type]


# -- JSON-safety ---------------------------------------------------------------------------

EVERY_TYPE = {
    "metrics_layer.yml": """
    project:
      name: every_type
      calendar:
        table: cal
        periods: [{name: retail_month}]
    """,
    "sources.yml": """
    sources:
      - name: users
        table: users
        time: signed_up_at
        entities: [{name: user, key: user_id, primary: true}]
        dimensions:
          - {name: signed_up_at, type: time}
          - {name: plan}
        measures:
          - {name: signups, agg: count}
      - name: events
        table: events
        time: occurred_at
        entities:
          - {name: user, key: user_id}
          - {name: guest, key: guest_id}
        dimensions:
          - {name: occurred_at, type: time, grain: hour}
          - {name: event_type}
        measures:
          - {name: events, agg: count}
          - {name: active_users, agg: count_distinct, expr: user_id}
          - {name: p90_gap, agg: percentile, percentile: 0.9, expr: gap_seconds}
      - name: balances
        table: balances
        time: snapshot_date
        entities: [{name: user, key: user_id}]
        dimensions: [{name: snapshot_date, type: time}]
        measures:
          - {name: balance, agg: sum, expr: amount, semi_additive: last}
    """,
    "metrics.yml": """
    metrics:
      - {name: signups, type: simple, measure: users.signups}
      - {name: dau, type: simple, measure: events.active_users, per: day, rollup: max}
      - {name: weekly_events, type: simple, measure: events.events, per: week}
      - {name: gap_p90, type: simple, measure: events.p90_gap, fill_periods: true}
      - {name: balance, type: simple, measure: balances.balance, fill_null: 0}
      - {name: wau, type: rolling, measure: events.active_users, window: 7 days}
      - {name: events_mtd, type: cumulative, measure: events.events, grain_to_date: month}
      - {name: events_rytd, type: cumulative, measure: events.events,
         grain_to_date: retail_month, rollup: first}
      - {name: events_per_signup, type: ratio, numerator: events.events, denominator: signups}
      - name: wau_growth
        type: derived
        expr: "(wau - wau_at_month_start) / wau_at_month_start"
        inputs: [{metric: wau, alias: wau_at_month_start, offset_to_grain: month}]
      - name: signups_vs_retail
        type: derived
        expr: "signups - before"
        inputs: [{metric: signups, alias: before, offset: 1 retail_month}]
      - name: activation
        type: conversion
        entity: user
        base: {measure: users.signups}
        conversion: {measure: events.events, filter: "event_type = 'project_created'"}
        window: 7 days
      - name: retention_d7
        type: retention
        entity: user
        base: {measure: users.signups}
        activity: {measure: events.events}
        after: 7 days
      - name: weekly_cohorts
        type: retention
        entity: user
        base: {measure: users.signups}
        activity: {measure: events.events}
        cohort_periods: 4 weeks
      - name: churn
        type: churn
        entity: user
        activity: {measure: events.events}
        period: month
      - name: churn_vs_signups
        type: derived
        expr: "churn * signups"
        inputs: [{metric: churn}, {metric: signups}]
    """,
}


@pytest.fixture
def every_type(write_project: Callable[[dict[str, str]], Path]) -> ml.SemanticLayer:
    return ml.load(write_project(EVERY_TYPE))


def _json_only(value: object, where: str = "catalogue") -> None:
    """Only what JSON holds: str, int, float, bool, None, lists and dicts with str keys."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), where
            _json_only(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _json_only(item, f"{where}[{index}]")
    else:
        assert value is None or type(value) in (str, int, float, bool), (where, type(value))


def test_the_shipped_catalogue_is_json_safe(layer: ml.SemanticLayer) -> None:
    whole = layer.catalogue()
    _json_only(whole)
    assert json.loads(json.dumps(whole)) == whole
    assert len(whole["metrics"]) == len(layer.metrics)
    kinds = {m["type"] for m in whole["metrics"]}
    assert kinds == {
        "simple",
        "ratio",
        "derived",
        "rolling",
        "cumulative",
        "conversion",
        "retention",
        "churn",
    }


def test_a_catalogue_of_every_type_is_json_safe(every_type: ml.SemanticLayer) -> None:
    whole = every_type.catalogue()
    _json_only(whole)
    assert json.loads(json.dumps(whole)) == whole
    by_name = {m["name"]: m for m in whole["metrics"]}
    assert by_name["dau"]["definition"]["per"] == "day"
    assert by_name["dau"]["definition"]["rollup"] == "max"
    assert by_name["weekly_events"]["definition"]["rollup"] == "average"
    assert by_name["wau"]["definition"]["window"] == "7 days"
    assert by_name["wau"]["definition"]["rollup"] == "last"
    assert by_name["events_mtd"]["definition"]["grain_to_date"] == "month"
    assert by_name["events_rytd"]["definition"]["grain_to_date"] == "retail_month"
    assert by_name["events_rytd"]["definition"]["rollup"] == "first"
    assert by_name["gap_p90"]["definition"]["measure"]["percentile"] == 0.9
    assert by_name["gap_p90"]["definition"]["fill_periods"] is True
    assert by_name["balance"]["definition"]["measure"]["semi_additive"] == "last"
    assert by_name["balance"]["definition"]["fill_null"] == 0
    assert by_name["wau_growth"]["definition"]["inputs"][0]["offset_to_grain"] == "month"
    assert by_name["signups_vs_retail"]["definition"]["inputs"][0]["offset"] == "1 retail_month"
    activation = by_name["activation"]["definition"]
    assert (activation["source"], activation["entity"], activation["window"]) == (
        "activation",
        "user",
        "7 days",
    )
    assert activation["numerator"]["measure"]["agg"] == "sum_boolean"
    assert by_name["weekly_cohorts"]["definition"]["cohort_table"] is True
    assert by_name["weekly_cohorts"]["required_dimensions"] == ["weekly_cohorts.period"]
    assert by_name["retention_d7"]["definition"]["cohort_period"] is None
    assert by_name["churn"]["definition"]["period"] == "month"
    churn_time = by_name["churn_vs_signups"]["dimensions"][0]
    assert (churn_time["name"], churn_time["grains"], churn_time["parts"]) == (
        "metric_time",
        ["month"],
        [],
    )
    derived = [s for s in whole["sources"] if s["derived_for_metric"]]
    assert [s["name"] for s in derived] == ["activation", "churn", "retention_d7", "weekly_cohorts"]


# -- dimensions, exactly -------------------------------------------------------------------


def _plans(layer: ml.SemanticLayer, metric: str, by: list[str]) -> bool:
    try:
        layer.query([metric], by=by)
    except QueryError:
        return False
    return True


def _check_exact(layer: ml.SemanticLayer, grains: tuple[str, ...], parts: tuple[str, ...]) -> int:
    """For every metric and every name of ``layer.dimensions`` (time dimensions bare, at
    ``grains`` and ``parts``): the metric plans by it iff its catalogue entry lists it. A time
    dimension's bare name is its day. Returns the number of (metric, name) pairs planned."""
    checked = 0
    wrong = []
    for metric in layer.metrics:
        described = layer.describe(metric.name)
        required = described["required_dimensions"]
        listed = {d["name"]: d for d in described["dimensions"]}
        for name in layer.dimensions:
            entry = listed.get(name)
            forms = [(name, entry is not None and "day" in entry.get("grains", ["day"]))]
            if name == "metric_time" or _is_time(layer, name):
                forms += [
                    (f"{name}.{g}", entry is not None and g in entry["grains"]) for g in grains
                ]
                forms += [(f"{name}.{p}", entry is not None and p in entry["parts"]) for p in parts]
            for full, expected in forms:
                by = [*required, full] if full not in required else list(required)
                checked += 1
                if _plans(layer, metric.name, by) != expected:
                    wrong.append((metric.name, full, expected))
        for name in required:  # without its period, a cohort table does not plan
            assert not _plans(layer, metric.name, [])
            assert name in listed
    assert not wrong
    return checked


def _is_time(layer: ml.SemanticLayer, name: str) -> bool:
    owner, _, dimension = name.partition(".")
    graph = layer.graph
    for source in graph.primaries(owner) or (owner,):
        found = graph.sources[source].dimensions.get(dimension) if source in graph.sources else None
        if found is not None:
            return found.type.value == "time"
    return False


def test_the_shipped_metrics_take_exactly_their_dimensions(layer: ml.SemanticLayer) -> None:
    checked = _check_exact(
        layer,
        grains=("hour", "month", "fiscal_year", "retail_month"),
        parts=("hour_of_day", "day_of_week"),
    )
    assert checked > 30 * len(layer.dimensions)


def test_every_type_takes_exactly_its_dimensions(every_type: ml.SemanticLayer) -> None:
    checked = _check_exact(
        every_type,
        grains=("hour", "week", "month", "quarter", "retail_month"),
        parts=("hour_of_day", "day_of_week", "week_of_year"),
    )
    assert checked > 17 * len(every_type.dimensions)


def test_what_refuses_a_dimension(every_type: ml.SemanticLayer) -> None:
    """Hand-picked answers of the rules: per, windows, churn periods, reachability."""

    def grains(metric: str, name: str) -> list[str] | None:
        for entry in every_type.describe(metric)["dimensions"]:
            if entry["name"] == name:
                return list(entry.get("grains", []))
        return None

    # measured per week: by a week or a grain a week is taken to fit in; a calendar table's
    # period holds days only
    assert grains("weekly_events", "metric_time") == DAY_UP[1:]
    # measured per day, or a window of days: no hour
    assert grains("dau", "metric_time") == [*DAY_UP, "retail_month"]
    assert grains("wau", "metric_time") == [*DAY_UP, "retail_month"]
    assert grains("wau", "events.occurred_at") == [*DAY_UP, "retail_month"]
    # events are recorded per hour: a simple metric of them takes an hour as a dimension, and
    # as metric_time too unless it fills every period of a range (days or coarser)
    assert grains("gap_p90", "events.occurred_at") == [*HOUR_UP, "retail_month"]
    assert grains("gap_p90", "metric_time") == [*DAY_UP, "retail_month"]
    # a ratio of events and signups: only what both sources reach (users cannot reach events)
    assert grains("events_per_signup", "events.occurred_at") is None
    assert grains("events_per_signup", "user.signed_up_at") == [*DAY_UP, "retail_month"]
    # users are recorded per day
    assert grains("signups", "metric_time") == [*DAY_UP, "retail_month"]
    assert grains("churn", "metric_time") == ["month"]
    # balances reach users only; events hold a guest key that balances do not
    names = [d["name"] for d in every_type.describe("balance")["dimensions"]]
    assert "guest" not in names
    assert "user.plan" in names
    assert "events.event_type" not in names
    assert "guest" in [d["name"] for d in every_type.describe("wau")["dimensions"]]


def test_threads_sharing_a_fresh_layer_get_one_catalogue(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    shared = ml.load(write_project(EVERY_TYPE))
    alone = ml.load(write_project(EVERY_TYPE)).catalogue()
    with ThreadPoolExecutor(8) as pool:
        wholes = list(pool.map(lambda _: shared.catalogue(), range(8)))
        entries = list(pool.map(shared.describe, [m["name"] for m in alone["metrics"]] * 2))
    assert all(whole == alone for whole in wholes)
    assert entries == alone["metrics"] * 2
