"""Period-over-period: a derived metric's input with ``offset`` is that input's value one period
(or more) earlier, attached to the periods the other inputs produce.

Orders per month, hand-made: Jan 2, Feb 5, Mar 0 (no rows), Apr 4; revenue Jan 100, Feb 250,
Apr 80. Each expected number below is worked out from those.
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import metrics_layer as ml
from soundness.literal import TinyLayer

D = dt.date

ORDERS: list[tuple[int, str, dt.datetime, int]] = [
    (1, "a", dt.datetime(2026, 1, 5, 10), 40),
    (2, "b", dt.datetime(2026, 1, 31, 23), 60),
    (3, "a", dt.datetime(2026, 2, 1, 0), 50),
    (4, "a", dt.datetime(2026, 2, 10), 50),
    (5, "b", dt.datetime(2026, 2, 14), 50),
    (6, "b", dt.datetime(2026, 2, 20), 50),
    (7, "b", dt.datetime(2026, 2, 28, 23, 59), 50),
    (8, "a", dt.datetime(2026, 4, 1), 20),
    (9, "a", dt.datetime(2026, 4, 2), 20),
    (10, "b", dt.datetime(2026, 4, 3), 20),
    (11, "b", dt.datetime(2026, 4, 30), 20),
]

DEFINITIONS = """
    sources:
      - name: orders
        table: orders
        time: ordered_at
        entities:
          - {name: order, key: order_id, primary: true}
        dimensions:
          - {name: ordered_at, type: time, grain: hour}
          - {name: shop}
        measures:
          - {name: orders, agg: count}
          - {name: revenue, agg: sum, expr: amount}
    metrics:
      - {name: orders, type: simple, measure: orders.orders}
      - {name: revenue, type: simple, measure: orders.revenue}
      - name: orders_growth
        type: derived
        expr: "(orders - orders_before) / orders_before"
        inputs:
          - {metric: orders, offset: 1 month, alias: orders_before}
      - name: orders_previous
        type: derived
        expr: "orders_before"
        inputs:
          - {metric: orders, offset: 1 month, alias: orders_before}
      - name: revenue_two_months_ago
        type: derived
        expr: "before"
        inputs:
          - {metric: revenue, offset: 2 months, alias: before}
"""


@pytest.fixture
def shop(tiny_layer: TinyLayer) -> ml.SemanticLayer:
    tables = {
        "orders": ("order_id INTEGER, shop VARCHAR, ordered_at TIMESTAMP, amount INTEGER", ORDERS)
    }
    return tiny_layer(tables, {"defs.yml": DEFINITIONS})


def by_key(result: ml.Result) -> dict[object, tuple[object, ...]]:
    return {row[0]: row[1:] for row in result.rows}


def test_month_over_month_growth(shop: ml.SemanticLayer) -> None:
    result = shop.query(["orders", "orders_growth"], by=["metric_time.month"]).run()
    assert by_key(result) == {
        D(2026, 1, 1): (2, None),  # no December: 0 before, growth NULL
        D(2026, 2, 1): (5, 1.5),  # (5 - 2) / 2
        D(2026, 4, 1): (4, None),  # March had 0 orders: division by zero is NULL
    }


def test_offset_values_join_onto_existing_periods_only(shop: ml.SemanticLayer) -> None:
    # Only months with orders appear: March (no orders) and May (after the data) do not,
    # although the shifted input has values there (Feb's 5 in March, Apr's 4 in May).
    result = shop.query(["orders", "orders_previous"], by=["metric_time.month"]).run()
    assert by_key(result) == {
        D(2026, 1, 1): (2, 0),
        D(2026, 2, 1): (5, 2),
        D(2026, 4, 1): (4, 0),
    }


def test_an_offset_alone_defines_its_own_periods(shop: ml.SemanticLayer) -> None:
    result = shop.query(["orders_previous"], by=["metric_time.month"]).run()
    assert by_key(result) == {
        D(2026, 2, 1): (2,),
        D(2026, 3, 1): (5,),
        D(2026, 5, 1): (4,),
    }


def test_two_month_offset_with_a_date_range(shop: ml.SemanticLayer) -> None:
    # The range selects the output months Mar..Apr; their values come from Jan..Feb.
    result = shop.query(
        ["revenue", "revenue_two_months_ago"],
        by=["metric_time.month"],
        start="2026-03-01",
        end="2026-04-30",
    ).run()
    assert by_key(result) == {D(2026, 4, 1): (80, 250)}


def test_offset_by_a_dimension(shop: ml.SemanticLayer) -> None:
    result = shop.query(
        ["orders", "orders_previous"], by=["metric_time.month", "orders.shop"]
    ).run()
    assert {(r[0], r[1]): r[2:] for r in result.rows} == {
        (D(2026, 1, 1), "a"): (1, 0),
        (D(2026, 1, 1), "b"): (1, 0),
        (D(2026, 2, 1), "a"): (2, 1),
        (D(2026, 2, 1), "b"): (3, 1),
        (D(2026, 4, 1), "a"): (2, 0),
        (D(2026, 4, 1), "b"): (2, 0),
    }


def test_totals_over_a_range_compare_with_the_shifted_range(shop: ml.SemanticLayer) -> None:
    # Feb 1..Feb 28 against the days that land there one month later: Jan 1..Jan 31 (Jan 29,
    # 30 and 31 plus one month are all Feb 28), so 5 orders against 2.
    result = shop.query(["orders", "orders_previous"], start="2026-02-01", end="2026-02-28").run()
    assert result.rows == ((5, 2),)


def test_hour_grain_with_an_offset_is_refused(shop: ml.SemanticLayer) -> None:
    with pytest.raises(ml.QueryError, match="offsets work on days or coarser"):
        shop.query(["orders_previous"], by=["metric_time.hour"])


def test_malformed_offset_is_a_definition_error(
    write_project: Callable[[dict[str, str]], object],
) -> None:
    broken = DEFINITIONS.replace("offset: 2 months", "offset: two months")
    with pytest.raises(ml.DefinitionError, match=r"defs\.yml:\d+:\d+"):
        ml.load(write_project({"defs.yml": broken}))  # type: ignore[arg-type]


@pytest.mark.parametrize("metric", ["daily_active_users", "mrr", "signups", "arpu"])
def test_an_offset_series_is_the_series_one_month_later(
    metric: str,
    demo_db: object,
    write_project: Callable[[dict[str, str]], object],
    tmp_path: object,
) -> None:
    # Per-day rollups (DAU), snapshots (MRR), counts and ratios: the value one month earlier,
    # read through an offset, equals the metric's own value for the month before (the latter
    # is checked against hand-written SQL in test_shipped_metrics).
    project = tmp_path / "defs"
    shutil.copytree(Path(__file__).resolve().parents[2] / "definitions", project)
    (project / "metrics" / "before.yml").write_text(
        "metrics:\n"
        f"  - name: before\n    type: derived\n    expr: prior\n"
        f"    inputs:\n      - {{metric: {metric}, offset: 1 month, alias: prior}}\n",
        encoding="utf-8",
    )
    layer = ml.load(project, connection=f"duckdb:///{demo_db}")
    own = dict(layer.query([metric], by=["metric_time.month"]).run().rows)
    shifted = dict(layer.query(["before"], by=["metric_time.month"]).run().rows)
    months = sorted(own)
    for before, month in itertools.pairwise(months):
        assert float(shifted[month]) == pytest.approx(float(own[before]), rel=1e-9), month
