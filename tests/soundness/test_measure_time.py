"""Per-measure time: a measure aggregated on another time dimension of its source than the
source's ``time`` (subscriptions started by ``started_at``, cancelled by ``ended_at``).

Seven subscriptions, hand-made (UTC):

| id | started          | ended            | mrr |
|----|------------------|------------------|-----|
| 1  | 2026-01-10 09:00 | 2026-02-15 10:00 | 10  |
| 2  | 2026-01-20 12:00 | (open)           | 20  |
| 3  | 2026-02-15 10:00 | 2026-03-31 23:30 | 30  |
| 4  | 2025-12-05 08:00 | 2026-01-03 00:00 | 40  |
| 5  | 2026-02-01 00:00 | 2026-02-28 12:00 | 50  |
| 6  | 2026-03-02 00:00 | (open)           | 60  |
| 7  | 2026-01-05 00:00 | 2026-02-15 18:00 | 5   |

Started per month: Dec 1 (4), Jan 3 (1, 2, 7), Feb 2 (3, 5), Mar 1 (6).
Cancelled per month: Jan 1 (4), Feb 3 (1, 5, 7), Mar 1 (3); 2 and 6 are open, in no month.
Churned MRR: Jan 40, Feb 10 + 50 + 5 = 65, Mar 30.
Every expected number below is worked out from this table.
"""

from __future__ import annotations

import datetime as dt

import pytest

import metrics_layer as ml
from soundness.literal import TinyLayer

D = dt.date
T = dt.datetime

SUBSCRIPTIONS: list[tuple[int, str, T, T | None, int]] = [
    (1, "u1", T(2026, 1, 10, 9), T(2026, 2, 15, 10), 10),
    (2, "u2", T(2026, 1, 20, 12), None, 20),
    (3, "u1", T(2026, 2, 15, 10), T(2026, 3, 31, 23, 30), 30),
    (4, "u3", T(2025, 12, 5, 8), T(2026, 1, 3), 40),
    (5, "u3", T(2026, 2, 1), T(2026, 2, 28, 12), 50),
    (6, "u2", T(2026, 3, 2), None, 60),
    (7, "u4", T(2026, 1, 5), T(2026, 2, 15, 18), 5),
]
USERS = [("u1", "DE"), ("u2", "FR"), ("u3", "DE"), ("u4", "FR")]
COLUMNS = (
    "subscription_id INTEGER, user_id VARCHAR, started_at TIMESTAMP, ended_at TIMESTAMP, "
    "mrr INTEGER"
)

DEFINITIONS = """
    sources:
      - name: subscriptions
        table: subscriptions
        time: started_at
        entities:
          - {name: subscription, key: subscription_id, primary: true}
          - {name: user, key: user_id}
        dimensions:
          - {name: started_at, type: time, grain: hour}
          - {name: ended_at, type: time, grain: hour}
        measures:
          - {name: new_subscriptions, agg: count}
          - {name: cancellations, agg: count, time: ended_at}
          - {name: churned_mrr, agg: sum, expr: mrr, time: ended_at}
      - name: users
        table: users
        entities:
          - {name: user, key: user_id, primary: true}
        dimensions:
          - {name: country}
    metrics:
      - {name: new_subscriptions, type: simple, measure: subscriptions.new_subscriptions}
      - {name: cancellations, type: simple, measure: subscriptions.cancellations}
      - {name: churned_mrr, type: simple, measure: subscriptions.churned_mrr}
      - name: cancellations_month_before
        type: derived
        expr: before
        inputs:
          - {metric: cancellations, offset: 1 month, alias: before}
      - name: daily_cancellations
        type: simple
        measure: subscriptions.cancellations
        per: day
      - name: most_cancellations_in_a_day
        type: simple
        measure: subscriptions.cancellations
        per: day
        rollup: max
      - name: net_new
        type: derived
        expr: new_subscriptions - cancellations
        inputs:
          - {metric: new_subscriptions}
          - {metric: cancellations}
"""


@pytest.fixture
def subscriptions(tiny_layer: TinyLayer) -> ml.SemanticLayer:
    tables = {
        "subscriptions": (COLUMNS, SUBSCRIPTIONS),
        "users": ("user_id VARCHAR, country VARCHAR", USERS),
    }
    return tiny_layer(tables, {"defs.yml": DEFINITIONS})


def rows(layer: ml.SemanticLayer, metrics: list[str], **query: object) -> list[tuple[object, ...]]:
    return list(layer.query(metrics, **query).run().rows)  # type: ignore[arg-type]


def test_each_measure_is_bucketed_by_its_own_time(subscriptions: ml.SemanticLayer) -> None:
    found = rows(subscriptions, ["new_subscriptions", "cancellations"], by="metric_time.month")
    assert found == [
        (D(2025, 12, 1), 1, 0),
        (D(2026, 1, 1), 3, 1),
        (D(2026, 2, 1), 2, 3),
        (D(2026, 3, 1), 1, 1),
    ]


