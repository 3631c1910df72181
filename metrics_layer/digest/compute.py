"""The weekly KPI digest's numbers: for each KPI the last complete week against the week before
and the 4-week average, 13 weekly values for a sparkline, an anomaly flag and the biggest movers
by a dimension (docs/digest.md states every rule).

Every number comes from ``layer.query``: one query per KPI for its weekly values and one per KPI
for its values by the dimension over the last two weeks, both with ``whole_periods``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from metrics_layer.errors import QueryError, UserError, did_you_mean, printable
from metrics_layer.formats import FormatType, ValueFormat, render
from metrics_layer.spec.models import WeekStart

if TYPE_CHECKING:
    from metrics_layer.api import SemanticLayer

__all__ = ["WEEKS", "Digest", "KpiDigest", "Mover", "build", "last_complete_week"]

WEEKS = 13  # the sparkline's weeks, the last complete one included
AVERAGE_WEEKS = 4  # the weeks before the last one that make the average
HISTORY_WEEKS = 12  # the weeks before the last one that the anomaly rule compares it with
MIN_HISTORY = 8  # fewer weeks with a value than this: no anomaly is flagged
THRESHOLD = 3.0  # robust standard deviations away from the median that flag an anomaly
MAD_SCALE = 1.4826  # MAD times this estimates the standard deviation of normal data

_WEEKDAY = {day: i for i, day in enumerate(WeekStart)}


def last_complete_week(today: dt.date, week_start: WeekStart) -> dt.date:
    """The first day of the last week that ended before ``today``.

    >>> last_complete_week(dt.date(2026, 11, 2), WeekStart.MONDAY)  # a Monday
    datetime.date(2026, 10, 26)
    >>> last_complete_week(dt.date(2026, 11, 1), WeekStart.MONDAY)  # a Sunday
    datetime.date(2026, 10, 19)
    """
    this_week = today - dt.timedelta(days=(today.weekday() - _WEEKDAY[week_start]) % 7)
    return this_week - dt.timedelta(days=7)


@dataclass(frozen=True)
class Mover:
    """One value of the movers' dimension: the KPI in that segment in the two last weeks, the
    change, and (for counts) its share of the KPI's whole change."""

    value: str
    last: float | None
    previous: float | None
    change: float
    share: float | None


