"""``min(dimension)`` and ``max(dimension)`` of a time dimension: first and last times as a
query without metrics, by other names, on every engine. Hand-computed on literal rows:

| order | user | country | ordered_at (UTC)    |
|-------|------|---------|---------------------|
| 1     | 1    | DE      | 2026-01-31 23:30:00 |
| 2     | 1    | DE      | 2026-02-01 00:15:00 |
| 3     | 2    | FR      | 2026-03-29 01:30:00 |
| 4     | 3    | DE      | NULL                |
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

import pytest

import metrics_layer as ml
from soundness.literal import ENGINES, LiteralLayer, fetch, literal_rows, typed

D = dt.date
T = dt.datetime

USERS = literal_rows({"user_id": None, "country": None}, [(1, "DE"), (2, "FR"), (3, "DE")])
ORDERS = literal_rows(
    {"order_id": None, "user_id": None, "ordered_at": "TIMESTAMP"},
    [
        (1, 1, T(2026, 1, 31, 23, 30)),
        (2, 1, T(2026, 2, 1, 0, 15)),
        (3, 2, T(2026, 3, 29, 1, 30)),
        (4, 3, None),
    ],
)

DEFINITIONS = f"""
    sources:
      - name: users
        sql: "{USERS}"
        entities: [{{name: user, key: user_id, primary: true}}]
        dimensions: [{{name: country}}]
      - name: orders
        sql: "{ORDERS}"
        time: ordered_at
        entities:
          - {{name: order, key: order_id, primary: true}}
          - {{name: user, key: user_id}}
        dimensions: [{{name: ordered_at, type: time, grain: minute}}]
        measures: [{{name: orders, agg: count}}]
    metrics:
      - {{name: orders, type: simple, measure: orders.orders}}
"""

Load = Callable[..., ml.SemanticLayer]


@pytest.fixture
def load(literal_layer: LiteralLayer) -> Load:
    return functools.partial(literal_layer, DEFINITIONS)


@pytest.mark.parametrize("engine", ENGINES)
def test_first_and_last_times(load: Load, engine: str) -> None:
    layer = load(engine)
    names = ["min(orders.ordered_at.minute)", "max(orders.ordered_at)"]
    rows = fetch(layer, names, by=["user.country"])
    # DE: orders 1, 2 (order 4 has no time); FR: order 3. max by day: the date of the last.
    assert typed(rows) == typed(
        [
            ("DE", T(2026, 1, 31, 23, 30), D(2026, 2, 1)),
            ("FR", T(2026, 3, 29, 1, 30), D(2026, 3, 29)),
        ]
    )
    overall = fetch(layer, ["max(orders.ordered_at.minute)"], end="2026-02-28")
    assert typed(overall) == typed([(T(2026, 2, 1, 0, 15),)])


def test_what_first_and_last_take(load: Load) -> None:
    layer = load("duckdb")
    with pytest.raises(ml.QueryError, match="take a time dimension"):
        layer.query(["min(user.country)"])
    with pytest.raises(ml.QueryError, match="make a query without metrics"):
        layer.query(["min(orders.ordered_at)", "orders"])
