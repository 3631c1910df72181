"""References between definitions: every broken one is reported with its file, line and a fix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from projects import USERS_SOURCE, WriteProject

import metrics_layer as ml
from metrics_layer.errors import Diagnostic, Level


def said(diagnostic: Diagnostic) -> str:
    """A diagnostic's message and hint, as its one-line form joins them."""
    return f"{diagnostic.message}; {diagnostic.hint}" if diagnostic.hint else diagnostic.message


SOURCE = USERS_SOURCE
FIRST_METRIC_LINE = 13

# orders reaches countries through users and through stores, two hops each way.
DIAMOND = """\
sources:
  - name: orders
    table: orders
    time: ordered_at
    entities:
      - {name: order, key: order_id, primary: true}
      - {name: user, key: user_id}
      - {name: store, key: store_id}
    dimensions:
      - {name: ordered_at, type: time}
    measures:
      - {name: orders, agg: count}
  - name: users
    table: users
    entities:
      - {name: user, key: user_id, primary: true}
      - {name: country, key: country_code}
    dimensions:
      - {name: plan}
  - name: stores
    table: stores
    entities:
      - {name: store, key: store_id, primary: true}
      - {name: country, key: country_code}
  - name: countries
    table: countries
    entities:
      - {name: country, key: code, primary: true}
    dimensions:
      - {name: region}
  - name: warehouses
    table: warehouses
    dimensions:
      - {name: city}
metrics:
  - {name: order_count, type: simple, measure: orders.orders}
"""
PATH_VIA_USERS = "orders -> users (via user) -> countries (via country)"
PATH_VIA_STORES = "orders -> stores (via store) -> countries (via country)"


def errors(project: Path) -> list[Diagnostic]:
    """The diagnostics of a failing load; each must name a file of the project and a line."""
    with pytest.raises(ml.DefinitionError) as caught:
        ml.load(project)
    found = list(caught.value.diagnostics)
    assert found, "a DefinitionError must carry diagnostics"
    text = str(caught.value)
    for diagnostic in found:
        assert diagnostic.file is not None
        assert Path(diagnostic.file).parent == project
        assert isinstance(diagnostic.line, int)
        assert diagnostic.line >= 1
        assert f"{diagnostic.file}:{diagnostic.line}:" in text
    return found


def one(project: Path) -> Diagnostic:
    found = errors(project)
    assert len(found) == 1, [str(d) for d in found]
    return found[0]


def metrics(*lines: str) -> str:
    return SOURCE + "metrics:\n" + "".join(f"  - {line}\n" for line in lines)


@pytest.mark.parametrize(
    ("metric", "column", "expected"),
    [
        (
            "{name: a, type: simple, measure: users.signup}",
            38,
            "source 'users' has no measure 'signup'; Did you mean 'signups'?",
        ),
        (
            "{name: a, type: simple, measure: user.signups}",
            38,
            "unknown source 'user' in 'user.signups'; Did you mean 'users.signups'?",
        ),
        (
            "{name: a, type: simple, measure: signups}",
            38,
            "'signups' is not a measure reference; write 'source.measure'. "
            "Did you mean 'users.signups'?",
        ),
        (
            "{name: a, type: ratio, numerator: users.signups, denominator: signup}",
            67,
            "unknown metric 'signup'; Did you mean 'signups'?",
        ),
        (
            "{name: a, type: ratio, numerator: users.sign_ups, denominator: users.signups}",
            39,
            "source 'users' has no measure 'sign_ups'; Did you mean 'signups'?",
        ),
        (
            "{name: a, type: derived, expr: 'signup * 2'}",
            36,
            "unknown metric 'signup' in expr; Did you mean 'signups'?",
        ),
        (
            "{name: a, type: derived, expr: 'x', inputs: [{metric: signup, alias: x}]}",
            59,
            "unknown metric 'signup'; Did you mean 'signups'?",
        ),
    ],
)
def test_unknown_reference_suggests_and_points_at_the_field(
    write_project: WriteProject, metric: str, column: int, expected: str
) -> None:
    project = write_project(
        {"a.yml": metrics("{name: signups, type: simple, measure: users.signups}", metric)}
    )
    diagnostic = one(project)
    assert diagnostic.file == str(project / "a.yml")
    assert (diagnostic.line, diagnostic.column) == (FIRST_METRIC_LINE + 1, column)
    assert expected in said(diagnostic)


