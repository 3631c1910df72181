"""A tenant never sees another tenant's rows: every query under the ``tenant`` policy
(``user.country = {claims.country}``) is run on the demo DuckDB and compared with hand-written
SQL over that tenant's rows only."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

import metrics_layer as ml
from metrics_layer.api import Query
from metrics_layer.errors import AccessError
from metrics_layer.planner.query import MetricQuery, OrderBy
from metrics_layer.server.access import PolicyAccess

from .helpers import run, sql_rows

DemoSQL = Callable[[str], list[tuple[object, ...]]]
Tenant = Callable[..., PolicyAccess]

SIGNUPS_BY_PLAN = """
    SELECT plan, COUNT(*) FROM users WHERE country = '{c}' GROUP BY plan ORDER BY plan
"""


@pytest.fixture(scope="module")
def de(tenant: Tenant) -> PolicyAccess:
    return tenant(country="DE")


@pytest.fixture(scope="module")
def de_signups(demo_sql: DemoSQL) -> list[Any]:
    return sql_rows(demo_sql, SIGNUPS_BY_PLAN.format(c="DE"))


def test_the_row_filter_keeps_the_tenants_rows(
    de: PolicyAccess, layer: ml.SemanticLayer, de_signups: list[Any]
) -> None:
    assert len(de_signups) == 4  # free, starter, pro and enterprise: a real comparison
    assert run(de, layer, "signups", by="user.plan") == de_signups


@pytest.mark.parametrize(
    "where",
    [
        "user.plan <> 'nothing' OR 1 = 1",
        "1 = 1 OR user.country <> 'DE'",
        "user.country <> 'DE' OR user.country = 'DE'",
        "user.country IS NULL OR user.country IS NOT NULL",
        "NOT (user.country = 'DE' AND 1 = 0)",
        "COALESCE(user.country, 'x') = COALESCE(user.country, 'x')",
        "users.country IN ('DE', 'FR', 'US', 'IN', 'GB', 'JP', 'BR')",
    ],
)
def test_a_where_that_widens_cannot_reach_other_tenants(
    de: PolicyAccess, layer: ml.SemanticLayer, de_signups: list[Any], where: str
) -> None:
    assert run(de, layer, "signups", by="user.plan", where=where) == de_signups


@pytest.mark.parametrize(
    "where",
    [
        "user.country = 'FR'",
        "user.country <> 'DE'",
        "user.country IS NULL",
        "NOT user.country = 'DE'",
        "user.country IN ('FR', 'US')",
    ],
)
def test_a_where_naming_another_tenant_finds_nothing(
    de: PolicyAccess, layer: ml.SemanticLayer, demo_sql: DemoSQL, where: str
) -> None:
    expected = sql_rows(
        demo_sql,
        f"SELECT plan, COUNT(*) FROM users WHERE country = 'DE' AND ({where.replace('user.', '')})"
        " GROUP BY plan ORDER BY plan",
    )
    assert expected == []
    assert run(de, layer, "signups", by="user.plan", where=where) == []


def test_grouping_by_the_tenant_dimension_shows_only_the_tenant(
    de: PolicyAccess, layer: ml.SemanticLayer, demo_sql: DemoSQL
) -> None:
    expected = sql_rows(
        demo_sql, "SELECT country, COUNT(*) FROM users WHERE country = 'DE' GROUP BY 1"
    )
    assert run(de, layer, "signups", by="user.country") == expected
    assert run(de, layer, by="user.country") == [["DE"]]
    assert run(de, layer, by="users.country") == [["DE"]]


def test_a_joined_source_is_cut_to_the_tenant(
    de: PolicyAccess, layer: ml.SemanticLayer, demo_sql: DemoSQL
) -> None:
    expected = sql_rows(
        demo_sql,
        """
        SELECT u.country, e.platform, COUNT(DISTINCT e.user_id)
        FROM events e JOIN users u ON u.user_id = e.user_id
        WHERE u.country = 'DE' AND e.event_type NOT IN ('email_open', 'login_failed')
          AND e.occurred_at >= DATE '2026-01-01' AND e.occurred_at < DATE '2026-04-01'
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
    )
    assert len(expected) == 3
    got = run(
        de,
        layer,
        "active_users",
        by=["user.country", "event.platform"],
        start="2026-01-01",
        end="2026-03-31",
    )
    assert got == expected


