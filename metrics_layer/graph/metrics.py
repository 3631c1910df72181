"""Metrics into the graph: references resolved, derived expressions parsed, cycles found."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlglot import exp

from metrics_layer.errors import Diagnostic, FilterError, did_you_mean
from metrics_layer.formats import ValueFormat
from metrics_layer.graph.dag import find_cycles, loop_members
from metrics_layer.graph.entity_metrics import EntityMetric, is_entity_metric
from metrics_layer.graph.expressions import column_parts, parse_condition, references
from metrics_layer.graph.graph import Graph
from metrics_layer.graph.model import (
    Broken,
    EntityDefinition,
    Event,
    Metric,
    MetricKind,
    MetricRef,
    Offset,
    Period,
)
from metrics_layer.spec.models import (
    Agg,
    ChurnMetricSpec,
    ConversionMetricSpec,
    CumulativeMetricSpec,
    DerivedMetricSpec,
    EventSpec,
    FormatSpec,
    Grain,
    MetricSpec,
    RatioMetricSpec,
    RetentionMetricSpec,
    RollingMetricSpec,
    Rollup,
    SimpleMetricSpec,
)
from metrics_layer.spec.places import split_hint
from metrics_layer.spec.project import Located

__all__ = ["build_metrics", "kept_specs"]


def build_metrics(
    located_metrics: Iterable[Located[MetricSpec]],
    graph: Graph,
    problems: list[Diagnostic],
    derived: dict[str, EntityMetric] | None = None,
    broken: Broken | None = None,
) -> dict[str, Metric]:
    """The metrics of the project; ``derived`` holds what the graph derived for conversion,
    retention and churn metrics (``entity_metrics.py``), which skip the rest when missing.

    A metric naming something ``broken`` (left out after its own error) is left out without a
    second error; so is a metric built on a metric left out. Every dependency cycle is
    reported, once each."""
    broken = broken or Broken()
    parsed: dict[str, exp.Expr] = {}
    metrics: dict[str, Metric] = {}
    seen: dict[str, Located[MetricSpec]] = {}
    located_metrics = list(located_metrics)
    names = {located.spec.name for located in located_metrics}
    for located in located_metrics:
        spec = located.spec
        if spec.name in seen:
            problems.append(located.duplicate_of("metric", seen[spec.name]))
            continue
        seen[spec.name] = located
        if is_entity_metric(spec) and (derived is None or spec.name not in derived):
            continue
        metric = _metric(
            _Context(located, graph, names, problems, broken, parsed),
            (derived or {}).get(spec.name),
        )
        if metric is not None:
            metrics[metric.name] = metric
        kept_versions = _kept_versions(
            located, graph, names, problems, derived or {}, broken, parsed
        )
        for kept in kept_versions:
            metrics[kept.name] = kept
    deps = {
        m.name: [i.name for i in m.inputs if i.measure is None]
        for m in metrics.values()
        if m.pinned_of is None
    }
    for cycle in find_cycles(deps):
        also = [n for n in loop_members(deps, cycle) if n not in cycle]
        more = f" (and through {', '.join(repr(n) for n in also)})" if also else ""
        problems.append(
            seen[cycle[0]].diagnostic(
                "metrics depend on each other in a cycle: " + " -> ".join(cycle) + more,
                "name",
                code="cycle",
                hint=f"make one of {', '.join(repr(n) for n in cycle[:-1])} stop using the "
                "next, so that the chain ends on measures",
            )
        )
        for name in (*cycle, *also):
            metrics.pop(name, None)
    # A metric built on one left out (an error reported for that one) is left out quietly.
    changed = True
    while changed:
        changed = False
        for name, metric in list(metrics.items()):
            if any(i.measure is None and i.name not in metrics for i in metric.inputs):
                del metrics[name]
                changed = True
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
_SHARED = ("name", "label", "description", "format", "owner", "status", "tags", "synonyms")


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
    broken: Broken,
    parsed: dict[str, exp.Expr],
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
        metric = _metric(_Context(version, graph, names, problems, broken, parsed), rows)
        if metric is not None:
            number = metric.version
            kept.append(replace(metric, name=f"{spec.name}@{number}", pinned_of=spec.name))
    return kept


def _definition(
    located: Located[MetricSpec], message: str, hint: str, *where: str | int
) -> Diagnostic:
    return located.diagnostic(message, *where, code="definition", hint=hint)


@dataclass
class _Context:
    """What building one metric needs, and whether it names something left out."""

    located: Located[MetricSpec]
    graph: Graph
    names: set[str]
    problems: list[Diagnostic]
    broken: Broken
    # The filters parsed so far, by their text: metrics share a few hundred distinct filters,
    # and a parsed tree is never changed (the planner copies what it rewrites).
    parsed: dict[str, exp.Expr]
    # Set when the metric names something left out after its own error: skip it quietly.
    quiet: bool = False

    def condition(self, text: str) -> exp.Expr:
        """The metric's filter ``text`` parsed (once per distinct text); FilterError when it
        is not a safe boolean."""
        found = self.parsed.get(text)
        if found is None:
            found = self.parsed[text] = parse_condition(text, field="filter")
        return found

    def error(self, message: str, *where: str | int, code: str, hint: str) -> None:
        """An error at ``where`` in this metric, named in the message."""
        name = self.located.spec.name
        if f"'{name}'" not in message:
            message = f"metric '{name}': {message}"
        self.problems.append(self.located.diagnostic(message, *where, code=code, hint=hint))


def _metric(context: _Context, derived: EntityMetric | None = None) -> Metric | None:
    located, problems = context.located, context.problems
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
            context.error(
                f"'per' and 'rollup' do not apply to {spec.type} metrics (they count entities)",
                "per" if spec.per is not None else "rollup",
                code="definition",
                hint="remove them",
            )
    elif isinstance(spec, SimpleMetricSpec):
        kind = MetricKind.SIMPLE
        measure = _measure_ref(context, spec.measure, "measure")
    elif isinstance(spec, RatioMetricSpec):
        kind = MetricKind.RATIO
        inputs = tuple(
            _input_ref(context, getattr(spec, side), side) for side in ("numerator", "denominator")
        )
    elif isinstance(spec, DerivedMetricSpec):
        kind = MetricKind.DERIVED
        expr, inputs = _derived(context, spec)
    elif isinstance(spec, RollingMetricSpec):
        kind = MetricKind.ROLLING
        measure = _measure_ref(context, spec.measure, "measure")
        window = Offset.parse(spec.window)
    elif isinstance(spec, CumulativeMetricSpec):
        kind = MetricKind.CUMULATIVE
        measure = _measure_ref(context, spec.measure, "measure")
        grain_to_date = _period(context, spec.grain_to_date, "grain_to_date")
        if grain_to_date in (Grain.SECOND, Grain.MINUTE, Grain.HOUR):
            context.error(
                f"'grain_to_date: {spec.grain_to_date}': windows are whole days",
                "grain_to_date",
                code="definition",
                hint="use day or a coarser grain (week, month, quarter, year, fiscal_quarter, "
                "fiscal_year)",
            )
    if kind.windowed:
        _check_windowed(context, measure)
    elif derived is None and spec.rollup is not None and spec.per is None:
        context.error(
            "'rollup' needs 'per' (the period measured)",
            "rollup",
            code="definition",
            hint="add 'per: day' (or the period each value is measured over), or remove 'rollup'",
        )
    condition: exp.Expr | None = None
    if spec.filter is not None:
        try:
            condition = context.condition(spec.filter)
        except FilterError as exc:
            _filter_error(context, exc, "filter")
    if len(problems) > before or context.quiet:
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
        definition=_entity_definition(context) if derived is not None else None,
        replaced_by=spec.replaced_by,
        sunset=spec.sunset,
        format=_value_format(spec.format),
        file=located.doc.file,
    )


def _value_format(spec: FormatSpec | None) -> ValueFormat | None:
    """A definition's ``format`` as the value format the CLI, notebooks and catalogue use."""
    if spec is None:
        return None
    return ValueFormat(spec.type, spec.decimals, spec.currency)


