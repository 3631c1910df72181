"""SQLite cuts every grain and moves by months, quarters and years exactly as DuckDB (and
PostgreSQL and MariaDB) do.

The rows are literal (the source is a plain SELECT), so the same definitions run unchanged on an
empty SQLite file and an empty DuckDB file. Amounts are powers of two: a sum names its rows.

    row  ordered_at (UTC)      weekday  amount
    r1   2023-02-28 08:00      Tue          1
    r2   2023-08-31 12:00      Thu          2
    r3   2023-11-30 05:00      Thu          4
    r4   2024-01-29 08:00      Mon          8
    r5   2024-01-30 12:30      Tue         16
    r6   2024-01-31 23:30      Wed         32
    r7   2024-02-28 10:00      Wed         64
    r8   2024-02-29 23:59      Thu        128   (2024 is a leap year)
    r9   2024-03-31 00:15      Sun        256
    r10  2024-12-31 23:00      Tue        512
    r11  2024-01-31 23:05      Wed       1024   (same hour as r6)
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

import metrics_layer as ml
from metrics_layer.safety.statement import verify
from tests.conftest import MARIADB_URL, POSTGRES_URL, require_service

ROWS = [
    ("2023-02-28 08:00:00", 1),
    ("2023-08-31 12:00:00", 2),
    ("2023-11-30 05:00:00", 4),
    ("2024-01-29 08:00:00", 8),
    ("2024-01-30 12:30:00", 16),
    ("2024-01-31 23:30:00", 32),
    ("2024-02-28 10:00:00", 64),
    ("2024-02-29 23:59:00", 128),
    ("2024-03-31 00:15:00", 256),
    ("2024-12-31 23:00:00", 512),
    ("2024-01-31 23:05:00", 1024),
]
LITERAL_ROWS = " UNION ALL ".join(
    f"SELECT {n} AS order_id, CAST('{at}' AS TIMESTAMP) AS ordered_at, {amount} AS amount"
    for n, (at, amount) in enumerate(ROWS, start=1)
)

PROJECT = """
project:
  name: calendar
  week_start: {week_start}
  time_zone: {time_zone}
sources:
  - name: orders
    sql: "{rows}"
    time: ordered_at
    entities:
      - {{name: order, key: order_id, primary: true}}
    dimensions:
      - {{name: ordered_at, type: time, grain: hour}}
    measures:
      - {{name: revenue, agg: sum, expr: amount}}
metrics:
  - {{name: revenue, type: simple, measure: orders.revenue}}
  - name: revenue_month_ago
    type: derived
    expr: before
    inputs: [{{metric: revenue, offset: 1 month, alias: before}}]
  - name: revenue_quarter_ago
    type: derived
    expr: before
    inputs: [{{metric: revenue, offset: 1 quarter, alias: before}}]
  - name: revenue_year_ago
    type: derived
    expr: before
    inputs: [{{metric: revenue, offset: 1 year, alias: before}}]
  - name: revenue_growth
    type: derived
    expr: "(revenue - before) / before"
    inputs: [{{metric: revenue, offset: 1 month, alias: before}}]
"""

ENGINES = ("sqlite", "duckdb", "postgresql", "mariadb")
SERVERS = {
    "postgresql": POSTGRES_URL,
    "mariadb": MARIADB_URL,
}
Layer = Callable[..., ml.SemanticLayer]


@pytest.fixture
def calendar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Layer]:
    """``calendar(engine, week_start=..., time_zone=...)``: the project on an empty database,
    with the client's own time zone far from UTC (SQLite's DATE() must not use it)."""
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    time.tzset()
    layers: list[ml.SemanticLayer] = []

    def load(
        engine: str, *, week_start: str = "monday", time_zone: str = "UTC"
    ) -> ml.SemanticLayer:
        folder = tmp_path / f"{engine}-{week_start}-{time_zone.replace('/', '-')}"
        folder.mkdir()
        text = PROJECT.format(week_start=week_start, time_zone=time_zone, rows=LITERAL_ROWS)
        (folder / "metrics_layer.yml").write_text(text, encoding="utf-8")
        layer = ml.load(folder, connection=_url(engine, tmp_path))
        layers.append(layer)
        if engine in SERVERS:
            try:
                layer.connection.fetch(
                    verify("SELECT 1 AS ok", layer.dialect), timeout=5, max_rows=1
                )
            except ml.EngineError as exc:
                require_service(engine, False, str(exc).splitlines()[0])
        return layer

    yield load
    for layer in layers:
        layer.connection.close()
    monkeypatch.delenv("TZ")
    time.tzset()


def _url(engine: str, folder: Path) -> str:
    """The server's URL, or a new empty database file (the rows are literal SQL)."""
    if engine in SERVERS:
        return SERVERS[engine]
    database = folder / f"{engine}.db"
    if not database.exists():
        if engine == "sqlite":
            sqlite3.connect(database).close()
        else:
            duckdb.connect(str(database)).close()
    return f"{engine}:///{database}"