def test_a_ratio_and_a_rolling_metric_are_cut_to_the_tenant(
    de: PolicyAccess, layer: ml.SemanticLayer, demo_sql: DemoSQL
) -> None:
    expected = sql_rows(
        demo_sql,
        """
        SELECT COUNT(DISTINCT e.user_id) FROM events e JOIN users u ON u.user_id = e.user_id
        WHERE u.country = 'DE' AND e.event_type NOT IN ('email_open', 'login_failed')
          AND e.occurred_at >= DATE '2026-03-25' AND e.occurred_at < DATE '2026-04-01'
        """,
    )
    rows = run(
        de, layer, "weekly_active_users", by="metric_time.day", start="2026-03-31", end="2026-03-31"
    )
    assert [row[1] for row in rows] == [expected[0][0]]


def test_order_and_limit_pick_from_the_tenants_rows_only(
    de: PolicyAccess, layer: ml.SemanticLayer, demo_sql: DemoSQL
) -> None:
    expected = sql_rows(
        demo_sql,
        "SELECT country, COUNT(*) FROM users WHERE country = 'DE' "
        "GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
    )
    assert run(de, layer, "signups", by="user.country", order="-signups", limit=1) == expected
    top_plan = sql_rows(demo_sql, SIGNUPS_BY_PLAN.format(c="DE") + " DESC LIMIT 1")
    assert run(de, layer, "signups", by="user.plan", order="-user.plan", limit=1) == top_plan


def test_min_and_max_of_a_dimension_are_the_tenants(
    de: PolicyAccess, layer: ml.SemanticLayer, demo_sql: DemoSQL
) -> None:
    [[first, last]] = sql_rows(
        demo_sql,
        "SELECT MIN(CAST(signed_up_at AS DATE)), MAX(CAST(signed_up_at AS DATE)) FROM users "
        "WHERE country = 'DE'",
    )
    [[everyone_first]] = sql_rows(demo_sql, "SELECT MIN(CAST(signed_up_at AS DATE)) FROM users")
    assert first != everyone_first  # the first signup of all is not German: a real comparison
    got = run(de, layer, "min(user.signed_up_at)", "max(user.signed_up_at)")
    assert got == [[first, last]]


def test_a_pinned_version_is_cut_to_the_tenant(
    tenant: Tenant, demo_db: Any, demo_sql: DemoSQL
) -> None:
    from pathlib import Path

    pinned = ml.load(Path(__file__).parent / "pinned", connection=f"duckdb:///{demo_db}")
    access = PolicyAccess(tenant(country="DE").policy, {"country": "DE"}, pinned.graph)
    expected = sql_rows(demo_sql, SIGNUPS_BY_PLAN.format(c="DE"))
    paid = [[plan, count if plan != "free" else 0] for plan, count in expected]
    assert run(access, pinned, "signups@1", by="user.plan") == expected
    assert run(access, pinned, "signups", "signups@1", by="user.plan") == [
        [plan, p, e] for (plan, p), (_, e) in zip(paid, expected, strict=True)
    ]


def test_two_tenants_never_share_compiled_sql(
    tenant: Tenant, layer: ml.SemanticLayer, demo_sql: DemoSQL
) -> None:
    asked = MetricQuery.of("signups", by="user.plan", where="user.plan <> 'x' OR 1 = 1")
    for country in ("DE", "FR", "DE", "JP"):  # DE again: its cached SQL, not FR's
        access = tenant(country=country)
        query = Query(layer, access.restrict(layer, asked))
        rows = [list(r) for r in query.run().rows]
        assert rows == sql_rows(demo_sql, SIGNUPS_BY_PLAN.format(c=country))
        assert f"'{country}'" in query.sql()
    assert tenant(country="DE").key == tenant(country="DE").key
    assert len({tenant(country=c).key for c in ("DE", "FR", "de", "DE ")}) == 4


@pytest.mark.parametrize(
    "value",
    [
        "DE' OR '1'='1",
        "DE'; DROP TABLE users; --",
        "DE' --",
        "DE\\' OR 1=1 --",
        "' UNION SELECT country FROM users --",
        "\uff24\uff25",  # fullwidth DE
        "DE\u202e",
        "D\u0301E",
        "{claims.country}",
        "$1",
        "?",
        "x" * 1000,
    ],
)
def test_hostile_claim_values_are_literals(
    tenant: Tenant, layer: ml.SemanticLayer, demo_sql: DemoSQL, value: str
) -> None:
    """A hostile value is compared as the string it is: no country is named like it, so no
    row, and no other tenant's."""
    access = tenant(country=value)
    escaped = value.replace("'", "''")
    assert sql_rows(demo_sql, f"SELECT COUNT(*) FROM users WHERE country = '{escaped}'") == [[0]]
    assert run(access, layer, "signups", by="user.country") == []
    assert run(access, layer, by="user.country") == []
    assert sql_rows(demo_sql, "SELECT COUNT(*) FROM users") == [[2977]]


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({"country": "DE"}, "is a dict"),
        ([["DE"]], "is a list"),
        (None, "is a NoneType"),
        ("x" * 1001, "at most 1,000"),
        ("\udcff", "not text"),
        ("DE\u0000", "NUL"),
        (float("nan"), "not a finite number"),
        ([], "empty list"),
        (["DE"] * 1001, "at most 1,000"),
    ],
)
def test_unusable_claim_values_are_refused_without_being_echoed(
    tenant: Tenant, value: object, match: str
) -> None:
    with pytest.raises(AccessError, match=match) as caught:
        tenant(country=value)
    assert "xxxxxxxx" not in str(caught.value)


