"""Rolling and cumulative metrics, the time spine and offsets, with hand-computed numbers, on
every engine.

The rows are a literal SELECT in the sources' ``sql:`` (nothing is written to any database), so
the same rows reach DuckDB, SQLite, PostgreSQL, MariaDB, ClickHouse (chdb) and Spark.

| id | user | kind       | occurred_at (UTC)   | amount | user's country |
|----|------|------------|---------------------|--------|----------------|
| 1  | 1    | view       | 2025-12-29 10:00:00 | 10.00  | US             |
| 2  | 2    | view       | 2025-12-30 12:00:00 | 5.50   | FR             |
| 3  | 1    | view       | 2025-12-31 23:30:00 | 1.25   | US             |
| 4  | 3    | email_open | 2026-01-01 00:30:00 | 100.00 | US             |
| 5  | 2    | view       | 2026-01-02 08:00:00 | 2.00   | FR             |
| 6  | 1    | view       | 2026-01-05 09:00:00 | 3.00   | US             |
| 7  | 3    | view       | 2026-01-07 15:00:00 | 4.00   | US             |
| 8  | 4    | view       | 2026-01-31 23:59:00 | 0.10   | DE             |
| 9  | 4    | view       | 2026-02-01 00:00:00 | 7.00   | DE             |

Active users (``kind <> 'email_open'``) by UTC day: 12-29 {1}, 12-30 {2}, 12-31 {1}, 01-02 {2},
01-05 {1}, 01-07 {3}, 01-31 {4}, 02-01 {4}; nobody from 01-08 to 01-30. 2025-12-29 is a Monday.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer.errors import DefinitionError, EngineError, QueryError, UnsupportedError
from metrics_layer.sql.windows import JOINED_WINDOWS
from soundness.literal import LiteralLayer, _name, but, literal_rows, mariadb_has_zone_tables
from soundness.literal import fetch as _rows
from soundness.literal import typed as _typed

D = dt.date

_EVENTS = [
    (1, 1, "view", "2025-12-29 10:00:00", Decimal("10.00")),
    (2, 2, "view", "2025-12-30 12:00:00", Decimal("5.50")),
    (3, 1, "view", "2025-12-31 23:30:00", Decimal("1.25")),
    (4, 3, "email_open", "2026-01-01 00:30:00", Decimal("100.00")),
    (5, 2, "view", "2026-01-02 08:00:00", Decimal("2.00")),
    (6, 1, "view", "2026-01-05 09:00:00", Decimal("3.00")),
    (7, 3, "view", "2026-01-07 15:00:00", Decimal("4.00")),
    (8, 4, "view", "2026-01-31 23:59:00", Decimal("0.10")),
    (9, 4, "view", "2026-02-01 00:00:00", Decimal("7.00")),
]
_USERS = [(1, "US"), (2, "FR"), (3, "US"), (4, "DE")]
EVENTS = literal_rows(
    {
        "event_id": None,
        "user_id": None,
        "kind": None,
        "occurred_at": "TIMESTAMP",
        "amount": "DECIMAL(10, 2)",
    },
    _EVENTS,
)
USERS = literal_rows({"user_id": None, "country": None}, _USERS)

ACTIVE = "kind <> 'email_open'"
DEFINITIONS = f"""
    sources:
      - name: events
        sql: "{EVENTS}"
        time: occurred_at
        entities:
          - {{name: event, key: event_id, primary: true}}
          - {{name: user, key: user_id}}
        dimensions:
          - {{name: occurred_at, type: time, grain: hour}}
          - {{name: kind}}
        measures:
          - {{name: events, agg: count}}
          - {{name: users, agg: count_distinct, expr: user_id}}
          - {{name: amount, agg: sum, expr: amount}}
          - {{name: average_amount, agg: avg, expr: amount}}
          - {{name: largest_amount, agg: max, expr: amount}}
      - name: users
        sql: "{USERS}"
        entities:
          - {{name: user, key: user_id, primary: true}}
        dimensions:
          - {{name: country}}
    metrics:
      - {{name: dau, type: simple, measure: events.users, filter: "{ACTIVE}"}}
      - {{name: wau, type: rolling, measure: events.users, window: 7 days, filter: "{ACTIVE}"}}
      - name: wau_or_seven
        type: rolling
        measure: events.users
        window: 7 days
        filter: "{ACTIVE}"
        fill_null: 7
      - name: wau_first
        type: rolling
        measure: events.users
        window: 7 days
        filter: "{ACTIVE}"
        rollup: first
      - name: wau_average
        type: rolling
        measure: events.users
        window: 7 days
        filter: "{ACTIVE}"
        rollup: average
      - {{name: mau, type: rolling, measure: events.users, window: 1 month, filter: "{ACTIVE}"}}
      - {{name: events_all_time, type: cumulative, measure: events.events}}
      - name: amount_mtd
        type: cumulative
        measure: events.amount
        grain_to_date: month
      - name: amount_ytd
        type: cumulative
        measure: events.amount
        grain_to_date: year
      - name: amount_wtd
        type: cumulative
        measure: events.amount
        grain_to_date: week
      - name: amount_fiscal_ytd
        type: cumulative
        measure: events.amount
        grain_to_date: fiscal_year
      - {{name: average_amount_7d, type: rolling, measure: events.average_amount, window: 7 days}}
      - {{name: largest_amount_7d, type: rolling, measure: events.largest_amount, window: 7 days}}
      - {{name: stickiness, type: ratio, numerator: dau, denominator: wau}}
      - name: wau_week_before
        type: derived
        expr: wau_before
        inputs: [{{metric: wau, offset: 1 week, alias: wau_before}}]
      - name: wau_month_start
        type: derived
        expr: at_start
        inputs: [{{metric: wau, offset_to_grain: month, alias: at_start}}]
      - {{name: events, type: simple, measure: events.events}}
      - {{name: amount, type: simple, measure: events.amount}}
      - {{name: amount_or_zero, type: simple, measure: events.amount, fill_null: 0}}
      - {{name: events_every_day, type: simple, measure: events.events, fill_periods: true}}
