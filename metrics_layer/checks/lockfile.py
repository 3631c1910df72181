"""``metrics.lock``: the version and fingerprint of every metric, committed with the definitions.

The lock lives in the project folder. It is YAML with one line per metric, sorted by name, so a
pull request's diff shows which metrics changed::

    # metrics.lock: the version and fingerprint of every metric, written by `metrics-layer lock`.
    # Commit it with the definitions; `metrics-layer check` fails when a metric's meaning changes
    # without a version bump.
    format: 2
    metrics:
      active_users: {version: 1, fingerprint: 1d9f7e1998be0656, status: certified}

``format`` is the fingerprint format (``graph/fingerprint.py`` ``FORMAT``) the fingerprints were
computed with; ``previous`` keeps the fingerprints of earlier versions (``lock`` moves the old
version's there when a version goes up). The lock is read with the package's bounded YAML reader;
anything malformed is a ``lock-invalid`` diagnostic naming the line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metrics_layer.checks.changes import Entry, Snapshot
from metrics_layer.checks.codes import code
from metrics_layer.errors import Diagnostic
from metrics_layer.graph import fingerprint
from metrics_layer.spec.files import TooBig, Unreadable, read_bytes
from metrics_layer.spec.limits import MAX_FILE_BYTES, quote
from metrics_layer.spec.models import MetricStatus
from metrics_layer.spec.yaml_source import Path as YamlPath
from metrics_layer.spec.yaml_source import YamlDocument, read_yaml

__all__ = [
    "LOCK_FILE",
    "Lock",
    "lock_changes",
    "read_lock",
    "render_lock",
    "updated_lock",
    "write_lock",
]

LOCK_FILE = "metrics.lock"
HEADER = (
    "# metrics.lock: the version and fingerprint of every metric, written by "
    "`metrics-layer lock`.\n"
    "# Commit it with the definitions; `metrics-layer check` fails when a metric's meaning "
    "changes\n"
    "# without a version bump.\n"
)
_FINGERPRINT = re.compile(r"[0-9a-f]{16}")
_ENTRY_KEYS = {"version", "fingerprint", "status", "previous"}
_STATUSES = {status.value for status in MetricStatus}
INVALID_FIX = "fix the line, or delete metrics.lock and run `metrics-layer lock` to write it again"


@dataclass(frozen=True)
class Lock:
    """A lockfile as read: its snapshot and the fingerprint format it was written with."""

    snapshot: Snapshot
    format: int
    file: str


def read_lock(path: Path) -> tuple[Lock | None, list[Diagnostic]]:
    """The lock at ``path``; ``(None, [])`` when there is none, ``(None, [lock-invalid...])``
    when it cannot be read. A symbolic link is not followed: the lock is a plain file of the
    project folder (a link from a pull request could lead anywhere on the CI machine)."""
    file = str(path)
    if path.is_symlink():
        return None, [_invalid("it is a symbolic link; the lock must be a plain file", file)]
    if not path.exists():
        return None, []
    try:
        data = read_bytes(path, MAX_FILE_BYTES)
        text = data.decode("utf-8")
    except (Unreadable, TooBig) as exc:
        return None, [_invalid(str(exc), file)]
    except UnicodeDecodeError:
        return None, [_invalid("metrics.lock is not UTF-8 text", file)]
    return parse_lock(text, file)


def parse_lock(text: str, file: str) -> tuple[Lock | None, list[Diagnostic]]:
    """A lock from its text (``file`` names it in diagnostics).

    >>> lock, problems = parse_lock("format: 1\\nmetrics:\\n  a: {version: 2, "
    ...     "fingerprint: 00000000000000ff, status: draft}\\n", "metrics.lock")
    >>> lock.snapshot.entries["a"].version, lock.snapshot.entries["a"].place, problems
    (2, ('metrics.lock', 3, 3), [])
    >>> parse_lock("format: 1\\nmetrics:\\n  a: {version: two}\\n", "m.lock")[1][0].line
    3
    """
    doc = read_yaml(text, file)
    if doc.diagnostics:
        return None, [_invalid(d.message, file, d.line, d.column) for d in doc.diagnostics]
    reader = _Reader(doc)
    lock = reader.lock()
    if reader.problems:
        return None, reader.problems
    return lock, []


def _invalid(
    message: str, file: str, line: int | None = None, column: int | None = None
) -> Diagnostic:
    return Diagnostic(
        code("lock-invalid").level,
        f"metrics.lock cannot be read: {message}",
        file,
        line,
        column,
        "lock-invalid",
        INVALID_FIX,
    )


@dataclass
class _Reader:
    doc: YamlDocument
    problems: list[Diagnostic] = field(default_factory=list)

    def problem(self, message: str, path: YamlPath) -> None:
        line, column = self.doc.position(path) or (None, None)
        self.problems.append(_invalid(message, self.doc.file, line, column))

    def lock(self) -> Lock | None:
        data = self.doc.data
        if not isinstance(data, dict):
            self.problem("expected a mapping with 'format' and 'metrics'", ())
            return None
        for key in sorted(set(data) - {"format", "metrics"}):
            self.problem(f"unknown key {quote(key)}; a lock has only format and metrics", (key,))
        number = data.get("format")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            self.problem(
                f"format must be a whole number such as 1, not {quote(number)}", ("format",)
            )
            return None
        if number > fingerprint.FORMAT:
            self.problem(
                f"format {number} is newer than this release of metrics_layer reads "
                f"(format {fingerprint.FORMAT}); upgrade metrics_layer",
                ("format",),
            )
            return None
        metrics = data.get("metrics")
        if metrics is None:
            metrics = {}
        if not isinstance(metrics, dict):
            self.problem("metrics must be a mapping of metric name to entry", ("metrics",))
            return None
        entries = {}
        for name, value in metrics.items():
            entry = self.entry(name, value)
            if entry is not None:
                entries[name] = entry
        return Lock(Snapshot(entries, f"in {LOCK_FILE}"), number, self.doc.file)

    def entry(self, name: str, value: Any) -> Entry | None:
        path: YamlPath = ("metrics", name)
        if not isinstance(value, dict):
            self.problem(
                f"the entry of {quote(name)} must be a mapping such as "
                "{version: 1, fingerprint: 0123456789abcdef, status: draft}",
                path,
            )
            return None
        for key in sorted(set(value) - _ENTRY_KEYS):
            self.problem(f"unknown key {quote(key)} in the entry of {quote(name)}", (*path, key))
        version: Any = value.get("version")
        if not _whole(version):
            self.problem(
                f"version must be a whole number from 1, not {quote(version)}", (*path, "version")
            )
            return None
        printed = value.get("fingerprint")
        if not _is_fingerprint(printed):
            self.problem(
                f"fingerprint must be 16 hexadecimal digits, not {quote(printed)}",
                (*path, "fingerprint"),
            )
            return None
        status = value.get("status")
        if status not in _STATUSES:
            self.problem(
                f"status must be one of {', '.join(sorted(_STATUSES))}, not {quote(status)}",
                (*path, "status"),
            )
            return None
        previous = self.previous(value.get("previous", {}), (*path, "previous"))
        line, column = self.doc.key_positions.get(path, (None, None))
        return Entry(
            version=version,
            fingerprint=str(printed),
            status=status,
            previous=previous,
            place=(self.doc.file, line, column),
        )

    def previous(self, value: Any, path: YamlPath) -> dict[int, str]:
        if not isinstance(value, dict):
            self.problem(
                "previous must map versions to fingerprints, e.g. {1: 0123456789abcdef}", path
            )
            return {}
        found = {}
        for key, printed in value.items():
            if not key.isdigit() or int(key) < 1:
                self.problem(f"previous: {quote(key)} is not a version number", (*path, key))
            elif not _is_fingerprint(printed):
                self.problem(
                    f"previous: the fingerprint of version {key} must be 16 hexadecimal digits, "
                    f"not {quote(printed)}",
                    (*path, key),
                )
            else:
                found[int(key)] = printed
        return found


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_fingerprint(value: object) -> bool:
    return isinstance(value, str) and _FINGERPRINT.fullmatch(value) is not None


def updated_lock(old: Snapshot | None, current: Snapshot) -> Snapshot:
    """The lock to write for ``current``: each metric's version, fingerprint and status, and the
    fingerprints of its earlier versions (those kept in ``old``, the old version's added when
    the version went up)."""
    entries = {}
    for name, entry in sorted(current.entries.items()):
        previous = dict(entry.previous)
        before = old.entries.get(name) if old is not None else None
        if before is not None:
            for version, printed in before.previous.items():
                previous.setdefault(version, printed)
            if before.version < entry.version:
                previous.setdefault(before.version, before.fingerprint)
        previous = {v: p for v, p in previous.items() if v < entry.version}
        entries[name] = Entry(entry.version, entry.fingerprint, entry.status, previous=previous)
    return Snapshot(entries, f"in {LOCK_FILE}")


def _scalar(printed: str) -> str:
    """A fingerprint as YAML: quoted when the core schema would read it as a number.

    >>> _scalar("1d9f7e1998be0656"), _scalar("1234567890123456"), _scalar("12e4567890123456")
    ('1d9f7e1998be0656', "'1234567890123456'", "'12e4567890123456'")
    """
    return f"'{printed}'" if re.fullmatch(r"[0-9]+(e[0-9]+)?", printed) else printed


def render_lock(snapshot: Snapshot) -> str:
    """The text of ``metrics.lock`` for ``snapshot``: a header, then one line per metric.

    >>> text = render_lock(Snapshot({"wau": Entry(2, "1918b14d1e5aab7c", "draft",
    ...     previous={1: "0a1b2c3d4e5f6789"})}, LOCK_FILE))
    >>> text.splitlines()[3:5]
    ['format: 2', 'metrics:']
    >>> print(text.splitlines()[5][:70])
      wau: {version: 2, fingerprint: 1918b14d1e5aab7c, status: draft, prev
    """
    lines = [
        HEADER + f"format: {fingerprint.FORMAT}",
        "metrics:" if snapshot.entries else "metrics: {}",
    ]
    for name, entry in sorted(snapshot.entries.items()):
        parts = [
            f"version: {entry.version}",
            f"fingerprint: {_scalar(entry.fingerprint)}",
            f"status: {entry.status}",
        ]
        if entry.previous:
            kept = ", ".join(f"{v}: {_scalar(p)}" for v, p in sorted(entry.previous.items()))
            parts.append(f"previous: {{{kept}}}")
        lines.append(f"  {name}: {{{', '.join(parts)}}}")
    return "\n".join(lines) + "\n"


def write_lock(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a new file renamed over it: a symbolic link at
    ``path`` is replaced, never written through, and a reader never sees half a lock."""
    if path.is_file() and not path.is_symlink() and path.read_text(encoding="utf-8") == text:
        return
    fresh = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fresh.write_text(text, encoding="utf-8")
        os.replace(fresh, path)
    finally:
        fresh.unlink(missing_ok=True)


def lock_changes(old: Snapshot | None, new: Snapshot) -> list[str]:
    """What writing ``new`` over ``old`` changes, one line per metric (added, bumped, removed,
    re-fingerprinted after a format change, status changed).

    >>> a = Snapshot({"x": Entry(1, "0" * 16, "draft"), "y": Entry(1, "1" * 16, "draft")}, "")
    >>> b = Snapshot({"x": Entry(2, "2" * 16, "draft"), "z": Entry(1, "3" * 16, "draft")}, "")
    >>> lock_changes(a, b)
    ['bumped x: version 1 -> 2', 'added z: version 1', 'removed y']
    """
    before: Mapping[str, Entry] = old.entries if old is not None else {}
    lines = []
    for name, entry in sorted(new.entries.items()):
        was = before.get(name)
        if was is None:
            lines.append(f"added {name}: version {entry.version}")
        elif was.version != entry.version:
            lines.append(f"bumped {name}: version {was.version} -> {entry.version}")
        elif was.fingerprint != entry.fingerprint:
            lines.append(f"fingerprint of {name} recomputed (version {entry.version})")
        elif was.status != entry.status:
            lines.append(f"{name}: {was.status} -> {entry.status}")
    lines += [f"removed {name}" for name in sorted(set(before) - set(new.entries))]
    return lines
