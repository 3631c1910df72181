"""Partial periods: a date range that cuts a period is kept as asked and the period is marked
(``Result.partial``), or widened to whole periods with ``whole_periods=True``.

One order a day from 2026-01-01 (a Thursday) to 2026-04-30, worth its day of the month: so a
count over a range is its number of days, and every expected number below is counted by hand
on a calendar (or, in the property test, summed in Python from the same rows).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metrics_layer as ml
from metrics_layer.planner.periods import period_of
from metrics_layer.spec.models import Grain, WeekStart
from soundness.literal import TinyLayer

D = dt.date

FIRST, LAST = D(2026, 1, 1), D(2026, 4, 30)
DAYS = [FIRST + dt.timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
ORDERS = [(n, day, day.day) for n, day in enumerate(DAYS, 1)]

DEFINITIONS = """
    sources:
      - name: orders
        table: orders
        time: ordered_at
        entities:
          - {name: order, key: order_id, primary: true}
        dimensions:
          - {name: ordered_at, type: time}
        measures:
          - {name: orders, agg: count}
          - {name: revenue, agg: sum, expr: amount}
    metrics:
      - {name: orders, type: simple, measure: orders.orders}
      - {name: revenue, type: simple, measure: orders.revenue}
"""


def build(tiny_layer: TinyLayer, week_start: str = "monday") -> ml.SemanticLayer:
    project = f"project: {{name: shop, week_start: {week_start}}}\n"
    tables = {"orders": ("order_id INTEGER, ordered_at DATE, amount INTEGER", ORDERS)}
    return tiny_layer(tables, {"metrics_layer.yml": project, "defs.yml": DEFINITIONS})


@pytest.fixture
def shop(tiny_layer: TinyLayer) -> ml.SemanticLayer:
    return build(tiny_layer)


def test_weeks_from_a_wednesday_are_marked_partial(shop: ml.SemanticLayer) -> None:
    # Wednesday 7 to Tuesday 27 January: Mon 5 - Sun 11 holds 5 days, Mon 26 holds 2.
    result = shop.query("orders", by="metric_time.week", start="2026-01-07", end="2026-01-27").run()
    assert list(result.rows) == [
        (D(2026, 1, 5), 5),
        (D(2026, 1, 12), 7),
        (D(2026, 1, 19), 7),
        (D(2026, 1, 26), 2),
    ]
    assert result.partial == (True, False, False, True)
    assert result.to_dicts(partial=True)[0] == {
        "metric_time.week": "2026-01-05",
        "orders": 5,
        "partial": True,
    }
    assert result.to_dicts()[0] == {"metric_time.week": "2026-01-05", "orders": 5}
    text = repr(result).splitlines()
    assert text[2].startswith("2026-01-05*")
    assert text[3].startswith("2026-01-12 ")
    assert "* partial period" in text[6]
    page = result._repr_html_()
    assert page.count('<tr class="partial"') == 2


def test_whole_periods_widens_to_whole_weeks(shop: ml.SemanticLayer) -> None:
    result = shop.query(
        "orders", by="metric_time.week", start="2026-01-07", end="2026-01-27", whole_periods=True
    ).run()
    assert list(result.rows) == [
        (D(2026, 1, 5), 7),
        (D(2026, 1, 12), 7),
        (D(2026, 1, 19), 7),
        (D(2026, 1, 26), 7),
    ]
    assert result.partial == (False,) * 4
    assert "*" not in repr(result)


def test_weeks_starting_on_sunday(tiny_layer: TinyLayer) -> None:
    layer = build(tiny_layer, "sunday")
    # Wednesday 7 to Saturday 24 January: Sun 4 - Sat 10 holds 4 days; the others are whole.
    result = layer.query("orders", by="metric_time.week", start="2026-01-07", end="2026-01-24")
    found = result.run()
    assert list(found.rows) == [(D(2026, 1, 4), 4), (D(2026, 1, 11), 7), (D(2026, 1, 18), 7)]
    assert found.partial == (True, False, False)
    widened = layer.query(
        "orders", by="metric_time.week", start="2026-01-07", end="2026-01-24", whole_periods=True
    ).run()
    assert list(widened.rows) == [(D(2026, 1, 4), 7), (D(2026, 1, 11), 7), (D(2026, 1, 18), 7)]


@pytest.mark.parametrize(
    ("grain", "period", "whole"),
    [
        ("month", D(2026, 2, 1), 28),
        ("quarter", D(2026, 1, 1), 90),
        ("year", D(2026, 1, 1), 120),  # the data ends on April 30
    ],
)
def test_a_range_inside_one_month(
    shop: ml.SemanticLayer, grain: str, period: dt.date, whole: int
) -> None:
    # 10 to 20 February: 11 days.
    asked = shop.query("orders", by=f"metric_time.{grain}", start="2026-02-10", end="2026-02-20")
    result = asked.run()
    assert list(result.rows) == [(period, 11)]
    assert result.partial == (True,)
    widened = shop.query(
        "orders",
        by=f"metric_time.{grain}",
        start="2026-02-10",
        end="2026-02-20",
        whole_periods=True,
    ).run()
    assert list(widened.rows) == [(period, whole)]
    assert widened.partial == (False,)


def test_days_are_never_partial(shop: ml.SemanticLayer) -> None:
    result = shop.query("orders", by="metric_time.day", start="2026-02-10", end="2026-02-12").run()
    assert result.partial == (False, False, False)


def test_whole_periods_widen_to_the_coarsest_grain(shop: ml.SemanticLayer) -> None:
    # February whole (1 to 28); its weeks by Monday: Jan 26 (holds Feb 1), Feb 2, 9, 16 and
    # Feb 23 (holds 23 to 28) - the first and last are cut by the month.
    result = shop.query(
        "orders",
        by=["metric_time.month", "metric_time.week"],
        start="2026-02-10",
        end="2026-02-20",
        whole_periods=True,
    ).run()
    assert [(row[1], row[2]) for row in result.rows] == [
        (D(2026, 1, 26), 1),
        (D(2026, 2, 2), 7),
        (D(2026, 2, 9), 7),
        (D(2026, 2, 16), 7),
        (D(2026, 2, 23), 6),
    ]
    assert result.partial == (True, False, False, False, True)


def test_without_end_the_latest_period_is_not_marked(shop: ml.SemanticLayer) -> None:
    # The data ends on Thursday April 30, so its week holds 4 days, but only the range can
    # say a period is cut: the latest is not marked.
    result = shop.query("orders", by="metric_time.week", start="2026-04-01").run()
    assert result.rows[0] == (D(2026, 3, 30), 5)
    assert result.rows[-1] == (D(2026, 4, 27), 4)
    assert result.partial == (True, False, False, False, False)


def test_only_metric_time_is_the_range(shop: ml.SemanticLayer) -> None:
    # A grouping by the time dimension itself is a dimension: not marked, not widened.
    asked = {"by": "orders.ordered_at.week", "start": "2026-01-07", "end": "2026-01-27"}
    result = shop.query("orders", **asked).run()  # type: ignore[arg-type]
    assert [row[1] for row in result.rows] == [5, 7, 7, 2]
    assert result.partial == (False,) * 4
    widened = shop.query("orders", whole_periods=True, **asked).run()  # type: ignore[arg-type]
    assert list(widened.rows) == list(result.rows)
    # Without metric_time there are no periods to widen: the range stays as asked.
    total = shop.query("orders", start="2026-01-07", end="2026-01-27", whole_periods=True).run()
    assert list(total.rows) == [(21,)]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.dates(D(2026, 1, 1), D(2026, 4, 30)),
    length=st.integers(0, 80),
)
def test_widening_equals_asking_for_the_whole_months(
    shop: ml.SemanticLayer, start: dt.date, length: int
) -> None:
    end = min(start + dt.timedelta(days=length), D(2026, 4, 30))
    first = start.replace(day=1)
    last = period_of(end, Grain.MONTH, WeekStart.MONDAY)[1]
    widened = shop.query(
        ["orders", "revenue"],
        by="metric_time.month",
        start=start,
        end=end,
        whole_periods=True,
    ).run()
    bounds = shop.query(["orders", "revenue"], by="metric_time.month", start=first, end=last).run()
    assert widened.rows == bounds.rows
    assert widened.partial == (False,) * len(widened.rows)
    expected: dict[dt.date, tuple[int, float]] = {}
    for _, day, amount in ORDERS:
        if first <= day <= last:
            count, total = expected.get(day.replace(day=1), (0, 0.0))
            expected[day.replace(day=1)] = (count + 1, total + amount)
    assert list(widened.rows) == [(month, *values) for month, values in expected.items()]


def test_whole_periods_must_be_a_boolean(shop: ml.SemanticLayer) -> None:
    for wrong in ("yes", 1, None):
        with pytest.raises(ml.QueryError, match=r"whole_periods: expected True or False, not"):
            shop.query("orders", by="metric_time.month", whole_periods=wrong)  # type: ignore[arg-type]
    result = shop.query("orders").run()
    with pytest.raises(ml.QueryError, match=r"partial: expected True or False, not str"):
        result.to_dicts(partial="yes")  # type: ignore[arg-type]
