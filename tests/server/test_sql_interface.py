"""The PostgreSQL-protocol SQL interface, with real clients (psql, psycopg, SQLAlchemy) against
a real in-process server: numbers equal hand-written SQL on the demo data, the access file's
keys and policies apply, refusals are PostgreSQL errors after which the connection still
works, and an asked-again query comes from the cache."""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from metrics_layer.server.config import ServerConfig
from metrics_layer.server.service import Service
from metrics_layer.server.sqlwire import SqlServer, serve_sql
from tests.conftest import DEFINITIONS
from tests.server.conftest import tenant_access

KEYS = {"de": "de-" + "d" * 40, "admin": "admin-" + "a" * 40}
ACCESS = tenant_access(KEYS)
BY_PLAN = "SELECT plan, count(*) FROM users {} GROUP BY 1 ORDER BY 1"
ASK = 'SELECT "user".plan, MEASURE(signups) AS n FROM metrics GROUP BY 1 ORDER BY 1'
Hand = Callable[[str], list[tuple[Any, ...]]]


@pytest.fixture(scope="module")
def server(demo_url: str) -> Iterator[SqlServer]:
    service = Service(
        ServerConfig(
            project=DEFINITIONS, connection=demo_url, allow_anonymous=True, cache_url="memory"
        )
    )
    found = serve_sql(service, "127.0.0.1", 0)
    yield found
    found.stop()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, demo_url: str) -> Iterator[SqlServer]:
    access = tmp_path_factory.mktemp("access") / "access.yml"
    access.write_text(ACCESS, encoding="utf-8")
    service = Service(
        ServerConfig(
            project=DEFINITIONS, connection=demo_url, access_file=access, cache_url="memory"
        )
    )
    found = serve_sql(service, "127.0.0.1", 0)
    yield found
    found.stop()


def dsn(server: SqlServer, password: str = "") -> str:
    auth = f" password={password}" if password else ""
    return f"host=127.0.0.1 port={server.port} user=analyst dbname=metrics{auth}"


@pytest.fixture(scope="module")
def conn(server: SqlServer) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(dsn(server), autocommit=True) as found:
        yield found


def psql(server: SqlServer, command: str, password: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/usr/bin/psql", dsn(server, password), "-X", "-A", "-t", "-c", command],
        capture_output=True,
        text=True,
        timeout=20,
        env={"PATH": "/usr/bin:/bin", "PGCONNECT_TIMEOUT": "5"},
    )


def test_a_measure_query_equals_hand_sql(conn: Any, demo_sql: Hand) -> None:
    rows = conn.execute(ASK).fetchall()
    assert rows == demo_sql(BY_PLAN.format(""))
    described = conn.execute(ASK)
    assert [c.name for c in described.description] == ["user.plan", "n"]
    assert [c.type_code for c in described.description] == [25, 20]  # text, int8


def test_time_range_filter_and_plain_columns(conn: Any, demo_sql: Hand) -> None:
    got = conn.execute(
        "SELECT metric_time__month, SUM(signups) FROM metrics "
        "WHERE users.country IN ('DE', 'FR') AND metric_time >= '2026-03-01' "
        "AND metric_time < %s GROUP BY metric_time__month ORDER BY 1",
        ["2026-06-01"],
    ).fetchall()
    hand = demo_sql(
        "SELECT date_trunc('month', signed_up_at)::DATE, count(*) FROM users "
        "WHERE country IN ('DE', 'FR') AND signed_up_at >= '2026-03-01' "
        "AND signed_up_at < '2026-06-01' GROUP BY 1 ORDER BY 1"
    )
    assert got == hand
    assert len(got) == 3


