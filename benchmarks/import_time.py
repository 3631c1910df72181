"""Target 1: ``import metrics_layer`` in a fresh interpreter, minus interpreter start-up.

Also measured, without a target: a fresh process up to its first SQL (import, load of the
shipped definitions, one compiled query), and how much of that is spent importing modules.
``metrics_layer`` imports its stages lazily, so those imports are paid by the first ``load``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.timing import Part, Target, format_ms, summarize

__all__ = ["run"]

LIMIT_MS = 150.0
PACKAGE = "metrics_layer"
FIRST_SQL = (
    "import metrics_layer as ml\n"
    "ml.load('definitions').query('signups', by='metric_time.month').sql()"
)


@dataclass(frozen=True)
class _Entry:
    name: str
    depth: int
    self_us: int
    cumulative_us: int


def run(root: Path, *, runs: int = 21, first_sql_runs: int = 9, importtime_runs: int = 7) -> Part:
    """Median wall time of ``python -c "import metrics_layer"`` minus ``python -c "pass"``."""
    started = time.perf_counter()
    baseline: list[float] = []
    imports: list[float] = []
    first_sql: list[float] = []
    for code in ("pass", f"import {PACKAGE}", FIRST_SQL):
        _time_python(root, code)
    for index in range(runs):
        baseline.append(_time_python(root, "pass"))
        imports.append(_time_python(root, f"import {PACKAGE}"))
        if index < first_sql_runs:
            first_sql.append(_time_python(root, FIRST_SQL))
    base, full, first = summarize(baseline), summarize(imports), summarize(first_sql)
    net_ms = full.median_ms - base.median_ms
    paired_ms = statistics.median(i - b for i, b in zip(imports, baseline, strict=True)) * 1000
    first_ms = first.median_ms - base.median_ms

    trees = sorted(
        (_package_tree(root) for _ in range(importtime_runs)),
        key=lambda t: t[0].cumulative_us if t else 0,
    )
    tree = trees[len(trees) // 2]
    startup = {e.name for e in _entries(root, "pass") if e.depth == 0}
    loads = sorted(
        (_after_startup(root, FIRST_SQL, startup) for _ in range(importtime_runs)),
        key=lambda entries: sum(e.cumulative_us for e in entries if e.depth == 0),
    )
    first_imports = loads[len(loads) // 2]
    first_import_ms = sum(e.cumulative_us for e in first_imports if e.depth == 0) / 1000

    part = Part("Import time")
    part.targets.append(
        Target("import metrics_layer (fresh process, net of start-up)", net_ms, LIMIT_MS)
    )
    part.values["import_ms"] = net_ms
    part.values["first_sql_ms"] = first_ms
    part.values["first_sql_imports_ms"] = first_import_ms
    part.notes.append(
        f"fresh process to first SQL, net of start-up: {format_ms(first_ms)} "
        f"({format_ms(first_import_ms)} of it importing modules)"
    )
    part.markdown += [
        f"Fresh `python -c` processes run from the repository root, interleaved; {runs} runs of "
        f"the first two, {first_sql_runs} of the third. The import's cost is the median of "
        "`import metrics_layer` minus the median of `pass`.",
        "",
        "| measurement | median | p95 | min |",
        "|---|---:|---:|---:|",
        f'| `python -c "pass"` (interpreter start-up) | {base.cells} |',
        f'| `python -c "import metrics_layer"` | {full.cells} |',
        f"| **net import time** | **{format_ms(net_ms)}** | | |",
        f"| net, median of per-run differences | {format_ms(paired_ms)} | | |",
        "| import, `ml.load('definitions')` and one `query(...).sql()` (first SQL) | "
        f"{first.cells} |",
        f"| first SQL, net of start-up | {format_ms(first_ms)} | | |",
        "",
    ]
    top = tree[0] if tree else None
    if top is not None:
        children = sorted(tree[1:], key=lambda e: -e.cumulative_us)[:12]
        part.markdown += [
            f'`python -X importtime -c "import metrics_layer"` (the run with the median total '
            f"of {importtime_runs}): `import metrics_layer` takes "
            f"{top.cumulative_us / 1000:.1f} ms in-process. Largest entries under it:",
            "",
            "| module | nesting level | self | cumulative |",
            "|---|---:|---:|---:|",
            f"| `{top.name}` (total) | 0 | {top.self_us / 1000:.1f} ms | "
            f"{top.cumulative_us / 1000:.1f} ms |",
            *(
                f"| `{e.name}` | {e.depth} | {e.self_us / 1000:.1f} ms | "
                f"{e.cumulative_us / 1000:.1f} ms |"
                for e in children
            ),
            "",
        ]
    part.markdown += [
        "The stages are imported lazily, so the first `ml.load()` and the first query pay for "
        f"the rest: {format_ms(first_import_ms)} of module imports in the first-SQL process "
        "(`-X importtime`, imports that interpreter start-up does not do). The largest "
        "entries, at any nesting level:",
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


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE", "PYTHONVERBOSE"):
        env.pop(name, None)
    return env


def _time_python(root: Path, code: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env=_env(),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _entries(root: Path, code: str) -> list[_Entry]:
    """Every ``-X importtime`` line of a fresh process running ``code``, in output order."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
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
    return entries


def _package_tree(root: Path) -> list[_Entry]:
    """The package's own entry first, then every import it triggered (printed before it)."""
    block: list[_Entry] = []
    for entry in _entries(root, f"import {PACKAGE}"):
        if entry.depth > 0:
            block.append(entry)
        elif entry.name == PACKAGE:
            return [entry, *block]
        else:
            block = []
    return []


def _after_startup(root: Path, code: str, startup: set[str]) -> list[_Entry]:
    """The imports of ``code`` that interpreter start-up does not do, at every depth."""
    kept: list[_Entry] = []
    block: list[_Entry] = []
    for entry in _entries(root, code):
        block.append(entry)
        if entry.depth == 0:
            if entry.name not in startup:
                kept.extend(block)
            block = []
    return kept
