"""Churn metrics: entities (or their value) of the previous period compared with this period.

Hand-computed on literal rows, on every engine.

Activity (events) by month, 2026; the data ends in April:

| user | Jan | Feb | Mar | Apr |                                   |
|------|-----|-----|-----|-----|-----------------------------------|
| 1    | x   | x   |     | x   | churns in March, reactivated in April |
| 2    | x   |     | x   |     | churns in February, back in March, churns in April |
| 3    |     | x   | x   | x   |                                   |
| 4    | x   |     |     |     | churns in February                |

Subscriptions: one row per subscription and snapshot day. The last day with rows of each
month is its last calendar day; a subscription without a row then was not active at the end:

| subscription | user | Jan 31 | Feb 28 | mid-March       | Mar 31 | Apr 30 |
|--------------|------|--------|--------|-----------------|--------|--------|
| 1            | 1    | 10     | 10     | 10 (Mar 15: ends) |      |        |
| 2            | 2    |        | 20     |                 | 20     | 15     |
| 3            | 3    |        |        | 30 (Mar 10: starts and ends in March) | | |
| 4            | 1    | 100    | 100    |                 | 150    | 150    |
| 5            | 4    | 40     | 40     |                 |        |        |

MRR per user at month ends: u1 110, 110, 150, 150; u2 -, 20, 20, 15; u4 40, 40, -, -.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal

import pytest

import metrics_layer as ml
from metrics_layer.errors import QueryError
from soundness.literal import ENGINES, LiteralLayer, fetch, literal_rows, typed

D = dt.date

_ACTIVE = {1: (1, 2, 4), 2: (1, 3), 3: (2, 3, 4), 4: (1,)}
EVENTS = literal_rows(
    {"event_id": None, "user_id": None, "occurred_at": "TIMESTAMP"},
    [
        (number, user, dt.datetime(2026, month, 10, 12))
        for number, (user, month) in enumerate(
            ((u, m) for u, months in _ACTIVE.items() for m in months), 1
        )
    ],
)
_SNAPSHOTS = [
    (1, 1, D(2026, 1, 31), "10"), (1, 1, D(2026, 2, 28), "10"), (1, 1, D(2026, 3, 15), "10"),
    (2, 2, D(2026, 2, 28), "20"), (2, 2, D(2026, 3, 31), "20"), (2, 2, D(2026, 4, 30), "15"),
    (3, 3, D(2026, 3, 10), "30"),
    (4, 1, D(2026, 1, 31), "100"), (4, 1, D(2026, 2, 28), "100"), (4, 1, D(2026, 3, 31), "150"),
    (4, 1, D(2026, 4, 30), "150"),
    (5, 4, D(2026, 1, 31), "40"), (5, 4, D(2026, 2, 28), "40"),
]  # fmt: skip
SNAPSHOTS = literal_rows(
    {"subscription_id": None, "user_id": None, "snapshot_date": "DATE", "mrr": "DECIMAL(10, 2)"},
    [(s, u, day, Decimal(mrr)) for s, u, day, mrr in _SNAPSHOTS],
)
USERS = literal_rows(
    {"user_id": None, "country": None}, [(1, "DE"), (2, "FR"), (3, "DE"), (4, "DE")]
)

DEFINITIONS = f"""
    sources:
      - name: users
        sql: "{USERS}"
        entities: [{{name: user, key: user_id, primary: true}}]
        dimensions: [{{name: country}}]
      - name: events
        sql: "{EVENTS}"
        time: occurred_at
        entities:
          - {{name: event, key: event_id, primary: true}}
          - {{name: user, key: user_id}}
        dimensions: [{{name: occurred_at, type: time, grain: hour}}]
        measures: [{{name: events, agg: count}}]
      - name: snapshots
        sql: "{SNAPSHOTS}"
        time: snapshot_date
        entities:
          - {{name: subscription, key: subscription_id}}
          - {{name: user, key: user_id}}
        dimensions: [{{name: snapshot_date, type: time}}]
        measures:
          - {{name: subscriptions, agg: count, semi_additive: last}}
          - {{name: mrr, agg: sum, semi_additive: last}}
    metrics:
      - {{name: user_churn_rate, type: churn, entity: user, activity: {{measure: events.events}},
          period: month}}
      - {{name: churned_users, type: churn, entity: user, activity: {{measure: events.events}},
          period: month, calculation: churned}}
      - {{name: retained_users, type: churn, entity: user, activity: {{measure: events.events}},
          period: month, calculation: retained}}
      - {{name: previous_users, type: churn, entity: user, activity: {{measure: events.events}},
          period: month, calculation: previous}}
      - {{name: churned_per_retained, type: derived, expr: churned_users / retained_users}}
      - {{name: subscription_churn_rate, type: churn, entity: subscription,
          activity: {{measure: snapshots.subscriptions}}, period: month}}
      - {{name: nrr, type: churn, entity: user, activity: {{measure: snapshots.mrr}},
          period: month, calculation: net_retention}}
      - {{name: grr, type: churn, entity: user, activity: {{measure: snapshots.mrr}},
          period: month, calculation: gross_retention}}
      - {{name: expansion, type: churn, entity: user, activity: {{measure: snapshots.mrr}},
          period: month, calculation: expansion}}
      - {{name: contraction, type: churn, entity: user, activity: {{measure: snapshots.mrr}},
          period: month, calculation: contraction}}
      - {{name: churned_mrr, type: churn, entity: user, activity: {{measure: snapshots.mrr}},
          period: month, calculation: churned_value}}
      - {{name: starting_mrr, type: churn, entity: user, activity: {{measure: snapshots.mrr}},
          period: month, calculation: previous_value}}
