"""Deterministic generation of the product-analytics demo data set.

All randomness comes from ``random.Random(seed).random()`` combined with plain
IEEE arithmetic, so the rows are identical across Python versions and platforms.
Times are whole seconds, naive UTC.

Signups and activity (a returning user's chance of coming back on a given day) follow
a calendar, so that time-based KPIs have something to show:

- growth: expected signups rise linearly to 2.2 times the first day's by the last day;
- weekends: signups times 0.62 and activity times 0.7 on Saturday and Sunday;
- seasons (``_SEASON``): signups and activity times 1.15 in January and September, times
  0.8 in July and August, unchanged in the other months;
- the holiday week (``_HOLIDAY``): signups and activity times 0.35 from 24 December to
  1 January inclusive, in place of the month's factor.

A weekend day gets the weekend factor times the season's or the holiday week's.

Not every user starts using the product on the day they sign up (``_first_sessions``):

- delayed start (``_DELAYED``): 30% of users hold their first session (the onboarding one)
  1 to 10 days after signing up (``_DELAY_DAYS``: most often the next day), and come back only
  after it;
- never active (``_NEVER_ACTIVE``): half of the users who never come back hold no session at
  all and never pay; the welcome email may still be opened;
- the first user to sign up on a day always starts that day, so every day has a session.

In all, 23% of the users start 1 to 10 days late and 3% never start. A subscription starts
some time after the user's first session. So signups (counted on the signup day) and new users
(counted on the day of the first session) differ.

A subscription ends in churn, in an upgrade (a starter or pro subscription, 20% of its
outcomes) or in a downgrade (a pro or enterprise one, 7% of its outcomes, ``_DOWNGRADE``:
enterprise to pro or starter, pro to starter), or stays open (half of the outcomes); an upgrade
or a downgrade ends one subscription and starts the next, on the other plan, at the same second.
An end after the period leaves the subscription open. So revenue retention has expansion and
contraction.

``trials`` (``_user_trials``): a third of the users with a first session start a 14-day free
trial of a paid plan, ``ended_at`` NULL when its end is after the period. A payer's trial starts
1 minute to 25 days before the first subscription (never before the first session): some pay
within the trial's 14 days, some later; another user's starts 1 to 30 days after the first
session, and most trial users never pay. 5% of the users with a trial start a second one 30 to
240 days after the first one's end.

``plan_history`` is each user's plan over time (a type-2 history): ``free`` from signup, then
each subscription's plan from its start to its end, ``free`` after a churn; ``valid_to`` is NULL
on the current row, which agrees with ``users.plan``.

The data set also holds ``retail_calendar``, the 4-5-4 retail calendar of
``metrics_layer.demo.calendar``.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain
from operator import itemgetter
from types import MappingProxyType
from typing import Generic, TypeVar

from metrics_layer.demo.calendar import CALENDAR_COLUMNS, retail_calendar
from metrics_layer.demo.model import Column, DemoData, Key, Row, Table

DATA_VERSION = 4
SEED = 20_250_101

PERIOD_START = dt.datetime(2025, 1, 1)
PERIOD_END = dt.datetime(2026, 11, 1)
"""Exclusive upper bound of the period; the last included second is 2026-10-31 23:59:59."""

PLANS = ("free", "starter", "pro", "enterprise")
COUNTRIES = ("US", "DE", "GB", "FR", "IN", "BR", "JP")
CHANNELS = ("organic", "paid_search", "referral", "social")
EVENT_TYPES = (
    "session_start",
    "page_view",
    "project_created",
    "report_shared",
    "email_open",
    "login_failed",
)
PLATFORMS = ("web", "ios", "android")

SCHEMA: Mapping[str, tuple[Column, ...]] = MappingProxyType(
    {
        "users": (
            Column("user_id", "INTEGER"),
            Column("signed_up_at", "TIMESTAMP"),
            Column("plan", "VARCHAR"),
            Column("country", "VARCHAR"),
            Column("acquisition_channel", "VARCHAR"),
        ),
        "events": (
            Column("event_id", "BIGINT"),
            Column("user_id", "INTEGER"),
            Column("event_type", "VARCHAR"),
            Column("platform", "VARCHAR"),
            Column("occurred_at", "TIMESTAMP"),
        ),
        "subscriptions": (
            Column("subscription_id", "INTEGER"),
            Column("user_id", "INTEGER"),
            Column("plan", "VARCHAR"),
            Column("mrr", "DECIMAL(10,2)"),
            Column("started_at", "TIMESTAMP"),
            Column("ended_at", "TIMESTAMP", nullable=True),
        ),
        "subscription_snapshots": (
            Column("snapshot_date", "DATE"),
            Column("subscription_id", "INTEGER"),
            Column("user_id", "INTEGER"),
            Column("plan", "VARCHAR"),
            Column("mrr", "DECIMAL(10,2)"),
        ),
        "trials": (
            Column("trial_id", "INTEGER"),
            Column("user_id", "INTEGER"),
            Column("plan", "VARCHAR"),
            Column("started_at", "TIMESTAMP"),
            Column("ended_at", "TIMESTAMP", nullable=True),
        ),
        "plan_history": (
            Column("user_id", "INTEGER"),
            Column("plan", "VARCHAR"),
            Column("valid_from", "TIMESTAMP"),
            Column("valid_to", "TIMESTAMP", nullable=True),
        ),
        "retail_calendar": CALENDAR_COLUMNS,
    }
)

KEYS: Mapping[str, Key] = MappingProxyType(
    {
        "users": Key("user_id", unique=True),
        "events": Key("user_id"),
        "subscriptions": Key("user_id"),
        "subscription_snapshots": Key("user_id"),
        "trials": Key("user_id"),
        "plan_history": Key("user_id"),
        "retail_calendar": Key("day", unique=True),
    }
)
"""The column each table is indexed (on ClickHouse: sorted) by, as a warehouse would have it:
the user key of the fact tables, the day of the calendar."""

_DAY = 86_400
_N_DAYS = (PERIOD_END - PERIOD_START).days
_END = _N_DAYS * _DAY
_WEEKEND = tuple((PERIOD_START.weekday() + day) % 7 >= 5 for day in range(_N_DAYS))

_SEASON = {1: 1.15, 7: 0.8, 8: 0.8, 9: 1.15}
"""Factor of signups and activity by month; other months 1."""
_HOLIDAY = 0.35
"""Factor of signups and activity from 24 December to 1 January, in place of the month's."""


