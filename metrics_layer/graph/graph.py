"""The semantic graph: sources joined many-to-one through entities, and metrics over measures.

An edge goes from source S to source T through entity E when S declares E and T declares E as
primary: each row of S finds at most one row of T, so joining along edges never fans out.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from functools import cached_property
from typing import TYPE_CHECKING, overload

from sqlglot import exp

from metrics_layer.errors import QueryError, did_you_mean
from metrics_layer.graph.calendars import (
    GRAIN_NAMES,
    PART_NAMES,
    check_grain,
    check_part,
    suffix_error,
)
from metrics_layer.graph.model import (
    Broken,
    Calendar,
    Dimension,
    Entity,
    Measure,
    Metric,
    Period,
    Settings,
    Source,
    SourcePlaces,
)
from metrics_layer.spec.limits import quote
from metrics_layer.spec.models import DatePart, DimensionType, Grain

if TYPE_CHECKING:
    from metrics_layer.graph.fingerprint import Computed, Fingerprints
    from metrics_layer.spec.models import MetricSpec, SourceSpec
    from metrics_layer.spec.project import Located
    from metrics_layer.spec.yaml_source import YamlDocument

__all__ = [
    "GRAIN_NAMES",
    "METRIC_TIME",
    "DimensionRef",
    "FieldPlaces",
    "Graph",
    "JoinStep",
    "MetricPlaces",
]

METRIC_TIME = "metric_time"
# A version number in 'name@N': ASCII digits, no leading zero, at most nine of them.
_VERSION = re.compile(r"[1-9][0-9]{0,8}", re.ASCII)


@dataclass(frozen=True)
class JoinStep:
    """One many-to-one hop: ``left`` rows find their ``right`` row through ``entity``."""

    left: str
    right: str
    entity: str


@dataclass(frozen=True)
class DimensionRef:
    """A resolved dotted name: what to group by or filter on, seen from one source.

    ``dimension`` is None for an entity (its key) and for ``metric_time`` before it is bound to a
    source's time dimension. A time dimension has a ``grain`` (its periods: a built-in grain or
    a calendar table's period) or, instead, a date ``part`` (an integer such as the day of the
    week).
    """

    name: str
    path: tuple[JoinStep, ...]
    source: str
    dimension: Dimension | None
    entity: Entity | None
    grain: Period | None
    part: DatePart | None = None

    @property
    def is_time(self) -> bool:
        return self.dimension is not None and self.dimension.type is DimensionType.TIME

    def is_metric_time(self, source: str, time: str | None) -> bool:
        """Whether this is the time dimension ``time`` of ``source`` itself (not joined): a
        scan's metric_time."""
        return (
            self.dimension is not None
            and not self.path
            and self.dimension.source == source
            and self.dimension.name == time
        )


# The metric fields whose own lines diagnostics point at (checks/run.py, checks/governance.py).
PLACED_FIELDS = frozenset(
    {
        "label",
        "status",
        "replaced_by",
        "sunset",
        "filter",
        "measure",
        "numerator",
        "denominator",
        "expr",
        "version",
        "changelog",
        "owner",
        "description",
    }
)

Place = tuple[str | None, int | None, int | None]


