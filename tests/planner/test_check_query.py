"""``check_query`` refuses exactly the queries ``plan_query`` refuses, with the same error.

The checks of a project plan every metric with ``check_query``, which leaves out the SQL of
filters and aggregates; a check it skipped, or ran in another order, would change what
``metrics-layer check`` reports. Compared here over every metric of the shipped definitions, of
the catalogue's every-type project and of a project of broken metrics, alone and by every name
(grains and date parts included), with filters that resolve, that cannot, that are not
boolean or name a key of several columns, with and without a date range; and over random
queries of several metrics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metrics_layer as ml
from metrics_layer.graph.build import build_graph
from metrics_layer.graph.graph import Graph
from metrics_layer.planner.planner import check_query, plan_query
from metrics_layer.planner.query import MetricQuery
from metrics_layer.spec.project import read_project
from tests.api.test_catalogue import EVERY_TYPE
from tests.checks.test_plan_errors import BROKEN
from tests.conftest import DEFINITIONS

Outcome = tuple[str, str, str | None] | None

# The filter errors no other project here makes: a key of several columns, a dimension that is
# not boolean alone, a time bucket finer than a day read with an offset.
EDGES = """\
sources:
  - name: lines
    table: shop.lines
    time: sold_at
    entities:
      - {name: line, key: [order_id, line_no], primary: true}
      - {name: customer, key: customer_id}
    dimensions:
      - {name: sold_at, type: time, grain: second}
      - {name: paid, type: boolean}
    measures:
      - {name: units, agg: sum, expr: quantity}
  - name: customers
    table: shop.customers
    entities:
      - {name: customer, key: id, primary: true}
    dimensions:
      - {name: plan}
metrics:
  - {name: units, type: simple, measure: lines.units}
  - name: morning_units
    type: simple
    measure: lines.units
    filter: "lines.sold_at.hour >= '2026-01-01 06:00:00'"
  - {name: line_units, type: simple, measure: lines.units, filter: "line = 'x'"}
  - {name: paid_units, type: simple, measure: lines.units, filter: "paid"}
  - {name: plan_units, type: simple, measure: lines.units, filter: "customer.plan"}
  - name: units_last_week
    type: derived
    expr: "u"
    inputs: [{metric: units, offset: 1 week, alias: u}]
  - name: morning_units_last_week
    type: derived
    expr: "u"
    inputs: [{metric: morning_units, offset: 1 week, alias: u}]
"""

GRAINS = ("hour", "day", "week", "month", "quarter", "fiscal_year", "retail_month")
PARTS = ("hour_of_day", "day_of_week", "week_of_year")
RANGES = ((None, None), (dt.date(2026, 1, 1), dt.date(2026, 3, 31)))


def outcome(plan: Callable[[], object]) -> Outcome:
    try:
        plan()
    except ml.QueryError as exc:
        return (type(exc).__name__, str(exc), exc.field)
    return None


def both(graph: Graph, query: MetricQuery) -> tuple[Outcome, Outcome]:
    return (
        outcome(lambda: plan_query(graph, query)),
        outcome(lambda: check_query(graph, query)),
    )


def names(graph: Graph) -> list[str]:
    """Every dimension and entity name of ``graph`` by each source and entity that holds it,
    time dimensions also at grains and date parts, metric_time likewise, and names that do
    not resolve."""
    found = ["metric_time", "nowhere.at_all", "plan"]
    found += [f"metric_time.{g}" for g in GRAINS] + [f"metric_time.{p}" for p in PARTS]
    for source in graph.sources.values():
        owners = [source.name, *(e for e in source.entities if source.name in graph.primaries(e))]
        for owner in owners:
            for dimension in source.dimensions.values():
                found.append(f"{owner}.{dimension.name}")
                if dimension.type.value == "time":
                    found += [f"{owner}.{dimension.name}.{g}" for g in GRAINS]
                    found += [f"{owner}.{dimension.name}.{p}" for p in PARTS]
        found += list(source.entities)
    return list(dict.fromkeys(found))


def conditions(graph: Graph) -> list[str]:
    """Filters over ``graph``'s names: a comparison of each dimension, each alone (a boolean,
    or refused), each entity (a key of one column or several), a time bucket against a date,
    and a metric per entity."""
    found = ["nowhere.at_all = 1"]
    for name in names(graph):
        if name.split(".")[-1] in GRAINS:
            found.append(f"{name} >= '2026-01-01'")
        elif not any(name.endswith(f".{p}") for p in PARTS):
            found += [f"{name} = 'x'", name]
    for entity in graph.primary:
        for metric in list(graph.metrics)[:3]:
            found.append(f"{entity}.{metric} > 1")
    return list(dict.fromkeys(found))


def project(tmp_path: Path, files: dict[str, str]) -> Graph:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    graph, _ = build_graph(read_project(tmp_path))
    return graph


@pytest.fixture(scope="module", params=["shipped", "every_type", "broken", "edges"])
def graph(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Graph:
    if request.param == "shipped":
        built, _ = build_graph(read_project(DEFINITIONS))
        return built
    files = {"every_type": EVERY_TYPE, "broken": {"a.yml": BROKEN}, "edges": {"a.yml": EDGES}}
    return project(tmp_path_factory.mktemp(request.param), files[request.param])


def queries_by_name(graph: Graph) -> Iterator[MetricQuery]:
    for metric in graph.metrics.values():
        required = (metric.cohort_period,) if metric.cohort_period else ()
        yield MetricQuery(metrics=(metric.name,))
        for name in names(graph):
            by = required if name in required else (*required, name)
            for start, end in RANGES:
                yield MetricQuery(metrics=(metric.name,), by=by, start=start, end=end)


def queries_by_filter(graph: Graph) -> Iterator[MetricQuery]:
    for metric in graph.metrics.values():
        by = (metric.cohort_period,) if metric.cohort_period else ("metric_time.month",)
        for where in conditions(graph):
            yield MetricQuery(metrics=(metric.name,), by=by, where=where)


def test_every_metric_by_every_name(graph: Graph) -> None:
    compared = refused = 0
    for query in queries_by_name(graph):
        planned, checked = both(graph, query)
        assert checked == planned, query
        compared += 1
        refused += planned is not None
    # Both answers occur often: the comparison is not of queries that all plan or all fail.
    assert refused > compared / 10
    assert compared - refused > compared / 10


def test_every_metric_with_every_filter(graph: Graph) -> None:
    compared = refused = 0
    for query in queries_by_filter(graph):
        planned, checked = both(graph, query)
        assert checked == planned, query
        compared += 1
        refused += planned is not None
    assert refused > compared / 10
    assert compared - refused > compared / 20


@pytest.fixture(scope="module")
def shipped() -> Graph:
    built, _ = build_graph(read_project(DEFINITIONS))
    return built


@st.composite
def random_queries(draw: st.DrawFn, graph: Graph) -> MetricQuery:
    metrics = draw(st.lists(st.sampled_from(sorted(graph.metrics)), min_size=1, max_size=3))
    by = draw(st.lists(st.sampled_from(names(graph)), max_size=3, unique=True))
    where = draw(st.none() | st.sampled_from(conditions(graph)))
    start, end = draw(st.sampled_from(RANGES))
    return MetricQuery(
        metrics=tuple(dict.fromkeys(metrics)),
        by=tuple(by),
        where=where,
        start=start,
        end=end,
        whole_periods=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_queries_of_several_metrics(shipped: Graph, data: st.DataObject) -> None:
    query = data.draw(random_queries(shipped))
    planned, checked = both(shipped, query)
    assert checked == planned