def _calendar_factor(date: dt.date) -> float:
    if (date.month, date.day) >= (12, 24) or (date.month, date.day) == (1, 1):
        return _HOLIDAY
    return _SEASON.get(date.month, 1.0)


_CALENDAR = tuple(
    _calendar_factor(PERIOD_START.date() + dt.timedelta(days=day)) for day in range(_N_DAYS)
)

_USERS_STREAM = 0
_SUBSCRIPTIONS_STREAM = 1
_EVENTS_STREAM = 2
_ACTIVATION_STREAM = 3
_TRIALS_STREAM = 4
_DOWNGRADES_STREAM = 5

_T = TypeVar("_T")


@dataclass(frozen=True)
class _Choices(Generic[_T]):
    values: tuple[_T, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, weighted: Sequence[tuple[_T, float]]) -> _Choices[_T]:
        total = 0.0
        cumulative = []
        for _, weight in weighted:
            total += weight
            cumulative.append(total)
        return cls(tuple(value for value, _ in weighted), tuple(cumulative))


class _Draw:
    """Random draws built only on ``Random.random()``."""

    __slots__ = ("uniform",)

    def __init__(self, seed: int) -> None:
        self.uniform = random.Random(seed).random

    def below(self, n: int) -> int:
        return min(int(self.uniform() * n), n - 1)

    def between(self, low: int, high: int) -> int:
        return low + self.below(high - low + 1)

    def chance(self, p: float) -> bool:
        return self.uniform() < p

    def pick(self, choices: _Choices[_T]) -> _T:
        x = self.uniform() * choices.cumulative[-1]
        index = bisect_right(choices.cumulative, x)
        return choices.values[min(index, len(choices.values) - 1)]


