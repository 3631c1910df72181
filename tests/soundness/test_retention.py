"""Retention metrics: cohorts by first base event; the share of a cohort active k periods later.

Hand-computed on literal rows, on every engine. Users sign up (the base event) and have
events (the activity); the activity data ends on Tuesday 2026-03-31.

| user | country | signed up          | events                                  |
|------|---------|--------------------|-----------------------------------------|
| 1    | DE      | Mon 2026-03-02     | 03-02, 03-03 (day 1), 03-09 (week 1), 03-23 (week 3) |
| 2    | FR      | Tue 2026-03-03     | 03-03, 03-05 (day 2), 03-17 (week 2)     |
| 3    | DE      | Wed 2026-03-04     | none                                    |
| 4    | DE      | Tue 2026-03-10     | 03-11 (day 1), 03-16 (next week)        |
| 5    | US      | Mon 2026-03-30     | 03-31 (day 1)                           |

Day 7 of user 5 (04-06) is after the data's last day: user 5 is left out of D7, not counted
as lost. A week is known once the data reaches its last day: weeks up to 03-23 are.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

import pytest

import metrics_layer as ml
from metrics_layer.errors import QueryError
from soundness.literal import ENGINES, LiteralLayer, fetch, literal_rows, typed

D = dt.date
T = dt.datetime

USERS = literal_rows(
    {"user_id": None, "country": None, "signed_up_at": "TIMESTAMP"},
    [
        (1, "DE", T(2026, 3, 2, 10)),
        (2, "FR", T(2026, 3, 3, 10)),
        (3, "DE", T(2026, 3, 4, 10)),
        (4, "DE", T(2026, 3, 10, 10)),
        (5, "US", T(2026, 3, 30, 10)),
    ],
)
_EVENTS = [
    (1, D(2026, 3, 2)), (1, D(2026, 3, 3)), (1, D(2026, 3, 9)), (1, D(2026, 3, 23)),
    (2, D(2026, 3, 3)), (2, D(2026, 3, 5)), (2, D(2026, 3, 17)),
    (4, D(2026, 3, 11)), (4, D(2026, 3, 16)),
    (5, D(2026, 3, 31)),
]  # fmt: skip
EVENTS = literal_rows(
    {"event_id": None, "user_id": None, "occurred_at": "TIMESTAMP"},
    [
        (number, user, T(day.year, day.month, day.day, 15))
        for number, (user, day) in enumerate(_EVENTS, 1)
    ],
)

# The project, for the rows of ``users`` and ``events`` (each a literal_rows SELECT).
PROJECT = """
    sources:
      - name: users
        sql: "{users}"
        time: signed_up_at
        entities: [{{name: user, key: user_id, primary: true}}]
        dimensions:
          - {{name: country}}
          - {{name: signed_up_at, type: time, grain: hour}}
        measures: [{{name: signups, agg: count}}]
      - name: events
        sql: "{events}"
        time: occurred_at
        entities:
          - {{name: event, key: event_id, primary: true}}
          - {{name: user, key: user_id}}
        dimensions: [{{name: occurred_at, type: time, grain: hour}}]
        measures: [{{name: events, agg: count}}]
    metrics:
      - {{name: retention_d1, type: retention, entity: user, base: {{measure: users.signups}},
          activity: {{measure: events.events}}, after: 1 day}}
      - {{name: retention_d1_or_later, type: retention, entity: user,
          base: {{measure: users.signups}}, activity: {{measure: events.events}}, after: 1 day,
          on_or_after: true}}
      - {{name: retention_d7, type: retention, entity: user, base: {{measure: users.signups}},
          activity: {{measure: events.events}}, after: 7 days}}
      - {{name: retained_d7, type: retention, entity: user, base: {{measure: users.signups}},
          activity: {{measure: events.events}}, after: 7 days, calculation: retained}}
      - {{name: retention_d1_week_before, type: derived, expr: d1,
          inputs: [{{metric: retention_d1, offset: 1 week, alias: d1}}]}}
      - {{name: weekly_retention, type: retention, entity: user,
          base: {{measure: users.signups}}, activity: {{measure: events.events}},
          cohort_periods: 3 weeks}}
      - {{name: weekly_retention_of_actives, type: retention, entity: user,
          base: {{measure: events.events}}, activity: {{measure: events.events}},
          cohort_periods: 3 weeks}}
