"""``plan_errors`` plans metrics in batches: it must refuse exactly the metrics that planning
each one alone refuses, with the same errors, whatever the batch size (a failing batch is split
down to the metric alone)."""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics_layer.checks import run
from metrics_layer.errors import QueryError
from metrics_layer.graph.build import build_graph
from metrics_layer.graph.graph import Graph
from metrics_layer.planner.planner import plan_query
from metrics_layer.planner.query import MetricQuery
from metrics_layer.spec.project import read_project

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "corpus"

# Good metrics and metrics that build but cannot be planned, on shared sources and filters, so
# that batches mix them.
BROKEN = """\
sources:
  - name: orders
    table: shop.orders
    time: ordered_at
    entities:
      - {name: order, key: id, primary: true}
      - {name: customer, key: customer_id}
      - {name: store, key: store_id}
    dimensions:
      - {name: ordered_at, type: time}
      - {name: status}
    measures:
      - {name: orders, agg: count}
      - {name: revenue, agg: sum, expr: amount}
      - {name: buyers, agg: count_distinct, expr: customer_id}
  - name: customers
    table: shop.customers
    entities:
      - {name: customer, key: id, primary: true}
      - {name: country, key: country_code}
    dimensions:
      - {name: plan}
  - name: stores
    table: shop.stores
    entities:
      - {name: store, key: id, primary: true}
      - {name: country, key: country_code}
  - name: countries
    table: shop.countries
    entities:
      - {name: country, key: code, primary: true}
    dimensions:
      - {name: region}
  - name: visits
    table: shop.visits
    dimensions:
      - {name: page}
  - name: snapshots
    table: billing.snapshots
    time: snapshot_date
    entities:
      - {name: customer, key: customer_id}
    dimensions:
      - {name: snapshot_date, type: time, grain: day}
    measures:
      - {name: mrr, agg: sum, semi_additive: last}
metrics:
  - {name: all_orders, type: simple, measure: orders.orders}
  - {name: eu_orders, type: simple, measure: orders.orders, filter: "country.region = 'EU'"}
  - {name: paid_orders, type: simple, measure: orders.orders, filter: "status = 'paid'"}
  - {name: eu_revenue, type: simple, measure: orders.revenue, filter: "country.region = 'EU'"}
  - {name: paid_revenue, type: simple, measure: orders.revenue, filter: "status = 'paid'"}
  - {name: home_orders, type: simple, measure: orders.orders, filter: "visits.page = '/'"}
  - name: premium_orders
    type: simple
    measure: orders.orders
    filter: "customer.plan = 'premium'"
  - {name: mrr, type: simple, measure: snapshots.mrr}
  - {name: mrr_per_day, type: simple, measure: snapshots.mrr, per: day}
  - {name: premium_mrr, type: simple, measure: snapshots.mrr, filter: "customer.plan = 'premium'"}
  - {name: eu_share, type: ratio, numerator: eu_orders, denominator: all_orders}
  - {name: paid_share, type: ratio, numerator: paid_orders, denominator: orders.orders}
  - {name: loop, type: simple, measure: orders.buyers, filter: "customer.loop > 1"}
  - {name: loop_share, type: ratio, numerator: loop, denominator: orders.buyers}
  - {name: weekly_buyers, type: rolling, measure: orders.buyers, window: 7 days}
  - name: orders_month_ago
    type: derived
    expr: "a"
    inputs: [{metric: all_orders, offset: 1 month, alias: a}]
  - name: nested_offsets
    type: derived
    expr: "b"
    inputs: [{metric: orders_month_ago, offset: 1 week, alias: b}]
  - name: orders_at_month_start
    type: derived
    expr: "c"
    inputs: [{metric: all_orders, offset_to_grain: month, alias: c}]
  - name: buyers_at_month_start
    type: derived
    expr: "w"
    inputs: [{metric: weekly_buyers, offset_to_grain: month, alias: w}]
  - {name: growth, type: derived, expr: "all_orders - orders_month_ago"}
  - {name: eu_growth, type: derived, expr: "eu_orders - all_orders"}
  - {name: a_constant, type: derived, expr: "1"}
"""

# Each by hand: the reason planning it alone fails.
REFUSED = {
    "eu_orders": "along two paths",  # via customers and via stores
    "eu_revenue": "along two paths",
    "eu_share": "along two paths",  # its numerator is eu_orders
    "eu_growth": "along two paths",
    "home_orders": "cannot be reached from source 'orders'",
    "mrr_per_day": "'per' over a semi-additive measure",
    "loop": "needs itself",
    "loop_share": "needs itself",
    "nested_offsets": "nests offsets in different units",
    "orders_at_month_start": "'offset_to_grain' reads a rolling or cumulative metric",
}


def graph_of(folder: Path) -> Graph:
    graph, _ = build_graph(read_project(folder))
    return graph


def alone(graph: Graph) -> dict[str, QueryError | None]:
    """Each metric planned alone by ``plan_query``, with the SQL of its filters and aggregates
    (the checks plan with ``check_query``, which leaves them out)."""
    found: dict[str, QueryError | None] = {}
    for metric in graph.metrics.values():
        by = (metric.cohort_period,) if metric.cohort_period else ()
        try:
            plan_query(graph, MetricQuery(metrics=(metric.name,), by=by))
        except QueryError as exc:
            found[metric.name] = exc
        else:
            found[metric.name] = None
    return found


def shown(errors: dict[str, QueryError | None]) -> dict[str, tuple[str, str] | None]:
    return {
        name: None if error is None else (type(error).__name__, str(error))
        for name, error in errors.items()
    }


@pytest.mark.parametrize("batch", [2, 3, 7, run.BATCH])
def test_batches_refuse_exactly_what_planning_alone_refuses(
    batch: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.yml").write_text(BROKEN, encoding="utf-8")
    graph = graph_of(tmp_path)
    monkeypatch.setattr(run, "BATCH", batch)
    found = run.plan_errors(graph)
    assert shown(found) == shown(alone(graph))
    refused = {name: str(error) for name, error in found.items() if error is not None}
    assert sorted(refused) == sorted(REFUSED)
    for name, reason in REFUSED.items():
        assert reason in refused[name], name
    # The rest plans: a metric that reads no measure ('a_constant') included.
    assert found["a_constant"] is None
    assert found["weekly_buyers"] is None
    assert found["premium_mrr"] is None


@pytest.mark.parametrize(
    "folder",
    [ROOT / "definitions", *sorted(p / "project" for p in CORPUS.iterdir() if p.is_dir())],
    ids=lambda p: p.parent.name if p.name == "project" else p.name,
)
def test_shipped_and_corpus_projects_give_the_same_answer(folder: Path) -> None:
    graph = graph_of(folder)
    assert shown(run.plan_errors(graph)) == shown(alone(graph))


def test_a_batch_that_fails_for_no_metric_of_its_own_still_gives_each_metric_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were the planner to refuse some combination of metrics that each plan alone, every
    # answer must still be the one of planning alone.
    (tmp_path / "a.yml").write_text(BROKEN, encoding="utf-8")
    graph = graph_of(tmp_path)
    expected = shown(alone(graph))
    checked = run.check_query

    def refuses_several(graph: Graph, query: MetricQuery) -> None:
        if len(query.metrics) > 1:
            raise RuntimeError("refused together")
        checked(graph, query)

    monkeypatch.setattr(run, "check_query", refuses_several)
    assert shown(run.plan_errors(graph)) == expected
