"""A metric's experiment unit and its value per unit, read with the library's own queries.

The unit is the entity the metric counts (a conversion's ``entity``, the entity whose key a
``count_distinct`` counts, else the one entity the measure's rows belong to). Each unit gets a
pair ``(x, y)``: the metric is ``sum(x) / sum(y)`` over any set of units. A simple metric has
``y = 1``; a ratio metric's ``x`` and ``y`` are its numerator and denominator for the unit; a
conversion or retention metric's ``x`` is 1 when the unit converted (was retained), ``y = 1``.

The values come from ``layer.query(..., by=<unit>)``: the SQL is the library's. A ratio whose
numerator or denominator is a bare measure gets them from a second layer over the same graph
and connection with two simple metrics added (the measure with the ratio's filter): nothing
else about the graph changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from metrics_layer.errors import QueryError

if TYPE_CHECKING:
    from sqlglot import exp

    from metrics_layer.api import SemanticLayer
    from metrics_layer.engine.connection import Connection
    from metrics_layer.graph.model import Measure, Metric, Offset

__all__ = ["UnitValues", "Window", "per_unit", "unit_of", "window_for"]

# The aggregations whose per-unit values add up to the metric over a set of units.
_ADDITIVE = ("count", "count_distinct", "sum", "sum_boolean")
# A unit appears in at most this many rows; more is refused rather than cut.
MAX_UNITS = 1_000_000


@dataclass(frozen=True)
class Window:
    """The days whose data a sizing or an analysis reads: ``start`` to ``end``, both included."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class UnitValues:
    """Each unit's ``(x, y)`` for one metric over one window (see the module docstring)."""

    metric: str
    unit: str
    window: Window
    values: dict[Any, tuple[float, float]]
    # True when every unit's y is 1 and x is 0 or 1: the metric is a proportion of units.
    binary: bool
    # True for a ratio of two per-unit sums (the delta method applies).
    ratio: bool


def _offset_days(offset: Offset | None) -> int:
    """Days of a conversion window or retention delay (a week is 7 days, a month 31)."""
    if offset is None:
        return 0
    per = {"day": 1, "week": 7, "month": 31, "quarter": 92, "year": 366}
    return offset.amount * per.get(offset.unit.value, 1)


def _check_kind(metric: Metric) -> None:
    """Refuse the metrics whose value is not a sum over units, naming why."""
    kind = metric.kind.value
    reason: str | None = None
    if kind in ("rolling", "cumulative"):
        reason = f"a {kind} metric counts over a moving window of days, not once per unit"
    elif kind == "derived":
        reason = "a derived metric is arithmetic over other metrics; size one of its inputs"
    elif kind == "churn":
        reason = "a churn metric compares two periods; size its activity as a retention metric"
    elif metric.cohort_table:
        reason = "a cohort table has one value per cohort period; size a single-day retention"
    elif metric.per is not None:
        reason = f"it is measured per {metric.per.value} and averaged; size the metric it averages"
    if reason is not None:
        raise QueryError(
            f"metric '{metric.name}' cannot be sized per unit: {reason}", field="metric"
        )


def _measure(layer: SemanticLayer, metric: str, ref: str) -> Measure:
    """The measure ``ref``, when its values per unit add up to its value over all units."""
    measure = layer.graph.measures[ref]
    if measure.agg.value == "count_distinct" and not _counts_key(layer, measure):
        raise QueryError(
            f"metric '{metric}' uses {ref}, a count of distinct values that are not an "
            "entity's key: its values per unit do not add up to its value over all units",
            field="metric",
        )
    if measure.agg.value not in _ADDITIVE or measure.semi_additive is not None:
        how = f"semi-additive ({measure.semi_additive.value})" if measure.semi_additive else None
        raise QueryError(
            f"metric '{metric}' uses {ref} ({how or measure.agg.value}): only count, "
            "count_distinct, sum and sum_boolean add up over units",
            field="metric",
        )
    return measure


def _counts_key(layer: SemanticLayer, measure: Measure) -> str | None:
    """The entity whose key a count_distinct measure counts (None for anything else)."""
    if measure.expr is None:
        return None
    for entity in layer.graph.sources[measure.source].entities.values():
        if any(key == measure.expr for key in entity.keys):
            return entity.name
    return None


