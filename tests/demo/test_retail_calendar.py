"""The demo's 4-5-4 retail calendar against facts checked by hand on a wall calendar.

NRF: the retail year ends on the Saturday nearest 31 January, starts on the Sunday after, and is
named by the calendar year it starts in. 31 January 2024 is a Wednesday: the Saturday nearest
is 3 February (3 days on, against 27 January 4 days back), so retail year 2023 runs from
2023-01-29 to 2024-02-03, 53 weeks; 2028's Saturday (2029-02-03, with 31 January 2029 a
Wednesday) gives 2028 53 weeks too.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from itertools import pairwise

import pytest

from metrics_layer.demo import generate
from metrics_layer.demo.calendar import month_weeks, retail_calendar, year_start, year_weeks
from metrics_layer.demo.model import Row

STARTS = {
    2022: dt.date(2022, 1, 30),
    2023: dt.date(2023, 1, 29),
    2024: dt.date(2024, 2, 4),
    2025: dt.date(2025, 2, 2),
    2026: dt.date(2026, 2, 1),
    2027: dt.date(2027, 1, 31),
    2028: dt.date(2028, 1, 30),
    2029: dt.date(2029, 2, 4),
    2030: dt.date(2030, 2, 3),
}


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return retail_calendar().rows


def test_year_starts_are_the_hand_checked_sundays() -> None:
    assert {year: year_start(year) for year in STARTS} == STARTS
    assert all(start.weekday() == 6 for start in STARTS.values())


def test_53_week_years_in_range_are_2023_and_2028() -> None:
    assert [year for year in range(2022, 2030) if year_weeks(year) == 53] == [2023, 2028]
    assert year_start(2024) - year_start(2023) == dt.timedelta(weeks=53)


def test_one_row_a_day_from_2022_01_30_to_2030_02_02(rows: list[Row]) -> None:
    days = [row[0] for row in rows]
    # 8 retail years: 8 x 52 weeks + 2 extra weeks = 418 weeks
    assert len(days) == 418 * 7 == 2926
    assert (days[0], days[-1]) == (dt.date(2022, 1, 30), dt.date(2030, 2, 2))
    assert all(b - a == dt.timedelta(days=1) for a, b in pairwise(days))


def test_retail_year_2023_and_its_number(rows: list[Row]) -> None:
    year_2023 = [row for row in rows if row[5] == 2023]
    assert (year_2023[0][0], year_2023[-1][0]) == (dt.date(2023, 1, 29), dt.date(2024, 2, 3))
    assert len(year_2023) == 371
    assert {row[4] for row in year_2023} == {dt.date(2023, 1, 29)}
    by_day = {row[0]: row for row in rows}
    assert by_day[dt.date(2025, 2, 2)][4:] == (dt.date(2025, 2, 2), 2025)
    assert by_day[dt.date(2026, 1, 31)][4:] == (dt.date(2025, 2, 2), 2025)
    assert by_day[dt.date(2026, 2, 1)][4:] == (dt.date(2026, 2, 1), 2026)


def test_every_week_starts_on_sunday_and_has_seven_days(rows: list[Row]) -> None:
    weeks = Counter(row[1] for row in rows)
    assert all(week.weekday() == 6 for week in weeks)
    assert set(weeks.values()) == {7}
    assert all(row[1] <= row[0] < row[1] + dt.timedelta(days=7) for row in rows)


def test_months_are_28_35_28_days_per_quarter(rows: list[Row]) -> None:
    months = Counter(row[2] for row in rows)
    quarters = Counter(row[3] for row in rows)
    for year in range(2022, 2030):
        starts = sorted(m for m in months if year_start(year) <= m < year_start(year + 1))
        lengths = [months[m] for m in starts]
        last = 35 if year in (2023, 2028) else 28
        assert lengths == [28, 35, 28] * 3 + [28, 35, last], year
        quarter_starts = sorted(q for q in quarters if year_start(year) <= q < year_start(year + 1))
        assert quarter_starts == starts[::3]
        assert [quarters[q] for q in quarter_starts] == [91, 91, 91, 91 + last - 28]
    # retail month 1 of 2025 (February) runs from 2025-02-02 to 2025-03-01
    assert months[dt.date(2025, 2, 2)] == 28
    assert dt.date(2025, 3, 2) in months


def test_periods_nest(rows: list[Row]) -> None:
    for day, week, month, quarter, year, number in rows:
        assert isinstance(day, dt.date)
        assert isinstance(number, int)
        assert year <= quarter <= month <= week <= day
        assert year == STARTS[number]


def test_month_weeks_refuses_other_lengths() -> None:
    assert sum(month_weeks(52)) == 52
    assert sum(month_weeks(53)) == 53
    with pytest.raises(ValueError, match="52 or 53"):
        month_weeks(54)


def test_the_demo_data_holds_the_calendar() -> None:
    assert generate()["retail_calendar"] == retail_calendar()
