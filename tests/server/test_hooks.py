"""The hook points the access policies and the result cache plug into, with fakes: every
query goes through ``access.restrict``, the catalogue through ``sees_*``, results through
``cache.get_or_compute`` keyed by what decides them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import metrics_layer as ml
from metrics_layer.server.config import ServerConfig
from tests.conftest import DEFINITIONS
from tests.server.conftest import (
    FakeAccess,
    FakeAuthenticator,
    FakeCache,
    client_for,
    error_of,
)

ASK = {"metrics": ["signups"], "by": ["user.plan"], "order": ["user.plan"]}


@pytest.fixture(scope="module")
def parts() -> tuple[FakeAuthenticator, FakeCache]:
    policies = {
        "all": FakeAccess("all"),
        "us": FakeAccess("us", where="user.country = 'US'"),
        "no_plan": FakeAccess("no_plan", hidden=frozenset({"user.plan", "mrr"})),
        "boss": FakeAccess("all"),
    }
    return FakeAuthenticator(policies, {"boss": ("admin",)}), FakeCache()


@pytest.fixture(scope="module")
def guarded(demo_url: str, parts: tuple[FakeAuthenticator, FakeCache]) -> Iterator[Any]:
    authenticator, cache = parts
    config = ServerConfig(
        project=DEFINITIONS,
        connection=demo_url,
        authenticator=authenticator,
        cache=cache,
        cache_ttl=42.0,
    )
    with client_for(config) as client:
        yield client


def as_(user: str) -> dict[str, str]:
    return {"X-Test-User": user}


def test_no_authenticator_and_no_anonymous_refuses_to_start(demo_url: str) -> None:
    with pytest.raises(ml.UserError, match="allow_anonymous=True"):
        client_for(ServerConfig(project=DEFINITIONS, connection=demo_url))


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/v1/metrics"), ("get", "/v1/dimensions"), ("get", "/v1/metrics/signups")],
)
def test_unauthenticated_is_401(guarded: Any, method: str, path: str) -> None:
    response = getattr(guarded, method)(path, headers=as_("nobody"))
    assert response.status_code == 401
    assert error_of(response)["type"] == "unauthenticated"
    assert guarded.post("/v1/query", json=ASK).status_code == 401


def test_the_row_filter_is_applied(
    guarded: Any,
    parts: tuple[FakeAuthenticator, FakeCache],
    demo_sql: Callable[[str], list[tuple[Any, ...]]],
) -> None:
    us = guarded.post("/v1/query", json=ASK, headers=as_("us")).json()
    everyone = guarded.post("/v1/query", json=ASK, headers=as_("all")).json()
    assert us["rows"] == [
        list(r)
        for r in demo_sql(
            "SELECT plan, count(*) FROM users WHERE country = 'US' GROUP BY 1 ORDER BY 1"
        )
    ]
    assert everyone["rows"] == [
        list(r) for r in demo_sql("SELECT plan, count(*) FROM users GROUP BY 1 ORDER BY 1")
    ]
    authenticator, _ = parts
    assert authenticator.policies["us"].restricted[-1].metrics == ("signups",)


def test_the_cache_key_separates_policies_formats_and_queries(
    guarded: Any, parts: tuple[FakeAuthenticator, FakeCache]
) -> None:
    _, cache = parts
    cache.kept.clear()
    cache.computed.clear()
    first = guarded.post("/v1/query", json=ASK, headers=as_("us"))
    again = guarded.post("/v1/query", json=ASK, headers=as_("us"))
    assert (first.headers["x-cache"], again.headers["x-cache"]) == ("miss", "hit")
    assert first.content == again.content
    other = guarded.post("/v1/query", json=ASK, headers=as_("all"))
    assert other.headers["x-cache"] == "miss"
    assert other.json()["rows"] != first.json()["rows"]
    as_csv = guarded.post("/v1/query", json=ASK, headers={**as_("us"), "Accept": "text/csv"})
    assert as_csv.headers["x-cache"] == "miss"
    with_sql = guarded.post("/v1/query", json={**ASK, "include_sql": True}, headers=as_("us"))
    assert with_sql.headers["x-cache"] == "miss"
    assert with_sql.json()["sql"] is not None
    assert len(cache.kept) == 4
    assert set(cache.computed.values()) == {1}
    assert set(cache.ttls) == {42.0}
    assert all(key.startswith("r1-") for key in cache.kept)  # keys.result_key


def test_hidden_names_are_left_out_of_the_catalogue(guarded: Any) -> None:
    metrics = guarded.get("/v1/metrics", headers=as_("no_plan")).json()["metrics"]
    names = [m["name"] for m in metrics]
    assert "mrr" not in names
    assert "signups" in names
    signups = next(m for m in metrics if m["name"] == "signups")
    assert "user.plan" not in [d["name"] for d in signups["dimensions"]]
    dims = guarded.get("/v1/dimensions", headers=as_("no_plan")).json()["dimensions"]
    assert "user.plan" not in [d["name"] for d in dims]
    assert all("mrr" not in d["metrics"] for d in dims)
    response = guarded.get("/v1/metrics/mrr", headers=as_("no_plan"))
    assert response.status_code == 404
    # A near miss suggests only what the caller sees.
    near = guarded.get("/v1/metrics/mrrr", headers=as_("no_plan"))
    assert "mrr'" not in error_of(near)["message"]
    assert (
        "Did you mean 'mrr'?"
        in error_of(guarded.get("/v1/metrics/mrrr", headers=as_("all")))["message"]
    )
    assert guarded.get("/v1/metrics/mrr", headers=as_("all")).status_code == 200


def test_a_query_the_policy_refuses_is_403(guarded: Any) -> None:
    response = guarded.post("/v1/query", json=ASK, headers=as_("no_plan"))
    assert response.status_code == 403
    assert error_of(response)["type"] == "forbidden"
    compiled = guarded.post("/v1/compile", json=ASK, headers=as_("no_plan"))
    assert compiled.status_code == 403


def test_compile_shows_the_restricted_sql(guarded: Any) -> None:
    sql = guarded.post("/v1/compile", json=ASK, headers=as_("us")).json()["sql"]
    assert "'US'" in sql


def test_reload_needs_the_admin_role(guarded: Any) -> None:
    refused = guarded.post("/v1/admin/reload", headers=as_("all"))
    assert refused.status_code == 403
    guarded.post("/v1/query", json=ASK, headers=as_("us"))
    done = guarded.post("/v1/admin/reload", headers=as_("boss"))
    assert done.status_code == 200
    assert done.json()["ok"] is True
    # The same definitions make the same keys: a reload does not empty the cache (changed
    # definitions make new keys, docs/caching.md).
    again = guarded.post("/v1/query", json=ASK, headers=as_("us"))
    assert again.headers["x-cache"] == "hit"


def test_the_ttl_is_the_project_setting_unless_configured(demo_url: str) -> None:
    cache = FakeCache()
    config = ServerConfig(
        project=DEFINITIONS, connection=demo_url, allow_anonymous=True, cache=cache
    )
    with client_for(config) as client:
        client.post("/v1/query", json=ASK)
    assert cache.ttls == [300.0]  # the shipped project's cache_ttl (its default)


def test_an_authenticator_and_an_access_file_together_are_refused(
    demo_url: str, parts: tuple[FakeAuthenticator, FakeCache]
) -> None:
    with pytest.raises(ml.UserError, match="not both"):
        client_for(
            ServerConfig(
                project=DEFINITIONS,
                connection=demo_url,
                authenticator=parts[0],
                access_file="access.yml",
            )
        )
