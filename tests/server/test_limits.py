"""Per-request limits: body size (413), row cap and timeout (the request's, lowered to the
server's), CORS (off unless configured)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from metrics_layer.server.config import Limits, ServerConfig
from tests.conftest import DEFINITIONS
from tests.server.conftest import client_for, error_of

DAILY = {"metrics": ["signups"], "by": ["metric_time.day"]}


@pytest.fixture(scope="module")
def limited(demo_url: str) -> Iterator[Any]:
    config = ServerConfig(
        project=DEFINITIONS,
        connection=demo_url,
        allow_anonymous=True,
        limits=Limits(timeout=10, max_rows=50, max_body_bytes=2_000),
        cors_origins=("https://dash.example.com",),
    )
    with client_for(config) as client:
        yield client


def test_a_large_body_is_413(limited: Any) -> None:
    big = {"metrics": ["signups"], "where": "user.plan = '" + "x" * 3_000 + "'"}
    response = limited.post("/v1/query", json=big)
    assert response.status_code == 413
    assert error_of(response)["type"] == "too_large"


def test_a_large_body_without_a_length_is_413(limited: Any) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"metrics": ["signups"], "where": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    response = limited.post(
        "/v1/query", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_the_server_row_cap_applies(limited: Any) -> None:
    response = limited.post("/v1/query", json=DAILY)
    assert response.status_code == 422
    error = error_of(response)
    assert (error["type"], error["field"]) == ("too_many_rows", "max_rows")
    assert "max_rows=50" in error["message"]


def test_a_higher_row_cap_is_lowered_to_the_server_one(limited: Any) -> None:
    response = limited.post("/v1/query", json={**DAILY, "max_rows": 10_000_000})
    assert "max_rows=50" in error_of(response)["message"]


def test_a_lower_row_cap_and_a_limit(limited: Any) -> None:
    assert (
        "max_rows=3"
        in error_of(limited.post("/v1/query", json={**DAILY, "max_rows": 3}))["message"]
    )
    response = limited.post("/v1/query", json={**DAILY, "limit": 40})
    assert response.status_code == 200
    assert response.json()["row_count"] == 40


def test_cors_answers_the_configured_origin_only(limited: Any, client: Any) -> None:
    asked = {
        "Origin": "https://dash.example.com",
        "Access-Control-Request-Method": "POST",
    }
    allowed = limited.options("/v1/query", headers=asked)
    assert allowed.headers["access-control-allow-origin"] == "https://dash.example.com"
    other = limited.get("/v1/metrics", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in other.headers
    # Off by default.
    default = client.get("/v1/metrics", headers={"Origin": "https://dash.example.com"})
    assert "access-control-allow-origin" not in default.headers


@pytest.mark.parametrize(
    "limits",
    [Limits(timeout=0), Limits(max_rows=0), Limits(max_body_bytes=-1)],
)
def test_bad_limits_are_refused(demo_url: str, limits: Limits) -> None:
    import metrics_layer as ml

    with pytest.raises(ml.UserError):
        client_for(
            ServerConfig(
                project=DEFINITIONS, connection=demo_url, allow_anonymous=True, limits=limits
            )
        )


def test_engine_errors_map_by_the_limit_they_ran_into(demo_db: Any) -> None:
    """The row cap and the timeout are told by ``EngineError.limit``, which the engine sets
    where it raises them; the row cap is run for real, and the message alone decides nothing."""
    import metrics_layer as ml
    from metrics_layer.errors import EngineError
    from metrics_layer.server.problems import problem_of

    layer = ml.load(DEFINITIONS, connection=f"duckdb:///{demo_db}")
    with pytest.raises(EngineError) as raised:
        layer.query("signups", by="metric_time.month").run(max_rows=2)
    assert raised.value.limit == "max_rows"
    cap = problem_of(raised.value)
    assert (cap.status, cap.type, cap.field) == (422, "too_many_rows", "max_rows")
    timeout = problem_of(EngineError("the query took too long", limit="timeout"))
    assert (timeout.status, timeout.type, timeout.field) == (504, "timeout", "timeout")
    worded = problem_of(EngineError("the query ran longer than the 2 s timeout"))
    assert (worded.status, worded.type) == (502, "engine")
    other = problem_of(EngineError("the database refused the query: no such table"))
    assert (other.status, other.type) == (502, "engine")


def test_an_unreachable_database_is_503_on_readyz_and_502_on_queries(tmp_path: Any) -> None:
    missing = f"duckdb:///{tmp_path}/nothing-here.duckdb"
    config = ServerConfig(project=DEFINITIONS, connection=missing, allow_anonymous=True)
    with client_for(config) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "unavailable"
        assert body["database"]["reachable"] is False
        assert "no DuckDB database" in body["database"]["error"]
        response = client.post("/v1/query", json={"metrics": ["signups"]})
        assert response.status_code == 502
        assert error_of(response)["type"] == "engine"
        assert client.get("/healthz").status_code == 200


def test_no_password_in_any_answer() -> None:
    url = "postgresql+psycopg://reader:s3cret-pw@127.0.0.1:1/warehouse"
    config = ServerConfig(project=DEFINITIONS, connection=url, allow_anonymous=True)
    with client_for(config) as client:
        answers = [
            client.get("/readyz"),
            client.post("/v1/query", json={"metrics": ["signups"], "include_sql": True}),
            client.post("/v1/compile", json={"metrics": ["signups"]}),
            client.get("/v1/metrics"),
        ]
    assert answers[0].status_code == 503
    assert answers[1].status_code == 502
    for answer in answers:
        assert "s3cret-pw" not in answer.text
