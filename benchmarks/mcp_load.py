"""The bounded loopback test of the MCP server over streamable HTTP (docs/mcp.md).

``python -m benchmarks.mcp_load`` starts ``metrics-layer mcp --transport http`` on 127.0.0.1
over the shipped definitions and the embedded demo DuckDB, with an access file holding one API
key (so every call is authenticated, as in use), and the in-process result cache. Then, once
per run (``--runs``), one client of the MCP SDK opens a session with the key in its header,
asks ``QUERY`` once (a miss, which fills the cache) and for ``--seconds`` seconds alternates
``query_metrics`` with that query (each a cache hit, checked by the result's ``cache`` field)
and ``list_metrics``. It reports p50/p90/p99/max in milliseconds per tool and run, the spread of
each percentile across runs, and the target (p99 <= 50 ms for both tools), and writes the
section "The MCP server over HTTP" of docs/benchmarks.md unless ``--no-write``.

A latency is one ``call_tool`` as the client sees it: the SDK client's own work (building and
validating the JSON-RPC messages, checking the structured result against the tool's output
schema) is part of it, as it is for an assistant. Client and server share the machine's cores.
It stops by itself; exit status 1 when a call failed or a target was missed.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["QUERY", "main", "percentiles"]

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"
REPORT = ROOT / "docs" / "benchmarks.md"
SECTION = "mcp-load"
TARGET_P99_MS = 50.0
KEY = "bench-" + "k" * 40
QUERY: dict[str, Any] = {"metrics": ["signups", "new_mrr"], "by": ["metric_time.month"]}
KINDS = ("query_metrics", "list_metrics")


@dataclass(frozen=True)
class Percentiles:
    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


def percentiles(seconds: Sequence[float]) -> Percentiles:
    """Nearest-rank p50/p90/p99 and the maximum, in milliseconds, of latencies in seconds.

    >>> p = percentiles([0.001] * 98 + [0.002, 0.010])
    >>> p.count, p.p50_ms, p.p90_ms, p.p99_ms, p.max_ms
    (100, 1.0, 1.0, 2.0, 10.0)
    """
    ordered = sorted(seconds)

    def rank(p: float) -> float:
        if not ordered:
            return math.nan
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000

    return Percentiles(len(ordered), rank(50), rank(90), rank(99), rank(100))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(port: int, access: Path) -> subprocess.Popen[bytes]:
    from metrics_layer.demo import ensure_demo

    command = [
        *(sys.executable, "-m", "metrics_layer.cli.main", "mcp", "--transport", "http"),
        *("--project", str(DEFINITIONS), "-c", f"duckdb:///{ensure_demo()}"),
        *("--access", str(access), "--port", str(port), "--cache", "memory"),
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        if server.poll() is not None:
            raise SystemExit(server.communicate()[1].decode()[-2000:])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise SystemExit("the MCP server did not start in 30 s") from None
            time.sleep(0.1)


async def _run(url: str, seconds: float) -> tuple[dict[str, list[float]], int]:
    """Latencies per tool of one session, and the number of failed calls."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    failed = 0
    async with (
        httpx2.AsyncClient(headers={"X-API-Key": KEY}, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), cache=None) as client,
    ):
        first = await client.call_tool("query_metrics", QUERY)
        if first.is_error:
            raise SystemExit(f"the warm-up query failed: {first.content}")
        await client.call_tool("list_metrics", {})
        stop = time.perf_counter() + seconds
        turn = 0
        while time.perf_counter() < stop:
            kind = KINDS[turn % 2]
            turn += 1
            started = time.perf_counter()
            result = await client.call_tool(kind, QUERY if kind == "query_metrics" else {})
            latencies[kind].append(time.perf_counter() - started)
            content = result.structured_content or {}
            if result.is_error or (kind == "query_metrics" and content.get("cache") != "hit"):
                failed += 1
    return latencies, failed


def _spread(values: Sequence[float]) -> str:
    return f"{min(values):.1f} to {max(values):.1f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.mcp_load", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each run (20)")
    parser.add_argument("--runs", type=int, default=5, help="runs, for the spread (5)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.seconds > 600 or not 1 <= args.runs <= 50:
        parser.error("--seconds must be in (0, 600] and --runs in 1..50")
    import anyio

    from benchmarks.machine import describe

    port = _free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    with tempfile.TemporaryDirectory() as folder:
        access = Path(folder) / "access.yml"
        digest = hashlib.sha256(KEY.encode()).hexdigest()
        access.write_text(
            f"api_keys:\n  - subject: bench\n    sha256: {digest}\n    roles: [reader]\n"
            "policies:\n  - name: reader\n    when: {roles: [reader]}\n",
            encoding="utf-8",
        )
        server = _start(port, access)
        try:
            runs = [anyio.run(_run, url, args.seconds) for _ in range(args.runs)]
        finally:
            server.terminate()
            server.wait(timeout=10)
    failed = sum(f for _, f in runs)
    table = [
        "| run | tool | calls | p50 ms | p90 ms | p99 ms | max ms |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    by_kind: dict[str, list[Percentiles]] = {kind: [] for kind in KINDS}
    for index, (latencies, _) in enumerate(runs, 1):
        for kind in KINDS:
            p = percentiles(latencies[kind])
            by_kind[kind].append(p)
            table.append(
                f"| {index} | {kind} | {p.count} | {p.p50_ms:.1f} | {p.p90_ms:.1f} | "
                f"{p.p99_ms:.1f} | {p.max_ms:.1f} |"
            )
    spread = [
        "| tool | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    targets = ["| target | measured (worst run) | limit | result |", "|---|---:|---:|---|"]
    missed = False
    for kind in KINDS:
        found = by_kind[kind]
        spread.append(
            f"| {kind} | {_spread([p.p50_ms for p in found])} | "
            f"{_spread([p.p90_ms for p in found])} | {_spread([p.p99_ms for p in found])} | "
            f"{_spread([p.max_ms for p in found])} |"
        )
        worst = max(p.p99_ms for p in found)
        ok = worst <= TARGET_P99_MS
        missed = missed or not ok
        targets.append(
            f"| {kind} p99 | {worst:.1f} ms | {TARGET_P99_MS:.0f} ms | "
            f"**{'met' if ok else 'missed'}** |"
        )
    lines = [
        "## The MCP server over HTTP",
        "",
        f"`python -m benchmarks.mcp_load --seconds {args.seconds:g} --runs {args.runs}`: one "
        "MCP SDK client session per run against `metrics-layer mcp --transport http` on "
        "127.0.0.1 (definitions/, demo DuckDB, an API key, memory cache), alternating a cached "
        f"`query_metrics` ({QUERY}) and `list_metrics`; {failed} failed calls.",
        "",
        "Machine:",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in describe(ROOT)),
        "",
        "Targets:",
        "",
        *targets,
        "",
        "Spread across runs (lowest to highest of each percentile):",
        "",
        *spread,
        "",
        "Each run:",
        "",
        *table,
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        from benchmarks.report import write_section

        write_section(REPORT, SECTION, text)
        print(f"wrote {REPORT.relative_to(ROOT)}")
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
