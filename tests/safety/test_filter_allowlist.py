"""Layer 1 for untrusted filters: every node kind the allow-list lets through, and a corpus of
hostile filters that must be refused with the library's error before any SQL exists."""

from __future__ import annotations

import pytest
import sqlglot
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlglot import exp

import metrics_layer as ml
from metrics_layer.graph.expressions import parse_condition
from metrics_layer.safety.allowlist import FILTER_NODES, LIMITS
from metrics_layer.safety.samples import FILTER_SAMPLES
from metrics_layer.safety.statement import verify
from metrics_layer.safety.trees import definition_problem

SAMPLES = FILTER_SAMPLES


def test_every_allowed_node_kind_has_a_sample() -> None:
    assert set(SAMPLES) == set(FILTER_NODES)


@pytest.mark.parametrize("kind", list(SAMPLES), ids=lambda kind: kind.__name__)
def test_each_allowed_node_kind_is_accepted_and_runs(layer: ml.SemanticLayer, kind: type) -> None:
    where = SAMPLES[kind]
    tree = parse_condition(where, field="where")
    assert any(isinstance(node, kind) for node in tree.walk()), f"{where} has no {kind}"
    query = layer.query(["signups"], where=where)
    dialects = ("duckdb", "postgres", "mysql", "sqlite", "snowflake", "bigquery", "spark")
    # SQLite has no interval type: refused at compile time (tests/engines proves the others)
    refused = {"sqlite"} if kind in (exp.Interval, exp.Var) else set()
    for dialect in refused:
        with pytest.raises(ml.UnsupportedError, match=f"{dialect} cannot compute interval"):
            query.sql(dialect)
    for dialect in (name for name in dialects if name not in refused):
        statements = sqlglot.parse(query.sql(dialect), read=dialect)
        assert len(statements) == 1
        assert statements[0] is not None
        assert definition_problem(statements[0]) is None, dialect
    for dialect in ("duckdb", "postgres", "mysql", "sqlite"):
        if dialect not in refused:
            verify(query.sql(dialect), dialect)
    result = query.run()
    assert result.columns == ("signups",)
    assert isinstance(result.rows[0][0], int)


