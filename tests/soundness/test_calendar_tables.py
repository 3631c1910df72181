"""A calendar table's periods (retail 4-5-4 months and years) used like grains, by hand.

The calendar below is written out by hand: the last months of retail year 2023, which has 53
weeks (2023-01-29 to 2024-02-03, so its last month, January, has 5 weeks), and the first of
2024. Weeks start on Sunday.

    month starts  2023-11-26 (5 weeks)  2023-12-31 (5 weeks, the 53rd week last)
                  2024-02-04 (4 weeks)  2024-03-03 (5 weeks, to 2024-04-06)
    year starts   2023-01-29            2024-02-04

The table covers 2023-11-26 to 2024-04-06 only. Both it and the events are literal SELECTs in
``sql:`` (nothing is written to any database), so the same rows reach DuckDB, SQLite,
PostgreSQL, MariaDB, ClickHouse (chdb) and Spark. Events (UTC):

    e1  u1  2023-12-30 23:30   10.00   last day of the retail December
    e2  u2  2023-12-31 00:10   20.00   first day of the retail January (19:10 on Dec 30 in New York)
    e3  u1  2024-02-03 12:00    5.00   last day of the 53-week year
    e4  u3  2024-02-04 09:00    7.00   first day of retail year 2024
    e5  u1  2024-03-02 10:00    1.00   last day of the retail February
    e6  u2  2024-03-03 10:00    2.00   first day of the retail March
    e7  u4  2023-11-20 10:00  100.00   before the table: in no period
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

import metrics_layer as ml
from metrics_layer.errors import EngineError
from soundness.literal import but, engine_url, literal_rows, mariadb_has_zone_tables

D = dt.date

MONTHS = [  # (first day, last day) of each retail month of the table
    (D(2023, 11, 26), D(2023, 12, 30)),
    (D(2023, 12, 31), D(2024, 2, 3)),
    (D(2024, 2, 4), D(2024, 3, 2)),
    (D(2024, 3, 3), D(2024, 4, 6)),
]
YEAR_2024 = D(2024, 2, 4)
YEAR_2023 = D(2023, 1, 29)


def _calendar_rows() -> list[tuple[dt.date, dt.date, dt.date, dt.date]]:
    rows = []
    for first, last in MONTHS:
        day = first
        while day <= last:
            year = YEAR_2024 if day >= YEAR_2024 else YEAR_2023
            week = day - dt.timedelta(days=(day.weekday() + 1) % 7)  # back to Sunday
            rows.append((day, week, first, year))
            day += dt.timedelta(days=1)
    return rows


EVENTS = [
    (1, 1, dt.datetime(2023, 12, 30, 23, 30), Decimal("10.00")),
    (2, 2, dt.datetime(2023, 12, 31, 0, 10), Decimal("20.00")),
    (3, 1, dt.datetime(2024, 2, 3, 12, 0), Decimal("5.00")),
    (4, 3, dt.datetime(2024, 2, 4, 9, 0), Decimal("7.00")),
    (5, 1, dt.datetime(2024, 3, 2, 10, 0), Decimal("1.00")),
    (6, 2, dt.datetime(2024, 3, 3, 10, 0), Decimal("2.00")),
    (7, 4, dt.datetime(2023, 11, 20, 10, 0), Decimal("100.00")),
]
EVENT_COLUMNS = {
    "event_id": None,
    "user_id": None,
    "occurred_at": "TIMESTAMP",
    "amount": "DECIMAL(10, 2)",
}
CALENDAR_COLUMNS = dict.fromkeys(("day", "retail_week", "month_start", "year_start"), "DATE")


def _calendar_sql(only: set[dt.date] | None = None) -> str:
    """The rows (those of the days in ``only``, if given) in chunks of 35 (a long UNION ALL
    nests too deep for definitions)."""
    rows = [r for r in _calendar_rows() if only is None or r[0] in only]
    names = ", ".join(CALENDAR_COLUMNS)
    return " UNION ALL ".join(
        f"SELECT {names} FROM ({literal_rows(CALENDAR_COLUMNS, rows[i : i + 35])}) AS chunk_{i}"
        for i in range(0, len(rows), 35)
    )


SOURCES = f"""
sources:
  - name: events
    sql: "{literal_rows(EVENT_COLUMNS, EVENTS)}"
    time: occurred_at
    entities:
      - {{name: event, key: event_id, primary: true}}
    dimensions:
      - {{name: occurred_at, type: time, grain: hour}}
    measures:
      - {{name: amount, agg: sum, expr: amount}}
      - {{name: users, agg: count_distinct, expr: user_id}}
