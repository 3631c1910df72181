"""Turn validated specs into the semantic graph, collecting every reference error with its place."""

from __future__ import annotations

from collections.abc import Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from metrics_layer.errors import Diagnostic, FilterError, did_you_mean
from metrics_layer.graph.dag import find_cycle
from metrics_layer.graph.expressions import (
    ExpressionSyntaxError,
    column_parts,
    parse_condition,
    parse_expression,
    qualify,
    references,
)
from metrics_layer.graph.graph import Graph
from metrics_layer.graph.model import (
    Dimension,
    Entity,
    Measure,
    Metric,
    MetricKind,
    MetricRef,
    Offset,
    Settings,
    Source,
)
from metrics_layer.spec.models import (
    Agg,
    DerivedMetricSpec,
    DimensionType,
    Grain,
    MetricSpec,
    RatioMetricSpec,
    SimpleMetricSpec,
    SourceSpec,
)
from metrics_layer.spec.project import Located, ProjectFiles

__all__ = ["build_graph"]


def build_graph(project: ProjectFiles) -> tuple[Graph, list[Diagnostic]]:
    """Build the graph; the diagnostics list every problem (the graph skips broken parts)."""
    problems: list[Diagnostic] = []
    settings = Settings(
        name=project.settings.name,
        week_start=project.settings.week_start,
        time_zone=project.settings.time_zone,
        connection=project.settings.connection,
    )
    sources: dict[str, Source] = {}
    seen: dict[str, Located[SourceSpec]] = {}
    for located in project.sources:
        name = located.spec.name
        if name in seen:
            problems.append(_duplicate("source", name, located, seen[name]))
            continue
        seen[name] = located
        source = _source(located, problems)
        if source is not None:
            sources[name] = source
    primary = _primary_entities(sources, seen, problems)
    graph = Graph(settings=settings, sources=sources, metrics={}, primary=primary)
    metrics = _metrics(project.metrics, graph, problems)
    places: dict[str, tuple[str, int | None, int | None]] = {}
    for spot in project.metrics:
        line, col = spot.doc.position((*spot.path, "name")) or (None, None)
        places.setdefault(spot.spec.name, (spot.doc.file, line, col))
    graph = Graph(
        settings=settings, sources=sources, metrics=metrics, primary=primary, places=places
    )
    return graph, problems


def _duplicate(kind: str, name: str, again: Located[object], first: Located[object]) -> Diagnostic:
    line = first.doc.position((*first.path, "name")) or (0, 0)
    return again.diagnostic(
        f"{kind} '{name}' is defined twice (first at {first.doc.file}:{line[0]}); "
        "rename or remove one",
        "name",
    )


def _parse(
    text: str, table: str, located: Located[object], problems: list[Diagnostic], *where: str | int
) -> exp.Expr | None:
    try:
        return qualify(parse_expression(text), table)
    except ExpressionSyntaxError as exc:
        problems.append(located.diagnostic(f"cannot parse SQL {text!r}: {exc}", *where))
        return None


def _source(located: Located[SourceSpec], problems: list[Diagnostic]) -> Source | None:
    spec = located.spec
    relation = _relation(located, problems)
    if relation is None:
        return None
    entities: dict[str, Entity] = {}
    for i, entity in enumerate(spec.entities):
        if entity.name in entities:
            problems.append(
                located.diagnostic(
                    f"entity '{entity.name}' is declared twice in source '{spec.name}'",
                    "entities",
                    i,
                )
            )
            continue
        raw = entity.key if entity.key is not None else entity.name
        texts = [raw] if isinstance(raw, str) else raw
        keys = [_parse(t, spec.name, located, problems, "entities", i, "key") for t in texts]
        if any(k is None for k in keys) or not keys:
            continue
        entities[entity.name] = Entity(
            entity.name, spec.name, tuple(k for k in keys if k), entity.primary, entity.description
        )
    dimensions: dict[str, Dimension] = {}
    for i, dim in enumerate(spec.dimensions):
        if dim.name in dimensions or dim.name in entities:
            problems.append(
                located.diagnostic(
                    f"'{dim.name}' is declared twice in source '{spec.name}' (as dimension or "
                    "entity); rename one",
                    "dimensions",
                    i,
                    "name",
                )
            )
            continue
        if dim.grain is not None and dim.type is not DimensionType.TIME:
            problems.append(
                located.diagnostic(
                    f"dimension '{dim.name}' has a grain but is not of type time; "
                    "add 'type: time' or remove 'grain'",
                    "dimensions",
                    i,
                    "grain",
                )
            )
        expr = _parse(dim.expr or dim.name, spec.name, located, problems, "dimensions", i)
        if expr is not None:
            grain = (dim.grain or Grain.DAY) if dim.type is DimensionType.TIME else None
            dimensions[dim.name] = Dimension(
                dim.name, spec.name, expr, dim.type, grain, dim.label, dim.description
            )
    if spec.time is not None:
        time_dim = dimensions.get(spec.time)
        if time_dim is None or time_dim.type is not DimensionType.TIME:
            hint = did_you_mean(
                spec.time, [d.name for d in dimensions.values() if d.type is DimensionType.TIME]
            )
            problems.append(
                located.diagnostic(
                    f"time: '{spec.time}' is not a time dimension of source '{spec.name}'.{hint} "
                    "Declare it under dimensions with 'type: time'",
                    "time",
                )
            )
    measures: dict[str, Measure] = {}
    for i, m in enumerate(spec.measures):
        if m.name in measures:
            problems.append(
                located.diagnostic(
                    f"measure '{m.name}' is declared twice in source '{spec.name}'",
                    "measures",
                    i,
                    "name",
                )
            )
            continue
        if (m.agg is Agg.PERCENTILE) != (m.percentile is not None):
            problems.append(
                located.diagnostic(
                    "'percentile' is required with agg: percentile and allowed only there",
                    "measures",
                    i,
                )
            )
            continue
        if m.semi_additive is not None and spec.time is None:
            problems.append(
                located.diagnostic(
                    f"measure '{m.name}' is semi_additive over time, but source '{spec.name}' has "
                    "no 'time'; set the source's time dimension",
                    "measures",
                    i,
                    "semi_additive",
                )
            )
            continue
        text = m.expr if m.expr is not None else (None if m.agg is Agg.COUNT else m.name)
        expr = (
            None
            if text is None
            else _parse(text, spec.name, located, problems, "measures", i, "expr")
        )
        if text is not None and expr is None:
            continue
        measures[m.name] = Measure(
            m.name, spec.name, m.agg, expr, m.percentile, m.semi_additive, m.label, m.description
        )
    return Source(spec.name, relation, spec.time, entities, dimensions, measures, spec.description)


