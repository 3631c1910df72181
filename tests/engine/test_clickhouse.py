"""ClickHouse through chdb: read-only, time-limited, UTC and exact, by the engine's own settings.

Each test sends text through ``Connection._run`` (below the statement guard) and checks from
outside that the database directory is as it was. chdb runs one database per process; the
adapter's process-wide engine switches between directories, which the tests below also use.
"""

from __future__ import annotations

import datetime as dt
import decimal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer.engine.connection import Connection
from metrics_layer.safety.statement import verify

chdb = pytest.importorskip("chdb")

from metrics_layer.engine.adapters.clickhouse import ENGINE  # noqa: E402


@pytest.fixture
def chdb_dir(tmp_path: Path) -> Iterator[Path]:
    """A chdb directory with one table d.t(a) holding 1, 2, 3, written by chdb itself."""
    path = tmp_path / "small_chdb"
    path.mkdir()
    with ENGINE.connection(str(path), "session_timezone=UTC") as connection:
        connection.query("CREATE DATABASE d", "TSV")
        connection.query("CREATE TABLE d.t (a Int32) ENGINE = MergeTree ORDER BY a", "TSV")
        connection.query("INSERT INTO d.t VALUES (1), (2), (3)", "TSV")
    ENGINE.close_unused()
    yield path
    ENGINE.close_unused()


