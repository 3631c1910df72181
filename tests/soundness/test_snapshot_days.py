"""Semi-additive measures aggregated per snapshot day first (``plan.Daily``), against a
plain-Python evaluator of docs/queries.md "Semi-additive measures" over random rows.

The rule: a period's value is the aggregate of the rows on the period's last (first) day with
any row in the range, whatever the filters; the query's filter then selects among those rows,
and a group none of whose rows passes it is not shown. An offset input moves each row's day
(a month clamps Jan 29-31 to Feb 28) before the range and the periods apply. Rows span
2026-01-20 to 2026-04-10 (month ends, a 29-day February, weeks across months); countries are
mixed-case and sometimes NULL; MRR is a decimal.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soundness.literal import LiteralLayer, fetch, literal_rows, only

FIRST = dt.date(2026, 1, 20)
DAYS = 81
COUNTRIES = ["DE", "de", "FR", None]
Row = tuple[int, int, str | None, Decimal]  # subscription, day number, country, MRR

rows_drawn = st.lists(
    st.tuples(
        st.integers(1, 4),
        st.integers(0, DAYS - 1),
        st.sampled_from(COUNTRIES),
        st.sampled_from([Decimal("0"), Decimal("9.99"), Decimal("25.50"), Decimal("40")]),
    ),
    min_size=1,
    max_size=40,
    unique_by=lambda row: row[:2],
)


def _definitions(rows: list[Row]) -> str:
    snapshot_rows = literal_rows(
        {"subscription_id": None, "snapshot_date": "DATE", "country": None,
         "mrr": "DECIMAL(10, 2)"},
        [(s, str(FIRST + dt.timedelta(days=d)), c, m) for s, d, c, m in rows],
    )  # fmt: skip
    return f"""
sources:
  - name: snapshots
    sql: "{snapshot_rows}"
    time: snapshot_date
    entities: [{{name: subscription, key: subscription_id}}]
    dimensions:
      - {{name: snapshot_date, type: time}}
      - {{name: country, type: categorical}}
      - {{name: amount, type: categorical, expr: mrr}}
    measures:
      - {{name: mrr, agg: sum, expr: mrr, semi_additive: last}}
      - {{name: opening_mrr, agg: sum, expr: mrr, semi_additive: first}}
      - {{name: payers, agg: count_distinct, expr: subscription_id, semi_additive: last}}
      - {{name: first_payers, agg: count_distinct, expr: subscription_id, semi_additive: first}}
metrics:
  - {{name: mrr, type: simple, measure: snapshots.mrr}}
  - {{name: opening_mrr, type: simple, measure: snapshots.opening_mrr}}
  - {{name: payers, type: simple, measure: snapshots.payers, filter: "snapshots.amount > 0"}}
  - name: first_payers
    type: simple
    measure: snapshots.first_payers
    filter: "snapshots.amount > 0"
  - name: mrr_month_before
    type: derived
    expr: before
    inputs: [{{metric: mrr, offset: 1 month, alias: before}}]
"""


def _day(number: int) -> dt.date:
    return FIRST + dt.timedelta(days=number)


def _month_later(day: dt.date) -> dt.date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _bucket(day: dt.date, grain: str) -> dt.date:
    if grain == "month":
        return day.replace(day=1)
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    return day


Value = Callable[[list[Row]], object]


def _expected(
    rows: list[Row],
    grain: str,
    start: dt.date,
    end: dt.date,
    passes: Callable[[Row], bool],
    value: Value,
    *,
    first: bool = False,
    moved: bool = False,
) -> dict[dt.date, object]:
    """Per period: ``value`` of the rows passing ``passes`` on the period's edge day."""
    placed = []
    for row in rows:
        day = _day(row[1])
        at = _month_later(day) if moved else day
        if start <= at <= end:
            placed.append((_bucket(at, grain), day, row))
    edges: dict[dt.date, dt.date] = {}
    for period, day, _ in placed:
        edge = edges.get(period, day)
        edges[period] = min(edge, day) if first else max(edge, day)
    kept: dict[dt.date, list[Row]] = defaultdict(list)
    for period, day, row in placed:
        if day == edges[period] and passes(row):
            kept[period].append(row)
    return {period: value(found) for period, found in kept.items()}


def _mrr(found: list[Row]) -> Decimal:
    return sum((row[3] for row in found), Decimal(0))


def _payers(found: list[Row]) -> int:
    return len({row[0] for row in found if row[3] > 0})


