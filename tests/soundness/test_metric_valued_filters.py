"""Metric-valued filters: ``user.orders >= 3`` keeps the rows of users with at least three
orders, the metric computed per user over all their rows (with its own filter, no date range).

Hand-computed on literal rows, on every engine:

| order | user | country | status   | amount | ordered_on |
|-------|------|---------|----------|--------|------------|
| 1     | 1    | DE      | paid     | 10.00  | 2026-01-05 |
| 2     | 1    | DE      | paid     | 20.00  | 2026-02-05 |
| 3     | 1    | DE      | refunded | 30.00  | 2026-03-05 |
| 4     | 2    | FR      | paid     | 5.00   | 2026-01-10 |
| 5     | 2    | FR      | paid     | 5.00   | 2026-01-11 |
| 6     | 3    | DE      | paid     | 7.00   | 2026-01-20 |
| 7     | 3    | DE      | paid     | 8.00   | 2026-02-20 |
| 8     | 3    | DE      | paid     | 9.00   | 2026-03-20 |
| 9     | 3    | DE      | cancelled| 100.00 | 2026-03-21 |

User 4 (US) has no orders. Orders per user: u1 3 (the threshold, exactly), u2 2, u3 4, u4 0;
paid orders: u1 2, u2 2, u3 3, u4 0.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

import metrics_layer as ml
from soundness.literal import ENGINES, LiteralLayer, fetch, literal_rows, typed

D = dt.date

USERS = literal_rows(
    {"user_id": None, "country": None}, [(1, "DE"), (2, "FR"), (3, "DE"), (4, "US")]
)
ORDERS = literal_rows(
    {
        "order_id": None,
        "user_id": None,
        "status": None,
        "amount": "DECIMAL(10, 2)",
        "ordered_on": "DATE",
    },
    [
        (1, 1, "paid", Decimal("10.00"), D(2026, 1, 5)),
        (2, 1, "paid", Decimal("20.00"), D(2026, 2, 5)),
        (3, 1, "refunded", Decimal("30.00"), D(2026, 3, 5)),
        (4, 2, "paid", Decimal("5.00"), D(2026, 1, 10)),
        (5, 2, "paid", Decimal("5.00"), D(2026, 1, 11)),
        (6, 3, "paid", Decimal("7.00"), D(2026, 1, 20)),
        (7, 3, "paid", Decimal("8.00"), D(2026, 2, 20)),
        (8, 3, "paid", Decimal("9.00"), D(2026, 3, 20)),
        (9, 3, "cancelled", Decimal("100.00"), D(2026, 3, 21)),
    ],
)

DEFINITIONS = f"""
    sources:
      - name: users
        sql: "{USERS}"
        entities: [{{name: user, key: user_id, primary: true}}]
        dimensions: [{{name: country}}]
        measures: [{{name: users, agg: count}}]
      - name: orders
        sql: "{ORDERS}"
        time: ordered_on
        entities:
          - {{name: order, key: order_id, primary: true}}
          - {{name: user, key: user_id}}
        dimensions: [{{name: ordered_on, type: time}}, {{name: status}}]
        measures:
          - {{name: orders, agg: count}}
          - {{name: amount, agg: sum, expr: amount}}
    metrics:
      - {{name: users, type: simple, measure: users.users}}
      - {{name: orders, type: simple, measure: orders.orders}}
      - {{name: paid_orders, type: simple, measure: orders.orders, filter: "status = 'paid'"}}
      - {{name: revenue, type: simple, measure: orders.amount}}
      - {{name: repeat_buyer_revenue, type: simple, measure: orders.amount,
          filter: "user.orders >= 3"}}
"""

Load = Callable[..., ml.SemanticLayer]


@pytest.fixture
def load(literal_layer: LiteralLayer) -> Load:
    return functools.partial(literal_layer, DEFINITIONS)


@pytest.mark.parametrize("engine", ENGINES)
def test_filters_on_a_metric_per_user(load: Load, engine: str) -> None:
    layer = load(engine)
    # at least 3 orders: u1 (exactly 3) and u3 (4): 10 + 20 + 30 + 7 + 8 + 9 + 100
    assert typed(fetch(layer, ["revenue"], where="user.orders >= 3")) == typed([(184.0,)])
    # the metric's own filter counts: only u3 has 3 paid orders
    by_country = fetch(layer, ["revenue"], by=["user.country"], where="user.paid_orders >= 3")
    assert typed(by_country) == typed([("DE", 124.0)])
    # users without orders have 0 orders (a count), so they pass '< 3' and '= 0'
    assert typed(fetch(layer, ["users"], where="user.orders < 3")) == typed([(2,)])
    assert typed(fetch(layer, ["users"], by=["user.country"], where="user.orders = 0")) == (
        typed([("US", 1)])
    )
    # in a metric's definition, and against the date range: the count is over all time, so u1
    # (3 orders in all) is a repeat buyer in January, when it had one
    january = fetch(
        layer,
        ["revenue", "repeat_buyer_revenue"],
        by=["metric_time.month"],
        start="2026-01-01",
        end="2026-01-31",
    )
    assert typed(january) == typed([(D(2026, 1, 1), 27.0, 17.0)])  # u1 10 + u3 7


def test_a_metric_valued_filter_that_needs_itself_is_refused(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    looped = (
        DEFINITIONS
        + """
      - {name: loop, type: simple, measure: orders.orders, filter: "user.loop > 1"}
"""
    )
    folder = write_project(
        {"m/metrics_layer.yml": "project:\n  name: m\n", "m/a.yml": looped.replace("\n    ", "\n")}
    )
    _, diagnostics = ml.check(folder / "m")
    assert any(
        "'user.loop' is a metric-valued filter that needs itself" in d.message for d in diagnostics
    ), diagnostics