def test_derived_expression_names_metrics_not_dimensions(write_project: WriteProject) -> None:
    project = write_project(
        {"a.yml": metrics("{name: a, type: derived, expr: 'users.country + 1'}")}
    )
    diagnostic = one(project)
    assert diagnostic.line == FIRST_METRIC_LINE
    assert "'users.country': a derived expression names metrics, not dimensions" in (
        said(diagnostic)
    )


def test_every_reference_error_is_listed_not_just_the_first(write_project: WriteProject) -> None:
    project = write_project(
        {
            "a.yml": metrics(
                "{name: a, type: simple, measure: users.signup}",
                "{name: b, type: simple, measure: users.signups, rollup: sum}",
                "{name: c, type: ratio, numerator: a, denominator: nope}",
            ),
            # a second source where 'user' is primary (allowed), with a bad time
            "b.yml": SOURCE.replace("name: users", "name: people").replace(
                "time: signed_up_at", "time: country"
            ),
        }
    )
    found = errors(project)
    assert sorted((Path(d.file or "").name, d.line) for d in found) == [
        ("a.yml", FIRST_METRIC_LINE),
        ("a.yml", FIRST_METRIC_LINE + 1),
        ("a.yml", FIRST_METRIC_LINE + 2),
        ("b.yml", 4),
    ]


def test_duplicate_metric_across_files_names_the_first_place(write_project: WriteProject) -> None:
    project = write_project(
        {
            "a.yml": metrics("{name: signups, type: simple, measure: users.signups}"),
            "b.yml": "metrics:\n"
            "  - {name: other, type: simple, measure: users.signups, filter: \"country = 'DE'\"}\n"
            "  - {name: signups, type: simple, measure: users.signups}\n",
        }
    )
    diagnostic = one(project)
    assert (diagnostic.file, diagnostic.line) == (str(project / "b.yml"), 3)
    assert (
        f"metric 'signups' is defined twice (first at {project / 'a.yml'}:{FIRST_METRIC_LINE})"
        in said(diagnostic)
    )
    assert "rename or remove one" in said(diagnostic)


def test_duplicate_names_inside_a_source_are_reported(write_project: WriteProject) -> None:
    text = SOURCE.replace(
        "      - {name: country}\n", "      - {name: country}\n      - {name: country}\n"
    ).replace(
        "      - {name: signups, agg: count}\n",
        "      - {name: signups, agg: count}\n      - {name: signups, agg: sum, expr: x}\n",
    )
    found = errors(write_project({"a.yml": text}))
    assert [(d.line, said(d).split(" is")[0]) for d in found] == [
        (10, "'country'"),
        (13, "measure 'signups'"),
    ]


@pytest.mark.parametrize(
    ("lines", "cycle"),
    [
        (
            [
                "{name: a, type: derived, expr: 'b + 1'}",
                "{name: b, type: ratio, numerator: c, denominator: users.signups}",
                "{name: c, type: derived, expr: 'a * 2'}",
            ],
            "a -> b -> c -> a",
        ),
        (["{name: a, type: derived, expr: 'a + 1'}"], "a -> a"),
    ],
)
def test_metric_cycle_is_named(write_project: WriteProject, lines: list[str], cycle: str) -> None:
    diagnostic = one(write_project({"a.yml": metrics(*lines)}))
    assert (diagnostic.line, diagnostic.column) == (FIRST_METRIC_LINE, 12)
    assert f"metrics depend on each other in a cycle: {cycle}; make one of" in (said(diagnostic))


def test_entity_without_primary_source(write_project: WriteProject) -> None:
    text = SOURCE + (
        "  - name: events\n"
        "    table: events\n"
        "    entities:\n"
        "      - {name: usr, key: user_id}\n"
        "      - {name: account, key: account_id}\n"
    )
    graph, diagnostics = ml.check(write_project({"a.yml": text}))
    # 'account' is a key held only by events: grouped by as it is, no diagnostic. 'usr' is a
    # near miss of 'user', which has a primary source: a warning, and it loads.
    [diagnostic] = [d for d in diagnostics if d.code != "lock-missing"]
    assert diagnostic.level is Level.WARNING
    assert (diagnostic.line, diagnostic.column) == (15, 16)
    assert "entity 'usr' has no primary source" in said(diagnostic)
    assert "Did you mean 'user'?" in said(diagnostic)
    assert graph is not None
    assert graph.key_only == {"usr": ("events",), "account": ("events",)}


