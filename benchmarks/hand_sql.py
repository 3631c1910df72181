"""Hand-written SQL for every shipped KPI, per engine: the reference the generated SQL is
timed and checked against in ``benchmarks/kpi_suite.py``.

Each query restates a KPI from its description (``definitions/metrics/*.yml``) and the rules
of docs/queries.md ("Per-period metrics", "Semi-additive measures", "Period over period"),
docs/time.md and docs/product-kpis.md, not from the library's SQL. The queries are written
once, and the few things engines spell differently (a timestamp's day, the first day of a
week or month, adding days or months to a date, a floating-point cast) come from one small
``Dialect`` per engine, so the statement read for PostgreSQL is the DuckDB one with those
fragments swapped (derived plainly, the same joins and groupings on every engine).

What ClickHouse and Spark needed (``DIALECTS`` is keyed by ``layer.connection.dialect``:
``clickhouse`` for chdb, ``spark`` for a local Spark session; both read the benchmark's tables
from ``metrics_layer_bench``):

- ClickHouse takes most of the common spellings as they are: ``CAST(x AS DATE)``, a date
  plus an integer of days, ``date + INTERVAL n MONTH`` (``addMonths``, clamped to the month's
  end: 2024-01-31 + 1 month is 2024-02-29), ``DATE_TRUNC('week' | 'month', ...)`` (Monday, the
  first), a date minus a date in days, ``LEAST``/``GREATEST``. A bare ``UNION`` is refused by
  ClickHouse unless ``union_default_mode`` is set (the layer's session sets it, but sqlglot's
  ClickHouse parser, and so the statement guard, refuses it): ``Dialect.union`` writes ``UNION
  DISTINCT`` there, the only new method. The range joins (``ON a.day > x AND a.day <= y``, no
  equality) run as they are: the ClickHouse of chdb (26.9) plans them as an ``IEJoin``. The
  outer joins rely on the layer's session settings, which the hand queries share:
  ``join_use_nulls = 1`` (a missing side is NULL, not 0 or ''), so ``COUNT(c.user_id)`` counts
  matches and ``COALESCE`` sees NULLs, and ``aggregate_functions_null_for_empty = 1``.
- Spark (ANSI mode, as the layer runs it): a date minus a date is an interval there, so days
  and weeks between two dates are ``DATEDIFF`` (as on MariaDB); ``date + INTERVAL n MONTH`` is
  ``add_months``, clamped to the month's end; the week starts on Monday
  (``DATE_TRUNC('week', ...)``, a timestamp, cast to a date).

The rules written out here, for a period P of the query's grain within [start, end]:

- plain counts, distinct counts and sums: the rows whose time falls in P (the metric's
  filter and the query's ``where`` applied); a period without rows is not shown;
- ``daily_active_users`` (``per: day``, ``rollup: average``): by day the distinct users of
  the day; for a week or month the sum of the daily values over the number of calendar days
  of P within [start, end] (a day without active users counts as 0);
- WAU, MAU (rolling, last day): the distinct users of the N days ending on P's last day
  within [start, end], every period shown (0 when nobody); stickiness: the average DAU of P
  over the MAU of that day;
- month-to-date and retail-year-to-date new MRR: the sum from the first day of the month
  (retail year) holding P's last day up to that day;
- MRR, paying customers, ARPU (semi-additive, last): the rows of the last snapshot day of P
  found over every snapshot row (not filtered by ``where``), summed after the filter;
- MRR growth rate: (MRR - MRR a month before) / MRR a month before, where "a month before"
  moves each snapshot day forward one calendar month (clamped to the month's end) and takes
  the last such day in P: by month it is the previous month's MRR;
- conversion: a user's first base event (signup, first trial) in P; converted when a
  conversion event at or after it falls on a day at most N days after the base event's day;
- retention: cohort by signup day (week for the cohort table); retained when a meaningful
  event falls on the signup day + k (in the cohort week + k); only once the latest
  meaningful event has reached that day (week's end);
- churn (months only): the previous month's active users (subscriptions, paying users at the
  last snapshot day of the month) against this month's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DIALECTS", "HAND_SQL", "SHAPES", "Dialect", "Shape"]

MEANINGFUL = "event_type NOT IN ('email_open', 'login_failed')"


@dataclass(frozen=True)
class Shape:
    """One way of asking every KPI: a grain, whole periods from ``start`` to ``end``, and an
    optional ``user.country`` filter (a dimension joined from the user entity)."""

    key: str
    grain: str
    start: dt.date
    end: dt.date
    country: str | None = None

    @property
    def where(self) -> str | None:
        return None if self.country is None else f"user.country = '{self.country}'"

    @property
    def after_end(self) -> dt.date:
        return self.end + dt.timedelta(days=1)


SHAPES = (
    Shape("month", "month", dt.date(2025, 7, 1), dt.date(2026, 6, 30)),
    Shape("week, DE", "week", dt.date(2026, 3, 30), dt.date(2026, 6, 28), country="DE"),
    Shape("day", "day", dt.date(2026, 6, 1), dt.date(2026, 6, 30)),
)


@dataclass(frozen=True)
class Dialect:
    """How one engine spells the date arithmetic and casts the hand queries use."""

    name: str
    schema: str | None = None

    def table(self, name: str) -> str:
        return f"{self.schema}.{name}" if self.schema else name

    def lit(self, day: dt.date) -> str:
        """A date literal (SQLite stores dates as ISO text)."""
        if self.name == "sqlite":
            return f"'{day.isoformat()}'"
        return f"DATE '{day.isoformat()}'"

    def day(self, ts: str) -> str:
        """The calendar day of a UTC timestamp (every session runs in UTC)."""
        return f"DATE({ts})" if self.name == "sqlite" else f"CAST({ts} AS DATE)"

    def plus_days(self, day: str, days: int | str) -> str:
        if self.name == "sqlite":
            return f"DATE({day}, ({days}) || ' days')"
        if self.name == "mysql":
            return f"DATE_ADD({day}, INTERVAL ({days}) DAY)"
        return f"CAST({day} + CAST({days} AS INTEGER) AS DATE)"

    def plus_months(self, day: str, months: int) -> str:
        """``day`` moved by whole calendar months, clamped to the end of the month."""
        if self.name == "sqlite":
            # SQLite's '+1 month' overflows (01-31 becomes 03-03): clamp to the month's end.
            return (
                f"MIN(DATE({day}, '{months:+d} months'), "
                f"DATE({day}, 'start of month', '{months + 1:+d} months', '-1 day'))"
            )
        if self.name == "mysql":
            return f"DATE_ADD({day}, INTERVAL {months} MONTH)"
        if self.name == "postgres":
            return f"CAST({day} + INTERVAL '{months} month' AS DATE)"
        return f"CAST({day} + INTERVAL '{months}' MONTH AS DATE)"  # DuckDB: no INTERVAL -1

    def week(self, day: str) -> str:
        """The Monday of ``day``'s week."""
        if self.name == "sqlite":
            return f"DATE({day}, '-6 days', 'weekday 1')"
        if self.name == "mysql":
            return f"DATE_SUB({day}, INTERVAL WEEKDAY({day}) DAY)"
        if self.name in ("postgres", "spark", "clickhouse"):
            return f"CAST(DATE_TRUNC('week', {day}) AS DATE)"
        return f"CAST({day} - CAST(ISODOW({day}) - 1 AS INTEGER) AS DATE)"

    def month(self, day: str) -> str:
        """The first day of ``day``'s month."""
        if self.name == "sqlite":
            return f"DATE({day}, 'start of month')"
        if self.name == "mysql":
            return f"DATE_SUB({day}, INTERVAL DAYOFMONTH({day}) - 1 DAY)"
        return f"CAST(DATE_TRUNC('month', {day}) AS DATE)"

    def bucket(self, day: str, grain: str) -> str:
        if grain == "day":
            return day
        if grain == "week":
            return self.week(day)
        return self.month(day)

    def weeks_between(self, first: str, later: str) -> str:
        """Whole weeks from the Monday ``first`` to the Monday ``later``."""
        if self.name == "sqlite":
            return f"CAST((JULIANDAY({later}) - JULIANDAY({first})) / 7 AS INTEGER)"
        if self.name in ("mysql", "spark"):
            return f"DATEDIFF({later}, {first}) DIV 7"
        return f"CAST(({later} - {first}) / 7 AS INTEGER)"

    def days_in(self, first: str, last: str) -> str:
        """Calendar days from ``first`` to ``last``, both included."""
        if self.name == "sqlite":
            return f"(JULIANDAY({last}) - JULIANDAY({first}) + 1)"
        if self.name in ("mysql", "spark"):
            return f"(DATEDIFF({last}, {first}) + 1)"
        return f"({last} - {first} + 1)"

    def real(self, value: str) -> str:
        kind = {"sqlite": "REAL", "postgres": "DOUBLE PRECISION"}.get(self.name, "DOUBLE")
        return f"CAST({value} AS {kind})"

    def union(self) -> str:
        """The set union that removes duplicates (ClickHouse refuses a bare UNION)."""
        return "UNION DISTINCT" if self.name == "clickhouse" else "UNION"

    def least(self, a: str, b: str) -> str:
        return f"MIN({a}, {b})" if self.name == "sqlite" else f"LEAST({a}, {b})"

    def greatest(self, a: str, b: str) -> str:
        return f"MAX({a}, {b})" if self.name == "sqlite" else f"GREATEST({a}, {b})"