def files(folder: Path) -> set[tuple[str, int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    return {
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def refused(connection: Connection, sql: str) -> ml.EngineError:
    with pytest.raises(ml.EngineError) as caught:
        connection._run(sql, timeout=10, max_rows=10)
    return caught.value


READ_ONLY = "metrics_layer reads chdb databases read-only"
ATTACKS = [
    "SELECT 1; DROP TABLE d.t",
    "DROP TABLE d.t",
    "INSERT INTO d.t VALUES (4)",
    "WITH x AS (SELECT 4) SELECT * FROM x; INSERT INTO d.t VALUES (4)",
    "CREATE TABLE d.x (a Int32) ENGINE = Memory",
    "CREATE DATABASE e",
    "ALTER TABLE d.t DELETE WHERE 1",
    "TRUNCATE TABLE d.t",
    "OPTIMIZE TABLE d.t FINAL",
    "ATTACH TABLE d.y (a Int32) ENGINE = Memory",
    "SET readonly = 0",
    "SELECT 1 SETTINGS readonly = 0",
    "SET max_execution_time = 0",
    "SELECT count() FROM d.t SETTINGS max_execution_time = 1000",
    "SELECT 1 SETTINGS session_timezone = 'America/New_York'",
    "SELECT * FROM file('{secret}', 'LineAsString')",
    "INSERT INTO FUNCTION file('{out}', 'CSV') SELECT 1",
    "SELECT * FROM url('http://127.0.0.1:9/x', 'CSV')",
    "SELECT * FROM executable('id', 'TSV', 'a String')",
    "SELECT * FROM postgresql('127.0.0.1:5432', 'test', 'x', 'postgres', '')",
    "SYSTEM SHUTDOWN",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_chdb_refuses_writes_files_and_settings(
    attack: str, chdb_dir: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("hunter2\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    before = files(chdb_dir)
    connection = Connection(f"chdb://{chdb_dir}")
    try:
        error = refused(connection, attack.format(secret=secret, out=out))
        assert "(READONLY)" in str(error)
        assert READ_ONLY in str(error)
        assert "hunter2" not in str(error)
        assert "Traceback" not in str(error)
        rows = connection._run("SELECT a FROM d.t ORDER BY a", timeout=5, max_rows=10).rows
        assert rows == ((1,), (2,), (3,))
        tables = connection._run(
            "SELECT database, name FROM system.tables WHERE database IN ('d', 'e') ORDER BY 2",
            timeout=5,
            max_rows=10,
        ).rows
        assert tables == (("d", "t"),)
    finally:
        connection.close()
    assert files(chdb_dir) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.txt", "small_chdb"]


def test_into_outfile_is_stopped_by_the_guard_only() -> None:
    """chdb writes ``INTO OUTFILE`` from this process even with readonly=1; the guard refuses
    it (it does not parse as a query), so it is never sent."""
    with pytest.raises(ml.StatementError, match="does not parse"):
        verify("SELECT 1 INTO OUTFILE '/tmp/x.csv'", "clickhouse")


def test_the_timeout_stops_a_slow_query_and_the_connection_stays_usable() -> None:
    connection = Connection("chdb://")
    try:
        started = time.monotonic()
        with pytest.raises(ml.EngineError, match=r"longer than the 1 s timeout") as caught:
            connection._run(
                "SELECT count() FROM system.numbers WHERE NOT ignore(sipHash64(number))",
                timeout=1,
                max_rows=10,
            )
        assert caught.value.limit == "timeout"
        assert time.monotonic() - started < 10
        assert caught.value.sql is not None
        assert connection._run("SELECT 1", timeout=5, max_rows=1).rows == ((1,),)
    finally:
        connection.close()


def test_the_row_cap_holds() -> None:
    connection = Connection("chdb://")
    try:
        with pytest.raises(ml.EngineError, match="more than max_rows=2 rows"):
            connection._run("SELECT number FROM system.numbers LIMIT 1000", timeout=5, max_rows=2)
        rows = connection._run("SELECT number FROM system.numbers LIMIT 2", timeout=5, max_rows=2)
        assert rows.rows == ((0,), (1,))
    finally:
        connection.close()


def test_every_query_has_the_settings_of_standard_sql() -> None:
    names = (
        "readonly",
        "session_timezone",
        "join_use_nulls",
        "aggregate_functions_null_for_empty",
        "cast_keep_nullable",
        "union_default_mode",
    )
    sql = "SELECT " + ", ".join(f"toString(getSetting('{name}'))" for name in names)
    connection = Connection("chdb://")
    try:
        rows = connection._run(sql, timeout=3, max_rows=1).rows
    finally:
        connection.close()
    assert rows == (("1", "UTC", "true", "true", "true", "DISTINCT"),)


def test_missing_group_is_null_and_an_empty_sum_is_null() -> None:
    """join_use_nulls and aggregate_functions_null_for_empty: ClickHouse would give 0 for both."""
    connection = Connection("chdb://")
    try:
        rows = connection._run(
            "SELECT a.k, b.v FROM (SELECT 1 AS k UNION ALL SELECT 2) AS a "
            "LEFT JOIN (SELECT 1 AS k, 10 AS v) AS b ON a.k = b.k ORDER BY a.k",
            timeout=5,
            max_rows=10,
        ).rows
        assert rows == ((1, 10), (2, None))
        empty = connection._run(
            "SELECT SUM(number), COUNT(*) FROM system.numbers WHERE number < 0 LIMIT 1",
            timeout=5,
            max_rows=10,
        ).rows
        assert empty == ((None, 0),)
    finally:
        connection.close()


def test_values_come_back_as_python_types() -> None:
    connection = Connection("chdb://")
    try:
        fetched = connection._run(
            "SELECT toUInt64(18446744073709551615) AS big, CAST(2.5 AS Decimal(10, 2)) AS money, "
            "toFloat64(0.1) AS f, true AS b, 'Grüße' AS s, toDate32('1960-01-31') AS d, "
            "toDateTime64('2026-03-29 01:30:00.123456', 6) AS naive, "
            "toDateTime64('2026-03-29 03:30:00', 6, 'Europe/Berlin') AS aware, "
            "CAST(NULL AS Nullable(Int32)) AS n, NULL AS nothing",
            timeout=5,
            max_rows=1,
        )
    finally:
        connection.close()
    assert fetched.columns == ("big", "money", "f", "b", "s", "d", "naive", "aware", "n", "nothing")
    values = fetched.rows[0]
    assert values == (
        18446744073709551615,
        decimal.Decimal("2.50"),
        0.1,
        True,
        "Grüße",
        dt.date(1960, 1, 31),
        dt.datetime(2026, 3, 29, 1, 30, 0, 123456),
        dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC),
        None,
        None,
    )
    assert [type(v) for v in values[:4]] == [int, decimal.Decimal, float, bool]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("chdb://relative/dir", "needs an absolute directory"),
        ("chdb:///no/such/chdb/dir", "no chdb database at '/no/such/chdb/dir'"),
        ("chdb:///tmp?readonly=0", "needs an absolute directory"),
    ],
)
def test_bad_urls_are_engine_errors_naming_the_fix(url: str, message: str) -> None:
    with pytest.raises(ml.EngineError, match=message):
        Connection(url)._run("SELECT 1", timeout=5, max_rows=1)
    assert not Path("/no/such/chdb/dir").exists()


def test_an_unknown_table_is_a_one_line_engine_error() -> None:
    connection = Connection("chdb://")
    try:
        error = refused(connection, "SELECT * FROM analytics.users")
    finally:
        connection.close()
    message = str(error)
    assert message.startswith("the database refused the query: Database analytics does not exist")
    assert "DB::Exception" not in message
    assert "version" not in message
    assert "Check that the connection points at the right chdb directory" in message
    assert error.sql == "SELECT * FROM analytics.users"


def test_threads_share_the_one_engine_of_the_process(chdb_dir: Path) -> None:
    """Two connections (a directory and memory) used from eight threads at once: chdb runs one
    database per process, so the adapter queues the queries and switches between them."""
    on_disk = Connection(f"chdb://{chdb_dir}")
    in_memory = Connection("chdb://")
    results: list[object] = []
    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            for _ in range(5):
                if number % 2:
                    rows = on_disk._run("SELECT sum(a) FROM d.t", timeout=10, max_rows=1).rows
                    results.append(rows == ((6,),))
                else:
                    rows = in_memory._run(f"SELECT {number}", timeout=10, max_rows=1).rows
                    results.append(rows == ((number,),))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    on_disk.close()
    in_memory.close()
    assert errors == []
    assert results == [True] * 40


def test_a_missing_chdb_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "chdb", None)
    monkeypatch.delitem(sys.modules, "metrics_layer.engine.adapters.clickhouse")
    with pytest.raises(ml.EngineError, match=r'pip install "kpi-layer\[clickhouse\]"'):
        Connection("chdb://")._run("SELECT 1", timeout=5, max_rows=1)


def test_a_directory_open_in_another_process_is_an_engine_error(chdb_dir: Path) -> None:
    """ClickHouse locks its directory for one process: the second says so, in one line."""
    import subprocess

    holder = Connection(f"chdb://{chdb_dir}")
    try:
        holder._run("SELECT 1", timeout=5, max_rows=1)  # the engine now holds the directory
        script = (
            "import sys\n"
            "import metrics_layer as ml\n"
            "from metrics_layer.engine.connection import Connection\n"
            "try:\n"
            f"    Connection('chdb://{chdb_dir}')._run('SELECT 1', timeout=5, max_rows=1)\n"
            "except ml.EngineError as exc:\n"
            "    print(exc)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
        )
    finally:
        holder.close()
    assert "another process may have it open" in done.stdout
    assert "Traceback" not in done.stdout


DATES = """
sources:
  - name: orders
    sql: "SELECT 1 AS order_id, CAST('1960-01-31' AS DATE) AS ordered_on UNION ALL
          SELECT 2, CAST('1969-12-31' AS DATE) UNION ALL SELECT 3, CAST('2026-01-31' AS DATE)"
    time: ordered_on
    entities: [{name: order, key: order_id, primary: true}]
    dimensions: [{name: ordered_on, type: time}]
    measures: [{name: orders, agg: count}]
metrics:
  - {name: orders, type: simple, measure: orders.orders}
"""


def test_dates_before_1970_keep_their_value(write_project: Callable[..., Path]) -> None:
    """ClickHouse's Date would make 1960-01-31 and 1969-12-31 into 1970-01-01; Date32 keeps
    them: three months, one order each."""
    folder = write_project(
        {"metrics_layer.yml": "project:\n  name: old\n  paths: [defs]\n", "defs/o.yml": DATES}
    )
    layer = ml.load(folder, connection="chdb://")
    try:
        rows = layer.query(["orders"], by=["metric_time.month"]).run().rows
    finally:
        layer.connection.close()
    assert rows == (
        (dt.date(1960, 1, 1), 1),
        (dt.date(1969, 12, 1), 1),
        (dt.date(2026, 1, 1), 1),
    )


MEDIAN_SOURCE = """
sources:
  - name: stats
    sql: "SELECT 1 AS id, MEDIAN(v) AS m FROM (SELECT 1 AS v UNION ALL SELECT 2) AS s"
    entities: [{name: stat, key: id, primary: true}]
    dimensions: [{name: m}]
    measures: [{name: stats, agg: count}]
metrics:
  - {name: stats, type: simple, measure: stats.stats}
"""


def test_clickhouses_own_approximate_median_is_refused(write_project: Callable[..., Path]) -> None:
    folder = write_project(
        {"metrics_layer.yml": "project:\n  name: m\n  paths: [defs]\n", "defs/s.yml": MEDIAN_SOURCE}
    )
    layer = ml.load(folder, connection="chdb://")
    with pytest.raises(ml.UnsupportedError, match="clickhouse cannot compute median/percentile"):
        layer.query(["stats"], by=["stat.m"]).sql("clickhouse")
    assert layer.query(["stats"], by=["stat.m"]).sql("duckdb")


TEXTS = """
sources:
  - name: people
    sql: "SELECT 1 AS id, 'Émile' AS name, CAST(10.05 AS DECIMAL(10, 2)) AS amount UNION ALL
          SELECT 2, 'émile', CAST(10.00 AS DECIMAL(10, 2)) UNION ALL
          SELECT 3, 'Zoë', CAST(2.50 AS DECIMAL(10, 2))"
    entities: [{name: person, key: id, primary: true}]
    dimensions: [{name: name}, {name: amount}]
    measures: [{name: people, agg: count}]
metrics:
  - {name: people, type: simple, measure: people.people}
"""

# name, bytes, characters: 'Émile' 6, 5; 'émile' 6, 5; 'Zoë' 4, 3. Amounts / 4: 2.5125, 2.5, 0.625.
TEXT_FILTERS = [
    ("LOWER(person.name) = 'émile'", 2),  # lower('É') is 'É' byte by byte
    ("UPPER(person.name) = 'ZOË'", 1),
    ("SUBSTRING(person.name, 1, 1) = 'É'", 1),  # the first byte alone is not a character
    ("SUBSTRING(person.name, 2, 2) = 'oë'", 1),
    ("LENGTH(person.name) = 5", 2),  # characters, not bytes
    ("person.amount / 4 > 2.51", 1),  # 10.05 / 4 = 2.5125 (a Decimal division would give 2.51)
    ("person.amount / 4 = 0.625", 1),
]


@pytest.mark.parametrize(("where", "expected"), TEXT_FILTERS)
def test_text_by_character_and_division_as_on_duckdb(
    where: str, expected: int, write_project: Callable[..., Path], tmp_path: Path
) -> None:
    import duckdb

    folder = write_project(
        {"metrics_layer.yml": "project:\n  name: t\n  paths: [defs]\n", "defs/p.yml": TEXTS}
    )
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    counts = []
    for url in ("chdb://", f"duckdb:///{empty}"):
        layer = ml.load(folder, connection=url)
        try:
            rows = layer.query(["people"], where=where).run().rows
        finally:
            layer.connection.close()
        counts.append(rows[0][0] if rows else 0)
    assert counts == [expected, expected]
