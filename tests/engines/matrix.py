"""The engine matrix: every shipped KPI in every shape, on every execution-tested engine.

A shape is one way of asking (a grain, a joined dimension, a filter, a date range, order and
limit). Each (engine, KPI, shape) case runs on the engine and on DuckDB and must give the same
rows as the same Python types (``test_matrix.py``). What DuckDB itself refuses for a KPI (an
hour grain of a metric recorded per day, say) is refused everywhere, and listed as such. What
one engine cannot do is a strict xfail with its reason in ``GAPS``: it fails the suite the
day it starts to work, so the table in docs/engines.md (written from this module by
``pytest tests/engines/test_matrix.py --update-golden``) never claims less, or more, than runs.

The default suite (``pytest``) runs a tier of the matrix on every engine (``tier``): every KPI
in the tier's all-KPI shapes, and every other shape for a few KPIs of different kinds, balanced so
that each kind meets as many shapes as the others. ``make matrix`` (and ``make nightly``) run all
of it: ``ML_TESTS=full`` (``conftest.FULL``).

Adding an engine is one ``Engine`` entry (and its loader in ``metrics_layer.demo.load``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import MARIADB_URL, POSTGRES_URL

KPIS = (
    "signups",
    "daily_active_users",
    "paid_conversion_rate",
    "mrr",
    "mrr_growth_rate",
    "arpu",
    "new_mrr",
    "net_new_mrr",
    "paying_customers",
    "events_per_active_user",
    "weekly_active_users",
    "monthly_active_users",
    "stickiness",
    "new_mrr_month_to_date",
    "new_users",
    "activation_rate_7d",
    "trial_to_paid_rate",
    "retention_d7",
    "user_churn_rate",
    "subscription_churn_rate",
    "net_revenue_retention",
    "feature_adoption_rate",
)
# Conversion, retention and churn KPIs (rows per entity derived from the events): a month and
# a week, a quarter and a filtered, joined shape of each (tests/soundness proves their edge
# cases on every engine; the cohort table is grouped by its period, so it is proven there).
PRODUCT = frozenset(KPIS[KPIS.index("activation_rate_7d") :])
PRODUCT_SHAPES = (
    "total by plan, filtered",
    "week by channel, filtered",
    "month",
    "month by channel, filtered",
    "quarter by channel, filtered",
)
# Rolling and cumulative KPIs (evaluated on a day spine): heavier on the slow engines.
WINDOWED = frozenset(
    {"weekly_active_users", "monthly_active_users", "stickiness", "new_mrr_month_to_date"}
)
# One KPI of each kind (count, per-day rollup, snapshot, sum, period over period, ratio, a
# measure's own time, rolling, cumulative) for the date-part and fiscal shapes: a part is cut
# from the time the same way whatever the metric.
EVERY_KIND = frozenset(
    {
        "signups",
        "daily_active_users",
        "mrr",
        "new_mrr",
        "mrr_growth_rate",
        "arpu",
        "net_new_mrr",
        "weekly_active_users",
        "new_mrr_month_to_date",
    }
)
# The same, in the order the default tier gives them shapes: count, per-day rollup, snapshot,
# sum, period over period, ratio, a measure's own time, rolling, cumulative.
KINDS = (
    "signups",
    "daily_active_users",
    "mrr",
    "new_mrr",
    "mrr_growth_rate",
    "arpu",
    "net_new_mrr",
    "weekly_active_users",
    "new_mrr_month_to_date",
)
assert frozenset(KINDS) == EVERY_KIND


@dataclass(frozen=True)
class Shape:
    """One way of asking for a KPI; ``key`` names it in test ids and the docs."""

    key: str
    by: tuple[str, ...] = ()
    where: str | None = None
    start: str | None = None
    end: str | None = None
    order: tuple[str, ...] = ()
    limit: int | None = None
    # The KPIs asked in this shape (None: all).
    kpis: frozenset[str] | None = None

    def query(self, kpi: str) -> dict[str, Any]:
        """The keyword arguments of ``SemanticLayer.query`` for ``kpi`` in this shape."""
        return {
            "by": list(self.by),
            "where": self.where,
            "start": self.start,
            "end": self.end,
            "order": [o.replace("{kpi}", kpi) for o in self.order],
            "limit": self.limit,
        }


JOINED = "user.acquisition_channel"
FILTER = "user.country = 'DE'"

# Ranges cross a month end, a year end, and both 2026 DST changes of Europe and the US; the
# demo data runs from 2025-01 to 2026-06.
SHAPES = (
    Shape("total"),
    Shape("total by plan, filtered", by=("user.plan",), where=FILTER),
    Shape("hour", by=("metric_time.hour",), start="2026-01-31", end="2026-02-01"),
    Shape(
        "hour by channel, filtered",
        by=("metric_time.hour", JOINED),
        where=FILTER,
        start="2026-03-20",
        end="2026-04-02",
    ),
    Shape("day", by=("metric_time.day",), start="2026-01-25", end="2026-02-03"),
    Shape(
        "day by channel, filtered",
        by=("metric_time.day", JOINED),
        where=FILTER,
        # the holiday week (24 December to 1 January) is quiet: from 10 December, DE has new
        # subscriptions in the range
        start="2025-12-10",
        end="2026-01-04",
    ),
    Shape("week", by=("metric_time.week",)),
    Shape(
        "week by channel, filtered",
        by=("metric_time.week", JOINED),
        where=FILTER,
        start="2026-03-01",
        end="2026-04-05",
    ),
    Shape("month", by=("metric_time.month",)),
    Shape(
        "month by channel, filtered",
        by=("metric_time.month", JOINED),
        where=FILTER,
        start="2025-10-15",
        end="2026-03-31",
    ),
    Shape("quarter", by=("metric_time.quarter",)),
    Shape(
        "quarter by channel, filtered",
        by=("metric_time.quarter", JOINED),
        where=FILTER,
        start="2025-02-01",
        end="2026-01-31",
    ),
    Shape("year", by=("metric_time.year",)),
    Shape("year by channel, filtered", by=("metric_time.year", JOINED), where=FILTER),
    Shape("top 2 plans", by=("user.plan",), order=("-{kpi}",), limit=2),
    # Date parts and the fiscal calendar (the shipped project's fiscal year starts in February).
    Shape("day of week", by=("metric_time.day_of_week",), kpis=EVERY_KIND),
    Shape(
        "week of year by channel, filtered",
        by=("metric_time.week_of_year", JOINED),
        where=FILTER,
        # From December 10: the quiet holiday weeks alone hold no new MRR in Germany.
        start="2025-12-10",
        end="2026-01-10",
        kpis=EVERY_KIND,
    ),
    Shape(
        "hour of day",
        by=("metric_time.hour_of_day",),
        start="2026-03-20",
        end="2026-04-02",
        kpis=EVERY_KIND,
    ),
    # February (day of the year 32 to 59): snapshot KPIs keep each group's last day in the range
    # before the filter, so the filter keeps the range's last month.
    Shape(
        "day of month, filtered on day of year",
        by=("metric_time.day_of_month",),
        where="metric_time.day_of_year >= 32",
        start="2026-01-01",
        end="2026-02-28",
        kpis=EVERY_KIND,
    ),
    Shape(
        "month of year, filtered on quarter of year",
        by=("metric_time.month_of_year",),
        where="metric_time.quarter_of_year = 1",
        kpis=EVERY_KIND,
    ),
    Shape("fiscal quarter", by=("metric_time.fiscal_quarter",), kpis=EVERY_KIND),
    Shape(
        "fiscal year by quarter of year and channel, filtered",
        by=("metric_time.fiscal_year", "metric_time.fiscal_quarter_of_year", JOINED),
        where=FILTER,
        start="2025-01-15",
        end="2026-02-15",
        kpis=EVERY_KIND,
    ),
    # The retail 4-5-4 calendar table loaded with the demo (a join on each row's day).
    Shape(
        "retail month",
        by=("metric_time.retail_month",),
        start="2025-11-01",
        end="2026-03-31",
        kpis=EVERY_KIND,
    ),
    Shape(
        "retail year by channel, filtered",
        by=("metric_time.retail_year", JOINED),
        where=FILTER,
        kpis=EVERY_KIND,
    ),
)


# SQLite computes week, quarter and year (and date parts) from text with strftime() row by
# row: over the whole demo that is 1-10 s a query, so it runs them only with a filter and a date
# range (tests/soundness/test_calendars.py proves every part on SQLite).
SQLITE_SHAPES = tuple(
    shape.key
    for shape in SHAPES
    if not any(grain in shape.key for grain in ("week", "quarter", "year", " of "))
    or "," in shape.key
)


SPARK_SHAPES = (
    "total",
    "total by plan, filtered",
    "hour by channel, filtered",
    "day by channel, filtered",
    "month",
    "quarter by channel, filtered",
    "top 2 plans",
    "day of week",
    "retail month",
)


@dataclass(frozen=True)
class Engine:
    """An execution-tested engine: how to reach it, and where the demo data is loaded."""

    key: str
    name: str
    url: Callable[[Path], str]
    server: bool = False
    # Shapes run on this engine (None: all); a slow engine may run a documented subset.
    shapes: tuple[str, ...] | None = None
    # Shapes of the rolling and cumulative KPIs (None: the same as ``shapes``).
    window_shapes: tuple[str, ...] | None = None
    # KPIs run on this engine (None: all).
    kpis: frozenset[str] | None = None
    # A session fixture giving (URL, what load_demo returned) instead of url + load_demo here
    fixture: str | None = None
    # The default tier: every KPI in these shapes, and ``tier_per_shape`` KPIs of ``KINDS`` (and
    # one conversion, retention or churn KPI) in each other shape (see ``tier``).
    tier_every_kpi: tuple[str, ...] = ("total by plan, filtered", "month")
    tier_per_shape: int = 3
    notes: str = field(default="")


ENGINES = (
    Engine(
        "postgres",
        "PostgreSQL",
        lambda _: POSTGRES_URL,
        server=True,
    ),
    Engine("mariadb", "MariaDB", lambda _: MARIADB_URL, server=True),
    Engine(
        "sqlite",
        "SQLite",
        lambda folder: f"sqlite:///{folder / 'demo.sqlite'}",
        shapes=SQLITE_SHAPES,
        window_shapes=("day", "month", "day by channel, filtered", "month by channel, filtered"),
        notes="week, quarter and year over the whole demo take 1-10 s a query on SQLite; "
        "tests/soundness/test_sqlite_calendar.py proves those grains on hand-made rows; "
        "rolling and cumulative KPIs run by day and month (tests/soundness/test_windows.py "
        "runs them on SQLite by week and year)",
    ),
    Engine(
        "chdb",
        "ClickHouse (chdb)",
        # ClickHouse lets one process use a directory: one per test process
        lambda folder: (
            f"chdb://{folder / ('chdb_' + os.environ.get('PYTEST_XDIST_WORKER', 'main'))}"
        ),
    ),
    Engine(
        "spark",
        "Spark (local)",
        lambda _: "spark://local",
        shapes=SPARK_SHAPES,
        window_shapes=("month",),
        kpis=EVERY_KIND,
        # one warehouse per test process: Spark's catalog is one per process
        fixture="spark_demo",
        tier_every_kpi=("month",),
        tier_per_shape=1,
        notes="each query takes 1-8 s on a local Spark (5-10 s for a rolling or cumulative "
        "KPI), so it runs one shape per kind of question, for one KPI of each kind (the month "
        "for the rolling and cumulative ones); "
        "tests/soundness and tests/engines/test_same_filter.py run Spark on every grain and "
        "filter construct",
    ),
)

# (engine, KPI or None for every KPI, shape key or None for every shape) -> why it differs.
GAPS: dict[tuple[str, str | None, str | None], str] = {}


def gap(engine: str, kpi: str, shape: str) -> str | None:
    """Why ``engine`` does not give DuckDB's answer for ``kpi`` in ``shape``, or None."""
    for key in ((engine, kpi, shape), (engine, kpi, None), (engine, None, shape)):
        if key in GAPS:
            return GAPS[key]
    return GAPS.get((engine, None, None))


