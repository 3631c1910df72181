"""The per-dialect rules of ``metrics_layer.sql.dialects``, checked on the SQL they produce.

Week start, exact percentiles, refusals and identifier quoting, and the SQL forms some dialects
need (null-safe joins on Redshift, typed date literals on Trino, ISO weeks on Snowflake).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import duckdb
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

import metrics_layer as ml
from metrics_layer.errors import UnsupportedError
from metrics_layer.sql.dialects import RULES, acts_on, prepared, sqlite_text_date_range
from metrics_layer.sql.spine import (
    SPINE,
    bounds_select,
    days_select,
    digits_cte,
    read_by,
    spine_last,
    sqlite_day_spine,
    sqlite_days_in_reader,
    sqlite_spines,
)
from metrics_layer.sql.sqlite import sqlite_one_date_call, sqlite_whole_days

from .engines import EXPECTED_WEEKS, as_dates, visits_table_sql, week_probe_files
from .test_golden import CASES, DIALECTS, Case

WriteProject = Callable[[dict[str, str]], Path]

BY_NAME = {case.name: case for case in CASES}
README: Case = BY_NAME["readme_query"]

PERCENTILE_FILES = {
    "metrics_layer.yml": """
        project:
          name: percentiles
          paths: [defs]
        """,
    "defs/orders.yml": """
        sources:
          - name: orders
            table: orders
            time: ordered_at
            entities:
              - {name: order, key: order_id, primary: true}
            dimensions:
              - {name: ordered_at, type: time, grain: day}
            measures:
              - {name: median_amount, agg: median, expr: amount}
              - {name: p90_amount, agg: percentile, percentile: 0.9, expr: amount}
        metrics:
          - {name: median_order_value, type: simple, measure: orders.median_amount, version: 1}
          - {name: p90_order_value, type: simple, measure: orders.p90_amount, version: 1}
        """,
}
PERCENTILE_METRICS = ["median_order_value", "p90_order_value"]

RESERVED_FILES = {
    "metrics_layer.yml": """
        project:
          name: reserved
          paths: [defs]
        """,
    "defs/users.yml": """
        sources:
          - name: users
            table: users
            time: signed_up_at
            entities:
              - {name: user, key: id, primary: true}
            dimensions:
              - {name: signed_up_at, type: time, grain: day}
            measures:
              - {name: user_count, agg: count}
        metrics:
          - {name: user_count, type: simple, measure: users.user_count, version: 1}
        """,
}


@pytest.fixture
def percentiles(write_project: WriteProject) -> ml.SemanticLayer:
    return ml.load(write_project(PERCENTILE_FILES))


def _week_probe(write_project: WriteProject, week_start: str) -> ml.SemanticLayer:
    return ml.load(write_project(week_probe_files(week_start)))


# -- week start --------------------------------------------------------------------------------


def test_bigquery_weeks_start_on_monday(layer: ml.SemanticLayer) -> None:
    sql = README.query(layer).sql("bigquery")
    weeks = re.findall(r"\bWEEK\b(\(\w+\))?", sql)
    assert weeks, "the weekly query has no week truncation"
    assert set(weeks) == {"(MONDAY)"}, sql


def test_mysql_weeks_step_back_by_weekday(layer: ml.SemanticLayer) -> None:
    sql = README.query(layer).sql("mysql")
    assert "WEEKDAY(CAST(events_per_day.period_start AS DATE))" in sql
    assert "WEEKDAY(CAST(users.signed_up_at AS DATE))" in sql
    # WEEK()/YEARWEEK() depend on a mode argument or default_week_format; DATE_TRUNC is absent.
    assert not re.search(r"\b(YEARWEEK|WEEK|DATE_TRUNC)\s*\(", sql), sql


@pytest.mark.parametrize("week_start", sorted(EXPECTED_WEEKS))
def test_week_buckets_on_duckdb(write_project: WriteProject, week_start: str) -> None:
    sql = (
        _week_probe(write_project, week_start).query("visits", by="metric_time.week").sql("duckdb")
    )
    connection = duckdb.connect()
    try:
        for statement in visits_table_sql("TIMESTAMP", temporary=False):
            connection.execute(statement)
        rows = connection.execute(sql).fetchall()
    finally:
        connection.close()
    assert as_dates(rows) == EXPECTED_WEEKS[week_start]


# -- percentiles -------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["spark", "databricks"])
def test_spark_percentiles_are_exact(percentiles: ml.SemanticLayer, dialect: str) -> None:
    sql = percentiles.query(PERCENTILE_METRICS, by="metric_time.month").sql(dialect)
    assert "PERCENTILE(CAST(orders.amount AS DOUBLE), 0.5) AS median_amount" in sql
    assert "PERCENTILE(CAST(orders.amount AS DOUBLE), 0.9) AS p90_amount" in sql
    assert "APPROX" not in sql.upper()
    assert "WITHIN GROUP" not in sql.upper()
    assert isinstance(sqlglot.parse_one(sql, read=dialect), exp.Select)


@pytest.mark.parametrize("dialect", ["postgres", "snowflake", "redshift"])
def test_other_engines_keep_percentile_cont(percentiles: ml.SemanticLayer, dialect: str) -> None:
    sql = percentiles.query(PERCENTILE_METRICS).sql(dialect)
    assert "PERCENTILE_CONT(0.5) WITHIN GROUP" in sql
    assert "PERCENTILE_CONT(0.9) WITHIN GROUP" in sql


def test_duckdb_percentiles_interpolate(percentiles: ml.SemanticLayer) -> None:
    sql = percentiles.query(PERCENTILE_METRICS).sql("duckdb")
    connection = duckdb.connect()
    try:
        connection.execute(
            "CREATE TABLE orders (order_id INTEGER, ordered_at TIMESTAMP, amount DECIMAL(10, 2))"
        )
        connection.execute(
            "INSERT INTO orders VALUES (1, '2026-01-01', 1), (2, '2026-01-02', 2), "
            "(3, '2026-01-03', 3), (4, '2026-01-04', 10), (5, '2026-01-05', NULL)"
        )
        rows = connection.execute(sql).fetchall()
    finally:
        connection.close()
    # PERCENTILE_CONT over 1, 2, 3, 10 (NULL ignored): 0.5 -> 2.5; 0.9 -> 3 + 0.7 * 7 = 7.9,
    # interpolated in DOUBLE (not rounded to the column's DECIMAL scale).
    assert rows == [pytest.approx((2.5, 7.9), abs=1e-12)]
    assert all(type(value) is float for value in rows[0])


# -- refusals and names ------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["bigquery", "mysql", "trino"])
@pytest.mark.parametrize("metric", PERCENTILE_METRICS)
def test_exact_percentiles_are_refused(
    percentiles: ml.SemanticLayer, dialect: str, metric: str
) -> None:
    query = percentiles.query(metric, by="metric_time.month")
    with pytest.raises(
        UnsupportedError, match=rf"^{dialect} cannot compute median/percentile aggregates exactly"
    ):
        query.sql(dialect)


@pytest.mark.parametrize(
    ("grain", "bucket"),
    [
        ("hour", "DATETIME(STRFTIME('%Y-%m-%d %H:00:00', users.signed_up_at))"),
        ("week", "DATE(users.signed_up_at, '-6 days', 'weekday 1')"),
        ("month", "DATE(users.signed_up_at, 'start of month')"),
        ("year", "DATE(users.signed_up_at, 'start of year')"),
    ],
)
def test_sqlite_grains_use_date_modifiers(layer: ml.SemanticLayer, grain: str, bucket: str) -> None:
    sql = layer.query("signups", by=f"metric_time.{grain}").sql("sqlite", pretty=False)
    assert f"{bucket} AS metric_time__{grain}" in sql


def test_sqlite_month_offsets_clamp(layer: ml.SemanticLayer) -> None:
    sql = layer.query("mrr_growth_rate", by="metric_time.day").sql("sqlite", pretty=False)
    assert "'1 MONTH'" not in sql
    assert (
        "MIN(DATE(subscription_snapshots_last_snapshot_days.snapshot_day, "
        "'+1 months'), DATE(subscription_snapshots_last_snapshot_days.snapshot_day, "
        "'start of month', '+2 months', '-1 day'))"
    ) in sql


def test_sqlite_day_grain_is_a_date(layer: ml.SemanticLayer) -> None:
    sql = layer.query("signups", by="metric_time.day").sql("sqlite")
    assert "DATE(users.signed_up_at) AS metric_time__day" in sql


# Queries whose trees hold the node kinds the rules act on: truncations, month offsets,
# inner joins, windows, spines, semi-additive steps, correlated checks, casts to DECIMAL.
RULE_PROBES = [
    ("mrr_growth_rate", "metric_time.week"),
    ("new_mrr_retail_year_to_date", "metric_time.month"),
    ("weekly_active_users", "metric_time.month"),
    ("activation_rate_7d", "metric_time.quarter"),
    ("arpu", "metric_time.day"),
    ("daily_active_users", "metric_time.week"),
    ("weekly_cohort_retention", "weekly_cohort_retention.period"),
]


@pytest.mark.parametrize("dialect", sorted(RULES))
def test_every_rule_names_the_node_kinds_it_changes(layer: ml.SemanticLayer, dialect: str) -> None:
    """``prepared`` skips a rule when the tree holds none of the node kinds it names
    (``acts_on``), so every rule names them, and hands any other node back unchanged: each
    rule called on every other node of the probes' trees returns that very node."""
    trees = [
        layer.query(kpi, by=[by], where="user.country = 'DE'", start="2026-01-01").tree
        for kpi, by in RULE_PROBES
    ]
    nodes = [node for tree in trees for node in tree.walk()]
    for rule in RULES[dialect]:
        kinds = getattr(rule, "kinds", None)
        assert kinds, f"{dialect}: {rule.__name__} names no node kind (acts_on)"
        others = [node for node in nodes if not isinstance(node, kinds)]
        assert others
        assert all(rule(node) is node for node in others), rule.__name__


