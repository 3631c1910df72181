"""Arbitrary objects and strings in every query field: only UserErrors escape, never another
exception (an InternalError included), and what is accepted compiles for every dialect and runs.

The default hypothesis profile runs 100 examples per test. For a longer search:
``pytest tests/api --hypothesis-profile=fuzz`` (or ``make fuzz``), 5,000 examples each.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import metrics_layer as ml

METRICS = [
    "signups",
    "daily_active_users",
    "paid_conversion_rate",
    "mrr",
    "arpu",
    "mrr_growth_rate",
    "events_per_active_user",
]
DIMENSIONS = [
    "metric_time",
    "metric_time.week",
    "metric_time.month",
    "metric_time.hour",
    "user",
    "user.plan",
    "user.country",
    "user.signed_up_at.month",
    "event.platform",
    "subscription.plan",
]
DIALECTS = ["duckdb", "postgres", "snowflake", "bigquery", "sqlite", "mysql", "tsql", "spark"]
HOSTILE_TEXT = st.sampled_from(
    ["", " ", "\x00", "\n", "\r", "\x1b[31m", "\u200b", "\u2028", "\ufeff", ";", "'", '"', "--",
     "::", "%", ",", ".", "-", "\u0456", "\\"]
)  # fmt: skip

# Any Python value: the types a caller might pass by mistake, nested.
ANYTHING = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=10)
    | st.dates()
    | st.datetimes(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=2)
        | st.frozensets(st.integers(), max_size=2)
    ),
    max_leaves=5,
)


def near(names: list[str]) -> st.SearchStrategy[str]:
    """A real name, or one with hostile text put in, at the start, end or middle."""
    return st.builds(
        lambda name, text, at: name[: at % (len(name) + 1)] + text + name[at % (len(name) + 1) :],
        st.sampled_from(names),
        HOSTILE_TEXT | st.text(max_size=3),
        st.integers(0, 40),
    )


def names(real: list[str]) -> st.SearchStrategy[Any]:
    name = st.sampled_from(real) | near(real) | st.text(max_size=30)
    return (
        name
        | st.lists(name | st.sampled_from(real), max_size=3)
        | st.lists(ANYTHING, max_size=2)
        | ANYTHING
    )


VALID_WHERE = [
    "user.country = 'DE'",
    "user.plan IN ('pro', 'enterprise') OR user.ever_paid",
    "event.platform <> 'web'",
    "metric_time.month >= '2026-03-01'",
    "user.signed_up_at.month BETWEEN '2026-01-01' AND '2026-06-30'",
]
# A query a caller meant to send: every field plausible (it may still be refused, e.g. a
# dimension some metric cannot reach).
VALID: dict[str, st.SearchStrategy[Any]] = {
    "metrics": st.lists(st.sampled_from(METRICS), min_size=1, max_size=3, unique=True),
    "by": st.lists(st.sampled_from(DIMENSIONS), max_size=2, unique=True),
    "where": st.none() | st.sampled_from(VALID_WHERE),
    "start": st.none() | st.dates(dt.date(2025, 1, 1), dt.date(2026, 6, 30)),
    "end": st.none() | st.dates(dt.date(2026, 7, 1), dt.date(2027, 1, 1)).map(dt.date.isoformat),
    "order": st.just(()),
    "limit": st.none() | st.integers(1, 50),
}
# What a careless or hostile caller sends instead.
HOSTILE: dict[str, st.SearchStrategy[Any]] = {
    "metrics": names(METRICS),
    "by": names(DIMENSIONS),
    "where": st.builds(
        lambda a, b: a + b, st.sampled_from(["user.country = '", "user.", "(", "NOT "]), st.text()
    )
    | st.builds(lambda w, t: w + t, st.sampled_from(VALID_WHERE), HOSTILE_TEXT | st.text())
    | st.text(max_size=40)
    | ANYTHING,
    "start": st.dates().map(dt.date.isoformat)
    | st.dates()
    | st.text(alphabet="0123456789-:T ", max_size=12)
    | st.sampled_from(["2026-02-30", "9999-12-31", "0001-01-01", "2026-01-01\n"])
    | ANYTHING,
    "order": names([*METRICS, *DIMENSIONS]) | st.sampled_from(METRICS).map(lambda n: "-" + n),
    "limit": st.integers() | st.floats() | ANYTHING,
}
HOSTILE["end"] = HOSTILE["start"]
DIALECT = st.none() | st.sampled_from(DIALECTS) | near(DIALECTS) | ANYTHING


def outcome(call: Any) -> Any:
    """The value of ``call()``, or the UserError it raised; anything else propagates."""
    try:
        return call()
    except ml.UserError as error:
        return error


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    data=st.data(),
    spoiled=st.sets(st.sampled_from(sorted(HOSTILE)), min_size=1, max_size=2),
    dialect=DIALECT,
)
def test_any_query_is_answered_or_refused_with_a_user_error(
    layer: ml.SemanticLayer, data: st.DataObject, spoiled: set[str], dialect: Any
) -> None:
    fields = {
        name: data.draw(HOSTILE[name] if name in spoiled else VALID[name], label=name)
        for name in VALID
    }
    metrics = fields.pop("metrics")
    query = outcome(lambda: layer.query(metrics, **fields))
    if isinstance(query, ml.UserError):
        event(f"refused: {type(query).__name__} {getattr(query, 'field', None)}")
        return
    sql = outcome(lambda: query.sql(dialect))
    event(f"compiled: {type(sql).__name__}")
    if isinstance(sql, str):
        assert sql.lstrip().upper().startswith(("SELECT", "WITH"))
    result = outcome(query.run)
    event(f"ran: {type(result).__name__}")
    if not isinstance(result, ml.UserError):
        assert result.columns == query.columns


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(METRICS) | near(METRICS) | ANYTHING)
def test_any_metric_name_is_found_or_refused_with_a_query_error(
    layer: ml.SemanticLayer, name: Any
) -> None:
    found = outcome(lambda: layer.metric(name))
    assert isinstance(found, ml.Metric | ml.QueryError)
