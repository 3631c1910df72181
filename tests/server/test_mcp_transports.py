"""``metrics-layer mcp`` as a separate process, through the SDK's own clients: streamable
HTTP on a free loopback port with the key in each request's header, and stdio with the key
in the environment; a tenant's row filter applies on both."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from tests.conftest import DEFINITIONS
from tests.server.test_mcp import ACCESS, BY_PLAN, KEYS

SQL = Callable[[str], list[tuple[Any, ...]]]
ASK = {"metrics": ["signups"], "by": ["user.plan"]}
CLI = [sys.executable, "-m", "metrics_layer.cli.main", "mcp"]


@pytest.fixture(scope="module")
def access(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mcp-access") / "access.yml"
    path.write_text(ACCESS, encoding="utf-8")
    return path


def command(demo_db: Path, access: Path, *more: str) -> list[str]:
    return [
        *CLI,
        *("--project", str(DEFINITIONS), "-c", f"duckdb:///{demo_db}"),
        *("--access", str(access), *more),
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def http_url(demo_db: Path, access: Path) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        command(demo_db, access, "--transport", "http", "--port", str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert server.poll() is None, server.communicate()[1].decode()[-2000:]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the MCP server did not start in 20 s"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.terminate()
        server.wait(timeout=10)


def over_http(url: str, headers: dict[str, str], tool: str, args: dict[str, Any]) -> Any:
    async def go() -> CallToolResult:
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http), cache=None) as client,
        ):
            return await client.call_tool(tool, args)

    return anyio.run(go)


def test_over_http_each_request_carries_its_key(http_url: str, demo_sql: SQL) -> None:
    de = over_http(http_url, {"X-API-Key": KEYS["de"]}, "query_metrics", ASK)
    assert not de.is_error, de.content
    expected = [list(r) for r in demo_sql(BY_PLAN.format("WHERE country = 'DE'"))]
    assert de.structured_content["rows"] == expected
    admin = over_http(http_url, {"Authorization": "x"}, "query_metrics", ASK)
    assert admin.is_error
    assert admin.structured_content["error"]["type"] == "unauthenticated"
    bad = over_http(http_url, {"X-API-Key": "z" * 43}, "list_metrics", {})
    assert bad.is_error
    assert "z" * 43 not in bad.content[0].text
    everyone = over_http(http_url, {"X-API-Key": KEYS["admin"]}, "query_metrics", ASK)
    assert everyone.structured_content["rows"] == [list(r) for r in demo_sql(BY_PLAN.format(""))]


def test_over_stdio_the_key_comes_from_the_environment(
    demo_db: Path, access: Path, demo_sql: SQL
) -> None:
    full = command(demo_db, access)
    params = StdioServerParameters(
        command=full[0],
        args=full[1:],
        env={**os.environ, "METRICS_LAYER_API_KEY": KEYS["de"]},
    )

    async def go() -> tuple[CallToolResult, CallToolResult]:
        async with Client(params, cache=None) as client:
            found = await client.call_tool("search_metrics", {"query": "actives"})
            return found, await client.call_tool("query_metrics", ASK)

    found, result = anyio.run(go)
    assert found.structured_content["metrics"][0]["name"] == "daily_active_users"
    expected = [list(r) for r in demo_sql(BY_PLAN.format("WHERE country = 'DE'"))]
    assert result.structured_content["rows"] == expected


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({}, "$METRICS_LAYER_API_KEY"),
        ({"METRICS_LAYER_API_KEY": "q" * 43}, "$METRICS_LAYER_API_KEY: "),
        ({"METRICS_LAYER_TOKEN": "not.a.jwt"}, "$METRICS_LAYER_TOKEN: "),
    ],
)
def test_stdio_without_a_good_key_does_not_start(
    demo_db: Path, access: Path, env: dict[str, str], said: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("METRICS_LAYER_")}
    done = subprocess.run(
        command(demo_db, access),
        env={**clean, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert said in done.stderr
    assert "q" * 43 not in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--max-rows", "0"], "--max-rows: expected a positive number of rows, not 0"),
        (["--transport", "http", "--port", "0"], "--port: expected a port from 1 to 65535"),
        ([], "anonymous access is not allowed"),
    ],
)
def test_bad_flags_stop_the_start(
    flags: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from metrics_layer.cli.main import main

    assert main(["mcp", "--project", str(DEFINITIONS), *flags]) == 1
    assert said in capsys.readouterr().err
