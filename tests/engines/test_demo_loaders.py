"""``load_demo`` (``metrics-layer demo --connection URL``) writes only its own tables, once, with
an index on each table's key (the user key; the retail calendar's day); what the loaded data
answers is ``test_matrix.py``'s part.

Rows written: users 2,977, events 319,114, subscriptions 1,052, subscription_snapshots 190,293,
trials 999, plan_history 4,246 (pinned by the generator's fingerprint in tests/demo) and
retail_calendar 2,926: one a day from 2022-01-30 to 2030-02-02, eight retail years of 52 weeks
and two extra weeks (2023 and 2028), 418 x 7 days. 518,681 + 2,926 = 521,607.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from conftest import DEFINITIONS, MARIADB_URL, POSTGRES_URL, require_server

from metrics_layer.cli.main import main
from metrics_layer.demo.data import generate
from metrics_layer.demo.load import load_demo
from metrics_layer.demo.model import DemoData, Table
from metrics_layer.engine.connection import Connection

TABLES = [
    "demo_version",
    "events",
    "plan_history",
    "retail_calendar",
    "subscription_snapshots",
    "subscriptions",
    "trials",
    "users",
]
ROWS = 521_607
CALENDAR_ROWS = 2_926
# Each day names its retail year: 2022 to 2029, 364 days each and 7 more in 2023 and 2028.
CALENDAR_YEAR_SUM = 364 * sum(range(2022, 2030)) + 7 * (2023 + 2028)
# The key each table is indexed on, and whether the index is unique.
INDEXES = {
    "users": (["user_id"], True),
    "events": (["user_id"], False),
    "subscriptions": (["user_id"], False),
    "subscription_snapshots": (["user_id"], False),
    "trials": (["user_id"], False),
    "plan_history": (["user_id"], False),
    "retail_calendar": (["day"], True),
}

SERVERS = {
    "postgres": ("PostgreSQL", POSTGRES_URL),
    "mariadb": ("MariaDB", MARIADB_URL),
}


@pytest.fixture(scope="module")
def generated() -> dict[str, int]:
    """The number of rows of each demo table, as generated."""
    return {name: len(table.rows) for name, table in generate().items()}


def count_sql(place: Callable[[str], str], names: Iterable[str]) -> str:
    """One query giving (table, rows) of each table, the table's name as ``place`` writes it."""
    return " UNION ALL ".join(f"SELECT '{name}', count(*) FROM {place(name)}" for name in names)


@pytest.fixture(scope="module")
def engines() -> dict[str, str]:
    """The servers' URLs, with the demo loaded into each."""
    for name, url in SERVERS.values():
        require_server(name, url)
        load_demo(url)
    return {key: url for key, (_, url) in SERVERS.items()}


def test_the_loader_writes_only_its_own_place(engines: dict[str, str]) -> None:
    """On PostgreSQL every demo table is in schema metrics_layer_demo; on MariaDB every demo
    table name starts with mldemo_; and loading again changes nothing."""
    if "postgres" in engines:
        url = SERVERS["postgres"][1]
        assert load_demo(url).created is False
        with sqlalchemy.create_engine(url).connect() as connection:
            tables = connection.exec_driver_sql(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'metrics_layer_demo' ORDER BY 1"
            ).fetchall()
        assert [t for (t,) in tables] == TABLES
    if "mariadb" in engines:
        url = SERVERS["mariadb"][1]
        assert load_demo(url).created is False
        with sqlalchemy.create_engine(url).connect() as connection:
            tables = connection.exec_driver_sql(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
            ).fetchall()
        demo = sorted(str(t) for (t,) in tables if str(t).startswith("mldemo_"))
        assert demo == [f"mldemo_{table}" for table in TABLES]


@pytest.fixture(scope="module")
def sqlite_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Any]:
    """A SQLite file with the demo: (the file, the first load_demo's answer, the second's)."""
    database = tmp_path_factory.mktemp("sqlite_demo") / "d.sqlite"
    first = load_demo(f"sqlite:///{database}")
    return database, first, load_demo(f"sqlite:///{database}")


