"""Metrics into the graph: references resolved, derived expressions parsed, cycles found."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from sqlglot import exp

from metrics_layer.errors import Diagnostic, FilterError, did_you_mean
from metrics_layer.graph.dag import find_cycle
from metrics_layer.graph.entity_metrics import EntityMetric, is_entity_metric
from metrics_layer.graph.expressions import column_parts, parse_condition, references
from metrics_layer.graph.graph import Graph
from metrics_layer.graph.model import Metric, MetricKind, MetricRef, Offset, Period
from metrics_layer.spec.models import (
    Agg,
    ChurnMetricSpec,
    ConversionMetricSpec,
    CumulativeMetricSpec,
    DerivedMetricSpec,
    Grain,
    MetricSpec,
    RatioMetricSpec,
    RetentionMetricSpec,
    RollingMetricSpec,
    Rollup,
    SimpleMetricSpec,
)
from metrics_layer.spec.project import Located

__all__ = ["build_metrics", "kept_specs"]


def build_metrics(
    located_metrics: Iterable[Located[MetricSpec]],
    graph: Graph,
    problems: list[Diagnostic],
    derived: dict[str, EntityMetric] | None = None,
) -> dict[str, Metric]:
    """The metrics of the project; ``derived`` holds what the graph derived for conversion,
    retention and churn metrics (``entity_metrics.py``), which skip the rest when missing."""
    metrics: dict[str, Metric] = {}
    seen: dict[str, Located[MetricSpec]] = {}
    names = {located.spec.name for located in located_metrics}
    for located in located_metrics:
        spec = located.spec
        if spec.name in seen:
            problems.append(located.duplicate_of("metric", seen[spec.name]))
            continue
        seen[spec.name] = located
        if is_entity_metric(spec) and (derived is None or spec.name not in derived):
            continue
        metric = _metric(located, graph, names, problems, (derived or {}).get(spec.name))
        if metric is not None:
            metrics[metric.name] = metric
        for kept in _kept_versions(located, graph, names, problems, derived or {}):
            metrics[kept.name] = kept
    deps = {
        m.name: [i.name for i in m.inputs if i.measure is None]
        for m in metrics.values()
        if m.pinned_of is None
    }
    cycle = find_cycle(deps)
    if cycle:
        problems.append(
            seen[cycle[0]].diagnostic(
                "metrics depend on each other in a cycle: "
                + " -> ".join(cycle)
                + "; break the cycle",
                "name",
            )
        )
        for name in cycle:
            metrics.pop(name, None)
    return metrics


# A pinned metric name (``name@N``) in a derived expression.
_PINNED = re.compile(r"\b[a-z][a-z0-9_]*@\w*")

# A kept version's spec is the metric's own type: the computing fields it was written with.
_FULL_SPEC: dict[
    str,
    type[SimpleMetricSpec]
    | type[RatioMetricSpec]
    | type[DerivedMetricSpec]
    | type[RollingMetricSpec]
    | type[CumulativeMetricSpec]
    | type[ConversionMetricSpec]
    | type[RetentionMetricSpec]
    | type[ChurnMetricSpec],
] = {
    "simple": SimpleMetricSpec,
    "ratio": RatioMetricSpec,
    "derived": DerivedMetricSpec,
    "rolling": RollingMetricSpec,
    "cumulative": CumulativeMetricSpec,
    "conversion": ConversionMetricSpec,
    "retention": RetentionMetricSpec,
    "churn": ChurnMetricSpec,
}
# What every version of a metric shares: taken from the metric itself.
_SHARED = ("name", "label", "description", "owner", "status", "tags", "synonyms")


def kept_specs(located: Located[MetricSpec]) -> list[Located[MetricSpec]]:
    """The metric's kept earlier versions (``versions:``) that are below its version, the
    first of each number, as full specs placed at their items. A conversion, retention or
    churn version is named after the source of rows it derives, ``<name>__v<N>``
    (``Metric.sql_name``); ``build_metrics`` reports the versions left out."""
    spec = located.spec
    found: list[Located[MetricSpec]] = []
    seen: set[int] = set()
    for index, item in enumerate(spec.versions):
        if item.version >= spec.version or item.version in seen:
            continue
        seen.add(item.version)
        shared = {key: getattr(spec, key) for key in _SHARED}
        changelog = [entry for entry in spec.changelog if entry.version <= item.version]
        written: MetricSpec = _FULL_SPEC[item.type].model_validate(
            {**dict(item), **shared, "changelog": changelog}
        )
        if is_entity_metric(written):
            written = written.model_copy(update={"name": f"{spec.name}__v{item.version}"})
        found.append(Located(written, located.doc, (*located.path, "versions", index)))
    return found


def _kept_versions(
    located: Located[MetricSpec],
    graph: Graph,
    names: set[str],
    problems: list[Diagnostic],
    derived: dict[str, EntityMetric],
) -> list[Metric]:
    """The metric's kept earlier versions, each a metric named ``name@N`` whose references
    are checked like any metric's, problems pointing into its item."""
    spec = located.spec
    seen: set[int] = set()
    for index, item in enumerate(spec.versions):
        place = ("versions", index, "version")
        if item.version >= spec.version:
            problems.append(
                _definition(
                    located,
                    f"metric '{spec.name}' keeps version {item.version} under 'versions', but "
                    f"it is itself version {spec.version}",
                    "keep only earlier versions there; the current one is the metric's own "
                    "definition",
                    *place,
                )
            )
        elif item.version in seen:
            problems.append(
                _definition(
                    located,
                    f"metric '{spec.name}' keeps version {item.version} twice",
                    "keep one definition per version",
                    *place,
                )
            )
        seen.add(item.version)
    kept: list[Metric] = []
    for version in kept_specs(located):
        rows = derived.get(version.spec.name)
        if is_entity_metric(version.spec) and rows is None:
            continue  # its rows could not be derived; that was reported
        metric = _metric(version, graph, names, problems, rows)
        if metric is not None:
            number = metric.version
            kept.append(replace(metric, name=f"{spec.name}@{number}", pinned_of=spec.name))
    return kept


