"""The semantic graph's objects: frozen dataclasses with parsed SQL, no YAML left in them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from metrics_layer.spec.models import (
    DEFAULT_CACHE_TTL,
    DEFAULT_MAX_ROWS,
    DEFAULT_TIMEOUT,
    Agg,
    DimensionType,
    Grain,
    MetricStatus,
    Rollup,
    SemiAdditive,
    WeekStart,
)

if TYPE_CHECKING:
    from sqlglot import exp

    from metrics_layer.formats import ValueFormat

__all__ = [
    "Broken",
    "Calendar",
    "CalendarPeriod",
    "Dimension",
    "Entity",
    "EntityDefinition",
    "Event",
    "Measure",
    "Metric",
    "MetricKind",
    "MetricRef",
    "Offset",
    "Period",
    "Place",
    "Settings",
    "Source",
    "SourcePlaces",
]


@dataclass(frozen=True)
class Broken:
    """What the files define but the graph left out after reporting why: a reference to one
    of these is not reported again (the first error is the one to fix).

    Sources and metrics by name; dimensions, measures and entities as ``source.name``. ``?``
    stands for a name that could not be read (an item written as a plain value): then any
    reference of that kind may be to it, and none is reported.

    >>> Broken(sources=frozenset({"orders"})).has_measure("orders.revenue")
    True
    >>> Broken(measures=frozenset({"orders.?"})).has_measure("orders.revenue")
    True
    >>> Broken(measures=frozenset({"orders.?"})).has_measure("users.signups")
    False
    """

    sources: frozenset[str] = frozenset()
    metrics: frozenset[str] = frozenset()
    measures: frozenset[str] = frozenset()
    dimensions: frozenset[str] = frozenset()
    entities: frozenset[str] = frozenset()

    def has_measure(self, ref: str) -> bool:
        """Whether ``source.measure`` is left out, itself or with its source."""
        source = ref.partition(".")[0]
        return (
            ref in self.measures
            or f"{source}.?" in self.measures
            or source in self.sources
            or "?" in self.sources
        )

    def has_metric(self, name: str) -> bool:
        """Whether the metric ``name`` is left out (or may be: one without a name is)."""
        return name in self.metrics or "?" in self.metrics

    def has_name(self, name: str) -> bool:
        """Whether a dotted query name (``source.dimension``, ``entity.dimension``, an entity)
        starts from something left out."""
        parts = name.split(".")
        dimensions = {d.partition(".")[2] for d in self.dimensions}
        entities = {e.partition(".")[2] for e in self.entities}
        if "?" in dimensions or "?" in entities or "?" in self.sources:
            return True  # an unnamed part failed: any name may be it
        return (
            parts[0] in self.sources
            or parts[0] in {e.partition(".")[2] for e in self.entities}
            or parts[0] in dimensions
            or (len(parts) >= 2 and parts[1] in dimensions)
        )


@dataclass(frozen=True)
class Settings:
    name: str
    week_start: WeekStart
    time_zone: str
    connection: str | None
    timeout: float = DEFAULT_TIMEOUT
    max_rows: int = DEFAULT_MAX_ROWS
    cache_ttl: float = DEFAULT_CACHE_TTL
    # The weekly digest's default KPIs (empty: every certified metric) and movers' dimension.
    digest_metrics: tuple[str, ...] = ()
    digest_by: str | None = None
    target: str | None = None
    fiscal_year_start: int = 1  # the month (1-12) a fiscal year starts in


@dataclass(frozen=True)
class CalendarPeriod:
    """A period defined by the project's calendar table (docs/calendars.md): ``column`` holds
    the first day of each date's period. Used where a grain is: ``metric_time.retail_month``."""

    name: str
    column: str
    description: str | None = None

    @property
    def value(self) -> str:
        """The name, as a grain's ``value`` is."""
        return self.name


# A grain or a calendar table's period: what a time dimension can be cut into.
Period = Grain | CalendarPeriod


@dataclass(frozen=True)
class Calendar:
    """The project's calendar table: ``relation`` (aliased ``calendar``) has one row per date
    in its ``day`` column and a column of period starts per period."""

    relation: exp.Expr
    day: str
    periods: dict[str, CalendarPeriod]
    # The days of every time spine are the table's, not generated.
    spine: bool = False


@dataclass(frozen=True)
class Dimension:
    name: str
    source: str
    expr: exp.Expr
    type: DimensionType
    grain: Grain | None
    label: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Entity:
    name: str
    source: str
    keys: tuple[exp.Expr, ...]
    primary: bool
    description: str | None = None


