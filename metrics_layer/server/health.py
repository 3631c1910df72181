"""What ``/readyz`` reports: whether the database answers, the service's status, and the
outcome of the last load."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from metrics_layer.api import SemanticLayer
from metrics_layer.errors import MetricsLayerError
from metrics_layer.server.problems import diagnostics_body
from metrics_layer.server.reload import Attempt

__all__ = ["attempt_body", "cache_body", "reach", "status"]


def reach(layer: SemanticLayer | None) -> dict[str, Any]:
    """Whether the database answers a one-row query within five seconds."""
    if layer is None:
        return {"reachable": False, "dialect": None, "error": "no definitions loaded"}
    from metrics_layer.safety.statement import verify

    try:
        statement = verify("SELECT 1", layer.dialect)
        layer.connection.fetch(statement, timeout=5, max_rows=1)
    except MetricsLayerError as exc:
        return {"reachable": False, "dialect": layer.dialect, "error": str(exc)[:1000]}
    return {"reachable": True, "dialect": layer.dialect, "error": None}


def status(layer: SemanticLayer | None, database: Mapping[str, Any]) -> str:
    if layer is None or not database["reachable"]:
        return "unavailable"
    return "degraded" if layer.broken else "ready"


def attempt_body(attempt: Attempt | None, root: Path) -> dict[str, Any] | None:
    if attempt is None:
        return None
    return {
        "at": attempt.at.isoformat(),
        "ok": attempt.ok,
        "message": attempt.message,
        "errors": diagnostics_body(attempt.errors, root),
    }


def cache_body(cache: object, details: bool) -> dict[str, Any] | None:
    """The cache's own report (``status()``, when it has one): a cache that does not work
    makes queries run uncached, so it is reported, not a reason to be unready. Where it is
    and its error are details (for an admin)."""
    report = getattr(cache, "status", None)
    if report is None:
        return None
    found = report()
    return {
        "backend": found.backend,
        "healthy": found.healthy,
        "where": found.where if details else None,
        "error": found.error if details else None,
    }
