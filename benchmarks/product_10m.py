"""Conversion, retention and churn KPIs on DuckDB, 10M events: generated SQL against SQL
written by hand for the same numbers.

``python -m benchmarks.product_10m`` (``make bench-product``) asks the shipped
``definitions/`` eight questions (activation, day-k retention, a 12-month weekly cohort table,
user and subscription churn, net revenue retention, feature adoption) over a DuckDB file in
``benchmarks/.work/``. The file is built once by DuckDB itself from ``range()`` and ``hash()``
(the generator of ``benchmarks/engine_10m.py``: 500k users, 10M events, the same plan,
country, event-name and platform draws), so it is the same on every machine:

- ``users``: 500,000 signups spread evenly over 2024-2025;
- ``events``: 10M events, each of a random user after their signup and before 2026, denser
  soon after the signup (the offset is the time left times u^3, u uniform), so retention
  falls with age;
- ``subscriptions``: 6% of the users start paying within 30 days of signup, for 30 to 429
  days; a third of those that end renew on another plan and seat count (an upgrade or a
  downgrade); subscriptions still running at the end of 2025 are open;
- ``subscription_snapshots``: one row per subscription per day it is active at the end of
  the day (about 6.4M rows), as the demo's;
- ``retail_calendar``: the demo's 4-5-4 calendar (the shipped project names it).

Each question runs once through the layer and once by hand and the answers are asserted
equal; then the generated SQL (``layer.query(...).sql()``) and the hand-written SQL run
``--runs`` times each, alternating, through the layer's read-only connection, in this one
fresh interpreter. The report gives the median with the fastest and slowest run of each.
The hand-written SQL is what a careful analyst writes for the question: it joins the events
to the users (or the snapshots to the month's last day) first, so that only the rows that
can decide the answer are grouped.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.engine_10m import USERS, _add_calendar, versus_hand

__all__ = ["QUESTIONS", "main"]

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"
REPORT = ROOT / "docs" / "benchmarks.md"
SECTION = "results-product"
WORK = Path(__file__).resolve().parent / ".work"
SCHEMA_VERSION = 1
ACTIVE = "event_type NOT IN ('email_open', 'login_failed')"

BUILD_SQL = """
CREATE TABLE users AS
SELECT
  CAST(i AS INTEGER) AS user_id,
  TIMESTAMP '2024-01-01' + to_seconds(CAST(hash(i, 'signup') % 63158400 AS BIGINT))
    AS signed_up_at,
  (['free', 'starter', 'pro', 'enterprise'])[1 + CAST(hash(i, 'plan') % 4 AS INTEGER)] AS plan,
  (['US', 'DE', 'GB', 'FR', 'IN', 'BR', 'JP'])[1 + CAST(hash(i, 'country') % 7 AS INTEGER)]
    AS country,
  (['organic', 'paid_search', 'referral', 'social'])[1 + CAST(hash(i, 'channel') % 4 AS INTEGER)]
    AS acquisition_channel
FROM range({users}) AS t(i);

CREATE TABLE events AS
SELECT
  CAST(p.i AS BIGINT) AS event_id,
  u.user_id,
  (['session_start', 'page_view', 'page_view', 'page_view', 'project_created',
    'report_shared', 'email_open', 'login_failed'])[1 + CAST(hash(p.i, 'name') % 8 AS INTEGER)]
    AS event_type,
  (['web', 'web', 'ios', 'android'])[1 + CAST(hash(p.i, 'platform') % 4 AS INTEGER)] AS platform,
  u.signed_up_at + to_seconds(CAST(floor(
    epoch(TIMESTAMP '2025-12-31 23:59:59' - u.signed_up_at)
    * power(CAST(hash(p.i, 'time') % 1000000 AS DOUBLE) / 1000000, 3)) AS BIGINT)) AS occurred_at
FROM range({rows}) AS p(i)
JOIN users AS u ON u.user_id = CAST(hash(p.i, 'user') % {users} AS INTEGER)
ORDER BY p.i;