DIALECTS = {
    "duckdb": Dialect("duckdb"),
    "postgres": Dialect("postgres", schema="metrics_layer_bench"),
    "sqlite": Dialect("sqlite"),
    "mysql": Dialect("mysql"),
    "clickhouse": Dialect("clickhouse", schema="metrics_layer_bench"),
    "spark": Dialect("spark", schema="metrics_layer_bench"),
}

Hand = Callable[[Shape, Dialect], str]


# -- pieces ---------------------------------------------------------------------------------


def _in_range(column: str, shape: Shape, d: Dialect) -> str:
    """``column`` (a timestamp or a date) on a day from ``start`` to ``end``."""
    return f"{column} >= {d.lit(shape.start)} AND {column} < {d.lit(shape.after_end)}"


def _country(shape: Shape, d: Dialect, user_id: str) -> str:
    """A join to the user's row keeping only the shape's country (nothing without one)."""
    if shape.country is None:
        return ""
    return (
        f"JOIN {d.table('users')} AS u ON u.user_id = {user_id} AND u.country = '{shape.country}'"
    )


def _periods(shape: Shape, d: Dialect) -> str:
    """Each period of the range with its last day inside the range, from the calendar table."""
    return f"""
        SELECT {d.bucket("c.day", shape.grain)} AS period, MAX(c.day) AS last_day
        FROM {d.table("retail_calendar")} AS c
        WHERE c.day >= {d.lit(shape.start)} AND c.day <= {d.lit(shape.end)}
        GROUP BY 1"""


