"""Result cache keys: what makes two keys differ, what must not, invalidation when definitions
change (a project copy edited and reloaded), and bad arguments."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer.planner.query import MetricQuery
from metrics_layer.server.cache import MemoryCache
from metrics_layer.server.keys import connection_identity, plain, result_key
from metrics_layer.server.redis_cache import RedisCache
from tests.conftest import DEFINITIONS, ROOT

TODAY = dt.date(2026, 4, 5)
PG = "postgresql+psycopg://reader:s3cret@127.0.0.1:5432/warehouse"


def key(
    layer: ml.SemanticLayer,
    query: MetricQuery | ml.Query | None = None,
    *,
    access_key: str = "public",
    connection: str | None = PG,
    fmt: str = "json",
    options: dict[str, object] | None = None,
    today: dt.date | None = TODAY,
) -> str:
    query = query or MetricQuery.of("signups", by="metric_time.month")
    return result_key(
        layer,
        query,
        access_key=access_key,
        connection=connection,
        fmt=fmt,
        options=options,  # type: ignore[arg-type]
        today=today,
    )


def test_the_same_question_has_the_same_key(layer: ml.SemanticLayer) -> None:
    planned = layer.query("signups", by="metric_time.month")
    first = key(layer)
    assert (
        first
        == key(layer, planned)
        == key(layer, MetricQuery.of(["signups"], by=["metric_time.month"]))
    )
    assert first.startswith("r1-")
    assert len(first) == 67
    assert set(first[3:]) <= set("0123456789abcdef")


@pytest.mark.parametrize(
    "changed",
    [
        {"access_key": "tenant_7"},
        {"access_key": ""},
        {"fmt": "csv"},
        {"fmt": "arrow"},
        {"options": {"include_sql": True}},
        {"options": {"max_rows": 100}},
        {"today": dt.date(2026, 4, 6)},
        {"connection": "postgresql+psycopg://reader:s3cret@127.0.0.1:5432/staging"},
        {"connection": "postgresql+psycopg://reader:s3cret@127.0.0.2:5432/warehouse"},
        {"connection": "postgresql+psycopg://writer:s3cret@127.0.0.1:5432/warehouse"},
        {"connection": "mysql://reader:s3cret@127.0.0.1:5432/warehouse"},
        {"connection": None},
    ],
)
def test_each_argument_is_part_of_the_key(
    layer: ml.SemanticLayer, changed: dict[str, object]
) -> None:
    assert key(layer, **changed) != key(layer)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "query",
    [
        MetricQuery.of("signups", by="metric_time.week"),
        MetricQuery.of(["signups", "mrr"], by="metric_time.month"),
        MetricQuery.of("signups", by=["metric_time.month", "user.plan"]),
        MetricQuery.of("signups", by="metric_time.month", where="user.country = 'DE'"),
        MetricQuery.of("signups", by="metric_time.month", start="2026-01-01"),
        MetricQuery.of("signups", by="metric_time.month", end="2026-03-31"),
        MetricQuery.of("signups", by="metric_time.month", order="-signups"),
        MetricQuery.of("signups", by="metric_time.month", order="signups"),
        MetricQuery.of("signups", by="metric_time.month", limit=5),
        MetricQuery.of("signups", by="metric_time.month", fill_periods=True),
        MetricQuery.of("signups", by="metric_time.month", start="2026-01-14", whole_periods=True),
    ],
)
def test_each_query_field_is_part_of_the_key(layer: ml.SemanticLayer, query: MetricQuery) -> None:
    assert key(layer, query) != key(layer)


def test_no_options_and_empty_options_are_one_key(layer: ml.SemanticLayer) -> None:
    assert key(layer, options={}) == key(layer)
    assert key(layer, options={"a": 1, "b": None}) == key(layer, options={"b": None, "a": 1})


def test_every_compared_field_of_a_query_is_in_the_key() -> None:
    @dataclasses.dataclass(frozen=True)
    class Filter:
        text: str
        tree: object = dataclasses.field(compare=False)

    @dataclasses.dataclass(frozen=True)
    class Query:
        metrics: tuple[str, ...]
        start: dt.date | None
        policy: Filter | None

    shown = plain(Query(("signups",), dt.date(2026, 1, 1), Filter("country = 'DE'", object())))
    assert shown == {
        "metrics": ["signups"],
        "policy": {"text": "country = 'DE'"},
        "start": "2026-01-01",
    }
    assert set(plain(MetricQuery.of("signups"))) == {  # type: ignore[arg-type]
        f.name for f in dataclasses.fields(MetricQuery)
    }
    with pytest.raises(TypeError, match="cannot hold a object"):
        plain(object())


def test_a_policy_filter_makes_tenants_keys_differ(layer: ml.SemanticLayer) -> None:
    # Even under one policy key, the row filter a policy adds is part of the query.
    de = MetricQuery.of("signups", by="metric_time.month", where="user.country = 'DE'")
    fr = MetricQuery.of("signups", by="metric_time.month", where="user.country = 'FR'")
    assert key(layer, de) != key(layer, fr)


def test_the_password_is_not_part_of_the_key(layer: ml.SemanticLayer) -> None:
    rotated = "postgresql+psycopg://reader:n3w-pw@127.0.0.1:5432/warehouse"
    as_option = "postgresql+psycopg://reader@127.0.0.1:5432/warehouse?password=s3cret"
    assert key(layer, connection=rotated) == key(layer)
    assert key(layer, connection=as_option) == key(layer)
    # The default driver is filled in: the same database either way.
    assert key(layer, connection="postgresql://reader:x@127.0.0.1:5432/warehouse") == key(layer)


@pytest.mark.parametrize(
    ("url", "identity"),
    [
        (PG, "postgresql+psycopg://reader@127.0.0.1:5432/warehouse"),
        (
            "postgresql://u:p%40ss@127.0.0.1/db?sslmode=require&password=p%40ss&api_token=t",
            "postgresql+psycopg://u@127.0.0.1/db?sslmode=require",
        ),
        ("duckdb:////data/warehouse.duckdb", "duckdb:////data/warehouse.duckdb"),
        ("spark://local?warehouse=/data/w", "spark://local?warehouse=%2Fdata%2Fw"),
    ],
)
def test_connection_identity_drops_secrets(url: str, identity: str) -> None:
    assert connection_identity(url) == identity


def test_every_metric_computed_counts_pinned_versions_too(tmp_path: Path) -> None:
    project = tmp_path / "pinned"
    shutil.copytree(ROOT / "docs" / "examples" / "pinned", project)
    before = ml.load(project)
    current = MetricQuery.of("weekly_active_users", by="metric_time.month")
    pinned = MetricQuery.of("weekly_active_users@1", by="metric_time.month")
    assert key(before, current) != key(before, pinned)
    # Version 1 is kept with another window: its fingerprint changes, version 2's does not.
    file = project / "metrics_layer.yml"
    text = file.read_text()
    assert text.endswith("        window: 7 days\n")
    file.write_text(text[: -len("7 days\n")] + "14 days\n")
    after = ml.load(project)
    assert after.fingerprints["weekly_active_users"] == before.fingerprints["weekly_active_users"]
    assert (
        after.fingerprints["weekly_active_users@1"] != before.fingerprints["weekly_active_users@1"]
    )
    assert key(after, current) == key(before, current)
    assert key(after, pinned) != key(before, pinned)


def test_a_changed_definition_is_never_served_from_the_cache(
    demo_db: Path, tmp_path: Path, redis_url: str, namespace: str
) -> None:
    project = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS, project)
    connection = f"duckdb:///{demo_db}"
    cache = RedisCache(redis_url, namespace=namespace)
    query = MetricQuery.of("signups", by="user.plan", order="user.plan")
    computes: list[str] = []

    def ask(layer: ml.SemanticLayer) -> list[list[object]]:
        def compute() -> bytes:
            computes.append("computed")
            rows = layer.query("signups", by="user.plan", order="user.plan").run().rows
            return json.dumps([list(row) for row in rows]).encode()

        found = cache.get_or_compute(key(layer, query, connection=connection), compute, 60)
        return list(json.loads(found))

    def edit(relative: str, old: str, new: str) -> ml.SemanticLayer:
        file = project / relative
        text = file.read_text()
        assert text.count(old) == 1
        file.write_text(text.replace(old, new))
        return ml.load(project, connection=connection)

    first = ask(ml.load(project, connection=connection))
    assert len(computes) == 1
    # A description: nothing a result depends on. The same key: a hit.
    edited = edit("metrics/growth.yml", "counted on the day", "counted on the very day")
    assert ask(edited) == first
    assert len(computes) == 1
    # The plan dimension now reads upper(plan): no metric's fingerprint changes, the SQL does.
    fingerprints = dict(edited.fingerprints)
    edited = edit(
        "sources/users.yml", "{name: plan, label:", "{name: plan, expr: upper(plan), label:"
    )
    assert dict(edited.fingerprints) == fingerprints
    upper = ask(edited)
    assert len(computes) == 2
    assert [row[0] for row in upper] == [str(row[0]).upper() for row in first]
    # The metric now counts free users only (plan is upper(plan) now): its fingerprint changes.
    edited = edit(
        "metrics/growth.yml",
        "    measure: users.signups\n",
        "    measure: users.signups\n    filter: \"plan = 'FREE'\"\n",
    )
    assert edited.fingerprints["signups"] != fingerprints["signups"]
    free = ask(edited)
    assert len(computes) == 3
    assert [row[0] for row in free] == ["FREE"]
    assert free[0][1] == dict(upper)["FREE"]


def test_the_key_follows_the_projects_today_by_default(layer: ml.SemanticLayer) -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(layer.graph.settings.time_zone)
    before = dt.datetime.now(zone).date()
    default, explicit = key(layer, today=None), key(layer, today=before)
    if dt.datetime.now(zone).date() != before:  # pragma: no cover
        pytest.skip("midnight passed while the test ran")
    assert default == explicit


def test_keys_work_as_memory_cache_keys(layer: ml.SemanticLayer) -> None:
    cache = MemoryCache(1024)
    assert cache.get_or_compute(key(layer), lambda: b"json", 60) == b"json"
    assert cache.get_or_compute(key(layer, fmt="csv"), lambda: b"csv", 60) == b"csv"
    assert cache.get_or_compute(key(layer), lambda: b"other", 60) == b"json"


@pytest.mark.parametrize(
    ("changed", "error", "message"),
    [
        ({"access_key": None}, ml.QueryError, "access_key: expected text, not NoneType"),
        ({"access_key": 7}, ml.QueryError, "access_key: expected text, not int"),
        ({"fmt": ""}, ml.QueryError, "fmt: is empty"),
        ({"fmt": b"json"}, ml.QueryError, "fmt: expected text, not bytes"),
        ({"fmt": "j" * 101}, ml.QueryError, "fmt: a format name is at most 100"),
        ({"today": dt.datetime(2026, 4, 5, 12)}, ml.QueryError, "today: expected a date"),
        ({"options": ["include_sql"]}, ml.QueryError, "options: expected a mapping, not list"),
        ({"options": {1: True}}, ml.QueryError, "options: names are text, not int"),
        ({"options": {"rows": [1]}}, ml.QueryError, "options: 'rows' is a list; give text"),
        ({"today": "2026-04-05"}, ml.QueryError, "today: expected a date"),
        ({"connection": ""}, ml.QueryError, "connection: is empty"),
        ({"connection": 5}, ml.QueryError, "connection: expected text"),
        ({"connection": "postgresql:u:s3cret@h/db"}, ml.EngineError, "is not a connection URL"),
        ({"connection": "postgresql://u:s3cret@h:port/db"}, ml.EngineError, "cannot read"),
    ],
)
def test_bad_arguments_are_refused_without_secrets(
    layer: ml.SemanticLayer, changed: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as raised:
        key(layer, **changed)  # type: ignore[arg-type]
    assert "s3cret" not in str(raised.value)


def test_unknown_names_and_other_layers_queries_are_refused(layer: ml.SemanticLayer) -> None:
    with pytest.raises(ml.QueryError, match="signupz"):
        key(layer, MetricQuery.of("signupz"))
    other = ml.load(ROOT / "docs" / "examples" / "pinned")
    with pytest.raises(ml.QueryError, match="query: was planned on another layer"):
        key(layer, other.query("weekly_active_users"))
