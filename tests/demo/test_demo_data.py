"""Tests for the deterministic demo data set and its DuckDB file."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
import textwrap
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

import duckdb
import pytest

import metrics_layer.demo as demo
from metrics_layer.demo import (
    DATA_VERSION,
    PERIOD_END,
    PERIOD_START,
    Column,
    DemoData,
    Table,
    create_demo,
    demo_path,
    ensure_demo,
    generate,
)

EXPECTED_FINGERPRINT = "ef2ad153108f6b8df2ac099818623060f2f107a21c6763bdf34255c899908b84"

FIRST_DAY = dt.date(2025, 1, 1)
LAST_DAY = dt.date(2026, 10, 31)
PERIOD_DAYS = (LAST_DAY - FIRST_DAY).days + 1
CALENDAR_DAYS = (dt.date(2022, 1, 30), dt.date(2030, 2, 2))
QUALIFYING = frozenset({"session_start", "page_view", "project_created", "report_shared"})

EXPECTED_SCHEMA = {
    "users": [
        ("user_id", "INTEGER"),
        ("signed_up_at", "TIMESTAMP"),
        ("plan", "VARCHAR"),
        ("country", "VARCHAR"),
        ("acquisition_channel", "VARCHAR"),
    ],
    "events": [
        ("event_id", "BIGINT"),
        ("user_id", "INTEGER"),
        ("event_type", "VARCHAR"),
        ("platform", "VARCHAR"),
        ("occurred_at", "TIMESTAMP"),
    ],
    "subscriptions": [
        ("subscription_id", "INTEGER"),
        ("user_id", "INTEGER"),
        ("plan", "VARCHAR"),
        ("mrr", "DECIMAL(10,2)"),
        ("started_at", "TIMESTAMP"),
        ("ended_at", "TIMESTAMP"),
    ],
    "subscription_snapshots": [
        ("snapshot_date", "DATE"),
        ("subscription_id", "INTEGER"),
        ("user_id", "INTEGER"),
        ("plan", "VARCHAR"),
        ("mrr", "DECIMAL(10,2)"),
    ],
    "trials": [
        ("trial_id", "INTEGER"),
        ("user_id", "INTEGER"),
        ("plan", "VARCHAR"),
        ("started_at", "TIMESTAMP"),
        ("ended_at", "TIMESTAMP"),
    ],
    "plan_history": [
        ("user_id", "INTEGER"),
        ("plan", "VARCHAR"),
        ("valid_from", "TIMESTAMP"),
        ("valid_to", "TIMESTAMP"),
    ],
    "retail_calendar": [
        ("day", "DATE"),
        ("retail_week", "DATE"),
        ("retail_month", "DATE"),
        ("retail_quarter", "DATE"),
        ("retail_year", "DATE"),
        ("retail_year_number", "INTEGER"),
    ],
}

NULLABLE = {("subscriptions", "ended_at"), ("trials", "ended_at"), ("plan_history", "valid_to")}
RANK = {"free": 0, "starter": 1, "pro": 2, "enterprise": 3}
TRIAL = dt.timedelta(days=14)

PRICES = {
    "starter": {Decimal("19.00"), Decimal("29.00")},
    "pro": {Decimal("79.00"), Decimal("99.00")},
    "enterprise": {Decimal(dollars).quantize(Decimal("0.01")) for dollars in range(399, 1000)},
}

REPO_ROOT = Path(demo.__file__).resolve().parents[2]


class User(NamedTuple):
    user_id: int
    signed_up_at: dt.datetime
    plan: str
    country: str
    acquisition_channel: str


class Event(NamedTuple):
    event_id: int
    user_id: int
    event_type: str
    platform: str
    occurred_at: dt.datetime


class Subscription(NamedTuple):
    subscription_id: int
    user_id: int
    plan: str
    mrr: Decimal
    started_at: dt.datetime
    ended_at: dt.datetime | None


class Snapshot(NamedTuple):
    snapshot_date: dt.date
    subscription_id: int
    user_id: int
    plan: str
    mrr: Decimal


class Trial(NamedTuple):
    trial_id: int
    user_id: int
    plan: str
    started_at: dt.datetime
    ended_at: dt.datetime | None


class PlanInterval(NamedTuple):
    user_id: int
    plan: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None


@dataclass(frozen=True)
class Rows:
    users: list[User]
    events: list[Event]
    subscriptions: list[Subscription]
    snapshots: list[Snapshot]
    trials: list[Trial]
    plan_history: list[PlanInterval]


def fingerprint(data: DemoData) -> str:
    digest = hashlib.sha256()
    for table in data.values():
        digest.update(repr((table.name, table.columns)).encode())
        for row in table.rows:
            digest.update(repr(row).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def data() -> DemoData:
    return generate()


@pytest.fixture(scope="module")
def rows(data: DemoData) -> Rows:
    return Rows(
        users=[User._make(row) for row in data["users"].rows],
        events=[Event._make(row) for row in data["events"].rows],
        subscriptions=[Subscription._make(row) for row in data["subscriptions"].rows],
        snapshots=[Snapshot._make(row) for row in data["subscription_snapshots"].rows],
        trials=[Trial._make(row) for row in data["trials"].rows],
        plan_history=[PlanInterval._make(row) for row in data["plan_history"].rows],
    )


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_demo(tmp_path_factory.mktemp("demo") / "demo.duckdb")


@pytest.fixture
def tiny_data(monkeypatch: pytest.MonkeyPatch) -> DemoData:
    """Replace the generator used by the store with a one-row data set."""
    tiny = DemoData(
        (Table("users", demo.SCHEMA["users"], [(1, PERIOD_START, "free", "DE", "organic")]),)
    )
    monkeypatch.setattr("metrics_layer.demo.store.generate", lambda: tiny)
    return tiny


def events_by_user(rows: Rows) -> dict[int, list[dt.datetime]]:
    result: dict[int, list[dt.datetime]] = defaultdict(list)
    for event in rows.events:
        result[event.user_id].append(event.occurred_at)
    return result


def subscriptions_by_user(rows: Rows) -> dict[int, list[Subscription]]:
    result: dict[int, list[Subscription]] = defaultdict(list)
    for subscription in rows.subscriptions:
        result[subscription.user_id].append(subscription)
    for subscriptions in result.values():
        subscriptions.sort(key=lambda s: s.started_at)
    return result


# Determinism


def test_generate_is_deterministic(data: DemoData) -> None:
    again = generate()
    assert again == data
    assert fingerprint(again) == fingerprint(data)


def test_fingerprint_is_pinned_for_data_version(data: DemoData) -> None:
    assert DATA_VERSION == 4
    assert fingerprint(data) == EXPECTED_FINGERPRINT, (
        "demo data changed: bump DATA_VERSION and update EXPECTED_FINGERPRINT"
    )


# Shape and value types


def test_tables_and_columns(data: DemoData) -> None:
    assert list(data) == list(EXPECTED_SCHEMA)
    for name, columns in EXPECTED_SCHEMA.items():
        table = data[name]
        assert list(zip(table.column_names, table.column_types, strict=True)) == columns
        assert all(len(row) == len(columns) for row in table.rows)


def test_row_counts(rows: Rows) -> None:
    assert 2_500 <= len(rows.users) <= 3_500
    assert 250_000 <= len(rows.events) <= 400_000
    payers = {s.user_id for s in rows.subscriptions}
    assert 0.25 <= len(payers) / len(rows.users) <= 0.35
    assert len(rows.snapshots) > 50_000


def _checker(column: Column, first_day: dt.date, last_day: dt.date) -> Callable[[object], bool]:
    def timestamp(value: object) -> bool:
        return (
            isinstance(value, dt.datetime)
            and value.tzinfo is None
            and value.microsecond == 0
            and PERIOD_START <= value < PERIOD_END
        )

    def decimal(value: object) -> bool:
        return (
            isinstance(value, Decimal)
            and value.as_tuple().exponent == -2
            and Decimal(0) < value < Decimal(10**8)
        )

    checks: dict[str, Callable[[object], bool]] = {
        "INTEGER": lambda v: type(v) is int and 0 < v < 2**31,
        "BIGINT": lambda v: type(v) is int and v > 0,
        "VARCHAR": lambda v: type(v) is str and v != "",
        "TIMESTAMP": timestamp,
        "DATE": lambda v: type(v) is dt.date and first_day <= v <= last_day,
        "DECIMAL(10,2)": decimal,
    }
    check = checks[column.sql_type]
    if column.nullable:
        return lambda v: v is None or check(v)
    return check


def test_values_match_column_types(data: DemoData) -> None:
    for table in data.values():
        days = CALENDAR_DAYS if table.name == "retail_calendar" else (FIRST_DAY, LAST_DAY)
        columns = zip(*table.rows, strict=True)
        for column, values in zip(table.columns, columns, strict=True):
            check = _checker(column, *days)
            bad = [v for v in values if not check(v)]
            assert not bad, f"{table.name}.{column.name}: {bad[:3]}"


def test_only_end_times_have_nulls(data: DemoData) -> None:
    nullable = {(t.name, c.name) for t in data.values() for c in t.columns if c.nullable}
    assert nullable == NULLABLE


def test_categorical_domains(rows: Rows) -> None:
    assert {u.plan for u in rows.users} == {"free", "starter", "pro", "enterprise"}
    assert {u.country for u in rows.users} == {"US", "DE", "GB", "FR", "IN", "BR", "JP"}
    assert {u.acquisition_channel for u in rows.users} == {
        "organic",
        "paid_search",
        "referral",
        "social",
    }
    assert {e.event_type for e in rows.events} == {
        "session_start",
        "page_view",
        "project_created",
        "report_shared",
        "email_open",
        "login_failed",
    }
    assert {e.platform for e in rows.events} == {"web", "ios", "android"}
    assert {s.plan for s in rows.subscriptions} == {"starter", "pro", "enterprise"}
    assert {t.plan for t in rows.trials} == {"starter", "pro", "enterprise"}
    assert {p.plan for p in rows.plan_history} == {"free", "starter", "pro", "enterprise"}


def test_countries_are_uneven_and_de_has_a_few_hundred_users(rows: Rows) -> None:
    countries = Counter(u.country for u in rows.users)
    assert countries["DE"] > 100
    assert max(countries.values()) > 2 * min(countries.values())


# Users


def test_user_ids_follow_signup_order(rows: Rows) -> None:
    assert [u.user_id for u in rows.users] == list(range(1, len(rows.users) + 1))
    signups = [u.signed_up_at for u in rows.users]
    assert signups == sorted(signups)


def test_signups_grow_and_dip_on_weekends(rows: Rows) -> None:
    days = Counter(u.signed_up_at.date() for u in rows.users)
    first_half_year = sum(n for day, n in days.items() if day < dt.date(2025, 7, 1))
    last_half_year = sum(n for day, n in days.items() if day >= dt.date(2026, 5, 1))
    assert last_half_year > 1.3 * first_half_year
    all_days = [FIRST_DAY + dt.timedelta(days=i) for i in range(PERIOD_DAYS)]
    weekend = [days[d] for d in all_days if d.weekday() >= 5]
    weekday = [days[d] for d in all_days if d.weekday() < 5]
    assert sum(weekend) / len(weekend) < 0.85 * sum(weekday) / len(weekday)


def daily_active_users(rows: Rows) -> dict[dt.date, int]:
    users: dict[dt.date, set[int]] = defaultdict(set)
    for event in rows.events:
        users[event.occurred_at.date()].add(event.user_id)
    return {day: len(ids) for day, ids in users.items()}


def holiday_week(day: dt.date) -> bool:
    return (day.month, day.day) >= (12, 24) or (day.month, day.day) == (1, 1)


def test_holiday_week_is_quiet(rows: Rows) -> None:
    signups = Counter(u.signed_up_at.date() for u in rows.users)
    dau = daily_active_users(rows)
    holiday = [dt.date(2025, 12, 24) + dt.timedelta(days=i) for i in range(9)]
    before = [dt.date(2025, 12, 10) + dt.timedelta(days=i) for i in range(14)]
    for per_day in (signups, dau):
        quiet = sum(per_day[day] for day in holiday) / len(holiday)
        usual = sum(per_day[day] for day in before) / len(before)
        assert quiet < 0.5 * usual
    assert all(holiday_week(day) for day in holiday)
    assert not any(holiday_week(day) for day in before)


def test_summer_is_slower_than_the_months_around_it(rows: Rows) -> None:
    signups = Counter((u.signed_up_at.year, u.signed_up_at.month) for u in rows.users)
    dau_sum: Counter[tuple[int, int]] = Counter()
    days: Counter[tuple[int, int]] = Counter()
    for day, n in daily_active_users(rows).items():
        dau_sum[day.year, day.month] += n
        days[day.year, day.month] += 1
    for year in (2025, 2026):
        mean_dau = {month: dau_sum[year, month] / days[year, month] for month in (6, 7, 8, 9)}
        # against the mean of June and September: the users added over two months of growth
        # may lift August above June (they do in 2025), never above that mean
        assert max(mean_dau[7], mean_dau[8]) < (mean_dau[6] + mean_dau[9]) / 2
        assert signups[year, 7] + signups[year, 8] < signups[year, 6] + signups[year, 9]
        assert signups[year, 9] > 1.2 * signups[year, 8]
    assert signups[2026, 1] > signups[2025, 12]


# Events


def test_event_ids_are_sequential_and_ordered_by_time(rows: Rows) -> None:
    assert [e.event_id for e in rows.events] == list(range(1, len(rows.events) + 1))
    times = [e.occurred_at for e in rows.events]
    assert times == sorted(times)


def test_no_event_before_signup(rows: Rows) -> None:
    signup = {u.user_id: u.signed_up_at for u in rows.users}
    early = [e for e in rows.events if e.occurred_at < signup[e.user_id]]
    assert early == []


def test_every_day_has_an_event(rows: Rows) -> None:
    days = {e.occurred_at.date() for e in rows.events}
    all_days = [FIRST_DAY + dt.timedelta(days=i) for i in range(PERIOD_DAYS)]
    assert [day for day in all_days if day not in days] == []
    assert min(days) == FIRST_DAY
    assert max(days) == LAST_DAY


def first_sessions(rows: Rows) -> dict[int, dt.datetime]:
    """Each user's first meaningful event (any but email opens and failed logins)."""
    first: dict[int, dt.datetime] = {}
    for event in rows.events:
        if event.event_type in QUALIFYING:
            first.setdefault(event.user_id, event.occurred_at)
    return first