"""

NOT_SPARK = but("spark")
Load = LiteralLayer


@pytest.fixture
def load(literal_layer: LiteralLayer) -> Load:
    """``load(engine, **project settings)``: the events project on ``engine``."""
    return functools.partial(literal_layer, DEFINITIONS)


# -- distinct over the window, at coarser grains ---------------------------------------------


@pytest.mark.parametrize("engine", NOT_SPARK)
def test_rolling_distinct_count_at_a_coarser_grain(load: Load, engine: str) -> None:
    layer = load(engine)
    by_month = _rows(
        layer,
        ["wau", "wau_first", "dau"],
        by=["metric_time.month"],
        start="2025-12-29",
        end="2026-02-01",
    )
    # December's last day in range is 12-31: days 12-25..12-31 hold users {1, 2} -> 2 (a sum of
    # daily distinct users would be 3: user 1 on 12-29 and 12-31). Its first day in range,
    # 12-29: days 12-23..12-29 -> {1}.
    # January: last day 01-31, days 01-25..01-31 -> {4}; first day 01-01, days 12-26..01-01
    # -> {1, 2} (user 3's email open is not activity).
    # February: 02-01 is both its first and last day in range: 01-26..02-01 -> {4}.
    # dau (not measured per day) is the plain distinct count of the month: Dec {1,2},
    # Jan {1,2,3,4}, Feb {4}.
    assert _typed(by_month) == _typed(
        [(D(2025, 12, 1), 2, 1, 2), (D(2026, 1, 1), 1, 2, 4), (D(2026, 2, 1), 1, 1, 1)]
    )
    by_week = _rows(layer, ["wau"], by=["metric_time.week"], start="2025-12-29", end="2026-02-01")
    # Weeks from Monday 12-29; each shows the 7 days ending on its Sunday. The weeks of 01-12
    # and 01-19 have no rows in their windows: they exist (the spine) with 0.
    assert _typed(by_week) == _typed(
        [
            (D(2025, 12, 29), 2),
            (D(2026, 1, 5), 2),
            (D(2026, 1, 12), 0),
            (D(2026, 1, 19), 0),
            (D(2026, 1, 26), 1),
        ]
    )
    # WAU for the whole range is the window of its last day, 02-01 (not a sum of weeks: 5).
    assert _rows(layer, ["wau"], start="2025-12-29", end="2026-02-01") == [(1,)]


@pytest.mark.parametrize("engine", NOT_SPARK)
def test_a_window_without_values_shows_the_fill(load: Load, engine: str) -> None:
    layer = load(engine)
    metrics = ["wau", "wau_or_seven"]
    # Nobody is active from 01-08 to 01-30: the 7-day windows ending 01-14 to 01-30 hold no
    # user. A count shows 0 there, and fill_null where the metric sets it, whether the
    # windows are counted by the days users enter and leave them (by day) or joined to the
    # days' users (by week: a week holds its whole window).
    by_day = _rows(layer, metrics, by=["metric_time.day"], start="2026-01-12", end="2026-01-15")
    # 01-12: days 01-06..01-12 hold user 3 (01-07); 01-13: 01-07..01-13, the same.
    assert _typed(by_day) == _typed(
        [
            (D(2026, 1, 12), 1, 1),
            (D(2026, 1, 13), 1, 1),
            (D(2026, 1, 14), 0, 7),
            (D(2026, 1, 15), 0, 7),
        ]
    )
    by_week = _rows(layer, metrics, by=["metric_time.week"], start="2026-01-05", end="2026-02-01")
    # 01-05..01-11: users 1 (01-05) and 3 (01-07); 01-26..02-01: user 4.
    assert _typed(by_week) == _typed(
        [
            (D(2026, 1, 5), 2, 2),
            (D(2026, 1, 12), 0, 7),
            (D(2026, 1, 19), 0, 7),
            (D(2026, 1, 26), 1, 1),
        ]
    )
    # With another grouping, a group shows where its window holds a value.
    by_country = ["metric_time.week", "user.country"]
    weeks = _rows(layer, metrics, by=by_country, start="2026-01-05", end="2026-02-01")
    assert _typed(weeks) == _typed([(D(2026, 1, 5), "US", 2, 2), (D(2026, 1, 26), "DE", 1, 1)])
    by_country[0] = "metric_time.day"
    days = _rows(layer, metrics, by=by_country, start="2026-01-12", end="2026-01-15")
    assert _typed(days) == _typed([(D(2026, 1, 12), "US", 1, 1), (D(2026, 1, 13), "US", 1, 1)])


# Each engine's own form (``JOINED_WINDOWS``) and the other one; Spark (5-10 s a query here)
# runs its own only.
FORMS = [
    *(
        pytest.param(_name(e), joined, id=f"{_name(e)}-{joined}", marks=getattr(e, "marks", ()))
        for e in NOT_SPARK
        for joined in (1, 7)
    ),
    pytest.param("spark", 28, id="spark-28", marks=pytest.mark.engine("spark")),
]


@pytest.mark.parametrize(("engine", "joined"), FORMS)
def test_a_distinct_count_joined_to_its_windows_or_counted_by_changes(
    load: Load, engine: str, joined: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows of 7 days by day: each day's users join 7 windows, or are counted by the days
    they enter and leave them; an engine takes the form faster on it, and both give the same
    rows."""
    layer = load(engine)
    monkeypatch.setitem(JOINED_WINDOWS, layer.connection.dialect, joined)
    query = layer.query(["wau"], by=["metric_time.day"], start="2025-12-29", end="2026-01-10")
    assert ("_changes AS" in query.sql()) == (joined < 7)
    # The 7 days ending on each day: 12-29 {1}; 12-30 to 01-06 {1, 2} (user 3's 01-01 email
    # open is not activity); 01-07 and 01-08 {1, 2, 3}; 01-09 and 01-10 {1, 3} (user 2's last
    # day, 01-02, has left).
    wau = [1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 2, 2]
    days = [D(2025, 12, 29) + dt.timedelta(days=n) for n in range(13)]
    assert _typed(query.run().rows) == _typed(list(zip(days, wau, strict=True)))
    by_country = layer.query(
        ["wau"], by=["metric_time.day", "user.country"], start="2026-01-05", end="2026-01-08"
    )
    assert ("_changes AS" in by_country.sql()) == (joined < 7)
    # 01-05 and 01-06: US {1}, FR {2}; 01-07 and 01-08: US {1, 3}, FR {2}.
    expected = [(D(2026, 1, d), c, n) for d in (5, 6) for c, n in (("FR", 1), ("US", 1))]
    expected += [(D(2026, 1, d), c, n) for d in (7, 8) for c, n in (("FR", 1), ("US", 2))]
    assert _typed(sorted(by_country.run().rows)) == _typed(sorted(expected))


