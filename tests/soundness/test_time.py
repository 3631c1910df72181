"""How time is cut: week start, quarter and year grains, inclusive dates, the project time zone.

One small table of UTC timestamps chosen on the edges (midnight, New Year, a weekend, the
daylight-saving change in New York on 2026-03-08), with every bucket worked out by hand.
"""

from __future__ import annotations

import datetime as dt

import pytest

import metrics_layer as ml
from soundness.literal import Rows, TinyLayer

D = dt.date
T = dt.datetime

CLICKS: list[tuple[int, dt.datetime]] = [
    (1, T(2025, 12, 31, 23, 59, 59)),  # Wed; New York: Dec 31 18:59:59 (UTC-5)
    (2, T(2026, 1, 1, 0, 0, 0)),  # Thu; New York: Dec 31 19:00
    (3, T(2026, 1, 1, 4, 30)),  # Thu; New York: Dec 31 23:30
    (4, T(2026, 1, 1, 5, 30)),  # Thu; New York: Jan 1 00:30
    (5, T(2026, 2, 28, 12, 0)),  # Sat; New York: Feb 28 07:00
    (6, T(2026, 3, 1, 23, 0)),  # Sun; New York: Mar 1 18:00
    (7, T(2026, 3, 2, 0, 30)),  # Mon; New York: Mar 1 19:30
    (8, T(2026, 3, 8, 12, 0)),  # Sun; New York: Mar 8 08:00 (UTC-4 from 07:00 UTC that day)
    (9, T(2026, 3, 8, 23, 59, 59)),  # Sun; New York: Mar 8 19:59:59
    (10, T(2026, 3, 9, 0, 0, 0)),  # Mon; New York: Mar 8 20:00
    (11, T(2026, 3, 10, 2, 0)),  # Tue; New York: Mar 9 22:00
    (12, T(2026, 3, 31, 23, 0)),  # Tue; New York: Mar 31 19:00
    (13, T(2026, 4, 1, 3, 0)),  # Wed; New York: Mar 31 23:00
    (14, T(2026, 4, 1, 4, 0)),  # Wed; New York: Apr 1 00:00
]

TABLES: dict[str, tuple[str, Rows]] = {
    "clicks": ("click_id INTEGER, clicked_at TIMESTAMP", CLICKS),
    "readings": (
        "reading_day DATE, value INTEGER",
        [(D(2026, 1, 31), 1), (D(2026, 2, 1), 2), (D(2026, 3, 1), 4)],
    ),
}

DEFINITIONS = """
    sources:
      - name: clicks
        table: clicks
        time: clicked_at
        entities:
          - {name: click, key: click_id, primary: true}
        dimensions:
          - {name: clicked_at, type: time, grain: hour}
        measures:
          - {name: clicks, agg: count}
      - name: readings
        table: readings
        time: reading_day
        dimensions:
          - {name: reading_day, type: time, grain: day}
        measures:
          - {name: total, agg: sum, expr: value}
    metrics:
      - {name: clicks, type: simple, measure: clicks.clicks}
      - {name: reading_total, type: simple, measure: readings.total}
"""


def project(**settings: str) -> dict[str, str]:
    lines = "".join(f"  {name}: {value}\n" for name, value in settings.items())
    return {
        "metrics_layer.yml": f"project:\n  name: clicks\n  paths: [defs]\n{lines}",
        "defs/clicks.yml": DEFINITIONS,
    }


@pytest.fixture
def utc(tiny_layer: TinyLayer) -> ml.SemanticLayer:
    return tiny_layer(TABLES, project())


@pytest.fixture
def sunday(tiny_layer: TinyLayer) -> ml.SemanticLayer:
    return tiny_layer(TABLES, project(week_start="sunday"))


@pytest.fixture
def new_york(tiny_layer: TinyLayer) -> ml.SemanticLayer:
    return tiny_layer(TABLES, project(time_zone="America/New_York"))


def counts(
    layer: ml.SemanticLayer,
    by: str | None = None,
    *,
    start: str | None = None,
    end: str | None = None,
) -> dict[object, int]:
    result = layer.query("clicks", by=by or (), start=start, end=end).run()
    found = {row[0] if by else None: row[-1] for row in result.rows}
    assert len(found) == len(result.rows)
    return found


