"""Conversion, retention and churn metrics: each derives rows per entity from events.

A metric of one of these types gets a source of its own, named like the metric, whose
relation is a SELECT over the event sources: one row per entity (conversion, retention with
``after``), per entity and period number (a retention cohort table), or per entity and period
(churn). Its measures count those rows and flags, and the metric itself is a simple metric or
a ratio over them (``Metric.compiles_as``). So everything a query does to a source (time
grains, the date range, joins to the entity's dimensions, ``where``, calendars, offsets)
works on these metrics unchanged, and the numbers are proven the same way on every engine.

The derived rows, by type (docs/product-kpis.md says the same to users):

- conversion: ``entity_key``, ``base_at`` (the entity's first base event), ``converted_at``
  (its first conversion event at or after that), ``converted`` (that conversion's calendar day,
  in the project's time zone, is at most ``window`` days after the base event's);
- retention: ``entity_key``, ``cohort_at`` (the first base event), ``period`` (k), ``retained``
  (an activity event in period k after the cohort's, or in any period from k on); an entity
  appears for period k only once the activity data reaches that period's last day;
- churn: ``entity_key``, ``period_start`` (a period after one where the entity was active),
  ``previous_value``, ``current_value``, ``churned`` (no value in this period); only periods up
  to the last with activity.

Every tree here is built from new nodes and used once, so sqlglot's builders are called with
``copy=False`` (by default each call copies the tree built so far and every argument), and
joins are ``exp.Join`` nodes (a ``join_type`` text is parsed as SQL at each call). A node used
twice is copied where it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from sqlglot import exp

from metrics_layer.errors import Diagnostic, FilterError, did_you_mean
from metrics_layer.graph.expressions import column_parts, parse_condition, references
from metrics_layer.graph.model import (
    Broken,
    Dimension,
    Entity,
    Measure,
    MetricRef,
    Offset,
    Settings,
    Source,
)
from metrics_layer.spec.models import (
    Agg,
    ChurnMetricSpec,
    ConversionMetricSpec,
    DimensionType,
    EventSpec,
    Grain,
    MetricSpec,
    RetentionMetricSpec,
    SemiAdditive,
)
from metrics_layer.spec.places import split_hint
from metrics_layer.spec.project import Located
from metrics_layer.sql.names import alias, cast, column, ident, table_alias
from metrics_layer.sql.nodes import CORRELATED, EDGE_PERIODS, LATEST, Alternative, nodes_of
from metrics_layer.sql.time import SUB_DAY, bucket, in_time_zone, shift

NARROW_ROWS = "narrow_rows"
"""Meta key of the SELECTs of a churn relation that read the activity's rows: a query's date
range applies to them (``rows_narrowed``)."""

__all__ = [
    "NARROW_ROWS",
    "EntityMetric",
    "entity_metric",
    "is_entity_metric",
    "narrowed",
    "narrowing",
    "prune",
    "rows_narrowed",
]

EntitySpec = ConversionMetricSpec | RetentionMetricSpec | ChurnMetricSpec

# Cohort tables hold periods 0 to N; more than this is a definition error (each period is a
# branch of the derived rows).
MAX_COHORT_PERIODS = 120

_ONE = exp.Literal.number(1)
_ZERO = exp.Literal.number(0)


def is_entity_metric(spec: MetricSpec) -> bool:
    return isinstance(spec, ConversionMetricSpec | RetentionMetricSpec | ChurnMetricSpec)


@dataclass(frozen=True)
class EntityMetric:
    """What a conversion, retention or churn metric adds to the graph: its source, and the
    measure (or numerator and denominator) the metric computes."""

    source: Source
    measure: str | None
    inputs: tuple[MetricRef, ...]
    window: Offset | None = None
    period: Grain | None = None
    cohort_table: bool = False


@dataclass(frozen=True)
class _Events:
    """An event's rows: ``SELECT entity_key_1.., event_at[, constant_1..] FROM source``."""

    select: exp.Select
    source: Source
    measure: Measure
    time: Dimension
    keys: int
    # The source holds one row per entity (the entity is primary in it).
    primary: bool = False


def entity_metric(
    located: Located[MetricSpec],
    sources: dict[str, Source],
    settings: Settings,
    problems: list[Diagnostic],
    broken: Broken | None = None,
) -> EntityMetric | None:
    """The source and measures of a conversion, retention or churn metric; None after
    recording every problem (or quietly, when its events name something ``broken``: left out
    after an error of its own)."""
    spec = located.spec
    assert isinstance(spec, ConversionMetricSpec | RetentionMetricSpec | ChurnMetricSpec)
    before = len(problems)
    if spec.name in sources:
        problems.append(
            located.diagnostic(
                f"a {spec.type} metric's rows are a source named like the metric, and source "
                f"'{spec.name}' exists already",
                "name",
                code="duplicate-name",
                hint="rename the metric or the source",
            )
        )
        return None
    builder = _Builder(located, sources, settings, problems, broken or Broken())
    if isinstance(spec, ConversionMetricSpec):
        result = builder.conversion(spec)
    elif isinstance(spec, RetentionMetricSpec):
        result = builder.retention(spec)
    else:
        result = builder.churn(spec)
    return result if len(problems) == before else None


