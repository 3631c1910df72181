"""The definition format, v1, as pydantic models: the single source of the JSON Schema.

A definitions file holds ``sources`` and ``metrics`` (both optional); the project file
(``metrics_layer.yml``) may also hold ``project`` settings. docs/definitions.md documents
every field; the JSON Schema in ``schema.json`` is generated from these classes.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from metrics_layer.formats import FormatType
from metrics_layer.spec.limits import quote

__all__ = [
    "DEFAULT_CACHE_TTL",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_TIMEOUT",
    "MAX_CACHE_TTL",
    "Agg",
    "CalendarPeriodSpec",
    "CalendarSpec",
    "ChangelogEntry",
    "ChurnCalculation",
    "ChurnMetricSpec",
    "ChurnVersionSpec",
    "ConversionCalculation",
    "ConversionMetricSpec",
    "ConversionVersionSpec",
    "CumulativeMetricSpec",
    "CumulativeVersionSpec",
    "DatePart",
    "DefinitionsFile",
    "DerivedMetricSpec",
    "DerivedVersionSpec",
    "DigestSpec",
    "DimensionSpec",
    "DimensionType",
    "EntitySpec",
    "EventSpec",
    "FormatSpec",
    "Grain",
    "KeptVersionSpec",
    "MeasureSpec",
    "MetricInputSpec",
    "MetricSpec",
    "MetricStatus",
    "Month",
    "ProjectSpec",
    "RatioMetricSpec",
    "RatioVersionSpec",
    "RetentionCalculation",
    "RetentionMetricSpec",
    "RetentionVersionSpec",
    "RollingMetricSpec",
    "RollingVersionSpec",
    "Rollup",
    "SemiAdditive",
    "SimpleMetricSpec",
    "SimpleVersionSpec",
    "SourceSpec",
    "TargetSpec",
    "WeekStart",
    "accepts_strictly",
    "read_strictly",
]

Name = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=63),
    Field(description="Lower-case letters, digits and underscores, starting with a letter."),
]
DottedName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$"),
    Field(description="'metric' or 'source.measure'."),
]
SqlText = Annotated[str, StringConstraints(min_length=1)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Grain(StrEnum):
    """Time grains, finest first (a fiscal period after the calendar period of its length)."""

    SECOND = "second"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    FISCAL_QUARTER = "fiscal_quarter"
    YEAR = "year"
    FISCAL_YEAR = "fiscal_year"


class DatePart(StrEnum):
    """Integer parts of a time (docs/calendars.md): ``metric_time.day_of_week`` and the like."""

    MINUTE_OF_HOUR = "minute_of_hour"
    HOUR_OF_DAY = "hour_of_day"
    DAY_OF_WEEK = "day_of_week"
    DAY_OF_MONTH = "day_of_month"
    DAY_OF_YEAR = "day_of_year"
    WEEK_OF_YEAR = "week_of_year"
    MONTH_OF_YEAR = "month_of_year"
    QUARTER_OF_YEAR = "quarter_of_year"
    FISCAL_QUARTER_OF_YEAR = "fiscal_quarter_of_year"
    FISCAL_YEAR_NUMBER = "fiscal_year_number"


class Month(StrEnum):
    JANUARY = "january"
    FEBRUARY = "february"
    MARCH = "march"
    APRIL = "april"
    MAY = "may"
    JUNE = "june"
    JULY = "july"
    AUGUST = "august"
    SEPTEMBER = "september"
    OCTOBER = "october"
    NOVEMBER = "november"
    DECEMBER = "december"

    @property
    def number(self) -> int:
        """>>> Month.FEBRUARY.number
        2
        """
        return tuple(Month).index(self) + 1


class WeekStart(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


class DimensionType(StrEnum):
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    TIME = "time"


class Agg(StrEnum):
    COUNT = "count"
    COUNT_DISTINCT = "count_distinct"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    SUM_BOOLEAN = "sum_boolean"
    MEDIAN = "median"
    PERCENTILE = "percentile"


class SemiAdditive(StrEnum):
    """Which row of the period a snapshot measure keeps before aggregating across the rest."""

    LAST = "last"
    FIRST = "first"


class Rollup(StrEnum):
    """How a metric measured per period (``per``) is rolled up to a coarser period."""

    AVERAGE = "average"
    SUM = "sum"
    MIN = "min"
    MAX = "max"
    LAST = "last"
    FIRST = "first"


class MetricStatus(StrEnum):
    DRAFT = "draft"
    CERTIFIED = "certified"
    DEPRECATED = "deprecated"


# The bounds of one query, unless the project or the caller says otherwise.
DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_ROWS = 1_000_000
# How long the metrics service keeps a query's result (docs/caching.md), and at most.
DEFAULT_CACHE_TTL = 300.0
MAX_CACHE_TTL = 604_800.0  # a week

SchemaName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_$-]*$", max_length=128),
    Field(description="Letters, digits, '_', '$' and '-', starting with a letter or '_'."),
]


class TargetSpec(_Spec):
    """Where one environment keeps the tables: the same definitions against dev, staging, prod."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    connection: str | None = Field(
        None, description="SQLAlchemy URL of this environment's database; default: the project's."
    )
    schema_: SchemaName | None = Field(
        None,
        alias="schema",
        description="Schema of every table named without one: 'table: events' reads "
        "<schema>.events.",
    )
    schemas: dict[SchemaName, SchemaName] = Field(
        default_factory=dict,
        description="Schemas renamed: {analytics: analytics_dev} reads analytics.events as "
        "analytics_dev.events.",
    )
    table_prefix: (
        Annotated[
            str,
            StringConstraints(pattern=r"^[A-Za-z0-9_$-]+$", max_length=64),
            Field(description="Letters, digits, '_', '$' and '-'."),
        ]
        | None
    ) = Field(
        None,
        description="Text put before every table name, e.g. 'ml_' reads events as ml_events "
        "(one shared database for several environments).",
    )


