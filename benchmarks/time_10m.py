"""Rolling and cumulative KPIs on DuckDB, 10M events: generated SQL against hand-written SQL,
and the compile latency of a rolling metric against a simple one.

``python -m benchmarks.time_10m`` (``make bench-time``) reuses the 10M-row database of
``benchmarks/engine_10m.py`` in ``benchmarks/.work/`` (built by DuckDB from ``range()`` and
``hash()``: 10M events over 2024-2025, 500k users) and the definitions in
``benchmarks/project_10m/``. Each query runs once and both answers are asserted equal; then the
generated and the hand-written SQL run ``--runs`` times, alternating, in one process, through
the layer's read-only connection. The hand-written SQL is what a careful analyst writes for the
question: one pass to distinct (day, user) pairs or daily sums, a calendar of the days asked
for, and a range join from each day to the days of its window.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.engine_10m import PROJECT, _ensure_database, versus_hand
from benchmarks.timing import Summary, format_ms, summarize

__all__ = ["QUESTIONS", "main"]

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
SECTION = "results-time"
WORK = Path(__file__).resolve().parent / ".work"
ACTIVE = "event_name NOT IN ('email_open', 'login_failed')"


@dataclass(frozen=True)
class Question:
    key: str
    label: str
    metrics: tuple[str, ...]
    by: tuple[str, ...]
    start: str | None
    end: str | None
    hand_sql: str


# Every day of 2024-2025 has events in this data, so the days with events are the calendar (the
# statement guard admits no table function such as range() in a query).
_PAIRS = f"""
  SELECT DISTINCT CAST(occurred_at AS DATE) AS day, user_id FROM events WHERE {ACTIVE}"""

QUESTIONS: tuple[Question, ...] = (
    Question(
        "i",
        "MAU (28 days) by day over a year",
        ("monthly_active_users",),
        ("metric_time.day",),
        "2025-01-01",
        "2025-12-31",
        f"""
        WITH pairs AS ({_PAIRS}
          AND CAST(occurred_at AS DATE) BETWEEN DATE '2024-12-05' AND DATE '2025-12-31'),
        days AS (SELECT DISTINCT day FROM pairs WHERE day >= DATE '2025-01-01')
        SELECT days.day, COUNT(DISTINCT pairs.user_id) AS mau
        FROM days JOIN pairs ON pairs.day > days.day - 28 AND pairs.day <= days.day
        GROUP BY 1 ORDER BY 1
        """,
    ),
    Question(
        "i, expert",
        "the same, hand-written as +1 when a user enters the window and -1 when they leave "
        "(`LEAD`), as the library does",
        ("monthly_active_users",),
        ("metric_time.day",),
        "2025-01-01",
        "2025-12-31",
        f"""
        WITH pairs AS ({_PAIRS}
          AND CAST(occurred_at AS DATE) BETWEEN DATE '2024-12-05' AND DATE '2025-12-31'),
        spans AS (
          SELECT day, LEAST(day + 28, COALESCE(LEAD(day) OVER (PARTITION BY user_id ORDER BY day),
                 day + 28)) AS gone
          FROM pairs),
        changes AS (
          SELECT day, SUM(change) AS change FROM (
            SELECT day, 1 AS change FROM spans UNION ALL SELECT gone, -1 FROM spans)
          GROUP BY day),
        days AS (SELECT DISTINCT day FROM pairs WHERE day >= DATE '2025-01-01')
        SELECT days.day, SUM(changes.change) AS mau
        FROM days JOIN changes ON changes.day <= days.day
        GROUP BY 1 ORDER BY 1
        """,
    ),
    Question(
        "ii",
        "WAU by week (the 7 days ending each Sunday), two years",
        ("weekly_active_users",),
        ("metric_time.week",),
        None,
        None,
        f"""
        WITH pairs AS ({_PAIRS}),
        weeks AS (
          SELECT CAST(DATE_TRUNC('week', day) AS DATE) AS week, MAX(day) AS last_day
          FROM (SELECT DISTINCT day FROM pairs) GROUP BY 1)
        SELECT weeks.week, COUNT(DISTINCT pairs.user_id) AS wau
        FROM weeks JOIN pairs ON pairs.day > weeks.last_day - 7 AND pairs.day <= weeks.last_day
        GROUP BY 1 ORDER BY 1
        """,
    ),
    Question(
        "iii",
        "MAU by month, two years",
        ("monthly_active_users",),
        ("metric_time.month",),
        None,
        None,
        f"""
        WITH pairs AS ({_PAIRS}),
        months AS (
          SELECT CAST(DATE_TRUNC('month', day) AS DATE) AS month, MAX(day) AS last_day
          FROM (SELECT DISTINCT day FROM pairs) GROUP BY 1)
        SELECT months.month, COUNT(DISTINCT pairs.user_id) AS mau
        FROM months JOIN pairs ON pairs.day > months.last_day - 28
          AND pairs.day <= months.last_day
        GROUP BY 1 ORDER BY 1
        """,
    ),
    Question(
        "iv",
        "stickiness (average DAU / MAU of the last day) by month, 2025",
        ("stickiness",),
        ("metric_time.month",),
        "2025-01-01",
        "2025-12-31",
        f"""
        WITH pairs AS ({_PAIRS}
          AND CAST(occurred_at AS DATE) BETWEEN DATE '2024-12-05' AND DATE '2025-12-31'),
        dau AS (
          SELECT CAST(DATE_TRUNC('month', day) AS DATE) AS month, COUNT(*) AS users, day
          FROM pairs WHERE day >= DATE '2025-01-01' GROUP BY day),
        average AS (SELECT month, AVG(users) AS dau FROM dau GROUP BY 1),
        months AS (
          SELECT CAST(DATE_TRUNC('month', day) AS DATE) AS month, MAX(day) AS last_day
          FROM dau GROUP BY 1),
        mau AS (
          SELECT months.month, COUNT(DISTINCT pairs.user_id) AS mau
          FROM months JOIN pairs ON pairs.day > months.last_day - 28
            AND pairs.day <= months.last_day
          GROUP BY 1)
        SELECT mau.month, CAST(average.dau AS DOUBLE) / mau.mau AS stickiness
        FROM mau JOIN average USING (month) ORDER BY 1
        """,
    ),
    Question(
        "v",
        "revenue month to date, by day over a year",
        ("revenue_month_to_date",),
        ("metric_time.day",),
        "2025-01-01",
        "2025-12-31",
        """
        WITH daily AS (
          SELECT CAST(occurred_at AS DATE) AS day, SUM(revenue) AS revenue FROM events
          WHERE CAST(occurred_at AS DATE) BETWEEN DATE '2025-01-01' AND DATE '2025-12-31'
          GROUP BY 1),
        days AS (SELECT day FROM daily)
        SELECT days.day, SUM(daily.revenue) AS revenue_mtd
        FROM days LEFT JOIN daily ON daily.day <= days.day
          AND daily.day >= CAST(DATE_TRUNC('month', days.day) AS DATE)
        GROUP BY 1 ORDER BY 1
        """,
    ),
    Question(
        "vi",
        "new users (first meaningful event) by month, two years",
        ("new_users",),
        ("metric_time.month",),
        None,
        None,
        f"""
        WITH firsts AS (
          SELECT user_id, MIN(occurred_at) AS first_at FROM events WHERE {ACTIVE}
          GROUP BY user_id)
        SELECT CAST(DATE_TRUNC('month', first_at) AS DATE) AS month, COUNT(*) AS new_users
        FROM firsts GROUP BY 1 ORDER BY 1
        """,
    ),
    Question(
        "vii",
        "revenue by retail month (a join to the calendar table), two years",
        ("revenue",),
        ("metric_time.retail_month",),
        None,
        None,
        """
        SELECT calendar.retail_month, SUM(events.revenue) AS revenue
        FROM events JOIN retail_calendar AS calendar
          ON calendar.day = CAST(events.occurred_at AS DATE)
        GROUP BY 1 ORDER BY 1
        """,
    ),
    Question(
        "viii",
        "revenue retail year to date, by retail month, 2025",
        ("revenue_retail_year_to_date",),
        ("metric_time.retail_month",),
        "2025-02-02",
        "2025-12-31",
        """
        WITH daily AS (
          SELECT CAST(occurred_at AS DATE) AS day, SUM(revenue) AS revenue FROM events
          WHERE CAST(occurred_at AS DATE) BETWEEN DATE '2025-02-02' AND DATE '2025-12-31'
          GROUP BY 1),
        ends AS (
          SELECT calendar.retail_month, MAX(calendar.day) AS last_day,
                 MIN(calendar.retail_year) AS retail_year
          FROM retail_calendar AS calendar
          WHERE calendar.day BETWEEN DATE '2025-02-02' AND DATE '2025-12-31'
          GROUP BY 1)
        SELECT ends.retail_month, SUM(daily.revenue) AS revenue_rytd
        FROM ends JOIN daily ON daily.day <= ends.last_day AND daily.day >= ends.retail_year
        GROUP BY 1 ORDER BY 1
        """,
    ),
)


def measure(rows: int, runs: int) -> tuple[list[str], list[str]]:
    """Markdown rows of the SQL comparison and of the compile latency."""
    import metrics_layer as ml
    from metrics_layer.safety.statement import verify

    database = WORK / f"events_{rows}.duckdb"
    _ensure_database(database, rows)
    layer = ml.load(PROJECT, connection=f"duckdb:///{database}")
    fetch = layer.connection.fetch
    table: list[str] = []
    for item in QUESTIONS:
        query = layer.query(list(item.metrics), by=list(item.by), start=item.start, end=item.end)
        generated = query.statement()
        hand = verify(item.hand_sql, "duckdb")
        row, _ = versus_hand(
            fetch, generated, hand, runs, f"({item.key}) {item.label}", f"({item.key})"
        )
        table.append(row)
        _say(table[-1])
    layer.connection.close()
    return table, _compile_latency()


def _compile_latency() -> list[str]:
    """Compile latency (plan + SQL for DuckDB) of rolling and simple metrics by month, each call
    a query never compiled before (a new end date): on a layer with the compiled-SQL cache (so
    a query of a known shape is written from its shape's rendering, ``sql/shapes.py``), and
    with no cache (``cache_bytes=0``: every call renders in full)."""
    import metrics_layer as ml

    rows: list[str] = []
    found: dict[tuple[str, int], Summary] = {}
    for metric in ("revenue", "daily_active_users", "weekly_active_users", "stickiness"):
        for cache_bytes in (32 * 1024 * 1024, 0):
            layer = ml.load(PROJECT, connection="duckdb:///:memory:", cache_bytes=cache_bytes)
            samples: list[float] = []
            for n in range(400):
                end = dt.date(2024, 1, 1) + dt.timedelta(days=n)
                started = time.perf_counter()
                layer.query([metric], by=["metric_time.month"], end=end).sql()
                samples.append(time.perf_counter() - started)
            layer.connection.close()
            found[metric, cache_bytes] = summarize(samples[50:])
    for metric in ("revenue", "daily_active_users", "weekly_active_users", "stickiness"):
        cells = []
        for cache_bytes in (32 * 1024 * 1024, 0):
            summary, simple = found[metric, cache_bytes], found["revenue", cache_bytes]
            cells.append(
                f"{format_ms(summary.median_ms)} | {format_ms(summary.p95_ms)} | "
                f"{summary.median_ms / simple.median_ms:.2f}x"
            )
        rows.append(f"| `{metric}` by month | {' | '.join(cells)} |")
    return rows


def render(table: list[str], latency: list[str], rows: int, runs: int, seconds: float) -> str:
    return "\n".join(
        [
            f"Rolling and cumulative KPIs on DuckDB, {rows:,} events "
            f"(`python -m benchmarks.time_10m`, `make bench-time`; {seconds:.0f} s). The "
            "database and definitions of the 10M-row run above; each question's two SQL texts "
            f"first give equal answers, then run {runs} times each, alternating. Median "
            "execution time (min-max):",
            "",
            "| question | rows | generated SQL | hand-written SQL | generated / hand |",
            "|---|---:|---:|---:|---:|",
            *table,
            "",
            "Compile latency (plan and DuckDB SQL, a query never compiled before each call: a "
            "new end date; 350 calls after 50 warm-up calls, one process), against a simple "
            "metric's. *New dates*: the default layer, where a query of a shape compiled before "
            "is written from that shape's rendering with its own dates in (`sql/shapes.py`); "
            "*no cache*: `cache_bytes=0`, every call plans and renders in full, as the first "
            "query of a shape does.",
            "",
            "| query | new dates: median | p95 | ÷ simple | no cache: median | p95 | ÷ simple |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *latency,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.time_10m", description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000, help="events (default 10M)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each SQL (default 3)")
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    table, latency = measure(args.rows, args.runs)
    body = render(table, latency, args.rows, args.runs, time.perf_counter() - started)
    print(body)
    if not args.no_write:
        from benchmarks.report import write_section

        write_section(REPORT, SECTION, body)
    return 0


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