def asked(kpi: str, shape: Shape) -> bool:
    """Whether the matrix asks for ``kpi`` in ``shape``, or for its refusal: a conversion,
    retention or churn KPI only in ``PRODUCT_SHAPES``."""
    return kpi not in PRODUCT or shape.key in PRODUCT_SHAPES


def runs_on(engine: Engine, shape: Shape, kpi: str) -> bool:
    if not asked(kpi, shape) or (shape.kpis is not None and kpi not in shape.kpis):
        return False
    if engine.kpis is not None and kpi not in engine.kpis:
        return False
    shapes = engine.window_shapes if kpi in WINDOWED else None
    shapes = shapes or engine.shapes
    return shapes is None or shape.key in shapes


def tier(engine: Engine, refused: Callable[[str, Shape], object]) -> frozenset[tuple[str, str]]:
    """The (KPI, shape key) pairs the default suite runs on ``engine``.

    Every KPI the engine runs, in each shape of ``engine.tier_every_kpi``; in every other shape,
    the ``engine.tier_per_shape`` KPIs of ``KINDS`` (and the one conversion, retention or churn
    KPI) that have met the fewest shapes so far, in the order of ``KINDS`` (``PRODUCT`` in the
    order of ``KPIS``) on a tie. ``refused(kpi, shape)`` is true when the library refuses the pair
    on every engine (it is then proven by its refusal, not here).
    """
    picked: set[tuple[str, str]] = set()
    product = tuple(kpi for kpi in KPIS if kpi in PRODUCT)
    met = dict.fromkeys((*KINDS, *product), 0)
    for shape in SHAPES:
        eligible = [k for k in KPIS if runs_on(engine, shape, k) and not refused(k, shape)]
        if shape.key in engine.tier_every_kpi:
            picked.update((kpi, shape.key) for kpi in eligible)
            continue
        for pool, count in ((KINDS, engine.tier_per_shape), (product, 1)):
            chosen = sorted((k for k in pool if k in eligible), key=lambda k: met[k])[:count]
            for kpi in chosen:
                met[kpi] += 1
                picked.add((kpi, shape.key))
    return frozenset(picked)
