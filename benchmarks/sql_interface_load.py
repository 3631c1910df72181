"""The bounded loopback load test of the SQL interface (``metrics-layer serve --sql-port``).

``python -m benchmarks.sql_interface_load`` starts ``metrics-layer serve --allow-anonymous
--sql-port PORT`` on 127.0.0.1 over the shipped definitions and the embedded demo DuckDB (the
in-process memory cache), warms it, then lets ``--clients`` psycopg connections send queries
for ``--seconds`` seconds, ``--runs`` times, and stops the server. Each client sends one
query at a time, alternating between

- ``catalogue``: the BI-tool catalogue reads, ``information_schema.columns`` of table
  ``metrics`` and SQLAlchemy's ``get_columns`` query (from the recorded Superset sequence);
- ``cached``: a MEASURE query asked again and again (a result-cache hit after the warm-up).

It reports p50/p90/p99/max latency per kind for each run and the spread of each percentile
across runs; the target is p99 at most 50 ms. ``--write`` puts the table into
docs/benchmarks.md (section ``sql-interface-load``). Client and server share the machine's
cores; the client is threads in one process (psycopg releases the GIL while it waits).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["QUERIES", "main", "percentiles", "run_once"]

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"
REPORT = ROOT / "docs" / "benchmarks.md"
SECTION = "sql-interface-load"
TARGET_P99_MS = 50.0
_RECORDED = ROOT / "tests" / "server" / "fixtures" / "superset_browse.json"


def _get_columns() -> tuple[str, dict[str, Any]]:
    recorded = json.loads(_RECORDED.read_text(encoding="utf-8"))
    found = next(s for s in recorded["statements"] if s["call"] == "get_columns")
    return found["sql"], found["params"]


QUERIES: dict[str, list[tuple[str, dict[str, Any] | None]]] = {
    "catalogue": [
        (
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = 'metrics' ORDER BY ordinal_position",
            None,
        ),
        _get_columns(),
    ],
    "cached": [
        (
            'SELECT metric_time__month, "user".plan, MEASURE(signups) AS signups FROM metrics '
            "WHERE metric_time >= '2026-01-01' GROUP BY 1, 2 ORDER BY 1, 2",
            None,
        )
    ],
}


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max of ``values`` (milliseconds), nearest-rank."""
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]

    return {"p50": rank(0.5), "p90": rank(0.9), "p99": rank(0.99), "max": ordered[-1]}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _dsn(port: int) -> str:
    return f"host=127.0.0.1 port={port} user=bench dbname=metrics"


def _wait(port: int, deadline: float) -> None:
    import psycopg

    while time.monotonic() < deadline:
        try:
            with psycopg.connect(_dsn(port), connect_timeout=2) as connection:
                connection.execute("SELECT 1 FROM information_schema.tables")
                return
        except psycopg.OperationalError:
            time.sleep(0.2)
    raise SystemExit(f"the SQL interface did not answer on 127.0.0.1:{port}")


def run_once(port: int, clients: int, seconds: float) -> dict[str, list[float]]:
    """Latencies (ms) per kind from ``clients`` connections over ``seconds`` seconds."""
    import psycopg

    timings: dict[str, list[float]] = {kind: [] for kind in QUERIES}
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(number: int) -> None:
        mine: dict[str, list[float]] = {kind: [] for kind in QUERIES}
        try:
            with psycopg.connect(_dsn(port), autocommit=True) as connection:
                i = number
                while time.monotonic() < stop:
                    kind = "catalogue" if i % 2 == 0 else "cached"
                    sql, params = QUERIES[kind][i // 2 % len(QUERIES[kind])]
                    started = time.perf_counter()
                    connection.execute(sql, params).fetchall()
                    mine[kind].append((time.perf_counter() - started) * 1000)
                    i += 1
        except psycopg.Error as exc:
            errors.append(str(exc))
        with lock:
            for kind, values in mine.items():
                timings[kind].extend(values)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} client(s) failed; first: {errors[0]}")
    return timings


def _table(runs: list[dict[str, list[float]]], clients: int, seconds: float) -> str:
    lines = [
        "## The SQL interface under load",
        "",
        ("A smoke run on a shared machine: " if seconds < 30 else "")
        + f"`python -m benchmarks.sql_interface_load --clients {clients} --seconds {seconds:g} "
        f"--runs {len(runs)}` (`make bench-sql` runs 3 x 30 s with 20 clients). "
        "Latency is measured by the client, from sending a query to its last row.",
        "",
        f"{len(runs)} run(s) of {seconds:g} s, {clients} psycopg clients on loopback, "
        f"{os.cpu_count()} cores shared by client and server; target p99 <= "
        f"{TARGET_P99_MS:g} ms.",
        "",
        "| kind | run | queries | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in QUERIES:
        for number, run in enumerate(runs, start=1):
            found = percentiles(run[kind])
            lines.append(
                f"| {kind} | {number} | {len(run[kind])} | {found['p50']:.1f} | "
                f"{found['p90']:.1f} | {found['p99']:.1f} | {found['max']:.1f} |"
            )
        p99s = [percentiles(run[kind])["p99"] for run in runs]
        spread = f"{min(p99s):.1f} to {max(p99s):.1f}"
        if len(p99s) > 1:
            spread += f" (stdev {statistics.stdev(p99s):.1f})"
        lines.append(f"| {kind} | spread of p99 | | | | {spread} | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 200 and 0 < args.seconds <= 600 and 1 <= args.runs <= 10):
        parser.error("--clients 1-200, --seconds up to 600, --runs 1-10")
    from metrics_layer.demo import ensure_demo

    demo = ensure_demo()
    http_port, sql_port = _free_port(), _free_port()
    command = [
        sys.executable, "-m", "metrics_layer.cli.main", "serve", "--project", str(DEFINITIONS),
        "--connection", f"duckdb:///{demo}", "--allow-anonymous", "--port", str(http_port),
        "--sql-port", str(sql_port),
    ]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(sql_port, time.monotonic() + 60)
        run_once(sql_port, 2, 1.0)  # warm: the catalogue built, the MEASURE result cached
        runs = [run_once(sql_port, args.clients, args.seconds) for _ in range(args.runs)]
    finally:
        server.terminate()
        server.wait(timeout=10)
    text = _table(runs, args.clients, args.seconds)
    print(text)
    if args.write:
        from benchmarks.report import write_section

        write_section(REPORT, SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
