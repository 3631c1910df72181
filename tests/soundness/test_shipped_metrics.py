"""Every shipped metric against SQL written by hand over the demo tables.

The expectations never come from the library's SQL: each metric is restated below straight from
its definition's description, with periods computed by date arithmetic instead of DATE_TRUNC.
Every hand query returns ``(period, *dimensions, value)``; without a time grain the period is one
constant that spans the whole range, and is dropped from the key.

The windowed metrics (WAU, MAU, stickiness, month-to-date new MRR) are a value per day: their
hand queries list the days of the range, take each period's last day in it, and join those days
to the rows of the window ending on them (docs/time.md).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

import pytest

import metrics_layer as ml

Sql = Callable[[str], list[tuple[object, ...]]]
Key = tuple[object, ...]

WHOLE_RANGE = "DATE '1900-01-01'"
QUALIFYING = "e.event_type NOT IN ('email_open', 'login_failed')"
EVER_PAID = "u.user_id IN (SELECT user_id FROM subscriptions)"


@dataclass(frozen=True)
class Shape:
    """One way of asking for a metric: grain, user dimensions, a country filter, a date range."""

    id: str
    grain: str | None = None
    dims: tuple[str, ...] = ()
    country: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def by(self) -> list[str]:
        time = [f"metric_time.{self.grain}"] if self.grain else []
        return time + [f"user.{d}" for d in self.dims]

    @property
    def where(self) -> str | None:
        return None if self.country is None else f"user.country = '{self.country}'"

    def period(self, time: str) -> str:
        """The first day of the period holding ``time``, by plain date arithmetic."""
        day = f"CAST({time} AS DATE)"
        if self.grain is None:
            return WHOLE_RANGE
        if self.grain == "day":
            return day
        if self.grain == "week":
            return f"({day} - CAST(isodow({time}) - 1 AS INTEGER))"
        if self.grain == "month":
            return f"make_date(year({time}), month({time}), 1)"
        if self.grain == "quarter":
            return f"make_date(year({time}), 3 * (quarter({time}) - 1) + 1, 1)"
        assert self.grain == "year"
        return f"make_date(year({time}), 1, 1)"

    def keys(self, time: str) -> str:
        """Select list of the grain: the period, then the user dimensions."""
        return ", ".join([f"{self.period(time)} AS period", *(f"u.{d}" for d in self.dims)])

    def in_range(self, time: str) -> str:
        """Inclusive calendar-date range on ``time`` (TRUE without bounds)."""
        parts = ["TRUE"]
        if self.start is not None:
            parts.append(f"CAST({time} AS DATE) >= DATE '{self.start.isoformat()}'")
        if self.end is not None:
            parts.append(f"CAST({time} AS DATE) <= DATE '{self.end.isoformat()}'")
        return " AND ".join(parts)

    def conditions(self, time: str) -> str:
        country = "TRUE" if self.country is None else f"u.country = '{self.country}'"
        return f"{self.in_range(time)} AND {country}"

    def key(self, row: tuple[object, ...]) -> Key:
        """The grain part of a hand-query row, as the library reports it."""
        width = 1 + len(self.dims)
        return row[1:width] if self.grain is None else row[:width]


SHAPES = (
    Shape("by-month", grain="month"),
    Shape("by-week-in-range", grain="week", start=dt.date(2026, 1, 7), end=dt.date(2026, 3, 18)),
    Shape(
        "by-month-and-plan-in-germany",
        grain="month",
        dims=("plan",),
        country="DE",
        start=dt.date(2025, 11, 1),
        end=dt.date(2026, 4, 30),
    ),
    Shape(
        "by-country-in-range", dims=("country",), start=dt.date(2026, 2, 3), end=dt.date(2026, 5, 9)
    ),
    Shape("ungrouped-in-range", start=dt.date(2025, 12, 20), end=dt.date(2026, 2, 10)),
    Shape("by-quarter-and-plan", grain="quarter", dims=("plan",), start=dt.date(2025, 2, 14)),
)


# -- hand-written SQL, one function per metric -----------------------------------------------


def daily_active_users(shape: Shape) -> str:
    """Distinct users with a qualifying event per day; a longer period averages its days, and
    every day with any event row (in the range, whatever the filter) counts, as 0 if need be."""
    return f"""
        WITH days AS (
            SELECT DISTINCT CAST(occurred_at AS DATE) AS day
            FROM events
            WHERE {shape.in_range("occurred_at")}
        ), days_per_period AS (
            SELECT {shape.period("day")} AS period, count(*) AS n
            FROM days
            GROUP BY ALL
        ), per_day AS (
            SELECT {shape.keys("e.occurred_at")}, CAST(e.occurred_at AS DATE) AS day,
                   count(DISTINCT e.user_id) FILTER (WHERE {QUALIFYING}) AS active
            FROM events AS e
            JOIN users AS u ON u.user_id = e.user_id
            WHERE {shape.conditions("e.occurred_at")}
            GROUP BY ALL
        )
        SELECT per_day.* EXCLUDE (day, active),
               CAST(sum(per_day.active) AS DOUBLE) / any_value(days_per_period.n)
        FROM per_day
        JOIN days_per_period ON days_per_period.period = per_day.period
        GROUP BY ALL
    """


def signups(shape: Shape) -> str:
    return f"""
        SELECT {shape.keys("u.signed_up_at")}, count(*)
        FROM users AS u
        WHERE {shape.conditions("u.signed_up_at")}
        GROUP BY ALL
    """


def events_per_active_user(shape: Shape) -> str:
    return f"""
        SELECT {shape.keys("e.occurred_at")},
               CAST(count(*) FILTER (WHERE {QUALIFYING}) AS DOUBLE)
               / NULLIF(count(DISTINCT e.user_id) FILTER (WHERE {QUALIFYING}), 0)
        FROM events AS e
        JOIN users AS u ON u.user_id = e.user_id
        WHERE {shape.conditions("e.occurred_at")}
        GROUP BY ALL
    """


def paid_conversion_rate(shape: Shape) -> str:
    return f"""
        SELECT {shape.keys("u.signed_up_at")},
               CAST(count(*) FILTER (WHERE {EVER_PAID}) AS DOUBLE) / NULLIF(count(*), 0)
        FROM users AS u
        WHERE {shape.conditions("u.signed_up_at")}
        GROUP BY ALL
    """


def _last_snapshot(shape: Shape, value: str) -> str:
    """``value`` over the snapshot rows of the last snapshot date of each period, that date
    being taken over every snapshot row in the range (not per group)."""
    return f"""
        WITH last_day AS (
            SELECT {shape.period("snapshot_date")} AS period, max(snapshot_date) AS day
            FROM subscription_snapshots
            WHERE {shape.in_range("snapshot_date")}
            GROUP BY ALL
        )
        SELECT {shape.keys("s.snapshot_date")}, {value}
        FROM subscription_snapshots AS s
        JOIN last_day ON last_day.day = s.snapshot_date
        JOIN users AS u ON u.user_id = s.user_id
        WHERE {shape.conditions("s.snapshot_date")}
        GROUP BY ALL
    """


def mrr(shape: Shape) -> str:
    return _last_snapshot(shape, "sum(s.mrr)")


def paying_customers(shape: Shape) -> str:
    return _last_snapshot(shape, "count(DISTINCT s.user_id)")


def arpu(shape: Shape) -> str:
    return _last_snapshot(
        shape, "CAST(sum(s.mrr) AS DOUBLE) / NULLIF(count(DISTINCT s.user_id), 0)"
    )


def new_mrr(shape: Shape) -> str:
    return f"""
        SELECT {shape.keys("s.started_at")}, sum(s.mrr)
        FROM subscriptions AS s
        JOIN users AS u ON u.user_id = s.user_id
        WHERE {shape.conditions("s.started_at")}
        GROUP BY ALL
    """


def _ended(shape: Shape, value: str) -> str:
    """``value`` over subscriptions by the time they ended; open ones (no end) in no period."""
    return f"""
        SELECT {shape.keys("s.ended_at")}, {value}
        FROM subscriptions AS s
        JOIN users AS u ON u.user_id = s.user_id
        WHERE s.ended_at IS NOT NULL AND {shape.conditions("s.ended_at")}
        GROUP BY ALL
    """


def cancelled_subscriptions(shape: Shape) -> str:
    return _ended(shape, "count(*)")


def churned_mrr(shape: Shape) -> str:
    return _ended(shape, "sum(s.mrr)")


def net_new_mrr(shape: Shape) -> str:
    """MRR started minus MRR ended, each in its own period; no start is no value (NULL), no
    end is 0 ended."""
    dims = "".join(f", {d}" for d in shape.dims)
    return f"""
        WITH moves AS (
            SELECT {shape.keys("s.started_at")}, s.mrr AS started, 0 AS ended
            FROM subscriptions AS s
            JOIN users AS u ON u.user_id = s.user_id
            WHERE {shape.conditions("s.started_at")}
            UNION ALL
            SELECT {shape.keys("s.ended_at")}, NULL, s.mrr
            FROM subscriptions AS s
            JOIN users AS u ON u.user_id = s.user_id
            WHERE s.ended_at IS NOT NULL AND {shape.conditions("s.ended_at")}
        )
        SELECT period{dims}, sum(started) - sum(ended)
        FROM moves
        GROUP BY ALL
    """


def new_users(shape: Shape) -> str:
    """Users counted in the period of their first qualifying event, whenever they signed up."""
    return f"""
        WITH first_activity AS (
            SELECT e.user_id, min(e.occurred_at) AS first_active_at
            FROM events AS e
            WHERE {QUALIFYING}
            GROUP BY e.user_id
        )
        SELECT {shape.keys("f.first_active_at")}, count(*)
        FROM first_activity AS f
        JOIN users AS u ON u.user_id = f.user_id
        WHERE {shape.conditions("f.first_active_at")}
        GROUP BY ALL
    """


# -- windowed metrics: a value per day, each period showing the day of its last day in range --


def _windowed(shape: Shape, rows: str, value: str, window_start: str, empty: str) -> str:
    """``value`` over the ``rows`` (day, user_id, user dimensions) whose day is in the window
    of each period's last day: from ``window_start`` (an expression of ``last_day``) up to and
    including the last day. The range runs from the shape's start (else the first day with
    rows) to its end (else the last day with rows); each period's last day is the last day of
    the range in it. Grouped by time only, every period is a row, ``empty`` when its window
    has no rows; with user dimensions, only the groups that have rows in the window."""
    start = f"DATE '{shape.start}'" if shape.start else "min(day)"
    end = f"DATE '{shape.end}'" if shape.end else "max(day)"
    dims = "".join(f", r.{d}" for d in shape.dims)
    join = "JOIN" if shape.dims else "LEFT JOIN"
    return f"""
        WITH r AS ({rows}), bounds AS (
            SELECT {start} AS first_day, {end} AS last_day FROM r
        ), spine AS (
            SELECT CAST(unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS DATE)
                   AS day
            FROM bounds
        ), last_days AS (
            SELECT {shape.period("day")} AS period, max(day) AS last_day
            FROM spine
            GROUP BY ALL
        )
        SELECT last_days.period{dims}, coalesce({value}, {empty})
        FROM last_days
        {join} r ON r.day >= {window_start} AND r.day <= last_days.last_day
        GROUP BY ALL
    """


def _active_rows(shape: Shape) -> str:
    """Qualifying events: day, user, user dimensions; the query's country filter applied."""
    dims = "".join(f", u.{d}" for d in shape.dims)
    country = "TRUE" if shape.country is None else f"u.country = '{shape.country}'"
    return f"""
        SELECT CAST(e.occurred_at AS DATE) AS day, e.user_id{dims}
        FROM events AS e
        JOIN users AS u ON u.user_id = e.user_id
        WHERE {QUALIFYING} AND {country}
    """


