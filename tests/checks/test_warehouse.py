"""``check --connection``: the tables, columns and column types of the definitions, on DuckDB,
SQLite, PostgreSQL and MariaDB for real.

Each engine gets a small warehouse of its own (a temporary file; on the servers a schema or
database with a unique name, dropped afterwards), written by the test with the engine's own
client, never by metrics_layer. A small project passes on it; each mutation of one line then
gives exactly the diagnostic written below, by hand.
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy
from conftest import DEFINITIONS, MARIADB_URL, POSTGRES_URL, require_server
from sqlalchemy.pool import NullPool
from sqlglot import exp

import metrics_layer as ml
from metrics_layer.checks.warehouse import Need, fits, kind_of
from metrics_layer.cli.main import main
from metrics_layer.engine.connection import Connection
from metrics_layer.errors import Diagnostic, EngineError, Level
from metrics_layer.safety.statement import verify

ENGINES = ["duckdb", "sqlite", "postgres", "mariadb"]

# The project; {s} is the schema prefix of each engine ("" on SQLite). Line numbers below are
# the lines of this text in sources.yml.
PROJECT = """\
sources:
  - name: orders
    table: {s}orders
    time: ordered_at
    entities:
      - {{name: order, key: order_id, primary: true}}
      - {{name: user, key: user_id}}
    dimensions:
      - {{name: ordered_at, type: time}}
      - {{name: status}}
      - {{name: is_gift, type: boolean}}
    measures:
      - {{name: revenue, agg: sum, expr: amount}}
      - {{name: orders, agg: count}}
  - name: users
    table: {s}users
    entities:
      - {{name: user, key: user_id, primary: true}}
    dimensions:
      - {{name: country}}
      - {{name: signed_up_on, type: time}}
  - name: refunds
    sql: SELECT user_id, amount AS refund_amount, ordered_at AS refunded_at FROM {s}orders
    time: refunded_at
    entities:
      - {{name: user, key: user_id}}
    dimensions:
      - {{name: refunded_at, type: time}}
    measures:
      - {{name: refunded, agg: sum, expr: refund_amount}}
metrics:
  - {{name: revenue, label: Revenue, type: simple, measure: orders.revenue, version: 1}}
