"""The CI gate over versions: the definitions compared with ``metrics.lock`` and, when asked,
with a git revision (``--base``).

Both comparisons are ``changes.compare``; when both find the same problem with the same metric,
the base's finding is kept (it can say what changed, the lock knows only a hash).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from metrics_layer.checks.base import BaseUnreadable, read_base
from metrics_layer.checks.changes import Against, Finding, Snapshot, compare, snapshot_of
from metrics_layer.checks.codes import code
from metrics_layer.checks.lockfile import LOCK_FILE, Lock, read_lock
from metrics_layer.errors import Diagnostic, Level
from metrics_layer.graph import fingerprint
from metrics_layer.graph.fingerprint import Fingerprints
from metrics_layer.graph.graph import Graph

__all__ = ["Gate", "gate"]

# Problems both comparisons can find; reported once, from the base.
_SHARED = {"silent-change", "version-decreased", "removed-without-deprecation", "changelog"}


@dataclass(frozen=True)
class Gate:
    """What the gate found, and what it compared (for ``metrics-layer lock``)."""

    diagnostics: list[Diagnostic]
    current: Snapshot
    lock: Lock | None


def gate(root: Path, graph: Graph, base: str | None = None, location: Path | None = None) -> Gate:
    """Compare ``graph`` (built without a target) with the lock in ``root`` and with ``base``
    (the project at ``location``, a folder or one file, default ``root``, at that revision)."""
    prints = graph.fingerprints
    current = snapshot_of(graph, prints, "in the definitions")
    lock_path = root / LOCK_FILE
    lock, found = read_lock(lock_path)
    lock_findings: list[Finding] = []
    if lock is None and not found:
        found.append(
            Diagnostic(
                code("lock-missing").level,
                f"the project has no {LOCK_FILE}, so a changed metric cannot be told from an "
                "unchanged one",
                str(lock_path),
                code="lock-missing",
                hint=f"run `metrics-layer lock` and commit {LOCK_FILE} with the definitions",
            )
        )
    elif lock is not None and lock.format != fingerprint.FORMAT:
        found.append(
            Diagnostic(
                code("lock-outdated").level,
                f"{LOCK_FILE} was written with fingerprint format {lock.format}; this release "
                f"of metrics_layer computes format {fingerprint.FORMAT}",
                lock.file,
                code="lock-outdated",
                hint=f"run `metrics-layer lock` and commit {LOCK_FILE}"
                + (" (--base still compares with the base revision)" if base is None else ""),
            )
        )
    elif lock is not None:
        lock_findings = compare(lock.snapshot, current, Against.LOCK)
    base_findings: list[Finding] = []
    if base is not None:
        base_findings, notes = _against_base(root, location or root, prints, current, base)
        found.extend(notes)
    shared = {(f.metric, f.diagnostic.code) for f in base_findings}
    found.extend(f.diagnostic for f in base_findings)
    found.extend(
        f.diagnostic
        for f in lock_findings
        if f.diagnostic.code not in _SHARED or (f.metric, f.diagnostic.code) not in shared
    )
    return Gate(found, current, lock)


def _against_base(
    root: Path, location: Path, prints: Fingerprints, current: Snapshot, ref: str
) -> tuple[list[Finding], list[Diagnostic]]:
    from metrics_layer.checks.explain import explainer
    from metrics_layer.graph.build import build_graph
    from metrics_layer.spec.project import read_project_files

    try:
        files = read_base(location, ref)
    except BaseUnreadable as exc:
        return [], [replace(exc.diagnostic, file=exc.diagnostic.file or str(location))]
    held = read_project_files(files.files, root)
    problems = [*files.problems, *held.diagnostics]
    old_graph, built = build_graph(held)
    problems += [p for p in built if p.level is Level.ERROR]
    notes = []
    if problems:
        first = problems[0]
        notes.append(
            Diagnostic(
                Level.NOTE,
                f"the definitions at --base {ref} have {len(problems)} error(s) of their own "
                f"(first: {first.where}: {first.message}); compared with what built of them",
                str(root),
                code="base",
                hint="nothing to fix in this change for that",
            )
        )
    old_prints = old_graph.fingerprints
    old = snapshot_of(old_graph, old_prints, f"at --base {ref}")
    return compare(old, current, Against.BASE, explainer(old_prints, prints)), notes