def rows(layer: ml.SemanticLayer, metric: str, by: str) -> dict[str, object]:
    """{period as ISO text: value}; SQLite returns dates as text, DuckDB as date objects."""
    result = layer.query(metric, by=by).run()
    return {str(period): value for period, value in result.rows}


GRAINS: dict[tuple[str, str], dict[str, int]] = {
    ("hour", "monday"): {
        "2023-02-28 08:00:00": 1,
        "2023-08-31 12:00:00": 2,
        "2023-11-30 05:00:00": 4,
        "2024-01-29 08:00:00": 8,
        "2024-01-30 12:00:00": 16,
        "2024-01-31 23:00:00": 32 + 1024,  # r6 23:30 and r11 23:05
        "2024-02-28 10:00:00": 64,
        "2024-02-29 23:00:00": 128,
        "2024-03-31 00:00:00": 256,
        "2024-12-31 23:00:00": 512,
    },
    ("day", "monday"): {
        "2023-02-28": 1,
        "2023-08-31": 2,
        "2023-11-30": 4,
        "2024-01-29": 8,
        "2024-01-30": 16,
        "2024-01-31": 32 + 1024,
        "2024-02-28": 64,
        "2024-02-29": 128,
        "2024-03-31": 256,
        "2024-12-31": 512,
    },
    ("week", "monday"): {
        "2023-02-27": 1,  # Tue Feb 28 - 1 day
        "2023-08-28": 2,  # Thu Aug 31 - 3 days
        "2023-11-27": 4,  # Thu Nov 30 - 3 days
        "2024-01-29": 8 + 16 + 32 + 1024,  # Mon Jan 29 .. Wed Jan 31
        "2024-02-26": 64 + 128,  # Wed Feb 28, Thu Feb 29
        "2024-03-25": 256,  # Sun Mar 31 - 6 days
        "2024-12-30": 512,  # Tue Dec 31 - 1 day
    },
    ("week", "sunday"): {
        "2023-02-26": 1,  # Tue Feb 28 - 2 days
        "2023-08-27": 2,  # Thu Aug 31 - 4 days
        "2023-11-26": 4,  # Thu Nov 30 - 4 days
        "2024-01-28": 8 + 16 + 32 + 1024,  # Mon Jan 29 .. Wed Jan 31, all after Sun Jan 28
        "2024-02-25": 64 + 128,  # Wed Feb 28 - 3, Thu Feb 29 - 4
        "2024-03-31": 256,  # a Sunday starts its own week
        "2024-12-29": 512,  # Tue Dec 31 - 2 days
    },
    ("month", "monday"): {
        "2023-02-01": 1,
        "2023-08-01": 2,
        "2023-11-01": 4,
        "2024-01-01": 8 + 16 + 32 + 1024,
        "2024-02-01": 64 + 128,
        "2024-03-01": 256,
        "2024-12-01": 512,
    },
    ("quarter", "monday"): {
        "2023-01-01": 1,  # February
        "2023-07-01": 2,  # August
        "2023-10-01": 4,  # November
        "2024-01-01": 8 + 16 + 32 + 1024 + 64 + 128 + 256,  # January to March
        "2024-10-01": 512,  # December
    },
    ("year", "monday"): {
        "2023-01-01": 1 + 2 + 4,
        "2024-01-01": 8 + 16 + 32 + 64 + 128 + 256 + 512 + 1024,
    },
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("grain", "week_start"), list(GRAINS))
def test_every_grain_on_hand_made_rows(
    calendar: Layer, engine: str, grain: str, week_start: str
) -> None:
    layer = calendar(engine, week_start=week_start)
    assert rows(layer, "revenue", f"metric_time.{grain}") == GRAINS[grain, week_start]


