"""Silent-wrong-answer traps on tiny hand-made data, with every expected number worked by hand.

- fan-out: measures of a source, queried with measures of the sources that join to it
  many-to-one (one and two hops), are counted once per row of their own source;
- a NULL dimension value is one group, kept whole across sources;
- semi-additive: a snapshot measure keeps only the last snapshot date of each period (over the
  whole source), so a group without a row on that date has no value rather than an older one;
- per-day average: a day without rows for a group counts as 0, over every day with data.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal

import pytest

import metrics_layer as ml
from soundness.literal import Rows, TinyLayer


def rows_of(result: ml.Result) -> set[tuple[object, ...]]:
    assert len(set(result.rows)) == len(result.rows), "the result repeats a row"
    return set(result.rows)


def assert_rows(result: ml.Result, expected: Sequence[tuple[object, ...]]) -> None:
    """Rows equal ``expected`` in any order; floats within a relative 1e-9."""

    def key(row: tuple[object, ...]) -> tuple[object, ...]:
        return tuple(v for v in row if not isinstance(v, float))

    actual = {key(row): row for row in result.rows}
    wanted = {key(row): row for row in expected}
    assert len(actual) == len(result.rows), "the result repeats a grain"
    assert len(wanted) == len(expected)
    assert sorted(actual, key=repr) == sorted(wanted, key=repr)
    for grain, row in wanted.items():
        got = actual[grain]
        assert len(got) == len(row)
        for value, expected_value in zip(got, row, strict=True):
            if isinstance(expected_value, float):
                assert isinstance(value, float), (grain, value)
                assert math.isclose(value, expected_value, rel_tol=1e-9), (grain, value)


# -- fan-out ----------------------------------------------------------------------------------

SHOP_TABLES: dict[str, tuple[str, Rows]] = {
    "customers": (
        "customer_id INTEGER, region VARCHAR, tier VARCHAR, credit_limit INTEGER",
        [
            (1, "EU", "gold", 100),
            (2, "EU", "silver", 200),
            (3, "US", "gold", 300),
            (4, None, "gold", 400),
            (5, "US", "silver", 500),
        ],
    ),
    "orders": (
        "order_id INTEGER, customer_id INTEGER, amount INTEGER, ordered_at TIMESTAMP",
        [
            (1, 1, 10, dt.datetime(2026, 3, 2, 9)),
            (2, 1, 20, dt.datetime(2026, 3, 3, 9)),
            (3, 1, 30, dt.datetime(2026, 3, 4, 9)),
            (4, 2, 5, dt.datetime(2026, 3, 4, 10)),
            (5, 3, 7, dt.datetime(2026, 3, 5, 9)),
            (6, 3, 8, dt.datetime(2026, 3, 6, 9)),
            (7, 4, 1, dt.datetime(2026, 3, 6, 10)),
            (8, 4, 2, dt.datetime(2026, 3, 7, 9)),
        ],
    ),
    "line_items": (
        "line_item_id INTEGER, order_id INTEGER, quantity INTEGER",
        [
            (1, 1, 1),
            (2, 1, 3),
            (3, 2, 5),
            (4, 3, 1),
            (5, 3, 1),
            (6, 3, 1),
            (7, 4, 2),
            (8, 5, 4),
            (9, 5, 4),
            (10, 7, 10),
            (11, 8, 1),
            (12, 8, 2),
        ],
    ),
}

SHOP_PROJECT = {
    "shop.yml": """
        sources:
          - name: customers
            table: customers
            entities:
              - {name: customer, key: customer_id, primary: true}
            dimensions:
              - {name: region}
              - {name: tier}
            measures:
              - {name: customers, agg: count}
              - {name: credit, agg: sum, expr: credit_limit}
          - name: orders
            table: orders
            time: ordered_at
            entities:
              - {name: order, key: order_id, primary: true}
              - {name: customer, key: customer_id}
            dimensions:
              - {name: ordered_at, type: time}
            measures:
              - {name: orders, agg: count}
              - {name: revenue, agg: sum, expr: amount}
          - name: line_items
            table: line_items
            entities:
              - {name: line_item, key: line_item_id, primary: true}
              - {name: order, key: order_id}
            measures:
              - {name: units, agg: sum, expr: quantity}
        metrics:
          - {name: customer_count, type: simple, measure: customers.customers}
          - {name: credit, type: simple, measure: customers.credit}
          - {name: order_count, type: simple, measure: orders.orders}
          - {name: revenue, type: simple, measure: orders.revenue}
          - {name: units, type: simple, measure: line_items.units}
          - name: revenue_per_customer
            type: ratio
            numerator: orders.revenue
            denominator: customers.customers
    """
}

SHOP_METRICS = ["customer_count", "credit", "order_count", "revenue", "units"]


@pytest.fixture
def shop(tiny_layer: TinyLayer) -> ml.SemanticLayer:
    return tiny_layer(SHOP_TABLES, SHOP_PROJECT)


def test_customer_measures_are_not_multiplied_by_their_orders(shop: ml.SemanticLayer) -> None:
    result = shop.query(SHOP_METRICS, by="customer.region").run()
    assert result.columns == ("customer.region", *SHOP_METRICS)
    assert rows_of(result) == {
        # EU: customers 1 and 2; credit 100 + 200; orders 1-4; revenue 10 + 20 + 30 + 5;
        # units (1 + 3) + 5 + (1 + 1 + 1) + 2. A join of customers to orders would count
        # customer 1 three times: 4 customers and credit 100 * 3 + 200 = 500.
        ("EU", 2, 300, 4, 65, 14),
        # US: customers 3 and 5; credit 300 + 500; orders 5, 6; revenue 7 + 8; units 4 + 4.
        ("US", 2, 800, 2, 15, 8),
        # NULL region: customer 4; credit 400; orders 7, 8; revenue 1 + 2; units 10 + 1 + 2.
        (None, 1, 400, 2, 3, 13),
    }


def test_ungrouped_totals_count_each_row_once(shop: ml.SemanticLayer) -> None:
    result = shop.query(SHOP_METRICS).run()
    # 5 customers; credit 100 + 200 + 300 + 400 + 500; 8 orders; revenue 10 + 20 + 30 + 5 + 7
    # + 8 + 1 + 2; units 14 + 8 + 13.
    assert result.rows == ((5, 1500, 8, 83, 35),)


def test_by_customer_a_customer_without_orders_has_zero_orders(shop: ml.SemanticLayer) -> None:
    result = shop.query(SHOP_METRICS, by="customer").run()
    assert rows_of(result) == {
        # customer: 1 customer, its credit, its orders, their amounts, their items' quantities.
        (1, 1, 100, 3, 60, 12),  # revenue 10 + 20 + 30; units 1 + 3 + 5 + 1 + 1 + 1
        (2, 1, 200, 1, 5, 2),
        (3, 1, 300, 2, 15, 8),
        (4, 1, 400, 2, 3, 13),
        (5, 1, 500, 0, None, None),  # no orders: a count is 0, a sum has no value
    }


def test_filter_on_the_joined_dimension_applies_to_every_source(shop: ml.SemanticLayer) -> None:
    result = shop.query(SHOP_METRICS, by="customer.region", where="customer.tier = 'gold'").run()
    assert rows_of(result) == {
        ("EU", 1, 100, 3, 60, 12),  # customer 1 only
        ("US", 1, 300, 2, 15, 8),  # customer 3 only
        (None, 1, 400, 2, 3, 13),  # customer 4
    }


def test_ratio_across_sources_divides_per_group_totals(shop: ml.SemanticLayer) -> None:
    result = shop.query("revenue_per_customer", by="customer.region").run()
    assert_rows(
        result,
        [
            ("EU", 65 / 2),  # 32.5, not 65 / 4 orders' customers
            ("US", 15 / 2),  # customer 5 has no orders but is a customer
            (None, 3 / 1),
        ],
    )


def test_null_group_is_one_row_in_a_multi_source_query(shop: ml.SemanticLayer) -> None:
    result = shop.query(["customer_count", "units"], by="customer.region").run()
    null_rows = [row for row in result.rows if row[0] is None]
    # Customer 4 is the only customer without a region; its orders 7 and 8 hold 13 units.
    # NULL = NULL is not true: joining the sources on plain equality would lose both values
    # (None, 0, NULL), and a full outer join would split them into two rows.
    assert null_rows == [(None, 1, 13)]
    assert len(result.rows) == 3


def test_order_count_by_joined_dimension_with_a_date_range(shop: ml.SemanticLayer) -> None:
    result = shop.query(
        ["order_count", "revenue"], by="customer.region", start="2026-03-04", end="2026-03-06"
    ).run()
    assert rows_of(result) == {
        ("EU", 2, 35),  # orders 3 and 4 (March 4): 30 + 5
        ("US", 2, 15),  # orders 5 and 6: 7 + 8
        (None, 1, 1),  # order 7 (March 6); order 8 is on March 7
    }


# -- semi-additive ----------------------------------------------------------------------------

BANK_TABLES: dict[str, tuple[str, Rows]] = {
    "accounts": (
        "account_id VARCHAR, segment VARCHAR",
        [("A", "retail"), ("B", "business"), ("C", "retail")],
    ),
    "balances": (
        "day DATE, account_id VARCHAR, balance DECIMAL(10, 2)",
        [
            (dt.date(2026, 1, 1), "A", Decimal("100.00")),
            (dt.date(2026, 1, 15), "A", Decimal("150.00")),
            (dt.date(2026, 1, 31), "A", Decimal("120.00")),
            (dt.date(2026, 1, 1), "B", Decimal("1000.00")),
            (dt.date(2026, 1, 20), "B", Decimal("900.00")),
            (dt.date(2026, 1, 31), "C", Decimal("50.00")),
            (dt.date(2026, 2, 10), "A", Decimal("130.00")),
            (dt.date(2026, 2, 28), "B", Decimal("700.00")),
        ],
    ),
}

BANK_PROJECT = {
    "bank.yml": """
        sources:
          - name: accounts
            table: accounts
            entities:
              - {name: account, key: account_id, primary: true}
            dimensions:
              - {name: segment}
          - name: balances
            table: balances
            time: day
            entities:
              - {name: account, key: account_id}
            dimensions:
              - {name: day, type: time, grain: day}
            measures:
              - {name: balance, agg: sum, semi_additive: last}
              - {name: holders, agg: count_distinct, expr: account_id, semi_additive: last}
              - {name: snapshot_rows, agg: count}
        metrics:
          - {name: balance, type: simple, measure: balances.balance}
          - {name: holders, type: simple, measure: balances.holders}
          - {name: snapshot_rows, type: simple, measure: balances.snapshot_rows}
    """
}


@pytest.fixture
def bank(tiny_layer: TinyLayer) -> ml.SemanticLayer:
    return tiny_layer(BANK_TABLES, BANK_PROJECT)


def test_balance_by_month_is_the_last_snapshot_day_only(bank: ml.SemanticLayer) -> None:
    result = bank.query("balance", by="metric_time.month").run()
    assert rows_of(result) == {
        # Last snapshot date of January is the 31st: A 120 + C 50. Summing every row would give
        # 2320; each account's own latest row would give 120 + 900 + 50 = 1070.
        (dt.date(2026, 1, 1), Decimal("170.00")),
        # Last snapshot date of February is the 28th: B 700 (A's latest, February 10, is older).
        (dt.date(2026, 2, 1), Decimal("700.00")),
    }


def test_group_missing_on_the_last_day_has_no_older_value(bank: ml.SemanticLayer) -> None:
    result = bank.query(["balance", "holders"], by=["metric_time.month", "account.segment"]).run()
    assert rows_of(result) == {
        (dt.date(2026, 1, 1), "retail", Decimal("170.00"), 2),  # A 120 + C 50 on January 31
        (dt.date(2026, 2, 1), "business", Decimal("700.00"), 1),  # B on February 28
    }


def test_group_missing_on_the_last_day_is_null_or_zero_beside_other_metrics(
    bank: ml.SemanticLayer,
) -> None:
    result = bank.query(
        ["balance", "holders", "snapshot_rows"], by=["metric_time.month", "account.segment"]
    ).run()
    assert rows_of(result) == {
        # snapshot_rows counts every row: A three times and C once in January.
        (dt.date(2026, 1, 1), "retail", Decimal("170.00"), 2, 4),
        # B has two January rows but none on January 31: no balance (not 900), 0 holders.
        (dt.date(2026, 1, 1), "business", None, 0, 2),
        # A's February row is the 10th, not the 28th: no balance (not 130), 0 holders.
        (dt.date(2026, 2, 1), "retail", None, 0, 1),
        (dt.date(2026, 2, 1), "business", Decimal("700.00"), 1, 1),
    }


def test_ungrouped_balance_is_the_last_day_of_the_whole_range(bank: ml.SemanticLayer) -> None:
    result = bank.query(["balance", "holders"], start="2026-01-01", end="2026-02-28").run()
    assert result.rows == ((Decimal("700.00"), 1),)  # February 28: B only


def test_end_date_moves_the_last_snapshot_day(bank: ml.SemanticLayer) -> None:
    result = bank.query(
        ["balance", "holders"], by=["metric_time.month", "account.segment"], end="2026-01-20"
    ).run()
    # Up to January 20 the last snapshot date is the 20th: only B has a row there.
    assert rows_of(result) == {(dt.date(2026, 1, 1), "business", Decimal("900.00"), 1)}


def test_balance_by_day_keeps_every_day(bank: ml.SemanticLayer) -> None:
    result = bank.query("balance", by="metric_time.day", end="2026-01-31").run()
    assert rows_of(result) == {
        (dt.date(2026, 1, 1), Decimal("1100.00")),  # A 100 + B 1000
        (dt.date(2026, 1, 15), Decimal("150.00")),
        (dt.date(2026, 1, 20), Decimal("900.00")),
        (dt.date(2026, 1, 31), Decimal("170.00")),  # A 120 + C 50
    }


# -- per-day average --------------------------------------------------------------------------

VISIT_TABLES: dict[str, tuple[str, Rows]] = {
    "stores": (
        "store_id VARCHAR, city VARCHAR",
        [("X", "Berlin"), ("Y", "Paris"), ("Z", "Berlin")],
    ),
    "visits": (
        "visit_id INTEGER, store_id VARCHAR, visitor VARCHAR, visited_at TIMESTAMP",
        [
            (1, "X", "a", dt.datetime(2026, 3, 2, 9)),  # Monday
            (2, "X", "b", dt.datetime(2026, 3, 2, 10)),
            (3, "X", "a", dt.datetime(2026, 3, 2, 11)),
            (4, "X", "a", dt.datetime(2026, 3, 3, 9)),  # Tuesday
            (5, "Y", "d", dt.datetime(2026, 3, 4, 9)),  # Wednesday
            (6, "Y", "d", dt.datetime(2026, 3, 4, 15)),
            (7, "X", "a", dt.datetime(2026, 3, 6, 9)),  # Friday
            (8, "X", "b", dt.datetime(2026, 3, 6, 10)),
            (9, "X", "c", dt.datetime(2026, 3, 6, 11)),
            (10, "X", "e", dt.datetime(2026, 3, 9, 9)),  # next Monday
        ],
    ),
    "members": (
        "member_id INTEGER, store_id VARCHAR, joined_at TIMESTAMP",
        [
            (1, "Z", dt.datetime(2026, 3, 3, 12)),
            (2, "X", dt.datetime(2026, 3, 5, 12)),
        ],
    ),
}

VISIT_PROJECT = {
    "visits.yml": """
        sources:
          - name: stores
            table: stores
            entities:
              - {name: store, key: store_id, primary: true}
            dimensions:
              - {name: city}
          - name: visits
            table: visits
            time: visited_at
            entities:
              - {name: visit, key: visit_id, primary: true}
              - {name: store, key: store_id}
            dimensions:
              - {name: visited_at, type: time}
            measures:
              - {name: visitors, agg: count_distinct, expr: visitor}
          - name: members
            table: members
            time: joined_at
            entities:
              - {name: store, key: store_id}
            dimensions:
              - {name: joined_at, type: time}
            measures:
              - {name: members, agg: count}
        metrics:
          - name: daily_visitors
            type: simple
            measure: visits.visitors
            per: day
            rollup: average
          - {name: new_members, type: simple, measure: members.members}
    """
}


@pytest.fixture
def visits(tiny_layer: TinyLayer) -> ml.SemanticLayer:
    return tiny_layer(VISIT_TABLES, VISIT_PROJECT)


def test_per_day_average_counts_days_without_rows_as_zero(visits: ml.SemanticLayer) -> None:
    result = visits.query("daily_visitors", by=["metric_time.week", "store"]).run()
    # The visits run from Monday March 2 to Monday March 9: the week of March 2 has 7 days
    # (Thursday, Saturday and Sunday without a visit), the week of March 9 one.
    assert_rows(
        result,
        [
            # X: Monday {a, b} 2, Tuesday {a} 1, Friday {a, b, c} 3, four days 0 -> 6 / 7.
            # Averaging only X's own days would give 6 / 3 = 2.
            (dt.date(2026, 3, 2), "X", 6 / 7),
            # Y: Wednesday {d} 1, the other six days 0 -> 1 / 7 (not 1).
            (dt.date(2026, 3, 2), "Y", 1 / 7),
            (dt.date(2026, 3, 9), "X", 1 / 1),
        ],
    )


def test_per_day_average_of_all_groups(visits: ml.SemanticLayer) -> None:
    result = visits.query("daily_visitors", by="metric_time.week").run()
    assert_rows(
        result,
        [
            (dt.date(2026, 3, 2), (2 + 1 + 1 + 0 + 3 + 0 + 0) / 7),  # Monday to Sunday
            (dt.date(2026, 3, 9), 1 / 1),
        ],
    )


def test_per_day_average_by_month(visits: ml.SemanticLayer) -> None:
    result = visits.query("daily_visitors", by=["metric_time.month", "store.city"]).run()
    # March's days from the first visit to the last: the 2nd to the 9th (8 days).
    assert_rows(
        result,
        [
            (dt.date(2026, 3, 1), "Berlin", (2 + 1 + 0 + 0 + 3 + 0 + 0 + 1) / 8),  # store X
            (dt.date(2026, 3, 1), "Paris", (0 + 0 + 1 + 0 + 0 + 0 + 0 + 0) / 8),  # store Y
        ],
    )


def test_per_day_average_ignores_the_filter_when_counting_days(visits: ml.SemanticLayer) -> None:
    result = visits.query(
        "daily_visitors", by="metric_time.week", where="store.city = 'Paris'"
    ).run()
    # Only Y passes the filter (one visitor on Wednesday), yet the week still has its 7 days
    # from the first visit of any store: 1 / 7, as Paris's row by store.city, not 1.
    assert_rows(result, [(dt.date(2026, 3, 2), 1 / 7)])
    by_city = visits.query("daily_visitors", by=["metric_time.week", "store.city"]).run()
    assert {(r[0], r[1]): r[2] for r in by_city.rows}[(dt.date(2026, 3, 2), "Paris")] == (
        pytest.approx(1 / 7)
    )


def test_per_day_average_over_a_date_range(visits: ml.SemanticLayer) -> None:
    result = visits.query("daily_visitors", by="store", start="2026-03-03", end="2026-03-06").run()
    # Every day from March 3 to 6 counts, Thursday without a visit too (4 days).
    assert_rows(
        result,
        [
            ("X", (1 + 0 + 0 + 3) / 4),
            ("Y", (0 + 1 + 0 + 0) / 4),
        ],
    )


def test_per_day_average_is_zero_where_only_another_metric_has_rows(
    visits: ml.SemanticLayer,
) -> None:
    result = visits.query(["daily_visitors", "new_members"], by=["metric_time.week", "store"]).run()
    assert_rows(
        result,
        [
            (dt.date(2026, 3, 2), "X", 6 / 7, 1),  # member 2 joined X on March 5
            (dt.date(2026, 3, 2), "Y", 1 / 7, 0),
            # Z has a new member but no visit: every day counts 0 visitors, so the average is 0.
            (dt.date(2026, 3, 2), "Z", 0.0, 1),
            (dt.date(2026, 3, 9), "X", 1.0, 0),
        ],
    )
