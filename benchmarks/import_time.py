"""Import to first SQL: what a notebook user waits for, from a clean interpreter.

The headline figure is the time from ``import metrics_layer`` to the first SQL text of the
shipped demo definitions (30 metrics: ``ml.load('definitions')`` and one
``query(...).sql()``), timed inside a fresh process. Target: 200 ms.

The process is a **clean interpreter**: ``python -I -S`` (no ``site``, no ``.pth`` files, no
user or environment paths), which has imported only its ~25 start-up modules, not ``pathlib``,
``re`` or ``typing`` as a virtual environment's ``site`` and an editable install's finder do.
The repository root and the interpreter's site-packages folders are put on ``sys.path`` by
hand, so every module the library needs is imported, and counted, inside the timed span.
Interpreter start-up itself is outside it (the clock starts after ``import sys, time``).

``import metrics_layer`` alone is measured the same way (target 150 ms), and so are the
dependencies alone, as the first SQL uses them (``DEPENDENCIES``): a floor no change inside
the package can go below. One ``-X importtime`` run of the first-SQL code lists the largest
imports.

    python -m benchmarks.import_time            # prints the markdown section
    python -m benchmarks.import_time --root /tmp/base --root .   # alternating checkouts
"""

from __future__ import annotations

import argparse
import os
import site
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.timing import Part, Target, format_ms, summarize

__all__ = ["main", "run"]

FIRST_SQL_LIMIT_MS = 200.0
IMPORT_LIMIT_MS = 150.0
PACKAGE = "metrics_layer"
FIRST_SQL = (
    "import metrics_layer as ml\n"
    "ml.load('definitions').query('signups', by='metric_time.month').sql()"
)
# What the first SQL needs of the dependencies, without metrics_layer: pydantic with a first
# model (its schema modules and its scan of the installed distributions for plugins), PyYAML,
# and sqlglot writing one SELECT with its DuckDB dialect.
DEPENDENCIES = (
    "import pydantic, sqlglot, yaml\n"
    "class Model(pydantic.BaseModel):\n"
    "    x: int\n"
    "Model(x=1)\n"
    "sqlglot.exp.select('a').from_('b').sql('duckdb')"
)
# Timed inside the clean process: the clock starts once sys and time are there (both are
# built in), and stops after ``code``.
_TIMED = (
    "import sys, time\n"
    "sys.path[:0] = {paths!r}\n"
    "started = time.perf_counter()\n"
    "{code}\n"
    "print(time.perf_counter() - started)\n"
)


@dataclass(frozen=True)
class _Entry:
    name: str
    depth: int
    self_us: int
    cumulative_us: int