"""


@dataclass(frozen=True)
class Warehouse:
    """One engine's test warehouse: the URL metrics_layer reads and the schema prefix the
    definitions write ("" on SQLite)."""

    engine: str
    url: str
    prefix: str


SERVERS = {"postgres": ("PostgreSQL", POSTGRES_URL), "mariadb": ("MariaDB", MARIADB_URL)}


def _ddl(engine: str, prefix: str) -> list[str]:
    timestamp = "DATETIME" if engine == "mariadb" else "TIMESTAMP"
    return [
        f"CREATE TABLE {prefix}orders (order_id INTEGER, user_id INTEGER, "
        f"ordered_at {timestamp}, ordered_on_text VARCHAR(10), amount DECIMAL(10, 2), "
        "status VARCHAR(20), is_gift BOOLEAN)",
        f"CREATE TABLE {prefix}users (user_id INTEGER, country VARCHAR(2), signed_up_on DATE)",
    ]


@contextmanager
def _server_schema(engine: str) -> Iterator[tuple[str, str, Callable[[str], None]]]:
    """(URL, a new schema of a unique name, a writer) on a test server; the schema (on
    MariaDB a database) is dropped afterwards."""
    name, url = SERVERS[engine]
    require_server(name, url)
    schema = f"ml_check_{uuid.uuid4().hex[:12]}"
    writer = sqlalchemy.create_engine(url, poolclass=NullPool)

    def write(sql: str) -> None:
        with writer.begin() as connection:
            connection.exec_driver_sql(sql)

    kind = "SCHEMA" if engine == "postgres" else "DATABASE"
    write(f"CREATE {kind} {schema}")
    try:
        yield url, schema, write
    finally:
        write(
            f"DROP SCHEMA {schema} CASCADE" if engine == "postgres" else f"DROP DATABASE {schema}"
        )
        writer.dispose()


@pytest.fixture(params=ENGINES)
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    """The tables of PROJECT on one engine, with no rows."""
    engine: str = request.param
    if engine == "duckdb":
        path = tmp_path / "wh.duckdb"
        db = duckdb.connect(str(path))
        db.execute("CREATE SCHEMA sales")
        for statement in _ddl(engine, "sales."):
            db.execute(statement)
        db.close()  # metrics_layer opens the file read-only in this process
        yield Warehouse(engine, f"duckdb:///{path}", "sales.")
    elif engine == "sqlite":
        path = tmp_path / "wh.db"
        with sqlite3.connect(path) as lite:
            for statement in _ddl(engine, ""):
                lite.execute(statement)
        lite.close()
        yield Warehouse(engine, f"sqlite:///{path}", "")
    else:
        with _server_schema(engine) as (url, schema, write):
            for statement in _ddl(engine, f"{schema}."):
                write(statement)
            yield Warehouse(engine, url, f"{schema}.")


def run_check(
    write_project: Callable[[dict[str, str]], Path],
    warehouse: Warehouse,
    *replacements: tuple[str, str],
    project: str = PROJECT,
) -> tuple[Path, list[Diagnostic]]:
    text = project.format(s=warehouse.prefix)
    for before, after in replacements:
        old, new = before.replace("{s}", warehouse.prefix), after.replace("{s}", warehouse.prefix)
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    folder = write_project({"sources.yml": text})
    graph, diagnostics = checked(folder, connection=warehouse.url)
    assert graph is not None
    return folder / "sources.yml", diagnostics


def checked(*args: Any, **kwargs: Any) -> tuple[Any, list[Diagnostic]]:
    """``ml.check`` without the lock-missing warning (these projects have no metrics.lock; the
    lock comparison has its own tests)."""
    graph, diagnostics = ml.check(*args, **kwargs)
    return graph, [d for d in diagnostics if d.code != "lock-missing"]


def only(diagnostics: list[Diagnostic]) -> Diagnostic:
    assert len(diagnostics) == 1, [str(d) for d in diagnostics]
    return diagnostics[0]


def test_a_matching_warehouse_has_no_findings(
    write_project: Callable[[dict[str, str]], Path], warehouse: Warehouse
) -> None:
    _, diagnostics = run_check(write_project, warehouse)
    assert diagnostics == []


def test_a_missing_table_is_named_at_its_table_line(
    write_project: Callable[[dict[str, str]], Path], warehouse: Warehouse
) -> None:
    file, diagnostics = run_check(write_project, warehouse, ("table: {s}users", "table: {s}userz"))
    found = only(diagnostics)
    assert (found.code, found.file, found.line, found.column) == (
        "missing-table",
        str(file),
        16,
        12,
    )
    assert f"{warehouse.prefix}userz" in found.message
    assert (found.hint or "").startswith("did you mean 'users'?")


def test_a_missing_schema_is_named(
    write_project: Callable[[dict[str, str]], Path], warehouse: Warehouse
) -> None:
    _, diagnostics = run_check(
        write_project, warehouse, ("table: {s}users", "table: nowhere.users")
    )
    found = only(diagnostics)
    assert (found.code, found.line) == ("missing-table", 16)
    assert "schema 'nowhere' does not exist" in found.message


def test_a_missing_column_has_a_did_you_mean(
    write_project: Callable[[dict[str, str]], Path], warehouse: Warehouse
) -> None:
    file, diagnostics = run_check(
        write_project, warehouse, ("{name: status}", "{name: status, expr: lower(statuz)}")
    )
    found = only(diagnostics)
    assert (found.code, found.file, found.line, found.column) == (
        "missing-column",
        str(file),
        10,
        30,
    )
    assert "dimension 'status' reads column 'statuz'" in found.message
    assert (found.hint or "").startswith("did you mean 'status'?")


def test_a_field_without_expr_reads_its_own_name(
    write_project: Callable[[dict[str, str]], Path], warehouse: Warehouse
) -> None:
    """The dimension 'country' of users, renamed 'land', reads a column 'land'."""
    _, diagnostics = run_check(write_project, warehouse, ("{name: country}", "{name: land}"))
    found = only(diagnostics)
    assert (found.code, found.line, found.column) == ("missing-column", 20, 16)
    assert "column 'land'" in found.message


def test_a_time_dimension_over_text_needs_a_cast(
    write_project: Callable[[dict[str, str]], Path], warehouse: Warehouse
) -> None:
    """SQLite keeps dates as ISO text and has no date type: text fits a time dimension there."""
    file, diagnostics = run_check(
        write_project,
        warehouse,
        ("{name: ordered_at, type: time}", "{name: ordered_at, type: time, expr: ordered_on_text}"),
    )
    if warehouse.engine == "sqlite":
        assert diagnostics == []
        return
    found = only(diagnostics)
    assert (found.code, found.file, found.line) == ("column-type", str(file), 9)
    assert "time dimension 'ordered_at' reads column 'ordered_on_text' of type VARCHAR" in (
        found.message
    )
    assert (
        found.hint == "cast it in the field's expr, e.g. expr: CAST(ordered_on_text AS TIMESTAMP)"
    )


def test_a_cast_time_dimension_is_not_judged(
    write_project: Callable[[dict[str, str]], Path], warehouse: Warehouse
) -> None:
    _, diagnostics = run_check(
        write_project,
        warehouse,
        (
            "{name: ordered_at, type: time}",
            "{name: ordered_at, type: time, expr: CAST(ordered_on_text AS DATE)}",
        ),
    )
    assert diagnostics == []


def test_a_sum_over_text_is_a_type_error(
    write_project: Callable[[dict[str, str]], Path], warehouse: Warehouse
) -> None:
    file, diagnostics = run_check(write_project, warehouse, ("expr: amount}", "expr: status}"))
    found = only(diagnostics)
    assert (found.code, found.file, found.line) == ("column-type", str(file), 13)
    assert "measure 'revenue' (agg: sum) reads column 'status' of type VARCHAR" in found.message


def test_a_boolean_dimension_over_text_is_a_type_error(
    write_project: Callable[[dict[str, str]], Path], warehouse: Warehouse
) -> None:
    _, diagnostics = run_check(
        write_project,
        warehouse,
        ("{name: is_gift, type: boolean}", "{name: is_gift, type: boolean, expr: status}"),
    )
    found = only(diagnostics)
    assert (found.code, found.line) == ("column-type", 11)
    assert "boolean dimension 'is_gift' reads column 'status'" in found.message


def test_a_sql_source_naming_a_missing_column_fails_at_its_sql(
    write_project: Callable[[dict[str, str]], Path], warehouse: Warehouse
) -> None:
    """The query runs with no rows; the database's refusal is the finding."""
    file, diagnostics = run_check(
        write_project, warehouse, ("amount AS refund_amount", "amount_eur AS refund_amount")
    )
    found = only(diagnostics)
    assert (found.code, found.file, found.line, found.column) == ("source-query", str(file), 23, 10)
    assert "amount_eur" in found.message


