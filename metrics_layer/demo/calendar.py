"""The demo's retail calendar: the National Retail Federation's 4-5-4 calendar, one row a day.

A retail year ends on the Saturday nearest 31 January and starts on the Sunday after the previous
one ends, so it has 52 whole weeks (364 days), or 53 when that Saturday moves a week later. It
is named by the calendar year in which it starts: retail year 2025 runs from 2025-02-02 to
2026-01-31. Each quarter has 13 weeks, cut into months of 4, 5 and 4 weeks; in a 53-week year
the extra week goes to the last month (January), which then has 5 weeks and its quarter 14.

``retail_calendar`` maps each day of whole retail years to the first day of its retail week,
month, quarter and year, and to the year's number: a dimension table that a query joins on
``day`` to group by retail periods.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from metrics_layer.demo.model import Column, Row, Table

__all__ = [
    "CALENDAR_COLUMNS",
    "FIRST_YEAR",
    "LAST_YEAR",
    "month_weeks",
    "retail_calendar",
    "retail_days",
    "year_start",
    "year_weeks",
]

FIRST_YEAR = 2022
LAST_YEAR = 2029
"""The demo's table holds retail years 2022 to 2029: 2022-01-30 to 2030-02-02."""

CALENDAR_COLUMNS = (
    Column("day", "DATE"),
    Column("retail_week", "DATE"),
    Column("retail_month", "DATE"),
    Column("retail_quarter", "DATE"),
    Column("retail_year", "DATE"),
    Column("retail_year_number", "INTEGER"),
)

_SATURDAY = 5  # date.weekday()
_WEEK = dt.timedelta(days=7)


def year_start(year: int) -> dt.date:
    """The first day (a Sunday) of retail year ``year``: the day after the Saturday nearest
    31 January of that calendar year.

    >>> [year_start(y).isoformat() for y in (2023, 2024, 2025, 2026)]
    ['2023-01-29', '2024-02-04', '2025-02-02', '2026-02-01']
    >>> year_start(2025).strftime("%A")
    'Sunday'
    """
    january_31 = dt.date(year, 1, 31)
    ahead = (_SATURDAY - january_31.weekday()) % 7  # 0 to 6 days to the next Saturday
    nearest = january_31 + dt.timedelta(days=ahead if ahead <= 3 else ahead - 7)
    return nearest + dt.timedelta(days=1)


def year_weeks(year: int) -> int:
    """52, or 53 when the next retail year starts 371 days later.

    >>> [(y, year_weeks(y)) for y in range(2022, 2030) if year_weeks(y) == 53]
    [(2023, 53), (2028, 53)]
    """
    return (year_start(year + 1) - year_start(year)).days // 7


def month_weeks(weeks_in_year: int) -> tuple[int, ...]:
    """The length in weeks of each of the year's twelve months (February first): 4-5-4 per
    quarter, the last month 5 in a 53-week year.

    >>> month_weeks(52)
    (4, 5, 4, 4, 5, 4, 4, 5, 4, 4, 5, 4)
    >>> month_weeks(53)[-3:]
    (4, 5, 5)
    """
    if weeks_in_year not in (52, 53):
        raise ValueError(f"a retail year has 52 or 53 weeks, not {weeks_in_year}")
    return (4, 5, 4) * 3 + (4, 5, 4 + weeks_in_year - 52)


def retail_days(year: int) -> Iterator[Row]:
    """The rows of retail year ``year``, one a day, in the order of ``CALENDAR_COLUMNS``.

    >>> rows = list(retail_days(2025))
    >>> len(rows), rows[0][0].isoformat(), rows[-1][0].isoformat()
    (364, '2025-02-02', '2026-01-31')
    >>> [d.isoformat() for d in rows[40][:5]], rows[40][5]
    (['2025-03-14', '2025-03-09', '2025-03-02', '2025-02-02', '2025-02-02'], 2025)
    """
    start = year_start(year)
    months = month_weeks(year_weeks(year))
    month = start
    for quarter_number in range(4):
        quarter = month
        for weeks in months[3 * quarter_number : 3 * quarter_number + 3]:
            for week in range(weeks):
                week_start = month + week * _WEEK
                for offset in range(7):
                    day = week_start + dt.timedelta(days=offset)
                    yield (day, week_start, month, quarter, start, year)
            month += weeks * _WEEK


def retail_calendar(first: int = FIRST_YEAR, last: int = LAST_YEAR) -> Table:
    """Table ``retail_calendar``: every day of retail years ``first`` to ``last``.

    >>> table = retail_calendar()
    >>> len(table.rows), table.rows[0][0].isoformat(), table.rows[-1][0].isoformat()
    (2926, '2022-01-30', '2030-02-02')
    """
    rows = [row for year in range(first, last + 1) for row in retail_days(year)]
    return Table("retail_calendar", CALENDAR_COLUMNS, rows)