def test_unknown_dialect_suggests_the_closest(layer: ml.SemanticLayer) -> None:
    query = layer.query("signups", by="metric_time.month")
    with pytest.raises(
        UnsupportedError, match=r"unknown SQL dialect 'postgress'\. Did you mean 'postgres'\?"
    ):
        query.sql("postgress")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_reserved_word_aliases_are_quoted(write_project: WriteProject, dialect: str) -> None:
    layer = ml.load(write_project(RESERVED_FILES))
    sql = layer.query("user_count", by="user", order="user").sql(dialect)
    tree = sqlglot.parse_one(sql, read=dialect)
    named_user = [i for i in tree.find_all(exp.Identifier) if i.name == "user"]
    # the CTE column (ClickHouse merges that step into the last one), the output column, ORDER BY
    assert len(named_user) >= (2 if dialect == "clickhouse" else 3), sql
    assert all(i.quoted for i in named_user), sql


def test_reserved_word_alias_in_postgres_text(write_project: WriteProject) -> None:
    layer = ml.load(write_project(RESERVED_FILES))
    sql = layer.query("user_count", by="user").sql("postgres")
    assert 'users.id AS "user"' in sql
    assert 'users_agg."user" AS "user"' in sql
    assert re.search(r'ORDER BY\s+"user"', sql), sql
    assert isinstance(sqlglot.parse_one(sql, read="postgres"), exp.Select)