def test_a_missing_claim_refuses_the_request(tenant: Tenant) -> None:
    with pytest.raises(AccessError, match="no claim 'country'"):
        tenant()
    with pytest.raises(AccessError, match="no claim 'countries'"):
        tenant(("regional",), country="DE")


def test_a_number_or_boolean_claim_is_a_typed_literal(tenant: Tenant) -> None:
    assert "user.country = 49" in tenant(country=49).row.text  # type: ignore[union-attr]
    assert "user.country = -1.5" in tenant(country=-1.5).row.text  # type: ignore[union-attr]
    assert "user.country = TRUE" in tenant(country=True).row.text  # type: ignore[union-attr]


def test_a_list_claim_is_an_in_list(
    tenant: Tenant, layer: ml.SemanticLayer, demo_sql: DemoSQL
) -> None:
    regional = tenant(("regional",), countries=["DE", "FR", "FR' OR 1=1 --"])
    expected = sql_rows(
        demo_sql,
        "SELECT country, COUNT(*) FROM users WHERE country IN ('DE', 'FR') GROUP BY 1 ORDER BY 1",
    )
    assert run(regional, layer, "signups", by="user.country") == expected
    listed = tenant(country=["DE", "FR"])  # '=' with a list claim: IN
    assert run(listed, layer, "signups", by="user.country") == expected


