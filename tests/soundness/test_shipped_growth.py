"""``mrr_growth_rate`` on the demo data against hand-written SQL over subscription_snapshots."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import metrics_layer as ml

MONTH_END_MRR = """
    WITH days AS (
        SELECT snapshot_date, SUM(mrr) AS mrr FROM subscription_snapshots GROUP BY snapshot_date
    ), months AS (
        SELECT make_date(year(snapshot_date), month(snapshot_date), 1) AS month,
               MAX(snapshot_date) AS last_day
        FROM subscription_snapshots GROUP BY 1
    )
    SELECT months.month, days.mrr FROM months JOIN days ON days.snapshot_date = months.last_day
    ORDER BY 1
"""


def test_mrr_growth_rate_by_month(
    layer: ml.SemanticLayer, demo_sql: Callable[[str], list[tuple[object, ...]]]
) -> None:
    month_end = {month: float(mrr) for month, mrr in demo_sql(MONTH_END_MRR)}  # type: ignore[arg-type]
    months = sorted(month_end)
    expected = {months[0]: None}
    for before, month in itertools.pairwise(months):
        expected[month] = (month_end[month] - month_end[before]) / month_end[before]
    result = layer.query(["mrr_growth_rate"], by=["metric_time.month"]).run()
    got = dict(result.rows)
    assert set(got) == set(expected)
    for month, value in expected.items():
        if value is None:
            assert got[month] is None
        else:
            assert math.isclose(got[month], value, rel_tol=1e-9), month
    assert result.versions == {"mrr_growth_rate": 1, "mrr": 1}