# -- known bugs --------------------------------------------------------------------------------


def test_redshift_grain_join_avoids_is_not_distinct_from(layer: ml.SemanticLayer) -> None:
    sql = BY_NAME["multi_source"].query(layer).sql("redshift")
    assert "IS NOT DISTINCT FROM" not in sql


def test_trino_time_filter_compares_dates_with_dates(layer: ml.SemanticLayer) -> None:
    sql = BY_NAME["time_filter_at_grain"].query(layer).sql("trino")
    tree = sqlglot.parse_one(sql, read="trino")
    untyped = [
        node.sql("trino")
        for node in tree.find_all(exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
        if any(_is_date(side) for side in (node.this, node.expression))
        and any(
            isinstance(side, exp.Literal) and side.is_string
            for side in (node.this, node.expression)
        )
    ]
    assert not untyped


def test_snowflake_weeks_do_not_depend_on_a_session_parameter(layer: ml.SemanticLayer) -> None:
    sql = README.query(layer).sql("snowflake")
    assert "DATE_TRUNC('WEEK'" not in sql


def test_bigquery_shifted_weeks_add_days_to_dates(write_project: WriteProject) -> None:
    sql = (
        _week_probe(write_project, "sunday").query("visits", by="metric_time.week").sql("bigquery")
    )
    tree = sqlglot.parse_one(sql, read="bigquery")
    added = list(tree.find_all(exp.DateAdd))
    assert added, sql
    assert all(_is_date(node.this) for node in added), sql


def _is_date(node: exp.Expression) -> bool:
    """Whether ``node`` is DATE-typed by construction (a cast, or date arithmetic on one)."""
    if isinstance(node, exp.Cast):
        return node.to.is_type(exp.DataType.Type.DATE)
    if isinstance(node, (exp.DateTrunc, exp.Date)):
        return True
    if isinstance(node, (exp.DateAdd, exp.DateSub)):
        return _is_date(node.this)
    return False


@pytest.mark.parametrize("name", ["tsql", "mssql", "TSQL"])
def test_tsql_is_refused_by_name(layer: ml.SemanticLayer, name: str) -> None:
    with pytest.raises(ml.UnsupportedError, match="tsql is not supported: T-SQL output does not"):
        layer.query(["signups"]).sql(name)


# Every modifier list the SQLite rules write, merged into one DATE() call by sqlite_one_date_call.
_MODIFIER_LISTS = [
    (),
    ("-6 days", "weekday 1"),
    ("start of month",),
    ("start of year",),
    ("start of year", "+6 months"),
    ("+1 months",),
    ("-12 months",),
    ("start of month", "+2 months", "-1 day"),
    ("+7 days",),
    ("-28 days",),
    ("-6 days", "weekday 1", "+7 days", "-1 days"),
]


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=dt.datetime(1999, 12, 1), max_value=dt.datetime(2031, 1, 31)),
    offset_minutes=st.sampled_from([None, 0, -600, -1, 59, 330, 840]),
    separator=st.sampled_from([" ", "T"]),
    modifiers=st.sampled_from(_MODIFIER_LISTS),
)
def test_sqlite_one_date_call_gives_the_nested_calls_day(
    moment: dt.datetime, offset_minutes: int | None, separator: str, modifiers: tuple[str, ...]
) -> None:
    """The premise of the rule, on SQLite itself: for ISO-8601 text with or without a UTC
    offset, near midnight or a month's end, the merged call gives the nested calls' day."""
    text = moment.isoformat(sep=separator)
    if offset_minutes is not None:
        sign = "-" if offset_minutes < 0 else "+"
        text += f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"
    quoted = ", ".join(f"'{m}'" for m in modifiers)
    nested = f"DATE(DATE(DATE(?), {quoted}))" if modifiers else "DATE(DATE(?))"
    merged = sqlglot.parse_one(nested, read="sqlite").transform(sqlite_one_date_call)
    with sqlite3.connect(":memory:") as connection:
        want = connection.execute(f"SELECT {nested}", (text,)).fetchone()
        got = connection.execute(f"SELECT {merged.sql('sqlite')}", (text,)).fetchone()
    assert merged.sql("sqlite").count("DATE(") == 1
    assert got == want != (None,)


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=dt.datetime(1999, 12, 1), max_value=dt.datetime(2031, 1, 31)),
    offset_minutes=st.sampled_from([None, 0, -600, -1, 59, 330, 840]),
    days=st.integers(min_value=-400, max_value=400),
    subtract=st.booleans(),
    of_date=st.booleans(),
)
def test_sqlite_whole_days_give_sqlglots_day(
    moment: dt.datetime, offset_minutes: int | None, days: int, subtract: bool, of_date: bool
) -> None:
    """``sqlite_whole_days`` then ``sqlite_one_date_call``, on SQLite itself: the day sqlglot's
    own ``DATE(DATE(t), 'N DAY')`` gives, for a timestamp or its date, with or without a UTC
    offset, in one call."""
    text = moment.isoformat(sep=" ")
    if offset_minutes is not None:
        sign = "-" if offset_minutes < 0 else "+"
        text += f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"
    value: exp.Expr = exp.Placeholder()
    if of_date:
        value = exp.Cast(this=value, to=exp.DataType(this=exp.DataType.Type.DATE))
    kind = exp.DateSub if subtract else exp.DateAdd
    node = kind(this=value, expression=exp.Literal.number(days), unit=exp.var("DAY"))
    rewritten = node.copy().transform(sqlite_whole_days).transform(sqlite_one_date_call)
    with sqlite3.connect(":memory:") as connection:
        want = connection.execute(f"SELECT {node.sql('sqlite')}", (text,)).fetchone()
        got = connection.execute(f"SELECT {rewritten.sql('sqlite')}", (text,)).fetchone()
    assert rewritten.sql("sqlite").count("DATE(") == 1
    assert got == want != (None,)


