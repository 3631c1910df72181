"""Generated SQL against hand-written SQL on DuckDB, over a 10M-row events table.

The database is built once by DuckDB itself (``range()`` and ``hash()``, so it is the same on
every machine) in ``benchmarks/.work/`` and reused while its recorded shape matches. Both SQL
texts run through the same read-only connection of the layer; their answers must be equal.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.timing import Part, format_ms, summarize

__all__ = ["COMPARISONS", "run", "versus_hand"]

SCHEMA_VERSION = 2
USERS = 500_000
PROJECT = Path(__file__).resolve().parent / "project_10m"

BUILD_SQL = """
CREATE TABLE users AS
SELECT
  i AS user_id,
  (['free', 'starter', 'pro', 'enterprise'])[1 + CAST(hash(i, 'plan') % 4 AS INTEGER)] AS plan,
  (['de', 'fr', 'us', 'gb', 'jp', 'br', 'in', 'es'])[1 + CAST(hash(i, 'country') % 8 AS INTEGER)]
    AS country,
  TIMESTAMP '2023-01-01' + to_seconds(CAST(hash(i, 'signup') % 31536000 AS BIGINT))
    AS signed_up_at
FROM range({users}) AS t(i);

CREATE TABLE events AS
SELECT
  i AS event_id,
  CAST(hash(i, 'user') % {users} AS BIGINT) AS user_id,
  TIMESTAMP '2024-01-01' + to_seconds(CAST(hash(i, 'time') % 63158400 AS BIGINT))
    AS occurred_at,
  (['session_start', 'page_view', 'page_view', 'page_view', 'project_created', 'report_shared',
    'email_open', 'login_failed'])[1 + CAST(hash(i, 'name') % 8 AS INTEGER)] AS event_name,
  (['web', 'web', 'ios', 'android'])[1 + CAST(hash(i, 'platform') % 4 AS INTEGER)] AS platform,
  CAST(CAST(hash(i, 'revenue') % 10000 AS BIGINT) / 100.0 AS DECIMAL(12, 2)) AS revenue
FROM range({rows}) AS t(i);

