"""Engines reached without a SQLAlchemy dialect: one ``Adapter`` module per URL scheme.

SQLAlchemy has no maintained dialect for embedded ClickHouse (chdb) or a local Spark session,
so ``Connection`` hands their verified SQL to an adapter instead of a pooled engine. An adapter
does what ``engine/sessions.py`` does for the SQLAlchemy engines, by the engine's own means:
read-only, a timeout, UTC; and it raises ``EngineError`` (never a driver exception) with the fix.

Each module is imported only when its scheme is used, so its package (an extra) is optional.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from metrics_layer.errors import EngineError

__all__ = ["ADAPTERS", "Adapter", "adapter_for"]

# scheme -> (module, the extra that installs its package)
ADAPTERS: dict[str, tuple[str, str]] = {
    "chdb": ("metrics_layer.engine.adapters.clickhouse", "clickhouse"),
    "spark": ("metrics_layer.engine.adapters.spark", "spark"),
}


class Adapter(Protocol):
    """A connection to one engine that runs one verified, read-only query at a time."""

    name: str

    def fetch(
        self, sql: str, *, timeout: float, max_rows: int, time_zones: tuple[str, ...]
    ) -> tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]:
        """Column names and at most ``max_rows + 1`` rows; EngineError on any failure."""
        ...

    def close(self) -> None: ...


def adapter_for(url: str, scheme: str) -> Adapter | None:
    """The adapter for ``url`` when its scheme has one, else None (a SQLAlchemy URL)."""
    entry = ADAPTERS.get(scheme)
    if entry is None:
        return None
    module, extra = entry
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        raise EngineError(
            f"the {scheme}:// engine needs an optional package ({exc.name}): "
            f'pip install "kpi-layer[{extra}]"'
        ) from exc
    adapter: Adapter = loaded.connect(url)
    return adapter