def test_an_entity_may_be_primary_in_several_sources(write_project: WriteProject) -> None:
    text = SOURCE + (
        "  - name: people\n"
        "    table: people\n"
        "    entities:\n"
        "      - {name: user, key: person_id, primary: true}\n"
        "    dimensions:\n"
        "      - {name: country}\n"
        "      - {name: nickname}\n"
    )
    graph, diagnostics = ml.check(write_project({"a.yml": text}))
    assert [d.code for d in diagnostics] == ["lock-missing"]
    assert graph is not None
    assert graph.primaries("user") == ("users", "people")
    nickname = graph.resolve("user.nickname", "users", field="by")
    assert (nickname.source, [s.right for s in nickname.path]) == ("people", ["people"])
    with pytest.raises(ml.QueryError, match=r"'user\.country' is ambiguous") as caught:
        graph.resolve("user.country", "users", field="by")
    assert "'users.country' or 'people.country'" in str(caught.value)


def test_entity_key_column_count_must_match_the_primary(write_project: WriteProject) -> None:
    text = SOURCE + (
        "  - name: events\n"
        "    table: events\n"
        "    entities:\n"
        "      - {name: user, key: [user_id, tenant_id]}\n"
    )
    diagnostic = one(write_project({"a.yml": text}))
    assert diagnostic.line == 15
    assert "entity 'user' has 2 key column(s) here but 1 in its primary source" in (
        said(diagnostic)
    )


@pytest.mark.parametrize(
    ("old", "new", "line", "expected"),
    [
        (
            "table: users",
            "sql: 'SELECT * FROM users WHERE'",
            3,
            "missing for WHERE",
        ),
        ("table: users", "sql: 'DROP TABLE users'", 3, "'sql' must be one SELECT statement"),
        ("table: users", "sql: 'SELECT 1; SELECT 2'", 3, "'sql' must be one SELECT statement"),
        ("table: users", "sql: 'DELETE FROM users'", 3, "'sql' must be one SELECT statement"),
        (
            "table: users",
            "table: users\n    sql: SELECT 1",
            2,
            "source 'users' needs exactly one of 'table' or 'sql'",
        ),
        ("    table: users\n", "", 2, "source 'users' needs exactly one of 'table' or 'sql'"),
        ("{name: country}", "{name: country, expr: 'lower('}", 9, "cannot parse SQL 'lower('"),
        (
            "{name: signups, agg: count}",
            "{name: signups, agg: sum, expr: 'amount +'}",
            11,
            "cannot parse SQL 'amount +'",
        ),
        ("key: user_id,", "key: 'user_id)',", 6, "cannot parse SQL 'user_id)'"),
    ],
)
def test_bad_source_sql_is_reported_at_its_field(
    write_project: WriteProject, old: str, new: str, line: int, expected: str
) -> None:
    assert old in SOURCE
    diagnostic = one(write_project({"a.yml": SOURCE.replace(old, new)}))
    assert diagnostic.line == line
    assert expected in said(diagnostic)


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        ("country", "time: 'country' is not a time dimension of source 'users'; Declare"),
        (
            "signed_up",
            "time: 'signed_up' is not a time dimension of source 'users'; "
            "Did you mean 'signed_up_at'?",
        ),
    ],
)
def test_time_must_name_a_time_dimension(
    write_project: WriteProject, time: str, expected: str
) -> None:
    diagnostic = one(
        write_project({"a.yml": SOURCE.replace("time: signed_up_at", f"time: {time}")})
    )
    assert (diagnostic.line, diagnostic.column) == (4, 11)
    assert expected in said(diagnostic)
    assert "Declare it under dimensions with 'type: time'" in said(diagnostic)


def test_grain_on_a_non_time_dimension(write_project: WriteProject) -> None:
    diagnostic = one(
        write_project({"a.yml": SOURCE.replace("{name: country}", "{name: country, grain: day}")})
    )
    assert (diagnostic.line, diagnostic.column) == (9, 32)
    assert "dimension 'country' has a grain but is not of type time" in said(diagnostic)


