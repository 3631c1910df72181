"""Golden SQL: every case of ``CASES`` compiled for every dialect of ``DIALECTS``, kept in files.

``tests/golden/<dialect>/<case>.sql`` holds exactly what ``Query.sql(dialect)`` returns (or a
``-- unsupported: <message>`` line, see tests/golden/README.md), so a reviewer sees every change
of generated SQL in the diff. ``pytest tests/sql --update-golden`` (``make golden``) rewrites them.
The same table drives the parse-back checks below, the DuckDB runs, and the checks on the
PostgreSQL and MariaDB servers.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

import metrics_layer as ml
from metrics_layer.errors import UnsupportedError

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE_COMMAND = "python -m pytest tests/sql/test_golden.py --update-golden   (or: make golden)"
UNSUPPORTED = "-- unsupported: "

DIALECTS = (
    "duckdb",
    "postgres",
    "snowflake",
    "bigquery",
    "spark",
    "databricks",
    "redshift",
    "trino",
    "mysql",
    "sqlite",
    "clickhouse",
)

# Dialects whose golden SQL is not reproduced character for character by parse -> generate.
# MySQL: the week rule wraps WEEKDAY() in parentheses for INTERVAL, and sqlglot's month/hour
# truncation (DATE_ADD over TIMESTAMPDIFF) and its NULLS LAST emulation (a CASE key before the
# real key) are built as nodes that, once parsed back, pretty-print on more lines. The tokens are
# the same, and a second round trip is a fixpoint; that is what is asserted there.
# DuckDB: a day spine adds a column of days as ``INTERVAL (spine_offsets.n) DAY``, which parses
# back with the parentheses as a node of their own and pretty-prints on three lines.
LAYOUT_ONLY_ROUND_TRIP = frozenset({"mysql", "duckdb"})


@dataclass(frozen=True)
class Case:
    """One ``layer.query(...)`` over the shipped definitions."""

    name: str
    metrics: tuple[str, ...] = ()
    by: tuple[str, ...] = ()
    where: str | None = None
    start: str | None = None
    end: str | None = None
    order: tuple[str, ...] = ()
    limit: int | None = None
    # sqlglot reads ``+ INTERVAL 1 MONTH`` back as ``INTERVAL '1' MONTH`` in some dialects: a
    # case with month arithmetic is checked to parse, and to be stable from then on.
    exact_round_trip: bool = True

    def query(self, layer: ml.SemanticLayer) -> ml.Query:
        return layer.query(
            list(self.metrics),
            by=list(self.by),
            where=self.where,
            start=self.start,
            end=self.end,
            order=list(self.order),
            limit=self.limit,
        )


CASES: tuple[Case, ...] = (
    Case("simple_by_month", ("signups",), ("metric_time.month",)),
    Case(
        "readme_query",
        ("daily_active_users", "signups"),
        ("metric_time.week", "user.plan"),
        where="user.country = 'DE'",
        start="2026-01-01",
        end="2026-03-31",
        order=("-daily_active_users",),
        limit=100,
        # a week's number of days is date arithmetic (DATE_DIFF, INTERVAL), read back in
        # another spelling by some dialects
        exact_round_trip=False,
    ),
    Case("semi_additive_by_month", ("mrr", "arpu"), ("metric_time.month",)),
    Case(
        "ratio_by_channel",
        ("paid_conversion_rate",),
        ("metric_time.quarter", "user.acquisition_channel"),
    ),
    Case(
        "dimension_listing", (), ("user.plan", "user.country"), order=("user.country", "user.plan")
    ),
    Case("entity_group_by", ("new_mrr",), ("user",), order=("-new_mrr", "user"), limit=10),
    Case(
        "multi_source",
        ("signups", "daily_active_users", "new_mrr", "paying_customers"),
        ("metric_time.month",),
        exact_round_trip=False,  # a month's number of days, as in readme_query
    ),
    Case("joined_time_grain", ("events_per_active_user",), ("user.signed_up_at.month",)),
    Case(
        "time_filter_at_grain",
        ("daily_active_users",),
        ("metric_time.month",),
        where="user.signed_up_at.month = '2026-02-01'",
        exact_round_trip=False,  # a month's number of days, as in readme_query
    ),
    Case(
        "totals",
        ("signups", "daily_active_users", "mrr"),
        start="2026-01-01",
        end="2026-01-31",
        exact_round_trip=False,  # the range's number of days, as in readme_query
    ),
    Case(
        "hourly_with_boolean_filter",
        ("signups",),
        ("metric_time.hour",),
        where="user.ever_paid",
        start="2026-03-01",
        end="2026-03-01",
    ),
    Case("yearly_by_platform", ("events_per_active_user",), ("metric_time.year", "event.platform")),
    Case(
        "measure_time_by_month",
        ("new_mrr", "cancelled_subscriptions", "net_new_mrr"),
        ("metric_time.month",),
        start="2026-01-01",
        end="2026-03-31",
    ),
    Case(
        "date_parts",
        ("signups",),
        ("metric_time.day_of_week", "metric_time.week_of_year", "metric_time.hour_of_day"),
        where="metric_time.day_of_year <= 90 AND metric_time.month_of_year IN (1, 2)",
    ),
    Case(
        "retail_calendar",
        ("new_mrr", "new_mrr_retail_year_to_date"),
        ("metric_time.retail_month", "user.signed_up_at.retail_year"),
        where="metric_time.retail_year = '2025-02-02'",
        # the day spine's INTERVAL arithmetic is laid out differently when read back
        exact_round_trip=False,
    ),
    Case(
        # grain-to-date over a date range: the rows read from the first day of the earliest
        # retail year (a calendar lookup) or month (a literal) any window starts on
        "to_date_range",
        ("new_mrr_month_to_date", "new_mrr_retail_year_to_date"),
        ("metric_time.month",),
        start="2025-07-01",
        end="2026-06-30",
        exact_round_trip=False,
    ),
    Case(
        # a 7- and a 28-day window by month: each window within its month, the days' users
        # joined to it
        "rolling_distinct_by_month",
        ("weekly_active_users", "monthly_active_users"),
        ("metric_time.month",),
        start="2025-07-01",
        end="2026-06-30",
        exact_round_trip=False,
    ),
    Case(
        # a 7-day window by day: counted from the days each user enters and leaves it
        "rolling_distinct_by_day",
        ("weekly_active_users",),
        ("metric_time.day",),
        start="2026-06-01",
        end="2026-06-30",
        exact_round_trip=False,
    ),
    Case(
        # a cohort table: each cohort's users crossed with the period numbers once
        "weekly_cohort_table",
        ("weekly_cohort_retention",),
        ("metric_time.month", "weekly_cohort_retention.period"),
        start="2026-01-01",
        end="2026-03-31",
        exact_round_trip=False,
    ),
    Case(
        "conversion_with_entity_filter",
        ("trial_to_paid_rate",),
        ("metric_time.week",),
        where="user.country = 'DE'",
        start="2026-01-05",
        end="2026-03-29",
        exact_round_trip=False,  # the window's INTERVAL 14 DAY, read back as INTERVAL '14' DAY
    ),
    Case(
        "retention_with_entity_filter",
        ("retention_d7",),
        ("metric_time.week",),
        where="user.country = 'DE'",
        start="2026-01-05",
        end="2026-03-29",
        exact_round_trip=False,  # the targets' INTERVAL 7 DAY, read back as INTERVAL '7' DAY
    ),
    Case(
        # churn of semi-additive values: each entity's value on the month's last day with
        # rows, beside the month before's; MariaDB reads the last month from the period edges
        "semi_additive_churn",
        ("net_revenue_retention", "subscription_churn_rate"),
        ("metric_time.month",),
        start="2025-07-01",
        end="2026-06-30",
        exact_round_trip=False,  # the shift's INTERVAL 1 MONTH, read back as INTERVAL '1' MONTH
    ),
    Case(
        "semi_additive_with_entity_filter",
        ("mrr",),
        ("metric_time.week",),
        where="user.country = 'DE'",
        start="2026-01-05",
        end="2026-03-29",
    ),
    Case(
        # a distinct count beside a sum, by week and a dimension, with a filter: DuckDB and
        # Spark find each week's last day first and test the filter in the WHERE (sql/build.py:
        # EDGES_FIRST); the others aggregate every day with the filter in each aggregate
        "semi_additive_distinct_count_by_group",
        ("arpu",),
        ("metric_time.week", "user.plan"),
        where="user.country = 'DE'",
        start="2026-01-05",
        end="2026-03-29",
    ),
    Case(
        "fiscal_quarters",
        ("new_mrr",),
        (
            "metric_time.fiscal_quarter",
            "metric_time.fiscal_year_number",
            "metric_time.fiscal_quarter_of_year",
        ),
        where="metric_time.quarter_of_year = 1 AND metric_time.day_of_month < 15",
        exact_round_trip=False,
    ),
)

CASE_PARAMS = [pytest.param(case, id=case.name) for case in CASES]
MATRIX = [
    pytest.param(case, dialect, id=f"{case.name}-{dialect}")
    for case in CASES
    for dialect in DIALECTS
]


def golden_path(case: Case, dialect: str) -> Path:
    return GOLDEN / dialect / f"{case.name}.sql"


def golden_text(layer: ml.SemanticLayer, case: Case, dialect: str) -> str:
    """What the golden file must hold: the SQL, or the UnsupportedError message on one line."""
    try:
        return case.query(layer).sql(dialect) + "\n"
    except UnsupportedError as exc:
        return UNSUPPORTED + " ".join(str(exc).split()) + "\n"


def read_golden(case: Case, dialect: str) -> str:
    """The stored golden text; fails with the command that creates it when it is missing."""
    return read_golden_file(golden_path(case, dialect))


def read_golden_file(path: Path) -> str:
    if not path.is_file():
        pytest.fail(f"golden file {_shown(path)} is missing; create it with: {UPDATE_COMMAND}")
    return path.read_text(encoding="utf-8")


def check_golden(path: Path, expected: str, *, update: bool) -> None:
    """Compare ``path`` with ``expected``; with ``update``, rewrite it instead."""
    if update:
        if not path.is_file() or path.read_text(encoding="utf-8") != expected:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(expected, encoding="utf-8", newline="\n")
        return
    stored = read_golden_file(path)
    if stored != expected:
        diff = "\n".join(
            difflib.unified_diff(
                stored.splitlines(), expected.splitlines(), "golden", "compiled", lineterm=""
            )
        )
        pytest.fail(
            f"generated SQL differs from {_shown(path)}:\n{diff}\n"
            f"If the change is intended, regenerate and review the diff: {UPDATE_COMMAND}"
        )


def _shown(path: Path) -> str:
    root = GOLDEN.parent.parent
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


# -- golden files ------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "dialect"), MATRIX)
def test_golden_sql(layer: ml.SemanticLayer, update_golden: bool, case: Case, dialect: str) -> None:
    check_golden(
        golden_path(case, dialect), golden_text(layer, case, dialect), update=update_golden
    )


def test_no_stale_golden_files(update_golden: bool) -> None:
    expected = {golden_path(case, dialect) for case in CASES for dialect in DIALECTS}
    stale = sorted(p for p in GOLDEN.glob("*/*.sql") if p not in expected)
    if update_golden:
        for path in stale:
            path.unlink()
        return
    assert not stale, (
        f"golden files without a case: {', '.join(_shown(p) for p in stale)}; "
        f"remove them or run: {UPDATE_COMMAND}"
    )


def test_case_names_are_unique() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))


def test_missing_golden_file_fails_with_the_command(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"missing; create it with: .*--update-golden"):
        check_golden(tmp_path / "duckdb" / "x.sql", "SELECT 1\n", update=False)


def test_changed_sql_fails_with_a_diff(tmp_path: Path) -> None:
    path = tmp_path / "x.sql"
    path.write_text("SELECT 1\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match=r"(?s)-SELECT 1.*\+SELECT 2.*--update-golden"):
        check_golden(path, "SELECT 2\n", update=False)


def test_update_writes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mysql" / "x.sql"
    check_golden(path, "SELECT 2\n", update=True)
    assert path.read_text(encoding="utf-8") == "SELECT 2\n"


# -- parse-back --------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "dialect"), MATRIX)
def test_golden_sql_parses_back(layer: ml.SemanticLayer, case: Case, dialect: str) -> None:
    text = golden_text(layer, case, dialect)
    if text.startswith(UNSUPPORTED):
        pytest.skip(f"{dialect} refuses {case.name} at compile time")
    sql = text.rstrip("\n")
    statements = sqlglot.parse(sql, read=dialect)
    assert len(statements) == 1
    tree = statements[0]
    assert isinstance(tree, exp.Select)
    back = tree.sql(dialect=dialect, pretty=True)
    if not case.exact_round_trip:
        assert sqlglot.parse_one(back, read=dialect).sql(dialect=dialect, pretty=True) == back
        return
    if dialect not in LAYOUT_ONLY_ROUND_TRIP:
        assert back == sql
        return
    assert _tokens(back, dialect) == _tokens(sql, dialect)
    assert sqlglot.parse_one(back, read=dialect).sql(dialect=dialect, pretty=True) == back


def _tokens(sql: str, dialect: str) -> list[tuple[object, str]]:
    return [(t.token_type, t.text) for t in Dialect.get_or_raise(dialect).tokenize(sql)]


# -- the DuckDB golden files run ---------------------------------------------------------------


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_duckdb_golden_sql_runs_and_matches_the_layer(
    layer: ml.SemanticLayer,
    demo_sql: Callable[[str], list[tuple[object, ...]]],
    case: Case,
) -> None:
    result = case.query(layer).run()
    from_file = demo_sql(read_golden(case, "duckdb"))
    assert result.rows, f"{case.name} returns no rows on the demo data; it would prove nothing"
    assert _normalised(from_file) == _normalised(result.rows)


def _normalised(rows: Sequence[Sequence[object]]) -> list[tuple[object, ...]]:
    """Rows in a canonical order (ties in ORDER BY may come back in any order), floats rounded."""

    def value(v: object) -> object:
        if isinstance(v, float):
            return round(v, 9)
        if isinstance(v, Decimal):
            return round(float(v), 9)
        return v

    return sorted((tuple(value(v) for v in row) for row in rows), key=repr)
