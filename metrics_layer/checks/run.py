"""Checks over a built graph: every finding is a Diagnostic with a level, a code and a place.

The graph builder already reports syntax, reference and cycle errors and leaves the broken
parts out; these checks add what needs the whole graph, over the part that built: every metric
must plan on its own (its filter names reachable, its period valid), changelogs and
certification must be coherent; ``governance.py`` adds the rules that compare metrics with each
other and follow their lifecycle.
"""

from __future__ import annotations

from sqlglot import exp

from metrics_layer.checks.governance import governance_checks
from metrics_layer.errors import Diagnostic, Level, QueryError
from metrics_layer.graph.expressions import column_parts, references
from metrics_layer.graph.graph import Graph
from metrics_layer.graph.model import Metric
from metrics_layer.planner.planner import check_query
from metrics_layer.planner.query import MetricQuery
from metrics_layer.spec.models import MetricStatus
from metrics_layer.spec.places import split_hint

__all__ = ["plan_errors", "run_checks"]


def run_checks(graph: Graph) -> list[Diagnostic]:
    """Every finding about ``graph``, errors and warnings, in file order."""
    found: list[Diagnostic] = []
    failed = plan_errors(graph)
    for metric in graph.metrics.values():
        error = failed[metric.name]
        # A metric built on one that cannot be computed fails for that one's reason: only the
        # first is reported.
        if error is not None and not any(failed.get(n) for n in _built_on(graph, metric)):
            found.extend(_not_computable(graph, metric, error))
        if metric.pinned_of is not None:
            continue  # a kept version shares the metric's label, owner and changelog
        found.extend(_governance(graph, metric))
    found.extend(governance_checks(graph))
    return found


def _at(
    graph: Graph, metric: Metric, field: str, level: Level, message: str, *, code: str, hint: str
) -> Diagnostic:
    """A diagnostic at the value of ``field`` of ``metric`` (its name when not written)."""
    place = graph.field_places.get(("metric", metric.name, field)) or graph.places.get(metric.name)
    file, line, column = place if place is not None else (None, None, None)
    return Diagnostic(level, message, file, line, column, code, hint)


BATCH = 20
"""The most metrics ``plan_errors`` plans together in one query (a batch that fails is split)."""


