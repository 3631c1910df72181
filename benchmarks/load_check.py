"""Target 3: load and check a generated 1,000-metric project in under a second."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.generate_project import GeneratedProject, generate_project
from benchmarks.profiling import Profile, profile
from benchmarks.timing import Part, Target, format_ms, summarize

if TYPE_CHECKING:
    from metrics_layer.api import SemanticLayer
    from metrics_layer.errors import Diagnostic

__all__ = ["Loaded", "run"]

LIMIT_MS = 1000.0
METRICS = 1000
COLD_SCRIPT = """
import sys, time
started = time.perf_counter()
import metrics_layer as ml
ml.load(sys.argv[1])
print(time.perf_counter() - started)
"""


@dataclass
class Loaded:
    """The generated project and the layer loaded from it, for the compile benchmarks."""

    project: GeneratedProject
    layer: SemanticLayer


def run(
    workdir: Path, root: Path, *, runs: int = 5, cold_runs: int = 3, profile_all: bool = False
) -> tuple[Part, list[Profile], Loaded]:
    """Generate the project in ``workdir``, then time ``ml.load`` in and out of process."""
    import metrics_layer as ml

    started = time.perf_counter()
    part = Part("Load and check a 1,000-metric project")
    project = generate_project(workdir / "project", metrics=METRICS)
    ml.lock(project.path)  # committed beside the definitions, as in any project
    diagnostics = _problems(project.path)
    if diagnostics:
        part.targets.append(
            Target.unmet(
                "the generated 1,000-metric project loads with no diagnostics",
                f"{len(diagnostics)} diagnostics (see below)",
            )
        )
        part.markdown += _refused(project.path, diagnostics)
        project = generate_project(
            workdir / "project_simple_filters", metrics=METRICS, compound_filters=False
        )
        ml.lock(project.path)
        still = _problems(project.path)
        if still:
            part.markdown += [
                "The fallback project (single-comparison filters) fails too:",
                "",
                *_diagnostic_lines(still),
                "",
            ]
            part.seconds = time.perf_counter() - started
            raise SystemExit(
                "\n".join(["generated project does not load:", *_diagnostic_lines(still)])
            )
    samples: list[float] = []
    layer = ml.load(project.path)
    for _ in range(runs):
        clock = time.perf_counter()
        layer = ml.load(project.path)
        samples.append(time.perf_counter() - clock)
    warm = summarize(samples)
    cold_inside: list[float] = []
    cold_process: list[float] = []
    for _ in range(cold_runs):
        clock = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", COLD_SCRIPT, str(project.path)],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        )
        cold_process.append(time.perf_counter() - clock)
        cold_inside.append(float(done.stdout.strip().splitlines()[-1]))
    cli_samples: list[float] = []
    command = _cli()
    for _ in range(cold_runs):
        clock = time.perf_counter()
        subprocess.run(
            [*command, "check", str(project.path)],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        )
        cli_samples.append(time.perf_counter() - clock)
    cold, process, cli = summarize(cold_inside), summarize(cold_process), summarize(cli_samples)
    target = Target(
        f"ml.load of the {METRICS:,}-metric project (in-process median)", warm.median_ms, LIMIT_MS
    )
    part.targets.append(target)
    part.values["load_ms"] = warm.median_ms
    part.values["load_cold_ms"] = cold.median_ms
    part.values["check_cli_ms"] = cli.median_ms
    files = project.files
    part.markdown += [
        f"A generated project (`benchmarks/generate_project.py`, seed 7): "
        f"{len(project.metrics):,} metrics ({project.count('simple')} simple, "
        f"{project.count('ratio')} ratio, {project.count('derived')} derived), "
        f"{len(project.sources)} sources, {project.measures} measures, "
        f"{project.dimensions} dimensions, {files} YAML files in folders. "
        "`ml.load` reads every file, validates it against the JSON Schema and the pydantic "
        "models, builds the graph and runs every check (each metric is planned on its own); "
        "it finds no problems.",
        "",
        "| measurement | runs | median | p95 | min | target |",
        "|---|---:|---:|---:|---:|---|",
        f"| `ml.load(path)` in-process (after one untimed load) | {warm.samples} | "
        f"{warm.cells} | {target.verdict} (<= {format_ms(LIMIT_MS)}) |",
        f"| cold: `import metrics_layer` + `ml.load(path)` in a fresh process, timed inside | "
        f"{cold.samples} | {cold.cells} | |",
        f"| cold: the same fresh process, wall time | {process.samples} | {process.cells} | |",
        f"| `metrics-layer check PATH` CLI, wall time | {cli.samples} | {cli.cells} | |",
        "",
    ]
    profiles: list[Profile] = []
    if profile_all or not target.passed:
        found = profile(
            f"ml.load of the {METRICS:,}-metric project", partial(ml.load, project.path)
        )
        profiles.append(found)
    part.seconds = time.perf_counter() - started
    return part, profiles, Loaded(project, layer)


def _problems(path: Path) -> list[Diagnostic]:
    import metrics_layer as ml

    _, diagnostics = ml.check(path)
    return list(diagnostics)


def _diagnostic_lines(diagnostics: list[Diagnostic], limit: int = 5) -> list[str]:
    lines = [f"    {d}" for d in diagnostics[:limit]]
    if len(diagnostics) > limit:
        lines.append(f"    ... and {len(diagnostics) - limit} more")
    return lines


def _refused(path: Path, diagnostics: list[Diagnostic]) -> list[str]:
    return [
        f"**The generated project does not load cleanly: {len(diagnostics)} diagnostic(s).** "
        "The first ones (paths under a temporary folder):",
        "",
        "```",
        *(line.strip().replace(str(path), "<project>") for line in _diagnostic_lines(diagnostics)),
        "```",
        "",
        "The numbers below are for the same project generated with single-comparison filters "
        "only (`generate_project(..., compound_filters=False)`), which loads cleanly.",
        "",
    ]


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("metrics-layer")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "metrics_layer.cli.main"]
