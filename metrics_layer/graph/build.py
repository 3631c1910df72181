"""Turn validated specs into the semantic graph, collecting every reference error with its place.

Sources, entities and the join graph are built here; metrics in ``metrics.py``.
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from metrics_layer.errors import Diagnostic, Level, did_you_mean
from metrics_layer.graph.calendars import GRAIN_NAMES, PART_NAMES
from metrics_layer.graph.entity_metrics import EntityMetric, entity_metric, is_entity_metric
from metrics_layer.graph.expressions import (
    ExpressionSyntaxError,
    parse_expression,
    parse_query,
    qualify,
)
from metrics_layer.graph.graph import FieldPlaces, Graph, MetricPlaces
from metrics_layer.graph.metrics import build_metrics, kept_specs
from metrics_layer.graph.model import (
    Broken,
    Calendar,
    CalendarPeriod,
    Dimension,
    Entity,
    Measure,
    Place,
    Settings,
    Source,
    SourcePlaces,
)
from metrics_layer.graph.targets import Target
from metrics_layer.safety.trees import table_problem
from metrics_layer.spec.limits import quote
from metrics_layer.spec.models import (
    Agg,
    CalendarSpec,
    DimensionType,
    Grain,
    ProjectSpec,
    SourceSpec,
)
from metrics_layer.spec.project import PROJECT_FILE, Located, ProjectFiles
from metrics_layer.spec.yaml_source import YamlDocument

__all__ = ["build_graph"]


def build_graph(
    project: ProjectFiles, target: Target | None = None
) -> tuple[Graph, list[Diagnostic]]:
    """Build the graph, its tables renamed for ``target``; the diagnostics list every problem
    (the graph skips broken parts)."""
    problems: list[Diagnostic] = []
    target = target or Target()
    settings = Settings(
        name=project.settings.name,
        week_start=project.settings.week_start,
        time_zone=project.settings.time_zone,
        connection=target.connection or project.settings.connection,
        timeout=project.settings.timeout,
        max_rows=project.settings.max_rows,
        cache_ttl=project.settings.cache_ttl,
        digest_metrics=tuple(project.settings.digest.metrics),
        digest_by=project.settings.digest.by,
        target=target.name,
        fiscal_year_start=project.settings.fiscal_year_start.number,
    )
    sources: dict[str, Source] = {}
    seen: dict[str, Located[SourceSpec]] = {}
    for located in project.sources:
        name = located.spec.name
        if name in seen:
            problems.append(located.duplicate_of("source", seen[name]))
            continue
        seen[name] = located
        source = _source(located, problems, target, project.broken_dimensions)
        if source is not None:
            sources[name] = source
    broken = _left_out(project, seen, sources)
    derived: dict[str, EntityMetric] = {}
    for spot in project.metrics:
        # A conversion, retention or churn metric, and each such kept version of a metric,
        # derive rows of their own.
        for deriving in (spot, *kept_specs(spot)):
            if is_entity_metric(deriving.spec) and deriving.spec.name not in derived:
                found = entity_metric(deriving, sources, settings, problems, broken)
                if found is not None:
                    derived[deriving.spec.name] = found
    for found in derived.values():
        sources[found.source.name] = found.source
    primary, also = _primary_entities(sources, seen, problems)
    calendar = calendar_places = None
    if project.settings.calendar is not None:
        place = project.settings_place or Located(
            project.settings, YamlDocument(PROJECT_FILE, None), ("project",)
        )
        calendar = _calendar(place, project.settings.calendar, problems, target)
        calendar_places = _calendar_places(place, project.settings.calendar)
    graph = Graph(
        settings=settings,
        sources=sources,
        metrics={},
        primary=primary,
        calendar=calendar,
        also_primary=also,
    )
    metrics = build_metrics(project.metrics, graph, problems, derived, broken)
    built = {spot.spec.name for spot in project.metrics if spot.spec.name in metrics}
    broken = replace(
        broken,
        metrics=broken.metrics | {s.spec.name for s in project.metrics if s.spec.name not in built},
    )
    graph = Graph(
        settings=settings,
        sources=sources,
        metrics=metrics,
        primary=primary,
        places=MetricPlaces(project.metrics),
        field_places=FieldPlaces(project.metrics, project.sources),
        calendar=calendar,
        also_primary=also,
        broken=broken,
        source_places={
            name: _source_places(located) for name, located in seen.items() if name in sources
        },
        calendar_places=calendar_places if calendar is not None else None,
    )
    return graph, problems


def _left_out(
    project: ProjectFiles, seen: dict[str, Located[SourceSpec]], sources: dict[str, Source]
) -> Broken:
    """What the project's files define that the graph leaves out after an error: sources and
    metrics whose spec failed, and the sources, dimensions, measures and entities that failed
    to build."""
    gone_sources = set(project.broken_sources) | {n for n in seen if n not in sources}
    measures: set[str] = set()
    dimensions: set[str] = set()
    entities: set[str] = set()
    for name, located in seen.items():
        built = sources.get(name)
        spec = located.spec
        measures.update(
            f"{name}.{m.name}"
            for m in spec.measures
            if built is None or m.name not in built.measures
        )
        dimensions.update(
            f"{name}.{d.name}"
            for d in spec.dimensions
            if built is None or d.name not in built.dimensions
        )
        entities.update(
            f"{name}.{e.name}"
            for e in spec.entities
            if built is None or e.name not in built.entities
        )
    return Broken(
        sources=frozenset(gone_sources),
        metrics=frozenset(project.broken_metrics),
        measures=frozenset(measures | project.broken_measures),
        dimensions=frozenset(dimensions | project.broken_dimensions),
        entities=frozenset(entities | project.broken_entities),
    )


def _parse(
    text: str, table: str, located: Located[object], problems: list[Diagnostic], *where: str | int
) -> exp.Expr | None:
    try:
        return qualify(parse_expression(text), table)
    except ExpressionSyntaxError as exc:
        problems.append(
            located.diagnostic(
                f"{located.place(*where)}: cannot parse SQL {quote(text)}: {exc}",
                *where,
                code="expression",
                hint="write one SQL expression over the source's columns",
            )
        )
        return None


def _source(
    located: Located[SourceSpec],
    problems: list[Diagnostic],
    target: Target,
    gone: set[str] | frozenset[str] = frozenset(),
) -> Source | None:
    """The source, or None after its errors; ``gone`` holds the dimensions (``source.name``)
    that failed the schema, which its time may not name again."""
    spec = located.spec
    failed = {d.name for d in spec.dimensions} | {
        g.partition(".")[2] for g in gone if g.partition(".")[0] == spec.name
    }
    relation = _relation(located, problems, target)
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
                    code="duplicate-name",
                    hint="remove one of the two",
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
                    "entity)",
                    "dimensions",
                    i,
                    "name",
                    code="duplicate-name",
                    hint="rename one",
                )
            )
            continue
        if dim.grain is not None and dim.type is not DimensionType.TIME:
            problems.append(
                located.diagnostic(
                    f"dimension '{dim.name}' has a grain but is not of type time",
                    "dimensions",
                    i,
                    "grain",
                    code="definition",
                    hint="add 'type: time' or remove 'grain'",
                )
            )
        expr = _parse(
            dim.expr or dim.name,
            spec.name,
            located,
            problems,
            "dimensions",
            i,
            "expr" if dim.expr is not None else "name",
        )
        if expr is not None:
            grain = (dim.grain or Grain.DAY) if dim.type is DimensionType.TIME else None
            dimensions[dim.name] = Dimension(
                dim.name, spec.name, expr, dim.type, grain, dim.label, dim.description
            )
    # A source whose own 'time' is wrong is left out (after its measures are checked): every
    # windowed, offset or ranged use of it would fail again.
    time_ok = True
    if spec.time is not None:
        time_dim = dimensions.get(spec.time)
        if time_dim is None and (spec.time in failed or "?" in failed):
            time_ok = False  # the dimension's own error is reported
        elif time_dim is None or time_dim.type is not DimensionType.TIME:
            time_ok = False
            hint = did_you_mean(
                spec.time, [d.name for d in dimensions.values() if d.type is DimensionType.TIME]
            )
            problems.append(
                located.diagnostic(
                    f"time: '{spec.time}' is not a time dimension of source '{spec.name}'",
                    "time",
                    code="unknown-reference",
                    hint=f"{hint.strip()} Declare it under dimensions with 'type: time'".lstrip(),
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
                    code="duplicate-name",
                    hint="rename or remove one",
                )
            )
            continue
        if (m.agg is Agg.PERCENTILE) != (m.percentile is not None):
            problems.append(
                located.diagnostic(
                    f"measure '{m.name}': 'percentile' is required with agg: percentile and "
                    "allowed only there",
                    "measures",
                    i,
                    code="definition",
                    hint="write 'agg: percentile' with 'percentile: 0.9' (a fraction), or neither",
                )
            )
            continue
        if m.time is not None and m.time not in dimensions and {m.time, "?"} & failed:
            continue  # the dimension's own error is reported
        if m.time is not None and not _is_time(dimensions, m.time):
            hint = did_you_mean(
                m.time, [d.name for d in dimensions.values() if d.type is DimensionType.TIME]
            )
            problems.append(
                located.diagnostic(
                    f"measure '{m.name}': time '{m.time}' is not a time dimension of source "
                    f"'{spec.name}'",
                    "measures",
                    i,
                    "time",
                    code="unknown-reference",
                    hint=f"{hint.strip()} Name one of its dimensions with 'type: time', or "
                    "drop 'time' to use the source's".lstrip(),
                )
            )
            continue
        if m.semi_additive is not None and (m.time or spec.time) is None:
            problems.append(
                located.diagnostic(
                    f"measure '{m.name}' is semi_additive over time, but source '{spec.name}' has "
                    "no 'time'",
                    "measures",
                    i,
                    "semi_additive",
                    code="definition",
                    hint="set the source's time dimension, or the measure's 'time'",
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
            m.name,
            spec.name,
            m.agg,
            expr,
            m.percentile,
            m.semi_additive,
            m.label,
            m.description,
            time=m.time or spec.time,
        )
    if not time_ok:
        return None
    valid_from = valid_to = None
    if spec.valid_from is not None or spec.valid_to is not None:
        if spec.valid_from is None:
            problems.append(
                located.diagnostic(
                    f"source '{spec.name}' has 'valid_to' without 'valid_from'",
                    "valid_to",
                    code="definition",
                    hint="add 'valid_from': a history source needs the time each row starts to "
                    "hold",
                )
            )
            return None
        if any(e.primary for e in entities.values()):
            problems.append(
                located.diagnostic(
                    f"history source '{spec.name}' holds several rows per entity over time, so "
                    "none of its entities can be primary",
                    "valid_from",
                    code="definition",
                    hint="make them 'primary: false' and keep the current values in another source",
                )
            )
            return None
        valid_from = _parse(spec.valid_from, spec.name, located, problems, "valid_from")
        if spec.valid_to is not None:
            valid_to = _parse(spec.valid_to, spec.name, located, problems, "valid_to")
            if valid_to is None:
                return None
        if valid_from is None:
            return None
    return Source(
        spec.name,
        relation,
        spec.time,
        entities,
        dimensions,
        measures,
        spec.description,
        valid_from,
        valid_to,
    )


def _source_places(located: Located[SourceSpec]) -> SourcePlaces:
    """Where the source's table or sql and each field naming columns are written."""
    spec = located.spec

    def at(*sub: str | int) -> Place:
        line, column = located.position(*sub) or (None, None)
        return (located.doc.file, line, column)

    fields: dict[tuple[str | int, ...], Place] = {}
    for i, entity in enumerate(spec.entities):
        if entity.key is None:
            fields[("entities", entity.name, 0)] = at("entities", i, "name")
        elif isinstance(entity.key, str):
            fields[("entities", entity.name, 0)] = at("entities", i, "key")
        else:
            for j in range(len(entity.key)):
                fields[("entities", entity.name, j)] = at("entities", i, "key", j)
    for i, dim in enumerate(spec.dimensions):
        where = "expr" if dim.expr is not None else "name"
        fields.setdefault(("dimensions", dim.name), at("dimensions", i, where))
    for i, m in enumerate(spec.measures):
        where = "expr" if m.expr is not None else "name"
        fields.setdefault(("measures", m.name), at("measures", i, where))
    for name, text in (("valid_from", spec.valid_from), ("valid_to", spec.valid_to)):
        if text is not None:
            fields[(name,)] = at(name)
    return SourcePlaces(at("table" if spec.table is not None else "sql"), fields)