@dataclass(frozen=True)
class KpiDigest:
    """One KPI of the digest. ``weeks`` are the first days of the 13 weeks, oldest first;
    ``values`` has ``None`` for a week without data. ``error`` is set (and the numbers empty)
    when the KPI cannot be computed by week; ``movers_error`` when it cannot be split by the
    dimension."""

    name: str
    label: str
    format: ValueFormat | None
    weeks: tuple[dt.date, ...]
    values: tuple[float | None, ...]
    additive: bool
    movers: tuple[Mover, ...] = ()
    error: str | None = None
    movers_error: str | None = None
    # Weeks whose conversion windows are still open on the digest's day (``Result.incomplete``):
    # their value can still grow, so they are marked and never flagged as anomalies.
    open_weeks: frozenset[dt.date] = frozenset()

    @property
    def last_open(self) -> bool:
        return bool(self.weeks) and self.weeks[-1] in self.open_weeks

    @property
    def last(self) -> float | None:
        return self.values[-1] if self.values else None

    @property
    def previous(self) -> float | None:
        return self.values[-2] if len(self.values) > 1 else None

    @property
    def average(self) -> float | None:
        """The mean of the 4 weeks before the last one, over the weeks with a value."""
        present = [v for v in self.values[-1 - AVERAGE_WEEKS : -1] if v is not None]
        return statistics.fmean(present) if present else None

    @property
    def percent(self) -> bool:
        """Whether changes are in percentage points (the metric's format is a percent)."""
        return self.format is not None and self.format.type is FormatType.PERCENT

    @property
    def anomaly(self) -> bool:
        """The last week lies more than 3 robust standard deviations (1.4826 times the median
        absolute deviation) from the median of the 12 weeks before it; with no deviation at
        all, any other value is an anomaly. Needs a value last week and 8 of the 12."""
        weeks = self.weeks[-1 - HISTORY_WEEKS : -1]
        values = self.values[-1 - HISTORY_WEEKS : -1]
        history = [
            v
            for w, v in zip(weeks, values, strict=True)
            if v is not None and w not in self.open_weeks
        ]
        last = self.last
        if last is None or self.last_open or len(history) < MIN_HISTORY:
            return False
        centre = statistics.median(history)
        spread = MAD_SCALE * statistics.median(abs(v - centre) for v in history)
        if spread == 0:
            return last != centre
        return abs(last - centre) > THRESHOLD * spread

    def value_text(self, value: float | None) -> str:
        """``value`` in the metric's format; ``n/a`` without one."""
        return "n/a" if value is None else render(value, self.format)

    def last_text(self) -> str:
        """Last week's value, marked ``(open)`` while its conversion windows are open."""
        return self.value_text(self.last) + (" (open)" if self.last_open else "")

    def change_text(self, base: float | None, value: float | None = None) -> str:
        """The change from ``base`` to ``value`` (default: last week): percentage points for a
        percent metric, else the difference in the metric's format and the relative change."""
        value = self.last if value is None else value
        if value is None or base is None:
            return "n/a"
        delta = value - base
        if self.percent:
            places = self.format.places if self.format is not None else 1
            return f"{_sign(delta * 100)}{abs(delta * 100):,.{places}f} pp"
        absolute = _sign(delta) + render(abs(delta), self.format)
        if base == 0:
            return absolute
        return f"{absolute} ({_sign(delta)}{abs(delta / abs(base)) * 100:,.1f}%)"

    def delta_text(self, delta: float) -> str:
        """A segment's change: points for a percent metric, else in the metric's format."""
        if self.percent:
            places = self.format.places if self.format is not None else 1
            return f"{_sign(delta * 100)}{abs(delta * 100):,.{places}f} pp"
        return _sign(delta) + render(abs(delta), self.format)


def _sign(number: float) -> str:
    return "+" if number > 0 else ("-" if number < 0 else "±")


@dataclass(frozen=True)
class Digest:
    """The weekly digest: the KPIs for the week starting ``week`` (the last complete week
    before ``today``), with movers by ``by``."""

    project: str
    today: dt.date
    week: dt.date
    by: str | None
    kpis: tuple[KpiDigest, ...]

    @property
    def week_end(self) -> dt.date:
        return self.week + dt.timedelta(days=6)

    def to_markdown(self) -> str:
        """The digest as Markdown, for chat."""
        from metrics_layer.digest.render_markdown import markdown

        return markdown(self)

    def to_html(self) -> str:
        """The digest as one self-contained HTML page (inline styles and SVG), for email."""
        from metrics_layer.digest.render_html import page

        return page(self)


def _today(value: str | dt.date | None, time_zone: str) -> dt.date:
    if value is None:
        from zoneinfo import ZoneInfo

        return dt.datetime.now(ZoneInfo(time_zone)).date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise QueryError(
            f"expected a date as YYYY-MM-DD, not {str(value)!r:.60}", field="today"
        ) from None


