"""An entity with several primary sources: a users table and a latest-snapshot of users, each
with one row per user and dimensions of its own.

``user.plan`` reads ``users`` and ``user.last_country`` reads ``users_latest``, each joined from
the events that hold ``user``; a dimension both hold must be named by its source. Hand-computed
on literal rows, on every engine but Spark:

    users         u1 pro    u2 free   u3 free
    users_latest  u1 DE     u2 FR     (no row for u3)
    events        e1 u1, e2 u1, e3 u2, e4 u3
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

import metrics_layer as ml
from soundness.literal import LiteralLayer, but, fetch, literal_rows, typed

USERS = literal_rows(
    {"user_id": None, "plan": None, "country": None},
    [(1, "pro", "US"), (2, "free", "US"), (3, "free", "GB")],
)
LATEST = literal_rows(
    {"user_id": None, "last_country": None, "country": None}, [(1, "DE", "DE"), (2, "FR", "FR")]
)
EVENTS = literal_rows({"event_id": None, "user_id": None}, [(1, 1), (2, 1), (3, 2), (4, 3)])

DEFINITIONS = f"""
    sources:
      - name: users
        sql: "{USERS}"
        entities: [{{name: user, key: user_id, primary: true}}]
        dimensions: [{{name: plan}}, {{name: country}}]
      - name: users_latest
        sql: "{LATEST}"
        entities: [{{name: user, key: user_id, primary: true}}]
        dimensions: [{{name: last_country}}, {{name: country}}]
      - name: events
        sql: "{EVENTS}"
        entities:
          - {{name: event, key: event_id, primary: true}}
          - {{name: user, key: user_id}}
        measures: [{{name: events, agg: count}}]
    metrics:
      - {{name: events, type: simple, measure: events.events}}
      - name: events_seen_in_germany
        type: simple
        measure: events.events
        filter: "user.last_country = 'DE'"
"""

Load = Callable[..., ml.SemanticLayer]


@pytest.fixture
def load(literal_layer: LiteralLayer) -> Load:
    return functools.partial(literal_layer, DEFINITIONS)


@pytest.mark.parametrize("engine", but("spark"))
def test_dimensions_of_an_entity_from_two_sources(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = fetch(layer, ["events", "events_seen_in_germany"], by=["user.plan", "user.last_country"])
    # u1 pro/DE: e1, e2; u2 free/FR: e3; u3 free/no latest row: e4
    assert typed(rows) == typed([("free", "FR", 1, 0), ("free", None, 1, 0), ("pro", "DE", 2, 2)])
    by_source = fetch(layer, ["events"], by=["users.country", "users_latest.country"])
    assert typed(by_source) == typed([("GB", None, 1), ("US", "DE", 2), ("US", "FR", 1)])


def test_a_dimension_both_hold_is_named_by_its_source(load: Load) -> None:
    layer = load("duckdb")
    with pytest.raises(ml.QueryError, match=r"'users\.country' or 'users_latest\.country'"):
        layer.query(["events"], by=["user.country"])