Value = Callable[[Dialect], str]


def _grouped(table: str, time: str, value: Value, condition: str = "") -> Hand:
    """A value per period over the rows of ``table`` whose ``time`` is in the range."""

    def hand(shape: Shape, d: Dialect) -> str:
        extra = f" AND x.{condition}" if condition else ""
        return f"""
            SELECT {d.bucket(d.day(f"x.{time}"), shape.grain)} AS period, {value(d)}
            FROM {d.table(table)} AS x {_country(shape, d, "x.user_id")}
            WHERE {_in_range(f"x.{time}", shape, d)}{extra}
            GROUP BY 1 ORDER BY 1"""

    return hand


def signups(shape: Shape, d: Dialect) -> str:
    country = "" if shape.country is None else f" AND x.country = '{shape.country}'"
    return f"""
        SELECT {d.bucket(d.day("x.signed_up_at"), shape.grain)} AS period, COUNT(*)
        FROM {d.table("users")} AS x
        WHERE {_in_range("x.signed_up_at", shape, d)}{country}
        GROUP BY 1 ORDER BY 1"""


def paid_conversion_rate(shape: Shape, d: Dialect) -> str:
    country = "" if shape.country is None else f" AND x.country = '{shape.country}'"
    return f"""
        WITH payers AS (SELECT DISTINCT user_id FROM {d.table("subscriptions")})
        SELECT {d.bucket(d.day("x.signed_up_at"), shape.grain)} AS period,
               {d.real("COUNT(p.user_id)")} / COUNT(*)
        FROM {d.table("users")} AS x
        LEFT JOIN payers AS p ON p.user_id = x.user_id
        WHERE {_in_range("x.signed_up_at", shape, d)}{country}
        GROUP BY 1 ORDER BY 1"""


