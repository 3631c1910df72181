"""Which metrics of a project with errors are broken, and why: what a partial load serves around.

A metric is broken when the graph left it out (its own error, or something it is built on
failed), when an error is placed inside its definition (a filter that cannot plan, a
governance error), or when it is built on a broken metric. Each broken metric gets the errors
that explain it: those placed in its own definition; else those of the broken metrics it is
built on; else the project's errors placed in no metric (a source that failed, a metric whose
fields could not be read), since one of those is what it stands on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

from metrics_layer.errors import Diagnostic, Level
from metrics_layer.graph.graph import Graph
from metrics_layer.spec.models import MetricSpec
from metrics_layer.spec.project import Located

__all__ = ["broken_metrics"]

# The most diagnostics listed for one broken metric (a project-wide failure would otherwise
# repeat every error under every metric).
MOST = 10

_WORD = re.compile(r"[a-z][a-z0-9_]*")


def broken_metrics(
    graph: Graph,
    located: Iterable[Located[MetricSpec]],
    diagnostics: Sequence[Diagnostic],
) -> Mapping[str, tuple[Diagnostic, ...]]:
    """Each broken metric of ``graph`` (by its current name) and the errors that explain it,
    sorted by name; ``located`` are the metrics as read, ``diagnostics`` every finding."""
    located = list(located)
    spans = _spans(located)
    own: dict[str, list[Diagnostic]] = {}
    unplaced: list[Diagnostic] = []
    for diagnostic in diagnostics:
        if diagnostic.level is not Level.ERROR:
            continue
        name = _metric_at(spans, diagnostic)
        if name is None:
            unplaced.append(diagnostic)
        else:
            own.setdefault(name, []).append(diagnostic)
    broken = set(graph.broken.metrics) | set(own)
    built_on: dict[str, set[str]] = {}
    changed = True
    while changed:  # a metric built on a broken one is broken too, however deep
        changed = False
        for name, metric in graph.metrics.items():
            base = metric.pinned_of or name
            inputs = {i.name.partition("@")[0] for i in metric.inputs if i.measure is None}
            failed = inputs & broken
            if failed and base not in broken:
                broken.add(base)
                changed = True
            if failed:
                built_on.setdefault(base, set()).update(failed - {base})
    for spot in located:  # left out by the graph: the broken metrics its definition names
        name = spot.spec.name
        if name in broken and name not in graph.metrics:
            words = set(_WORD.findall(str(spot.spec.model_dump(exclude_none=True))))
            built_on.setdefault(name, set()).update((words & broken) - {name})
    found: dict[str, tuple[Diagnostic, ...]] = {}
    for name in sorted(broken):
        reasons = own.get(name) or [
            d for used in sorted(built_on.get(name, ())) for d in own.get(used, ())
        ]
        found[name] = tuple(_unique(reasons or unplaced)[:MOST])
    return MappingProxyType(found)


# For each file, the lines each metric's definition spans: (first line, last line, name).
_Spans = dict[str, list[tuple[int, int, str]]]


def _spans(located: Iterable[Located[MetricSpec]]) -> _Spans:
    """The lines of each metric's definition, from the positions its file recorded."""
    spans: _Spans = {}
    by_doc: dict[int, list[Located[MetricSpec]]] = {}
    docs = {}
    for spot in located:
        by_doc.setdefault(id(spot.doc), []).append(spot)
        docs[id(spot.doc)] = spot.doc
    for key, spots in by_doc.items():
        doc = docs[key]
        names = {tuple(spot.path): spot.spec.name for spot in spots}
        depths = {len(path) for path in names}
        lines: dict[tuple[str | int, ...], list[int]] = {}
        for table in (doc.positions, doc.key_positions):
            for path, (line, _column) in table.items():
                for depth in depths:
                    head = tuple(path[:depth])
                    if head in names:
                        lines.setdefault(head, []).append(line)
        spans[doc.file] = sorted(
            (min(found), max(found), names[head]) for head, found in lines.items()
        )
    return spans


def _metric_at(spans: _Spans, diagnostic: Diagnostic) -> str | None:
    """The metric whose definition holds ``diagnostic``'s line, if any."""
    if diagnostic.file is None or diagnostic.line is None:
        return None
    for first, last, name in spans.get(diagnostic.file, ()):
        if first <= diagnostic.line <= last:
            return name
    return None


def _unique(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(diagnostics))
