"""Load and check a generated 10,000-metric project in a fresh interpreter: wall time and
peak memory. Targets: 3 s and 150 MiB.

The project is generated once (``benchmarks/generate_project.py``, seed 7: 7,500 simple, 1,500
ratio and 1,000 derived metrics over 11 sources, 32 files). Each run is a fresh
``python -I -S`` process (a clean interpreter; the repository root and site-packages are put
on ``sys.path`` by hand) doing ``import metrics_layer as ml; ml.load(path)``: read every file
(YAML, JSON Schema, models), build the graph, run every check. Its wall time is measured from
outside (start-up included) and its peak resident memory is the process's own
``ru_maxrss``. ``--runs`` runs (default 5) after one untimed run; median, min and max.

``--split`` adds one in-process run timed by stage (wall and CPU time): reading, building, and
the checks, with the governance rules (fingerprints, similar names) apart from planning every
metric (the ``not-computable`` check).
``--root`` measures another checkout of the project with the same script; given several
times, runs alternate between the checkouts, for before/after comparisons on one machine in
one sitting. CPU time (user and system, of the fresh process) is reported beside wall time:
it moves less when other work shares the machine.

``--broken SHARE`` times the ``not-computable`` check in one process, each metric alone, in
batches, and each alone again, with that share of the metrics given a filter their source
cannot reach; the three must refuse the same metrics.

    python -m benchmarks.load_10k [--runs 5] [--split] [--root PATH ...] [--project PATH]
        [--broken SHARE ...]
    make bench-load
"""

from __future__ import annotations

import argparse
import os
import resource
import site
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.generate_project import generate_project
from benchmarks.timing import format_ms

__all__ = ["main"]

LIMIT_S = 3.0
LIMIT_MIB = 150.0
METRICS = 10_000
ROOT = Path(__file__).resolve().parents[1]

_LOAD = (
    "import resource, sys\n"
    "sys.path[:0] = {paths!r}\n"
    "import metrics_layer as ml\n"
    "ml.load(sys.argv[1])\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
)
# One in-process run, stage by stage, with the functions ``ml.load`` calls.
_SPLIT = (
    "import sys, time\n"
    "sys.path[:0] = {paths!r}\n"
    "from pathlib import Path\n"
    "clock = (time.perf_counter(), time.process_time())\n"
    "import metrics_layer as ml\n"
    "try:\n"
    "    from metrics_layer.api import _collector_paused\n"
    "except ImportError:  # a checkout from before the pause\n"
    "    from contextlib import nullcontext as _collector_paused\n"
    "def paused():\n"
    "    try:\n"
    "        return _collector_paused(freeze=True)  # as ml.load: set apart for the checks\n"
    "    except TypeError:  # a checkout from before the freeze\n"
    "        return _collector_paused()\n"
    "from metrics_layer.checks.governance import governance_checks\n"
    "from metrics_layer.checks.run import run_checks\n"
    "from metrics_layer.graph.build import build_graph\n"
    "from metrics_layer.graph.targets import choose_target\n"
    "from metrics_layer.spec.project import read_project\n"
    "def lap(label):\n"
    "    global clock\n"
    "    now = (time.perf_counter(), time.process_time())\n"
    "    print(f'{{label}}|{{now[0] - clock[0]:.4f}}|{{now[1] - clock[1]:.4f}}')\n"
    "    clock = now\n"
    "lap('imports')\n"
    "with paused():  # as ml.load reads and builds\n"
    "    project = read_project(Path(sys.argv[1]))\n"
    "lap('read (YAML, schema, models)')\n"
    "target, _ = choose_target(project.settings, None, 'metrics_layer.yml')\n"
    "with paused():\n"
    "    graph, _ = build_graph(project, target)\n"
    "lap('build the graph')\n"
    "governance_checks(graph)\n"
    "lap('checks: governance (fingerprints, similar names, lifecycle)')\n"
    "run_checks(graph)\n"
    "lap('checks: the rest (every metric planned; governance again, fingerprints kept)')\n"
)

