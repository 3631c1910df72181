"""metrics_layer: define KPIs once in YAML, compile them to SQL for any engine, run them anywhere.

>>> import metrics_layer as ml
>>> layer = ml.load("definitions")                                          # doctest: +SKIP
>>> layer.query(["signups"], by=["metric_time.month"]).run()                # doctest: +SKIP

Names are imported lazily so that ``import metrics_layer`` stays fast.
"""

from __future__ import annotations

from importlib import import_module as _import_module
from typing import TYPE_CHECKING
from typing import Any as _Any

from metrics_layer.errors import (
    DefinitionError,
    Diagnostic,
    EngineError,
    FilterError,
    InternalError,
    Level,
    MetricsLayerError,
    QueryError,
    StatementError,
    UnsupportedError,
    UserError,
)

if TYPE_CHECKING:
    from metrics_layer.api import LockWritten, Query, SemanticLayer, check, load, lock
    from metrics_layer.engine.result import MetricVersion, Result
    from metrics_layer.graph.model import Metric

__version__ = "0.1.0"

__all__ = [
    "DefinitionError",
    "Diagnostic",
    "EngineError",
    "FilterError",
    "InternalError",
    "Level",
    "LockWritten",
    "Metric",
    "MetricVersion",
    "MetricsLayerError",
    "Query",
    "QueryError",
    "Result",
    "SemanticLayer",
    "StatementError",
    "UnsupportedError",
    "UserError",
    "check",
    "load",
    "lock",
]

_LAZY = {
    "Query": "metrics_layer.api",
    "SemanticLayer": "metrics_layer.api",
    "check": "metrics_layer.api",
    "load": "metrics_layer.api",
    "lock": "metrics_layer.api",
    "LockWritten": "metrics_layer.api",
    "Result": "metrics_layer.engine.result",
    "MetricVersion": "metrics_layer.engine.result",
    "Metric": "metrics_layer.graph.model",
}


def __getattr__(name: str) -> _Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'metrics_layer' has no attribute {name!r}")
    value = getattr(_import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