def new_users(shape: Shape, d: Dialect) -> str:
    return f"""
        WITH firsts AS (
          SELECT user_id, MIN(occurred_at) AS first_at FROM {d.table("events")}
          WHERE {MEANINGFUL} GROUP BY user_id)
        SELECT {d.bucket(d.day("x.first_at"), shape.grain)} AS period, COUNT(*)
        FROM firsts AS x {_country(shape, d, "x.user_id")}
        WHERE {_in_range("x.first_at", shape, d)}
        GROUP BY 1 ORDER BY 1"""


def net_new_mrr(shape: Shape, d: Dialect) -> str:
    def part(time: str) -> str:
        return f"""
          SELECT {d.bucket(d.day(f"x.{time}"), shape.grain)} AS period, SUM(x.mrr) AS mrr
          FROM {d.table("subscriptions")} AS x {_country(shape, d, "x.user_id")}
          WHERE {_in_range(f"x.{time}", shape, d)}
          GROUP BY 1"""

    return f"""
        WITH started AS ({part("started_at")}),
        ended AS ({part("ended_at")}),
        periods AS (SELECT period FROM started {d.union()} SELECT period FROM ended)
        SELECT p.period, s.mrr - COALESCE(e.mrr, 0)
        FROM periods AS p
        LEFT JOIN started AS s ON s.period = p.period
        LEFT JOIN ended AS e ON e.period = p.period
        ORDER BY 1"""


def _active_pairs(shape: Shape, d: Dialect, days_before: int) -> str:
    """Distinct (day, user) pairs of meaningful events from ``days_before`` days before the
    start to the end."""
    first = shape.start - dt.timedelta(days=days_before)
    return f"""
          SELECT DISTINCT {d.day("x.occurred_at")} AS day, x.user_id
          FROM {d.table("events")} AS x {_country(shape, d, "x.user_id")}
          WHERE x.occurred_at >= {d.lit(first)} AND x.occurred_at < {d.lit(shape.after_end)}
            AND x.{MEANINGFUL}"""


def _dau(shape: Shape, d: Dialect) -> str:
    """``period, dau``: the day's distinct users, or their average over the period's days."""
    if shape.grain == "day":
        return "SELECT day AS period, COUNT(*) AS dau FROM pairs WHERE day >= {start} GROUP BY 1"
    period = d.bucket("day", shape.grain)
    days = d.days_in(
        d.greatest(period, d.lit(shape.start)),
        d.least(d.plus_days(d.plus_months(period, 1), -1), d.lit(shape.end))
        if shape.grain == "month"
        else d.least(d.plus_days(period, 6), d.lit(shape.end)),
    )
    return f"""
          SELECT period, {d.real("SUM(users)")} / MAX(days) AS dau FROM (
            SELECT day, {period} AS period, {days} AS days, COUNT(*) AS users
            FROM pairs WHERE day >= {{start}} GROUP BY day) AS daily
          GROUP BY period"""


def daily_active_users(shape: Shape, d: Dialect) -> str:
    dau = _dau(shape, d).format(start=d.lit(shape.start))
    return f"""
        WITH pairs AS ({_active_pairs(shape, d, 0)}),
        dau AS ({dau})
        SELECT period, dau FROM dau ORDER BY 1"""


def _rolling(days: int) -> Hand:
    def hand(shape: Shape, d: Dialect) -> str:
        return f"""
            WITH pairs AS ({_active_pairs(shape, d, days - 1)}),
            periods AS ({_periods(shape, d)})
            SELECT p.period, COUNT(DISTINCT a.user_id)
            FROM periods AS p
            LEFT JOIN pairs AS a
              ON a.day > {d.plus_days("p.last_day", -days)} AND a.day <= p.last_day
            GROUP BY 1 ORDER BY 1"""

    return hand


