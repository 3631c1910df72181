"""The SQL shapes of offsets and per-day rollups, before and after: one checkout's SQL timed.

``python -I benchmarks/shapes.py ROOT DATABASE`` loads ``ROOT/definitions`` with ``ROOT``'s
own code (a checkout, or ``git archive REV | tar -x -C DIR`` of an older version), compiles the
queries below for DuckDB and runs each 5 times after one warm-up on ``DATABASE`` (read only;
``make bench-kpis`` builds ``benchmarks/.work/demo_10000000.duckdb``). It prints the median,
fastest and slowest run, the row count and the sum of the last column, so two versions'
answers can be compared. Run it for both versions in turn; docs/benchmarks.md ("Shapes of the
generated SQL") holds one such run.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

CASES: dict[str, dict[str, Any]] = {
    "daily_active_users by week, DE, 2025": {
        "metrics": ["daily_active_users"],
        "by": ["metric_time.week"],
        "where": "user.country = 'DE'",
        "start": "2025-01-06",
        "end": "2025-12-28",
    },
    "daily_active_users by month": {"metrics": ["daily_active_users"], "by": ["metric_time.month"]},
    "mrr_growth_rate by month": {"metrics": ["mrr_growth_rate"], "by": ["metric_time.month"]},
    "mrr_growth_rate by month, 2025": {
        "metrics": ["mrr_growth_rate"],
        "by": ["metric_time.month"],
        "start": "2025-01-01",
        "end": "2025-12-31",
    },
}


def main(root: str, database: str, runs: int = 5) -> None:
    sys.path.insert(0, root)
    import duckdb

    import metrics_layer as ml

    layer = ml.load(f"{root}/definitions")
    connection = duckdb.connect(database, read_only=True)
    for name, asked in CASES.items():
        query = dict(asked)
        sql = layer.query(query.pop("metrics"), **query).sql("duckdb")
        connection.execute(sql).fetchall()
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            rows = connection.execute(sql).fetchall()
            times.append((time.perf_counter() - started) * 1000)
        total = sum(float(row[-1] or 0) for row in rows)
        print(
            f"{name}: {statistics.median(times):.0f} ms ({min(times):.0f}-{max(times):.0f}), "
            f"{len(rows)} rows, sum {total:.6f}"
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