def _definition(
    located: Located[MetricSpec], message: str, hint: str, *where: str | int
) -> Diagnostic:
    return replace(located.diagnostic(message, *where), code="definition", hint=hint)


def _metric(
    located: Located[MetricSpec],
    graph: Graph,
    names: set[str],
    problems: list[Diagnostic],
    derived: EntityMetric | None = None,
) -> Metric | None:
    spec = located.spec
    before = len(problems)
    measure: str | None = None
    inputs: tuple[MetricRef, ...] = ()
    expr: exp.Expr | None = None
    window: Offset | None = None
    grain_to_date: Period | None = None
    kind: MetricKind
    if derived is not None:
        kind = MetricKind(spec.type)
        measure, inputs, window = derived.measure, derived.inputs, derived.window
        if spec.per is not None or spec.rollup is not None:
            problems.append(
                located.diagnostic(
                    f"'per' and 'rollup' do not apply to {spec.type} metrics (they count "
                    "entities); remove them",
                    "per" if spec.per is not None else "rollup",
                )
            )
    elif isinstance(spec, SimpleMetricSpec):
        kind = MetricKind.SIMPLE
        measure = _measure_ref(spec.measure, located, graph, problems, "measure")
    elif isinstance(spec, RatioMetricSpec):
        kind = MetricKind.RATIO
        inputs = tuple(
            _input_ref(getattr(spec, side), located, graph, names, problems, side)
            for side in ("numerator", "denominator")
        )
    elif isinstance(spec, DerivedMetricSpec):
        kind = MetricKind.DERIVED
        expr, inputs = _derived(spec, located, graph, names, problems)
    elif isinstance(spec, RollingMetricSpec):
        kind = MetricKind.ROLLING
        measure = _measure_ref(spec.measure, located, graph, problems, "measure")
        window = Offset.parse(spec.window)
    elif isinstance(spec, CumulativeMetricSpec):
        kind = MetricKind.CUMULATIVE
        measure = _measure_ref(spec.measure, located, graph, problems, "measure")
        grain_to_date = _period(spec.grain_to_date, graph, located, problems, "grain_to_date")
        if grain_to_date in (Grain.SECOND, Grain.MINUTE, Grain.HOUR):
            problems.append(
                located.diagnostic(
                    f"'grain_to_date: {spec.grain_to_date}': windows are whole days; use day "
                    "or a coarser grain (week, month, quarter, year, fiscal_quarter, fiscal_year)",
                    "grain_to_date",
                )
            )
    if kind.windowed:
        _check_windowed(located, graph, measure, problems)
    elif derived is None and spec.rollup is not None and spec.per is None:
        problems.append(located.diagnostic("'rollup' needs 'per' (the period measured)", "rollup"))
    condition: exp.Expr | None = None
    if spec.filter is not None:
        try:
            condition = parse_condition(spec.filter, field="filter")
        except FilterError as exc:
            problems.append(located.diagnostic(str(exc), "filter"))
    if len(problems) > before:
        return None
    return Metric(
        name=spec.name,
        kind=kind,
        version=spec.version,
        label=spec.label or spec.name.replace("_", " ").capitalize(),
        description=spec.description,
        owner=spec.owner,
        status=spec.status,
        tags=tuple(spec.tags),
        synonyms=tuple(spec.synonyms),
        changelog=tuple((c.version, c.date, c.change) for c in spec.changelog),
        measure=measure,
        inputs=inputs,
        expr=expr,
        filter=condition,
        fill_null=spec.fill_null,
        per=spec.per,
        rollup=spec.rollup,
        window=window,
        grain_to_date=grain_to_date,
        fill_periods=getattr(spec, "fill_periods", False),
        period=derived.period if derived is not None else None,
        cohort_table=derived is not None and derived.cohort_table,
        replaced_by=spec.replaced_by,
        sunset=spec.sunset,
        file=located.doc.file,
    )


