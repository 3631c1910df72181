"""The same query gives the same rows, in the same order, with the same Python types, on DuckDB,
SQLite, PostgreSQL, MariaDB, ClickHouse (chdb, in memory) and Spark.

The data is a literal SELECT in the source's ``sql:`` (nothing is written to any database), so
the same rows reach every engine; every expected number is worked out by hand in the comments.

| id | ordered_at (UTC)    | Berlin              | country | amount | status    | gift  |
|----|---------------------|---------------------|---------|--------|-----------|-------|
| 1  | 2026-01-31 23:30:00 | 2026-02-01 00:30 +1 | DE      | 10.00  | paid      | true  |
| 2  | 2026-01-31 08:00:00 | 2026-01-31 09:00 +1 | DE      | 10.05  | paid      | false |
| 3  | 2026-02-01 09:00:00 | 2026-02-01 10:00 +1 | FR      | 20.00  | refunded  | false |
| 4  | 2026-02-01 10:00:00 | 2026-02-01 11:00 +1 | US      | 5.00   | refunded  | true  |
| 5  | 2026-02-01 11:00:00 | 2026-02-01 12:00 +1 | IT      | 7.50   | cancelled | false |
| 6  | 2026-03-29 01:30:00 | 2026-03-29 03:30 +2 | US      | 2.50   | paid      | false |
| 7  | 2026-03-29 00:30:00 | 2026-03-29 01:30 +1 | FR      | 1.25   | paid      | true  |

Berlin moves to summer time at 2026-03-29 01:00 UTC, between orders 7 and 6.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy
from conftest import MARIADB_URL, POSTGRES_URL, require_pyspark, require_service
from sqlalchemy.pool import NullPool

import metrics_layer as ml
from metrics_layer.errors import UnsupportedError

POSTGRES = POSTGRES_URL
MARIADB = MARIADB_URL

D = dt.date
T = dt.datetime

_ROWS = [
    (1, "2026-01-31 23:30:00", "DE", "10.00", "paid", "TRUE"),
    (2, "2026-01-31 08:00:00", "DE", "10.05", "paid", "FALSE"),
    (3, "2026-02-01 09:00:00", "FR", "20.00", "refunded", "FALSE"),
    (4, "2026-02-01 10:00:00", "US", "5.00", "refunded", "TRUE"),
    (5, "2026-02-01 11:00:00", "IT", "7.50", "cancelled", "FALSE"),
    (6, "2026-03-29 01:30:00", "US", "2.50", "paid", "FALSE"),
    (7, "2026-03-29 00:30:00", "FR", "1.25", "paid", "TRUE"),
]


def _literal_rows() -> str:
    first, *rest = _ROWS
    head = (
        f"SELECT {first[0]} AS order_id, CAST('{first[1]}' AS TIMESTAMP) AS ordered_at, "
        f"'{first[2]}' AS country, CAST({first[3]} AS DECIMAL(10, 2)) AS amount, "
        f"'{first[4]}' AS status, {first[5]} AS gift"
    )
    tail = [
        f"SELECT {r[0]}, CAST('{r[1]}' AS TIMESTAMP), '{r[2]}', CAST({r[3]} AS DECIMAL(10, 2)), "
        f"'{r[4]}', {r[5]}"
        for r in rest
    ]
    return " UNION ALL ".join([head, *tail])


DEFINITIONS = f"""
    sources:
      - name: orders
        sql: "{_literal_rows()}"
        time: ordered_at
        entities:
          - {{name: order, key: order_id, primary: true}}
        dimensions:
          - {{name: ordered_at, type: time, grain: hour}}
          - {{name: country}}
          - {{name: status}}
          - {{name: gift, type: boolean}}
        measures:
          - {{name: orders, agg: count}}
          - {{name: amount, agg: sum, expr: amount}}
          - {{name: average_amount, agg: avg, expr: amount}}
          - {{name: median_amount, agg: median, expr: amount}}
    metrics:
      - {{name: orders, type: simple, measure: orders.orders}}
      - {{name: paid_orders, type: simple, measure: orders.orders, filter: "status = 'paid'"}}
      - name: refunded_amount
        type: simple
        measure: orders.amount
        filter: "status = 'refunded'"
      - {{name: revenue, type: simple, measure: orders.amount}}
      - {{name: avg_amount, type: simple, measure: orders.average_amount}}
      - {{name: median_amount, type: simple, measure: orders.median_amount}}
      - {{name: paid_share, type: ratio, numerator: paid_orders, denominator: orders}}
      - {{name: unpaid_orders, type: derived, expr: "orders - paid_orders"}}
      - name: daily_paid
        type: simple
        measure: orders.orders
        filter: "status = 'paid'"
        per: day
      - name: daily_refunded
        type: simple
        measure: orders.orders
        filter: "status = 'refunded'"
        per: day