"""
DEFINITIONS = PROJECT.format(users=USERS, events=EVENTS)

Load = Callable[..., ml.SemanticLayer]


@pytest.fixture
def load(literal_layer: LiteralLayer) -> Load:
    return functools.partial(literal_layer, DEFINITIONS)


@pytest.mark.parametrize("engine", ENGINES)
def test_retention_on_day_k_and_on_or_after(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = fetch(
        layer,
        ["retention_d1", "retention_d1_or_later", "retention_d7", "retained_d7"],
        by=["metric_time.week"],
    )
    # week of 03-02: D1 u1 only (u2 came back on day 2, u3 never); on or after day 1: u1, u2.
    # D7: u1 (03-09); u2's day 7 (03-10) and u3 had nothing.
    # week of 03-09: u4 is back on day 1 and day 6, not on day 7.
    # week of 03-30: u5 is back on day 1; day 7 is after the data, so no D7 value.
    assert typed(rows) == typed(
        [
            (D(2026, 3, 2), 1 / 3, 2 / 3, 1 / 3, 1),
            (D(2026, 3, 9), 1.0, 1.0, 0.0, 0),
            (D(2026, 3, 30), 1.0, 1.0, None, 0),
        ]
    )
    german = fetch(layer, ["retention_d7"], by=["metric_time.week"], where="user.country = 'DE'")
    assert typed(german) == typed([(D(2026, 3, 2), 0.5), (D(2026, 3, 9), 0.0)])
    assert typed(fetch(layer, ["retention_d7"], by=["user.country"])) == typed(
        [("DE", 1 / 3), ("FR", 0.0)]
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_a_weekly_cohort_table(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = fetch(
        layer,
        ["weekly_retention"],
        by=["metric_time.week", "weekly_retention.period"],
    )
    assert typed(rows) == typed(
        [
            (D(2026, 3, 2), 0, 2 / 3),
            (D(2026, 3, 2), 1, 1 / 3),
            (D(2026, 3, 2), 2, 1 / 3),
            (D(2026, 3, 2), 3, 1 / 3),
            (D(2026, 3, 9), 0, 1.0),
            (D(2026, 3, 9), 1, 1.0),
            (D(2026, 3, 9), 2, 0.0),
        ]
    )
    # cohorts by first activity: period 0 is every cohort member (u3 never active: no cohort)
    actives = fetch(
        layer,
        ["weekly_retention_of_actives"],
        by=["metric_time.week", "weekly_retention_of_actives.period"],
        where="weekly_retention_of_actives.period = 0",
    )
    assert typed(actives) == typed([(D(2026, 3, 2), 0, 1.0), (D(2026, 3, 9), 0, 1.0)])
    # u1 is active in the weeks of 03-02 and 03-09, and in the first cohort only: the second
    # holds u4 alone (its week 1 is u4's 03-16)
    sizes = fetch(
        layer,
        ["weekly_retention_of_actives"],
        by=["metric_time.week", "weekly_retention_of_actives.period"],
        where="weekly_retention_of_actives.period = 1",
    )
    assert typed(sizes) == typed([(D(2026, 3, 2), 1, 0.5), (D(2026, 3, 9), 1, 1.0)])


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
def test_a_range_is_applied_to_each_scan_of_the_cohorts(load: Load, engine: str) -> None:
    layer = load(engine)
    # the range keeps the cohorts of its weeks early, per scan: the week before reads the
    # cohort of 03-02 for the week of 03-09, though the range starts on 03-09
    rows = fetch(
        layer,
        ["retention_d1", "retention_d1_week_before"],
        by=["metric_time.week"],
        start="2026-03-09",
        end="2026-03-15",
    )
    assert typed(rows) == typed([(D(2026, 3, 9), 1.0, 1 / 3)])
    # a range in the middle of a week keeps that week's cohorts of its own days only
    assert typed(fetch(layer, ["retention_d1"], start="2026-03-03", end="2026-03-04")) == typed(
        [(0.0,)]
    )


def test_a_cohort_table_needs_its_period(load: Load) -> None:
    layer = load("duckdb")
    with pytest.raises(QueryError, match=r"add 'weekly_retention\.period' to by"):
        layer.query(["weekly_retention"], by=["metric_time.week"]).sql()


def test_retention_definitions_are_checked(
    write_project: Callable[[dict[str, str]], object],
) -> None:
    broken = (
        DEFINITIONS
        + """
      - {name: both, type: retention, entity: user, base: {measure: users.signups},
         activity: {measure: events.events}, after: 1 day, cohort_periods: 3 weeks}
      - {name: neither, type: retention, entity: user, base: {measure: users.signups},
         activity: {measure: events.events}}
      - {name: long, type: retention, entity: user, base: {measure: users.signups},
         activity: {measure: events.events}, cohort_periods: 500 days}
"""
    )
    folder = write_project(
        {"m/metrics_layer.yml": "project:\n  name: m\n", "m/a.yml": broken.replace("\n    ", "\n")}
    )
    _, diagnostics = ml.check(folder / "m")  # type: ignore[operator]
    messages = [d.message for d in diagnostics]
    assert sum("exactly one of 'after'" in m for m in messages) == 2, messages
    assert any("a cohort table holds 1 to 120 periods" in m for m in messages), messages


@pytest.mark.parametrize(
    ("engine", "kind"),
    [
        ("sqlite", None),
        ("duckdb", "TIMESTAMPTZ"),
        pytest.param("postgres", "TIMESTAMPTZ", marks=pytest.mark.engine("postgres")),
    ],
)
def test_the_data_reaches_the_day_of_its_latest_time(
    literal_layer: LiteralLayer, engine: str, kind: str | None
) -> None:
    """The latest event is at 01:00 UTC on 04-01, written with a UTC offset of -05:00; another,
    at 23:00 UTC on 03-31, sorts after it as text. The data reaches 04-01: user 1 (signed up on
    03-31) was not back on day 1, so D1 is 0, not yet unknown. SQLite keeps times as text:
    the latest text's day would be 03-31."""
    users = literal_rows(
        {"user_id": None, "country": None, "signed_up_at": kind},
        [(1, "DE", "2026-03-31 10:00:00+00:00")],
    )
    events = literal_rows(
        {"event_id": None, "user_id": None, "occurred_at": kind},
        [(1, 1, "2026-03-31 23:00:00+00:00"), (2, 2, "2026-03-31 20:00:00-05:00")],
    )
    layer = literal_layer(PROJECT.format(users=users, events=events), engine)
    assert typed(fetch(layer, ["retention_d1"])) == typed([(0.0,)])