def test_two_times_of_one_source_are_two_scans_joined_on_the_grain(
    subscriptions: ml.SemanticLayer,
) -> None:
    query = subscriptions.query(["new_subscriptions", "churned_mrr"], by="metric_time.month")
    names = [a.name for a in query.plan.aggregations]
    assert names == ["subscriptions_agg", "subscriptions_by_ended_at_agg"]
    assert "grain_keys" in query.sql()
    assert list(query.run().rows) == [
        (D(2025, 12, 1), 1, None),
        (D(2026, 1, 1), 3, 40.0),
        (D(2026, 2, 1), 2, 65.0),
        (D(2026, 3, 1), 1, 30.0),
    ]


def test_a_derived_metric_over_both_times(subscriptions: ml.SemanticLayer) -> None:
    found = rows(subscriptions, ["net_new"], by="metric_time.month")
    assert found == [
        (D(2025, 12, 1), 1.0),
        (D(2026, 1, 1), 2.0),
        (D(2026, 2, 1), -1.0),
        (D(2026, 3, 1), 0.0),
    ]


def test_rows_without_the_measure_time_count_in_no_period(
    subscriptions: ml.SemanticLayer,
) -> None:
    # Open subscriptions (2 and 6) are not cancellations: not in the total either.
    assert rows(subscriptions, ["cancellations", "new_subscriptions"]) == [(5, 7)]
    # Ended: 1, 3 (u1), 4, 5 (u3) in DE; 7 (u4) in FR.
    assert rows(subscriptions, ["cancellations"], by="user.country") == [("DE", 4), ("FR", 1)]


def test_start_and_end_apply_to_each_measure_time(subscriptions: ml.SemanticLayer) -> None:
    # Started in February: 3 and 5; ended in February: 1, 5 and 7.
    found = rows(
        subscriptions, ["new_subscriptions", "cancellations"], start="2026-02-01", end="2026-02-28"
    )
    assert found == [(2, 3)]


def test_a_filter_on_the_other_time_dimension(subscriptions: ml.SemanticLayer) -> None:
    # Subscriptions started in 2026 (not 4), by the month they ended.
    found = rows(
        subscriptions,
        ["cancellations"],
        by="metric_time.month",
        where="subscriptions.started_at >= '2026-01-01'",
    )
    assert found == [(D(2026, 2, 1), 3), (D(2026, 3, 1), 1)]


def test_grouping_by_the_measure_source_other_time(subscriptions: ml.SemanticLayer) -> None:
    # New subscriptions by the month they ended (a dimension, not the range): the open ones
    # form the NULL group, sorted last.
    found = rows(subscriptions, ["new_subscriptions"], by="subscriptions.ended_at.month")
    assert found == [(D(2026, 1, 1), 1), (D(2026, 2, 1), 3), (D(2026, 3, 1), 1), (None, 2)]
    # Cancellations by the month the subscription started.
    found = rows(subscriptions, ["cancellations"], by="subscriptions.started_at.month")
    assert found == [(D(2025, 12, 1), 1), (D(2026, 1, 1), 2), (D(2026, 2, 1), 2)]


def test_an_offset_shifts_the_measure_time(subscriptions: ml.SemanticLayer) -> None:
    found = rows(
        subscriptions, ["cancellations", "cancellations_month_before"], by="metric_time.month"
    )
    assert found == [
        (D(2026, 1, 1), 1, 0.0),
        (D(2026, 2, 1), 3, 1.0),
        (D(2026, 3, 1), 1, 3.0),
    ]


def test_per_day_uses_the_measure_time(subscriptions: ml.SemanticLayer) -> None:
    # Days with a cancellation: Jan 3; Feb 15 (1 and 7) and Feb 28 (5); Mar 31. The daily
    # average counts every day from the first cancellation to the last: Jan 3-31 (29 days),
    # February (28), March (31).
    found = rows(
        subscriptions,
        ["daily_cancellations", "most_cancellations_in_a_day"],
        by="metric_time.month",
    )
    assert [(month, most) for month, _, most in found] == [
        (D(2026, 1, 1), 1),
        (D(2026, 2, 1), 2),
        (D(2026, 3, 1), 1),
    ]
    assert [daily for _, daily, _ in found] == pytest.approx([1 / 29, 3 / 28, 1 / 31])


