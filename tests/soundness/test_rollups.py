"""``per: day`` with each rollup, on hand-made visits where some days have no qualifying rows.

Visits in March 2026 (kind 'view' counts, 'bot' is filtered out by the metric):
  Mar 1: users 1, 2 (view)        -> 2 visitors
  Mar 2: user 3 (bot only)        -> 0 visitors (the day has rows, none qualifying)
  Mar 3: users 1, 2, 3 (view)     -> 3 visitors
  Mar 4: user 1 (view)            -> 1 visitor
Store 'b' only has user 3, so by store: a = [2, 0, 2, 1], b = [0, 0, 1, 0].
"""

from __future__ import annotations

import datetime as dt

import pytest

import metrics_layer as ml
from soundness.literal import TinyLayer

T = dt.datetime

VISITS = [
    (1, "a", "view", T(2026, 3, 1, 9)),
    (2, "a", "view", T(2026, 3, 1, 10)),
    (3, "b", "bot", T(2026, 3, 2, 11)),
    (1, "a", "view", T(2026, 3, 3, 9)),
    (2, "a", "view", T(2026, 3, 3, 9)),
    (3, "b", "view", T(2026, 3, 3, 12)),
    (1, "a", "view", T(2026, 3, 4, 8)),
]

METRIC = """
      - name: visitors_{rollup}
        type: simple
        measure: visits.visitors
        filter: "kind = 'view'"
        per: day
        rollup: {rollup}
"""


WEEK_BEFORE = """
      - name: visitors_week_before
        type: derived
        expr: earlier
        inputs:
          - {metric: visitors_average, alias: earlier, offset: 1 week}
"""


@pytest.fixture
def visits(tiny_layer: TinyLayer) -> ml.SemanticLayer:
    metrics = "".join(
        METRIC.format(rollup=r) for r in ("average", "sum", "min", "max", "first", "last")
    )
    metrics += WEEK_BEFORE
    definitions = f"""
    sources:
      - name: visits
        table: visits
        time: visited_at
        dimensions:
          - {{name: visited_at, type: time, grain: hour}}
          - {{name: kind}}
          - {{name: store}}
        measures:
          - {{name: visitors, agg: count_distinct, expr: user_id}}
    metrics:
{metrics}"""
    tables = {
        "visits": ("user_id INTEGER, store VARCHAR, kind VARCHAR, visited_at TIMESTAMP", VISITS)
    }
    return tiny_layer(tables, {"defs.yml": definitions})


@pytest.mark.parametrize(
    ("rollup", "expected"),
    [
        ("average", (2 + 0 + 3 + 1) / 4),
        ("sum", 6),
        ("min", 0),
        ("max", 3),
        ("first", 2),
        ("last", 1),
    ],
)
def test_rollup_over_the_month(visits: ml.SemanticLayer, rollup: str, expected: float) -> None:
    rows = visits.query([f"visitors_{rollup}"], by=["metric_time.month"]).run().rows
    assert rows[0][0] == dt.date(2026, 3, 1)
    assert rows[0][1] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("rollup", "expected_a", "expected_b"),
    [
        ("average", (2 + 0 + 2 + 1) / 4, (0 + 0 + 1 + 0) / 4),
        ("sum", 5, 1),
        ("min", 0, 0),
        ("max", 2, 1),
        ("first", 2, 0),
        ("last", 1, 0),
    ],
)
def test_rollup_by_store_counts_missing_days_as_zero(
    visits: ml.SemanticLayer, rollup: str, expected_a: float, expected_b: float
) -> None:
    result = visits.query([f"visitors_{rollup}"], by=["visits.store"]).run()
    got = dict(result.rows)
    assert got["a"] == pytest.approx(expected_a)
    assert got["b"] == pytest.approx(expected_b)


def test_rollup_without_time_grouping_covers_the_range(visits: ml.SemanticLayer) -> None:
    result = visits.query(
        ["visitors_sum", "visitors_average"], start="2026-03-02", end="2026-03-03"
    ).run()
    assert result.rows[0] == pytest.approx((3, 1.5))


def test_the_days_of_a_period_are_calendar_days_not_days_with_rows(
    visits: ml.SemanticLayer,
) -> None:
    # Only March 1-4 have visits, so a range to March 7 adds three days without any row: each
    # counts 0 visitors, and the average is over 7 days (the days the source has rows would
    # give 4).
    result = visits.query(["visitors_average"], start="2026-03-01", end="2026-03-07").run()
    assert result.rows[0][0] == pytest.approx((2 + 0 + 3 + 1) / 7)


def test_a_where_does_not_change_which_days_count(visits: ml.SemanticLayer) -> None:
    # Store 'b' has a qualifying visitor only on March 3, yet its days are March 1-4, as in
    # its row of the query by store: 1 / 4, not 1 / 1.
    alone = visits.query(["visitors_average"], where="visits.store = 'b'").run()
    by_store = dict(visits.query(["visitors_average"], by=["visits.store"]).run().rows)
    assert alone.rows[0][0] == pytest.approx(1 / 4)
    assert by_store["b"] == pytest.approx(1 / 4)


def test_an_offset_moves_the_days_of_a_per_day_metric(visits: ml.SemanticLayer) -> None:
    layer = visits
    rows = layer.query(["visitors_average", "visitors_week_before"], by=["metric_time.week"])
    got = {week: (now, before) for week, now, before in rows.run().rows}
    # Weeks start on Monday: Sunday March 1 is in the week of February 23 (2 visitors over its
    # one day with rows in range), March 2-4 in the week of March 2 ((0 + 3 + 1) / 3). A week
    # later, March 1 is in the week of March 2: that week's "week before" is 2 / 1.
    assert got[dt.date(2026, 2, 23)][0] == pytest.approx(2.0)
    assert got[dt.date(2026, 3, 2)] == pytest.approx((4 / 3, 2.0))
    assert set(got) == {dt.date(2026, 2, 23), dt.date(2026, 3, 2)}
