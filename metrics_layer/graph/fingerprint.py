"""Fingerprints: a hash of what a metric computes, blind to how its definition is written.

A metric's fingerprint hashes its **canonical meaning**: its kind and options, its filter, and,
recursively, everything it reads: each measure's aggregation, expression and time dimension, the
relation of each source (its table or SQL), the dimensions a filter names with the join path to
them, the fingerprints of input metrics with their offsets, and the project settings that decide
what a period is (time zone, week start, fiscal year start; the calendar table when the metric
uses one of its periods).

A conversion, retention or churn metric is hashed from its definition (``Metric.definition``):
each event's source relation, time dimension and filter (over the dimensions' expressions), the
entity's key in each event's source, the constant dimensions, the window, ``after`` or
``cohort_periods``, ``on_or_after``, the churn period and measure, the calculation. The rows
the graph derives for it (``entity_metrics.py``) are generated SQL and are not hashed, so a
release that writes them another way changes no fingerprint; the derived source is known by
that definition too.

Expressions are compared as parsed trees, not as text, so whitespace, comments, keyword case and
redundant parentheses do not count; ``a AND b`` equals ``b AND a`` (also ``OR``, ``=``, ``<>``,
``+``, ``*`` and the values of ``IN``); names that only label things (metric, source and input
aliases, labels, descriptions, owners, tags, status, YAML layout and key order) do not count.
A source is known by its relation rather than its name, so renaming a source or a metric leaves
the fingerprints of what reads it unchanged.

Fingerprints are computed from the definitions as written, never from generated SQL: the tables
a target renames (docs/definitions.md, targets) are not part of them, so CI and every
environment agree.
``FORMAT`` names this canonical form; a release that changes it changes ``FORMAT``, and the
lockfile comparison then asks for a new lock instead of reporting every metric as changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sqlglot import exp

from metrics_layer.errors import QueryError
from metrics_layer.graph.build import build_graph
from metrics_layer.graph.graph import METRIC_TIME, DimensionRef, Graph
from metrics_layer.graph.model import (
    CalendarPeriod,
    Event,
    Measure,
    Metric,
    MetricKind,
    MetricRef,
    Offset,
    Period,
    Source,
)
from metrics_layer.graph.targets import Target
from metrics_layer.spec.project import ProjectFiles

__all__ = ["FORMAT", "Computed", "Fingerprints", "as_written", "canonical_tree", "untargeted"]

# Replaces a column by a text of its own, or keeps it (None).
ColumnRule = Callable[[exp.Column], "str | None"]

# 2: conversion, retention and churn metrics hashed from their definitions, not their rows.
FORMAT = 2
# Hex digits kept of the SHA-256: 64 bits, collision-free for any project in practice, short
# enough to read in a lockfile and a result's metadata.
_DIGITS = 16

# Operators whose two operands may be swapped without changing the result.
_SWAPPABLE = (exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.NullSafeNEQ, exp.Add, exp.Mul)


def canonical_tree(
    node: exp.Expr,
    names: Mapping[str, str] | None = None,
    column: ColumnRule | None = None,
) -> str:
    """A parsed SQL expression as a canonical text: its tree, not its spelling.

    ``names`` renames identifiers (sources known by their relation); ``column`` may replace a
    column by a text of its own (a dimension known by what it computes).

    >>> from sqlglot import parse_one
    >>> a = canonical_tree(parse_one("country = 'DE' AND  NOT is_test -- real users"))
    >>> a == canonical_tree(parse_one("(NOT IS_TEST) and 'DE' = Country"))
    True
    >>> canonical_tree(parse_one("(a + b) * c")) == canonical_tree(parse_one("a + b * c"))
    False
    >>> canonical_tree(parse_one("x IN ('b', 'a')")) == canonical_tree(parse_one("x IN ('a', 'b')"))
    True
    >>> canonical_tree(parse_one("x = 'de'")) == canonical_tree(parse_one("x = 'DE'"))
    False
    """
    return _text(node, names or {}, column)


def _text(node: object, names: Mapping[str, str], column: ColumnRule | None) -> str:
    if isinstance(node, list):
        return "[" + ",".join(_text(item, names, column) for item in node) + "]"
    if not isinstance(node, exp.Expr):
        return json.dumps(node, default=str)
    if isinstance(node, exp.Paren):
        return _text(node.this, names, column)
    if isinstance(node, exp.Column) and column is not None:
        replaced = column(node)
        if replaced is not None:
            return replaced
    if isinstance(node, exp.Table) and names:
        # A table's own name is what the database reads: never renamed.
        named = ("catalog", "db", "this")
        parts = [f"{k}={_text(node.args.get(k), {}, column)}" for k in named]
        parts += [
            f"{k}={_text(v, names, column)}"
            for k, v in sorted(node.args.items())
            if k not in named and v is not None and v is not False and v != []
        ]
        return f"(table {' '.join(parts)})"
    if isinstance(node, exp.Identifier):
        text = node.name if node.quoted else node.name.lower()
        text = names.get(node.name, text)
        return f"(id {json.dumps(text)}{' q' if node.quoted else ''})"
    if isinstance(node, exp.Literal):
        return f"(lit {'s' if node.is_string else 'n'} {json.dumps(node.name)})"
    if isinstance(node, (exp.And, exp.Or)):
        parts = sorted(_text(part, names, column) for part in node.flatten())
        return f"({node.key} {' '.join(parts)})"
    if isinstance(node, _SWAPPABLE):
        pair = sorted((_text(node.left, names, column), _text(node.right, names, column)))
        return f"({node.key} {' '.join(pair)})"
    args = []
    for key in sorted(node.args):
        value = node.args[key]
        if value is None or value is False or value == []:
            continue
        if isinstance(node, exp.In) and key == "expressions":
            args.append(f"{key}=[{','.join(sorted(_text(v, names, column) for v in value))}]")
            continue
        args.append(f"{key}={_text(value, names, column)}")
    return f"({node.key} {' '.join(args)})"


def _hash(payload: object) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_DIGITS]


@dataclass
class Computed:
    """The fingerprints of one graph computed so far, by what they are of. ``Graph`` keeps
    them, with no reference back to itself (``Graph.fingerprints``)."""

    metrics: dict[str, str] = field(default_factory=dict)
    measures: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    # A filter's dotted name seen from the sources it applies to: metrics share most of them.
    columns: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = field(default_factory=dict)


@dataclass
class Fingerprints:
    """The fingerprints of one graph's metrics and measures, computed once each (for as long
    as ``computed`` is kept).

    >>> import metrics_layer as ml
    >>> prints = Fingerprints(ml.load("definitions").graph)
    >>> len(prints.metric("signups"))
    16
    """

    graph: Graph
    computed: Computed = field(default_factory=Computed)

    def all(self) -> dict[str, str]:
        """Every metric's fingerprint, by name (current versions; see ``kept``)."""
        return {name: self.metric(name) for name in sorted(self.graph.current)}

    def kept(self) -> dict[str, dict[int, str]]:
        """The fingerprints of the earlier versions each metric keeps (``versions:``), by
        metric and version; a metric keeping none is left out."""
        found: dict[str, dict[int, str]] = {}
        for name in sorted(self.graph.metrics):
            metric = self.graph.metrics[name]
            if metric.pinned_of is not None:
                found.setdefault(metric.pinned_of, {})[metric.version] = self.metric(name)
        return {name: dict(sorted(versions.items())) for name, versions in found.items()}

    def metric(self, name: str) -> str:
        found = self.computed.metrics.get(name)
        if found is None:
            found = self.computed.metrics[name] = _hash(self.meaning(self.graph.metrics[name]))
        return found

    def measure(self, ref: str) -> str:
        """The fingerprint of measure ``source.name``."""
        found = self.computed.measures.get(ref)
        if found is None:
            found = self.computed.measures[ref] = _hash(self._measure(self.graph.measures[ref]))
        return found

    def meaning(self, metric: Metric) -> dict[str, object]:
        """What ``metric``'s fingerprint hashes, as JSON-safe data (for tests and diffs)."""
        settings = self.graph.settings
        meaning: dict[str, object] = {
            "format": FORMAT,
            "kind": metric.kind.value,
            "periods": [settings.time_zone, settings.week_start.value, settings.fiscal_year_start],
        }
        if metric.definition is not None:
            # Its measure (or numerator and denominator) counts the rows derived from the
            # definition, as its calculation says: the definition is what they count.
            meaning.update(self._rows(metric))
            meaning["calculation"] = metric.definition.calculation
        else:
            if metric.measure is not None:
                meaning["measure"] = self.measure(metric.measure)
            if metric.inputs:
                meaning["inputs"] = [self._input(item) for item in metric.inputs]
        if metric.expr is not None:
            tokens = {item.column: self._input(item) for item in metric.inputs}
            meaning["expr"] = canonical_tree(
                metric.expr, column=lambda c: _derived_input(c, tokens, self)
            )
        if metric.filter is not None:
            sources = tuple(sorted(self._leaf_sources(metric)))
            meaning["filter"] = canonical_tree(
                metric.filter, column=lambda c: self._filter_column(c, sources)
            )
        options = {
            "fill_null": metric.fill_null,
            "per": metric.per and metric.per.value,
            "rollup": metric.rollup and metric.rollup.value,
            "window": _offset(metric.window),
            "grain_to_date": self._period(metric.grain_to_date),
            "fill_periods": metric.fill_periods or None,
            "period": metric.period and metric.period.value,
            "cohort_table": metric.cohort_table or None,
        }
        meaning.update({key: value for key, value in options.items() if value is not None})
        return meaning

    def source(self, name: str) -> str:
        """A source's identity: its relation (table or SQL), without the name it is known by;
        for the rows a conversion, retention or churn metric derives, that metric's
        definition of them."""
        found = self.computed.sources.get(name)
        if found is None:
            owner = self.graph.derived_sources.get(name)
            parts: list[object]
            if owner is not None:
                settings = self.graph.settings
                parts = [
                    "derived",
                    self._rows(owner),
                    [settings.time_zone, settings.week_start.value, settings.fiscal_year_start],
                ]
            else:
                source = self.graph.sources[name]
                relation = source.relation.copy()
                relation.set("alias", None)
                parts = [canonical_tree(relation)]
                for edge in (source.valid_from, source.valid_to):
                    parts.append(edge and self._own(edge, name))
            found = self.computed.sources[name] = _hash(parts)
        return found

    def _rows(self, metric: Metric) -> dict[str, object]:
        """What decides the rows a conversion, retention or churn metric derives, by the
        field of its definition: each event, the entity (its key in each event's source), the
        constant dimensions (their expression in each), the retention span."""
        definition = metric.definition
        assert definition is not None  # every such metric has one (graph/metrics.py)
        sources = [
            self.graph.sources[self.graph.measures[event.measure].source]
            for _, event in definition.events
        ]
        # A churn metric compares its activity measure's value between periods.
        valued = metric.kind is MetricKind.CHURN
        rows: dict[str, object] = {
            field: self._event(event, valued) for field, event in definition.events
        }
        rows["entity"] = [
            [self._own(key, source.name) for key in source.entities[definition.entity].keys]
            for source in sources
        ]
        if definition.constant:
            rows["constant"] = [
                [self._own(source.dimensions[name].expr, source.name) for source in sources]
                for name in definition.constant
            ]
        spans = {"after": definition.after, "cohort_periods": definition.cohort_periods}
        rows.update({key: _offset(span) for key, span in spans.items() if span is not None})
        if definition.on_or_after:
            rows["on_or_after"] = True
        return rows

    def _event(self, event: Event, valued: bool) -> list[object]:
        """An event's rows: its source, time (its expression and grain, which decides whether
        the day is taken in the project's time zone) and filter; with ``valued``, also what
        its measure adds up."""
        measure = self.graph.measures[event.measure]
        source = self.graph.sources[measure.source]
        assert measure.time is not None  # an event has a time (entity_metrics checks it)
        time = source.dimensions[measure.time]
        condition = None
        if event.filter is not None:
            condition = canonical_tree(event.filter, column=lambda c: self._event_column(c, source))
        parts: list[object] = [
            self.source(source.name),
            [time.grain and time.grain.value, self._own(time.expr, source.name)],
            condition,
        ]
        if valued:
            parts += [
                measure.agg.value,
                measure.expr and self._own(measure.expr, source.name),
                measure.semi_additive and measure.semi_additive.value,
            ]
        return parts

    def _event_column(self, column: exp.Column, source: Source) -> str:
        """A dimension an event's filter names (of the event's own source, qualified or not)
        as its expression."""
        dimension = source.dimensions.get(column.name)
        if dimension is None:
            return f"(unknown {json.dumps(column.sql())})"
        return f"(dim {self._own(dimension.expr, source.name)})"

    def _own(self, expression: exp.Expr, source: str) -> str:
        """An expression over ``source``'s columns, its qualifier (the source's name) dropped."""
        return canonical_tree(expression, {source: "self"})

    def _measure(self, measure: Measure) -> list[object]:
        time = None
        if measure.time is not None:
            dimension = self.graph.sources[measure.source].dimensions.get(measure.time)
            time = dimension and self._own(dimension.expr, measure.source)
        return [
            self.source(measure.source),
            measure.agg.value,
            measure.expr and self._own(measure.expr, measure.source),
            measure.percentile,
            measure.semi_additive and measure.semi_additive.value,
            time,
        ]

    def _input(self, item: MetricRef) -> str:
        what = (
            f"measure:{self.measure(item.measure)}"
            if item.measure is not None
            else f"metric:{self.metric(item.name)}"
        )
        return _hash([what, _offset(item.offset), self._period(item.to_grain)])

    def _period(self, period: Period | None) -> object:
        if isinstance(period, CalendarPeriod):
            calendar = self.graph.calendar
            assert calendar is not None  # a calendar period exists only with a calendar
            return ["calendar", canonical_tree(calendar.relation), calendar.day, period.column]
        return period and period.value

    def _leaf_sources(self, metric: Metric, seen: frozenset[str] = frozenset()) -> set[str]:
        """The sources a metric's filter is applied to: those of its measures, through its
        input metrics."""
        if metric.measure is not None:
            return {metric.measure.split(".")[0]}
        found: set[str] = set()
        for item in metric.inputs:
            if item.measure is not None:
                found.add(item.measure.split(".")[0])
            elif item.name in self.graph.metrics and item.name not in seen:
                found |= self._leaf_sources(self.graph.metrics[item.name], seen | {metric.name})
        return found

    def _filter_column(self, column: exp.Column, sources: tuple[str, ...]) -> str:
        """A filter's dotted name as what it computes, seen from each source it applies to."""
        key = (tuple(part.name for part in column.parts), sources)
        found = self.computed.columns.get(key)
        if found is None:
            found = self.computed.columns[key] = self._dotted_name(list(key[0]), sources)
        return found

    def _dotted_name(self, parts: list[str], sources: Iterable[str]) -> str:
        seen = []
        for source in sources:
            names = parts
            if len(parts) == 1 and parts[0] in self.graph.sources[source].dimensions:
                names = [source, parts[0]]
            if self._metric_valued(parts):
                seen.append(f"per-{parts[0]}:{self.metric(parts[1])}")
                continue
            try:
                ref = self.graph.resolve(".".join(names), source, field="filter")
            except QueryError:
                seen.append(f"unresolved:{'.'.join(parts)}")
                continue
            seen.append(self._reference(ref, parts[0] == METRIC_TIME))
        return "(dim " + " ".join(json.dumps(s) for s in seen) + ")"

    def _metric_valued(self, parts: list[str]) -> bool:
        """``entity.metric``: a metric computed per entity (planner: metric-valued filters)."""
        graph = self.graph
        return (
            len(parts) == 2
            and (parts[0] in graph.primary or parts[0] in graph.key_only)
            and parts[1] in graph.metrics
            and not graph.has_dimension(parts[0], parts[1])
        )

    def _reference(self, ref: DimensionRef, metric_time: bool) -> str:
        steps = []
        for step in ref.path:
            left = self.graph.sources[step.left].entities[step.entity]
            right = self.graph.sources[step.right].entities[step.entity]
            steps.append(
                [
                    [self._own(key, step.left) for key in left.keys],
                    self.source(step.right),
                    [self._own(key, step.right) for key in right.keys],
                ]
            )
        target: object
        if ref.dimension is not None:
            dimension = ref.dimension
            target = [dimension.type.value, self._own(dimension.expr, dimension.source)]
        elif ref.entity is not None:
            target = ["key", [self._own(key, ref.entity.source) for key in ref.entity.keys]]
        else:
            target = ["metric_time"] if metric_time else None
        grain = self._period(ref.grain)
        return _hash([steps, target, grain, ref.part and ref.part.value])