def plan_errors(graph: Graph) -> dict[str, QueryError | None]:
    """Why each metric of ``graph`` cannot be planned on its own (None when it can).

    Planning here is ``check_query``: the planner's every step and check, without the SQL of
    filters and aggregates, which no check reads (half the time of ``plan_query``).

    This is ``_plan_error`` of every metric, the same answer in two thirds of the time (1.7 s
    instead of 2.5 s for 10,000 metrics): metrics are planned up to ``BATCH`` at a time in one
    query, where the metrics of one source share a scan and each distinct filter of a scan is
    resolved once (a batch holds neighbours: ``_neighbours``). Batches shrink after a
    failure: with 5% of the metrics broken this takes about the time of planning each alone,
    with 20% up to a third more (docs/benchmarks.md).

    A query of several metrics makes every check that each of them makes alone, with the same
    arguments: each metric's own checks (``per``, offsets, ``offset_to_grain``) run for each;
    a scan's checks depend only on its key (source, time, ``per``, semi-additive mode,
    offset, window), the same alone or shared; each distinct filter is resolved against its
    scan's source, time and offset, as alone. So a batch that plans means each of its metrics
    plans alone. A batch that fails, for any reason, is split in two until the metric that
    fails is planned alone, and its error is the one planning it alone gives: every answer
    comes from a query that planned, or from planning the metric alone. A planner check
    that depended on the other metrics of a query would break this reasoning:
    ``tests/checks/test_plan_errors.py`` compares both answers, and each with ``plan_query``
    of the metric alone, over the shipped definitions and projects with broken metrics, at
    several batch sizes.

    Planned alone from the start: a cohort table (queried by its period), and a metric that
    reads no measure (a query of it alone scans a source for nothing, which another metric's
    scan would hide)."""
    found: dict[str, QueryError | None] = {}
    # Neighbours share scans and filters: metrics of one source and one filter together.
    groups: dict[tuple[str, exp.Expr | None], list[Metric]] = {}
    for metric in graph.metrics.values():
        if metric.cohort_period is None and _reads_rows(graph, metric, set()):
            groups.setdefault(_neighbours(graph, metric, set()), []).append(metric)
        else:
            found[metric.name] = _plan_error(graph, metric)
    batched = [metric for group in groups.values() for metric in group]
    # A failing batch costs more than planning its metrics alone (it is planned again in
    # halves), and failures come in runs (metrics of one broken filter are neighbours): after
    # a failure the batches get smaller, down to one metric, and after a clean one larger.
    size, start = BATCH, 0
    while start < len(batched):
        errors = _batch_errors(graph, batched[start : start + size])
        found.update(errors)
        start += len(errors)
        failed = any(error is not None for error in errors.values())
        size = max(1, size // 2) if failed else min(BATCH, size * 2)
    return found


def _batch_errors(
    graph: Graph, metrics: list[Metric], *, failing: bool = False
) -> dict[str, QueryError | None]:
    """``plan_errors`` of ``metrics``: one query of them all, and when it fails (or is known to
    fail: ``failing``), each half again, down to one metric planned alone."""
    if len(metrics) == 1:
        return {metrics[0].name: _plan_error(graph, metrics[0])}
    if not failing:
        try:
            check_query(graph, MetricQuery(metrics=tuple(m.name for m in metrics)))
        except Exception:  # any failure
            pass
        else:
            return dict.fromkeys((m.name for m in metrics), None)
    half = len(metrics) // 2
    first = _batch_errors(graph, metrics[:half])
    # When the first half plans, the failure is in the second: it is split without planning
    # it whole (each part is still planned, so an answer never rests on this guess).
    clean = all(error is None for error in first.values())
    return first | _batch_errors(graph, metrics[half:], failing=clean)


def _neighbours(graph: Graph, metric: Metric, seen: set[str]) -> tuple[str, exp.Expr | None]:
    """The metrics ``metric`` is best planned with: those of its measure's source and its
    filter; for a metric built on others, those its first input is planned with (it shares
    that input's aggregate)."""
    if metric.measure is not None:
        return metric.measure.split(".")[0], metric.filter
    seen.add(metric.name)
    for item in metric.inputs[:1]:
        if item.measure is not None:
            return item.measure.split(".")[0], metric.filter
        used = graph.metrics.get(item.name)
        if used is not None and item.name not in seen:
            return _neighbours(graph, used, seen)
    return "", metric.filter


def _reads_rows(graph: Graph, metric: Metric, seen: set[str]) -> bool:
    """Whether ``metric`` aggregates a measure, itself or through the metrics it is built on."""
    if metric.measure is not None or any(i.measure is not None for i in metric.inputs):
        return True
    seen.add(metric.name)
    for item in metric.inputs:
        used = graph.metrics.get(item.name)
        if used is not None and item.name not in seen and _reads_rows(graph, used, seen):
            return True
    return False


def _plan_error(graph: Graph, metric: Metric) -> QueryError | None:
    """Why ``metric`` cannot be planned on its own, if it cannot."""
    try:
        # A cohort table is read by its period number (a query without it is refused).
        by = (metric.cohort_period,) if metric.cohort_period else ()
        check_query(graph, MetricQuery(metrics=(metric.name,), by=by))
    except QueryError as exc:
        return exc
    return None


def _built_on(graph: Graph, metric: Metric) -> set[str]:
    """The metrics ``metric`` is built on, directly or not."""
    found: set[str] = set()
    todo = [i.name for i in metric.inputs if i.measure is None]
    while todo:
        name = todo.pop()
        used = graph.metrics.get(name)
        if name in found or used is None:
            continue
        found.add(name)
        todo.extend(i.name for i in used.inputs if i.measure is None)
    found.discard(metric.name)
    return found


def _not_computable(graph: Graph, metric: Metric, exc: QueryError) -> list[Diagnostic]:
    if _names_left_out(graph, metric):
        return []  # a name its filter uses was left out, with its own error
    text = str(exc).removeprefix("where: ").removeprefix("filter: ")
    message, hint = split_hint(
        text, f"fix the definition of '{metric.name}' so that it can be queried on its own"
    )
    field = "filter" if _filter_at_fault(graph, metric, text) else "name"
    # A name no chain of entities reaches, or two chains reach, is the join graph's problem.
    joins = "cannot be reached from source" in text or "along two paths" in text
    return [
        _at(
            graph,
            metric,
            field,
            Level.ERROR,
            f"metric '{metric.name}' cannot be computed: {message}",
            code="join" if joins else "not-computable",
            hint=hint,
        )
    ]


def _filters(graph: Graph, metric: Metric, seen: set[str] | None = None) -> list[Metric]:
    """``metric`` and every metric it is built on that has a filter."""
    seen = seen if seen is not None else set()
    if metric.name in seen:
        return []
    seen.add(metric.name)
    found = [metric] if metric.filter is not None else []
    for item in metric.inputs:
        used = graph.metrics.get(item.name)
        if item.measure is None and used is not None:
            found.extend(_filters(graph, used, seen))
    return found


def _filter_names(graph: Graph, metric: Metric) -> list[str]:
    names: list[str] = []
    for filtered in _filters(graph, metric):
        assert filtered.filter is not None
        names.extend(".".join(column_parts(c)) for c in references(filtered.filter))
    return names


def _names_left_out(graph: Graph, metric: Metric) -> bool:
    return any(graph.broken.has_name(name) for name in _filter_names(graph, metric))


def _filter_at_fault(graph: Graph, metric: Metric, text: str) -> bool:
    """Whether the planner's complaint is about a name the metric's own filter uses."""
    if metric.filter is None:
        return False
    own = [".".join(column_parts(c)) for c in references(metric.filter)]
    return any(f"'{name}'" in text for name in own)


def _governance(graph: Graph, metric: Metric) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    versions = [entry[0] for entry in metric.changelog]
    if any(v > metric.version for v in versions):
        found.append(
            _at(
                graph,
                metric,
                "changelog",
                Level.ERROR,
                f"metric '{metric.name}' is version {metric.version} but its changelog "
                f"mentions version {max(versions)}",
                code="changelog",
                hint=f"bump 'version' to {max(versions)} or fix the entry",
            )
        )
    if metric.version > 1 and metric.version not in versions:
        found.append(
            _at(
                graph,
                metric,
                "name",
                Level.WARNING,
                f"metric '{metric.name}' is version {metric.version} with no changelog "
                "entry for it",
                code="changelog",
                hint=f"add a changelog entry for version {metric.version} saying what changed",
            )
        )
    if metric.status is MetricStatus.CERTIFIED and (not metric.owner or not metric.description):
        missing = " and ".join(
            word
            for word, value in (("an owner", metric.owner), ("a description", metric.description))
            if not value
        )
        found.append(
            _at(
                graph,
                metric,
                "status",
                Level.ERROR,
                f"certified metric '{metric.name}' needs an owner and a description",
                code="certification",
                hint=f"add {missing}, or set status: draft",
            )
        )
    return found
