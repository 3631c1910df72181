"""The MCP server in process, through the SDK's own client: tool schemas, search by synonym,
numbers equal to hand-written SQL (and to ``layer.query``), refusals with suggestions and
candidates, draft and deprecated metrics marked, an access file's hidden names and row
filter, and hostile arguments answered with tool errors."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult

import metrics_layer as ml
from metrics_layer.mcp.server import create_server
from metrics_layer.server.config import ServerConfig
from metrics_layer.server.service import Service
from tests.conftest import DEFINITIONS
from tests.server.conftest import tenant_access

SQL = Callable[[str], list[tuple[Any, ...]]]
TOOLS = {
    "list_metrics",
    "search_metrics",
    "describe_metric",
    "list_dimensions",
    "query_metrics",
    "compile_sql",
}
BY_PLAN = "SELECT plan, count(*) FROM users {} GROUP BY 1 ORDER BY 1"
KEYS = {"de": "de-" + "d" * 40, "admin": "admin-" + "a" * 40}
ACCESS = tenant_access(KEYS, hidden_dimensions=("user.acquisition_channel",))
# A draft and a deprecated metric beside the shipped ones (which are all certified).
EXTRA = """\
metrics:
  - name: pro_signups
    label: Pro signups
    description: Signups on the pro plan.
    status: draft
    type: simple
    measure: users.signups
    filter: "plan = 'pro'"
    version: 1
  - name: legacy_signups
    label: Legacy signups
    description: Signups outside the free plan, as first counted.
    owner: growth
    status: deprecated
    replaced_by: signups
    sunset: 2099-01-01
    type: simple
    measure: users.signups
    filter: "plan <> 'free'"
    version: 1