def test_a_field_of_a_sql_source_is_checked_against_its_result(
    write_project: Callable[[dict[str, str]], Path], warehouse: Warehouse
) -> None:
    _, diagnostics = run_check(
        write_project, warehouse, ("expr: refund_amount}", "expr: refund_amont}")
    )
    found = only(diagnostics)
    assert (found.code, found.line) == ("missing-column", 30)
    assert "the result of source 'refunds''s sql" in found.message
    assert (found.hint or "").startswith("did you mean 'refund_amount'?")


# -- names in mixed case, as each engine folds them -------------------------------------------

VISITS = """\
sources:
  - name: visits
    table: '{table}'
    entities:
      - {{name: visit, key: '{key}', primary: true}}
    measures: [{{name: visit_count, agg: count}}]
metrics:
  - {{name: visit_count, label: Visits, type: simple, measure: visits.visit_count, version: 1}}
"""

# The table Visits with column VisitId, created with quoted names (so in that case everywhere),
# named as written here ({s}: the schema), and the finding on each engine (None: none).
# DuckDB and SQLite ignore case, quoted or not; PostgreSQL folds unquoted names to lower case
# and matches quoted ones exactly; MariaDB matches table names exactly (lower_case_table_names
# is 0 on Linux) and column names in any case.
CASES = [
    ("{s}Visits", "VisitId", {"postgres": "missing-table"}),
    ("{s}visits", "visitid", {"postgres": "missing-table", "mariadb": "missing-table"}),
    ('{s}"Visits"', '"VisitId"', {}),
    ('{s}"Visits"', '"visitid"', {"postgres": "missing-column"}),
    ('{s}"Visits"', "VISITID", {"postgres": "missing-column"}),
]


