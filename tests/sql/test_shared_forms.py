"""Pieces of the graph that every compile shares instead of copying: a query changes only its own
copy of them, so the queries after it compile as if it had never been.

A conversion metric's correlated form (``sql/nodes.py: Alternative``) is shared by every copy of
its relation; each query narrows it to its range and filters and drops the columns it does not
read, but only on the copy a dialect takes.
"""

from __future__ import annotations

import metrics_layer as ml
from metrics_layer.sql.nodes import CORRELATED
from tests.conftest import DEFINITIONS

QUERIES = [
    {"by": ["metric_time.month"], "start": "2025-01-01", "end": "2025-03-31"},
    {"by": ["metric_time.week"], "start": "2025-06-02", "where": "user.plan = 'pro'"},
    {"by": ["user.country"], "start": "2024-11-01"},
]


def test_a_query_narrows_only_its_own_copy_of_the_correlated_form() -> None:
    layer = ml.load(DEFINITIONS, cache_bytes=0)
    form = layer.graph.sources["activation_rate_7d"].relation.this.meta[CORRELATED]
    before = form.tree.sql("postgres")
    for dialect in ("postgres", "duckdb", "sqlite"):
        for asked in QUERIES:
            for metrics in (["activation_rate_7d"], ["activation_rate_7d", "signups"]):
                text = layer.query(metrics, **asked).sql(dialect)  # type: ignore[arg-type]
                fresh = ml.load(DEFINITIONS, cache_bytes=0)
                assert text == fresh.query(metrics, **asked).sql(dialect)  # type: ignore[arg-type]
    assert form.tree.sql("postgres") == before
    assert not form.changes
