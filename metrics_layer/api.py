"""The public facade: load definitions, browse the catalogue, compile and run queries.

``SemanticLayer`` and ``Query`` only connect the stages (spec → graph → checks → planner →
sql → engine); each stage lives in its own package.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import heapq
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from metrics_layer.checks.bounded import bounded_diagnostics
from metrics_layer.errors import (
    DefinitionError,
    Diagnostic,
    EngineError,
    InternalError,
    Level,
    MetricsLayerError,
    QueryError,
    UserError,
)

if TYPE_CHECKING:
    from sqlglot import exp

    from metrics_layer.catalogue import JSON, Catalogue
    from metrics_layer.checks.gate import Gate
    from metrics_layer.digest import Digest
    from metrics_layer.engine.connection import Connection
    from metrics_layer.engine.result import ColumnInfo, MetricVersion, Result
    from metrics_layer.experiments import ExperimentPlan, ExperimentResult
    from metrics_layer.graph.graph import Graph
    from metrics_layer.graph.model import Metric
    from metrics_layer.planner.plan import Plan
    from metrics_layer.planner.query import MetricQuery
    from metrics_layer.planner.types import ValueType
    from metrics_layer.safety.statement import Statement
    from metrics_layer.spec.project import ProjectFiles

__all__ = ["LockWritten", "Query", "SemanticLayer", "check", "load", "lock"]

P = ParamSpec("P")
R = TypeVar("R")


def _boundary(function: Callable[P, R]) -> Callable[P, R]:
    """The public entry points raise only MetricsLayerError: anything else escaping the stages
    is a bug in metrics_layer, raised as an InternalError chained to the original."""

    @functools.wraps(function)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except (MetricsLayerError, MemoryError):
            raise
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"
            if len(text) > 500:
                text = text[:497] + "..."
            raise InternalError(text) from exc

    return guarded


@_boundary
def check(
    path: str | os.PathLike[str] = "definitions",
    *,
    allow_outside: bool = False,
    target: str | None = None,
    connection: str | None = None,
    base: str | None = None,
) -> tuple[Graph | None, list[Diagnostic]]:
    """Load and check the project at ``path``; returns the graph and every diagnostic.

    Never raises for a bad path or bad files: every problem is a diagnostic. Files are read only
    from inside the project folder (symbolic links resolved) unless ``allow_outside``; a project
    file cannot allow it, since it may come from a pull request. ``target`` names the
    environment whose tables to read (default: ``METRICS_LAYER_TARGET``, then the project's).
    ``connection`` (a SQLAlchemy URL) also checks the sources that built against that database:
    tables, columns and their types (``checks/warehouse.py``), read-only.

    Definitions that build cleanly are also compared with the project's ``metrics.lock`` and,
    when ``base`` names a git revision (``"origin/main"``), with the definitions at that
    revision, read with git without a checkout (docs/checks.md: the changes codes).
    """
    _check_connection(connection)
    checked = _checked(path, allow_outside, target)
    # The definitions' diagnostics are bounded already; what the database and the lock and
    # base comparisons add is bounded on its own, then all are put in file order.
    extra: list[Diagnostic] = []
    if checked.graph is not None and connection is not None:
        from metrics_layer.checks.warehouse import warehouse_diagnostics

        extra = warehouse_diagnostics(checked.graph, connection)
    own = checked.diagnostics
    if checked.project is not None and checked.graph is not None and not _failed(own):
        found = _gate(checked, Path(path), base)
        extra += found.diagnostics
        # A bump without a changelog entry: the comparison's error says more than the
        # definitions' warning about the same metric (the gate runs only without errors).
        compared = {(d.file, d.line) for d in extra if d.code == "changelog"}
        own = [d for d in own if d.code != "changelog" or (d.file, d.line) not in compared]
    # ``own`` is in file order with each file's count of unlisted problems last; ``extra`` is
    # merged into it without moving those.
    merged = heapq.merge(own, _by_place(bounded_diagnostics(extra)), key=_place_key)
    return checked.graph, list(merged)


@dataclass(frozen=True)
class LockWritten:
    """What ``lock`` did: whether it wrote the lock, where, what changed in it, and the
    diagnostics that stopped it (or that it fixed)."""

    written: bool
    file: str | None
    changes: tuple[str, ...]
    diagnostics: tuple[Diagnostic, ...]


# What writing the lock fixes; any other error stops it (a lock must never hide a change).
_LOCK_FIXES = frozenset({"lock-missing", "lock-outdated"})


@_boundary
def lock(
    path: str | os.PathLike[str] = "definitions",
    *,
    allow_outside: bool = False,
    target: str | None = None,
) -> LockWritten:
    """Write ``metrics.lock`` in the project at ``path``: each metric's version, fingerprint and
    status. Nothing is written when the definitions have errors, or a metric changed without a
    version bump (or any other error the lock comparison finds): locking never hides a change.
    """
    from metrics_layer.checks.lockfile import (
        LOCK_FILE,
        lock_changes,
        render_lock,
        updated_lock,
        write_lock,
    )

    checked = _checked(path, allow_outside, target)
    if checked.project is None or checked.graph is None or _failed(checked.diagnostics):
        return LockWritten(False, None, (), tuple(bounded_diagnostics(checked.diagnostics)))
    found = _gate(checked, Path(path), None)
    stops = [d for d in found.diagnostics if d.level is Level.ERROR and d.code not in _LOCK_FIXES]
    if stops:
        return LockWritten(False, None, (), tuple(bounded_diagnostics(stops)))
    old = found.lock.snapshot if found.lock is not None else None
    # Earlier versions' fingerprints of another format mean nothing to this one.
    same_format = found.lock is not None and found.lock.format == _format()
    new = updated_lock(old if same_format else None, found.current)
    file = checked.project.root / LOCK_FILE
    changes = tuple(lock_changes(old, new))
    write_lock(file, render_lock(new))
    return LockWritten(True, str(file), changes, tuple(found.diagnostics))


def _format() -> int:
    from metrics_layer.graph import fingerprint

    return fingerprint.FORMAT


def _failed(diagnostics: Sequence[Diagnostic]) -> bool:
    return any(d.level is Level.ERROR for d in diagnostics)


@dataclass(frozen=True)
class _Checked:
    graph: Graph | None
    diagnostics: list[Diagnostic]
    project: ProjectFiles | None = None
    # What was read, whether or not it failed (a partial load places errors in metrics).
    read: ProjectFiles | None = None


def _gate(checked: _Checked, location: Path, base: str | None) -> Gate:
    """The lock and base comparisons of a cleanly built project; fingerprints come from a graph
    built without a target, so that every environment computes the same."""
    from metrics_layer.checks.gate import gate
    from metrics_layer.graph.fingerprint import untargeted

    assert checked.project is not None
    assert checked.graph is not None
    graph = untargeted(checked.graph, checked.project)
    return gate(checked.project.root, graph, base, location)


def _checked(path: str | os.PathLike[str], allow_outside: bool, target: str | None) -> _Checked:
    """Read, build and check the project: the graph for ``target`` and every diagnostic.

    What reading and building make is set apart from the garbage collector (``gc.freeze``)
    while the checks run, and given back to it at the end (``gc.unfreeze``); see
    ``_collector_paused``. A process that froze objects itself (a server before it forks)
    keeps its own freeze: then nothing is frozen here."""
    own_freeze = gc.get_freeze_count() == 0
    try:
        return _read_build_check(path, allow_outside, target, freeze=own_freeze)
    finally:
        if own_freeze:
            gc.unfreeze()


def _read_build_check(
    path: str | os.PathLike[str], allow_outside: bool, target: str | None, *, freeze: bool
) -> _Checked:
    """The body of ``_checked``.

    Every valid part is built and checked, whatever failed elsewhere: one run reports every
    independent problem, and nothing about what a failed part would have caused. The project is
    kept (for the lock and base comparisons) only when nothing failed."""
    from metrics_layer.checks.run import run_checks
    from metrics_layer.graph.build import build_graph
    from metrics_layer.graph.targets import choose_target
    from metrics_layer.spec.project import PROJECT_FILE, read_project

    problem = _path_problem(path)
    if problem is not None:
        hint = "pass the folder that holds your definitions, or one definitions file"
        found = [Diagnostic(Level.ERROR, problem, None, code="project", hint=hint)]
        return _Checked(None, bounded_diagnostics(found))
    try:
        with _collector_paused(freeze=freeze):
            project = read_project(Path(path), allow_outside=allow_outside)
    except OSError as exc:
        shown = _short(os.fspath(path))
        message = f"cannot read '{shown}': {exc.strerror or exc}"
        hint = "pass the folder that holds your definitions, or one definitions file"
        found = [Diagnostic(Level.ERROR, message, shown, code="project", hint=hint)]
        return _Checked(None, bounded_diagnostics(found))
    found = list(project.diagnostics)
    if project.empty and not project.files:  # no folder, or no YAML file in it
        return _Checked(None, bounded_diagnostics(_by_place(found)))
    if target is not None and not isinstance(target, str):
        raise QueryError(f"expected a target name, not {type(target).__name__}", field="target")
    chosen, unknown = choose_target(project.settings, target, str(project.root / PROJECT_FILE))
    if unknown:
        return _Checked(None, bounded_diagnostics(_by_place([*found, *unknown])))
    try:
        with _collector_paused(freeze=freeze):
            graph, problems = build_graph(project, chosen)
        if project.empty and any(p.level is Level.ERROR for p in problems):
            # The project file's own error (a calendar) says more than "no definitions".
            found = [d for d in found if d.code != "empty-project"]
        found = bounded_diagnostics(_by_place([*found, *problems, *run_checks(graph)]))
        return _Checked(graph, found, None if _failed(found) else project, project)
    except RecursionError:
        # The last net: a stage that recurses on something nested in the files must still end
        # in a diagnostic (the SQL parsers are bounded before they run; this is for the rest).
        return _Checked(
            None,
            [
                Diagnostic(
                    Level.ERROR,
                    "an expression in the definitions nests too deeply to check (dozens of "
                    "nested parentheses or operators)",
                    str(project.root),
                    code="limit",
                    hint="simplify it",
                )
            ],
        )


@contextlib.contextmanager
def _collector_paused(*, freeze: bool = False) -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the project is read and its graph built;
    with ``freeze``, set what exists at the end apart from it (``gc.freeze``) before it runs
    again.

    Both stages make hundreds of thousands of objects that live as long as the layer, and
    almost no cyclic garbage (what they drop is freed by reference counting). The collector
    would walk every live object again each time their number grows by a quarter: over half
    the time of reading a 10,000-metric project. It runs during the checks, whose planning
    drops sqlglot trees (cycles: each node points at its parent); paused there too, memory
    grew by 160 MiB. Frozen objects are not walked by any collection: without the freeze, the
    first collections after the pause walked every object the stages made, and each later
    full one again (about 0.9 s of a 10,000-metric load). ``_checked`` unfreezes them at its
    end, so a layer dropped later is collected as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()


def _by_place(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """``diagnostics`` by file, line and column (those without a place first), keeping the
    order of those at one place.

    >>> [d.message for d in _by_place([
    ...     Diagnostic(Level.ERROR, "b2", "b.yml", 2, 1),
    ...     Diagnostic(Level.ERROR, "a9", "a.yml", 9, 3),
    ...     Diagnostic(Level.ERROR, "p", None),
    ...     Diagnostic(Level.ERROR, "a9c1", "a.yml", 9, 1),
    ... ])]
    ['p', 'a9c1', 'a9', 'b2']
    """
    return sorted(diagnostics, key=_place_key)


def _place_key(d: Diagnostic) -> tuple[str, bool, int, int]:
    return (d.file or "", d.file is not None, d.line or 0, d.column or 1)


def _path_problem(path: object) -> str | None:
    """What is wrong with ``path`` as the location of a project, before touching the disk."""
    if not isinstance(path, (str, os.PathLike)):
        return (
            f"expected the path of a definitions folder or file (a str or os.PathLike), "
            f"got {type(path).__name__}"
        )
    location = os.fspath(path)
    if not isinstance(location, str):
        return f"expected a path as text, got {type(location).__name__}"
    if not location.strip():
        return "the path is empty; pass the folder that holds your definitions"
    return None


def _short(text: str, width: int = 200) -> str:
    return text if len(text) <= width else f"{text[: width - 3]}..."


@_boundary
def load(
    path: str | os.PathLike[str] = "definitions",
    *,
    connection: str | None = None,
    timeout: float | None = None,
    allow_outside: bool = False,
    target: str | None = None,
    cache_bytes: int | None = None,
    partial: bool = False,
) -> SemanticLayer:
    """Load the definitions at ``path``; raises DefinitionError listing every problem.

    ``connection`` is a SQLAlchemy URL; without it, ``METRICS_LAYER_URL``, then the project's
    ``connection`` setting, then the embedded demo DuckDB is used. ``timeout`` (seconds) is how
    long each query may run; without it, the project's ``timeout`` (120 s by default).
    ``allow_outside`` lets ``project.paths`` and symbolic links reach files outside the project
    folder. ``target`` names the environment whose tables to read (docs/definitions.md:
    targets). ``cache_bytes`` bounds the compiled-SQL cache (default 32 MiB; 0 turns it off).

    With ``partial``, errors confined to some metrics do not stop the load: the layer serves the
    healthy metrics and ``layer.broken`` lists each broken one (and each built on one) with the
    errors that explain it; a query of a broken metric raises a QueryError quoting them.
    DefinitionError is still raised when no graph can be built (the project itself is
    unreadable).
    """
    _check_connection(connection)
    if not isinstance(partial, bool):
        raise QueryError(f"expected True or False, not {type(partial).__name__}", field="partial")
    checked = _checked(path, allow_outside, target)
    failed = _failed(checked.diagnostics)
    if checked.graph is None or (failed and not partial):
        raise DefinitionError(checked.diagnostics)
    broken: Mapping[str, tuple[Diagnostic, ...]] = MappingProxyType({})
    if failed and checked.read is not None:
        from metrics_layer.checks.partial import broken_metrics

        broken = broken_metrics(checked.graph, checked.read.metrics, checked.diagnostics)
    return SemanticLayer(
        checked.graph,
        checked.diagnostics,
        connection=connection,
        timeout=timeout,
        cache_bytes=cache_bytes,
        project=checked.project,
        broken=broken,
    )


def _check_connection(connection: object) -> None:
    if connection is not None and not isinstance(connection, str):
        raise EngineError(
            f"connection: expected a SQLAlchemy URL as a string, got {type(connection).__name__}"
        )


class SemanticLayer:
    """A loaded, checked set of definitions bound to a database connection.

    One layer may be shared by many threads: the graph is never changed after loading, and
    the compiled-SQL cache takes a lock.
    """

    def __init__(
        self,
        graph: Graph,
        diagnostics: Sequence[Diagnostic] = (),
        *,
        connection: str | None = None,
        timeout: float | None = None,
        cache_bytes: int | None = None,
        project: ProjectFiles | None = None,
        broken: Mapping[str, tuple[Diagnostic, ...]] | None = None,
    ) -> None:
        """``project``: the files ``graph`` was built from, when it was built for a target
        (``fingerprints`` are computed without the target's renamed tables). ``broken``: the
        metrics a partial load left unserved, with the errors that explain each."""
        from metrics_layer.engine.connection import Connection, check_timeout, resolve_url
        from metrics_layer.sql.cache import COMPILED_CACHE_BYTES, CompiledCache

        _check_connection(connection)
        self.graph = graph
        self.warnings = tuple(diagnostics)
        self.broken: Mapping[str, tuple[Diagnostic, ...]] = MappingProxyType(dict(broken or {}))
        self.timeout = check_timeout(graph.settings.timeout if timeout is None else timeout)
        self.max_rows = graph.settings.max_rows
        self.connection: Connection = Connection(
            resolve_url(connection, graph.settings.connection), timeout=self.timeout
        )
        # Compiled SQL by (query, dialect, pretty), and whether the guard has passed it: the
        # graph never changes after loading, so a dashboard asking the same question again
        # skips planning, rendering and the guard.
        self.compiled = CompiledCache(COMPILED_CACHE_BYTES if cache_bytes is None else cache_bytes)
        self._catalogue: Catalogue | None = None
        self._catalogue_lock = threading.Lock()
        self._project = project
        self._fingerprints: Mapping[str, str] | None = None
        self._fingerprints_lock = threading.Lock()

    @property
    def fingerprints(self) -> Mapping[str, str]:
        """Each metric's fingerprint, by the name a query asks for it (kept versions as
        ``name@N``), computed once per layer from the definitions as written (a target's
        renamed tables are not part of it), so a dashboard can store it and detect drift."""
        from metrics_layer.graph.fingerprint import as_written

        with self._fingerprints_lock:
            if self._fingerprints is None:
                self._fingerprints = MappingProxyType(as_written(self.graph, self._project))
            return self._fingerprints

    @property
    def metrics(self) -> tuple[Metric, ...]:
        """The catalogue: every metric with name, label, description, owner, status, version."""
        return tuple(sorted(self.graph.current.values(), key=lambda m: m.name))

    @_boundary
    def metric(self, name: str) -> Metric:
        """One metric by name; QueryError with a suggestion when unknown."""
        from metrics_layer.planner.query import checked_name

        return self.graph.metric(checked_name(name, "metric"), field="metric")

    @property
    def dimensions(self) -> tuple[str, ...]:
        """Every name a query can group or filter by."""
        return tuple(self.graph.query_names())

    @_boundary
    def catalogue(self) -> JSON:
        """The whole catalogue as JSON-safe data: ``{"project", "metrics", "dimensions",
        "sources"}`` (docs/python.md#the-catalogue-as-data). A new copy on each call."""
        return self._catalogued().whole()

    @_boundary
    def describe(self, name: str) -> JSON:
        """One metric of the catalogue as JSON-safe data; QueryError with a suggestion when
        the name is unknown."""
        return self._catalogued().metric(self.metric(name).name)

    def _catalogued(self) -> Catalogue:
        """The layer's catalogue builder, which keeps what it has worked out (the graph never
        changes)."""
        from metrics_layer.catalogue import Catalogue

        with self._catalogue_lock:
            if self._catalogue is None:
                self._catalogue = Catalogue(self.graph, self.fingerprints.__getitem__)
            return self._catalogue

    @property
    def dialect(self) -> str:
        """The SQL dialect of the layer's connection."""
        return self.connection.dialect

    def _dialect_name(self, dialect: object) -> str:
        """The sqlglot name of ``dialect`` as a caller gave it (None or "": the layer's)."""
        from metrics_layer.planner.query import checked_name
        from metrics_layer.sql.dialects import dialect_name

        chosen = self.dialect if dialect is None or dialect == "" else dialect
        return dialect_name(checked_name(chosen, "dialect"))

    @_boundary
    def query(
        self,
        metrics: str | Sequence[str] = (),
        *,
        by: str | Sequence[str] = (),
        where: str | None = None,
        start: str | dt.date | None = None,
        end: str | dt.date | None = None,
        order: str | Sequence[str] = (),
        limit: int | None = None,
        fill_periods: bool = False,
        whole_periods: bool = False,
    ) -> Query:
        """A query; compile with ``.sql()``, run with ``.run()``. Names are dotted.

        ``fill_periods`` shows every period of the range (a time spine) when grouped by
        ``metric_time``, also those without rows. ``whole_periods`` widens ``start``/``end``
        to whole periods of the coarsest ``metric_time`` grain; otherwise the range stays as
        asked and ``Result.partial`` marks the periods it cuts.
        """
        from metrics_layer.planner.query import MetricQuery

        spec = MetricQuery.of(
            metrics,
            by=by,
            where=where,
            start=start,
            end=end,
            order=order,
            limit=limit,
            fill_periods=fill_periods,
            whole_periods=whole_periods,
        )
        self._refuse_broken(spec.metrics)
        return Query(self, spec)

    @_boundary
    def experiment(self, metric: str, *, mde: str | float, **options: Any) -> ExperimentPlan:
        """Size an A/B test of ``metric``: units per arm and days to run for a minimum
        detectable effect (``"5%"`` relative, or a number in the metric's units), from the
        metric's own per-unit data. Options: ``alpha``, ``power``, ``arms``, ``allocation``,
        ``lookback``, ``end``, ``traffic``, ``unit``, ``population``, ``where``
        (docs/experiments.md)."""
        from metrics_layer.experiments.sizing import SIZE_OPTIONS, checked_options, size

        return size(self, metric, mde=mde, **checked_options(options, SIZE_OPTIONS))

    @_boundary
    def analyze_experiment(
        self,
        metric: str,
        assignment: object,
        *,
        start: str | dt.date,
        end: str | dt.date,
        **options: Any,
    ) -> ExperimentResult:
        """Read a finished test of ``metric``: the metric per variant of ``assignment`` (unit
        key to variant) over ``start``..``end``, with lift, interval, p-value and a
        sample-ratio-mismatch check. Options: ``alpha``, ``control``, ``allocation``,
        ``unit`` (docs/experiments.md)."""
        from metrics_layer.experiments.analysis import ANALYZE_OPTIONS, analyze
        from metrics_layer.experiments.sizing import checked_options

        options = checked_options(options, ANALYZE_OPTIONS)
        return analyze(self, metric, assignment, start=start, end=end, **options)

    @_boundary
    def digest(
        self,
        metrics: str | Sequence[str] = (),
        *,
        by: str | None = None,
        today: str | dt.date | None = None,
        movers: int = 3,
    ) -> Digest:
        """The weekly KPI digest of ``metrics`` (default: every certified metric): the last
        complete week before ``today`` (default: today in the project's time zone) against
        the week before and the 4-week average, 13 weeks of values, anomalies and the
        ``movers`` biggest movers by the dimension ``by``; ``.to_markdown()``, ``.to_html()``
        (docs/digest.md)."""
        from metrics_layer.digest import build

        return build(self, metrics, by=by, today=today, movers=movers)

    @_boundary
    def statistics(self, dialect: str | None = None) -> tuple[str, ...]:
        """PostgreSQL statements for whoever runs the database: ``CREATE STATISTICS`` on each
        time bucket (day to year) the layer's SQL groups a table's rows by, then ``ANALYZE``
        of those tables, so that PostgreSQL estimates the groups of a query (and plans the
        rest of it) from the bucket's own distinct count instead of the column's. The layer
        runs none of them (docs/queries.md#row-estimates-on-postgresql)."""
        from metrics_layer.graph.model import MetricKind
        from metrics_layer.sql.statistics import GRAINS, Statistic, grouped, statements

        name = self._dialect_name(dialect)
        if name != "postgres":
            raise QueryError(
                f"statistics on expressions are PostgreSQL's (version 14 and later), not "
                f"{name}'s; ask for the postgres dialect (--dialect postgres) for a PostgreSQL "
                "database",
                field="dialect",
            )
        found: list[Statistic] = []
        done = set()  # a dimension's buckets are the same whatever the metric (not metric_time)
        shapes = set()  # simple metrics of one measure shape group the same buckets
        for metric in self.metrics:
            if metric.name in self.broken:
                continue
            if metric.kind is MetricKind.SIMPLE and metric.measure is not None:
                source, _, measure_name = metric.measure.partition(".")
                measure = self.graph.sources[source].measures[measure_name]
                shape = (source, measure.time, measure.semi_additive, metric.per)
                if shape in shapes:
                    continue
                shapes.add(shape)
            for dimension in self.describe(metric.name)["dimensions"]:
                if dimension["type"] != "time":
                    continue
                for grain in (g for g in GRAINS if g in dimension["grains"]):
                    by = f"{dimension['name']}.{grain}"
                    if by in done:
                        continue
                    try:
                        tree = self.query([metric.name], by=[by])._prepared(name)
                    except UserError:  # a grain the metric refuses (churn: months only)
                        continue
                    found.extend(grouped(tree))
                    if dimension["name"] != "metric_time":
                        done.add(by)
        return tuple(statements(found))

    def _refuse_broken(self, names: Sequence[str]) -> None:
        """A QueryError naming the first broken metric of ``names`` (a kept version ``m@N``
        counts as ``m``) and the errors that explain it."""
        for name in names:
            reasons = self.broken.get(name.partition("@")[0])
            if reasons is not None:
                listed = "; ".join(str(d) for d in reasons) or "see the load's diagnostics"
                raise QueryError(
                    f"metric '{name}' is broken in the definitions and not served: {listed}",
                    field="metrics",
                )

    def __repr__(self) -> str:
        return (
            f"<SemanticLayer {self.graph.settings.name!r}: {len(self.graph.current)} metrics, "
            f"{len(self.graph.sources)} sources, dialect {self.dialect}>"
        )

    def _repr_html_(self) -> str:
        """The catalogue as a table, for notebooks."""
        import html

        head = "".join(
            f"<th>{c}</th>" for c in ("name", "label", "type", "status", "version", "owner")
        )
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (m.name, m.label, m.kind.value, m.status.value, m.version, m.owner or "")
            )
            + f'</tr><tr><td></td><td colspan="5"><small>{html.escape(m.description or "")}'
            "</small></td></tr>"
            for m in self.metrics
        )
        title = html.escape(repr(self))
        return f"<p>{title}</p><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


