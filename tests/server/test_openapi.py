"""/openapi.json is a valid OpenAPI document that documents every route, its response model
and its error responses."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate
from starlette.routing import Route


def test_the_document_is_valid_openapi(client: Any) -> None:
    document = client.get("/openapi.json").json()
    validate(document)


def test_every_route_is_documented_with_responses(client: Any) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    builtin = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
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