def _relation(located: Located[SourceSpec], problems: list[Diagnostic]) -> exp.Expr | None:
    spec = located.spec
    if (spec.table is None) == (spec.sql is None):
        problems.append(
            located.diagnostic(
                f"source '{spec.name}' needs exactly one of 'table' or 'sql'", "name"
            )
        )
        return None
    if spec.table is not None:
        try:
            table = exp.to_table(spec.table)
        except (ParseError, TokenError, ValueError) as exc:
            problems.append(located.diagnostic(f"bad table name {spec.table!r}: {exc}", "table"))
            return None
        return exp.alias_(table, spec.name, table=True)
    try:
        query = sqlglot.parse_one(spec.sql or "")
    except (ParseError, TokenError) as exc:
        problems.append(
            located.diagnostic(f"cannot parse the source's sql: {str(exc).splitlines()[0]}", "sql")
        )
        return None
    if not isinstance(query, exp.Query) or not query.selects:
        problems.append(
            located.diagnostic("'sql' must be one SELECT statement with columns", "sql")
        )
        return None
    return exp.alias_(exp.Subquery(this=query), spec.name, table=True)


def _primary_entities(
    sources: dict[str, Source], seen: dict[str, Located[SourceSpec]], problems: list[Diagnostic]
) -> dict[str, str]:
    primary: dict[str, str] = {}
    for source in sources.values():
        for entity in source.entities.values():
            if not entity.primary:
                continue
            if entity.name in primary:
                index = [e.name for e in seen[source.name].spec.entities].index(entity.name)
                problems.append(
                    seen[source.name].diagnostic(
                        f"entity '{entity.name}' is primary in both '{primary[entity.name]}' and "
                        f"'{source.name}'; an entity has one primary source. Make one 'primary: "
                        "false'",
                        "entities",
                        index,
                    )
                )
                continue
            primary[entity.name] = source.name
    for source in sources.values():
        for entity in source.entities.values():
            if entity.name not in primary:
                index = [e.name for e in seen[source.name].spec.entities].index(entity.name)
                problems.append(
                    seen[source.name].diagnostic(
                        f"entity '{entity.name}' has no primary source, so nothing can join "
                        "through it. Mark it 'primary: true' in the source where it is unique."
                        + did_you_mean(entity.name, primary),
                        "entities",
                        index,
                        "name",
                    )
                )
            elif len(entity.keys) != len(sources[primary[entity.name]].entities[entity.name].keys):
                index = [e.name for e in seen[source.name].spec.entities].index(entity.name)
                problems.append(
                    seen[source.name].diagnostic(
                        f"entity '{entity.name}' has {len(entity.keys)} key column(s) here but "
                        f"{len(sources[primary[entity.name]].entities[entity.name].keys)} in its "
                        "primary source; give both the same columns",
                        "entities",
                        index,
                        "key",
                    )
                )
    return primary


def _metrics(
    located_metrics: Iterable[Located[MetricSpec]], graph: Graph, problems: list[Diagnostic]
) -> dict[str, Metric]:
    metrics: dict[str, Metric] = {}
    seen: dict[str, Located[MetricSpec]] = {}
    names = {located.spec.name for located in located_metrics}
    for located in located_metrics:
        spec = located.spec
        if spec.name in seen:
            problems.append(_duplicate("metric", spec.name, located, seen[spec.name]))
            continue
        seen[spec.name] = located
        metric = _metric(located, graph, names, problems)
        if metric is not None:
            metrics[metric.name] = metric
    deps = {m.name: [i.name for i in m.inputs if i.measure is None] for m in metrics.values()}
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


def _metric(
    located: Located[MetricSpec], graph: Graph, names: set[str], problems: list[Diagnostic]
) -> Metric | None:
    spec = located.spec
    before = len(problems)
    measure: str | None = None
    inputs: tuple[MetricRef, ...] = ()
    expr: exp.Expr | None = None
    kind: MetricKind
    if isinstance(spec, SimpleMetricSpec):
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
        expr, inputs = _derived(spec, located, names, problems)
    if spec.rollup is not None and spec.per is None:
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
        file=located.doc.file,
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


def _derived(
    spec: DerivedMetricSpec,
    located: Located[MetricSpec],
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
        offset = Offset.parse(item.offset) if item.offset is not None else None
        ref = MetricRef(item.metric, alias=item.alias, offset=offset)
        refs[ref.column] = ref
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
