"""The SQL form turned into service requests, without a server: every allowed node kind of
WHERE, the date range from metric_time, names, order and limit; and refusals."""

from __future__ import annotations

from typing import Any

import pytest
import sqlglot

from metrics_layer.server.sqlwire.errors import SqlError
from metrics_layer.server.sqlwire.translate import MetricSelect, translate


def asked(layer: Any, sql: str) -> MetricSelect:
    return translate(sqlglot.parse_one(sql, read="postgres"), layer)


@pytest.mark.parametrize(
    ("where", "start", "end"),
    [
        ("metric_time >= '2026-01-01'", "2026-01-01", None),
        ("metric_time > '2026-01-01'", "2026-01-02", None),
        ("metric_time < '2026-02-01'", None, "2026-01-31"),
        ("metric_time <= '2026-02-01'", None, "2026-02-01"),
        ("metric_time = '2026-02-01'", "2026-02-01", "2026-02-01"),
        ("'2026-02-01' > metric_time", None, "2026-01-31"),
        ("metric_time BETWEEN DATE '2026-01-01' AND '2026-03-31'", "2026-01-01", "2026-03-31"),
        (
            "metric_time >= '2026-01-01 00:00:00' AND metric_time >= '2026-01-05'",
            "2026-01-05",
            None,
        ),
    ],
)
def test_metric_time_bounds_become_the_range(
    layer: Any, where: str, start: str | None, end: str | None
) -> None:
    request = asked(layer, f"SELECT MEASURE(signups) FROM metrics WHERE {where}").request
    assert (request.start, request.end, request.where) == (start, end, None)


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("\"user\".country = 'DE'", "user.country = 'DE'"),
        ("users.country <> 'DE'", "users.country <> 'DE'"),
        ("user__country != 'DE'", "user.country <> 'DE'"),
        ("\"user.country\" IN ('DE', 'FR')", "user.country IN ('DE', 'FR')"),
        ("NOT (user.country = 'DE' OR user.plan = 'free')",
         "NOT (user.country = 'DE' OR user.plan = 'free')"),
        ("user.plan IS NULL", "user.plan IS NULL"),
        ("user.plan IS NOT NULL", "user.plan IS NOT NULL"),
        ("user.plan LIKE 'f%'", "user.plan LIKE 'f%'"),
        ("user.plan ILIKE 'F%'", "user.plan ILIKE 'F%'"),
        ("user.plan BETWEEN 'a' AND 'g'", "user.plan BETWEEN 'a' AND 'g'"),
        ("user.ever_paid = TRUE", "user.ever_paid = TRUE"),
        ("user.signed_up_at > '2026-01-01'", "user.signed_up_at > '2026-01-01'"),
        ("user.country = 'O''Brien'", "user.country = 'O''Brien'"),
    ],
)  # fmt: skip
def test_each_allowed_condition_becomes_filter_text(layer: Any, where: str, text: str) -> None:
    request = asked(layer, f"SELECT MEASURE(signups) FROM metrics WHERE {where}").request
    assert request.where == text
    assert (request.start, request.end) == (None, None)


def test_names_output_columns_order_and_limit(layer: Any) -> None:
    found = asked(
        layer,
        'SELECT metric_time__month AS m, "user".plan, SUM(signups) AS s, weekly_active_users__v1 '
        "FROM public.metrics GROUP BY 1, 2 ORDER BY s DESC, m LIMIT 5",
    )
    request = found.request
    assert request.metrics == ["signups", "weekly_active_users@1"]
    assert request.by == ["metric_time.month", "user.plan"]
    assert request.order == ["-signups", "metric_time.month"]
    assert request.limit == 5
    assert [c.column for c in found.columns] == ["m", "user.plan", "s", "weekly_active_users__v1"]


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("SELECT * FROM metrics", "0A000"),
        ("SELECT COUNT(*) FROM metrics", "0A000"),
        ("SELECT COUNT(signups) FROM metrics", "0A000"),
        ("SELECT SUM(DISTINCT signups) FROM metrics", "0A000"),
        ("SELECT user.plan FROM metrics", "0A000"),
        ("SELECT DISTINCT MEASURE(signups) FROM metrics", "0A000"),
        ("SELECT MEASURE(signups) FROM metrics HAVING MEASURE(signups) > 1", "0A000"),
        ("SELECT MEASURE(signups) FROM metrics m JOIN metrics n ON TRUE", "0A000"),
        ("SELECT user.plan, MEASURE(signups) FROM metrics GROUP BY user.country", "42803"),
        ("SELECT MEASURE(signups) FROM metrics GROUP BY signups", "42803"),
        ("SELECT MEASURE(signups) FROM metrics ORDER BY 3", "42P10"),
        ("SELECT MEASURE(signups) FROM metrics LIMIT 'a'", "42601"),
        ("SELECT MEASURE(signups) FROM metrics LIMIT ALL", "42601"),
        ("SELECT MEASURE(signups) FROM metrics WHERE user.plan = (SELECT 'free')", "0A000"),
        ("SELECT MEASURE(signups) FROM metrics WHERE EXISTS (SELECT 1)", "0A000"),
        ("SELECT MEASURE(signups) FROM metrics WHERE lower(user.plan) = 'a'", "0A000"),
        ("SELECT MEASURE(signups) FROM metrics WHERE user.plan = $1", "0A000"),
        ("SELECT MEASURE(signups) FROM metrics WHERE metric_time >= '2026-01-01 12:00'", "0A000"),
        ("SELECT MEASURE(signups) FROM metrics WHERE metric_time >= '2026-13-01'", "22007"),
        ("SELECT MEASURE(signups) FROM metrics WHERE user.plan = 'a' OR signups > 1", "0A000"),
        ("SELECT MEASURE(signups, mrr) FROM metrics", "42601"),
        ("SELECT MEASURE(user.plan) FROM metrics", "42703"),
        ("SELECT MEASURE(signups) FROM other", "42P01"),
        ("SELECT MEASURE(signups) FROM metrics FOR UPDATE", "0A000"),
    ],
)
def test_refusals(layer: Any, sql: str, code: str) -> None:
    with pytest.raises(SqlError) as raised:
        asked(layer, sql)
    assert raised.value.code == code
    assert raised.value.hint
