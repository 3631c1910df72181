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
from typing import Any, Generic, TypeVar

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
from metrics_layer.spec.models import (
    DefinitionsFile,
    MetricSpec,
    ProjectSpec,
    SourceSpec,
    read_strictly,
)
from metrics_layer.spec.places import item_name, place
from metrics_layer.spec.yaml_source import Path, YamlDocument, read_yaml

__all__ = [
    "PROJECT_FILE",
    "UNNAMED",
    "Located",
    "ProjectFiles",
    "definitions_name",
    "read_project",
    "read_project_files",
]

PROJECT_FILE = "metrics_layer.yml"
# Stands for the name of an item that failed before its name could be read.
UNNAMED = "?"
T = TypeVar("T", covariant=True)


@dataclass(frozen=True)
class Located(Generic[T]):
    """A parsed spec and the place in a YAML file it came from."""

    spec: T
    doc: YamlDocument
    path: Path
    # For lists of the spec that lost items to their own errors (a source's measures): the
    # index in the file of each item kept, so that places still point at the right one.
    indexes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def position(self, *sub: str | int, key: bool = False) -> tuple[int, int] | None:
        """The line and column of the field ``sub`` of this spec (its key when ``key``)."""
        return self.doc.position(self._in_file(sub), key=key)

    def place(self, *sub: str | int) -> str:
        """The field ``sub`` of this spec named for a message (``source 'events', dimension
        'kind': expr``)."""
        return place(self.doc.data, self._in_file(sub))

    def _in_file(self, sub: tuple[str | int, ...]) -> Path:
        if len(sub) >= 2 and isinstance(sub[0], str) and isinstance(sub[1], int):
            kept = self.indexes.get(sub[0])
            if kept is not None and sub[1] < len(kept):
                sub = (sub[0], kept[sub[1]], *sub[2:])
        return (*self.path, *sub)

    def diagnostic(
        self,
        message: str,
        *sub: str | int,
        code: str,
        hint: str,
        key: bool = False,
        level: Level = Level.ERROR,
    ) -> Diagnostic:
        """A diagnostic at the field ``sub`` of this spec (its value, or its key when ``key``):
        ``message`` says what is wrong, ``hint`` what to do, ``code`` is registered in
        ``checks/codes.py``."""
        line, column = self.position(*sub, key=key) or (None, None)
        return Diagnostic(level, message, self.doc.file, line, column, code, hint)

    def duplicate_of(self, kind: str, first: Located[object]) -> Diagnostic:
        """``kind`` named like ``first`` (defined earlier): an error pointing at this one."""
        line = first.doc.position((*first.path, "name")) or (0, 0)
        name = getattr(self.spec, "name", "?")
        return self.diagnostic(
            f"{kind} '{name}' is defined twice (first at {first.doc.file}:{line[0]})",
            "name",
            code="duplicate-name",
            hint="rename or remove one",
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
    # Names of the sources and metrics written in the files whose own definitions failed (read
    # from the raw YAML): a reference to one of them is not reported again.
    broken_sources: set[str] = field(default_factory=set)
    broken_metrics: set[str] = field(default_factory=set)
    # The entities and dimensions those sources name (``source.name``), read the same way.
    broken_entities: set[str] = field(default_factory=set)
    broken_dimensions: set[str] = field(default_factory=set)
    broken_measures: set[str] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        """Whether the files hold no source and no metric, valid or not."""
        return not (self.sources or self.metrics or self.broken_sources or self.broken_metrics)


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
                f"no such file or folder {quote_path(root)}",
                str(root),
                code="project",
                hint=f"pass the folder that holds your definitions (with a {PROJECT_FILE}) or "
                "one definitions file",
            )
        )
        return project
    if not os.path.isdir(root):
        project = ProjectFiles(root=root.parent, settings=_default_settings("project"))
        _read_file(root, project, _Budget(), allow_project=False)
        return project
    project = ProjectFiles(root=root, settings=_default_settings(_default_name(root)))
    budget = _Budget()
    files = _find_files(root, project, budget, Scope(real_path(root), allow_outside))
    for file in files:
        _read_file(file, project, budget, allow_project=False)
        if budget.spent:
            break
    if project.empty and not any(d.level is Level.ERROR for d in project.diagnostics):
        project.diagnostics.append(_empty(root, bool(files)))
    return project


