"""Where the time goes: cProfile summaries grouped by package area and by function."""

from __future__ import annotations

import cProfile
import pstats
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import PurePath

__all__ = ["Profile", "profile"]

Key = tuple[str, int, str]
Entry = tuple[int, int, float, float, dict[Key, tuple[int, int, float, float]]]


@dataclass(frozen=True)
class Row:
    name: str
    share: float
    seconds: float
    calls: int


@dataclass(frozen=True)
class Profile:
    """Where a workload spends its time, from one cProfile run."""

    title: str
    total_seconds: float
    repeat: int
    areas: tuple[Row, ...]
    library: tuple[Row, ...]
    boundary: tuple[Row, ...]
    by_self: tuple[Row, ...]

    def per_call(self, calls: int) -> Profile:
        """The same profile, labelled as ``calls`` calls of the workload."""
        return replace(self, repeat=calls)

    def markdown(self) -> list[str]:
        per_call = self.total_seconds / self.repeat * 1000
        return [
            f"#### Profile: {self.title}",
            "",
            f"cProfile over {self.repeat} call(s): {per_call:.3f} ms per call under the "
            "profiler, which inflates times; the shares are what matter.",
            "",
            "Self time by area (package, or metrics_layer stage):",
            "",
            "| area | share | self time |",
            "|---|---:|---:|",
            *(f"| {r.name} | {r.share:.1%} | {r.seconds:.3f} s |" for r in self.areas),
            "",
            "metrics_layer functions, inclusive time (the function and all it calls):",
            "",
            "| function | share | calls |",
            "|---|---:|---:|",
            *(f"| `{r.name}` | {r.share:.1%} | {r.calls} |" for r in self.library),
            "",
            "Calls from metrics_layer into other packages, inclusive time:",
            "",
            "| call | share | calls |",
            "|---|---:|---:|",
            *(f"| `{r.name}` | {r.share:.1%} | {r.calls} |" for r in self.boundary),
            "",
            "Self time, largest first:",
            "",
            "| function | share | calls |",
            "|---|---:|---:|",
            *(f"| `{r.name}` | {r.share:.1%} | {r.calls} |" for r in self.by_self),
            "",
        ]

    def console(self) -> list[str]:
        lines = [f"profile: {self.title} ({self.repeat} calls)"]
        lines.extend(f"  area {r.share:6.1%}  {r.name}" for r in self.areas[:6])
        lines.extend(f"  incl {r.share:6.1%}  {r.name}" for r in self.library[:8])
        lines.extend(f"  call {r.share:6.1%}  {r.name}" for r in self.boundary[:8])
        return lines


def profile(title: str, func: Callable[[], object], *, top: int = 10) -> Profile:
    """Run ``func`` once under cProfile and summarise where the time went."""
    profiler = cProfile.Profile()
    profiler.enable()
    func()
    profiler.disable()
    stats = pstats.Stats(profiler)
    table: dict[Key, Entry] = stats.stats  # type: ignore[attr-defined]
    table = {key: entry for key, entry in table.items() if not _is_harness(key)}
    total = sum(entry[2] for entry in table.values()) or 1e-12
    areas: dict[str, float] = defaultdict(float)
    for key, entry in table.items():
        areas[_area(key[0])] += entry[2]
    boundary: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for key, entry in table.items():
        if _is_library(key):
            continue
        for caller, (_, calls, _, cumulative) in entry[4].items():
            if _is_library(caller):
                row = boundary[f"{_name(caller)} -> {_name(key)}"]
                row[0] += cumulative
                row[1] += calls

    def rows(items: list[tuple[str, float, int]]) -> tuple[Row, ...]:
        ordered = sorted(items, key=lambda item: -item[1])[:top]
        return tuple(Row(name, seconds / total, seconds, calls) for name, seconds, calls in ordered)

    return Profile(
        title=title,
        total_seconds=total,
        repeat=1,
        areas=rows([(name, seconds, 0) for name, seconds in areas.items()]),
        library=rows([(_name(k), e[3], e[1]) for k, e in table.items() if _is_library(k)]),
        boundary=rows([(name, row[0], int(row[1])) for name, row in boundary.items()]),
        by_self=rows([(_name(k), e[2], e[1]) for k, e in table.items()]),
    )


def _parts(filename: str) -> tuple[str, ...]:
    return PurePath(filename).parts


def _area(filename: str) -> str:
    if filename == "~" or filename.startswith("<"):
        return "builtins and C extensions"
    parts = _parts(filename)
    for package in ("metrics_layer", "sqlglot"):
        if package in parts:
            rest = parts[parts.index(package) + 1 :]
            if len(rest) > 1:
                return f"{package}.{rest[0]}"
            return f"{package}.{PurePath(rest[0]).stem}" if rest else package
    for package in (
        "pydantic_core",
        "pydantic",
        "jsonschema",
        "referencing",
        "yaml",
        "sqlalchemy",
        "duckdb",
    ):
        if package in parts:
            return package
    if "benchmarks" in parts:
        return "benchmarks (harness)"
    return "python stdlib and other"


_DISABLE = "<method 'disable' of '_lsprof.Profiler' objects>"


def _is_harness(key: Key) -> bool:
    return "benchmarks" in _parts(key[0]) or key[2] == _DISABLE


def _is_library(key: Key) -> bool:
    return "metrics_layer" in _parts(key[0])


def _name(key: Key) -> str:
    filename, line, function = key
    if filename == "~":
        return function
    parts = _parts(filename)
    for package in ("metrics_layer", "sqlglot", "pydantic", "jsonschema", "yaml"):
        if package in parts:
            module = ".".join(parts[parts.index(package) :])
            return f"{module.removesuffix('.py')}:{line}({function})"
    return f"{PurePath(filename).name}:{line}({function})"
