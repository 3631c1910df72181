"""The shipped product KPIs (conversion, retention, churn and the feature-adoption metrics)
against SQL written by hand over the demo tables.

Each hand query restates a metric from its description, not from the library's SQL: periods
come from date arithmetic, "converted", "retained" and "churned" from joins and EXISTS-style
lookups over the raw tables. The project's time zone is UTC and the demo's timestamps are UTC,
so an event's calendar day is ``CAST(ts AS DATE)``. Every hand query returns
``(period, *user dimensions, [cohort period k,] value)``.

The rules written out here:

- activation (conversion, 7 days): per user, the signup; converted when a project_created
  event at or after the signup falls on a calendar day at most 7 days after the signup day;
  attributed to the signup's period.
- trial to paid (conversion, 14 days): per user, the first trial; converted when a
  subscription starting at or after it falls on a day at most 14 days after the trial's day.
- retention after k days: cohort by signup day; retained when a meaningful event falls on
  exactly the signup day + k; users whose day k is after the last day with a meaningful event
  are left out of both parts.
- weekly cohort table: cohort by signup week (Monday); for k = 0..12, retained when a
  meaningful event falls in week cohort week + k; a (user, k) pair counts only once that week
  has ended on or before the last day with a meaningful event.
- churn (monthly): per user (subscription) and month active; the previous month's actives
  against this month's; months after the last month with activity are not shown. Snapshots
  (semi-additive) are read on the month's last day with any snapshot row.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

import pytest

import metrics_layer as ml
from metrics_layer.errors import QueryError

Sql = Callable[[str], list[tuple[object, ...]]]
Key = tuple[object, ...]

MEANINGFUL = "event_type NOT IN ('email_open', 'login_failed')"
COHORT_PERIOD = "weekly_cohort_retention.period"


@dataclass(frozen=True)
class Shape:
    """One way of asking: a grain, user dimensions, a filter on a user column, a date range."""

    id: str
    grain: str
    dims: tuple[str, ...] = ()
    only: tuple[str, str] | None = None  # (user column, value) for ``where``
    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def by(self) -> list[str]:
        return [f"metric_time.{self.grain}", *(f"user.{d}" for d in self.dims)]

    @property
    def where(self) -> str | None:
        return None if self.only is None else f"user.{self.only[0]} = '{self.only[1]}'"

    def period(self, day: str) -> str:
        """The first day of the period holding the date ``day``, by date arithmetic."""
        if self.grain == "day":
            return day
        if self.grain == "week":
            return f"({day} - CAST(isodow({day}) - 1 AS INTEGER))"
        assert self.grain == "month"
        return f"make_date(year({day}), month({day}), 1)"

    def dims_of(self, table: str) -> str:
        return "".join(f", {table}.{d}" for d in self.dims)

    def user_filter(self, table: str = "u") -> str:
        return "TRUE" if self.only is None else f"{table}.{self.only[0]} = '{self.only[1]}'"

    def in_range(self, day: str) -> str:
        parts = ["TRUE"]
        if self.start is not None:
            parts.append(f"{day} >= DATE '{self.start.isoformat()}'")
        if self.end is not None:
            parts.append(f"{day} <= DATE '{self.end.isoformat()}'")
        return " AND ".join(parts)


SHAPES = (
    Shape("by-day-in-range", "day", start=dt.date(2026, 3, 1), end=dt.date(2026, 4, 15)),
    Shape(
        "by-week-and-country-in-range",
        "week",
        dims=("country",),
        start=dt.date(2025, 11, 5),  # a Wednesday: the first week is cut
        end=dt.date(2026, 6, 30),
    ),
    Shape(
        "by-month-and-channel-in-germany",
        "month",
        dims=("acquisition_channel",),
        only=("country", "DE"),
        start=dt.date(2025, 6, 1),
        end=dt.date(2026, 10, 31),
    ),
    Shape("by-month-paid-search-all-time", "month", only=("acquisition_channel", "paid_search")),
)

CHURN_SHAPES = (
    Shape("by-month-all-time", "month"),
    Shape(
        "by-month-and-country-in-range",
        "month",
        dims=("country",),
        start=dt.date(2025, 2, 1),
        end=dt.date(2026, 6, 30),
    ),
    Shape(
        "by-month-and-channel-in-germany",
        "month",
        dims=("acquisition_channel",),
        only=("country", "DE"),
        start=dt.date(2025, 9, 1),
    ),
    Shape("by-month-paid-search-to-the-end", "month", only=("acquisition_channel", "paid_search"),
          start=dt.date(2026, 5, 1)),
)  # fmt: skip


# -- hand-written SQL ---------------------------------------------------------------------------


def activation_rate_7d(shape: Shape) -> str:
    return f"""
        WITH signed_up AS (
            SELECT u.user_id, u.signed_up_at, CAST(u.signed_up_at AS DATE) AS signup_day
                   {shape.dims_of("u")}
            FROM users AS u
            WHERE {shape.user_filter()} AND {shape.in_range("CAST(u.signed_up_at AS DATE)")}
        ), activated AS (
            SELECT DISTINCT s.user_id
            FROM signed_up AS s
            JOIN events AS e ON e.user_id = s.user_id
            WHERE e.event_type = 'project_created'
              AND e.occurred_at >= s.signed_up_at
              AND CAST(e.occurred_at AS DATE) <= s.signup_day + 7
        )
        SELECT {shape.period("s.signup_day")} AS period {shape.dims_of("s")},
               CAST(count(a.user_id) AS DOUBLE) / count(*)
        FROM signed_up AS s
        LEFT JOIN activated AS a ON a.user_id = s.user_id
        GROUP BY ALL
    """


def trial_to_paid_rate(shape: Shape) -> str:
    # a user's first trial is the base (a second trial is not a new one)
    return f"""
        WITH first_trial AS (
            SELECT t.user_id, min(t.started_at) AS started_at
            FROM trials AS t
            GROUP BY t.user_id
        ), tried AS (
            SELECT f.user_id, f.started_at, CAST(f.started_at AS DATE) AS trial_day
                   {shape.dims_of("u")}
            FROM first_trial AS f
            JOIN users AS u ON u.user_id = f.user_id
            WHERE {shape.user_filter()} AND {shape.in_range("CAST(f.started_at AS DATE)")}
        ), paid AS (
            SELECT DISTINCT t.user_id
            FROM tried AS t
            JOIN subscriptions AS s ON s.user_id = t.user_id
            WHERE s.started_at >= t.started_at
              AND CAST(s.started_at AS DATE) <= t.trial_day + 14
        )
        SELECT {shape.period("t.trial_day")} AS period {shape.dims_of("t")},
               CAST(count(p.user_id) AS DOUBLE) / count(*)
        FROM tried AS t
        LEFT JOIN paid AS p ON p.user_id = t.user_id
        GROUP BY ALL
    """


def _meaningful_days() -> str:
    return f"""
        SELECT DISTINCT user_id, CAST(occurred_at AS DATE) AS day
        FROM events
        WHERE {MEANINGFUL}
    """


def _retention_after(days: int) -> Callable[[Shape], str]:
    def hand(shape: Shape) -> str:
        return f"""
            WITH active AS ({_meaningful_days()}),
            data_end AS (SELECT max(day) AS last_day FROM active),
            cohort AS (
                SELECT u.user_id, CAST(u.signed_up_at AS DATE) AS signup_day
                       {shape.dims_of("u")}
                FROM users AS u
                CROSS JOIN data_end
                WHERE {shape.user_filter()}
                  AND {shape.in_range("CAST(u.signed_up_at AS DATE)")}
                  AND CAST(u.signed_up_at AS DATE) + {days} <= data_end.last_day
            )
            SELECT {shape.period("c.signup_day")} AS period {shape.dims_of("c")},
                   CAST(count(a.user_id) AS DOUBLE) / count(*)
            FROM cohort AS c
            LEFT JOIN active AS a ON a.user_id = c.user_id AND a.day = c.signup_day + {days}
            GROUP BY ALL
        """

    return hand


def _monday(day: str) -> str:
    return f"({day} - CAST(isodow({day}) - 1 AS INTEGER))"


def weekly_cohort_retention(shape: Shape) -> str:
    return f"""
        WITH active_weeks AS (
            SELECT DISTINCT user_id, {_monday("day")} AS week FROM ({_meaningful_days()})
        ),
        data_end AS (
            SELECT max(CAST(occurred_at AS DATE)) AS last_day FROM events WHERE {MEANINGFUL}
        ),
        cohort AS (
            SELECT u.user_id, CAST(u.signed_up_at AS DATE) AS signup_day,
                   {_monday("CAST(u.signed_up_at AS DATE)")} AS cohort_week {shape.dims_of("u")}
            FROM users AS u
            WHERE {shape.user_filter()} AND {shape.in_range("CAST(u.signed_up_at AS DATE)")}
        ),
        cells AS (
            SELECT c.*, k.k, c.cohort_week + 7 * k.k AS week
            FROM cohort AS c
            CROSS JOIN (SELECT CAST(unnest(range(0, 13)) AS INTEGER) AS k) AS k
            CROSS JOIN data_end
            WHERE c.cohort_week + 7 * k.k + 6 <= data_end.last_day
        )
        SELECT {shape.period("c.signup_day")} AS period {shape.dims_of("c")}, c.k,
               CAST(count(a.user_id) AS DOUBLE) / count(*)
        FROM cells AS c
        LEFT JOIN active_weeks AS a ON a.user_id = c.user_id AND a.week = c.week
        GROUP BY ALL
    """


def _first_of_month(day: str) -> str:
    return f"make_date(year({day}), month({day}), 1)"


def _next_month(month: str) -> str:
    return f"CAST({month} + INTERVAL 1 MONTH AS DATE)"


def user_churn_rate(shape: Shape) -> str:
    return f"""
        WITH active_months AS (
            SELECT DISTINCT user_id, {_first_of_month("occurred_at")} AS month
            FROM events
            WHERE {MEANINGFUL}
        ),
        data_end AS (SELECT max(month) AS last_month FROM active_months),
        was_active AS (
            SELECT user_id, {_next_month("month")} AS month FROM active_months
        )
        SELECT w.month {shape.dims_of("u")},
               CAST(count(*) FILTER (WHERE now.user_id IS NULL) AS DOUBLE) / count(*)
        FROM was_active AS w
        CROSS JOIN data_end
        JOIN users AS u ON u.user_id = w.user_id
        LEFT JOIN active_months AS now ON now.user_id = w.user_id AND now.month = w.month
        WHERE w.month <= data_end.last_month
          AND {shape.user_filter()} AND {shape.in_range("w.month")}
        GROUP BY ALL
    """


_MONTH_ENDS = f"""
    SELECT {_first_of_month("snapshot_date")} AS month, max(snapshot_date) AS last_day
    FROM subscription_snapshots
    GROUP BY ALL
