"""A KPI never depends on the machine's, the server's or the column's time zone.

Eleven orders at instants chosen on the edges: a month end, the European daylight-saving changes
(2026-03-29 01:00 UTC and 2026-10-25 01:00 UTC), the American ones (2026-03-08 07:00 UTC and
2026-11-01 06:00 UTC). Each engine reads them from a source defined by a SELECT of literal rows
(nothing is written anywhere), once as naive UTC timestamps and, where the engine has the type,
once as time-zone-aware timestamps written with their Berlin offset. The queries run with a
client ``TZ`` (and PostgreSQL ``PGTZ``) other than UTC; every expected number is worked out by
hand in the comments.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import sqlalchemy
from conftest import MARIADB_URL, POSTGRES_URL, require_pyspark, require_server
from sqlalchemy.pool import NullPool

import metrics_layer as ml
from metrics_layer.engine.connection import Connection
from metrics_layer.errors import EngineError, UnsupportedError

D = dt.date
T = dt.datetime

POSTGRES = POSTGRES_URL
MARIADB = MARIADB_URL
CHDB = "chdb://"  # in memory: the rows are literals

# (UTC wall clock, the same instant written in Berlin time with its offset)
ORDERS: list[tuple[str, str]] = [
    ("2026-01-31 23:30:00", "2026-02-01 00:30:00+01"),  # 1 NY Jan 31 18:30 EST
    ("2026-03-08 06:30:00", "2026-03-08 07:30:00+01"),  # 2 NY Mar 8 01:30 EST
    ("2026-03-08 07:30:00", "2026-03-08 08:30:00+01"),  # 3 NY Mar 8 03:30 EDT (02:xx skipped)
    ("2026-03-29 00:30:00", "2026-03-29 01:30:00+01"),  # 4 NY Mar 28 20:30 EDT
    ("2026-03-29 01:30:00", "2026-03-29 03:30:00+02"),  # 5 NY Mar 28 21:30 (Berlin 02:xx skipped)
    ("2026-03-29 03:30:00", "2026-03-29 05:30:00+02"),  # 6 NY Mar 28 23:30
    ("2026-10-25 00:30:00", "2026-10-25 02:30:00+02"),  # 7 NY Oct 24 20:30 EDT
    ("2026-10-25 01:30:00", "2026-10-25 02:30:00+01"),  # 8 NY Oct 24 21:30 (Berlin 02:30 again)
    ("2026-10-31 23:30:00", "2026-11-01 00:30:00+01"),  # 9 NY Oct 31 19:30 EDT
    ("2026-11-01 05:30:00", "2026-11-01 06:30:00+01"),  # 10 NY Nov 1 01:30 EDT
    ("2026-11-01 06:30:00", "2026-11-01 07:30:00+01"),  # 11 NY Nov 1 01:30 EST (01:xx again)
]

MONTHS = {
    "UTC": {D(2026, 1, 1): 1, D(2026, 3, 1): 5, D(2026, 10, 1): 3, D(2026, 11, 1): 2},
    # order 1 is Feb 1 00:30 in Berlin; order 9 is Nov 1 00:30
    "Europe/Berlin": {D(2026, 2, 1): 1, D(2026, 3, 1): 5, D(2026, 10, 1): 2, D(2026, 11, 1): 3},
    # New York is behind UTC: only evening UTC times move, and none crosses a month here
    "America/New_York": {D(2026, 1, 1): 1, D(2026, 3, 1): 5, D(2026, 10, 1): 3, D(2026, 11, 1): 2},
}

HOURS = {
    "Europe/Berlin": {
        T(2026, 2, 1, 0): 1,  # 1
        T(2026, 3, 8, 7): 1,  # 2
        T(2026, 3, 8, 8): 1,  # 3
        T(2026, 3, 29, 1): 1,  # 4, before the clocks go forward
        T(2026, 3, 29, 3): 1,  # 5, 01:30 UTC is 03:30 CEST: no 02:00 hour
        T(2026, 3, 29, 5): 1,  # 6
        T(2026, 10, 25, 2): 2,  # 7 (02:30 CEST) and 8 (02:30 CET): one local hour, twice
        T(2026, 11, 1, 0): 1,  # 9
        T(2026, 11, 1, 6): 1,  # 10
        T(2026, 11, 1, 7): 1,  # 11
    },
    "America/New_York": {
        T(2026, 1, 31, 18): 1,  # 1 (UTC-5)
        T(2026, 3, 8, 1): 1,  # 2 (UTC-5)
        T(2026, 3, 8, 3): 1,  # 3 (UTC-4): no 02:00 hour
        T(2026, 3, 28, 20): 1,  # 4
        T(2026, 3, 28, 21): 1,  # 5
        T(2026, 3, 28, 23): 1,  # 6
        T(2026, 10, 24, 20): 1,  # 7
        T(2026, 10, 24, 21): 1,  # 8
        T(2026, 10, 31, 19): 1,  # 9
        T(2026, 11, 1, 1): 2,  # 10 (01:30 EDT) and 11 (01:30 EST)
    },
}

# (start, end) -> orders by metric_time.day; both bounds are inclusive local dates
DAYS = {
    "UTC": {
        ("2026-01-31", "2026-02-01"): {D(2026, 1, 31): 1},  # 1
        ("2026-03-29", "2026-03-29"): {D(2026, 3, 29): 3},  # 4, 5, 6
        ("2026-10-25", "2026-11-01"): {
            D(2026, 10, 25): 2,  # 7, 8
            D(2026, 10, 31): 1,  # 9
            D(2026, 11, 1): 2,  # 10, 11
        },
    },
    "Europe/Berlin": {
        ("2026-01-31", "2026-02-01"): {D(2026, 2, 1): 1},  # 1 is Feb 1 00:30
        ("2026-03-29", "2026-03-29"): {D(2026, 3, 29): 3},  # 01:30, 03:30, 05:30
        ("2026-10-25", "2026-11-01"): {D(2026, 10, 25): 2, D(2026, 11, 1): 3},  # 7, 8 | 9-11
    },
    "America/New_York": {
        ("2026-01-31", "2026-02-01"): {D(2026, 1, 31): 1},  # 18:30
        ("2026-03-29", "2026-03-29"): {},  # 4, 5, 6 are all on March 28 in New York
        ("2026-03-28", "2026-03-28"): {D(2026, 3, 28): 3},
        ("2026-10-25", "2026-11-01"): {D(2026, 10, 31): 1, D(2026, 11, 1): 2},  # 7, 8 on Oct 24
    },
}

ZONES = tuple(MONTHS)
CLIENT_ZONES = ("Europe/Berlin", "America/Los_Angeles")


def test_the_two_spellings_of_each_order_are_one_instant() -> None:
    for utc, berlin in ORDERS:
        as_utc = dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)
        assert dt.datetime.fromisoformat(berlin) == as_utc
        assert (
            dt.datetime.fromisoformat(berlin)
            .astimezone(ZoneInfo("Europe/Berlin"))
            .strftime("%Y-%m-%d %H:%M:%S")
            == berlin.rsplit("+", 1)[0]
        )


# -- sources and projects ----------------------------------------------------------------------


def _source_sql(kind: str) -> str:
    """A SELECT of the orders as literal rows: ``kind`` is the column type to cast to."""
    aware = kind.endswith("TZ")
    rows = []
    for number, (utc, berlin) in enumerate(ORDERS, start=1):
        value = f"CAST('{berlin if aware else utc}' AS {kind})"
        rows.append(
            f"SELECT {number} AS order_id, {value} AS ordered_at"
            if number == 1
            else f"SELECT {number}, {value}"
        )
    return " UNION ALL ".join(rows)


def _project(folder: Path, kind: str, zone: str) -> Path:
    (folder / "defs").mkdir(parents=True)
    (folder / "metrics_layer.yml").write_text(
        f"project:\n  name: zones\n  paths: [defs]\n  time_zone: {zone}\n", encoding="utf-8"
    )
    (folder / "defs" / "orders.yml").write_text(
        f"""