"""

Load = Callable[..., ml.SemanticLayer]


@pytest.fixture
def load(literal_layer: LiteralLayer) -> Load:
    return functools.partial(literal_layer, DEFINITIONS)


@pytest.mark.parametrize("engine", ENGINES)
def test_activity_churn(load: Load, engine: str) -> None:
    layer = load(engine)
    metrics = ["user_churn_rate", "churned_users", "retained_users", "previous_users"]
    rows = fetch(layer, metrics, by=["metric_time.month"])
    # Feb: of u1, u2, u4 (January's), u2 and u4 churned. Mar: of u1, u3, u1 churned (u2 is back
    # but was not active in February, so neither churned nor retained). Apr: of u2, u3, u2
    # churned; u1's reactivation does not count. May is after the data.
    assert typed(rows) == typed(
        [
            (D(2026, 2, 1), 2 / 3, 2, 1, 3),
            (D(2026, 3, 1), 0.5, 1, 1, 2),
            (D(2026, 4, 1), 0.5, 1, 1, 2),
        ]
    )
    # churned + retained = previous actives, in every month
    assert all(row[2] + row[3] == row[4] for row in rows)
    # without metric_time, the months of the range pooled
    assert typed(fetch(layer, metrics[:2], start="2026-03-01", end="2026-04-30")) == typed(
        [(0.5, 2)]
    )
    by_country = fetch(
        layer, ["churned_users", "churned_per_retained"], by=["metric_time.month", "user.country"]
    )
    # u2 was FR's only previous active in February and April: no one retained, a division by 0
    assert typed(by_country) == typed(
        [
            (D(2026, 2, 1), "DE", 1, 1.0),
            (D(2026, 2, 1), "FR", 1, None),
            (D(2026, 3, 1), "DE", 1, 1.0),
            (D(2026, 4, 1), "DE", 0, 0.0),  # u3 stayed: a group of previous actives, none churned
            (D(2026, 4, 1), "FR", 1, None),
        ]
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_subscription_churn_and_net_revenue_retention(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = fetch(
        layer,
        [
            "subscription_churn_rate",
            "nrr",
            "grr",
            "expansion",
            "contraction",
            "churned_mrr",
            "starting_mrr",
        ],
        by=["metric_time.month"],
    )
    # Feb: subscriptions 1, 4, 5 active at the start, none ended; MRR 110 + 40 of u1 and u4
    # kept (u2 is new in February: not in NRR).
    # Mar: 1, 2, 4, 5 active at the start; 1 and 5 ended (3 started and ended in March: in
    # neither). MRR 110 + 20 + 40 = 170: u1 grew to 150 (+40), u4 churned (40).
    # Apr: 2 and 4; none ended. MRR 150 + 20 = 170: u2 shrank to 15.
    assert typed(rows) == typed(
        [
            (D(2026, 2, 1), 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 150.0),
            (D(2026, 3, 1), 0.5, 1.0, 130 / 170, 40.0, 0.0, 40.0, 170.0),
            (D(2026, 4, 1), 0.0, 165 / 170, 165 / 170, 0.0, 5.0, 0.0, 170.0),
        ]
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_a_range_reads_its_periods_and_the_one_before(load: Load, engine: str) -> None:
    """A range keeps the activity rows of the periods it touches and of the period before
    each (the churn compares them): mid-month bounds still compare whole months, as of
    their last snapshot day, and the last observed month is the range's."""
    layer = load(engine)
    subscriptions = ["subscription_churn_rate", "nrr", "churned_mrr", "starting_mrr"]
    by = ["metric_time.month"]
    # March alone still needs February: of 1, 2, 4, 5 at February's end, 1 and 5 ended.
    assert typed(fetch(layer, subscriptions, by=by, start="2026-03-01", end="2026-03-31")) == typed(
        [(D(2026, 3, 1), 0.5, 1.0, 40.0, 170.0)]
    )
    # April's period starts inside the range; its end (Apr 30, its last snapshot day) and
    # March's are outside it: still as of those days (nothing ended in April).
    assert typed(fetch(layer, subscriptions, by=by, start="2026-03-20", end="2026-04-10")) == typed(
        [(D(2026, 4, 1), 0.0, 165 / 170, 0.0, 170.0)]
    )
    users = ["user_churn_rate", "churned_users", "retained_users", "previous_users"]
    assert typed(fetch(layer, users, by=by, start="2026-02-15", end="2026-03-31")) == typed(
        [(D(2026, 3, 1), 0.5, 1, 1, 2)]
    )
    # A range ending before the data does: February is the last month asked for.
    assert typed(fetch(layer, users, by=by, start="2026-01-01", end="2026-02-28")) == typed(
        [(D(2026, 2, 1), 2 / 3, 2, 1, 3)]
    )


def test_churn_is_grouped_by_its_own_period(load: Load) -> None:
    layer = load("duckdb")
    with pytest.raises(QueryError, match=r"grouped by metric_time\.month only"):
        layer.query(["user_churn_rate"], by=["metric_time.week"]).sql()
    with pytest.raises(QueryError, match=r"grouped by metric_time\.month only"):
        layer.query(["user_churn_rate"], by=["metric_time.quarter"]).sql()


def test_churn_definitions_are_checked(
    write_project: Callable[[dict[str, str]], object],
) -> None:
    broken = (
        DEFINITIONS
        + """
      - {name: a, type: churn, entity: account, activity: {measure: events.events},
         period: month}
      - {name: b, type: churn, entity: user, activity: {measure: events.events,
         filter: "nope = 1"}, period: month}
"""
    )
    folder = write_project(
        {"m/metrics_layer.yml": "project:\n  name: m\n", "m/a.yml": broken.replace("\n    ", "\n")}
    )
    _, diagnostics = ml.check(folder / "m")  # type: ignore[operator]
    messages = "\n".join(d.message for d in diagnostics)
    assert "activity: source 'events' does not hold entity 'account'" in messages
    assert "activity.filter: 'nope' is not a dimension of source 'events'" in messages