# ``--broken``: the not-computable check in one process, in batches (``plan_errors``) and each
# metric alone, with a share of the simple metrics given a filter that names a dimension their
# source cannot reach (the same filter for every metric of a source). Both must refuse the
# same metrics.
_BROKEN = (
    "import random, sys, time\n"
    "sys.path[:0] = {paths!r}\n"
    "from dataclasses import replace\n"
    "from pathlib import Path\n"
    "from metrics_layer.checks import run\n"
    "from metrics_layer.errors import QueryError\n"
    "from metrics_layer.graph.build import build_graph\n"
    "from metrics_layer.graph.expressions import parse_condition\n"
    "from metrics_layer.spec.project import read_project\n"
    "try:\n"
    "    from metrics_layer.api import _collector_paused\n"
    "    paused = _collector_paused(freeze=True)  # as ml.load: set apart for the checks\n"
    "except (ImportError, TypeError):  # a checkout from before the freeze\n"
    "    from contextlib import nullcontext as paused\n"
    "with paused:\n"
    "    graph, _ = build_graph(read_project(Path(sys.argv[1])))\n"
    "unreachable = {{}}\n"
    "for source in graph.sources:\n"
    "    for other, found in graph.sources.items():\n"
    "        for name in found.dimensions:\n"
    "            try:\n"
    "                graph.resolve(f'{{other}}.{{name}}', source, field='filter')\n"
    "            except QueryError:\n"
    "                unreachable.setdefault(source, f\"{{other}}.{{name}} = 'x'\")\n"
    "def source(metric):\n"
    "    return (metric.measure or '').split('.')[0]\n"
    "simple = [m for m in graph.metrics.values() if source(m) in unreachable]\n"
    "share = float(sys.argv[2])\n"
    "for metric in random.Random(7).sample(simple, int(len(graph.metrics) * share)):\n"
    "    bad = parse_condition(unreachable[source(metric)], field='filter')\n"
    "    graph.metrics[metric.name] = replace(metric, filter=bad)\n"
    "def each_alone():\n"
    "    return {{m.name: run._plan_error(graph, m) for m in graph.metrics.values()}}\n"
    "laps = []\n"
    "for check in (each_alone, lambda: run.plan_errors(graph), each_alone):\n"
    "    clock = time.process_time()\n"
    "    found = check()\n"
    "    laps.append(time.process_time() - clock)\n"
    "    refused = {{n for n, e in found.items() if e is not None}}\n"
    "    assert len(laps) == 1 or refused == first, 'batches refuse other metrics'\n"
    "    first = refused\n"
    "print(f'{{len(refused)}}|{{laps[1]:.4f}}|{{laps[0]:.4f}}|{{laps[2]:.4f}}')\n"
)


def _paths(root: Path) -> list[str]:
    found = [str(root), *site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    return list(dict.fromkeys(found))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE", "PYTHONVERBOSE"):
        env.pop(name, None)
    return env


def _python(root: Path, script: str, project: Path) -> subprocess.CompletedProcess[str]:
    code = script.format(paths=_paths(root))
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(project)],
        cwd=root,
        env=_env(),
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )


def load_once(root: Path, project: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user and system) and peak MiB of one fresh process loading
    ``project`` with ``root``'s code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = _python(root, _LOAD, project)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    peak_kib = int(done.stdout.strip().splitlines()[-1])  # Linux reports KiB
    return wall, cpu, peak_kib / 1024


def split(root: Path, project: Path) -> list[tuple[str, float, float]]:
    """(stage, wall seconds, CPU seconds) of one in-process load, in order; CPU time changes
    less than wall time when other work shares the machine."""
    done = _python(root, _SPLIT, project)
    stages = []
    for line in done.stdout.strip().splitlines():
        label, wall, cpu = line.split("|")
        stages.append((label, float(wall), float(cpu)))
    return stages