@dataclass(frozen=True)
class Measure:
    name: str
    source: str
    agg: Agg
    expr: exp.Expr | None
    percentile: float | None = None
    semi_additive: SemiAdditive | None = None
    label: str | None = None
    description: str | None = None
    # The time dimension that is metric_time for this measure: its own ``time``, else the
    # source's (None when neither is set).
    time: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.source}.{self.name}"


# Where something is written: (file, line, column); line and column may be unknown.
Place = tuple[str, int | None, int | None]


@dataclass(frozen=True)
class SourcePlaces:
    """Where a source's parts are written, for findings about the tables and columns it reads.

    ``relation`` is the place of its ``table`` or ``sql``; ``fields`` has the place of each
    field that names columns, keyed by ``("dimensions", name)``, ``("measures", name)``,
    ``("entities", name, index)`` (the index-th key column), ``("valid_from",)`` and
    ``("valid_to",)``: the field's ``expr`` (or ``key``) when it has one, else its ``name``.
    Only sources written in a file have places; derived sources (conversion, retention,
    churn) have none.
    """

    relation: Place
    fields: dict[tuple[str | int, ...], Place] = field(default_factory=dict)

    def of(self, *key: str | int) -> Place:
        """The place of a field, else of the source's table or sql.

        >>> SourcePlaces(("a.yml", 3, 12), {("valid_from",): ("a.yml", 9, 17)}).of("valid_to")
        ('a.yml', 3, 12)
        """
        return self.fields.get(key, self.relation)


@dataclass(frozen=True)
class Source:
    name: str
    relation: exp.Expr
    time: str | None
    entities: dict[str, Entity]
    dimensions: dict[str, Dimension]
    measures: dict[str, Measure]
    description: str | None = None
    # A history source (slowly changing, type 2): each row holds from ``valid_from``
    # (inclusive) until ``valid_to`` (exclusive; NULL: still holds).
    valid_from: exp.Expr | None = None
    valid_to: exp.Expr | None = None
    # A derived source (conversion, retention): the CTE of its relation holding one row per
    # entity, and that CTE's column equal to the source's time, where a query's date range
    # can apply early (``entity_metrics.narrowed``).
    narrow: tuple[str, str] | None = None
    # A derived source whose base events come from a source holding one row per entity: that
    # source's name and the CTE of its rows (``<metric>__base_rows``, reading it under its
    # name), where a filter on the source's own columns applies to the entity itself.
    narrow_base: tuple[str, str] | None = None
    # A churn source: the activity's local time and the churn's period. Its relation reads the
    # activity's rows in SELECTs marked ``NARROW_ROWS``, where a query's date range keeps the
    # rows of the periods it covers and of the period before (``entity_metrics.rows_narrowed``).
    narrow_rows: tuple[exp.Expr, Grain] | None = None

    @property
    def is_history(self) -> bool:
        return self.valid_from is not None


class MetricKind(StrEnum):
    SIMPLE = "simple"
    RATIO = "ratio"
    DERIVED = "derived"
    ROLLING = "rolling"
    CUMULATIVE = "cumulative"
    CONVERSION = "conversion"
    RETENTION = "retention"
    CHURN = "churn"

    @property
    def windowed(self) -> bool:
        """Evaluated on a day spine over a window of days (rolling, cumulative)."""
        return self in (MetricKind.ROLLING, MetricKind.CUMULATIVE)

    @property
    def entity_level(self) -> bool:
        """Computed from one row per entity (and period) that the graph derives from events
        (conversion, retention, churn: ``graph/entity_metrics.py``)."""
        return self in (MetricKind.CONVERSION, MetricKind.RETENTION, MetricKind.CHURN)


@dataclass(frozen=True)
class Offset:
    """A period-over-period shift: the value ``amount`` ``unit``s earlier (a grain, or a period
    of the project's calendar table)."""

    amount: int
    unit: Period

    @classmethod
    def parse(cls, text: str) -> Offset:
        """An offset in a built-in grain.

        >>> Offset.parse("2 weeks")
        Offset(amount=2, unit=<Grain.WEEK: 'week'>)
        """
        amount, unit = text.split()
        return cls(int(amount), Grain(unit.removesuffix("s")))

    def __add__(self, other: Offset) -> Offset:
        if other.unit != self.unit:
            raise ValueError(
                f"cannot add an offset in {other.unit.value}s to one in {self.unit.value}s"
            )
        return Offset(self.amount + other.amount, self.unit)

    @property
    def label(self) -> str:
        return f"{self.amount}_{self.unit.value}{'s' if self.amount > 1 else ''}_ago"

    @property
    def text(self) -> str:
        """>>> Offset(7, Grain.DAY).text
        '7 days'
        """
        return f"{self.amount} {self.unit.value}{'s' if self.amount > 1 else ''}"


