"""Values worked out from the served layer (planned queries, encoded catalogues, translated
SQL), kept by key until the definitions are reloaded."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from metrics_layer.api import SemanticLayer

__all__ = ["KeptForLayer"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_MISSING = object()


class KeptForLayer(Generic[K, V]):
    """Values by key, the most recently used kept: at most ``size`` of them, or, with
    ``sizeof``, values summing to at most ``size`` (a larger one is not kept). Emptied when
    asked for another layer than the one they were worked out from (a reload), so a value
    is never served from definitions that are no longer served."""

    def __init__(self, size: int, sizeof: Callable[[V], int] | None = None) -> None:
        from cachetools import LRUCache

        self._lock = threading.Lock()
        self._layer: SemanticLayer | None = None
        self._sizeof = sizeof
        self._entries: LRUCache[K, V] = LRUCache(maxsize=size, getsizeof=sizeof)

    def get(self, layer: SemanticLayer, key: K, build: Callable[[], V]) -> V:
        """The value kept for ``key`` on ``layer``, or ``build()``'s, then kept. What
        ``build`` raises is raised and nothing is kept."""
        with self._lock:
            if self._layer is not layer:
                self._entries.clear()
                self._layer = layer
            found = self._entries.get(key, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        built = build()
        fits = self._sizeof is None or self._sizeof(built) <= self._entries.maxsize
        with self._lock:
            if self._layer is layer and fits:
                self._entries[key] = built
        return built
