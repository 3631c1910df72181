"""Compile latency against the rendering floor, and compile time per metric up to 1,000 metrics.

``python -m benchmarks.compile_floor`` (``make bench-compile``) writes the section "Compile
latency against the rendering floor" of docs/benchmarks.md.

**The floor** of a query is what sqlglot alone takes to write out the same SQL: the time of
``tree.sql(dialect, pretty=True)`` on the query's final tree (``query.tree`` after the dialect's
rules, ``sql/dialects.py: prepared``: the tree the library hands to sqlglot's generator).
``tree.sql`` is sqlglot's own call: it copies the tree and generates the text. The text must
equal the compiled SQL character for character (checked). Beside it, *generator alone* is
sqlglot's generator without the copy (``Dialect.generate(tree, copy=False)`` on a fresh copy
each time), which is what the library itself calls on the tree it built: a compile can only be
faster than the floor by that copy.

**Compile** is ``layer.query(metrics, by=[...], start=...).sql()`` end to end (the query's
checks, planning, the sqlglot tree, the dialect's rules and the generator) on a layer loaded
with ``cache_bytes=0``: nothing is cached, so every call plans and renders in full. Each query
is timed in ``--rounds`` rounds that alternate one compile and one floor; the medians are
compared. Target: compile <= 1.2x the floor for every query.

The queries: every metric of the shipped ``definitions/`` by ``metric_time.month``, and every
metric and dimension of the cases of ``benchmarks/compile_latency.py``.

**Per metric**: a generated project (``benchmarks/generate_project.py``, seed 7, 1,200 metrics);
queries of its first 100, 300, 600, 900 and 1,000 usable metrics (a fixed random order) by
``metric_time.month``. The time per metric should not grow with the number of metrics; the
collections of the garbage collector's oldest generation during those compiles, and their time,
are counted with ``gc.callbacks``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.compile_latency import SHIPPED_CASES
from benchmarks.timing import format_ms

if TYPE_CHECKING:
    from metrics_layer.api import SemanticLayer

__all__ = [
    "Floor",
    "GcCounter",
    "Query",
    "frozen_per_metric",
    "main",
    "measure_floor",
    "per_metric",
]

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
SECTION = "results-compile"
LIMIT = 1.2
START = "2025-01-01"
SIZES = (100, 300, 600, 900, 1000)
GENERATED_METRICS = 1200


@dataclass(frozen=True)
class Query:
    label: str
    metrics: tuple[str, ...]
    by: tuple[str, ...]


@dataclass(frozen=True)
class Floor:
    """One query's compile time against sqlglot's time to write out the same SQL (medians)."""

    query: Query
    compile_ms: float
    floor_ms: float
    generator_ms: float
    parsed_ms: float = 0.0  # sqlglot parsing the SQL text, then writing it out
    problem: str | None = None

    @property
    def ratio(self) -> float:
        return self.compile_ms / self.floor_ms

    @property
    def parsed_ratio(self) -> float:
        return self.compile_ms / self.parsed_ms


def shipped_queries(layer: SemanticLayer) -> list[Query]:
    """Every shipped metric by month (a cohort table also by its period), then every metric
    and dimension of the latency cases."""
    from metrics_layer.graph.model import MetricKind

    queries = []
    for m in layer.metrics:
        by = ["metric_time.month"]
        if m.kind is MetricKind.RETENTION and m.cohort_table:
            by.append(f"{m.name}.period")
        queries.append(Query(f"{m.name} by month", (m.name,), tuple(by)))
    seen: set[tuple[str, str]] = set()
    for case in SHIPPED_CASES:
        for metric in case.metrics:
            for dimension in case.dimensions:
                if (metric, dimension) not in seen:
                    seen.add((metric, dimension))
                    label = f"({case.key}) {metric} by {dimension}"
                    queries.append(Query(label, (metric,), (dimension,)))
    return queries


def measure_floor(layer: SemanticLayer, query: Query, rounds: int) -> Floor:
    """Alternate ``rounds`` uncached compiles of ``query`` with sqlglot writing out its SQL."""
    import sqlglot
    from sqlglot.dialects.dialect import Dialect

    from metrics_layer.errors import UserError

    dialect = layer.dialect
    generator = Dialect.get_or_raise(dialect)

    def compiled() -> str:
        return layer.query(list(query.metrics), by=list(query.by), start=START).sql()

    try:
        sql = compiled()
    except UserError as exc:
        return Floor(query, 0.0, 0.0, 0.0, problem=f"error: {exc}")
    # The tree the compile hands to the generator: built for the dialect (a form chosen per
    # engine, sql/build.py), then the dialect's rules.
    final = layer.query(list(query.metrics), by=list(query.by), start=START)._prepared(dialect)
    if final.sql(dialect, pretty=True) != sql:
        return Floor(query, 0.0, 0.0, 0.0, problem="the final tree does not write the compiled SQL")
    clock = time.perf_counter
    compiles: list[float] = []
    floors: list[float] = []
    generators: list[float] = []
    parses: list[float] = []
    for _ in range(rounds):
        started = clock()
        compiled()
        compiles.append(clock() - started)
        started = clock()
        final.sql(dialect, pretty=True)
        floors.append(clock() - started)
        fresh = final.copy()
        started = clock()
        generator.generate(fresh, copy=False, pretty=True)
        generators.append(clock() - started)
        started = clock()
        sqlglot.parse_one(sql, read=dialect).sql(dialect, pretty=True)
        parses.append(clock() - started)
    if len(layer.compiled):
        raise AssertionError("the layer cached a compile: load it with cache_bytes=0")
    return Floor(query, _ms(compiles), _ms(floors), _ms(generators), _ms(parses))


def _ms(seconds: Sequence[float]) -> float:
    return statistics.median(seconds) * 1000


@dataclass
class GcCounter:
    """Collections of the oldest generation (2) and the time all collections took, while on."""

    oldest: int = 0
    seconds: float = 0.0
    _started: float = 0.0
    _on: bool = field(default=False, repr=False)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if not self._on:
            return
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.seconds += time.perf_counter() - self._started
        if info["generation"] == 2:
            self.oldest += 1

    def count(self, work: Callable[[], object]) -> None:
        """Run ``work`` with counting on."""
        self._on = True
        try:
            work()
        finally:
            self._on = False


@dataclass(frozen=True)
class Size:
    metrics: int
    median_ms: float
    min_ms: float
    max_ms: float
    oldest_collections: float
    gc_ms: float

    @property
    def per_metric_us(self) -> float:
        return self.median_ms * 1000 / self.metrics


def per_metric(layer: SemanticLayer, names: Sequence[str], runs: int) -> list[Size]:
    """Compile ``runs`` queries (new start dates) of each size, after one untimed compile of
    the size; time and collections."""
    counter = GcCounter()
    gc.callbacks.append(counter)
    sizes: list[Size] = []
    day = 0
    try:
        for size in SIZES:
            chosen = list(names[:size])
            day += 1
            _compile(layer, chosen, _day(day))
            samples: list[float] = []
            before_oldest, before_seconds = counter.oldest, counter.seconds
            for _ in range(runs):
                day += 1
                clock = time.perf_counter()
                counter.count(partial(_compile, layer, chosen, _day(day)))
                samples.append(time.perf_counter() - clock)
            sizes.append(
                Size(
                    size,
                    _ms(samples),
                    min(samples) * 1000,
                    max(samples) * 1000,
                    (counter.oldest - before_oldest) / runs,
                    (counter.seconds - before_seconds) * 1000 / runs,
                )
            )
    finally:
        gc.callbacks.remove(counter)
    return sizes


def frozen_per_metric(layer: SemanticLayer, names: Sequence[str], runs: int) -> list[Size]:
    """``per_metric`` after ``gc.freeze()``, as a service may call once its layer is loaded
    (docs/python.md); unfrozen again afterwards."""
    gc.collect()
    gc.freeze()
    try:
        return per_metric(layer, names, runs)
    finally:
        gc.unfreeze()


def _compile(layer: SemanticLayer, metrics: list[str], start: str) -> str:
    return layer.query(metrics, by=["metric_time.month"], start=start).sql()


def _day(index: int) -> str:
    """A different start date for each ``index``."""
    return (dt.date(2000, 1, 1) + dt.timedelta(days=index)).isoformat()


def generated_names(folder: Path) -> tuple[SemanticLayer, list[str]]:
    """A layer of the generated project and its usable metrics in a fixed random order."""
    import metrics_layer as ml
    from benchmarks.generate_project import generate_project

    project = generate_project(folder, metrics=GENERATED_METRICS, seed=7)
    names = sorted(m.name for m in project.metrics if m.status != "deprecated")
    random.Random(3).shuffle(names)
    return ml.load(folder, cache_bytes=0), names


def render(
    floors: Sequence[Floor],
    sizes: Sequence[Size],
    frozen: Sequence[Size],
    rounds: int,
    runs: int,
) -> str:
    measured = [f for f in floors if f.problem is None]
    ratios = sorted(f.ratio for f in measured)
    met = sum(1 for r in ratios if r <= LIMIT)
    parsed = sorted(f.parsed_ratio for f in measured)
    lines = [
        "Rendering floor: `tree.sql(dialect, pretty=True)` on the query's final tree (after the "
        "dialect's rules; sqlglot copies it and generates the text, checked equal to the "
        "compiled SQL). Compile: `layer.query(...).sql()` with `cache_bytes=0`. Medians of "
        f"{rounds} alternating rounds per query, DuckDB SQL. Target: compile <= {LIMIT}x the "
        "floor for every query.",
        "",
        f"{met} of {len(ratios)} queries within {LIMIT}x; ratio median "
        f"{statistics.median(ratios):.2f}x, worst {ratios[-1]:.2f}x."
        if ratios
        else "No query measured.",
        "",
        "Against sqlglot parsing the compiled SQL and writing it out again "
        "(`sqlglot.parse_one(sql).sql(dialect, pretty=True)`, the floor as the issue first "
        "measured it; what it writes may differ from the compiled SQL in spelling, as sqlglot "
        f"normalises what it reads): {sum(1 for r in parsed if r <= LIMIT)} of {len(parsed)} "
        f"queries within {LIMIT}x; ratio median {statistics.median(parsed):.2f}x, "
        f"worst {parsed[-1]:.2f}x."
        if parsed
        else "",
        "",
        "| query | compile | floor | ratio | generator alone | compile ÷ generator "
        "| parse and write | compile ÷ parse and write |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in floors:
        if f.problem is not None:
            lines.append(f"| {f.query.label} | {f.problem} | | | | | | |")
            continue
        lines.append(
            f"| {f.query.label} | {format_ms(f.compile_ms)} | {format_ms(f.floor_ms)} | "
            f"{f.ratio:.2f}x | {format_ms(f.generator_ms)} | "
            f"{f.compile_ms / f.generator_ms:.2f}x | {format_ms(f.parsed_ms)} | "
            f"{f.parsed_ratio:.2f}x |"
        )
    lines += [
        "",
        f"Compile time per metric, the generated project ({GENERATED_METRICS:,} metrics, seed 7), "
        f"N metrics by `metric_time.month`, {runs} compiles per size (each with a new start "
        "date, after one untimed compile); collections of the garbage collector's oldest "
        "generation and the time of all collections, per compile. *Frozen*: the same after "
        "`gc.freeze()`.",
        "",
        "| metrics | median | min | max | per metric | oldest-generation collections | GC time "
        "| frozen: median | per metric | GC time |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s, f in zip(sizes, frozen, strict=True):
        lines.append(
            f"| {s.metrics:,} | {format_ms(s.median_ms)} | {format_ms(s.min_ms)} | "
            f"{format_ms(s.max_ms)} | {s.per_metric_us:.0f} µs | {s.oldest_collections:.1f} | "
            f"{format_ms(s.gc_ms)} | {format_ms(f.median_ms)} | {f.per_metric_us:.0f} µs | "
            f"{format_ms(f.gc_ms)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compile_floor", description=__doc__)
    parser.add_argument("--rounds", type=int, default=200, help="rounds per query (default 200)")
    parser.add_argument("--runs", type=int, default=7, help="compiles per size (default 7)")
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    import metrics_layer as ml
    from benchmarks.machine import describe

    layer = ml.load(ROOT / "definitions", cache_bytes=0)
    floors = []
    for query in shipped_queries(layer):
        floors.append(measure_floor(layer, query, args.rounds))
        found = floors[-1]
        _say(f"{query.label}: {found.problem or f'{found.ratio:.2f}x'}")
    with tempfile.TemporaryDirectory(prefix="metrics_layer_bench_") as scratch:
        generated, names = generated_names(Path(scratch))
        gc.collect()
        sizes = per_metric(generated, names, args.runs)
        frozen = frozen_per_metric(generated, names, args.runs)
    machine = describe(ROOT)
    body = "\n".join(
        [
            "Machine:",
            "",
            "| | |",
            "|---|---|",
            *(f"| {name} | {value} |" for name, value in machine),
            "",
            render(floors, sizes, frozen, args.rounds, args.runs),
        ]
    )
    print(body)
    if not args.no_write:
        from benchmarks.report import write_section

        write_section(REPORT, SECTION, body)
    return 0


def _say(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