class CalendarPeriodSpec(_Spec):
    """A named period of the calendar table, used like a grain: ``metric_time.retail_month``."""

    name: Name = Field(
        description="The period's name in queries; not a built-in grain or date part."
    )
    column: Name | None = Field(
        None,
        description="The calendar table's DATE column holding the first day of each date's "
        "period; default: the name.",
    )
    description: str | None = Field(None, max_length=2000)


class CalendarSpec(_Spec):
    """A calendar table: one row per date, and a column per custom period (docs/calendars.md)."""

    table: str | None = Field(None, description="[catalog.][schema.]table holding the calendar.")
    sql: SqlText | None = Field(None, description="A SELECT giving the calendar's rows.")
    day: Name = Field("day", description="The DATE column: one row per date.")
    periods: Annotated[list[CalendarPeriodSpec], Field(min_length=1)] = Field(
        description="The periods it defines, each a column of first days."
    )
    spine: bool = Field(
        False,
        description="Take the days of every time spine (windows, fill_periods, period "
        "listings) from this table instead of generating them.",
    )


class DigestSpec(_Spec):
    """What the weekly KPI digest shows by default (docs/digest.md)."""

    metrics: list[str] = Field(
        default_factory=list,
        max_length=200,
        description="The KPIs, in this order; empty: every certified metric.",
    )
    by: str | None = Field(
        None, max_length=200, description="The dimension whose biggest movers each KPI shows."
    )


class ProjectSpec(_Spec):
    """Project settings; only allowed in the project file ``metrics_layer.yml``."""

    name: Name = Field(description="Project name, shown in catalogues.")
    paths: list[str] = Field(
        default_factory=lambda: ["."],
        description="Folders (relative to the project file) searched recursively for *.yml/*.yaml.",
    )
    week_start: WeekStart = Field(WeekStart.MONDAY, description="First day of a week.")
    fiscal_year_start: Month = Field(
        Month.JANUARY,
        description="Month the fiscal year starts in (fiscal_quarter, fiscal_year grains); "
        "a fiscal year is named after the calendar year it ends in.",
    )
    time_zone: str = Field(
        "UTC",
        description="IANA time zone that periods are cut in; stored timestamps are UTC.",
    )
    connection: str | None = Field(
        None,
        description="SQLAlchemy URL of the default database; omitted: the embedded demo DuckDB.",
    )
    timeout: float = Field(
        DEFAULT_TIMEOUT,
        gt=0,
        description="Seconds a query may run before the database cancels it (run(timeout=) "
        "and --timeout override it per query).",
    )
    max_rows: int = Field(
        DEFAULT_MAX_ROWS,
        ge=1,
        description="Most rows a query may return; more is an error (run(max_rows=) "
        "overrides it per query).",
    )
    cache_ttl: float = Field(
        DEFAULT_CACHE_TTL,
        ge=0,
        le=MAX_CACHE_TTL,
        description="Seconds the metrics service keeps a query's result in its cache (at "
        "most 604800, a week); 0 turns result caching off.",
    )
    digest: DigestSpec = Field(
        default_factory=lambda: DigestSpec(by=None),
        description="The weekly digest's KPIs and movers' dimension, when the command names none.",
    )
    targets: dict[Name, TargetSpec] = Field(
        default_factory=dict,
        description="Environments by name (dev, staging, prod): where each keeps the tables. "
        "Chosen with target=, --target or METRICS_LAYER_TARGET.",
    )
    target: Name | None = Field(
        None, description="The target used when none is chosen; default: tables as written."
    )
    calendar: CalendarSpec | None = Field(
        None,
        description="A calendar table whose columns define custom periods (retail 4-5-4 "
        "weeks and months), used like grains.",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {quote(value)}; use an IANA name such as UTC or Europe/Berlin"
            ) from None
        return value