@pytest.mark.engine("spark")
def test_spark_rolling_distinct_count_by_week(load: Load) -> None:
    # Spark takes 5-10 s a window query on these rows in local mode (minutes for the queries
    # with several windows above), so it runs this one: the weeks' table of the test above.
    layer = load("spark")
    by_week = _rows(layer, ["wau"], by=["metric_time.week"], start="2025-12-29", end="2026-02-01")
    assert _typed(by_week) == _typed(
        [
            (D(2025, 12, 29), 2),
            (D(2026, 1, 5), 2),
            (D(2026, 1, 12), 0),
            (D(2026, 1, 19), 0),
            (D(2026, 1, 26), 1),
        ]
    )


@pytest.mark.parametrize("engine", NOT_SPARK)
def test_average_of_daily_windows_and_a_joined_filter(load: Load, engine: str) -> None:
    layer = load(engine)
    week = _rows(
        layer, ["wau_average"], by=["metric_time.week"], start="2026-01-05", end="2026-01-11"
    )
    # Windows ending 01-05: {2, 1} (12-30..01-05) -> 2; 01-06: {1, 2} -> 2; 01-07: {2, 1, 3}
    # -> 3; 01-08: {2, 1, 3} -> 3; 01-09 (01-03..01-09): {1, 3} -> 2; 01-10: 2; 01-11: 2.
    # (2 + 2 + 3 + 3 + 2 + 2 + 2) / 7 = 16 / 7.
    assert week == [(D(2026, 1, 5), pytest.approx(16 / 7, rel=1e-12))]
    assert isinstance(week[0][1], float)
    german = _rows(
        layer,
        ["wau"],
        by=["metric_time.month"],
        where="user.country = 'DE'",
        start="2025-12-01",
        end="2026-02-28",
    )
    # Only user 4 is German: active 01-31 and 02-01. December's window (12-25..12-31) is
    # empty -> 0; January's (01-25..01-31) and February's (02-22..02-28: empty) -> 1, 0.
    assert german == [(D(2025, 12, 1), 0), (D(2026, 1, 1), 1), (D(2026, 2, 1), 0)]
    by_country = _rows(
        layer,
        ["wau"],
        by=["metric_time.month", "user.country"],
        start="2026-01-01",
        end="2026-01-31",
    )
    # With another grouping a group appears where its window has rows: 01-25..01-31 -> DE {4}.
    assert by_country == [(D(2026, 1, 1), "DE", 1)]


