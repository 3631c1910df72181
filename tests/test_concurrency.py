"""One SemanticLayer shared by many threads: the same SQL and rows as one thread gets, a cache
that stays inside its byte bound, and a graph that planning never changes."""

from __future__ import annotations

import random
import shutil
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlglot import exp

import metrics_layer as ml
from metrics_layer.graph.graph import Graph

DEFINITIONS = Path(__file__).resolve().parent.parent / "definitions"
THREADS = 16
ROUNDS = 1
DIALECTS = ("duckdb", "postgres", "snowflake", "bigquery")

# Metrics whose filters combine (an AND filter, an OR filter, a ratio filtering metrics that
# have filters of their own): planning them joins parsed filter trees of the graph.
COMBINED_FILTERS = """
metrics:
  - name: web_product_events
    type: simple
    measure: events.events
    filter: "platform = 'web' AND event_type IN ('project_created', 'report_shared')"
  - name: mobile_active_users
    type: simple
    measure: events.active_users
    filter: "platform = 'ios' OR platform = 'android'"
  - name: web_product_events_per_mobile_user
    type: ratio
    numerator: web_product_events
    denominator: mobile_active_users
    filter: "event_type <> 'login_failed' AND event_type <> 'email_open'"
"""

QUERIES: list[tuple[list[str], dict[str, Any]]] = [
    (["signups"], {"by": ["metric_time.month"], "start": "2026-01-01"}),
    (["daily_active_users", "signups"], {"by": ["metric_time.week", "user.plan"]}),
    (["paid_conversion_rate"], {"by": ["user.country"], "where": "user.country IN ('DE', 'FR')"}),
    (["mrr", "arpu"], {"by": ["metric_time.quarter"], "order": ["-mrr"], "limit": 3}),
    (["mrr_growth_rate"], {"by": ["metric_time.month"], "start": "2026-03-01"}),
    (["events_per_active_user"], {"by": ["event.platform"], "where": "user.plan = 'pro'"}),
    (["web_product_events", "mobile_active_users"], {"by": ["metric_time.month"]}),
    (["web_product_events_per_mobile_user"], {"by": ["user.plan"], "where": "user.ever_paid"}),
    (
        ["web_product_events_per_mobile_user", "daily_active_users"],
        {"by": ["metric_time.month"], "where": "event.platform <> 'web' OR user.country = 'DE'"},
    ),
    ([], {"by": ["user.acquisition_channel"]}),
    (["new_mrr", "paying_customers"], {"by": ["subscription.plan"], "end": "2026-06-30"}),
    (["signups"], {"where": "user.signed_up_at.month >= '2026-06-01'"}),
]


@pytest.fixture(autouse=True)
def _switch_threads_often() -> Iterator[None]:
    """Let the interpreter switch threads every few bytecodes, so races show up in a test run."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped definitions plus metrics with combined filters, on the demo tables."""
    folder = tmp_path_factory.mktemp("project") / "definitions"
    shutil.copytree(DEFINITIONS, folder)
    (folder / "metrics" / "combined.yml").write_text(textwrap.dedent(COMBINED_FILTERS))
    return folder


def open_layer(project: Path, demo_db: Path, cache_bytes: int | None = None) -> ml.SemanticLayer:
    return ml.load(project, connection=f"duckdb:///{demo_db}", cache_bytes=cache_bytes)


Answer = tuple[dict[str, str], tuple[tuple[object, ...], ...]]


def answer(layer: ml.SemanticLayer, index: int) -> Answer:
    metrics, options = QUERIES[index]
    sql = {d: layer.query(metrics, **options).sql(d) for d in DIALECTS}
    return sql, layer.query(metrics, **options).run().rows


@pytest.fixture(scope="module")
def serial(project: Path, demo_db: Path) -> list[Answer]:
    """Each query answered by one thread, on a layer of its own with no cache."""
    layer = open_layer(project, demo_db, cache_bytes=0)
    answers = [answer(layer, i) for i in range(len(QUERIES))]
    assert all(rows for _, rows in answers)
    return answers


def graph_nodes(graph: Graph) -> Iterator[exp.Expr]:
    """Every sqlglot node the graph owns."""
    roots: list[exp.Expr | None] = []
    for source in graph.sources.values():
        roots.append(source.relation)
        roots.extend(d.expr for d in source.dimensions.values())
        roots.extend(m.expr for m in source.measures.values())
        roots.extend(k for e in source.entities.values() for k in e.keys)
    for metric in graph.metrics.values():
        roots.extend((metric.filter, metric.expr))
    for root in roots:
        if root is not None:
            yield from root.walk()


