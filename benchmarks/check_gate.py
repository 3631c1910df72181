"""The CI gate on a generated 1,000-metric project: ``metrics-layer check`` (with fingerprints
and the metrics.lock comparison) and ``metrics-layer check --base HEAD``, each in a fresh
interpreter, as CI runs them.

The project is generated (``benchmarks/generate_project.py``) in a temporary git repository,
locked with ``metrics-layer lock`` and committed. Each command runs ``--runs`` times (default 5);
the median, min and max wall time are printed, and the CPU time (user + system) of the
same runs, which a machine busy with other work changes less. Targets: ``check`` ≤ 2 s,
``check --base`` ≤ 4 s.

    python -m benchmarks.check_gate            # or: make bench-check
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.generate_project import generate_project
from benchmarks.timing import format_ms, summarize

__all__ = ["main"]

LIMITS_MS = {"check": 2000.0, "check --base HEAD": 4000.0}


def _git(repo: Path, *args: str) -> None:
    environment = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=environment, timeout=60)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "metrics_layer.cli.main", *args]


def _time(command: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run, in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--metrics", type=int, default=1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ml-check-gate-") as temporary:
        repo = Path(temporary)
        project = generate_project(repo / "project", metrics=args.metrics).path
        _git(repo, "init", "-q")
        subprocess.run(_cli("lock", str(project)), check=True, capture_output=True, timeout=120)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "generated project")
        commands = {
            "check": _cli("check", str(project)),
            "check --base HEAD": _cli("check", str(project), "--base", "HEAD"),
        }
        print(f"{args.metrics} metrics, {args.runs} runs each, fresh interpreter per run")
        failed = False
        for label, command in commands.items():
            _time(command)  # warm the file cache and the bytecode
            samples = [_time(command) for _ in range(args.runs)]
            summary = summarize([wall for wall, _ in samples])
            cpu = summarize([used for _, used in samples])
            limit = LIMITS_MS[label]
            verdict = "ok" if summary.median_ms <= limit else "OVER"
            failed = failed or summary.median_ms > limit
            print(
                f"{label:<20} wall: median {format_ms(summary.median_ms)}, "
                f"min {format_ms(summary.min_ms)}, max {format_ms(summary.max_ms)} "
                f"(target ≤ {format_ms(limit)}: {verdict}); CPU: median "
                f"{format_ms(cpu.median_ms)}, min {format_ms(cpu.min_ms)}, "
                f"max {format_ms(cpu.max_ms)}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