@pytest.mark.parametrize(
    "measure",
    ["{name: p90, agg: avg, expr: x, percentile: 0.9}", "{name: p90, agg: percentile, expr: x}"],
)
def test_percentile_goes_with_agg_percentile_only(
    write_project: WriteProject, measure: str
) -> None:
    text = SOURCE.replace("      - {name: signups, agg: count}\n", f"      - {measure}\n")
    diagnostic = one(write_project({"a.yml": text}))
    assert diagnostic.line == 11
    assert "'percentile' is required with agg: percentile and allowed only there" in (
        said(diagnostic)
    )


def test_semi_additive_needs_a_source_time(write_project: WriteProject) -> None:
    text = SOURCE.replace("    time: signed_up_at\n", "").replace(
        "{name: signups, agg: count}", "{name: balance, agg: sum, semi_additive: last}"
    )
    diagnostic = one(write_project({"a.yml": text}))
    assert diagnostic.line == 10
    assert "measure 'balance' is semi_additive over time, but source 'users' has no 'time'" in (
        said(diagnostic)
    )


def test_rollup_needs_per(write_project: WriteProject) -> None:
    diagnostic = one(
        write_project(
            {"a.yml": metrics("{name: a, type: simple, measure: users.signups, rollup: sum}")}
        )
    )
    assert diagnostic.line == FIRST_METRIC_LINE
    assert "'rollup' needs 'per'" in said(diagnostic)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("description: Counted.", "certified metric 'a' needs an owner and a description"),
        ("owner: growth", "certified metric 'a' needs an owner and a description"),
    ],
)
def test_certified_metric_needs_owner_and_description(
    write_project: WriteProject, extra: str, expected: str
) -> None:
    metric = f"{{name: a, type: simple, measure: users.signups, status: certified, {extra}}}"
    diagnostic = one(write_project({"a.yml": metrics(metric)}))
    # At the status that asks for them.
    assert (diagnostic.line, diagnostic.column) == (FIRST_METRIC_LINE, 61)
    assert diagnostic.code == "certification"
    assert expected in said(diagnostic)
    assert "or set status: draft" in said(diagnostic)


def test_changelog_above_version(write_project: WriteProject) -> None:
    metric = (
        "{name: a, type: simple, measure: users.signups, version: 2, changelog: ["
        "{version: 2, date: 2026-01-01, change: x}, {version: 3, date: 2026-02-01, change: y}]}"
    )
    diagnostic = one(write_project({"a.yml": metrics(metric)}))
    assert diagnostic.line == FIRST_METRIC_LINE
    assert "metric 'a' is version 2 but its changelog mentions version 3" in said(diagnostic)
    assert diagnostic.hint == "bump 'version' to 3 or fix the entry"


def test_governance_errors_of_several_metrics_are_all_listed(write_project: WriteProject) -> None:
    project = write_project(
        {
            "a.yml": metrics(
                "{name: a, type: simple, measure: users.signups, status: certified}",
                "{name: b, type: simple, measure: users.signups, filter: \"country = 'DE'\", "
                "changelog: "
                "[{version: 4, date: 2026-01-01, change: x}]}",
            )
        }
    )
    assert [d.line for d in errors(project)] == [FIRST_METRIC_LINE, FIRST_METRIC_LINE + 1]


def test_metric_filter_on_an_unknown_dimension_suggests(write_project: WriteProject) -> None:
    metric = "{name: a, type: simple, measure: users.signups, filter: \"contry = 'de'\"}"
    diagnostic = one(write_project({"a.yml": metrics(metric)}))
    # At the filter's value, like a filter that does not parse.
    assert (diagnostic.line, diagnostic.column) == (FIRST_METRIC_LINE, 61)
    assert diagnostic.code == "not-computable"
    assert "metric 'a' cannot be computed" in said(diagnostic)
    assert "unknown name 'contry'" in said(diagnostic)
    assert "Did you mean 'user.country'?" in said(diagnostic)


@pytest.fixture
def diamond(write_project: WriteProject) -> ml.SemanticLayer:
    return ml.load(write_project({"a.yml": DIAMOND}))


@pytest.mark.parametrize("name", ["country.region", "countries.region", "country"])
def test_ambiguous_join_path_names_both_paths(diamond: ml.SemanticLayer, name: str) -> None:
    with pytest.raises(ml.QueryError) as caught:
        diamond.query(["order_count"], by=[name])
    message = str(caught.value)
    assert f"'{name}' is reachable from 'orders' along two paths" in message
    assert PATH_VIA_USERS in message
    assert PATH_VIA_STORES in message


