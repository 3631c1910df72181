"""Conversion metrics: entities whose first base event is followed by a conversion event within
N calendar days, attributed to the base event's period.

Hand-computed on literal rows, on every engine (times UTC):

| user | country | signed up (base) | project_created (conversion)       | days after            |
|------|---------|------------------|------------------------------------|-----------------------|
| 1    | DE      | 2026-01-30 23:00 | 2026-02-06 22:00                   | 7: the edge, counts   |
| 2    | FR      | 2026-01-10 10:00 | 2026-01-18 00:30                   | 8: late, does not     |
| 3    | DE      | 2026-02-01 12:00 | 02-01 11:00 (before: ignored),     | 2                     |
|      |         |                  | 02-03 10:00                        |                       |
| 4    | US      | 2026-02-10 09:00 | none                               |                       |
| 5    | DE      | 2026-02-20 09:00 | 2026-02-27 09:00                   | 7                     |
| 6    | FR      | 2026-03-01 16:00 | 2026-03-09 10:00                   | 8 in UTC; 7 in Tokyo  |

(In Tokyo, user 6 signs up on Mar 2 at 01:00 and converts on Mar 9 at 19:00.)

Sessions (a second metric: first session to a report shared within 3 days, on the same
platform):

| user | session_start                        | report_shared                            |
|------|--------------------------------------|------------------------------------------|
| 1    | 01-31 00:30 web                      | 02-01 ios (other platform), 02-05 web    |
|      |                                      | (5 days)                                 |
| 3    | 02-02 08:00 web (first), 09:00 ios   | 02-04 web (2 days)                       |
| 5    | 02-20 10:00 android, 02-21 android   | 02-23 23:59 android (3 days: the edge)   |
|      | (repeated base)                      |                                          |
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

import pytest

import metrics_layer as ml
from metrics_layer.errors import QueryError
from soundness.literal import ENGINES, LiteralLayer, fetch, literal_rows, only, typed

D = dt.date
T = dt.datetime

USERS = literal_rows(
    {"user_id": None, "country": None, "signed_up_at": "TIMESTAMP"},
    [
        (1, "DE", T(2026, 1, 30, 23)),
        (2, "FR", T(2026, 1, 10, 10)),
        (3, "DE", T(2026, 2, 1, 12)),
        (4, "US", T(2026, 2, 10, 9)),
        (5, "DE", T(2026, 2, 20, 9)),
        (6, "FR", T(2026, 3, 1, 16)),
    ],
)
EVENTS = literal_rows(
    {
        "event_id": None,
        "user_id": None,
        "event_type": None,
        "platform": None,
        "occurred_at": "TIMESTAMP",
    },
    [
        (1, 1, "project_created", "web", T(2026, 2, 6, 22)),
        (2, 2, "project_created", "web", T(2026, 1, 18, 0, 30)),
        (3, 3, "project_created", "web", T(2026, 2, 1, 11)),
        (4, 3, "project_created", "web", T(2026, 2, 3, 10)),
        (5, 5, "project_created", "ios", T(2026, 2, 27, 9)),
        (6, 6, "project_created", "web", T(2026, 3, 9, 10)),
        (7, 1, "session_start", "web", T(2026, 1, 31, 0, 30)),
        (8, 1, "report_shared", "ios", T(2026, 2, 1, 12)),
        (9, 1, "report_shared", "web", T(2026, 2, 5, 12)),
        (10, 3, "session_start", "ios", T(2026, 2, 2, 9)),
        (11, 3, "session_start", "web", T(2026, 2, 2, 8)),
        (12, 3, "report_shared", "web", T(2026, 2, 4, 12)),
        (13, 5, "session_start", "android", T(2026, 2, 20, 10)),
        (14, 5, "session_start", "android", T(2026, 2, 21, 10)),
        (15, 5, "report_shared", "android", T(2026, 2, 23, 23, 59)),
    ],
)

DEFINITIONS = f"""
    sources:
      - name: users
        sql: "{USERS}"
        time: signed_up_at
        entities: [{{name: user, key: user_id, primary: true}}]
        dimensions:
          - {{name: country}}
          - {{name: signed_up_at, type: time, grain: hour}}
        measures: [{{name: signups, agg: count}}]
      - name: events
        sql: "{EVENTS}"
        time: occurred_at
        entities:
          - {{name: event, key: event_id, primary: true}}
          - {{name: user, key: user_id}}
        dimensions:
          - {{name: occurred_at, type: time, grain: hour}}
          - {{name: event_type}}
          - {{name: platform}}
        measures: [{{name: events, agg: count}}]
    metrics:
      - name: activation_rate_7d
        type: conversion
        entity: user
        base: {{measure: users.signups}}
        conversion: {{measure: events.events, filter: "event_type = 'project_created'"}}
        window: 7 days
      - name: activations_7d
        type: conversion
        entity: user
        base: {{measure: users.signups}}
        conversion: {{measure: events.events, filter: "event_type = 'project_created'"}}
        window: 7 days
        calculation: conversions
      - name: report_rate_3d
        type: conversion
        entity: user
        base: {{measure: events.events, filter: "event_type = 'session_start'"}}
        conversion: {{measure: events.events, filter: "event_type = 'report_shared'"}}
        window: 3 days
        constant: [platform]
      - name: report_rate_3d_any_platform
        type: conversion
        entity: user
        base: {{measure: events.events, filter: "event_type = 'session_start'"}}
        conversion: {{measure: events.events, filter: "event_type = 'report_shared'"}}
        window: 3 days