def _empty(root: FsPath, had_files: bool) -> Diagnostic:
    """The error of a project folder holding no definitions."""
    what = (
        "its YAML files define no source and no metric"
        if had_files
        else "it holds no *.yml or *.yaml file"
    )
    return Diagnostic(
        Level.ERROR,
        f"the folder {quote_path(root)} holds no definitions: {what}",
        str(root),
        code="empty-project",
        hint="pass the folder of your definitions, or add a file with 'sources:' and "
        "'metrics:' (docs/definitions.md shows one)",
    )


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
    wanted = sorted(path for path in files if definitions_name(path))
    if PROJECT_FILE in files:
        read = _read_file(
            root / PROJECT_FILE, project, budget, allow_project=True, data=files[PROJECT_FILE]
        )
        if read is not None and read.spec.project is not None:
            project.settings = read.spec.project
            project.settings_place = Located(read.spec.project, read.doc, ("project",))
        wanted = _under_paths(wanted, files, project, read)
    if len(wanted) > MAX_FILES:
        message = f"the project has more than {MAX_FILES} definitions files; none were read"
        project.diagnostics.append(
            Diagnostic(
                Level.ERROR,
                message,
                str(root),
                code="limit",
                hint="merge small files, or name fewer folders in project.paths",
            )
        )
        return project
    for path in sorted(wanted, key=lambda p: root / p):
        _read_file(root / path, project, budget, allow_project=False, data=files[path])
        if budget.spent:
            break
    return project


def definitions_name(path: str) -> bool:
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
            problem = "leads outside the project folder"
            hint = "definitions are read only from inside it: name a folder inside it"
        else:
            prefix = "" if folder == "." else folder + "/"
            if prefix == "" or any(path.startswith(prefix) for path in files):
                chosen.update(path for path in wanted if path.startswith(prefix))
                continue
            problem = "is not a folder"
            hint = "fix the path or create the folder"
        message = f"project.paths names {quote(written)}, which {problem}"
        project.diagnostics.append(
            read.diagnostic(message, "project", "paths", index, code="project", hint=hint)
            if read is not None
            else Diagnostic(
                Level.ERROR,
                message,
                str(project.root / PROJECT_FILE),
                code="project",
                hint=hint,
            )
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
        outside = not scope.allows(real)
        problem = (
            f"leads to {quote_path(real)}, outside the project folder {quote_path(scope.root)}"
            if outside
            else "is not a folder"
        )
        hint = (
            "definitions are read only from inside the project folder: name a folder inside it, "
            "or let the caller allow reading outside (allow_outside=True, or --allow-outside on "
            "the command line)"
            if outside
            else "fix the path or create the folder"
        )
        message = f"project.paths names {quote(written)}, which {problem}"
        project.diagnostics.append(
            read.diagnostic(message, "project", "paths", index, code="project", hint=hint)
            if read is not None  # the default "." fails only if the folder vanished meanwhile
            else Diagnostic(Level.ERROR, message, str(project_file), code="project", hint=hint)
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
                "the file is too large or nests too deeply to check",
                name,
                code="limit",
                hint="split or flatten it",
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
        project.diagnostics.append(
            Diagnostic(Level.ERROR, exc.message, name, code="project", hint=exc.hint)
        )
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
    message, hint = exc.message, exc.hint
    if limit < MAX_FILE_BYTES:
        budget.spent = True
        message = (
            f"the project's files hold more than {size(MAX_TOTAL_BYTES)} in all; "
            "this file and the ones after it were not read"
        )
        hint = "name fewer folders in project.paths, or split the project"
    project.diagnostics.append(Diagnostic(Level.ERROR, message, name, code="limit", hint=hint))


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
                f"cannot read file: byte 0x{data[exc.start]:02x} is not UTF-8",
                name,
                line,
                column,
                "project",
                "save the file as UTF-8",
            )
        )
        return None