def test_one_hop_entity_is_not_ambiguous(diamond: ml.SemanticLayer) -> None:
    sql = diamond.query(["order_count"], by=["user.plan"]).sql()
    assert "LEFT JOIN users" in sql
    assert "countries" not in sql


def test_unreachable_dimension_says_why(diamond: ml.SemanticLayer) -> None:
    with pytest.raises(ml.QueryError) as caught:
        diamond.query(["order_count"], by=["warehouses.city"])
    assert (
        "'warehouses.city' cannot be reached from source 'orders': no chain of entities joins "
        "'orders' many-to-one to 'warehouses'"
    ) in str(caught.value)


@pytest.mark.parametrize(
    ("by", "where", "field"),
    [
        (["country.region"], None, "by"),
        (["warehouses.city"], None, "by"),
        ([], "country.region = 'eu'", "where"),
        ([], "warehouses.city = 'Oslo'", "where"),
    ],
)
def test_join_path_errors_name_the_query_field(
    diamond: ml.SemanticLayer, by: list[str], where: str | None, field: str
) -> None:
    with pytest.raises(ml.QueryError) as caught:
        diamond.query(["order_count"], by=by, where=where)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_metric_filters_on_ambiguous_or_unreachable_names_fail_the_load(
    write_project: WriteProject,
) -> None:
    text = DIAMOND + (
        "  - {name: eu_orders, type: simple, measure: orders.orders,"
        " filter: \"country.region = 'eu'\"}\n"
        "  - {name: oslo_orders, type: simple, measure: orders.orders,"
        " filter: \"warehouses.city = 'Oslo'\"}\n"
    )
    first, second = errors(write_project({"a.yml": text}))
    assert (first.line, second.line) == (37, 38)
    assert "metric 'eu_orders' cannot be computed" in said(first)
    assert PATH_VIA_USERS in said(first)
    assert PATH_VIA_STORES in said(first)
    assert "metric 'oslo_orders' cannot be computed" in said(second)
    assert "cannot be reached from source 'orders'" in said(second)


@pytest.mark.parametrize(
    "table",
    ["'users; DROP TABLE users'", "\"'/etc/passwd'\"", "\"read_csv('/etc/passwd')\"", "a.b.c.d"],
)
def test_a_table_name_is_a_plain_name_never_sql(write_project: WriteProject, table: str) -> None:
    diagnostic = one(write_project({"a.yml": SOURCE.replace("table: users", f"table: {table}")}))
    assert diagnostic.line == 3
    assert "is not allowed in 'table'; write [catalog.][schema.]table" in said(diagnostic)


def test_entity_with_an_empty_key_list_is_reported(write_project: WriteProject) -> None:
    diagnostic = one(write_project({"a.yml": SOURCE.replace("key: user_id,", "key: [],")}))
    assert diagnostic.line == 6
    assert "key" in said(diagnostic)


def test_source_sql_without_columns_is_reported(write_project: WriteProject) -> None:
    diagnostic = one(write_project({"a.yml": SOURCE.replace("table: users", "sql: SELECT")}))
    assert diagnostic.line == 3
    assert "sql" in said(diagnostic)


def test_a_dimension_named_like_a_grain_or_part_is_that_dimension(
    write_project: WriteProject,
) -> None:
    text = """\
sources:
  - name: users
    sql: "SELECT 1 AS user_id, 'x' AS month, 5 AS day_of_week, CAST('2026-01-07' AS DATE) AS at"
    time: at
    entities: [{name: user, key: user_id, primary: true}]
    dimensions:
      - {name: month}
      - {name: day_of_week}
      - {name: at, type: time}
    measures: [{name: signups, agg: count}]
metrics:
  - {name: signups, type: simple, measure: users.signups}
"""
    layer = ml.load(write_project({"a.yml": text}))
    for name in ("user.month", "users.month"):
        assert list(layer.query(["signups"], by=[name]).run().rows) == [("x", 1)]
    assert list(layer.query(["signups"], by=["user.day_of_week"]).run().rows) == [(5, 1)]
    # A time dimension still takes grains and parts: 2026-01-07 is a Wednesday.
    assert list(layer.query(["signups"], by=["user.at.day_of_week"]).run().rows) == [(3, 1)]
    assert list(layer.query(["signups"], by=["users.at.month"]).run().rows) == [
        (dt.date(2026, 1, 1), 1)
    ]