_COUNTRY = _Choices.of(
    [("US", 30), ("DE", 12), ("GB", 11), ("FR", 9), ("IN", 16), ("BR", 12), ("JP", 10)]
)
_CHANNEL = _Choices.of([("organic", 42), ("paid_search", 26), ("referral", 14), ("social", 18)])
_PLATFORM = _Choices.of([("web", 58), ("ios", 26), ("android", 16)])
_AM_HOURS = (2, 1.5, 1.2, 1, 1, 1.2, 2, 3, 4, 5, 5.5, 5.5)
_PM_HOURS = (5.5, 6, 6, 6, 5.5, 5, 4.5, 4, 3.5, 3, 2.5, 2.2)
_HOUR = _Choices.of(list(enumerate(_AM_HOURS + _PM_HOURS)))
_FIRST_PLAN = _Choices.of([("starter", 58), ("pro", 32), ("enterprise", 10)])
_SESSIONS_PER_DAY = _Choices.of([(1, 70), (2, 22), (3, 8)])

_SIGNUPS_PER_DAY = 3.2
_SIGNUP_GROWTH = 1.2
_PAY_RATE = {"organic": 0.34, "paid_search": 0.31, "referral": 0.46, "social": 0.23}
_RETURN_RATE = 0.91
_DELAYED = 0.3
"""Share of users whose first session is 1 to 10 days after signing up."""
_DELAY_DAYS = _Choices.of(
    [(1, 30), (2, 18), (3, 13), (4, 10), (5, 8), (6, 6), (7, 5), (8, 4), (9, 3), (10, 3)]
)
_NEVER_ACTIVE = 0.5
"""Share of the users who never come back that never hold a session either."""
_DOWNGRADE = 0.07
"""Share of a pro or enterprise subscription's outcomes that are a downgrade (taken from churn)."""
_TRIAL = 0.3
"""Share of the users with a first session who never pay that start a trial."""
_PAYER_TRIAL = 0.42
"""Share of the paying users that start a trial before their first subscription."""
_TRIAL_DAYS = 14
_TRIAL_PLAN = _Choices.of([("starter", 50), ("pro", 38), ("enterprise", 12)])
_TRIAL_LEAD_DAYS = 25
"""A payer's trial starts up to this many days before the first subscription."""
_SECOND_TRIAL = 0.05
"""Share of the users with a trial who start a second one later."""


@dataclass(frozen=True)
class _User:
    user_id: int
    signup: int
    country: str
    channel: str
    platform: str
    engagement: float
    returns: bool


@dataclass(frozen=True)
class _Trial:
    user_id: int
    plan: str
    start: int

    @property
    def end(self) -> int | None:
        """``_TRIAL_DAYS`` after the start; None when that is not in the period."""
        end = self.start + _TRIAL_DAYS * _DAY
        return None if end >= _END else end


@dataclass(frozen=True)
class _Subscription:
    user_id: int
    plan: str
    mrr: Decimal
    start: int
    end: int | None


def _timestamp(second: int) -> dt.datetime:
    return PERIOD_START + dt.timedelta(seconds=second)


def _time_of_day(draw: _Draw) -> int:
    return draw.pick(_HOUR) * 3600 + draw.below(3600)


def _users(draw: _Draw) -> list[_User]:
    """Users in signup order; every day gets at least one signup, hence an event."""
    users: list[_User] = []
    for day in range(_N_DAYS):
        growth = 1.0 + _SIGNUP_GROWTH * day / (_N_DAYS - 1)
        weekend = 0.62 if _WEEKEND[day] else 1.0
        expected = _SIGNUPS_PER_DAY * growth * weekend * _CALENDAR[day]
        count = max(1, int(expected * (0.6 + 0.8 * draw.uniform()) + 0.5))
        for second in sorted(day * _DAY + _time_of_day(draw) for _ in range(count)):
            channel = draw.pick(_CHANNEL)
            users.append(
                _User(
                    user_id=len(users) + 1,
                    signup=second,
                    country=draw.pick(_COUNTRY),
                    channel=channel,
                    platform=draw.pick(_PLATFORM),
                    engagement=(0.5 + draw.uniform()) * (1.15 if channel == "referral" else 1.0),
                    returns=draw.chance(_RETURN_RATE),
                )
            )
    return users