def weekly_active_users(shape: Shape) -> str:
    """Distinct users active in the 7 days ending on the period's last day."""
    window = "last_days.last_day - 6"
    return _windowed(shape, _active_rows(shape), "count(DISTINCT r.user_id)", window, "0")


def monthly_active_users(shape: Shape) -> str:
    """Distinct users active in the 28 days ending on the period's last day."""
    window = "last_days.last_day - 27"
    return _windowed(shape, _active_rows(shape), "count(DISTINCT r.user_id)", window, "0")


def new_mrr_month_to_date(shape: Shape) -> str:
    """MRR of subscriptions started from the first of the month of the period's last day up
    to that day."""
    dims = "".join(f", u.{d}" for d in shape.dims)
    country = "TRUE" if shape.country is None else f"u.country = '{shape.country}'"
    rows = f"""
        SELECT CAST(s.started_at AS DATE) AS day, s.user_id, s.mrr{dims}
        FROM subscriptions AS s
        JOIN users AS u ON u.user_id = s.user_id
        WHERE {country}
    """
    month_start = "make_date(year(last_days.last_day), month(last_days.last_day), 1)"
    return _windowed(shape, rows, "sum(r.mrr)", month_start, "NULL")


def stickiness(shape: Shape) -> str:
    """Average DAU of the period over the MAU of its last day (NULL without MAU)."""
    names = ["period", *shape.dims, "value"]
    columns = ", ".join(names)
    keys = ", ".join(names[:-1])
    return f"""
        SELECT {keys}, CAST(coalesce(dau.value, 0) AS DOUBLE) / NULLIF(mau.value, 0)
        FROM ({daily_active_users(shape)}) AS dau({columns})
        FULL JOIN ({monthly_active_users(shape)}) AS mau({columns}) USING ({keys})
    """


