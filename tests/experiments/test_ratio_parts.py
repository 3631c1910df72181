"""A ratio of simple metrics under the ratio's own filter, on the demo tables: the baseline
and the delta-method variance equal hand-written SQL; a distinct count of a non-key is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import metrics_layer as ml

PROJECT = {
    "sources.yml": """
    sources:
      - name: events
        table: events
        time: occurred_at
        entities:
          - {name: event, key: event_id, primary: true}
          - {name: user, key: user_id}
        dimensions:
          - {name: occurred_at, type: time}
          - {name: event_type}
          - {name: platform}
        measures:
          - {name: events, agg: count}
          - {name: active_days, agg: count_distinct, expr: "CAST(occurred_at AS DATE)"}
          - {name: active_users, agg: count_distinct, expr: user_id}
    """,
    "metrics.yml": """
    metrics:
      - name: shared_reports
        type: simple
        measure: events.events
        filter: "event_type = 'report_shared'"
      - name: sessions
        type: simple
        measure: events.events
        filter: "event_type = 'session_start'"
      - name: web_shares_per_session
        type: ratio
        numerator: shared_reports
        denominator: sessions
        filter: "platform = 'web'"
      - name: active_days
        type: simple
        measure: events.active_days
      - name: days_per_user
        type: ratio
        numerator: events.active_days
        denominator: events.active_users
    """,
}


def test_ratio_of_metrics_under_a_filter(
    write_project: Callable[[dict[str, str]], Path],
    demo_db: Path,
    demo_sql: Callable[[str], list[tuple[Any, ...]]],
) -> None:
    layer = ml.load(write_project(PROJECT), connection=f"duckdb:///{demo_db}")
    plan = layer.experiment("web_shares_per_session", mde="10%", end="2026-10-31")
    rows = demo_sql(
        """
        SELECT user_id,
               count(*) FILTER (WHERE event_type = 'report_shared'),
               count(*) FILTER (WHERE event_type = 'session_start')
        FROM events
        WHERE platform = 'web'
          AND occurred_at >= TIMESTAMP '2026-10-04' AND occurred_at < TIMESTAMP '2026-11-01'
        GROUP BY user_id
        HAVING count(*) FILTER (WHERE event_type IN ('report_shared', 'session_start')) > 0
        """
    )
    xs = [float(x) for _, x, _ in rows]
    ys = [float(y) for _, _, y in rows]
    n = len(rows)
    mx, my = sum(xs) / n, sum(ys) / n
    r = mx / my
    vx = sum((x - mx) ** 2 for x in xs) / (n - 1)
    vy = sum((y - my) ** 2 for y in ys) / (n - 1)
    cxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / (n - 1)
    assert plan.kind == "ratio"
    assert plan.unit == "user"
    assert plan.baseline.n == n
    assert plan.baseline.value == pytest.approx(r)
    assert plan.baseline.variance == pytest.approx((vx - 2 * r * cxy + r * r * vy) / my**2)
    (whole,) = layer.query("web_shares_per_session", start="2026-10-04", end="2026-10-31").run()
    # The metric over all users is per-user sums divided: the same number as the query's.
    assert whole[0] == pytest.approx(r)


def test_distinct_count_of_a_non_key_is_refused(
    write_project: Callable[[dict[str, str]], Path], demo_db: Path
) -> None:
    layer = ml.load(write_project(PROJECT), connection=f"duckdb:///{demo_db}")
    for metric in ("active_days", "days_per_user"):
        with pytest.raises(ml.QueryError, match="do not add up") as caught:
            layer.experiment(metric, mde="5%", end="2026-10-31")
        assert caught.value.field == "metric"
