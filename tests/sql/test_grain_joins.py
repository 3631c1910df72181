"""Scans are joined on the grain keys: null-safe equality, except for a metric_time period by a
built-in grain within a date range, which no scan can give NULL and which is joined on plain
equality (engines hash it and estimate it; PostgreSQL cannot hash ``IS NOT DISTINCT FROM``)."""

from __future__ import annotations

import metrics_layer as ml

# Signups (users) and revenue (subscriptions): two scans joined on the grain.
TWO_SOURCES = ["signups", "new_mrr"]


def _on(sql: str) -> str:
    return sql[sql.rindex("LEFT JOIN") :].split("ORDER BY")[0]


def test_a_period_within_a_range_is_joined_on_equality(layer: ml.SemanticLayer) -> None:
    sql = layer.query(
        TWO_SOURCES, by=["metric_time.month", "user.plan"], start="2026-01-01", end="2026-06-30"
    ).sql()
    on = _on(sql)
    assert "metric_time__month = " in on
    assert "user__plan IS NOT DISTINCT FROM" in on  # a plan can be NULL


def test_without_a_range_every_key_is_null_safe(layer: ml.SemanticLayer) -> None:
    on = _on(layer.query(TWO_SOURCES, by=["metric_time.month"]).sql())
    assert "metric_time__month IS NOT DISTINCT FROM" in on


def test_a_date_part_stays_null_safe(layer: ml.SemanticLayer) -> None:
    sql = layer.query(
        TWO_SOURCES, by=["metric_time.month_of_year"], start="2026-01-01", end="2026-06-30"
    ).sql()
    assert "metric_time__month_of_year IS NOT DISTINCT FROM" in _on(sql)


def test_equality_keeps_every_period(layer: ml.SemanticLayer) -> None:
    asked = {"start": "2026-01-01", "end": "2026-06-30"}
    both = layer.query(TWO_SOURCES, by=["metric_time.month"], **asked).run().rows
    alone = [layer.query([m], by=["metric_time.month"], **asked).run().rows for m in TWO_SOURCES]
    assert [row[:2] for row in both] == list(alone[0])
    assert [(row[0], row[2]) for row in both] == list(alone[1])
