"""``--base REF``: the definitions as they were at a git revision, read without a checkout.

git is run as a subprocess with argument lists (never a shell), a timeout, literal pathspecs and
no terminal prompts: ``rev-parse`` resolves the revision to a commit, ``ls-tree`` lists the
project folder's files at that commit, and one ``cat-file --batch`` reads every file it needs.
The bytes are read into a project by ``spec/project.py`` ``read_project_files`` (the same rules
as a project on disk, without touching it) and built into a graph with no target, as
fingerprints are.

A revision starting with ``-`` is refused before git runs; anything else git cannot resolve
(a typo, a branch not fetched, a shallow clone without it) is a ``base`` error with the fix.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from metrics_layer.checks.codes import code
from metrics_layer.errors import Diagnostic, Level, printable
from metrics_layer.spec.limits import MAX_FILE_BYTES, MAX_FILES, quote, quote_path, size
from metrics_layer.spec.project import PROJECT_FILE, definitions_name

__all__ = ["GIT_TIMEOUT", "BaseFiles", "BaseUnreadable", "read_base"]

GIT_TIMEOUT = 30.0
"""Seconds each git command may take."""

_SHALLOW_FIX = (
    "fetch the full history (actions/checkout: fetch-depth: 0) or fetch the branch "
    "(git fetch origin main), then name it as --base origin/main"
)


class BaseUnreadable(Exception):
    """The base revision cannot be read; ``diagnostic`` says why and what to do."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


@dataclass(frozen=True)
class BaseFiles:
    """The project's files at the base revision: path relative to the project folder -> bytes."""

    ref: str
    commit: str
    files: dict[str, bytes]
    problems: list[Diagnostic] = field(default_factory=list)
    """Files that could not be read (too large, too many)."""


def _error(message: str, where: str | None, hint: str) -> BaseUnreadable:
    return BaseUnreadable(Diagnostic(code("base").level, message, where, None, None, "base", hint))


def check_ref(ref: object) -> str:
    """``ref`` if it may be given to git as a revision; a ``base`` error otherwise.

    >>> check_ref("origin/main")
    'origin/main'
    >>> check_ref("--output=/tmp/x")
    Traceback (most recent call last):
    metrics_layer.checks.base.BaseUnreadable: --base '--output=/tmp/x' starts with '-', which \
git would read as an option
    """
    if not isinstance(ref, str) or not ref.strip():
        raise _error("--base needs a git revision", None, "name one, e.g. --base origin/main")
    if ref.startswith("-"):
        raise _error(
            f"--base {quote(ref)} starts with '-', which git would read as an option",
            None,
            "name a branch, tag or commit, e.g. --base origin/main",
        )
    if not ref.isprintable() or len(ref) > 256:
        raise _error(
            f"--base {quote(ref)} is not a revision name",
            None,
            "name a branch, tag or commit, e.g. --base origin/main",
        )
    return ref


def _git(
    folder: Path, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    environment = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_LITERAL_PATHSPECS": "1",
        "LC_ALL": "C",
    }
    command = ["git", "-C", str(folder), "-c", "core.fsmonitor=false", *args]
    try:
        return subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            env=environment,
            check=False,
        )
    except FileNotFoundError as exc:
        raise _error(
            "--base needs git, which is not installed", str(folder), "install git, or drop --base"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise _error(
            f"git {args[0]} took more than {GIT_TIMEOUT:.0f} s",
            str(folder),
            "check the repository (git fsck), or drop --base",
        ) from exc


def _said(result: subprocess.CompletedProcess[bytes]) -> str:
    text = result.stderr.decode("utf-8", "replace").strip().splitlines()
    return printable(text[0][:200]) if text else f"exit status {result.returncode}"


def read_base(project: Path, ref: str) -> BaseFiles:
    """The files of the project at ``project`` (a folder or one file) as of revision ``ref``.

    Raises BaseUnreadable when the revision cannot be read.
    """
    ref = check_ref(ref)
    folder = project.parent if project.is_file() else project
    # One definitions file is a project of its own; the project file stands for its folder.
    single = project.is_file() and project.name != PROJECT_FILE
    where = str(project)
    found = _git(folder, "rev-parse", "--show-prefix")
    if found.returncode != 0:
        raise _error(
            f"--base {quote(ref)}: {quote_path(folder)} is not in a git repository "
            f"({_said(found)})",
            where,
            "run the check inside a clone of the definitions repository, or drop --base",
        )
    prefix = found.stdout.decode("utf-8", "surrogateescape").strip()
    resolved = _git(
        folder, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"
    )
    if resolved.returncode != 0:
        shallow = _git(folder, "rev-parse", "--is-shallow-repository").stdout.strip() == b"true"
        why = (
            "this clone is shallow and does not have it"
            if shallow
            else "no branch, tag or commit has that name here"
        )
        raise _error(f"--base {quote(ref)} cannot be read: {why}", where, _SHALLOW_FIX)
    commit = resolved.stdout.decode("ascii", "replace").strip()
    target = prefix + project.name if single else prefix.rstrip("/")
    listing = _git(
        folder,
        "ls-tree",
        "-r",
        "-z",
        "-l",
        "--full-tree",
        commit,
        "--",
        *([target] if target else []),
    )
    if listing.returncode != 0:
        raise _error(
            f"--base {quote(ref)}: git ls-tree failed ({_said(listing)})", where, _SHALLOW_FIX
        )
    base = BaseFiles(ref, commit, {})
    wanted: list[tuple[str, str]] = []
    cut = len(prefix)
    for record in listing.stdout.split(b"\0"):
        if not record:
            continue
        info, _, raw = record.partition(b"\t")
        mode, kind, blob, length = info.split()[:4]
        path = raw.decode("utf-8", "surrogateescape")[cut:]
        if kind != b"blob" or mode == b"120000" or not _wanted(path):
            continue
        if int(length) > MAX_FILE_BYTES:
            base.problems.append(
                Diagnostic(
                    Level.ERROR,
                    f"the file is larger than {size(MAX_FILE_BYTES)}",
                    str(folder / path),
                    code="limit",
                )
            )
            continue
        wanted.append((path, blob.decode("ascii")))
    if len(wanted) > MAX_FILES:
        base.problems.append(
            Diagnostic(
                Level.ERROR,
                f"the base revision has more than {MAX_FILES} definitions files",
                where,
                code="limit",
            )
        )
        return base
    base.files.update(_blobs(folder, wanted, where))
    return base


def _wanted(path: str) -> bool:
    """A file of the base's project to read: the project file or a definitions file."""
    return path == PROJECT_FILE or definitions_name(path)


def _blobs(folder: Path, wanted: list[tuple[str, str]], where: str) -> dict[str, bytes]:
    """The bytes of every blob in ``wanted`` ((path, object id) pairs), in one git call."""
    if not wanted:
        return {}
    request = "".join(f"{blob}\n" for _, blob in wanted).encode("ascii")
    result = _git(folder, "cat-file", "--batch", stdin=request)
    if result.returncode != 0:
        raise _error(f"git cat-file failed ({_said(result)})", where, _SHALLOW_FIX)
    out = result.stdout
    files: dict[str, bytes] = {}
    at = 0
    for path, blob in wanted:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        if len(header) != 3 or header[0].decode("ascii") != blob:
            raise _error(f"git cat-file gave no object {blob}", where, _SHALLOW_FIX)
        length = int(header[2])
        files[path] = out[end + 1 : end + 1 + length]
        at = end + 1 + length + 1
    return files
