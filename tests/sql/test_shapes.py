"""SQL by plan shape: a query compiled from the rendering of an earlier query of its shape gives
exactly the SQL it gives compiled on its own, for every dialect, whatever its dates.

Each example compiles a few queries that differ only in their dates on one layer (so all but the
first are written from the kept rendering) and compares each with the same query on a layer with
no cache at all.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metrics_layer as ml
from metrics_layer.sql.shapes import plan_dates, shape_key, with_stand_ins

DIALECTS = ("duckdb", "postgres", "mysql", "sqlite", "clickhouse", "spark", "bigquery")

# Every kind of metric and time construct whose plan holds dates: ranges, spines of windows and
# of fill_periods, offsets (moved dates), whole periods (widened dates), calendar periods.
QUESTIONS = [
    {"metrics": ["signups"], "by": ["metric_time.month"]},
    {"metrics": ["weekly_active_users", "stickiness"], "by": ["metric_time.week"]},
    {"metrics": ["mrr", "mrr_growth_rate"], "by": ["metric_time.month", "user.plan"]},
    {"metrics": ["new_mrr_month_to_date"], "by": ["metric_time.day"]},
    {"metrics": ["new_mrr_retail_year_to_date", "new_mrr"], "by": ["metric_time.retail_month"]},
    {"metrics": ["daily_active_users"], "by": ["metric_time.quarter"], "whole_periods": True},
    {"metrics": ["signups"], "by": ["metric_time.week"], "fill_periods": True},
    {"metrics": [], "by": ["metric_time.retail_week"], "needs_range": True},
    {
        "metrics": ["arpu"],
        "by": ["metric_time.fiscal_quarter"],
        "where": "metric_time.month >= '2025-06-01'",
    },
]

days = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2027, 12, 31))


@pytest.fixture(scope="module")
def layers() -> tuple[ml.SemanticLayer, ml.SemanticLayer]:
    return ml.load("definitions"), ml.load("definitions", cache_bytes=0)


def _query(layer: ml.SemanticLayer, question: dict[str, object], start: object, end: object):
    options = {k: v for k, v in question.items() if k not in ("metrics", "needs_range")}
    return layer.query(question["metrics"], start=start, end=end, **options)  # type: ignore[arg-type]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    question=st.sampled_from(QUESTIONS),
    ranges=st.lists(
        st.tuples(st.one_of(st.none(), days), st.one_of(st.none(), days)), min_size=2, max_size=4
    ),
    dialect=st.sampled_from(DIALECTS),
)
def test_a_shape_renders_like_each_of_its_queries(
    layers: tuple[ml.SemanticLayer, ml.SemanticLayer],
    question: dict[str, object],
    ranges: list[tuple[dt.date | None, dt.date | None]],
    dialect: str,
) -> None:
    shared, alone = layers
    for start, end in ranges:
        if start is not None and end is not None and start > end:
            start, end = end, start
        if question.get("needs_range") and (start is None or end is None):
            continue
        try:
            expected = _query(alone, question, start, end).sql(dialect)
        except ml.MetricsLayerError as refused:
            with pytest.raises(type(refused)):
                _query(shared, question, start, end).sql(dialect)
            continue
        assert _query(shared, question, start, end).sql(dialect) == expected


def test_the_dates_of_a_plan_are_its_slots(
    layers: tuple[ml.SemanticLayer, ml.SemanticLayer],
) -> None:
    layer, _ = layers
    query = layer.query(
        ["weekly_active_users"], by=["metric_time.month"], start="2026-01-15", end="2026-03-31"
    )
    plan = query.plan
    dates = plan_dates(plan)
    # the rows' range starts a window (7 days) before the first window's last day; then the
    # spine's bounds
    assert dates[:2] == ["2026-01-08", "2026-03-31"]
    assert dates[-2:] == ["2026-01-15", "2026-03-31"]
    copy, stand_ins = with_stand_ins(plan)
    assert len(stand_ins) == len(set(stand_ins)) == len(dates)
    assert plan_dates(copy) == stand_ins
    assert plan_dates(plan) == dates  # the plan itself is unchanged
    key, digits = shape_key(query.spec, plan)
    assert (key.start, key.end, digits) == (
        dt.date(1, 1, 1),
        dt.date(1, 1, 1),
        (2, plan.aggregations[0].name),
    )


def test_a_source_literal_equal_to_a_stand_in_keeps_the_shape_uncached(
    write_project, tmp_path
) -> None:
    # A definition holding a stand-in's text: writing the dates in would change it, so the
    # rendering of the shape is not kept and each query is rendered on its own.
    folder = write_project(
        {
            "metrics_layer.yml": "project:\n  name: p\n",
            "s.yml": """
sources:
  - name: events
    sql: "SELECT 1 AS id, CAST('2026-01-01' AS TIMESTAMP) AS at, 'x 4000-01-01' AS note"
    time: at
    entities: [{name: event, key: id, primary: true}]
    dimensions: [{name: at, type: time}, {name: note}]
    measures: [{name: events, agg: count}]
metrics:
  - {name: events, type: simple, measure: events.events}
""",
        }
    )
    layer = ml.load(folder)
    first = layer.query(["events"], by=["events.note"], start="2026-01-01").sql("duckdb")
    second = layer.query(["events"], by=["events.note"], start="2026-02-01").sql("duckdb")
    assert "'x 4000-01-01'" in first
    assert "'x 4000-01-01'" in second
    assert "2026-02-01" in second


def test_later_queries_of_a_shape_are_not_rendered(monkeypatch: pytest.MonkeyPatch) -> None:
    import metrics_layer.sql.dialects as dialects

    layer = ml.load("definitions")
    real_render = dialects.render
    calls: list[str] = []

    def counted(tree, dialect, *, pretty=True, nodes=None):  # type: ignore[no-untyped-def]
        calls.append(dialect)
        return real_render(tree, dialect, pretty=pretty, nodes=nodes)

    monkeypatch.setattr(dialects, "render", counted)
    metrics = ["weekly_active_users", "signups"]
    first = layer.query(metrics, by=["metric_time.month"], start="2026-01-15").sql("postgres")
    assert len(calls) == 2  # its own rendering, and the shape's with stand-in dates
    later = layer.query(metrics, by=["metric_time.month"], start="2026-02-20").sql("postgres")
    assert len(calls) == 2  # written from the kept rendering
    assert later == first.replace("2026-01-15", "2026-02-20").replace("2026-01-08", "2026-02-13")
    layer.query(metrics, by=["metric_time.month"]).sql("postgres")
    assert len(calls) == 3  # no dates at all: rendered once, nothing kept for its shape
    layer.query(metrics, by=["metric_time.month"], end="2026-03-31").sql("postgres")
    assert len(calls) == 5  # an end but no start: another shape
    # Both bounds: the spine is cut by its number of days, written as arithmetic on the dates,
    # so a later range of another length (as many digits of days) is written from the kept
    # rendering.
    layer.query(metrics, by=["metric_time.month"], start="2026-01-01", end="2026-06-30").sql(
        "sqlite"
    )
    assert len(calls) == 7
    layer.query(metrics, by=["metric_time.month"], start="2025-03-01", end="2025-12-31").sql(
        "sqlite"
    )
    assert len(calls) == 7