def test_the_fixture_covers_every_click(utc: ml.SemanticLayer) -> None:
    assert counts(utc) == {None: 14}


# -- weeks ------------------------------------------------------------------------------------


def test_weeks_start_on_monday_by_default(utc: ml.SemanticLayer) -> None:
    assert counts(utc, "metric_time.week") == {
        D(2025, 12, 29): 4,  # Wed Dec 31 and Thu Jan 1 (clicks 1-4): one week across the year
        D(2026, 2, 23): 2,  # Sat Feb 28, Sun Mar 1 23:00 (5, 6)
        D(2026, 3, 2): 3,  # Mon Mar 2 00:30 to Sun Mar 8 23:59:59 (7, 8, 9)
        D(2026, 3, 9): 2,  # Mon Mar 9 00:00, Tue Mar 10 (10, 11)
        D(2026, 3, 30): 3,  # Tue Mar 31, Wed Apr 1 (12, 13, 14)
    }


def test_project_week_start_sunday(sunday: ml.SemanticLayer) -> None:
    assert counts(sunday, "metric_time.week") == {
        D(2025, 12, 28): 4,  # Sun Dec 28: clicks 1-4
        D(2026, 2, 22): 1,  # Sat Feb 28 closes the week that began Sun Feb 22 (5)
        D(2026, 3, 1): 2,  # Sun Mar 1 23:00, Mon Mar 2 (6, 7)
        D(2026, 3, 8): 4,  # Sun Mar 8 twice, Mon Mar 9, Tue Mar 10 (8-11)
        D(2026, 3, 29): 3,  # Tue Mar 31, Wed Apr 1 (12-14)
    }


def test_week_start_does_not_move_months_or_quarters(sunday: ml.SemanticLayer) -> None:
    assert counts(sunday, "metric_time.month") == {
        D(2025, 12, 1): 1,
        D(2026, 1, 1): 3,
        D(2026, 2, 1): 1,
        D(2026, 3, 1): 7,
        D(2026, 4, 1): 2,
    }
    assert counts(sunday, "metric_time.quarter") == {
        D(2025, 10, 1): 1,
        D(2026, 1, 1): 11,
        D(2026, 4, 1): 2,
    }


def test_partial_weeks_keep_their_start_date(utc: ml.SemanticLayer) -> None:
    found = counts(utc, "metric_time.week", start="2026-03-04", end="2026-03-09")
    # Wed Mar 4 to Mon Mar 9: clicks 8 and 9 (Sun Mar 8), 10 (Mon Mar 9 00:00).
    assert found == {D(2026, 3, 2): 2, D(2026, 3, 9): 1}


# -- months, quarters, years ------------------------------------------------------------------


def test_month_quarter_and_year_grains(utc: ml.SemanticLayer) -> None:
    assert counts(utc, "metric_time.month") == {
        D(2025, 12, 1): 1,  # click 1, one second before New Year
        D(2026, 1, 1): 3,  # clicks 2-4
        D(2026, 2, 1): 1,  # click 5
        D(2026, 3, 1): 7,  # clicks 6-12
        D(2026, 4, 1): 2,  # clicks 13, 14
    }
    assert counts(utc, "metric_time.quarter") == {
        D(2025, 10, 1): 1,
        D(2026, 1, 1): 11,  # clicks 2-12; Mar 31 23:00 is still the first quarter
        D(2026, 4, 1): 2,
    }
    assert counts(utc, "metric_time.year") == {D(2025, 1, 1): 1, D(2026, 1, 1): 13}


# -- inclusive dates --------------------------------------------------------------------------


def test_start_and_end_are_inclusive_calendar_days(utc: ml.SemanticLayer) -> None:
    # Mar 2 to Mar 8: clicks 7 (Mar 2 00:30), 8 and 9 (Mar 8, up to 23:59:59). Not click 6
    # (Mar 1 23:00) nor click 10 (Mar 9 00:00:00).
    assert counts(utc, start="2026-03-02", end="2026-03-08") == {None: 3}
    assert counts(utc, "metric_time.day", start="2026-03-02", end="2026-03-08") == {
        D(2026, 3, 2): 1,
        D(2026, 3, 8): 2,
    }