BERLIN = [
    # (id, started, ended) in UTC; Berlin is UTC+1 in winter, UTC+2 in summer.
    (1, T(2026, 1, 1), T(2026, 3, 28, 22, 30)),  # 23:30 CET, March 28
    (2, T(2026, 1, 1), T(2026, 3, 28, 23, 30)),  # 00:30 CET, March 29
    (3, T(2026, 1, 1), T(2026, 3, 29, 1, 30)),  # 03:30 CEST: there is no 02:00
    (4, T(2026, 1, 1), T(2026, 10, 24, 22, 30)),  # 00:30 CEST, October 25
    (5, T(2026, 1, 1), T(2026, 10, 25, 0, 30)),  # 02:30 CEST
    (6, T(2026, 1, 1), T(2026, 10, 25, 1, 30)),  # 02:30 CET: the same local hour again
    (7, T(2026, 1, 1), T(2026, 10, 25, 22, 30)),  # 23:30 CET, October 25
    (8, T(2026, 1, 1), T(2026, 10, 25, 23, 30)),  # 00:30 CET, October 26
    (9, T(2026, 1, 1), None),
]


@pytest.fixture
def berlin(tiny_layer: TinyLayer) -> ml.SemanticLayer:
    project = "project: {name: berlin, time_zone: Europe/Berlin}\n"
    tables = {
        "subscriptions": (
            "subscription_id INTEGER, started_at TIMESTAMP, ended_at TIMESTAMP",
            BERLIN,
        ),
    }
    definitions = """
        sources:
          - name: subscriptions
            table: subscriptions
            time: started_at
            entities:
              - {name: subscription, key: subscription_id, primary: true}
            dimensions:
              - {name: started_at, type: time, grain: hour}
              - {name: ended_at, type: time, grain: hour}
            measures:
              - {name: cancellations, agg: count, time: ended_at}
        metrics:
          - {name: cancellations, type: simple, measure: subscriptions.cancellations}
    """
    return tiny_layer(tables, {"metrics_layer.yml": project, "defs.yml": definitions})


def test_measure_time_is_local_across_daylight_saving(berlin: ml.SemanticLayer) -> None:
    spring = rows(
        berlin, ["cancellations"], by="metric_time.hour", start="2026-03-29", end="2026-03-29"
    )
    assert spring == [(T(2026, 3, 29, 0), 1), (T(2026, 3, 29, 3), 1)]
    autumn = rows(
        berlin, ["cancellations"], by="metric_time.hour", start="2026-10-25", end="2026-10-25"
    )
    assert autumn == [(T(2026, 10, 25, 0), 1), (T(2026, 10, 25, 2), 2), (T(2026, 10, 25, 23), 1)]
    days = rows(berlin, ["cancellations"], by="metric_time.day")
    assert days == [
        (D(2026, 3, 28), 1),
        (D(2026, 3, 29), 2),
        (D(2026, 10, 25), 4),
        (D(2026, 10, 26), 1),
    ]


SOURCE_WITHOUT_TIME = """
    sources:
      - name: subscriptions
        table: subscriptions
        entities:
          - {name: subscription, key: subscription_id, primary: true}
        dimensions:
          - {name: started_at, type: time, grain: hour}
          - {name: ended_at, type: time, grain: hour}
        measures:
          - {name: new_subscriptions, agg: count, time: started_at}
          - {name: cancellations, agg: count, time: ended_at}
          - {name: subscriptions, agg: count}
    metrics:
      - {name: new_subscriptions, type: simple, measure: subscriptions.new_subscriptions}
      - {name: cancellations, type: simple, measure: subscriptions.cancellations}
      - {name: subscriptions, type: simple, measure: subscriptions.subscriptions}
"""


def test_a_source_without_time_whose_measures_name_one(tiny_layer: TinyLayer) -> None:
    layer = tiny_layer({"subscriptions": (COLUMNS, SUBSCRIPTIONS)}, {"d.yml": SOURCE_WITHOUT_TIME})
    found = rows(layer, ["new_subscriptions", "cancellations"], by="metric_time.month")
    assert found == [
        (D(2025, 12, 1), 1, 0),
        (D(2026, 1, 1), 3, 1),
        (D(2026, 2, 1), 2, 3),
        (D(2026, 3, 1), 1, 1),
    ]
    # A measure without a time of its own, in a source without one, has no metric_time.
    with pytest.raises(ml.QueryError, match="set 'time:' on source 'subscriptions'"):
        layer.query("subscriptions", by="metric_time.month")
    with pytest.raises(ml.QueryError, match="start/end cannot apply"):
        layer.query("subscriptions", start="2026-01-01")
    assert rows(layer, ["subscriptions"]) == [(7,)]


def test_an_offset_does_not_move_another_time_dimension(subscriptions: ml.SemanticLayer) -> None:
    # Without a date range, cancellations a month earlier grouped by the month the subscription
    # started are all cancellations by start month: only ended_at moves.
    found = rows(subscriptions, ["cancellations_month_before"], by="subscriptions.started_at.month")
    assert found == [(D(2025, 12, 1), 1.0), (D(2026, 1, 1), 2.0), (D(2026, 2, 1), 2.0)]