def stickiness(shape: Shape, d: Dialect) -> str:
    dau = _dau(shape, d).format(start=d.lit(shape.start))
    return f"""
        WITH pairs AS ({_active_pairs(shape, d, 27)}),
        periods AS ({_periods(shape, d)}),
        dau AS ({dau}),
        mau AS (
          SELECT p.period, COUNT(DISTINCT a.user_id) AS mau
          FROM periods AS p
          LEFT JOIN pairs AS a
            ON a.day > {d.plus_days("p.last_day", -28)} AND a.day <= p.last_day
          GROUP BY 1)
        SELECT m.period, {d.real("x.dau")} / NULLIF(m.mau, 0)
        FROM mau AS m LEFT JOIN dau AS x ON x.period = m.period
        ORDER BY 1"""


def _to_date(first_day: Callable[[Shape, Dialect], tuple[str, str]]) -> Hand:
    """New MRR from the first day of the period of ``first_day`` holding each period's last
    day up to that day. ``first_day`` gives (a join adding ``p.first_day`` to the periods,
    the earliest day a sum can start on)."""

    def hand(shape: Shape, d: Dialect) -> str:
        join, earliest = first_day(shape, d)
        return f"""
            WITH periods AS ({_periods(shape, d)}),
            ends AS (SELECT p.period, p.last_day, {join}),
            daily AS (
              SELECT {d.day("x.started_at")} AS day, SUM(x.mrr) AS mrr
              FROM {d.table("subscriptions")} AS x {_country(shape, d, "x.user_id")}
              WHERE x.started_at >= {earliest} AND x.started_at < {d.lit(shape.after_end)}
              GROUP BY 1)
            SELECT e.period, SUM(x.mrr)
            FROM ends AS e
            LEFT JOIN daily AS x ON x.day >= e.first_day AND x.day <= e.last_day
            GROUP BY 1 ORDER BY 1"""

    return hand


def _month_start(shape: Shape, d: Dialect) -> tuple[str, str]:
    return f"{d.month('p.last_day')} AS first_day FROM periods AS p", d.lit(
        shape.start.replace(day=1)
    )


def _retail_year_start(shape: Shape, d: Dialect) -> tuple[str, str]:
    calendar = d.table("retail_calendar")
    return (
        f"c.retail_year AS first_day FROM periods AS p JOIN {calendar} AS c ON c.day = p.last_day",
        f"(SELECT retail_year FROM {calendar} WHERE day = {d.lit(shape.start)})",
    )


def _snapshot_value(value: Value) -> Hand:
    """``value`` over the snapshot rows of each period's last snapshot day."""

    def hand(shape: Shape, d: Dialect) -> str:
        snapshots = d.table("subscription_snapshots")
        return f"""
            WITH last_days AS (
              SELECT {d.bucket("snapshot_date", shape.grain)} AS period,
                     MAX(snapshot_date) AS last_day
              FROM {snapshots}
              WHERE {_in_range("snapshot_date", shape, d)}
              GROUP BY 1)
            SELECT l.period, {value(d)}
            FROM last_days AS l
            JOIN {snapshots} AS x ON x.snapshot_date = l.last_day
            {_country(shape, d, "x.user_id")}
            GROUP BY 1 ORDER BY 1"""

    return hand


