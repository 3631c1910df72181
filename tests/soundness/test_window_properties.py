"""Properties of rolling and cumulative metrics over random rows, against a plain-Python
evaluator of the rules in docs/time.md.

Each example is a handful of events (user, day, amount) around month ends; the rows are a
literal SELECT in the source's ``sql:``, run on DuckDB. On every day of the range:
DAU <= WAU <= MAU; a window of one day is the daily value; WAU and MAU equal distinct users
over the last 7 and 28 days; an all-time sum of non-negative amounts never decreases and
equals the running total; a period shows the window of its last, first or every day.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soundness.literal import LiteralLayer, literal_rows

FIRST = dt.date(2026, 1, 20)
LAST = dt.date(2026, 3, 5)
SPAN = (LAST - FIRST).days

Event = tuple[int, int, int]  # user, day number from FIRST, amount

events = st.lists(
    st.tuples(st.integers(1, 5), st.integers(-30, SPAN), st.integers(0, 20)),
    min_size=1,
    max_size=25,
)


def _definitions(rows: list[Event]) -> str:
    events = literal_rows(
        {"event_id": None, "user_id": None, "at": "TIMESTAMP", "amount": None},
        [
            (n, user, f"{FIRST + dt.timedelta(days=day)} 12:00:00", amount)
            for n, (user, day, amount) in enumerate(rows)
        ],
    )
    return f"""
sources:
  - name: events
    sql: "{events}"
    time: at
    entities: [{{name: event, key: event_id, primary: true}}]
    dimensions: [{{name: at, type: time, grain: hour}}]
    measures:
      - {{name: users, agg: count_distinct, expr: user_id}}
      - {{name: amount, agg: sum, expr: amount}}
metrics:
  - {{name: dau, type: simple, measure: events.users}}
  - {{name: one_day, type: rolling, measure: events.users, window: 1 day}}
  - {{name: wau, type: rolling, measure: events.users, window: 7 days}}
  - {{name: mau, type: rolling, measure: events.users, window: 28 days}}
  - {{name: wau_first, type: rolling, measure: events.users, window: 7 days, rollup: first}}
  - {{name: wau_average, type: rolling, measure: events.users, window: 7 days, rollup: average}}
  - {{name: total, type: cumulative, measure: events.amount}}
  - {{name: month_to_date, type: cumulative, measure: events.amount, grain_to_date: month}}
"""


def _distinct(rows: list[Event], end: dt.date, days: int) -> int:
    earliest = end - dt.timedelta(days=days - 1)
    return len({u for u, d, _ in rows if earliest <= FIRST + dt.timedelta(days=d) <= end})


def _sum_since(rows: list[Event], first: dt.date | None, end: dt.date) -> int | None:
    values = [
        a
        for _, d, a in rows
        if (first is None or first <= FIRST + dt.timedelta(days=d))
        and FIRST + dt.timedelta(days=d) <= end
    ]
    return sum(values) if values else None


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=events)
def test_windows_equal_the_rules(rows: list[Event], literal_layer: LiteralLayer) -> None:
    layer = literal_layer(_definitions(rows), "duckdb")
    daily = layer.query(
        ["dau", "one_day", "wau", "mau", "total", "month_to_date"],
        by=["metric_time.day"],
        start=FIRST,
        end=LAST,
        fill_periods=True,
    ).run()
    days = [FIRST + dt.timedelta(days=n) for n in range(SPAN + 1)]
    assert [row[0] for row in daily.rows] == days
    previous = 0
    for day, dau, one_day, wau, mau, total, month_to_date in daily.rows:
        assert dau <= wau <= mau
        assert one_day == dau == _distinct(rows, day, 1)
        assert wau == _distinct(rows, day, 7)
        assert mau == _distinct(rows, day, 28)
        assert total == _sum_since(rows, None, day)
        assert (total or 0) >= previous
        previous = total or 0
        assert month_to_date == _sum_since(rows, day.replace(day=1), day)
    weekly = layer.query(
        ["wau", "wau_first", "wau_average"], by=["metric_time.week"], start=FIRST, end=LAST
    ).run()
    for week, wau, wau_first, wau_average in weekly.rows:
        inside = [d for d in days if week <= d < week + dt.timedelta(days=7)]
        assert wau == _distinct(rows, inside[-1], 7)
        assert wau_first == _distinct(rows, inside[0], 7)
        expected = sum(_distinct(rows, d, 7) for d in inside) / len(inside)
        assert abs(wau_average - expected) < 1e-9