sources:
  - name: orders
    sql: "{_source_sql(kind)}"
    time: ordered_at
    entities:
      - {{name: order, key: order_id, primary: true}}
    dimensions:
      - {{name: ordered_at, type: time, grain: hour}}
    measures:
      - {{name: orders, agg: count}}
metrics:
  - {{name: orders, type: simple, measure: orders.orders}}
""",
        encoding="utf-8",
    )
    return folder


def _duckdb_url(folder: Path) -> str:
    path = folder / "empty.duckdb"
    duckdb.connect(str(path)).close()
    return f"duckdb:///{path}"


# (id, engine URL maker, column type)
COLUMNS: list[tuple[str, Callable[[Path], str], str]] = [
    ("duckdb-naive", _duckdb_url, "TIMESTAMP"),
    ("duckdb-aware", _duckdb_url, "TIMESTAMPTZ"),
    ("postgres-naive", lambda _: POSTGRES, "TIMESTAMP"),
    ("postgres-aware", lambda _: POSTGRES, "TIMESTAMPTZ"),
    ("chdb-naive", lambda _: CHDB, "TIMESTAMP"),  # DateTime64(6)
    ("chdb-aware", lambda _: CHDB, "TIMESTAMPTZ"),  # DateTime64(6, 'UTC')
    # Spark: TIMESTAMP_NTZ (a wall clock) and TIMESTAMP (an instant; TIMESTAMPTZ is rendered so)
    ("spark-naive", lambda _: require_pyspark(), "TIMESTAMP WITHOUT TIME ZONE"),
    ("spark-aware", lambda _: require_pyspark(), "TIMESTAMPTZ"),
]

Layer = Callable[[str], ml.SemanticLayer]


@pytest.fixture(params=CLIENT_ZONES)
def client_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The process runs in another zone; libpq also asks the server for it (PGTZ)."""
    zone = str(request.param)
    monkeypatch.setenv("TZ", zone)
    monkeypatch.setenv("PGTZ", zone)
    time.tzset()
    yield zone
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(params=COLUMNS, ids=[column[0] for column in COLUMNS])
def zoned_layer(
    request: pytest.FixtureRequest, tmp_path: Path, client_zone: str
) -> Iterator[Layer]:
    """Load the orders project, in a given project time zone, on one engine and column type."""
    _, make_url, kind = request.param
    url = make_url(tmp_path)
    if url == POSTGRES:
        require_server("PostgreSQL", url)
    if url == CHDB:
        pytest.importorskip("chdb")
    layers: list[ml.SemanticLayer] = []

    def load(zone: str) -> ml.SemanticLayer:
        layer = ml.load(
            _project(tmp_path / f"{zone.replace('/', '_')}", kind, zone), connection=url
        )
        layers.append(layer)
        return layer

    yield load
    for layer in layers:
        layer.connection.close()