@dataclass(frozen=True)
class Event:
    """An event of a conversion, retention or churn metric: the rows of ``measure``'s source
    (``source.measure``) passing ``filter`` (over that source's dimension names), at the
    measure's time."""

    measure: str
    filter: exp.Expr | None = None


@dataclass(frozen=True)
class EntityDefinition:
    """A conversion, retention or churn metric's definition as written, apart from the rows
    the graph derives from it (``entity_metrics.py``), so that its fingerprint does not depend
    on how they are written.

    ``events`` are by field (``base``, ``conversion``, ``activity``); ``after`` and
    ``cohort_periods`` are a retention metric's (one of them set); ``constant`` names
    dimensions both of a conversion's events hold.
    """

    entity: str
    events: tuple[tuple[str, Event], ...]
    calculation: str
    after: Offset | None = None
    cohort_periods: Offset | None = None
    on_or_after: bool = False
    constant: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricRef:
    """An input of a ratio or derived metric: another metric, or a bare measure."""

    name: str
    measure: str | None = None
    alias: str | None = None
    offset: Offset | None = None
    to_grain: Period | None = None

    @property
    def column(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class Metric:
    name: str
    kind: MetricKind
    version: int
    label: str
    description: str | None
    owner: str | None
    status: MetricStatus
    tags: tuple[str, ...]
    synonyms: tuple[str, ...]
    changelog: tuple[tuple[int, dt.date, str], ...]
    measure: str | None = None
    inputs: tuple[MetricRef, ...] = ()
    expr: exp.Expr | None = None
    filter: exp.Expr | None = None
    fill_null: float | None = None
    per: Grain | None = None
    rollup: Rollup | None = None
    window: Offset | None = None
    grain_to_date: Period | None = None
    fill_periods: bool = False
    # Churn: the period compared with the one before; the only metric_time grain it takes.
    period: Grain | None = None
    # A retention metric's cohort table: grouped by its own 'period' dimension.
    cohort_table: bool = False
    # A conversion, retention or churn metric's definition (what its fingerprint hashes).
    definition: EntityDefinition | None = None
    # A deprecated metric's successor and the date from which it may be removed.
    replaced_by: str | None = None
    sunset: dt.date | None = None
    # How values are shown: presentation only, never part of the fingerprint.
    format: ValueFormat | None = None
    file: str | None = field(default=None, compare=False)
    # A kept earlier version (``name@N``, docs/definitions.md: versions): the metric it is a
    # version of; ``version`` is the version it computes.
    pinned_of: str | None = None

    @property
    def current_name(self) -> str:
        """The name of the metric this is a version of (its own for the current version)."""
        return self.pinned_of or self.name

    @property
    def sql_name(self) -> str:
        """The name as an identifier in SQL, and of the source of rows a conversion, retention
        or churn metric derives: a kept version ``m@1`` is ``m__v1``.

        >>> import datetime as dt
        >>> from metrics_layer.spec.models import MetricStatus
        >>> kept = Metric("wau@1", MetricKind.ROLLING, 1, "WAU", None, None,
        ...               MetricStatus.DRAFT, (), (), (), pinned_of="wau")
        >>> kept.sql_name, kept.current_name
        ('wau__v1', 'wau')
        """
        return self.name if self.pinned_of is None else f"{self.pinned_of}__v{self.version}"

    @property
    def cohort_period(self) -> str | None:
        """A cohort table's period dimension, which every query of it groups by (of the rows
        it derives, ``m__v1.period`` for a kept version ``m@1``)."""
        return f"{self.sql_name}.period" if self.cohort_table else None

    @property
    def compiles_as(self) -> MetricKind:
        """The kind the planner compiles: an entity-level metric is a simple metric (one
        measure) or a ratio (two) over the rows the graph derived for it."""
        if not self.kind.entity_level:
            return self.kind
        return MetricKind.SIMPLE if self.measure is not None else MetricKind.RATIO

    def __repr__(self) -> str:
        return (
            f"<Metric {self.name} v{self.version} {self.status.value} {self.kind.value}: "
            f"{self.label}>"
        )
