"""The Python type of each result column, decided from the plan (never from the values).

Every engine's driver hands back its own types (SQLite dates as ``str``, MariaDB sums as
``Decimal``, PostgreSQL ``numeric`` as ``Decimal``); the result is normalised to these, so a
query gives the same Python types on every engine (``metrics_layer.engine.types``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import assert_never

from sqlglot import exp

from metrics_layer.graph.graph import DimensionRef, Graph
from metrics_layer.graph.model import Metric, MetricKind
from metrics_layer.planner.aggregates import fills_with_zero
from metrics_layer.spec.models import DimensionType, Rollup
from metrics_layer.sql.time import SUB_DAY

__all__ = ["ValueType", "dimension_type", "metric_type"]


class ValueType(StrEnum):
    """What a result column holds, as a Python type."""

    DATE = "date"  # datetime.date: time buckets of a day or coarser
    TIMESTAMP = "timestamp"  # naive datetime in the project's time zone: hour, minute, second
    INTEGER = "integer"  # int: counts, date parts
    FLOAT = "float"  # float: every other metric
    BOOLEAN = "boolean"  # bool: boolean dimensions
    AS_RETURNED = "as_returned"  # categorical dimensions and entity keys, as the engine gives them


def dimension_type(ref: DimensionRef) -> ValueType:
    """A grouping's type: time buckets by grain, booleans, else what the engine returns."""
    if ref.part is not None:
        return ValueType.INTEGER
    if ref.grain is not None:
        return ValueType.TIMESTAMP if ref.grain in SUB_DAY else ValueType.DATE
    if ref.entity is not None or ref.dimension is None:
        return ValueType.AS_RETURNED
    kind = ref.dimension.type
    if kind is DimensionType.BOOLEAN:
        return ValueType.BOOLEAN
    if kind is DimensionType.TIME:
        return ValueType.DATE
    if kind is DimensionType.CATEGORICAL:
        return ValueType.AS_RETURNED
    assert_never(kind)


_WHOLE_ROLLUPS = (Rollup.SUM, Rollup.MIN, Rollup.MAX, Rollup.LAST, Rollup.FIRST)


def metric_type(graph: Graph, metric: Metric) -> ValueType:
    """``int`` for counts (and sums, differences and products of counts), ``float`` otherwise.

    A count measured ``per`` period and averaged is a float; a ratio, or a derived metric that
    divides or has a non-integral literal or ``fill_null``, is a float.
    """
    if metric.fill_null is not None and not float(metric.fill_null).is_integer():
        return ValueType.FLOAT
    kind = metric.compiles_as
    if kind is MetricKind.SIMPLE:
        assert metric.measure is not None
        agg = graph.measures[metric.measure].agg
        whole = fills_with_zero(agg) and (metric.per is None or metric.rollup in _WHOLE_ROLLUPS)
        return ValueType.INTEGER if whole else ValueType.FLOAT
    if kind is MetricKind.ROLLING or kind is MetricKind.CUMULATIVE:
        assert metric.measure is not None
        agg = graph.measures[metric.measure].agg
        whole = fills_with_zero(agg) and metric.rollup is not Rollup.AVERAGE
        return ValueType.INTEGER if whole else ValueType.FLOAT
    if kind is MetricKind.RATIO:
        return ValueType.FLOAT
    if kind is MetricKind.DERIVED:
        assert metric.expr is not None
        if any(
            isinstance(node, exp.Div)
            or (isinstance(node, exp.Literal) and not node.is_string and not node.is_int)
            for node in metric.expr.walk()
        ):
            return ValueType.FLOAT
        for item in metric.inputs:
            if item.measure is not None:
                whole = fills_with_zero(graph.measures[item.measure].agg)
            else:
                whole = metric_type(graph, graph.metrics[item.name]) is ValueType.INTEGER
            if not whole:
                return ValueType.FLOAT
        return ValueType.INTEGER
    raise AssertionError(f"{metric.name}: no type for a {kind.value} metric")
