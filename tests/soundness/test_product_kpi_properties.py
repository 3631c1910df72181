"""Properties of conversion, retention and churn metrics over random rows, against a
plain-Python evaluator of their definitions (graph/entity_metrics.py states them).

Each example is a few users, each with a signup, and a few events over 90 days (2026-01-01 to
2026-03-31), some before the user's signup: ``use`` and ``convert`` count as activity,
``passive`` does not. The rows are literal SELECTs in the sources' ``sql:``, run on DuckDB.
Checked: rates within [0, 1]; period 0 of a cohort table whose base event is its activity is
1 for every complete cohort; churned + retained = previous actives in every month; and every
number equal to the evaluator's.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from soundness.literal import LiteralLayer, fetch, literal_rows

FIRST = dt.datetime(2026, 1, 1)
DAYS = 90
USERS = 5
WINDOW = 7  # conversion window, days
AFTER = 3  # retention_d3
COHORT_WEEKS = 4

Signup = tuple[int, int]  # day number from FIRST, hour
Event = tuple[int, int, int, str]  # user, day number from FIRST, hour, kind

signups = st.lists(
    st.tuples(st.integers(0, 70), st.integers(0, 23)), min_size=USERS, max_size=USERS
)
# An event's day is a day of the 90 or, more often, a number of days from its user's signup day
# (-2 to 35: around the window's last day, day 3, the weeks after), so the edges are hit.
events = st.lists(
    st.tuples(
        st.integers(1, USERS),
        st.one_of(
            st.tuples(st.just(False), st.integers(0, DAYS - 1)),
            st.tuples(st.just(True), st.integers(-2, 35)),
            st.tuples(st.just(True), st.sampled_from([AFTER, WINDOW, WINDOW + 1])),
        ),
        st.integers(0, 23),
        st.sampled_from(["use", "convert", "passive"]),
    ),
    min_size=1,
    max_size=30,
)
Drawn = tuple[int, tuple[bool, int], int, str]


def _resolve(users: list[Signup], drawn: list[Drawn]) -> list[Event]:
    """Days from a signup made days of the 90 (those outside them are dropped)."""
    rows = []
    for user, (relative, number), hour, kind in drawn:
        day = users[user - 1][0] + number if relative else number
        if 0 <= day < DAYS:
            rows.append((user, day, hour, kind))
    return rows


ACTIVE = "kind <> 'passive'"


def _at(day: int, hour: int) -> dt.datetime:
    return FIRST + dt.timedelta(days=day, hours=hour)


def _definitions(users: list[Signup], rows: list[Event]) -> str:
    user_rows = literal_rows(
        {"user_id": None, "signed_up_at": "TIMESTAMP"},
        [(n, str(_at(day, hour))) for n, (day, hour) in enumerate(users, 1)],
    )
    event_rows = literal_rows(
        {"event_id": None, "user_id": None, "occurred_at": "TIMESTAMP", "kind": None},
        [(n, user, str(_at(day, hour)), kind) for n, (user, day, hour, kind) in enumerate(rows)],
    )
    signup = "base: {measure: users.signups}"
    active = f'{{measure: events.events, filter: "{ACTIVE}"}}'
    churn = f"type: churn, entity: user, activity: {active}, period: month"
    return f"""
sources:
  - name: users
    sql: "{user_rows}"
    time: signed_up_at
    entities: [{{name: user, key: user_id, primary: true}}]
    dimensions: [{{name: signed_up_at, type: time, grain: hour}}]
    measures: [{{name: signups, agg: count}}]
  - name: events
    sql: "{event_rows}"
    time: occurred_at
    entities:
      - {{name: event, key: event_id, primary: true}}
      - {{name: user, key: user_id}}
    dimensions:
      - {{name: occurred_at, type: time, grain: hour}}
      - {{name: kind}}
    measures: [{{name: events, agg: count}}]
metrics:
  - {{name: activation, type: conversion, entity: user, {signup},
      conversion: {{measure: events.events, filter: "kind = 'convert'"}}, window: {WINDOW} days}}
  - {{name: activations, type: conversion, entity: user, {signup},
      conversion: {{measure: events.events, filter: "kind = 'convert'"}}, window: {WINDOW} days,
      calculation: conversions}}
  - {{name: retention_d3, type: retention, entity: user, {signup}, activity: {active},
      after: {AFTER} days}}
  - {{name: cohorts, type: retention, entity: user, {signup}, activity: {active},
      cohort_periods: {COHORT_WEEKS} weeks}}
  - {{name: active_cohorts, type: retention, entity: user, base: {active}, activity: {active},
      cohort_periods: {COHORT_WEEKS} weeks}}
  - {{name: churn_rate, {churn}}}
  - {{name: churned, {churn}, calculation: churned}}
  - {{name: retained, {churn}, calculation: retained}}
  - {{name: previous, {churn}, calculation: previous}}