def mrr_growth_rate(shape: Shape, d: Dialect) -> str:
    snapshots = d.table("subscription_snapshots")
    month_before = _first_of_month_before(shape.start)
    moved = d.plus_months("day", 1)
    return f"""
        WITH every_day AS (
          SELECT DISTINCT snapshot_date AS day FROM {snapshots}
          WHERE snapshot_date >= {d.lit(month_before)} AND snapshot_date <= {d.lit(shape.end)}),
        daily AS (
          SELECT x.snapshot_date AS day, SUM(x.mrr) AS mrr
          FROM {snapshots} AS x {_country(shape, d, "x.user_id")}
          WHERE x.snapshot_date >= {d.lit(month_before)}
            AND x.snapshot_date <= {d.lit(shape.end)}
          GROUP BY 1),
        now_days AS (
          SELECT {d.bucket("day", shape.grain)} AS period, MAX(day) AS last_day
          FROM every_day WHERE day >= {d.lit(shape.start)} GROUP BY 1),
        before_days AS (
          SELECT {d.bucket(moved, shape.grain)} AS period, MAX(day) AS last_day
          FROM every_day
          WHERE {moved} >= {d.lit(shape.start)} AND {moved} <= {d.lit(shape.end)}
          GROUP BY 1)
        SELECT n.period, {d.real("now_.mrr - before_.mrr")} / NULLIF(before_.mrr, 0)
        FROM now_days AS n
        JOIN daily AS now_ ON now_.day = n.last_day
        LEFT JOIN before_days AS b ON b.period = n.period
        LEFT JOIN daily AS before_ ON before_.day = b.last_day
        ORDER BY 1"""


def _first_of_month_before(day: dt.date) -> dt.date:
    first = day.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def activation_rate_7d(shape: Shape, d: Dialect) -> str:
    country = "" if shape.country is None else f" AND u.country = '{shape.country}'"
    return f"""
        WITH signed_up AS (
          SELECT u.user_id, u.signed_up_at, {d.day("u.signed_up_at")} AS base_day
          FROM {d.table("users")} AS u
          WHERE {_in_range("u.signed_up_at", shape, d)}{country}),
        converted AS (
          SELECT DISTINCT s.user_id
          FROM signed_up AS s JOIN {d.table("events")} AS e ON e.user_id = s.user_id
          WHERE e.event_type = 'project_created' AND e.occurred_at >= s.signed_up_at
            AND {d.day("e.occurred_at")} <= {d.plus_days("s.base_day", 7)})
        SELECT {d.bucket("s.base_day", shape.grain)} AS period,
               {d.real("COUNT(c.user_id)")} / COUNT(*)
        FROM signed_up AS s LEFT JOIN converted AS c ON c.user_id = s.user_id
        GROUP BY 1 ORDER BY 1"""


def trial_to_paid_rate(shape: Shape, d: Dialect) -> str:
    return f"""
        WITH first_trials AS (
          SELECT user_id, MIN(started_at) AS started_at FROM {d.table("trials")}
          GROUP BY user_id),
        tried AS (
          SELECT t.user_id, t.started_at, {d.day("t.started_at")} AS base_day
          FROM first_trials AS t {_country(shape, d, "t.user_id")}
          WHERE {_in_range("t.started_at", shape, d)}),
        paid AS (
          SELECT DISTINCT t.user_id
          FROM tried AS t JOIN {d.table("subscriptions")} AS s ON s.user_id = t.user_id
          WHERE s.started_at >= t.started_at
            AND {d.day("s.started_at")} <= {d.plus_days("t.base_day", 14)})
        SELECT {d.bucket("t.base_day", shape.grain)} AS period,
               {d.real("COUNT(p.user_id)")} / COUNT(*)
        FROM tried AS t LEFT JOIN paid AS p ON p.user_id = t.user_id
        GROUP BY 1 ORDER BY 1"""


def _latest_active_day(d: Dialect) -> str:
    return f"SELECT {d.day('MAX(occurred_at)')} AS day FROM {d.table('events')} WHERE {MEANINGFUL}"


def _retention_after(days: int) -> Hand:
    def hand(shape: Shape, d: Dialect) -> str:
        country = "" if shape.country is None else f" AND u.country = '{shape.country}'"
        return f"""
            WITH latest AS ({_latest_active_day(d)}),
            cohort AS (
              SELECT u.user_id, {d.day("u.signed_up_at")} AS signup_day
              FROM {d.table("users")} AS u CROSS JOIN latest
              WHERE {_in_range("u.signed_up_at", shape, d)}{country}
                AND {d.plus_days(d.day("u.signed_up_at"), days)} <= latest.day),
            retained AS (
              SELECT DISTINCT c.user_id
              FROM cohort AS c JOIN {d.table("events")} AS e ON e.user_id = c.user_id
              WHERE e.{MEANINGFUL}
                AND {d.day("e.occurred_at")} = {d.plus_days("c.signup_day", days)})
            SELECT {d.bucket("c.signup_day", shape.grain)} AS period,
                   {d.real("COUNT(r.user_id)")} / COUNT(*)
            FROM cohort AS c LEFT JOIN retained AS r ON r.user_id = c.user_id
            GROUP BY 1 ORDER BY 1"""

    return hand