DAY = "CAST('2026-01-01' AS DATE)"
# (what, filter, words the error must contain)
HOSTILE: list[tuple[str, str, str]] = [
    ("quoted type name", "CAST(user.country AS \"x; DROP TABLE users\") = 'x'", "type name"),
    ("quoted type name, ::", "user.country::\"x') OR 1=1 --\" = 'x'", "cannot parse"),
    ("unknown type name", "CAST(user.country AS my_type) = 'x'", "type name"),
    ("type outside the list", "CAST(user.country AS BLOB) = 'x'", "the type"),
    ("nested type", "CAST(user.country AS INT[]) = 'x'", "the type"),
    ("type parameter text", "CAST(user.country AS VARCHAR(max)) = 'x'", "not allowed"),
    ("cast with a format", "CAST(user.country AS DATE FORMAT 'YYYY') = 'x'", "not allowed"),
    ("stacked statement", "1=1; DROP TABLE users", "several statements"),
    ("stacked COMMIT", "user.country = 'x'; COMMIT; DROP TABLE users", "several statements"),
    ("line comment", "user.country = 'x' -- '", "comments"),
    ("block comment", "user.country = 'x' /* */", "comments"),
    ("MySQL executable comment", "user.country = 'x' /*! OR 1=1 */", "comments"),
    ("subquery", "user.country IN (SELECT country FROM users)", "subquery"),
    ("EXISTS", "EXISTS (SELECT 1)", "subquery"),
    ("scalar subquery", "user.country = (SELECT 'x')", "subquery"),
    ("star", "user.country = *", "'*'"),
    ("file read, PostgreSQL", "pg_read_file('/etc/passwd') = 'x'", "pg_read_file()"),
    ("sleep, PostgreSQL", "pg_sleep(10) IS NULL", "pg_sleep()"),
    ("session setting, PostgreSQL", "set_config('a', 'b', false) = 'b'", "set_config()"),
    ("setting read, PostgreSQL", "current_setting('data_directory') = 'x'", "current_setting()"),
    ("large object, PostgreSQL", "lo_import('/etc/passwd') = 1", "lo_import()"),
    ("file read, MariaDB", "LOAD_FILE('/etc/passwd') = 'x'", "LOAD_FILE()"),
    ("sleep, MariaDB", "SLEEP(10) = 0", "SLEEP()"),
    ("benchmark, MariaDB", "BENCHMARK(1000000000, MD5('x')) = 0", "BENCHMARK()"),
    ("file read, DuckDB", "read_text('/etc/passwd') = 'x'", "read_text()"),
    ("CSV read, DuckDB", "read_csv('/etc/passwd') = 'x'", "READ_CSV()"),
    ("environment, DuckDB", "getenv('HOME') = 'x'", "getenv()"),
    ("system call", "system('id') = 0", "system()"),
    ("session user", "CURRENT_USER = 'postgres'", "CURRENT_USER"),
    ("version", "version() = 'x'", "version()"),
    ("random", "RANDOM() < 0.5", "RAND()"),
    ("aggregate", "COUNT(user.country) > 1", "aggregate COUNT()"),
    ("window", "ROW_NUMBER() OVER () = 1", "not allowed"),
    ("placeholder", "user.country = ?", "placeholder"),
    ("named placeholder", "user.country = :country", "placeholder"),
    ("quoted name", '"user"."country; x" = \'x\'', "only dotted dimension names"),
    ("unknown column", "password = 'x'", "unknown name"),
    ("table of another source", "users.password = 'x'", "has no dimension"),
    ("homoglyph name", "user.countr\u0443 = 'x'", "only dotted dimension names"),
    ("zero-width name", "user.coun\u200btry = 'x'", "only dotted dimension names"),
    ("fullwidth quote", "user.country = \uff07x\uff07", "only dotted dimension names"),
    ("NUL in a name", "user.coun\x00try = 'x'", "only dotted dimension names"),
    (
        "interval text",
        "metric_time.day > CURRENT_DATE_X - INTERVAL 'x' DAY",
        "interval",
    ),
    (
        "interval unit",
        "metric_time.day > CAST('2026-01-01' AS DATE) - INTERVAL '1' x",
        "not allowed",
    ),
    ("bad number", "LENGTH(user.country) = 1e99999999999", "not allowed"),
    ("deep nesting", "(" * 49 + "user.country = 'x'" + ")" * 49, "nests deeper"),
    ("deep NOT chain", "NOT " * 100 + "user.ever_paid", "nests deeper"),
    ("deep arithmetic", "LENGTH(user.country)" + " + -1" * 40 + " = 1", "nests deeper"),
    ("huge literal", "user.country = '" + "x" * (LIMITS.filter_chars + 1) + "'", "limit"),
    ("many parts", "user.country IN (" + ",".join(["1"] * LIMITS.filter_nodes) + ")", "parts"),
    ("only a comment", "-- nothing", "empty"),
    ("dialect escape, backslash", "user.country = 'x\\' OR 1=1 --'", "comments"),
    ("SELECT INTO", "user.country = 'x' INTO OUTFILE '/tmp/x'", "cannot parse"),
]