class EntitySpec(_Spec):
    """A thing with identity (user, account) that joins sources."""

    name: Name
    key: str | Annotated[list[str], Field(min_length=1)] | None = Field(
        None, description="Key column(s) in this source; default: the entity name."
    )
    primary: bool = Field(
        False,
        description="True when each row of this source is one entity (the key is unique here).",
    )
    description: str | None = None


class DimensionSpec(_Spec):
    """A column (or SQL expression over the source's columns) to group and filter by."""

    name: Name
    type: DimensionType = DimensionType.CATEGORICAL
    expr: SqlText | None = Field(None, description="SQL over the source's columns; default: name.")
    grain: Grain | None = Field(
        None, description="Time dimensions: the finest grain the data supports (default day)."
    )
    label: str | None = None
    description: str | None = None


class MeasureSpec(_Spec):
    """An aggregation over one source's rows."""

    name: Name
    agg: Agg
    expr: SqlText | None = Field(
        None,
        description="SQL over the source's columns; default: the name (count: every row).",
    )
    percentile: float | None = Field(
        None, gt=0, lt=1, description="agg: percentile only, e.g. 0.9."
    )
    semi_additive: SemiAdditive | None = Field(
        None,
        description=(
            "Snapshot measures (MRR, balances): keep only the last (or first) snapshot of each "
            "period of the measure's time dimension, then aggregate across everything else."
        ),
    )
    time: Name | None = Field(
        None,
        description="Name of the source's time dimension that is metric_time for this measure "
        "(cancellations by ended_at); default: the source's time. When it is not the source's "
        "time, rows where it is NULL are not counted.",
    )
    label: str | None = None
    description: str | None = None


class SourceSpec(_Spec):
    """A table or SQL query with entities, dimensions and measures."""

    name: Name
    table: SqlText | None = Field(None, description="[catalog.][schema.]table")
    sql: SqlText | None = Field(None, description="A SELECT statement, used as a subquery.")
    time: Name | None = Field(
        None, description="Name of the time dimension that is metric_time for this source."
    )
    description: str | None = None
    valid_from: SqlText | None = Field(
        None,
        description="A history (slowly changing, type 2) source: the SQL time from which a row "
        "holds (inclusive); read as of each fact row's time.",
    )
    valid_to: SqlText | None = Field(
        None,
        description="With valid_from: the SQL time until which a row holds (exclusive; NULL "
        "while it still holds).",
    )
    entities: list[EntitySpec] = Field(default_factory=list)
    dimensions: list[DimensionSpec] = Field(default_factory=list)
    measures: list[MeasureSpec] = Field(default_factory=list)


class ChangelogEntry(_Spec):
    version: int = Field(ge=1)
    date: dt.date
    change: str = Field(min_length=1)


class FormatSpec(_Spec):
    """How a metric's values are shown (metrics_layer/formats.py); presentation only, so not
    part of the metric's fingerprint."""

    type: FormatType = Field(
        description="number (12,202.70), integer (9,864,150), percent (0.123 -> 12.3%), "
        "currency (€12,202.70) or compact (9.9M)."
    )
    decimals: int | None = Field(
        None,
        ge=0,
        le=10,
        description="Decimal places shown; default: number 2, integer 0, percent 1, currency 2 "
        "(0 for JPY, KRW, ISK, CLP, VND), compact 1.",
    )
    currency: str | None = Field(
        None,
        pattern=r"^[A-Z]{3}$",
        description="type currency only: the ISO 4217 code, e.g. EUR; default USD.",
    )

    @model_validator(mode="after")
    def _currency_only_for_currency(self) -> FormatSpec:
        if self.currency is not None and self.type is not FormatType.CURRENCY:
            raise ValueError(
                f"'currency' applies to 'type: currency' only, not '{self.type.value}': "
                "remove 'currency' or set 'type: currency'"
            )
        if self.type is FormatType.INTEGER and self.decimals not in (None, 0):
            raise ValueError("'type: integer' shows no decimals: use 'type: number'")
        return self


