"""Find a project's files, read them, validate them against the schema, parse them into models.

A project is a folder. If it holds ``metrics_layer.yml`` (the project file), its ``project``
section names the folders to read and the settings; otherwise every ``*.yml``/``*.yaml`` below
the folder is read with default settings. A single file may be given instead of a folder.

Reading is confined to the project folder and bounded by the limits in ``limits.py``
(``files.py`` finds and opens the files); every problem is a diagnostic, never an exception.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Generic, TypeVar

import pydantic

from metrics_layer.errors import Diagnostic, Level
from metrics_layer.spec.files import Finder, Scope, TooBig, Unreadable, read_bytes, real_path
from metrics_layer.spec.limits import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_TOTAL_BYTES,
    MAX_TOTAL_NODES,
    quote,
    quote_path,
    size,
)
from metrics_layer.spec.models import DefinitionsFile, MetricSpec, ProjectSpec, SourceSpec
from metrics_layer.spec.schema import validate_document
from metrics_layer.spec.yaml_source import Path, YamlDocument, read_yaml

__all__ = ["PROJECT_FILE", "Located", "ProjectFiles", "read_project", "read_project_files"]

PROJECT_FILE = "metrics_layer.yml"
T = TypeVar("T", covariant=True)


@dataclass(frozen=True)
class Located(Generic[T]):
    """A parsed spec and the place in a YAML file it came from."""

    spec: T
    doc: YamlDocument
    path: Path

    def diagnostic(
        self, message: str, *sub: str | int, key: bool = False, level: Level = Level.ERROR
    ) -> Diagnostic:
        line, column = self.doc.position((*self.path, *sub), key=key) or (None, None)
        return Diagnostic(level, message, self.doc.file, line, column, "reference")

    def duplicate_of(self, kind: str, first: Located[object]) -> Diagnostic:
        """``kind`` named like ``first`` (defined earlier): an error pointing at this one."""
        line = first.doc.position((*first.path, "name")) or (0, 0)
        name = getattr(self.spec, "name", "?")
        return self.diagnostic(
            f"{kind} '{name}' is defined twice (first at {first.doc.file}:{line[0]}); "
            "rename or remove one",
            "name",
        )


@dataclass
class ProjectFiles:
    """Everything read from disk, before any reference is resolved."""

    root: FsPath
    settings: ProjectSpec
    # Where the settings were read (the project file's ``project:``), when they were.
    settings_place: Located[ProjectSpec] | None = None
    sources: list[Located[SourceSpec]] = field(default_factory=list)
    metrics: list[Located[MetricSpec]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


@dataclass
class _Budget:
    """What is left of the project-wide limits."""

    bytes: int = field(default_factory=lambda: MAX_TOTAL_BYTES)
    nodes: int = field(default_factory=lambda: MAX_TOTAL_NODES)
    spent: bool = False


def read_project(location: str | FsPath, *, allow_outside: bool = False) -> ProjectFiles:
    """Read and validate every file of the project at ``location``; never raises for bad input.

    Files are read only from inside the project folder, links resolved, unless
    ``allow_outside`` (the caller's decision; the project file cannot grant it). A single file
    named as ``location`` is read wherever it is.
    """
    root = FsPath(location)
    if root.name == PROJECT_FILE and os.path.isfile(root):
        root = root.parent
    if not os.path.lexists(root):
        project = ProjectFiles(root=root, settings=_default_settings("project"))
        project.diagnostics.append(
            Diagnostic(
                Level.ERROR,
                f"no such file or folder {quote_path(root)}; pass the folder that holds your "
                f"definitions (with a {PROJECT_FILE}) or one definitions file",
                str(root),
                code="project",
            )
        )
        return project
    if not os.path.isdir(root):
        project = ProjectFiles(root=root.parent, settings=_default_settings("project"))
        _read_file(root, project, _Budget(), allow_project=False)
        return project
    project = ProjectFiles(root=root, settings=_default_settings(_default_name(root)))
    budget = _Budget()
    for file in _find_files(root, project, budget, Scope(real_path(root), allow_outside)):
        _read_file(file, project, budget, allow_project=False)
        if budget.spent:
            break
    return project


def read_project_files(files: Mapping[str, bytes], root: str | FsPath) -> ProjectFiles:
    """Read a project held in memory, by the same rules as ``read_project``, without the disk.

    ``files`` maps paths relative to the project folder (``/``-separated, as git names them) to
    their bytes; diagnostics name each file as ``root / path``. The project file, ``paths``
    (never outside the folder), hidden entries, the limits and the YAML and schema checks are
    those of a project read from disk; symbolic links are not in ``files`` (the caller skips
    them).

    >>> files = {"m.yml": b"metrics: [{name: a, type: simple, measure: s.m}]"}
    >>> held = read_project_files(files, "d")
    >>> [m.spec.name for m in held.metrics], held.files
    (['a'], ['d/m.yml'])
    """
    root = FsPath(root)
    project = ProjectFiles(root=root, settings=_default_settings(_default_name(root)))
    budget = _Budget()
    wanted = sorted(path for path in files if _definitions_name(path))
    if PROJECT_FILE in files:
        read = _read_file(
            root / PROJECT_FILE, project, budget, allow_project=True, data=files[PROJECT_FILE]
        )
        if read is not None and read.spec.project is not None:
            project.settings = read.spec.project
            project.settings_place = Located(read.spec.project, read.doc, ("project",))
        wanted = _under_paths(wanted, files, project, read)
    if len(wanted) > MAX_FILES:
        message = (
            f"the project has more than {MAX_FILES} definitions files; none were read. "
            "Merge small files, or name fewer folders in project.paths"
        )
        project.diagnostics.append(Diagnostic(Level.ERROR, message, str(root), code="limit"))
        return project
    for path in sorted(wanted, key=lambda p: root / p):
        _read_file(root / path, project, budget, allow_project=False, data=files[path])
        if budget.spent:
            break
    return project


def _definitions_name(path: str) -> bool:
    """A definitions file a folder walk would find: ``*.yml``/``*.yaml``, nothing hidden, not
    the project file."""
    parts = path.split("/")
    return (
        path != PROJECT_FILE
        and path.endswith((".yml", ".yaml"))
        and not any(part.startswith(".") or not part for part in parts)
    )


def _under_paths(
    wanted: list[str],
    files: Mapping[str, bytes],
    project: ProjectFiles,
    read: Located[DefinitionsFile] | None,
) -> list[str]:
    """The files below the folders ``project.paths`` names; a diagnostic for each path that is
    outside the project or names no folder."""
    chosen: set[str] = set()
    for index, written in enumerate(project.settings.paths):
        folder = posixpath.normpath(written.replace(os.sep, "/"))
        if folder.startswith(("../", "/")) or folder == "..":
            problem = (
                "leads outside the project folder; definitions are read only from inside it: "
                "name a folder inside it"
            )
        else:
            prefix = "" if folder == "." else folder + "/"
            if prefix == "" or any(path.startswith(prefix) for path in files):
                chosen.update(path for path in wanted if path.startswith(prefix))
                continue
            problem = "is not a folder; fix the path or create the folder"
        message = f"project.paths names {quote(written)}, which {problem}"
        project.diagnostics.append(
            read.diagnostic(message, "project", "paths", index)
            if read is not None
            else Diagnostic(Level.ERROR, message, str(project.root / PROJECT_FILE), code="project")
        )
    return sorted(chosen)


def _find_files(
    folder: FsPath, project: ProjectFiles, budget: _Budget, scope: Scope
) -> list[FsPath]:
    """Read the project file, if any, into ``project``; the other files to read, in order."""
    finder = Finder(scope)
    project_file = folder / PROJECT_FILE
    if not os.path.lexists(project_file):
        finder.walk(folder)
        project.diagnostics.extend(finder.diagnostics)
        return [] if finder.full else finder.found()
    real_project_file = real_path(project_file)
    if not scope.allows(real_project_file):
        project.diagnostics.append(
            scope.outside(project_file, real_project_file, "the project file")
        )
        return []
    read = _read_file(project_file, project, budget, allow_project=True)
    if read is not None and read.spec.project is not None:
        project.settings = read.spec.project
        project.settings_place = Located(read.spec.project, read.doc, ("project",))
    for index, written in enumerate(project.settings.paths):
        target = folder / written
        real = real_path(target)
        if scope.allows(real) and os.path.isdir(real):
            finder.walk(target)
            continue
        problem = (
            f"leads to {quote_path(real)}, outside the project folder {quote_path(scope.root)}; "
            "definitions are read only from inside the project folder: name a folder inside it, "
            "or let the caller allow reading outside (allow_outside=True, or --allow-outside on "
            "the command line)"
            if not scope.allows(real)
            else "is not a folder; fix the path or create the folder"
        )
        message = f"project.paths names {quote(written)}, which {problem}"
        project.diagnostics.append(
            read.diagnostic(message, "project", "paths", index)
            if read is not None  # the default "." fails only if the folder vanished meanwhile
            else Diagnostic(Level.ERROR, message, str(project_file), code="project")
        )
    project.diagnostics.extend(finder.diagnostics)
    if finder.full:
        return []
    return [f for f in finder.found() if real_path(f) != real_project_file]


def _default_settings(name: str) -> ProjectSpec:
    return ProjectSpec.model_validate({"name": name})


def _default_name(folder: FsPath) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in folder.resolve().name.lower())
    return cleaned if cleaned[:1].isalpha() else "project"


def _read_file(
    file: FsPath,
    project: ProjectFiles,
    budget: _Budget,
    *,
    allow_project: bool,
    data: bytes | None = None,
) -> Located[DefinitionsFile] | None:
    """Read one file into ``project`` (from ``data`` when given, else from the disk); returns
    the parsed file with its document, if valid."""
    name = str(file)
    project.files.append(name)
    text = (
        _read_text(file, project, budget)
        if data is None
        else _held_text(data, name, project, budget)
    )
    if text is None:
        return None
    try:
        return _parse_file(text, name, project, budget, allow_project=allow_project)
    except (RecursionError, MemoryError):
        project.diagnostics.append(
            Diagnostic(
                Level.ERROR,
                "the file is too large or nests too deeply to check; split or flatten it",
                name,
                code="limit",
            )
        )
        return None


def _read_text(file: FsPath, project: ProjectFiles, budget: _Budget) -> str | None:
    """The file's text, within the file and project size limits; None after a diagnostic."""
    name = str(file)
    limit = min(MAX_FILE_BYTES, budget.bytes)
    try:
        data = read_bytes(file, limit)
    except TooBig as exc:
        _too_big(exc, name, limit, project, budget)
        return None
    except Unreadable as exc:
        project.diagnostics.append(Diagnostic(Level.ERROR, str(exc), name, code="project"))
        return None
    return _decode(data, name, project, budget)


def _held_text(data: bytes, name: str, project: ProjectFiles, budget: _Budget) -> str | None:
    """The text of a file held in memory, within the same limits as one read from disk."""
    limit = min(MAX_FILE_BYTES, budget.bytes)
    if len(data) > limit:
        _too_big(TooBig(limit), name, limit, project, budget)
        return None
    return _decode(data, name, project, budget)


def _too_big(exc: TooBig, name: str, limit: int, project: ProjectFiles, budget: _Budget) -> None:
    message = str(exc)
    if limit < MAX_FILE_BYTES:
        budget.spent = True
        message = (
            f"the project's files hold more than {size(MAX_TOTAL_BYTES)} in all; "
            "this file and the ones after it were not read. Name fewer folders in "
            "project.paths, or split the project"
        )
    project.diagnostics.append(Diagnostic(Level.ERROR, message, name, code="limit"))


def _decode(data: bytes, name: str, project: ProjectFiles, budget: _Budget) -> str | None:
    budget.bytes -= len(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        project.diagnostics.append(
            Diagnostic(
                Level.ERROR,
                f"cannot read file: byte 0x{data[exc.start]:02x} is not UTF-8; "
                "save the file as UTF-8",
                name,
                line,
                column,
                "project",
            )
        )
        return None


def _parse_file(
    text: str, name: str, project: ProjectFiles, budget: _Budget, *, allow_project: bool
) -> Located[DefinitionsFile] | None:
    doc = read_yaml(text, name, nodes_left=budget.nodes)
    budget.nodes -= doc.nodes
    if budget.nodes <= 0:
        budget.spent = True
    if doc.diagnostics:
        project.diagnostics.extend(doc.diagnostics)
        return None
    if not isinstance(doc.data, dict):
        doc.error("a definitions file must be a mapping with 'sources' and/or 'metrics'", ())
        project.diagnostics.extend(doc.diagnostics)
        return None
    if not validate_document(doc):
        project.diagnostics.extend(doc.diagnostics)
        return None
    try:
        parsed = DefinitionsFile.model_validate(doc.data)
    except pydantic.ValidationError as exc:
        for problem in exc.errors():
            loc = tuple(p for p in problem["loc"] if isinstance(p, (str, int)))
            loc = tuple(p for p in loc if p not in ("simple", "ratio", "derived"))
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
            doc.error(f"{problem['msg']} in {where}", loc, code="schema")
        project.diagnostics.extend(doc.diagnostics)
        return None
    if parsed.project is not None and not allow_project:
        doc.error(
            f"'project' settings belong in {PROJECT_FILE} at the project root; move them there",
            ("project",),
            key=True,
            code="project",
        )
        project.diagnostics.extend(doc.diagnostics)
    for index, source in enumerate(parsed.sources):
        project.sources.append(Located(source, doc, ("sources", index)))
    for index, metric in enumerate(parsed.metrics):
        project.metrics.append(Located(metric, doc, ("metrics", index)))
    return Located(parsed, doc, ())
