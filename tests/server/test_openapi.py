"""/openapi.json is a valid OpenAPI document that documents every route, its response model
and its error responses."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate
from starlette.routing import Route

from metrics_layer.server.page import PAGE_PATHS


def test_the_document_is_valid_openapi(client: Any) -> None:
    document = client.get("/openapi.json").json()
    validate(document)


def test_every_route_is_documented_with_responses(client: Any) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    # FastAPI's own pages, and the catalogue page (HTML and its files, not the API).
    builtin = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", *PAGE_PATHS}
    routes = [r for r in client.app.routes if isinstance(r, Route) and r.path not in builtin]
    assert routes
    for route in routes:
        assert route.path in paths, route.path
        for method in route.methods - {"HEAD"}:
            operation = paths[route.path][method.lower()]
            ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
            assert "$ref" in ok, (route.path, ok)
            if route.path.startswith("/v1/"):
                errors = [code for code in operation["responses"] if code[0] in "45"]
                assert errors, route.path
                for code in errors:
                    schema = operation["responses"][code]["content"]["application/json"]
                    assert schema["schema"]["$ref"].endswith("/ErrorBody"), (route.path, code)


def test_query_documents_its_encodings(client: Any) -> None:
    document = client.get("/openapi.json").json()
    content = document["paths"]["/v1/query"]["post"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv", "application/vnd.apache.arrow.stream"}


def test_responses_match_their_documented_models(client: Any) -> None:
    from metrics_layer.server import models

    ask = {"metrics": ["signups"], "by": ["metric_time.year"], "include_sql": True}
    checks = [
        (client.get("/healthz"), models.Health),
        (client.get("/readyz"), models.Readiness),
        (client.get("/v1/metrics"), models.MetricList),
        (client.get("/v1/metrics/signups"), models.CatalogueMetric),
        (client.get("/v1/dimensions"), models.DimensionList),
        (client.post("/v1/query", json=ask), models.QueryResponse),
        (client.post("/v1/compile", json=ask | {"include_sql": None}), models.ErrorBody),
        (client.post("/v1/compile", json={"metrics": ["signups"]}), models.CompileResponse),
        (client.post("/v1/query", json={"metrics": ["nope"]}), models.ErrorBody),
        (client.get("/v1/metrics/nope"), models.ErrorBody),
    ]
    for response, model in checks:
        body = response.json()
        checked = model.model_validate(body)
        # Nothing in the response that the model does not document.
        assert checked.model_dump(exclude_unset=True).keys() == body.keys(), model.__name__


def test_operation_ids_are_the_route_names(client: Any) -> None:
    document = client.get("/openapi.json").json()
    ids = sorted(
        operation["operationId"]
        for methods in document["paths"].values()
        for operation in methods.values()
    )
    assert ids == sorted(
        ["healthz", "readyz", "metrics", "metric", "dimensions", "query", "compile", "reload"]
    )