class _Computation(_Spec):
    """The fields every metric type has that decide what it computes."""

    filter: SqlText | None = Field(
        None,
        description="SQL boolean over dimension names; rows failing it are not aggregated.",
    )
    fill_null: float | None = Field(
        None,
        description="Value shown where the metric has no rows; counts default to 0.",
    )
    per: Grain | None = Field(
        None,
        description="Measure the metric per this period of metric_time, then roll it up.",
    )
    rollup: Rollup | None = Field(
        None,
        description="How per-period values roll up to coarser periods (default average); for "
        "rolling and cumulative metrics, which day's window a coarser period shows: last "
        "(default), first or average.",
    )


class _Governance(_Spec):
    """What a metric is called, who answers for it, and its history: the same for every
    version of it."""

    name: Name
    label: str | None = None
    description: str | None = None
    format: FormatSpec | None = Field(
        None,
        description="How values are shown (CLI, notebooks, catalogue); presentation only, "
        "changing it needs no version bump.",
    )
    owner: str | None = None
    status: MetricStatus = MetricStatus.DRAFT
    tags: list[str] = Field(default_factory=list)
    synonyms: list[str] = Field(default_factory=list)
    version: int = Field(1, ge=1, description="Bump whenever what the metric computes changes.")
    changelog: list[ChangelogEntry] = Field(default_factory=list)
    replaced_by: Name | None = Field(
        None,
        description="With status deprecated: the metric to use instead.",
    )
    sunset: dt.date | None = Field(
        None,
        description="With status deprecated: the date (YYYY-MM-DD) from which the metric may "
        "be removed.",
    )
    versions: list[KeptVersionSpec] = Field(
        default_factory=list,
        description="Earlier versions kept queryable as 'name@N' (dashboards pinned to one): "
        "each the full definition of what that version computed (type and its fields), "
        "without name, label, owner, status or changelog, which are the metric's.",
    )


class _SimpleFields(_Computation):
    type: Literal["simple"]
    measure: DottedName = Field(description="'source.measure'.")
    fill_periods: bool = Field(
        False,
        description="Grouped by metric_time, show every period of the range (a time spine), "
        "with fill_null (0 for counts) where the period has no rows.",
    )


Span = Annotated[
    str,
    StringConstraints(pattern=r"^[1-9][0-9]* (day|week|month|quarter|year)s?$"),
    Field(description="A whole number of days, weeks, months, quarters or years, e.g. '7 days'."),
]


class _RollingFields(_Computation):
    """A measure over a trailing window ending on (and including) each day."""

    type: Literal["rolling"]
    measure: DottedName = Field(description="'source.measure'.")
    window: Span = Field(
        description="The trailing window ending on each day, e.g. '7 days', '28 days', '1 month'."
    )


class _CumulativeFields(_Computation):
    """A measure over every day up to and including each day: all time, or grain-to-date."""

    type: Literal["cumulative"]
    measure: DottedName = Field(description="'source.measure'.")
    grain_to_date: Grain | Name | None = Field(
        None,
        description="Restart at the start of each such period (month: month-to-date; or a "
        "period of the project's calendar table); omitted: all time.",
    )


class _RatioFields(_Computation):
    type: Literal["ratio"]
    numerator: DottedName = Field(description="A metric name or 'source.measure'.")
    denominator: DottedName = Field(description="A metric name or 'source.measure'.")


class MetricInputSpec(_Spec):
    metric: Name
    alias: Name | None = None
    offset: (
        Annotated[
            str,
            StringConstraints(pattern=r"^[1-9][0-9]* [a-z][a-z0-9_]*$"),
        ]
        | None
    ) = Field(
        None,
        description=(
            "Period-over-period: the input's value that many days/weeks/months/quarters/years "
            "(or periods of the project's calendar table) earlier, e.g. '1 week'."
        ),
    )
    offset_to_grain: Grain | Name | None = Field(
        None,
        description="Rolling and cumulative inputs (a grain or a calendar table's period): "
        "the value on the first day of the "
        "period of this grain holding the query period's first day, e.g. MAU at the start of "
        "the month.",
    )