@pytest.mark.parametrize(("what", "where", "words"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_filters_are_refused(
    layer: ml.SemanticLayer, what: str, where: str, words: str
) -> None:
    with pytest.raises(ml.FilterError) as caught:
        layer.query(["signups"], where=where).sql()
    message = str(caught.value)
    assert message.startswith("where: ")
    assert words.lower() in message.lower(), message
    assert len(message) < 600
    assert "\x00" not in message


@pytest.mark.parametrize(
    "value",
    [
        "x' OR '1'='1",
        "x\\' OR 1=1 -- ",
        "x\\\\' OR 1=1 -- ",
        "\\",
        "x''",
        "$$ OR 1=1 $$",
        "é\u2019ü\U0001f600",
        "%_",
        "x\nOR 1=1",
    ],
)
def test_hostile_string_literals_stay_one_literal(layer: ml.SemanticLayer, value: str) -> None:
    literal = exp.Literal.string(value).sql()
    query = layer.query(["signups"], where=f"user.country = {literal}")
    assert query.run().rows == ((0,),)
    for dialect in ("duckdb", "postgres", "mysql", "sqlite", "bigquery", "snowflake", "spark"):
        [tree] = sqlglot.parse(query.sql(dialect), read=dialect)
        assert tree is not None
        values = [
            n.expression.name
            for n in tree.find_all(exp.EQ)
            if isinstance(n.this, exp.Column) and n.this.name == "country"
        ]
        assert values == [value], dialect


SQL_TOKENS = [
    "user.country",
    "user.plan",
    "user.ever_paid",
    "metric_time",
    "metric_time.month",
    "users.country",
    "'DE'",
    "'x''y'",
    "'\\'",
    "'\\''",
    "1",
    "2.5",
    "-",
    "NULL",
    "TRUE",
    "=",
    "<>",
    "<",
    ">=",
    "AND",
    "OR",
    "NOT",
    "IN",
    "(",
    ")",
    ",",
    "BETWEEN",
    "LIKE",
    "ILIKE",
    "IS",
    "CAST",
    "AS",
    "VARCHAR",
    "DATE",
    '"x; DROP TABLE users"',
    "::",
    "INTERVAL",
    "'30'",
    "DAY",
    "LOWER",
    "COALESCE",
    "pg_read_file",
    "read_csv",
    "SLEEP",
    ";",
    "--",
    "/*",
    "*/",
    "/*!",
    "SELECT",
    "FROM",
    "DROP",
    "COPY",
    "TO",
    "'/tmp/x'",
    "ATTACH",
    "PRAGMA",
    "SET",
    "INTO",
    "OUTFILE",
    "*",
    "?",
    "$1",
    "`",
    "[",
    "]",
    "\\",
    "\n",
    "\x00",
    "\u2019",
    "user.signed_up_at",
    "country",
    "'a''b'",
    "lower",
    "coalesce",
    "UNION",
    "EXISTS",
    ":x",
    "@x",
    "'",
    '"',
    "||",
    "+",
    "/",
    "%",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "INT",
    "{",
    "}",
    "pg_sleep",
    "TABLE",
    "users",
    "'1 day'",
    "->",
    "#",
    "^",
    "~",
    "!",
    "&",
    "|",
]
filters = st.one_of(
    st.lists(st.sampled_from(SQL_TOKENS), min_size=1, max_size=16).map(" ".join),
    st.lists(st.sampled_from(SQL_TOKENS), min_size=1, max_size=16).map("".join),
    st.text(max_size=60),
)
# Tokens of SQL, the declared names and hostile fragments, joined with or without spaces.
# 400 by default; the profile's number when larger (--hypothesis-profile=nightly: 10,000).
EXAMPLES = max(400, settings.default.max_examples)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(filters)
@example("CAST(user.country AS \"x; DROP TABLE users\") = 'x'")
@example("user.country = '\\' OR 1=1 -- '")
@example("user.country :: \"x; DROP\" = 'x'")
def test_generated_filters_never_produce_sql_outside_the_allow_list(
    layer: ml.SemanticLayer, text: str
) -> None:
    try:
        query = layer.query(["signups"], by=["user.plan"], where=text)
        compiled = {d: query.sql(d) for d in ("duckdb", "postgres", "mysql", "sqlite")}
    except ml.MetricsLayerError:
        return
    for dialect, sql in compiled.items():
        verify(sql, dialect)  # the statement guard: one query, allowed kinds only, no comment
