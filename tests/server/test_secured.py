"""The service with a real access file (API keys, a tenant row filter, a hidden metric) and the
in-process result cache: a tenant sees only its own rows, through every route and the cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from metrics_layer.server.config import ServerConfig
from tests.conftest import DEFINITIONS, require_service
from tests.server.conftest import client_for, error_of, tenant_access

KEYS = {"de": "de-" + "d" * 40, "us": "us-" + "u" * 40, "admin": "admin-" + "a" * 40}
ACCESS = tenant_access(KEYS)
ASK = {"metrics": ["signups"], "by": ["user.plan"], "order": ["user.plan"]}
BY_PLAN = "SELECT plan, count(*) FROM users WHERE country = '{}' GROUP BY 1 ORDER BY 1"


def key(who: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[who]}


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, demo_url: str) -> Iterator[Any]:
    access = tmp_path_factory.mktemp("access") / "access.yml"
    access.write_text(ACCESS, encoding="utf-8")
    config = ServerConfig(
        project=DEFINITIONS, connection=demo_url, access_file=access, cache_url="memory"
    )
    with client_for(config) as client:
        yield client


def test_no_key_is_401(secured: Any) -> None:
    response = secured.post("/v1/query", json=ASK)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert secured.post("/v1/query", json=ASK, headers={"X-API-Key": "x" * 40}).status_code == 401


def test_each_tenant_sees_its_own_rows_through_the_cache(
    secured: Any, demo_sql: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    for who, country in [("de", "DE"), ("us", "US"), ("de", "DE"), ("us", "US")]:
        response = secured.post("/v1/query", json=ASK, headers=key(who))
        assert response.status_code == 200
        assert response.json()["rows"] == [list(r) for r in demo_sql(BY_PLAN.format(country))]
    assert response.headers["x-cache"] == "hit"
    csv = secured.post("/v1/query", json=ASK, headers={**key("de"), "Accept": "text/csv"})
    lines = csv.text.strip().splitlines()[1:]
    assert lines == [f"{plan},{count}" for plan, count in demo_sql(BY_PLAN.format("DE"))]


def test_a_tenant_cannot_widen_its_filter(secured: Any) -> None:
    widened = {**ASK, "where": "user.country = 'US' OR 1 = 1"}
    rows = secured.post("/v1/query", json=widened, headers=key("de")).json()["rows"]
    de = secured.post("/v1/query", json=ASK, headers=key("de")).json()["rows"]
    assert rows == de
    nothing = {**ASK, "where": "user.country = 'US'"}
    assert secured.post("/v1/query", json=nothing, headers=key("de")).json()["rows"] == []


def test_the_compiled_sql_carries_the_row_filter(secured: Any) -> None:
    sql = secured.post("/v1/compile", json=ASK, headers=key("de")).json()["sql"]
    assert "'DE'" in sql


def test_a_hidden_metric_is_hidden_everywhere(secured: Any) -> None:
    names = [m["name"] for m in secured.get("/v1/metrics", headers=key("de")).json()["metrics"]]
    assert "mrr" not in names
    assert "signups" in names
    assert secured.get("/v1/metrics/mrr", headers=key("de")).status_code == 404
    refused = secured.post("/v1/query", json={"metrics": ["mrr"]}, headers=key("de"))
    assert refused.status_code == 403
    assert error_of(refused)["type"] == "forbidden"
    assert secured.get("/v1/metrics/mrr", headers=key("admin")).status_code == 200


def test_reload_and_readyz_details_need_the_admin(secured: Any) -> None:
    assert secured.post("/v1/admin/reload", headers=key("de")).status_code == 403
    assert secured.post("/v1/admin/reload", headers=key("admin")).json()["ok"] is True
    probe = secured.get("/readyz").json()
    assert probe["cache"] == {"backend": "memory", "healthy": True, "where": None, "error": None}
    admin = secured.get("/readyz", headers=key("admin")).json()
    assert admin["cache"]["backend"] == "memory"
    assert admin["cache"]["healthy"] is True


def test_an_access_file_naming_an_unknown_metric_stops_the_start(
    tmp_path: Path, demo_url: str
) -> None:
    import metrics_layer as ml

    access = tmp_path / "access.yml"
    access.write_text(ACCESS.replace("deny: [mrr]", "deny: [mrrr]"), encoding="utf-8")
    with pytest.raises(ml.DefinitionError, match="mrrr"):
        client_for(ServerConfig(project=DEFINITIONS, connection=demo_url, access_file=access))


def test_tenants_sharing_a_redis_cache_across_workers_see_only_their_rows(
    tmp_path: Path, demo_url: str, demo_sql: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    """Two app instances (two workers) share one Redis namespace: the first tenant's cached
    answer is never served to the other, and each worker serves a tenant's answer cached by
    the other worker."""
    import uuid

    import redis

    from metrics_layer.server.redis_cache import RedisCache
    from tests.server_cache.conftest import REDIS_URL

    probe = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        probe.ping()
    except redis.RedisError as exc:
        require_service("Redis", False, str(exc))
    access = tmp_path / "access.yml"
    access.write_text(ACCESS, encoding="utf-8")
    namespace = f"test-{uuid.uuid4().hex}"

    def worker() -> ServerConfig:
        cache = RedisCache(REDIS_URL, namespace=namespace)
        return ServerConfig(
            project=DEFINITIONS, connection=demo_url, access_file=access, cache=cache
        )

    try:
        with client_for(worker()) as first, client_for(worker()) as second:
            asked = [(first, "de"), (second, "us"), (second, "de"), (first, "us")]
            for number, (client, who) in enumerate(asked):
                response = client.post("/v1/query", json=ASK, headers=key(who))
                country = "DE" if who == "de" else "US"
                assert response.json()["rows"] == [
                    list(r) for r in demo_sql(BY_PLAN.format(country))
                ]
                assert response.headers["x-cache"] == ("miss" if number < 2 else "hit")
    finally:
        stale = list(probe.scan_iter(match=f"metrics_layer:{namespace}:*"))
        if stale:
            probe.delete(*stale)
        probe.close()
