"""Find definitions files below a folder and read their bytes, confined to the project folder.

The project folder is the one the caller named; everything found below it is resolved (symbolic
links followed to their real place) and must stay inside it unless the caller allows reading
outside (``allow_outside``: the project file itself, which comes from a pull request, cannot).
Folders are walked without following links out of the project and without looping on link
cycles; hidden entries (``.git``) are skipped. Only regular files are opened, and never more than
a limit's worth of bytes is read from one, so a FIFO cannot hang the reader and ``/dev/zero``
cannot exhaust memory.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from metrics_layer.errors import Diagnostic, Level
from metrics_layer.spec.limits import MAX_FILES, MAX_WALK_ENTRIES, quote_path, size

__all__ = ["Finder", "Scope", "TooBig", "Unreadable", "read_bytes", "real_path"]

_YAML_SUFFIXES = (".yml", ".yaml")
_OUTSIDE_FIX = (
    "definitions are read only from inside the project folder: move the files into it, or let "
    "the caller allow reading outside (allow_outside=True, or --allow-outside on the command line)"
)


def real_path(path: Path) -> Path:
    """``path`` with every symbolic link resolved; never raises (a link loop stays unresolved,
    a name the system refuses, such as one holding a NUL byte, is only made absolute)."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return Path(os.path.abspath(path))


@dataclass(frozen=True)
class Scope:
    """Where reading is allowed: below ``root`` (a real path), or anywhere when ``anywhere``."""

    root: Path
    anywhere: bool = False

    def allows(self, real: Path) -> bool:
        return self.anywhere or real.is_relative_to(self.root)

    def outside(self, shown: Path, real: Path, what: str) -> Diagnostic:
        """A diagnostic for ``shown`` (a link, or a path as written) leading to ``real``."""
        return Diagnostic(
            Level.ERROR,
            f"{what} {quote_path(shown)} leads to {quote_path(real)}, outside the project folder "
            f"{quote_path(self.root)}",
            str(shown),
            code="project",
            hint=_OUTSIDE_FIX,
        )


@dataclass
class Finder:
    """Collects ``*.yml``/``*.yaml`` files below folders, within ``scope`` and the limits."""

    scope: Scope
    files: dict[Path, Path] = field(default_factory=dict)
    """Real path -> the path it was found under (first one wins, so no file is read twice)."""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    full: bool = False
    _seen: set[Path] = field(default_factory=set)
    _entries: int = 0
    _start: Path = Path()

    def found(self) -> list[Path]:
        return sorted(self.files.values())

    def walk(self, folder: Path) -> None:
        """Add the files below ``folder`` (already checked to be in scope)."""
        self._start = folder
        stack = [folder]
        while stack and not self.full:
            current = stack.pop()
            real = real_path(current)
            if real in self._seen:
                continue
            self._seen.add(real)
            try:
                with os.scandir(current) as entries:
                    for entry in entries:
                        self._entries += 1
                        if self._entries > MAX_WALK_ENTRIES:
                            self._stop(
                                folder,
                                f"more than {MAX_WALK_ENTRIES} files and folders were searched "
                                f"below {quote_path(folder)}",
                                "name the folders that hold the definitions in project.paths",
                            )
                            return
                        if not entry.name.startswith("."):
                            self._entry(current / entry.name, entry, stack)
                        if self.full:
                            return
            except OSError as exc:
                self.diagnostics.append(
                    Diagnostic(
                        Level.ERROR,
                        f"cannot list the folder: {exc.strerror}",
                        str(current),
                        code="project",
                        hint="fix its permissions",
                    )
                )

    def _entry(self, path: Path, entry: os.DirEntry[str], stack: list[Path]) -> None:
        is_yaml = entry.name.endswith(_YAML_SUFFIXES)
        if entry.is_symlink():
            target = real_path(path)
            is_dir = os.path.isdir(target)
            if not is_dir and not is_yaml:
                return
            if not self.scope.allows(target):
                folder = target if is_dir else target.parent
                self.diagnostics.append(self.scope.outside(path, folder, "the symbolic link"))
            elif is_dir:
                stack.append(path)
            else:
                self._add(path, target)
        elif entry.is_dir(follow_symlinks=False):
            stack.append(path)
        elif is_yaml:
            self._add(path, real_path(path))

    def _add(self, path: Path, real: Path) -> None:
        if real in self.files:
            return
        if len(self.files) >= MAX_FILES:
            self._stop(
                self._start,
                f"the project has more than {MAX_FILES} definitions files; none were read",
                "merge small files, or name fewer folders in project.paths",
            )
            return
        self.files[real] = path

    def _stop(self, where: Path, message: str, hint: str) -> None:
        self.full = True
        self.diagnostics.append(
            Diagnostic(Level.ERROR, message, str(where), code="limit", hint=hint)
        )


class Unreadable(Exception):
    """A file that cannot be read: ``message`` says why, ``hint`` what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(f"{message}; {hint}")
        self.message = message
        self.hint = hint


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class TooBig(Unreadable):
    """A file with more bytes than it may have."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than {size(limit)}", "split it into several files")


def _not_regular(mode: int) -> Unreadable:
    kind = next((name for test, name in _KINDS if test(mode)), "not a plain file")
    return Unreadable(
        f"not a regular file ({kind})",
        "definitions must be plain files: remove it, or rename it so that it does not end in "
        ".yml or .yaml",
    )


def read_bytes(file: Path, limit: int) -> bytes:
    """The bytes of ``file`` if it is a regular file of at most ``limit`` bytes.

    Raises ``TooBig`` or ``Unreadable`` otherwise. The file is opened only after ``stat`` says
    it is regular, without blocking, and checked again once open; at most ``limit + 1`` bytes
    are read.
    """
    try:
        info = os.stat(file)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(info.st_mode)
        if info.st_size > limit:
            raise TooBig(limit)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        descriptor = os.open(file, flags)
        try:
            mode = os.fstat(descriptor).st_mode
            if not stat.S_ISREG(mode):
                raise _not_regular(mode)
            chunks: list[bytes] = []
            left = limit + 1
            while left > 0:
                chunk = os.read(descriptor, min(left, 1 << 16))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
        finally:
            os.close(descriptor)
    except OSError as exc:
        raise Unreadable(
            f"cannot read file: {exc.strerror or exc}", "check that it exists"
        ) from exc
    except ValueError as exc:  # a NUL byte in the name
        raise Unreadable("cannot read file: the name is not a valid path", "rename it") from exc
    if left <= 0:
        raise TooBig(limit)
    return b"".join(chunks)