def _parse_file(
    text: str, name: str, project: ProjectFiles, budget: _Budget, *, allow_project: bool
) -> Located[DefinitionsFile] | None:
    """Read one file's items into ``project``: each source and metric is validated on its own,
    so one bad item hides neither the others nor other files. Returns the file's valid parts
    (with its document) when it could be read at all."""
    # Positions are read for diagnostics, which are rare, and for every source's fields and
    # the calendar's (``build_graph``): a file of metrics only, such as each of a large
    # project's files of metrics, is read without them, and reads them again from its text
    # when asked.
    doc = read_yaml(text, name, nodes_left=budget.nodes, keep_positions=False)
    budget.nodes -= doc.nodes
    if budget.nodes <= 0:
        budget.spent = True
    if doc.diagnostics:
        project.diagnostics.extend(doc.diagnostics)
        return None
    if not isinstance(doc.data, dict):
        doc.error(
            "a definitions file must be a mapping with 'sources' and/or 'metrics'",
            (),
            code="schema",
            hint="start the file with 'sources:' or 'metrics:'",
        )
        project.diagnostics.extend(doc.diagnostics)
        return None
    sources: list[tuple[int, SourceSpec, dict[str, tuple[int, ...]]]]
    metrics: list[tuple[int, MetricSpec]]
    strict = read_strictly(doc.data)
    if strict is not None:  # every item valid: the models read strictly are each item's
        parsed_project = strict.project
        sources = [(i, spec, {}) for i, spec in enumerate(strict.sources)]
        metrics = list(enumerate(strict.metrics))
    else:
        bad = _schema_problems(doc)
        parsed_project = _valid(ProjectSpec, doc, ("project",), bad)
        sources = [
            (i, spec, kept)
            for i in _indexes(doc.data, "sources")
            for spec, kept in [_valid_source(doc, i, bad, project)]
            if spec is not None
        ]
        metrics = [
            (i, metric)
            for i in _indexes(doc.data, "metrics")
            if (metric := _valid(_METRIC, doc, ("metrics", i), bad)) is not None
        ]
    project.broken_sources.update(_names(doc.data, "sources", {i for i, _, _ in sources}))
    for key, found in (
        ("entities", project.broken_entities),
        ("dimensions", project.broken_dimensions),
    ):
        found.update(_parts(doc.data, key, {i for i, _, _ in sources}))
    project.broken_metrics.update(_names(doc.data, "metrics", {i for i, _ in metrics}))
    project.diagnostics.extend(doc.diagnostics)
    if parsed_project is not None and not allow_project:
        project.diagnostics.append(
            Located(parsed_project, doc, ("project",)).diagnostic(
                f"'project' settings belong in {PROJECT_FILE} at the project root",
                key=True,
                code="project",
                hint="move them there",
            )
        )
    for index, source, kept in sources:
        project.sources.append(Located(source, doc, ("sources", index), kept))
    for index, metric in metrics:
        project.metrics.append(Located(metric, doc, ("metrics", index)))
    if "project" in doc.data and parsed_project is None:
        return None
    parsed = DefinitionsFile.model_construct(
        project=parsed_project,
        sources=[spec for _, spec, _ in sources],
        metrics=[spec for _, spec in metrics],
    )
    return Located(parsed, doc, ())


_METRIC: pydantic.TypeAdapter[MetricSpec] = pydantic.TypeAdapter(MetricSpec)
_TAGS = {"simple", "ratio", "derived", "rolling", "cumulative", "conversion", "retention", "churn"}
S = TypeVar("S")


def _schema_problems(doc: YamlDocument) -> set[Path]:
    """The items of ``doc`` that fail the JSON Schema, each problem reported in ``doc``.

    Only a file the models refuse is walked with the schema (a file they accept strictly
    passes it: ``models.accepts_strictly``), so ``jsonschema`` is imported only then."""
    from metrics_layer.spec.schema import invalid_paths

    return _bad_items(invalid_paths(doc))


def _bad_items(paths: list[Path]) -> set[Path]:
    """The items (``("metrics", 3)``, ``("project",)``) or whole lists (``("metrics",)``)
    that hold a schema error; an error at the top of the file (an unknown key) spoils none."""
    bad: set[Path] = set()
    for path in paths:
        if path[:1] == ("project",):
            bad.add(("project",))
        elif (
            len(path) >= 4
            and path[0] == "sources"
            and path[2] in _PARTS
            and isinstance(path[1], int)
            and isinstance(path[3], int)
        ):
            bad.add(path[:4])  # one entity, dimension or measure: the source keeps the others
        elif len(path) >= 2 and path[0] in ("sources", "metrics") and isinstance(path[1], int):
            bad.add(path[:2])
        elif path[:1] in (("sources",), ("metrics",)):
            bad.add(path[:1])
    return bad


def _indexes(data: dict[str, object], key: str) -> range:
    items = data.get(key)
    return range(len(items)) if isinstance(items, list) else range(0)


def _names(data: dict[str, object], key: str, valid: set[int]) -> set[str]:
    """The names of the items of ``data[key]`` that are not ``valid``; ``?`` for items (or a
    whole list) whose name cannot be read, so that any reference may be to one of them."""
    items = data.get(key)
    if key in data and not isinstance(items, list):
        return {UNNAMED}
    return {
        item_name(item) or UNNAMED
        for i, item in enumerate(items if isinstance(items, list) else [])
        if i not in valid
    }


