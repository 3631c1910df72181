"""Results as pandas, Arrow and polars with proper types, and as JSON-safe dicts, on real DuckDB
and SQLite results with NULLs, decimals and a project time zone (conftest.py has the rows)."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import metrics_layer as ml
from metrics_layer.errors import QueryError

from .conftest import ENGINES

METRICS = ["orders", "revenue", "refunded_amount", "paid_share"]
BY = ["metric_time.day", "orders.country"]
# By UTC day and country: order 2 and 1 on Jan 31 (DE); orders 4 (US) and 3 (no country) on
# Feb 1. Refunds: none for DE (NULL); the paid share is paid orders / orders.
DAYS = [
    (dt.date(2026, 1, 31), "DE", 2, 20.05, None, 1.0),
    (dt.date(2026, 2, 1), "US", 1, 5.0, 5.0, 0.0),
    (dt.date(2026, 2, 1), None, 1, 20.0, 20.0, 0.0),
]


def by_day(layer: ml.SemanticLayer) -> ml.Result:
    result = layer.query(METRICS, by=BY, order=["metric_time.day", "orders"]).run()
    assert sorted(result.rows, key=repr) == sorted(DAYS, key=repr)
    return result


@pytest.mark.parametrize("engine", ENGINES)
def test_pandas_dtypes(layers: dict[str, ml.SemanticLayer], engine: str) -> None:
    frame = by_day(layers[engine]).to_pandas()
    assert list(frame.columns) == [*BY, *METRICS]
    assert pd.api.types.is_datetime64_dtype(frame["metric_time.day"])
    assert frame["orders.country"].dtype == pd.StringDtype()
    assert frame["orders"].dtype == pd.Int64Dtype()
    for metric in ("revenue", "refunded_amount", "paid_share"):
        assert frame[metric].dtype == "float64"
    assert frame["orders.country"].isna().sum() == 1
    assert frame["refunded_amount"].isna().sum() == 1  # DE had no refunds
    assert frame["revenue"].sum() == pytest.approx(45.05)  # describe() and NumPy maths work
    assert frame["revenue"].describe()["max"] == pytest.approx(20.05)
    assert set(frame["metric_time.day"]) == {pd.Timestamp("2026-01-31"), pd.Timestamp("2026-02-01")}


@pytest.mark.parametrize("engine", ENGINES)
def test_arrow_and_polars_types(layers: dict[str, ml.SemanticLayer], engine: str) -> None:
    result = by_day(layers[engine])
    table = result.to_arrow()
    assert table.schema.types == [
        pa.date32(),
        pa.string(),
        pa.int64(),
        pa.float64(),
        pa.float64(),
        pa.float64(),
    ]
    meta = json.loads(table.schema.metadata[b"metrics_layer"])
    assert meta["metrics"]["revenue"]["metric"] == "revenue"
    assert table.column("refunded_amount").null_count == 1
    frame = result.to_polars()
    assert frame.dtypes == [pl.Date, pl.String, pl.Int64, pl.Float64, pl.Float64, pl.Float64]
    assert frame["orders"].sum() == 4


def test_exact_decimals_are_floats_unless_asked(layers: dict[str, ml.SemanticLayer]) -> None:
    """DuckDB returns the DECIMAL price dimension as Decimal: float64 by default, exact on
    request (SQLite has no DECIMAL: its prices are floats already)."""
    result = layers["duckdb"].query(["revenue"], by=["orders.price"]).run()
    assert result.column("orders.price") == [Decimal("4.99"), Decimal("9.99"), Decimal("19.99")]
    assert result.to_pandas()["orders.price"].tolist() == [4.99, 9.99, 19.99]
    exact = result.to_pandas(decimals="exact")["orders.price"]
    assert exact.dtype == object
    assert exact.tolist()[1] == Decimal("9.99")
    exact_arrow = result.to_arrow(decimals="exact").column("orders.price")
    assert exact_arrow.type == pa.decimal128(4, 2)  # 19.99: four digits, two after the point
    assert exact_arrow.to_pylist()[2] == Decimal("19.99")
    assert result.to_arrow().schema.field("orders.price").type == pa.float64()
    with pytest.raises(QueryError, match="decimals"):
        result.to_pandas(decimals="object")  # type: ignore[arg-type]
    sqlite = layers["sqlite"].query(["revenue"], by=["orders.price"]).run()
    assert sqlite.to_pandas()["orders.price"].tolist() == [4.99, 9.99, 19.99]


@pytest.mark.usefixtures("client_in_los_angeles")
def test_hours_are_naive_project_times_whatever_the_client_zone(
    layers: dict[str, ml.SemanticLayer],
) -> None:
    """Berlin is UTC+1 in winter: 08:00, 23:30, 09:00, 10:00 UTC are 09, 00 (next day), 10, 11
    in Berlin; the client's own zone (Los Angeles) plays no part."""
    result = layers["berlin"].query(["orders"], by=["metric_time.hour"]).run()
    frame = result.to_pandas()
    assert pd.api.types.is_datetime64_dtype(frame["metric_time.hour"])
    assert frame["metric_time.hour"].dt.tz is None
    assert frame["metric_time.hour"].tolist() == [
        pd.Timestamp("2026-01-31 09:00"),
        pd.Timestamp("2026-02-01 00:00"),
        pd.Timestamp("2026-02-01 10:00"),
        pd.Timestamp("2026-02-01 11:00"),
    ]
    assert result.to_arrow().schema.field("metric_time.hour").type == pa.timestamp("us")
    assert result.to_dicts()[1] == {"metric_time.hour": "2026-02-01T00:00:00", "orders": 1}


