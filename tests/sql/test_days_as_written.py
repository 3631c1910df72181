"""SQLite's per-day step over a column of dates grouped by the column as written first
(``sql/sqlite.py: sqlite_days_as_written``), on SQLite itself: the same rows as the step
grouped by ``DATE()`` of every row, for dates written in every form SQLite reads (a time, a
``T``, a UTC offset that moves the day), NULL and text ``DATE()`` cannot read."""

from __future__ import annotations

import datetime as dt
import sqlite3
import textwrap
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metrics_layer as ml
from metrics_layer.sql.dialects import RULES
from metrics_layer.sql.sqlite import sqlite_days_as_written

PROJECT = """
project:
  name: balances
"""
DEFINITIONS = """
sources:
  - name: balances
    table: balances
    time: day
    entities:
      - {name: account, key: account_id}
    dimensions:
      - {name: day, type: time, grain: day}
      - {name: country}
      - {name: amount, expr: amount}
    measures:
      - {name: total, agg: sum, expr: amount, semi_additive: last}
      - {name: rows_kept, agg: count, semi_additive: last}
      - {name: lowest, agg: min, expr: amount, semi_additive: last}
      - {name: opening, agg: max, expr: amount, semi_additive: first}
      - {name: accounts, agg: count_distinct, expr: account_id, semi_additive: last}
metrics:
  - {name: total, type: simple, measure: balances.total}
  - {name: rows_kept, type: simple, measure: balances.rows_kept}
  - {name: lowest, type: simple, measure: balances.lowest, filter: "balances.amount > 0"}
  - {name: opening, type: simple, measure: balances.opening}
  - {name: accounts, type: simple, measure: balances.accounts}
  - name: total_month_before
    type: derived
    expr: before
    inputs: [{metric: total, offset: 1 month, alias: before}]
"""
# Days around the ends of February and March 2026, as SQLite may hold a DATE column: plain,
# with a time, with a 'T', with a UTC offset (2026-02-28 22:00 at -05:00 is March 1st), and
# values DATE() reads as NULL.
WRITTEN = [
    "2026-02-27",
    "2026-02-28",
    "2026-02-28 00:00:00",
    "2026-02-28 22:00:00-05:00",
    "2026-03-01",
    "2026-03-01T12:30:00",
    "2026-03-02",
    "2026-03-29",
    "2026-03-31 23:59:59",
    "2026-03-31 20:00:00-05:00",
    "2026-04-01",
    "2026-04-02",
    None,
    "garbage",
]
QUERIES = [
    ["total", "rows_kept", "lowest", "opening"],
    ["total", "total_month_before"],
    ["total", "accounts"],  # a distinct count: the step stays grouped by DATE()
]


@pytest.fixture(scope="module")
def layers(tmp_path_factory: pytest.TempPathFactory) -> tuple[ml.SemanticLayer, ml.SemanticLayer]:
    """The project twice: compiled with SQLite's rules, and without ``sqlite_days_as_written``
    (each layer keeps the SQL it compiled)."""
    root: Path = tmp_path_factory.mktemp("balances")
    (root / "metrics_layer.yml").write_text(textwrap.dedent(PROJECT), encoding="utf-8")
    (root / "balances.yml").write_text(textwrap.dedent(DEFINITIONS), encoding="utf-8")
    return ml.load(root), ml.load(root)


@settings(max_examples=120, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(1, 3),
            st.sampled_from(WRITTEN),
            st.sampled_from(["DE", "de", None]),
            st.sampled_from([None, 0.0, 2.5, 7.0, -1.25]),  # sums of them are exact in binary
        ),
        min_size=1,
        max_size=30,
    ),
    metrics=st.sampled_from(QUERIES),
    grain=st.sampled_from(["day", "week", "month"]),
    by_country=st.booleans(),
    where=st.sampled_from([None, "balances.country = 'DE'", "balances.amount >= 2.5"]),
    bounds=st.sampled_from(
        [
            (None, None),
            ("2026-02-28", "2026-03-31"),
            ("2026-03-01", "2026-03-01"),
            (None, "2026-03-02"),
        ]
    ),
)
def test_days_grouped_as_written_are_the_days_of_date(
    layers: tuple[ml.SemanticLayer, ml.SemanticLayer],
    rows: list[tuple[int, str | None, str | None, float | None]],
    metrics: list[str],
    grain: str,
    by_country: bool,
    where: str | None,
    bounds: tuple[str | None, str | None],
) -> None:
    written_first, per_row = layers
    by = [f"metric_time.{grain}"] + (["balances.country"] if by_country else [])
    start, end = (None if b is None else dt.date.fromisoformat(b) for b in bounds)
    asked = {"by": by, "where": where, "start": start, "end": end}
    rewritten = written_first.query(metrics, **asked).sql("sqlite")
    kept = tuple(
        r for r in RULES["sqlite"] if getattr(r, "__wrapped__", r) is not sqlite_days_as_written
    )
    assert len(kept) == len(RULES["sqlite"]) - 1
    with mock.patch.dict(RULES, {"sqlite": kept}):
        plain = per_row.query(metrics, **asked).sql("sqlite")
    assert ("_written AS (" in rewritten) is ("accounts" not in metrics)
    assert "_written AS (" not in plain
    with sqlite3.connect(":memory:") as connection:
        connection.execute(
            "CREATE TABLE balances (account_id INTEGER, day DATE, country TEXT, amount REAL)"
        )
        connection.executemany("INSERT INTO balances VALUES (?, ?, ?, ?)", rows)
        want = connection.execute(plain).fetchall()
        got = connection.execute(rewritten).fetchall()
    assert got == want