def _calendar_places(located: Located[ProjectSpec], spec: CalendarSpec) -> SourcePlaces:
    """Where the calendar's table or sql, its day column and each period's column are."""

    def at(*sub: str | int) -> Place:
        line, column = located.doc.position((*located.path, "calendar", *sub)) or (None, None)
        return (located.doc.file, line, column)

    fields: dict[tuple[str | int, ...], Place] = {("day",): at("day")}
    for i, period in enumerate(spec.periods):
        where = "column" if period.column is not None else "name"
        fields.setdefault(("periods", period.name), at("periods", i, where))
    return SourcePlaces(at("table" if spec.table is not None else "sql"), fields)


def _is_time(dimensions: dict[str, Dimension], name: str) -> bool:
    found = dimensions.get(name)
    return found is not None and found.type is DimensionType.TIME


def _relation(
    located: Located[SourceSpec], problems: list[Diagnostic], target: Target
) -> exp.Expr | None:
    spec = located.spec
    if (spec.table is None) == (spec.sql is None):
        problems.append(
            located.diagnostic(
                f"source '{spec.name}' needs exactly one of 'table' or 'sql'",
                "name",
                code="definition",
                hint="keep 'table' for a table, or 'sql' for a query, not both"
                if spec.table is not None
                else "add 'table: schema.table' (or 'sql:' with a SELECT)",
            )
        )
        return None
    return _table_or_sql(located, spec.table, spec.sql, spec.name, problems, target)