def test_psql_lists_and_describes_the_metrics_table(server: SqlServer) -> None:
    listed = psql(server, r"\dt")
    assert listed.returncode == 0, listed.stderr
    assert "public|metrics|table" in listed.stdout
    described = psql(server, r"\d metrics")
    assert described.returncode == 0, described.stderr
    assert "signups|bigint" in described.stdout
    assert "metric_time__month|date" in described.stdout
    assert "user__plan|text" in described.stdout
    assert psql(server, r"\l").stdout.startswith("metrics|")
    answered = psql(server, ASK.replace("ORDER BY 1", "ORDER BY n DESC LIMIT 1"))
    assert answered.returncode == 0
    assert answered.stdout.strip().count("|") == 1


def test_sqlalchemy_inspects_the_catalogue(server: SqlServer) -> None:
    engine = sa.create_engine(f"postgresql+psycopg://analyst@127.0.0.1:{server.port}/metrics")
    inspector = sa.inspect(engine)
    assert inspector.get_table_names() == ["metrics"]
    assert inspector.has_table("metrics")
    assert not inspector.has_table("users")
    columns = {c["name"]: c for c in inspector.get_columns("metrics")}
    assert isinstance(columns["signups"]["type"], sa.BigInteger)
    assert isinstance(columns["metric_time__month"]["type"], sa.Date)
    with engine.connect() as connection:
        assert (
            connection.execute(sa.text("select pg_catalog.version()"))
            .scalar()
            .startswith("PostgreSQL 15.0")
        )
    engine.dispose()


def test_startup_parameters(conn: Any) -> None:
    info = conn.info
    assert info.parameter_status("server_version") == "15.0 (metrics_layer)"
    assert info.parameter_status("TimeZone") == "UTC"
    assert info.parameter_status("standard_conforming_strings") == "on"
    assert conn.execute("show transaction isolation level").fetchone() == ("read committed",)


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("INSERT INTO metrics VALUES (1)", "25006"),
        ("DROP TABLE metrics", "25006"),
        ("CREATE TABLE t (a int)", "25006"),
        ("COPY metrics TO '/tmp/x'", "25006"),
        ("SELECT MEASURE(signups) FROM metrics; DROP TABLE users", "0A000"),
        ("SELECT plan FROM users", "42P01"),
        ("SELECT MEASURE(signups) FROM metrics WHERE user.plan IN (SELECT 1)", "0A000"),
        ("SELECT MEASURE(signups) FROM (SELECT 1) t", "42P01"),
        ("SELECT MEASURE(signups) FROM metrics WHERE pg_sleep(1) IS NULL", "0A000"),
        ("SELECT pg_sleep(1)", "42883"),
        ("SELECT * FROM read_csv('/etc/passwd')", "42P01"),
        ("SELECT MEASURE(signups) FROM metrics UNION SELECT 1", "0A000"),
        ("WITH x AS (SELECT 1) SELECT MEASURE(signups) FROM metrics", "0A000"),
        ("SELECT MEASURE(signups) FROM metrics WHERE user.plan = 'a' -- ; DROP", "42601"),
        ("SELECT MEASURE(user.plan) FROM metrics", "42703"),
        ("SELECT MEASURE(signups) FROM metrics WHERE user.countri = 'DE'", "42601"),
        ("SELECT MEASURE(signups) FROM metrics WHERE signups > 3", "0A000"),
        ("SELECT MEASURE(signups) FROM metrics WHERE ctid = '(0,1)'", "42601"),
        ("SELECT MEASURE(signups) FROM metrics OFFSET 3", "0A000"),
        ("SELECT MEASURE(signups) FROM metrics WHERE metric_time >= 'soon'", "22007"),
        ("SELECT FROM WHERE", "42601"),
    ],
)
def test_refusals_are_postgres_errors_and_the_connection_goes_on(
    conn: Any, sql: str, code: str
) -> None:
    with pytest.raises(psycopg.Error) as raised:
        conn.execute(sql)
    assert raised.value.diag.sqlstate == code, raised.value
    assert raised.value.diag.message_hint
    assert conn.execute("SELECT MEASURE(signups) FROM metrics").fetchone()[0] > 0