def test_sqlite_demo_is_a_file(
    sqlite_demo: tuple[Path, Any, Any], generated: dict[str, int]
) -> None:
    database, loaded, again = sqlite_demo
    assert (loaded.created, loaded.rows, database.is_file()) == (True, ROWS, True)
    assert again.created is False
    engine = sqlalchemy.create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        found = connection.exec_driver_sql(
            "SELECT count(*), min(day), max(day) FROM retail_calendar"
        ).one()
        counts = connection.exec_driver_sql(count_sql(str, generated)).all()
    engine.dispose()
    assert tuple(found) == (CALENDAR_ROWS, "2022-01-30", "2030-02-02")
    assert dict(counts) == generated
    indexes = sqlalchemy.inspect(engine).get_indexes("retail_calendar")
    assert [(i["column_names"], bool(i["unique"])) for i in indexes] == [(["day"], True)]


def test_cli_demo_on_a_loaded_database_answers(
    sqlite_demo: tuple[Path, Any, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """``metrics-layer demo --connection URL`` on a database that holds the demo: it says so,
    loads nothing, and prints the KPI table from that database."""
    database = sqlite_demo[0]
    before = database.stat().st_mtime_ns
    url = f"sqlite:///{database}"
    code = main(["demo", "--project", str(DEFINITIONS), "--connection", url])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"demo data in {url}" in err
    assert "already loaded" in err
    header, _, *lines = out.splitlines()
    assert header.split() == [
        "metric_time.month",
        "daily_active_users",
        "signups",
        "paid_conversion_rate",
        "mrr",
    ]
    # signups by month from January 2026 (the demo's time zone is UTC), counted by hand
    with sqlite3.connect(database) as raw:
        counted = raw.execute(
            "SELECT substr(signed_up_at, 1, 7) || '-01', count(*) FROM users "
            "WHERE signed_up_at >= '2026-01-01' GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert [(line.split()[0], int(line.split()[2])) for line in lines] == counted
    assert len(counted) == 10
    assert database.stat().st_mtime_ns == before


def test_every_demo_table_is_indexed_on_its_key(engines: dict[str, str]) -> None:
    for key, url in engines.items():
        schema = "metrics_layer_demo" if key == "postgres" else None
        prefix = "mldemo_" if key == "mariadb" else ""
        inspector = sqlalchemy.inspect(sqlalchemy.create_engine(url))
        for table, expected in INDEXES.items():
            indexes = inspector.get_indexes(prefix + table, schema=schema)
            found = [(index["column_names"], bool(index["unique"])) for index in indexes]
            assert found == [expected], (key, table)


def test_the_servers_hold_every_generated_row(
    engines: dict[str, str], generated: dict[str, int]
) -> None:
    assert sum(generated.values()) == ROWS
    places = {"postgres": "metrics_layer_demo.{}".format, "mariadb": "mldemo_{}".format}
    for key, url in engines.items():
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as connection:
            counts = connection.exec_driver_sql(count_sql(places[key], generated)).all()
        engine.dispose()
        assert dict(counts) == generated, key


def test_the_servers_hold_the_retail_calendar(engines: dict[str, str]) -> None:
    for key, url in engines.items():
        table = (
            "metrics_layer_demo.retail_calendar" if key == "postgres" else "mldemo_retail_calendar"
        )
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as connection:
            found = connection.exec_driver_sql(
                f"SELECT count(*), min(day), max(day), sum(retail_year_number) FROM {table}"
            ).one()
        engine.dispose()
        assert tuple(found)[:3] == (CALENDAR_ROWS, dt.date(2022, 1, 30), dt.date(2030, 2, 2))
        assert int(found[3]) == CALENDAR_YEAR_SUM, key


def test_the_duckdb_demo_holds_the_retail_calendar(
    demo_sql: Callable[[str], list[tuple[object, ...]]],
) -> None:
    found = demo_sql(
        "SELECT count(*), min(day), max(day), sum(retail_year_number) FROM retail_calendar"
    )
    assert found == [(CALENDAR_ROWS, dt.date(2022, 1, 30), dt.date(2030, 2, 2), CALENDAR_YEAR_SUM)]


def test_the_spark_demo_holds_the_retail_calendar(
    spark_demo: tuple[str, Any], generated: dict[str, int]
) -> None:
    url, loaded = spark_demo
    assert (loaded.rows, loaded.target) == (ROWS, "demo_spark")
    connection = Connection(url)
    try:
        found = connection._run(
            "SELECT count(*), min(day), max(day), sum(retail_year_number), typeof(min(day)) "
            "FROM metrics_layer_demo.retail_calendar",
            timeout=120,
            max_rows=1,
        ).rows
        counts = connection._run(
            count_sql("metrics_layer_demo.{}".format, generated), timeout=120, max_rows=100
        ).rows
    finally:
        connection.close()
    assert dict(counts) == generated
    assert found == (
        (CALENDAR_ROWS, dt.date(2022, 1, 30), dt.date(2030, 2, 2), CALENDAR_YEAR_SUM, "date"),
    )


def test_a_marker_from_an_older_layout_loads_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A demo written before the indexes (a one-column marker) is written again, with them.

    The demo is cut to ten rows a table here: what is tested is the marker, not the rows.
    """
    full = generate()
    few = DemoData(tuple(Table(t.name, t.columns, t.rows[:10]) for t in full.tables))
    monkeypatch.setattr("metrics_layer.demo.load.generate", lambda: few)
    database = tmp_path / "old.sqlite"
    url = f"sqlite:///{database}"
    load_demo(url)
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE demo_version")
        connection.exec_driver_sql("DROP INDEX users_user_id")
        connection.exec_driver_sql("CREATE TABLE demo_version (version INTEGER NOT NULL)")
        connection.exec_driver_sql("INSERT INTO demo_version VALUES (1)")
    assert load_demo(url).created is True
    indexes = sqlalchemy.inspect(engine).get_indexes("users")
    assert [index["column_names"] for index in indexes] == [["user_id"]]
    assert load_demo(url).created is False


def test_chdb_demo_is_its_own_database_sorted_by_the_user_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On ClickHouse (chdb) the demo is database metrics_layer_demo and nothing else; its
    MergeTree tables are sorted by user_id, the calendar by day (the other engines' index); a
    second load does nothing. Ten rows a table here: test_matrix.py loads (and queries) the
    whole demo."""
    pytest.importorskip("chdb")
    from metrics_layer.engine.connection import Connection

    full = generate()
    few = DemoData(tuple(Table(t.name, t.columns, t.rows[:10]) for t in full.tables))
    monkeypatch.setattr("metrics_layer.demo.clickhouse.generate", lambda: few)
    url = f"chdb://{tmp_path / 'demo_chdb'}"
    loaded = load_demo(url)
    assert (loaded.created, loaded.rows, loaded.target) == (True, 70, "demo_clickhouse")
    assert load_demo(url).created is False
    connection = Connection(url)
    try:
        tables = connection._run(
            "SELECT database, name, sorting_key FROM system.tables WHERE database NOT IN "
            "('system', 'information_schema', 'INFORMATION_SCHEMA') ORDER BY 1, 2",
            timeout=10,
            max_rows=100,
        ).rows
        counts = connection._run(
            count_sql("metrics_layer_demo.{}".format, few), timeout=10, max_rows=100
        ).rows
    finally:
        connection.close()
    assert dict(counts) == {name: len(table.rows) for name, table in few.items()}
    assert tables == (
        ("metrics_layer_demo", "demo_version", ""),
        ("metrics_layer_demo", "events", "user_id"),
        ("metrics_layer_demo", "plan_history", "user_id"),
        ("metrics_layer_demo", "retail_calendar", "day"),
        ("metrics_layer_demo", "subscription_snapshots", "user_id"),
        ("metrics_layer_demo", "subscriptions", "user_id"),
        ("metrics_layer_demo", "trials", "user_id"),
        ("metrics_layer_demo", "users", "user_id"),
    )
