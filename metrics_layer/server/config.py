"""What a service is started with: the project, the database, the limits and the pluggable
parts (who may ask, what they see, where results are kept)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from metrics_layer.server.contracts import Authenticator, ResultCache

__all__ = ["CONFIG_VARIABLE", "Limits", "ServerConfig", "from_text", "to_text"]

CONFIG_VARIABLE = "METRICS_LAYER_SERVE"
"""The environment variable through which ``serve --workers N`` hands its configuration to
each worker process (``app.from_environment``)."""


@dataclass(frozen=True)
class Limits:
    """Per-request bounds. A request may ask for a lower ``timeout`` or ``max_rows``; a higher
    one is lowered to these."""

    timeout: float = 30.0
    """Seconds a query statement may run on the database."""
    max_rows: int = 100_000
    """Rows a query may return; more is an error (ask for a coarser grain or a limit)."""
    max_body_bytes: int = 1_000_000
    """Bytes of a request body; larger is refused with 413 before it is parsed."""


@dataclass(frozen=True)
class ServerConfig:
    """Everything ``create_app`` needs.

    Who may ask: ``authenticator``, or ``access_file`` (an access file, docs/access.md, read
    into a ``ServiceAuthenticator`` over the served definitions); with neither, the service
    starts only with ``allow_anonymous`` and serves everyone everything.

    Where results are kept: ``cache``, or ``cache_url`` (``"memory"``: in this process; a
    ``redis://`` URL: shared by workers, under the project's namespace); with neither, every
    query runs. ``cache_ttl`` (seconds) overrides the project's ``cache_ttl`` setting.

    ``watch`` is the number of seconds between looks at the definitions' modification times
    (None: definitions change only through ``POST /v1/admin/reload``).
    """

    project: str | os.PathLike[str] = "definitions"
    connection: str | None = None
    target: str | None = None
    allow_outside: bool = False
    limits: Limits = field(default_factory=Limits)
    cors_origins: tuple[str, ...] = ()
    authenticator: Authenticator | None = None
    access_file: str | os.PathLike[str] | None = None
    cache: ResultCache | None = None
    cache_url: str | None = None
    cache_ttl: float | None = None
    allow_anonymous: bool = False
    watch: float | None = None


def to_text(config: ServerConfig) -> str:
    """``config`` as JSON, for worker processes; only what a command line can set (an
    authenticator or cache object cannot cross into another process: give ``access_file``
    and ``cache_url`` instead)."""
    if config.authenticator is not None or config.cache is not None:
        raise ValueError("an authenticator or cache object cannot be handed to workers")
    data: dict[str, Any] = asdict(config)
    for name in ("authenticator", "cache"):
        data.pop(name)
    for name in ("project", "access_file"):
        if data[name] is not None:
            data[name] = os.fspath(data[name])
    data["cors_origins"] = list(config.cors_origins)
    return json.dumps(data)


def from_text(text: str) -> ServerConfig:
    """The configuration ``to_text`` wrote."""
    data = json.loads(text)
    data["limits"] = Limits(**data["limits"])
    data["cors_origins"] = tuple(data["cors_origins"])
    return ServerConfig(**data)