def run(root: Path, *, runs: int = 9, importtime_runs: int = 3) -> Part:
    """Median in-process time of the first SQL, of the import and of the dependencies alone,
    each in a clean process."""
    started = time.perf_counter()
    for code in (f"import {PACKAGE}", FIRST_SQL, DEPENDENCIES):
        _timed(root, code)  # bytecode and file cache warm
    imports: list[float] = []
    first_sql: list[float] = []
    dependencies: list[float] = []
    for _ in range(runs):  # interleaved, so that a busy moment touches all alike
        imports.append(_timed(root, f"import {PACKAGE}"))
        first_sql.append(_timed(root, FIRST_SQL))
        dependencies.append(_timed(root, DEPENDENCIES))
    full, first, floor = summarize(imports), summarize(first_sql), summarize(dependencies)
    loads = sorted(
        (_entries(root, FIRST_SQL) for _ in range(importtime_runs)),
        key=lambda entries: sum(e.cumulative_us for e in entries if e.depth == 0),
    )
    first_imports = loads[len(loads) // 2]
    first_import_ms = sum(e.cumulative_us for e in first_imports if e.depth == 0) / 1000
    pairs = zip(first_sql, imports, strict=True)
    after_import_ms = statistics.median(f - i for f, i in pairs) * 1000

    part = Part("Import time")
    part.targets.append(
        Target(
            "import metrics_layer to the first SQL (clean interpreter, median)",
            first.median_ms,
            FIRST_SQL_LIMIT_MS,
        )
    )
    part.targets.append(
        Target("import metrics_layer (clean interpreter, median)", full.median_ms, IMPORT_LIMIT_MS)
    )
    part.values["import_ms"] = full.median_ms
    part.values["first_sql_ms"] = first.median_ms
    part.values["first_sql_imports_ms"] = first_import_ms
    part.values["dependencies_ms"] = floor.median_ms
    part.notes.append(
        f"import to first SQL: {format_ms(first.median_ms)} "
        f"({format_ms(first_import_ms)} of it importing modules)"
    )
    part.markdown += [
        f"Each figure is timed inside a fresh `python -I -S` process (no `site`: only the "
        "interpreter's own start-up modules are loaded, not `pathlib`, `re` or `typing`), the "
        "repository root and site-packages put on `sys.path` by hand; interpreter start-up is "
        f"not in it. {runs} runs of each, interleaved, after one untimed run. The "
        "dependencies alone are a floor: no change inside the package can take the first "
        "SQL below them.",
        "",
        "| measurement | median | p95 | min | spread (max - min) |",
        "|---|---:|---:|---:|---:|",
        f"| **import to first SQL**: `import metrics_layer`, `ml.load('definitions')`, one "
        f"`query(...).sql()` | **{format_ms(first.median_ms)}** | {format_ms(first.p95_ms)} | "
        f"{format_ms(first.min_ms)} | {format_ms(first.max_ms - first.min_ms)} |",
        f"| `import metrics_layer` | {full.cells} | {format_ms(full.max_ms - full.min_ms)} |",
        f"| median of per-run differences (first SQL - import) | {format_ms(after_import_ms)}"
        " | | | |",
        f"| the dependencies alone: pydantic and a first model, PyYAML, sqlglot writing one "
        f"DuckDB SELECT | {floor.cells} | {format_ms(floor.max_ms - floor.min_ms)} |",
        "",
        "The stages are imported lazily, so the first `ml.load()` and the first query pay for "
        f"them: {format_ms(first_import_ms)} of module imports up to the first SQL "
        f"(`-X importtime` in the same clean interpreter, the run with the median total of "
        f"{importtime_runs}). The largest entries, at any nesting level:",
        "",
        "| module | nesting level | self | cumulative |",
        "|---|---:|---:|---:|",
        *(
            f"| `{e.name}` | {e.depth} | {e.self_us / 1000:.1f} ms | "
            f"{e.cumulative_us / 1000:.1f} ms |"
            for e in sorted(first_imports, key=lambda e: -e.cumulative_us)[:20]
        ),
        "",
    ]
    part.seconds = time.perf_counter() - started
    return part


def _paths(root: Path) -> list[str]:
    """What a clean interpreter needs on ``sys.path`` to import the package and its
    dependencies: the repository root and this interpreter's site-packages folders."""
    found = [str(root), *site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    return list(dict.fromkeys(found))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE", "PYTHONVERBOSE"):
        env.pop(name, None)
    return env


def _command(root: Path, code: str, *options: str) -> list[str]:
    return [
        sys.executable,
        "-I",
        "-S",
        *options,
        "-c",
        _TIMED.format(paths=_paths(root), code=code),
    ]


def _timed(root: Path, code: str) -> float:
    """Seconds ``code`` takes inside a clean interpreter started in ``root``."""
    done = subprocess.run(
        _command(root, code), cwd=root, env=_env(), check=True, capture_output=True, text=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def _entries(root: Path, code: str) -> list[_Entry]:
    """Every ``-X importtime`` line of ``code`` in a clean interpreter, after start-up's own."""
    result = subprocess.run(
        _command(root, code, "-X", "importtime"),
        cwd=root,
        env=_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    entries: list[_Entry] = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        head, cumulative, name_field = line.split("|", 2)
        name_field = name_field.rstrip()
        indent = len(name_field) - len(name_field.lstrip(" "))
        entries.append(
            _Entry(
                name_field.strip(),
                (indent - 1) // 2,
                int(head.rsplit(":", 1)[1]),
                int(cumulative),
            )
        )
    # Start-up's imports come first and end with the encodings and io modules it needs;
    # ``sys`` and ``time`` are built in, so the rest is the timed code's.
    startup = _startup_modules(root)
    return [e for e in entries if e.name not in startup]


def _startup_modules(root: Path) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", "import sys; print(' '.join(sys.modules))"],
        cwd=root,
        env=_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return set(done.stdout.split())


def compare(roots: Sequence[Path], runs: int = 9) -> dict[Path, list[float]]:
    """Seconds of the first SQL in each checkout of ``roots``, runs alternating between them
    (so that a busy moment touches each alike), after one untimed run each."""
    for root in roots:
        _timed(root, FIRST_SQL)
    found: dict[Path, list[float]] = {root: [] for root in roots}
    for _ in range(runs):
        for root in roots:
            found[root].append(_timed(root, FIRST_SQL))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--root",
        type=Path,
        action="append",
        help="compare the first SQL of checkouts, runs alternating (give it twice or more)",
    )
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args(argv)
    if args.root:
        loads = os.getloadavg()
        for root, seconds in compare(args.root, args.runs).items():
            ordered = sorted(seconds)
            print(
                f"{root}: import to first SQL median {format_ms(statistics.median(ordered) * 1000)}"
                f", min {format_ms(ordered[0] * 1000)}, max {format_ms(ordered[-1] * 1000)}"
            )
        print(f"load average before the runs: {loads[0]:.1f}, after: {os.getloadavg()[0]:.1f}")
        return 0
    root = Path(__file__).resolve().parents[1]
    part = run(root)
    for target in part.targets:
        print(f"{target.label}: {target.measured} (limit {target.limit}): {target.verdict}")
    print()
    print("\n".join(part.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