# -- visibility ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"metrics": ["mrr"]}, "metrics"),
        ({"metrics": ["signups", "mrr@1"]}, "metrics"),
        ({"metrics": ["signups"], "by": ["user.acquisition_channel"]}, "by"),
        ({"metrics": ["signups"], "by": ["users.acquisition_channel"]}, "by"),
        ({"metrics": ["signups"], "where": "acquisition_channel = 'paid'"}, "where"),
        ({"metrics": ["signups"], "where": "users.acquisition_channel IS NULL"}, "where"),
        ({"by": ["user.acquisition_channel"]}, "by"),
        ({"metrics": ["max(users.acquisition_channel)"]}, "metrics"),
    ],
)
def test_hidden_names_are_refused_wherever_they_are_asked(
    de: PolicyAccess, layer: ml.SemanticLayer, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(AccessError, match=f"^{field}: no (metric|dimension) ") as caught:
        de.restrict(layer, MetricQuery.of(**fields))
    message = str(caught.value)
    asked = " ".join([*fields.get("metrics", []), *fields.get("by", []), fields.get("where", "")])
    for hidden in ("mrr", "churned_mrr", "acquisition_channel"):
        assert hidden not in message or hidden in asked


def test_a_hidden_name_in_order_is_refused(de: PolicyAccess, layer: ml.SemanticLayer) -> None:
    query = dataclasses.replace(
        MetricQuery.of("signups", by="user.plan"),
        order=(OrderBy("user.acquisition_channel"),),
    )
    with pytest.raises(AccessError, match=r"^order: "):
        de.restrict(layer, query)


def test_suggestions_name_only_visible_names(de: PolicyAccess, layer: ml.SemanticLayer) -> None:
    with pytest.raises(AccessError) as caught:
        de.restrict(layer, MetricQuery.of("signups", by="user.acquisition_chanel"))
    assert "acquisition_channel'" not in str(caught.value)
    with pytest.raises(AccessError) as caught:
        de.restrict(layer, MetricQuery.of("churned_mr"))
    assert "churned_mrr" not in str(caught.value)
    with pytest.raises(AccessError, match="Did you mean 'signups'"):
        de.restrict(layer, MetricQuery.of("signup"))


def test_visibility_answers_for_every_spelling(de: PolicyAccess, tenant: Tenant) -> None:
    assert de.sees_metric("signups")
    assert not de.sees_metric("mrr")
    assert not de.sees_metric("mrr@1")
    for name in ("user.acquisition_channel", "users.acquisition_channel", "acquisition_channel"):
        assert not de.sees_dimension(name)
    assert de.sees_dimension("user.country")
    assert de.sees_dimension("metric_time.week")
    regional = tenant(("regional",), countries=["DE"])
    assert regional.sees_dimension("user.signed_up_at.month")
    assert not regional.sees_dimension("event.platform")
    assert regional.sees_metric("signups")
    assert not regional.sees_metric("arpu")


def test_no_matching_policy_sees_nothing(tenant: Tenant, layer: ml.SemanticLayer) -> None:
    nobody = tenant(("visitor",))
    assert not nobody.sees_metric("signups")
    assert not nobody.sees_dimension("user.plan")
    with pytest.raises(AccessError, match="no access policy applies"):
        nobody.restrict(layer, MetricQuery.of("signups"))


def test_a_row_filter_a_metric_cannot_reach_refuses_it(
    tenant: Tenant, layer: ml.SemanticLayer, demo_sql: DemoSQL
) -> None:
    ios = tenant(("platform",), platform="ios")
    with pytest.raises(AccessError, match="'signups' cannot be filtered by your access policy"):
        ios.restrict(layer, MetricQuery.of("signups", by="user.plan"))
    expected = sql_rows(
        demo_sql,
        "SELECT platform, COUNT(DISTINCT user_id) FROM events WHERE platform = 'ios' "
        "AND event_type NOT IN ('email_open', 'login_failed') GROUP BY 1",
    )
    assert run(ios, layer, "active_users", by="event.platform") == expected  # one that can


def test_a_metric_per_entity_in_where_is_refused_under_a_row_filter(
    de: PolicyAccess, layer: ml.SemanticLayer
) -> None:
    with pytest.raises(AccessError, match="a metric per user cannot be filtered on"):
        de.restrict(layer, MetricQuery.of("signups", where="user.active_users > 3"))


def test_admin_sees_everything_and_every_row(
    auth: Any, layer: ml.SemanticLayer, demo_sql: DemoSQL
) -> None:
    from metrics_layer.server.contracts import Principal

    admin = auth.access(Principal("root", ("admin",), {}))
    query = MetricQuery.of("mrr", by="user.acquisition_channel")
    assert admin.restrict(layer, query) is query
    expected = sql_rows(demo_sql, "SELECT country, COUNT(*) FROM users GROUP BY 1 ORDER BY 1")
    assert run(admin, layer, "signups", by="user.country") == expected


def test_the_row_filter_compiles_exactly_as_the_same_where(
    layer: ml.SemanticLayer, tenant: Tenant
) -> None:
    """For every metric the tenant sees, its query compiles to the SQL of the same query with
    the row filter written into ``where`` by hand: the filter is resolved, joined and applied
    wherever a ``where`` is (windows, cohorts, conversions, offsets), or the metric is refused
    under both."""
    access = tenant(country="DE")
    compared = 0
    catalogue = {m["name"]: m for m in layer.catalogue()["metrics"]}
    for name in sorted(layer.graph.current):
        if not access.sees_metric(name):
            continue
        by = ["metric_time.month", *catalogue[name]["required_dimensions"]]
        for where in (None, "user.plan <> 'free' OR 1 = 1"):
            asked = MetricQuery.of(name, by=by, where=where, start="2026-01-01", end="2026-06-30")
            by_hand = (
                "user.country = 'DE'" if where is None else f"({where}) AND user.country = 'DE'"
            )
            try:
                expected = layer.query(
                    name, by=by, where=by_hand, start="2026-01-01", end="2026-06-30"
                ).sql()
            except ml.QueryError:
                with pytest.raises(AccessError):
                    access.restrict(layer, asked)
                continue
            assert Query(layer, access.restrict(layer, asked)).sql() == expected, name
            compared += 1
    assert compared >= 40


def test_a_token_tenant_sees_its_own_rows_end_to_end(
    auth: Any, layer: ml.SemanticLayer, demo_sql: DemoSQL
) -> None:
    from .helpers import token

    bearer = token({"roles": ["tenant"], "country": "JP"})
    access = auth.access(auth.authenticate({"Authorization": f"Bearer {bearer}"}))
    rows = run(access, layer, "signups", by="user.plan", where="1 = 1 OR user.country = 'US'")
    assert rows == sql_rows(demo_sql, SIGNUPS_BY_PLAN.format(c="JP"))
    for hostile in ({"$ne": None}, None, [["JP"]], {"country": "JP"}):
        principal = auth.authenticate(
            {"Authorization": f"Bearer {token({'roles': ['tenant'], 'country': hostile})}"}
        )
        if hostile is None:  # left out of the token: a missing claim
            assert "country" not in principal.claims
        with pytest.raises(AccessError, match="claim 'country'"):
            auth.access(principal)