def _entity_of(layer: SemanticLayer, metric: str, measure: Measure) -> str:
    """The entity a measure counts: the one whose key a count_distinct counts, else the one
    entity of its source that is not the row itself (the primary one when it is the only)."""
    source = layer.graph.sources[measure.source]
    counted = _counts_key(layer, measure) if measure.agg.value == "count_distinct" else None
    if counted is not None:
        return counted
    foreign = sorted(e.name for e in source.entities.values() if not e.primary)
    if len(foreign) == 1:
        return foreign[0]
    everything = sorted(source.entities)
    if len(everything) == 1:
        return everything[0]
    raise QueryError(
        f"metric '{metric}': source '{source.name}' holds the entities "
        f"{', '.join(everything) or '(none)'}; name the one to randomise with unit=",
        field="unit",
    )


def _parts(layer: SemanticLayer, metric: Metric) -> tuple[str, str | None, str | None]:
    """``(unit, numerator ref, denominator ref)``: refs are measures (``source.m``) or metric
    names; both None when the metric itself is queried per unit (``y = 1``)."""
    if metric.kind.entity_level:
        assert metric.definition is not None
        return metric.definition.entity, None, None
    if metric.kind.value == "simple":
        assert metric.measure is not None
        return (
            _entity_of(layer, metric.name, _measure(layer, metric.name, metric.measure)),
            None,
            None,
        )
    numerator, denominator = metric.inputs
    refs: list[str] = []
    units: list[str] = []
    for part in (numerator, denominator):
        if part.offset is not None:
            raise QueryError(
                f"metric '{metric.name}' has an offset input; it cannot be sized per unit",
                field="metric",
            )
        if part.measure is not None:
            units.append(_entity_of(layer, metric.name, _measure(layer, metric.name, part.measure)))
            refs.append(part.measure)
        else:
            inner = layer.metric(part.name)
            _check_kind(inner)
            if inner.kind.value != "simple":
                raise QueryError(
                    f"metric '{metric.name}': its input '{part.name}' is a {inner.kind.value} "
                    "metric; only simple inputs can be split per unit",
                    field="metric",
                )
            units.append(_parts(layer, inner)[0])
            refs.append(part.name)
    if units[0] != units[1]:
        raise QueryError(
            f"metric '{metric.name}': its numerator counts {units[0]}s and its denominator "
            f"{units[1]}s; name the one to randomise with unit=",
            field="unit",
        )
    return units[0], refs[0], refs[1]


def unit_of(layer: SemanticLayer, metric: Metric) -> str:
    """The entity ``metric`` counts: the experiment's unit (QueryError when there is none)."""
    _check_kind(metric)
    return _parts(layer, metric)[0]


def window_for(layer: SemanticLayer, metric: Metric, lookback: int, end: dt.date | None) -> Window:
    """The lookback window: ``lookback`` days ending on ``end`` (the last day of data), by
    default the last day with data for the metric (not after yesterday). A conversion or
    retention metric's window ends its conversion window (or delay) earlier, so every unit in
    it had its full time."""
    from metrics_layer.api import _today

    if end is None:
        yesterday = _today(layer.graph.settings.time_zone) - dt.timedelta(days=1)
        latest = layer.query(
            metric.name, by="metric_time.day", order="-metric_time.day", limit=1, end=yesterday
        ).run()
        if not latest.rows:
            raise QueryError(
                f"metric '{metric.name}' has no data up to {yesterday}; give end=", field="end"
            )
        value = latest.rows[0][0]
        end = value.date() if isinstance(value, dt.datetime) else value
        assert isinstance(end, dt.date)
    if metric.kind.entity_level and metric.definition is not None:
        end -= dt.timedelta(days=_offset_days(metric.window or metric.definition.after))
    return Window(end - dt.timedelta(days=lookback - 1), end)


def _side_layer(
    layer: SemanticLayer, added: dict[str, tuple[str, exp.Expr | None]]
) -> SemanticLayer:
    """A layer over the same graph with a simple metric for each of ``added`` (name -> measure
    and filter); its queries run on the original layer's connection (``_fetch``)."""
    from metrics_layer.api import SemanticLayer
    from metrics_layer.graph.model import Metric as GraphMetric
    from metrics_layer.graph.model import MetricKind
    from metrics_layer.spec.models import MetricStatus

    metrics = {
        name: GraphMetric(
            name,
            MetricKind.SIMPLE,
            1,
            name,
            None,
            None,
            MetricStatus.DRAFT,
            (),
            (),
            (),
            measure=measure,
            filter=condition,
        )
        for name, (measure, condition) in added.items()
    }
    graph = replace(layer.graph, metrics={**layer.graph.metrics, **metrics})
    return SemanticLayer(graph, timeout=layer.timeout)


