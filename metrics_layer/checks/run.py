"""Checks over a built graph: every finding is a Diagnostic with a level and a place.

The graph builder already reports syntax, reference and cycle errors; these checks add what
needs the whole graph: every metric must plan on its own (its filter names reachable, its
period valid), changelogs and certification must be coherent; ``governance.py`` adds the rules
that compare metrics with each other and follow their lifecycle.
"""

from __future__ import annotations

from metrics_layer.checks.governance import governance_checks
from metrics_layer.errors import Diagnostic, Level, QueryError
from metrics_layer.graph.graph import Graph
from metrics_layer.graph.model import Metric
from metrics_layer.planner.planner import plan_query
from metrics_layer.planner.query import MetricQuery
from metrics_layer.spec.models import MetricStatus

__all__ = ["run_checks"]


def run_checks(graph: Graph) -> list[Diagnostic]:
    """Every finding about ``graph``, errors and warnings, in file order."""
    found: list[Diagnostic] = []
    for metric in graph.metrics.values():
        found.extend(_plans_alone(graph, metric))
        if metric.pinned_of is not None:
            continue  # a kept version shares the metric's label, owner and changelog
        found.extend(_governance(graph, metric))
    found.extend(governance_checks(graph))
    return found


def _at(graph: Graph, metric: Metric, level: Level, message: str) -> Diagnostic:
    file, line, column = graph.places.get(metric.name, (None, None, None))
    return Diagnostic(level, message, file, line, column, "check")


def _plans_alone(graph: Graph, metric: Metric) -> list[Diagnostic]:
    try:
        # A cohort table is read by its period number (a query without it is refused).
        by = (metric.cohort_period,) if metric.cohort_period else ()
        plan_query(graph, MetricQuery(metrics=(metric.name,), by=by))
    except QueryError as exc:
        return [
            _at(graph, metric, Level.ERROR, f"metric '{metric.name}' cannot be computed: {exc}")
        ]
    return []


def _governance(graph: Graph, metric: Metric) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    versions = [entry[0] for entry in metric.changelog]
    if any(v > metric.version for v in versions):
        found.append(
            _at(
                graph,
                metric,
                Level.ERROR,
                f"metric '{metric.name}' is version {metric.version} but its changelog "
                f"mentions version {max(versions)}; bump 'version' or fix the entry",
            )
        )
    if metric.version > 1 and metric.version not in versions:
        found.append(
            _at(
                graph,
                metric,
                Level.WARNING,
                f"metric '{metric.name}' is version {metric.version} with no changelog "
                f"entry for it; add one saying what changed",
            )
        )
    if metric.status is MetricStatus.CERTIFIED and (not metric.owner or not metric.description):
        found.append(
            _at(
                graph,
                metric,
                Level.ERROR,
                f"certified metric '{metric.name}' needs an owner and a "
                "description; add them or set status: draft",
            )
        )
    return found
