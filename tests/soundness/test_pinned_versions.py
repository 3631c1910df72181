"""Pinned versions: ``name@N`` answers with version N's meaning while a later version exists.

Hand-computed on literal rows. Events (user, type, day), 2026:

| month | events                                                       |
|-------|--------------------------------------------------------------|
| Jan   | 1 login, 2 email_open, 3 email_open, 1 email_open            |
| Feb   | 2 login, 3 email_open, 4 purchase, 2 email_open              |
| Mar   | 5 email_open                                                 |

``active_users`` counts distinct users. Version 1 counted every event: Jan {1, 2, 3} = 3,
Feb {2, 3, 4} = 3, Mar {5} = 1. Version 2 (current) leaves email opens out: Jan {1} = 1,
Feb {2, 4} = 2, Mar none = 0 (a count of nothing). ``weekly_users`` is version 2, rolling; its
version 1 was a simple metric (a type change is a new version too) and so equals
``active_users@1`` by month. ``rolling_users`` keeps a rolling version 1 (its own window CTEs,
named ``..._rolling_users__v1``) beside its filtered version 2. ``buyer_rate`` (below) is a
conversion metric whose kept version 1 had a shorter window.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import duckdb
import pytest

import metrics_layer as ml
from metrics_layer.cli.main import main
from metrics_layer.errors import QueryError
from metrics_layer.graph.fingerprint import Fingerprints
from soundness.literal import LiteralLayer, literal_rows, only

D = dt.date

EVENTS = literal_rows(
    {"user_id": None, "event_type": None, "occurred_at": "DATE"},
    [
        (1, "login", D(2026, 1, 5)),
        (2, "email_open", D(2026, 1, 6)),
        (3, "email_open", D(2026, 1, 20)),
        (1, "email_open", D(2026, 1, 21)),
        (2, "login", D(2026, 2, 3)),
        (3, "email_open", D(2026, 2, 4)),
        (4, "purchase", D(2026, 2, 10)),
        (2, "email_open", D(2026, 2, 11)),
        (5, "email_open", D(2026, 3, 2)),
    ],
)

SOURCE = f"""
sources:
  - name: events
    sql: "{EVENTS}"
    time: occurred_at
    entities: [{{name: user, key: user_id}}]
    dimensions: [{{name: event_type}}, {{name: occurred_at, type: time}}]
    measures: [{{name: active_users, agg: count_distinct, expr: user_id}}]
"""

DEFINITIONS = (
    SOURCE
    + """
metrics:
  - name: active_users
    label: Active users
    owner: growth
    status: certified
    description: Users with an event that is not an email open.
    version: 2
    type: simple
    measure: events.active_users
    filter: "event_type <> 'email_open'"
    changelog:
      - {version: 2, date: 2026-11-01, change: "Email opens no longer count as activity."}
      - {version: 1, date: 2026-01-10, change: "First version."}
    versions:
      - version: 1
        type: simple
        measure: events.active_users
  - name: weekly_users
    version: 2
    type: rolling
    measure: events.active_users
    window: 7 days
    changelog:
      - {version: 2, date: 2026-11-01, change: "A trailing week instead of the month."}
    versions:
      - {version: 1, type: simple, measure: events.active_users}
  - name: rolling_users
    version: 2
    type: rolling
    measure: events.active_users
    window: 7 days
    filter: "event_type <> 'email_open'"
    changelog:
      - {version: 2, date: 2026-11-01, change: "Email opens no longer count as activity."}
    versions:
      - {version: 1, type: rolling, measure: events.active_users, window: 7 days}
"""
)

# Version 1 as it was written before version 2 existed.
VERSION_1 = (
    SOURCE
    + """
metrics:
  - name: active_users
    type: simple
    measure: events.active_users