@settings(max_examples=200, deadline=None)
@given(
    first=st.dates(min_value=dt.date(1999, 1, 1), max_value=dt.date(2031, 12, 31)),
    span=st.integers(min_value=0, max_value=800),
    time=st.none() | st.times(),
    offset_minutes=st.sampled_from([None, 0, -600, -1, 59, 330, 840]),
)
def test_sqlite_spine_days_counted_on_the_julian_day(
    first: dt.date, span: int, time: dt.time | None, offset_minutes: int | None
) -> None:
    """``sqlite_day_spine`` on SQLite itself: the spine's days from a first day (a date, or a
    time with or without a UTC offset, as a source's data may give) are those of the three
    nested DATE() calls sqlglot writes, and for a date, the calendar's next ``span`` days."""
    text = first.isoformat()
    if time is not None:
        text = dt.datetime.combine(first, time).isoformat(sep=" ")
        if offset_minutes is not None:
            sign = "-" if offset_minutes < 0 else "+"
            text += f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"
    bounds = exp.select(
        exp.alias_(exp.Literal.string(text), "first_day"),
        exp.alias_(exp.Literal.number(span), "span"),
    )
    spine = days_select("b", 3, exp.column("span", "b"))
    written = spine.sql("sqlite")
    counted = sqlite_day_spine(spine.copy()).sql("sqlite")
    assert "JULIANDAY" in counted
    assert "JULIANDAY" not in written
    with_ = (
        f"WITH spine_digits AS ({digits_cte().this.sql('sqlite')}), b AS ({bounds.sql('sqlite')}) "
    )
    with sqlite3.connect(":memory:") as connection:
        want = connection.execute(with_ + written + " ORDER BY 1").fetchall()
        got = connection.execute(with_ + counted + " ORDER BY 1").fetchall()
    assert got == want
    if time is None:
        assert got == [((first + dt.timedelta(days=n)).isoformat(),) for n in range(span + 1)]


