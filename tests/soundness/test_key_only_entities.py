"""Grouping by an entity that has no primary source: a guest id held only by facts.

Bookings and reviews both hold ``guest_id``; no table has one row per guest. Grouping by
``guest`` reads the key from each metric's own source, and the sources meet on it afterwards,
like any grouping. Hand-computed on literal rows, on every engine but Spark:

| booking | guest | market | booked_on  | amount |     | review | guest | written_on |
|---------|-------|--------|------------|--------|-----|--------|-------|------------|
| 1       | 10    | DE     | 2026-01-05 | 100.50 |     | 1      | 10    | 2026-01-25 |
| 2       | 10    | FR     | 2026-01-20 | 20.00  |     | 2      | 12    | 2026-02-03 |
| 3       | 11    | DE     | 2026-02-01 | 5.25   |     | 3      | 12    | 2026-02-04 |
| 4       | NULL  | DE     | 2026-02-02 | 1.00   |     |        |       |            |
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer.errors import Level
from soundness.literal import LiteralLayer, but, fetch, literal_rows, typed

D = dt.date

BOOKINGS = literal_rows(
    {
        "booking_id": None,
        "guest_id": "INTEGER",
        "market": None,
        "booked_on": "DATE",
        "amount": "DECIMAL(10, 2)",
    },
    [
        (1, 10, "DE", D(2026, 1, 5), Decimal("100.50")),
        (2, 10, "FR", D(2026, 1, 20), Decimal("20.00")),
        (3, 11, "DE", D(2026, 2, 1), Decimal("5.25")),
        (4, None, "DE", D(2026, 2, 2), Decimal("1.00")),
    ],
)
REVIEWS = literal_rows(
    {"review_id": None, "guest_id": "INTEGER", "written_on": "DATE"},
    [(1, 10, D(2026, 1, 25)), (2, 12, D(2026, 2, 3)), (3, 12, D(2026, 2, 4))],
)

DEFINITIONS = f"""
    sources:
      - name: bookings
        sql: "{BOOKINGS}"
        time: booked_on
        entities:
          - {{name: booking, key: booking_id, primary: true}}
          - {{name: guest, key: guest_id}}
        dimensions:
          - {{name: booked_on, type: time}}
          - {{name: market}}
        measures:
          - {{name: bookings, agg: count}}
          - {{name: amount, agg: sum, expr: amount}}
      - name: reviews
        sql: "{REVIEWS}"
        time: written_on
        entities:
          - {{name: review, key: review_id, primary: true}}
          - {{name: guest, key: guest_id}}
        dimensions:
          - {{name: written_on, type: time}}
        measures:
          - {{name: reviews, agg: count}}
    metrics:
      - {{name: bookings, type: simple, measure: bookings.bookings}}
      - {{name: amount, type: simple, measure: bookings.amount}}
      - {{name: reviews, type: simple, measure: reviews.reviews}}
      - {{name: reviews_per_booking, type: ratio, numerator: reviews, denominator: bookings}}
"""

Load = Callable[..., ml.SemanticLayer]


@pytest.fixture
def load(literal_layer: LiteralLayer) -> Load:
    return functools.partial(literal_layer, DEFINITIONS)


@pytest.mark.parametrize("engine", but("spark"))
def test_metrics_of_two_sources_by_a_key_only_entity(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = fetch(layer, ["bookings", "amount", "reviews", "reviews_per_booking"], by=["guest"])
    assert typed(rows) == typed(
        [
            (10, 2, 120.5, 1, 0.5),  # bookings 1, 2; review 1
            (11, 1, 5.25, 0, 0.0),  # booking 3; no review: a count is 0
            (12, 0, None, 2, None),  # reviews 2, 3 only: no bookings, so no ratio
            (None, 1, 1.0, 0, 0.0),  # booking 4 has no guest: its own (NULL) group, last
        ]
    )
    # Without metrics, the keys of every source that holds them: 12 is only in reviews.
    listed = fetch(layer, [], by=["guest"])
    assert typed(listed) == typed([(10,), (11,), (12,), (None,)])
    filtered = fetch(
        layer,
        ["bookings"],
        by=["guest", "metric_time.month"],
        where="bookings.market = 'DE'",
    )
    assert typed(filtered) == typed(
        [(10, D(2026, 1, 1), 1), (11, D(2026, 2, 1), 1), (None, D(2026, 2, 1), 1)]
    )


def test_what_a_key_only_entity_cannot_do(
    load: Load, write_project: Callable[[dict[str, str]], Path]
) -> None:
    layer = load("duckdb")
    with pytest.raises(ml.QueryError, match=r"'guest' has no primary source .* no dimensions"):
        layer.query(["bookings"], by=["guest.name"])
    with pytest.raises(ml.QueryError, match="an entity has no time grain"):
        layer.query(["bookings"], by=["guest.month"])
    # A near miss of an entity that has a primary source is probably a typo: a warning.
    typo = DEFINITIONS.replace(
        "- {name: guest, key: guest_id}\n        dimensions:\n          - {name: written_on",
        "- {name: reviw, key: review_id}\n        dimensions:\n          - {name: written_on",
    )
    folder = write_project({"typo/metrics_layer.yml": "project:\n  name: p\n", "typo/a.yml": typo})
    _, diagnostics = ml.check(folder / "typo")
    [warning] = [d for d in diagnostics if d.code != "lock-missing"]  # the project has no lock
    assert warning.level is Level.WARNING
    assert "entity 'reviw' has no primary source" in warning.message
    assert warning.hint is not None
    assert warning.hint.endswith("Did you mean 'review'?")