# How a rolling or cumulative metric's coarser periods read its daily windows.
WINDOW_EDGES = (Rollup.LAST, Rollup.FIRST, Rollup.AVERAGE)


def _check_windowed(
    located: Located[MetricSpec], graph: Graph, measure: str | None, problems: list[Diagnostic]
) -> None:
    """A window needs a measure that combines across days, a source with a time, a day grain."""
    spec = located.spec
    if spec.per is not None:
        problems.append(
            located.diagnostic(
                f"'per' does not apply to {spec.type} metrics (they are evaluated per day); "
                "remove it, and use 'rollup' to choose which day's window a period shows",
                "per",
            )
        )
    if spec.rollup is not None and spec.rollup not in WINDOW_EDGES:
        problems.append(
            located.diagnostic(
                f"'rollup: {spec.rollup.value}' does not apply to {spec.type} metrics; a period "
                "shows the window of its last day (last, the default), its first day (first), "
                "or the average over its days (average)",
                "rollup",
            )
        )
    if measure is None or measure not in graph.measures:
        return
    found = graph.measures[measure]
    if found.agg in (Agg.MEDIAN, Agg.PERCENTILE):
        problems.append(
            located.diagnostic(
                f"a {spec.type} metric cannot use '{measure}' ({found.agg.value}): a median or "
                "percentile over a window needs every row of the window; use a count, sum, "
                "average, min or max measure",
                "measure",
            )
        )
    if found.semi_additive is not None:
        problems.append(
            located.diagnostic(
                f"a {spec.type} metric cannot use the semi-additive measure '{measure}' "
                "(a snapshot is already a value as of a day); use a simple metric",
                "measure",
            )
        )
    source = graph.sources[found.source]
    if source.time is None:
        problems.append(
            located.diagnostic(
                f"a {spec.type} metric needs a time: source '{source.name}' has no 'time:'; "
                "set it on the source",
                "measure",
            )
        )


def _measure_ref(
    ref: str, located: Located[MetricSpec], graph: Graph, problems: list[Diagnostic], field: str
) -> str | None:
    if ref in graph.measures:
        return ref
    source, _, name = ref.partition(".")
    if not name:
        problems.append(
            located.diagnostic(
                f"'{ref}' is not a measure reference; write 'source.measure'."
                + did_you_mean(ref, graph.measures),
                field,
            )
        )
    elif source not in graph.sources:
        problems.append(
            located.diagnostic(
                f"unknown source '{source}' in '{ref}'." + did_you_mean(source, graph.sources),
                field,
            )
        )
    else:
        problems.append(
            located.diagnostic(
                f"source '{source}' has no measure '{name}'."
                + did_you_mean(name, graph.sources[source].measures),
                field,
            )
        )
    return None


