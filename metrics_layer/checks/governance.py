"""Governance over one project: the same KPI twice, one word for two KPIs, and the lifecycle.

Each rule reads the whole graph and reports at the place a reviewer must change:

- ``equivalent-metrics``: metrics with one fingerprint (``graph/fingerprint.py``), the same KPI
  under two names; not a deprecated metric whose ``replaced_by`` names the other (a migration);
- ``equivalent-measures``: measures with one fingerprint, in one source or several;
- ``conflicting-label``: a label or synonym of one metric equal to the name, label or synonym of
  another that computes something else (compared by ``term_key``);
- ``similar-names``: names that differ only in spelling (``similar_names``);
- ``deprecation`` and ``past-sunset``: ``replaced_by`` and ``sunset`` coherent with the status;
- ``certified-uses-draft`` and ``certified-uses-deprecated``: what a certified metric is built
  on, through its inputs and metric-valued filters, at any depth.

Kept earlier versions of a metric (``name@N``) are the same KPI by design and are skipped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from sqlglot import exp

from metrics_layer.checks.codes import code
from metrics_layer.errors import Diagnostic, did_you_mean
from metrics_layer.graph.fingerprint import Fingerprints
from metrics_layer.graph.graph import Graph
from metrics_layer.graph.model import Metric
from metrics_layer.spec.models import MetricStatus

__all__ = ["governance_checks", "similar_names", "term_key", "utc_today"]

Place = tuple[str | None, int | None, int | None]

# Words this short are acronyms or counts (mrr/arr, dau/mau, d1/d7): one edit apart, they
# name different KPIs, so ``similar_names`` compares only longer words by edit distance.
_SHORT_WORD = 4


def utc_today() -> dt.date:
    """Today's date in UTC, the day ``past-sunset`` compares sunset dates with."""
    return dt.datetime.now(dt.UTC).date()


def governance_checks(graph: Graph, *, today: dt.date | None = None) -> list[Diagnostic]:
    """Every governance finding about ``graph``, in file order; ``today`` (default: today in
    UTC) decides which sunset dates have passed."""
    metrics = list(graph.current.values())
    prints = graph.fingerprints
    looped = _looped(graph)
    meanings = {m.name: prints.metric(m.name) for m in metrics if m.name not in looped}
    found = [
        *_equivalent_metrics(graph, metrics, meanings),
        *_equivalent_measures(graph, prints),
        *_conflicting_labels(graph, metrics, meanings),
        *_similar_names(graph, metrics, meanings),
        *_deprecation(graph, metrics, today or utc_today()),
        *_certified_inputs(graph, metrics),
    ]
    return sorted(found, key=lambda d: (d.file or "", d.line or 0, d.column or 0))


def _looped(graph: Graph) -> set[str]:
    """Metrics that need themselves through metric-valued filters (``user.loop > 1`` in
    ``loop``), and those built on one: they have no meaning to compare (``check`` reports that
    they cannot be computed)."""
    state: dict[str, bool] = {}  # False: being visited; True: done
    looped: set[str] = set()
    for name in graph.metrics:
        _visit(graph, name, state, looped)
    return looped


def _visit(graph: Graph, name: str, state: dict[str, bool], looped: set[str]) -> bool:
    """Whether metric ``name`` needs itself, or is built on one that does (``_looped``).

    A function of the module, not one inside ``_looped``: a recursive inner function is a
    reference cycle, which would keep the graph until the collector runs."""
    if name in state:
        return not state[name] or name in looped
    state[name] = False
    bad = False
    for used in _uses(graph, graph.metrics[name], pinned=True):
        bad = _visit(graph, used, state, looped) or bad
    state[name] = True
    if bad:
        looped.add(name)
    return bad


def _same(meanings: Mapping[str, str], a: str, b: str) -> bool:
    """Whether metrics ``a`` and ``b`` compute the same thing (both have a fingerprint)."""
    return a in meanings and meanings.get(a) == meanings.get(b)


def _diagnostic(name: str, place: Place, message: str, hint: str) -> Diagnostic:
    file, line, column = place
    return Diagnostic(code(name).level, message, file, line, column, name, hint)