metrics:
  - {{name: amount, type: simple, measure: events.amount}}
  - {{name: users, type: simple, measure: events.users}}
  - {{name: users_7d, type: rolling, measure: events.users, window: 7 days}}
  - {{name: amount_rytd, type: cumulative, measure: events.amount, grain_to_date: retail_year}}
  - {{name: users_rmtd, type: cumulative, measure: events.users, grain_to_date: retail_month}}
  - name: amount_month_before
    type: derived
    expr: before
    inputs: [{{metric: amount, offset: 1 retail_month, alias: before}}]
  - name: amount_growth
    type: derived
    expr: (amount - before) / before
    inputs: [{{metric: amount}}, {{metric: amount, offset: 1 retail_month, alias: before}}]
  - name: rytd_at_month_start
    type: derived
    expr: at_start
    inputs: [{{metric: amount_rytd, offset_to_grain: retail_month, alias: at_start}}]
"""


def _project(
    time_zone: str = "UTC",
    table: bool = True,
    only: set[dt.date] | None = None,
    spine: bool = False,
) -> dict[str, str]:
    where = "table: retail_calendar" if table else f'sql: "{_calendar_sql(only)}"'
    return {
        "metrics_layer.yml": f"""
project:
  name: retail
  time_zone: {time_zone}
  calendar:
    {where}
    spine: {str(spine).lower()}
    periods:
      - {{name: retail_week}}
      - {{name: retail_month, column: month_start}}
      - {{name: retail_year, column: year_start}}