def _input_ref(
    ref: str,
    located: Located[MetricSpec],
    graph: Graph,
    names: set[str],
    problems: list[Diagnostic],
    field: str,
) -> MetricRef:
    if "." in ref:
        return MetricRef(ref, measure=_measure_ref(ref, located, graph, problems, field))
    if ref not in names:
        problems.append(
            located.diagnostic(
                f"unknown metric '{ref}'.{did_you_mean(ref, names)} A measure is written "
                "'source.measure'",
                field,
            )
        )
    return MetricRef(ref)


def _period(
    written: Grain | str | None,
    graph: Graph,
    located: Located[MetricSpec],
    problems: list[Diagnostic],
    *where: str | int,
) -> Period | None:
    """A grain, or the calendar table period named ``written``; None (with a problem
    recorded for an unknown name) otherwise."""
    if written is None or isinstance(written, Grain):
        return written
    found = graph.period(written)
    if found is None:
        known = (*(g.value for g in Grain), *graph.period_names)
        problems.append(
            located.diagnostic(
                f"'{written}' is not a grain or a period of the project's calendar table; use "
                f"one of {', '.join(known)}." + did_you_mean(written, known),
                *where,
            )
        )
    return found


# Offsets are whole days or longer: a period-over-period value compares days or coarser.
_OFFSET_GRAINS = tuple(g for g in Grain if g not in (Grain.SECOND, Grain.MINUTE, Grain.HOUR))


def _offset(
    written: str | None,
    graph: Graph,
    located: Located[MetricSpec],
    problems: list[Diagnostic],
    *where: str | int,
) -> Offset | None:
    """``N unit`` (the schema checked the form) with a grain of a day or longer or a calendar
    table period as its unit, singular or plural; None (with a problem) otherwise."""
    if written is None:
        return None
    amount, unit = written.split()
    for name in (unit, unit.removesuffix("s")):
        found = graph.period(name)
        if found is not None and found not in (Grain.SECOND, Grain.MINUTE, Grain.HOUR):
            return Offset(int(amount), found)
    known = (*(g.value for g in _OFFSET_GRAINS), *graph.period_names)
    problems.append(
        located.diagnostic(
            f"offset '{written}': '{unit}' is not a unit of a day or longer; use one of "
            f"{', '.join(known)} (plural allowed), e.g. '1 week'." + did_you_mean(unit, known),
            *where,
        )
    )
    return None


def _derived(
    spec: DerivedMetricSpec,
    located: Located[MetricSpec],
    graph: Graph,
    names: set[str],
    problems: list[Diagnostic],
) -> tuple[exp.Expr | None, tuple[MetricRef, ...]]:
    refs: dict[str, MetricRef] = {}
    for i, item in enumerate(spec.inputs):
        if item.metric not in names:
            problems.append(
                located.diagnostic(
                    f"unknown metric '{item.metric}'.{did_you_mean(item.metric, names)}",
                    "inputs",
                    i,
                    "metric",
                )
            )
        offset = _offset(item.offset, graph, located, problems, "inputs", i, "offset")
        to_grain = _period(
            item.offset_to_grain, graph, located, problems, "inputs", i, "offset_to_grain"
        )
        ref = MetricRef(item.metric, alias=item.alias, offset=offset, to_grain=to_grain)
        refs[ref.column] = ref
    pinned = _PINNED.search(spec.expr)
    if pinned is not None:
        problems.append(
            _definition(
                located,
                f"'{pinned.group()}' names a version of a metric; a derived metric reads the "
                "current version of each input (only queries pin a version)",
                "name the metric without '@N'; to build on an earlier definition, define it as "
                "a metric of its own",
                "expr",
            )
        )
        return None, ()
    try:
        expr = parse_condition(spec.expr, field="expr", boolean=False)
    except FilterError as exc:
        problems.append(located.diagnostic(str(exc), "expr"))
        return None, ()
    for column in references(expr):
        parts = column_parts(column)
        name = parts[-1]
        if len(parts) != 1:
            problems.append(
                located.diagnostic(
                    f"'{'.'.join(parts)}': a derived expression names metrics, not dimensions",
                    "expr",
                )
            )
        elif name not in refs:
            if name in names:
                refs[name] = MetricRef(name)
            else:
                problems.append(
                    located.diagnostic(
                        f"unknown metric '{name}' in expr.{did_you_mean(name, names)}", "expr"
                    )
                )
    return expr, tuple(refs.values())