class FieldPlaces:
    """Where a metric's fields (``("metric", "revenue", "label")``, ``("metric", "revenue",
    "synonyms", 0)``, each of ``PLACED_FIELDS``) and a measure's name (``("measure",
    "orders.revenue")``) are written: (file, line, column), or None when the files do not
    have it. The first definition of a name that has the field wins, as in ``Graph.places``.

    Looked up in the files' positions when a diagnostic asks, which is rare: a table of every
    field of every metric held 80,000 entries (12 MiB) for a 10,000-metric project."""

    def __init__(
        self,
        metrics: Sequence[Located[MetricSpec]] = (),
        sources: Sequence[Located[SourceSpec]] = (),
    ) -> None:
        self._metrics: dict[str, list[Located[MetricSpec]]] = {}
        for spot in metrics:
            self._metrics.setdefault(spot.spec.name, []).append(spot)
        self._measures: dict[str, list[tuple[YamlDocument, tuple[str | int, ...]]]] = {}
        for located in sources:
            for i, measure in enumerate(located.spec.measures):
                self._measures.setdefault(f"{located.spec.name}.{measure.name}", []).append(
                    (located.doc, (*located.path, "measures", i, "name"))
                )

    @overload
    def get(self, key: tuple[str | int, ...]) -> Place | None: ...

    @overload
    def get(self, key: tuple[str | int, ...], default: Place) -> Place: ...

    def get(self, key: tuple[str | int, ...], default: Place | None = None) -> Place | None:
        for doc, path in self._written(key):
            position = doc.positions.get(path)
            if position is not None:
                return (doc.file, *position)
        return default

    def _written(
        self, key: tuple[str | int, ...]
    ) -> Iterator[tuple[YamlDocument, tuple[str | int, ...]]]:
        """Where the files may have ``key``, the first definition first."""
        if len(key) == 2 and key[0] == "measure":
            yield from self._measures.get(str(key[1]), ())
        elif len(key) >= 3 and key[0] == "metric":
            written, rest = key[2], key[3:]
            for spot in self._metrics.get(str(key[1]), ()):
                named = written in PLACED_FIELDS and not rest
                listed = (
                    written == "synonyms"
                    and len(rest) == 1
                    and isinstance(rest[0], int)
                    and 0 <= rest[0] < len(spot.spec.synonyms)
                )
                if named or listed:
                    yield spot.doc, (*spot.path, *key[2:])


class MetricPlaces:
    """Where each metric's name is written, and each kept version's entry in its
    ``versions`` (``"revenue@1"``): (file, line, column), the line and column None when the
    file does not have them. The first definition of a name wins.

    Looked up in the files' positions when asked (diagnostics, the catalogue), like
    ``FieldPlaces``: the files keep their positions only when they have a problem."""

    def __init__(self, metrics: Sequence[Located[MetricSpec]] = ()) -> None:
        self._written: dict[str, tuple[Located[MetricSpec], tuple[str | int, ...]]] = {}
        for spot in metrics:
            self._written.setdefault(spot.spec.name, (spot, ("name",)))
            for index, kept in enumerate(spot.spec.versions):
                self._written.setdefault(
                    f"{spot.spec.name}@{kept.version}", (spot, ("versions", index))
                )

    @overload
    def get(self, name: str) -> tuple[str, int | None, int | None] | None: ...

    @overload
    def get(self, name: str, default: Place) -> Place: ...

    def get(self, name: str, default: Place | None = None) -> Place | None:
        found = self._written.get(name)
        if found is None:
            return default
        spot, sub = found
        line, column = spot.doc.position((*spot.path, *sub)) or (None, None)
        return (spot.doc.file, line, column)


