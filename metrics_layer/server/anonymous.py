"""The access of a service started with ``allow_anonymous`` and no authenticator: everyone
sees everything, and every caller shares one cache key."""

from __future__ import annotations

from metrics_layer.api import SemanticLayer
from metrics_layer.planner.query import MetricQuery
from metrics_layer.server.contracts import Principal

__all__ = ["ANONYMOUS", "OpenAccess"]

ANONYMOUS = Principal("anonymous")


class OpenAccess:
    """Every metric and dimension visible, no row filter."""

    @property
    def key(self) -> str:
        return "open"

    def sees_metric(self, name: str) -> bool:
        return True

    def sees_dimension(self, name: str) -> bool:
        return True

    def restrict(self, layer: SemanticLayer, query: MetricQuery) -> MetricQuery:
        return query