CREATE TABLE subscriptions AS
WITH paying AS (
  SELECT user_id,
         signed_up_at + to_seconds(CAST(hash(user_id, 'wait') % 2592000 AS BIGINT)) AS started_at
  FROM users WHERE hash(user_id, 'pays') % 100 < 6
), first_ AS (
  SELECT user_id, started_at,
         started_at + to_seconds(CAST(86400 * (30 + hash(user_id, 'length') % 400) AS BIGINT))
           AS ends_at,
         1 + CAST(hash(user_id, 'plan1') % 3 AS INTEGER) AS tier,
         1 + CAST(hash(user_id, 'seats1') % 5 AS INTEGER) AS seats
  FROM paying WHERE started_at < TIMESTAMP '2026-01-01'
), second_ AS (
  SELECT user_id, ends_at AS started_at,
         ends_at + to_seconds(CAST(86400 * (30 + hash(user_id, 'length2') % 400) AS BIGINT))
           AS ends_at,
         1 + CAST(hash(user_id, 'plan2') % 3 AS INTEGER) AS tier,
         1 + CAST(hash(user_id, 'seats2') % 5 AS INTEGER) AS seats
  FROM first_ WHERE ends_at < TIMESTAMP '2026-01-01' AND hash(user_id, 'renews') % 3 = 0
), both_ AS (
  SELECT 2 * user_id AS subscription_id, * FROM first_
  UNION ALL
  SELECT 2 * user_id + 1, * FROM second_
)
SELECT CAST(subscription_id AS INTEGER) AS subscription_id, user_id,
       (['starter', 'pro', 'enterprise'])[tier] AS plan,
       CAST(([29, 99, 499])[tier] * seats AS DECIMAL(10, 2)) AS mrr,
       started_at,
       CASE WHEN ends_at < TIMESTAMP '2026-01-01' THEN ends_at END AS ended_at
FROM both_
ORDER BY subscription_id;

CREATE TABLE subscription_snapshots AS
SELECT CAST(day AS DATE) AS snapshot_date, subscription_id, user_id, plan, mrr
FROM subscriptions,
  unnest(generate_series(CAST(CAST(started_at AS DATE) AS TIMESTAMP),
    CAST(COALESCE(CAST(ended_at AS DATE) - 1, DATE '2025-12-31') AS TIMESTAMP),
    INTERVAL 1 DAY)) AS t(day)
ORDER BY snapshot_date, subscription_id;

