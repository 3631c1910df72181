"""``per: day`` rollups grouped by built-in grains (or by nothing): a bucket's days are date
arithmetic on its first day (``GREATEST(start, bucket)`` to ``LEAST(end, bucket + 1 grain - 1
day)``, docs/queries.md, "Per-period metrics"), with no day spine in the SQL; a bound the query
leaves open is the source's first or last day in the range, whatever the filters.

Events every third day (two users, one of them a bot the filter leaves out on some days) from
before the range to after it, a bot's visits a few days before the first and after the last of
them, and a visit without a time; the range starts on a Wednesday in March and ends on a
Tuesday in May, so every bucket at its ends is cut. Checked on every engine, with both bounds,
neither and each alone, against a plain-Python evaluation of the rules: each day of a bucket
within the range counts, a day without visitors is a 0 (for the average, the minimum, and the
first or last day), and a visit without a time is on no day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from soundness.literal import ENGINES, LiteralLayer, literal_rows

START, END = dt.date(2026, 3, 18), dt.date(2026, 5, 5)
FIRST_ROW = dt.date(2026, 3, 1)

ROWS: list[tuple[int, dt.date | None, str]] = [
    (user, FIRST_ROW + dt.timedelta(days=day), "bot" if (day + user) % 4 == 0 else "view")
    for day in range(0, 75, 3)
    for user in (1, 2 + day % 2)
]
# Only the bot before the first visitor's day and after the last: the days an open range
# reaches are the source's, not the filter's. A visitor without a time counts on no day.
ROWS += [(7, dt.date(2026, 2, 25), "bot"), (7, dt.date(2026, 5, 16), "bot"), (8, None, "view")]
DATED = [day for _, day, _ in ROWS if day is not None]
BOUNDS = [(START, END), (None, None), (START, None), (None, END)]

DEFINITIONS = """
sources:
  - name: visits
    sql: "{rows}"
    time: at
    entities: [{{name: visit, key: visit_id, primary: true}}]
    dimensions:
      - {{name: at, type: time, grain: hour}}
      - {{name: kind}}
    measures:
      - {{name: visitors, agg: count_distinct, expr: user_id}}
metrics:
{metrics}
"""
ROLLUPS = ("average", "min", "first", "last")
METRIC = """  - name: visitors_{rollup}
    type: simple
    measure: visits.visitors
    filter: "kind = 'view'"
    per: day
    rollup: {rollup}
"""


def _bucket(day: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    if grain == "fiscal_quarter":  # fiscal years starting in February
        shifted = (day.month - 2) % 12
        month = shifted // 3 * 3 + 2
        year = day.year if month <= day.month else day.year - 1
        return dt.date(year if month <= 12 else year + 1, (month - 1) % 12 + 1, 1)
    raise AssertionError(grain)


def _visitors(day: dt.date) -> int:
    return len({user for user, at, kind in ROWS if at == day and kind == "view"})


def _expected(
    grains: tuple[str, ...], start: dt.date | None, end: dt.date | None
) -> dict[tuple[dt.date, ...], tuple[float, ...]]:
    first = start or min(d for d in DATED if end is None or d <= end)
    last = end or max(d for d in DATED if start is None or d >= start)
    buckets: dict[tuple[dt.date, ...], list[dt.date]] = {}
    for n in range((last - first).days + 1):
        day = first + dt.timedelta(days=n)
        buckets.setdefault(tuple(_bucket(day, g) for g in grains), []).append(day)
    expected = {}
    for key, days in buckets.items():
        values = [_visitors(d) for d in days]
        if any(values):  # a bucket without visitors has no row (docs/queries.md, "Empty groups")
            expected[key] = (sum(values) / len(values), min(values), values[0], values[-1])
    return expected


GRAINS = [(), ("week",), ("month",), ("quarter",), ("month", "week"), ("fiscal_quarter",)]
SPARK_GRAINS = [(), ("month", "week")]  # each Spark query takes seconds


def _cases() -> list[object]:
    """Every engine of ``ENGINES`` (with its marks) with every grouping and range, Spark with
    two groupings and two ranges."""
    cases = []
    for entry in ENGINES:
        param = entry if hasattr(entry, "values") else pytest.param(entry)
        engine = param.values[0]
        spark = engine == "spark"
        for grains in SPARK_GRAINS if spark else GRAINS:
            for start, end in BOUNDS[:2] if spark else BOUNDS:
                name = f"{engine}-{'+'.join(grains) or 'total'}-{start or 'open'}-{end or 'open'}"
                cases.append(pytest.param(engine, grains, start, end, marks=param.marks, id=name))
    return cases


@pytest.mark.parametrize(("engine", "grains", "start", "end"), _cases())
def test_bucket_days_are_the_calendar_days_in_the_range(
    literal_layer: LiteralLayer,
    engine: str,
    grains: tuple[str, ...],
    start: dt.date | None,
    end: dt.date | None,
) -> None:
    rows = literal_rows(
        {"visit_id": None, "user_id": None, "at": "TIMESTAMP", "kind": None},
        [
            (n, user, None if day is None else f"{day} 08:00:00", kind)
            for n, (user, day, kind) in enumerate(ROWS)
        ],
    )
    metrics = "".join(METRIC.format(rollup=r) for r in ROLLUPS)
    layer = literal_layer(
        DEFINITIONS.format(rows=rows, metrics=metrics), engine, fiscal_year_start="february"
    )
    by = [f"metric_time.{g}" for g in grains]
    query = layer.query([f"visitors_{r}" for r in ROLLUPS], by=by, start=start, end=end)
    assert "spine" not in query.sql(), "the days are counted by date arithmetic"
    got = {tuple(_day(v) for v in row[: len(grains)]): row[len(grains) :] for row in query.run()}
    expected = _expected(grains, start, end)
    assert sorted(got) == sorted(expected)
    for key, values in expected.items():
        assert got[key][0] == pytest.approx(values[0], rel=1e-12), key
        assert tuple(got[key][1:]) == values[1:], key


def _day(value: object) -> dt.date:
    to_date: Callable[[str], dt.date] = dt.date.fromisoformat
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else to_date(str(value)[:10])
