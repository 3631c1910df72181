"""An offset that is a whole number of the query's grain is applied after aggregating: the
grain's periods move, not every row. Both plans must give the same numbers.

The row-level plan is still the one a query gets when a filter reads metric_time (the filter
must see each row's shifted time), so each query below runs twice: as asked, and with an
always-true ``metric_time >= '1900-01-01'`` that forces the row-level plan. The orders sit on
month ends, around midnight and in a leap-free February, where shifting by months clamps days;
the snapshots make a semi-additive measure (the last snapshot of each period) and the visits a
``per: day`` average.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

import metrics_layer as ml
from metrics_layer.planner.planner import plan_query
from metrics_layer.planner.query import MetricQuery
from soundness.literal import LiteralLayer, literal_rows, only

T = dt.datetime
D = dt.date

_ORDERS = [
    (1, "a", T(2026, 1, 5, 10), 40),
    (2, "b", T(2026, 1, 31, 23, 30), 60),
    (3, "a", T(2026, 2, 1, 0, 15), 50),
    (4, "b", T(2026, 2, 28, 23, 59), 55),
    (5, "a", T(2026, 3, 29, 12), 20),
    (6, "a", T(2026, 3, 31, 8), 35),
    (7, "b", T(2026, 4, 30, 18), 70),
    (8, "b", T(2026, 5, 31, 9), 15),
    (9, "a", T(2026, 6, 1, 0, 1), 25),
    (10, "a", T(2026, 6, 30, 22), 30),
    (11, "b", T(2026, 8, 14, 7), 45),
    (12, "a", T(2026, 12, 31, 23, 59), 80),
]
_SNAPSHOTS = [
    (shop, D(2026, month, day), mrr)
    for shop, month, day, mrr in [
        ("a", 1, 15, 100),
        ("a", 1, 31, 110),
        ("b", 1, 31, 40),
        ("a", 2, 28, 120),
        ("b", 2, 27, 45),
        ("a", 3, 31, 90),
        ("b", 3, 31, 50),
        ("a", 4, 30, 95),
        ("a", 5, 31, 130),
        ("b", 5, 30, 60),
        ("a", 6, 30, 140),
    ]
]

_ORDER_ROWS = literal_rows(
    {"order_id": None, "shop": None, "ordered_at": "TIMESTAMP", "amount": None}, _ORDERS
)
_SNAPSHOT_ROWS = literal_rows({"shop": None, "taken_on": "DATE", "mrr": None}, _SNAPSHOTS)

DEFINITIONS = f"""
    sources:
      - name: orders
        sql: "{_ORDER_ROWS}"
        time: ordered_at
        entities:
          - {{name: order, key: order_id, primary: true}}
        dimensions:
          - {{name: ordered_at, type: time, grain: second}}
          - {{name: shop}}
        measures:
          - {{name: orders, agg: count}}
          - {{name: revenue, agg: sum, expr: amount}}
          - {{name: buyers, agg: count_distinct, expr: shop}}
      - name: snapshots
        sql: "{_SNAPSHOT_ROWS}"
        time: taken_on
        dimensions:
          - {{name: taken_on, type: time, grain: day}}
          - {{name: shop}}
        measures:
          - {{name: mrr, agg: sum, expr: mrr, semi_additive: last}}
    metrics:
      - {{name: orders, type: simple, measure: orders.orders}}
      - {{name: revenue, type: simple, measure: orders.revenue}}
      - {{name: daily_buyers, type: simple, measure: orders.buyers, per: day}}
      - {{name: mrr, type: simple, measure: snapshots.mrr}}
      - name: orders_growth
        type: derived
        expr: "(orders - before) / before"
        inputs:
          - {{metric: orders}}
          - {{metric: orders, offset: 1 month, alias: before}}
      - name: revenue_a_quarter_before
        type: derived
        expr: before
        inputs:
          - {{metric: revenue, offset: 1 quarter, alias: before}}
      - name: revenue_a_week_before
        type: derived
        expr: before
        inputs:
          - {{metric: revenue, offset: 7 days, alias: before}}
      - name: buyers_a_week_before
        type: derived
        expr: before
        inputs:
          - {{metric: daily_buyers, offset: 1 week, alias: before}}
      - name: mrr_growth
        type: derived
        expr: "mrr - before"
        inputs:
          - {{metric: mrr}}
          - {{metric: mrr, offset: 1 month, alias: before}}