def weekly_cohort_retention(shape: Shape, d: Dialect) -> str:
    country = "" if shape.country is None else f" AND u.country = '{shape.country}'"
    numbers = " UNION ALL ".join(f"SELECT {k} AS k" for k in range(13))
    signup_day = d.day("u.signed_up_at")
    return f"""
        WITH latest AS ({_latest_active_day(d)}),
        numbers AS ({numbers}),
        cohort AS (
          SELECT u.user_id, {signup_day} AS signup_day, {d.week(signup_day)} AS cohort_week
          FROM {d.table("users")} AS u
          WHERE {_in_range("u.signed_up_at", shape, d)}{country}),
        active AS (
          SELECT DISTINCT c.user_id,
                 {d.weeks_between("c.cohort_week", d.week(d.day("e.occurred_at")))} AS k
          FROM cohort AS c JOIN {d.table("events")} AS e ON e.user_id = c.user_id
          WHERE e.{MEANINGFUL} AND e.occurred_at >= c.cohort_week
            AND e.occurred_at < {d.plus_days("c.cohort_week", 91)}),
        cells AS (
          SELECT c.user_id, c.signup_day, n.k
          FROM cohort AS c CROSS JOIN numbers AS n CROSS JOIN latest
          WHERE {d.plus_days("c.cohort_week", "7 * n.k + 6")} <= latest.day)
        SELECT {d.bucket("x.signup_day", shape.grain)} AS period, x.k,
               {d.real("COUNT(a.user_id)")} / COUNT(*)
        FROM cells AS x LEFT JOIN active AS a ON a.user_id = x.user_id AND a.k = x.k
        GROUP BY 1, 2 ORDER BY 1, 2"""


def _churn_months(shape: Shape) -> tuple[dt.date, dt.date]:
    """The first day of the month before the range's first month, and of its last month."""
    return _first_of_month_before(shape.start), shape.end.replace(day=1)


def user_churn_rate(shape: Shape, d: Dialect) -> str:
    before, last = _churn_months(shape)
    this_month = d.plus_months("b.month", 1)
    return f"""
        WITH active AS (
          SELECT DISTINCT x.user_id, {d.month(d.day("x.occurred_at"))} AS month
          FROM {d.table("events")} AS x {_country(shape, d, "x.user_id")}
          WHERE x.occurred_at >= {d.lit(before)} AND x.occurred_at < {d.lit(shape.after_end)}
            AND x.{MEANINGFUL}),
        latest AS ({_latest_active_day(d)})
        SELECT {this_month} AS month,
               {d.real("SUM(CASE WHEN n.user_id IS NULL THEN 1 ELSE 0 END)")} / COUNT(*)
        FROM active AS b CROSS JOIN latest
        LEFT JOIN active AS n ON n.user_id = b.user_id AND n.month = {this_month}
        WHERE b.month < {d.lit(last)} AND {this_month} <= latest.day
        GROUP BY 1 ORDER BY 1"""


def _month_end_rows(shape: Shape, d: Dialect, key: str, value: str) -> str:
    """Per month from the one before the range to its last: ``key`` and ``value`` over the
    snapshot rows of the month's last snapshot day."""
    before, _ = _churn_months(shape)
    snapshots = d.table("subscription_snapshots")
    return f"""
        month_ends AS (
          SELECT {d.month("snapshot_date")} AS month, MAX(snapshot_date) AS last_day
          FROM {snapshots}
          WHERE snapshot_date >= {d.lit(before)} AND snapshot_date <= {d.lit(shape.end)}
          GROUP BY 1),
        at_end AS (
          SELECT m.month, x.{key} AS id, {value} AS value
          FROM month_ends AS m
          JOIN {snapshots} AS x ON x.snapshot_date = m.last_day
          {_country(shape, d, "x.user_id")}
          GROUP BY 1, 2)"""


