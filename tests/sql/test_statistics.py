"""``SemanticLayer.statistics``: PostgreSQL statistics on the time buckets the generated SQL
groups a table by, proven on a real server to be accepted and to move its row estimates.

The server part runs in one transaction that is rolled back (``engines.rolled_back``), against
TEMPORARY tables: nothing lasts, the statistics created included.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlglot
from conftest import DEFINITIONS, POSTGRES_URL

import metrics_layer as ml
from metrics_layer.cli.main import main
from metrics_layer.errors import QueryError, UserError
from metrics_layer.sql.statistics import Statistic, grouped, statements

from .engines import attempt, rolled_back

# Visits every 3 hours from 2025-01-01 for 730 days (5,840 rows, 24 months, 730 days); a
# mixed-case table and column, which PostgreSQL only finds quoted. Snapshots: one DATE a day.
PROJECT = {
    "metrics_layer.yml": "project: {name: statistics}\n",
    "sources.yml": """
        sources:
          - name: visits
            table: '"Visits"'
            time: seen_at
            entities: [{name: user, key: user_id}]
            dimensions:
              - {name: seen_at, expr: '"Seen_At"', type: time}
            measures:
              - {name: visits, agg: count}
          - name: snapshots
            table: snapshots
            time: day
            entities: [{name: user, key: user_id}]
            dimensions:
              - {name: day, type: time, grain: day}
            measures:
              - {name: snapshot_rows, agg: count}
        metrics:
          - {name: visits, type: simple, measure: visits.visits, version: 1, owner: tests}
          - name: snapshot_rows
            type: simple
            measure: snapshots.snapshot_rows
            version: 1
            owner: tests
        """,
}
ROWS = """
    CREATE TEMPORARY TABLE "Visits" AS
    SELECT MOD(n, 97) AS user_id, TIMESTAMP '2025-01-01' + n * INTERVAL '3 hours' AS "Seen_At"
    FROM generate_series(0, 5839) AS n;
    CREATE TEMPORARY TABLE snapshots AS
    SELECT MOD(n, 97) AS user_id, DATE '2025-01-01' + MOD(n, 730) AS day
    FROM generate_series(0, 5839) AS n;
    ANALYZE "Visits"; ANALYZE snapshots