class _Builder:
    def __init__(
        self,
        located: Located[MetricSpec],
        sources: dict[str, Source],
        settings: Settings,
        problems: list[Diagnostic],
        broken: Broken,
    ) -> None:
        self.broken = broken
        self.located = located
        self.name = located.spec.name
        self.sources = sources
        self.settings = settings
        self.problems = problems

    # -- the three types ----------------------------------------------------------------------

    def conversion(self, spec: ConversionMetricSpec) -> EntityMetric | None:
        base = self._events(spec.base, spec.entity, "base", spec.constant)
        conversion = self._events(spec.conversion, spec.entity, "conversion", spec.constant)
        if base is None or conversion is None:
            return None
        keys = _key_names(base.keys)
        constants = [f"constant_{i}" for i in range(1, len(spec.constant) + 1)]
        if constants:
            ranked = exp.select(
                *(column(k) for k in keys),
                column("event_at"),
                *(column(c) for c in constants),
                alias(
                    exp.Window(
                        this=exp.RowNumber(),
                        partition_by=[column(k) for k in keys],
                        order=exp.Order(
                            expressions=[
                                exp.Ordered(this=column(n), nulls_first=False)
                                for n in ("event_at", *constants)
                            ]
                        ),
                    ),
                    "event_number",
                ),
                copy=False,
            ).from_(_table("base_rows"), copy=False)
            first = (
                exp.select(
                    *(column(k) for k in keys),
                    alias(column("event_at"), "base_at"),
                    *(column(c) for c in constants),
                    copy=False,
                )
                .from_(exp.Subquery(this=ranked, alias=table_alias("ranked")), copy=False)
                .where(exp.EQ(this=column("event_number"), expression=_ONE.copy()), copy=False)
            )
        else:
            first = _first_events(keys, "base_at", base)
        matched = _on(keys, "first_base", "conversion_rows", constants)
        # The conversion rows are read once, each looking up its entity's first base event:
        # SQLite keeps this written order (sql/sqlite.py), where the other order looked up
        # every conversion row of each entity through an index, one entity at a time.
        converted = (
            exp.select(
                *(alias(column(k, "first_base"), k) for k in keys),
                alias(exp.Min(this=column("event_at", "conversion_rows")), "converted_at"),
                copy=False,
            )
            .from_(_table("conversion_rows"), copy=False)
            .join(exp.Join(this=_table("first_base"), kind="INNER", on=matched), copy=False)
            .where(
                exp.GTE(
                    this=column("event_at", "conversion_rows"),
                    expression=column("base_at", "first_base"),
                ),
                copy=False,
            )
            .group_by(*(column(k, "first_base") for k in keys), copy=False)
        )
        days = int(spec.window.split()[0])
        in_window = exp.and_(
            exp.Not(this=exp.Is(this=column("converted_at", "converted"), expression=exp.Null())),
            exp.LTE(
                this=self._day(column("converted_at", "converted"), conversion.time),
                expression=shift(
                    self._day(column("base_at", "first_base"), base.time), days, Grain.DAY
                ),
            ),
            copy=False,
        )
        final = (
            exp.select(
                *(alias(column(k, "first_base"), k) for k in keys),
                alias(column("base_at", "first_base"), "base_at"),
                alias(column("converted_at", "converted"), "converted_at"),
                alias(_flag(in_window), "converted"),
                copy=False,
            )
            .from_(_table("first_base"), copy=False)
            .join(
                exp.Join(
                    this=_table("converted"), side="LEFT", on=_on(keys, "first_base", "converted")
                ),
                copy=False,
            )
        )
        correlated = _with(
            self._looked_up(keys, constants, days, base, conversion),
            self.name,
            base_rows=base.select.copy(),
            first_base=first.copy(),
        )
        relation = _with(
            final,
            self.name,
            base_rows=base.select,
            conversion_rows=conversion.select,
            first_base=first,
            converted=converted,
        )
        relation.meta[CORRELATED] = Alternative(correlated)
        flag = exp.EQ(this=column("converted", self.name), expression=_ONE.copy())
        measures = {
            "base": self._measure(
                "base",
                Agg.COUNT,
                None,
                "Entities whose first base event was in the period.",
                "base_at",
            ),
            "conversions": self._measure(
                "conversions",
                Agg.SUM_BOOLEAN,
                flag,
                "Of those, the entities that converted within the window.",
                "base_at",
            ),
        }
        dimensions = [
            self._dimension(
                "base_at", DimensionType.TIME, base.time.grain, "The entity's first base event."
            ),
            self._dimension(
                "converted_at",
                DimensionType.TIME,
                conversion.time.grain,
                "The entity's first conversion event at or after it (any time).",
            ),
            self._dimension(
                "converted", DimensionType.BOOLEAN, None, "Converted within the window.", flag
            ),
        ]
        source = self._source(
            spec.entity,
            base.keys,
            relation,
            "base_at",
            dimensions,
            measures,
            narrow=True,
            base=base,
        )
        measure, inputs = _calculation(
            self.name, spec.calculation.value, {"rate": ("conversions", "base")}
        )
        return EntityMetric(source, measure, inputs, window=Offset(days, Grain.DAY))

    def _looked_up(
        self, keys: list[str], constants: list[str], days: int, base: _Events, conversion: _Events
    ) -> exp.Select:
        """A conversion's rows with each entity's conversions looked up by its key: its first
        conversion at or after the base event, and whether one falls within the window
        (``EXISTS``, which an engine answers at the first one). Each reads its own copy of the
        conversion rows, which an engine searches by the entity's key; a CTE read twice is
        materialized without indexes by PostgreSQL and SQLite. The same rows as the joins of
        the relation it is kept beside (``sql/dialects.py``, ``correlated_entity_rows``)."""
        later = exp.and_(
            _on(keys, "first_base", "conversion_rows", constants),
            exp.GTE(
                this=column("event_at", "conversion_rows"),
                expression=column("base_at", "first_base"),
            ),
            copy=False,
        )
        within = exp.LTE(
            this=self._day(column("event_at", "conversion_rows"), conversion.time),
            expression=shift(
                self._day(column("base_at", "first_base"), base.time), days, Grain.DAY
            ),
        )

        def rows() -> exp.Subquery:
            return exp.Subquery(this=conversion.select.copy(), alias=table_alias("conversion_rows"))

        first_conversion = exp.Subquery(
            this=exp.select(exp.Min(this=column("event_at", "conversion_rows")), copy=False)
            .from_(rows(), copy=False)
            .where(later.copy(), copy=False)
        )
        in_window = exp.Exists(
            this=exp.select(_ONE.copy(), copy=False)
            .from_(rows(), copy=False)
            .where(exp.and_(later.copy(), within, copy=False), copy=False)
        )
        return exp.select(
            *(alias(column(k, "first_base"), k) for k in keys),
            alias(column("base_at", "first_base"), "base_at"),
            alias(first_conversion, "converted_at"),
            alias(_flag(in_window), "converted"),
            copy=False,
        ).from_(_table("first_base"), copy=False)

    def retention(self, spec: RetentionMetricSpec) -> EntityMetric | None:
        if (spec.after is None) == (spec.cohort_periods is None):
            self.problems.append(
                self.located.diagnostic(
                    "a retention metric needs exactly one of 'after' and 'cohort_periods'",
                    "after" if spec.after is not None else "type",
                    code="definition",
                    hint="write 'after: 7 days' for a day-7 retention, or 'cohort_periods: "
                    "12 weeks' for a cohort table",
                )
            )
            return None
        span = spec.after or spec.cohort_periods
        assert span is not None
        amount, unit = span.split()
        period = Grain(unit.removesuffix("s"))
        count = int(amount)
        if spec.cohort_periods is not None and not 1 <= count <= MAX_COHORT_PERIODS:
            self.problems.append(
                self.located.diagnostic(
                    f"'cohort_periods: {span}': a cohort table holds 1 to "
                    f"{MAX_COHORT_PERIODS} periods after the cohort's",
                    "cohort_periods",
                    code="definition",
                    hint=f"write a number of periods from 1 to {MAX_COHORT_PERIODS}",
                )
            )
            return None
        base = self._events(spec.base, spec.entity, "base")
        activity = self._events(spec.activity, spec.entity, "activity")
        if base is None or activity is None:
            return None
        keys = _key_names(base.keys)
        first = _first_events(keys, "cohort_at", base)
        # An activity row's day, cut where it is read: after the join to the cohorts' entities
        # below, not for every row of the activity in a step of its own (Spark computed that
        # step's cast for each of 1M events before the join: the cohort table by day, 1.16x).
        active_day = self._day(column("event_at", "activity_rows"), activity.time)
        observed = exp.select(alias(self._latest_day(activity), "last_day"), copy=False).from_(
            exp.Subquery(this=activity.select.copy(), alias=table_alias("activity_rows")),
            copy=False,
        )
        # Each entity's cohort period, cut once with its first event: the targets and the
        # activity's range below are whole periods after it.
        first = exp.select(
            *(column(k) for k in keys),
            column("cohort_at"),
            alias(self._bucket(self._day(column("cohort_at"), base.time), period), "cohort_period"),
            copy=False,
        ).from_(exp.Subquery(this=first, alias=table_alias("first_events")), copy=False)
        numbers = [count] if spec.after is not None else list(range(count + 1))
        targets = _targets(keys, numbers, period)
        complete = exp.LTE(
            this=shift(column("target", "targets"), 1, period),
            expression=shift(column("last_day", "observed"), 1, Grain.DAY),
        )
        select = exp.select(
            *(alias(column(k, "targets"), k) for k in keys),
            alias(column("cohort_at", "targets"), "cohort_at"),
            alias(column("period", "targets"), "period"),
            copy=False,
        ).from_(_table("targets"), copy=False)
        select = select.join(exp.Join(this=_table("observed"), kind="CROSS"), copy=False)
        ctes: dict[str, exp.Query] = {
            "base_rows": base.select,
            "activity_rows": activity.select,
            "first_base": first,
            "observed": observed,
            "targets": targets,
        }
        if spec.on_or_after:
            # Each entity's last active period: retained from k on when it is k or later.
            ctes["last_active"] = (
                exp.select(
                    *(column(k) for k in keys),
                    alias(exp.Max(this=self._bucket(active_day.copy(), period)), "last_period"),
                    copy=False,
                )
                .from_(_table("activity_rows"), copy=False)
                .group_by(*(column(k) for k in keys), copy=False)
            )
            select = select.join(
                exp.Join(
                    this=_table("last_active"), side="LEFT", on=_on(keys, "targets", "last_active")
                ),
                copy=False,
            )
            retained: exp.Expr = exp.GTE(
                this=column("last_period", "last_active"),
                expression=column("target", "targets"),
            )
        else:
            # Only the periods a target asks for: the activity joined to its entity's cohort
            # first, so that the DISTINCT groups the rows of periods 0..N after each cohort
            # and not every (entity, period) pair of the activity (docs/benchmarks.md).
            active_period = self._bucket(active_day.copy(), period)
            cohort_start = column("cohort_period", "first_base")

            # The keys are taken from first_base (equal to the activity's by the join): on
            # SQLite, DISTINCT over the activity's own key made it read the activity in that
            # key's index order, a lookup per row instead of one pass.
            ctes["active_periods"] = (
                exp.select(
                    *(alias(column(k, "first_base"), k) for k in keys),
                    alias(active_period.copy(), "active_period"),
                    copy=False,
                )
                .distinct(copy=False)
                .from_(_table("activity_rows"), copy=False)
                .join(
                    exp.Join(
                        this=_table("first_base"),
                        kind="INNER",
                        on=_on(keys, "first_base", "activity_rows"),
                    ),
                    copy=False,
                )
                .where(
                    _days_of_periods(
                        active_day.copy(),
                        cohort_start,
                        numbers[0],
                        numbers[-1],
                        period,
                    ),
                    copy=False,
                )
            )
            on = exp.and_(
                _on(keys, "targets", "active_periods"),
                exp.EQ(
                    this=column("active_period", "active_periods"),
                    expression=column("target", "targets"),
                ),
                copy=False,
            )
            select = select.join(
                exp.Join(this=_table("active_periods"), side="LEFT", on=on), copy=False
            )
            retained = exp.Not(
                this=exp.Is(this=column("active_period", "active_periods"), expression=exp.Null())
            )
        select = select.select(alias(_flag(retained), "retained"), copy=False).where(
            complete, copy=False
        )
        relation = _with(select, self.name, **ctes)
        flag = exp.EQ(this=column("retained", self.name), expression=_ONE.copy())
        measures = {
            "cohort": self._measure(
                "cohort",
                Agg.COUNT,
                None,
                "Entities whose first base event was in the period "
                "and whose period k the activity data has reached.",
                "cohort_at",
            ),
            "retained": self._measure(
                "retained",
                Agg.SUM_BOOLEAN,
                flag,
                "Of those, the entities active in period k "
                "after their cohort's" + (" or later." if spec.on_or_after else "."),
                "cohort_at",
            ),
        }
        dimensions = [
            self._dimension(
                "cohort_at", DimensionType.TIME, base.time.grain, "The entity's first base event."
            ),
            self._dimension("retained", DimensionType.BOOLEAN, None, "Active in period k.", flag),
        ]
        if spec.cohort_periods is not None:
            dimensions.append(
                self._dimension(
                    "period",
                    DimensionType.CATEGORICAL,
                    None,
                    f"Periods ({period.value}s) after the cohort's: 0 to {count}.",
                )
            )
        source = self._source(
            spec.entity,
            base.keys,
            relation,
            "cohort_at",
            dimensions,
            measures,
            narrow=True,
            base=base,
        )
        measure, inputs = _calculation(
            self.name, spec.calculation.value, {"rate": ("retained", "cohort")}
        )
        return EntityMetric(source, measure, inputs, cohort_table=spec.cohort_periods is not None)

    def churn(self, spec: ChurnMetricSpec) -> EntityMetric | None:
        activity = self._events(spec.activity, spec.entity, "activity", value=True)
        if activity is None:
            return None
        measure = activity.measure
        if measure.agg not in (Agg.COUNT, Agg.COUNT_DISTINCT, Agg.SUM):
            self.problems.append(
                self.located.diagnostic(
                    f"'{measure.ref}' is a {measure.agg.value} measure; a churn metric compares "
                    "an entity's count or sum between periods",
                    "activity",
                    "measure",
                    code="definition",
                    hint="use a count, count_distinct or sum measure",
                )
            )
            return None
        period = Grain(spec.period)
        keys = _key_names(activity.keys)
        # Both reads of the activity (the rows, the period edges' copy) keep a query's periods.
        activity.select.meta[NARROW_ROWS] = True
        days = exp.select(
            *(column(k) for k in keys),
            alias(self._day(column("event_at"), activity.time), "active_day"),
            column("event_value"),
            copy=False,
        ).from_(_table("activity_rows"), copy=False)
        day_period = self._bucket(column("active_day", "active_days"), period)
        value = _value(measure.agg, column("event_value", "active_days"))
        per_period = exp.select(
            *(alias(column(k, "active_days"), k) for k in keys),
            alias(day_period, "period_start"),
            alias(value, "period_value"),
            copy=False,
        ).from_(_table("active_days"), copy=False)
        ctes: dict[str, exp.Query] = {"activity_rows": activity.select, "active_days": days}
        if measure.semi_additive is not None:
            # As of the period's last (or first) day with rows: a subscription that ended
            # during the period holds no row then.
            edge = exp.Max if measure.semi_additive is SemiAdditive.LAST else exp.Min
            ctes["period_edges"] = (
                exp.select(
                    alias(self._bucket(column("active_day"), period), "period_start"),
                    alias(edge(this=column("active_day")), "edge_day"),
                    copy=False,
                )
                .from_(self._own_days(activity), copy=False)
                .group_by(self._bucket(column("active_day"), period), copy=False)
            )
            per_period = per_period.join(
                exp.Join(
                    this=_table("period_edges"),
                    kind="INNER",
                    on=exp.EQ(
                        this=column("active_day", "active_days"),
                        expression=column("edge_day", "period_edges"),
                    ),
                ),
                copy=False,
            )
        per_period = per_period.group_by(
            *(column(k, "active_days") for k in keys), day_period.copy(), copy=False
        )
        ctes["per_period"] = per_period
        # Each entity's value in a period beside its value in the period before, from one
        # read of the per-period values: each row counts for its own period (side 0) and for
        # the next (side 1), then rows are grouped by entity and period. A join of the values
        # with themselves reads them twice, and MariaDB computes a CTE again for every
        # reference (docs/benchmarks.md).
        side = column("side", "sides")
        later = exp.EQ(this=side, expression=_ONE.copy())
        moved = exp.Case(
            ifs=[
                exp.If(
                    this=later,
                    true=cast(
                        shift(column("period_start", "per_period"), 1, period),
                        exp.DataType.Type.DATE,
                    ),
                )
            ],
            default=cast(column("period_start", "per_period"), exp.DataType.Type.DATE),
        )

        def on_side(number: exp.Expr) -> exp.Expr:
            return exp.Max(
                this=exp.Case(
                    ifs=[
                        exp.If(
                            this=exp.EQ(this=side.copy(), expression=number),
                            true=column("period_value", "per_period"),
                        )
                    ]
                )
            )

        sides = exp.union(
            exp.select(alias(_ZERO.copy(), "side"), copy=False),
            exp.select(alias(_ONE.copy(), "side"), copy=False),
            distinct=False,
            copy=False,
        )
        ctes["paired"] = (
            exp.select(
                *(alias(column(k, "per_period"), k) for k in keys),
                alias(moved, "period_start"),
                alias(on_side(_ONE.copy()), "previous_value"),
                alias(on_side(_ZERO.copy()), "current_value"),
                copy=False,
            )
            .from_(_table("per_period"), copy=False)
            .join(
                exp.Join(this=exp.Subquery(this=sides, alias=table_alias("sides")), kind="CROSS"),
                copy=False,
            )
            .group_by(*(column(k, "per_period") for k in keys), moved.copy(), copy=False)
        )
        # The last period with rows. The period edges hold the same periods, in a few rows:
        # MariaDB reads them instead (``observed_from_edges``). The alternative is outside the
        # tree ``_with`` renames, so it is given the edges' final name here.
        periods = _table("per_period")
        if "period_edges" in ctes:
            edges = exp.Table(this=ident(_cte_name(self.name, "period_edges")))
            periods.meta[EDGE_PERIODS] = Alternative(edges)
        ctes["observed"] = exp.select(
            alias(exp.Max(this=column("period_start")), "last_period"), copy=False
        ).from_(periods, copy=False)
        current = exp.Coalesce(this=column("current_value", "paired"), expressions=[_ZERO.copy()])
        select = (
            exp.select(
                *(alias(column(k, "paired"), k) for k in keys),
                alias(column("period_start", "paired"), "period_start"),
                alias(column("previous_value", "paired"), "previous_value"),
                alias(current, "current_value"),
                alias(_flag(exp.EQ(this=current.copy(), expression=_ZERO.copy())), "churned"),
                copy=False,
            )
            .from_(_table("paired"), copy=False)
            .join(exp.Join(this=_table("observed"), kind="CROSS"), copy=False)
            .where(
                exp.and_(
                    exp.GT(this=column("previous_value", "paired"), expression=_ZERO.copy()),
                    exp.LTE(
                        this=column("period_start", "paired"),
                        expression=column("last_period", "observed"),
                    ),
                    copy=False,
                ),
                copy=False,
            )
        )
        relation = _with(select, self.name, **ctes)
        me = self.name
        prev, cur = column("previous_value", me), column("current_value", me)
        churned = exp.EQ(this=column("churned", me), expression=_ONE.copy())

        time = "period_start"
        unit = f"the {period.value}"
        measures = {
            "previous": self._measure(
                "previous", Agg.COUNT, None, f"Entities active in {unit} before.", time
            ),
            "churned": self._measure(
                "churned",
                Agg.SUM_BOOLEAN,
                churned,
                f"Of those, the entities not active in {unit}.",
                time,
            ),
            "retained": self._measure(
                "retained",
                Agg.SUM_BOOLEAN,
                exp.Not(this=churned.copy()),
                f"Of those, the entities still active in {unit}.",
                time,
            ),
            "previous_value": self._measure(
                "previous_value", Agg.SUM, prev, f"Their value in {unit} before.", time
            ),
            "current_value": self._measure(
                "current_value",
                Agg.SUM,
                cur,
                f"Their value in {unit} (new entities left out).",
                time,
            ),
            "retained_value": self._measure(
                "retained_value",
                Agg.SUM,
                exp.Case(
                    ifs=[
                        exp.If(
                            this=exp.LT(this=cur.copy(), expression=prev.copy()), true=cur.copy()
                        )
                    ],
                    default=prev.copy(),
                ),
                "Their value, each capped at its value before (no expansion).",
                time,
            ),
            "expansion": self._measure(
                "expansion",
                Agg.SUM,
                _when(
                    exp.GT(this=cur.copy(), expression=prev.copy()),
                    exp.Sub(this=cur.copy(), expression=prev.copy()),
                ),
                "Growth of the entities that grew.",
                time,
            ),
            "contraction": self._measure(
                "contraction",
                Agg.SUM,
                _when(
                    exp.and_(
                        exp.LT(this=cur.copy(), expression=prev.copy()),
                        exp.GT(this=cur.copy(), expression=_ZERO.copy()),
                        copy=False,
                    ),
                    exp.Sub(this=prev.copy(), expression=cur.copy()),
                ),
                "Loss of the entities that shrank but stayed.",
                time,
            ),
            "churned_value": self._measure(
                "churned_value",
                Agg.SUM,
                _when(churned.copy(), prev.copy()),
                "Value before of the entities that churned.",
                time,
            ),
        }
        dimensions = [
            self._dimension(
                "period_start", DimensionType.TIME, Grain.DAY, f"The first day of {unit}."
            ),
            self._dimension(
                "churned", DimensionType.BOOLEAN, None, f"Not active in {unit}.", churned
            ),
        ]
        source = self._source(spec.entity, activity.keys, relation, time, dimensions, measures)
        local = activity.time.expr.copy()
        if activity.time.grain in SUB_DAY:
            local = in_time_zone(local, self.settings.time_zone)
        source = dataclasses.replace(source, narrow_rows=(local, period))
        computed, inputs = _calculation(
            self.name,
            spec.calculation.value,
            {
                "rate": ("churned", "previous"),
                "net_retention": ("current_value", "previous_value"),
                "gross_retention": ("retained_value", "previous_value"),
            },
        )
        return EntityMetric(source, computed, inputs, period=period)

    # -- pieces -------------------------------------------------------------------------------

    def _events(
        self,
        event: EventSpec,
        entity: str,
        field: str,
        constant: list[str] | None = None,
        *,
        value: bool = False,
    ) -> _Events | None:
        """The rows of ``event``'s source with the entity's key, the measure's time, the
        ``constant`` dimensions and (``value``) the measure's expression."""
        ref = event.measure
        source_name, _, measure_name = ref.partition(".")
        source = self.sources.get(source_name)
        if source is None or measure_name not in source.measures:
            if self.broken.has_measure(ref):
                return None
            where = (
                f"unknown source '{source_name}'"
                if source is None
                else f"source '{source_name}' has no measure '{measure_name}'"
            )
            suggestion = (
                did_you_mean(source_name, self.sources)
                if source is None
                else did_you_mean(measure_name, source.measures)
            )
            self.problems.append(
                self.located.diagnostic(
                    f"{field}: '{ref}': {where}",
                    field,
                    "measure",
                    code="unknown-reference",
                    hint=f"write 'source.measure'.{suggestion}",
                )
            )
            return None
        measure = source.measures[measure_name]
        if entity not in source.entities:
            self.problems.append(
                self.located.diagnostic(
                    f"{field}: source '{source_name}' does not hold entity '{entity}', so its "
                    f"events cannot be told apart by {entity}",
                    field,
                    "measure",
                    code="join",
                    hint=f"use a source with a '{entity}' key, or add the entity to "
                    f"'{source_name}'." + did_you_mean(entity, source.entities),
                )
            )
            return None
        if measure.time is None or measure.time not in source.dimensions:
            self.problems.append(
                self.located.diagnostic(
                    f"{field}: '{ref}' has no time, so its events cannot be ordered",
                    field,
                    "measure",
                    code="definition",
                    hint=f"set 'time:' on source '{source_name}' or on the measure",
                )
            )
            return None
        time = source.dimensions[measure.time]
        keys = source.entities[entity].keys
        columns: list[exp.Expr] = [
            alias(key.copy(), name) for key, name in zip(keys, _key_names(len(keys)), strict=True)
        ]
        columns.append(alias(time.expr.copy(), "event_at"))
        for index, name in enumerate(constant or [], start=1):
            found = source.dimensions.get(name)
            if found is None:
                self.problems.append(
                    self.located.diagnostic(
                        f"constant: '{name}' is not a dimension of source '{source_name}' (the "
                        f"{field} event's)",
                        "constant",
                        code="unknown-reference",
                        hint="name a dimension both event sources hold."
                        + did_you_mean(name, source.dimensions),
                    )
                )
                return None
            columns.append(alias(found.expr.copy(), f"constant_{index}"))
        if value:
            columns.append(
                alias(
                    measure.expr.copy() if measure.expr is not None else _ONE.copy(), "event_value"
                )
            )
        conditions: list[exp.Expr] = [
            exp.Not(this=exp.Is(this=key.copy(), expression=exp.Null())) for key in keys
        ]
        conditions.append(exp.Not(this=exp.Is(this=time.expr.copy(), expression=exp.Null())))
        if event.filter is not None:
            condition = self._filter(event.filter, source, field)
            if condition is None:
                return None
            conditions.append(exp.Paren(this=condition))
        select = (
            exp.select(*columns, copy=False)
            .from_(source.relation.copy(), copy=False)
            .where(exp.and_(*conditions, copy=False), copy=False)
        )
        primary = source.entities[entity].primary
        return _Events(select, source, measure, time, len(keys), primary)

    def _own_days(self, events: _Events) -> exp.Subquery:
        """``(SELECT day AS active_day FROM (events' rows)) AS active_days``: the events read
        again for one aggregate over every row, where the shared ``active_days`` CTE would
        be referenced a second time, which makes DuckDB and PostgreSQL materialize it (the
        whole activity, written once and read twice; docs/benchmarks.md)."""
        rows = exp.Subquery(this=events.select.copy(), alias=table_alias("activity_rows"))
        days = exp.select(
            alias(self._day(column("event_at"), events.time), "active_day"), copy=False
        )
        return exp.Subquery(this=days.from_(rows, copy=False), alias=table_alias("active_days"))

    def _latest_day(self, events: _Events) -> exp.Expr:
        """The latest day of ``events``' rows: ``MAX`` of each row's day, which every engine
        computes exactly; with the day of the latest time, ``CAST(MAX(t) AS DATE)``, kept as
        its alternative where the two are equal for typed times (``LATEST``): the cast to a
        day never goes back as the time goes on, unless a time zone's clock does (a change
        back across midnight), so only without a conversion. SQLite keeps the first form: its
        times are ISO text, whose order is not the times' when their UTC offsets differ."""
        each_day = exp.Max(this=self._day(column("event_at"), events.time))
        if events.time.grain not in SUB_DAY or self.settings.time_zone.upper() == "UTC":
            latest = self._day(exp.Max(this=column("event_at")), events.time)
            each_day.meta[LATEST] = Alternative(latest)
        return each_day

    def _filter(self, text: str, source: Source, field: str) -> exp.Expr | None:
        """An event's filter with each dimension name replaced by its expression."""
        try:
            condition = parse_condition(text, field=f"{field}.filter")
        except FilterError as exc:
            message, hint = split_hint(str(exc), "write a SQL boolean over dimension names")
            self.problems.append(
                self.located.diagnostic(message, field, "filter", code="expression", hint=hint)
            )
            return None
        for node in references(condition):
            parts = column_parts(node)
            name = parts[-1]
            owner = parts[0] if len(parts) == 2 else source.name
            if len(parts) > 2 or owner != source.name or name not in source.dimensions:
                if {f"{source.name}.{name}", f"{source.name}.?"} & self.broken.dimensions:
                    return None
                self.problems.append(
                    self.located.diagnostic(
                        f"{field}.filter: '{'.'.join(parts)}' is not a dimension of source "
                        f"'{source.name}'",
                        field,
                        "filter",
                        code="unknown-reference",
                        hint="an event's filter names its own source's dimensions."
                        + did_you_mean(name, source.dimensions),
                    )
                )
                return None
            node.replace(exp.Paren(this=source.dimensions[name].expr.copy()))
        return condition

    def _day(self, expression: exp.Expr, time: Dimension) -> exp.Expr:
        """The calendar day of ``expression`` (a value of ``time``) in the project's zone."""
        if time.grain in SUB_DAY:
            expression = in_time_zone(expression, self.settings.time_zone)
        return bucket(expression, Grain.DAY)

    def _bucket(self, day: exp.Expr, grain: Grain) -> exp.Expr:
        return bucket(day, grain, self.settings.week_start, self.settings.fiscal_year_start)

    def _measure(
        self,
        name: str,
        agg: Agg,
        expr: exp.Expr | None,
        description: str,
        time: str,
    ) -> Measure:
        return Measure(name, self.name, agg, expr, description=description, time=time)

    def _dimension(
        self,
        name: str,
        kind: DimensionType,
        grain: Grain | None,
        description: str,
        expr: exp.Expr | None = None,
    ) -> Dimension:
        expression = expr.copy() if expr is not None else column(name, self.name)
        return Dimension(name, self.name, expression, kind, grain, description=description)

    def _source(
        self,
        entity: str,
        keys: int,
        relation: exp.Select,
        time: str,
        dimensions: list[Dimension],
        measures: dict[str, Measure],
        *,
        narrow: bool = False,
        base: _Events | None = None,
    ) -> Source:
        """The derived source; ``narrow``: a query's range narrows its entities, and ``base``,
        the base events, says where a filter of their source applies when it holds one row
        per entity (``Source.narrow_base``)."""
        key_columns = tuple(column(name, self.name) for name in _key_names(keys))
        return Source(
            self.name,
            exp.Subquery(this=relation, alias=table_alias(self.name)),
            time,
            {entity: Entity(entity, self.name, key_columns, primary=False)},
            {d.name: d for d in dimensions},
            measures,
            f"The rows the {self.located.spec.type} metric '{self.name}' is computed from.",
            narrow=(_cte_name(self.name, "first_base"), time) if narrow else None,
            narrow_base=(
                (base.source.name, _cte_name(self.name, "base_rows"))
                if base is not None and base.primary and base.keys == 1  # one row per entity
                else None
            ),
        )