"""
)

BY_MONTH = [
    (D(2026, 1, 1), 1, 3),
    (D(2026, 2, 1), 2, 3),
    (D(2026, 3, 1), 0, 1),
]
ENGINES = only("duckdb", "sqlite", "postgres", "mariadb")


def _by_month(layer: ml.SemanticLayer, metrics: list[str]) -> ml.Result:
    return layer.query(metrics, by="metric_time.month", order="metric_time.month").run()


@pytest.mark.parametrize("engine", ENGINES)
def test_two_versions_in_one_query_give_their_own_numbers(
    literal_layer: LiteralLayer, engine: str
) -> None:
    layer = literal_layer(DEFINITIONS, engine)
    result = _by_month(layer, ["active_users", "active_users@1"])
    assert result.columns == ("metric_time.month", "active_users", "active_users@1")
    assert list(result.rows) == BY_MONTH


# Users in the 7 days ending on each day, Feb 3 to Feb 11. Version 1 (every event): Feb 3 {2};
# Feb 4 to 9 {2, 3} (2 on Feb 3, 3 on Feb 4); Feb 10 {3, 4}; Feb 11 {4, 2}. Version 2 (no email
# opens: 1 on Jan 5, 2 on Feb 3, 4 on Feb 10): Feb 3 to 9 {2}; Feb 10 and 11 {4}.
ROLLING_BY_DAY = [(D(2026, 2, day), 1, 1 if day == 3 else 2) for day in range(3, 12)]


@pytest.mark.parametrize("engine", ENGINES)
def test_two_versions_of_a_rolling_metric_in_one_query(
    literal_layer: LiteralLayer, engine: str
) -> None:
    layer = literal_layer(DEFINITIONS, engine)
    result = layer.query(
        ["rolling_users", "rolling_users@1"],
        by="metric_time.day",
        start="2026-02-03",
        end="2026-02-11",
        order="metric_time.day",
    ).run()
    assert result.columns == ("metric_time.day", "rolling_users", "rolling_users@1")
    assert list(result.rows) == ROLLING_BY_DAY


def test_each_version_equals_hand_written_sql(literal_layer: LiteralLayer) -> None:
    layer = literal_layer(DEFINITIONS, "duckdb")
    result = _by_month(layer, ["active_users", "active_users@1"])
    hand = f"""
        SELECT CAST(date_trunc('month', occurred_at) AS DATE),
               COUNT(DISTINCT CASE WHEN event_type <> 'email_open' THEN user_id END),
               COUNT(DISTINCT user_id)
        FROM ({EVENTS}) AS events
        GROUP BY 1 ORDER BY 1
    """
    with duckdb.connect() as connection:
        assert connection.execute(hand).fetchall() == list(result.rows) == BY_MONTH


def test_the_current_version_number_is_the_metric_itself(literal_layer: LiteralLayer) -> None:
    layer = literal_layer(DEFINITIONS, "duckdb")
    result = _by_month(layer, ["active_users", "active_users@2"])
    assert result.columns[1:] == ("active_users", "active_users@2")
    # Alone, the filter is the scan's WHERE: March, without a counted event, has no row.
    assert result.column("active_users@2") == result.column("active_users") == [1, 2]
    assert result.metrics["active_users@2"] == result.metrics["active_users"]


def test_a_kept_version_of_another_type(literal_layer: LiteralLayer) -> None:
    layer = literal_layer(DEFINITIONS, "duckdb")
    result = _by_month(layer, ["weekly_users@1", "active_users@1"])
    assert result.column("weekly_users@1") == [3, 3, 1]
    assert layer.metric("weekly_users@1").kind.value == "simple"
    assert layer.metric("weekly_users").kind.value == "rolling"


def test_ordering_by_a_pinned_column(literal_layer: LiteralLayer) -> None:
    layer = literal_layer(DEFINITIONS, "duckdb")
    result = layer.query(
        ["active_users", "active_users@1"], by="metric_time.month", order="-active_users"
    ).run()
    assert list(result.rows) == [BY_MONTH[1], BY_MONTH[0], BY_MONTH[2]]


def test_every_metric_column_reports_version_and_fingerprint(
    literal_layer: LiteralLayer, tmp_path: Path
) -> None:
    layer = literal_layer(DEFINITIONS, "duckdb")
    result = _by_month(layer, ["active_users", "active_users@1"])
    current, kept = result.metrics["active_users"], result.metrics["active_users@1"]
    assert (current.name, current.version) == ("active_users", 2)
    assert (kept.name, kept.version) == ("active_users", 1)
    prints = Fingerprints(layer.graph)
    assert (
        kept.fingerprint == prints.metric("active_users@1") == layer.fingerprints["active_users@1"]
    )
    assert current.fingerprint == prints.metric("active_users") != kept.fingerprint
    assert "metric_time.month" not in result.metrics
    assert result.versions == {"active_users": 2, "active_users@1": 1}
    meta = result.metadata()
    assert meta["metrics"]["active_users@1"] == {
        "metric": "active_users",
        "version": 1,
        "fingerprint": kept.fingerprint,
    }
    assert meta["columns"] == ["metric_time.month", "active_users", "active_users@1"]
    html = result._repr_html_()
    assert f"active_users@1: active_users v1, fingerprint <code>{kept.fingerprint}</code>" in html
    # The kept definition computes what version 1 computed when it was the current one.
    before = tmp_path / "before"
    before.mkdir()
    (before / "metrics.yml").write_text(textwrap.dedent(VERSION_1), encoding="utf-8")
    assert kept.fingerprint == Fingerprints(ml.load(before).graph).metric("active_users")


def test_the_catalogue_lists_each_metric_once(literal_layer: LiteralLayer) -> None:
    layer = literal_layer(DEFINITIONS, "duckdb")
    assert [m.name for m in layer.metrics] == ["active_users", "rolling_users", "weekly_users"]
    assert layer.graph.versions_of("active_users") == (1, 2)
    assert not layer.warnings  # a kept version shares the label without a warning
    assert Fingerprints(layer.graph).all().keys() == {
        "active_users",
        "rolling_users",
        "weekly_users",
    }
    assert Fingerprints(layer.graph).kept() == {
        name: {1: layer.fingerprints[f"{name}@1"]}
        for name in ("active_users", "rolling_users", "weekly_users")
    }
    catalogue = layer.catalogue()
    assert [m["name"] for m in catalogue["metrics"]] == [m.name for m in layer.metrics]
    assert catalogue["metrics"][0]["versions"] == [1, 2]
    kept = layer.describe("active_users@1")
    assert (kept["version"], kept["fingerprint"]) == (1, layer.fingerprints["active_users@1"])


@pytest.mark.parametrize(
    "name",
    [
        "active_users@3",
        "active_users@0",
        "active_users@x",
        "active_users@1; drop table events",
        "active_users@99999999999999999999",
        "active_users@-1",
        "active_users@",
        "active_users@01",
        "active_users@\u0661",  # ARABIC-INDIC DIGIT ONE
        "active_users@\uff11",  # FULLWIDTH DIGIT ONE
        "active_users@1@1",
    ],
)
def test_a_bad_version_is_a_clean_query_error(literal_layer: LiteralLayer, name: str) -> None:
    layer = literal_layer(DEFINITIONS, "duckdb")
    with pytest.raises(QueryError) as caught:
        layer.query([name])
    message = str(caught.value)
    assert message.startswith("metrics: ")
    if name == "active_users@3":
        assert "has no version 3; its versions are 1, 2 (the current one is 2)" in message
    else:
        assert "write the version after '@' as a number" in message


def test_an_unknown_metric_with_a_version(literal_layer: LiteralLayer) -> None:
    layer = literal_layer(DEFINITIONS, "duckdb")
    with pytest.raises(
        QueryError, match=r"unknown metric 'active_user'\. Did you mean 'active_users'"
    ):
        layer.query(["active_user@1"])


def test_compile_and_show_accept_a_version(literal_layer: LiteralLayer) -> None:
    layer = literal_layer(DEFINITIONS, "duckdb")
    sql = layer.query(["active_users@1"], by="metric_time.month").sql("postgres")
    assert "AS active_users__v1" in sql
    assert "<> 'email_open'" not in sql
    assert layer.metric("active_users@1").name == "active_users@1"
    assert layer.metric("active_users@2") is layer.metric("active_users")


def test_fingerprints_do_not_depend_on_the_target(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "metrics_layer.yml").write_text(
        "project:\n  name: t\n  targets:\n    dev: {schema: dev, table_prefix: x_}\n"
        "sources:\n  - name: events\n    table: events\n    time: occurred_at\n"
        "    dimensions: [{name: occurred_at, type: time}]\n"
        "    measures: [{name: n, agg: count}]\n"
        "metrics:\n  - {name: n, version: 2, type: simple, measure: events.n,\n"
        "     changelog: [{version: 2, date: 2026-01-01, change: x}],\n"
        "     versions: [{version: 1, type: cumulative, measure: events.n}]}\n",
        encoding="utf-8",
    )
    plain, dev = ml.load(project), ml.load(project, target="dev")
    assert "x_events" in dev.query("n").sql()
    assert dict(dev.fingerprints) == dict(plain.fingerprints)
    assert set(plain.fingerprints) == {"n", "n@1"}
    assert Fingerprints(dev.graph).metric("n") != plain.fingerprints["n"]


def _problems(tmp_path: Path, versions: str, version: int = 2) -> list[ml.Diagnostic]:
    folder = tmp_path / "defs"
    folder.mkdir(exist_ok=True)
    text = (
        SOURCE
        + textwrap.dedent(f"""
        metrics:
          - name: active_users
            version: {version}
            type: simple
            measure: events.active_users
            changelog: [{{version: {version}, date: 2026-01-01, change: x}}]
            versions:
        """)
        + textwrap.indent(textwrap.dedent(versions), "      ")
    )
    (folder / "metrics.yml").write_text(text, encoding="utf-8")
    _, found = ml.check(folder)
    return [d for d in found if d.level is ml.Level.ERROR]


def _line(tmp_path: Path, text: str) -> int:
    lines = (tmp_path / "defs" / "metrics.yml").read_text(encoding="utf-8").splitlines()
    return [number for number, line in enumerate(lines, 1) if text in line][-1]


def test_a_kept_version_must_be_earlier(tmp_path: Path) -> None:
    [problem] = _problems(tmp_path, "- {version: 2, type: simple, measure: events.active_users}")
    assert problem.code == "definition"
    assert "keeps version 2 under 'versions', but it is itself version 2" in problem.message
    assert problem.hint is not None
    assert "earlier versions" in problem.hint
    assert problem.line == _line(tmp_path, "- {version: 2, type: simple")


def test_a_kept_version_is_kept_once(tmp_path: Path) -> None:
    [problem] = _problems(
        tmp_path,
        """\
        - {version: 1, type: simple, measure: events.active_users}
        - {version: 1, type: simple, measure: events.active_users, filter: "user = 1"}
        """,
        version=3,
    )
    assert "keeps version 1 twice" in problem.message
    assert problem.line == _line(tmp_path, 'filter: "user = 1"')


def test_a_kept_version_references_are_checked_where_it_is_written(tmp_path: Path) -> None:
    [problem] = _problems(
        tmp_path,
        """\
        - version: 1
          type: simple
          measure: events.active_user
        """,
    )
    assert "source 'events' has no measure 'active_user'" in problem.message
    assert problem.hint == "Did you mean 'active_users'?"
    assert (
        problem.line
        == _line(tmp_path, "measure: events.active_user")
        > _line(tmp_path, "versions:")
    )


def test_a_kept_version_holds_only_what_it_computes(tmp_path: Path) -> None:
    [problem] = _problems(
        tmp_path, "- {version: 1, type: simple, measure: events.active_users, owner: x}"
    )
    assert problem.code == "schema"
    assert "owner" in problem.message


def test_a_kept_version_must_plan(tmp_path: Path) -> None:
    [problem] = _problems(
        tmp_path,
        "- {version: 1, type: simple, measure: events.active_users, filter: \"plan = 'x'\"}",
    )
    assert "active_users@1" in problem.message
    assert "cannot be computed" in problem.message


def test_a_derived_metric_cannot_pin_an_input(tmp_path: Path) -> None:
    folder = tmp_path / "defs"
    folder.mkdir()
    text = DEFINITIONS + '  - {name: share, type: derived, expr: "active_users@1 / 2"}\n'
    (folder / "metrics.yml").write_text(text, encoding="utf-8")
    _, found = ml.check(folder)
    [problem] = [d for d in found if d.level is ml.Level.ERROR]
    assert problem.message.startswith(
        "metric 'share': 'active_users@1' names a version of a metric"
    )
    assert problem.hint is not None
    assert "without '@N'" in problem.hint
    assert problem.line == text.splitlines().index(text.splitlines()[-1]) + 1


# A conversion metric whose window changed: signups (users) followed by a purchase within 7
# days (version 1) or 14 days (version 2). Days from signup to purchase: user 1 4, user 2 10,
# user 3 none (January); user 4 2, user 5 10 (February). Version 1: Jan 1/3, Feb 1/2; version
# 2: Jan 2/3, Feb 2/2.
USERS = literal_rows(
    {"user_id": None, "signed_up_at": "DATE"},
    [
        (1, D(2026, 1, 1)),
        (2, D(2026, 1, 2)),
        (3, D(2026, 1, 3)),
        (4, D(2026, 2, 1)),
        (5, D(2026, 2, 2)),
    ],
)
PURCHASES = literal_rows(
    {"user_id": None, "paid_at": "DATE"},
    [(1, D(2026, 1, 5)), (2, D(2026, 1, 12)), (4, D(2026, 2, 3)), (5, D(2026, 2, 12))],
)
CONVERSION_SOURCES = f"""
sources:
  - name: users
    sql: "{USERS}"
    time: signed_up_at
    entities: [{{name: user, key: user_id, primary: true}}]
    dimensions: [{{name: signed_up_at, type: time}}]
    measures: [{{name: signups, agg: count}}]
  - name: purchases
    sql: "{PURCHASES}"
    time: paid_at
    entities: [{{name: user, key: user_id}}]
    dimensions: [{{name: paid_at, type: time}}]
    measures: [{{name: purchases, agg: count}}]
