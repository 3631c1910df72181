"""Change detection: what changed between two snapshots of a project's metrics.

A ``Snapshot`` holds, for each metric, its version, fingerprint, status, kind and the
fingerprints of its kept earlier versions. One is built from a graph (the definitions being
checked, or those of the ``--base`` revision) or read from ``metrics.lock``; ``compare(old,
new)`` turns the differences into diagnostics:

- ``silent-change``: the fingerprint changed, the version did not;
- ``changelog``: the version went up with no changelog entry for the new version;
- ``version-decreased``: the version went down;
- ``removed-without-deprecation``: a metric that was not deprecated is gone;
- ``version-drift``: a kept earlier version (``name@N``) no longer computes what it did;
- against the lock, ``lock-outdated``: a correct change that is not locked yet;
- against a base, ``breaking-change`` notes for reviewers: meaning changed with a bump,
  removed, renamed (gone under one name, the same fingerprint under a new one), type changed.

A renamed metric is a removal for whoever queries the old name: when the old name was not
deprecated it is ``removed-without-deprecation`` too (the fix keeps the old name, deprecated,
with ``replaced_by`` the new one); when it was, the rename is only a note.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from metrics_layer.checks.codes import code
from metrics_layer.errors import Diagnostic
from metrics_layer.graph.fingerprint import Fingerprints
from metrics_layer.graph.graph import Graph

__all__ = ["Against", "Entry", "Finding", "Place", "Snapshot", "compare", "snapshot_of"]

Place = tuple[str | None, int | None, int | None]
DEPRECATED = "deprecated"
LOCK_FIX = "run `metrics-layer lock` and commit metrics.lock with the definitions"


class Against(StrEnum):
    """What the definitions are compared with."""

    LOCK = "lock"
    BASE = "base"


@dataclass(frozen=True)
class Entry:
    """One metric in a snapshot."""

    version: int
    fingerprint: str
    status: str
    kind: str | None = None
    label: str | None = None
    previous: Mapping[int, str] = field(default_factory=dict)
    """The fingerprints of earlier versions, by version."""
    changelog: frozenset[int] = frozenset()
    """The versions the changelog has an entry for (known from definitions only)."""
    inputs: tuple[str, ...] = ()
    """The metrics it reads (known from definitions only)."""
    place: Place = (None, None, None)


@dataclass(frozen=True)
class Snapshot:
    """Every metric of one state of a project, by name; ``origin`` says where that state is,
    for messages ("in metrics.lock", "at --base origin/main")."""

    entries: Mapping[str, Entry]
    origin: str


@dataclass(frozen=True)
class Finding:
    """A diagnostic about one metric (so that the lock's and the base's findings about the same
    metric can be told apart from each other)."""

    metric: str
    diagnostic: Diagnostic


def snapshot_of(graph: Graph, prints: Fingerprints, origin: str) -> Snapshot:
    """The snapshot of a built graph; metrics named ``name@N`` (kept earlier versions) are the
    ``previous`` fingerprints of ``name``."""
    kept = prints.kept()
    entries = {}
    for name, metric in graph.current.items():
        entries[name] = Entry(
            version=metric.version,
            fingerprint=prints.metric(name),
            status=metric.status.value,
            kind=metric.kind.value,
            label=metric.label,
            previous=kept.get(name, {}),
            changelog=frozenset(item[0] for item in metric.changelog),
            inputs=tuple(
                dict.fromkeys(
                    item.name
                    for item in metric.inputs
                    if item.measure is None and item.name in graph.metrics
                )
            ),
            place=graph.places.get(name, (metric.file, None, None)),
        )
    return Snapshot(entries, origin)


Explain = Callable[[str, str], str]
"""What changed between metric ``old`` (in the old snapshot) and ``new``, in words."""


def compare(
    old: Snapshot, new: Snapshot, against: Against, explain: Explain | None = None
) -> list[Finding]:
    """Every difference between ``old`` and ``new`` that needs fixing or telling, in the order
    of the new snapshot's metrics, then the removed ones."""
    found: list[Finding] = []
    gone = {name: entry for name, entry in old.entries.items() if name not in new.entries}
    renamed = _renames(gone, new, old)
    for name, entry in new.entries.items():
        before = old.entries.get(name)
        if before is None:
            found.extend(_added(name, entry, old, against, renamed))
            continue
        found.extend(_changed(name, before, entry, old, new, against, explain))
        found.extend(_drift(name, before, entry, old))
    for name, entry in gone.items():
        found.extend(_removed(name, entry, old, against, renamed))
    return found


def _renames(gone: Mapping[str, Entry], new: Snapshot, old: Snapshot) -> dict[str, str]:
    """Old name -> new name, for each metric gone whose fingerprint a new metric now has."""
    added: dict[str, str] = {}
    for name, entry in new.entries.items():
        if name not in old.entries:
            added.setdefault(entry.fingerprint, name)
    return {name: added[e.fingerprint] for name, e in gone.items() if e.fingerprint in added}


def _finding(name: str, rule: str, message: str, place: Place, hint: str) -> Finding:
    file, line, column = place
    return Finding(name, Diagnostic(code(rule).level, message, file, line, column, rule, hint))