"""


@pytest.fixture
def layer(write_project: Callable[[dict[str, str]], Path]) -> ml.SemanticLayer:
    return ml.load(write_project(PROJECT))


def _groups_estimated(connection: object, sql: str) -> tuple[float, float]:
    """(estimated, actual) rows of the plan node that groups by the bucket, the largest
    estimate among grouping nodes."""
    ran = attempt(connection, f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")  # type: ignore[arg-type]
    plan = ran.rows[0][0]
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def nodes(node: dict[str, object]) -> list[dict[str, object]]:
        found = [node]
        for child in node.get("Plans", []):  # type: ignore[attr-defined]
            found += nodes(child)
        return found

    grouping = [n for n in nodes(plan[0]["Plan"]) if n.get("Group Key")]
    worst = max(grouping, key=lambda n: float(n["Plan Rows"]))  # type: ignore[arg-type]
    return float(worst["Plan Rows"]), float(worst["Actual Rows"])  # type: ignore[arg-type]


def test_statistics_are_accepted_and_correct_the_estimate_of_groups(
    layer: ml.SemanticLayer,
) -> None:
    found = layer.statistics("postgres")
    # Day, week, month, quarter, year of each table's time; each day (a cast of the column to
    # DATE) in a block that passes over PostgreSQL's refusal when the column is a DATE.
    created = [s for s in found if "CREATE STATISTICS" in s]
    assert len(created) == 10
    assert sum('FROM "Visits";' in s for s in created) == 5
    days = [s for s in created if s.startswith("DO $$")]
    assert [" AS DATE)) FROM" in s for s in days] == [True, True]
    assert found[len(created) :] == ('ANALYZE "Visits";', "ANALYZE snapshots;")
    by_month = layer.query(["visits"], by=["metric_time.month"]).sql("postgres")
    by_day = layer.query(["visits"], by=["metric_time.day"]).sql("postgres")
    snapshots_by_week = layer.query(["snapshot_rows"], by=["metric_time.week"]).sql("postgres")
    with rolled_back("PostgreSQL", POSTGRES_URL) as connection:
        for statement in ROWS.split(";"):
            attempt(connection, statement)
        month_before = _groups_estimated(connection, by_month)
        day_before = _groups_estimated(connection, by_day)
        week_before = _groups_estimated(connection, snapshots_by_week)
        refused = "CREATE STATISTICS s ON (CAST(day AS DATE)) FROM snapshots"
        with pytest.raises(Exception, match="at least 2 columns"):
            attempt(connection, refused)
        for statement in found:  # each one, the refused day of snapshots included, runs
            attempt(connection, statement)
        month_after = _groups_estimated(connection, by_month)
        day_after = _groups_estimated(connection, by_day)
        week_after = _groups_estimated(connection, snapshots_by_week)
        created_names = attempt(
            connection,
            "SELECT stxname FROM pg_statistic_ext "
            """WHERE stxrelid IN ('"Visits"'::regclass, 'snapshots'::regclass)""",
        ).rows
    # Without statistics the month buckets are estimated at the column's distinct count
    # (5,840 timestamps); with them at the 24 months there are, and the days at 730.
    assert month_before[1] == 24
    assert day_before[1] == 730
    assert month_before[0] > 10 * 24
    assert 24 / 2 <= month_after[0] <= 24 * 2
    assert day_before[0] > 2 * 730
    assert 730 / 2 <= day_after[0] <= 730 * 2
    # Snapshots: 730 days are 105 weeks (2024-12-30 to 2026-12-28); estimated at the 730 days
    # before, and the DATE column's refused day is the one statistic not created.
    assert week_before == (730, 105)
    assert 105 / 2 <= week_after[0] <= 105 * 2
    assert len(created_names) == 9


def test_nothing_lasts_after_the_rolled_back_test(layer: ml.SemanticLayer) -> None:
    ours = [s.split("IF NOT EXISTS ")[1].split()[0] for s in layer.statistics("postgres")[:-2]]
    with rolled_back("PostgreSQL", POSTGRES_URL) as connection:
        left = attempt(connection, "SELECT stxname FROM pg_statistic_ext")
    assert len(ours) == 10
    assert not set(ours) & {name for (name,) in left.rows}


def test_the_statements_are_the_same_each_time_and_safe_to_run_again(
    layer: ml.SemanticLayer,
) -> None:
    first = layer.statistics("postgres")
    assert layer.statistics(dialect="postgres") == first
    created = [s.split("CREATE STATISTICS IF NOT EXISTS ")[1].split()[0] for s in first[:-2]]
    assert len(set(created)) == 10  # names differ


@pytest.mark.parametrize("dialect", ["duckdb", "snowflake", None])
def test_other_dialects_are_refused_by_name(layer: ml.SemanticLayer, dialect: str | None) -> None:
    with pytest.raises(QueryError, match=r"PostgreSQL's .* not (duckdb|snowflake)'s") as info:
        layer.statistics(dialect)
    assert info.value.field == "dialect"


@pytest.mark.parametrize(
    "dialect", [3, "'; DROP TABLE x; --", "postgres; DROP", ["postgres"], "\x00"]
)
def test_hostile_dialects_get_a_clear_error(layer: ml.SemanticLayer, dialect: object) -> None:
    with pytest.raises(UserError, match="dialect"):
        layer.statistics(dialect)  # type: ignore[arg-type]


def test_grouped_keeps_only_expressions_of_one_base_table() -> None:
    sql = """
        WITH d AS (
          SELECT CAST(e.at AS DATE) AS day, u.plan
          FROM s.events AS e JOIN s.users AS u ON e.user_id = u.user_id
          GROUP BY CAST(e.at AS DATE), DATE_TRUNC('MONTH', u.signed_up), e.kind,
            COALESCE(e.kind, u.plan), 1 + 1, COALESCE(e.kind, (SELECT MAX(x.k) FROM x)),
            LOWER(e.kind) || (SELECT e.kind)
        )
        SELECT DATE_TRUNC('WEEK', d.day) FROM d GROUP BY DATE_TRUNC('WEEK', d.day)
    """
    found = sorted(grouped(sqlglot.parse_one(sql, read="postgres")))
    assert found == [
        Statistic("s.events", "CAST(at AS DATE)", cast=True),
        Statistic("s.users", "DATE_TRUNC('MONTH', signed_up)"),
    ]


def test_a_cte_named_like_a_table_is_not_a_table() -> None:
    sql = (
        "WITH events AS (SELECT 1 AS at) "
        "SELECT CAST(at AS DATE) FROM events GROUP BY 1, CAST(events.at AS DATE)"
    )
    assert list(grouped(sqlglot.parse_one(sql, read="postgres"))) == []
    schema_qualified = sql.replace("FROM events", "FROM s.events")
    assert [s.table for s in grouped(sqlglot.parse_one(schema_qualified, read="postgres"))] == [
        "s.events"
    ]


def test_names_are_identifiers_whatever_the_table_is_called() -> None:
    hostile = Statistic('"we""ird; DROP"."Ta ble--x"', 'CAST("a" AS DATE)')
    assert hostile.name.startswith("ml_ta_ble__x_")
    assert len(hostile.name.encode()) <= 63
    long = Statistic("t" * 80, "CAST(a AS DATE)")
    assert len(long.name.encode()) <= 63
    text = hostile.sql()
    parsed = sqlglot.parse_one(
        text.replace("CREATE STATISTICS IF NOT EXISTS", "SELECT 1 FROM").split(" ON ")[0],
        read="postgres",
    )
    assert parsed.find(sqlglot.exp.Table).db == 'we"ird; DROP'


def test_statements_are_unique_and_end_with_analyze() -> None:
    a = Statistic("t", "CAST(a AS DATE)")
    b = Statistic("s.u", "CAST(b AS DATE)")
    assert statements([a, b, a]) == [b.sql(), a.sql(), "ANALYZE s.u;", "ANALYZE t;"]
    assert statements([]) == []


def test_cli_prints_the_statements_and_refuses_other_dialects(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["statistics", "-p", str(DEFINITIONS), "-d", "postgres"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("-- ")
    assert any(line.startswith("CREATE STATISTICS IF NOT EXISTS ml_events_") for line in lines)
    assert lines[-1].startswith("ANALYZE ")
    assert main(["statistics", "-p", str(DEFINITIONS)]) == 1  # the demo's engine: DuckDB
    captured = capsys.readouterr()
    assert "PostgreSQL's" in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_the_cli_page_shows_what_the_command_prints(capsys: pytest.CaptureFixture[str]) -> None:
    page = (DEFINITIONS.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    command = "$ metrics-layer statistics --dialect postgres\n"
    shown = page.split(command, 1)[1].split("\n```", 1)[0]
    assert main(["statistics", "-p", str(DEFINITIONS), "--dialect", "postgres"]) == 0
    assert capsys.readouterr().out == shown + "\n"


ZONED = {
    "metrics_layer.yml": """
        project: {name: zoned, time_zone: Europe/Berlin}
        sources:
          - name: orders
            table: orders
            time: ordered_at
            dimensions:
              - {name: ordered_at, type: time, grain: second}
            measures:
              - {name: orders, agg: count}
        metrics:
          - {name: orders, type: simple, measure: orders.orders, version: 1, owner: tests}
        """,
}


@pytest.mark.parametrize("column", ["TIMESTAMPTZ", "TIMESTAMP"])
def test_statistics_of_a_project_time_zone_are_accepted(
    write_project: Callable[[dict[str, str]], Path], column: str
) -> None:
    """A project time zone puts the conversion in every bucket (``AT TIME ZONE``); PostgreSQL
    takes it in a statistic, for a zoned and a plain timestamp column, and the month's groups
    are then estimated at the 16 months there are (hourly orders from 2025-01-01 00:30 UTC,
    11,000 hours: to 2026-04-04 in Berlin)."""
    layer = ml.load(write_project(ZONED))
    found = layer.statistics("postgres")
    assert len(found) == 6  # day to year, then ANALYZE
    assert all("AT TIME ZONE 'Europe/Berlin'" in s for s in found[:-1])
    by_month = layer.query(["orders"], by=["metric_time.month"]).sql("postgres")
    rows = (
        f"CREATE TEMPORARY TABLE orders AS SELECT n AS id, CAST('2025-01-01 00:30:00+00' AS "
        f"{column}) + n * INTERVAL '1 hour' AS ordered_at FROM generate_series(0, 10999) AS n"
    )
    with rolled_back("PostgreSQL", POSTGRES_URL) as connection:
        attempt(connection, "SET LOCAL TimeZone = 'UTC'")
        attempt(connection, rows)
        attempt(connection, "ANALYZE orders")
        before = _groups_estimated(connection, by_month)
        for statement in found:
            attempt(connection, statement)
        after = _groups_estimated(connection, by_month)
    assert before[1] == after[1] == 16
    assert before[0] > 10 * 16
    assert 16 / 2 <= after[0] <= 16 * 2


SHAPED_SOURCES = """
    sources:
      - name: visits
        table: visits
        time: seen_at
        entities: [{name: user, key: user_id}]
        dimensions:
          - {name: seen_at, type: time}
        measures:
          - {name: visits, agg: count}
          - {name: visitors, agg: count_distinct, expr: user_id}
