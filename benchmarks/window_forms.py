"""Distinct counts over windows, per engine: joined to their windows or counted by changes
(docs/benchmarks.md, "Distinct counts over windows: joined or counted by changes").

A distinct count over windows of days longer than the days between the periods shown (weekly
active users by day, monthly active users by week or day) can be written two ways that give
the same rows (``sql/windows.py``): each period joined to its window's days, which reads a
day's values once per window holding it, or the days each value enters and leaves the
windows (``LEAD`` over each value's days, +1/-1 marks, their running sum), whose work does not
grow with the window. ``JOINED_WINDOWS`` says, per dialect, up to how many windows a day may
join before the second form is used. This benchmark measures both forms and the hand-written
query of ``benchmarks/hand_sql.py`` on the KPI suite's data, alternating, and prints one
markdown row per engine, KPI and shape:

    python -m benchmarks.window_forms --engines clickhouse,spark

The forms are made by setting the engine's ``JOINED_WINDOWS`` entry to 1 (changes) and to
1,000 (joined) while compiling. Rows of both forms must equal the hand-written query's.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from typing import Any

from benchmarks.engines_10m import BENCHES, EXTRA_BENCHES, build, project
from benchmarks.hand_sql import DIALECTS, HAND_SQL, SHAPES
from benchmarks.kpi_suite import DEFAULT_ROWS, OTHER_ROWS, difference

__all__ = ["main"]

KPIS = ("weekly_active_users", "monthly_active_users")
FORMS = {"by changes": 1, "joined": 1_000}


def _compiled(layer: Any, kpi: str, shape: Any, joined: int) -> Any:
    from metrics_layer.sql.windows import JOINED_WINDOWS

    dialect = layer.connection.dialect
    kept = JOINED_WINDOWS.get(dialect)
    JOINED_WINDOWS[dialect] = joined
    try:
        query = layer.query(
            [kpi],
            by=[f"metric_time.{shape.grain}"],
            where=shape.where,
            start=shape.start,
            end=shape.end,
        )
        return query.statement()
    finally:
        if kept is None:
            del JOINED_WINDOWS[dialect]
        else:
            JOINED_WINDOWS[dialect] = kept


def run(engine: str, rounds: int) -> list[str]:
    import metrics_layer as ml
    from metrics_layer.safety.statement import verify

    rows = DEFAULT_ROWS.get(engine, OTHER_ROWS)
    bench = {**BENCHES, **EXTRA_BENCHES}[engine]
    _, parquet, _ = build(rows)
    url, target, _ = bench.load(parquet, rows)
    lines = []
    for kpi in KPIS:
        for shape in SHAPES:
            layer = ml.load(project(), connection=url, target=target, timeout=600, cache_bytes=0)
            dialect = layer.connection.dialect
            statements = {name: _compiled(layer, kpi, shape, n) for name, n in FORMS.items()}
            if len({s.sql for s in statements.values()}) == 1:
                layer.connection.close()
                continue  # no window longer than the periods: one form
            statements["hand-written"] = verify(HAND_SQL[kpi](shape, DIALECTS[dialect]), dialect)
            fetch = layer.connection.fetch
            hand = fetch(statements["hand-written"], timeout=600, max_rows=1_000_000).rows
            for name in FORMS:
                ours = fetch(statements[name], timeout=600, max_rows=1_000_000).rows
                wrong = difference(ours, hand)
                if wrong:
                    raise SystemExit(f"{engine} {kpi} {shape.key} {name}: {wrong}")
            times: dict[str, list[float]] = {name: [] for name in statements}
            for _ in range(rounds):
                for name, statement in statements.items():
                    times[name].append(fetch(statement, timeout=600, max_rows=1_000_000).elapsed_ms)
            layer.connection.close()
            median = {name: statistics.median(ms) for name, ms in times.items()}
            hand_ms = median["hand-written"]
            cells = [f"{median[n]:.1f} ms ({median[n] / hand_ms:.2f}x)" for n in FORMS]
            lines.append(
                f"| {bench.name} | `{kpi}` | {shape.key} | {' | '.join(cells)} | {hand_ms:.1f} ms |"
            )
            print(lines[-1], flush=True)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="duckdb,postgres,sqlite,mariadb,clickhouse,spark")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of the three (default 7)")
    args = parser.parse_args(argv)
    print("| engine | KPI | shape | by changes | joined | hand-written |")
    print("|---|---|---|---:|---:|---:|")
    for engine in args.engines.split(","):
        run(engine, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