class _DerivedFields(_Computation):
    type: Literal["derived"]
    expr: SqlText = Field(description="Arithmetic over metric names; '/' by zero gives NULL.")
    inputs: list[MetricInputSpec] = Field(default_factory=list)


class EventSpec(_Spec):
    """The rows of a measure's source, at the measure's time, that count as an event."""

    measure: DottedName = Field(
        description="'source.measure': its source's rows are the events, at the measure's time."
    )
    filter: SqlText | None = Field(
        None, description="SQL boolean over the source's own dimension names."
    )


class ConversionCalculation(StrEnum):
    RATE = "rate"
    CONVERSIONS = "conversions"
    BASE = "base"


class _ConversionFields(_Computation):
    """Entities whose first base event is followed by a conversion event within a window."""

    type: Literal["conversion"]
    entity: Name = Field(description="The entity that converts (user, account).")
    base: EventSpec = Field(description="The base event; an entity's first one counts.")
    conversion: EventSpec = Field(description="The conversion event.")
    window: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]* days?$")] = Field(
        description="Calendar days after the base event's day within which a conversion "
        "counts (its last day included), e.g. '7 days'."
    )
    constant: list[Name] = Field(
        default_factory=list,
        description="Dimensions both sources hold whose value must be the same on the "
        "conversion as on the base event (platform).",
    )
    calculation: ConversionCalculation = Field(
        ConversionCalculation.RATE,
        description="rate (conversions / base, the default), conversions, or base.",
    )


class RetentionCalculation(StrEnum):
    RATE = "rate"
    RETAINED = "retained"
    COHORT = "cohort"


PeriodSpan = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]+ (day|week|month)s?$"),
    Field(description="A whole number of days, weeks or months, e.g. '7 days'."),
]


class _RetentionFields(_Computation):
    """The share of a cohort (entities by their first base event) active k periods later."""

    type: Literal["retention"]
    entity: Name = Field(description="The entity retained (user, account).")
    base: EventSpec = Field(description="The event whose first occurrence defines the cohort.")
    activity: EventSpec = Field(description="The event that counts as being active.")
    after: PeriodSpan | None = Field(
        None,
        description="Active this many days, weeks or months after the cohort's (retention_d7: "
        "'7 days'). Exactly one of 'after' and 'cohort_periods'.",
    )
    cohort_periods: PeriodSpan | None = Field(
        None,
        description="A cohort table: periods 0 to N ('12 weeks'), grouped by the metric's "
        "'period' dimension.",
    )
    on_or_after: bool = Field(
        False,
        description="Count an entity active in period k or in any later one (unbounded "
        "retention) instead of in period k only.",
    )
    calculation: RetentionCalculation = Field(
        RetentionCalculation.RATE,
        description="rate (retained / cohort, the default), retained, or cohort.",
    )


class ChurnCalculation(StrEnum):
    RATE = "rate"
    CHURNED = "churned"
    RETAINED = "retained"
    PREVIOUS = "previous"
    NET_RETENTION = "net_retention"
    GROSS_RETENTION = "gross_retention"
    EXPANSION = "expansion"
    CONTRACTION = "contraction"
    CHURNED_VALUE = "churned_value"
    PREVIOUS_VALUE = "previous_value"


class _ChurnFields(_Computation):
    """Entities (or their value) of the previous period compared with this period."""

    type: Literal["churn"]
    entity: Name = Field(description="The entity that churns (user, subscription, account).")
    activity: EventSpec = Field(
        description="An entity's rows in a period: active when it has one (a semi-additive "
        "measure: a row on the period's last day); its value is the measure over them."
    )
    period: Literal["day", "week", "month", "quarter", "year"] = Field(
        description="The period compared with the one before it; the only metric_time grain "
        "the metric is grouped by."
    )
    calculation: ChurnCalculation = Field(
        ChurnCalculation.RATE,
        description="rate (churned / previous, the default), churned, retained, previous, "
        "net_retention, gross_retention, expansion, contraction, churned_value, "
        "previous_value.",
    )


KeptVersion = Annotated[
    int,
    Field(
        ge=1,
        le=999_999_999,
        description="The earlier version this definition computed (below 'version').",
    ),
]