def links(graph: Graph) -> list[tuple[int, int | None, str | None, int | None]]:
    """Where each graph node hangs: its parent, its key under the parent and its position."""
    return [
        (id(node), id(node.parent) if node.parent else None, node.arg_key, node.index)
        for node in graph_nodes(graph)
    ]


def test_planning_leaves_the_graph_untouched(project: Path, demo_db: Path) -> None:
    layer = open_layer(project, demo_db)
    before = links(layer.graph)
    texts = [m.filter.sql() for m in layer.graph.metrics.values() if m.filter is not None]
    for metrics, options in QUERIES:
        layer.query(metrics, **options).sql()
    assert links(layer.graph) == before
    assert [m.filter.sql() for m in layer.graph.metrics.values() if m.filter] == texts


@pytest.mark.parametrize("cache_bytes", [None, 40_000])
def test_threads_sharing_a_layer_get_the_serial_answers(
    project: Path, demo_db: Path, serial: list[Answer], cache_bytes: int | None
) -> None:
    layer = open_layer(project, demo_db, cache_bytes)
    before = links(layer.graph)
    cache = layer.compiled
    start = threading.Barrier(THREADS)
    sizes: list[int] = []

    def work(seed: int) -> list[tuple[int, Answer]]:
        order = [i for _ in range(ROUNDS) for i in range(len(QUERIES))]
        random.Random(seed).shuffle(order)
        start.wait()
        got = []
        for index in order:
            got.append((index, answer(layer, index)))
            sizes.append(cache.nbytes)
        return got

    with ThreadPoolExecutor(THREADS) as pool:
        results = [r for rs in pool.map(work, range(THREADS)) for r in rs]
    assert len(results) == THREADS * ROUNDS * len(QUERIES)
    for index, got in results:
        assert got == serial[index], QUERIES[index]
    assert max(sizes) <= cache.max_bytes
    assert cache.nbytes <= cache.max_bytes
    assert len(cache) > 0
    assert links(layer.graph) == before


def test_threads_sharing_one_query_get_the_serial_sql(
    project: Path, demo_db: Path, serial: list[Answer]
) -> None:
    """A Query compiles from its own plan once; two threads must not both take it."""
    layer = open_layer(project, demo_db)
    pairs = [(i, d) for i in range(len(QUERIES)) for d in DIALECTS]

    expected = {(i, d): serial[i][0][d] for i, d in pairs}

    def work(
        seed: int, queries: list[ml.Query], start: threading.Barrier
    ) -> dict[tuple[int, str], str]:
        order = random.Random(seed).sample(pairs, len(pairs))
        start.wait()
        return {(i, d): queries[i].sql(d) for i, d in order}

    for _ in range(8):
        layer.compiled.clear()
        queries = [layer.query(m, **o) for m, o in QUERIES]
        start = threading.Barrier(THREADS)
        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(work, range(THREADS), [queries] * THREADS, [start] * THREADS))
        for got in results:
            assert got == expected


def test_the_cache_under_threads_keeps_its_bound_and_its_values() -> None:
    """Many threads putting and getting on a cache that holds about ten entries."""
    from metrics_layer.planner.query import MetricQuery
    from metrics_layer.sql.cache import CompiledCache

    keys = [(MetricQuery.of(f"m{i}"), "duckdb", True) for i in range(40)]
    sql = {key: f"SELECT {i}" + " " * (i * 50) for i, key in enumerate(keys)}
    cache = CompiledCache(16_000)
    start = threading.Barrier(THREADS)

    def work(seed: int) -> list[int]:
        rng = random.Random(seed)
        start.wait()
        sizes = []
        for _ in range(2000):
            key = rng.choice(keys)
            found = cache.get(key)
            assert found is None or found == sql[key]
            cache.put(key, sql[key])
            sizes.append(cache.nbytes)
        return sizes

    with ThreadPoolExecutor(THREADS) as pool:
        sizes = [n for ns in pool.map(work, range(THREADS)) for n in ns]
    assert max(sizes) <= cache.max_bytes
    assert 0 < len(cache) < len(keys)