def _metric_place(graph: Graph, name: str, *field: str | int) -> Place:
    """The line of a metric's ``field`` when the files have it, else of its name."""
    if field:
        found = graph.field_places.get(("metric", name, *field))
        if found is not None:
            return found
    return graph.places.get(name, (None, None, None))


def _where(graph: Graph, name: str) -> str:
    file, line, _ = graph.places.get(name, (None, None, None))
    return f"{file}:{line}" if file is not None and line is not None else "<definitions>"


def _quoted(names: Sequence[str]) -> str:
    """``'a'``, ``'a' and 'b'``, ``'a', 'b' and 'c'``.

    >>> _quoted(["a", "b", "c"])
    "'a', 'b' and 'c'"
    """
    parts = [f"'{n}'" for n in names]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _migrates(old: Metric, new: Metric) -> bool:
    """``old`` is deprecated in favour of ``new``: the two may mean the same for a while."""
    return old.status is MetricStatus.DEPRECATED and old.replaced_by == new.name


def _migration(a: Metric, b: Metric) -> bool:
    return _migrates(a, b) or _migrates(b, a)


# --- the same KPI twice ----------------------------------------------------------------------


def _equivalent_metrics(
    graph: Graph, metrics: Sequence[Metric], meanings: Mapping[str, str]
) -> Iterator[Diagnostic]:
    groups: dict[str, list[Metric]] = {}
    for metric in metrics:
        if metric.name in meanings:
            groups.setdefault(meanings[metric.name], []).append(metric)
    for group in groups.values():
        names = {m.name for m in group}
        # A deprecated metric pointing at one of its twins is the migration path, not a twin.
        kept = [
            m
            for m in group
            if not (m.status is MetricStatus.DEPRECATED and m.replaced_by in names - {m.name})
        ]
        if len(kept) < 2:
            continue
        first, later = kept[0], [m.name for m in kept[1:]]
        verb = "computes" if len(later) == 1 else "compute"
        more = "".join(f" ('{n}' at {_where(graph, n)})" for n in later[1:])
        yield _diagnostic(
            "equivalent-metrics",
            _metric_place(graph, later[0]),
            f"metric{'s' if len(later) > 1 else ''} {_quoted(later)} {verb} exactly what "
            f"'{first.name}' computes (defined at {_where(graph, first.name)}){more}: the same "
            "KPI under two names",
            f"keep '{first.name}' and remove {_quoted(later)} (add the name to the synonyms of "
            f"'{first.name}'), or set status: deprecated, replaced_by: {first.name} and a "
            "sunset date while dashboards move",
        )


def _equivalent_measures(graph: Graph, prints: Fingerprints) -> Iterator[Diagnostic]:
    groups: dict[str, list[str]] = {}
    for source in graph.sources.values():
        owner = graph.metrics.get(source.name)
        if owner is not None and owner.kind.entity_level:
            continue  # rows derived for a conversion, retention or churn metric
        for measure in source.measures.values():
            groups.setdefault(prints.measure(measure.ref), []).append(measure.ref)
    for refs in groups.values():
        if len(refs) < 2:
            continue
        first, later = refs[0], refs[1:]
        place = graph.field_places.get(("measure", later[0]), (None, None, None))
        first_file, first_line, _ = graph.field_places.get(("measure", first), (None, None, None))
        at = f" (defined at {first_file}:{first_line})" if first_file is not None else ""
        yield _diagnostic(
            "equivalent-measures",
            place,
            f"measure{'s' if len(later) > 1 else ''} {_quoted(later)} "
            f"{'computes' if len(later) == 1 else 'compute'} exactly what '{first}' "
            f"computes{at}: the same aggregation of the same rows",
            f"keep '{first}': point the metrics that read {_quoted(later)} at it and remove "
            f"{'it' if len(later) == 1 else 'them'}",
        )


# --- one word for two KPIs -------------------------------------------------------------------


def term_key(text: str) -> str:
    """A name, label or synonym as people search for it: case, spaces, underscores and
    hyphens do not count.

    >>> term_key("Active  users") == term_key("active_users") == term_key("ACTIVE-USERS")
    True
    >>> term_key("Revenue (net)")
    'revenue(net)'
    """
    return re.sub(r"[\s_\-]+", "", text).casefold()


