"""The statement guard: one plain query, nothing else, in the target dialect."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlglot import exp

import metrics_layer as ml
from metrics_layer.safety import statement as guard
from metrics_layer.safety.statement import Statement, verify

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = sorted(
    p for p in (ROOT / "golden").glob("*/*.sql") if not p.read_text().startswith("-- unsupported")
)
ENGINE_DIALECTS = ("duckdb", "postgres", "mysql", "sqlite", "clickhouse", "spark")
GRAINS = ((), ("metric_time.day",), ("metric_time.week",), ("metric_time.month",))

# One sample per refused kind, in a dialect that parses it; the reason the guard gives.
REFUSED = [
    ("SELECT 1; SELECT 2", "postgres", "2 statements"),
    ("SELECT 1; COMMIT; DROP TABLE t", "postgres", "3 statements"),
    ("DROP TABLE t", "duckdb", "Drop statement"),
    ("CREATE TABLE t AS SELECT 1", "duckdb", "Create statement"),
    ("INSERT INTO t VALUES (1)", "postgres", "Insert statement"),
    ("UPDATE t SET a = 1", "mysql", "Update statement"),
    ("WITH x AS (DELETE FROM t RETURNING 1) SELECT * FROM x", "postgres", "Delete"),
    ("WITH x AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT * FROM x", "postgres", "Insert"),
    ("COPY (SELECT 1) TO '/tmp/x'", "duckdb", "Copy statement"),
    ("SELECT 1 INTO OUTFILE '/tmp/x'", "mysql", "does not parse"),
    ("SELECT * INTO t2 FROM t", "postgres", "Into"),
    ("SELECT * FROM t FOR UPDATE", "postgres", "Lock"),
    ("SET default_transaction_read_only = off", "postgres", "Set statement"),
    ("PRAGMA query_only = OFF", "sqlite", "Pragma statement"),
    ("ATTACH 'x.db' AS y", "duckdb", "Attach statement"),
    ("BEGIN", "postgres", "Transaction statement"),
    ("COMMIT", "postgres", "Commit statement"),
    ("USE other", "mysql", "Use statement"),
    ("SELECT 1 -- note", "postgres", "comment"),
    ("SELECT 1 /* note */", "duckdb", "comment"),
    ("SELECT 1 /*! , SLEEP(10) */", "mysql", "comment"),
    ("SELECT * FROM read_csv('/etc/passwd')", "duckdb", "not a plain table name"),
    ("SELECT a FROM t WHERE a IN (SELECT * FROM read_csv('/x'))", "duckdb", "not a plain"),
    ("SELECT read_csv('/etc/passwd')", "duckdb", "not allowed"),
    ("SELECT * FROM read_text('/etc/passwd')", "duckdb", "not a plain table name"),
    ("SELECT * FROM '/etc/passwd'", "duckdb", "not a plain table name"),
    ('SELECT * FROM "data.csv"', "duckdb", "not a plain table name"),
    ("SELECT * FROM generate_series(1, 3)", "postgres", "not a plain table name"),
    ("SELECT pg_read_file('/etc/hostname')", "postgres", "pg_read_file() is not allowed"),
    ("SELECT pg_sleep(10)", "postgres", "not allowed"),
    ("SELECT LOAD_FILE('/etc/hostname')", "mysql", "not allowed"),
    ("SELECT SLEEP(10)", "mysql", "not allowed"),
    # ClickHouse's day spine functions pass for ClickHouse only
    ("SELECT addDays(d, 1), range(3) FROM t", "postgres", "not allowed"),
    ("SELECT * FROM t, LATERAL (SELECT 1) AS x", "postgres", "Lateral"),
    ("SELECT * FROM t WHERE a = $1", "postgres", "Parameter"),
    ("SELECT ?", "sqlite", "Placeholder"),
    ("SELECT @@secure_file_priv", "mysql", "SessionParameter"),
    ("SELECT 1 # note", "mysql", "comment"),
    ("SELECT 1 FROM", "postgres", "does not parse"),
    ("SELECT * FROM file('/etc/passwd')", "clickhouse", "not a plain table name"),
    ("SELECT * FROM url('http://127.0.0.1/x')", "clickhouse", "not a plain table name"),
    ("SELECT * FROM remote('127.0.0.1', system.one)", "clickhouse", "not a plain table name"),
    ("SELECT sleep(3)", "clickhouse", "sleep() is not allowed"),
    ("SELECT getSetting('readonly')", "clickhouse", "getSetting() is not allowed"),
    ("SELECT 1 SETTINGS readonly = 0", "clickhouse", "SETTINGS clause"),
    ("SELECT a FROM t SETTINGS max_execution_time = 0", "clickhouse", "SETTINGS clause"),
    ("SELECT 1 FORMAT JSON", "clickhouse", "FORMAT clause"),
    ("SELECT a FROM t ARRAY JOIN b", "clickhouse", "an ARRAY join"),
    ("SELECT a FROM t ANY LEFT JOIN u ON t.a = u.a", "clickhouse", "an ANY join"),
    ("SELECT a FROM t GLOBAL JOIN u ON t.a = u.a", "clickhouse", "a GLOBAL join"),
    ("SELECT a FROM t FINAL", "clickhouse", "Final"),
    ("INSERT INTO FUNCTION file('x') SELECT 1", "clickhouse", "Insert statement"),
    ("SYSTEM SHUTDOWN", "clickhouse", "Command statement"),
]


@pytest.mark.parametrize(("sql", "dialect", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused(sql: str, dialect: str, reason: str) -> None:
    with pytest.raises(ml.StatementError, match="refused SQL") as caught:
        verify(sql, dialect)
    assert reason in str(caught.value)
    assert caught.value.sql == sql
    assert isinstance(caught.value, ml.UserError)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a FROM t",
        "WITH x AS (SELECT a FROM t) SELECT COUNT(*) FROM x",
        "SELECT a FROM t UNION ALL SELECT a FROM u",
        "(SELECT a FROM t) EXCEPT (SELECT a FROM u)",
        "SELECT s.a FROM analytics.t AS s LEFT JOIN (SELECT a FROM u) AS v ON s.a = v.a",
    ],
)
def test_plain_queries_pass(sql: str) -> None:
    assert verify(sql, "postgres") == Statement(sql, "postgres")


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_golden_file_passes_in_its_dialect(path: Path) -> None:
    sql = path.read_text(encoding="utf-8").rstrip("\n")
    verify(sql, path.parent.name)


@pytest.mark.parametrize("dialect", ENGINE_DIALECTS)
def test_every_shipped_metric_passes(layer: ml.SemanticLayer, dialect: str) -> None:
    checked = 0
    for metric in layer.metrics:
        for by in GRAINS:
            try:
                sql = layer.query([metric.name], by=list(by)).sql(dialect)
            except (ml.QueryError, ml.UnsupportedError):
                continue
            verify(sql, dialect)
            checked += 1
    assert checked > len(layer.metrics)


FILTERS = (
    "lower(user.country) = 'de'",
    "upper(user.country) = 'DE'",
    "trim(user.plan) <> ''",
    "length(user.country) = 2",
    "abs(round(1.5)) > floor(ceil(0.5))",
    "coalesce(nullif(user.plan, ''), 'free') = 'free'",
    "substring(user.country, 1, 1) = 'D'",
    "concat(user.country, user.plan) <> ''",
    "starts_with(user.country, 'D')",
    "CASE WHEN user.plan = 'pro' THEN 1 ELSE 0 END = 1",
    "user.plan IN ('pro', 'team') AND NOT user.country IS NULL",
    "user.country LIKE 'D%' OR user.country BETWEEN 'A' AND 'C'",
)


@pytest.mark.parametrize("dialect", ENGINE_DIALECTS)
def test_every_filter_function_passes(layer: ml.SemanticLayer, dialect: str) -> None:
    for where in FILTERS:
        sql = layer.query(["signups"], by=["user.plan"], where=where).sql(dialect)
        verify(sql, dialect)


# -- on the run path ---------------------------------------------------------------------------


def test_compiled_sql_the_guard_refuses_is_an_internal_error(
    write_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the compiler to emit a function the guard does not allow (here: an allow-list
    without COUNT), run() stops with an InternalError before connecting anywhere."""
    root = write_project(
        {
            "metrics_layer.yml": """
                project: {name: naps}
                sources:
                  - name: naps
                    table: naps
                    entities: [{name: nap, key: nap_id, primary: true}]
                    measures: [{name: naps, agg: count}]
                metrics:
                  - {name: naps, type: simple, measure: naps.naps, version: 1}
                """
        }
    )
    everything_but_count = frozenset(guard._allowed("postgres")[0] - {exp.Count})
    monkeypatch.setattr(guard, "_allowed", lambda dialect: (everything_but_count, frozenset()))
    layer = ml.load(root, connection="postgresql://postgres@127.0.0.1:1/test")
    query = layer.query("naps")
    assert "COUNT(*)" in query.sql()  # compiling is not guarded
    with pytest.raises(
        ml.InternalError, match=r"refused .*COUNT\(\*\) \(Count\) is not allowed"
    ) as caught:
        query.run()
    assert isinstance(caught.value.__cause__, ml.StatementError)


def test_a_repeated_query_is_verified_once(
    layer: ml.SemanticLayer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = guard.verify

    def counting(sql: str, dialect: str) -> Statement:
        calls.append(dialect)
        return real(sql, dialect)

    monkeypatch.setattr(guard, "verify", counting)
    query = layer.query(["signups"], by=["metric_time.quarter"], where="user.plan = 'team'")
    first = query.run()
    second = layer.query(["signups"], by=["metric_time.quarter"], where="user.plan = 'team'").run()
    assert calls == ["duckdb"]
    assert first.rows == second.rows


def test_compiling_does_not_run_the_guard(
    layer: ml.SemanticLayer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(sql: str, dialect: str) -> Statement:
        raise AssertionError("the guard ran while compiling")

    monkeypatch.setattr(guard, "verify", refuse)
    assert layer.query(["signups"], by=["metric_time.year"]).sql("postgres").startswith("WITH")