def narrowing(source: Source, condition: exp.Expr) -> exp.Expr | None:
    """``condition`` over ``source``'s rows as a condition over the rows of its CTE of one row
    per entity (named ``entities``), which holds the entity's keys and the source's time; None
    when it reads another column of the rows."""
    assert source.narrow is not None
    _, time = source.narrow
    held = {time, *(key.name for entity in source.entities.values() for key in entity.keys)}
    outside: list[str] = []

    def inner(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.table == source.name:
            if node.name in held:
                return column(node.name, "entities")
            outside.append(node.name)
        return node

    mapped = condition.transform(inner)
    return None if outside else mapped


def narrowed(
    relation: exp.Expr,
    cte_name: str,
    condition: exp.Expr,
    name: str,
    joins: Sequence[tuple[exp.Expr, exp.Expr]] = (),
    base: tuple[str, exp.Expr] | None = None,
) -> exp.Expr:
    """A copy of a derived source's ``relation``, named ``name``, whose CTE ``cte_name`` keeps
    only the entities passing ``condition`` (over ``entities``, from ``narrowing``), so that
    the entities outside the query's range are dropped before their rows are built. ``joins``
    (a table and its ON condition) are LEFT JOINed first, many-to-one, for a filter on the
    entity's dimensions: an entity the query's ``where`` drops has no rows built, and its rows
    need not pass those filters again (the planner's ``_narrow``). ``base``: a CTE of the base
    events' rows and a filter its rows must pass (of a source with one row per entity)."""
    copied = relation.copy()
    _narrow_cte(copied.this, cte_name, condition, joins, base)
    correlated = copied.this.meta.get(CORRELATED)
    if correlated is not None:  # narrowed alike if a dialect takes it
        own_joins = [(table.copy(), on.copy()) for table, on in joins]
        own_base = None if base is None else (base[0], base[1].copy())
        change = partial(
            _narrow_cte,
            cte_name=cte_name,
            condition=condition.copy(),
            joins=own_joins,
            base=own_base,
        )
        copied.this.meta[CORRELATED] = correlated.changed(change)
    copied.set("alias", table_alias(name))
    return copied


def prune(relation: exp.Expr, used: set[str]) -> None:
    """Drops the columns of a derived source's ``relation`` (a copy of its own, for one scan)
    that the scan does not read, in its correlated form too (if a dialect takes it): the time
    of conversion is a correlated MIN per entity on SQLite, PostgreSQL and MySQL, computed for
    nothing when only the conversion flag is aggregated."""
    _prune_select(relation.this, frozenset(used))
    correlated = relation.this.meta.get(CORRELATED)
    if correlated is not None:
        relation.this.meta[CORRELATED] = correlated.changed(
            partial(_prune_select, used=frozenset(used))
        )


def _prune_select(select: exp.Expr, used: frozenset[str]) -> None:
    kept = [e for e in select.expressions if e.alias_or_name in used]
    if kept and len(kept) < len(select.expressions):
        select.set("expressions", kept)


def rows_narrowed(relation: exp.Expr, condition: exp.Expr, name: str) -> exp.Expr:
    """A copy of a churn source's ``relation``, named ``name``, whose reads of the activity's
    rows (the SELECTs marked ``NARROW_ROWS``) keep only the rows passing ``condition`` (over
    the activity's own columns): the periods of the query's range and the one before, so that
    rows outside them are not grouped into periods nobody asked for."""
    copied = relation.copy()
    for select in [n for n in nodes_of(copied) if isinstance(n, exp.Select)]:
        if select.meta.get(NARROW_ROWS):
            select.where(condition.copy(), copy=False)
    copied.set("alias", table_alias(name))
    return copied


def _narrow_cte(
    select: exp.Expr,
    cte_name: str,
    condition: exp.Expr,
    joins: Sequence[tuple[exp.Expr, exp.Expr]],
    base: tuple[str, exp.Expr] | None = None,
) -> None:
    """Keep in ``select``'s CTE ``cte_name`` (one of its own, ``_with``) only the entities
    passing ``condition``, after ``joins``; and in the CTE ``base[0]``, the rows passing
    ``base[1]``."""
    ctes = select.args["with_"].expressions
    if base is not None:
        [rows] = [c for c in ctes if c.alias == base[0]]
        where = rows.this.args.get("where")
        kept = [] if where is None else [where.this]
        if where is not None and isinstance(where.this, exp.And):
            kept = list(where.this.flatten())  # one flat AND (the builder would nest it)
        rows.this.set("where", exp.Where(this=exp.and_(*kept, base[1].copy(), copy=False)))
    [cte] = [c for c in ctes if c.alias == cte_name]
    if not joins and _filtered_in_place(cte.this, condition):
        return
    select = exp.select(
        exp.Column(this=exp.Star(), table=exp.to_identifier("entities")), copy=False
    ).from_(exp.Subquery(this=cte.this, alias=table_alias("entities")), copy=False)
    for table, on in joins:
        select = select.join(exp.Join(this=table.copy(), side="LEFT", on=on.copy()), copy=False)
    cte.set("this", select.where(condition.copy(), copy=False))


def _filtered_in_place(select: exp.Expr, condition: exp.Expr) -> bool:
    """Keep only the rows of ``select`` passing ``condition`` (over its output columns, as
    ``entities.<column>``) in ``select`` itself: each column read as the expression ``select``
    gives it, each condition it ANDs in the ``WHERE`` (before grouping: an entity's key is
    its group's), or in the ``HAVING`` when it reads an aggregate (the first event of each
    entity, ``MIN(event_at)``). False, and ``select`` unchanged, when it is not a
    plain ``SELECT`` of its own rows (a window or ``DISTINCT`` among its columns) or does not
    give a column the condition reads; the caller then filters it from outside, a subquery
    more, which ClickHouse analyses again wherever the CTE is read (0.7 ms of a 10 ms
    conversion query, docs/benchmarks.md)."""
    if not isinstance(select, exp.Select) or select.args.get("distinct"):
        return False
    given: dict[str, exp.Expr] = {}
    for each in select.expressions:
        if each.find(exp.Window):
            return False
        given[each.alias_or_name] = each.this if isinstance(each, exp.Alias) else each
    missing: list[str] = []

    def own(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.table == "entities":
            if node.name not in given:
                missing.append(node.name)
                return node
            return given[node.name].copy()
        return node

    mapped = condition.transform(own)  # a copy
    if missing:
        return False
    grouped = select.args.get("group") is not None
    for part in mapped.flatten() if isinstance(mapped, exp.And) else [mapped]:
        if grouped and part.find(exp.AggFunc):
            select.having(part, copy=False)
        else:
            select.where(part, copy=False)
    return True


def _first_events(keys: list[str], name: str, base: _Events) -> exp.Select:
    """Each entity's first base event, as ``name``: the earliest of its rows, or its one row
    where the base source is the entity's primary one (one row per entity: no grouping)."""
    first = exp.select(*(column(k) for k in keys), copy=False)
    if base.primary:
        return first.select(alias(column("event_at"), name), copy=False).from_(
            _table("base_rows"), copy=False
        )
    return (
        first.select(alias(exp.Min(this=column("event_at")), name), copy=False)
        .from_(_table("base_rows"), copy=False)
        .group_by(*(column(k) for k in keys), copy=False)
    )


def _key_names(count: int) -> list[str]:
    return ["entity_key"] if count == 1 else [f"entity_key_{i}" for i in range(1, count + 1)]


def _table(name: str) -> exp.Table:
    """One of the derived rows' own CTEs (renamed by ``_with``)."""
    table = exp.Table(this=ident(name))
    table.meta["entity_cte"] = True
    return table


def _on(keys: list[str], left: str, right: str, constants: list[str] | None = None) -> exp.Expr:
    return exp.and_(
        *(
            exp.EQ(this=column(name, right), expression=column(name, left))
            for name in (*keys, *(constants or []))
        ),
        copy=False,
    )


def _when(condition: exp.Expr, then: exp.Expr) -> exp.Expr:
    """``then`` where ``condition`` holds, else 0 (a NULL test counts as not holding)."""
    return exp.Case(ifs=[exp.If(this=condition, true=then)], default=_ZERO.copy())


def _flag(condition: exp.Expr) -> exp.Expr:
    """1 where ``condition`` holds, else 0."""
    return _when(condition, _ONE.copy())


def _days_of_periods(
    day: exp.Expr, start: exp.Expr, first: int, last: int, period: Grain
) -> exp.Expr:
    """Whether ``day`` is in the ``first``-th to ``last``-th ``period`` after the one starting
    on ``start``, compared as days: a day's period is at or after a period's first day exactly
    when the day is, and at or before the last period exactly when the day is before the
    period after it. The engine then cuts no period per row."""
    if period is Grain.DAY:
        if first == last:
            return exp.EQ(this=day, expression=_nth(start, first, period))
        return exp.Between(this=day, low=_nth(start, first, period), high=_nth(start, last, period))
    return exp.and_(
        exp.GTE(this=day, expression=_nth(start, first, period)),
        exp.LT(this=day.copy(), expression=_nth(start, last + 1, period)),
        copy=False,
    )


def _targets(keys: list[str], numbers: list[int], period: Grain) -> exp.Select:
    """Each entity of ``first_base`` with each period number of ``numbers`` and the first day
    of that period after its cohort's (``target``): the entities crossed with the numbers,
    the day picked by a CASE of literal shifts, so that ``first_base`` is read once
    (ClickHouse and Spark compute a CTE again at each reference, and a UNION ALL of a SELECT
    per number read it 13 times for a 12-week table: ClickHouse 139 against 108 ms of CPU).
    """
    start = column("cohort_period", "first_base")
    first_base = [alias(column(k, "first_base"), k) for k in [*keys, "cohort_at"]]
    if len(numbers) == 1:
        (k,) = numbers
        return exp.select(
            *first_base,
            alias(exp.Literal.number(k), "period"),
            alias(_nth(start, k, period), "target"),
            copy=False,
        ).from_(_table("first_base"), copy=False)
    rows: exp.Query = exp.select(alias(exp.Literal.number(numbers[0]), "period"), copy=False)
    for k in numbers[1:]:
        row = exp.select(alias(exp.Literal.number(k), "period"), copy=False)
        rows = exp.union(rows, row, distinct=False, copy=False)
    number = column("period", "numbers")
    target = exp.Case(
        this=number,
        ifs=[exp.If(this=exp.Literal.number(k), true=_nth(start, k, period)) for k in numbers],
    )
    select = exp.select(
        *first_base, alias(number.copy(), "period"), alias(target, "target"), copy=False
    ).from_(_table("first_base"), copy=False)
    numbers_table = exp.Subquery(this=rows, alias=table_alias("numbers"))
    return select.join(exp.Join(this=numbers_table, kind="CROSS"), copy=False)


def _nth(start: exp.Expr, k: int, period: Grain) -> exp.Expr:
    """The first day of the k-th ``period`` after the one starting on ``start`` (a DATE)."""
    if k == 0:
        return cast(start.copy(), exp.DataType.Type.DATE)
    return shift(start.copy(), k, period)


def _value(agg: Agg, value: exp.Expr) -> exp.Expr:
    if agg is Agg.COUNT:
        return exp.Count(this=exp.Star())
    if agg is Agg.COUNT_DISTINCT:
        return exp.Count(this=exp.Distinct(expressions=[value]))
    return exp.Sum(this=value)


def _cte_name(prefix: str, name: str) -> str:
    """The name of a derived source's CTE ``name`` (``_with``): ``prefix__name``.

    >>> _cte_name("nrr", "period_edges")
    'nrr__period_edges'
    """
    return f"{prefix}__{name}"


def _with(select: exp.Select, prefix: str, **ctes: exp.Query) -> exp.Select:
    """``select`` with ``ctes``, each named ``prefix__name``: nested in a query's CTE, none is
    named like another metric's (Spark refuses that) or like a table a source reads."""
    select.set(
        "with_",
        exp.With(
            expressions=[
                exp.CTE(this=query, alias=table_alias(_cte_name(prefix, name)))
                for name, query in ctes.items()
            ]
        ),
    )
    for table in select.find_all(exp.Table):
        if table.meta.get("entity_cte"):
            table.set("alias", table_alias(table.name))
            table.set("this", ident(_cte_name(prefix, table.name)))
    return select


def _calculation(
    name: str, chosen: str, ratios: dict[str, tuple[str, str]]
) -> tuple[str | None, tuple[MetricRef, ...]]:
    """The numerator and denominator measures of a ratio calculation, or the one measure a
    count calculation reads (named like the calculation)."""
    if chosen in ratios:
        return None, tuple(MetricRef(f"{name}.{m}", measure=f"{name}.{m}") for m in ratios[chosen])
    return f"{name}.{chosen}", ()
