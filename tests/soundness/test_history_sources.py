"""Slowly changing dimensions (type 2): a user's plan as of each event's time, not today's.

``plan_history`` holds a row per user and interval: valid from ``valid_from`` (inclusive) until
``valid_to`` (exclusive; NULL while it holds). ``users`` holds today's plan, still available as
``user.plan``. Hand-computed on literal rows, on every engine:

    plan_history  user 1: free  2026-01-01 00:00 .. 2026-01-15 12:00
                  user 1: pro   2026-01-15 12:00 .. (still)
                  user 2: free  2026-01-01 00:00 .. 2026-02-01 00:00
                  user 2: pro   2026-02-01 00:00 .. 2026-02-10 00:00
                  (user 3 has no history)
    users         user 1: pro; user 2: free (downgraded after the history ends); user 3: free

    events  e1  u1  2026-01-10 08:00:00   free (mid-interval)
            e2  u1  2026-01-15 11:59:59   free (the last second before the change)
            e3  u1  2026-01-15 12:00:00   pro  (the change is inclusive at its start)
            e4  u2  2026-01-31 23:00:00   free
            e5  u2  2026-02-01 00:00:00   pro  (valid_to is exclusive)
            e6  u2  2026-02-12 09:00:00   none (after the last interval)
            e7  u3  2026-02-02 10:00:00   none (no history)
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path

import pytest

import metrics_layer as ml
from soundness.literal import ENGINES, LiteralLayer, fetch, literal_rows, typed

D = dt.date
T = dt.datetime

HISTORY = literal_rows(
    {"user_id": None, "plan": None, "valid_from": "TIMESTAMP", "valid_to": "TIMESTAMP"},
    [
        (1, "free", T(2026, 1, 1), T(2026, 1, 15, 12)),
        (1, "pro", T(2026, 1, 15, 12), None),
        (2, "free", T(2026, 1, 1), T(2026, 2, 1)),
        (2, "pro", T(2026, 2, 1), T(2026, 2, 10)),
    ],
)
USERS = literal_rows({"user_id": None, "plan": None}, [(1, "pro"), (2, "free"), (3, "free")])
EVENTS = literal_rows(
    {"event_id": None, "user_id": None, "occurred_at": "TIMESTAMP"},
    [
        (1, 1, T(2026, 1, 10, 8)),
        (2, 1, T(2026, 1, 15, 11, 59, 59)),
        (3, 1, T(2026, 1, 15, 12)),
        (4, 2, T(2026, 1, 31, 23)),
        (5, 2, T(2026, 2, 1)),
        (6, 2, T(2026, 2, 12, 9)),
        (7, 3, T(2026, 2, 2, 10)),
    ],
)

DEFINITIONS = f"""
    sources:
      - name: users
        sql: "{USERS}"
        entities: [{{name: user, key: user_id, primary: true}}]
        dimensions: [{{name: plan}}]
        measures: [{{name: user_count, agg: count}}]
      - name: plan_history
        sql: "{HISTORY}"
        valid_from: valid_from
        valid_to: valid_to
        entities: [{{name: user, key: user_id}}]
        dimensions: [{{name: plan}}]
      - name: events
        sql: "{EVENTS}"
        time: occurred_at
        entities:
          - {{name: event, key: event_id, primary: true}}
          - {{name: user, key: user_id}}
        dimensions: [{{name: occurred_at, type: time, grain: second}}]
        measures:
          - {{name: events, agg: count}}
          - {{name: users, agg: count_distinct, expr: user_id}}
    metrics:
      - {{name: events, type: simple, measure: events.events}}
      - {{name: users, type: simple, measure: events.users}}
      - {{name: user_count, type: simple, measure: users.user_count}}
      - {{name: pro_events, type: simple, measure: events.events,
          filter: "plan_history.plan = 'pro'"}}
"""

Load = Callable[..., ml.SemanticLayer]


@pytest.fixture
def load(literal_layer: LiteralLayer) -> Load:
    return functools.partial(literal_layer, DEFINITIONS)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_dimension_as_of_each_events_time(load: Load, engine: str) -> None:
    layer = load(engine)
    as_of = fetch(layer, ["events", "users"], by=["plan_history.plan"])
    # free: e1, e2, e4 (users 1, 2); pro: e3, e5 (users 1, 2); none: e6, e7 (users 2, 3)
    assert typed(as_of) == typed([("free", 3, 2), ("pro", 2, 2), (None, 2, 2)])
    today = fetch(layer, ["events"], by=["user.plan"])
    # today's plan: user 1 pro (e1-e3), users 2 and 3 free (e4-e7)
    assert typed(today) == typed([("free", 4), ("pro", 3)])
    monthly = fetch(layer, ["events", "pro_events"], by=["plan_history.plan", "metric_time.month"])
    assert typed(monthly) == typed(
        [
            ("free", D(2026, 1, 1), 3, 0),
            ("pro", D(2026, 1, 1), 1, 1),
            ("pro", D(2026, 2, 1), 1, 1),
            (None, D(2026, 2, 1), 2, 0),
        ]
    )


def test_history_sources_are_read_only_from_facts_with_their_entity(
    load: Load, write_project: Callable[[dict[str, str]], Path]
) -> None:
    layer = load("duckdb")
    # Listed on its own, a history source's values are its rows'.
    assert list(layer.query([], by=["plan_history.plan"]).run().rows) == [("free",), ("pro",)]
    # Read as of a row's time: a source without one cannot use it.
    with pytest.raises(ml.QueryError, match="source 'users' has no time"):
        layer.query(["user_count"], by=["plan_history.plan"])
    broken = DEFINITIONS.replace(
        "valid_to: valid_to\n        entities: [{name: user, key: user_id}]",
        "valid_to: valid_to\n        entities: [{name: user, key: user_id, primary: true}]",
    )
    assert broken != DEFINITIONS
    folder = write_project({"h/metrics_layer.yml": "project:\n  name: h\n", "h/a.yml": broken})
    _, diagnostics = ml.check(folder / "h")
    assert any("none of its entities can be primary" in d.message for d in diagnostics)