def _price(draw: _Draw, plan: str) -> Decimal:
    if plan == "starter":
        dollars = 19 if draw.chance(0.6) else 29
    elif plan == "pro":
        dollars = 79 if draw.chance(0.55) else 99
    else:
        dollars = draw.between(399, 999)
    return Decimal(dollars).quantize(Decimal("0.01"))


def _upgrade(draw: _Draw, plan: str) -> str:
    if plan == "starter":
        return "enterprise" if draw.chance(0.15) else "pro"
    return "enterprise"


def _downgrade(draw: _Draw, plan: str) -> str:
    if plan == "enterprise":
        return "starter" if draw.chance(0.3) else "pro"
    return "starter"


def _first_sessions(draw: _Draw, users: Sequence[_User]) -> list[int | None]:
    """The second of each user's first session, None for a user who never holds one.

    Every user takes the same draws, so one user's outcome moves no other's.
    """
    result: list[int | None] = []
    previous_day = -1
    for user in users:
        day = user.signup // _DAY
        never = draw.chance(_NEVER_ACTIVE)
        delayed = draw.chance(_DELAYED)
        later = (day + draw.pick(_DELAY_DAYS)) * _DAY + _time_of_day(draw)
        if day != previous_day:
            result.append(user.signup)
        elif never and not user.returns:
            result.append(None)
        else:
            result.append(later if delayed else user.signup)
        previous_day = day
    return result


def _user_subscriptions(
    draw: _Draw, after_downgrade: _Draw, user: _User, first: int | None
) -> list[_Subscription]:
    """The user's subscriptions, in time order.

    A downgrade takes a pro or enterprise subscription's churn outcomes nearest to staying (a
    band ``_DOWNGRADE`` wide) and ends when that churn would; what follows it is drawn from
    ``after_downgrade``.
    So ``draw`` is used as it would be without downgrades: who pays (and so the events) and
    every other user's subscriptions do not depend on them.
    """
    rate = _PAY_RATE[user.channel] * user.engagement * (1.0 if user.returns else 0.15)
    if not draw.chance(rate) or first is None:
        return []
    u = draw.uniform()
    start = first + 600 + int(_DAY * 120 * u * u)
    plan = draw.pick(_FIRST_PLAN)
    result: list[_Subscription] = []
    while start < _END:
        mrr = _price(draw, plan)
        outcome = draw.uniform()
        upgrades = plan != "enterprise" and outcome < 0.2
        downgrades = plan != "starter" and 0.5 - _DOWNGRADE <= outcome < 0.5
        churns = not upgrades and not downgrades and outcome < 0.5
        if not upgrades and not downgrades and not churns:
            result.append(_Subscription(user.user_id, plan, mrr, start, None))
            break
        u = draw.uniform()
        days = (20 + 250 * u * u) if upgrades else (10 + 360 * u * u)
        end = start + int(days * _DAY) + draw.below(_DAY)
        if end >= _END:
            result.append(_Subscription(user.user_id, plan, mrr, start, None))
            break
        result.append(_Subscription(user.user_id, plan, mrr, start, end))
        if churns:
            break
        if downgrades:
            draw = after_downgrade
        plan = _upgrade(draw, plan) if upgrades else _downgrade(draw, plan)
        start = end
    return result