def test_sqlite_spine_days_read_twice_or_from_a_subquery_keep_their_cte() -> None:
    """The days are counted in their marked reader only when it reads them once, from its
    FROM: read twice there, or by a subquery inside it too, the days' CTE stays as it is."""
    bounds = "b AS (SELECT '2026-01-01' AS first_day)"
    days = (
        "d AS (SELECT DATE(JULIANDAY(b.first_day) + spine_offsets.n) AS spine_day FROM b "
        "CROSS JOIN spine_offsets WHERE spine_offsets.n <= 40)"
    )
    read_twice = "SELECT x.spine_day FROM d AS x JOIN d AS y ON x.spine_day = y.spine_day"
    nested = "SELECT (SELECT MAX(d.spine_day) FROM t WHERE t.n = 1) AS m FROM d"
    alone = "SELECT MAX(spine_day) FROM d"
    for reader, counted in ((read_twice, False), (nested, False), (alone, True)):
        tree = sqlglot.parse_one(f"WITH {bounds}, {days} {reader}", read="sqlite")
        [_, cte] = tree.find_all(exp.CTE)
        cte.this.meta[SPINE] = "b"
        read_by(tree, "d")
        before = tree.sql("sqlite")
        after = tree.transform(sqlite_days_in_reader).sql("sqlite")
        assert (after != before) is counted
        assert (" d AS (" in after) is not counted


