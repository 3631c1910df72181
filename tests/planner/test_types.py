"""Each result column's Python type comes from the plan: grain, dimension type, metric kind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer.planner.types import ValueType

PROJECT = {
    "metrics_layer.yml": "project:\n  name: types\n  paths: [defs]\n",
    "defs/orders.yml": """
        sources:
          - name: orders
            table: orders
            time: ordered_at
            entities:
              - {name: order, key: order_id, primary: true}
            dimensions:
              - {name: ordered_at, type: time, grain: hour}
              - {name: country}
              - {name: gift, type: boolean}
            measures:
              - {name: orders, agg: count}
              - {name: buyers, agg: count_distinct, expr: customer_id}
              - {name: gifts, agg: sum_boolean, expr: gift}
              - {name: amount, agg: sum, expr: amount}
              - {name: largest, agg: max, expr: amount}
              - {name: p90, agg: percentile, percentile: 0.9, expr: amount}
        metrics:
          - {name: orders, type: simple, measure: orders.orders}
          - {name: buyers, type: simple, measure: orders.buyers}
          - {name: gifts, type: simple, measure: orders.gifts}
          - {name: revenue, type: simple, measure: orders.amount}
          - {name: largest, type: simple, measure: orders.largest}
          - {name: p90, type: simple, measure: orders.p90}
          - {name: daily_orders, type: simple, measure: orders.orders, per: day}
          - {name: busiest_day, type: simple, measure: orders.orders, per: day, rollup: max}
          - {name: half_filled, type: simple, measure: orders.orders, fill_null: 0.5}
          - {name: share, type: ratio, numerator: gifts, denominator: orders}
          - {name: not_gifts, type: derived, expr: "orders - gifts"}
          - {name: twice, type: derived, expr: "2 * orders"}
          - {name: halved, type: derived, expr: "orders / 2"}
          - {name: scaled, type: derived, expr: "1.5 * orders"}
          - {name: mixed, type: derived, expr: "orders + revenue"}
    """,
}

EXPECTED = {
    "orders": ValueType.INTEGER,
    "buyers": ValueType.INTEGER,
    "gifts": ValueType.INTEGER,
    "revenue": ValueType.FLOAT,
    "largest": ValueType.FLOAT,
    "p90": ValueType.FLOAT,
    "daily_orders": ValueType.FLOAT,  # a count averaged over days
    "busiest_day": ValueType.INTEGER,  # the largest daily count
    "half_filled": ValueType.FLOAT,
    "share": ValueType.FLOAT,
    "not_gifts": ValueType.INTEGER,
    "twice": ValueType.INTEGER,
    "halved": ValueType.FLOAT,
    "scaled": ValueType.FLOAT,
    "mixed": ValueType.FLOAT,
}


@pytest.fixture
def layer(write_project: Callable[[dict[str, str]], Path]) -> ml.SemanticLayer:
    return ml.load(write_project(PROJECT))


@pytest.mark.parametrize(("metric", "expected"), sorted(EXPECTED.items()))
def test_metric_types(layer: ml.SemanticLayer, metric: str, expected: ValueType) -> None:
    assert layer.query([metric]).plan.types == (expected,)


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("metric_time", ValueType.DATE),
        ("metric_time.month", ValueType.DATE),
        ("metric_time.hour", ValueType.TIMESTAMP),
        ("order.ordered_at", ValueType.DATE),
        ("order.ordered_at.hour", ValueType.TIMESTAMP),
        ("order.gift", ValueType.BOOLEAN),
        ("order.country", ValueType.AS_RETURNED),
        ("order", ValueType.AS_RETURNED),
    ],
)
def test_grouping_types(layer: ml.SemanticLayer, by: str, expected: ValueType) -> None:
    assert layer.query(["orders"], by=[by]).plan.types == (expected, ValueType.INTEGER)
