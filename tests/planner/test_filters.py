"""Filters are untrusted: a boolean over declared names compiles; anything else is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

import metrics_layer as ml

ALLOWED_HINT = "Use dimension names, literals, comparisons, AND/OR/NOT, IN, BETWEEN, LIKE"


def refused(layer: ml.SemanticLayer, where: str) -> ml.FilterError:
    with pytest.raises(ml.FilterError) as caught:
        layer.query(["signups"], where=where).sql()
    error = caught.value
    assert isinstance(error, ml.QueryError)
    assert error.field == "where"
    assert str(error).startswith("where: ")
    return error


def comparisons_of_country(sql: str, dialect: str) -> list[exp.EQ]:
    """Every ``country = ...`` in the compiled SQL, read back in ``dialect``."""
    [tree] = sqlglot.parse(sql, read=dialect)
    assert isinstance(tree, exp.Select)
    return [
        node
        for node in tree.find_all(exp.EQ)
        if isinstance(node.this, exp.Column) and node.this.name == "country"
    ]


@pytest.mark.parametrize(
    "where",
    [
        "1=1; DROP TABLE users",
        "user.country = 'de'; DROP TABLE users",
        "user.country = 'de'; SELECT 1",
        ";",
    ],
)
def test_statements_are_refused(layer: ml.SemanticLayer, where: str) -> None:
    error = refused(layer, where)
    assert "one boolean expression, not several statements; remove the ';'" in str(error)


@pytest.mark.parametrize(
    "where",
    [
        "user.country = 'de' -- and more",
        "user.country = 'de' --",
        "user.country = 'de' /* hidden */",
        "/* hidden */ user.country = 'de'",
        "user.country = /**/ 'de'",
        "user.country = 'a' OR 1=1 --'",
        "user.country = '' OR 1=1 --'",
        "user.country = 'a\\' OR 1=1 --'",
    ],
)
def test_comments_are_refused(layer: ml.SemanticLayer, where: str) -> None:
    assert "comments are not allowed in a filter; remove them" in str(refused(layer, where))


@pytest.mark.parametrize(
    ("where", "what"),
    [
        ("user.country IN (SELECT country FROM users)", "a subquery"),
        ("user.country = (SELECT 1)", "a subquery"),
        ("EXISTS (SELECT 1)", "a subquery"),
        ("NOT EXISTS (SELECT 1 FROM users WHERE users.plan = 'pro')", "a subquery"),
        ("user.country = 'de' UNION SELECT * FROM users", "a subquery"),
        ("user.country = 'de' UNION ALL SELECT country FROM users", "a subquery"),
        ("user.country = 'de' INTERSECT SELECT 1", "a subquery"),
        ("pg_sleep(10) IS NULL", "the function pg_sleep()"),
        ("user.country = version()", "the function version()"),
        ("read_csv('/etc/passwd') IS NULL", "the function read_csv()"),
        ("user.country = chr(65)", "the function chr()"),
        ("current_user = 'admin'", "the function current_user()"),
        ("COUNT(user.country) > 1", "the aggregate COUNT()"),
        ("SUM(1) > 0", "the aggregate SUM()"),
        ("max(user.plan) = 'pro'", "the aggregate MAX()"),
        ("* = 1", "'*'"),
        ("user.country = ?", "a placeholder"),
        ("user.country = :country", "a placeholder"),
        ("user.country = @country", "a placeholder"),
        ("user.country IN (VALUES (1))", "(values)"),
        ("user.country = N'x'", "(national)"),
    ],
)
def test_unsafe_parts_are_refused_by_name(layer: ml.SemanticLayer, where: str, what: str) -> None:
    message = str(refused(layer, where))
    assert f"{what.lower()} is not allowed in a filter" in message.lower()
    assert ALLOWED_HINT in message
    assert "LOWER" in message


@pytest.mark.parametrize(
    "where",
    [
        "user.country = 'de' ORDER BY 1",
        "user.country = 'de' LIMIT 1",
        "user.country = 'de')  OR (1=1",
        "user.country = `x`",
        "'",
        "(",
        "user.country # 'x'",
    ],
)
def test_unparsable_filter_shows_an_example(layer: ml.SemanticLayer, where: str) -> None:
    message = str(refused(layer, where))
    assert f"cannot parse {where!r}" in message
    assert (
        "A filter is a SQL boolean over dimension names such as \"entity.dimension = 'value'\""
        in message
    )
    assert "\x1b[" not in message


@pytest.mark.parametrize("where", ["1", "'de'", "1 + 1"])
def test_a_value_is_not_a_condition(layer: ml.SemanticLayer, where: str) -> None:
    message = str(refused(layer, where))
    assert f"{where!r} is not a condition; compare it with something" in message


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("user.countyr = 'de'", "'user' has no dimension 'countyr'. Did you mean 'country'?"),
        ("usr.country = 'de'", "unknown entity or source 'usr' in 'usr.country'. Did you mean"),
        ("contry = 'de'", "unknown name 'contry'"),
        ('user.country = "de"', "unknown name 'de'"),
    ],
)
def test_unknown_column_is_refused_with_a_suggestion(
    layer: ml.SemanticLayer, where: str, expected: str
) -> None:
    with pytest.raises(ml.QueryError) as caught:
        layer.query(["signups"], where=where).sql()
    assert caught.value.field == "where"
    assert expected in str(caught.value)


@pytest.mark.parametrize("where", ["user.countyr = 'de'", "user.country = $1"])
def test_unknown_column_is_a_filter_error(layer: ml.SemanticLayer, where: str) -> None:
    with pytest.raises(ml.QueryError) as caught:
        layer.query(["signups"], where=where).sql()
    assert isinstance(caught.value, ml.FilterError)


@pytest.mark.parametrize(
    "dialect",
    ["duckdb", "postgres", "mysql", "bigquery", "sqlite", "snowflake", "spark", "clickhouse"],
)
@pytest.mark.parametrize("value", ["a' OR 1=1 --", "x\\", "x\\' OR 1=1 --", "'; DROP TABLE users"])
def test_quotes_inside_a_literal_stay_inside_it(
    layer: ml.SemanticLayer, dialect: str, value: str
) -> None:
    literal = "'" + value.replace("'", "''") + "'"
    sql = layer.query(["signups"], where=f"user.country = {literal}").sql(dialect)
    [condition] = comparisons_of_country(sql, dialect)
    literal = condition.expression
    if dialect == "mysql":  # compared byte for byte: CAST('...' AS BINARY)
        assert isinstance(literal, exp.Cast)
        assert literal.to.sql("mysql") == "BINARY"
        literal = literal.this
    assert isinstance(literal, exp.Literal)
    assert literal.this == value
    assert condition.this.sql() == "users.country"


def test_escaped_injection_matches_no_rows(layer: ml.SemanticLayer) -> None:
    result = layer.query(["signups"], where="user.country = 'DE'' OR 1=1 --'").run()
    assert result.rows == ((0,),)


def signups_by_country(layer: ml.SemanticLayer) -> dict[str, int]:
    rows = layer.query(["signups"], by=["user.country"]).run().rows
    return {str(country): int(count) for country, count in rows}


@pytest.mark.parametrize(
    ("where", "in_sql", "countries"),
    [
        ("lower(user.country) = 'de'", "LOWER(users.country) = 'de'", {"DE"}),
        ("user.country IN ('DE', 'FR')", "users.country IN ('DE', 'FR')", {"DE", "FR"}),
        (
            "user.country NOT IN ('US')",
            "NOT users.country IN ('US')",
            {"BR", "DE", "FR", "GB", "IN", "JP"},
        ),
        (
            "user.country BETWEEN 'DE' AND 'GB'",
            "users.country BETWEEN 'DE' AND 'GB'",
            {"DE", "FR", "GB"},
        ),
        ("user.country IS NULL", "users.country IS NULL", set()),
        (
            "user.country IS NOT NULL",
            "NOT users.country IS NULL",
            {"BR", "DE", "FR", "GB", "IN", "JP", "US"},
        ),
        ("user.country LIKE 'G%'", "users.country LIKE 'G%'", {"GB"}),
        ("upper(trim(users.country)) = 'JP'", "UPPER(TRIM(users.country)) = 'JP'", {"JP"}),
        ("coalesce(country, 'XX') = 'US'", "COALESCE(users.country, 'XX') = 'US'", {"US"}),
        (
            "CASE WHEN user.country = 'IN' THEN 1 ELSE 0 END = 1",
            "CASE WHEN users.country = 'IN' THEN 1 ELSE 0 END = 1",
            {"IN"},
        ),
        (
            "NOT (user.country = 'BR')",
            "NOT (users.country = 'BR')",
            {"DE", "FR", "GB", "IN", "JP", "US"},
        ),
    ],
)
def test_allowed_filters_compile_and_filter(
    layer: ml.SemanticLayer, where: str, in_sql: str, countries: set[str]
) -> None:
    query = layer.query(["signups"], where=where)
    assert in_sql in query.sql(pretty=False)
    by_country = signups_by_country(layer)
    assert query.run().rows == ((sum(by_country[c] for c in countries),),)


@pytest.mark.parametrize(
    ("where", "in_sql"),
    [
        (
            "metric_time.month >= '2026-01-01'",
            "CAST(DATE_TRUNC('MONTH', CAST(users.signed_up_at AS DATE)) AS DATE)"
            " >= CAST('2026-01-01' AS DATE)",
        ),
        (
            "user.signed_up_at.month = '2026-01-01'",
            "CAST(DATE_TRUNC('MONTH', CAST(users.signed_up_at AS DATE)) AS DATE)"
            " = CAST('2026-01-01' AS DATE)",
        ),
        (
            "user.signed_up_at BETWEEN '2026-01-01' AND '2026-01-31'",
            # a range of days over a column is a range of the column (docs/queries.md)
            "users.signed_up_at >= CAST('2026-01-01' AS TIMESTAMP)"
            " AND users.signed_up_at < CAST('2026-01-31' AS TIMESTAMP) + INTERVAL '1' DAY",
        ),
        ("NOT user.ever_paid", "NOT user_payments.ever_paid"),
    ],
)
def test_time_and_boolean_dimensions_in_filters(
    layer: ml.SemanticLayer, where: str, in_sql: str
) -> None:
    assert in_sql in layer.query(["signups"], where=where).sql(pretty=False)


def test_month_filter_equals_the_month_row(layer: ml.SemanticLayer) -> None:
    by_month = dict(layer.query(["signups"], by=["metric_time.month"]).run().rows)
    january = [v for k, v in by_month.items() if str(k) == "2026-01-01"]
    filtered = layer.query(["signups"], where="user.signed_up_at.month = '2026-01-01'").run()
    assert filtered.rows == ((january[0],),)


@pytest.mark.parametrize(
    ("where", "in_sql"),
    [
        (
            "user.country = 'DE' AND user.plan = 'pro'",
            "users.country = 'DE' AND users.plan = 'pro'",
        ),
        (
            "user.country = 'DE' OR user.country = 'FR'",
            "users.country = 'DE' OR users.country = 'FR'",
        ),
        (
            "NOT (user.country = 'DE' OR user.plan = 'pro')",
            "NOT (users.country = 'DE' OR users.plan = 'pro')",
        ),
        ("CAST(user.ever_paid AS INT) = 1", "CAST(user_payments.ever_paid AS INT) = 1"),
    ],
)
def test_and_or_cast_compile(layer: ml.SemanticLayer, where: str, in_sql: str) -> None:
    assert in_sql in layer.query(["signups"], where=where).sql(pretty=False)


def test_metric_filter_with_and_loads(write_project: Callable[[dict[str, str]], Path]) -> None:
    project = write_project(
        {
            "a.yml": """
            sources:
              - name: users
                table: users
                dimensions: [{name: country}, {name: plan}]
                measures: [{name: signups, agg: count}]
            metrics:
              - name: german_pro_signups
                type: simple
                measure: users.signups
                filter: "country = 'DE' AND plan = 'pro'"
            """
        }
    )
    assert ml.load(project).metric("german_pro_signups").filter is not None
