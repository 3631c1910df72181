"""dbt projects converted, loaded and queried on a real DuckDB; each number is compared with
hand-written SQL of what the dbt metric means."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

import metrics_layer as ml
from metrics_layer.importers.dbt import import_dbt

HERE = Path(__file__).parent
START = dt.date(2026, 1, 1)


def _jaffle_tables(con: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(12)
    con.execute(
        "CREATE TABLE customers (customer_id INTEGER, country VARCHAR, first_ordered_at DATE)"
    )
    con.execute(
        "CREATE TABLE orders (order_id INTEGER, customer_id INTEGER, ordered_at DATE, "
        "status VARCHAR, is_food_order BOOLEAN, order_total DECIMAL(10, 2))"
    )
    for customer in range(1, 21):
        country = ("DE", "FR", "US")[customer % 3]
        con.execute(
            "INSERT INTO customers VALUES (?, ?, ?)",
            [customer, country, START + dt.timedelta(days=customer)],
        )
    for order in range(1, 121):
        day = START + dt.timedelta(days=rng.randrange(0, 59))
        con.execute(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)",
            [
                order,
                rng.randrange(1, 21),
                day,
                rng.choice(["completed", "returned", "placed"]),
                rng.random() < 0.4,
                round(rng.uniform(5, 80), 2),
            ],
        )


def _saas_tables(con: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(7)
    con.execute(
        "CREATE TABLE dim_accounts (account_id INTEGER, signed_up_at DATE, region VARCHAR, "
        "segment VARCHAR)"
    )
    con.execute(
        "CREATE TABLE fct_subscription_days (subscription_id INTEGER, account_id INTEGER, "
        "snapshot_day DATE, plan VARCHAR, mrr_amount DECIMAL(10, 2))"
    )
    con.execute(
        "CREATE TABLE fct_events (event_id INTEGER, account_id INTEGER, occurred_at DATE, "
        "event_name VARCHAR)"
    )
    event = 0
    for account in range(1, 31):
        signed = START + dt.timedelta(days=rng.randrange(0, 50))
        con.execute(
            "INSERT INTO dim_accounts VALUES (?, ?, ?, ?)",
            [account, signed, rng.choice(["emea", "amer"]), rng.choice(["SMB", "Enterprise"])],
        )
        for _ in range(rng.randrange(0, 5)):
            event += 1
            day = signed + dt.timedelta(days=rng.randrange(0, 20))
            name = rng.choice(["project_created", "login", "invite_sent"])
            con.execute("INSERT INTO fct_events VALUES (?, ?, ?, ?)", [event, account, day, name])
        if rng.random() < 0.6:
            first = signed + dt.timedelta(days=rng.randrange(0, 10))
            last = min(first + dt.timedelta(days=rng.randrange(10, 60)), dt.date(2026, 3, 31))
            plan, amount = rng.choice([("basic", 29), ("pro", 99)])
            days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
            con.executemany(
                "INSERT INTO fct_subscription_days VALUES (?, ?, ?, ?, ?)",
                [[account, account, day, plan, amount] for day in days],
            )


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dbt") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    _jaffle_tables(con)
    _saas_tables(con)
    con.close()
    return path


@pytest.fixture(scope="module")
def hand(database: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    # A copy: DuckDB refuses a second connection to one file with other settings.
    copy = database.with_name("hand.duckdb")
    shutil.copyfile(database, copy)
    con = duckdb.connect(str(copy), read_only=True)
    yield con
    con.close()


def _layer(tmp: Path, project: str, database: Path) -> ml.SemanticLayer:
    out = tmp / project
    import_dbt(HERE / project, out)
    return ml.load(out, connection=f"duckdb:///{database}")


@pytest.fixture(scope="module")
def jaffle(tmp_path_factory: pytest.TempPathFactory, database: Path) -> ml.SemanticLayer:
    return _layer(tmp_path_factory.mktemp("out"), "jaffle_shop", database)


@pytest.fixture(scope="module")
def saas(tmp_path_factory: pytest.TempPathFactory, database: Path) -> ml.SemanticLayer:
    return _layer(tmp_path_factory.mktemp("out"), "saas", database)


def _rows(layer: ml.SemanticLayer, metrics: list[str], by: list[str]) -> list[tuple[Any, ...]]:
    result = layer.query(metrics, by=by, order=by).run()
    return [tuple(_num(v) for v in row) for row in result.rows]


def _sql(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(_num(v) for v in row) for row in con.execute(sql).fetchall()]


def _num(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if value is None or isinstance(value, (str, dt.date, bool)):
        return value
    return round(float(value), 6)


def test_simple_and_filtered_metrics(jaffle: ml.SemanticLayer, hand: Any) -> None:
    got = _rows(
        jaffle,
        ["revenue", "orders", "german_revenue", "completed_food_orders"],
        ["metric_time.month"],
    )
    want = _sql(
        hand,
        """
        SELECT date_trunc('month', o.ordered_at)::DATE, SUM(order_total), COUNT(*),
               COALESCE(SUM(order_total) FILTER (WHERE c.country = 'DE'), 0),
               COUNT(*) FILTER (WHERE is_food_order AND status = 'completed')
        FROM orders o LEFT JOIN customers c USING (customer_id) GROUP BY 1 ORDER BY 1""",
    )
    assert got == want
    assert len(got) == 2


def test_ratio_with_a_filtered_side(jaffle: ml.SemanticLayer, hand: Any) -> None:
    got = _rows(jaffle, ["revenue_per_customer", "food_share"], ["customer.country"])
    want = _sql(
        hand,
        """
        SELECT c.country, SUM(order_total) / COUNT(DISTINCT o.customer_id),
               COUNT(*) FILTER (WHERE is_food_order) / COUNT(*)
        FROM orders o LEFT JOIN customers c USING (customer_id) GROUP BY 1 ORDER BY 1""",
    )
    assert got == want


def test_derived_with_an_offset(jaffle: ml.SemanticLayer, hand: Any) -> None:
    got = _rows(jaffle, ["revenue_growth_wow", "non_german_revenue"], ["metric_time.week"])
    want = _sql(
        hand,
        """
        WITH weekly AS (
          SELECT date_trunc('week', ordered_at)::DATE AS week, SUM(order_total) AS revenue,
                 SUM(order_total) FILTER (WHERE c.country IS DISTINCT FROM 'DE') AS non_de
          FROM orders o LEFT JOIN customers c USING (customer_id) GROUP BY 1)
        SELECT w.week, (w.revenue - p.revenue) / p.revenue, w.non_de
        FROM weekly w LEFT JOIN weekly p ON p.week = w.week - INTERVAL 7 DAY ORDER BY 1""",
    )
    assert got == want


def test_cumulative_window_and_grain_to_date(jaffle: ml.SemanticLayer, hand: Any) -> None:
    got = _rows(jaffle, ["revenue_7d", "revenue_mtd", "cumulative_revenue"], ["metric_time.day"])
    want = _sql(
        hand,
        """
        WITH days AS (SELECT d::DATE AS day FROM range(DATE '2026-01-01', DATE '2026-03-01',
                                                       INTERVAL 1 DAY) t(d))
        SELECT day,
          (SELECT SUM(order_total) FROM orders WHERE ordered_at BETWEEN day - 6 AND day),
          (SELECT SUM(order_total) FROM orders
             WHERE ordered_at BETWEEN date_trunc('month', day) AND day),
          (SELECT SUM(order_total) FROM orders WHERE ordered_at <= day)
        FROM days
        WHERE day BETWEEN (SELECT MIN(ordered_at) FROM orders)
                      AND (SELECT MAX(ordered_at) FROM orders)
        ORDER BY 1""",
    )
    assert got[: len(want)] == want


def test_cumulative_by_month_shows_the_first_day_as_metricflow_does(
    jaffle: ml.SemanticLayer, hand: Any
) -> None:
    got = _rows(jaffle, ["cumulative_revenue"], ["metric_time.month"])
    want = _sql(
        hand,
        """
        SELECT month, (SELECT SUM(order_total) FROM orders WHERE ordered_at <= month)
        FROM (SELECT DISTINCT date_trunc('month', ordered_at)::DATE AS month FROM orders)
        ORDER BY 1""",
    )
    assert got == want
    # The last day's value (this library's default) differs: the rollup was written.
    assert (
        got[0][1]
        < _sql(hand, "SELECT SUM(order_total) FROM orders WHERE ordered_at < '2026-02-01'")[0][0]
    )


def test_semi_additive_mrr_and_arpa(saas: ml.SemanticLayer, hand: Any) -> None:
    got = _rows(saas, ["mrr", "paying_accounts", "arpa"], ["metric_time.month"])
    want = _sql(
        hand,
        """
        WITH last_day AS (SELECT date_trunc('month', snapshot_day)::DATE AS month,
                                 MAX(snapshot_day) AS day
                          FROM fct_subscription_days GROUP BY 1)
        SELECT l.month, SUM(mrr_amount), COUNT(DISTINCT account_id),
               SUM(mrr_amount) / COUNT(DISTINCT account_id)
        FROM last_day l JOIN fct_subscription_days s ON s.snapshot_day = l.day
        GROUP BY 1 ORDER BY 1""",
    )
    assert got == want
    assert len(got) == 3


def test_signups_with_a_filter_on_an_expression_dimension(
    saas: ml.SemanticLayer, hand: Any
) -> None:
    got = _rows(saas, ["signups", "emea_signups"], ["account.segment"])
    want = _sql(
        hand,
        """
        SELECT lower(segment), COUNT(*), COUNT(*) FILTER (WHERE region = 'emea')
        FROM dim_accounts GROUP BY 1 ORDER BY 1""",
    )
    assert got == want


def test_conversion_within_seven_days(saas: ml.SemanticLayer, hand: Any) -> None:
    got = _rows(saas, ["activation_rate", "activations_28d"], ["metric_time.month"])
    want = _sql(
        hand,
        """
        SELECT date_trunc('month', a.signed_up_at)::DATE,
          COUNT(*) FILTER (WHERE EXISTS (SELECT 1 FROM fct_events e
              WHERE e.account_id = a.account_id AND e.event_name = 'project_created'
                AND e.occurred_at BETWEEN a.signed_up_at AND a.signed_up_at + 7)) / COUNT(*),
          COUNT(*) FILTER (WHERE EXISTS (SELECT 1 FROM fct_events e
              WHERE e.account_id = a.account_id
                AND e.occurred_at BETWEEN a.signed_up_at AND a.signed_up_at + 28))
        FROM dim_accounts a GROUP BY 1 ORDER BY 1""",
    )
    assert got == want


def test_weekly_active_accounts_is_a_seven_day_window(saas: ml.SemanticLayer, hand: Any) -> None:
    got = _rows(saas, ["weekly_active_accounts"], ["metric_time.day"])
    want = _sql(
        hand,
        """
        SELECT day, (SELECT COUNT(DISTINCT account_id) FROM fct_events
                     WHERE occurred_at BETWEEN day - 6 AND day)
        FROM (SELECT DISTINCT occurred_at AS day FROM fct_events) ORDER BY 1""",
    )
    got_by_day = dict(got)
    assert [(day, got_by_day[day]) for day, _ in want] == want
