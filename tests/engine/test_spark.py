"""Spark (pyspark, local mode): the URL, the loopback-only session, the plan check below the
statement guard, the timeout, errors, and the demo warehouse.

Spark has no read-only session, so hostile SQL is sent below the guard (``Connection._run``)
to prove that Spark's own parser refuses everything but query operators, and the warehouse's
files are compared before and after. One JVM serves the whole test process.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import DEFINITIONS, require_pyspark

import metrics_layer as ml
from metrics_layer.cli.main import main
from metrics_layer.demo.load import load_demo
from metrics_layer.engine.adapters.spark import parse_url, session
from metrics_layer.engine.connection import Connection
from metrics_layer.engine.urls import dialect_of
from metrics_layer.errors import EngineError, StatementError
from metrics_layer.safety.statement import verify

# -- the URL (no JVM) --------------------------------------------------------------------------


def test_the_url_names_a_local_session_and_a_warehouse() -> None:
    assert dialect_of("spark://local") == "spark"
    assert parse_url("spark://local").warehouse is None
    assert parse_url("spark://local?warehouse=/data/wh").warehouse == Path("/data/wh")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("spark://cluster.internal:7077", "metrics-layer compile --dialect spark"),
        ("spark://127.0.0.1", "runs Spark in this process only"),
        ("spark://local?warehouse=relative/wh", "must be an absolute path"),
        ("spark://local?master=yarn", "unknown spark:// URL option 'master'"),
    ],
)
def test_other_urls_are_refused_with_the_fix(url: str, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        parse_url(url)


# -- the session -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(spark_demo: tuple[str, Any]) -> Path:
    """The test process's warehouse holding the demo, written by the loader."""
    url, loaded = spark_demo
    assert (loaded.created, loaded.rows, loaded.target) == (True, 521_607, "demo_spark")
    found = parse_url(url).warehouse
    assert found is not None
    return found


@pytest.fixture(scope="module")
def connection(warehouse: Path) -> Connection:
    return Connection(f"spark://local?warehouse={warehouse}")


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_demo_has_spark_types_and_loads_once(warehouse: Path, connection: Connection) -> None:
    rows = connection._run(
        "SELECT typeof(started_at), typeof(mrr), typeof(user_id), typeof(ended_at) "
        "FROM metrics_layer_demo.subscriptions LIMIT 1",
        timeout=60,
        max_rows=1,
    ).rows
    assert rows == (("timestamp", "decimal(10,2)", "int", "timestamp"),)
    before = _files(warehouse)
    assert load_demo(f"spark://local?warehouse={warehouse}").created is False
    assert _files(warehouse) == before
    assert sorted({name.split("/")[0] for name in before}) == [
        ".metrics_layer_demo.lock",
        "metrics_layer_demo.db",
    ]


def test_one_session_per_process_on_loopback_in_utc() -> None:
    require_pyspark()
    spark = session()
    assert session() is spark
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.driver.host") == "127.0.0.1"
    assert conf.get("spark.driver.bindAddress") == "127.0.0.1"
    assert conf.get("spark.ui.enabled") == "false"
    assert spark.sparkContext.uiWebUrl is None
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.conf.get("spark.sql.ansi.enabled") == "true"
    assert os.environ["SPARK_LOCAL_IP"] == "127.0.0.1"