def test_some_users_start_days_after_signing_up_and_some_never(rows: Rows) -> None:
    """20 to 30% of the users (23%) hold their first session 1 to 10 days after signing up,
    a few never do (and never pay); the first signup of each day starts that day."""
    first = first_sessions(rows)
    late = Counter(
        (first[u.user_id].date() - u.signed_up_at.date()).days
        for u in rows.users
        if u.user_id in first
    )
    assert set(late) == set(range(11))
    delayed = sum(n for days, n in late.items() if days > 0)
    never = [u for u in rows.users if u.user_id not in first]
    assert 0.2 <= delayed / len(rows.users) <= 0.3
    assert 0.01 <= len(never) / len(rows.users) <= 0.06
    assert late[1] > late[5] > late[10]
    assert not {u.user_id for u in never} & {s.user_id for s in rows.subscriptions}
    day_firsts = {}
    for user in rows.users:
        day_firsts.setdefault(user.signed_up_at.date(), user)
    assert all(first[u.user_id] == u.signed_up_at for u in day_firsts.values())


def test_subscriptions_start_after_the_first_session(rows: Rows) -> None:
    first = first_sessions(rows)
    assert all(s.started_at > first[s.user_id] for s in rows.subscriptions)


def test_most_users_have_an_event_and_some_never_return(rows: Rows) -> None:
    by_user = events_by_user(rows)
    signup_day = {u.user_id: u.signed_up_at.date() for u in rows.users}
    assert set(by_user) <= set(signup_day)
    assert len(by_user) > 0.96 * len(signup_day)
    one_day_users = [
        user_id
        for user_id, times in by_user.items()
        if max(times).date() == signup_day[user_id] and signup_day[user_id] < dt.date(2026, 9, 1)
    ]
    assert len(one_day_users) >= 50