"""

FORCE_ROWS = "metric_time >= '1900-01-01'"

CASES: list[tuple[list[str], list[str], dict[str, Any]]] = [
    (["orders", "orders_growth"], ["metric_time.month"], {}),
    (["orders_growth"], ["metric_time.month", "orders.shop"], {}),
    (["orders_growth"], ["metric_time.month"], {"start": "2026-02-01", "end": "2026-06-30"}),
    (["revenue_a_quarter_before"], ["metric_time.quarter"], {}),
    (["revenue_a_quarter_before"], ["metric_time.month"], {"start": "2026-04-01"}),
    (["revenue", "revenue_a_week_before"], ["metric_time.week"], {}),
    (["revenue_a_week_before"], ["metric_time.day"], {"end": "2026-06-30"}),
    (["daily_buyers", "buyers_a_week_before"], ["metric_time.week"], {}),
    (["buyers_a_week_before"], ["metric_time.week"], {"start": "2026-01-05", "end": "2026-07-05"}),
    (["mrr", "mrr_growth"], ["metric_time.month"], {}),
    (["mrr_growth"], ["metric_time.month", "snapshots.shop"], {"start": "2026-02-01"}),
]


@pytest.fixture(params=only("duckdb", "sqlite", "postgres", "mariadb"))
def shop(request: pytest.FixtureRequest, literal_layer: LiteralLayer) -> ml.SemanticLayer:
    return literal_layer(DEFINITIONS, request.param)


def _run(layer: ml.SemanticLayer, metrics: list[str], by: list[str], **query: Any) -> list[Any]:
    """Rows with numbers as floats (engines differ in integer and decimal types, not values)."""
    rows = layer.query(metrics, by=by, **query).run().rows
    return [
        tuple(float(v) if isinstance(v, int | float | Decimal) else v for v in row) for row in rows
    ]


@pytest.mark.parametrize(("metrics", "by", "query"), CASES)
def test_shifting_after_aggregating_gives_the_row_level_numbers(
    shop: ml.SemanticLayer, metrics: list[str], by: list[str], query: dict[str, Any]
) -> None:
    asked = plan_query(shop.graph, MetricQuery.of(metrics, by=by, **query))
    forced = plan_query(shop.graph, MetricQuery.of(metrics, by=by, where=FORCE_ROWS, **query))
    assert asked.shifted
    assert not forced.shifted
    assert any(a.offset is not None for a in forced.aggregations)
    expected = _run(shop, metrics, by, where=FORCE_ROWS, **query)
    got = _run(shop, metrics, by, **query)
    assert len(got) == len(expected) > 0, (got, expected)
    for left, right in zip(got, expected, strict=True):
        assert left == pytest.approx(right), (got, expected)


def test_without_a_range_the_offset_reads_the_same_scan(literal_layer: LiteralLayer) -> None:
    layer = literal_layer(DEFINITIONS, "duckdb")
    plan = plan_query(layer.graph, MetricQuery.of(["mrr_growth"], by=["metric_time.month"]))
    assert len(plan.aggregations) == 1
    assert plan.aggregations[0].offset is None
    [view] = plan.shifted
    assert view.of == plan.aggregations[0].name


def test_with_a_range_the_offset_reads_the_same_scan_reaching_back(
    literal_layer: LiteralLayer,
) -> None:
    layer = literal_layer(DEFINITIONS, "duckdb")
    asked = MetricQuery.of(
        ["mrr_growth"], by=["metric_time.month"], start="2026-02-01", end="2026-05-31"
    )
    plan = plan_query(layer.graph, asked)
    assert len(plan.aggregations) == 1
    [view] = plan.shifted
    assert view.of == plan.aggregations[0].name
    assert plan.within == (("metric_time__month", dt.date(2026, 2, 1), dt.date(2026, 5, 31)),)
    sql = layer.query(asked.metrics, by=asked.by, start=asked.start, end=asked.end).sql()
    assert "'2026-01-01'" in sql  # the scan reads January for February's offset
    rows = layer.query(asked.metrics, by=asked.by, start=asked.start, end=asked.end).run().rows
    assert [row[0] for row in rows] == [dt.date(2026, m, 1) for m in (2, 3, 4, 5)]


def test_an_offset_finer_than_the_grain_shifts_rows(literal_layer: LiteralLayer) -> None:
    layer = literal_layer(DEFINITIONS, "duckdb")
    for metrics, by, query in [
        (["orders_growth"], ["metric_time.day"], {}),  # a month of days is not whole
        (["revenue_a_week_before"], ["metric_time.month"], {}),
        (["orders_growth"], ["metric_time.month"], {"start": "2026-02-15"}),  # cut month
        (["orders_growth"], ["metric_time.month_of_year"], {}),
    ]:
        plan = plan_query(layer.graph, MetricQuery.of(metrics, by=by, **query))
        assert not plan.shifted, (metrics, by, query)


def test_month_over_month_by_hand(literal_layer: LiteralLayer) -> None:
    layer = literal_layer(DEFINITIONS, "duckdb")
    result = layer.query(["orders", "orders_growth"], by=["metric_time.month"]).run()
    rows = {month: (orders, growth) for month, orders, growth in result.rows}
    # Orders per month: Jan 2, Feb 2, Mar 2, Apr 1, May 1, Jun 2, Aug 1, Dec 1.
    assert rows[D(2026, 2, 1)] == (2, pytest.approx(0.0))
    assert rows[D(2026, 4, 1)] == (1, pytest.approx(-0.5))
    assert rows[D(2026, 6, 1)] == (2, pytest.approx(1.0))
    assert rows[D(2026, 8, 1)] == (1, None)  # July had no orders: NULL growth
    assert rows[D(2026, 1, 1)] == (2, None)


def test_a_kept_shape_is_not_reused_across_plans(literal_layer: LiteralLayer) -> None:
    # The same question over whole months (periods shifted) and over a cut month (rows
    # shifted) are different plans: the second must not be written from the first's shape.
    warmed = literal_layer(DEFINITIONS, "duckdb")
    cut = {"by": ["metric_time.month"], "start": "2026-02-15", "end": "2026-06-30"}
    whole = {"by": ["metric_time.month"], "start": "2026-02-01", "end": "2026-06-30"}
    warmed.query(["orders_growth"], **whole).sql()
    alone = literal_layer(DEFINITIONS, "duckdb").query(["orders_growth"], **cut).sql()
    assert warmed.query(["orders_growth"], **cut).sql() == alone
    assert "_rows" not in alone