def _listening_addresses(pid: int) -> set[str]:
    """Local addresses of the TCP sockets ``pid`` listens on (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.add(fields[1].split(":")[0])
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")
def test_the_jvm_listens_on_loopback_only() -> None:
    require_pyspark()
    spark = session()
    pid = spark.sparkContext._gateway.proc.pid  # type: ignore[union-attr]
    addresses = _listening_addresses(pid)
    # 127.0.0.1, ::1 and ::ffff:127.0.0.1 (IPv4 loopback on an IPv6 socket)
    loopback = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}
    assert addresses
    assert addresses <= loopback, addresses


# -- below the guard: Spark's own refusals -----------------------------------------------------

HOSTILE = {
    "INSERT INTO metrics_layer_demo.users SELECT * FROM metrics_layer_demo.users": (
        "InsertIntoStatement"
    ),
    "CREATE TABLE metrics_layer_demo.copy AS SELECT 1 AS a": "CreateTableAsSelect",
    "DROP TABLE metrics_layer_demo.users": "DropTable",
    "TRUNCATE TABLE metrics_layer_demo.users": "TruncateTable",
    "ALTER TABLE metrics_layer_demo.users RENAME TO metrics_layer_demo.gone": "RenameTable",
    "CACHE TABLE metrics_layer_demo.users": "CacheTable",
    "CREATE TEMPORARY VIEW v AS SELECT 1 AS a": "CreateViewCommand",
    "SET spark.sql.ansi.enabled = false": "SetCommand",
    "ADD JAR /tmp/x.jar": "AddJarsCommand",
    "SELECT * FROM range(10)": "UnresolvedTableValuedFunction",
    "WITH x AS (SELECT * FROM range(3)) SELECT * FROM x": "UnresolvedTableValuedFunction",
    "SELECT 1 AS a; DROP TABLE metrics_layer_demo.users": "does not parse",
    "SELECT reflect('java.lang.System', 'getProperty', 'user.home')": "UNRESOLVED_ROUTINE",
    "SELECT java_method('java.lang.System', 'exit', 1)": "UNRESOLVED_ROUTINE",
    "SELECT * FROM parquet.`/etc`": "TABLE_OR_VIEW_NOT_FOUND",
}


def test_spark_refuses_everything_but_queries_below_the_guard(
    warehouse: Path, connection: Connection
) -> None:
    before = _files(warehouse)
    for sql, reason in HOSTILE.items():
        with pytest.raises(EngineError) as caught:
            connection._run(sql, timeout=60, max_rows=10)
        message = str(caught.value)
        assert reason in message, (sql, message)
        assert "Traceback" not in message
        assert "\tat org.apache" not in message
        with pytest.raises(StatementError):
            verify(sql, "spark")  # and the guard never sends it
    assert _files(warehouse) == before
    count = "SELECT COUNT(*) AS n FROM metrics_layer_demo.users"
    assert connection._run(count, timeout=60, max_rows=1).rows == ((2977,),)
    assert session().conf.get("spark.sql.ansi.enabled") == "true"


def test_a_missing_table_names_the_warehouse_fix(connection: Connection) -> None:
    with pytest.raises(EngineError) as caught:
        connection._run("SELECT a FROM metrics_layer_demo.nope", timeout=60, max_rows=1)
    message = str(caught.value)
    assert "TABLE_OR_VIEW_NOT_FOUND" in message
    assert "warehouse=/absolute/path" in message
    assert "\n" not in message.split("\nSQL")[0]


def test_a_division_by_zero_is_an_error_not_a_null(connection: Connection) -> None:
    """ANSI mode: DuckDB gives infinity, PostgreSQL an error; Spark never a silent NULL."""
    with pytest.raises(EngineError, match="DIVIDE_BY_ZERO"):
        connection._run("SELECT 1 / 0 AS x", timeout=60, max_rows=1)


def test_a_missing_warehouse_is_an_engine_error(tmp_path: Path) -> None:
    require_pyspark()
    connection = Connection(f"spark://local?warehouse={tmp_path / 'absent'}")
    with pytest.raises(EngineError, match="no Spark warehouse at"):
        connection._run("SELECT 1 AS a", timeout=60, max_rows=1)


# -- the timeout and the row cap ---------------------------------------------------------------


def test_the_timeout_interrupts_the_query_and_the_session_stays_usable(
    connection: Connection,
) -> None:
    slow = (
        "SELECT COUNT(*) AS n FROM metrics_layer_demo.events AS a "
        "CROSS JOIN metrics_layer_demo.events AS b WHERE a.event_id + b.event_id > 0"
    )
    started = time.monotonic()
    with pytest.raises(EngineError, match="ran longer than the 2 s timeout") as caught:
        connection._run(slow, timeout=2, max_rows=1)
    assert caught.value.limit == "timeout"
    assert time.monotonic() - started < 60
    count = "SELECT COUNT(*) AS n FROM metrics_layer_demo.subscriptions"
    assert connection._run(count, timeout=60, max_rows=1).rows == ((1052,),)


def test_the_row_cap(connection: Connection) -> None:
    with pytest.raises(EngineError, match="more than max_rows=10 rows"):
        connection._run("SELECT user_id FROM metrics_layer_demo.users", timeout=60, max_rows=10)


# -- the command line --------------------------------------------------------------------------


# Four KPIs in one query on Spark take 30-50 s: the full tier only. The default suite runs the
# same command on SQLite (tests/engines/test_demo_loaders.py), Spark's "already loaded" in
# test_the_demo_has_spark_types_and_loads_once, and those KPIs on Spark in the engine matrix
# (but paid_conversion_rate, which the matrix runs on the other engines).
@pytest.mark.full_tier
def test_cli_demo_loads_and_answers(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"spark://local?warehouse={warehouse}"
    code = main(["demo", "--project", str(DEFINITIONS), "--connection", url])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "already loaded; query it with --target demo_spark" in err
    assert "daily_active_users" in out
    layer = ml.load(DEFINITIONS, connection=url, target="demo_spark")
    assert layer.query(["signups"]).run().rows == ((2977,),)