@pytest.fixture(params=ENGINES)
def visits(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    """A warehouse holding only the table Visits (VisitId INTEGER), with no rows."""
    engine: str = request.param
    quoted = 'CREATE TABLE {p}"Visits" ("VisitId" INTEGER)'
    if engine in ("duckdb", "sqlite"):
        path = tmp_path / f"visits.{engine}"
        if engine == "duckdb":
            db = duckdb.connect(str(path))
            db.execute("CREATE SCHEMA sales")
            db.execute(quoted.format(p="sales."))
            db.close()
        else:
            with sqlite3.connect(path) as lite:
                lite.execute(quoted.format(p=""))
            lite.close()
        prefix = "sales." if engine == "duckdb" else ""
        yield Warehouse(engine, f"{engine}:///{path}", prefix)
        return
    with _server_schema(engine) as (url, schema, write):
        write(quoted.format(p=f"{schema}.").replace('"', "`" if engine == "mariadb" else '"'))
        yield Warehouse(engine, url, f"{schema}.")


@pytest.mark.parametrize(("table", "key", "finding"), CASES)
def test_names_match_as_the_engine_matches_them(
    write_project: Callable[[dict[str, str]], Path],
    visits: Warehouse,
    table: str,
    key: str,
    finding: dict[str, str],
) -> None:
    """The check agrees with the engine: where it finds nothing, a query of the definitions
    runs there; where it reports the name, the engine refuses the query too."""
    text = VISITS.format(table=table.format(s=visits.prefix), key=key)
    folder = write_project({"visits.yml": text})
    graph, diagnostics = checked(folder, connection=visits.url)
    assert graph is not None
    expected = finding.get(visits.engine)
    layer = ml.load(folder, connection=visits.url)
    try:
        if expected is None:
            assert diagnostics == []
            assert layer.query(metrics=["visit_count"], by=["visit"]).run().rows == ()
            return
        found = only(diagnostics)
        assert (found.code, found.line) == (expected, 3 if expected == "missing-table" else 5)
        with pytest.raises(EngineError):
            layer.query(metrics=["visit_count"], by=["visit"]).run()
    finally:
        layer.connection.close()


# -- connections, passwords -------------------------------------------------------------------

PASSWORD = "Pw-7qz!k3"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize("scheme", ["postgresql", "mariadb"])
def test_an_unreachable_database_is_one_connection_finding_without_its_password(
    write_project: Callable[[dict[str, str]], Path],
    capsys: pytest.CaptureFixture[str],
    scheme: str,
) -> None:
    port = _closed_port()
    url = f"{scheme}://analyst:{PASSWORD}@127.0.0.1:{port}/warehouse"
    folder = write_project({"sources.yml": PROJECT.format(s="")})
    _, diagnostics = checked(folder, connection=url)
    found = only(diagnostics)
    assert (found.code, found.file, found.line) == ("connection", None, None)
    assert "connection refused" in found.message
    assert f"analyst:***@127.0.0.1:{port}/warehouse" in found.message
    assert found.hint is not None
    for output in ("text", "json", "github"):
        code, shown = _cli(capsys, str(folder), "--connection", url, "--format", output)
        assert code == 1
        assert "connection" in shown
        assert PASSWORD not in shown


def test_a_wrong_password_is_not_shown(
    write_project: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """MariaDB's root has no password: one given is refused, and not repeated."""
    require_server("MariaDB", MARIADB_URL)
    url = sqlalchemy.make_url(MARIADB_URL).set(password=PASSWORD).render_as_string(False)
    folder = write_project({"sources.yml": PROJECT.format(s="")})
    _, diagnostics = checked(folder, connection=url)
    found = only(diagnostics)
    assert found.code == "connection"
    assert "refused the user or password" in found.message
    code, shown = _cli(capsys, str(folder), "--connection", url)
    assert code == 1
    assert PASSWORD not in shown


def test_findings_on_a_server_reached_with_a_password_do_not_show_it(
    write_project: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """PostgreSQL's test server trusts loopback users, so a URL with a password connects; a
    missing table and a failing sql are reported, the password nowhere."""
    with _server_schema("postgres") as (url, schema, write):
        for statement in _ddl("postgres", f"{schema}."):
            write(statement)
        url = sqlalchemy.make_url(url).set(password=PASSWORD).render_as_string(False)
        text = PROJECT.format(s=f"{schema}.")
        text = text.replace(f"table: {schema}.orders", f"table: {schema}.orderz")
        text = text.replace("amount AS", "amount_eur AS")
        folder = write_project({"sources.yml": text})
        _, diagnostics = checked(folder, connection=url)
        assert [(d.code, d.line) for d in diagnostics] == [
            ("missing-table", 3),
            ("source-query", 23),
        ]
        for output in ("text", "json", "github"):
            code, shown = _cli(capsys, str(folder), "--connection", url, "--format", output)
            assert code == 1
            assert "missing-table" in shown or "orderz" in shown
            assert PASSWORD not in shown


def test_an_engine_that_cannot_be_made_read_only_is_refused(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    folder = write_project({"sources.yml": PROJECT.format(s="")})
    _, diagnostics = checked(folder, connection=f"oracle://scott:{PASSWORD}@127.0.0.1/orcl")
    found = only(diagnostics)
    assert found.code == "connection"
    assert "'oracle' is not one of them" in found.message
    assert PASSWORD not in str(found)


def test_without_a_connection_nothing_is_inspected(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    """The same project, its tables nowhere: only the definitions are checked."""
    folder = write_project({"sources.yml": PROJECT.format(s="nowhere.")})
    _, diagnostics = checked(folder)
    assert diagnostics == []


def test_the_part_of_the_graph_that_built_is_checked(
    write_project: Callable[[dict[str, str]], Path], warehouse: Warehouse
) -> None:
    """A source with a definition error is left out of the graph; the others are still checked
    against the database."""
    _, diagnostics = run_check(
        write_project,
        warehouse,
        ("time: refunded_at", "time: refunded_on"),
        ("table: {s}users", "table: {s}userz"),
    )
    # In file order: the database's (users, line 16), then the definition error (refunds).
    assert [(d.level, d.line) for d in diagnostics] == [(Level.ERROR, 16), (Level.ERROR, 24)]
    assert diagnostics[0].code == "missing-table"
    assert "refunded_on" in diagnostics[1].message


# -- the shipped definitions -------------------------------------------------------------------


def test_the_shipped_definitions_match_the_demo_database(demo_db: Path) -> None:
    graph, diagnostics = checked(DEFINITIONS, connection=f"duckdb:///{demo_db}")
    assert graph is not None
    assert diagnostics == []
    # Every source written in the files was looked at; the derived ones were not.
    assert sorted(graph.source_places) == [
        "events",
        "first_activity",
        "plan_history",
        "subscription_snapshots",
        "subscriptions",
        "trials",
        "user_payments",
        "users",
    ]


def test_the_demo_database_with_a_table_renamed_is_caught(demo_db: Path, tmp_path: Path) -> None:
    """The same check finds a difference on the demo: a copy of the definitions whose events
    source reads event_name instead of event_type."""
    copy = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS, copy, ignore=shutil.ignore_patterns("metrics.lock"))
    events = copy / "sources" / "events.yml"
    text = events.read_text(encoding="utf-8")
    events.write_text(
        text.replace("{name: event_type,", "{name: event_type, expr: event_name,"),
        encoding="utf-8",
    )
    _, diagnostics = checked(copy, connection=f"duckdb:///{demo_db}")
    found = only(diagnostics)
    assert (found.code, found.file, found.line) == ("missing-column", str(events), 12)
    assert (found.hint or "").startswith("did you mean 'event_type'?")


def test_the_inspecting_connection_is_read_only(warehouse: Warehouse) -> None:
    """The catalog is read on a connection made read-only as a query's is: a write through it
    is refused by the engine, and the table stays empty."""
    connection = Connection(warehouse.url)
    try:
        with connection.inspecting() as inspector:
            assert "orders" in inspector.get_table_names(warehouse.prefix.rstrip(".") or None)
            with pytest.raises(sqlalchemy.exc.DBAPIError):
                inspector.bind.exec_driver_sql(  # type: ignore[union-attr]
                    f"INSERT INTO {warehouse.prefix}orders (order_id) VALUES (1)"
                )
    finally:
        connection.close()
    count = exp.select("COUNT(*)").from_(exp.to_table(f"{warehouse.prefix}orders"))
    dialect = "mysql" if warehouse.engine == "mariadb" else warehouse.engine
    statement = verify(count.sql(dialect), dialect)
    reader = Connection(warehouse.url)
    try:
        assert reader.fetch(statement).rows == ((0,),)
    finally:
        reader.close()


def test_the_calendar_table_is_checked_too(demo_db: Path, tmp_path: Path) -> None:
    """The shipped project's calendar on the demo: a misspelt table, then a period reading a
    column the table does not have, each at its line of metrics_layer.yml."""
    copy = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS, copy, ignore=shutil.ignore_patterns("metrics.lock"))
    project = copy / "metrics_layer.yml"
    text = project.read_text(encoding="utf-8")
    assert text.splitlines()[11] == "    table: retail_calendar"
    assert text.splitlines()[15] == "      - name: retail_month"
    url = f"duckdb:///{demo_db}"

    project.write_text(text.replace("table: retail_calendar", "table: retail_calender"))
    found = only(checked(copy, connection=url)[1])
    assert (found.code, found.file, found.line) == ("missing-table", str(project), 12)
    assert found.message.startswith("the calendar reads table retail_calender")

    moved = "      - name: retail_month\n        column: retail_mon\n"
    project.write_text(text.replace("      - name: retail_month\n", moved))
    found = only(checked(copy, connection=url)[1])
    assert (found.code, found.line, found.column) == ("missing-column", 17, 17)
    assert "period 'retail_month' reads column 'retail_mon'" in found.message
    assert (found.hint or "").startswith("did you mean 'retail_month'?")


# -- the table of fits --------------------------------------------------------------------------

TIME, NUMBER, BOOLEAN = Need.TIME, Need.NUMBER, Need.BOOLEAN


@pytest.mark.parametrize(
    ("type_text", "dialect", "fitting"),
    [
        # as each engine's catalog spells its types
        ("TIMESTAMP WITH TIME ZONE", "postgres", {TIME}),
        ("DATE", "postgres", {TIME}),
        ("TIME WITHOUT TIME ZONE", "postgres", set()),
        ("INTERVAL", "postgres", set()),
        ("BIGINT", "postgres", {NUMBER, BOOLEAN}),
        ("NUMERIC", "postgres", {NUMBER}),
        ("DOUBLE PRECISION", "postgres", {NUMBER}),
        ("BOOLEAN", "postgres", {BOOLEAN}),
        ("TEXT", "postgres", set()),
        ("JSONB", "postgres", set()),
        ("ml_schema.mood", "postgres", {TIME, NUMBER, BOOLEAN}),  # not recognised: not judged
        ("DATETIME", "mysql", {TIME}),
        ("TINYINT(1)", "mysql", {NUMBER, BOOLEAN}),  # MariaDB's BOOLEAN
        ("DECIMAL(10, 2)", "mysql", {NUMBER}),
        ("VARCHAR(3)", "mysql", set()),
        ("ENUM('x','y')", "mysql", set()),
        ("TIMESTAMP_NS", "duckdb", {TIME}),
        ("HUGEINT", "duckdb", {NUMBER, BOOLEAN}),
        ("VARCHAR", "duckdb", set()),
        ("INTEGER[]", "duckdb", set()),
        ("TEXT", "sqlite", {TIME}),  # SQLite's dates are ISO text
        ("VARCHAR(10)", "sqlite", {TIME}),
        ("REAL", "sqlite", {NUMBER}),
        ("BLOB", "sqlite", set()),
    ],
)
def test_the_table_of_fits(type_text: str, dialect: str, fitting: set[Need]) -> None:
    kind = kind_of(type_text, dialect)
    assert {need for need in Need if fits(kind, need, dialect)} == fitting


def test_the_tables_a_target_resolves_are_checked(
    write_project: Callable[[dict[str, str]], Path], warehouse: Warehouse
) -> None:
    """Tables written without a schema, read from the schema of target prod: with the target
    they are found; on DuckDB (a file of the test's own) without it they are not."""
    if warehouse.engine == "sqlite":
        pytest.skip("SQLite has no schemas (its attached databases are not used here)")
    schema = warehouse.prefix.rstrip(".")
    project = f"project:\n  name: shop\n  paths: [.]\n  targets:\n    prod: {{schema: {schema}}}\n"
    folder = write_project({"metrics_layer.yml": project, "sources.yml": PROJECT.format(s="")})
    _, diagnostics = checked(folder, connection=warehouse.url, target="prod")
    assert diagnostics == []
    if warehouse.engine == "duckdb":
        _, diagnostics = checked(folder, connection=warehouse.url)
        assert [(d.code, d.line) for d in diagnostics] == [
            ("missing-table", 3),
            ("missing-table", 16),
            ("source-query", 23),
        ]


@pytest.mark.parametrize(("scheme", "name"), [("duckdb", "no.duckdb"), ("sqlite", "no.db")])
def test_a_database_file_that_does_not_exist_is_not_created(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path, scheme: str, name: str
) -> None:
    folder = write_project({"sources.yml": PROJECT.format(s="")})
    missing = tmp_path / "elsewhere" / name
    _, diagnostics = checked(folder, connection=f"{scheme}:///{missing}")
    found = only(diagnostics)
    assert found.code == "connection"
    assert f"no {'DuckDB' if scheme == 'duckdb' else 'SQLite'} database at" in found.message
    assert not missing.parent.exists()
