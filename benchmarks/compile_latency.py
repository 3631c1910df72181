"""Target 2: uncached compile latency, ``layer.query(...).sql()`` end to end.

Every timed call is a different query (the start date moves one day per call, and the metric
and dimension rotate), on a layer loaded with ``cache_bytes=0``: neither the compiled-SQL cache
nor the rendering kept per plan shape (``sql/shapes.py``) answers it, so each call plans and
renders in full.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from benchmarks.profiling import Profile, profile
from benchmarks.timing import Part, Summary, Target, format_ms, summarize

if TYPE_CHECKING:
    from benchmarks.generate_project import GeneratedProject
    from metrics_layer.api import SemanticLayer

__all__ = ["SHIPPED_CASES", "Call", "Case", "many_metrics", "run_shipped"]

LIMIT_MS = 1.0
FIRST_DAY = dt.date(1990, 1, 1)
PROFILED_CALLS = 300
PROFILE_OFFSET = 60_000
WIDE_GROUP = ("orders", "order_items", "tickets")
WIDE_METRICS = 80
WIDE_SECOND_DIMENSIONS = (
    "customer.segment",
    "customer.industry",
    "region.continent",
    "customer.country",
)


@dataclass(frozen=True)
class Call:
    metrics: tuple[str, ...]
    by: tuple[str, ...]
    start: str


@dataclass(frozen=True)
class Case:
    """Queries of one shape: each call takes the next metric, dimension and start date."""

    key: str
    label: str
    metrics: tuple[str, ...]
    dimensions: tuple[str, ...]

    def calls(self, count: int, offset: int) -> list[Call]:
        """``count`` calls whose start dates are ``offset`` .. ``offset + count - 1`` days in."""
        return [
            Call(
                (self.metrics[i % len(self.metrics)],),
                (self.dimensions[(i // len(self.metrics)) % len(self.dimensions)],),
                (FIRST_DAY + dt.timedelta(days=offset + i)).isoformat(),
            )
            for i in range(count)
        ]


SHIPPED_CASES: tuple[Case, ...] = (
    Case(
        "a",
        "`new_mrr` (sum on a table) by its own dimension or metric_time grain",
        ("new_mrr",),
        (
            "subscriptions.plan",
            "metric_time.day",
            "metric_time.week",
            "metric_time.month",
            "metric_time.quarter",
            "metric_time.year",
            "subscriptions.started_at.month",
            "subscriptions.ended_at.week",
        ),
    ),
    Case(
        "a",
        "`mrr` (semi-additive: last snapshot) by its own dimension or metric_time grain",
        ("mrr",),
        (
            "subscription_snapshots.plan",
            "metric_time.day",
            "metric_time.week",
            "metric_time.month",
            "metric_time.quarter",
            "metric_time.year",
        ),
    ),
    Case(
        "a",
        "`daily_active_users` (per day, averaged; filtered) by its own dimension or grain",
        ("daily_active_users",),
        (
            "events.event_type",
            "events.platform",
            "metric_time.day",
            "metric_time.week",
            "metric_time.month",
            "metric_time.quarter",
        ),
    ),
    Case(
        "b",
        "`new_mrr` by a joined dimension (`user.plan`, `user.country`, ...)",
        ("new_mrr",),
        (
            "user.plan",
            "user.country",
            "user.acquisition_channel",
            "user.ever_paid",
            "user.signed_up_at.month",
        ),
    ),
    Case(
        "b",
        "`daily_active_users` by a joined dimension (`user.plan`, ...)",
        ("daily_active_users",),
        (
            "user.plan",
            "user.country",
            "user.acquisition_channel",
            "user.ever_paid",
            "user.signed_up_at.month",
        ),
    ),
    Case(
        "c",
        "`signups` (source is a SQL subquery) by its own dimension or grain",
        ("signups",),
        (
            "user.plan",
            "user.country",
            "user.acquisition_channel",
            "metric_time.day",
            "metric_time.week",
            "metric_time.month",
            "metric_time.quarter",
        ),
    ),
)


def compile_call(layer: SemanticLayer, call: Call) -> str:
    return layer.query(list(call.metrics), by=list(call.by), start=call.start).sql()


def compile_all(layer: SemanticLayer, calls: Sequence[Call]) -> None:
    for call in calls:
        compile_call(layer, call)


def time_calls(layer: SemanticLayer, calls: Sequence[Call]) -> list[float]:
    """Seconds per call; each call builds the query, plans it and renders its SQL."""
    clock = time.perf_counter
    samples: list[float] = []
    for call in calls:
        started = clock()
        layer.query(list(call.metrics), by=list(call.by), start=call.start).sql()
        samples.append(clock() - started)
    return samples


def run_shipped(
    layer: SemanticLayer, *, calls: int, warmup: int = 200, profile_all: bool = False
) -> tuple[Part, list[Profile]]:
    """Time every shipped case; profile the cases that miss the target (or all, if asked)."""
    from metrics_layer.errors import UserError

    started = time.perf_counter()
    part = Part("Uncached compile latency")
    rows: list[str] = []
    profiles: list[Profile] = []
    seen: set[Call] = set()
    offset = 0
    for case in SHIPPED_CASES:
        warm = case.calls(warmup, offset)
        timed = case.calls(calls, offset + warmup)
        offset += warmup + calls
        batch = set(warm) | set(timed)
        if len(batch) != warmup + calls or batch & seen:
            raise AssertionError(f"case {case.label}: repeated queries")
        seen |= batch
        try:
            compile_call(layer, warm[0])
        except UserError as exc:
            rows.append(f"| ({case.key}) {case.label} | error: {exc} | | | | FAIL |")
            part.targets.append(Target.unmet(f"({case.key}) {_plain(case.label)}", str(exc)))
            continue
        time_calls(layer, warm)
        gc.collect()
        summary = summarize(time_calls(layer, timed))
        target = Target(f"({case.key}) {_plain(case.label)} median", summary.median_ms, LIMIT_MS)
        part.targets.append(target)
        part.values.setdefault(f"compile_{case.key}_ms", summary.median_ms)
        rows.append(
            f"| ({case.key}) {case.label} | {summary.samples} | {summary.cells} | "
            f"{target.verdict} |"
        )
        if profile_all or not target.passed:
            extra = case.calls(PROFILED_CALLS, PROFILE_OFFSET + offset)
            found = profile(
                f"({case.key}) {_plain(case.label)}", partial(compile_all, layer, extra)
            )
            profiles.append(found.per_call(len(extra)))
    medians = [t.measured_ms for t in part.targets if t.problem is None]
    if medians:
        part.values["compile_fastest_ms"] = min(medians)
        part.values["compile_slowest_ms"] = max(medians)
    part.markdown += [
        f"Each row: {warmup} warm-up calls, then {calls} timed calls of "
        "`layer.query(metric, by=[dimension], start=day).sql()` on the shipped `definitions/`, "
        "each call a query never compiled before (the start date moves one day per call; the "
        "dimension rotates), with no compiled-SQL cache (`cache_bytes=0`: no rendering is "
        "reused either). Target: median <= "
        f"{format_ms(LIMIT_MS)} for a simple metric by one dimension.",
        "",
        "| case | calls | median | p95 | min | target |",
        "|---|---:|---:|---:|---:|---|",
        *rows,
        "",
    ]
    part.seconds = time.perf_counter() - started
    return part, profiles


def many_metrics(
    layer: SemanticLayer,
    project: GeneratedProject,
    *,
    calls: int = 40,
    warmup: int = 3,
    profile_it: bool = False,
) -> tuple[Part, list[Profile]]:
    """An 80-metric query over 3 sources by 2 dimensions, on the generated project."""
    started = time.perf_counter()
    names, sources = pick_wide_metrics(project)
    timed_calls = [
        Call(
            names,
            ("metric_time.month", WIDE_SECOND_DIMENSIONS[i % len(WIDE_SECOND_DIMENSIONS)]),
            (FIRST_DAY + dt.timedelta(days=i)).isoformat(),
        )
        for i in range(warmup + calls)
    ]
    sql = compile_call(layer, timed_calls[0])
    time_calls(layer, timed_calls[:warmup])
    gc.collect()
    summary: Summary = summarize(time_calls(layer, timed_calls[warmup:]))
    kinds = {
        kind: sum(1 for m in project.metrics if m.name in names and m.kind == kind)
        for kind in ("simple", "ratio", "derived")
    }
    part = Part("80-metric query")
    part.values["compile_wide_ms"] = summary.median_ms
    part.markdown += [
        f"{len(names)} metrics of the generated project ({kinds['simple']} simple, "
        f"{kinds['ratio']} ratio, {kinds['derived']} derived) reading {len(sources)} sources "
        f"({', '.join(sorted(sources))}), by `metric_time.month` and a joined customer or "
        f"region dimension; {calls} timed calls after {warmup} warm-up, each with a new start "
        f"date. The SQL is {len(sql.splitlines())} lines ({len(sql):,} characters).",
        "",
        "| query | calls | median | p95 | min |",
        "|---|---:|---:|---:|---:|",
        f"| 80 metrics by 2 dimensions | {summary.samples} | {summary.cells} |",
        "",
    ]
    profiles: list[Profile] = []
    if profile_it:
        extra = [
            Call(c.metrics, c.by, (dt.date(2100, 1, 1) + dt.timedelta(days=i)).isoformat())
            for i, c in enumerate(timed_calls[:10])
        ]
        found = profile("80-metric query", partial(compile_all, layer, extra))
        profiles.append(found.per_call(len(extra)))
    part.seconds = time.perf_counter() - started
    return part, profiles


def pick_wide_metrics(project: GeneratedProject) -> tuple[tuple[str, ...], set[str]]:
    """80 usable metrics whose measures all come from the sources of ``WIDE_GROUP``."""
    group = set(WIDE_GROUP)
    eligible = [m for m in project.metrics if m.sources <= group and m.status != "deprecated"]
    chosen = random.Random(11).sample(eligible, min(WIDE_METRICS, len(eligible)))
    names = tuple(sorted(m.name for m in chosen))
    sources = set().union(*(m.sources for m in chosen))
    return names, sources


def _plain(label: str) -> str:
    return label.replace("`", "")