"""

ENGINES = [
    "duckdb",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.engine("postgres")),
    pytest.param("mariadb", marks=pytest.mark.engine("mariadb")),
    pytest.param("chdb", marks=pytest.mark.engine("chdb")),
    pytest.param("spark", marks=pytest.mark.engine("spark")),
]
SERVERS = {"postgres": ("PostgreSQL", POSTGRES), "mariadb": ("MariaDB", MARIADB)}

Load = Callable[..., ml.SemanticLayer]


def _url(engine: str, tmp_path: Path) -> str:
    """An empty database of ``engine`` (a new file for the embedded ones)."""
    if engine == "duckdb":
        path = tmp_path / "empty.duckdb"
        duckdb.connect(str(path)).close()
        return f"duckdb:///{path}"
    if engine == "sqlite":
        path = tmp_path / "empty.sqlite"
        sqlite3.connect(path).close()
        return f"sqlite:///{path}"
    if engine == "chdb":
        pytest.importorskip("chdb")
        return "chdb://"
    if engine == "spark":
        return require_pyspark()
    name, url = SERVERS[engine]
    probe = sqlalchemy.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        probe.connect().close()
    except sqlalchemy.exc.OperationalError as exc:
        require_service(name, False, str(exc.orig).strip().splitlines()[0])
    finally:
        probe.dispose()
    return url


@pytest.fixture
def load(tmp_path: Path, write_project: Callable[[dict[str, str]], Path]) -> Iterator[Load]:
    """``load(engine, **project settings)``: the orders project on an empty ``engine``."""
    layers: list[ml.SemanticLayer] = []

    def build(engine: str, **settings: str) -> ml.SemanticLayer:
        lines = "".join(f"  {name}: {value}\n" for name, value in settings.items())
        folder = write_project(
            {
                "metrics_layer.yml": f"project:\n  name: orders\n  paths: [defs]\n{lines}",
                "defs/orders.yml": DEFINITIONS,
            }
        )
        layer = ml.load(folder, connection=_url(engine, tmp_path))
        layers.append(layer)
        return layer

    yield build
    for layer in layers:
        layer.connection.close()


def _typed(rows: list[tuple[Any, ...]]) -> list[tuple[tuple[Any, type], ...]]:
    """Each value with its exact type: 1 == 1.0 == True would hide a type difference."""
    return [tuple((value, type(value)) for value in row) for row in rows]


def _rows(layer: ml.SemanticLayer, metrics: list[str], **query: Any) -> list[tuple[Any, ...]]:
    return list(layer.query(metrics, **query).run().rows)


# -- a group no metric has data for does not appear ------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_group_where_no_metric_filter_passes_does_not_appear(load: Load, engine: str) -> None:
    layer = load(engine)
    both = _rows(layer, ["paid_orders", "refunded_amount"], by=["order.country"])
    # paid: DE orders 1, 2 -> 2; FR order 7 -> 1; US order 6 -> 1.
    # refunded: FR order 3 -> 20.00; US order 4 -> 5.00; DE has none -> NULL.
    # IT has only order 5 (cancelled): no metric has a row there, so no IT row.
    assert _typed(both) == _typed([("DE", 2, None), ("FR", 1, 20.0), ("US", 1, 5.0)])
    # Each metric's numbers are the ones it gives alone.
    alone_paid = _rows(layer, ["paid_orders"], by=["order.country"])
    alone_refunded = _rows(layer, ["refunded_amount"], by=["order.country"])
    assert alone_paid == [("DE", 2), ("FR", 1), ("US", 1)]
    assert alone_refunded == [("FR", 20.0), ("US", 5.0)]


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unfiltered_metric_keeps_every_group(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = _rows(layer, ["orders", "paid_orders", "refunded_amount"], by=["order.country"])
    # orders counts every row, so IT (order 5) stays, with 0 paid and no refunds.
    assert _typed(rows) == _typed(
        [("DE", 2, 2, None), ("FR", 2, 1, 20.0), ("IT", 1, 0, None), ("US", 2, 1, 5.0)]
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_per_day_metrics_with_different_filters_skip_empty_groups(load: Load, engine: str) -> None:
    layer = load(engine)
    query = {"by": ["order.country"], "start": "2026-01-31", "end": "2026-02-01"}
    rows = _rows(layer, ["daily_paid", "daily_refunded"], **query)
    # The source has rows on 2 days in the range (Jan 31, Feb 1): each average divides by 2.
    # DE: paid orders 1, 2 on Jan 31 -> (2 + 0) / 2 = 1.0; no refunds -> 0.0
    # FR: refund 3 on Feb 1 -> 0.0 paid, (0 + 1) / 2 = 0.5; US: refund 4 -> 0.0, 0.5
    # IT: order 5 is cancelled, no metric has a row: no IT row.
    expected = [("DE", 1.0, 0.0), ("FR", 0.0, 0.5), ("US", 0.0, 0.5)]
    assert _typed(rows) == _typed(expected)
    paid = _rows(layer, ["daily_paid"], **query)
    assert _typed(paid) == _typed([("DE", 1.0)])


# -- order and limit with ties ---------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_ties_in_the_order_break_on_the_grain_keys(load: Load, engine: str) -> None:
    layer = load(engine)
    # orders: DE 2, FR 2, US 2, IT 1. Three tie at 2; the country breaks the tie (ascending).
    rows = _rows(layer, ["orders"], by=["order.country"], order=["-orders"], limit=2)
    assert rows == [("DE", 2), ("FR", 2)]
    # paid_orders: DE 2, FR 1, US 1 (IT has none: 0). Ascending: IT, then FR and US tied.
    rows = _rows(
        layer, ["orders", "paid_orders"], by=["order.country"], order=["paid_orders"], limit=3
    )
    assert rows == [("IT", 1, 0), ("FR", 2, 1), ("US", 2, 1)]


def test_the_order_is_total_in_the_sql(load: Load) -> None:
    layer = load("duckdb")
    query = layer.query(
        ["orders"], by=["order.country", "order.gift"], order=["-orders", "order.gift"]
    )
    # The requested order, then each grain key not already in it, in `by` order.
    sql = query.sql("postgres", pretty=False)
    assert sql.endswith("ORDER BY orders DESC NULLS LAST, order__gift ASC, order__country")


# -- averages of decimals --------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_the_average_of_decimals_is_not_rounded(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = _rows(layer, ["avg_amount"], by=["order.gift"])
    # not a gift: orders 2, 3, 5, 6: 10.05 + 20.00 + 7.50 + 2.50 = 40.05 / 4 = 10.0125
    # gift: orders 1, 4, 7: 10.00 + 5.00 + 1.25 = 16.25 / 3 = 5.41666...
    # (MariaDB's AVG of a DECIMAL(10, 2) keeps 6 decimals: it gave 5.416667)
    assert [r[0] for r in rows] == [False, True]
    assert [r[1] for r in rows] == pytest.approx([10.0125, 16.25 / 3], rel=1e-12)
    total = _rows(layer, ["avg_amount"])
    # all seven: 10.00 + 10.05 + 20.00 + 5.00 + 7.50 + 2.50 + 1.25 = 56.30 / 7 = 8.0428571...
    assert total[0][0] == pytest.approx(56.30 / 7, rel=1e-12)
    assert type(total[0][0]) is float


# -- percentiles -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "engine",
    [
        "duckdb",
        pytest.param("postgres", marks=pytest.mark.engine("postgres")),
        pytest.param("chdb", marks=pytest.mark.engine("chdb")),
        pytest.param("spark", marks=pytest.mark.engine("spark")),
    ],
)
def test_median_of_decimals_is_exact(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = _rows(layer, ["median_amount"], by=["order.country"])
    # DE: (10.00 + 10.05) / 2 = 10.025 (DuckDB used to round it to the scale: 10.02)
    # FR: (1.25 + 20.00) / 2 = 10.625; IT: 7.50 alone; US: (2.50 + 5.00) / 2 = 3.75
    assert [r[0] for r in rows] == ["DE", "FR", "IT", "US"]
    assert [r[1] for r in rows] == pytest.approx([10.025, 10.625, 7.5, 3.75], abs=1e-12)
    assert all(type(r[1]) is float for r in rows)


def test_median_is_the_same_float_on_duckdb_and_postgres(load: Load) -> None:
    duck = _rows(load("duckdb"), ["median_amount"], by=["order.country"])
    pg_url = _url("postgres", Path("."))  # skips when PostgreSQL is not reachable
    assert pg_url == POSTGRES
    postgres = _rows(load("postgres"), ["median_amount"], by=["order.country"])
    assert _typed(duck) == _typed(postgres)


@pytest.mark.parametrize(
    "engine",
    [
        "sqlite",
        pytest.param("mariadb", marks=pytest.mark.engine("mariadb")),
    ],
)
def test_median_is_refused_where_it_cannot_be_exact(load: Load, engine: str) -> None:
    with pytest.raises(UnsupportedError, match="median/percentile"):
        load(engine).query(["median_amount"]).run()


# -- averages of decimals --------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_an_average_of_decimals_is_the_full_float(load: Load, engine: str) -> None:
    """Spark (and MariaDB) average a DECIMAL as a DECIMAL with a few more places: 8.042857."""
    rows = _rows(load(engine), ["avg_amount"])
    # 10.00 + 10.05 + 20.00 + 5.00 + 7.50 + 2.50 + 1.25 = 56.30, over 7 orders
    assert _typed(rows) == _typed([(56.3 / 7,)])


# -- the same Python types -------------------------------------------------------------------

DAYS = [
    # (day, gift, orders, revenue, avg_amount, paid_share, unpaid_orders)
    # Jan 31, not a gift: order 2 -> 1 order, 10.05, avg 10.05, paid 1/1, unpaid 0
    (D(2026, 1, 31), False, 1, 10.05, 10.05, 1.0, 0),
    # Jan 31, gift: order 1 -> 1 order, 10.00, avg 10.00, paid 1/1, unpaid 0
    (D(2026, 1, 31), True, 1, 10.0, 10.0, 1.0, 0),
    # Feb 1, not a gift: orders 3, 5 -> 2, 20.00 + 7.50 = 27.50, avg 13.75, paid 0/2, unpaid 2
    (D(2026, 2, 1), False, 2, 27.5, 13.75, 0.0, 2),
    # Feb 1, gift: order 4 -> 1, 5.00, avg 5.00, paid 0/1, unpaid 1
    (D(2026, 2, 1), True, 1, 5.0, 5.0, 0.0, 1),
]
DAY_METRICS = ["orders", "revenue", "avg_amount", "paid_share", "unpaid_orders"]


@pytest.mark.parametrize("engine", ENGINES)
def test_values_and_types_by_day_are_the_same_everywhere(load: Load, engine: str) -> None:
    layer = load(engine)
    rows = _rows(
        layer,
        DAY_METRICS,
        by=["metric_time", "order.gift"],
        start="2026-01-31",
        end="2026-02-01",
    )
    assert _typed(rows) == _typed(DAYS)


@pytest.fixture
def client_in_los_angeles(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The client's own zone is neither UTC nor the project's."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


HOURS = [
    (T(2026, 1, 31, 9), 1),  # order 2: 08:00 UTC = 09:00 CET
    (T(2026, 2, 1, 0), 1),  # order 1: Jan 31 23:30 UTC = Feb 1 00:30 CET (next day and month)
    (T(2026, 2, 1, 10), 1),  # order 3
    (T(2026, 2, 1, 11), 1),  # order 4
    (T(2026, 2, 1, 12), 1),  # order 5
    (T(2026, 3, 29, 1), 1),  # order 7: 00:30 UTC = 01:30 CET (before the change)
    (T(2026, 3, 29, 3), 1),  # order 6: 01:30 UTC = 03:30 CEST (after the change)
]
MONTHS = [
    (D(2026, 1, 1), 1),  # order 2 only: order 1 is in February in Berlin
    (D(2026, 2, 1), 4),  # orders 1, 3, 4, 5
    (D(2026, 3, 1), 2),  # orders 6, 7
]


@pytest.mark.parametrize(
    "engine",
    [
        "duckdb",
        pytest.param("postgres", marks=pytest.mark.engine("postgres")),
        pytest.param("chdb", marks=pytest.mark.engine("chdb")),
        pytest.param("spark", marks=pytest.mark.engine("spark")),
        # MariaDB: a named zone needs the server's time-zone tables, which this machine's server
        # does not have; tests/soundness/test_time_zones.py proves the query is then refused.
    ],
)
@pytest.mark.usefixtures("client_in_los_angeles")
def test_hour_buckets_are_naive_local_times_and_months_are_dates(load: Load, engine: str) -> None:
    layer = load(engine, time_zone="Europe/Berlin")
    hours = _rows(layer, ["orders"], by=["metric_time.hour"])
    assert _typed(hours) == _typed(HOURS)
    months = _rows(layer, ["orders"], by=["metric_time.month"])
    assert _typed(months) == _typed(MONTHS)


UTC_HOURS = [
    (T(2026, 1, 31, 8), 1),  # order 2
    (T(2026, 1, 31, 23), 1),  # order 1
    (T(2026, 2, 1, 9), 1),  # order 3
    (T(2026, 2, 1, 10), 1),  # order 4
    (T(2026, 2, 1, 11), 1),  # order 5
    (T(2026, 3, 29, 0), 1),  # order 7
    (T(2026, 3, 29, 1), 1),  # order 6
]


@pytest.mark.parametrize(
    "engine",
    [
        "duckdb",
        pytest.param("postgres", marks=pytest.mark.engine("postgres")),
        pytest.param("mariadb", marks=pytest.mark.engine("mariadb")),
        pytest.param("chdb", marks=pytest.mark.engine("chdb")),
        pytest.param("spark", marks=pytest.mark.engine("spark")),
    ],
)
@pytest.mark.usefixtures("client_in_los_angeles")
def test_utc_hour_buckets_are_naive_datetimes(load: Load, engine: str) -> None:
    layer = load(engine)
    assert _typed(_rows(layer, ["orders"], by=["metric_time.hour"])) == _typed(UTC_HOURS)


@pytest.mark.usefixtures("client_in_los_angeles")
def test_sqlite_gives_the_same_hour_buckets_and_types(load: Load) -> None:
    """SQLite computes hour and month buckets too (from text timestamps): same rows, same
    Python types as the other engines in a UTC project."""
    layer = load("sqlite")
    assert _typed(_rows(layer, ["orders"], by=["metric_time.hour"])) == _typed(UTC_HOURS)
