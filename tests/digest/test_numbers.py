"""The digest's numbers against hand-written SQL on the demo DuckDB: weekly values, the week
before, the 4-week average, movers by plan, percentage points for a percent metric, a week
without data, and the anomaly and last-complete-week rules on hand-made values."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable
from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer.digest import Digest, KpiDigest, last_complete_week
from metrics_layer.errors import QueryError
from metrics_layer.formats import FormatType, ValueFormat
from metrics_layer.spec.models import WeekStart
from tests.conftest import DEFINITIONS

SQL = Callable[[str], list[tuple[object, ...]]]
TODAY = "2026-11-02"  # a Monday: the last complete week is 2026-10-26 .. 2026-11-01
FIRST = dt.date(2026, 8, 3)  # 12 weeks before 2026-10-26
WEEKS = [FIRST + dt.timedelta(days=7 * i) for i in range(13)]


@pytest.fixture(scope="module")
def digest(layer: ml.SemanticLayer) -> Digest:
    return layer.digest(["signups", "paid_conversion_rate"], by="user.plan", today=TODAY)


def weekly(demo_sql: SQL, value: str, group: str = "") -> dict[tuple[object, ...], float]:
    rows = demo_sql(
        f"SELECT CAST(date_trunc('week', u.signed_up_at) AS DATE) {group}, {value} "
        "FROM users u WHERE u.signed_up_at >= TIMESTAMP '2026-08-03' "
        "AND u.signed_up_at < TIMESTAMP '2026-11-02' GROUP BY ALL"
    )
    return {tuple(row[:-1]): float(row[-1]) for row in rows}  # type: ignore[arg-type]


def test_signups_by_week_equal_sql(digest: Digest, demo_sql: SQL) -> None:
    expected = weekly(demo_sql, "count(*)")
    kpi = digest.kpis[0]
    assert digest.week == dt.date(2026, 10, 26)
    assert kpi.weeks == tuple(WEEKS)
    assert kpi.values == tuple(expected.get((w,)) for w in WEEKS)
    last, before = expected[(WEEKS[-1],)], expected[(WEEKS[-2],)]
    assert kpi.last == last
    assert kpi.previous == before
    assert kpi.average == statistics.fmean(expected[(w,)] for w in WEEKS[-5:-1])
    relative = (last - before) / before * 100
    sign = "+" if last > before else "-"
    assert (
        kpi.change_text(kpi.previous)
        == f"{sign}{abs(last - before):,.0f} ({sign}{abs(relative):.1f}%)"
    )


def test_movers_by_plan_equal_sql(digest: Digest, demo_sql: SQL) -> None:
    by_plan = weekly(demo_sql, "count(*)", ", u.plan")
    total = sum(v for (w, _), v in by_plan.items() if w == WEEKS[-1]) - sum(
        v for (w, _), v in by_plan.items() if w == WEEKS[-2]
    )
    plans = {p for _, p in by_plan}
    changes = {
        p: by_plan.get((WEEKS[-1], p), 0.0) - by_plan.get((WEEKS[-2], p), 0.0) for p in plans
    }
    ranked = sorted((p for p in plans if changes[p]), key=lambda p: (-abs(changes[p]), p))[:3]
    kpi = digest.kpis[0]
    assert kpi.additive
    assert [m.value for m in kpi.movers] == ranked
    assert [m.change for m in kpi.movers] == [changes[p] for p in ranked]
    assert [m.share for m in kpi.movers] == [changes[p] / total for p in ranked]


def test_percent_metric_changes_in_points(digest: Digest, demo_sql: SQL) -> None:
    paid = "EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = u.user_id)"
    expected = weekly(demo_sql, f"avg(CASE WHEN {paid} THEN 1.0 ELSE 0.0 END)")
    kpi = digest.kpis[1]
    assert kpi.percent
    assert not kpi.additive
    assert kpi.values == pytest.approx([expected.get((w,)) for w in WEEKS])
    points = (expected[(WEEKS[-1],)] - expected[(WEEKS[-2],)]) * 100
    sign = "+" if points > 0 else "-"
    assert kpi.change_text(kpi.previous) == f"{sign}{abs(points):.1f} pp"
    assert f"{sign}{abs(points):.1f} pp" in digest.to_markdown()
    assert "%" not in kpi.change_text(kpi.previous)


def test_kpi_without_data_last_week(layer: ml.SemanticLayer, demo_sql: SQL) -> None:
    # The demo data ends on 2026-10-31: the week of 2026-11-09 has no signups.
    got = layer.digest("signups", today="2026-11-16")
    kpi = got.kpis[0]
    assert got.week == dt.date(2026, 11, 9)
    assert kpi.last is None
    assert kpi.previous is None
    (count,) = demo_sql(
        "SELECT count(*) FROM users WHERE signed_up_at >= TIMESTAMP '2026-10-26' "
        "AND signed_up_at < TIMESTAMP '2026-11-02'"
    )[0]
    assert kpi.values[-3] == count
    assert not kpi.anomaly
    assert kpi.change_text(kpi.previous) == "n/a"
    row = next(line for line in got.to_markdown().splitlines() if line.startswith("| Signups"))
    assert row.startswith("| Signups | n/a | n/a | n/a |")
    assert "Signups" in got.to_html()


def test_a_metric_not_computed_by_week_is_listed_with_the_reason(
    layer: ml.SemanticLayer,
) -> None:
    got = layer.digest(["signups", "user_churn_rate"], today=TODAY)
    assert got.kpis[1].error is not None
    assert "metric_time.month" in got.kpis[1].error
    assert "## Not in this digest" in got.to_markdown()


def kpi(values: list[float | None], fmt: ValueFormat | None = None) -> KpiDigest:
    weeks = tuple(dt.date(2026, 1, 5) + dt.timedelta(days=7 * i) for i in range(len(values)))
    return KpiDigest("k", "K", fmt, weeks, tuple(values), additive=True)


def test_anomaly_rule() -> None:
    history: list[float | None] = [10, 11, 9, 10, 12, 8, 10, 11, 9, 10, 10, 10]
    # median 10; deviations 0,1,1,0,2,2,0,1,1,0,0,0 -> MAD 0.5 -> robust sd 0.7413
    assert not kpi([*history, 12.2]).anomaly  # 2.2 <= 3 * 0.7413 = 2.2239
    assert kpi([*history, 12.3]).anomaly
    assert kpi([*history, 7.7]).anomaly
    assert not kpi([*history, None]).anomaly
    assert not kpi([None, None, None, None, None, 8, 10, 11, 9, 10, 10, 10, 50]).anomaly
    assert kpi([5.0] * 12 + [5.1]).anomaly  # no spread at all: any change stands out
    assert not kpi([5.0] * 13).anomaly


def test_a_week_with_open_conversion_windows_is_marked_and_never_flagged(
    layer: ml.SemanticLayer,
) -> None:
    """activation_rate_7d on 2026-11-02: the 7-day windows of the last week's signups (Oct 26 to
    Nov 1) are still open, those of the week four weeks earlier long closed."""
    digest = layer.digest(["activation_rate_7d"], today=TODAY)
    [kpi] = digest.kpis
    assert kpi.last_open
    assert WEEKS[-1] in kpi.open_weeks
    assert WEEKS[-5] not in kpi.open_weeks
    assert not kpi.anomaly
    assert "(open)" in digest.to_markdown()
    # The same values with every window closed are compared as usual.
    history: list[float | None] = [10, 11, 9, 10, 12, 8, 10, 11, 9, 10, 10, 10, 50]
    spike = kpi_with(history, open_weeks=frozenset())
    assert spike.anomaly
    assert not kpi_with(history, open_weeks=frozenset({spike.weeks[-1]})).anomaly


def kpi_with(values: list[float | None], open_weeks: frozenset[dt.date]) -> KpiDigest:
    weeks = tuple(dt.date(2026, 1, 5) + dt.timedelta(days=7 * i) for i in range(len(values)))
    return KpiDigest("k", "K", None, weeks, tuple(values), True, open_weeks=open_weeks)


def test_average_and_changes_on_hand_values() -> None:
    k = kpi([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, None, 30], ValueFormat(FormatType.INTEGER))
    assert k.average == 13  # 9, 10, 20 (the missing week is left out)
    assert k.change_text(k.average) == "+17 (+130.8%)"
    assert k.change_text(k.previous) == "n/a"
    p = kpi([0.25, 0.2], ValueFormat(FormatType.PERCENT, 2))
    assert p.change_text(p.previous) == "-5.00 pp"


@pytest.mark.parametrize(
    ("today", "start", "week"),
    [
        ("2026-11-02", WeekStart.MONDAY, "2026-10-26"),
        ("2026-11-08", WeekStart.MONDAY, "2026-10-26"),
        ("2026-11-09", WeekStart.MONDAY, "2026-11-02"),
        ("2026-11-08", WeekStart.SUNDAY, "2026-11-01"),
        ("2026-11-07", WeekStart.SUNDAY, "2026-10-25"),
    ],
)
def test_last_complete_week(today: str, start: WeekStart, week: str) -> None:
    got = last_complete_week(dt.date.fromisoformat(today), start)
    assert got == dt.date.fromisoformat(week)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"today": "2026-13-01"}, "today"),
        ({"today": "'; DROP TABLE users; --"}, "today"),
        ({"by": "user.plan; DROP TABLE users"}, "by"),
        ({"by": "user.plna"}, "by"),
        ({"by": ""}, "by"),
        ({"movers": -1}, "movers"),
        ({"movers": "3"}, "movers"),
    ],
)
def test_bad_input_names_the_field(
    layer: ml.SemanticLayer, options: dict[str, object], field: str
) -> None:
    with pytest.raises(QueryError) as caught:
        layer.digest("signups", **options)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_unknown_metric_is_refused(layer: ml.SemanticLayer) -> None:
    with pytest.raises(QueryError, match="signups"):
        layer.digest("signupz", today=TODAY)


def test_unknown_dimension_suggests_the_close_one(layer: ml.SemanticLayer) -> None:
    with pytest.raises(QueryError, match=r"user\.plan"):
        layer.digest("signups", by="user.plna", today=TODAY)


def test_the_project_file_names_the_kpis_and_the_dimension(tmp_path: Path, demo_db: Path) -> None:
    import shutil

    project = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS, project)
    settings = project / "metrics_layer.yml"
    text = settings.read_text(encoding="utf-8").replace(
        "  time_zone: UTC\n",
        "  time_zone: UTC\n  digest:\n    metrics: [mrr, signups]\n    by: user.plan\n",
    )
    settings.write_text(text, encoding="utf-8")
    layer = ml.load(project, connection=f"duckdb:///{demo_db}")
    digest = layer.digest(today=TODAY)
    assert [k.name for k in digest.kpis] == ["mrr", "signups"]
    assert digest.by == "user.plan"
    assert all(k.movers for k in digest.kpis)
    # Names given in the call win over the project's.
    assert [k.name for k in layer.digest(["arpu"], today=TODAY).kpis] == ["arpu"]