def subscription_churn_rate(shape: Shape, d: Dialect) -> str:
    _, last = _churn_months(shape)
    this_month = d.plus_months("b.month", 1)
    return f"""
        WITH {_month_end_rows(shape, d, "subscription_id", "COUNT(*)")}
        SELECT {this_month} AS month,
               {d.real("SUM(CASE WHEN n.id IS NULL THEN 1 ELSE 0 END)")} / COUNT(*)
        FROM at_end AS b
        LEFT JOIN at_end AS n ON n.id = b.id AND n.month = {this_month}
        WHERE b.month < {d.lit(last)}
        GROUP BY 1 ORDER BY 1"""


def net_revenue_retention(shape: Shape, d: Dialect) -> str:
    _, last = _churn_months(shape)
    this_month = d.plus_months("b.month", 1)
    return f"""
        WITH {_month_end_rows(shape, d, "user_id", "SUM(x.mrr)")}
        SELECT {this_month} AS month,
               {d.real("SUM(COALESCE(n.value, 0))")} / {d.real("SUM(b.value)")}
        FROM at_end AS b
        LEFT JOIN at_end AS n ON n.id = b.id AND n.month = {this_month}
        WHERE b.month < {d.lit(last)} AND b.value > 0
        GROUP BY 1 ORDER BY 1"""


def _distinct_users(d: Dialect) -> str:
    return "COUNT(DISTINCT x.user_id)"


def _mrr(d: Dialect) -> str:
    return "SUM(x.mrr)"


def _adoption(d: Dialect) -> str:
    """Report sharers over the active users of the rows (all meaningful events)."""
    sharers = "COUNT(DISTINCT CASE WHEN x.event_type = 'report_shared' THEN x.user_id END)"
    return f"{d.real(sharers)} / COUNT(DISTINCT x.user_id)"


HAND_SQL: dict[str, Hand] = {
    # engagement
    "daily_active_users": daily_active_users,
    "events_per_active_user": _grouped(
        "events",
        "occurred_at",
        lambda d: f"{d.real('COUNT(*)')} / COUNT(DISTINCT x.user_id)",
        MEANINGFUL,
    ),
    "weekly_active_users": _rolling(7),
    "monthly_active_users": _rolling(28),
    "stickiness": stickiness,
    "active_users": _grouped("events", "occurred_at", _distinct_users, MEANINGFUL),
    "report_sharers": _grouped(
        "events", "occurred_at", _distinct_users, "event_type = 'report_shared'"
    ),
    "feature_adoption_rate": _grouped("events", "occurred_at", _adoption, MEANINGFUL),
    "retention_d1": _retention_after(1),
    "retention_d7": _retention_after(7),
    "retention_d30": _retention_after(30),
    "weekly_cohort_retention": weekly_cohort_retention,
    "user_churn_rate": user_churn_rate,
    # growth
    "signups": signups,
    "paid_conversion_rate": paid_conversion_rate,
    "new_users": new_users,
    "activation_rate_7d": activation_rate_7d,
    "trial_to_paid_rate": trial_to_paid_rate,
    # revenue
    "mrr": _snapshot_value(_mrr),
    "paying_customers": _snapshot_value(_distinct_users),
    "arpu": _snapshot_value(lambda d: f"{d.real('SUM(x.mrr)')} / COUNT(DISTINCT x.user_id)"),
    "new_mrr": _grouped("subscriptions", "started_at", _mrr),
    "mrr_growth_rate": mrr_growth_rate,
    "new_mrr_month_to_date": _to_date(_month_start),
    "cancelled_subscriptions": _grouped("subscriptions", "ended_at", lambda d: "COUNT(*)"),
    "churned_mrr": _grouped("subscriptions", "ended_at", _mrr),
    "net_new_mrr": net_new_mrr,
    "new_mrr_retail_year_to_date": _to_date(_retail_year_start),
    "subscription_churn_rate": subscription_churn_rate,
    "net_revenue_retention": net_revenue_retention,
}
