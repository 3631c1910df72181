"""Layer 1 for definitions: trusted but unreviewed SQL (a source's ``sql``, ``table``, dimension,
measure and key ``expr``) may hold queries and pure functions, never statements, table or file
functions, free-text types or comments that reach an engine; ``check`` reports each violation at
its file, line and column."""

from __future__ import annotations

import subprocess
import sys

import pytest
from projects import USERS_SOURCE, WriteProject
from sqlglot import exp

import metrics_layer as ml
from metrics_layer.errors import Level
from metrics_layer.graph.expressions import ExpressionSyntaxError, parse_expression, parse_query
from metrics_layer.safety.allowlist import DEFINITION_ANONYMOUS, DEFINITION_FUNCTIONS
from metrics_layer.safety.samples import function_sample


@pytest.mark.parametrize("kind", DEFINITION_FUNCTIONS, ids=lambda kind: kind.__name__)
def test_every_allowed_function_is_accepted_in_a_definition(kind: type[exp.Func]) -> None:
    sample = function_sample(kind)
    assert sample is not None, f"no sample call parses into {kind.__name__}"
    tree = parse_expression(sample)
    assert any(type(node) is kind for node in tree.walk())
    query = parse_query(f"SELECT {sample} AS value FROM events")
    assert any(type(node) is kind for node in query.walk())


@pytest.mark.parametrize("name", sorted(DEFINITION_ANONYMOUS))
def test_every_allowed_unknown_function_is_accepted(name: str) -> None:
    tree = parse_expression(f"{name}(a, 'x')")
    assert isinstance(tree, exp.Anonymous)
    assert tree.name == name


# (what, text of a source's sql, words of the error)
HOSTILE_SQL: list[tuple[str, str, str]] = [
    ("stacked statements", "SELECT * FROM users; DROP TABLE users", "not several"),
    ("stacked COMMIT", "SELECT * FROM users; COMMIT; DROP TABLE users", "not several"),
    ("DDL", "DROP TABLE users", "must be one SELECT"),
    ("DML", "DELETE FROM users", "must be one SELECT"),
    ("writing CTE", "WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d", "statement"),
    ("COPY", "COPY users TO '/tmp/x.csv'", "must be one SELECT"),
    ("INTO OUTFILE", "SELECT * FROM users INTO OUTFILE '/tmp/x'", "unexpected token"),
    ("SELECT INTO", "SELECT * INTO copy_of_users FROM users", "not allowed"),
    ("FOR UPDATE", "SELECT * FROM users FOR UPDATE", "not allowed"),
    ("ATTACH", "ATTACH '/tmp/x.db' AS x", "unexpected token"),
    ("PRAGMA", "PRAGMA writable_schema = 1", "must be one SELECT"),
    ("SET", "SET default_transaction_read_only = off", "must be one SELECT"),
    ("table function", "SELECT * FROM read_csv('/etc/passwd')", "table function"),
    ("file as table", "SELECT * FROM '/etc/passwd'", "table name"),
    ("quoted file as table", 'SELECT * FROM "data.csv"', "table name"),
    ("generate_series", "SELECT * FROM generate_series(1, 1000000000000)", "table function"),
    ("file read", "SELECT pg_read_file('/etc/passwd') AS x FROM users", "pg_read_file()"),
    ("file read in a subquery", "SELECT (SELECT LOAD_FILE('/etc/passwd')) AS x", "LOAD_FILE()"),
    ("sleep", "SELECT *, pg_sleep(1) AS s FROM users", "pg_sleep()"),
    ("settings", "SELECT set_config('a', 'b', false) AS x", "set_config()"),
    ("quoted type name", 'SELECT CAST(user_id AS "x; DROP TABLE users") AS x FROM users', "type"),
    ("environment", "SELECT getenv('HOME') AS home", "getenv()"),
    ("session user", "SELECT CURRENT_USER AS who", "current_user()"),
    ("placeholder", "SELECT * FROM users WHERE user_id = ?", "placeholder"),
    ("deep nesting", "SELECT " + "(" * 80 + "1" + ")" * 80 + " AS x", "nests deeper"),
]


@pytest.mark.parametrize(("what", "sql", "words"), HOSTILE_SQL, ids=[h[0] for h in HOSTILE_SQL])
def test_hostile_source_sql_is_a_diagnostic_at_its_field(
    write_project: WriteProject, what: str, sql: str, words: str
) -> None:
    text = USERS_SOURCE.replace("table: users", "sql: " + _yaml_string(sql))
    graph, diagnostics = ml.check(write_project({"a.yml": text}))
    errors = [d for d in diagnostics if d.level is Level.ERROR]
    assert len(errors) == 1, errors
    [error] = errors
    assert (error.line, error.column) == (3, 10)
    assert error.message.startswith("cannot use the source's sql: ")
    assert words.lower() in error.message.lower(), error.message
    assert graph is not None
    assert "users" not in graph.sources


