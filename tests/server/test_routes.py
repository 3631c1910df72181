"""The routes on the real app, the shipped definitions and the demo DuckDB; numbers compared
with hand-written SQL on the same database."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest

import metrics_layer as ml
from tests.server.conftest import error_of

SIGNUPS_BY_YEAR = """
    SELECT CAST(date_trunc('year', signed_up_at) AS DATE), count(*)
    FROM users GROUP BY 1 ORDER BY 1
"""


def test_healthz(client: Any) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_on_a_clean_project(client: Any, layer: ml.SemanticLayer) -> None:
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ready"
    assert body["broken"] == []
    assert body["metrics"] == len(layer.graph.current)
    assert body["database"] == {"reachable": True, "dialect": "duckdb", "error": None}
    assert body["last_reload"]["ok"] is True


def test_metric_list_is_the_library_catalogue(client: Any, layer: ml.SemanticLayer) -> None:
    body = client.get("/v1/metrics").json()
    assert body["project"] == "product_ops"
    assert [m["name"] for m in body["metrics"]] == sorted(layer.graph.current)
    by_name = {m["name"]: m for m in body["metrics"]}
    assert by_name["signups"]["fingerprint"] == layer.fingerprints["signups"]
    assert by_name["signups"]["inputs"] == ["users.signups"]
    assert by_name["signups"]["defined_in"] == "metrics/growth.yml:3"
    assert by_name["paid_conversion_rate"]["inputs"] == [
        "user_payments.converted_signups",
        "user_payments.signups",
    ]


def test_one_metric(client: Any, layer: ml.SemanticLayer) -> None:
    response = client.get("/v1/metrics/daily_active_users")
    assert response.status_code == 200
    body = response.json()
    expected = layer.describe("daily_active_users")
    for key in ("label", "owner", "tags", "synonyms", "type", "status", "version"):
        assert body[key] == expected[key]
    assert body["synonyms"] == ["dau", "actives"]
    assert body["type"] == "simple"
    names = [d["name"] for d in body["dimensions"]]
    assert "metric_time" in names
    assert "user.plan" in names


def test_unknown_metric_is_404_with_a_suggestion(client: Any) -> None:
    response = client.get("/v1/metrics/signup")
    assert response.status_code == 404
    error = error_of(response)
    assert error["type"] == "not_found"
    assert "Did you mean 'signups'?" in error["message"]


def test_dimensions(client: Any, layer: ml.SemanticLayer) -> None:
    body = client.get("/v1/dimensions").json()
    assert [d["name"] for d in body["dimensions"]] == list(layer.dimensions)
    plan = next(d for d in body["dimensions"] if d["name"] == "user.plan")
    assert "signups" in plan["metrics"]


def test_query_numbers_match_hand_written_sql(
    client: Any, demo_sql: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    response = client.post("/v1/query", json={"metrics": ["signups"], "by": ["metric_time.year"]})
    assert response.status_code == 200
    body = response.json()
    expected = demo_sql(SIGNUPS_BY_YEAR)
    assert body["rows"] == [[day.isoformat(), count] for day, count in expected]
    assert body["columns"] == [
        {"name": "metric_time.year", "type": "date"},
        {"name": "signups", "type": "integer"},
    ]
    assert body["row_count"] == len(expected)
    assert body["metrics"]["signups"]["version"] == 1
    assert body["versions"] == {"signups": 1}
    assert body["sql"] is None
    assert body["timings"]["execute_ms"] >= 0
    assert response.headers["x-cache"] == "none"


def test_filtered_ratio_matches_hand_written_sql(
    client: Any, demo_sql: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    body = client.post(
        "/v1/query",
        json={
            "metrics": ["paid_conversion_rate", "signups"],
            "by": ["user.plan"],
            "where": "user.country = 'US'",
            "start": "2026-01-01",
            "end": "2026-06-30",
            "order": ["user.plan"],
            "include_sql": True,
        },
    ).json()
    expected = demo_sql(
        """
        SELECT plan,
               avg(CASE WHEN EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = u.user_id)
                   THEN 1.0 ELSE 0.0 END),
               count(*)
        FROM users u
        WHERE country = 'US' AND signed_up_at >= '2026-01-01' AND signed_up_at < '2026-07-01'
        GROUP BY plan ORDER BY plan
        """
    )
    assert [row[0] for row in body["rows"]] == [row[0] for row in expected]
    for got, want in zip(body["rows"], expected, strict=True):
        assert got[1] == pytest.approx(float(want[1]))
        assert got[2] == want[2]
    assert "country" in body["sql"]


def test_json_equals_the_library(client: Any, layer: ml.SemanticLayer) -> None:
    asked: dict[str, Any] = {
        "metrics": ["daily_active_users", "signups"],
        "by": ["metric_time.month"],
        "start": "2026-02-01",
        "end": "2026-04-30",
        "fill_periods": True,
    }
    body = client.post("/v1/query", json=asked).json()
    del asked["fill_periods"]
    result = layer.query(**asked, fill_periods=True).run()
    assert body["rows"] == [
        [v.isoformat() if isinstance(v, dt.date) else v for v in row] for row in result.rows
    ]
    assert body["partial"] == list(result.partial)


def test_csv(client: Any, demo_sql: Callable[[str], list[tuple[Any, ...]]]) -> None:
    response = client.post(
        "/v1/query",
        json={"metrics": ["signups"], "by": ["metric_time.year"]},
        headers={"Accept": "text/csv"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["metric_time.year", "signups"]
    assert rows[1:] == [[d.isoformat(), str(n)] for d, n in demo_sql(SIGNUPS_BY_YEAR)]


def test_arrow(client: Any, demo_sql: Callable[[str], list[tuple[Any, ...]]]) -> None:
    import json

    import pyarrow as pa

    response = client.post(
        "/v1/query",
        json={"metrics": ["signups"], "by": ["metric_time.year"]},
        headers={"Accept": "application/vnd.apache.arrow.stream"},
    )
    assert response.status_code == 200
    table = pa.ipc.open_stream(response.content).read_all()
    assert table.schema.field("metric_time.year").type == pa.date32()
    assert table.schema.field("signups").type == pa.int64()
    assert list(zip(*table.to_pydict().values(), strict=True)) == demo_sql(SIGNUPS_BY_YEAR)
    meta = json.loads(table.schema.metadata[b"metrics_layer"])
    assert meta["versions"] == {"signups": 1}


def test_an_unknown_accept_is_406(client: Any) -> None:
    response = client.post(
        "/v1/query", json={"metrics": ["signups"]}, headers={"Accept": "application/xml"}
    )
    assert response.status_code == 406
    assert error_of(response)["field"] == "Accept"


@pytest.mark.parametrize(
    ("dialect", "fragment"),
    [("snowflake", "DATE_TRUNC('YEAR'"), ("postgres", "DATE_TRUNC('YEAR'"), (None, "DATE_TRUNC")],
)
def test_compile(client: Any, layer: ml.SemanticLayer, dialect: str | None, fragment: str) -> None:
    response = client.post(
        "/v1/compile",
        json={"metrics": ["signups"], "by": ["metric_time.year"], "dialect": dialect},
    )
    assert response.status_code == 200
    body = response.json()
    query = layer.query(["signups"], by=["metric_time.year"])
    assert body["sql"] == query.sql(dialect)
    assert fragment in body["sql"]
    assert body["dialect"] == (dialect or "duckdb")
    assert body["columns"] == ["metric_time.year", "signups"]


def test_compile_to_an_unknown_dialect_is_400(client: Any) -> None:
    response = client.post("/v1/compile", json={"metrics": ["signups"], "dialect": "oracle9"})
    assert response.status_code == 400
    assert error_of(response)["field"] == "dialect"


def test_unknown_route_has_the_error_shape(client: Any) -> None:
    response = client.get("/v1/nothing")
    assert response.status_code == 404
    assert error_of(response)["type"] == "not_found"
