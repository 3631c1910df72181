"""What the service's parts agree on: who is asking, what they may see, and where results are
kept. The app (app.py) depends only on these; access.py and cache.py implement them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from metrics_layer.api import SemanticLayer
from metrics_layer.planner.query import MetricQuery


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: ``subject`` names them in logs (never a secret), ``roles`` and
    ``claims`` are what access policies match on."""

    subject: str
    roles: tuple[str, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=dict)


class Access(Protocol):
    """What one principal may see. ``key`` identifies the policy applied (same key, same rows),
    so results cached for one caller are only served to callers under the same policy."""

    @property
    def key(self) -> str: ...

    def sees_metric(self, name: str) -> bool: ...

    def sees_dimension(self, name: str) -> bool: ...

    def restrict(self, layer: SemanticLayer, query: MetricQuery) -> MetricQuery:
        """The query with the policy's row filter always applied; raises a UserError (shown
        as 403) when the query asks for a hidden name or the filter cannot apply to it."""
        ...


class Authenticator(Protocol):
    """Turns request headers into a principal; raises AuthenticationError (401) otherwise."""

    def authenticate(self, headers: Mapping[str, str]) -> Principal: ...

    def access(self, principal: Principal) -> Access: ...


class ResultCache(Protocol):
    """Encoded results by key, shared by workers; ``compute`` runs once for concurrent
    identical keys and its value is kept for ``ttl`` seconds."""

    def get_or_compute(self, key: str, compute: Callable[[], bytes], ttl: float) -> bytes: ...

    def clear(self) -> None: ...
