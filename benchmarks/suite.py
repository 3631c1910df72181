"""The benchmark suite: measure, print PASS/FAIL per target, write docs/benchmarks.md."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import compile_latency, engine_10m, guard, import_time, load_check
from benchmarks.machine import describe
from benchmarks.profiling import Profile
from benchmarks.report import MAIN_SECTION, TEN_M_SECTION, comparison, render, write_section
from benchmarks.timing import Part

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
WORKDIR = ROOT / "benchmarks" / ".work"
REPORT = ROOT / "docs" / "benchmarks.md"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure import time, load + check of a 1,000-metric project, uncached "
        "compile latency and (optionally) generated vs hand-written SQL on DuckDB; write the "
        "results into docs/benchmarks.md.",
    )
    parser.add_argument(
        "--with-10m",
        action="store_true",
        help="also run generated vs hand-written SQL on a 10M-row DuckDB table "
        "(slow the first time: builds benchmarks/.work/)",
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=10_000_000,
        help="rows of the events table for --with-10m (default 10,000,000)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when any target fails (default: always exit 0)",
    )
    parser.add_argument(
        "--calls", type=int, default=2000, help="timed compile calls per case (default 2000)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile every case, not only those that miss a target",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone"
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=REPORT,
        help="markdown file to update (default docs/benchmarks.md)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    started = time.perf_counter()
    machine = describe(ROOT)
    _say("metrics_layer benchmarks")
    for name, value in machine:
        _say(f"  {name:<14} {value}")

    parts: list[Part] = []
    profiles: list[Profile] = []

    _say("\n[1/5] import time ...")
    parts.append(_report(import_time.run(ROOT)))

    import metrics_layer as ml

    _say(f"[2/5] uncached compile latency ({args.calls} calls per case) ...")
    # No compiled-SQL cache: every call plans and renders (no reuse of a shape's rendering).
    shipped, found = compile_latency.run_shipped(
        ml.load(ROOT / "definitions", cache_bytes=0), calls=args.calls, profile_all=args.profile
    )
    parts.append(_report(shipped, found))
    profiles += found

    _say("[3/5] statement guard on the run path ...")
    parts.append(_report(guard.run(ml.load(ROOT / "definitions"))))

    with tempfile.TemporaryDirectory(prefix="metrics_layer_bench_") as scratch:
        _say("[4/5] load + check of a generated 1,000-metric project ...")
        loaded_part, found, loaded = load_check.run(Path(scratch), ROOT, profile_all=args.profile)
        parts.append(_report(loaded_part, found))
        profiles += found

        _say("[5/5] 80-metric query on the generated project ...")
        wide, found = compile_latency.many_metrics(
            ml.load(loaded.project.path, cache_bytes=0), loaded.project, profile_it=args.profile
        )
        parts.append(_report(wide, found))
        profiles += found

    values = {k: v for p in parts for k, v in p.values.items()}
    main_body = render("Results", machine, parts, profiles, extra=comparison(values))
    ten_m: Part | None = None
    if args.with_10m:
        _say(f"[10M] generated vs hand-written SQL on DuckDB, {args.rows:,} rows ...")
        ten_m = _report(engine_10m.run(WORKDIR, rows=args.rows))

    targets = [t for p in parts for t in p.targets]
    _say("\nTargets:")
    for target in targets:
        _say(f"  {target.line()}")
    failed = [t for t in targets if not t.passed]
    _say(
        f"\n{len(targets) - len(failed)} of {len(targets)} targets met; "
        f"took {time.perf_counter() - started:.1f} s."
    )

    if not args.no_write:
        write_section(args.report, MAIN_SECTION, main_body)
        if ten_m is not None:
            write_section(
                args.report,
                TEN_M_SECTION,
                render(ten_m.title, machine, [ten_m], []).replace(f"### {ten_m.title}\n\n", "", 1),
            )
        _say(f"wrote {_relative(args.report)}")
    return 1 if failed and args.strict else 0


def _report(part: Part, profiles: Sequence[Profile] = ()) -> Part:
    _say(f"  {part.title} ({part.seconds:.1f} s)")
    for target in part.targets:
        _say(f"    {target.line()}")
    for note in part.notes:
        _say(f"    {note}")
    for found in profiles:
        for line in found.console():
            _say(f"  {line}")
    return part


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _say(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