def _parts(data: dict[str, object], key: str, valid: set[int]) -> set[str]:
    """``source.name`` of the ``key`` items (entities, dimensions) of the sources of ``data``
    that are not ``valid``."""
    items = data.get("sources")
    if not isinstance(items, list):
        return set()
    found: set[str] = set()
    for index, item in enumerate(items):
        # A source without a usable name still names its parts ('?' stands for it).
        source = item_name(item) or "?"
        if index in valid or not isinstance(item, dict):
            continue
        parts = item.get(key)
        if key in item and not isinstance(parts, list):
            found.add(f"{source}.{UNNAMED}")
        for part in parts if isinstance(parts, list) else []:
            found.add(f"{source}.{item_name(part) or UNNAMED}")
    return found


_PARTS = ("entities", "dimensions", "measures")
_BROKEN_PART = {
    "entities": "broken_entities",
    "dimensions": "broken_dimensions",
    "measures": "broken_measures",
}


def _valid_source(
    doc: YamlDocument, index: int, bad: set[Path], project: ProjectFiles
) -> tuple[SourceSpec | None, dict[str, tuple[int, ...]]]:
    """The source at ``index`` without its entities, dimensions and measures that failed the
    schema (their names recorded as left out), and the file index of each part kept."""
    raw = doc.data["sources"][index]
    kept: dict[str, tuple[int, ...]] = {}
    if ("sources", index) not in bad and ("sources",) not in bad and isinstance(raw, dict):
        trimmed = dict(raw)
        source = item_name(raw) or "?"
        for key in _PARTS:
            parts = raw.get(key)
            if not isinstance(parts, list):
                continue
            good = tuple(j for j in range(len(parts)) if ("sources", index, key, j) not in bad)
            if len(good) < len(parts):
                trimmed[key] = [parts[j] for j in good]
                kept[key] = good
                gone: set[str] = getattr(project, _BROKEN_PART[key])
                gone.update(
                    f"{source}.{item_name(part) or UNNAMED}"
                    for j, part in enumerate(parts)
                    if j not in good
                )
        if kept:
            return _valid(SourceSpec, doc, ("sources", index), bad, trimmed), kept
    return _valid(SourceSpec, doc, ("sources", index), bad), kept


def _valid(
    model: type[S] | pydantic.TypeAdapter[S],
    doc: YamlDocument,
    path: Path,
    bad: set[Path],
    value: object = None,
) -> S | None:
    """The item at ``path`` (or ``value``, the item trimmed) parsed as ``model``, or None (its
    problems in ``doc``) when it is missing, failed the schema or fails the model."""
    if path in bad or path[:1] in bad:
        return None
    if value is None:
        value = doc.data
        for step in path:
            if isinstance(value, dict) and isinstance(step, str):
                value = value.get(step)
            elif isinstance(value, list) and isinstance(step, int):
                value = value[step]
    if value is None:
        return None
    try:
        if isinstance(model, pydantic.TypeAdapter):
            return model.validate_python(value)
        validate = getattr(model, "model_validate")  # noqa: B009 (a pydantic model class)
        found: S = validate(value)
        return found
    except pydantic.ValidationError as exc:
        for problem in exc.errors():
            loc = tuple(p for p in problem["loc"] if isinstance(p, (str, int)))
            loc = (*path, *(p for p in loc if p not in _TAGS))
            message, hint = _pydantic_wording(problem)
            doc.error(f"{place(doc.data, loc)} {message}", loc, code="schema", hint=hint)
        return None


def _pydantic_wording(problem: Mapping[str, Any]) -> tuple[str, str]:
    """(what is wrong, what to do) for a pydantic error, in the library's words.

    >>> _pydantic_wording({"type": "date_from_datetime_parsing", "input": "2026-13-01",
    ...                    "msg": "Input should be a valid date"})
    ("must be a date written YYYY-MM-DD, not '2026-13-01'", 'write a real date such as 2026-11-01')
    """
    kind = str(problem.get("type", ""))
    if kind.startswith("date"):
        return (
            f"must be a date written YYYY-MM-DD, not {quote(problem.get('input'))}",
            "write a real date such as 2026-11-01",
        )
    text = str(problem.get("msg", "is not valid")).removeprefix("Value error, ")
    message, _, hint = text.partition("; ")
    message = message[:1].lower() + message[1:]
    return f"is not valid: {_clean(message)}", hint or "fix the value; docs/definitions.md lists "
    "every field"


def _clean(text: str) -> str:
    return text if text.isprintable() and len(text) <= 300 else quote(text)[1:-1]
