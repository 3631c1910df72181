"""The statement guard's cost on the run path: parsing the final SQL back and checking it.

Paid once per distinct (query, dialect) by ``Query.run()``: the verified statement is cached
with the compiled SQL, and ``Query.sql()`` never runs the guard, so compile latency does not
include it. No target; reported so that the run path's overhead is visible.
"""

from __future__ import annotations

import gc
import time

from benchmarks.timing import Part, summarize
from metrics_layer.api import SemanticLayer
from metrics_layer.safety.statement import verify

__all__ = ["run"]

CASES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("new_mrr by month", ("new_mrr",), ("metric_time.month",)),
    ("daily_active_users by user.plan", ("daily_active_users",), ("user.plan",)),
    (
        "4 KPIs by month (the README query)",
        ("daily_active_users", "signups", "paid_conversion_rate", "mrr"),
        ("metric_time.month",),
    ),
)
DIALECTS = ("duckdb", "postgres")


def run(layer: SemanticLayer, *, calls: int = 200) -> Part:
    started = time.perf_counter()
    part = Part("Statement guard (run path, once per distinct query)")
    part.markdown += [
        "`verify(sql, dialect)` parses the compiled SQL back in the engine's dialect and checks "
        f"every node; {calls} timed calls per case after 10 warm-up. `Query.run()` pays this "
        "once per distinct query and dialect (the result is cached with the compiled SQL); "
        "`Query.sql()` never does.",
        "",
        "| query | dialect | SQL characters | median | p95 | min |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, metrics, by in CASES:
        for dialect in DIALECTS:
            sql = layer.query(list(metrics), by=list(by)).sql(dialect)
            for _ in range(10):
                verify(sql, dialect)
            gc.collect()
            samples = []
            for _ in range(calls):
                begun = time.perf_counter()
                verify(sql, dialect)
                samples.append(time.perf_counter() - begun)
            summary = summarize(samples)
            part.markdown.append(f"| {label} | {dialect} | {len(sql):,} | {summary.cells} |")
            part.notes.append(f"{label}, {dialect}: median {summary.median_ms:.2f} ms")
    part.markdown.append("")
    part.seconds = time.perf_counter() - started
    return part