# Each row's date moved forward by the offset, the day clamped to the target month's last day.
OFFSETS: dict[str, dict[str, int]] = {
    "revenue_month_ago": {
        "2023-03-28": 1,  # Feb 28 -> Mar 28
        "2023-09-30": 2,  # Aug 31 -> Sep 30 (clamped)
        "2023-12-30": 4,  # Nov 30 -> Dec 30
        "2024-02-29": 8 + 16 + 32 + 1024,  # Jan 29, 30, 31 -> Feb 29 (29 exists; 30, 31 clamped)
        "2024-03-28": 64,  # Feb 28 -> Mar 28
        "2024-03-29": 128,  # Feb 29 -> Mar 29
        "2024-04-30": 256,  # Mar 31 -> Apr 30 (clamped)
        "2025-01-31": 512,  # Dec 31 -> Jan 31 of the next year
    },
    "revenue_quarter_ago": {
        "2023-05-28": 1,  # Feb 28 -> May 28
        "2023-11-30": 2,  # Aug 31 -> Nov 30 (clamped)
        "2024-02-29": 4,  # Nov 30 2023 -> Feb 29 2024 (clamped to the leap day)
        "2024-04-29": 8,  # Jan 29 -> Apr 29
        "2024-04-30": 16 + 32 + 1024,  # Jan 30 -> Apr 30; Jan 31 -> Apr 30 (clamped)
        "2024-05-28": 64,
        "2024-05-29": 128,
        "2024-06-30": 256,  # Mar 31 -> Jun 30 (clamped)
        "2025-03-31": 512,  # Dec 31 -> Mar 31
    },
    "revenue_year_ago": {
        "2024-02-28": 1,  # Feb 28 2023 -> Feb 28 2024
        "2024-08-31": 2,
        "2024-11-30": 4,
        "2025-01-29": 8,
        "2025-01-30": 16,
        "2025-01-31": 32 + 1024,
        "2025-02-28": 64 + 128,  # Feb 28 and Feb 29 2024 (clamped) -> Feb 28 2025
        "2025-03-31": 256,
        "2025-12-31": 512,
    },
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("metric", list(OFFSETS))
def test_offsets_clamp_to_the_end_of_the_month(calendar: Layer, engine: str, metric: str) -> None:
    assert rows(calendar(engine), metric, "metric_time.day") == OFFSETS[metric]


@pytest.mark.parametrize("engine", ENGINES)
def test_month_over_month_growth_keeps_its_sign(calendar: Layer, engine: str) -> None:
    """By month, the value one month earlier of February is January's 1080 (its rows moved to
    Feb 29 at the latest), and of March is February's 192: with overflowing months, January 30
    and 31 would land in March (192 + 1072) and March's growth would turn negative."""
    got = rows(calendar(engine), "revenue_growth", "metric_time.month")
    assert got == {
        "2023-02-01": None,  # no January 2023
        "2023-08-01": None,
        "2023-11-01": None,
        "2024-01-01": None,  # December 2023 has no rows of its own
        "2024-02-01": pytest.approx((192 - 1080) / 1080),
        "2024-03-01": pytest.approx((256 - 192) / 192),
        "2024-12-01": None,
    }


@pytest.mark.parametrize(
    "query",
    [
        ("revenue", "metric_time.day"),
        ("revenue_month_ago", "metric_time.week"),
        ("revenue_growth", "metric_time.quarter"),
        ("revenue_year_ago", "metric_time.year"),
        ("revenue", "metric_time.hour"),
    ],
)
def test_sqlite_and_duckdb_agree(calendar: Layer, query: tuple[str, str]) -> None:
    metric, by = query
    assert rows(calendar("sqlite"), metric, by) == rows(calendar("duckdb"), metric, by)


def test_a_time_zone_is_refused_on_sqlite_at_compile_time(calendar: Layer) -> None:
    """SQLite has no time-zone database: AT TIME ZONE would be a syntax error there."""
    layer = calendar("sqlite", time_zone="Europe/Berlin")
    query = layer.query("revenue", by="metric_time.day")
    message = (
        r"^sqlite cannot compute time zones other than UTC \(it has no time-zone database\) "
        r"exactly; set `time_zone: UTC` in the project, or query another engine"
    )
    with pytest.raises(ml.UnsupportedError, match=message):
        query.sql()
    with pytest.raises(ml.UnsupportedError, match=message):
        query.run()
    assert "AT TIME ZONE" in query.sql("postgres")


SOURCE_MONTHS = """
sources:
  - name: dates
    sql: "SELECT 1 AS id, DATE_ADD(CAST('2024-01-31' AS DATE), INTERVAL 1 MONTH) AS day
          UNION ALL SELECT 2, DATE_SUB(CAST('2024-03-31' AS DATE), INTERVAL 1 MONTH)
          UNION ALL SELECT 3, DATE_ADD(CAST('2024-02-29' AS DATE), INTERVAL 1 YEAR)"
    time: day
    entities: [{name: row, key: id, primary: true}]
    dimensions: [{name: day, type: time}]
    measures: [{name: rows, agg: count}]
metrics:
  - {name: rows, type: simple, measure: dates.rows}
"""


# MariaDB is left out: a source's DATE_ADD(d, INTERVAL 1 MONTH) is rendered for it as
# DATE_ADD(d, INTERVAL (INTERVAL '1' MONTH) DAY), a syntax error there (a separate bug).
@pytest.mark.parametrize("engine", ["sqlite", "duckdb", "postgresql"])
def test_month_arithmetic_in_a_source_clamps(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source's own DATE_ADD/DATE_SUB by months and years gets the same rule."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "dates.yml").write_text(SOURCE_MONTHS, encoding="utf-8")
    layer = ml.load(folder, connection=_url(engine, tmp_path))
    try:
        if engine in SERVERS:
            try:
                layer.connection.fetch(verify("SELECT 1 AS ok", layer.dialect), max_rows=1)
            except ml.EngineError as exc:
                require_service(engine, False, str(exc).splitlines()[0])
        # Jan 31 + 1 month and Mar 31 - 1 month are Feb 29, 2024; Feb 29, 2024 + 1 year is
        # Feb 28, 2025
        assert rows(layer, "rows", "metric_time.day") == {"2024-02-29": 2, "2025-02-28": 1}
    finally:
        layer.connection.close()