FILTERS: dict[str | None, Callable[[Row], bool]] = {
    None: lambda row: True,
    "snapshots.country = 'DE'": lambda row: row[2] == "DE",
    "snapshots.country IS NULL OR snapshots.amount >= 25": lambda row: (
        row[2] is None or row[3] >= 25
    ),
}


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=rows_drawn,
    grain=st.sampled_from(["day", "week", "month"]),
    where=st.sampled_from(sorted(FILTERS, key=str)),
    bounds=st.tuples(st.integers(0, DAYS - 1), st.integers(0, DAYS - 1)).map(sorted),
)
def test_snapshot_values_equal_the_rule(
    engine: str,
    rows: list[Row],
    grain: str,
    where: str | None,
    bounds: list[int],
    literal_layer: LiteralLayer,
) -> None:
    layer = literal_layer(_definitions(rows), engine)
    start, end = _day(bounds[0]), _day(bounds[1])
    passes = FILTERS[where]
    got = fetch(
        layer,
        ["mrr", "opening_mrr", "payers", "mrr_month_before"],
        by=[f"metric_time.{grain}"],
        where=where,
        start=start,
        end=end,
    )
    mrr = _expected(rows, grain, start, end, passes, _mrr)
    opening = _expected(rows, grain, start, end, passes, _mrr, first=True)
    payers = _expected(rows, grain, start, end, passes, _payers)
    before = _expected(rows, grain, start, end, passes, _mrr, moved=True)
    # The grain's rows are the periods any unshifted value has (the offset value joins them).
    periods = sorted(set(mrr) | set(opening) | set(payers))
    assert [row[0] for row in got] == periods
    for period, *values in got:
        # A count shows 0 where its group has no row on the edge day (docs/queries.md).
        want = [mrr.get(period), opening.get(period), payers.get(period, 0), before.get(period)]
        assert [None if v is None else Decimal(str(v)) for v in values] == [
            None if v is None else Decimal(str(v)) for v in want
        ], period
    # Alone, the offset input reads the unshifted scan's per-day step (one read of both
    # ranges): the same numbers.
    shared = fetch(
        layer, ["mrr", "mrr_month_before"], by=[f"metric_time.{grain}"], where=where,
        start=start, end=end,
    )  # fmt: skip
    assert [(p, m, b) for p, m, _, _, b in got if p in mrr] == shared


@pytest.mark.parametrize("engine", only("duckdb", "sqlite", "spark"))
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=rows_drawn,
    grain=st.sampled_from(["week", "month"]),
    where=st.sampled_from(sorted(FILTERS, key=str)),
    bounds=st.tuples(st.integers(0, DAYS - 1), st.integers(0, DAYS - 1)).map(sorted),
)
def test_distinct_counts_of_edge_days_per_group(
    engine: str,
    rows: list[Row],
    grain: str,
    where: str | None,
    bounds: list[int],
    literal_layer: LiteralLayer,
) -> None:
    """A distinct count beside a sum, by weeks or months and a dimension: on DuckDB and Spark,
    each bucket's edge day is found first and that day's rows aggregated (``sql/build.py:
    EDGES_FIRST``); on SQLite every day is aggregated first. The edge day is the bucket's,
    over every group and whatever the filters; a group is shown when a row of it passes the
    query's filter and the filter of one of the metrics asked for."""
    layer = literal_layer(_definitions(rows), engine)
    start, end = _day(bounds[0]), _day(bounds[1])
    passes = FILTERS[where]
    for metrics, first in ((["mrr", "payers"], False), (["first_payers"], True)):
        got = fetch(
            layer,
            metrics,
            by=[f"metric_time.{grain}", "snapshots.country"],
            where=where,
            start=start,
            end=end,
        )
        want: dict[tuple[dt.date, str | None], list[object]] = {}
        for country in COUNTRIES:

            def chosen(row: Row, country: str | None = country, paying: bool = first) -> bool:
                # Alone, a metric with a filter shows the groups with a row passing both.
                return passes(row) and row[2] == country and (row[3] > 0 or not paying)

            values = [(_payers, 0)] if first else [(_mrr, None), (_payers, 0)]
            found = [
                _expected(rows, grain, start, end, chosen, value, first=first)
                for value, _ in values
            ]
            for period in set().union(*found):
                want[(period, country)] = [
                    f.get(period, empty) for f, (_, empty) in zip(found, values, strict=True)
                ]
        assert {(p, c): [Decimal(str(v)) for v in vs] for p, c, *vs in got} == {
            key: [Decimal(str(v)) for v in vs] for key, vs in want.items()
        }, metrics