"""


# -- the evaluator ------------------------------------------------------------------------------


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1)


def _signed_up(users: list[Signup]) -> dict[int, dt.datetime]:
    return {n: _at(day, hour) for n, (day, hour) in enumerate(users, 1)}


def _active_days(rows: list[Event]) -> dict[int, set[dt.date]]:
    days: dict[int, set[dt.date]] = defaultdict(set)
    for user, day, hour, kind in rows:
        if kind != "passive":
            days[user].add(_at(day, hour).date())
    return days


def _ratios(parts: dict[dt.date, list[bool]]) -> dict[dt.date, float]:
    return {period: sum(flags) / len(flags) for period, flags in parts.items()}


def conversion(users: list[Signup], rows: list[Event]) -> dict[dt.date, list[bool]]:
    """Per month of signup: for each user, whether the first convert event at or after the
    signup is on a day at most WINDOW days after the signup day."""
    parts: dict[dt.date, list[bool]] = defaultdict(list)
    for user, base in _signed_up(users).items():
        after = [
            _at(day, hour)
            for u, day, hour, kind in rows
            if u == user and kind == "convert" and _at(day, hour) >= base
        ]
        converted = bool(after) and min(after).date() <= base.date() + dt.timedelta(WINDOW)
        parts[_month(base.date())].append(converted)
    return parts


def retention_after(users: list[Signup], rows: list[Event]) -> dict[dt.date, list[bool]]:
    """Per week of signup: for each user whose day AFTER is not after the last active day,
    whether they were active on it."""
    active = _active_days(rows)
    if not active:
        return {}
    last = max(max(days) for days in active.values())
    parts: dict[dt.date, list[bool]] = defaultdict(list)
    for user, base in _signed_up(users).items():
        target = base.date() + dt.timedelta(AFTER)
        if target <= last:
            parts[_monday(base.date())].append(target in active[user])
    return parts


def cohort_table(
    cohorts: dict[int, dt.date], active: dict[int, set[dt.date]]
) -> dict[tuple[dt.date, int], list[bool]]:
    """Per (cohort week, k): for each user of the cohort whose week k ended by the last active
    day, whether they were active in it."""
    if not active:
        return {}
    last = max(max(days) for days in active.values())
    weeks = {user: {_monday(day) for day in days} for user, days in active.items()}
    parts: dict[tuple[dt.date, int], list[bool]] = defaultdict(list)
    for user, first in cohorts.items():
        cohort = _monday(first)
        for k in range(COHORT_WEEKS + 1):
            week = cohort + dt.timedelta(weeks=k)
            if week + dt.timedelta(days=6) <= last:
                parts[(cohort, k)].append(week in weeks.get(user, set()))
    return parts


def churn(rows: list[Event]) -> dict[dt.date, tuple[int, int]]:
    """Per month up to the last active one, after a month with actives: (previous actives,
    churned: those of them not active in the month)."""
    months: dict[dt.date, set[int]] = defaultdict(set)
    for user, days in _active_days(rows).items():
        for day in days:
            months[_month(day)].add(user)
    if not months:
        return {}
    found = {}
    for month, users in months.items():
        current = _next_month(month)
        if current <= max(months):
            found[current] = (len(users), len(users - months.get(current, set())))
    return found


# -- the property -------------------------------------------------------------------------------


def _close(actual: object, expected: float) -> bool:
    return isinstance(actual, float) and abs(actual - expected) < 1e-12


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(users=signups, drawn=events)
def test_product_kpis_equal_the_rules(
    users: list[Signup], drawn: list[Drawn], literal_layer: LiteralLayer
) -> None:
    rows = _resolve(users, drawn)
    assume(rows)
    layer = literal_layer(_definitions(users, rows), "duckdb")

    converted = conversion(users, rows)
    got = fetch(layer, ["activation", "activations"], by=["metric_time.month"])
    assert [row[0] for row in got] == sorted(converted)
    for month, rate, count in got:
        assert 0.0 <= rate <= 1.0
        assert _close(rate, _ratios(converted)[month])
        assert count == sum(converted[month])

    retained = retention_after(users, rows)
    got = fetch(layer, ["retention_d3"], by=["metric_time.week"])
    assert [row[0] for row in got] == sorted(retained)
    for week, rate in got:
        assert 0.0 <= rate <= 1.0
        assert _close(rate, _ratios(retained)[week])

    active = _active_days(rows)
    by_signup = {user: base.date() for user, base in _signed_up(users).items()}
    by_first_activity = {user: min(days) for user, days in active.items()}
    for metric, cohorts in (("cohorts", by_signup), ("active_cohorts", by_first_activity)):
        table = cohort_table(cohorts, active)
        got = fetch(layer, [metric], by=["metric_time.week", f"{metric}.period"])
        assert [row[:2] for row in got] == sorted(table)
        for week, k, rate in got:
            assert 0.0 <= rate <= 1.0
            assert _close(rate, sum(table[(week, k)]) / len(table[(week, k)]))
            if metric == "active_cohorts" and k == 0:
                assert rate == 1.0, f"cohort {week}: its members were active in its first week"

    months = churn(rows)
    got = fetch(layer, ["churn_rate", "churned", "retained", "previous"], by=["metric_time.month"])
    assert [row[0] for row in got] == sorted(months)
    for month, rate, churned, kept, previous in got:
        assert churned + kept == previous
        assert 0.0 <= rate <= 1.0
        assert (previous, churned) == months[month]
        assert _close(rate, churned / previous)


# -- churn over daily snapshots (a semi-additive measure) ----------------------------------------

Snapshot = tuple[int, int, int]  # subscription, day number from FIRST, MRR (0 is not paying)

snapshots = st.lists(
    st.tuples(st.integers(1, 4), st.integers(0, DAYS - 1), st.sampled_from([0, 10, 25, 40])),
    min_size=1,
    max_size=30,
    unique_by=lambda row: row[:2],
)


def _owner(subscription: int) -> int:
    """Subscriptions 1 and 3 are user 1's, 2 and 4 user 2's."""
    return 2 - subscription % 2


def _snapshot_definitions(rows: list[Snapshot]) -> str:
    snapshot_rows = literal_rows(
        {"subscription_id": None, "user_id": None, "snapshot_date": "DATE",
         "mrr": "DECIMAL(10, 2)"},
        [(s, _owner(s), str((FIRST + dt.timedelta(days=d)).date()), m) for s, d, m in rows],
    )  # fmt: skip
    return f"""