def _table_or_sql(
    located: Located[object],
    table_name: str | None,
    sql: str | None,
    name: str,
    problems: list[Diagnostic],
    target: Target,
    *where: str,
) -> exp.Expr | None:
    """A table (``[catalog.][schema.]table``) or a SELECT, renamed for ``target`` and aliased
    ``name``; None after recording the problem."""
    if table_name is not None:
        try:
            table = exp.to_table(table_name)
        except (ParseError, TokenError, ValueError) as exc:
            problems.append(
                located.diagnostic(
                    f"bad table name {quote(table_name)}: {exc}",
                    *where,
                    "table",
                    code="expression",
                    hint="write [catalog.][schema.]table, or use 'sql:' for a query",
                )
            )
            return None
        problem = table_problem(table)
        if problem is not None:
            problems.append(
                located.diagnostic(
                    f"{problem} is not allowed in 'table'",
                    *where,
                    "table",
                    code="expression",
                    hint="write [catalog.][schema.]table, or use 'sql:' for a query",
                )
            )
            return None
        return exp.alias_(target.rename(table), name, table=True)
    try:
        query = parse_query(sql or "")
    except ExpressionSyntaxError as exc:
        owner = "calendar's" if where else "source's"
        problems.append(
            located.diagnostic(
                f"cannot use the {owner} sql: {exc}",
                *where,
                "sql",
                code="expression",
                hint="write one plain SELECT over tables",
            )
        )
        return None
    return exp.alias_(exp.Subquery(this=target.rename(query)), name, table=True)