@settings(max_examples=150, deadline=None)
@given(
    first=st.dates(min_value=dt.date(1999, 1, 1), max_value=dt.date(2031, 12, 31)),
    span=st.integers(min_value=-2, max_value=800),
    given_first=st.booleans(),
    given_last=st.booleans(),
    time=st.times(),
    offset_minutes=st.sampled_from([None, 0, -600, -1, 59, 330, 840]),
    unit=st.sampled_from(["DAY", "WEEK", "MONTH", "QUARTER", "YEAR"]),
)
def test_sqlite_spine_days_counted_in_their_reader(
    first: dt.date,
    span: int,
    given_first: bool,
    given_last: bool,
    time: dt.time,
    offset_minutes: int | None,
    unit: str,
) -> None:
    """``sqlite_days_in_reader`` on SQLite itself: periods of a spine's days grouped with
    their last, first and number of days, from bounds the query gives or the data's (a time,
    with or without a UTC offset), are the same rows with the days counted in the grouping
    SELECT as with the days' own CTE, and the days' CTE is gone."""
    last = first + dt.timedelta(days=span)
    stamp = dt.datetime.combine(first, time).isoformat(sep=" ")
    if offset_minutes is not None:
        sign = "-" if offset_minutes < 0 else "+"
        stamp += f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"
    start, end = (first if given_first else None), (last if given_last else None)
    bounds = bounds_select(start, end, exp.to_table("t"), exp.column("at", "t"))
    days = days_select("b", 3, spine_last(start, end))
    period = exp.DateTrunc(this=exp.column("spine_day"), unit=exp.var(unit))
    reader = (
        exp.select(
            exp.alias_(period, "period"),
            exp.alias_(exp.Max(this=exp.column("spine_day", "d")), "last_day"),
            exp.alias_(exp.Min(this=exp.column("spine_day")), "first_day"),
            exp.alias_(exp.Count(this=exp.Star()), "days"),
        )
        .from_("d")
        .group_by(period.copy())
    )
    read_by(reader, "d")
    tree = reader.with_("spine_digits", as_=digits_cte().this).with_("b", as_=bounds)
    tree = tree.with_("d", as_=days)
    # The same rules, with the spines' days counted on the Julian day in their own CTE.
    kept = tuple(
        acts_on(exp.Select)(sqlite_day_spine) if rule is sqlite_spines else rule
        for rule in RULES["sqlite"]
    )
    assert kept != RULES["sqlite"]
    with mock.patch.dict(RULES, {"sqlite": kept}):
        separate = prepared(tree.copy(), "sqlite").sql("sqlite")
    counted = prepared(tree.copy(), "sqlite").sql("sqlite")
    assert " d AS (" in separate
    assert " d AS (" not in counted
    assert ("JULIANDAY('" in counted) is given_first
    with sqlite3.connect(":memory:") as connection:
        connection.execute("CREATE TABLE t (at TEXT)")
        connection.execute("INSERT INTO t VALUES (?), (?)", (stamp, last.isoformat()))
        want = connection.execute(separate + " ORDER BY 1").fetchall()
        got = connection.execute(counted + " ORDER BY 1").fetchall()
    assert got == want
    if span >= 0 and given_first and given_last:
        assert sum(row[3] for row in want) == span + 1