@pytest.mark.parametrize("engine", ENGINES)
def test_to_dicts_round_trips_through_json(
    layers: dict[str, ml.SemanticLayer], engine: str
) -> None:
    rows = by_day(layers[engine]).to_dicts(partial=True)
    assert json.loads(json.dumps(rows, allow_nan=False)) == rows
    assert {
        "metric_time.day": "2026-01-31",
        "orders.country": "DE",
        "orders": 2,
        "revenue": 20.05,
        "refunded_amount": None,
        "paid_share": 1.0,
        "partial": False,
    } in rows


def test_to_dicts_writes_values_as_the_service_does() -> None:
    from metrics_layer.server.encoding import json_value

    result = ml.Result(
        ("when", "price", "share", "flag"),
        ((dt.datetime(2026, 1, 2, 3, 4, 5), Decimal("0.10"), math.nan, True),),
        "select 1",
        "duckdb",
        {},
        0.0,
        0.0,
    )
    assert result.to_dicts() == [
        {"when": "2026-01-02T03:04:05", "price": "0.10", "share": None, "flag": True}
    ]
    assert [json_value(v) for v in result.rows[0]] == list(result.to_dicts()[0].values())
    frame = result.to_pandas()
    assert frame["flag"].dtype == pd.BooleanDtype()
    assert math.isnan(frame["share"][0])
    assert pd.api.types.is_datetime64_dtype(frame["when"])


def test_a_zoned_timestamp_in_a_categorical_column_is_naive_utc() -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    result = ml.Result(
        ("changed_at",), ((dt.datetime(2026, 1, 1, 9, tzinfo=berlin),),), "select 1", "x", {}, 0, 0
    )
    assert result.to_pandas()["changed_at"].tolist() == [pd.Timestamp("2026-01-01 08:00")]
    assert result.to_arrow().column("changed_at").to_pylist() == [dt.datetime(2026, 1, 1, 8)]


def test_an_empty_result_converts() -> None:
    result = ml.Result(("a", "b"), (), "select 1", "duckdb", {}, 0.0, 0.0)
    assert result.to_pandas().shape == (0, 2)
    assert result.to_arrow().num_rows == 0
    assert result.to_polars().shape == (0, 2)
    assert result.to_dicts() == []