def test_retention_decays(rows: Rows) -> None:
    by_user = events_by_user(rows)
    cohort = [u for u in rows.users if u.signed_up_at < dt.datetime(2026, 6, 1)]
    offsets = {
        u.user_id: {(t.date() - u.signed_up_at.date()).days for t in by_user[u.user_id]}
        for u in cohort
    }

    def active_share(first: int, last: int) -> float:
        active = sum(any(first <= d <= last for d in offsets[u.user_id]) for u in cohort)
        return active / len(cohort)

    week_one = active_share(1, 7)
    week_thirteen = active_share(85, 91)
    assert week_one > 0.6
    assert week_thirteen < 0.5 * week_one
    assert week_thirteen > 0.05


# Subscriptions


def test_subscriptions_are_valid(rows: Rows) -> None:
    signup = {u.user_id: u.signed_up_at for u in rows.users}
    ids = [s.subscription_id for s in rows.subscriptions]
    assert ids == list(range(1, len(ids) + 1))
    for s in rows.subscriptions:
        assert s.started_at > signup[s.user_id]
        assert s.mrr in PRICES[s.plan]
        assert s.ended_at is None or s.ended_at > s.started_at


def test_subscriptions_of_a_user_never_overlap(rows: Rows) -> None:
    for user_id, subscriptions in subscriptions_by_user(rows).items():
        for earlier, later in pairwise(subscriptions):
            assert earlier.ended_at is not None, f"user {user_id}: open subscription not last"
            assert earlier.ended_at <= later.started_at, f"user {user_id}: overlap"