def test_every_allowed_filter_node(conn: Any, demo_sql: Hand) -> None:
    where = (
        "(users.country = 'DE' OR users.country <> 'US' AND NOT users.plan IN ('free')) "
        "AND users.plan IS NOT NULL AND users.plan LIKE '%r%' AND users.plan ILIKE '%R%' "
        "AND metric_time BETWEEN '2026-01-01' AND '2026-12-31'"
    )
    got = conn.execute(f"SELECT MEASURE(signups) FROM metrics WHERE {where}").fetchone()[0]
    hand = demo_sql(
        "SELECT count(*) FROM users WHERE (country = 'DE' OR country <> 'US' AND NOT plan IN "
        "('free')) AND plan IS NOT NULL AND plan LIKE '%r%' AND plan ILIKE '%R%' AND "
        "signed_up_at::DATE BETWEEN '2026-01-01' AND '2026-12-31'"
    )[0][0]
    assert got == hand


def test_an_error_in_the_extended_protocol_and_a_transaction(server: SqlServer) -> None:
    with psycopg.connect(dsn(server)) as connection:  # not autocommit: BEGIN is sent
        with pytest.raises(psycopg.errors.UndefinedColumn):
            connection.execute("SELECT MEASURE(nope) FROM metrics WHERE x = %s", ["a"])
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            connection.execute("SELECT MEASURE(signups) FROM metrics")
        connection.rollback()
        assert connection.execute("SELECT MEASURE(signups) FROM metrics").fetchone()[0] > 0


def test_the_second_query_is_a_cache_hit(conn: Any, caplog: pytest.LogCaptureFixture) -> None:
    sql = "SELECT MEASURE(new_users) FROM metrics WHERE metric_time >= '2026-02-01'"
    with caplog.at_level(logging.INFO, logger="metrics_layer.server.sql"):
        first = conn.execute(sql).fetchall()
        second = conn.execute(sql).fetchall()
    assert first == second
    caches = [r.getMessage().split("cache ")[1].split(",")[0] for r in caplog.records
              if "cache" in r.getMessage()]  # fmt: skip
    assert caches[-2:] == ["miss", "hit"]


def test_a_wrong_password_is_28p01(secured: SqlServer) -> None:
    with pytest.raises(psycopg.OperationalError) as raised:
        psycopg.connect(dsn(secured, "x" * 40))
    assert "password authentication failed" in str(raised.value)
    refused = psql(secured, "select 1", password="wrong")
    assert refused.returncode != 0
    assert "password authentication failed" in refused.stderr
    assert "wrong" not in refused.stderr


def test_a_tenant_sees_its_rows_and_not_a_hidden_metric(secured: SqlServer, demo_sql: Hand) -> None:
    with psycopg.connect(dsn(secured, KEYS["de"]), autocommit=True) as connection:
        rows = connection.execute(ASK).fetchall()
        assert rows == demo_sql(BY_PLAN.format("WHERE country = 'DE'"))
        widened = connection.execute(
            ASK.replace("GROUP", "WHERE users.country = 'US' OR 1 = 1 GROUP")
        ).fetchall()
        assert sum(n for _, n in widened) <= sum(n for _, n in rows)
        with pytest.raises(psycopg.Error) as raised:
            connection.execute("SELECT MEASURE(mrr) FROM metrics")
        assert raised.value.diag.sqlstate == "42501"
        names = [r[0] for r in connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'metrics'"
        ).fetchall()]  # fmt: skip
        assert "signups" in names
        assert "mrr" not in names
    with psycopg.connect(dsn(secured, KEYS["admin"]), autocommit=True) as connection:
        assert connection.execute(ASK).fetchall() == demo_sql(BY_PLAN.format(""))


