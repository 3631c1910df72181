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


@pytest.fixture
def visits(tiny_layer: TinyLayer) -> ml.SemanticLayer:
    metrics = "".join(
        METRIC.format(rollup=r) for r in ("average", "sum", "min", "max", "first", "last")
    )
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
