"""Which names a query of one metric can group by: the planner's rules, asked of each name.

A metric reads its measures in **scans**, as the planner builds them (``planner.py``): one per
(source, the measure's time, ``per``, offset, window). A name is valid for the metric when it
resolves from the source of every scan (``Graph.resolve``: reachable many-to-one, a grain no
finer than the time dimension records) and passes the scan's own rules, which are the
planner's:

- a scan's ``metric_time`` (or its source's time dimension named as such) is no finer than a
  day when the scan is offset or windowed (rolling, cumulative), and no finer than ``per``
  (a grain that ``per`` fits in);
- a churn metric anywhere in the metric's inputs takes ``metric_time`` at its period only;
- a metric with ``fill_periods`` takes ``metric_time`` at a grain of a day or coarser;
- a cohort table anywhere in the inputs needs its ``<metric>.period`` in every query
  (``ValidNames.required``).

``tests/api/test_catalogue.py`` plans every shipped metric by every name and checks the answer
is exactly this one; a new planner rule that refuses a grouping belongs here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from metrics_layer.errors import QueryError
from metrics_layer.graph.calendars import GRAIN_NAMES, PART_NAMES, fits_in
from metrics_layer.graph.graph import METRIC_TIME, Graph
from metrics_layer.graph.model import Dimension, Entity, Metric, MetricKind
from metrics_layer.spec.models import DimensionType, Grain
from metrics_layer.sql.parts import PART_GRAIN
from metrics_layer.sql.time import SUB_DAY

__all__ = ["ValidName", "ValidNames", "ValidNamesFinder", "declared"]


@dataclass(frozen=True)
class ValidName:
    """A name of ``Graph.query_names()`` valid for a metric; a time dimension with the grains
    (built-in and calendar periods) and date parts it takes. Its bare name is its day."""

    name: str
    grains: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValidNames:
    """Every name valid for a metric, in ``Graph.query_names()`` order, and the names each of
    its queries must group by (a cohort table's period)."""

    names: tuple[ValidName, ...]
    required: tuple[str, ...] = ()
    # The time dimensions that are the metric's metric_time (``source.dimension``).
    times: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Scan:
    source: str
    time: str | None
    per: Grain | None
    offset: bool
    windowed: bool


@dataclass(frozen=True)
class _Reads:
    """What a metric (with its inputs) reads and the rules it adds."""

    scans: frozenset[_Scan]
    churn_periods: frozenset[Grain]
    required: tuple[str, ...]


def declared(graph: Graph, name: str) -> Dimension | Entity | None:
    """What a name of ``Graph.query_names()`` other than ``metric_time`` stands for: the entity
    (in its first primary source, else the first source holding its key) or the dimension."""
    parts = name.split(".")
    if len(parts) == 1:
        holders = graph.primaries(name) or graph.key_only.get(name, ())
        return graph.sources[holders[0]].entities[name] if holders else None
    if len(parts) != 2:
        return None
    owner, dimension = parts
    for source in graph.primaries(owner) or (owner,):
        found = graph.sources[source].dimensions.get(dimension) if source in graph.sources else None
        if found is not None:
            return found
    return None


def _is_time(graph: Graph, name: str) -> bool:
    if name == METRIC_TIME:
        return True
    found = declared(graph, name)
    return isinstance(found, Dimension) and found.type is DimensionType.TIME


@dataclass
class ValidNamesFinder:
    """Valid names for the metrics of one graph; what each scan accepts is worked out once."""

    graph: Graph
    _scans: dict[_Scan, dict[str, bool]] = field(default_factory=dict)

    def find(self, metric: Metric) -> ValidNames:
        reads = self._reads(metric, offset=False)
        found: list[ValidName] = []
        for base in self.graph.query_names():
            if _is_time(self.graph, base):
                grains = tuple(
                    g
                    for g in (*GRAIN_NAMES, *self.graph.period_names)
                    if self._valid(f"{base}.{g}", reads, metric)
                )
                parts = tuple(p for p in PART_NAMES if self._valid(f"{base}.{p}", reads, metric))
                if grains or parts:
                    found.append(ValidName(base, grains, parts))
            elif self._valid(base, reads, metric):
                found.append(ValidName(base))
        times = sorted({f"{s.source}.{s.time}" for s in reads.scans if s.time is not None})
        return ValidNames(tuple(found), reads.required, tuple(times))

    def _valid(self, name: str, reads: _Reads, metric: Metric) -> bool:
        if name.split(".")[0] == METRIC_TIME:
            period = self.graph.metric_time_period(name)
            if any(period != churn for churn in reads.churn_periods):
                return False
            if metric.fill_periods and (period is None or period in SUB_DAY):
                return False
        return all(self._scan_takes(scan, name) for scan in reads.scans)

    def _scan_takes(self, scan: _Scan, name: str) -> bool:
        known = self._scans.setdefault(scan, {})
        taken = known.get(name)
        if taken is None:
            taken = known[name] = self._resolves(scan, name)
        return taken

    def _resolves(self, scan: _Scan, name: str) -> bool:
        try:
            ref = self.graph.resolve(name, scan.source, field="by", time=scan.time)
        except QueryError:
            return False
        if not ref.is_metric_time(scan.source, scan.time):
            return True
        grain = PART_GRAIN[ref.part] if ref.part is not None else ref.grain
        if grain is None:
            return True
        if (scan.windowed or scan.offset) and grain in SUB_DAY:
            return False
        return scan.per is None or fits_in(scan.per, grain)

    def _reads(self, metric: Metric, *, offset: bool) -> _Reads:
        """The scans of ``metric`` as ``Planner._metric_expr`` makes them (an offset anywhere
        above a scan makes it an offset scan)."""
        scans: set[_Scan] = set()
        churn: set[Grain] = set()
        required: list[str] = []
        if metric.period is not None:
            churn.add(metric.period)
        if metric.cohort_period is not None:
            required.append(metric.cohort_period)
        kind = metric.compiles_as
        if kind is MetricKind.SIMPLE or metric.kind.windowed:
            assert metric.measure is not None
            measure = self.graph.measures[metric.measure]
            per = metric.per if kind is MetricKind.SIMPLE else None
            scans.add(_Scan(measure.source, measure.time, per, offset, metric.kind.windowed))
        else:
            for item in metric.inputs:
                if item.measure is not None:
                    measure = self.graph.measures[item.measure]
                    scans.add(_Scan(measure.source, measure.time, None, offset, False))
                    continue
                inner = self._reads(
                    self.graph.metrics[item.name], offset=offset or item.offset is not None
                )
                scans |= inner.scans
                churn |= inner.churn_periods
                required.extend(inner.required)
        return _Reads(frozenset(scans), frozenset(churn), tuple(dict.fromkeys(required)))
