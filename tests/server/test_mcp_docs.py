"""docs/mcp.md shows what the MCP server answers: each ```mcp block (a tool and its JSON
arguments) is called on the shipped definitions and the demo DuckDB, and the ```json block after
it is compared with the structured result (objects by the keys shown; lists and values
exactly). Every tool has its section and every argument is named on the page."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from metrics_layer.mcp.server import create_server
from metrics_layer.server.config import ServerConfig
from metrics_layer.server.service import Service
from tests.conftest import DEFINITIONS
from tests.server.test_service_docs import contains

PAGE = Path(__file__).resolve().parents[2] / "docs" / "mcp.md"


def fenced() -> list[tuple[str, str]]:
    """Every fenced block of the page: its language and its text."""
    found: list[tuple[str, str]] = []
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        if lines[index].startswith("```") and len(lines[index]) > 3:
            end = lines.index("```", index + 1)
            found.append((lines[index][3:].strip(), "\n".join(lines[index + 1 : end])))
            index = end
        index += 1
    return found


def examples() -> list[tuple[str, dict[str, Any], Any]]:
    blocks = fenced()
    pairs = []
    for (language, text), (after, shown) in itertools.pairwise(blocks):
        if language == "mcp":
            assert after == "json", text
            tool, _, args = text.partition(" ")
            pairs.append((tool, json.loads(args), json.loads(shown)))
    assert len(pairs) >= 5
    return pairs


@pytest.fixture(scope="module")
def server(demo_url: str) -> MCPServer:
    config = ServerConfig(project=DEFINITIONS, connection=demo_url, allow_anonymous=True)
    return create_server(Service(config))


@pytest.mark.parametrize(("tool", "args", "shown"), examples())
def test_each_example_is_what_the_server_answers(
    server: MCPServer, tool: str, args: dict[str, Any], shown: Any
) -> None:
    async def go() -> Any:
        async with Client(server, cache=None) as client:
            return await client.call_tool(tool, args)

    result = anyio.run(go)
    assert result.is_error == ("error" in shown)
    contains(shown, result.structured_content, tool)


def test_every_tool_and_argument_is_documented(server: MCPServer) -> None:
    page = PAGE.read_text(encoding="utf-8")

    async def go() -> Any:
        async with Client(server, cache=None) as client:
            return (await client.list_tools()).tools

    for tool in anyio.run(go):
        assert f"### `{tool.name}`" in page, tool.name
        for argument in tool.input_schema.get("properties", {}):
            assert f"`{argument}`" in page, (tool.name, argument)


def test_the_configuration_example_is_json() -> None:
    (config,) = [
        json.loads(text)
        for language, text in fenced()
        if language == "json" and "mcpServers" in text
    ]
    entry = config["mcpServers"]["metrics"]
    assert entry["command"] == "metrics-layer"
    assert entry["args"][0] == "mcp"
    assert "METRICS_LAYER_API_KEY" in entry["env"]