@pytest.mark.parametrize("engine", NOT_SPARK)
def test_cumulative_and_grain_to_date_across_a_year_boundary(load: Load, engine: str) -> None:
    layer = load(engine)
    by_day = _rows(
        layer,
        ["amount_mtd", "amount_ytd", "amount_wtd", "events_all_time"],
        by=["metric_time.day"],
        start="2025-12-30",
        end="2026-01-05",
    )
    # Month, year and week to date restart on 01-01 (month, year) and on Monday 01-05 (week);
    # the week of 12-29 runs on into January. events_all_time counts every row up to the day.
    assert by_day == [
        (D(2025, 12, 30), 15.5, 15.5, 15.5, 2),
        (D(2025, 12, 31), 16.75, 16.75, 16.75, 3),
        (D(2026, 1, 1), 100.0, 100.0, 116.75, 4),
        (D(2026, 1, 2), 102.0, 102.0, 118.75, 5),
        (D(2026, 1, 3), 102.0, 102.0, 118.75, 5),
        (D(2026, 1, 4), 102.0, 102.0, 118.75, 5),
        (D(2026, 1, 5), 105.0, 105.0, 3.0, 6),
    ]
    by_month = _rows(
        layer,
        ["amount_ytd", "events_all_time"],
        by=["metric_time.month"],
        start="2025-12-01",
        end="2026-02-28",
    )
    # Year to date on each month's last day: 2025's rows 16.75; January 100 + 2 + 3 + 4 + 0.10;
    # on 02-28 also 7.00.
    assert by_month == [
        (D(2025, 12, 1), 16.75, 3),
        (D(2026, 1, 1), pytest.approx(109.1), 8),
        (D(2026, 2, 1), pytest.approx(116.1), 9),
    ]