@pytest.fixture(scope="module")
def on_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlServer]:
    """The SQL interface over the demo data on PostgreSQL (loaded once, as the engine
    matrix loads it)."""
    import fcntl

    from metrics_layer.demo.load import load_demo
    from tests.conftest import POSTGRES_URL, require_server

    require_server("PostgreSQL", POSTGRES_URL)
    lock = tmp_path_factory.getbasetemp().parent / "postgres-demo.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        loaded = load_demo(POSTGRES_URL)
    service = Service(
        ServerConfig(
            project=DEFINITIONS,
            connection=POSTGRES_URL,
            target=loaded.target,
            allow_anonymous=True,
            cache_url="memory",
        )
    )
    found = serve_sql(service, "127.0.0.1", 0)
    yield found
    found.stop()
    service.layer.connection.close()


def test_on_postgres_a_measure_query_equals_hand_sql(on_postgres: SqlServer) -> None:
    from tests.conftest import POSTGRES_URL

    sql = (
        "SELECT metric_time__quarter, users.country, MEASURE(signups) FROM metrics "
        "WHERE users.country IN ('DE', 'US') AND metric_time BETWEEN '2026-01-01' AND "
        "'2026-06-30' GROUP BY 1, 2 ORDER BY 1, 2"
    )
    with psycopg.connect(dsn(on_postgres), autocommit=True) as connection:
        got = connection.execute(sql).fetchall()
    hand_sql = (
        "SELECT date_trunc('quarter', signed_up_at AT TIME ZONE 'UTC')::date, country, "
        "count(*) FROM metrics_layer_demo.users WHERE country IN ('DE', 'US') AND "
        "(signed_up_at AT TIME ZONE 'UTC')::date BETWEEN '2026-01-01' AND '2026-06-30' "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )
    with psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg", "postgresql")) as warehouse:
        hand = warehouse.execute(hand_sql).fetchall()
    assert got == hand
    assert len(got) == 4