def _both(first: exp.Expr | None, second: exp.Expr) -> exp.Expr:
    """Both conditions (the second alone when there is no first)."""
    from sqlglot import exp

    return second if first is None else exp.and_(first.copy(), second.copy())


def _fetch(
    layer: SemanticLayer,
    names: list[str],
    unit: str,
    window: Window,
    where: str | None,
    connection: Connection,
) -> dict[Any, tuple[Any, ...]]:
    query = layer.query(names, by=unit, where=where, start=window.start, end=window.end)
    result = query.run(connection, max_rows=MAX_UNITS)
    return {row[0]: row[1:] for row in result.rows if row[0] is not None}


def per_unit(
    layer: SemanticLayer,
    metric: Metric,
    window: Window,
    *,
    unit: str | None = None,
    population: str | None = None,
    where: str | None = None,
) -> UnitValues:
    """Each unit's ``(x, y)`` over ``window`` (module docstring). The units are those with a
    value of the metric (a ratio: a non-zero numerator or denominator), or with ``population``
    the units where that metric is above zero, the metric's missing values then counting as 0."""
    _check_kind(metric)
    own, numerator, denominator = _parts(layer, metric)
    unit = unit or own
    names = [metric.name]
    source = layer
    if numerator is not None and denominator is not None:
        added: dict[str, tuple[str, exp.Expr | None]] = {}
        names = []
        for role, ref in (("numerator", numerator), ("denominator", denominator)):
            if "." in ref:
                measure, condition = ref, metric.filter
            elif metric.filter is not None:
                # A simple metric input under the ratio's filter: its own filter and the ratio's.
                inner = layer.metric(ref)
                assert inner.measure is not None
                measure, condition = inner.measure, _both(inner.filter, metric.filter)
            else:
                names.append(ref)
                continue
            name = f"{metric.sql_name}__{role}"
            while name in layer.graph.metrics:
                name += "_"
            added[name] = (measure, condition)
            names.append(name)
        if added:
            source = _side_layer(layer, added)
    try:
        rows = _fetch(source, names, unit, window, where, layer.connection)
    except QueryError as exc:
        if exc.field == "by":
            raise QueryError(str(exc).removeprefix("by: "), field="unit") from exc
        raise
    values: dict[Any, tuple[float, float]] = {}
    for key, row in rows.items():
        if len(row) == 2:
            x, y = float(row[0] or 0), float(row[1] or 0)
        elif row[0] is None:
            continue
        else:
            x, y = float(row[0]), 1.0
        if x != 0 or y != 0 or population is not None:
            values[key] = (x, y)
    if population is not None:
        allowed = _population(layer, population, unit, window, where)
        values = {key: values.get(key, (0.0, 0.0 if len(names) == 2 else 1.0)) for key in allowed}
    elif _counts_units(layer, metric) and all(x == 1 for x, _ in values.values()):
        raise QueryError(
            f"metric '{metric.name}' counts {unit}s, so every {unit} it sees has the value 1; "
            f"name the eligible {unit}s with population= (a metric counting them)",
            field="population",
        )
    binary = all(y == 1 and x in (0, 1) for x, y in values.values())
    return UnitValues(metric.name, unit, window, values, binary, len(names) == 2 and not binary)


def _counts_units(layer: SemanticLayer, metric: Metric) -> bool:
    """Whether ``metric`` is a simple count of distinct units."""
    if metric.kind.value != "simple" or metric.measure is None:
        return False
    return layer.graph.measures[metric.measure].agg.value == "count_distinct"


def _population(
    layer: SemanticLayer, population: str, unit: str, window: Window, where: str | None
) -> set[Any]:
    try:
        chosen = layer.metric(population)
        rows = _fetch(layer, [chosen.name], unit, window, where, layer.connection)
    except QueryError as exc:
        raise QueryError(str(exc).split(": ", 1)[-1], field="population") from exc
    return {key for key, (value,) in rows.items() if value is not None and value > 0}