@pytest.mark.parametrize(("what", "sql", "words"), HOSTILE_SQL, ids=[h[0] for h in HOSTILE_SQL])
def test_hostile_calendar_sql_is_a_diagnostic_at_its_field(
    write_project: WriteProject, what: str, sql: str, words: str
) -> None:
    project = (
        "project:\n  name: p\n  calendar:\n    sql: "
        + _yaml_string(sql)
        + "\n    periods: [{name: retail_month}]\n"
    )
    graph, diagnostics = ml.check(
        write_project({"metrics_layer.yml": project, "a.yml": USERS_SOURCE})
    )
    errors = [d for d in diagnostics if d.level is Level.ERROR]
    assert len(errors) == 1, errors
    [error] = errors
    assert (error.file.endswith("metrics_layer.yml"), error.line, error.column) == (True, 4, 10)
    assert error.message.startswith("cannot use the calendar's sql: ")
    assert words.lower() in error.message.lower(), error.message
    assert graph is not None
    assert graph.calendar is None


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ("read_csv('/etc/passwd')", "bad table name"),
        ("'/etc/passwd'", "bad table name"),
        ("a.b.c.d", "bad table name"),
        ("cal; DROP TABLE users", "bad table name"),
    ],
)
def test_hostile_calendar_table_is_a_diagnostic_at_its_field(
    write_project: WriteProject, table: str, words: str
) -> None:
    project = (
        "project:\n  name: p\n  calendar:\n    table: "
        + _yaml_string(table)
        + "\n    periods: [{name: retail_month}]\n"
    )
    graph, diagnostics = ml.check(write_project({"metrics_layer.yml": project}))
    errors = [d for d in diagnostics if d.level is Level.ERROR]
    assert len(errors) == 1, errors
    assert errors[0].line == 4
    assert words in errors[0].message or "is not allowed in 'table'" in errors[0].message
    assert graph is not None
    assert graph.calendar is None


# (field to replace, replacement, line, words)
HOSTILE_EXPRESSIONS: list[tuple[str, str, int, str]] = [
    (
        "{name: country}",
        "{name: country, expr: \"pg_read_file('/etc/passwd')\"}",
        9,
        "pg_read_file",
    ),
    ("{name: country}", "{name: country, expr: 'CAST(country AS \"t; DROP\")'}", 9, "type name"),
    ("{name: country}", "{name: country, expr: '(SELECT 1); DROP TABLE users'}", 9, "exactly one"),
    ("{name: signups, agg: count}", "{name: signups, agg: sum, expr: 'SLEEP(10)'}", 11, "SLEEP()"),
    (
        "{name: signups, agg: count}",
        "{name: signups, agg: sum, expr: 'read_text(x)'}",
        11,
        "read_text",
    ),
    ("key: user_id,", "key: \"lo_import('/etc/passwd')\",", 6, "lo_import()"),
]


@pytest.mark.parametrize(("old", "new", "line", "words"), HOSTILE_EXPRESSIONS)
def test_hostile_expressions_are_diagnostics_at_their_line(
    write_project: WriteProject, old: str, new: str, line: int, words: str
) -> None:
    assert old in USERS_SOURCE
    _, diagnostics = ml.check(write_project({"a.yml": USERS_SOURCE.replace(old, new)}))
    errors = [d for d in diagnostics if d.level is Level.ERROR]
    assert [e.line for e in errors] == [line]
    assert words.lower() in errors[0].message.lower(), errors[0].message


HISTORY = """\
  - name: plan_history
    table: plan_history
    valid_from: valid_from
    valid_to: valid_to
    entities:
      - {name: user, key: user_id}
    dimensions:
      - {name: plan}
"""


@pytest.mark.parametrize("field", ["valid_from", "valid_to"])
@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("pg_read_file('/etc/passwd')", "pg_read_file"),
        ("(SELECT 1); DROP TABLE users", "exactly one"),
        ("SLEEP(10)", "SLEEP()"),
        ('CAST(valid_from AS "t; DROP")', "type name"),
    ],
)
def test_hostile_validity_is_a_diagnostic_at_its_line(
    write_project: WriteProject, field: str, expression: str, words: str
) -> None:
    text = USERS_SOURCE + HISTORY.replace(
        f"{field}: {field}", f"{field}: {_yaml_string(expression)}"
    )
    _, diagnostics = ml.check(write_project({"a.yml": text}))
    errors = [d for d in diagnostics if d.level is Level.ERROR]
    assert [e.line for e in errors] == [14 if field == "valid_from" else 15], errors
    assert words.lower() in errors[0].message.lower(), errors[0].message


def test_comments_in_definitions_never_reach_the_sql(write_project: WriteProject) -> None:
    sql = "SELECT * /*! , (SELECT LOAD_FILE('/etc/passwd')) AS x */ FROM users -- only users"
    text = USERS_SOURCE.replace("table: users", "sql: " + _yaml_string(sql))
    text += "metrics:\n  - {name: signups, type: simple, measure: users.signups}\n"
    layer = ml.load(write_project({"a.yml": text}))
    for dialect in ("duckdb", "mysql", "postgres"):
        compiled = layer.query(["signups"]).sql(dialect)
        assert "/*" not in compiled
        assert "--" not in compiled
        assert "LOAD_FILE" not in compiled.upper()


def test_the_attack_through_a_metric_filter_fails_check(write_project: WriteProject) -> None:
    metric = (
        "metrics:\n  - name: signups\n    type: simple\n    measure: users.signups\n"
        "    filter: CAST(country AS \"x; DROP TABLE users\") = 'x'\n"
    )
    project = write_project({"a.yml": USERS_SOURCE + metric})
    run = subprocess.run(
        [sys.executable, "-m", "metrics_layer.cli.main", "check", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert "a.yml:16:13: error[expression]: metric 'signups': filter: the type name" in run.stderr
    assert "Traceback" not in run.stderr


def test_an_expression_error_names_the_reason() -> None:
    with pytest.raises(ExpressionSyntaxError, match=r"the function pg_sleep\(\)"):
        parse_expression("pg_sleep(10)")


def _yaml_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def test_definition_sql_longer_than_the_limit_is_refused() -> None:
    from metrics_layer.safety.allowlist import LIMITS

    text = "SELECT " + " + ".join(["1"] * (LIMITS.definition_chars // 4)) + " AS x"
    assert len(text) > LIMITS.definition_chars
    with pytest.raises(ExpressionSyntaxError, match="characters long; the limit is 100,000"):
        parse_query(text)
