"""The shipped KPIs give the same numbers on PostgreSQL, MariaDB, SQLite and Spark as on DuckDB, on
the demo data loaded into each (``metrics-layer demo --connection URL``), as the same Python types:
counts equal exactly, other values within 1e-9 relative (floating-point sums in another order).

The seed of the engine matrix: totals and every grain from day to year, with and without a
joined dimension, a filter, a date range, order and limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from conftest import DEFINITIONS, require_service

import metrics_layer as ml
from metrics_layer.demo.load import load_demo

SERVERS = {
    "postgres": ("PostgreSQL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    "mariadb": ("MariaDB", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
KPIS = [
    "signups",
    "daily_active_users",
    "paid_conversion_rate",
    "mrr",
    "arpu",
    "new_mrr",
    "paying_customers",
    "events_per_active_user",
]
SHAPES = [
    {"by": []},
    {"by": ["metric_time.day"], "start": "2026-01-25", "end": "2026-02-03"},
    {"by": ["user.plan"], "where": "user.country = 'DE'"},
    {
        "by": ["metric_time.day", "user.acquisition_channel"],
        "start": "2025-12-30",
        "end": "2026-01-02",
    },
]


@pytest.fixture(scope="session")
def engines(
    tmp_path_factory: pytest.TempPathFactory, spark_demo: tuple[str, Any]
) -> dict[str, ml.SemanticLayer]:
    layers = {"duckdb": ml.load(DEFINITIONS)}
    for key, (name, url) in SERVERS.items():
        try:
            loaded = load_demo(url)
        except ml.EngineError as exc:
            require_service(name, False, str(exc))
            continue
        layers[key] = ml.load(DEFINITIONS, connection=url, target=loaded.target)
    sqlite = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    load_demo(f"sqlite:///{sqlite}")
    layers["sqlite"] = ml.load(DEFINITIONS, connection=f"sqlite:///{sqlite}")
    spark, loaded = spark_demo
    layers["spark"] = ml.load(DEFINITIONS, connection=spark, target=loaded.target)
    return layers


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same Python type (floats within 1e-9 relative)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return bool(a == b)


@pytest.mark.parametrize("engine", ["postgres", "mariadb", "sqlite", "spark"])
@pytest.mark.parametrize("kpi", KPIS)
def test_each_kpi_equals_duckdb(
    engines: dict[str, ml.SemanticLayer], engine: str, kpi: str
) -> None:
    if engine not in engines:
        pytest.skip(f"{engine} is not reachable")
    for shape in SHAPES:
        expected = engines["duckdb"].query([kpi], **shape).run().rows
        got = engines[engine].query([kpi], **shape).run().rows
        assert expected, (kpi, shape)
        assert len(got) == len(expected), (kpi, shape)
        for want, have in zip(expected, got, strict=True):
            assert all(_same(x, y) for x, y in zip(want, have, strict=True)), (
                kpi,
                shape,
                want,
                have,
            )


def test_the_loader_writes_only_its_own_place(engines: dict[str, ml.SemanticLayer]) -> None:
    """On PostgreSQL every demo table is in schema metrics_layer_demo; on MariaDB every demo
    table name starts with mldemo_; and loading again changes nothing."""
    if "postgres" in engines:
        url = SERVERS["postgres"][1]
        assert load_demo(url).created is False
        with sqlalchemy.create_engine(url).connect() as connection:
            tables = connection.exec_driver_sql(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'metrics_layer_demo' ORDER BY 1"
            ).fetchall()
        assert [t for (t,) in tables] == [
            "demo_version",
            "events",
            "subscription_snapshots",
            "subscriptions",
            "users",
        ]
    if "mariadb" in engines:
        url = SERVERS["mariadb"][1]
        assert load_demo(url).created is False
        with sqlalchemy.create_engine(url).connect() as connection:
            tables = connection.exec_driver_sql(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'test'"
            ).fetchall()
        demo = sorted(str(t) for (t,) in tables if str(t).startswith("mldemo_"))
        assert demo == [
            "mldemo_demo_version",
            "mldemo_events",
            "mldemo_subscription_snapshots",
            "mldemo_subscriptions",
            "mldemo_users",
        ]


def test_sqlite_demo_is_a_file(tmp_path: Path) -> None:
    database = tmp_path / "d.sqlite"
    loaded = load_demo(f"sqlite:///{database}")
    assert (loaded.created, loaded.rows, database.is_file()) == (True, 514_703, True)
    assert load_demo(f"sqlite:///{database}").created is False