def _counts(
    layer: ml.SemanticLayer, by: str, start: str | None = None, end: str | None = None
) -> dict[object, int]:
    rows = layer.query("orders", by=[by], start=start, end=end).run().rows
    return {row[0]: row[1] for row in rows}


@pytest.mark.parametrize("zone", ZONES)
def test_months_are_cut_in_the_project_zone(zoned_layer: Layer, zone: str) -> None:
    assert _counts(zoned_layer(zone), "metric_time.month") == MONTHS[zone]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_hours_are_local_across_daylight_saving(zoned_layer: Layer, zone: str) -> None:
    found = _counts(zoned_layer(zone), "metric_time.hour")
    assert found == HOURS[zone]
    assert all(type(hour) is dt.datetime and hour.tzinfo is None for hour in found)


@pytest.mark.parametrize("zone", ZONES)
def test_start_and_end_are_local_dates(zoned_layer: Layer, zone: str) -> None:
    layer = zoned_layer(zone)
    for (start, end), expected in DAYS[zone].items():
        assert _counts(layer, "metric_time.day", start, end) == expected, (start, end)


# -- the sessions themselves -------------------------------------------------------------------


def test_pgtz_overrides_the_connect_option_so_the_zone_is_set_per_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """libpq sends PGTZ as a startup parameter, which the server applies after ``options``:
    the connect option alone would leave the session in the client's zone."""
    require_server("PostgreSQL", POSTGRES)
    monkeypatch.setenv("PGTZ", "America/Los_Angeles")
    probe = sqlalchemy.create_engine(
        POSTGRES, poolclass=NullPool, connect_args={"options": "-c TimeZone=UTC"}
    )
    try:
        with probe.connect() as connection:
            shown = connection.exec_driver_sql("SHOW TimeZone").scalar()
    finally:
        probe.dispose()
    assert shown == "America/Los_Angeles"
    library = Connection(POSTGRES)
    try:
        assert library._run("SELECT current_setting('TimeZone')", timeout=5, max_rows=1).rows == (
            ("UTC",),
        )
    finally:
        library.close()


def test_duckdb_session_is_utc_under_another_client_zone(tmp_path: Path, client_zone: str) -> None:
    path = tmp_path / "probe.duckdb"
    with duckdb.connect(str(path)) as plain:
        assert plain.execute("SELECT current_setting('TimeZone')").fetchone() == (client_zone,)
    connection = Connection(f"duckdb:///{path}")
    try:
        assert connection._run(
            "SELECT current_setting('TimeZone')", timeout=5, max_rows=1
        ).rows == (("UTC",),)
    finally:
        connection.close()