def _derived_input(column: exp.Column, tokens: Mapping[str, str], prints: Fingerprints) -> str:
    """A name in a derived metric's expression as the input it stands for."""
    name = column.name
    if name in tokens:
        return f"(input {tokens[name]})"
    if name in prints.graph.metrics:
        return f"(input metric:{prints.metric(name)})"
    return f"(unknown {json.dumps(name)})"


def _offset(offset: Offset | None) -> object:
    if offset is None:
        return None
    unit = offset.unit
    return [offset.amount, unit.name if isinstance(unit, CalendarPeriod) else unit.value]


def untargeted(graph: Graph, project: ProjectFiles | None) -> Graph:
    """``graph`` as the definitions are written: when it was built for a target (which renames
    tables), ``project`` built again without one."""
    if graph.settings.target is not None and project is not None:
        graph, _ = build_graph(project, Target())
    return graph


def as_written(graph: Graph, project: ProjectFiles | None = None) -> dict[str, str]:
    """Every metric's fingerprint by the name a query asks for it (a kept version as
    ``name@N``), from the definitions as written: when ``graph`` was built for a target
    (which renames tables), from a graph of ``project`` built again without one, so that every
    environment reports the fingerprints CI and the lockfile know.

    >>> import metrics_layer as ml
    >>> layer = ml.load("definitions")
    >>> as_written(layer.graph)["signups"] == Fingerprints(layer.graph).metric("signups")
    True
    """
    prints = untargeted(graph, project).fingerprints
    return {name: prints.metric(name) for name in sorted(graph.metrics)}