@dataclass(frozen=True)
class _Term:
    metric: Metric
    kind: str  # "name", "label" or "synonym"
    text: str
    index: int = 0

    @property
    def shown(self) -> str:
        return "the name" if self.kind == "name" else f"the {self.kind} '{self.text}'"

    def place(self, graph: Graph) -> Place:
        if self.kind == "label":
            return _metric_place(graph, self.metric.name, "label")
        if self.kind == "synonym":
            return _metric_place(graph, self.metric.name, "synonyms", self.index)
        return _metric_place(graph, self.metric.name)


def _terms(metric: Metric) -> Iterator[_Term]:
    yield _Term(metric, "name", metric.name)
    # A label left to its default is the name again: two names alike are ``similar-names``.
    if term_key(metric.label) != term_key(metric.name):
        yield _Term(metric, "label", metric.label)
    for i, synonym in enumerate(metric.synonyms):
        yield _Term(metric, "synonym", synonym, i)


def _conflicting_labels(
    graph: Graph, metrics: Sequence[Metric], meanings: Mapping[str, str]
) -> Iterator[Diagnostic]:
    holders: dict[str, list[_Term]] = {}
    reported: set[tuple[str, str]] = set()
    for metric in metrics:
        for term in _terms(metric):
            key = term_key(term.text)
            if not key:
                continue  # a blank label or synonym names nothing
            for other in holders.get(key, []):
                pair = (other.metric.name, metric.name)
                if other.metric is metric or pair in reported:
                    continue
                if term.kind == "name" and other.kind == "name":
                    continue
                if _same(meanings, metric.name, other.metric.name):
                    continue  # the same KPI: reported once, as equivalent-metrics
                reported.add(pair)
                yield _conflict(graph, first=other, second=term)
            holders.setdefault(key, []).append(term)


def _conflict(graph: Graph, first: _Term, second: _Term) -> Diagnostic:
    # Point at the shared label or synonym (a name is not what to change), the later one first.
    here, there = (first, second) if second.kind == "name" else (second, first)
    return _diagnostic(
        "conflicting-label",
        here.place(graph),
        f"{here.shown} of metric '{here.metric.name}' is {there.shown} of metric "
        f"'{there.metric.name}' (defined at {_where(graph, there.metric.name)}), which computes "
        "something else",
        f"give '{here.metric.name}' a {here.kind if here.kind != 'name' else 'label'} of its "
        f"own; if both should be one KPI, make their definitions equal and deprecate one with "
        "replaced_by",
    )


def similar_names(a: str, b: str) -> bool:
    """Whether two metric names differ only in spelling: equal once underscores and one
    trailing 's' are dropped, or one word apart by one edit (a letter added, dropped, changed
    or two swapped) where that word has more than 4 letters and no digit changed. Acronyms,
    counts and periods (``mrr``/``arr``, ``d1``/``d7``) are different KPIs.

    >>> similar_names("active_users", "active_user"), similar_names("activeusers", "active_users")
    (True, True)
    >>> similar_names("recieved_orders", "received_orders")
    True
    >>> similar_names("mrr_growth", "arr_growth"), similar_names("d1_retention", "d7_retention")
    (False, False)
    >>> similar_names("new_users", "new_user_rate"), similar_names("cost_per_lead", "cost_per_head")
    (False, False)
    """
    if a == b:
        return False
    if _squashed(a) == _squashed(b):
        return True
    words_a, words_b = a.split("_"), b.split("_")
    if len(words_a) != len(words_b):
        return False
    differing = [(x, y) for x, y in zip(words_a, words_b, strict=True) if x != y]
    if len(differing) != 1:
        return False
    x, y = differing[0]
    if min(len(x), len(y)) <= _SHORT_WORD:
        return False
    return _one_edit(x, y) and not any(c.isdigit() for c in set(x) ^ set(y))


def _squashed(name: str) -> str:
    """>>> _squashed("active_users"), _squashed("activeuser")
    ('activeuser', 'activeuser')
    """
    return name.replace("_", "").removesuffix("s")