def _entity_definition(context: _Context) -> EntityDefinition:
    """A conversion, retention or churn metric's definition, its events' filters parsed (the
    rows derived from it checked them already)."""
    spec = context.located.spec

    def event(written: EventSpec) -> Event:
        condition = None if written.filter is None else context.condition(written.filter)
        return Event(written.measure, condition)

    if isinstance(spec, ConversionMetricSpec):
        return EntityDefinition(
            spec.entity,
            (("base", event(spec.base)), ("conversion", event(spec.conversion))),
            spec.calculation.value,
            constant=tuple(spec.constant),
        )
    if isinstance(spec, RetentionMetricSpec):
        return EntityDefinition(
            spec.entity,
            (("base", event(spec.base)), ("activity", event(spec.activity))),
            spec.calculation.value,
            after=None if spec.after is None else Offset.parse(spec.after),
            cohort_periods=(
                None if spec.cohort_periods is None else Offset.parse(spec.cohort_periods)
            ),
            on_or_after=spec.on_or_after,
        )
    assert isinstance(spec, ChurnMetricSpec)
    return EntityDefinition(
        spec.entity, (("activity", event(spec.activity)),), spec.calculation.value
    )


def _filter_error(context: _Context, exc: FilterError, *where: str | int) -> None:
    """A filter or expression that does not parse, at its value."""
    message, hint = split_hint(str(exc), "write a SQL boolean over dimension names")
    context.error(message, *where, code="expression", hint=hint)