"""


def subscription_churn_rate(shape: Shape) -> str:
    return f"""
        WITH month_ends AS ({_MONTH_ENDS}),
        active_at_end AS (
            SELECT DISTINCT s.subscription_id, m.month
            FROM subscription_snapshots AS s
            JOIN month_ends AS m ON m.last_day = s.snapshot_date
        ),
        active_at_start AS (
            SELECT subscription_id, {_next_month("month")} AS month FROM active_at_end
        )
        SELECT st.month {shape.dims_of("u")},
               CAST(count(*) FILTER (WHERE e.subscription_id IS NULL) AS DOUBLE) / count(*)
        FROM active_at_start AS st
        JOIN subscriptions AS sub ON sub.subscription_id = st.subscription_id
        JOIN users AS u ON u.user_id = sub.user_id
        LEFT JOIN active_at_end AS e
            ON e.subscription_id = st.subscription_id AND e.month = st.month
        WHERE st.month <= (SELECT max(month) FROM month_ends)
          AND {shape.user_filter()} AND {shape.in_range("st.month")}
        GROUP BY ALL
    """


def net_revenue_retention(shape: Shape) -> str:
    return f"""
        WITH month_ends AS ({_MONTH_ENDS}),
        mrr_at_end AS (
            SELECT s.user_id, m.month, sum(s.mrr) AS mrr
            FROM subscription_snapshots AS s
            JOIN month_ends AS m ON m.last_day = s.snapshot_date
            GROUP BY ALL
        ),
        starting AS (
            SELECT user_id, {_next_month("month")} AS month, mrr
            FROM mrr_at_end
            WHERE mrr > 0
        )
        SELECT st.month {shape.dims_of("u")},
               CAST(sum(coalesce(e.mrr, 0)) AS DOUBLE) / CAST(sum(st.mrr) AS DOUBLE)
        FROM starting AS st
        JOIN users AS u ON u.user_id = st.user_id
        LEFT JOIN mrr_at_end AS e ON e.user_id = st.user_id AND e.month = st.month
        WHERE st.month <= (SELECT max(month) FROM month_ends)
          AND {shape.user_filter()} AND {shape.in_range("st.month")}
        GROUP BY ALL
    """


def _distinct_users(condition: str) -> Callable[[Shape], str]:
    """Distinct users with an event meeting ``condition`` in the period; a group without one
    is not shown (asked for alone, like a plain GROUP BY over the matching events)."""

    def hand(shape: Shape) -> str:
        day = "CAST(e.occurred_at AS DATE)"
        return f"""
            SELECT {shape.period(day)} AS period {shape.dims_of("u")}, count(DISTINCT e.user_id)
            FROM events AS e
            JOIN users AS u ON u.user_id = e.user_id
            WHERE e.{condition} AND {shape.user_filter()} AND {shape.in_range(day)}
            GROUP BY ALL
        """

    return hand


def feature_adoption_rate(shape: Shape) -> str:
    """Report sharers over active users of the same period and group: 0 where nobody shared,
    no value where a group has events but none meaningful."""
    day = "CAST(e.occurred_at AS DATE)"
    return f"""
        SELECT {shape.period(day)} AS period {shape.dims_of("u")},
               CAST(count(DISTINCT e.user_id) FILTER (WHERE e.event_type = 'report_shared')
                    AS DOUBLE)
               / NULLIF(count(DISTINCT e.user_id) FILTER (WHERE e.{MEANINGFUL}), 0)
        FROM events AS e
        JOIN users AS u ON u.user_id = e.user_id
        WHERE {shape.user_filter()} AND {shape.in_range(day)}
        GROUP BY ALL
    """


HAND_SQL: dict[str, Callable[[Shape], str]] = {
    "activation_rate_7d": activation_rate_7d,
    "trial_to_paid_rate": trial_to_paid_rate,
    "retention_d1": _retention_after(1),
    "retention_d7": _retention_after(7),
    "retention_d30": _retention_after(30),
    "active_users": _distinct_users(MEANINGFUL),
    "report_sharers": _distinct_users("event_type = 'report_shared'"),
    "feature_adoption_rate": feature_adoption_rate,
}
CHURN_SQL: dict[str, Callable[[Shape], str]] = {
    "user_churn_rate": user_churn_rate,
    "subscription_churn_rate": subscription_churn_rate,
    "net_revenue_retention": net_revenue_retention,
}


# -- comparison ---------------------------------------------------------------------------------


def same(actual: object, expected: object) -> bool:
    """Equal as numbers: integers exactly, anything involving a float within 1e-9."""
    if actual is None or expected is None:
        return actual is None and expected is None
    assert isinstance(actual, int | float | Decimal), actual
    assert isinstance(expected, int | float | Decimal), expected
    return math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=0.0)


def assert_same(actual: Mapping[Key, object], expected: Mapping[Key, object]) -> None:
    assert len(expected) > 1, "the hand query found (almost) no rows, so it proves little"
    missing = sorted(set(expected) - set(actual), key=repr)[:5]
    extra = sorted(set(actual) - set(expected), key=repr)[:5]
    assert (missing, extra) == ([], []), "groups missing from the result, groups extra in it"
    wrong = {k: (actual[k], v) for k, v in expected.items() if not same(actual[k], v)}
    assert not wrong, f"{len(wrong)} of {len(expected)} groups differ (actual, expected): " + repr(
        dict(sorted(wrong.items(), key=repr)[:5])
    )


def library_rows(
    layer: ml.SemanticLayer, metric: str, shape: Shape, *extra: str
) -> dict[Key, object]:
    by = [*shape.by, *extra]
    result = layer.query(metric, by=by, where=shape.where, start=shape.start, end=shape.end).run()
    assert result.columns == (*by, metric)
    found = {row[:-1]: row[-1] for row in result.rows}
    assert len(found) == len(result.rows), "the result repeats a group"
    return found


def hand_rows(demo_sql: Sql, sql: str) -> dict[Key, object]:
    rows = demo_sql(sql)
    found = {row[:-1]: row[-1] for row in rows}
    assert len(found) == len(rows), "the hand query repeats a group"
    return found


# -- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.id)
@pytest.mark.parametrize("metric", sorted(HAND_SQL))
def test_kpi_equals_hand_sql(
    layer: ml.SemanticLayer, demo_sql: Sql, metric: str, shape: Shape
) -> None:
    assert_same(library_rows(layer, metric, shape), hand_rows(demo_sql, HAND_SQL[metric](shape)))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.id)
def test_weekly_cohort_table_equals_hand_sql(
    layer: ml.SemanticLayer, demo_sql: Sql, shape: Shape
) -> None:
    expected = hand_rows(demo_sql, weekly_cohort_retention(shape))
    assert {key[-1] for key in expected} == set(range(13)), "every k from 0 to 12 is exercised"
    assert_same(library_rows(layer, "weekly_cohort_retention", shape, COHORT_PERIOD), expected)


@pytest.mark.parametrize("shape", CHURN_SHAPES, ids=lambda s: s.id)
@pytest.mark.parametrize("metric", sorted(CHURN_SQL))
def test_churn_kpi_equals_hand_sql(
    layer: ml.SemanticLayer, demo_sql: Sql, metric: str, shape: Shape
) -> None:
    assert_same(library_rows(layer, metric, shape), hand_rows(demo_sql, CHURN_SQL[metric](shape)))


@pytest.mark.parametrize("grain", ["day", "week"])
@pytest.mark.parametrize("metric", sorted(CHURN_SQL))
def test_churn_kpi_refuses_other_grains(layer: ml.SemanticLayer, metric: str, grain: str) -> None:
    with pytest.raises(QueryError, match=r"grouped by metric_time\.month only"):
        layer.query(metric, by=[f"metric_time.{grain}"]).sql()


def test_adoption_with_its_parts_shows_zero_sharers(layer: ml.SemanticLayer, demo_sql: Sql) -> None:
    """Asked together, every group of active users has a number of sharers, 0 if need be, and
    the rate is their quotient."""
    shape = SHAPES[0]
    metrics = ["active_users", "report_sharers", "feature_adoption_rate"]
    result = layer.query(metrics, by=shape.by, start=shape.start, end=shape.end).run()
    actives = hand_rows(demo_sql, HAND_SQL["active_users"](shape))
    sharers = hand_rows(demo_sql, HAND_SQL["report_sharers"](shape))
    rates = hand_rows(demo_sql, feature_adoption_rate(shape))
    assert set(actives) - set(sharers), "some days must have actives but no sharers"
    assert_same({row[:1]: row[1] for row in result.rows}, actives)
    assert_same({row[:1]: row[2] for row in result.rows}, {k: sharers.get(k, 0) for k in actives})
    assert_same({row[:1]: row[3] for row in result.rows}, rates)