def _user_trials(
    draw: _Draw, user: _User, first: int | None, subscription: _Subscription | None
) -> list[_Trial]:
    """The user's trials: none without a first session; a payer's first trial starts 1 minute
    to ``_TRIAL_LEAD_DAYS`` days before the first subscription (not before the first session),
    another user's 1 to 30 days after the first session; a second one 30 to 240 days after the
    first trial's end.

    Every user takes the same draws, so one user's outcome moves no other's.
    """
    takes = draw.chance(_TRIAL if subscription is None else _PAYER_TRIAL)
    plan = draw.pick(_TRIAL_PLAN)
    same_plan = draw.chance(0.7)
    later = draw.between(1, 30) * _DAY + _time_of_day(draw)
    lead = 60 + draw.below(_TRIAL_LEAD_DAYS * _DAY - 60)
    again = draw.chance(_SECOND_TRIAL)
    gap = draw.between(30, 240) * _DAY + _time_of_day(draw)
    second_plan = draw.pick(_TRIAL_PLAN)
    if first is None or not takes:
        return []
    if subscription is None:
        start = (first // _DAY) * _DAY + later
    else:
        start = max(first, subscription.start - lead)
        plan = subscription.plan if same_plan else plan
    if start >= _END:
        return []
    trials = [_Trial(user.user_id, plan, start)]
    second = ((start // _DAY) + _TRIAL_DAYS) * _DAY + gap
    if again and second < _END:
        trials.append(_Trial(user.user_id, second_plan, second))
    return trials


def _session(
    draw: _Draw,
    user_id: int,
    start: int,
    platform: str,
    *,
    onboarding: bool,
    out: list[tuple[int, int, str, str]],
) -> None:
    second = start
    if not onboarding and draw.chance(0.05):
        out.append((second, user_id, "login_failed", platform))
        second += 8 + draw.below(60)
    out.append((second, user_id, "session_start", platform))
    created = draw.chance(0.5 if onboarding else 0.04)
    for _ in range(1 + draw.below(7)):
        second += 5 + draw.below(180)
        out.append((second, user_id, "page_view", platform))
    if created:
        second += 30 + draw.below(300)
        out.append((second, user_id, "project_created", platform))
    if draw.chance(0.1 if onboarding else 0.025):
        second += 20 + draw.below(240)
        out.append((second, user_id, "report_shared", platform))


def _session_platform(draw: _Draw, user: _User) -> str:
    return user.platform if draw.chance(0.85) else draw.pick(_PLATFORM)


def _user_events(
    draw: _Draw,
    user: _User,
    first: int | None,
    paying: bool,
    out: list[tuple[int, int, str, str]],
) -> None:
    """The user's onboarding session at ``first`` (none when None), the welcome email opened
    or not after signing up, then the days the user comes back on."""
    uid = user.user_id
    if first is not None:
        _session(draw, uid, first, user.platform, onboarding=True, out=out)
    if draw.chance(0.4):
        out.append((user.signup + 300 + draw.below(3 * 3600), uid, "email_open", user.platform))
    if first is None or not user.returns:
        return
    early = min(0.9, 0.5 * user.engagement)
    floor = (0.07 if paying else 0.025) * user.engagement
    decay = 1.0
    uniform = draw.uniform
    for day in range(first // _DAY + 1, _N_DAYS):
        decay *= 0.9
        p = (floor + (early - floor) * decay) * _CALENDAR[day]
        if _WEEKEND[day]:
            p *= 0.7
        if uniform() >= p:
            continue
        base = day * _DAY
        for _ in range(draw.pick(_SESSIONS_PER_DAY)):
            start = base + _time_of_day(draw)
            _session(draw, uid, start, _session_platform(draw, user), onboarding=False, out=out)
        if draw.chance(0.3):
            out.append((base + _time_of_day(draw), uid, "email_open", user.platform))


def _snapshot_rows(subscriptions: list[Row], spans: list[tuple[int, int]]) -> list[Row]:
    days = [PERIOD_START.date() + dt.timedelta(days=day) for day in range(_N_DAYS)]
    buckets: list[list[Row]] = [[] for _ in range(_N_DAYS)]
    for row, (first, last) in zip(subscriptions, spans, strict=True):
        subscription_id, user_id, plan, mrr = row[:4]
        for day in range(max(first, 0), min(last, _N_DAYS - 1) + 1):
            buckets[day].append((days[day], subscription_id, user_id, plan, mrr))
    return list(chain.from_iterable(buckets))


def _plan_history_rows(users: Sequence[_User], subscriptions: Sequence[_Subscription]) -> list[Row]:
    """Each user's plan over time, in user and time order: free from signup, each
    subscription's plan from its start to its end, free after a churn; the current row open."""
    by_user: dict[int, list[_Subscription]] = {}
    for sub in subscriptions:
        by_user.setdefault(sub.user_id, []).append(sub)
    rows: list[Row] = []
    for user in users:
        intervals: list[tuple[str, int, int | None]] = []
        since: int | None = user.signup
        for sub in by_user.get(user.user_id, []):
            if since is not None and since < sub.start:
                intervals.append(("free", since, sub.start))
            intervals.append((sub.plan, sub.start, sub.end))
            since = sub.end
        if since is not None:
            intervals.append(("free", since, None))
        rows.extend(
            (user.user_id, plan, _timestamp(start), None if end is None else _timestamp(end))
            for plan, start, end in intervals
        )
    return rows


def generate() -> DemoData:
    """Build the demo tables: users, events, subscriptions, subscription_snapshots, trials,
    plan_history and retail_calendar."""
    users = _users(_Draw(SEED + _USERS_STREAM))
    firsts = _first_sessions(_Draw(SEED + _ACTIVATION_STREAM), users)

    draw = _Draw(SEED + _SUBSCRIPTIONS_STREAM)
    after_downgrade = _Draw(SEED + _DOWNGRADES_STREAM)
    by_user = [
        _user_subscriptions(draw, after_downgrade, user, first)
        for user, first in zip(users, firsts, strict=True)
    ]
    subscriptions = sorted(chain.from_iterable(by_user), key=lambda s: (s.start, s.user_id))
    current_plan = {user.user_id: "free" for user in users}
    for sub in subscriptions:
        current_plan[sub.user_id] = sub.plan if sub.end is None else "free"
    paying = {sub.user_id for sub in subscriptions}

    draw = _Draw(SEED + _TRIALS_STREAM)
    trials = sorted(
        chain.from_iterable(
            _user_trials(draw, user, first, subs[0] if subs else None)
            for user, first, subs in zip(users, firsts, by_user, strict=True)
        ),
        key=lambda t: (t.start, t.user_id),
    )

    draw = _Draw(SEED + _EVENTS_STREAM)
    raw_events: list[tuple[int, int, str, str]] = []
    for user, first in zip(users, firsts, strict=True):
        _user_events(draw, user, first, user.user_id in paying, raw_events)
    raw_events = [event for event in raw_events if event[0] < _END]
    raw_events.sort(key=itemgetter(0))

    user_rows: list[Row] = [
        (u.user_id, _timestamp(u.signup), current_plan[u.user_id], u.country, u.channel)
        for u in users
    ]
    event_rows: list[Row] = [
        (event_id, user_id, event_type, platform, PERIOD_START + dt.timedelta(seconds=second))
        for event_id, (second, user_id, event_type, platform) in enumerate(raw_events, 1)
    ]
    subscription_rows: list[Row] = [
        (
            subscription_id,
            s.user_id,
            s.plan,
            s.mrr,
            _timestamp(s.start),
            None if s.end is None else _timestamp(s.end),
        )
        for subscription_id, s in enumerate(subscriptions, 1)
    ]
    trial_rows: list[Row] = [
        (
            trial_id,
            t.user_id,
            t.plan,
            _timestamp(t.start),
            None if t.end is None else _timestamp(t.end),
        )
        for trial_id, t in enumerate(trials, 1)
    ]
    spans = [
        (s.start // _DAY, _N_DAYS - 1 if s.end is None else s.end // _DAY - 1)
        for s in subscriptions
    ]
    return DemoData(
        (
            Table("users", SCHEMA["users"], user_rows),
            Table("events", SCHEMA["events"], event_rows),
            Table("subscriptions", SCHEMA["subscriptions"], subscription_rows),
            Table(
                "subscription_snapshots",
                SCHEMA["subscription_snapshots"],
                _snapshot_rows(subscription_rows, spans),
            ),
            Table("trials", SCHEMA["trials"], trial_rows),
            Table("plan_history", SCHEMA["plan_history"], _plan_history_rows(users, subscriptions)),
            retail_calendar(),
        )
    )