def _added(
    name: str, entry: Entry, old: Snapshot, against: Against, renamed: Mapping[str, str]
) -> list[Finding]:
    if against is Against.LOCK:
        return [
            _finding(
                name,
                "lock-outdated",
                f"metric '{name}' is not in metrics.lock yet",
                entry.place,
                LOCK_FIX,
            )
        ]
    sources = [before for before, after in renamed.items() if after == name]
    if not sources:
        return []
    return [
        _finding(
            name,
            "breaking-change",
            f"metric '{name}': renamed from '{sources[0]}' (same fingerprint)",
            entry.place,
            "nothing to fix: listed for reviewers; whoever queries the old name must move "
            f"to '{name}'",
        )
    ]


def _changed(
    name: str,
    before: Entry,
    entry: Entry,
    old: Snapshot,
    new: Snapshot,
    against: Against,
    explain: Explain | None,
) -> list[Finding]:
    where = old.origin
    if entry.version < before.version:
        return [
            _finding(
                name,
                "version-decreased",
                f"metric '{name}' is version {entry.version}, lower than version "
                f"{before.version} {where}",
                entry.place,
                f"versions only go up: set version: {before.version + 1} with a changelog entry "
                f"if the metric changed, else version: {before.version}",
            )
        ]
    meaning_changed = entry.fingerprint != before.fingerprint
    what = ""
    if meaning_changed and explain is not None:
        what = f" ({explain(name, name)})"
    elif meaning_changed:
        what = _through_inputs(entry, old, new)
    if meaning_changed and entry.version == before.version:
        return [
            _finding(
                name,
                "silent-change",
                f"metric '{name}' no longer computes what it computed as version "
                f"{entry.version} {where}{what}; its version was not bumped",
                entry.place,
                f"bump it to version: {entry.version + 1} and add a changelog entry for version "
                f"{entry.version + 1} saying what changed (then run `metrics-layer lock`), or "
                "undo the change",
            )
        ]
    found: list[Finding] = []
    if entry.version > before.version and entry.version not in entry.changelog:
        found.append(
            _finding(
                name,
                "changelog",
                f"metric '{name}' went from version {before.version} to {entry.version} with no "
                f"changelog entry for version {entry.version}",
                entry.place,
                f"add one under its changelog: - {{version: {entry.version}, date: YYYY-MM-DD, "
                'change: "what changed"}',
            )
        )
    if against is Against.LOCK:
        if entry.version != before.version:
            found.append(
                _finding(
                    name,
                    "lock-outdated",
                    f"metric '{name}' is version {entry.version} but metrics.lock records version "
                    f"{before.version}",
                    entry.place,
                    LOCK_FIX,
                )
            )
        elif entry.status != before.status:
            found.append(
                _finding(
                    name,
                    "lock-outdated",
                    f"metric '{name}' is {entry.status} but metrics.lock records it as "
                    f"{before.status}",
                    entry.place,
                    LOCK_FIX,
                )
            )
    elif meaning_changed:
        change = (
            f"type changed: {before.kind} → {entry.kind}"
            if before.kind != entry.kind
            else f"meaning changed{what}"
        )
        found.append(
            _finding(
                name,
                "breaking-change",
                f"metric '{name}': {change}, version {before.version} → {entry.version}",
                entry.place,
                "nothing to fix: listed for reviewers and the metric's users",
            )
        )
    return found


def _through_inputs(entry: Entry, old: Snapshot, new: Snapshot) -> str:
    """Words naming the input metrics whose own fingerprint changed too, if any (a metric's
    fingerprint includes its inputs': changing one changes every metric built on it)."""
    changed = [
        name
        for name in entry.inputs
        if name in old.entries
        and name in new.entries
        and old.entries[name].fingerprint != new.entries[name].fingerprint
    ]
    if not changed:
        return ""
    return f" (through its input metric {', '.join(repr(n) for n in changed)}, which changed)"


def _drift(name: str, before: Entry, entry: Entry, old: Snapshot) -> list[Finding]:
    found = []
    for version, fingerprint in sorted(entry.previous.items()):
        recorded = before.previous.get(version)
        if recorded is None and version == before.version:
            recorded = before.fingerprint
        if recorded is not None and recorded != fingerprint:
            found.append(
                _finding(
                    name,
                    "version-drift",
                    f"kept version '{name}@{version}' no longer computes what version "
                    f"{version} computed {old.origin}",
                    entry.place,
                    "an earlier version must keep its meaning: restore its definition as it "
                    f"was, or stop keeping version {version}",
                )
            )
    return found


def _removed(
    name: str,
    entry: Entry,
    old: Snapshot,
    against: Against,
    renamed: Mapping[str, str],
) -> list[Finding]:
    successor = renamed.get(name)
    if entry.status != DEPRECATED:
        how = f" (renamed to '{successor}')" if successor else ""
        keep = successor or "the metric that replaces it"
        return [
            _finding(
                name,
                "removed-without-deprecation",
                f"{entry.status} metric '{name}' (version {entry.version} {old.origin}) was "
                f"removed{how} without being deprecated first",
                entry.place,
                f"keep '{name}' with status: deprecated, replaced_by: {keep} and a sunset "
                "date in this change; remove it in a later one",
            )
        ]
    if against is Against.LOCK:
        return [
            _finding(
                name,
                "lock-outdated",
                f"deprecated metric '{name}' was removed but is still in metrics.lock",
                entry.place,
                LOCK_FIX,
            )
        ]
    if successor is not None:
        return []  # the note is on the new name
    return [
        _finding(
            name,
            "breaking-change",
            f"deprecated metric '{name}' (version {entry.version}) was removed",
            entry.place,
            "nothing to fix: listed for reviewers; whoever still queries it gets an error",
        )
    ]