"""
SHAPED_METRICS = {
    # Per day: only the day is grouped from the table (the month from the per-day step).
    "a_daily_visitors": "measure: visits.visitors, per: day, rollup: average",
    "b_visits": "measure: visits.visits",
    "c_visits_filtered": "measure: visits.visits, filter: 'seen_at >= DATE ''2025-02-01'''",
}


def _shaped(names: list[str]) -> dict[str, str]:
    """The project of the metrics ``names``, in a folder of its own named after them."""
    folder = "_".join(names)
    lines = [
        f"  - {{name: {name}, type: simple, {SHAPED_METRICS[name]}, version: 1, owner: tests}}"
        for name in names
    ]
    return {
        f"{folder}/metrics_layer.yml": "project: {name: shaped}\n",
        f"{folder}/sources.yml": textwrap.dedent(SHAPED_SOURCES)
        + "metrics:\n"
        + "\n".join(lines)
        + "\n",
    }


def test_metrics_compiled_once_per_shape_lose_no_statement(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    """Simple metrics of one measure shape are compiled once: the statements of the three
    metrics together are those of each metric alone, put together (a per-day metric sorts
    first, and groups only the day from the table)."""

    def statements_of(names: list[str]) -> set[str]:
        root = write_project(_shaped(names))
        return set(ml.load(root / "_".join(names)).statistics("postgres"))

    together = statements_of(list(SHAPED_METRICS))
    alone = [statements_of([name]) for name in SHAPED_METRICS]
    assert together == set().union(*alone)
    assert len(alone[0]) == 2  # the day, and ANALYZE
    assert any("DATE_TRUNC('MONTH'" in s for s in together)