"""

Load = Callable[..., ml.SemanticLayer]


@pytest.fixture
def load(literal_layer: LiteralLayer) -> Load:
    return functools.partial(literal_layer, DEFINITIONS)


@pytest.mark.parametrize("engine", ENGINES)
def test_conversion_within_the_window_by_base_period(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = fetch(layer, ["activation_rate_7d", "activations_7d"], by=["metric_time.month"])
    # Jan: u1 (7 days: the edge) of u1, u2 (8 days: late); Feb: u3 (the conversion before the
    # signup is ignored), u5 of u3, u4, u5; Mar: u6 (8 days) converts late
    assert typed(rows) == typed(
        [(D(2026, 1, 1), 0.5, 1), (D(2026, 2, 1), 2 / 3, 2), (D(2026, 3, 1), 0.0, 0)]
    )
    by_country = fetch(layer, ["activation_rate_7d"], by=["user.country"])
    assert typed(by_country) == typed([("DE", 1.0), ("FR", 0.0), ("US", 0.0)])
    filtered = fetch(
        layer, ["activations_7d"], by=["metric_time.month"], where="user.country = 'DE'"
    )
    assert typed(filtered) == typed([(D(2026, 1, 1), 1), (D(2026, 2, 1), 2)])
    # the date range limits the base events; a conversion after it still counts
    january = fetch(layer, ["activations_7d"], start="2026-01-01", end="2026-01-31")
    assert typed(january) == typed([(1,)])


@pytest.mark.parametrize("engine", ENGINES)
def test_a_filter_on_the_entity_within_a_range(load: Load, engine: str) -> None:
    """With a date range, the entities are narrowed to the range and to the query's filter on
    their dimensions before the conversions are looked up (docs/queries.md): the same
    numbers as the rows filtered afterwards."""
    layer = load(engine)
    asked = {"by": ["metric_time.month"], "start": "2026-01-01", "end": "2026-03-31"}
    # DE: u1 (Jan, converted on the window's last day), u3 and u5 (Feb, both converted)
    german = fetch(
        layer, ["activation_rate_7d", "activations_7d"], where="user.country = 'DE'", **asked
    )
    assert typed(german) == typed([(D(2026, 1, 1), 1.0, 1), (D(2026, 2, 1), 1.0, 2)])
    # the others: u2 (Jan, late), u4 (Feb, never), u6 (Mar, late); a NULL country would pass
    others = "user.country <> 'DE' OR user.country IS NULL"
    rest = fetch(layer, ["activation_rate_7d", "activations_7d"], where=others, **asked)
    assert typed(rest) == typed(
        [(D(2026, 1, 1), 0.0, 0), (D(2026, 2, 1), 0.0, 0), (D(2026, 3, 1), 0.0, 0)]
    )
    sql = layer.query(["activations_7d"], where="user.country = 'DE'", **asked).sql()
    # the base events are the users' own rows (one per user): the filter applies to them,
    # once, and the users are neither joined nor looked up again
    base_rows = sql[sql.index("activations_7d__base_rows AS") :].split("), ")[0]
    assert "country = " in base_rows
    assert sql.count("country = ") == 1
    assert "JOIN users" not in sql
    assert " IN (" not in sql
    sql = layer.query(["activations_7d"], where=others, **asked).sql()
    first_base = sql[sql.index("activations_7d__first_base AS") :].split("), ")[0]
    assert "LEFT JOIN" in first_base  # a user without a row passes `... IS NULL`
    assert sql.count("country <> ") == 1


EVENTS_WITH_AN_UNKNOWN_USER = literal_rows(
    {
        "event_id": None,
        "user_id": None,
        "event_type": None,
        "platform": None,
        "occurred_at": "TIMESTAMP",
    },
    [
        (1, 1, "session_start", "web", T(2026, 2, 2, 8)),
        (2, 1, "report_shared", "web", T(2026, 2, 3, 8)),
        (3, 2, "session_start", "web", T(2026, 2, 5, 8)),
        (4, 9, "session_start", "web", T(2026, 2, 10, 10)),  # user 9 has no row in users
        (5, 9, "report_shared", "web", T(2026, 2, 11, 10)),
    ],
)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_filter_that_an_entity_without_dimensions_passes(
    literal_layer: LiteralLayer, engine: str
) -> None:
    """An entity without a row in its dimension source (user 9) has NULL dimensions: a
    filter it passes (``IS NULL``) keeps it when the entities are narrowed, as the LEFT JOIN
    does; one it cannot pass (``= 'DE'``) leaves it out, whether joined or looked up."""
    definitions = (
        DEFINITIONS.replace(EVENTS, EVENTS_WITH_AN_UNKNOWN_USER)
        + """
      - name: reports_3d
        type: conversion
        entity: user
        base: {measure: events.events, filter: "event_type = 'session_start'"}
        conversion: {measure: events.events, filter: "event_type = 'report_shared'"}
        window: 3 days
        calculation: conversions
    """
    )
    layer = literal_layer(definitions, engine)
    asked = {"by": ["metric_time.month"], "start": "2026-02-01", "end": "2026-02-28"}
    unknown = fetch(layer, ["reports_3d"], where="user.country IS NULL", **asked)
    assert typed(unknown) == typed([(D(2026, 2, 1), 1)])  # user 9
    either = "user.country = 'FR' OR user.country IS NULL"
    assert typed(fetch(layer, ["reports_3d"], where=either, **asked)) == typed(
        [(D(2026, 2, 1), 1)]  # user 9; user 2 (FR) has no report
    )
    german = fetch(layer, ["reports_3d"], where="user.country = 'DE'", **asked)
    assert typed(german) == typed([(D(2026, 2, 1), 1)])  # user 1, not user 9
    sql = layer.query(["reports_3d"], where="user.country = 'DE'", **asked).sql()
    first_base = sql[sql.index("reports_3d__first_base AS") :].split("), ")[0]
    # the base events are not users' rows: the entities are looked up by key, not joined
    assert "entity_key IN (" in first_base
    assert "JOIN" not in first_base
    known = fetch(layer, ["reports_3d"], where="user.country IS NOT NULL", **asked)
    assert typed(known) == typed([(D(2026, 2, 1), 1)])  # user 1


@pytest.mark.parametrize("engine", ENGINES)
def test_first_base_event_and_constant_properties(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = fetch(layer, ["report_rate_3d", "report_rate_3d_any_platform"], by=["metric_time.month"])
    # u1: first session web; reports ios after 1 day (other platform) and web after 5 days.
    # u3: first session web at 08:00, report web 2 days on. u5: first session android (the
    # second one is not a new base), report 3 days on, at 23:59: the window's last day.
    assert typed(rows) == typed([(D(2026, 1, 1), 0.0, 1.0), (D(2026, 2, 1), 1.0, 1.0)])


@pytest.mark.parametrize("engine", only("duckdb", "postgres"))
def test_window_days_are_the_project_time_zones(literal_layer: LiteralLayer, engine: str) -> None:
    layer = literal_layer(DEFINITIONS, engine, time_zone="Asia/Tokyo")
    rows = fetch(layer, ["activations_7d"], by=["metric_time.month"])
    # u6 signs up on 2 March in Tokyo and converts on 9 March: 7 days, within the window
    assert typed(rows) == typed([(D(2026, 1, 1), 1), (D(2026, 2, 1), 2), (D(2026, 3, 1), 1)])


def test_incomplete_base_periods_are_marked(load: Load) -> None:
    layer = load("duckdb")
    query = layer.query(["activation_rate_7d"], by=["metric_time.month"])
    # a base period is incomplete while a window of one of its days has not closed: March
    # (its last day plus 7 days) is still open on 2026-04-05, closed on 2026-04-08
    assert query.run(today=D(2026, 4, 5)).incomplete == (False, False, True)
    assert query.run(today=D(2026, 4, 8)).incomplete == (False, False, False)
    assert query.run(today=D(2026, 3, 3)).incomplete == (False, True, True)
    # without a metric_time grain, the whole range is one base period
    total = layer.query(["activation_rate_7d"]).run(today=D(2026, 3, 5))
    assert total.incomplete == (True,)
    # a day given as text is a user error, named
    with pytest.raises(QueryError, match="today: expected a date"):
        query.run(today="2026-04-05")  # type: ignore[arg-type]
    # printed, the open periods end in '~', explained under the table
    shown = repr(query.run(today=D(2026, 4, 5))).splitlines()
    assert [line.split()[0] for line in shown[2:5]] == ["2026-01-01", "2026-02-01", "2026-03-01~"]
    assert shown[5] == "~ incomplete: a conversion window of the period is still open"
    page = query.run(today=D(2026, 4, 5))._repr_html_()
    assert page.count('<tr class="incomplete"') == 1
    assert "Italic rows: incomplete periods" in page


def test_conversion_definitions_are_checked(
    write_project: Callable[[dict[str, str]], object],
) -> None:
    broken = (
        DEFINITIONS
        + """
      - {name: a, type: conversion, entity: account, base: {measure: users.signups},
         conversion: {measure: events.events}, window: 7 days}
      - {name: b, type: conversion, entity: user, base: {measure: users.signups},
         conversion: {measure: events.events, filter: "country = 'DE'"}, window: 7 days}
      - {name: c, type: conversion, entity: user, base: {measure: users.signups},
         conversion: {measure: events.event}, window: 7 days}
      - {name: d, type: conversion, entity: user, base: {measure: users.signups},
         conversion: {measure: events.events}, window: 7 days, constant: [platform]}
      - {name: users, type: conversion, entity: user, base: {measure: users.signups},
         conversion: {measure: events.events}, window: 7 days}