def _check_by(layer: SemanticLayer, by: object) -> None:
    """A QueryError unless ``by`` is a dimension the layer knows (a time dimension may carry
    a grain, ``user.signed_up_at.month``), with the closest name as a hint."""
    if not isinstance(by, str) or not by.strip():
        raise QueryError("expected a dimension name such as user.plan", field="by")
    known = layer.dimensions
    head = by.rpartition(".")[0]
    if by in known or ("." in head and head in known) or head == "metric_time":
        return
    hint = did_you_mean(by, known) or " `metrics-layer list` shows them."
    raise QueryError(f"unknown dimension {printable(by)!r:.80}.{hint}", field="by")


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def build(
    layer: SemanticLayer,
    metrics: str | Sequence[str] = (),
    *,
    by: str | None = None,
    today: str | dt.date | None = None,
    movers: int = 3,
) -> Digest:
    """The digest of ``metrics`` (default: the project's ``digest.metrics``, else every certified
    metric) for the last complete week before ``today`` (default: today in the project's time
    zone), with the movers by ``by`` (default: the project's ``digest.by``)."""
    settings = layer.graph.settings
    day = _today(today, settings.time_zone)
    if isinstance(movers, bool) or not isinstance(movers, int) or not 0 <= movers <= 50:
        raise QueryError("expected a whole number from 0 to 50", field="movers")
    if by is None:
        by = settings.digest_by
    if by is not None:
        _check_by(layer, by)
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    names = names or list(settings.digest_metrics)
    if names:
        chosen = [layer.metric(name) for name in names]
    else:
        chosen = [m for m in layer.metrics if m.status.value == "certified"]
    week = last_complete_week(day, settings.week_start)
    kpis = tuple(_kpi(layer, metric, week, by, movers, day) for metric in chosen)
    return Digest(settings.name, day, week, by, kpis)


def _kpi(
    layer: SemanticLayer, metric: Any, week: dt.date, by: str | None, top: int, today: dt.date
) -> KpiDigest:
    weeks = tuple(week - dt.timedelta(days=7 * i) for i in reversed(range(WEEKS)))
    name, label, fmt = metric.name, metric.label or metric.name, metric.format
    additive = metric.kind.value == "simple" and not (
        fmt is not None and fmt.type is FormatType.PERCENT
    )
    end = week + dt.timedelta(days=6)
    try:
        result = layer.query(
            name, by="metric_time.week", start=weeks[0], end=end, whole_periods=True
        ).run(today=today)
    except UserError as exc:
        return KpiDigest(name, label, fmt, weeks, (), additive, error=str(exc))
    found = {row[0]: _number(row[1]) for row in result.rows}
    values = tuple(found.get(w) for w in weeks)
    still_open = frozenset(
        row[0] for row, open_ in zip(result.rows, result.incomplete, strict=False) if open_
    )
    kpi = KpiDigest(name, label, fmt, weeks, values, additive, open_weeks=still_open)
    if by is None or top == 0:
        return kpi
    try:
        split = layer.query(
            name, by=["metric_time.week", by], start=weeks[-2], end=end, whole_periods=True
        ).run(today=today)
    except UserError as exc:
        return dataclasses.replace(kpi, movers_error=str(exc))
    return dataclasses.replace(kpi, movers=_movers(kpi, split.rows, top))


def _movers(kpi: KpiDigest, rows: Sequence[Sequence[Any]], top: int) -> tuple[Mover, ...]:
    """The ``top`` segments by the size of their change between the two last weeks.

    For an additive KPI (a simple metric that is not a percent) a segment missing in a week
    counts 0 there, and each change is also given as a share of the KPI's whole change. For
    any other KPI (ratios, rates, rolling and derived metrics) a segment's values do not add
    up to the whole: the change is the segment's own, and a segment missing in either week is
    left out."""
    last_week, previous_week = kpi.weeks[-1], kpi.weeks[-2]
    segments: dict[str, dict[dt.date, float | None]] = {}
    for row in rows:
        key = "(none)" if row[1] is None else str(row[1])
        segments.setdefault(key, {})[row[0]] = _number(row[2])
    total = None
    if kpi.last is not None or kpi.previous is not None:
        total = (kpi.last or 0.0) - (kpi.previous or 0.0)
    out = []
    for key, by_week in segments.items():
        last, previous = by_week.get(last_week), by_week.get(previous_week)
        if kpi.additive:
            last, previous = last or 0.0, previous or 0.0
            change = last - previous
            share = change / total if total else None
        elif last is None or previous is None:
            continue
        else:
            change, share = last - previous, None
        out.append(Mover(key, last, previous, change, share))
    out.sort(key=lambda m: (-abs(m.change), m.value))
    return tuple(m for m in out[:top] if m.change != 0)