sources:
  - name: snapshots
    sql: "{snapshot_rows}"
    time: snapshot_date
    entities:
      - {{name: subscription, key: subscription_id}}
      - {{name: user, key: user_id}}
    dimensions: [{{name: snapshot_date, type: time}}]
    measures:
      - {{name: subscriptions, agg: count, semi_additive: last}}
      - {{name: mrr, agg: sum, semi_additive: last}}
metrics:
  - {{name: subscription_churn, type: churn, entity: subscription,
      activity: {{measure: snapshots.subscriptions}}, period: month}}
  - {{name: nrr, type: churn, entity: user, activity: {{measure: snapshots.mrr}},
      period: month, calculation: net_retention}}
"""


def month_end_churn(
    values: dict[tuple[int, dt.date], int], last_month: dt.date
) -> dict[dt.date, list[tuple[int, int]]]:
    """Per month up to ``last_month``: (value at the end of the month before, value at the
    end of this one) of each entity whose value at the end of the month before was positive."""
    pairs: dict[dt.date, list[tuple[int, int]]] = defaultdict(list)
    for (entity, month), value in values.items():
        current = _next_month(month)
        if value > 0 and current <= last_month:
            pairs[current].append((value, values.get((entity, current), 0)))
    return pairs


def snapshot_values(rows: list[Snapshot]) -> tuple[dict[dt.date, dt.date], list[Snapshot]]:
    """The last day with any row of each month, and the rows on those days."""

    def day(number: int) -> dt.date:
        return (FIRST + dt.timedelta(days=number)).date()

    ends: dict[dt.date, dt.date] = {}
    for _, number, _ in rows:
        month = _month(day(number))
        ends[month] = max(ends.get(month, day(number)), day(number))
    at_ends = [row for row in rows if day(row[1]) in ends.values()]
    return ends, at_ends


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=snapshots)
def test_snapshot_churn_equals_the_rules(rows: list[Snapshot], literal_layer: LiteralLayer) -> None:
    layer = literal_layer(_snapshot_definitions(rows), "duckdb")
    ends, at_ends = snapshot_values(rows)
    last_month = max(ends)
    subscriptions: dict[tuple[int, dt.date], int] = defaultdict(int)
    mrr: dict[tuple[int, dt.date], int] = defaultdict(int)
    for subscription, number, value in at_ends:
        month = _month((FIRST + dt.timedelta(days=number)).date())
        subscriptions[(subscription, month)] += 1
        mrr[(_owner(subscription), month)] += value

    expected = month_end_churn(subscriptions, last_month)
    got = fetch(layer, ["subscription_churn"], by=["metric_time.month"])
    assert [row[0] for row in got] == sorted(expected)
    for month, rate in got:
        assert 0.0 <= rate <= 1.0
        pairs = expected[month]
        assert _close(rate, sum(current == 0 for _, current in pairs) / len(pairs))

    expected = month_end_churn(mrr, last_month)
    got = fetch(layer, ["nrr"], by=["metric_time.month"])
    assert [row[0] for row in got] == sorted(expected)
    for month, rate in got:
        pairs = expected[month]
        assert _close(rate, sum(c for _, c in pairs) / sum(p for p, _ in pairs))