# How a rolling or cumulative metric's coarser periods read its daily windows.
WINDOW_EDGES = (Rollup.LAST, Rollup.FIRST, Rollup.AVERAGE)


def _check_windowed(context: _Context, measure: str | None) -> None:
    """A window needs a measure that combines across days, a source with a time, a day grain."""
    spec, graph = context.located.spec, context.graph
    if spec.per is not None:
        context.error(
            f"'per' does not apply to {spec.type} metrics (they are evaluated per day)",
            "per",
            code="definition",
            hint="remove it, and use 'rollup' to choose which day's window a period shows",
        )
    if spec.rollup is not None and spec.rollup not in WINDOW_EDGES:
        context.error(
            f"'rollup: {spec.rollup.value}' does not apply to {spec.type} metrics",
            "rollup",
            code="definition",
            hint="a period shows the window of its last day (last, the default), its first day "
            "(first), or the average over its days (average)",
        )
    if measure is None or measure not in graph.measures:
        return
    found = graph.measures[measure]
    if found.agg in (Agg.MEDIAN, Agg.PERCENTILE):
        context.error(
            f"a {spec.type} metric cannot use '{measure}' ({found.agg.value}): a median or "
            "percentile over a window needs every row of the window",
            "measure",
            code="definition",
            hint="use a count, sum, average, min or max measure",
        )
    if found.semi_additive is not None:
        context.error(
            f"a {spec.type} metric cannot use the semi-additive measure '{measure}' "
            "(a snapshot is already a value as of a day)",
            "measure",
            code="definition",
            hint="use a simple metric",
        )
    source = graph.sources[found.source]
    if source.time is None:
        context.error(
            f"a {spec.type} metric needs a time: source '{source.name}' has no 'time:'",
            "measure",
            code="definition",
            hint=f"set 'time:' on source '{source.name}'",
        )


def _measure_ref(context: _Context, ref: str, *where: str | int) -> str | None:
    """The measure ``source.measure`` names; None after an error (or quietly, when it names
    something left out after its own error)."""
    graph = context.graph
    if ref in graph.measures:
        return ref
    if context.broken.has_measure(ref):
        context.quiet = True
        return None
    source, _, name = ref.partition(".")
    holders = sorted(m for m in graph.measures if m.partition(".")[2] == (name or source))
    elsewhere = f"Did you mean '{holders[0]}'?" if len(holders) == 1 else ""
    if not name:
        context.error(
            f"'{ref}' is not a measure reference",
            *where,
            code="unknown-reference",
            hint="write 'source.measure'. "
            + (elsewhere or did_you_mean(ref, graph.measures).strip()),
        )
    elif source not in graph.sources:
        context.error(
            f"unknown source '{source}' in '{ref}'",
            *where,
            code="unknown-reference",
            hint=(
                elsewhere
                or did_you_mean(source, graph.sources).strip()
                or f"the sources are {_listed(graph.sources)}"
            ),
        )
    else:
        context.error(
            f"source '{source}' has no measure '{name}'",
            *where,
            code="unknown-reference",
            hint=(
                f"'{name}' is a measure of source '{holders[0].partition('.')[0]}': write "
                f"'{holders[0]}'"
                if len(holders) == 1
                else did_you_mean(name, graph.sources[source].measures).strip()
                or f"its measures are {_listed(graph.sources[source].measures)}"
            ),
        )
    return None


def _listed(names: Iterable[str], most: int = 8) -> str:
    """A few names for a hint.

    >>> _listed(["a", "b"]), _listed([]), _listed("abcdefghij", 3)
    ("'a', 'b'", 'none', "'a', 'b', 'c', ...")
    """
    shown = [f"'{n}'" for n in list(names)[:most]]
    if not shown:
        return "none"
    return ", ".join(shown) + (", ..." if len(list(names)) > most else "")