CREATE TABLE bench_meta AS
SELECT {version} AS schema_version, {rows} AS events, {users} AS users;
"""


@dataclass(frozen=True)
class Comparison:
    """One question, asked through the layer and by hand."""

    key: str
    label: str
    metric: str
    by: str
    hand_sql: str


COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "i",
        "distinct active users by month, filtered on a joined dimension (`user.plan`)",
        "pro_active_users",
        "metric_time.month",
        """
        SELECT CAST(DATE_TRUNC('month', e.occurred_at) AS DATE) AS month,
               COUNT(DISTINCT e.user_id) AS pro_active_users
        FROM events AS e
        JOIN users AS u ON u.user_id = e.user_id
        WHERE u.plan = 'pro'
        GROUP BY 1
        ORDER BY 1
        """,
    ),
    Comparison(
        "ii",
        "sum by a joined dimension (`user.country`)",
        "revenue",
        "user.country",
        """
        SELECT u.country, SUM(e.revenue) AS revenue
        FROM events AS e
        LEFT JOIN users AS u ON u.user_id = e.user_id
        GROUP BY 1
        ORDER BY 1
        """,
    ),
    Comparison(
        "iii",
        "daily active users averaged over each month's days (`per: day`)",
        "daily_active_users",
        "metric_time.month",
        """
        WITH daily AS (
          SELECT CAST(occurred_at AS DATE) AS day, COUNT(DISTINCT user_id) AS users
          FROM events
          WHERE event_name NOT IN ('email_open', 'login_failed')
          GROUP BY 1
        )
        SELECT CAST(DATE_TRUNC('month', day) AS DATE) AS month, AVG(users) AS dau
        FROM daily
        GROUP BY 1
        ORDER BY 1
        """,
    ),
)


def run(workdir: Path, *, rows: int = 10_000_000, runs: int = 5) -> Part:
    """Build (or reuse) the database, then time generated and hand-written SQL."""
    import metrics_layer as ml

    started = time.perf_counter()
    database = workdir / f"events_{rows}.duckdb"
    build_seconds = _ensure_database(database, rows)
    from metrics_layer.safety.statement import verify

    layer = ml.load(PROJECT, connection=f"duckdb:///{database}")
    fetch = layer.connection.fetch
    table: list[str] = []
    for item in COMPARISONS:
        generated = layer.query(item.metric, by=item.by).statement()
        hand = verify(item.hand_sql, "duckdb")
        generated_rows = fetch(generated).rows
        hand_rows = fetch(hand).rows
        mismatch = _difference(generated_rows, hand_rows)
        if mismatch:
            raise AssertionError(
                f"({item.key}) {item.metric}: generated SQL and hand-written "
                f"SQL disagree: {mismatch}"
            )
        generated_times: list[float] = []
        hand_times: list[float] = []
        for _ in range(runs):
            generated_times.append(fetch(generated).elapsed_ms / 1000)
            hand_times.append(fetch(hand).elapsed_ms / 1000)
        ours, theirs = summarize(generated_times), summarize(hand_times)
        ratio = ours.median_ms / theirs.median_ms
        table.append(
            f"| ({item.key}) {item.label} | {len(generated_rows)} | "
            f"{format_ms(ours.median_ms)} | {format_ms(theirs.median_ms)} | {ratio:.2f}x |"
        )
    layer.connection.close()
    elapsed = time.perf_counter() - started
    built = (
        f"built in {build_seconds:.1f} s"
        if build_seconds is not None
        else "reused from an earlier run"
    )
    part = Part(f"Generated SQL vs hand-written SQL on DuckDB, {rows:,} rows")
    part.markdown += [
        f"`{database.name}` in `benchmarks/.work/` ({built}): `events` ({rows:,} rows over "
        f"2024-2025) and `users` ({USERS:,} rows), generated by DuckDB from `range()` and "
        "`hash()`. Definitions: `benchmarks/project_10m/`. Each query first runs once and "
        "the answers of both SQL texts are asserted equal; then each runs "
        f"{runs} times, alternating, through the layer's read-only connection. Median "
        "execution time (fetching the rows included):",
        "",
        "| question | rows | generated SQL | hand-written SQL | generated / hand |",
        "|---|---:|---:|---:|---:|",
        *table,
        "",
        f"This part took {elapsed:.1f} s.",
        "",
    ]
    part.notes.append(f"database {built}; part took {elapsed:.1f} s")
    part.seconds = elapsed
    return part


def _ensure_database(path: Path, rows: int) -> float | None:
    """Seconds spent building, or None when a matching database already exists."""
    import duckdb

    if path.exists():
        try:
            with duckdb.connect(str(path), read_only=True) as connection:
                found = connection.execute(
                    "SELECT schema_version, events, users FROM bench_meta"
                ).fetchone()
            if found == (SCHEMA_VERSION, rows, USERS):
                return None
        except duckdb.Error:
            pass
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".building")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    with duckdb.connect(str(partial)) as connection:
        connection.execute(BUILD_SQL.format(users=USERS, rows=rows, version=SCHEMA_VERSION))
        _add_calendar(connection)
        connection.execute("CHECKPOINT")
    partial.rename(path)
    return time.perf_counter() - started


def _add_calendar(connection: Any) -> None:
    """The demo's retail 4-5-4 calendar (``metrics_layer/demo/calendar.py``) as the table
    ``retail_calendar``, for the calendar-table questions of ``benchmarks/time_10m.py``."""
    from metrics_layer.demo.calendar import retail_calendar

    table = retail_calendar()
    columns = ", ".join(f"{c.name} {c.sql_type}" for c in table.columns)
    connection.execute(f"CREATE TABLE retail_calendar ({columns}, PRIMARY KEY (day))")
    marks = ", ".join("?" * len(table.columns))
    connection.executemany(f"INSERT INTO retail_calendar VALUES ({marks})", list(table.rows))


def versus_hand(
    fetch: Any, generated: Any, hand: Any, runs: int, label: str, what: str
) -> tuple[str, int]:
    """A markdown row comparing two verified statements of one question: run both once and
    check their rows are equal (an AssertionError naming ``what`` otherwise), then ``runs``
    times each, alternating. Returns the row and the number of result rows."""
    generated_rows = fetch(generated, timeout=600).rows
    mismatch = _difference(generated_rows, fetch(hand, timeout=600).rows)
    if mismatch:
        raise AssertionError(f"{what}: generated and hand-written SQL disagree: {mismatch}")
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(runs):
        ours.append(fetch(generated, timeout=600).elapsed_ms / 1000)
        theirs.append(fetch(hand, timeout=600).elapsed_ms / 1000)
    a, b = summarize(ours), summarize(theirs)
    row = (
        f"| {label} | {len(generated_rows)} | {format_ms(a.median_ms)} "
        f"({format_ms(a.min_ms)}-{format_ms(a.max_ms)}) | {format_ms(b.median_ms)} "
        f"({format_ms(b.min_ms)}-{format_ms(b.max_ms)}) | {a.median_ms / b.median_ms:.2f}x |"
    )
    return row, len(generated_rows)


def _difference(left: Sequence[Sequence[Any]], right: Sequence[Sequence[Any]]) -> str | None:
    if len(left) != len(right):
        return f"{len(left)} rows against {len(right)}"
    for index, (a, b) in enumerate(zip(left, right, strict=True)):
        if len(a) != len(b) or not all(_same(x, y) for x, y in zip(a, b, strict=True)):
            return f"row {index}: {tuple(a)!r} against {tuple(b)!r}"
    return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dt.datetime) or isinstance(b, dt.datetime):
        return bool(a == b)
    if isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)):
        if isinstance(a, (int, Decimal)) and isinstance(b, (int, Decimal)):
            return bool(a == b)
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)
