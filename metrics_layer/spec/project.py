"""Find a project's files, read them, validate them against the schema, parse them into models.

A project is a folder. If it holds ``metrics_layer.yml`` (the project file), its ``project``
section names the folders to read and the settings; otherwise every ``*.yml``/``*.yaml`` below
the folder is read with default settings. A single file may be given instead of a folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Generic, TypeVar

import pydantic

from metrics_layer.errors import Diagnostic, Level
from metrics_layer.spec.models import DefinitionsFile, MetricSpec, ProjectSpec, SourceSpec
from metrics_layer.spec.schema import validate_document
from metrics_layer.spec.yaml_source import Path, YamlDocument, read_yaml

__all__ = ["PROJECT_FILE", "Located", "ProjectFiles", "read_project"]

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
    sources: list[Located[SourceSpec]] = field(default_factory=list)
    metrics: list[Located[MetricSpec]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def read_project(location: str | FsPath) -> ProjectFiles:
    """Read and validate every file of the project at ``location``; never raises for bad input."""
    root = FsPath(location)
    if root.name == PROJECT_FILE and root.is_file():
        root = root.parent
    if not root.exists():
        project = ProjectFiles(root=root, settings=_default_settings("project"))
        project.diagnostics.append(
            Diagnostic(
                Level.ERROR,
                f"no such file or folder '{root}'; pass the folder that holds your definitions "
                f"(with a {PROJECT_FILE}) or one definitions file",
                str(root),
                code="project",
            )
        )
        return project
    folder = root if root.is_dir() else root.parent
    project = ProjectFiles(root=folder, settings=_default_settings(_default_name(folder)))
    project_file = folder / PROJECT_FILE
    if root.is_dir() and project_file.is_file():
        read = _read_file(project_file, project, allow_project=True)
        if read is not None and read.spec.project is not None:
            project.settings = read.spec.project
        paths = [folder / p for p in project.settings.paths]
        for missing in (p for p in paths if not p.is_dir()):
            assert read is not None
            project.diagnostics.append(
                read.diagnostic(
                    f"project.paths names '{missing.relative_to(folder)}', which is not a folder; "
                    "fix the path or create the folder",
                    "project",
                    "paths",
                )
            )
        files = sorted({f for p in paths if p.is_dir() for f in _yaml_files(p)} - {project_file})
    elif root.is_dir():
        files = sorted(_yaml_files(folder))
    else:
        files = [root]
    for file in files:
        _read_file(file, project, allow_project=False)
    return project


def _default_settings(name: str) -> ProjectSpec:
    return ProjectSpec.model_validate({"name": name})


def _default_name(folder: FsPath) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in folder.resolve().name.lower())
    return cleaned if cleaned[:1].isalpha() else "project"


def _yaml_files(folder: FsPath) -> Iterator[FsPath]:
    for pattern in ("*.yml", "*.yaml"):
        for file in folder.rglob(pattern):
            if not any(part.startswith(".") for part in file.relative_to(folder).parts):
                yield file


def _read_file(
    file: FsPath, project: ProjectFiles, *, allow_project: bool
) -> Located[DefinitionsFile] | None:
    """Read one file into ``project``; returns the parsed file with its document, if valid."""
    name = str(file)
    project.files.append(name)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        project.diagnostics.append(
            Diagnostic(Level.ERROR, f"cannot read file: {exc}", name, code="project")
        )
        return None
    doc = read_yaml(text, name)
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
