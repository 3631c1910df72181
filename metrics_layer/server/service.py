"""The service without its transport: one served layer, who may ask, what they see, where
results are kept. The HTTP app (app.py), the PostgreSQL-protocol SQL interface and the MCP
server each turn their requests into calls of one ``Service``, so a KPI is one number, under
one access policy and one cache, whichever way it is asked for.

Every refusal is a ``Problem`` (status, type, field, message); each transport says it in its
own way (an HTTP status, a PostgreSQL error with an SQLSTATE, a tool error).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metrics_layer.api import Query, SemanticLayer
from metrics_layer.errors import DefinitionError, UnsupportedError, UserError, did_you_mean
from metrics_layer.planner.query import MetricQuery
from metrics_layer.server.anonymous import ANONYMOUS, OpenAccess
from metrics_layer.server.config import ServerConfig
from metrics_layer.server.contracts import Access, Authenticator, Principal, ResultCache
from metrics_layer.server.encoding import Format, encode
from metrics_layer.server.kept import KeptForLayer
from metrics_layer.server.keys import result_key
from metrics_layer.server.limits import check_limits
from metrics_layer.server.models import (
    CompileRequest,
    CompileResponse,
    DimensionList,
    MetricList,
    QueryRequest,
)
from metrics_layer.server.problems import Problem, diagnostics_body, relative
from metrics_layer.server.reload import Definitions

__all__ = ["ADMIN_ROLE", "Answer", "Caller", "Service"]

log = logging.getLogger("metrics_layer.server")

ADMIN_ROLE = "admin"
"""The role a principal needs to reload definitions (anonymous services: anyone)."""


@dataclass(frozen=True)
class Caller:
    """Who is asking and what they may see."""

    principal: Principal
    access: Access


@dataclass(frozen=True)
class Answer:
    """An encoded query result and whether the cache had it (``hit``, ``miss``, ``none``:
    no cache)."""

    content: bytes
    cache: str
    elapsed_ms: float


class Service:
    """What every transport serves. ``Service(config)`` loads the definitions and opens the
    authenticator and the cache; it raises UserError when it may not start (no authenticator
    and anonymous access not allowed) and DefinitionError when no definitions load at all (or
    the access file has errors)."""

    def __init__(self, config: ServerConfig) -> None:
        if config.authenticator is not None and config.access_file is not None:
            raise UserError("ServerConfig: give an authenticator or an access_file, not both")
        secured = config.authenticator is not None or config.access_file is not None
        if not secured and not config.allow_anonymous:
            raise UserError(
                "the service has no authenticator and anonymous access is not allowed: give an "
                "access file (docs/access.md; `metrics-layer serve --access access.yml`) or an "
                "authenticator, or allow anonymous access explicitly (ServerConfig("
                "allow_anonymous=True), `metrics-layer serve --allow-anonymous`) for a service "
                "only trusted callers can reach"
            )
        check_limits(config)
        self.config = config
        self.definitions = Definitions(config)
        first = self.definitions.reload()
        if self.definitions.layer is None:
            if first.errors:
                raise DefinitionError(first.errors)
            raise UserError(first.message or "the definitions cannot be loaded")
        root = Path(config.project)
        self.root = root if root.is_dir() else root.parent
        self.authenticator = _authenticator(config, self.definitions)
        self.cache = _cache(config, self.definitions.layer)
        # Planned queries by their final spec (after the access policy's restriction): a
        # question asked again, as every cache hit is, is not planned again (planning takes
        # 0.2 to 0.7 ms, more than the rest of a hit's own work).
        self._plans: KeptForLayer[MetricQuery, Query] = KeptForLayer(1024)
        # Encoded catalogue responses by route and access key (equal keys see equal names,
        # access.py): building and validating the whole catalogue takes milliseconds. Bounded
        # in bytes: with a policy whose row filter holds a claim (a tenant), each tenant has
        # its own access key.
        self._catalogues: KeptForLayer[tuple[str, str], bytes] = KeptForLayer(32 * 2**20, len)
        if self.definitions.layer.broken:
            log.warning(
                "%d broken metric(s) not served (GET /readyz lists why): %s",
                len(self.definitions.layer.broken),
                ", ".join(sorted(self.definitions.layer.broken)),
            )

    # -- who ---------------------------------------------------------------------------------

    @property
    def layer(self) -> SemanticLayer:
        """The served layer (the last definitions that loaded)."""
        layer = self.definitions.layer
        if layer is None:  # pragma: no cover - the constructor refuses to start without one
            raise Problem(503, "unavailable", "no definitions are loaded")
        return layer

    def caller(self, headers: Mapping[str, str]) -> Caller:
        """The caller of a request's credentials (``X-API-Key`` or ``Authorization: Bearer``,
        any letter case); a Problem 401 when they do not authenticate."""
        if self.authenticator is None:
            return Caller(ANONYMOUS, OpenAccess())
        try:
            principal = self.authenticator.authenticate(headers)
        except UserError as exc:
            raise Problem(
                401, "unauthenticated", str(exc), headers={"WWW-Authenticate": "Bearer"}
            ) from exc
        return Caller(principal, self.authenticator.access(principal))

    def is_admin(self, headers: Mapping[str, str]) -> bool:
        """Whether the credentials are an admin's (anyone's, on an anonymous service); never
        refuses."""
        if self.authenticator is None:
            return True
        try:
            principal = self.authenticator.authenticate(headers)
        except UserError:
            return False
        return ADMIN_ROLE in principal.roles

    # -- catalogue ---------------------------------------------------------------------------

    def metrics_json(self, caller: Caller) -> bytes:
        """Every served metric the caller may see (``MetricList`` as JSON), kept per access
        key until the definitions change."""
        layer = self.layer

        def build() -> bytes:
            whole = layer.catalogue()
            shown = [
                self._entry(layer, m, caller.access)
                for m in whole["metrics"]
                if caller.access.sees_metric(m["name"]) and m["name"] not in layer.broken
            ]
            listed = MetricList.model_validate({"project": whole["project"], "metrics": shown})
            return listed.model_dump_json().encode()

        return self._catalogues.get(layer, ("metrics", caller.access.key), build)

    def dimensions_json(self, caller: Caller) -> bytes:
        """Every name the caller may group or filter by, with the served metrics it is valid
        for (``DimensionList`` as JSON)."""
        layer = self.layer

        def build() -> bytes:
            whole = layer.catalogue()
            shown = []
            for d in whole["dimensions"]:
                if not caller.access.sees_dimension(d["name"]):
                    continue
                d["metrics"] = [
                    m
                    for m in d["metrics"]
                    if caller.access.sees_metric(m) and m not in layer.broken
                ]
                shown.append(d)
            listed = DimensionList.model_validate(
                {"project": whole["project"], "dimensions": shown}
            )
            return listed.model_dump_json().encode()

        return self._catalogues.get(layer, ("dimensions", caller.access.key), build)

    def metric(self, caller: Caller, name: str) -> dict[str, Any]:
        """One metric as ``CatalogueMetric``; 404 when unknown or hidden from the caller
        (suggesting only metrics the caller sees), 422 when the definitions have it broken."""
        layer = self.layer
        base = name.partition("@")[0]
        known = base in layer.graph.current or base in layer.broken
        if not known or not caller.access.sees_metric(base):
            visible = [m for m in layer.graph.current if caller.access.sees_metric(m)]
            raise Problem(
                404,
                "not_found",
                f"unknown metric '{name}'.{did_you_mean(name, visible)} GET /v1/metrics lists "
                "the metrics",
                field="name",
            )
        self._refuse_broken(layer, [name])
        try:  # a kept version: the library's message lists the versions that exist
            described = layer.describe(name)
        except UserError as exc:
            raise Problem(404, "not_found", str(exc), field="name") from exc
        return self._entry(layer, described, caller.access)

    # -- queries -----------------------------------------------------------------------------

    def planned(self, caller: Caller, body: QueryRequest | CompileRequest) -> Query:
        """The query as the caller may run it: its fields checked by the library, the access
        policy's restriction applied (its UserError is a 403; a hidden name is refused before
        anything is said about it), broken metrics refused (422), then planned (or taken from
        the planned queries kept)."""
        layer = self.layer
        asked = MetricQuery.of(
            body.metrics,
            by=body.by,
            where=body.where,
            start=body.start,
            end=body.end,
            order=body.order,
            limit=body.limit,
            fill_periods=body.fill_periods,
            whole_periods=body.whole_periods,
        )
        try:
            restricted = caller.access.restrict(layer, asked)
        except UserError as exc:
            raise Problem(403, "forbidden", str(exc), field=getattr(exc, "field", None)) from exc
        self._refuse_broken(layer, list(restricted.metrics))
        return self._plans.get(layer, restricted, lambda: Query(layer, restricted))

    def query(self, caller: Caller, body: QueryRequest, fmt: Format = Format.JSON) -> Answer:
        """The encoded result of ``body`` (JSON with column types, versions, fingerprints and
        timings; CSV; Arrow IPC), from the cache when it has it. The timeout and row cap are
        the request's, lowered to the service's limits."""
        layer = self.layer
        planned = self.planned(caller, body)
        limits = self.config.limits
        timeout = limits.timeout if body.timeout is None else min(body.timeout, limits.timeout)
        max_rows = limits.max_rows if body.max_rows is None else min(body.max_rows, limits.max_rows)
        started = time.perf_counter()

        def compute() -> bytes:
            result = planned.run(timeout=timeout, max_rows=max_rows)
            timings = {"compile_ms": result.compile_ms, "execute_ms": result.execute_ms}
            return encode(
                result,
                planned.types,
                fmt,
                include_sql=body.include_sql,
                extra={"timings": timings},
            )

        hit = "none"
        if self.cache is None:
            content = compute()
        else:
            computed = []

            def counted() -> bytes:
                computed.append(True)
                return compute()

            key = result_key(
                layer,
                planned,
                access_key=caller.access.key,
                connection=layer.connection.url,
                fmt=fmt.name.lower(),
                options={"include_sql": body.include_sql, "max_rows": max_rows},
            )
            ttl = (
                layer.graph.settings.cache_ttl
                if self.config.cache_ttl is None
                else self.config.cache_ttl
            )
            content = self.cache.get_or_compute(key, counted, ttl)
            hit = "miss" if computed else "hit"
        elapsed = (time.perf_counter() - started) * 1000
        return Answer(content, hit, elapsed)

    def compile(self, caller: Caller, body: CompileRequest) -> CompileResponse:
        """The SQL of a query for a dialect (default: the served database's), not run."""
        layer = self.layer
        planned = self.planned(caller, body)
        try:
            statement = planned.statement(body.dialect or layer.dialect)
        except UnsupportedError as exc:  # an unknown dialect, or one that cannot express it
            raise Problem(400, "unsupported", str(exc), field="dialect") from exc
        return CompileResponse(
            sql=statement.sql,
            dialect=statement.dialect,
            columns=list(planned.columns),
            versions=dict(planned.versions),
        )

    # -- helpers -----------------------------------------------------------------------------

    def healthy(self) -> list[str]:
        """The served metrics' names (not the broken ones)."""
        layer = self.layer
        return [name for name in layer.graph.current if name not in layer.broken]

    def _refuse_broken(self, layer: SemanticLayer, names: list[str]) -> None:
        for name in names:
            found = layer.broken.get(name.partition("@")[0])
            if found is not None:
                raise Problem(
                    422,
                    "broken_metric",
                    f"metric '{name}' is broken in the definitions and not served; fix the "
                    "errors listed in diagnostics (GET /readyz lists every broken metric)",
                    field="metrics",
                    diagnostics=diagnostics_body(found, self.root),
                )

    def _entry(
        self, layer: SemanticLayer, described: dict[str, Any], access: Access
    ) -> dict[str, Any]:
        """A catalogue entry as the caller may see it, with the names it reads; its file is
        named from the project folder (the server's own paths are not shown)."""
        place = described["defined_in"]
        if place is not None:
            file, colon, line = place.rpartition(":")
            if not colon or not line.isdigit():
                file, colon, line = place, "", ""
            described["defined_in"] = f"{relative(file, self.root)}{colon}{line}"
        metric = layer.graph.metrics[described["name"]]
        reads = [i.measure or i.name for i in metric.inputs]
        if metric.measure is not None:
            reads.insert(0, metric.measure)
        described["inputs"] = list(dict.fromkeys(reads))
        described["dimensions"] = [
            d for d in described["dimensions"] if access.sees_dimension(d["name"])
        ]
        return described


def _authenticator(config: ServerConfig, definitions: Definitions) -> Authenticator | None:
    """The configured authenticator, or one reading ``access_file`` over the served layer
    (it follows reloads); None for an anonymous service."""
    if config.access_file is None:
        return config.authenticator
    from metrics_layer.server.auth import ServiceAuthenticator

    def served() -> SemanticLayer:
        layer = definitions.layer
        assert layer is not None  # the service starts only with a layer, and keeps one
        return layer

    return ServiceAuthenticator.from_file(config.access_file, served)


def _cache(config: ServerConfig, layer: SemanticLayer) -> ResultCache | None:
    """The configured cache, or one opened from ``cache_url`` under the project's name."""
    if config.cache is not None or config.cache_url is None:
        return config.cache
    from metrics_layer.server.cache import open_cache

    url = None if config.cache_url == "memory" else config.cache_url
    return open_cache(url, namespace=layer.graph.settings.name)