class Query:
    """A planned metric query; SQL for any dialect, results from the layer's connection."""

    def __init__(self, layer: SemanticLayer, spec: MetricQuery) -> None:
        self.layer = layer
        self.spec = spec
        self._lock = threading.Lock()
        started = time.perf_counter()
        plan = self._new_plan()
        self._plan_ms = (time.perf_counter() - started) * 1000
        self._unused: Plan | None = plan
        self.columns: tuple[str, ...] = plan.columns
        self.versions: dict[str, int] = dict(plan.versions)
        # Each metric column and the graph's metric (``m@1``: a kept version) computing it.
        self._computes = {m.name: m.metric for m in plan.metrics if m.metric is not None}
        self._types = plan.types

    def _new_plan(self) -> Plan:
        from metrics_layer.planner.planner import plan_query

        return plan_query(self.layer.graph, self.spec)

    @property
    def types(self) -> tuple[ValueType, ...]:
        """The Python type of each column, in ``columns`` order (what a service reports as
        the column's type before any row is read)."""
        return self._types

    @property
    def plan(self) -> Plan:
        """The query's plan (which scans, joins, groupings and aggregates it needs)."""
        with self._lock:
            if self._unused is None:
                self._unused = self._new_plan()
            return self._unused

    @property
    def tree(self) -> exp.Select:
        """A new dialect-neutral sqlglot tree of the query (yours to change)."""
        from metrics_layer.sql.build import build_select

        return build_select(self.plan)

    @_boundary
    def sql(self, dialect: str | None = None, *, pretty: bool = True) -> str:
        """SQL for ``dialect`` (default: the layer's engine), e.g. ``q.sql("snowflake")``.

        Cached per layer: the same query for the same dialect is compiled once.
        """
        if not isinstance(pretty, bool):
            raise QueryError(f"expected True or False, not {type(pretty).__name__}", field="pretty")
        name = self.layer._dialect_name(dialect)
        key = (self.spec, name, pretty)
        text = self.layer.compiled.get(key)
        if text is None:
            text = self._render(name, pretty)
            self.layer.compiled.put(key, text)
        return text

    def _render(self, name: str, pretty: bool) -> str:
        """The SQL text, from the rendering of an earlier query of the same shape when there
        is one (``sql/shapes.py``); the first query of a shape renders it with stand-in dates
        too, and keeps that only if writing its own dates in gives its own rendering. Without
        a cache (``cache_bytes=0``) nothing would be kept, so the query is rendered once."""
        from metrics_layer.sql.build import built
        from metrics_layer.sql.dialects import render
        from metrics_layer.sql.shapes import fill, plan_dates, shape_key, with_stand_ins

        def rendered(plan: Plan) -> str:
            query = built(plan, consume=True, dialect=name)
            return render(query.tree, name, pretty=pretty, nodes=query.nodes)

        with self._lock:
            plan, self._unused = self._unused, None
        plan = plan or self._new_plan()
        if self.layer.compiled.max_bytes == 0:  # no cache: a shape's rendering is never kept
            return rendered(plan)
        try:
            dates = plan_dates(plan)
        except TypeError:
            dates = []
        if not dates:  # nothing to write in: the query is its own shape
            return rendered(plan)
        given, digits = shape_key(self.spec, plan)
        shape = (given, f"{name} shape {digits}", pretty)
        kept = self.layer.compiled.get(shape)
        if kept is not None:
            slots, kept_text = kept.split("\n", 1)
            return fill(kept_text, slots.split(), dates)
        stand_in_plan, stand_ins = with_stand_ins(plan)
        text = rendered(plan)
        template = rendered(stand_in_plan)
        if fill(template, stand_ins, dates) == text:
            self.layer.compiled.put(shape, " ".join(stand_ins) + "\n" + template)
        return text

    def _prepared(self, dialect: str) -> exp.Expr:
        """A new tree of the query as ``dialect``'s generator receives it: built for that
        dialect (``sql/build.py: built``), then its rules applied (``sql/dialects.py``)."""
        from metrics_layer.sql.build import built
        from metrics_layer.sql.dialects import prepared

        query = built(self.plan, dialect=dialect)
        return prepared(query.tree, dialect, query.nodes)

    @_boundary
    def statement(self, dialect: str | None = None) -> Statement:
        """The SQL for ``dialect`` (default: the layer's engine) as checked by the statement guard.

        Cached per layer like ``sql()``. SQL the guard refuses is an InternalError: the compiler
        (or a definition's SQL that slipped past the definition checks) produced it.
        """
        from metrics_layer.errors import StatementError
        from metrics_layer.safety.statement import verify

        name = self.layer._dialect_name(dialect)
        key = (self.spec, name, True)
        statement = self.layer.compiled.statement(key)
        if statement is None:
            try:
                statement = verify(self.sql(name), name)
            except StatementError as exc:
                raise InternalError(
                    f"the compiled SQL was refused before reaching the database ({exc}); a "
                    "source's `sql` or an `expr` may use something the allow-list does not "
                    "permit, otherwise please report this as a bug"
                ) from exc
            self.layer.compiled.put_statement(key, statement)
        return statement

    @_boundary
    def run(
        self,
        connection: str | Connection | None = None,
        *,
        timeout: float | None = None,
        max_rows: int | None = None,
        today: dt.date | None = None,
    ) -> Result:
        """Run on the layer's connection (or the given URL); read-only.

        ``timeout`` (seconds) and ``max_rows`` default to the layer's (the project settings);
        a query running longer, or returning more rows, is an EngineError. ``today`` (default:
        the date in the project's time zone) decides which conversion windows are still open
        (``Result.incomplete``).
        """
        from metrics_layer.engine.connection import Connection, check_max_rows, check_timeout
        from metrics_layer.engine.result import Result
        from metrics_layer.engine.types import normalise_rows
        from metrics_layer.planner.periods import incomplete_rows, partial_rows, widened

        seconds = check_timeout(self.layer.timeout if timeout is None else timeout)
        cap = check_max_rows(self.layer.max_rows if max_rows is None else max_rows)
        if today is not None and (not isinstance(today, dt.date) or isinstance(today, dt.datetime)):
            raise QueryError(
                f"expected a date such as datetime.date(2026, 4, 5), not {type(today).__name__}",
                field="today",
            )
        target = self.layer.connection
        if isinstance(connection, Connection):
            target = connection
        elif connection is not None:
            _check_connection(connection)
            target = Connection(connection, timeout=seconds)
        started = time.perf_counter()
        statement = self.statement(target.dialect)
        compile_ms = self._plan_ms + (time.perf_counter() - started) * 1000
        fetched = target.fetch(statement, timeout=seconds, max_rows=cap)
        settings = self.layer.graph.settings
        rows = normalise_rows(fetched.rows, self._types, settings.time_zone)
        asked = widened(self.spec, settings.week_start, settings.fiscal_year_start)
        return Result(
            self.columns,
            rows,
            statement.sql,
            target.dialect,
            self.versions,
            compile_ms,
            fetched.elapsed_ms,
            partial_rows(
                self.columns,
                rows,
                asked.start,
                asked.end,
                settings.week_start,
                settings.fiscal_year_start,
            ),
            incomplete_rows(
                self.columns,
                rows,
                self._conversion_window(),
                asked.end,
                today if today is not None else _today(settings.time_zone),
                settings.week_start,
                settings.fiscal_year_start,
            ),
            self.metrics,
            types=self._types,
            info=self.info,
        )

    @property
    def info(self) -> dict[str, ColumnInfo]:
        """For each metric column, its metric's label, description and value format (what a
        table, a notebook or a chart shows)."""
        from metrics_layer.engine.result import ColumnInfo

        found: dict[str, ColumnInfo] = {}
        for column, key in self._computes.items():
            metric = self.layer.graph.metrics[key]
            found[column] = ColumnInfo(metric.label, metric.description, metric.format)
        return found

    @property
    def metrics(self) -> dict[str, MetricVersion]:
        """For each metric column, the metric, version and fingerprint that computes it."""
        from metrics_layer.engine.result import MetricVersion

        prints = self.layer.fingerprints
        found: dict[str, MetricVersion] = {}
        for column, key in self._computes.items():
            metric = self.layer.graph.metrics[key]
            found[column] = MetricVersion(metric.current_name, metric.version, prints[key])
        return found

    def _conversion_window(self) -> int | None:
        """The longest conversion window (days) of the metrics the query computes (those asked
        for and their inputs: the plan's versions name them all)."""
        from metrics_layer.graph.model import MetricKind

        computed = [self.layer.graph.metrics[name] for name in self.versions]
        return max(
            (
                m.window.amount
                for m in computed
                if m.kind is MetricKind.CONVERSION and m.window is not None
            ),
            default=None,
        )

    def __repr__(self) -> str:
        return f"<Query {', '.join(self.columns)}>\n{self.sql()}"

    def _repr_html_(self) -> str:
        """The columns, the metrics with their descriptions, and the SQL, for notebooks."""
        from metrics_layer.notebook import query_html

        return query_html(self)


def _today(time_zone: str) -> dt.date:
    """Today's date in ``time_zone`` (an IANA name the project checked)."""
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(time_zone)).date()