@settings(max_examples=300, deadline=None)
@given(
    day=st.sampled_from(
        [dt.date(2025, 12, 30) + dt.timedelta(days=d) for d in (0, 1, 2, 3, 32, 33, 34)]
    ),
    time=st.times(),
    offset_minutes=st.sampled_from([None, 0, -840, -600, -1, 59, 330, 840]),
    separator=st.sampled_from([" ", "T"]),
    negated=st.booleans(),
    bounds=st.sampled_from(["between", "from", "until", "both"]),
)
def test_sqlite_text_date_range_keeps_the_rows_of_date(
    day: dt.date,
    time: dt.time,
    offset_minutes: int | None,
    separator: str,
    negated: bool,
    bounds: str,
) -> None:
    """The premise of sqlite_text_date_range, on SQLite itself: ISO-8601 text with or without a
    UTC offset, a day either side of a range's ends, is kept by the rewritten condition (both
    ends made one BETWEEN) exactly when DATE() puts it inside (and untouched under a NOT, where
    text DATE() cannot read, such as 'garbage', would change from NULL to true)."""
    text = dt.datetime.combine(day, time).isoformat(sep=separator)
    if offset_minutes is not None:
        sign = "-" if offset_minutes < 0 else "+"
        text += f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"
    date, low, high = "CAST(t AS DATE)", "CAST('2026-01-01' AS DATE)", "CAST('2026-01-31' AS DATE)"
    condition = {
        "between": f"{date} BETWEEN {low} AND {high}",
        "from": f"{date} >= {low}",
        "until": f"{date} <= {high}",
        "both": f"{date} <= {high} AND k = 1 AND {date} >= {low}",
    }[bounds]
    where = f"NOT ({condition})" if negated else f"k = 1 AND {condition}"
    query = sqlglot.parse_one(f"SELECT t FROM x WHERE {where}", read="sqlite")
    rewritten = query.copy().transform(sqlite_text_date_range).sql("sqlite")
    assert ("t >= DATE(" in rewritten or "t < DATE(" in rewritten) is not negated
    # Both ends over one column are one BETWEEN, the day parsed once per row.
    merged = bounds == "both" and not negated
    assert ("DATE(t) BETWEEN" in rewritten) is (bounds == "between" or merged)
    with sqlite3.connect(":memory:") as connection:
        connection.execute("CREATE TABLE x (k INTEGER, t TIMESTAMP)")
        connection.executemany("INSERT INTO x VALUES (1, ?)", [(text,), ("garbage",), (None,)])
        want = connection.execute(query.sql("sqlite")).fetchall()
        got = connection.execute(rewritten).fetchall()
    assert got == want


# Days at the edges of weeks, months, quarters and years, leap days included.
_EDGE_DAYS = sorted(
    {
        dt.date(year, month, 1) + dt.timedelta(days=delta)
        for year in (2023, 2024)
        for month in range(1, 13)
        for delta in (-1, 0, 1, 14)
    }
    | {dt.date(2024, 2, 29), dt.date(2024, 12, 31), dt.date(2025, 1, 1)}
)


@pytest.mark.parametrize(
    "grain", ["week", "month", "quarter", "year", "fiscal_quarter", "fiscal_year"]
)
def test_mysql_buckets_on_mariadb(grain: str) -> None:
    """MySQL has no date truncation; the date arithmetic written instead (week, month,
    quarter, year, and fiscal periods starting in February) gives the period's first day as
    Python's calendar does, on a real MariaDB, for days at every edge."""
    import sqlalchemy
    from conftest import MARIADB_URL

    from metrics_layer.planner.periods import period_of
    from metrics_layer.spec.models import Grain, WeekStart
    from metrics_layer.sql.dialects import prepared
    from metrics_layer.sql.time import bucket

    period = Grain(grain)
    expression = bucket(exp.column("d"), period, WeekStart.MONDAY, fiscal_year_start=2)
    rendered = prepared(expression, "mysql").sql("mysql")
    assert "STR_TO_DATE" not in rendered, rendered
    assert "DATE_TRUNC" not in rendered, rendered
    days = " UNION ALL ".join(f"SELECT DATE '{day.isoformat()}' AS d" for day in _EDGE_DAYS)
    engine = sqlalchemy.create_engine(MARIADB_URL)
    with engine.connect() as connection:
        found = connection.execute(
            sqlalchemy.text(f"SELECT d, {rendered} FROM ({days}) AS days ORDER BY d")
        ).all()
    engine.dispose()
    expected = [(day, period_of(day, period, WeekStart.MONDAY, 2)[0]) for day in _EDGE_DAYS]
    assert [(d, as_date(b)) for d, b in found] == expected


def as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    assert isinstance(value, dt.date), value
    return value