class SimpleVersionSpec(_SimpleFields):
    """A kept earlier version of a metric that was a simple metric then."""

    version: KeptVersion


class RatioVersionSpec(_RatioFields):
    """A kept earlier version of a metric that was a ratio then."""

    version: KeptVersion


class DerivedVersionSpec(_DerivedFields):
    """A kept earlier version of a metric that was a derived metric then."""

    version: KeptVersion


class RollingVersionSpec(_RollingFields):
    """A kept earlier version of a metric that was a rolling metric then."""

    version: KeptVersion


class CumulativeVersionSpec(_CumulativeFields):
    """A kept earlier version of a metric that was a cumulative metric then."""

    version: KeptVersion


class ConversionVersionSpec(_ConversionFields):
    """A kept earlier version of a metric that was a conversion metric then."""

    version: KeptVersion


class RetentionVersionSpec(_RetentionFields):
    """A kept earlier version of a metric that was a retention metric then."""

    version: KeptVersion


class ChurnVersionSpec(_ChurnFields):
    """A kept earlier version of a metric that was a churn metric then."""

    version: KeptVersion


KeptVersionSpec = Annotated[
    SimpleVersionSpec
    | RatioVersionSpec
    | DerivedVersionSpec
    | RollingVersionSpec
    | CumulativeVersionSpec
    | ConversionVersionSpec
    | RetentionVersionSpec
    | ChurnVersionSpec,
    Field(discriminator="type"),
]


class SimpleMetricSpec(_SimpleFields, _Governance):
    """One measure, optionally filtered."""


class RatioMetricSpec(_RatioFields, _Governance):
    """A numerator divided by a denominator, each aggregated at the query grain."""


class DerivedMetricSpec(_DerivedFields, _Governance):
    """Arithmetic over other metrics, with offsets for period over period."""


class RollingMetricSpec(_RollingFields, _Governance):
    """A measure over a trailing window ending on (and including) each day."""


class CumulativeMetricSpec(_CumulativeFields, _Governance):
    """A measure over every day up to and including each day: all time, or grain-to-date."""


class ConversionMetricSpec(_ConversionFields, _Governance):
    """Entities whose first base event is followed by a conversion event within a window."""


class RetentionMetricSpec(_RetentionFields, _Governance):
    """The share of a cohort (entities by their first base event) active k periods later."""


class ChurnMetricSpec(_ChurnFields, _Governance):
    """Entities (or their value) of the previous period compared with this period."""


MetricSpec = Annotated[
    SimpleMetricSpec
    | RatioMetricSpec
    | DerivedMetricSpec
    | RollingMetricSpec
    | CumulativeMetricSpec
    | ConversionMetricSpec
    | RetentionMetricSpec
    | ChurnMetricSpec,
    Field(discriminator="type"),
]


class DefinitionsFile(_Spec):
    """One YAML file of definitions."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="metrics_layer definitions",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    project: ProjectSpec | None = None
    sources: list[SourceSpec] = Field(default_factory=list)
    metrics: list[MetricSpec] = Field(default_factory=list)


def accepts_strictly(data: object) -> bool:
    """Whether ``DefinitionsFile`` accepts ``data`` (a file as read from YAML) read strictly,
    as its JSON Schema reads it; then that schema accepts it too.

    Read as JSON text in strict mode, a value passes only in the JSON type the schema names (no
    ``"3"`` for a number, no ``"yes"`` for a boolean, dates as text), and fields only by their
    written names (``schema``, not the Python name ``schema_``). The models check more than the
    schema says (time zones, real dates), so a refusal proves nothing: the schema decides then.

    >>> accepts_strictly({"metrics": [{"name": "a", "type": "simple", "measure": "s.m"}]})
    True
    >>> accepts_strictly({"metrics": [{"name": "a", "type": "simple", "measure": "s.m",
    ...                                "version": "2"}]})
    False
    """
    return read_strictly(data) is not None


def read_strictly(data: object) -> DefinitionsFile | None:
    """``data`` read strictly (``accepts_strictly``), or None when refused. Each item is the
    model that reading it alone, not strictly, gives (``spec/project.py`` reads the items of
    a refused file one by one): ``tests/spec/test_schema.py`` compares them."""
    try:
        text = json.dumps(data)
        return DefinitionsFile.model_validate_json(text, strict=True, by_alias=True, by_name=False)
    except (ValueError, TypeError):  # pydantic's ValidationError is a ValueError
        return None