def _calendar(
    located: Located[ProjectSpec],
    spec: CalendarSpec,
    problems: list[Diagnostic],
    target: Target,
) -> Calendar | None:
    """The project's calendar table and its well-named periods; every problem is recorded,
    and None returned when the table itself is unusable."""
    if (spec.table is None) == (spec.sql is None):
        problems.append(
            located.diagnostic(
                "the calendar needs exactly one of 'table' or 'sql'",
                "calendar",
                key=True,
                code="definition",
                hint="keep 'table' for a table, or 'sql' for a query",
            )
        )
        return None
    relation = _table_or_sql(
        located, spec.table, spec.sql, "calendar", problems, target, "calendar"
    )
    periods: dict[str, CalendarPeriod] = {}
    for index, period in enumerate(spec.periods):
        where = ("calendar", "periods", index, "name")
        if period.name in GRAIN_NAMES or period.name in PART_NAMES:
            kind = "grain" if period.name in GRAIN_NAMES else "date part"
            problems.append(
                located.diagnostic(
                    f"calendar period '{period.name}' is named like the built-in {kind}",
                    *where,
                    code="duplicate-name",
                    hint=f"give it another name, e.g. 'retail_{period.name}'",
                )
            )
        elif period.name in periods:
            problems.append(
                located.diagnostic(
                    f"calendar period '{period.name}' is defined twice",
                    *where,
                    code="duplicate-name",
                    hint="rename or remove one",
                )
            )
        else:
            column = period.column or period.name
            periods[period.name] = CalendarPeriod(period.name, column, period.description)
    if relation is None:
        return None
    # The periods named well stay known, so that metrics using them report nothing more.
    return Calendar(relation, spec.day, periods, spec.spine)