"""


def calls(server: MCPServer, *requests: tuple[str, dict[str, Any]]) -> list[CallToolResult]:
    """Each ``(tool, arguments)`` called in one client session."""

    async def go() -> list[CallToolResult]:
        async with Client(server, cache=None) as client:
            return [await client.call_tool(name, args) for name, args in requests]

    return anyio.run(go)


def call(server: MCPServer, tool: str, **args: Any) -> dict[str, Any]:
    """A tool call that must succeed: its structured content."""
    (result,) = calls(server, (tool, args))
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def error(server: MCPServer, tool: str, **args: Any) -> dict[str, Any]:
    """A tool call that must fail: its ``error`` object (the text content is its message)."""
    (result,) = calls(server, (tool, args))
    assert result.is_error, result.structured_content
    text = result.content[0].text  # type: ignore[union-attr]
    assert "Traceback" not in text
    found: dict[str, Any] = result.structured_content["error"]
    assert found["message"] == text
    return found


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mcp") / "definitions"
    shutil.copytree(DEFINITIONS, folder)
    (folder / "metrics" / "extra.yml").write_text(EXTRA, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def service(project: Path, demo_url: str) -> Service:
    return Service(
        ServerConfig(project=project, connection=demo_url, allow_anonymous=True, cache_url="memory")
    )


@pytest.fixture(scope="module")
def server(service: Service) -> MCPServer:
    return create_server(service)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, demo_url: str) -> Service:
    access = tmp_path_factory.mktemp("access") / "access.yml"
    access.write_text(ACCESS, encoding="utf-8")
    return Service(
        ServerConfig(
            project=DEFINITIONS, connection=demo_url, access_file=access, cache_url="memory"
        )
    )


def as_key(service: Service, key: str) -> MCPServer:
    return create_server(service, credentials={"x-api-key": key})


# -- the tools and their schemas -------------------------------------------------------------


def test_the_tools_and_their_schemas(server: MCPServer) -> None:
    async def go() -> Any:
        async with Client(server, cache=None) as client:
            return (await client.list_tools()).tools

    tools = {t.name: t for t in anyio.run(go)}
    assert set(tools) == TOOLS
    query = tools["query_metrics"].input_schema
    assert query["required"] == ["metrics"]
    props = query["properties"]
    assert props["metrics"]["type"] == "array"
    assert props["metrics"]["items"]["type"] == "string"
    assert props["metrics"]["minItems"] == 1
    assert props["by"]["items"]["maxLength"] == 300
    assert {"type": "integer", "minimum": 1} in props["limit"]["anyOf"]
    assert props["include_sql"]["type"] == "boolean"
    assert set(props) == {
        *("metrics", "by", "where", "start", "end", "order", "limit"),
        *("fill_periods", "whole_periods", "include_sql"),
    }
    assert tools["search_metrics"].input_schema["required"] == ["query"]
    assert tools["describe_metric"].input_schema["required"] == ["name"]
    assert "dialect" in tools["compile_sql"].input_schema["properties"]
    assert "required" not in tools["list_metrics"].input_schema
    for tool in tools.values():
        assert len(tool.description or "") > 60, tool.name
        assert tool.output_schema is not None
        assert tool.output_schema["type"] == "object"
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is True
    rows = tools["query_metrics"].output_schema["properties"]  # type: ignore[index]
    assert {"columns", "rows", "truncated", "metrics", "sql"} <= set(rows)


# -- finding metrics -------------------------------------------------------------------------


def test_a_synonym_finds_the_metric(server: MCPServer) -> None:
    found = call(server, "search_metrics", query="actives")["metrics"]
    assert found[0]["name"] == "daily_active_users"
    assert "actives" in found[0]["synonyms"]
    assert call(server, "search_metrics", query="DAU")["metrics"][0]["name"] == (
        "daily_active_users"
    )
    assert call(server, "search_metrics", query="registrations")["metrics"][0]["name"] == (
        "signups"
    )
    assert call(server, "search_metrics", query="qwertyuiop")["metrics"] == []


def test_list_metrics_filters_and_marks_draft_and_deprecated(
    server: MCPServer, layer: ml.SemanticLayer
) -> None:
    every = call(server, "list_metrics")["metrics"]
    assert {m["name"] for m in every} == {m.name for m in layer.metrics} | {
        "pro_signups",
        "legacy_signups",
    }
    by_name = {m["name"]: m for m in every}
    assert by_name["pro_signups"]["status"] == "draft"
    assert by_name["pro_signups"]["warning"].startswith("draft: not certified")
    assert by_name["legacy_signups"]["status"] == "deprecated"
    assert by_name["legacy_signups"]["warning"] == (
        "deprecated: use signups instead; it may be removed from 2099-01-01"
    )
    assert by_name["signups"]["warning"] is None
    assert "user.plan" in by_name["signups"]["dimensions"]
    drafts = call(server, "list_metrics", status="draft")["metrics"]
    assert [m["name"] for m in drafts] == ["pro_signups"]
    tagged = {m["name"] for m in call(server, "list_metrics", tag="ENGAGEMENT")["metrics"]}
    assert "daily_active_users" in tagged
    assert "signups" not in tagged
    retired = error(server, "list_metrics", status="retired")
    assert (retired["type"], retired["field"]) == ("request", "status")


def test_describe_metric_says_what_it_computes(server: MCPServer) -> None:
    dau = call(server, "describe_metric", name="daily_active_users")
    assert dau["version"] == 1
    assert len(dau["fingerprint"]) == 16
    assert dau["owner"] == "growth"
    assert dau["format"] == {"type": "number", "decimals": 1}
    assert "count_distinct of events.active_users" in dau["in_words"]
    assert "per day" in dau["in_words"]
    assert "metric_time" in dau["dimensions"]
    growth = call(server, "describe_metric", name="mrr_growth_rate")["in_words"]
    assert "(mrr - mrr_month_before) / mrr_month_before" in growth
    assert "mrr_month_before (mrr 1 month earlier)" in growth
    legacy = call(server, "describe_metric", name="legacy_signups")
    assert legacy["replaced_by"] == "signups"
    assert legacy["warning"].startswith("deprecated")


def test_an_unknown_or_inexact_name_gets_candidates_not_a_guess(server: MCPServer) -> None:
    dau = error(server, "describe_metric", name="dau")
    assert dau["type"] == "not_found"
    assert dau["field"] == "name"
    assert dau["candidates"][0] == "daily_active_users"
    typo = error(server, "describe_metric", name="daily_active_user")
    assert "Did you mean 'daily_active_users'?" in typo["message"]
    asked = error(server, "query_metrics", metrics=["signups", "active"])
    assert asked["field"] == "metrics"
    assert "active_users" in asked["candidates"]
    assert error(server, "describe_metric", name="zzzz")["candidates"] == []


# -- numbers ---------------------------------------------------------------------------------


def test_query_numbers_equal_hand_sql_and_the_library(
    server: MCPServer, layer: ml.SemanticLayer, demo_sql: SQL
) -> None:
    result = call(server, "query_metrics", metrics=["signups"], by=["user.plan"])
    assert result["columns"] == [
        {"name": "user.plan", "type": "string"},
        {"name": "signups", "type": "integer"},
    ]
    expected = [list(r) for r in demo_sql(BY_PLAN.format(""))]
    assert result["rows"] == expected
    library = layer.query(["signups"], by=["user.plan"]).run()
    assert result["rows"] == [list(r) for r in library.rows]
    assert result["metrics"]["signups"]["fingerprint"] == layer.fingerprints["signups"]
    assert result["truncated"] is False
    assert result["sql"] is None
    months = call(
        server,
        "query_metrics",
        metrics=["signups"],
        by=["metric_time.month"],
        start="2026-01-01",
        end="2026-06-30",
        include_sql=True,
    )
    hand = demo_sql(
        "SELECT strftime(date_trunc('month', signed_up_at), '%Y-%m-%d'), count(*) FROM users "
        "WHERE signed_up_at >= '2026-01-01' AND signed_up_at < '2026-07-01' GROUP BY 1 ORDER BY 1"
    )
    assert months["rows"] == [list(r) for r in hand]
    assert months["columns"][0] == {"name": "metric_time.month", "type": "date"}
    assert "SELECT" in months["sql"].upper()


def test_the_second_ask_is_served_from_the_cache(server: MCPServer) -> None:
    ask = {"metrics": ["new_users"], "by": ["user.country"]}
    first, second = calls(server, ("query_metrics", ask), ("query_metrics", ask))
    assert first.structured_content["cache"] == "miss"  # type: ignore[index]
    assert second.structured_content["cache"] == "hit"  # type: ignore[index]
    assert first.structured_content["rows"] == second.structured_content["rows"]  # type: ignore[index]


def test_rows_beyond_the_cap_are_cut_with_a_note(service: Service, layer: ml.SemanticLayer) -> None:
    capped = create_server(service, row_cap=5)
    result = call(capped, "query_metrics", metrics=["signups"], by=["metric_time.day"])
    assert result["truncated"] is True
    assert result["row_count"] == 5
    assert "first 5 rows" in result["note"]
    whole = layer.query(["signups"], by=["metric_time.day"]).run()
    assert result["rows"] == [[r[0].isoformat(), r[1]] for r in whole.rows[:5]]
    small = call(capped, "query_metrics", metrics=["signups"], by=["user.plan"], limit=3)
    assert (small["row_count"], small["truncated"]) == (3, False)


def test_deprecated_metrics_warn_in_results(server: MCPServer, demo_sql: SQL) -> None:
    result = call(server, "query_metrics", metrics=["legacy_signups", "pro_signups"])
    assert result["rows"] == [
        [
            demo_sql("SELECT count(*) FROM users WHERE plan <> 'free'")[0][0],
            demo_sql("SELECT count(*) FROM users WHERE plan = 'pro'")[0][0],
        ]
    ]
    assert [w.split(":")[0] for w in result["warnings"]] == ["legacy_signups", "pro_signups"]


def test_an_unknown_dimension_is_refused_with_a_suggestion(server: MCPServer) -> None:
    refused = error(server, "query_metrics", metrics=["signups"], by=["user.plann"])
    assert refused["field"] == "by"
    assert "Did you mean 'plan'?" in refused["message"]
    where = error(server, "query_metrics", metrics=["signups"], where="user.countri = 'DE'")
    assert where["field"] == "where"
    assert "country" in where["message"]


def test_compile_sql_writes_a_dialect_and_runs_nothing(server: MCPServer) -> None:
    compiled = call(
        server, "compile_sql", metrics=["signups"], by=["user.plan"], dialect="snowflake"
    )
    assert compiled["dialect"] == "snowflake"
    assert compiled["columns"] == ["user.plan", "signups"]
    assert "GROUP BY" in compiled["sql"].upper()
    bad = error(server, "compile_sql", metrics=["signups"], dialect="nosuchsql")
    assert bad["field"] == "dialect"


def test_list_dimensions_names_the_metrics_each_serves(server: MCPServer) -> None:
    dims = {d["name"]: d for d in call(server, "list_dimensions")["dimensions"]}
    assert "signups" in dims["user.plan"]["metrics"]
    assert "month" in dims["metric_time"]["grains"]
    assert "day_of_week" in dims["metric_time"]["parts"]


def test_a_misnamed_argument_is_refused_not_dropped(server: MCPServer) -> None:
    refused = error(server, "query_metrics", metrics=["signups"], filter="user.plan = 'pro'")
    assert refused["field"] == "filter"
    assert refused["message"].startswith("filter: this tool takes no such argument.")
    assert "where" in refused["message"]


def test_arguments_of_the_wrong_type_name_the_argument(server: MCPServer) -> None:
    listed = error(server, "query_metrics", metrics="signups")
    assert listed == {
        "type": "request",
        "field": "metrics",
        "message": "metrics: Input should be a valid list",
    }
    long = error(server, "query_metrics", metrics=["signups"], by=["user.plan", "x" * 301])
    assert long["field"] == "by[1]"
    assert long["message"] == "by[1]: String should have at most 300 characters"
    two = error(server, "compile_sql", metrics=[], limit="10")
    assert two["message"].endswith("(and 1 more)")
    missing = error(server, "describe_metric")
    assert missing["field"] == "name"


# -- access ----------------------------------------------------------------------------------


def test_a_hidden_metric_is_answered_as_an_unknown_one(secured: Service) -> None:
    de = as_key(secured, KEYS["de"])
    names = {m["name"] for m in call(de, "list_metrics")["metrics"]}
    assert "mrr" not in names
    assert "signups" in names
    assert "mrr" not in {m["name"] for m in call(de, "search_metrics", query="mrr")["metrics"]}
    for tool, args in [
        ("describe_metric", {"name": "{}"}),
        ("query_metrics", {"metrics": ["{}"]}),
        ("compile_sql", {"metrics": ["{}"]}),
    ]:
        hidden = error(de, tool, **_named(args, "mrr"))
        unknown = error(de, tool, **_named(args, "mrrq"))
        assert hidden["type"] == unknown["type"] == "not_found"
        assert hidden["field"] == unknown["field"]
        assert hidden["message"].startswith("no metric 'mrr' is available to you.")
        assert unknown["message"].startswith("no metric 'mrrq' is available to you.")
        assert "mrr" not in hidden["candidates"]
        assert "'mrr'" not in unknown["message"]
    admin = as_key(secured, KEYS["admin"])
    assert call(admin, "describe_metric", name="mrr")["name"] == "mrr"


def test_a_hidden_dimension_is_not_listed_nor_usable(secured: Service) -> None:
    de = as_key(secured, KEYS["de"])
    dims = {d["name"] for d in call(de, "list_dimensions")["dimensions"]}
    assert "user.acquisition_channel" not in dims
    assert "user.plan" in dims
    brief = call(de, "describe_metric", name="signups")
    assert "user.acquisition_channel" not in brief["dimensions"]
    hidden = error(de, "query_metrics", metrics=["signups"], by=["user.acquisition_channel"])
    unknown = error(de, "query_metrics", metrics=["signups"], by=["user.acquisition_channe"])
    assert hidden["type"] == unknown["type"]
    assert "no dimension 'user.acquisition_channel' is available to you" in hidden["message"]
    assert "acquisition_channel'" not in unknown["message"].split("available to you.")[1]


def test_the_tenant_row_filter_applies(secured: Service, demo_sql: SQL) -> None:
    de = as_key(secured, KEYS["de"])
    expected = [list(r) for r in demo_sql(BY_PLAN.format("WHERE country = 'DE'"))]
    for _ in range(2):  # the second from the cache
        result = call(de, "query_metrics", metrics=["signups"], by=["user.plan"])
        assert result["rows"] == expected
    assert result["cache"] == "hit"
    widened = call(
        de, "query_metrics", metrics=["signups"], by=["user.plan"], where="1 = 1 OR TRUE"
    )
    assert widened["rows"] == expected
    sql = call(de, "compile_sql", metrics=["signups"])["sql"]
    assert "'DE'" in sql
    admin = as_key(secured, KEYS["admin"])
    everyone = call(admin, "query_metrics", metrics=["signups"], by=["user.plan"])["rows"]
    assert everyone == [list(r) for r in demo_sql(BY_PLAN.format(""))]


def test_one_number_over_http_and_mcp(secured: Service) -> None:
    """The HTTP app and the MCP server of one service answer a tenant the same rows."""
    import warnings

    from metrics_layer.server.app import app_of

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    ask = {"metrics": ["signups", "active_users"], "by": ["metric_time.month", "user.plan"]}
    with TestClient(app_of(secured)) as http:
        answer = http.post("/v1/query", json=ask, headers={"X-API-Key": KEYS["de"]}).json()
    result = call(as_key(secured, KEYS["de"]), "query_metrics", **ask)
    assert len(answer["rows"]) > 10
    assert result["rows"] == answer["rows"]
    assert result["columns"] == answer["columns"]
    assert result["metrics"] == answer["metrics"]


@pytest.mark.parametrize(
    "credentials", [{"x-api-key": "x" * 43}, {}, {"authorization": "Bearer x"}]
)
def test_bad_credentials_are_refused_by_every_tool(
    secured: Service, credentials: dict[str, str]
) -> None:
    server = create_server(secured, credentials=credentials)
    for tool, args in [
        ("list_metrics", {}),
        ("search_metrics", {"query": "dau"}),
        ("describe_metric", {"name": "signups"}),
        ("list_dimensions", {}),
        ("query_metrics", {"metrics": ["signups"]}),
        ("compile_sql", {"metrics": ["signups"]}),
    ]:
        refused = error(server, tool, **args)
        assert refused["type"] == "unauthenticated", (tool, refused)
        assert "x" * 40 not in refused["message"]


# -- hostile arguments -----------------------------------------------------------------------

HUGE = "a" * 1_000_000
INJECTIONS = [
    "1=1; DROP TABLE users",
    "user.plan = 'x' UNION SELECT * FROM users",
    "(SELECT count(*) FROM users) > 0",
    "user.plan = 'a' -- comment",
    "read_csv('/etc/passwd') IS NOT NULL",
]


def _hostile() -> list[tuple[str, dict[str, Any]]]:
    base = {"metrics": ["signups"]}
    cases: list[tuple[str, dict[str, Any]]] = [
        ("search_metrics", {"query": HUGE}),
        ("search_metrics", {"query": ""}),
        ("search_metrics", {"query": 42}),
        ("search_metrics", {"query": "dau", "limit": "all"}),
        ("describe_metric", {"name": HUGE}),
        ("describe_metric", {"name": ["signups"]}),
        ("describe_metric", {}),
        ("list_metrics", {"tag": HUGE}),
        ("list_metrics", {"tag": 7}),
        ("list_metrics", {"nonsense": True}),
        ("compile_sql", {**base, "dialect": HUGE}),
        ("compile_sql", {**base, "dialect": "duckdb; drop table users"}),
    ]
    for tool in ("query_metrics", "compile_sql"):
        cases += [
            (tool, {"metrics": []}),
            (tool, {"metrics": "signups"}),
            (tool, {"metrics": [HUGE]}),
            (tool, {"metrics": ["signups; DROP TABLE users"]}),
            (tool, {"metrics": [None]}),
            (tool, {"metrics": ["users"]}),
            (tool, {**base, "where": HUGE}),
            (tool, {**base, "where": 1}),
            *[(tool, {**base, "where": w}) for w in INJECTIONS],
            (tool, {**base, "by": ["user.plan; DROP TABLE users"]}),
            (tool, {**base, "by": ["users.plan FROM users --"]}),
            (tool, {**base, "by": "user.plan"}),
            (tool, {**base, "by": [HUGE]}),
            (tool, {**base, "by": ["x"] * 51}),
            (tool, {**base, "order": ["signups; DELETE FROM users"]}),
            (tool, {**base, "order": ["-(select 1)"]}),
            (tool, {**base, "order": {"signups": "desc"}}),
            (tool, {**base, "start": "2026-13-45"}),
            (tool, {**base, "start": "'; DROP TABLE users; --"}),
            (tool, {**base, "end": 20260101}),
            (tool, {**base, "limit": -1}),
            (tool, {**base, "limit": "10"}),
            (tool, {**base, "limit": 1.5}),
            (tool, {**base, "fill_periods": "yes"}),
            (tool, {**base, "unknown_field": 1}),
        ]
    cases.append(("query_metrics", {**base, "include_sql": "true"}))
    return cases


def test_hostile_arguments_are_tool_errors(server: MCPServer, demo_sql: SQL) -> None:
    cases = _hostile()
    results = calls(server, *cases)
    for (tool, args), result in zip(cases, results, strict=True):
        shown = {k: (v[:40] if isinstance(v, str) else v) for k, v in args.items()}
        assert result.is_error, (tool, shown, result.structured_content)
        assert result.structured_content is not None, (tool, shown)
        assert result.structured_content["error"]["type"] != "internal", (tool, shown)
        text = result.content[0].text  # type: ignore[union-attr]
        assert "Traceback" not in text, (tool, shown)
        assert len(text) < 5_000, (tool, shown)
    # Nothing was written, and the server still answers.
    assert demo_sql("SELECT count(*) FROM users")[0][0] > 0
    assert call(server, "query_metrics", metrics=["signups"])["row_count"] == 1


def _named(args: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        k: [x.format(name) for x in v] if isinstance(v, list) else v.format(name)
        for k, v in args.items()
    }