@pytest.mark.parametrize("engine", NOT_SPARK)
def test_fiscal_year_to_date(load: Load, engine: str) -> None:
    layer = load(engine, fiscal_year_start="february")
    rows = _rows(
        layer, ["amount_fiscal_ytd"], by=["metric_time.month"], start="2025-12-01", end="2026-02-28"
    )
    # The fiscal year runs February to January: on 12-31 it holds December's 16.75; on 01-31
    # also January's 100 + 2 + 3 + 4 + 0.10; on 02-28 a new fiscal year holds 7.00.
    assert rows == [
        (D(2025, 12, 1), pytest.approx(16.75)),
        (D(2026, 1, 1), pytest.approx(125.85)),
        (D(2026, 2, 1), pytest.approx(7.0)),
    ]


@pytest.mark.parametrize("engine", NOT_SPARK)
def test_windows_of_averages_and_maxima(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = _rows(
        layer,
        ["average_amount_7d", "largest_amount_7d"],
        by=["metric_time.day"],
        start="2026-01-01",
        end="2026-01-02",
    )
    # 01-01: rows of 12-26..01-01: 10.00, 5.50, 1.25, 100.00 -> mean 116.75 / 4, max 100.
    # 01-02: 12-27..01-02 adds 2.00 -> 118.75 / 5 (an average of the rows, not of daily means).
    assert rows == [
        (D(2026, 1, 1), pytest.approx(116.75 / 4), 100.0),
        (D(2026, 1, 2), pytest.approx(118.75 / 5), 100.0),
    ]


# -- ratios and offsets -------------------------------------------------------------------------


# Spark runs the windows on these rows in 5-10 s a query; the three windows of this query take
# minutes in local mode, so Spark runs the windows of the test above only.
@pytest.mark.parametrize("engine", NOT_SPARK)
def test_ratio_of_rolling_metrics_and_offsets(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = _rows(
        layer,
        ["stickiness", "wau_week_before", "wau_month_start"],
        by=["metric_time.day"],
        start="2026-01-05",
        end="2026-01-07",
    )
    # stickiness = dau / wau: 01-05 1 / {2, 1} = 0.5; 01-06 0 / {1, 2}; 01-07 {3} / {2, 1, 3}.
    # wau a week before: 12-29 (12-23..12-29: {1}), 12-30 ({1, 2}), 12-31 ({1, 2}).
    # wau at the start of the month: the window ending 01-01 (12-26..01-01): {1, 2}.
    assert rows == [
        (D(2026, 1, 5), 0.5, 1, 2),
        (D(2026, 1, 6), 0.0, 2, 2),
        (D(2026, 1, 7), pytest.approx(1 / 3), 2, 2),
    ]
    monthly = _rows(
        layer,
        ["wau", "wau_month_start"],
        by=["metric_time.month"],
        start="2026-01-01",
        end="2026-02-01",
    )
    # January: wau on 01-31 -> {4}; at its start (01-01) -> {1, 2}. February: on 02-01, both.
    assert monthly == [(D(2026, 1, 1), 1, 2), (D(2026, 2, 1), 1, 1)]


@pytest.mark.parametrize("engine", NOT_SPARK)
def test_a_month_window_ends_on_the_same_day_a_month_before(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = _rows(layer, ["mau"], by=["metric_time.day"], start="2026-01-29", end="2026-02-01")
    # 1 month ending 01-29 holds days after 12-29: {2 (12-30), 1 (12-31), 2, 1, 3} -> 3;
    # 01-30 (after 12-30): {1, 2, 3}; 01-31 (after 12-31): {2, 1, 3, 4}; 02-01 (after 01-01):
    # {2, 1, 3, 4}.
    assert rows == [
        (D(2026, 1, 29), 3),
        (D(2026, 1, 30), 3),
        (D(2026, 1, 31), 4),
        (D(2026, 2, 1), 4),
    ]


# -- the spine: empty periods, with and without fill ------------------------------------------


@pytest.mark.parametrize("engine", NOT_SPARK)
def test_empty_periods_with_and_without_fill(load: Load, engine: str) -> None:
    layer = load(engine)
    quiet = {"by": ["metric_time.day"], "start": "2026-01-06", "end": "2026-01-09"}
    # Rows on 01-07 only.
    assert _rows(layer, ["events", "amount"], **quiet) == [(D(2026, 1, 7), 1, 4.0)]
    filled = _rows(layer, ["events", "amount", "amount_or_zero"], fill_periods=True, **quiet)
    # Every day of the range; counts show 0, a sum NULL unless fill_null says otherwise.
    assert filled == [
        (D(2026, 1, 6), 0, None, 0.0),
        (D(2026, 1, 7), 1, 4.0, 4.0),
        (D(2026, 1, 8), 0, None, 0.0),
        (D(2026, 1, 9), 0, None, 0.0),
    ]
    # A metric with fill_periods: true fills without being asked.
    assert _rows(layer, ["events_every_day"], **quiet) == [
        (D(2026, 1, 6), 0),
        (D(2026, 1, 7), 1),
        (D(2026, 1, 8), 0),
        (D(2026, 1, 9), 0),
    ]
    # Without a range the spine runs from the first to the last period with rows.
    weeks = _rows(layer, ["events"], by=["metric_time.week"], fill_periods=True)
    # Rows from 12-29 to 02-01: five weeks from Monday 12-29 to Sunday 02-01.
    assert [w for w, _ in weeks] == [D(2025, 12, 29) + dt.timedelta(weeks=n) for n in range(5)]
    assert [n for _, n in weeks] == [5, 2, 0, 0, 2]
    # metric_time alone lists the periods of the range.
    assert _rows(layer, [], by=["metric_time.month"], start="2025-12-15", end="2026-02-01") == [
        (D(2025, 12, 1),),
        (D(2026, 1, 1),),
        (D(2026, 2, 1),),
    ]


@pytest.mark.parametrize("engine", but("spark", "sqlite"))
def test_windows_cut_days_in_the_project_time_zone(load: Load, engine: str) -> None:
    layer = load(engine, time_zone="Asia/Tokyo")
    query = layer.query(["wau"], by=["metric_time.month"], start="2026-01-01", end="2026-02-01")
    if engine == "mariadb" and not mariadb_has_zone_tables("Asia/Tokyo"):
        # This server has no time-zone tables: the query is refused before it runs.
        with pytest.raises(EngineError, match="time-zone tables are not loaded"):
            query.run()
        return
    rows = list(query.run().rows)
    # In Tokyo (UTC+9) user 4's events fall on 02-01 08:59 and 09:00: January's window
    # (01-25..01-31) is empty; February's (01-26..02-01) holds {4}.
    assert rows == [(D(2026, 1, 1), 0), (D(2026, 2, 1), 1)]


# -- what is refused ----------------------------------------------------------------------------


def test_hour_grains_and_bad_definitions_are_refused(
    load: Load, write_project: Callable[[dict[str, str]], Path]
) -> None:
    layer = load("duckdb")
    with pytest.raises(QueryError, match=r"evaluated per day; group by metric_time\.day"):
        layer.query(["wau"], by=["metric_time.hour"])
    with pytest.raises(QueryError, match="metric_time lists the periods from start to end"):
        layer.query([], by=["metric_time.day"], start="2026-01-01")
    with pytest.raises(QueryError, match="fill_periods"):
        layer.query(["events"], by=["metric_time.day"], fill_periods="yes")  # type: ignore[arg-type]
    folder = write_project(
        {
            "bad/metrics_layer.yml": "project:\n  name: bad\n  paths: [defs]\n",
            "bad/defs/bad.yml": """
                sources:
                  - name: events
                    table: events
                    time: at
                    entities: [{name: event, key: id, primary: true}]
                    dimensions: [{name: at, type: time}]
                    measures:
                      - {name: median_gap, agg: median, expr: gap}
                      - {name: n, agg: count}
                metrics:
                  - {name: a, type: rolling, measure: events.median_gap, window: 7 days}
                  - {name: b, type: rolling, measure: events.n, window: 7 days, per: day}
                  - {name: c, type: cumulative, measure: events.n, rollup: sum}
                  - {name: g, type: cumulative, measure: events.n, grain_to_date: hour}
            """,
            "bad2/metrics_layer.yml": "project:\n  name: bad\n  paths: [defs]\n",
            "bad2/defs/bad.yml": """
                sources:
                  - name: events
                    table: events
                    time: at
                    entities: [{name: event, key: id, primary: true}]
                    dimensions: [{name: at, type: time}]
                    measures: [{name: n, agg: count}]
                metrics:
                  - {name: e, type: simple, measure: events.n}
                  - name: f
                    type: derived
                    expr: x
                    inputs: [{metric: e, offset_to_grain: month, alias: x}]
            """,
        }
    )
    with pytest.raises(DefinitionError) as caught:
        ml.load(folder / "bad", connection="duckdb:///:memory:")
    text = str(caught.value)
    assert "median or percentile over a window" in text
    assert "'per' does not apply to rolling metrics" in text
    assert "'rollup: sum' does not apply to cumulative metrics" in text
    assert "'grain_to_date: hour': windows are whole days" in text
    # A metric that builds but cannot be computed is found by check (every metric is planned).
    found = " ".join(d.message for d in ml.check(folder / "bad2")[1])
    assert "'offset_to_grain' reads a rolling or cumulative metric" in found


def test_a_window_in_hours_is_a_schema_error(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    folder = write_project(
        {
            "metrics_layer.yml": "project:\n  name: bad\n  paths: [defs]\n",
            "defs/bad.yml": """
                sources:
                  - name: events
                    table: events
                    time: at
                    entities: [{name: event, key: id, primary: true}]
                    dimensions: [{name: at, type: time}]
                    measures: [{name: n, agg: count}]
                metrics:
                  - {name: d, type: rolling, measure: events.n, window: 7 hours}
            """,
        }
    )
    with pytest.raises(
        DefinitionError,
        match=r"bad.yml:9:57: error: metric 'd': window: '7 hours' is not a valid value",
    ):
        ml.load(folder, connection="duckdb:///:memory:")


def test_sqlite_refuses_a_zone_for_windows_too(load: Load) -> None:
    layer = load("sqlite", time_zone="Asia/Tokyo")
    with pytest.raises(UnsupportedError, match="time zones other than UTC"):
        layer.query(["wau"], by=["metric_time.month"]).sql()