def test_a_recorded_superset_browse_sequence_replays(server: SqlServer) -> None:
    """The SQL Superset's SQLAlchemy inspector sends to connect and add a dataset, replayed
    with its parameters; then the same calls made live."""
    import json
    from pathlib import Path

    recorded = json.loads(
        (Path(__file__).parent / "fixtures" / "superset_browse.json").read_text(encoding="utf-8")
    )
    with psycopg.connect(dsn(server), autocommit=True) as connection:
        answers = {}
        for statement in recorded["statements"]:
            rows = connection.execute(statement["sql"], statement["params"]).fetchall()
            answers.setdefault(statement["call"], rows)
    assert answers["get_schema_names"] == [("information_schema",), ("public",)]
    assert answers["get_table_names"] == [("metrics",)]
    assert answers["get_view_names"] == []
    assert ("signups", "bigint") in [tuple(r[:2]) for r in answers["get_columns"]]
    engine = sa.create_engine(f"postgresql+psycopg://analyst@127.0.0.1:{server.port}/metrics")
    inspector = sa.inspect(engine)
    assert inspector.get_pk_constraint("metrics")["constrained_columns"] == []
    assert inspector.get_foreign_keys("metrics") == []
    assert inspector.get_indexes("metrics") == []
    assert inspector.get_table_comment("metrics")["text"]
    engine.dispose()


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--sql-port", "0"], "--sql-port: expected a port from 1 to 65535, not 0"),
        (["--sql-port", "70000"], "--sql-port: expected a port from 1 to 65535"),
        (["--sql-port", "15999", "--port", "15999"], "give another port than --port"),
        (["--sql-port", "15999", "--workers", "2"], "leave out --workers"),
    ],
)
def test_serve_refuses_bad_sql_flags(
    flags: list[str], says: str, demo_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from metrics_layer.cli.main import main

    argv = ["serve", "-p", str(DEFINITIONS), "-c", demo_url, "--allow-anonymous", *flags]
    assert main(argv) == 1
    assert says in capsys.readouterr().err


def test_serve_with_sql_port_answers_http_and_sql(demo_url: str) -> None:
    """``metrics-layer serve --sql-port`` as a user starts it: both interfaces on one
    process."""
    import socket
    import sys
    import time
    import urllib.request

    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    http, sql = ports
    command = [
        *(sys.executable, "-m", "metrics_layer.cli.main", "serve", "-p", str(DEFINITIONS)),
        *("-c", demo_url, "--allow-anonymous", "--port", str(http), "--sql-port", str(sql)),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(
                    f"host=127.0.0.1 port={sql} user=x dbname=metrics", connect_timeout=2
                ) as connection:
                    assert connection.execute("SELECT MEASURE(signups) FROM metrics").fetchone()
                break
            except psycopg.OperationalError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the SQL interface did not start"
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{http}/healthz", timeout=10) as answer:
            assert answer.status == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_types_in_text_and_binary_results(server: SqlServer, demo_sql: Hand) -> None:
    """Timestamps (hour), booleans and counts arrive as Python values equal to hand SQL,
    whether the client asks for text or binary results."""
    import datetime as dt

    sql = (
        "SELECT metric_time__hour, user__ever_paid, MEASURE(signups) FROM metrics "
        "WHERE metric_time = '2026-03-02' GROUP BY 1, 2 ORDER BY 1, 2"
    )
    hand = demo_sql(
        "SELECT date_trunc('hour', signed_up_at), EXISTS (SELECT 1 FROM subscriptions s "
        "WHERE s.user_id = u.user_id), count(*) FROM users u "
        "WHERE signed_up_at::DATE = '2026-03-02' GROUP BY 1, 2 ORDER BY 1, 2"
    )
    assert len(hand) >= 3
    assert {row[1] for row in hand} == {True, False}
    with psycopg.connect(dsn(server), autocommit=True) as connection:
        text = connection.execute(sql).fetchall()
        binary = connection.cursor(binary=True).execute(sql).fetchall()
        types = [c.type_code for c in connection.execute(sql).description]
    assert text == hand
    assert binary == hand
    assert types == [1114, 16, 20]  # timestamp, bool, int8
    assert isinstance(text[0][0], dt.datetime)


class Wire:
    """A bare PostgreSQL protocol client, for what libpq does not expose (Execute with a row
    limit)."""

    def __init__(self, port: int) -> None:
        import socket

        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        body = b"user\x00wire\x00database\x00metrics\x00\x00"
        self.sock.sendall(struct_pack("!ii", len(body) + 8, 196608) + body)
        self.until(b"Z")

    def send(self, kind: bytes, body: bytes) -> None:
        self.sock.sendall(kind + struct_pack("!i", len(body) + 4) + body)

    def read(self) -> tuple[bytes, bytes]:
        head = self.exactly(5)
        size = int.from_bytes(head[1:], "big")
        return head[:1], self.exactly(size - 4)

    def exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            assert chunk, "the server closed the connection"
            data += chunk
        return data

    def until(self, kind: bytes) -> list[tuple[bytes, bytes]]:
        seen = []
        while True:
            message = self.read()
            seen.append(message)
            if message[0] == kind:
                return seen


def struct_pack(fmt: str, *values: int) -> bytes:
    import struct

    return struct.pack(fmt, *values)


def test_a_row_limited_execute_goes_on_where_it_stopped(server: SqlServer, demo_sql: Hand) -> None:
    wire = Wire(server.port)
    wire.send(b"P", b"\x00" + ASK.encode() + b"\x00" + struct_pack("!h", 0))
    wire.send(b"B", b"\x00\x00" + struct_pack("!hhh", 0, 0, 0))
    wire.send(b"E", b"\x00" + struct_pack("!i", 2))
    wire.send(b"H", b"")
    first = wire.until(b"s")  # PortalSuspended after two rows
    wire.send(b"E", b"\x00" + struct_pack("!i", 0))
    wire.send(b"S", b"")
    rest = wire.until(b"Z")
    rows = [m for m in first + rest if m[0] == b"D"]
    assert len(rows) == len(demo_sql(BY_PLAN.format("")))
    assert [m[0] for m in first] == [b"1", b"2", b"D", b"D", b"s"]
    assert rest[-2][0] == b"C"
    assert rest[-2][1].startswith(b"SELECT")
    # An error in the extended protocol: everything up to Sync is skipped, then it goes on.
    wire.send(b"P", b"\x00SELECT MEASURE(nope) FROM metrics\x00" + struct_pack("!h", 0))
    wire.send(b"B", b"\x00\x00" + struct_pack("!hhh", 0, 0, 0))
    wire.send(b"E", b"\x00" + struct_pack("!i", 0))
    wire.send(b"S", b"")
    failed = wire.until(b"Z")
    assert [m[0] for m in failed] == [b"1", b"2", b"E", b"Z"]
    assert b"C42703\x00" in failed[2][1]
    wire.send(b"Q", b"SELECT MEASURE(signups) FROM metrics\x00")
    assert [m[0] for m in wire.until(b"Z")] == [b"T", b"D", b"C", b"Z"]
    wire.send(b"X", b"")
    wire.sock.close()


@pytest.fixture(scope="module")
def bounded(demo_url: str) -> Iterator[SqlServer]:
    from metrics_layer.server.config import Limits

    service = Service(
        ServerConfig(
            project=DEFINITIONS,
            connection=demo_url,
            allow_anonymous=True,
            limits=Limits(timeout=1.0, max_rows=500),
        )
    )
    found = serve_sql(service, "127.0.0.1", 0)
    yield found
    found.stop()


def test_a_costly_catalogue_query_is_stopped_and_the_connection_goes_on(
    bounded: SqlServer,
) -> None:
    """A client's catalogue query runs on the catalogue's own tables, bounded like a metrics
    query: a recursive CTE that never ends is stopped at the service's timeout (57014), a
    cross join of catalogue tables is refused beyond its row cap (54000)."""
    endless = (
        "WITH RECURSIVE pg_r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM pg_r) "
        "SELECT count(*) FROM pg_r"
    )
    many = "SELECT a.attname FROM pg_catalog.pg_attribute a, pg_catalog.pg_attribute b"
    with psycopg.connect(dsn(bounded), autocommit=True) as conn:
        started = time.monotonic()
        with pytest.raises(psycopg.Error) as stopped:
            conn.execute(endless)
        assert stopped.value.diag.sqlstate == "57014", stopped.value
        assert time.monotonic() - started < 10
        with pytest.raises(psycopg.Error) as capped:
            conn.execute(many)
        assert capped.value.diag.sqlstate == "54000", capped.value
        assert conn.execute("SELECT MEASURE(signups) FROM metrics").fetchone()[0] > 0


def test_an_oversized_message_is_refused_before_it_is_read(bounded: SqlServer) -> None:
    """A message's length is checked before any of it is read: a client announcing 2 GiB
    gets a FATAL 54000, and the server goes on answering others."""
    import socket
    import struct

    with socket.create_connection(("127.0.0.1", bounded.port), timeout=5) as raw:
        body = b"user\x00x\x00database\x00metrics\x00\x00"
        raw.sendall(struct.pack("!ii", len(body) + 8, 196608) + body)
        greeting = b""
        while not greeting.endswith(b"Z\x00\x00\x00\x05I"):
            chunk = raw.recv(4096)
            assert chunk, greeting
            greeting += chunk
        raw.sendall(b"Q" + struct.pack("!I", 2**31))
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert answer[:1] == b"E", answer
    assert b"C54000" in answer, answer
    with psycopg.connect(dsn(bounded), autocommit=True) as conn:
        assert conn.execute("SELECT MEASURE(signups) FROM metrics").fetchone()[0] > 0