def _input_ref(context: _Context, ref: str, field: str) -> MetricRef:
    if "." in ref:
        return MetricRef(ref, measure=_measure_ref(context, ref, field))
    _metric_name(context, ref, field)
    return MetricRef(ref)


def _metric_name(context: _Context, name: str, *where: str | int) -> None:
    """Check that ``name`` is a metric of the project (reporting it if not)."""
    if name in context.names:
        return
    if context.broken.has_metric(name):
        context.quiet = True
        return
    measures = sorted(m for m in context.graph.measures if m.partition(".")[2] == name)
    hint = (
        f"'{name}' is a measure: write '{measures[0]}'"
        if len(measures) == 1
        else (
            did_you_mean(name, context.names).strip()
            or "name a metric of the project, or a measure as 'source.measure'"
        )
    )
    context.error(f"unknown metric '{name}'", *where, code="unknown-reference", hint=hint)


def _period(context: _Context, written: Grain | str | None, *where: str | int) -> Period | None:
    """A grain, or the calendar table period named ``written``; None (with a problem
    recorded for an unknown name) otherwise."""
    if written is None or isinstance(written, Grain):
        return written
    found = context.graph.period(written)
    if found is None:
        known = (*(g.value for g in Grain), *context.graph.period_names)
        context.error(
            f"'{written}' is not a grain or a period of the project's calendar table",
            *where,
            code="unknown-reference",
            hint=f"use one of {', '.join(known)}." + did_you_mean(written, known),
        )
    return found


# Offsets are whole days or longer: a period-over-period value compares days or coarser.
_OFFSET_GRAINS = tuple(g for g in Grain if g not in (Grain.SECOND, Grain.MINUTE, Grain.HOUR))


def _offset(context: _Context, written: str | None, *where: str | int) -> Offset | None:
    """``N unit`` (the schema checked the form) with a grain of a day or longer or a calendar
    table period as its unit, singular or plural; None (with a problem) otherwise."""
    if written is None:
        return None
    amount, unit = written.split()
    for name in (unit, unit.removesuffix("s")):
        found = context.graph.period(name)
        if found is not None and found not in (Grain.SECOND, Grain.MINUTE, Grain.HOUR):
            return Offset(int(amount), found)
    known = (*(g.value for g in _OFFSET_GRAINS), *context.graph.period_names)
    context.error(
        f"offset '{written}': '{unit}' is not a unit of a day or longer",
        *where,
        code="definition",
        hint=f"use one of {', '.join(known)} (plural allowed), e.g. '1 week'."
        + did_you_mean(unit, known),
    )
    return None


def _derived(
    context: _Context, spec: DerivedMetricSpec
) -> tuple[exp.Expr | None, tuple[MetricRef, ...]]:
    refs: dict[str, MetricRef] = {}
    for i, item in enumerate(spec.inputs):
        _metric_name(context, item.metric, "inputs", i, "metric")
        offset = _offset(context, item.offset, "inputs", i, "offset")
        to_grain = _period(context, item.offset_to_grain, "inputs", i, "offset_to_grain")
        ref = MetricRef(item.metric, alias=item.alias, offset=offset, to_grain=to_grain)
        refs[ref.column] = ref
    pinned = _PINNED.search(spec.expr)
    if pinned is not None:
        context.error(
            f"'{pinned.group()}' names a version of a metric; a derived metric reads the "
            "current version of each input (only queries pin a version)",
            "expr",
            code="definition",
            hint="name the metric without '@N'; to build on an earlier definition, define it as "
            "a metric of its own",
        )
        return None, ()
    try:
        expr = parse_condition(spec.expr, field="expr", boolean=False)
    except FilterError as exc:
        _filter_error(context, exc, "expr")
        return None, ()
    for column in references(expr):
        parts = column_parts(column)
        name = parts[-1]
        if len(parts) != 1:
            context.error(
                f"'{'.'.join(parts)}': a derived expression names metrics, not dimensions",
                "expr",
                code="expression",
                hint="name metrics of the project (or inputs' aliases); filter the metrics "
                "themselves for a dimension's rows",
            )
        elif name not in refs:
            if name in context.names:
                refs[name] = MetricRef(name)
            elif context.broken.has_metric(name):
                context.quiet = True
            else:
                context.error(
                    f"unknown metric '{name}' in expr",
                    "expr",
                    code="unknown-reference",
                    hint=did_you_mean(name, context.names).strip()
                    or "name a metric of the project, or declare it under 'inputs' with an alias",
                )
    return expr, tuple(refs.values())