def test_chdb_session_is_utc_under_another_client_zone(client_zone: str) -> None:
    """chdb runs in this process, so it would take the client's zone; every query's session
    sets session_timezone to UTC."""
    pytest.importorskip("chdb")
    connection = Connection(CHDB)
    try:
        rows = connection._run(
            "SELECT timezone(), toString(toDateTime('2026-03-29 01:30:00'))", timeout=5, max_rows=1
        ).rows
    finally:
        connection.close()
    assert rows == (("UTC", "2026-03-29 01:30:00"),)


def test_spark_session_is_utc_under_another_client_zone(client_zone: str) -> None:
    """The session zone and the JVM's zone are UTC; a TIMESTAMP comes back as its UTC wall
    clock (pyspark alone would give the client's local time)."""
    connection = Connection(require_pyspark())
    sql = (
        "SELECT current_timezone() AS zone, CAST('2026-01-31 23:30:00' AS TIMESTAMP) AS t, "
        "CAST('2026-02-01 00:30:00+01:00' AS TIMESTAMP) AS aware"
    )
    rows = connection._run(sql, timeout=60, max_rows=1).rows
    assert rows == (("UTC", T(2026, 1, 31, 23, 30), T(2026, 1, 31, 23, 30)),)
    assert time.tzname[0] != "UTC"  # the client really is elsewhere


# -- MariaDB: DATETIME is naive UTC; named zones need the server's time-zone tables -----------


@pytest.fixture
def mariadb_layer(tmp_path: Path, client_zone: str) -> Iterator[Layer]:
    require_server("MariaDB", MARIADB)
    layers: list[ml.SemanticLayer] = []

    def load(zone: str) -> ml.SemanticLayer:
        folder = tmp_path / zone.replace("/", "_")
        layer = ml.load(_project(folder, "DATETIME", zone), connection=MARIADB)
        layers.append(layer)
        return layer

    yield load
    for layer in layers:
        layer.connection.close()


def test_mariadb_utc_project_counts_every_order(mariadb_layer: Layer) -> None:
    layer = mariadb_layer("UTC")
    assert _counts(layer, "metric_time.month") == MONTHS["UTC"]
    for (start, end), expected in DAYS["UTC"].items():
        assert _counts(layer, "metric_time.day", start, end) == expected, (start, end)


def _tz_tables_loaded() -> bool:
    engine = sqlalchemy.create_engine(MARIADB, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            converted = connection.exec_driver_sql(
                "SELECT CONVERT_TZ('2026-01-01 00:00:00', 'UTC', 'Europe/Berlin')"
            ).scalar()
    finally:
        engine.dispose()
    return converted is not None


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_mariadb_without_time_zone_tables_refuses_a_named_zone(
    mariadb_layer: Layer, zone: str
) -> None:
    """CONVERT_TZ would give NULL for every timestamp: one NULL month, zero in any range."""
    layer = mariadb_layer(zone)
    if _tz_tables_loaded():
        pytest.skip("this server has its time-zone tables loaded; the refusal cannot happen")
    for start in (None, "2026-01-01"):
        with pytest.raises(EngineError) as caught:
            layer.query("orders", by=["metric_time.month"], start=start).run()
        message = str(caught.value)
        assert zone in message
        assert "mariadb-tzinfo-to-sql /usr/share/zoneinfo | mariadb -u root mysql" in message
    # the refusal does not spoil the connection for a query that converts nothing
    assert layer.query("orders").run().rows == ((11,),)


def test_mariadb_session_is_utc_under_another_client_zone(client_zone: str) -> None:
    """DATETIME has no zone; TIMESTAMP columns are shown in the session's zone, pinned here."""
    require_server("MariaDB", MARIADB)
    connection = Connection(MARIADB)
    try:
        rows = connection._run("SELECT @@session.time_zone", timeout=5, max_rows=1).rows
    finally:
        connection.close()
    assert rows == (("+00:00",),)


# -- SQLite: no time-zone data at all -----------------------------------------------------------


def test_sqlite_refuses_a_project_time_zone_at_compile_time(tmp_path: Path) -> None:
    """SQLite would be sent ``AT TIME ZONE``, a syntax error there: refused before any SQL runs."""
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    layer = ml.load(
        _project(tmp_path / "berlin", "TIMESTAMP", "Europe/Berlin"), connection=f"sqlite:///{path}"
    )
    try:
        for start in (None, "2026-01-01"):
            query = layer.query("orders", by=["metric_time.day"], start=start)
            with pytest.raises(UnsupportedError, match=r"sqlite .*time_zone: UTC"):
                query.sql("sqlite")
            with pytest.raises(UnsupportedError, match=r"sqlite .*time_zone: UTC"):
                query.run()
        assert layer.query("orders").run().rows == ((11,),)  # nothing to convert
    finally:
        layer.connection.close()
