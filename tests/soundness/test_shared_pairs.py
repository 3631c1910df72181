"""A distinct count per day next to a rolling distinct count of the same measure and filter (DAU
next to MAU, as in stickiness) counts the rolling scan's (day, user) pairs instead of reading
the source again, and the rolling scan, which holds every period of the range, carries the
other metrics' rows (docs/queries.md, "Per-period metrics").

Rows near month ends with NULL users, events of a kind the filter leaves out and a query
``where``; against a plain-Python evaluation of the rules, on every engine, and against the
same metrics asked one at a time (each then reads the source itself).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soundness.literal import ENGINES, LiteralLayer, literal_rows

FIRST = dt.date(2026, 1, 20)
START, END = dt.date(2026, 2, 2), dt.date(2026, 3, 8)  # Monday to Sunday: whole weeks

Event = tuple[int | None, int, str, str]  # user, day number from FIRST, kind, platform


def _definitions(rows: list[Event]) -> str:
    events = literal_rows(
        {"event_id": None, "user_id": "INTEGER", "at": "TIMESTAMP", "kind": None, "platform": None},
        [
            (n, user, f"{FIRST + dt.timedelta(days=day)} 23:30:00", kind, platform)
            for n, (user, day, kind, platform) in enumerate(rows)
        ],
    )
    return f"""
sources:
  - name: events
    sql: "{events}"
    time: at
    entities: [{{name: event, key: event_id, primary: true}}]
    dimensions:
      - {{name: at, type: time, grain: hour}}
      - {{name: kind, type: categorical}}
      - {{name: platform, type: categorical}}
    measures:
      - {{name: users, agg: count_distinct, expr: user_id}}
metrics:
  - name: dau
    type: simple
    measure: events.users
    filter: "kind <> 'open'"
    per: day
    rollup: average
  - name: mau
    type: rolling
    measure: events.users
    window: 28 days
    filter: "kind <> 'open'"
  - name: all_mau
    type: rolling
    measure: events.users
    window: 28 days
  - {{name: stickiness, type: ratio, numerator: dau, denominator: mau}}
"""


def _users(rows: list[Event], first: dt.date, last: dt.date, *, every_kind: bool = False) -> set:
    return {
        user
        for user, day, kind, platform in rows
        if user is not None
        and platform == "web"
        and (every_kind or kind != "open")
        and first <= FIRST + dt.timedelta(days=day) <= last
    }


def _expected(rows: list[Event], grain: str) -> list[tuple[dt.date, float, int, int]]:
    """(period, dau, mau, all_mau) of every period of [START, END] by the rules of
    docs/queries.md and docs/time.md."""
    days = [START + dt.timedelta(days=n) for n in range((END - START).days + 1)]
    periods: dict[dt.date, list[dt.date]] = {}
    for day in days:
        key = day - dt.timedelta(days=day.weekday()) if grain == "week" else day.replace(day=1)
        periods.setdefault(key, []).append(day)
    expected = []
    for period, inside in periods.items():
        dau = sum(len(_users(rows, d, d)) for d in inside) / len(inside)
        window = inside[-1] - dt.timedelta(days=27)
        mau = len(_users(rows, window, inside[-1]))
        all_mau = len(_users(rows, window, inside[-1], every_kind=True))
        expected.append((period, dau, mau, all_mau))
    return expected


_FIXED: list[Event] = [
    (1, 0, "click", "web"),  # before the range, inside the first windows
    (1, 13, "click", "web"),  # 02-02, the range's first day
    (2, 13, "open", "web"),  # left out by the filter (counted by all_mau)
    (None, 13, "click", "web"),  # no user
    (2, 14, "click", "web"),
    (2, 14, "click", "web"),  # twice on a day: one pair
    (3, 14, "click", "ios"),  # left out by the where
    (1, 39, "click", "web"),  # 02-28, a month's last day
    (4, 40, "click", "web"),  # 03-01
    (4, 47, "click", "web"),  # 03-08, the range's last day
    (5, 48, "click", "web"),  # 03-09, after the range
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("grain", ["week", "month"])
def test_dau_next_to_mau_equals_the_rules(
    literal_layer: LiteralLayer, engine: str, grain: str
) -> None:
    layer = literal_layer(_definitions(_FIXED), engine)
    query = layer.query(
        ["dau", "mau", "all_mau", "stickiness"],
        by=[f"metric_time.{grain}"],
        where="platform = 'web'",
        start=START,
        end=END,
    )
    sql = query.sql()
    # The per-day step reads the rolling scan's pairs, and the grain comes from the rolling
    # scan: no union of keys.
    assert "FROM events_mau AS events_mau" in sql, sql
    assert "grain_keys" not in sql
    got = query.run().rows
    expected = _expected(_FIXED, grain)
    assert [row[0] for row in got] == [row[0] for row in expected]
    for (_, dau, mau, all_mau, stickiness), (_, want_dau, want_mau, want_all) in zip(
        got, expected, strict=True
    ):
        assert dau == pytest.approx(want_dau, rel=1e-12)
        assert (mau, all_mau) == (want_mau, want_all)
        assert stickiness == pytest.approx(want_dau / want_mau if want_mau else None, rel=1e-12)
    # By hand, by week: 02-02..02-08 DAU (1 + 1) / 7, MAU of 02-08 {1, 2}; by month: February
    # (1 + 1 + 1) / 27, MAU of 02-28 {1, 2}; March (1 + 1) / 8, MAU of 03-08 {1, 4}.
    if grain == "month":
        assert [(r[1], r[2]) for r in got] == [
            (pytest.approx(3 / 27), 2),
            (pytest.approx(2 / 8), 2),
        ]


events = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(1, 6)),
        st.integers(0, (END - FIRST).days + 3),
        st.sampled_from(["click", "open"]),
        st.sampled_from(["web", "ios"]),
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=events, grain=st.sampled_from(["week", "month"]))
def test_dau_next_to_mau_equals_each_alone(
    rows: list[Event], grain: str, literal_layer: LiteralLayer
) -> None:
    """Asked together (one read of the source) and one at a time (a read each), the same
    numbers, and those of the rules."""
    layer = literal_layer(_definitions(rows), "duckdb")

    def ask(*metrics: str) -> list[tuple]:
        return (
            layer.query(
                list(metrics),
                by=[f"metric_time.{grain}"],
                where="platform = 'web'",
                start=START,
                end=END,
            )
            .run()
            .rows
        )

    together = ask("dau", "mau")
    dau, mau = ask("dau"), ask("mau")
    expected = _expected(rows, grain)
    assert [(p, m) for p, _, m in together] == [tuple(r) for r in mau]
    assert [tuple(r) for r in mau] == [(p, m) for p, _, m, _ in expected]
    by_period = dict(dau)
    for period, value, _ in together:
        assert value == pytest.approx(by_period.get(period, 0.0), rel=1e-12)
    for (period, value, _), (_, want, _, _) in zip(together, expected, strict=True):
        assert value == pytest.approx(want, rel=1e-12), period