def test_subscriptions_include_upgrades_downgrades_churn_and_open(rows: Rows) -> None:
    """An upgrade or a downgrade starts the next subscription, on another plan, at the second
    the previous one ends; a downgrade is from pro or enterprise to a cheaper plan."""
    changes: Counter[tuple[str, str]] = Counter()
    churned = still_open = 0
    for subscriptions in subscriptions_by_user(rows).values():
        for earlier, later in pairwise(subscriptions):
            assert earlier.ended_at == later.started_at
            assert later.plan != earlier.plan
            if RANK[later.plan] < RANK[earlier.plan]:
                assert later.mrr < earlier.mrr
            changes[earlier.plan, later.plan] += 1
        churned += subscriptions[-1].ended_at is not None
        still_open += subscriptions[-1].ended_at is None
    upgrades = sum(n for (a, b), n in changes.items() if RANK[b] > RANK[a])
    downgrades = {(a, b): n for (a, b), n in changes.items() if RANK[b] < RANK[a]}
    assert upgrades >= 30
    assert set(downgrades) == {("enterprise", "pro"), ("enterprise", "starter"), ("pro", "starter")}
    assert sum(downgrades.values()) >= 15
    assert churned >= 30
    assert still_open >= 100


def test_downgrades_move_no_other_subscription(
    data: DemoData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without downgrades the same users pay, the events are the same, and each user's
    subscriptions are the same up to the one that churns instead of downgrading."""
    monkeypatch.setattr("metrics_layer.demo.data._DOWNGRADE", 0.0)
    without = generate()
    assert without["events"].rows == data["events"].rows

    def by_user(demo: DemoData) -> dict[int, list[tuple[object, ...]]]:
        result: dict[int, list[tuple[object, ...]]] = defaultdict(list)
        for row in sorted(demo["subscriptions"].rows, key=lambda row: row[4]):
            result[row[1]].append(row[2:])
        return result

    downgrading, churning = by_user(data), by_user(without)
    assert set(downgrading) == set(churning)
    downgraded = 0
    for user_id, subscriptions in downgrading.items():
        before = churning[user_id]
        assert subscriptions[: len(before)] == before, f"user {user_id}"
        if len(subscriptions) > len(before):
            assert RANK[subscriptions[len(before)][0]] < RANK[before[-1][0]]
            downgraded += 1
    assert downgraded >= 15


def test_user_plan_matches_latest_open_subscription(rows: Rows) -> None:
    by_user = subscriptions_by_user(rows)
    for user in rows.users:
        latest = by_user[user.user_id][-1] if user.user_id in by_user else None
        expected = latest.plan if latest is not None and latest.ended_at is None else "free"
        assert user.plan == expected, f"user {user.user_id}"


def test_snapshots_match_independent_sql_count(rows: Rows) -> None:
    with duckdb.connect() as connection:
        connection.execute(
            "CREATE TABLE subscriptions (subscription_id INTEGER, user_id INTEGER, plan VARCHAR,"
            " mrr DECIMAL(10,2), started_at TIMESTAMP, ended_at TIMESTAMP)"
        )
        connection.executemany(
            "INSERT INTO subscriptions VALUES (?, ?, ?, ?, ?, ?)",
            [tuple(s) for s in rows.subscriptions],
        )
        expected = connection.execute(
            """
            SELECT count(*)
            FROM range(DATE '2025-01-01', DATE '2026-11-01', INTERVAL 1 DAY) AS days(day)
            JOIN subscriptions AS s
              ON s.started_at < day + INTERVAL 1 DAY
             AND (s.ended_at IS NULL OR s.ended_at >= day + INTERVAL 1 DAY)
            """
        ).fetchone()
    assert expected is not None
    assert len(rows.snapshots) == expected[0]


def test_snapshots_repeat_subscription_attributes(rows: Rows) -> None:
    subscriptions = {s.subscription_id: s for s in rows.subscriptions}
    keys = [(snap.snapshot_date, snap.subscription_id) for snap in rows.snapshots]
    assert keys == sorted(set(keys))
    for snap in rows.snapshots:
        s = subscriptions[snap.subscription_id]
        assert (snap.user_id, snap.plan, snap.mrr) == (s.user_id, s.plan, s.mrr)
        assert s.started_at.date() <= snap.snapshot_date
        assert s.ended_at is None or snap.snapshot_date < s.ended_at.date()


# Trials


def trials_by_user(rows: Rows) -> dict[int, list[Trial]]:
    result: dict[int, list[Trial]] = defaultdict(list)
    for trial in rows.trials:
        result[trial.user_id].append(trial)
    return result


def test_trials_are_valid(rows: Rows) -> None:
    """Numbered in start order; 14 days long, with no end when that is after the period; none
    before the user's first session."""
    first = first_sessions(rows)
    assert [t.trial_id for t in rows.trials] == list(range(1, len(rows.trials) + 1))
    starts = [t.started_at for t in rows.trials]
    assert starts == sorted(starts)
    for t in rows.trials:
        assert t.started_at >= first[t.user_id]
        end = t.started_at + TRIAL
        assert t.ended_at == (end if end < PERIOD_END else None), t
    assert any(t.ended_at is None for t in rows.trials)


def test_a_third_of_the_active_users_start_a_trial_and_a_few_a_second(rows: Rows) -> None:
    by_user = trials_by_user(rows)
    assert 0.28 <= len(by_user) / len(first_sessions(rows)) <= 0.38
    again = [trials for trials in by_user.values() if len(trials) > 1]
    assert 0.01 <= len(again) / len(rows.users) <= 0.02
    for trials in again:
        assert len(trials) == 2
        assert trials[0].ended_at is not None
        assert trials[1].started_at > trials[0].ended_at


def test_trials_convert_within_14_days_later_or_never(rows: Rows) -> None:
    """A payer's first trial starts at most 25 days before the first subscription: some pay
    within the trial's 14 days, some later; most trial users never pay."""
    first_paid = {
        user_id: subscriptions[0].started_at
        for user_id, subscriptions in subscriptions_by_user(rows).items()
    }
    outcomes: Counter[str] = Counter()
    for user_id, trials in trials_by_user(rows).items():
        paid = first_paid.get(user_id)
        if paid is None:
            outcomes["never"] += 1
            continue
        lead = paid - trials[0].started_at
        assert dt.timedelta(0) < lead <= dt.timedelta(days=25), (user_id, lead)
        outcomes["within" if lead < TRIAL else "later"] += 1
    assert outcomes["within"] >= 100
    assert outcomes["later"] >= 50
    assert outcomes["never"] > outcomes["within"] + outcomes["later"]


# Plan history


def test_plan_history_is_contiguous_from_signup_and_open_at_the_end(rows: Rows) -> None:
    history: dict[int, list[PlanInterval]] = defaultdict(list)
    for interval in rows.plan_history:
        history[interval.user_id].append(interval)
    keys = [(p.user_id, p.valid_from) for p in rows.plan_history]
    assert keys == sorted(set(keys))
    assert list(history) == [u.user_id for u in rows.users]
    for user in rows.users:
        intervals = history[user.user_id]
        assert intervals[0].valid_from == user.signed_up_at
        assert intervals[0].plan == "free"
        for earlier, later in pairwise(intervals):
            assert earlier.valid_to is not None
            assert earlier.valid_from < earlier.valid_to == later.valid_from
            assert earlier.plan != later.plan
        assert intervals[-1].valid_to is None
        assert intervals[-1].plan == user.plan, f"user {user.user_id}"


def test_plan_history_holds_each_subscription_and_free_after_a_churn(rows: Rows) -> None:
    """The paid rows are the subscriptions; a churned user is free from the last end on."""
    paid = sorted(tuple(p) for p in rows.plan_history if p.plan != "free")
    assert paid == sorted((s.user_id, s.plan, s.started_at, s.ended_at) for s in rows.subscriptions)
    current = {p.user_id: p for p in rows.plan_history if p.valid_to is None}
    churned = 0
    for user_id, subscriptions in subscriptions_by_user(rows).items():
        last = subscriptions[-1]
        if last.ended_at is not None:
            assert current[user_id] == (user_id, "free", last.ended_at, None)
            churned += 1
    assert churned >= 30


# DuckDB file


def test_duckdb_file_has_exact_column_types(demo_file: Path) -> None:
    with duckdb.connect(str(demo_file), read_only=True) as connection:
        rows = connection.execute(
            """
            SELECT table_schema, table_name, column_name, data_type, is_nullable
            FROM information_schema.columns
            ORDER BY table_name, ordinal_position
            """
        ).fetchall()
    expected = [
        ("main", table, column, sql_type, "YES" if (table, column) in NULLABLE else "NO")
        for table, columns in EXPECTED_SCHEMA.items()
        for column, sql_type in columns
    ]
    assert sorted(rows) == sorted(expected)


def test_duckdb_file_holds_the_generated_rows(demo_file: Path, data: DemoData) -> None:
    orders = {
        "users": "user_id",
        "events": "event_id",
        "subscriptions": "subscription_id",
        "subscription_snapshots": "snapshot_date, subscription_id",
        "trials": "trial_id",
        "plan_history": "user_id, valid_from",
        "retail_calendar": "day",
    }
    with duckdb.connect(str(demo_file), read_only=True) as connection:
        for name, order in orders.items():
            stored = connection.execute(f"SELECT * FROM {name} ORDER BY {order}").fetchall()
            assert stored == data[name].rows, name
        nulls = connection.execute(
            "SELECT count(*) FROM subscriptions WHERE ended_at IS NULL"
        ).fetchone()
    assert nulls == (sum(row[-1] is None for row in data["subscriptions"].rows),)


def test_stored_snapshots_equal_sql_derivation(demo_file: Path) -> None:
    with duckdb.connect(str(demo_file), read_only=True) as connection:
        difference = connection.execute(
            """
            WITH derived AS (
                SELECT CAST(day AS DATE) AS snapshot_date, s.subscription_id, s.user_id,
                       s.plan, s.mrr
                FROM range(DATE '2025-01-01', DATE '2026-11-01', INTERVAL 1 DAY) AS days(day)
                JOIN subscriptions AS s
                  ON s.started_at < day + INTERVAL 1 DAY
                 AND (s.ended_at IS NULL OR s.ended_at >= day + INTERVAL 1 DAY)
            )
            SELECT
                (SELECT count(*) FROM (SELECT * FROM derived
                    EXCEPT ALL SELECT * FROM subscription_snapshots)),
                (SELECT count(*) FROM (SELECT * FROM subscription_snapshots
                    EXCEPT ALL SELECT * FROM derived))
            """
        ).fetchone()
    assert difference == (0, 0)


# Location and creation


def test_demo_path_prefers_metrics_layer_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("METRICS_LAYER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert demo_path() == tmp_path / "home" / f"demo-v{DATA_VERSION}.duckdb"


def test_demo_path_uses_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("METRICS_LAYER_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert demo_path() == tmp_path / "cache" / "metrics_layer" / f"demo-v{DATA_VERSION}.duckdb"


def test_demo_path_defaults_to_home_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("METRICS_LAYER_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert demo_path() == tmp_path / ".cache" / "metrics_layer" / f"demo-v{DATA_VERSION}.duckdb"


@pytest.mark.usefixtures("tiny_data")
def test_ensure_demo_creates_the_file_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("METRICS_LAYER_HOME", str(tmp_path / "home"))
    path = ensure_demo()
    assert path == demo_path()
    first = path.stat()
    assert ensure_demo() == path
    assert path.stat().st_ino == first.st_ino
    assert path.stat().st_mtime_ns == first.st_mtime_ns
    assert os.listdir(path.parent) == [path.name]
    with duckdb.connect(str(path), read_only=True) as connection:
        assert connection.execute("SELECT country FROM users").fetchall() == [("DE",)]


@pytest.mark.usefixtures("tiny_data")
def test_ensure_demo_leaves_an_existing_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "existing.duckdb"
    path.write_bytes(b"not rebuilt")
    assert ensure_demo(path) == path
    assert path.read_bytes() == b"not rebuilt"


@pytest.mark.usefixtures("tiny_data")
def test_create_demo_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "demo.duckdb"
    path.write_bytes(b"stale")
    with pytest.raises(FileExistsError):
        create_demo(path)
    assert path.read_bytes() == b"stale"
    assert create_demo(path, overwrite=True) == path
    with duckdb.connect(str(path), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM users").fetchone() == (1,)
    assert os.listdir(tmp_path) == [path.name]


def test_concurrent_ensure_demo_yields_one_valid_file(tmp_path: Path, data: DemoData) -> None:
    home = tmp_path / "home"
    start = tmp_path / "start"
    script = textwrap.dedent(
        f"""
        import pathlib, time
        from metrics_layer.demo import ensure_demo
        while not pathlib.Path({str(start)!r}).exists():
            time.sleep(0.01)
        print(ensure_demo())
        """
    )
    env = {**os.environ, "METRICS_LAYER_HOME": str(home)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    start.touch()
    results = [worker.communicate(timeout=120) for worker in workers]
    expected = home / f"demo-v{DATA_VERSION}.duckdb"
    for worker, (stdout, stderr) in zip(workers, results, strict=True):
        assert worker.returncode == 0, stderr
        assert Path(stdout.strip()) == expected
    assert os.listdir(home) == [expected.name]
    with duckdb.connect(str(expected), read_only=True) as connection:
        for name, table in data.items():
            count = connection.execute(f"SELECT count(*) FROM {name}").fetchone()
            assert count == (len(table.rows),), name
