"""Date parts, minute and second grains and the fiscal calendar, with numbers worked out by hand,
on every engine (DuckDB, SQLite, PostgreSQL, MariaDB, ClickHouse, Spark).

The rows are a literal SELECT in the source's ``sql:`` (nothing is written anywhere). The
project's fiscal year starts in February, so fiscal year 2027 runs from 2026-02-01 to
2027-01-31, and its quarters start on Feb 1, May 1, Aug 1 and Nov 1. 2026 has 53 ISO weeks
(its January 1st is a Thursday): Mon 2026-12-28 to Sun 2027-01-03 is week 53.

| id | at (UTC)            | weekday | ISO week | Berlin              | fiscal quarter |
|----|---------------------|---------|----------|---------------------|----------------|
| 1  | 2026-01-31 22:00:00 | Sat 6   | 5        | 2026-01-31 23:00 +1 | 2025-11-01 (4) |
| 2  | 2026-02-01 06:00:00 | Sun 7   | 5        | 2026-02-01 07:00 +1 | 2026-02-01 (1) |
| 3  | 2026-03-29 00:30:00 | Sun 7   | 13       | 2026-03-29 01:30 +1 | 2026-02-01 (1) |
| 4  | 2026-03-29 01:30:00 | Sun 7   | 13       | 2026-03-29 03:30 +2 | 2026-02-01 (1) |
| 5  | 2026-04-30 13:00:00 | Thu 4   | 18       | 2026-04-30 15:00 +2 | 2026-02-01 (1) |
| 6  | 2026-05-01 13:45:10 | Fri 5   | 18       | 2026-05-01 15:45 +2 | 2026-05-01 (2) |
| 7  | 2026-10-25 00:30:00 | Sun 7   | 43       | 2026-10-25 02:30 +2 | 2026-08-01 (3) |
| 8  | 2026-10-25 01:30:00 | Sun 7   | 43       | 2026-10-25 02:30 +1 | 2026-08-01 (3) |
| 9  | 2026-12-31 10:15:30 | Thu 4   | 53       | 2026-12-31 11:15 +1 | 2026-11-01 (4) |
| 10 | 2027-01-01 00:05:00 | Fri 5   | 53       | 2027-01-01 01:05 +1 | 2026-11-01 (4) |
| 11 | 2027-01-03 23:59:59 | Sun 7   | 53       | 2027-01-04 00:59 +1 | 2026-11-01 (4) |
| 12 | 2027-01-04 12:00:00 | Mon 1   | 1        | 2027-01-04 13:00 +1 | 2026-11-01 (4) |

Berlin moves to summer time at 2026-03-29 01:00 UTC (between rows 3 and 4) and back at
2026-10-25 01:00 UTC (between rows 7 and 8: both are 02:30 on the Berlin clock). In Berlin,
row 11 is already Monday 2027-01-04: ISO week 1, weekday 1.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer.errors import UnsupportedError
from soundness.literal import ENGINES, LiteralLayer, but, literal_rows
from soundness.literal import fetch as _rows
from soundness.literal import typed as _typed

D = dt.date
T = dt.datetime

_AT = [
    "2026-01-31 22:00:00",
    "2026-02-01 06:00:00",
    "2026-03-29 00:30:00",
    "2026-03-29 01:30:00",
    "2026-04-30 13:00:00",
    "2026-05-01 13:45:10",
    "2026-10-25 00:30:00",
    "2026-10-25 01:30:00",
    "2026-12-31 10:15:30",
    "2027-01-01 00:05:00",
    "2027-01-03 23:59:59",
    "2027-01-04 12:00:00",
]
_ROWS = literal_rows(
    {"booking_id": None, "at": "TIMESTAMP", "kind": None},
    [(i, at, "x") for i, at in enumerate(_AT, start=1)],
)

DEFINITIONS = f"""
    sources:
      - name: bookings
        sql: "{_ROWS}"
        time: at
        entities:
          - {{name: booking, key: booking_id, primary: true}}
        dimensions:
          - {{name: at, type: time, grain: second}}
          - {{name: booked_on, type: time, expr: "CAST(at AS DATE)"}}
          - {{name: kind}}
        measures:
          - {{name: bookings, agg: count}}
    metrics:
      - {{name: bookings, type: simple, measure: bookings.bookings}}
      - name: bookings_prior_fiscal_quarter
        type: derived
        expr: earlier
        inputs:
          - {{metric: bookings, alias: earlier, offset: 1 fiscal_quarter}}
      - {{name: daily_bookings, type: simple, measure: bookings.bookings, per: day}}
      - {{name: quarterly_bookings, type: simple, measure: bookings.bookings, per: quarter}}
      - name: bookings_with_prior
        type: derived
        expr: bookings + earlier
        inputs:
          - {{metric: bookings}}
          - {{metric: bookings, alias: earlier, offset: 1 fiscal_quarter}}