"""
    )
    folder = write_project(
        {"m/metrics_layer.yml": "project:\n  name: m\n", "m/a.yml": broken.replace("\n    ", "\n")}
    )
    _, diagnostics = ml.check(folder / "m")  # type: ignore[operator]
    messages = "\n".join(d.message for d in diagnostics)
    assert "base: source 'users' does not hold entity 'account'" in messages
    assert "conversion.filter: 'country' is not a dimension of source 'events'" in messages
    assert "conversion: 'events.event': source 'events' has no measure 'event'" in messages
    assert "write 'source.measure'. Did you mean 'events'?" in [d.hint for d in diagnostics]
    assert "constant: 'platform' is not a dimension of source 'users'" in messages
    assert "source 'users' exists already" in messages


def test_queries_of_one_shape_with_other_dates(load: Load) -> None:
    layer = load("duckdb")
    # the second range reuses the first's rendering; its dates reach the derived rows too
    asked = {"by": ["metric_time.month"], "start": "2026-02-01", "end": "2026-03-31"}
    fetch(layer, ["activations_7d"], by=["metric_time.month"], start="2026-01-01", end="2026-01-31")
    assert typed(fetch(layer, ["activations_7d"], **asked)) == typed(
        [(D(2026, 2, 1), 2), (D(2026, 3, 1), 0)]
    )


def test_the_derived_rows_are_a_source_named_like_the_metric(load: Load) -> None:
    layer = load("duckdb")
    # its dimensions group like any other: converted or not, per base month
    rows = fetch(layer, ["activations_7d"], by=["activations_7d.converted"])
    assert typed(rows) == typed([(False, 0), (True, 3)])
    with pytest.raises(QueryError, match="activation_rate_7d"):
        layer.query(["activation_rate_7d"], by=["activation_rate_7d.nope"]).sql()


def test_a_conversion_window_is_in_days(
    write_project: Callable[[dict[str, str]], object],
) -> None:
    weeks = (
        DEFINITIONS
        + """
      - {name: e, type: conversion, entity: user, base: {measure: users.signups},
         conversion: {measure: events.events}, window: 7 weeks}
"""
    )
    folder = write_project(
        {"m/metrics_layer.yml": "project:\n  name: m\n", "m/a.yml": weeks.replace("\n    ", "\n")}
    )
    _, diagnostics = ml.check(folder / "m")  # type: ignore[operator]
    [error] = diagnostics
    assert error.message == "metric 'e': window: '7 weeks' is not a valid value"
    assert error.hint is not None
    assert error.hint.startswith("use calendar days")


@pytest.mark.parametrize(
    ("dialect", "looked_up"),
    [("postgres", True), ("sqlite", True), ("mysql", True), ("duckdb", False), ("spark", False)],
)
def test_conversions_are_looked_up_by_key_where_engines_do_it_well(
    load: Load, dialect: str, looked_up: bool
) -> None:
    """The same rows two ways (every engine above runs one of them against the hand-computed
    numbers): correlated lookups on PostgreSQL, SQLite and MariaDB, joins elsewhere."""
    sql = load("duckdb").query(["activations_7d"], by=["metric_time.month"]).sql(dialect)
    assert ("EXISTS" in sql) is looked_up
    assert ("activations_7d__converted" in sql) is not looked_up