"""
BUYER_RATE = """
  - name: buyer_rate
    type: conversion
    entity: user
    base: {measure: users.signups}
    conversion: {measure: purchases.purchases}
"""


def _conversion(window: str, kept: str = "") -> str:
    return CONVERSION_SOURCES + "metrics:" + BUYER_RATE + f"    window: {window}\n" + kept


CONVERSIONS = _conversion(
    "14 days",
    """\
    version: 2
    changelog: [{version: 2, date: 2026-11-01, change: "Two weeks to buy."}]
    versions:
      - version: 1
        type: conversion
        entity: user
        base: {measure: users.signups}
        conversion: {measure: purchases.purchases}
        window: 7 days
""",
)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_kept_version_of_a_conversion_metric(literal_layer: LiteralLayer, engine: str) -> None:
    layer = literal_layer(CONVERSIONS, engine)
    result = layer.query(
        ["buyer_rate", "buyer_rate@1"], by="metric_time.month", order="metric_time.month"
    ).run(today=D(2027, 1, 1))
    assert result.columns == ("metric_time.month", "buyer_rate", "buyer_rate@1")
    assert list(result.rows) == [
        (D(2026, 1, 1), pytest.approx(2 / 3), pytest.approx(1 / 3)),
        (D(2026, 2, 1), pytest.approx(1.0), pytest.approx(1 / 2)),
    ]


def test_a_kept_conversion_version_computes_what_it_did(
    literal_layer: LiteralLayer, tmp_path: Path
) -> None:
    layer = literal_layer(CONVERSIONS, "duckdb")
    before = tmp_path / "before"
    before.mkdir()
    (before / "metrics.yml").write_text(_conversion("7 days"), encoding="utf-8")
    was = Fingerprints(ml.load(before).graph).metric("buyer_rate")
    assert layer.fingerprints["buyer_rate@1"] == was != layer.fingerprints["buyer_rate"]
    # Its rows are a source of their own, named after the version.
    assert layer.metric("buyer_rate@1").sql_name in layer.graph.sources


EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "pinned"


def test_the_cli_queries_and_shows_a_kept_version(capsys: pytest.CaptureFixture[str]) -> None:
    project = ["--project", str(EXAMPLE)]
    by = ["--by", "metric_time.month", "--start", "2026-01-01", "--end", "2026-01-31"]
    code = main(["query", "weekly_active_users@1", *project, *by, "--format", "json"])
    assert code == 0
    [row] = json.loads(capsys.readouterr().out)
    assert list(row) == ["metric_time.month", "weekly_active_users@1"]
    assert main(["show", "weekly_active_users", *project]) == 0
    shown = capsys.readouterr().out
    assert "  versions:    1, 2 (kept: weekly_active_users@1)\n" in shown
    assert main(["query", "weekly_active_users@7", *project]) == 1
    assert "has no version 7; its versions are 1, 2" in capsys.readouterr().err