def broken(root: Path, project: Path, share: float) -> tuple[int, float, float, float]:
    """(metrics refused, CPU seconds in batches, CPU seconds each alone before and after) of
    the not-computable check with ``share`` of the metrics broken, in one fresh process."""
    script = _BROKEN.format(paths=_paths(root))
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, str(project), str(share)],
        cwd=root,
        env=_env(),
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    refused, batched, before, after = done.stdout.strip().splitlines()[-1].split("|")
    return int(refused), float(batched), float(before), float(after)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--metrics", type=int, default=METRICS)
    parser.add_argument("--split", action="store_true", help="also time one run by stage")
    parser.add_argument(
        "--root",
        type=Path,
        action="append",
        help="checkout whose code to measure (default: this one); give it more than once to "
        "alternate runs between checkouts",
    )
    parser.add_argument("--project", type=Path, help="an already generated project to load")
    parser.add_argument(
        "--broken",
        type=float,
        action="append",
        metavar="SHARE",
        help="also time the not-computable check with this share of the metrics broken "
        "(0.05: 5%%), in batches and each metric alone; may be given more than once",
    )
    args = parser.parse_args(argv)
    roots: list[Path] = args.root or [ROOT]
    with tempfile.TemporaryDirectory(prefix="ml-load-10k-") as temporary:
        project = (
            args.project or generate_project(Path(temporary) / "project", metrics=args.metrics).path
        )
        for root in roots:
            load_once(root, project)  # file cache and bytecode warm
        samples: dict[Path, list[tuple[float, float, float]]] = {root: [] for root in roots}
        loads: list[float] = []
        for _ in range(args.runs):  # alternating, so that a busy moment touches each alike
            for root in roots:
                samples[root].append(load_once(root, project))
                loads.append(os.getloadavg()[0])
        print(
            f"{args.metrics:,} metrics, {args.runs} fresh-interpreter runs of ml.load per "
            f"checkout; load average {min(loads):.1f}-{max(loads):.1f}"
        )
        met = True
        for root in roots:
            walls, cpus, peaks = (sorted(column) for column in zip(*samples[root], strict=True))
            wall, peak = statistics.median(walls), statistics.median(peaks)
            met = met and wall <= LIMIT_S and peak <= LIMIT_MIB
            print(f"{root}:")
            print(
                f"  wall: median {format_ms(wall * 1000)}, min {format_ms(walls[0] * 1000)}, "
                f"max {format_ms(walls[-1] * 1000)} (target <= {LIMIT_S:g} s: "
                f"{'ok' if wall <= LIMIT_S else 'OVER'})"
            )
            print(
                f"  CPU (user + system): median {format_ms(statistics.median(cpus) * 1000)}, "
                f"min {format_ms(cpus[0] * 1000)}, max {format_ms(cpus[-1] * 1000)}"
            )
            print(
                f"  peak RSS: median {peak:.0f} MiB, min {peaks[0]:.0f} MiB, max "
                f"{peaks[-1]:.0f} MiB (target <= {LIMIT_MIB:g} MiB: "
                f"{'ok' if peak <= LIMIT_MIB else 'OVER'})"
            )
        if args.split:
            for root in roots:
                print(f"one in-process run by stage (wall, CPU), {root}:")
                for label, wall_s, cpu_s in split(root, project):
                    print(
                        f"  {label:<80} {format_ms(wall_s * 1000):>9} {format_ms(cpu_s * 1000):>9}"
                    )
        for share in args.broken or ():
            for root in roots:
                refused, batched, before, after = broken(root, project, share)
                print(
                    f"{share:.0%} broken, {refused:,} metrics refused ({root}), CPU: in "
                    f"batches {format_ms(batched * 1000)}, each alone "
                    f"{format_ms(before * 1000)} before and {format_ms(after * 1000)} after"
                )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
