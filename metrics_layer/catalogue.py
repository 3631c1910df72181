"""The catalogue as JSON-safe data: every metric, dimension and source of a graph.

What ``SemanticLayer.catalogue()`` and ``describe()`` return, what ``metrics-layer list/show
--format json`` print, and the payload of a catalogue service: only ``str``, ``int``, ``float``,
``bool``, ``None``, lists and dicts (dates as ISO text, SQL fragments as SQL text), so
``json.dumps`` needs no ``default=``. Every key is always present (``None`` or ``[]`` when it
does not apply), so a client never tests for one.

A metric's ``dimensions`` are exactly the names a query of that metric can group by
(``planner/dimensions.py``); its ``definition`` says what it computes in the terms of its type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, assert_never

from sqlglot import exp

from metrics_layer.graph.graph import METRIC_TIME, Graph
from metrics_layer.graph.model import Dimension, Measure, Metric, MetricKind, MetricRef
from metrics_layer.planner.dimensions import ValidName, ValidNames, ValidNamesFinder, declared

__all__ = ["JSON", "Catalogue"]

# A JSON object: str keys; values str, int, float, bool, None, lists and JSON objects.
JSON = dict[str, Any]


@dataclass
class Catalogue:
    """The catalogue of one graph; ``fingerprint`` gives a metric's fingerprint by name.

    >>> import metrics_layer as ml
    >>> from metrics_layer.graph.fingerprint import Fingerprints
    >>> graph = ml.load("definitions").graph
    >>> signups = Catalogue(graph, Fingerprints(graph).metric).metric("signups")
    >>> signups["definition"]["measure"]["name"], signups["definition"]["measure"]["agg"]
    ('users.signups', 'count')
    """

    graph: Graph
    fingerprint: Callable[[str], str]
    _finder: ValidNamesFinder = field(init=False)
    _valid: dict[str, ValidNames] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._finder = ValidNamesFinder(self.graph)

    def whole(self) -> JSON:
        """``{"project", "metrics", "dimensions", "sources"}``, each list sorted by name."""
        return {
            "project": self.graph.settings.name,
            "metrics": [self.metric(name) for name in sorted(self.graph.current)],
            "dimensions": self.dimensions(),
            "sources": [self.source(name) for name in sorted(self.graph.sources)],
        }

    def valid(self, name: str) -> ValidNames:
        """The names a query of metric ``name`` can group by."""
        found = self._valid.get(name)
        if found is None:
            found = self._valid[name] = self._finder.find(self.graph.metrics[name])
        return found

    def metric(self, name: str) -> JSON:
        metric = self.graph.metrics[name]
        place = self.graph.places.get(name)
        valid = self.valid(name)
        return {
            "name": metric.name,
            "label": metric.label,
            "description": metric.description,
            "format": None if metric.format is None else metric.format.as_json(),
            "owner": metric.owner,
            "status": metric.status.value,
            "replaced_by": metric.replaced_by,
            "sunset": None if metric.sunset is None else metric.sunset.isoformat(),
            "type": metric.kind.value,
            "version": metric.version,
            "versions": list(self.graph.versions_of(metric.current_name)),
            "fingerprint": self.fingerprint(name),
            "tags": list(metric.tags),
            "synonyms": list(metric.synonyms),
            "changelog": [
                {"version": version, "date": date.isoformat(), "change": change}
                for version, date, change in metric.changelog
            ],
            "defined_in": None if place is None else _place(place[0], place[1]),
            "definition": self.definition(metric),
            "dimensions": [self._valid_name(entry, valid) for entry in valid.names],
            "required_dimensions": list(valid.required),
        }

    def definition(self, metric: Metric) -> JSON:
        """What ``metric`` computes, in the terms of its type."""
        out: JSON = {}
        kind = metric.kind
        if kind is MetricKind.SIMPLE:
            out["measure"] = self._measure(metric.measure)
            out["per"] = None if metric.per is None else metric.per.value
            out["rollup"] = _rollup(metric)
        elif kind is MetricKind.ROLLING or kind is MetricKind.CUMULATIVE:
            out["measure"] = self._measure(metric.measure)
            if kind is MetricKind.ROLLING:
                out["window"] = None if metric.window is None else metric.window.text
            else:
                to_date = metric.grain_to_date
                out["grain_to_date"] = None if to_date is None else to_date.value
            out["rollup"] = _rollup(metric)
        elif kind is MetricKind.RATIO:
            numerator, denominator = metric.inputs
            out["numerator"] = self._input(numerator)
            out["denominator"] = self._input(denominator)
        elif kind is MetricKind.DERIVED:
            assert metric.expr is not None
            out["expr"] = metric.expr.sql()
            out["inputs"] = [self._input(item) for item in metric.inputs]
        elif (
            kind is MetricKind.CONVERSION
            or kind is MetricKind.RETENTION
            or kind is MetricKind.CHURN
        ):
            source = self.graph.sources[metric.name]
            out["source"] = source.name
            out["entity"] = next(iter(source.entities))
            if metric.measure is not None:
                out["measure"] = self._measure(metric.measure)
            else:
                numerator, denominator = metric.inputs
                out["numerator"] = self._input(numerator)
                out["denominator"] = self._input(denominator)
            if kind is MetricKind.CONVERSION:
                out["window"] = None if metric.window is None else metric.window.text
            elif kind is MetricKind.RETENTION:
                out["cohort_table"] = metric.cohort_table
                out["cohort_period"] = metric.cohort_period
            else:
                out["period"] = None if metric.period is None else metric.period.value
        else:
            assert_never(kind)
        out["filter"] = None if metric.filter is None else metric.filter.sql()
        out["fill_null"] = metric.fill_null
        out["fill_periods"] = metric.fill_periods
        return out

    def dimensions(self) -> list[JSON]:
        """Every name of ``Graph.query_names()`` with the metrics it is valid for."""
        metrics = sorted(self.graph.current)
        valid_for: dict[str, list[str]] = {}
        for name in metrics:
            for entry in self.valid(name).names:
                valid_for.setdefault(entry.name, []).append(name)
        out = []
        for name in self.graph.query_names():
            described = self._described(name)
            described["metrics"] = valid_for.get(name, [])
            out.append(described)
        return out

    def source(self, name: str) -> JSON:
        source = self.graph.sources[name]
        return {
            "name": source.name,
            "description": source.description,
            "time": source.time,
            "entities": sorted(source.entities),
            "dimensions": sorted(source.dimensions),
            "measures": [self._measure(m.ref) for m in source.measures.values()],
            # Conversion, retention and churn metrics read rows derived for them, in a source
            # named like the metric.
            "derived_for_metric": name in self.graph.derived_sources,
        }

    # -- parts -----------------------------------------------------------------------------

    def _measure(self, ref: str | None) -> JSON:
        assert ref is not None
        measure: Measure = self.graph.measures[ref]
        return {
            "name": measure.ref,
            "agg": measure.agg.value,
            "expr": None if measure.expr is None else _own_terms(measure.expr, measure.source),
            "percentile": measure.percentile,
            "semi_additive": None if measure.semi_additive is None else measure.semi_additive.value,
            "time": None if measure.time is None else f"{measure.source}.{measure.time}",
            "description": measure.description,
        }

    def _input(self, item: MetricRef) -> JSON:
        return {
            "name": item.name,
            "measure": None if item.measure is None else self._measure(item.measure),
            "alias": item.alias,
            "offset": None if item.offset is None else item.offset.text,
            "offset_to_grain": None if item.to_grain is None else item.to_grain.value,
        }

    def _valid_name(self, entry: ValidName, valid: ValidNames) -> JSON:
        out = self._described(entry.name, valid.times)
        if out["type"] == "time":
            out["grains"] = list(entry.grains)
            out["parts"] = list(entry.parts)
        return out

    def _described(self, name: str, times: tuple[str, ...] = ()) -> JSON:
        """Name, type, label, description and source of a query name."""
        if name == METRIC_TIME:
            text = "Each metric's own time: the time dimension of its measures."
            if times:
                text = f"The metric's time: {', '.join(times)}."
            return {
                "name": name,
                "type": "time",
                "label": "Metric time",
                "description": text,
                "source": None,
            }
        found = declared(self.graph, name)
        assert found is not None, name
        if isinstance(found, Dimension):
            return {
                "name": name,
                "type": found.type.value,
                "label": found.label,
                "description": found.description,
                "source": found.source,
            }
        return {
            "name": name,
            "type": "entity",
            "label": None,
            "description": found.description,
            "source": found.source if found.primary else None,
        }


def _own_terms(expression: exp.Expr, source: str) -> str:
    """SQL of a source's expression as written in the source: its own columns unqualified.

    >>> from sqlglot import parse_one
    >>> _own_terms(parse_one("events.user_id + other.x"), "events")
    'user_id + other.x'
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.table == source:
            return exp.column(node.name, quoted=node.this.quoted)
        return node

    return expression.transform(rule).sql()


def _place(file: str, line: int | None) -> str:
    """>>> _place("metrics/growth.yml", 12), _place("metrics/growth.yml", None)
    ('metrics/growth.yml:12', 'metrics/growth.yml')
    """
    return file if line is None else f"{file}:{line}"


def _rollup(metric: Metric) -> str | None:
    """How a period coarser than ``per`` (or than a window's day) reads its days: the
    metric's ``rollup``, else the default (average for ``per``, last for windows)."""
    if metric.rollup is not None:
        return metric.rollup.value
    if metric.kind.windowed:
        return "last"
    return None if metric.per is None else "average"