HAND_SQL: dict[str, Callable[[Shape], str]] = {
    "daily_active_users": daily_active_users,
    "signups": signups,
    "events_per_active_user": events_per_active_user,
    "paid_conversion_rate": paid_conversion_rate,
    "mrr": mrr,
    "paying_customers": paying_customers,
    "arpu": arpu,
    "new_mrr": new_mrr,
    "cancelled_subscriptions": cancelled_subscriptions,
    "churned_mrr": churned_mrr,
    "net_new_mrr": net_new_mrr,
    "new_users": new_users,
    "weekly_active_users": weekly_active_users,
    "monthly_active_users": monthly_active_users,
    "stickiness": stickiness,
    "new_mrr_month_to_date": new_mrr_month_to_date,
}


# -- comparison -------------------------------------------------------------------------------


def same(actual: object, expected: object) -> bool:
    """Equal as numbers: Decimals exactly, anything involving a float within 1e-9."""
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(actual, Decimal) and isinstance(expected, Decimal):
        return actual == expected
    assert isinstance(actual, int | float | Decimal), actual
    assert isinstance(expected, int | float | Decimal), expected
    return math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=0.0)


def assert_same(actual: Mapping[Key, object], expected: Mapping[Key, object]) -> None:
    assert expected, "the hand query found no rows, so it proves nothing"
    assert sorted(actual, key=repr) == sorted(expected, key=repr)
    wrong = {k: (actual[k], v) for k, v in expected.items() if not same(actual[k], v)}
    assert not wrong, f"{len(wrong)} of {len(expected)} groups differ (actual, expected): " + repr(
        dict(list(wrong.items())[:5])
    )


