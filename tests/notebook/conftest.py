"""A small orders project with value formats, NULLs, exact decimals and a time zone, on empty
DuckDB and SQLite files (the rows are a literal SELECT: nothing is written to a database).

| id | ordered_at (UTC)    | Berlin (CET)      | country | amount | status   | price |
|----|---------------------|-------------------|---------|--------|----------|-------|
| 1  | 2026-01-31 23:30:00 | 2026-02-01 00:30  | DE      | 10.00  | paid     | 9.99  |
| 2  | 2026-01-31 08:00:00 | 2026-01-31 09:00  | DE      | 10.05  | paid     | 9.99  |
| 3  | 2026-02-01 09:00:00 | 2026-02-01 10:00  | NULL    | 20.00  | refunded | 19.99 |
| 4  | 2026-02-01 10:00:00 | 2026-02-01 11:00  | US      | 5.00   | refunded | 4.99  |
"""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from soundness.literal import literal_rows

import metrics_layer as ml

ORDERS = literal_rows(
    {
        "order_id": None,
        "ordered_at": "TIMESTAMP",
        "country": None,
        "amount": "DECIMAL(10, 2)",
        "status": None,
        "price": "DECIMAL(10, 2)",
    },
    [
        (1, "2026-01-31 23:30:00", "DE", Decimal("10.00"), "paid", Decimal("9.99")),
        (2, "2026-01-31 08:00:00", "DE", Decimal("10.05"), "paid", Decimal("9.99")),
        (3, "2026-02-01 09:00:00", None, Decimal("20.00"), "refunded", Decimal("19.99")),
        (4, "2026-02-01 10:00:00", "US", Decimal("5.00"), "refunded", Decimal("4.99")),
    ],
)

HOSTILE_LABEL = '<script>alert("label")</script>'
HOSTILE_DESCRIPTION = "\"><img src=x onerror=alert('description')> & more"

_QUOTED_DESCRIPTION = HOSTILE_DESCRIPTION.replace('"', '\\"')

DEFINITIONS = f"""
sources:
  - name: orders
    sql: "{ORDERS}"
    time: ordered_at
    entities:
      - {{name: order, key: order_id, primary: true}}
    dimensions:
      - {{name: ordered_at, type: time, grain: hour}}
      - {{name: country}}
      - {{name: status}}
      - {{name: price}}
    measures:
      - {{name: orders, agg: count}}
      - {{name: amount, agg: sum, expr: amount}}
metrics:
  - name: orders
    type: simple
    measure: orders.orders
    label: Orders
    description: Orders placed.
    format: {{type: integer}}
  - name: revenue
    type: simple
    measure: orders.amount
    label: Revenue
    description: Sum of order amounts.
    format: {{type: currency, currency: EUR}}
  - name: refunded_amount
    type: simple
    measure: orders.amount
    filter: "status = 'refunded'"
    label: Refunded amount
  - name: paid_orders
    type: simple
    measure: orders.orders
    filter: "status = 'paid'"
  - name: paid_share
    type: ratio
    numerator: paid_orders
    denominator: orders
    label: '{HOSTILE_LABEL}'
    description: "{_QUOTED_DESCRIPTION}"
    format: {{type: percent}}
"""

ENGINES = ("duckdb", "sqlite")


@pytest.fixture(scope="package")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project folder (UTC; ``berlin/``: the same definitions in Europe/Berlin, which
    SQLite cannot compute) and an empty database file per engine."""
    folder = tmp_path_factory.mktemp("notebook")
    for place, zone in ((folder, "UTC"), (folder / "berlin", "Europe/Berlin")):
        (place / "defs").mkdir(parents=True)
        (place / "metrics_layer.yml").write_text(
            f"project:\n  name: notebook\n  paths: [defs]\n  time_zone: {zone}\n",
            encoding="utf-8",
        )
        (place / "defs" / "orders.yml").write_text(
            textwrap.dedent(DEFINITIONS).lstrip("\n"), encoding="utf-8"
        )
    duckdb.connect(str(folder / "empty.duckdb")).close()
    sqlite3.connect(folder / "empty.sqlite").close()
    return folder


def url(project: Path, engine: str) -> str:
    return f"{engine}:///{project / f'empty.{engine}'}"


@pytest.fixture(scope="package")
def layers(project: Path) -> Iterator[dict[str, ml.SemanticLayer]]:
    """The UTC project on each engine, and ``berlin``: the Berlin project on DuckDB."""
    loaded = {engine: ml.load(project, connection=url(project, engine)) for engine in ENGINES}
    loaded["berlin"] = ml.load(project / "berlin", connection=url(project, "duckdb"))
    yield loaded
    for layer in loaded.values():
        layer.connection.close()


@pytest.fixture
def client_in_los_angeles(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The client's own zone is neither UTC nor the project's."""
    import time

    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


Runner = Callable[..., ml.Result]