"""

ALL = ENGINES
# Each Spark query takes seconds: Spark runs the weekday, fiscal and time-zone tests, which
# between them reach every rule of its dialect (spark_date_part, month arithmetic, zones).
BUT_SPARK = but("spark")
# A named time zone: SQLite has no zone database (refused at compile time), and this machine's
# MariaDB has no time-zone tables (refused before the query; tests/soundness/test_time_zones.py).
ZONED = but("sqlite", "mariadb")

Load = LiteralLayer


@pytest.fixture
def load(literal_layer: LiteralLayer) -> Load:
    """``load(engine, **project settings)``: the bookings project (fiscal year from February)."""
    return functools.partial(literal_layer, DEFINITIONS, fiscal_year_start="february")


# -- ISO days of the week and weeks of the year ----------------------------------------------


@pytest.mark.parametrize("engine", ALL)
def test_iso_weekdays_and_weeks_across_a_53_week_year(load: Load, engine: str) -> None:
    layer = load(engine)
    # weekday 1: row 12; 4: rows 5, 9; 5: rows 6, 10; 6: row 1; 7: rows 2, 3, 4, 7, 8, 11
    weekdays = _rows(layer, ["bookings"], by=["metric_time.day_of_week"])
    assert _typed(weekdays) == _typed([(1, 1), (4, 2), (5, 2), (6, 1), (7, 6)])
    # week 53 of 2026 holds Dec 31 and Jan 1-3 2027 (rows 9, 10, 11); Jan 4 2027 is week 1.
    weeks = _rows(layer, ["bookings"], by=["metric_time.week_of_year"])
    assert _typed(weeks) == _typed([(1, 1), (5, 2), (13, 2), (18, 2), (43, 2), (53, 3)])
    # The week grain agrees: rows 9-11 start on Monday 2026-12-28, row 12 on 2027-01-04.
    late = _rows(
        layer,
        ["bookings"],
        by=["metric_time.week", "metric_time.week_of_year"],
        where="metric_time.week_of_year IN (1, 53)",
    )
    assert _typed(late) == _typed([(D(2026, 12, 28), 53, 3), (D(2027, 1, 4), 1, 1)])


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
def test_day_of_week_is_iso_whatever_the_week_start(load: Load, engine: str) -> None:
    layer = load(engine, week_start="sunday")
    weekdays = _rows(layer, ["bookings"], by=["metric_time.day_of_week"])
    assert weekdays == [(1, 1), (4, 2), (5, 2), (6, 1), (7, 6)]  # the same ISO numbers
    # ... while the week grain starts on Sunday: rows 9, 10 in the week of Sun 2026-12-27,
    # rows 11 (a Sunday) and 12 in the week of Sun 2027-01-03.
    weeks = _rows(layer, ["bookings"], by=["metric_time.week"], start="2026-12-01")
    assert weeks == [(D(2026, 12, 27), 2), (D(2027, 1, 3), 2)]


@pytest.mark.parametrize("engine", BUT_SPARK)
def test_days_months_and_quarters_of_the_year(load: Load, engine: str) -> None:
    layer = load(engine)
    # month 1: rows 1, 10, 11, 12; 2: row 2; 3: rows 3, 4; 4: 5; 5: 6; 10: 7, 8; 12: 9
    months = _rows(layer, ["bookings"], by=["metric_time.month_of_year"])
    assert _typed(months) == _typed([(1, 4), (2, 1), (3, 2), (4, 1), (5, 1), (10, 2), (12, 1)])
    quarters = _rows(layer, ["bookings"], by=["metric_time.quarter_of_year"])
    assert _typed(quarters) == _typed([(1, 7), (2, 2), (4, 3)])
    # Day of the year 1 (row 10), 3 (row 11), 4 (row 12), 365 (row 9: 2026 is not a leap year)
    days = _rows(
        layer,
        ["bookings"],
        by=["metric_time.day_of_year", "metric_time.day_of_month"],
        where="metric_time.day_of_year <= 4 OR metric_time.day_of_year >= 365",
        order=["-metric_time.day_of_year"],
    )
    assert _typed(days) == _typed([(365, 31, 1), (4, 4, 1), (3, 3, 1), (1, 1, 1)])


# -- the fiscal calendar -------------------------------------------------------------------


@pytest.mark.parametrize("engine", ALL)
def test_fiscal_years_start_in_february_and_are_named_by_their_end(load: Load, engine: str) -> None:
    layer = load(engine)
    # Jan 31 2026 (row 1) ends fiscal year 2026 (from 2025-02-01); Feb 1 2026 starts 2027.
    years = _rows(layer, ["bookings"], by=["metric_time.fiscal_year"])
    assert _typed(years) == _typed([(D(2025, 2, 1), 1), (D(2026, 2, 1), 11)])
    numbers = _rows(layer, ["bookings"], by=["metric_time.fiscal_year_number"])
    assert _typed(numbers) == _typed([(2026, 1), (2027, 11)])
    quarters = _rows(layer, ["bookings"], by=["metric_time.fiscal_quarter"])
    # Nov-Jan: row 1; Feb-Apr: rows 2-5 (Apr 30 is the last day); May 1: row 6; Aug-Oct: 7, 8;
    # Nov-Jan: rows 9-12
    assert _typed(quarters) == _typed(
        [
            (D(2025, 11, 1), 1),
            (D(2026, 2, 1), 4),
            (D(2026, 5, 1), 1),
            (D(2026, 8, 1), 2),
            (D(2026, 11, 1), 4),
        ]
    )
    of_year = _rows(layer, ["bookings"], by=["metric_time.fiscal_quarter_of_year"])
    assert _typed(of_year) == _typed([(1, 4), (2, 1), (3, 2), (4, 5)])
    # Calendar quarters are unchanged by the fiscal year: 2026 Q1 rows 1-4, Q2 rows 5, 6,
    # Q4 rows 7-9; 2027 Q1 rows 10-12.
    calendar = _rows(layer, ["bookings"], by=["metric_time.quarter"])
    expected = [(D(2026, 1, 1), 4), (D(2026, 4, 1), 2), (D(2026, 10, 1), 3), (D(2027, 1, 1), 3)]
    assert calendar == expected


@pytest.mark.parametrize("engine", BUT_SPARK)
def test_an_offset_of_one_fiscal_quarter(load: Load, engine: str) -> None:
    layer = load(engine)
    # Each row moves 3 months later: row 1 (Jan 31 -> Apr 30) counts for Feb-Apr; rows 2-5
    # (to May 1 - Jul 30) for May-Jul; row 6 (to Aug 1) for Aug-Oct; rows 7, 8 (to Jan 25) for
    # Nov-Jan; rows 9-12 land in a quarter that has no rows of its own, so no period.
    rows = _rows(
        layer,
        ["bookings", "bookings_prior_fiscal_quarter", "bookings_with_prior"],
        by=["metric_time.fiscal_quarter"],
    )
    assert _typed(rows) == _typed(
        [
            (D(2025, 11, 1), 1, 0, 1),
            (D(2026, 2, 1), 4, 1, 5),
            (D(2026, 5, 1), 1, 4, 5),
            (D(2026, 8, 1), 2, 1, 3),
            (D(2026, 11, 1), 4, 2, 6),
        ]
    )


def test_per_day_averages_by_weekday(load: Load) -> None:
    layer = load("duckdb")
    rows = _rows(layer, ["daily_bookings"], by=["metric_time.day_of_week"])
    # Bookings by weekday: Mon Jan 4 (1); Thu Apr 30, Dec 31 (1, 1); Fri May 1, Jan 1 (1, 1);
    # Sat Jan 31 (1); Sun Feb 1, Mar 29, Oct 25, Jan 3 (1, 2, 2, 1). Every calendar day from the
    # first booking (Sat 2026-01-31) to the last (Mon 2027-01-04) counts, with or without rows:
    # 339 days, 48 weeks and Sat, Sun, Mon, so 49 Saturdays, Sundays and Mondays, 48 of the rest.
    expected = [(1, 1 / 49), (4, 2 / 48), (5, 2 / 48), (6, 1 / 49), (7, 6 / 49)]
    assert [day for day, _ in rows] == [day for day, _ in expected]
    assert [value for _, value in rows] == pytest.approx([value for _, value in expected])


def test_a_calendar_quarter_does_not_roll_up_into_a_fiscal_year(load: Load) -> None:
    layer = load("duckdb")
    with pytest.raises(ml.QueryError) as caught:
        layer.query(["quarterly_bookings"], by=["metric_time.fiscal_year"]).sql()
    assert "group by quarter or coarser (that a quarter fits in)" in str(caught.value)
    with pytest.raises(ml.QueryError, match="finer than the metrics measured per quarter"):
        layer.query(["quarterly_bookings"], by=["metric_time.month_of_year"]).sql()
    # A calendar quarter fits in a calendar year.
    assert layer.query(["quarterly_bookings"], by=["metric_time.year"]).run().rows


def test_a_january_fiscal_year_is_the_calendar_year(load: Load) -> None:
    layer = load("duckdb", fiscal_year_start="january")
    years = _rows(layer, ["bookings"], by=["metric_time.fiscal_year"])
    assert years == [(D(2026, 1, 1), 9), (D(2027, 1, 1), 3)]  # rows 1-9, rows 10-12
    numbers = _rows(layer, ["bookings"], by=["metric_time.fiscal_year_number"])
    assert numbers == [(2026, 9), (2027, 3)]


# -- hours, minutes and seconds, in the project's time zone ----------------------------------


@pytest.mark.parametrize("engine", BUT_SPARK)
def test_utc_hours_and_minutes(load: Load, engine: str) -> None:
    layer = load(engine)
    hours = _rows(layer, ["bookings"], by=["metric_time.hour_of_day"])
    # 0: rows 3, 7, 10; 1: rows 4, 8; 6: 2; 10: 9; 12: 12; 13: 5, 6; 22: 1; 23: 11
    expected = [(0, 3), (1, 2), (6, 1), (10, 1), (12, 1), (13, 2), (22, 1), (23, 1)]
    assert _typed(hours) == _typed(expected)
    minutes = _rows(layer, ["bookings"], by=["metric_time.minute_of_hour"])
    # 0: rows 1, 2, 5, 12; 5: 10; 15: 9; 30: 3, 4, 7, 8; 45: 6; 59: 11
    assert _typed(minutes) == _typed([(0, 4), (5, 1), (15, 1), (30, 4), (45, 1), (59, 1)])
    buckets = _rows(layer, ["bookings"], by=["metric_time.minute"], start="2026-12-31")
    assert _typed(buckets) == _typed(
        [
            (T(2026, 12, 31, 10, 15), 1),
            (T(2027, 1, 1, 0, 5), 1),
            (T(2027, 1, 3, 23, 59), 1),
            (T(2027, 1, 4, 12, 0), 1),
        ]
    )
    seconds = _rows(layer, ["bookings"], by=["metric_time.second"], start="2026-12-31")
    assert [row[0] for row in seconds] == [
        T(2026, 12, 31, 10, 15, 30),
        T(2027, 1, 1, 0, 5),
        T(2027, 1, 3, 23, 59, 59),
        T(2027, 1, 4, 12, 0),
    ]


@pytest.mark.parametrize("engine", ZONED)
def test_parts_are_local_across_daylight_saving(load: Load, engine: str) -> None:
    layer = load(engine, time_zone="Europe/Berlin")
    hours = _rows(layer, ["bookings"], by=["metric_time.hour_of_day"])
    # 0: row 11; 1: rows 3, 10; 2: rows 7, 8 (02:30 summer time, then 02:30 winter time);
    # 3: row 4 (after the change); 7: 2; 11: 9; 13: 12; 15: rows 5, 6; 23: row 1
    expected = [(0, 1), (1, 2), (2, 2), (3, 1), (7, 1), (11, 1), (13, 1), (15, 2), (23, 1)]
    assert _typed(hours) == _typed(expected)
    # Row 11 is Monday 2027-01-04 00:59 in Berlin: week 1, weekday 1.
    late = _rows(
        layer,
        ["bookings"],
        by=["metric_time.week_of_year", "metric_time.day_of_week"],
        where="metric_time.week_of_year IN (1, 53)",
    )
    assert _typed(late) == _typed([(1, 1, 2), (53, 4, 1), (53, 5, 1)])
    minutes = _rows(layer, ["bookings"], by=["metric_time.minute"], start="2027-01-04")
    assert _typed(minutes) == _typed([(T(2027, 1, 4, 0, 59), 1), (T(2027, 1, 4, 13, 0), 1)])


def test_sqlite_refuses_parts_in_a_named_zone(load: Load) -> None:
    layer = load("sqlite", time_zone="Europe/Berlin")
    with pytest.raises(UnsupportedError, match="time zones other than UTC"):
        layer.query(["bookings"], by=["metric_time.hour_of_day"]).sql("sqlite")


# -- refusals that name the fix ------------------------------------------------------------


@pytest.mark.parametrize(
    ("by", "message"),
    [
        (
            "bookings.booked_on.hour_of_day",
            "'bookings.booked_on.hour_of_day': 'bookings.booked_on' is recorded per day, so it "
            "has no hour_of_day (that needs a time recorded per hour or finer); use a part of "
            "day or coarser, or declare the dimension's 'grain: hour' if the data has it",
        ),
        (
            "bookings.kind.day_of_week",
            "'bookings.kind.day_of_week': only time dimensions take a grain or date part; "
            "'bookings.kind' is categorical, group by it as it is",
        ),
        ("metric_time.day_of_wek", "Did you mean 'day_of_week'?"),
        ("metric_time.weekday", "is not a time grain or date part; use a grain (second, "),
        ("booking.day_of_week", "an entity has no time grain or date part"),
        ("bookings.booked_on.minute", "is recorded per day, so it cannot be grouped by minute"),
    ],
)
def test_bad_parts_are_refused_with_the_fix(load: Load, by: str, message: str) -> None:
    layer = load("duckdb")
    with pytest.raises(ml.QueryError) as caught:
        layer.query(["bookings"], by=[by]).sql()
    assert caught.value.field == "by"
    assert message in str(caught.value)


def test_a_part_in_a_filter_is_checked_too(load: Load) -> None:
    layer = load("duckdb")
    with pytest.raises(ml.FilterError) as caught:
        layer.query(["bookings"], where="bookings.booked_on.hour_of_day = 3").sql()
    assert caught.value.field == "where"
    assert "has no hour_of_day" in str(caught.value)


@pytest.mark.parametrize("value", ["febuary", "2", "13"])
def test_a_bad_fiscal_year_start_names_the_months(
    write_project: Callable[[dict[str, str]], Path], value: str
) -> None:
    folder = write_project(
        {
            "metrics_layer.yml": f"project:\n  name: p\n  fiscal_year_start: {value}\n",
        }
    )
    with pytest.raises(ml.DefinitionError) as caught:
        ml.load(folder)
    text = str(caught.value)
    assert "metrics_layer.yml:3" in text
    assert "fiscal_year_start" in text
    assert "february" in text
