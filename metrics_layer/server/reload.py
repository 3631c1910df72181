"""The served layer, and how it changes without a restart.

``Definitions`` holds the last layer that loaded (partially: healthy metrics are served, the
broken ones listed) and the outcome of the last attempt. Cached results are not cleared on a
reload: their keys hold the fingerprints and SQL of what they computed, so new definitions
never find old results (docs/caching.md: invalidation). A reload that fails keeps the last
good layer and records why, for ``/readyz``. ``watch`` looks at the modification times and
sizes of the project's files every few seconds (no extra dependency) and reloads when they
change.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from metrics_layer.api import SemanticLayer, load
from metrics_layer.errors import DefinitionError, Diagnostic, MetricsLayerError, printable
from metrics_layer.server.config import ServerConfig

__all__ = ["Attempt", "Definitions"]

# What a project's files are, for the watch: each file's path, modification time and size.
_Stamp = frozenset[tuple[str, int, int]]


@dataclass(frozen=True)
class Attempt:
    """One load of the definitions: when, whether it gave a layer, and why not."""

    at: dt.datetime
    ok: bool
    errors: tuple[Diagnostic, ...] = ()
    message: str | None = None


class Definitions:
    """The served layer; ``reload`` replaces it only when the new definitions load."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._layer: SemanticLayer | None = None
        self.loaded: Attempt | None = None
        self.last: Attempt | None = None
        self.generation = 0
        self._stamp = _stamp(Path(config.project))
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def layer(self) -> SemanticLayer | None:
        """The last layer that loaded, or None when none has."""
        return self._layer

    def reload(self) -> Attempt:
        """Load the definitions again; on success serve them, otherwise keep the last good
        layer. Never raises for bad definitions: the attempt says what went wrong."""
        with self._lock:
            stamp = _stamp(Path(self.config.project))
            now = dt.datetime.now(dt.UTC)
            try:
                layer = load(
                    self.config.project,
                    connection=self.config.connection,
                    target=self.config.target,
                    allow_outside=self.config.allow_outside,
                    timeout=self.config.limits.timeout,
                    partial=True,
                )
            except DefinitionError as exc:
                errors = tuple(d for d in exc.diagnostics if d.level.value == "error")
                attempt = Attempt(now, False, errors, "the definitions cannot be loaded")
            except MetricsLayerError as exc:
                attempt = Attempt(now, False, (), printable(str(exc))[:1000])
            else:
                self._layer = layer
                self.generation += 1
                attempt = Attempt(now, True)
                self.loaded = attempt
            self._stamp = stamp
            self.last = attempt
            return attempt

    def changed(self) -> bool:
        """Whether the project's files differ from those last loaded."""
        return _stamp(Path(self.config.project)) != self._stamp

    def watch(self, every: float) -> None:
        """Look for changed files every ``every`` seconds in a daemon thread, until ``stop``."""
        if self._watcher is not None:
            return

        def run() -> None:
            while not self._stop.wait(every):
                if self.changed():
                    self.reload()

        self._watcher = threading.Thread(target=run, name="definitions-watch", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None


def _stamp(root: Path) -> _Stamp:
    """Path, modification time (ns) and size of every YAML file under ``root`` (or of
    ``root`` itself when it is a file); unreadable entries are left out."""
    found: set[tuple[str, int, int]] = set()
    if root.is_file():
        paths = [root]
    else:
        paths = []
        for folder, _dirs, files in os.walk(root):
            paths.extend(Path(folder, f) for f in files if f.endswith((".yml", ".yaml")))
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            continue
        found.add((str(path), info.st_mtime_ns, info.st_size))
    return frozenset(found)