def _primary_entities(
    sources: dict[str, Source], seen: dict[str, Located[SourceSpec]], problems: list[Diagnostic]
) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Each entity's first primary source, and the other sources where it is primary too (a
    users table and a users-latest snapshot: one row per user in each)."""
    primary: dict[str, str] = {}
    also: dict[str, tuple[str, ...]] = {}
    for source in sources.values():
        for entity in source.entities.values():
            if not entity.primary:
                continue
            if entity.name in primary:
                also[entity.name] = (*also.get(entity.name, ()), source.name)
                continue
            primary[entity.name] = source.name
    unjoinable: list[tuple[str, str]] = []
    for source in sources.values():
        for entity in source.entities.values():
            if entity.name not in primary:
                # A key held only by facts (a guest id) is grouped by as it is; a near miss of
                # an entity that has a primary source is more likely a typo (a derived
                # source's entity was checked in the source it comes from).
                suggestion = did_you_mean(entity.name, primary)
                if not suggestion or source.name not in seen:
                    continue
                index = [e.name for e in seen[source.name].spec.entities].index(entity.name)
                problems.append(
                    seen[source.name].diagnostic(
                        f"entity '{entity.name}' has no primary source, so nothing can join "
                        "through it and it has no dimensions (a query can still group by its "
                        "key)",
                        "entities",
                        index,
                        "name",
                        level=Level.WARNING,
                        code="join",
                        hint="if it is the entity below, fix the name; if it is unique in one "
                        "source, mark it 'primary: true' there." + suggestion,
                    )
                )
            elif len(entity.keys) != len(sources[primary[entity.name]].entities[entity.name].keys):
                # Nothing joins through it: the keys cannot be paired.
                unjoinable.append((source.name, entity.name))
                index = [e.name for e in seen[source.name].spec.entities].index(entity.name)
                problems.append(
                    seen[source.name].diagnostic(
                        f"entity '{entity.name}' has {len(entity.keys)} key column(s) here but "
                        f"{len(sources[primary[entity.name]].entities[entity.name].keys)} in its "
                        "primary source",
                        "entities",
                        index,
                        "key",
                        code="join",
                        hint="give both the same key columns",
                    )
                )
    for name, entity_name in unjoinable:
        kept = {k: e for k, e in sources[name].entities.items() if k != entity_name}
        sources[name] = replace(sources[name], entities=kept)
    return primary, also
