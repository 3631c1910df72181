"""The bounded load test of the HTTP service (issue 11, "Caching and load").

``python -m benchmarks.service_load`` starts ``metrics-layer serve`` on 127.0.0.1 over the
shipped definitions and the embedded demo DuckDB (anonymous access), warms it, then lets
``--clients`` concurrent clients send requests for ``--seconds`` seconds and stops by itself.
It does this once per worker count in ``--workers`` (1 worker with the in-process memory
cache; more workers share Redis at ``--redis``, whose namespace for the demo project is
emptied before each run) and writes the results into docs/benchmarks.md.

Each client sends one request at a time on a kept-alive connection and picks each request
from a mix (``MIX``): catalogue reads (``GET /v1/metrics``, ``/v1/metrics/{name}``,
``/v1/dimensions``), cached queries (``CACHED``: a fixed set asked again and again) and
uncached queries (``fresh_query``: a date range no request asked before, so each is a new
key). Hits and misses are counted by the ``X-Cache`` header the service sends, not by the
set a query came from. An error is any connection failure, timeout or status other than 200.

The load generator is this module run as a separate process (``--client``): plain asyncio
streams writing HTTP/1.1 requests and reading ``Content-Length`` bodies, one event loop, no
HTTP library in the way. Client and server share the machine's cores, so the client's own
CPU time is reported next to the numbers it measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CACHED",
    "MIX",
    "Run",
    "fresh_query",
    "main",
    "run_load",
    "summary_of",
]

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"
REPORT = ROOT / "docs" / "benchmarks.md"
SECTION = "service-load"
REDIS_URL = "redis://127.0.0.1:6379/0"
# The project's name in definitions/: the Redis namespace its results are kept under.
NAMESPACE = "saas_demo"

# Share of requests by kind; each client draws every request from it.
MIX = {"catalogue": 0.10, "cached": 0.80, "uncached": 0.10}

# A fixed set of queries, asked again and again: after the warm-up, each is a cache hit.
CACHED: tuple[dict[str, Any], ...] = tuple(
    {"metrics": [metric], "by": [by]}
    for metric in (
        "signups",
        "new_users",
        "new_mrr",
        "mrr",
        "active_users",
        "paying_customers",
        "churned_mrr",
        "cancelled_subscriptions",
    )
    for by in ("metric_time.month", "metric_time.week")
)
# Metrics of the uncached queries: cheap ones, so that the misses measure the service's path
# around a database query rather than the demo database's slowest KPI.
FRESH_METRICS = ("signups", "new_users", "new_mrr")
FIRST_DAY = dt.date(2025, 1, 1)
LAST_DAY = dt.date(2026, 10, 31)
CATALOGUE_PATHS = ("/v1/metrics", "/v1/dimensions", "/v1/metrics/new_mrr", "/v1/metrics/signups")

# The offered rate of the paced run (all clients together, requests per second): below what
# two workers serve on 2 cores, so that its latencies are a service's, not a queue's.
PACED_RATE = 500.0

# Targets of issue 11.
HIT_P99_MS = 20.0
HIT_THROUGHPUT = 1000.0


def fresh_query(n: int) -> dict[str, Any]:
    """The ``n``-th uncached query: a range no smaller ``n`` (from 0) asked for, by month.

    >>> fresh_query(0)["start"], fresh_query(0)["end"]
    ('2025-01-01', '2026-10-31')
    >>> fresh_query(1)["start"], fresh_query(601)["end"]
    ('2025-01-02', '2026-10-30')
    """
    start = FIRST_DAY + dt.timedelta(days=n % 600)
    end = LAST_DAY - dt.timedelta(days=n // 600)
    return {
        "metrics": [FRESH_METRICS[n % len(FRESH_METRICS)]],
        "by": ["metric_time.month"],
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


# -- the client process --------------------------------------------------------------------


def _request(method: str, path: str, body: dict[str, Any] | None = None) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
    if body is None:
        return (head + "\r\n").encode()
    data = json.dumps(body).encode()
    head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


@dataclass
class _Tally:
    """Latencies in seconds by kind (``hit``, ``miss``, ``catalogue``) and the errors seen."""

    latencies: dict[str, list[float]] = field(
        default_factory=lambda: {"hit": [], "miss": [], "catalogue": []}
    )
    errors: dict[str, int] = field(default_factory=dict)
    fresh: int = 0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def _read(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and the X-Cache value of one response; its body is read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, cache = 0, b""
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"x-cache":
            cache = value.strip()
    if length:
        await reader.readexactly(length)
    return status, cache


async def _one_client(
    port: int,
    until: float,
    tally: _Tally,
    rng: random.Random,
    mix: dict[str, float],
    timeout: float,
    interval: float,
) -> None:
    """Send requests until ``until``: one after the other, or, with an ``interval`` (seconds),
    one every interval, each timed from when it was due (a late server makes it wait)."""
    cached = [_request("POST", "/v1/query", q) for q in CACHED]
    catalogue = [_request("GET", p) for p in CATALOGUE_PATHS]
    kinds, weights = list(mix), list(mix.values())
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    due = time.perf_counter() + rng.random() * interval
    while time.perf_counter() < until:
        if interval:
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            if due >= until:
                break
        kind = rng.choices(kinds, weights)[0]
        if kind == "cached":
            data = rng.choice(cached)
        elif kind == "catalogue":
            data = rng.choice(catalogue)
        else:
            data = _request("POST", "/v1/query", fresh_query(tally.fresh))
            tally.fresh += 1
        started = due if interval else time.perf_counter()
        due += interval
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert reader is not None
            writer.write(data)
            status, cache = await asyncio.wait_for(_read(reader), timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            tally.error(type(exc).__name__)
            writer = _close(writer)
            continue
        except TimeoutError:
            tally.error("timeout")
            writer = _close(writer)
            continue
        took = time.perf_counter() - started
        if status != 200:
            tally.error(f"HTTP {status}")
            continue
        if kind == "catalogue":
            tally.latencies["catalogue"].append(took)
        elif cache == b"hit":
            tally.latencies["hit"].append(took)
        else:
            tally.latencies["miss"].append(took)
    _close(writer)


def _close(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        writer.close()
    return None


async def _load(
    port: int, clients: int, seconds: float, first_fresh: int, mix: dict[str, float], rate: float
) -> dict[str, Any]:
    tally = _Tally(fresh=first_fresh)
    started = time.perf_counter()
    until = started + seconds
    rngs = [random.Random(i) for i in range(clients)]
    await asyncio.gather(
        *(
            _one_client(port, until, tally, r, mix, 30.0, clients / rate if rate else 0.0)
            for r in rngs
        )
    )
    elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "latencies": tally.latencies,
        "errors": tally.errors,
    }


def _client_main(
    port: int, clients: int, seconds: float, first_fresh: int, mix: dict[str, float], rate: float
) -> None:
    """Run the load and print what was measured as JSON on stdout."""
    found = asyncio.run(_load(port, clients, seconds, first_fresh, mix, rate))
    json.dump(found, sys.stdout)


# -- the benchmark process -----------------------------------------------------------------


@dataclass
class Kind:
    """The responses of one kind in one run: how many, per second, and latency percentiles."""

    count: int
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


@dataclass
class Run:
    """One run: the server's workers and cache, each kind's numbers, errors, CPU used."""

    workers: int
    cache: str
    mix: str
    clients: int
    seconds: float
    kinds: dict[str, Kind]
    errors: dict[str, int]
    client_cpu_seconds: float
    server_cpu_seconds: float

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def total_per_second(self) -> float:
        return sum(k.count for k in self.kinds.values()) / self.seconds


def _percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of sorted samples, in the samples' unit."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary_of(latencies: Sequence[float], seconds: float) -> Kind:
    """Count, rate and p50/p95/p99 in milliseconds of latencies given in seconds.

    >>> k = summary_of([0.001] * 98 + [0.002, 0.010], 2.0)
    >>> k.count, k.per_second, k.p50_ms, k.p99_ms
    (100, 50.0, 1.0, 2.0)
    """
    ordered = sorted(latencies)
    return Kind(
        len(ordered),
        len(ordered) / seconds,
        _percentile(ordered, 50) * 1000,
        _percentile(ordered, 95) * 1000,
        _percentile(ordered, 99) * 1000,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(port: int, server: subprocess.Popen[bytes], limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the service ended with code {server.returncode} while starting")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the service did not answer /healthz within {limit:g} s")


def _serve(port: int, workers: int, cache: str, log: Path) -> subprocess.Popen[bytes]:
    """``metrics-layer serve`` as a user runs it, its log (with the access log) in ``log``."""
    command = [
        sys.executable,
        "-c",
        "import sys; from metrics_layer.cli.main import main; sys.exit(main())",
        "serve",
        "--project",
        str(DEFINITIONS),
        "--allow-anonymous",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--cache",
        cache,
    ]
    env = {k: v for k, v in os.environ.items() if k != "METRICS_LAYER_URL"}
    with log.open("ab") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def _stop(server: subprocess.Popen[bytes]) -> float:
    """Stop the service (its process group: uvicorn's workers too); the CPU seconds its
    processes used, from /proc, read just before."""
    used = _group_cpu(server.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    return used


def _group_cpu(group: int) -> float:
    """User + system CPU seconds of the live processes in process group ``group``."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text.rpartition(")")[2].split()
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _client(
    port: int,
    clients: int,
    seconds: float,
    first_fresh: int,
    mix: dict[str, float],
    rate: float = 0.0,
) -> tuple[dict[str, Any], float]:
    """Run the client process; what it measured and the CPU seconds it used."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.service_load",
        "--client",
        str(port),
        "--clients",
        str(clients),
        "--seconds",
        str(seconds),
        "--first-fresh",
        str(first_fresh),
        "--mix",
        _mix_text(mix),
        "--rate",
        str(rate),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"the load client failed:\n{done.stderr.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(done.stdout), cpu


def _empty_redis(url: str) -> None:
    from metrics_layer.server.redis_cache import RedisCache

    RedisCache(url, namespace=NAMESPACE).clear()


def run_load(
    workers: int,
    *,
    clients: int,
    seconds: float,
    redis_url: str | None,
    mix: dict[str, float] = MIX,
    rate: float = 0.0,
    warm_seconds: float = 3.0,
    log: Path | None = None,
) -> Run:
    """One run: serve with ``workers`` workers (the memory cache for one worker when
    ``redis_url`` is None, Redis otherwise), warm up, load, stop."""
    cache = "memory" if redis_url is None else redis_url
    if redis_url is not None:
        _empty_redis(redis_url)
    port = _free_port()
    log = log or Path(os.devnull)
    server = _serve(port, workers, cache, log)
    server_cpu = 0.0
    try:
        _wait_ready(port, server)
        # The warm-up sends the same mix (every worker loads, connects, compiles and fills
        # the cache with the fixed set); its uncached queries come from a range of their own.
        _client(port, min(clients, 8), warm_seconds, 100_000, MIX)
        start_cpu = _group_cpu(server.pid)
        found, client_cpu = _client(port, clients, seconds, 0, mix, rate)
        server_cpu = _group_cpu(server.pid) - start_cpu
    finally:
        _stop(server)
    elapsed = float(found["seconds"])
    kinds = {k: summary_of(v, elapsed) for k, v in found["latencies"].items()}
    return Run(
        workers=workers,
        cache="memory" if redis_url is None else "redis",
        mix=("mixed" if mix == MIX else _mix_text(mix)) + (f" at {rate:g}/s" if rate else ""),
        clients=clients,
        seconds=elapsed,
        kinds=kinds,
        errors=dict(found["errors"]),
        client_cpu_seconds=client_cpu,
        server_cpu_seconds=server_cpu,
    )


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def render(runs: Sequence[Run], recommended: int, machine: Sequence[tuple[str, str]]) -> str:
    """The markdown section for docs/benchmarks.md."""
    lines = [
        "## The HTTP service under load",
        "",
        "`python -m benchmarks.service_load` (`make bench-service`): `metrics-layer serve` on "
        "127.0.0.1 over the shipped definitions and the demo DuckDB, anonymous, with its "
        "access log on; one worker with the memory cache, more workers with Redis at "
        "127.0.0.1:6379. After a warm-up, each client sends one request at a time for the "
        "whole run: "
        + ", ".join(f"{round(v * 100)} % {k}" for k, v in MIX.items())
        + f" ({len(CACHED)} fixed queries for the cached ones; a new date range for each "
        "uncached one). Hits and misses are told apart by the service's `X-Cache` header. "
        "The client is one asyncio process on the same 2 cores as the service: its CPU time "
        "is shown, as is the service's (all workers).",
        "",
        "Runs: the mix per worker count, each client sending its next request as soon as it "
        "has the answer (what the service can serve); then cached queries only, the same "
        f"way, with the recommended {recommended} worker(s) (the cache-hit throughput); then "
        "cached queries only at a fixed offered rate (`at N/s`: each client sends on a "
        "schedule, each latency timed from when the request was due). The paced run is the "
        "one whose latencies say what a dashboard waits: with 50 clients that never pause, "
        "the mean latency is 50 / throughput (Little's law), so a 20 ms p99 would need "
        "well over 2,500 requests a second whatever the service does. Latencies include any "
        "wait for a core: compare the load average below with the 2 cores.",
        "",
        "Machine:",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in machine),
        "",
    ]
    rows = []
    chosen = [r for r in runs if r.workers == recommended]
    for run in chosen:
        hit = run.kinds["hit"]
        rows.append(
            (
                f"cache hit p99 ({run.mix})",
                f"{_ms(hit.p99_ms)} ms",
                f"<= {HIT_P99_MS:g} ms",
                hit.p99_ms <= HIT_P99_MS,
            )
        )
    for run in chosen:
        if " at " in run.mix:
            continue  # a paced run's rate is what it was offered
        hit = run.kinds["hit"]
        rows.append(
            (
                f"cache hits per second ({run.mix})",
                f"{hit.per_second:,.0f}",
                f">= {HIT_THROUGHPUT:,.0f}",
                hit.per_second >= HIT_THROUGHPUT,
            )
        )
    rows.append(
        (
            "errors (all runs)",
            str(sum(r.error_count for r in runs)),
            "0",
            all(r.error_count == 0 for r in runs),
        )
    )
    lines += [
        f"Targets, with the recommended {recommended} worker(s):",
        "",
        "| target | measured | limit | result |",
        "|---|---:|---:|---|",
        *(f"| {a} | {b} | {c} | **{'PASS' if ok else 'FAIL'}** |" for a, b, c, ok in rows),
        "",
    ]
    lines += [
        "| workers | cache | load | clients | seconds | kind | requests | per second | p50 ms "
        "| p95 ms | p99 ms |",
        "|---:|---|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        for name in ("hit", "miss", "catalogue"):
            k = run.kinds[name]
            if k.count == 0 and run.mix != "mixed":
                continue
            lines.append(
                f"| {run.workers} | {run.cache} | {run.mix} | {run.clients} | "
                f"{run.seconds:.0f} | {name} | "
                f"{k.count:,} | {k.per_second:,.0f} | {_ms(k.p50_ms)} | {_ms(k.p95_ms)} | "
                f"{_ms(k.p99_ms)} |"
            )
    lines += [
        "",
        "| workers | cache | load | all requests per second | errors | service CPU s "
        "| client CPU s |",
        "|---:|---|---|---:|---|---:|---:|",
    ]
    for run in runs:
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(run.errors.items())) or "0"
        lines.append(
            f"| {run.workers} | {run.cache} | {run.mix} | {run.total_per_second:,.0f} | {errors} | "
            f"{run.server_cpu_seconds:.1f} | {run.client_cpu_seconds:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.service_load", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each run (60)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument(
        "--workers",
        default="1,2",
        help="worker counts to run, comma-separated (1,2); 1 uses the memory cache",
    )
    parser.add_argument(
        "--recommended", type=int, default=2, help="the worker count the targets apply to (2)"
    )
    parser.add_argument(
        "--redis", default=REDIS_URL, help=f"Redis for several workers ({REDIS_URL})"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="requests per second offered by all clients together in the mixed runs (0: each "
        "client sends its next request as soon as it has the answer)",
    )
    parser.add_argument(
        "--paced",
        type=float,
        default=PACED_RATE,
        help=f"offered rate of the last run, cached queries only ({PACED_RATE:g}; 0: no such run)",
    )
    parser.add_argument(
        "--no-cached-only",
        action="store_true",
        help="skip the last run: only cached queries, with the recommended worker count",
    )
    parser.add_argument("--log", type=Path, default=None, help="append the service's log here")
    parser.add_argument(
        "--no-write", action="store_true", help="print, do not write docs/benchmarks.md"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the runs as JSON here")
    parser.add_argument(
        "--from-json",
        type=Path,
        default=None,
        help="run nothing: write the report of the runs a --json file holds",
    )
    parser.add_argument(
        "--mix",
        type=_mix,
        default=MIX,
        help="shares of request kinds, e.g. cached=0.8,catalogue=0.1,uncached=0.1 (the default)",
    )
    parser.add_argument("--client", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--first-fresh", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client is not None:
        _client_main(args.client, args.clients, args.seconds, args.first_fresh, args.mix, args.rate)
        return 0
    from benchmarks.machine import describe

    machine = describe(ROOT)  # the load average before the runs
    if args.from_json is not None:
        runs = [_from_plain(r) for r in json.loads(args.from_json.read_text())]
        return _report(runs, args, machine)
    counts = [int(w) for w in args.workers.split(",") if w.strip()]
    plans = [(w, args.mix, args.rate) for w in counts]
    if not args.no_cached_only:
        plans.append((args.recommended, {"cached": 1.0}, 0.0))
    if args.paced:
        plans.append((args.recommended, {"cached": 1.0}, args.paced))
    runs = []
    for workers, mix, rate in plans:
        redis_url = None if workers == 1 else args.redis
        print(
            f"{workers} worker(s), {args.clients} clients, {args.seconds:g} s, "
            f"{_mix_text(mix)} ...",
            flush=True,
        )
        run = run_load(
            workers,
            clients=args.clients,
            seconds=args.seconds,
            redis_url=redis_url,
            mix=mix,
            rate=rate,
            log=args.log,
        )
        runs.append(run)
        hit = run.kinds["hit"]
        print(
            f"  hits {hit.per_second:,.0f}/s p50 {_ms(hit.p50_ms)} p99 {_ms(hit.p99_ms)} ms; "
            f"all {run.total_per_second:,.0f}/s; errors {run.error_count}",
            flush=True,
        )
    if args.json is not None:
        args.json.write_text(json.dumps([_plain(r) for r in runs], indent=2))
    return _report(runs, args, machine)


def _report(
    runs: Sequence[Run], args: argparse.Namespace, machine: Sequence[tuple[str, str]]
) -> int:
    """Write (or print) the report of ``runs``; 1 when any run had an error."""
    text = render(runs, args.recommended, machine)
    if args.no_write:
        print(text)
    else:
        from benchmarks.report import write_section

        write_section(REPORT, SECTION, text)
        print(f"wrote {REPORT.relative_to(ROOT)}")
    return 0 if all(r.error_count == 0 for r in runs) else 1


def _mix(text: str) -> dict[str, float]:
    """``cached=0.8,uncached=0.2`` as shares by kind; kinds not named get none."""
    shares: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in MIX:
            raise argparse.ArgumentTypeError(f"unknown kind {name!r}; kinds: {', '.join(MIX)}")
        shares[name] = float(value)
    if not any(v > 0 for v in shares.values()) or any(v < 0 for v in shares.values()):
        raise argparse.ArgumentTypeError("give shares >= 0, at least one above 0")
    return shares


def _mix_text(mix: dict[str, float]) -> str:
    return ",".join(f"{k}={v}" for k, v in mix.items())


def _from_plain(data: dict[str, Any]) -> Run:
    """A run as ``_plain`` wrote it (``--json``), for ``--from-json``."""
    kinds = {name: Kind(**values) for name, values in data["kinds"].items()}
    return Run(**{**data, "kinds": kinds})


def _plain(run: Run) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(run)


if __name__ == "__main__":
    raise SystemExit(main())