""",
        "events.yml": SOURCES,
    }


Load = Callable[..., ml.SemanticLayer]
NOT_SPARK = but("spark")
# The embedded engines read the calendar from a table in a file of the test's own; the others
# from the literal SELECT (slower to check and plan: a few queries each).
EMBEDDED = ["duckdb", "sqlite"]
SERVERS = but("spark", *EMBEDDED)


def _calendar_file(engine: str, folder: Path, without: dt.date | None = None) -> str:
    rows = [r for r in _calendar_rows() if r[0] != without]
    create = "CREATE TABLE retail_calendar (day DATE, retail_week DATE, month_start DATE, "
    create += "year_start DATE)"
    insert = "INSERT INTO retail_calendar VALUES (?, ?, ?, ?)"
    if engine == "duckdb":
        path = folder / "calendar.duckdb"
        with duckdb.connect(str(path)) as connection:
            connection.execute(create)
            connection.executemany(insert, rows)
        return f"duckdb:///{path}"
    path = folder / "calendar.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(create)
        connection.executemany(insert, [tuple(d.isoformat() for d in r) for r in rows])
    connection.close()
    return f"sqlite:///{path}"


@pytest.fixture
def load(tmp_path: Path, write_project: Callable[[dict[str, str]], Path]) -> Iterator[Load]:
    layers: list[ml.SemanticLayer] = []

    def build(
        engine: str, time_zone: str = "UTC", spine: bool = False, without: dt.date | None = None
    ) -> ml.SemanticLayer:
        embedded = engine in EMBEDDED
        if embedded:
            folder = tmp_path / f"calendar_{spine}_{without}"
            folder.mkdir(exist_ok=True)
            url = _calendar_file(engine, folder, without)
        else:
            url = engine_url(engine, tmp_path)
        project = _project(time_zone, embedded, spine=spine)
        layer = ml.load(write_project(project), connection=url)
        layers.append(layer)
        return layer

    yield build
    for layer in layers:
        layer.connection.close()


def _rows(layer: ml.SemanticLayer, metrics: list[str], **query: Any) -> list[tuple[Any, ...]]:
    """The rows, numbers as floats (engines return DECIMAL sums as Decimal or float)."""
    return [
        tuple(
            float(v) if isinstance(v, Decimal | int) and not isinstance(v, bool) else v for v in r
        )
        for r in layer.query(metrics, **query).run().rows
    ]


RANGE = {"start": "2023-12-01", "end": "2024-03-31"}


def test_the_calendar_covers_53_weeks_in_2023() -> None:
    rows = _calendar_rows()
    assert len([r for r in rows if r[3] == YEAR_2023]) == 70  # Nov 26 to Feb 3
    assert (YEAR_2024 - YEAR_2023).days == 53 * 7
    assert all(r[1].weekday() == 6 for r in rows)  # weeks start on Sunday


@pytest.mark.parametrize("engine", EMBEDDED)
def test_sums_and_distinct_counts_by_retail_month_and_year(load: Load, engine: str) -> None:
    layer = load(engine)
    by_month = _rows(layer, ["amount", "users"], by=["metric_time.retail_month"], **RANGE)
    assert by_month == [
        (D(2023, 11, 26), 10.0, 1),  # e1
        (D(2023, 12, 31), 25.0, 2),  # e2 + e3: the 53rd week is in January
        (D(2024, 2, 4), 8.0, 2),  # e4 + e5
        (D(2024, 3, 3), 2.0, 1),  # e6
    ]
    by_year = _rows(layer, ["amount"], by=["metric_time.retail_year"], **RANGE)
    assert by_year == [(YEAR_2023, 35.0), (YEAR_2024, 10.0)]
    weeks = _rows(
        layer, ["amount"], by=["metric_time.retail_week"], start="2024-01-28", end="2024-02-10"
    )
    assert weeks == [(D(2024, 1, 28), 5.0), (D(2024, 2, 4), 7.0)]


@pytest.mark.parametrize("engine", EMBEDDED)
def test_filters_and_a_joined_grouping_use_the_periods(load: Load, engine: str) -> None:
    layer = load(engine)
    kept = _rows(layer, ["amount"], where="metric_time.retail_year = '2024-02-04'", **RANGE)
    assert kept == [(10.0,)]
    both = _rows(
        layer,
        ["amount"],
        by=["metric_time.retail_year", "metric_time.month"],
        where="metric_time.retail_month IN ('2023-12-31', '2024-02-04')",
        **RANGE,
    )
    assert both == [
        (YEAR_2023, D(2023, 12, 1), 20.0),  # e2
        (YEAR_2023, D(2024, 2, 1), 5.0),  # e3
        (YEAR_2024, D(2024, 2, 1), 7.0),  # e4
        (YEAR_2024, D(2024, 3, 1), 1.0),  # e5
    ]


@pytest.mark.parametrize("engine", EMBEDDED)
def test_rows_outside_the_calendar_have_no_period(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = _rows(layer, ["amount"], by=["metric_time.retail_month"], start="2023-11-01")
    assert rows[-1] == (None, 100.0)  # e7, before the table, NULLs last
    assert sum(r[1] for r in rows) == 145.0


@pytest.mark.parametrize("engine", but("spark", "chdb"))
def test_windows_start_on_calendar_periods(load: Load, engine: str) -> None:
    layer = load(engine)
    days = dict(
        _rows(layer, ["amount_rytd"], by=["metric_time.day"], start="2024-02-02", end="2024-03-03")
    )
    # Year to date from 2023-01-29, before the range and the table: e7 counts.
    assert days[D(2024, 2, 2)] == 130.0  # e7 + e1 + e2
    assert days[D(2024, 2, 3)] == 135.0  # + e3
    assert days[D(2024, 2, 4)] == 7.0  # a new retail year: e4
    assert days[D(2024, 3, 3)] == 10.0  # e4 + e5 + e6
    months = _rows(layer, ["users_rmtd", "users_7d"], by=["metric_time.retail_month"], **RANGE)
    assert months == [
        # month to date on each month's last day in the range; 7 days ending on it
        (D(2023, 11, 26), 1, 1),  # Dec 30: u1 (e1); Dec 24-30: u1
        (D(2023, 12, 31), 2, 1),  # Feb 3: u2, u1; Jan 28 - Feb 3: u1
        (D(2024, 2, 4), 2, 1),  # Mar 2: u3, u1; Feb 25 - Mar 2: u1
        (D(2024, 3, 3), 1, 0),  # Mar 31 (the range's end): u2; Mar 25-31: none
    ]


@pytest.mark.parametrize("engine", but("spark", "chdb"))
def test_a_range_starting_before_the_table_reads_the_years_rows(load: Load, engine: str) -> None:
    # The rows are read from the first day of the earliest retail year holding a day of the
    # range the table knows (2023-01-29), not from the year of the range's first day, which
    # the table does not hold (Nov 1-25): e7 still counts.
    layer = load(engine)
    months = _rows(
        layer, ["amount_rytd"], by=["metric_time.month"], start="2023-11-01", end="2024-02-10"
    )
    assert months == [
        (D(2023, 11, 1), 100.0),  # Nov 30: e7
        (D(2023, 12, 1), 130.0),  # Dec 31: e7 + e1 + e2
        (D(2024, 1, 1), 130.0),  # Jan 31: the same
        (D(2024, 2, 1), 7.0),  # Feb 10, the range's end: retail year 2024, e4
    ]


@pytest.mark.parametrize("engine", but("spark", "chdb"))
def test_a_range_starting_on_a_years_first_day_reads_from_it(load: Load, engine: str) -> None:
    # The rows are read from the first day of retail year 2024, the range's first day, as
    # looked up in the table (on SQLite the time's text is first compared with the day before,
    # sql/dialects.py): e4 at 09:00 is read, e3 of the day before is not (nor counted by the
    # year's window).
    layer = load(engine)
    asked: dict[str, Any] = {"by": ["metric_time.day"], "start": "2024-02-04", "end": "2024-02-05"}
    assert _rows(layer, ["amount_rytd"], **asked) == [(D(2024, 2, 4), 7.0), (D(2024, 2, 5), 7.0)]
    assert "MIN(calendar.year_start)" in layer.query(["amount_rytd"], **asked).sql()


@pytest.mark.parametrize("engine", EMBEDDED)
def test_offset_to_a_calendar_period(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = _rows(layer, ["rytd_at_month_start"], by=["metric_time.retail_month"], **RANGE)
    assert rows == [
        # year to date on the first day of the retail month holding the period's first day:
        # the range starts Dec 1, inside the month of Nov 26
        (D(2023, 11, 26), 100.0),  # Nov 26: e7
        (D(2023, 12, 31), 130.0),  # Dec 31: e7 + e1 + e2
        (D(2024, 2, 4), 7.0),  # Feb 4: e4
        (D(2024, 3, 3), 10.0),  # Mar 3: e4 + e5 + e6
    ]


@pytest.mark.parametrize("engine", NOT_SPARK)
def test_offsets_in_calendar_periods(load: Load, engine: str) -> None:
    layer = load(engine)
    months = _rows(
        layer,
        ["amount", "users", "amount_month_before", "amount_growth"],
        by=["metric_time.retail_year", "metric_time.retail_month"],
        **RANGE,
    )
    assert months == [
        # A row moves to the same day of the next retail month (its last day when shorter);
        # e7 is in no period and e6's next month is past the table, so neither moves.
        (YEAR_2023, D(2023, 11, 26), 10.0, 1, None, None),
        (YEAR_2023, D(2023, 12, 31), 25.0, 2, 10.0, 1.5),  # e1: Dec 30, day 35 of 35 -> Feb 3
        # e2 -> Feb 4; e3 (day 35 of 35) -> Mar 2 (day 28 of 28)
        (YEAR_2024, D(2024, 2, 4), 8.0, 2, 25.0, -0.68),
        (YEAR_2024, D(2024, 3, 3), 2.0, 1, 8.0, -0.75),  # e4 -> Mar 3; e5 (day 28) -> Mar 30
    ]
    days = _rows(
        layer, ["amount_month_before"], by=["metric_time.day"], start="2024-02-01", end="2024-03-31"
    )
    assert [(day, value) for day, value in days if value is not None] == [
        (D(2024, 2, 3), 10.0),
        (D(2024, 2, 4), 20.0),
        (D(2024, 3, 2), 5.0),
        (D(2024, 3, 3), 7.0),
        (D(2024, 3, 30), 1.0),
    ]


@pytest.mark.engine("spark")
def test_spark_groups_by_calendar_periods(
    tmp_path: Path, write_project: Callable[[dict[str, str]], Path]
) -> None:
    # Spark plans a long literal calendar slowly: here it holds only the events' days.
    days = {t.date() for _, _, t, _ in EVENTS}
    project = _project(table=False, only=days)
    layer = ml.load(write_project(project), connection=engine_url("spark", tmp_path))
    try:
        rows = _rows(
            layer, ["amount", "users"], by=["metric_time.retail_year", "metric_time.retail_month"]
        )
    finally:
        layer.connection.close()
    assert rows == [
        (YEAR_2023, D(2023, 11, 26), 10.0, 1),
        (YEAR_2023, D(2023, 12, 31), 25.0, 2),
        (YEAR_2024, D(2024, 2, 4), 8.0, 2),
        (YEAR_2024, D(2024, 3, 3), 2.0, 1),
        (None, None, 100.0, 1),  # e7: before the table
    ]


@pytest.mark.parametrize("engine", ["duckdb", *SERVERS])
def test_the_project_time_zone_cuts_the_date_first(load: Load, engine: str) -> None:
    layer = load(engine, "America/New_York")
    if engine == "mariadb" and not mariadb_has_zone_tables("America/New_York"):
        # This server has no time-zone tables: the query is refused before it runs.
        with pytest.raises(EngineError, match="time-zone tables are not loaded"):
            _rows(layer, ["amount"], by=["metric_time.retail_month"], **RANGE)
        return
    rows = _rows(layer, ["amount"], by=["metric_time.retail_month"], **RANGE)
    # e2 is at 19:10 on Dec 30 in New York: the retail December; the rest keep their months.
    assert rows == [
        (D(2023, 11, 26), 30.0),
        (D(2023, 12, 31), 5.0),
        (D(2024, 2, 4), 8.0),
        (D(2024, 3, 3), 2.0),
    ]


@pytest.mark.parametrize("engine", EMBEDDED)
def test_the_spine_can_be_the_calendar_tables_days(load: Load, engine: str) -> None:
    generated = load(engine)
    table = load(engine, spine=True)
    questions: list[dict[str, Any]] = [
        {"metrics": ["users_7d", "amount_rytd"], "by": ["metric_time.retail_month"]},
        {"metrics": ["users_rmtd"], "by": ["metric_time.day"], "start": "2024-02-01"},
        {"metrics": [], "by": ["metric_time.retail_week"]},
        {"metrics": ["amount"], "by": ["metric_time.week"], "fill_periods": True},
    ]
    for question in questions:
        asked = {"start": RANGE["start"], "end": RANGE["end"], **question}
        metrics = asked.pop("metrics")
        assert table.query(metrics, **asked).sql().count("spine_digits") == 0
        assert _rows(table, metrics, **asked) == _rows(generated, metrics, **asked)
    # A day the table lacks is no day of the spine: it has no row and no window of its own.
    gap = load(engine, spine=True, without=D(2024, 3, 2))
    days = _rows(
        gap,
        ["amount"],
        by=["metric_time.day"],
        start="2024-03-01",
        end="2024-03-03",
        fill_periods=True,
    )
    assert days == [(D(2024, 3, 1), None), (D(2024, 3, 3), 2.0)]


@pytest.mark.parametrize("engine", EMBEDDED)
def test_every_period_of_a_range_is_listed(load: Load, engine: str) -> None:
    layer = load(engine)
    listed = _rows(layer, [], by=["metric_time.retail_month"], **RANGE)
    assert listed == [(first,) for first, _ in MONTHS]
    filled = _rows(
        layer,
        ["amount"],
        by=["metric_time.retail_week"],
        start="2024-02-11",
        end="2024-03-09",
        fill_periods=True,
    )
    assert filled == [
        (D(2024, 2, 11), None),  # a sum without rows is NULL (a count would be 0)
        (D(2024, 2, 18), None),
        (D(2024, 2, 25), 1.0),  # e5
        (D(2024, 3, 3), 2.0),  # e6
    ]


def test_mistakes_name_the_calendar(
    load: Load, write_project: Callable[[dict[str, str]], Path]
) -> None:
    layer = load("duckdb")
    with pytest.raises(ml.QueryError, match="whole_periods widens the range by built-in"):
        layer.query(["amount"], by=["metric_time.retail_month"], whole_periods=True, **RANGE)
    with pytest.raises(ml.QueryError, match="Did you mean 'retail_month'"):
        layer.query(["amount"], by=["metric_time.retail_mnth"])
    with pytest.raises(ml.QueryError, match="retail_week, retail_month, retail_year"):
        layer.query(["amount"], by=["events.occurred_at.fortnight"])
    project = _project()
    project["metrics_layer.yml"] = project["metrics_layer.yml"].replace(
        "{name: retail_week}", "{name: month}"
    )
    windowed = """
  - name: users_7d_month_before
    type: derived
    expr: before
    inputs: [{metric: users_7d, offset: 1 retail_month, alias: before}]
"""
    project["events.yml"] = SOURCES.replace(
        "grain_to_date: retail_year", "grain_to_date: rtl_year"
    ).replace(
        "offset: 1 retail_month, alias: before}]\n  - name: amount_growth",
        "offset: 2 fortnights, alias: before}]\n  - name: amount_growth",
    )
    with pytest.raises(ml.DefinitionError) as caught:
        ml.load(write_project(project))
    text = str(caught.value)
    assert re.search(r"metrics_layer\.yml:\d+:\d+: error: calendar period 'month' is named", text)
    assert "'retail_month' is not" not in text  # the other periods stay known
    assert "offset '2 fortnights': 'fortnights' is not a unit of a day or longer" in text
    assert "'rtl_year' is not a grain or a period" in text
    project = _project()
    project["events.yml"] = SOURCES + windowed
    with pytest.raises(ml.DefinitionError) as caught:
        ml.load(write_project(project))
    text = str(caught.value)
    assert "'users_7d' is a rolling metric, evaluated per day; an offset of 1 retail_month" in text
    assert "'offset_to_grain: retail_month'" in text