CREATE TABLE bench_meta AS
SELECT {version} AS schema_version, {rows} AS events, {users} AS users;
"""


@dataclass(frozen=True)
class Question:
    key: str
    label: str
    metric: str
    by: tuple[str, ...]
    start: str | None
    end: str | None
    hand_sql: str


def _day_k(days: int, grain: str) -> str:
    """Day-k retention by ``grain`` of the signup: users whose day k the events have
    reached, and of those the ones with a meaningful event on it."""
    return f"""
        WITH last AS (
          SELECT MAX(CAST(occurred_at AS DATE)) AS last_day FROM events WHERE {ACTIVE}),
        cohort AS (
          SELECT u.user_id, u.signed_up_at FROM users AS u, last
          WHERE CAST(u.signed_up_at AS DATE) + {days} <= last.last_day),
        retained AS (
          SELECT DISTINCT e.user_id FROM events AS e JOIN cohort AS c ON c.user_id = e.user_id
          WHERE e.{ACTIVE}
            AND CAST(e.occurred_at AS DATE) = CAST(c.signed_up_at AS DATE) + {days})
        SELECT CAST(DATE_TRUNC('{grain}', c.signed_up_at) AS DATE) AS {grain},
               CAST(COUNT(r.user_id) AS DOUBLE) / COUNT(*) AS retention_d{days}
        FROM cohort AS c LEFT JOIN retained AS r ON r.user_id = c.user_id
        GROUP BY 1 ORDER BY 1
        """


def _churn(value: str, key: str) -> str:
    """Churn between months on the snapshots: the value of each ``key`` on the month's last
    day with snapshots, against the month before (for the month after the last, none)."""
    return f"""
        WITH edges AS (
          SELECT CAST(DATE_TRUNC('month', snapshot_date) AS DATE) AS month,
                 MAX(snapshot_date) AS edge_day
          FROM subscription_snapshots GROUP BY 1),
        at_end AS (
          SELECT {key} AS id, CAST(DATE_TRUNC('month', snapshot_date) AS DATE) AS month,
                 {value} AS value
          FROM subscription_snapshots WHERE snapshot_date IN (SELECT edge_day FROM edges)
          GROUP BY 1, 2),
        last AS (SELECT MAX(month) AS last_month FROM at_end)
        SELECT CAST(prev.month + INTERVAL 1 MONTH AS DATE) AS month, {{ratio}}
        FROM at_end AS prev
        CROSS JOIN last
        LEFT JOIN at_end AS cur
          ON cur.id = prev.id AND cur.month = CAST(prev.month + INTERVAL 1 MONTH AS DATE)
        WHERE prev.month < last.last_month
        GROUP BY 1 ORDER BY 1
        """


QUESTIONS: tuple[Question, ...] = (
    Question(
        "i",
        "activation_rate_7d by month (first project within 7 days of signup)",
        "activation_rate_7d",
        ("metric_time.month",),
        None,
        None,
        """
        WITH converted AS (
          SELECT DISTINCT e.user_id FROM events AS e JOIN users AS u ON u.user_id = e.user_id
          WHERE e.event_type = 'project_created' AND e.occurred_at >= u.signed_up_at
            AND CAST(e.occurred_at AS DATE) <= CAST(u.signed_up_at AS DATE) + 7)
        SELECT CAST(DATE_TRUNC('month', u.signed_up_at) AS DATE) AS month,
               CAST(COUNT(c.user_id) AS DOUBLE) / COUNT(*) AS activation_rate_7d
        FROM users AS u LEFT JOIN converted AS c ON c.user_id = u.user_id
        GROUP BY 1 ORDER BY 1
        """,
    ),
    Question(
        "ii",
        "retention_d7 by week of signup",
        "retention_d7",
        ("metric_time.week",),
        None,
        None,
        _day_k(7, "week"),
    ),
    Question(
        "iii",
        "retention_d30 by month of signup",
        "retention_d30",
        ("metric_time.month",),
        None,
        None,
        _day_k(30, "month"),
    ),
    Question(
        "iv",
        "12-month weekly cohort table (weekly_cohort_retention by week and period 0-12, 2025)",
        "weekly_cohort_retention",
        ("metric_time.week", "weekly_cohort_retention.period"),
        "2025-01-01",
        "2025-12-31",
        f"""
        WITH last AS (
          SELECT MAX(CAST(occurred_at AS DATE)) AS last_day FROM events WHERE {ACTIVE}),
        cohort AS (
          SELECT user_id, CAST(DATE_TRUNC('week', signed_up_at) AS DATE) AS week FROM users
          WHERE CAST(signed_up_at AS DATE) BETWEEN DATE '2025-01-01' AND DATE '2025-12-31'),
        sizes AS (SELECT week, COUNT(*) AS users FROM cohort GROUP BY 1),
        active AS (
          SELECT DISTINCT c.user_id, c.week,
                 CAST((CAST(DATE_TRUNC('week', e.occurred_at) AS DATE) - c.week) // 7 AS INTEGER)
                   AS period
          FROM events AS e JOIN cohort AS c ON c.user_id = e.user_id
          WHERE e.{ACTIVE}
            AND CAST(e.occurred_at AS DATE) >= c.week
            AND CAST(e.occurred_at AS DATE) < c.week + 91),
        kept AS (SELECT week, period, COUNT(*) AS users FROM active GROUP BY 1, 2),
        periods AS (SELECT DISTINCT period FROM kept)
        SELECT s.week, p.period,
               CAST(COALESCE(k.users, 0) AS DOUBLE) / s.users AS weekly_cohort_retention
        FROM sizes AS s CROSS JOIN periods AS p CROSS JOIN last
        LEFT JOIN kept AS k ON k.week = s.week AND k.period = p.period
        WHERE s.week + 7 * p.period + 6 <= last.last_day
        ORDER BY 1, 2
        """,
    ),
    Question(
        "v",
        "user_churn_rate by month (active the month before, not in this one)",
        "user_churn_rate",
        ("metric_time.month",),
        None,
        None,
        f"""
        WITH months AS (
          SELECT DISTINCT user_id, CAST(DATE_TRUNC('month', occurred_at) AS DATE) AS month
          FROM events WHERE {ACTIVE}),
        last AS (SELECT MAX(month) AS last_month FROM months)
        SELECT CAST(prev.month + INTERVAL 1 MONTH AS DATE) AS month,
               CAST(COUNT(*) FILTER (WHERE cur.user_id IS NULL) AS DOUBLE) / COUNT(*)
                 AS user_churn_rate
        FROM months AS prev
        CROSS JOIN last
        LEFT JOIN months AS cur
          ON cur.user_id = prev.user_id
          AND cur.month = CAST(prev.month + INTERVAL 1 MONTH AS DATE)
        WHERE prev.month < last.last_month
        GROUP BY 1 ORDER BY 1
        """,
    ),
    Question(
        "vi",
        "subscription_churn_rate by month (on the month's last snapshot day)",
        "subscription_churn_rate",
        ("metric_time.month",),
        None,
        None,
        _churn("COUNT(*)", "subscription_id").format(
            ratio="CAST(COUNT(*) FILTER (WHERE cur.id IS NULL) AS DOUBLE) / COUNT(*) "
            "AS subscription_churn_rate"
        ),
    ),
    Question(
        "vii",
        "net_revenue_retention by month (users' MRR on the last snapshot day)",
        "net_revenue_retention",
        ("metric_time.month",),
        None,
        None,
        _churn("SUM(mrr)", "user_id").format(
            ratio="CAST(SUM(COALESCE(cur.value, 0)) AS DOUBLE) / SUM(prev.value) "
            "AS net_revenue_retention"
        ),
    ),
    Question(
        "viii",
        "feature_adoption_rate by month (report sharers / active users)",
        "feature_adoption_rate",
        ("metric_time.month",),
        None,
        None,
        f"""
        WITH users_months AS (
          SELECT CAST(DATE_TRUNC('month', occurred_at) AS DATE) AS month, user_id,
                 BOOL_OR(event_type = 'report_shared') AS shared
          FROM events WHERE {ACTIVE}
          GROUP BY 1, 2)
        SELECT month, CAST(COUNT(*) FILTER (WHERE shared) AS DOUBLE) / COUNT(*)
                 AS feature_adoption_rate
        FROM users_months GROUP BY 1 ORDER BY 1
        """,
    ),
)


def ensure_database(rows: int) -> tuple[Path, float | None]:
    """The database file, and the seconds spent building it (None when reused)."""
    import duckdb

    path = WORK / f"product_{rows}.duckdb"
    if path.exists():
        try:
            with duckdb.connect(str(path), read_only=True) as connection:
                found = connection.execute(
                    "SELECT schema_version, events, users FROM bench_meta"
                ).fetchone()
            if found == (SCHEMA_VERSION, rows, USERS):
                return path, None
        except duckdb.Error:
            pass
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".building")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    with duckdb.connect(str(partial)) as connection:
        connection.execute("SET enable_progress_bar = false")
        connection.execute(BUILD_SQL.format(users=USERS, rows=rows, version=SCHEMA_VERSION))
        _add_calendar(connection)
        connection.execute("CHECKPOINT")
    partial.rename(path)
    return path, time.perf_counter() - started


def measure(rows: int, runs: int, keys: Sequence[str] = ()) -> tuple[list[str], str]:
    """Markdown rows of the comparison, and a sentence on the database."""
    import duckdb

    import metrics_layer as ml
    from metrics_layer.safety.statement import verify

    database, built = ensure_database(rows)
    with duckdb.connect(str(database), read_only=True) as connection:
        counts = {
            table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("users", "events", "subscriptions", "subscription_snapshots")
        }
    layer = ml.load(DEFINITIONS, connection=f"duckdb:///{database}")
    fetch = layer.connection.fetch
    table: list[str] = []
    for item in QUESTIONS:
        if keys and item.key not in keys:
            continue
        query = layer.query([item.metric], by=list(item.by), start=item.start, end=item.end)
        generated = verify(query.sql(), "duckdb")
        hand = verify(item.hand_sql, "duckdb")
        row, _ = versus_hand(
            fetch,
            generated,
            hand,
            runs,
            f"({item.key}) {item.label}",
            f"({item.key}) {item.metric}",
        )
        table.append(row)
        _say(table[-1])
    layer.connection.close()
    how = f"built in {built:.0f} s" if built is not None else "reused from an earlier run"
    data = (
        f"`{database.name}` in `benchmarks/.work/` ({how}): {counts['users']:,} users, "
        f"{counts['events']:,} events, {counts['subscriptions']:,} subscriptions, "
        f"{counts['subscription_snapshots']:,} snapshot rows"
    )
    return table, data


def render(
    machine: Sequence[tuple[str, str]],
    table: list[str],
    data: str,
    rows: int,
    runs: int,
    seconds: float,
) -> str:
    return "\n".join(
        [
            "Machine:",
            "",
            "| | |",
            "|---|---|",
            *(f"| {name} | {value} |" for name, value in machine),
            "",
            f"Conversion, retention and churn KPIs of `definitions/` on DuckDB, {rows:,} events "
            f"(`python -m benchmarks.product_10m`, `make bench-product`; {seconds:.0f} s in "
            f"all). {data}; `benchmarks/product_10m.py` says how they are made. Each "
            "question's two SQL texts first give equal answers, then run "
            f"{runs} times each, alternating, in one fresh interpreter. Median execution time "
            "(fastest-slowest run):",
            "",
            "| question | rows | generated SQL | hand-written SQL | generated / hand |",
            "|---|---:|---:|---:|---:|",
            *table,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.product_10m", description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000, help="events (default 10M)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each SQL (default 5)")
    parser.add_argument(
        "--only", default="", help="comma-separated question keys (i, ii, ...); implies --no-write"
    )
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    keys = [key.strip() for key in args.only.split(",") if key.strip()]
    from benchmarks.machine import describe

    machine = describe(ROOT)  # the date and load average at the start
    started = time.perf_counter()
    table, data = measure(args.rows, args.runs, keys)
    body = render(machine, table, data, args.rows, args.runs, time.perf_counter() - started)
    print(body)
    if not args.no_write and not keys:
        from benchmarks.report import write_section

        write_section(REPORT, SECTION, body)
    return 0


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