def test_a_single_day_range(utc: ml.SemanticLayer) -> None:
    assert counts(utc, start="2026-01-01", end="2026-01-01") == {None: 3}  # clicks 2-4
    assert counts(utc, start="2025-12-31", end="2025-12-31") == {None: 1}  # click 1


def test_open_ended_ranges(utc: ml.SemanticLayer) -> None:
    assert counts(utc, end="2026-01-01") == {None: 4}  # clicks 1-4
    assert counts(utc, start="2026-04-01") == {None: 2}  # clicks 13, 14


# -- time zone --------------------------------------------------------------------------------


def test_time_zone_moves_late_utc_events_to_the_previous_day(new_york: ml.SemanticLayer) -> None:
    assert counts(new_york, "metric_time.day") == {
        D(2025, 12, 31): 3,  # clicks 1-3
        D(2026, 1, 1): 1,  # click 4, 05:30 UTC = 00:30 EST
        D(2026, 2, 28): 1,
        D(2026, 3, 1): 2,  # clicks 6, 7
        D(2026, 3, 8): 3,  # clicks 8-10: 00:00 UTC on Mar 9 is 20:00 EDT on Mar 8
        D(2026, 3, 9): 1,  # click 11: 02:00 UTC on Mar 10
        D(2026, 3, 31): 2,  # clicks 12, 13
        D(2026, 4, 1): 1,  # click 14, 04:00 UTC = 00:00 EDT
    }


def test_time_zone_cuts_weeks_months_and_years(new_york: ml.SemanticLayer) -> None:
    assert counts(new_york, "metric_time.week") == {
        D(2025, 12, 29): 4,  # clicks 1-4
        D(2026, 2, 23): 3,  # clicks 5-7: click 7 is Sunday evening in New York
        D(2026, 3, 2): 3,  # clicks 8-10
        D(2026, 3, 9): 1,  # click 11
        D(2026, 3, 30): 3,  # clicks 12-14
    }
    assert counts(new_york, "metric_time.month") == {
        D(2025, 12, 1): 3,
        D(2026, 1, 1): 1,
        D(2026, 2, 1): 1,
        D(2026, 3, 1): 8,  # clicks 6-13
        D(2026, 4, 1): 1,
    }
    assert counts(new_york, "metric_time.year") == {D(2025, 1, 1): 3, D(2026, 1, 1): 11}


def test_time_zone_applies_to_start_and_end(new_york: ml.SemanticLayer) -> None:
    assert counts(new_york, start="2026-01-01", end="2026-01-01") == {None: 1}  # click 4
    assert counts(new_york, start="2026-03-08", end="2026-03-08") == {None: 3}  # clicks 8-10
    assert counts(new_york, "metric_time.day", start="2026-03-09", end="2026-03-10") == {
        D(2026, 3, 9): 1  # click 11; nothing falls on Mar 10 in New York
    }


def test_utc_project_keeps_utc_days(utc: ml.SemanticLayer) -> None:
    assert counts(utc, "metric_time.day", start="2026-03-09", end="2026-03-10") == {
        D(2026, 3, 9): 1,  # click 10
        D(2026, 3, 10): 1,  # click 11
    }


def readings(layer: ml.SemanticLayer, by: str) -> dict[object, int]:
    result = layer.query("reading_total", by=by).run()
    return {row[0]: int(row[1]) for row in result.rows}


def test_dates_are_calendar_days_in_a_utc_project(utc: ml.SemanticLayer) -> None:
    assert readings(utc, "metric_time.month") == {
        D(2026, 1, 1): 1,
        D(2026, 2, 1): 2,
        D(2026, 3, 1): 4,
    }


def test_dates_are_calendar_days_in_any_time_zone(new_york: ml.SemanticLayer) -> None:
    # A DATE is already a calendar day: Feb 1 stays in February, whatever the time zone.
    assert readings(new_york, "metric_time.day") == {
        D(2026, 1, 31): 1,
        D(2026, 2, 1): 2,
        D(2026, 3, 1): 4,
    }
    assert readings(new_york, "metric_time.month") == {
        D(2026, 1, 1): 1,
        D(2026, 2, 1): 2,
        D(2026, 3, 1): 4,
    }