@dataclass(frozen=True)
class Graph:
    settings: Settings
    sources: dict[str, Source]
    metrics: dict[str, Metric]
    primary: dict[str, str]
    places: MetricPlaces = field(default_factory=MetricPlaces, compare=False)
    calendar: Calendar | None = None
    # Finer places than a metric's name line, where the files have them: a metric's fields
    # (``("metric", "revenue", "label")``, ``("metric", "revenue", "synonyms", 0)``) and a
    # measure's name (``("measure", "orders.revenue")``).
    field_places: FieldPlaces = field(default_factory=FieldPlaces, compare=False)
    # Entities primary in more than one source: the sources after the first (``primary``).
    also_primary: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # What the files define but the graph left out, its errors reported (``build_graph``).
    broken: Broken = field(default_factory=Broken, compare=False)
    # Where each source written in a file is (its table or sql, its fields), by source name.
    source_places: dict[str, SourcePlaces] = field(default_factory=dict, compare=False)
    # Where the calendar's table or sql, its ``("day",)`` and each ``("periods", name)`` are.
    calendar_places: SourcePlaces | None = field(default=None, compare=False)

    def primaries(self, entity: str) -> tuple[str, ...]:
        """Every source where ``entity`` is primary (one row per entity), the first first."""
        first = self.primary.get(entity)
        return () if first is None else (first, *self.also_primary.get(entity, ()))

    def period(self, name: str) -> Period | None:
        """The built-in grain or calendar table period called ``name``; None if neither."""
        if name in GRAIN_NAMES:
            return Grain(name)
        if self.calendar is not None:
            return self.calendar.periods.get(name)
        return None

    def metric_time_period(self, name: str) -> Period | None:
        """The period of a ``metric_time`` name: day for ``metric_time`` itself, the grain or
        calendar period of ``metric_time.<period>``; None for any other name (a date part, a
        dimension, a typo)."""
        parts = name.split(".")
        if parts[0] != METRIC_TIME or len(parts) > 2:
            return None
        return self.period(parts[1]) if len(parts) == 2 else Grain.DAY

    @property
    def period_names(self) -> tuple[str, ...]:
        """The names of the calendar table's periods (none without one)."""
        return tuple(self.calendar.periods) if self.calendar is not None else ()

    @cached_property
    def edges(self) -> dict[str, tuple[JoinStep, ...]]:
        out: dict[str, tuple[JoinStep, ...]] = {}
        for source in self.sources.values():
            out[source.name] = tuple(
                JoinStep(source.name, target, name)
                for name in sorted(source.entities)
                for target in self.primaries(name)
                if target != source.name
            )
        return out

    @cached_property
    def measures(self) -> dict[str, Measure]:
        return {m.ref: m for s in self.sources.values() for m in s.measures.values()}

    @cached_property
    def read_names(self) -> frozenset[str]:
        """The names a statement may read besides its scans' CTEs, in lower case, and each
        beginning of them up to an underscore (``events_per_day``: ``events``, ``events_per``):
        the tables the sources and the calendar name without a schema, and the CTE of each
        source's own SQL (``<source>_source``). A scan whose name is one of these would give a
        CTE read in place of the table, or a second CTE of that name (``planner._clashes``)."""
        relations = [source.relation for source in self.sources.values()]
        if self.calendar is not None:
            relations.append(self.calendar.relation)
        names = {f"{source}_source" for source in self.sources}
        names.update(
            table.name.lower()
            for relation in relations
            for table in relation.find_all(exp.Table)
            if not table.args.get("db")
        )
        return frozenset(
            "_".join(words[:at])
            for words in (name.split("_") for name in names)
            for at in range(1, len(words) + 1)
        )

    def join_path(
        self, start: str, target: str, *, name: str, field: str | None = None
    ) -> tuple[JoinStep, ...]:
        """The unique shortest many-to-one path from ``start`` to ``target``.

        Raises QueryError when there is none, or when two shortest paths exist.
        """
        if start == target:
            return ()
        paths = self._shortest_paths(start, target)
        if not paths:
            raise QueryError(
                f"'{name}' cannot be reached from source '{start}': no chain of entities "
                f"joins '{start}' many-to-one to '{target}'. Group or filter by names "
                f"reachable from '{start}'",
                field=field,
            )
        if len(paths) > 1:
            shown = " and ".join(_describe(p) for p in paths[:2])
            raise QueryError(
                f"'{name}' is reachable from '{start}' along two paths: {shown}. "
                "Give the definitions one many-to-one path there (remove or rename one of the "
                "entity links), or query the dimensions separately",
                field=field,
            )
        return paths[0]

    def _shortest_paths(self, start: str, target: str) -> list[tuple[JoinStep, ...]]:
        found: list[tuple[JoinStep, ...]] = []
        queue: deque[tuple[str, tuple[JoinStep, ...]]] = deque([(start, ())])
        depth_of: dict[str, int] = {start: 0}
        while queue:
            node, path = queue.popleft()
            if found and len(path) >= len(found[0]):
                break
            for step in self.edges.get(node, ()):
                if step.right in {s.left for s in path} or step.right == start:
                    continue
                longer = (*path, step)
                if step.right == target:
                    found.append(longer)
                elif depth_of.get(step.right, len(longer)) >= len(longer):
                    depth_of[step.right] = len(longer)
                    queue.append((step.right, longer))
        return found

    def resolve(
        self, name: str, start: str, *, field: str, time: str | None = None
    ) -> DimensionRef:
        """Resolve a dotted query name (``user.plan``, ``user.signed_up_at.month``, ``user``).

        ``metric_time`` is the time dimension ``time`` of ``start`` (a measure's own time),
        by default the source's ``time``.
        """
        parts = name.split(".")
        grain: Period | None = None
        part: DatePart | None = None
        if parts[0] == METRIC_TIME:
            return self._metric_time(name, parts, start, field, time)
        # 'owner.name' is a dimension when the owner has one of that name, even one named like
        # a grain ('users.month'); otherwise a last part naming a period cuts a time dimension.
        suffixed = len(parts) >= 2 and not (
            len(parts) == 2 and self.has_dimension(parts[0], parts[1])
        )
        if suffixed and (found := self.period(parts[-1])) is not None:
            grain = found
            parts = parts[:-1]
        elif suffixed and parts[-1] in PART_NAMES:
            part = DatePart(parts[-1])
            parts = parts[:-1]
        path: tuple[JoinStep, ...]
        if len(parts) == 1:
            owner = parts[0]
            if owner in self.primary:
                entity = self.sources[start].entities.get(owner)
                path = ()
                if entity is None:
                    target = self.primary[owner]
                    path = self.join_path(start, target, name=name, field=field)
                    entity = self.sources[target].entities[owner]
                if grain is not None or part is not None:
                    raise QueryError(
                        f"'{name}': an entity has no time grain or date part", field=field
                    )
                return DimensionRef(name, path, entity.source, None, entity, None)
            holders = self.key_only.get(owner)
            if holders is not None:
                return self._key_only(name, owner, holders, start, field, grain or part)
            raise QueryError(self._unknown_name(name, grain, part, field), field=field)
        if len(parts) == 3:
            raise suffix_error(name, parts[2], field, self.period_names)
        if len(parts) != 2:
            raise QueryError(
                f"'{name}' has too many parts; write entity.dimension[.grain]", field=field
            )
        owner, dim_name = parts
        if owner in self.primary:
            target = self._entity_source(name, owner, dim_name, field)
        elif owner in self.sources:
            target = owner
        elif owner in self.key_only:
            raise QueryError(
                f"'{name}': entity '{owner}' has no primary source (a table with one row per "
                f"{owner}), so it has no dimensions; group by '{owner}' itself (its key), or "
                f"give it a primary source with its dimensions",
                field=field,
            )
        else:
            raise QueryError(
                f"unknown entity or source '{owner}' in '{name}'."
                + did_you_mean(owner, [*self.primary, *self.sources]),
                field=field,
            )
        dimension = self.sources[target].dimensions.get(dim_name)
        if dimension is None:
            known = sorted(
                {d for s in self.primaries(owner) or (target,) for d in self.sources[s].dimensions}
            )
            raise QueryError(
                f"'{owner}' has no dimension '{dim_name}'."
                + did_you_mean(dim_name, known)
                + f" Its dimensions: {', '.join(known)}",
                field=field,
            )
        if (grain is not None or part is not None) and dimension.type is not DimensionType.TIME:
            raise QueryError(
                f"'{name}': only time dimensions take a grain or date part; "
                f"'{owner}.{dim_name}' is {dimension.type.value}, group by it as it is",
                field=field,
            )
        if part is not None:
            check_part(name, part, dimension, field)
        elif dimension.type is DimensionType.TIME:
            grain = check_grain(name, grain or Grain.DAY, dimension, field)
        if self.sources[target].is_history and target != start:
            path = self._history_path(name, start, target, field, time)
        elif owner in self.primary and owner in self.sources[start].entities and target != start:
            path = (JoinStep(start, target, owner),)
        else:
            path = self.join_path(start, target, name=name, field=field)
        return DimensionRef(name, path, target, dimension, None, grain, part)

    def _metric_time(
        self, name: str, parts: list[str], start: str, field: str, time: str | None
    ) -> DimensionRef:
        known = (*GRAIN_NAMES, *PART_NAMES, *self.period_names)
        if len(parts) > 2 or (len(parts) == 2 and parts[1] not in known):
            raise suffix_error(name, parts[-1], field, self.period_names)
        source = self.sources[start]
        time = time or source.time
        if time is None:
            raise QueryError(
                f"'{name}': source '{start}' has no time dimension, so its metrics have no "
                f"metric_time; set 'time:' on source '{start}' (or on its measures) or drop "
                "metric_time",
                field=field,
            )
        dimension = source.dimensions[time]
        if len(parts) == 2 and parts[1] in PART_NAMES:
            part = check_part(name, DatePart(parts[1]), dimension, field)
            return DimensionRef(name, (), start, dimension, None, None, part)
        grain = self.period(parts[1]) if len(parts) == 2 else Grain.DAY
        assert grain is not None
        grain = check_grain(name, grain, dimension, field)
        return DimensionRef(name, (), start, dimension, None, grain)

    @cached_property
    def key_only(self) -> dict[str, tuple[str, ...]]:
        """Entities without a primary source (a guest id held only by facts): each with the
        sources that hold its key. Such an entity is grouped by its key, read from each scan's
        own source; nothing joins through it."""
        found: dict[str, list[str]] = {}
        for source in self.sources.values():
            for name in source.entities:
                if name not in self.primary:
                    found.setdefault(name, []).append(source.name)
        return {name: tuple(holders) for name, holders in found.items()}

    def _history_path(
        self, name: str, start: str, history: str, field: str, time: str | None
    ) -> tuple[JoinStep, ...]:
        """The one hop from ``start`` to the history source ``history`` through an entity
        both hold, read as of ``start``'s time."""
        shared = [e for e in self.sources[history].entities if e in self.sources[start].entities]
        if len(shared) != 1:
            held = ", ".join(self.sources[history].entities) or "none"
            raise QueryError(
                f"'{name}' comes from history source '{history}', read as of each row's time "
                f"through an entity that '{start}' holds itself; "
                + (
                    f"'{start}' holds none of its entities ({held}): group by it from metrics "
                    "of a source that does"
                    if not shared
                    else f"'{start}' shares several ({', '.join(shared)}): give '{history}' one"
                ),
                field=field,
            )
        if (time or self.sources[start].time) is None:
            raise QueryError(
                f"'{name}' comes from history source '{history}', read as of each row's time, "
                f"and source '{start}' has no time; set its 'time:' or group by the current "
                "value instead",
                field=field,
            )
        return (JoinStep(start, history, shared[0]),)

    def _entity_source(self, name: str, entity: str, dimension: str, field: str) -> str:
        """The primary source of ``entity`` holding ``dimension``: the only one that does, or
        the first when none does (its error lists its dimensions)."""
        holders = [s for s in self.primaries(entity) if dimension in self.sources[s].dimensions]
        if len(holders) > 1:
            named = " or ".join(f"'{s}.{dimension}'" for s in holders)
            raise QueryError(
                f"'{name}' is ambiguous: entity '{entity}' has a dimension '{dimension}' in "
                f"{', '.join(holders)}, each a source with one row per {entity}; name the source: "
                f"{named}",
                field=field,
            )
        return holders[0] if holders else self.primary[entity]

    def has_dimension(self, owner: str, dimension: str) -> bool:
        """Whether ``owner`` (an entity with a primary source, or a source) has a dimension
        called ``dimension``."""
        sources = self.primaries(owner) or (owner,)
        return any(s in self.sources and dimension in self.sources[s].dimensions for s in sources)

    def _key_only(
        self,
        name: str,
        entity: str,
        holders: tuple[str, ...],
        start: str,
        field: str,
        suffix: Period | DatePart | None,
    ) -> DimensionRef:
        if suffix is not None:
            raise QueryError(f"'{name}': an entity has no time grain or date part", field=field)
        found = self.sources[start].entities.get(entity)
        if found is None:
            raise QueryError(
                f"'{name}': entity '{entity}' has no primary source, so only the sources that "
                f"hold its key can be grouped by it ({', '.join(holders)}), and '{start}' does "
                f"not; ask for metrics of those sources, or give '{entity}' a primary source",
                field=field,
            )
        return DimensionRef(name, (), start, None, found, None)

    def query_names(self) -> list[str]:
        """Every name a query may group by, for suggestions and the catalogue."""
        names = [METRIC_TIME, *self.primary, *self.key_only]
        for entity in self.primary:
            for owner in self.primaries(entity):
                names.extend(f"{entity}.{d}" for d in self.sources[owner].dimensions)
        names = list(dict.fromkeys(names))
        for source in self.sources.values():
            names.extend(f"{source.name}.{d}" for d in source.dimensions)
        return names

    def _unknown_name(
        self, name: str, grain: Period | None, part: DatePart | None, field: str
    ) -> str:
        """What to say about a one-part name that is no entity: a grain or date part alone
        is ``metric_time``'s, a metric is not a dimension, anything else gets an example of
        the project's own names."""
        if name in GRAIN_NAMES or name in PART_NAMES or name in self.period_names:
            return (
                f"unknown name '{name}'. Write 'metric_time.{name}' for each metric's own time "
                f"by {name}, or {self.time_example(name)} for another time dimension"
            )
        metric = self.metrics.get(name)
        if metric is not None:
            if field in ("where", "filter") or field.endswith(".filter"):
                return f"'{name}' is a metric, not a dimension; {self._per_entity(metric)}"
            return (
                f"'{name}' is a metric, not a dimension; list it among the metrics to compute, "
                "and group by dimensions"
            )
        examples = [n for n in self.query_names() if "." in n and n.split(".")[0] != METRIC_TIME]
        example = f", e.g. '{examples[0]}'" if examples else ""
        entity = next(iter(self.primary), None)
        also = f", or an entity name such as '{entity}'" if entity else ""
        return (
            f"unknown name '{name}'. Write 'entity.dimension' or 'source.dimension'"
            f"{example}{also}." + self._closest(name)
        )

    def time_example(self, suffix: str = "month", near: Sequence[str] = ()) -> str:
        """A time dimension of this project cut by ``suffix``, quoted, for a message: one of an
        entity or source that the names ``near`` start with, else an entity's, else a source's;
        a pattern when the project has none.

        >>> import metrics_layer as ml
        >>> graph = ml.load("definitions").graph
        >>> graph.time_example("week"), graph.time_example(near=["user.country"])
        ("'event.occurred_at.week'", "'user.signed_up_at.month'")
        """
        names = [
            (owner, dimension.name)
            for owner, sources in (
                *((e, self.primaries(e)) for e in self.primary),
                *((s, (s,)) for s in self.sources),
            )
            for source in sources
            for dimension in self.sources[source].dimensions.values()
            if dimension.type is DimensionType.TIME
        ]
        if not names:
            return f"'entity.time_dimension.{suffix}'"
        owners = {name.split(".")[0] for name in near}
        owner, dimension = next((n for n in names if n[0] in owners), names[0])
        return f"'{owner}.{dimension}.{suffix}'"

    def _closest(self, name: str) -> str:
        """`` Did you mean 'x'?`` for a query name close to ``name``, or to its last part (a
        dimension's own name written without its entity)."""
        names = self.query_names()
        found = did_you_mean(name, names)
        if found:
            return found
        by_last: dict[str, str] = {}
        for known in names:
            by_last.setdefault(known.rsplit(".", 1)[-1], known)
        close = get_close_matches(name, list(by_last), n=1, cutoff=0.6)
        return f" Did you mean '{by_last[close[0]]}'?" if close else ""

    def _per_entity(self, metric: Metric) -> str:
        """How to filter by a metric's value: per entity of its source (``user.orders >= 3``)."""
        measure = self.measures.get(metric.measure or "")
        source = self.sources.get(measure.source) if measure is not None else None
        held = sorted(
            (source.entities.values() if source is not None else ()), key=lambda e: e.primary
        )
        entities = [e.name for e in held if len(e.keys) == 1 and e.name in self.primary]
        if not entities:
            return (
                "a filter keeps rows before they are aggregated, so it names dimensions: "
                "filter on dimensions of its source instead"
            )
        return (
            "a filter keeps rows before they are aggregated: to keep the rows of entities by "
            f"the metric's value, write '{entities[0]}.{metric.name}' (the metric per "
            f'{entities[0]}), e.g. "{entities[0]}.{metric.name} >= 3"'
        )

    @property
    def fingerprints(self) -> Fingerprints:
        """The fingerprints of this graph's metrics and measures (``graph/fingerprint.py``),
        each computed once for every check that compares them.

        The graph keeps what was computed (``fingerprints_computed``), not an object that
        points back at it: a graph no longer used is then freed at once by reference
        counting, not left, whole, to the cyclic garbage collector (0.2 to 0.4 s for a
        10,000-metric project)."""
        from metrics_layer.graph.fingerprint import Fingerprints

        return Fingerprints(self, self.fingerprints_computed)

    @cached_property
    def fingerprints_computed(self) -> Computed:
        """The fingerprints computed so far (``fingerprints``)."""
        from metrics_layer.graph.fingerprint import Computed

        return Computed()

    @cached_property
    def current(self) -> dict[str, Metric]:
        """The current version of every metric (``metrics`` also holds kept ones, ``m@1``)."""
        return {k: m for k, m in self.metrics.items() if m.pinned_of is None}

    @cached_property
    def derived_sources(self) -> dict[str, Metric]:
        """The sources of rows conversion, retention and churn metrics derive, each with its
        metric (a source is named like its metric, ``m__v1`` for a kept version ``m@1``)."""
        return {m.sql_name: m for m in self.metrics.values() if m.kind.entity_level}

    def versions_of(self, name: str) -> tuple[int, ...]:
        """Every version of metric ``name`` that can be queried, oldest first."""
        kept = [m.version for m in self.metrics.values() if m.pinned_of == name]
        found = self.metrics.get(name)
        return tuple(sorted([*kept, *([found.version] if found is not None else [])]))

    def metric(self, name: str, *, field: str = "metrics") -> Metric:
        """The metric ``name``, or version N of one (``name@N``; the current version's number
        is the metric itself)."""
        found = self.metrics.get(name)
        if found is not None:
            return found
        base, _, version = name.partition("@")
        current = self.current.get(base)
        if current is None:
            raise QueryError(
                f"unknown metric '{base or name}'.{did_you_mean(base, self.current)} "
                "List metrics with `metrics-layer list`",
                field=field,
            )
        if not _VERSION.fullmatch(version):
            raise QueryError(
                f"{quote(name)}: write the version after '@' as a number from 1 to "
                f"999999999 in ASCII digits, e.g. '{base}@{current.version}'",
                field=field,
            )
        if int(version) == current.version:
            return current
        versions = ", ".join(str(v) for v in self.versions_of(base))
        raise QueryError(
            f"metric '{base}' has no version {version}; its versions are {versions} (the "
            f"current one is {current.version}). Ask for one of them, or for '{base}'",
            field=field,
        )


def _describe(path: tuple[JoinStep, ...]) -> str:
    return " -> ".join([path[0].left, *(f"{s.right} (via {s.entity})" for s in path)])
