"""dbt semantic models and metrics (the MetricFlow spec) to this library's definitions.

``import_dbt(path, out)`` reads every ``semantic_models:`` and ``metrics:`` entry below a dbt
project, converts what has an equivalent here, writes ``metrics_layer.yml``, ``sources.yml`` and
``metrics.yml`` to ``out``, and returns what it could not convert, each with the reason and the
dbt ``file:line``. Nothing is dropped silently: the written definitions are checked with
``metrics_layer.check`` before they are kept, and an item the check refuses is taken out and
reported with the check's message, until the definitions load cleanly.

The mapping, part by part (docs/dbt.md has the table and every decision):
semantic model -> source (``model: ref('x')`` -> ``table: x``); entity -> entity (primary,
unique and natural -> ``primary: true``; foreign -> a key); dimension -> dimension (time
granularity -> ``grain``); measure -> measure (``average`` -> ``avg``, ``non_additive_dimension``
-> ``semi_additive``); metrics: simple, ratio, derived (``offset_window`` -> ``offset``),
cumulative (``window`` -> ``rolling``, else ``cumulative``) and conversion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metrics_layer.errors import UserError
from metrics_layer.importers.dbt_filters import (
    DimensionNames,
    NotConvertible,
    translate_filter,
)
from metrics_layer.importers.dbt_output import FILES, Item, Skipped, write_checked
from metrics_layer.importers.dbt_yaml import Node, read_project

__all__ = ["Imported", "Skipped", "convert", "import_dbt"]

_AGGS = {
    "sum": "sum",
    "count": "count",
    "count_distinct": "count_distinct",
    "average": "avg",
    "avg": "avg",
    "min": "min",
    "max": "max",
    "sum_boolean": "sum_boolean",
    "median": "median",
    "percentile": "percentile",
}
_PRIMARY_TYPES = ("primary", "unique", "natural")
# The fields the importer reads or knows to have no effect on numbers; any other is a note.
_COMMON = {"name", "description", "label", "config", "meta"}
_KNOWN = {
    "semantic model": _COMMON
    | {"model", "defaults", "entities", "dimensions", "measures", "primary_entity"},
    "entity": _COMMON | {"type", "expr", "role"},
    "dimension": _COMMON | {"type", "expr", "type_params", "is_partition"},
    "measure": _COMMON
    | {
        "agg",
        "expr",
        "agg_params",
        "agg_time_dimension",
        "non_additive_dimension",
        "create_metric",
    },
    "metric": _COMMON | {"type", "type_params", "filter", "time_granularity", "agg", "expr"},
}
_REF = re.compile(
    r"""^\s*ref\(\s*['"]([A-Za-z0-9_.]+)['"]\s*(?:,\s*(?:v|version)\s*=\s*[^)]*)?\)\s*$"""
)
_DURATION = re.compile(r"^\s*(\d+)\s+(day|week|month|quarter|year)s?\s*$", re.IGNORECASE)
_NAME = re.compile(r"[^a-z0-9_]+")
_WINDOW_CHOICE = {"max": "last", "min": "first"}
_PERIOD_AGG = {"first": "first", "last": "last", "average": "average"}


@dataclass(frozen=True)
class Imported:
    """The result of an import: the files written, what was skipped and what changed meaning
    slightly in the conversion (``notes``)."""

    files: tuple[Path, ...]
    skipped: tuple[Skipped, ...]
    notes: tuple[Skipped, ...]
    sources: int
    metrics: int


class _Converter:
    """One conversion: the dbt items in, the library's items and the skips out."""

    def __init__(self) -> None:
        self.skipped: list[Skipped] = []
        self.notes: list[Skipped] = []
        self.sources: list[Item] = []
        self.metrics: list[Item] = []
        self.measure_source: dict[str, str] = {}
        self.dbt_metrics: dict[str, Node] = {}
        self.created: dict[str, Node] = {}
        self.measure_names: set[str] = set()
        self.names = DimensionNames({}, {})

    def known(self, node: Node, kind: str) -> None:
        """A note for each field of ``node`` the importer does not know (a newer spec)."""
        for key in sorted(set(node) - _KNOWN[kind], key=str):
            self.notes.append(
                Skipped(
                    node.place,
                    f"{kind} '{node.get('name')}'",
                    f"the field '{key}' is not known to the importer; left out",
                )
            )

    def skip(self, node: Node, what: str, reason: str) -> None:
        self.skipped.append(Skipped(node.place, what, reason))

    def description(self, node: Node) -> str:
        """The node's description; a note when dbt's ``{{ doc() }}`` calls were removed."""
        text = str(node["description"])
        cleaned = _description(text)
        if cleaned != text.strip():
            what = f"the description of '{node.get('name')}'"
            self.notes.append(Skipped(node.place, what, "{{ doc() }} calls removed"))
        return cleaned

    # Semantic models -------------------------------------------------------------------

    def semantic_models(self, models: list[Node]) -> None:
        """Convert every semantic model, and record the dotted name of each of their
        dimensions: ``entity.dimension`` when the model's primary entity is a primary key of
        the source, else ``source.dimension`` (a history source, a ``primary_entity:``)."""
        dotted: dict[tuple[str, str], str] = {}
        source_of: dict[tuple[str, str], str] = {}
        for model in models:
            source = self.semantic_model(model)
            if source is None:
                continue
            primary = _primary_entity(model)
            if primary is None:
                continue
            by_entity = any(
                e.data["name"] == primary and e.data.get("primary")
                for e in source.children
                if e.kind == "entity"
            )
            for child in source.children:
                if child.kind == "dimension":
                    key = (primary, child.data["name"])
                    owner = primary if by_entity else source.data["name"]
                    dotted[key] = f"{owner}.{key[1]}"
                    source_of[key] = source.data["name"]
        self.names = DimensionNames(dotted, source_of)

    def semantic_model(self, model: Node) -> Item | None:
        name = model.get("name")
        self.known(model, "semantic model")
        if not isinstance(name, str):
            self.skip(model, "a semantic model", "it has no name")
            return None
        what = f"semantic model '{name}'"
        ref = _REF.match(str(model.get("model", "")))
        if ref is None:
            self.skip(model, what, f"model: {model.get('model')!r} is not ref('model_name')")
            return None
        data: dict[str, Any] = {"name": name, "table": ref.group(1)}
        if isinstance(model.get("description"), str):
            data["description"] = self.description(model)
        defaults = model.get("defaults")
        source_time = defaults.get("agg_time_dimension") if isinstance(defaults, Node) else None
        source = Item("source", data, model.place)
        for entity in _nodes(model.get("entities")):
            self.entity(source, entity)
        validity: dict[str, str] = {}
        for dimension in _nodes(model.get("dimensions")):
            self.dimension(source, dimension, validity)
        if validity:
            if set(validity) != {"valid_from", "valid_to"}:
                self.skip(model, what, "validity_params need one is_start and one is_end")
                return None
            data.update(validity)
            for child in source.children:
                if child.kind == "entity":
                    child.data.pop("primary", None)
        time_dims = {c.data["name"] for c in source.children if c.data.get("type") == "time"}
        if source_time is not None:
            if source_time in time_dims:
                data["time"] = source_time
            else:
                self.skip(
                    model,
                    f"{what}'s defaults.agg_time_dimension",
                    f"'{source_time}' is not a time dimension of it",
                )
        for measure in _nodes(model.get("measures")):
            self.measure(source, measure, time_dims)
        self.sources.append(source)
        return source

    def entity(self, source: Item, entity: Node) -> None:
        name, kind = entity.get("name"), entity.get("type")
        self.known(entity, "entity")
        if kind not in (*_PRIMARY_TYPES, "foreign"):
            self.skip(
                entity,
                f"entity '{name}'",
                f"type {kind!r} is not primary, unique, natural or foreign",
            )
            return
        data: dict[str, Any] = {"name": name, "key": entity.get("expr") or name}
        if kind in _PRIMARY_TYPES:
            data["primary"] = True
        if kind == "unique":
            self.notes.append(
                Skipped(
                    entity.place, f"entity '{name}'", "unique (may be NULL) is written as primary"
                )
            )
        source.children.append(Item("entity", data, entity.place))

    def dimension(self, source: Item, dimension: Node, validity: dict[str, str]) -> None:
        name, kind = dimension.get("name"), dimension.get("type", "categorical")
        self.known(dimension, "dimension")
        data: dict[str, Any] = {"name": name}
        if dimension.get("expr") not in (None, name):
            data["expr"] = str(dimension["expr"])
        if kind == "time":
            data["type"] = "time"
            params = dimension.get("type_params")
            params = params if isinstance(params, Node) else Node()
            grain = params.get("time_granularity", "day")
            data["grain"] = str(grain).lower()
            valid = params.get("validity_params")
            if isinstance(valid, Node):
                column = str(data.get("expr", name))
                if valid.get("is_start"):
                    validity["valid_from"] = column
                if valid.get("is_end"):
                    validity["valid_to"] = column
        elif kind != "categorical":
            self.skip(dimension, f"dimension '{name}'", f"type {kind!r} is not categorical or time")
            return
        if isinstance(dimension.get("label"), str):
            data["label"] = dimension["label"]
        if isinstance(dimension.get("description"), str):
            data["description"] = self.description(dimension)
        source.children.append(Item("dimension", data, dimension.place))

    def measure(self, source: Item, measure: Node, time_dims: set[str]) -> None:
        name, agg = measure.get("name"), str(measure.get("agg", ""))
        self.known(measure, "measure")
        what = f"measure '{name}'"
        self.measure_names.add(str(name))
        if agg not in _AGGS:
            self.skip(measure, what, f"agg {agg!r} has no equivalent")
            return
        data: dict[str, Any] = {"name": name, "agg": _AGGS[agg]}
        expr = measure.get("expr")
        expr = None if expr is None else str(expr).strip()
        if agg == "count" and expr in ("1", "*"):
            expr = None
        elif agg == "count" and expr is None:
            expr = str(name)  # MetricFlow counts the non-NULL values of the column so named
        if expr is not None and (expr != name or agg == "count"):
            data["expr"] = expr
        params = measure.get("agg_params")
        if agg == "percentile":
            if not isinstance(params, Node) or "percentile" not in params:
                self.skip(measure, what, "agg: percentile without agg_params.percentile")
                return
            if params.get("use_discrete_percentile") or params.get("use_approximate_percentile"):
                self.skip(
                    measure,
                    what,
                    "discrete and approximate percentiles have no equivalent "
                    "(only the exact, interpolated one)",
                )
                return
            data["percentile"] = params["percentile"]
        own_time = measure.get("agg_time_dimension")
        if own_time is not None:
            if own_time not in time_dims:
                self.skip(
                    measure,
                    what,
                    f"agg_time_dimension '{own_time}' is not a time dimension "
                    "of the semantic model",
                )
                return
            if own_time != source.data.get("time"):
                data["time"] = own_time
        non_additive = measure.get("non_additive_dimension")
        if isinstance(non_additive, Node):
            time = data.get("time", source.data.get("time"))
            if non_additive.get("window_groupings"):
                self.skip(
                    measure,
                    what,
                    "non_additive_dimension.window_groupings (a last value per entity) has no "
                    "equivalent; only the last day across all rows",
                )
                return
            if non_additive.get("name") != time:
                self.skip(
                    measure,
                    what,
                    f"non_additive_dimension '{non_additive.get('name')}' is not the measure's "
                    f"time ('{time}'); semi-additive measures here are cut by their own time",
                )
                return
            data["semi_additive"] = _WINDOW_CHOICE.get(
                str(non_additive.get("window_choice", "min")), "first"
            )
        if isinstance(measure.get("label"), str):
            data["label"] = measure["label"]
        if isinstance(measure.get("description"), str):
            data["description"] = self.description(measure)
        self.measure_source[str(name)] = source.data["name"]
        source.children.append(Item("measure", data, measure.place))
        if measure.get("create_metric") is True:
            params = Node({"measure": name})
            metric = Node({"name": name, "type": "simple", "type_params": params})
            metric.file = params.file = measure.file
            metric.line = params.line = measure.line
            self.created.setdefault(str(name), metric)

    # Metrics ---------------------------------------------------------------------------

    def metric(self, node: Node) -> None:
        name, kind = node.get("name"), node.get("type")
        self.known(node, "metric")
        what = f"metric '{name}'"
        params = node.get("type_params")
        params = params if isinstance(params, Node) else Node()
        data: dict[str, Any] = {"name": name, "type": kind}
        try:
            filters = _filters(node.get("filter"))
            if kind == "simple" and "agg" in node:
                raise NotConvertible(
                    "a metric with its own agg (the newer dbt spec) is not converted; "
                    "name a measure in type_params.measure"
                )
            if kind == "simple":
                measure, measure_filters, extra = self._measure(params.get("measure"))
                data["measure"] = measure
                filters += measure_filters
                data.update(extra)
            elif kind == "ratio":
                data["numerator"] = self._input(name, "numerator", params.get("numerator"))
                data["denominator"] = self._input(name, "denominator", params.get("denominator"))
            elif kind == "derived":
                self._derived(node, params, data)
            elif kind == "cumulative":
                self._cumulative(node, params, data, filters)
                filters = []
            elif kind == "conversion":
                self._conversion(params, data)
            else:
                raise NotConvertible(
                    f"type {kind!r} is not simple, ratio, derived, cumulative or conversion"
                )
            if filters:
                data["filter"] = _and(translate_filter(f, self.names) for f in filters)
        except NotConvertible as exc:
            self.skip(node, what, str(exc))
            return
        if "filter" in data and kind == "cumulative" and not data["filter"]:
            data.pop("filter")
        for key in ("label", "description"):
            if isinstance(node.get(key), str):
                data[key] = self.description(node) if key == "description" else node[key]
        meta = node.get("meta") or (node.get("config") or {}).get("meta")
        if isinstance(meta, dict) and isinstance(meta.get("owner"), str):
            data["owner"] = meta["owner"]
        self.metrics.append(Item("metric", _ordered(data), node.place))

    def _measure(self, ref: Any) -> tuple[str, list[str], dict[str, Any]]:
        """A metric's measure input: ``source.measure``, its filters and its options."""
        extra: dict[str, Any] = {}
        filters: list[str] = []
        if isinstance(ref, Node):
            name = ref.get("name")
            filters = _filters(ref.get("filter"))
            if ref.get("fill_nulls_with") is not None:
                extra["fill_null"] = ref["fill_nulls_with"]
            if ref.get("join_to_timespine"):
                extra["fill_periods"] = True
            if ref.get("alias"):
                pass  # the alias only renames the measure inside MetricFlow's SQL
        else:
            name = ref
        if not isinstance(name, str):
            raise NotConvertible("type_params.measure names no measure")
        source = self.measure_source.get(name)
        if source is None:
            if name in self.measure_names:
                raise NotConvertible(f"it uses the measure '{name}', which was not converted")
            raise NotConvertible(f"no semantic model defines the measure '{name}'")
        return f"{source}.{name}", filters, extra

    def _input(self, parent: Any, role: str, ref: Any) -> str:
        """A ratio's side or a derived input: a metric name; one with its own filter becomes a
        metric of its own (``<parent>_<role>``) when it is a simple metric."""
        if isinstance(ref, str):
            return ref
        if not isinstance(ref, Node) or not isinstance(ref.get("name"), str):
            raise NotConvertible(f"{role} names no metric")
        name = str(ref["name"])
        filters = _filters(ref.get("filter"))
        if not filters:
            return name
        base = self.dbt_metrics.get(name)
        if base is None or base.get("type") != "simple":
            raise NotConvertible(
                f"the {role} '{name}' has a filter of its own, which is converted only "
                "for simple metrics"
            )
        params = base.get("type_params") or Node()
        measure, measure_filters, extra = self._measure(params.get("measure"))
        helper = f"{parent}_{role}"
        all_filters = _filters(base.get("filter")) + measure_filters + filters
        data = {
            "name": helper,
            "type": "simple",
            "measure": measure,
            **extra,
            "filter": _and(translate_filter(f, self.names) for f in all_filters),
            "description": f"'{name}' filtered as the {role} of '{parent}'.",
        }
        self.metrics.append(Item("metric", data, ref.place))
        return helper

    def _derived(self, node: Node, params: Node, data: dict[str, Any]) -> None:
        expr = params.get("expr")
        if not isinstance(expr, str):
            raise NotConvertible("type_params.expr is missing")
        inputs = []
        for item in _nodes(params.get("metrics")):
            alias = item.get("alias")
            offset, to_grain = item.get("offset_window"), item.get("offset_to_grain")
            role = str(alias or item.get("name"))
            filtered = Node(item) if item.get("filter") else None
            if filtered is not None:
                filtered.file, filtered.line = item.file, item.line
            metric = self._input(node.get("name"), role, filtered or str(item.get("name")))
            entry: dict[str, Any] = {"metric": metric}
            if alias:
                entry["alias"] = alias
            elif metric != item.get("name"):
                entry["alias"] = item.get("name")
            if offset is not None:
                entry["offset"] = _duration(offset, "offset_window")
            if to_grain is not None:
                target = self.dbt_metrics.get(str(item.get("name")))
                if target is None or target.get("type") != "cumulative":
                    raise NotConvertible("offset_to_grain is converted only for cumulative inputs")
                entry["offset_to_grain"] = str(to_grain)
            if len(entry) > 1:  # a bare metric named in expr needs no input entry
                inputs.append(entry)
        data["expr"] = expr.strip()
        if inputs:
            data["inputs"] = inputs

    def _cumulative(
        self, node: Node, params: Node, data: dict[str, Any], filters: list[str]
    ) -> None:
        nested = params.get("cumulative_type_params")
        nested = nested if isinstance(nested, Node) else Node()
        window = nested.get("window", params.get("window"))
        to_date = nested.get("grain_to_date", params.get("grain_to_date"))
        period_agg = nested.get("period_agg", "first")
        measure, measure_filters, _extra = self._measure(params.get("measure"))
        data["measure"] = measure
        if window is not None and to_date is not None:
            raise NotConvertible("both window and grain_to_date")
        if window is not None:
            data["type"] = "rolling"
            data["window"] = _duration(window, "window")
        elif to_date is not None:
            data["grain_to_date"] = str(to_date)
        if str(period_agg) not in _PERIOD_AGG:
            raise NotConvertible(f"period_agg {period_agg!r} is not first, last or average")
        # MetricFlow shows the first day's value for a coarser period unless told otherwise;
        # this library's default is the last, so the rollup is always written.
        data["rollup"] = _PERIOD_AGG[str(period_agg)]
        all_filters = filters + measure_filters
        if all_filters:
            data["filter"] = _and(translate_filter(f, self.names) for f in all_filters)

    def _conversion(self, params: Node, data: dict[str, Any]) -> None:
        conv = params.get("conversion_type_params")
        if not isinstance(conv, Node):
            raise NotConvertible("type_params.conversion_type_params is missing")
        data["entity"] = conv.get("entity")
        for side, key in (("base", "base_measure"), ("conversion", "conversion_measure")):
            measure, filters, _extra = self._measure(conv.get(key))
            event: dict[str, Any] = {"measure": measure}
            source = measure.split(".")[0]
            if filters:
                event["filter"] = _and(
                    translate_filter(f, self.names, own_source=source) for f in filters
                )
            data[side] = event
        window = conv.get("window")
        if window is None:
            raise NotConvertible(
                "a conversion without a window (unbounded) has no equivalent; "
                "give it one in days or weeks"
            )
        number, unit = _duration(window, "window").split()
        if unit.startswith("week"):
            number, unit = str(int(number) * 7), "days"
        if not unit.startswith("day"):
            raise NotConvertible(
                f"window '{window}': conversion windows are converted in days or weeks only"
            )
        data["window"] = f"{number} {'day' if number == '1' else 'days'}"
        constant = []
        for prop in _nodes(conv.get("constant_properties")):
            if prop.get("base_property") != prop.get("conversion_property"):
                raise NotConvertible("constant_properties with different base and conversion names")
            constant.append(prop.get("base_property"))
        if constant:
            data["constant"] = constant
        calculation = conv.get("calculation", "conversion_rate")
        if calculation not in ("conversion_rate", "conversions"):
            raise NotConvertible(
                f"calculation {calculation!r} is not conversion_rate or conversions"
            )
        if calculation == "conversions":
            data["calculation"] = "conversions"


def convert(root: Path) -> tuple[list[Item], list[Item], list[Skipped], list[Skipped], str]:
    """The dbt project at ``root`` as sources and metrics, the skips and notes, and a project
    name (from ``dbt_project.yml``)."""
    if not root.exists():
        raise UserError(f"PATH: '{root}' does not exist; give the folder of a dbt project")
    converter = _Converter()
    models: list[Node] = []
    metrics: list[Node] = []
    project_name = root.resolve().name
    for file in read_project(root):
        if file.error is not None:
            converter.skipped.append(Skipped(file.name, "the file", file.error))
            continue
        data = file.data
        if data is None:
            continue
        if Path(file.name).name == "dbt_project.yml" and isinstance(data.get("name"), str):
            project_name = data["name"]
        models += _nodes(data.get("semantic_models"))
        for metric in _nodes(data.get("metrics")):
            if "calculation_method" in metric:
                converter.skip(
                    metric,
                    f"metric '{metric.get('name')}'",
                    "the legacy dbt_metrics format (calculation_method) is not converted; "
                    "MetricFlow metrics have type and type_params",
                )
            else:
                metrics.append(metric)
        for model in _nodes(data.get("models")):
            if "semantic_model" in model or "metrics" in model:
                converter.skip(
                    model,
                    f"model '{model.get('name')}'",
                    "semantic models and metrics declared on a model (the newer dbt spec) are "
                    "not converted; declare them under semantic_models: and metrics:",
                )
        for saved in _nodes(data.get("saved_queries")):
            converter.skip(
                saved,
                f"saved query '{saved.get('name')}'",
                "saved queries are queries, not definitions",
            )
    converter.semantic_models(models)
    for metric in metrics:
        first = converter.dbt_metrics.setdefault(str(metric.get("name")), metric)
        if first is not metric:
            converter.skip(
                metric,
                f"metric '{metric.get('name')}'",
                f"defined twice; the one at {first.place} is converted",
            )
    for name, metric in converter.created.items():
        converter.dbt_metrics.setdefault(name, metric)
    for metric in converter.dbt_metrics.values():
        converter.metric(metric)
    name = _NAME.sub("_", project_name.lower()).strip("_") or "dbt_project"
    if not name[0].isalpha():
        name = f"dbt_{name}"
    return converter.sources, converter.metrics, converter.skipped, converter.notes, name[:63]


def import_dbt(root: str | Path, out: str | Path, *, force: bool = False) -> Imported:
    """Convert the dbt project at ``root`` and write the definitions to ``out``.

    The definitions are checked before they are written; whatever the check refuses is taken
    out and reported. ``out`` must be empty or missing unless ``force`` (then the three files
    are replaced, and nothing else in it is touched).
    """
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise UserError(f"--out: '{target}' is a file; give a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise UserError(
            f"--out: '{target}' is not empty; give a new folder, "
            f"or --force to replace {', '.join(FILES)} in it"
        )
    sources, metrics, skipped, notes, name = convert(Path(root))
    if not sources and not metrics:
        found = "; ".join(str(s) for s in skipped[:20]) or "no semantic_models or metrics found"
        raise UserError(f"PATH: nothing was converted from '{root}': {found}")
    files, checked = write_checked(target, name, sources, metrics)
    skipped += checked.skipped
    notes += checked.notes
    return Imported(tuple(files), tuple(skipped), tuple(notes), len(sources), len(metrics))


def _nodes(value: Any) -> list[Node]:
    return [v for v in value if isinstance(v, Node)] if isinstance(value, list) else []


def _primary_entity(model: Node) -> str | None:
    for entity in _nodes(model.get("entities")):
        if entity.get("type") in _PRIMARY_TYPES:
            return str(entity.get("name"))
    primary = model.get("primary_entity")
    return primary if isinstance(primary, str) else None


def _filters(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise NotConvertible("filter is not a string or a list of strings")


def _and(parts: Iterable[str]) -> str:
    items = [p for p in parts if p]
    return items[0] if len(items) == 1 else " AND ".join(f"({p})" for p in items)


def _duration(value: Any, field_name: str) -> str:
    """``'7 days'``, ``'1 week'``: the count and the unit, as this library writes them."""
    match = _DURATION.match(str(value))
    if match is None:
        raise NotConvertible(
            f"{field_name} '{value}' is not 'N day(s)', 'week(s)', 'month(s)', "
            "'quarter(s)' or 'year(s)'"
        )
    number, unit = int(match.group(1)), match.group(2).lower()
    return f"{number} {unit}{'' if number == 1 else 's'}"


def _description(text: str) -> str:
    """A description without dbt's ``{{ doc('...') }}`` calls, which only dbt can resolve."""
    return re.sub(r"\{\{.*?\}\}", "", text, flags=re.DOTALL).strip() or "(a dbt doc block)"


_ORDER = (
    "name",
    "type",
    "label",
    "description",
    "owner",
    "measure",
    "numerator",
    "denominator",
    "expr",
    "inputs",
    "window",
    "grain_to_date",
    "entity",
    "base",
    "conversion",
    "constant",
    "calculation",
    "filter",
    "fill_null",
    "fill_periods",
    "rollup",
)


def _ordered(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in sorted(data, key=lambda k: _ORDER.index(k) if k in _ORDER else 99)}