def _one_edit(x: str, y: str) -> bool:
    """One letter added, dropped or changed, or two neighbours swapped.

    >>> _one_edit("recieved", "received"), _one_edit("activaton", "activation")
    (True, True)
    >>> _one_edit("signups", "signins")
    False
    """
    if abs(len(x) - len(y)) > 1:
        return False
    if len(x) == len(y):
        diff = [i for i in range(len(x)) if x[i] != y[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and x[diff[0]] == y[diff[1]]
            and (x[diff[1]] == y[diff[0]])
        )
    short, long = sorted((x, y), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _similar_names(
    graph: Graph, metrics: Sequence[Metric], meanings: Mapping[str, str]
) -> Iterator[Diagnostic]:
    # Candidates share a squashed name, or every word but one: no pair of a large project is
    # compared that could not match. Each metric is reported once, against the first one
    # it is like. Buckets are kept by the hash of each key, not the key (a tuple of words):
    # 10,000 names made 19 MiB of keys. Keys that share a hash only add candidates, each still
    # tested by ``similar_names``; a similar pair always shares a key: the findings are the same.
    buckets: dict[int, list[Metric]] = {}
    order = {metric.name: i for i, metric in enumerate(metrics)}
    for metric in metrics:
        words = metric.name.split("_")
        keys = [hash(("squashed", _squashed(metric.name)))]
        keys += [hash((len(words), i, *words[:i], *words[i + 1 :])) for i in range(len(words))]
        alike = [
            other
            for key in keys
            for other in buckets.get(key, [])
            if similar_names(other.name, metric.name)
            and not _migration(other, metric)
            # the same computation is reported as equivalent-metrics
            and not _same(meanings, other.name, metric.name)
        ]
        for key in keys:
            buckets.setdefault(key, []).append(metric)
        if not alike:
            continue
        other = min(alike, key=lambda m: order[m.name])
        yield _diagnostic(
            "similar-names",
            _metric_place(graph, metric.name),
            f"metric '{metric.name}' differs from '{other.name}' (defined at "
            f"{_where(graph, other.name)}) only in spelling, but the two compute different "
            "things",
            f"rename one of them so that the difference shows; if they are one KPI, keep "
            f"'{other.name}' and deprecate '{metric.name}' with replaced_by: {other.name}",
        )


# --- the lifecycle ---------------------------------------------------------------------------


def _deprecation(graph: Graph, metrics: Sequence[Metric], today: dt.date) -> Iterator[Diagnostic]:
    for metric in metrics:
        name = metric.name
        if metric.status is not MetricStatus.DEPRECATED:
            for field in ("replaced_by", "sunset"):
                if getattr(metric, field) is not None:
                    yield _diagnostic(
                        "deprecation",
                        _metric_place(graph, name, field),
                        f"metric '{name}' has '{field}' but is {metric.status.value}, not "
                        "deprecated: dashboards are not told to move",
                        f"set status: deprecated on '{name}', or remove '{field}'",
                    )
            continue
        missing = [f for f in ("replaced_by", "sunset") if getattr(metric, f) is None]
        if missing:
            yield _diagnostic(
                "deprecation",
                _metric_place(graph, name, "status"),
                f"deprecated metric '{name}' has no {' and no '.join(missing)}: its users "
                "cannot tell what to use instead, or until when it stays",
                f"add {' and '.join(_FIELD_EXAMPLES[f] for f in missing)} to '{name}'",
            )
        if metric.replaced_by is not None:
            yield from _replacement(graph, metric, metric.replaced_by)
        if metric.sunset is not None and metric.sunset < today:
            days = (today - metric.sunset).days
            instead = f"'{metric.replaced_by}'" if metric.replaced_by else "its replacement"
            yield _diagnostic(
                "past-sunset",
                _metric_place(graph, name, "sunset"),
                f"deprecated metric '{name}' is still defined {days} day(s) after its sunset "
                f"date {metric.sunset.isoformat()}",
                f"move what still reads '{name}' to {instead} and remove '{name}', or set a "
                "later sunset date",
            )


_FIELD_EXAMPLES = {"replaced_by": "'replaced_by: <metric>'", "sunset": "'sunset: YYYY-MM-DD'"}


def _replacement(graph: Graph, metric: Metric, target: str) -> Iterator[Diagnostic]:
    if target == metric.name:
        yield _diagnostic(
            "deprecation",
            _metric_place(graph, metric.name, "replaced_by"),
            f"deprecated metric '{metric.name}' is replaced by itself",
            "name the metric its users should move to in 'replaced_by'",
        )
        return
    successor = graph.current.get(target)
    if successor is None:
        names = [n for n in graph.current if n != metric.name]
        yield _diagnostic(
            "deprecation",
            _metric_place(graph, metric.name, "replaced_by"),
            f"'replaced_by: {target}' of metric '{metric.name}' names no metric."
            f"{did_you_mean(target, names)}",
            "name an existing metric in 'replaced_by'",
        )
        return
    if successor.status is MetricStatus.DEPRECATED:
        chain, last = [metric.name, target], successor
        while last.status is MetricStatus.DEPRECATED and last.replaced_by in graph.metrics:
            if last.replaced_by in chain:
                break
            chain.append(last.replaced_by)
            last = graph.metrics[last.replaced_by]
        fix = (
            f"set 'replaced_by: {last.name}' (the end of the chain) on '{metric.name}'"
            if last.status is not MetricStatus.DEPRECATED
            else f"name a metric that is not deprecated in 'replaced_by' of '{metric.name}'"
        )
        yield _diagnostic(
            "deprecation",
            _metric_place(graph, metric.name, "replaced_by"),
            f"deprecated metric '{metric.name}' is replaced by '{target}', which is deprecated "
            f"too ({' -> '.join(chain)}): its users would have to move twice",
            fix,
        )


def _certified_inputs(graph: Graph, metrics: Sequence[Metric]) -> Iterator[Diagnostic]:
    for metric in metrics:
        if metric.status is not MetricStatus.CERTIFIED:
            continue
        for chain in _uncertified_uses(graph, metric):
            used = graph.metrics[chain[-1]]
            draft = used.status is MetricStatus.DRAFT
            how = "draft" if draft else "deprecated"
            via = "".join(f"'{n}', which uses " for n in chain[1:-1]) + f"{how} '{used.name}'"
            if draft:
                hint = (
                    f"certify '{used.name}' (status: certified, with an owner and a "
                    f"description) or set '{metric.name}' back to draft"
                )
            elif used.replaced_by is not None:
                hint = f"build on '{used.replaced_by}' instead of '{used.name}'"
            else:
                hint = f"build '{metric.name}' on a certified metric instead of '{used.name}'"
            yield _diagnostic(
                "certified-uses-draft" if draft else "certified-uses-deprecated",
                _metric_place(graph, metric.name, "status"),
                f"certified '{metric.name}' uses {via}",
                hint,
            )


def _uncertified_uses(graph: Graph, metric: Metric) -> Iterator[list[str]]:
    """The shortest chain from ``metric`` to each draft or deprecated metric it is built on,
    through certified ones (a draft or deprecated one in between is reported, not crossed)."""
    seen = {metric.name}
    frontier = [[metric.name]]
    while frontier:
        following: list[list[str]] = []
        for chain in frontier:
            for used in _uses(graph, graph.metrics[chain[-1]]):
                if used in seen:
                    continue
                seen.add(used)
                if graph.metrics[used].status is MetricStatus.CERTIFIED:
                    following.append([*chain, used])
                else:
                    yield [*chain, used]
        frontier = following


def _uses(graph: Graph, metric: Metric, *, pinned: bool = False) -> list[str]:
    """The metrics ``metric`` reads: its inputs, and those its filter uses per entity
    (``user.lifetime_revenue > 100``), in the order written; kept versions (``name@N``) only
    when ``pinned``."""
    used = [item.name for item in metric.inputs if item.measure is None]
    if metric.filter is not None:
        for column in metric.filter.find_all(exp.Column):
            parts = [part.name for part in column.parts]
            if (
                len(parts) == 2
                and (parts[0] in graph.primary or parts[0] in graph.key_only)
                and parts[1] in graph.metrics
                and not graph.has_dimension(parts[0], parts[1])
            ):
                used.append(parts[1])
    return [
        name for name in dict.fromkeys(used) if name in (graph.metrics if pinned else graph.current)
    ]