def by_key(result: ml.Result, metric: str, width: int) -> dict[Key, object]:
    column = result.columns.index(metric)
    found = {row[:width]: row[column] for row in result.rows}
    assert len(found) == len(result.rows), "the result repeats a grain"
    return found


def expected_rows(demo_sql: Sql, shape: Shape, metric: str) -> dict[Key, object]:
    rows = demo_sql(HAND_SQL[metric](shape))
    found = {shape.key(row): row[-1] for row in rows}
    assert len(found) == len(rows)
    return found


# -- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.id)
@pytest.mark.parametrize("metric", sorted(HAND_SQL))
def test_metric_equals_hand_sql(
    layer: ml.SemanticLayer, demo_sql: Sql, metric: str, shape: Shape
) -> None:
    result = layer.query(
        metric, by=shape.by, where=shape.where, start=shape.start, end=shape.end
    ).run()
    assert result.columns == (*shape.by, metric)
    actual = by_key(result, metric, len(shape.by))
    assert_same(actual, expected_rows(demo_sql, shape, metric))


def test_readme_query_joins_two_sources_on_the_grain(
    layer: ml.SemanticLayer, demo_sql: Sql
) -> None:
    result = layer.query(
        ["daily_active_users", "signups"],
        by=["metric_time.week", "user.plan"],
        where="user.country = 'DE'",
        start="2026-01-01",
        end="2026-03-31",
    ).run()
    shape = Shape(
        "readme",
        grain="week",
        dims=("plan",),
        country="DE",
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 3, 31),
    )
    dau = expected_rows(demo_sql, shape, "daily_active_users")
    new_users = expected_rows(demo_sql, shape, "signups")
    assert set(dau) - set(new_users), "some weeks and plans must have actives but no signups"
    keys = set(dau) | set(new_users)
    assert_same(by_key(result, "daily_active_users", 2), {k: dau.get(k, 0.0) for k in keys})
    assert_same(by_key(result, "signups", 2), {k: new_users.get(k, 0) for k in keys})
    signups_column = result.column("signups")
    assert all(type(value) is int for value in signups_column)


def test_all_metrics_in_one_query_equal_each_alone(layer: ml.SemanticLayer, demo_sql: Sql) -> None:
    shape = Shape(
        "together",
        grain="month",
        dims=("plan",),
        country="FR",
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 6, 30),
    )
    metrics = sorted(HAND_SQL)
    result = layer.query(
        metrics, by=shape.by, where=shape.where, start=shape.start, end=shape.end
    ).run()
    hand = {m: expected_rows(demo_sql, shape, m) for m in metrics}
    keys = set().union(*(set(rows) for rows in hand.values()))
    absent_is_zero = {
        "signups",
        "paying_customers",
        "daily_active_users",
        "cancelled_subscriptions",
        "churned_mrr",
        "new_users",
        "weekly_active_users",
        "monthly_active_users",
    }
    for metric, rows in hand.items():
        fill = 0 if metric in absent_is_zero else None
        assert_same(by_key(result, metric, 2), {k: rows.get(k, fill) for k in keys})
