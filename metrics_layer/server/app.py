"""The HTTP service: catalogue, queries, SQL, health and reloads over one served layer.

Routes are thin: each calls the library as a user would (``layer.query``, ``catalogue()``,
``describe()``), applies the caller's access (``access.restrict`` on every query, ``sees_*``
on every catalogue entry) and, when a cache is configured, keeps encoded results in it.
docs/service.md describes every route and decision.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response

from metrics_layer.api import Query, SemanticLayer
from metrics_layer.errors import UnsupportedError, UserError, did_you_mean
from metrics_layer.planner.query import MetricQuery
from metrics_layer.server.anonymous import ANONYMOUS, OpenAccess
from metrics_layer.server.config import ServerConfig
from metrics_layer.server.contracts import Access, Authenticator, Principal, ResultCache
from metrics_layer.server.encoding import encode, negotiate
from metrics_layer.server.health import attempt_body, cache_body, reach, status
from metrics_layer.server.keys import result_key
from metrics_layer.server.limits import BodyLimit, check_limits
from metrics_layer.server.models import (
    CatalogueMetric,
    CompileRequest,
    CompileResponse,
    DimensionList,
    ErrorBody,
    Health,
    MetricList,
    QueryRequest,
    QueryResponse,
    Readiness,
    ReloadResponse,
)
from metrics_layer.server.page import add_page
from metrics_layer.server.problems import Problem, diagnostics_body, install_handlers, relative
from metrics_layer.server.reload import Definitions

__all__ = ["ADMIN_ROLE", "create_app", "from_environment"]

log = logging.getLogger("metrics_layer.server")

ADMIN_ROLE = "admin"
"""The role a principal needs for ``POST /v1/admin/reload`` (anonymous services: anyone)."""


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    said = {
        400: "the query is invalid (the message names the field and the fix)",
        401: "not authenticated",
        403: "the caller's access policy hides what was asked for",
        404: "no such metric",
        406: "Accept names no type the route writes",
        413: "the request body is larger than the server's limit",
        422: "the request does not match the schema, asks for a broken metric, or the "
        "result has more rows than max_rows",
        502: "the database refused the query or is unreachable",
        504: "the query ran longer than the timeout",
        503: "no definitions loaded, or the database is unreachable",
    }
    return {s: {"model": ErrorBody, "description": said[s]} for s in statuses}


_RESULT_TYPES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the result; CSV or an Arrow IPC stream by Accept",
        "content": {"text/csv": {}, "application/vnd.apache.arrow.stream": {}},
    }
}


class _Caller:
    """Who is asking and what they may see."""

    def __init__(self, principal: Principal, access: Access) -> None:
        self.principal = principal
        self.access = access


def create_app(config: ServerConfig) -> FastAPI:
    """The service for ``config``; raises UserError when it may not start (no authenticator
    and anonymous access not allowed) and DefinitionError when no definitions load at all
    (or the access file has errors)."""
    if config.authenticator is not None and config.access_file is not None:
        raise UserError(
            "ServerConfig: give an authenticator or an access_file, not both",
        )
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
    definitions = Definitions(config)
    first = definitions.reload()
    if definitions.layer is None:
        from metrics_layer.errors import DefinitionError

        if first.errors:
            raise DefinitionError(first.errors)
        raise UserError(first.message or "the definitions cannot be loaded")
    root = Path(config.project)
    root = root if root.is_dir() else root.parent
    authenticator = _authenticator(config, definitions)
    cache = _cache(config, definitions.layer)
    plans = _Plans()
    catalogues = _Catalogues()
    if definitions.layer.broken:
        log.warning(
            "%d broken metric(s) not served (GET /readyz lists why): %s",
            len(definitions.layer.broken),
            ", ".join(sorted(definitions.layer.broken)),
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if config.watch is not None:
            definitions.watch(config.watch)
        yield
        definitions.stop()

    app = FastAPI(
        title="metrics_layer",
        summary="KPIs defined once: catalogue, queries and SQL over HTTP",
        version=_version(),
        lifespan=lifespan,
        # Operation ids are the route names (query, compile, metric, ...): what a generated
        # client calls its methods.
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.definitions = definitions
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Accept", "X-API-Key"],
        )
    app.add_middleware(BodyLimit, limit=config.limits.max_body_bytes)
    install_handlers(app)

    # The dependencies are coroutines: FastAPI runs a plain function dependency in its thread
    # pool, a hop per dependency per request that costs more than what they do (read headers,
    # check a key or a token's signature, never wait on I/O).
    async def caller(request: Request) -> _Caller:
        if authenticator is None:
            return _Caller(ANONYMOUS, OpenAccess())
        try:
            principal = authenticator.authenticate(dict(request.headers))
        except UserError as exc:
            raise Problem(
                401, "unauthenticated", str(exc), headers={"WWW-Authenticate": "Bearer"}
            ) from exc
        return _Caller(principal, authenticator.access(principal))

    async def served() -> SemanticLayer:
        layer = definitions.layer
        if layer is None:  # pragma: no cover - create_app refuses to start without one
            raise Problem(503, "unavailable", "no definitions are loaded")
        return layer

    Who = Depends(caller)
    Layer = Depends(served)

    add_page(app)  # GET /: the catalogue page, which reads the routes below as its caller

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz() -> Health:
        """The process answers."""
        return Health(status="ok")

    def admin(request: Request) -> bool:
        """Whether the request comes from an admin (anyone, on an anonymous service); never
        refuses: the health routes answer probes that do not authenticate."""
        if authenticator is None:
            return True
        try:
            principal = authenticator.authenticate(dict(request.headers))
        except UserError:
            return False
        return ADMIN_ROLE in principal.roles

    @app.get("/readyz", response_model=Readiness, responses=_errors(503), tags=["health"])
    def readyz(request: Request) -> JSONResponse:
        """Definitions loaded and the database reachable (a one-row query); broken metrics
        listed with their diagnostics, and the last reload's errors, for an admin (others get
        the counts and statuses only). 503 when not ready."""
        layer = definitions.layer
        database = reach(layer)
        broken = {} if layer is None else layer.broken
        details = admin(request)
        last = attempt_body(definitions.last, root)
        if not details:
            database = {**database, "error": None}
            last = None if last is None else {**last, "errors": [], "message": None}
        body = Readiness.model_validate(
            {
                "status": status(layer, database),
                "metrics": 0 if layer is None else len(_healthy(layer)),
                "broken_count": len(broken),
                "broken": [
                    {"metric": name, "diagnostics": diagnostics_body(found, root)}
                    for name, found in broken.items()
                ]
                if details
                else [],
                "loaded_at": None
                if definitions.loaded is None
                else definitions.loaded.at.isoformat(),
                "last_reload": last,
                "database": database,
                "cache": cache_body(cache, details),
            }
        )
        code = 200 if body.status != "unavailable" else 503
        return JSONResponse(body.model_dump(), status_code=code)

    @app.get(
        "/v1/metrics",
        response_model=MetricList,
        responses=_errors(401),
        tags=["catalogue"],
    )
    def metrics(who: _Caller = Who, layer: SemanticLayer = Layer) -> Response:
        """Every served metric the caller may see, with its definition and valid dimensions."""

        def build() -> bytes:
            whole = layer.catalogue()
            shown = [
                _entry(layer, m, who.access, root)
                for m in whole["metrics"]
                if who.access.sees_metric(m["name"]) and m["name"] not in layer.broken
            ]
            listed = MetricList.model_validate({"project": whole["project"], "metrics": shown})
            return listed.model_dump_json().encode()

        return _json(catalogues.get(layer, ("metrics", who.access.key), build))

    @app.get(
        "/v1/metrics/{name}",
        response_model=CatalogueMetric,
        responses=_errors(401, 403, 404, 422),
        tags=["catalogue"],
    )
    def metric(name: str, who: _Caller = Who, layer: SemanticLayer = Layer) -> dict[str, Any]:
        """One metric; 404 when unknown or hidden from the caller (suggesting only metrics the
        caller sees), 422 when the definitions have it broken."""
        base = name.partition("@")[0]
        known = base in layer.graph.current or base in layer.broken
        if not known or not who.access.sees_metric(base):
            visible = [m for m in layer.graph.current if who.access.sees_metric(m)]
            raise Problem(
                404,
                "not_found",
                f"unknown metric '{name}'.{did_you_mean(name, visible)} GET /v1/metrics lists "
                "the metrics",
                field="name",
            )
        _refuse_broken(layer, [name], root)
        try:  # a kept version: the library's message lists the versions that exist
            described = layer.describe(name)
        except UserError as exc:
            raise Problem(404, "not_found", str(exc), field="name") from exc
        return _entry(layer, described, who.access, root)

    @app.get(
        "/v1/dimensions",
        response_model=DimensionList,
        responses=_errors(401),
        tags=["catalogue"],
    )
    def dimensions(who: _Caller = Who, layer: SemanticLayer = Layer) -> Response:
        """Every name a query can group or filter by that the caller may see, with the
        served metrics it is valid for."""

        def build() -> bytes:
            whole = layer.catalogue()
            shown = []
            for d in whole["dimensions"]:
                if not who.access.sees_dimension(d["name"]):
                    continue
                d["metrics"] = [
                    m for m in d["metrics"] if who.access.sees_metric(m) and m not in layer.broken
                ]
                shown.append(d)
            listed = DimensionList.model_validate(
                {"project": whole["project"], "dimensions": shown}
            )
            return listed.model_dump_json().encode()

        return _json(catalogues.get(layer, ("dimensions", who.access.key), build))

    @app.post(
        "/v1/query",
        response_model=QueryResponse,
        responses={**_RESULT_TYPES, **_errors(400, 401, 403, 406, 413, 422, 502, 504)},
        tags=["queries"],
    )
    def query(
        body: QueryRequest, request: Request, who: _Caller = Who, layer: SemanticLayer = Layer
    ) -> Response:
        """Compute metrics: columns with types, rows, versions and fingerprints, timings, and
        the SQL with ``include_sql``. JSON, or CSV / Arrow IPC by ``Accept``."""
        chosen = negotiate(request.headers.get("accept"))
        planned = _planned(layer, body, who.access, root, plans)
        limits = config.limits
        timeout = limits.timeout if body.timeout is None else min(body.timeout, limits.timeout)
        max_rows = limits.max_rows if body.max_rows is None else min(body.max_rows, limits.max_rows)
        started = time.perf_counter()

        def compute() -> bytes:
            result = planned.run(timeout=timeout, max_rows=max_rows)
            timings = {"compile_ms": result.compile_ms, "execute_ms": result.execute_ms}
            return encode(
                result,
                planned.types,
                chosen,
                include_sql=body.include_sql,
                extra={"timings": timings},
            )

        hit = "none"
        if cache is None:
            content = compute()
        else:
            computed = []

            def counted() -> bytes:
                computed.append(True)
                return compute()

            key = result_key(
                layer,
                planned,
                access_key=who.access.key,
                connection=layer.connection.url,
                fmt=chosen.name.lower(),
                options={"include_sql": body.include_sql, "max_rows": max_rows},
            )
            ttl = layer.graph.settings.cache_ttl if config.cache_ttl is None else config.cache_ttl
            content = cache.get_or_compute(key, counted, ttl)
            hit = "miss" if computed else "hit"
        elapsed = (time.perf_counter() - started) * 1000
        headers = {"X-Cache": hit, "Server-Timing": f"total;dur={elapsed:.1f}"}
        return Response(content, media_type=chosen.value, headers=headers)

    @app.post(
        "/v1/compile",
        response_model=CompileResponse,
        responses=_errors(400, 401, 403, 413, 422),
        tags=["queries"],
        name="compile",
    )
    def compile_(
        body: CompileRequest, who: _Caller = Who, layer: SemanticLayer = Layer
    ) -> CompileResponse:
        """The SQL of a query for a dialect (default: the server's database), without running
        it."""
        planned = _planned(layer, body, who.access, root, plans)
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

    @app.post(
        "/v1/admin/reload",
        response_model=ReloadResponse,
        responses=_errors(401, 403),
        tags=["admin"],
    )
    def reload(who: _Caller = Who) -> ReloadResponse:
        """Load the definitions again (admin role, or anyone on an anonymous service); a
        failed reload keeps serving the last good definitions and says why."""
        if authenticator is not None and ADMIN_ROLE not in who.principal.roles:
            raise Problem(403, "forbidden", f"reloading needs the '{ADMIN_ROLE}' role")
        attempt = definitions.reload()
        layer = definitions.layer
        log.info("definitions reload by %s: %s", who.principal.subject, attempt.ok)
        return ReloadResponse.model_validate(
            {
                "ok": attempt.ok,
                "message": attempt.message,
                "errors": diagnostics_body(attempt.errors, root),
                "metrics": 0 if layer is None else len(_healthy(layer)),
                "broken": [] if layer is None else sorted(layer.broken),
            }
        )

    return app


def from_environment() -> FastAPI:
    """The app of each worker of ``metrics-layer serve --workers N`` (a uvicorn factory): its
    configuration comes from the ``METRICS_LAYER_SERVE`` variable the command set."""
    import os

    from metrics_layer.server.config import CONFIG_VARIABLE, from_text

    text = os.environ.get(CONFIG_VARIABLE)
    if not text:
        raise UserError(
            f"{CONFIG_VARIABLE} is not set: start workers with `metrics-layer serve --workers N`"
        )
    return create_app(from_text(text))


def _authenticator(config: ServerConfig, definitions: Definitions) -> Authenticator | None:
    """The configured authenticator, or one reading ``access_file`` over the served layer
    (it follows reloads); None for an anonymous service."""
    if config.access_file is None:
        return config.authenticator
    from metrics_layer.server.auth import ServiceAuthenticator

    def served() -> SemanticLayer:
        layer = definitions.layer
        assert layer is not None  # create_app starts only with a layer, and keeps one
        return layer

    return ServiceAuthenticator.from_file(config.access_file, served)


def _cache(config: ServerConfig, layer: SemanticLayer) -> ResultCache | None:
    """The configured cache, or one opened from ``cache_url`` under the project's name."""
    if config.cache is not None or config.cache_url is None:
        return config.cache
    from metrics_layer.server.cache import open_cache

    url = None if config.cache_url == "memory" else config.cache_url
    return open_cache(url, namespace=layer.graph.settings.name)


def _version() -> str:
    from metrics_layer import __version__

    return __version__


# -- queries -------------------------------------------------------------------------------


class _Catalogues:
    """Encoded catalogue responses of the served layer by route and access key (equal keys
    see equal names, access.py), kept until the served layer changes: the whole catalogue
    takes milliseconds to build and validate and changes only with the definitions."""

    def __init__(self, max_bytes: int = 32 * 2**20) -> None:
        from cachetools import LRUCache

        self._lock = threading.Lock()
        self._layer: SemanticLayer | None = None
        # Bounded in bytes: with a policy whose row filter holds a claim (a tenant), each
        # tenant has its access key.
        self._entries: LRUCache[tuple[str, str], bytes] = LRUCache(maxsize=max_bytes, getsizeof=len)

    def get(self, layer: SemanticLayer, key: tuple[str, str], build: Callable[[], bytes]) -> bytes:
        """The response kept for ``key`` on ``layer``, or ``build()``'s, then kept (least
        recently used out first beyond ``max_bytes``)."""
        with self._lock:
            if self._layer is not layer:
                self._entries.clear()
                self._layer = layer
            found = self._entries.get(key)
        if found is not None:
            return found
        built = build()
        with self._lock:
            if self._layer is layer and len(built) <= self._entries.maxsize:
                self._entries[key] = built
        return built


def _json(content: bytes) -> Response:
    return Response(content, media_type="application/json")


class _Plans:
    """Planned queries of the served layer by their final spec (after the access policy's
    restriction), most recently used kept: a question asked again, as every cache hit is, is
    not planned again (planning a query takes 0.2 to 0.7 ms, more than the rest of a hit's
    own work). Emptied when the served layer changes (a reload)."""

    def __init__(self, size: int = 1024) -> None:
        from cachetools import LRUCache

        self._lock = threading.Lock()
        self._layer: SemanticLayer | None = None
        self._entries: LRUCache[MetricQuery, Query] = LRUCache(maxsize=size)

    def get(self, layer: SemanticLayer, spec: MetricQuery) -> Query:
        """The planned ``spec`` on ``layer``; a planning error (QueryError) is raised as by
        ``Query`` and nothing is kept."""
        with self._lock:
            if self._layer is not layer:
                self._entries.clear()
                self._layer = layer
            found = self._entries.get(spec)
        if found is not None:
            return found
        planned = Query(layer, spec)
        with self._lock:
            if self._layer is layer:
                self._entries[spec] = planned
        return planned


def _planned(
    layer: SemanticLayer,
    body: QueryRequest | CompileRequest,
    access: Access,
    root: Path,
    plans: _Plans,
) -> Query:
    """The query as the caller may run it: its fields checked by the library, the access
    policy's restriction applied (its UserError is a 403; a hidden name is refused before
    anything is said about it), broken metrics refused (422), then planned (or taken from
    ``plans``)."""
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
        restricted = access.restrict(layer, asked)
    except UserError as exc:
        raise Problem(403, "forbidden", str(exc), field=getattr(exc, "field", None)) from exc
    _refuse_broken(layer, list(restricted.metrics), root)
    return plans.get(layer, restricted)


def _refuse_broken(layer: SemanticLayer, names: list[str], root: Path) -> None:
    for name in names:
        found = layer.broken.get(name.partition("@")[0])
        if found is not None:
            raise Problem(
                422,
                "broken_metric",
                f"metric '{name}' is broken in the definitions and not served; fix the "
                "errors listed in diagnostics (GET /readyz lists every broken metric)",
                field="metrics",
                diagnostics=diagnostics_body(found, root),
            )


# -- catalogue -----------------------------------------------------------------------------


def _healthy(layer: SemanticLayer) -> list[str]:
    return [name for name in layer.graph.current if name not in layer.broken]


def _entry(
    layer: SemanticLayer, described: dict[str, Any], access: Access, root: Path
) -> dict[str, Any]:
    """A catalogue entry as the caller may see it, with the names it reads; its file is
    named from the project folder (the server's own paths are not shown)."""
    place = described["defined_in"]
    if place is not None:
        file, colon, line = place.rpartition(":")
        if not colon or not line.isdigit():
            file, colon, line = place, "", ""
        described["defined_in"] = f"{relative(file, root)}{colon}{line}"
    metric = layer.graph.metrics[described["name"]]
    reads = [i.measure or i.name for i in metric.inputs]
    if metric.measure is not None:
        reads.insert(0, metric.measure)
    described["inputs"] = list(dict.fromkeys(reads))
    described["dimensions"] = [
        d for d in described["dimensions"] if access.sees_dimension(d["name"])
    ]
    return described
