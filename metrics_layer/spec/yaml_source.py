"""Read one YAML file into plain JSON-like data, keeping the position of every node.

YAML is read with the YAML 1.2 core schema, on purpose: only ``true``/``false`` are booleans,
so ``country: no`` is the string ``"no"`` and ``on:`` is the key ``"on"``; dates stay strings and
are parsed by the models. Duplicate keys, tabs used for indentation, aliases of mappings merged
with ``<<`` and non-string keys are errors, never silently resolved.

Aliases are expanded where they are used, and every node is counted as it is converted, so an
alias bomb stops at ``MAX_NODES`` (or what is left of the project's ``MAX_TOTAL_NODES``) before it
grows; nesting deeper than ``MAX_DEPTH`` and an alias inside its own anchor are refused too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

from metrics_layer.errors import Diagnostic, Level
from metrics_layer.spec.limits import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_SCALAR_CHARS,
    MAX_TOTAL_NODES,
    quote,
)

__all__ = ["Path", "Positions", "YamlDocument", "read_yaml"]

Path = tuple[str | int, ...]
Positions = dict[Path, tuple[int, int]]

_BaseLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """A loader that resolves scalars by the YAML 1.2 core schema only.

    The parser asks ``resolve`` for the tag of each node (300,000 of them in a project of
    10,000 metrics): it is PyYAML's ``BaseResolver.resolve`` without the parts this loader
    never uses, path resolvers and resolvers for any first character, which PyYAML looks up
    for every node (``tests/spec/test_yaml_source.py`` compares the two)."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0]:  # a plain scalar: by the patterns of its first character
                for tag, pattern in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if pattern.match(value):
                        return tag
            return str(self.DEFAULT_SCALAR_TAG)
        if kind is yaml.SequenceNode:
            return str(self.DEFAULT_SEQUENCE_TAG)
        return str(self.DEFAULT_MAPPING_TAG)

    def descend_resolver(self, current_node: yaml.Node | None, current_index: object) -> None:
        """Nothing to do: no path resolvers."""

    def ascend_resolver(self) -> None:
        """Nothing to do: no path resolvers."""


def _add(tag: str, pattern: str, first: str) -> None:
    _Loader.add_implicit_resolver(f"tag:yaml.org,2002:{tag}", re.compile(pattern), list(first))


_add("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_add("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789")
_add(
    "float",
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
    "-+0123456789.",
)
_add("null", r"^(?:~|null|Null|NULL)$", "~nN")
_Loader.yaml_implicit_resolvers.setdefault("", []).append(
    ("tag:yaml.org,2002:null", re.compile(r"^$"))
)

_YAML11_BOOLEANS = {"yes", "no", "on", "off", "y", "n"}


@dataclass
class YamlDocument:
    """A parsed file: its data, where each node sits, and what went wrong reading it.

    The positions of a file read without a problem can be dropped (``forget_positions``), or
    never recorded (``read_yaml`` without ``keep_positions``): a large project has hundreds of
    thousands of nodes and keys, and their positions are read only for diagnostics. They are
    found again, the first time one is asked for, by reading ``text`` again: the same text
    reads the same."""

    file: str
    data: Any
    diagnostics: list[Diagnostic] = field(default_factory=list)
    nodes: int = 0
    """Nodes converted, aliases expanded."""
    text: str = field(default="", repr=False)
    """The text read (read again for the positions when they were not kept)."""
    tables: tuple[Positions, Positions] | None = field(
        default_factory=lambda: ({}, {}), repr=False, compare=False
    )
    """The positions of the values and of the keys, when kept (not compared: equal texts have
    equal positions, kept or not)."""

    @property
    def positions(self) -> Positions:
        """Where each node starts, by path: (line, column), both from 1."""
        return self._tables()[0]

    @property
    def key_positions(self) -> Positions:
        """Where each mapping key starts, by the path of its value."""
        return self._tables()[1]

    def forget_positions(self) -> None:
        """Drop the positions, to be read again from ``text`` when asked for; a document read
        with a problem keeps them."""
        if not self.diagnostics:
            self.tables = None

    def _tables(self) -> tuple[Positions, Positions]:
        if self.tables is None:
            self.tables = read_yaml(self.text, self.file).tables
            assert self.tables is not None, "a document just read has its positions"
        return self.tables

    def position(self, path: Path, *, key: bool = False) -> tuple[int, int] | None:
        """Position of the node at ``path`` (of its key when ``key``), or of its nearest parent."""
        table = self.key_positions if key else self.positions
        while path:
            if path in table:
                return table[path]
            if not key and path in self.key_positions:
                return self.key_positions[path]
            path = path[:-1]
        return self.positions.get((), (1, 1))

    def error(self, message: str, path: Path, *, code: str, hint: str, key: bool = False) -> None:
        """An error at the node at ``path`` (its key when ``key``): ``message`` says what is
        wrong, ``hint`` what to do; ``code`` is registered in ``checks/codes.py``."""
        line, column = self.position(path, key=key) or (None, None)
        self.diagnostics.append(
            Diagnostic(Level.ERROR, message, self.file, line, column, code, hint)
        )


def read_yaml(
    text: str, file: str, *, nodes_left: int = MAX_NODES, keep_positions: bool = True
) -> YamlDocument:
    """Parse ``text``; problems land in ``diagnostics`` instead of raising.

    At most ``min(nodes_left, MAX_NODES)`` nodes are converted; ``nodes_left`` is what the
    project has left of ``MAX_TOTAL_NODES``.

    Without ``keep_positions``, a file of metrics only (a mapping with neither ``sources`` nor
    ``project``) is read without recording positions, as if they were forgotten at once
    (``YamlDocument.forget_positions``): its positions are read again from ``text`` when one
    is asked for. At the first problem of such a reading, the file is read again keeping them,
    so a diagnostic of reading has its place as always.

    >>> doc = read_yaml("metrics:\\n  - name: a\\n    country: no\\n", "x.yml")
    >>> doc.data, doc.positions[("metrics", 0, "name")]
    ({'metrics': [{'name': 'a', 'country': 'no'}]}, (2, 11))
    """
    doc = YamlDocument(file=file, data=None, text=text)
    lines = text.splitlines() if "\t" in text else []  # only a file with a tab is looked at
    for number, line in enumerate(lines, start=1):
        indent = len(line) - len(line.lstrip(" \t"))
        if "\t" in line[:indent]:
            doc.diagnostics.append(
                Diagnostic(
                    Level.ERROR,
                    "a tab is used for indentation; YAML allows spaces only",
                    file,
                    number,
                    line.index("\t") + 1,
                    "yaml-syntax",
                    "replace the tab with spaces",
                )
            )
    if doc.diagnostics:
        return doc
    try:
        node = yaml.compose(text, Loader=_Loader)
    except (RecursionError, MemoryError):
        doc.diagnostics.append(
            Diagnostic(
                Level.ERROR,
                f"the YAML nests too deeply to read (more than {MAX_DEPTH} levels are refused)",
                file,
                1,
                1,
                "limit",
                "flatten it",
            )
        )
        return doc
    except yaml.MarkedYAMLError as exc:
        doc.diagnostics.append(syntax_error(exc, text, file))
        return doc
    except yaml.reader.ReaderError as exc:
        row = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        doc.diagnostics.append(
            Diagnostic(
                Level.ERROR,
                f"invalid YAML: character {exc.character!r} is not allowed",
                file,
                row,
                column,
                "yaml-syntax",
                "remove it, or write it as an escape inside a double-quoted value",
            )
        )
        return doc
    except yaml.YAMLError as exc:
        message = _clean(" ".join(str(exc).split()))
        doc.diagnostics.append(
            Diagnostic(
                Level.ERROR, f"invalid YAML: {message}", file, 1, 1, "yaml-syntax", _SYNTAX_HINT
            )
        )
        return doc
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        doc.data = {}
        return doc
    record = keep_positions or not _only_metrics(node)
    if not record:
        doc.tables = None
    walk = _Walk(doc, min(nodes_left, MAX_NODES), total=nodes_left < MAX_NODES, record=record)
    try:
        doc.data = walk.convert(node, (), 0)
    except _Unrecorded:
        return read_yaml(text, file, nodes_left=nodes_left)
    except _Refused as refused:
        if not record:
            return read_yaml(text, file, nodes_left=nodes_left)
        row, column = refused.place
        doc.diagnostics.append(
            Diagnostic(Level.ERROR, refused.message, file, row, column, "limit", refused.hint)
        )
        doc.data = None
    return doc


_SYNTAX_HINT = (
    "fix the YAML at this place; a value holding ': ', ' #' or starting with a quote, '[', '{', "
    "'&', '*', '!' or '@' must be quoted"
)


def syntax_error(exc: yaml.MarkedYAMLError, text: str, file: str) -> Diagnostic:
    """A YAML syntax error at the place a person must fix: an unclosed quote or bracket at
    its opening, a ``: `` inside a plain value at that value, with the fix.

    >>> print(syntax_error(_error('label: "Revenue\\n'), 'label: "Revenue\\n', "m.yml"))
    m.yml:1:8: error: invalid YAML: this quote is never closed; close it at the end of the value
    >>> text = "metrics:\\n  - label: Revenue: gross\\n"
    >>> print(syntax_error(_error(text), text, "m.yml"))  # doctest: +NORMALIZE_WHITESPACE
    m.yml:2:19: error: invalid YAML: ': ' inside a plain value starts a mapping here;
    quote values that contain ': ': label: "Revenue: gross"
    """
    context = exc.context or ""
    problem = exc.problem or context or "invalid YAML"
    mark = exc.problem_mark or exc.context_mark
    message, hint = f"invalid YAML: {_clean(problem)}", _SYNTAX_HINT
    if "quoted scalar" in context and exc.context_mark is not None:
        mark = exc.context_mark
        message = "invalid YAML: this quote is never closed"
        hint = "close it at the end of the value"
    elif "nesting depth" in problem:
        hint = "flatten it"
    elif "flow" in context and (opened := _open_bracket(text, exc.problem_mark)) is not None:
        mark, bracket = opened
        closing = "]" if bracket == "[" else "}"
        message = f"invalid YAML: this '{bracket}' is not closed where its items end"
        hint = (
            f"close it with '{closing}' after its last item, separate items with ', ', and "
            "quote items that contain ': '"
        )
    elif "mapping values are not allowed" in problem and mark is not None:
        message = "invalid YAML: ': ' inside a plain value starts a mapping here"
        hint = "quote values that contain ': '" + _quoted_example(text, mark.line)
    elif ("expected key" in problem or "block end" in problem) and mark is not None:
        message = "invalid YAML: this line is not indented like the lines around it"
        hint = (
            "keys of one mapping start in the same column, and items of a list each start "
            "with '- ' in the same column"
        )
    elif "undefined alias" in problem:
        hint = "define the anchor ('&name') before the alias ('*name') uses it, or write the value"
    return Diagnostic(
        Level.ERROR,
        message,
        file,
        mark.line + 1 if mark else None,
        mark.column + 1 if mark else None,
        "yaml-syntax",
        hint,
    )


def _open_bracket(text: str, until: yaml.Mark | None) -> tuple[yaml.Mark, str] | None:
    """The innermost ``[`` or ``{`` still open at ``until`` (quotes and comments skipped).

    >>> mark, bracket = _open_bracket("a: [1, {b: 2}\\nc: 3\\n", None)
    >>> (mark.line, mark.column, bracket)
    (0, 3, '[')
    """
    end = len(text) if until is None else until.index
    stack: list[tuple[int, str]] = []
    quote_char = ""
    index = 0
    while index < end:
        char = text[index]
        if quote_char:
            if char == quote_char:
                quote_char = ""
        elif char in "'\"" and (index == 0 or text[index - 1] in " \t\n[{,:"):
            quote_char = char
        elif char == "#" and (index == 0 or text[index - 1] in " \t\n"):
            newline = text.find("\n", index)
            index = end if newline == -1 else newline
            continue
        elif char in "[{":
            stack.append((index, char))
        elif char in "]}" and stack:
            stack.pop()
        index += 1
    if not stack:
        return None
    at, bracket = stack[-1]
    line = text.count("\n", 0, at)
    column = at - (text.rfind("\n", 0, at) + 1)
    return yaml.Mark("", at, line, column, text, at), bracket


def _quoted_example(text: str, index: int) -> str:
    """``: key: "value: more"`` for the line at ``index``, when it reads as ``key: value``."""
    lines = text.splitlines()
    if index >= len(lines):
        return ""
    line = lines[index].strip().removeprefix("- ")
    key, sep, value = line.partition(": ")
    value = value.strip()
    if not sep or not key.replace("_", "").isalnum() or not value or '"' in value:
        return ""
    return ": " + _clean(f'{key}: "{value}"')


def _error(text: str) -> yaml.MarkedYAMLError:
    """The error composing ``text`` raises (for the doctests)."""
    try:
        yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        return exc
    raise AssertionError(text)


def _clean(problem: str) -> str:
    """A parser message, which may quote the file, with control characters escaped and cut."""
    return problem if problem.isprintable() and len(problem) <= 200 else quote(problem)[1:-1]


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _only_metrics(node: yaml.Node) -> bool:
    """Whether a file's top node is a mapping without ``sources`` or ``project`` keys (whose
    positions the graph reads when it is built)."""
    if not isinstance(node, yaml.MappingNode):
        return False
    keys = {key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)}
    return "sources" not in keys and "project" not in keys


_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_STR = "tag:yaml.org,2002:str"


class _Refused(Exception):
    """Reading stops: ``message`` says why, at ``place`` (line, column)."""

    def __init__(self, message: str, place: tuple[int, int], hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.place = place
        self.hint = hint


class _Unrecorded(Exception):
    """A problem met while reading without recording positions: read the file again with them."""


class _Walk:
    """Converts composed nodes to data, counting nodes and depth as aliases are expanded;
    records the position of each node and key when ``record``."""

    def __init__(self, doc: YamlDocument, max_nodes: int, *, total: bool, record: bool) -> None:
        self.doc = doc
        self.record = record
        self.positions: Positions = doc.positions if record else {}
        self.key_positions: Positions = doc.key_positions if record else {}
        self.max_nodes = max_nodes
        self.total = total
        self.open: set[int] = set()
        self.done: set[int] = set()
        self.place = (1, 1)
        """Where the innermost collection being converted for the first time starts: a count
        that passes the limit inside an alias is reported at the list or mapping using it."""

    def error(self, message: str, path: Path, *, code: str, hint: str, key: bool = False) -> None:
        """``YamlDocument.error``, which needs the positions: a reading that records none
        stops (``_Unrecorded``)."""
        if not self.record:
            raise _Unrecorded
        self.doc.error(message, path, code=code, hint=hint, key=key)

    def count(self, node: yaml.Node, depth: int) -> None:
        self.doc.nodes += 1
        if self.doc.nodes > self.max_nodes:
            where = (
                f"the project's files hold more than {MAX_TOTAL_NODES} YAML nodes in all"
                if self.total
                else f"this file holds more than {MAX_NODES} YAML nodes"
            )
            raise _Refused(
                f"{where} (values, lists and mappings, counting each use of an alias '*name' "
                "in full)",
                self.place,
                "write the values out plainly, split huge lists, or remove aliases",
            )
        if depth > MAX_DEPTH:
            raise _Refused(
                f"lists and mappings nest more than {MAX_DEPTH} levels deep here",
                _mark(node),
                "definitions need about 6: flatten them",
            )

    def convert(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.count(node, depth)
        if self.record:
            self.positions[path] = _mark(node)
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node, path, self)
        if id(node) in self.open:
            raise _Refused(
                "an alias refers to the list or mapping that contains it, which would never end",
                _mark(node),
                "remove the alias",
            )
        if node.tag not in _COLLECTION_TAGS:
            self.error(
                f"YAML tag {quote(node.tag)} is not supported",
                path,
                code="yaml-syntax",
                hint="remove the tag",
            )
        outer = self.place
        if id(node) not in self.done:
            self.done.add(id(node))
            self.place = _mark(node)
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path, depth)
            return [
                self.convert(item, (*path, index), depth + 1)
                for index, item in enumerate(node.value)
            ]
        finally:
            self.open.discard(id(node))
            self.place = outer

    def mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            self.count(key_node, depth + 1)
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":null"):
                self.positions[(*path, "<key>")] = _mark(key_node)
                self.error(
                    "a mapping key must be a plain name",
                    (*path, "<key>"),
                    code="yaml-syntax",
                    hint="write the key as a plain word, such as 'name'",
                )
                continue
            key = key_node.value
            if len(key) > MAX_SCALAR_CHARS:
                self.key_positions[(*path, "<key>")] = _mark(key_node)
                self.error(
                    _too_long(key), (*path, "<key>"), key=True, code="limit", hint="shorten it"
                )
                continue
            if key == "<<":
                self.key_positions[(*path, key)] = _mark(key_node)
                self.error(
                    "merge keys ('<<') are not supported",
                    (*path, key),
                    key=True,
                    code="yaml-syntax",
                    hint="write the fields out",
                )
                continue
            if key in result:
                if not self.record:
                    raise _Unrecorded
                first = self.key_positions[(*path, key)]
                self.key_positions[(*path, f"{key}<dup>")] = _mark(key_node)
                self.error(
                    f"duplicate key {quote(key)} (first defined at line {first[0]})",
                    (*path, f"{key}<dup>"),
                    key=True,
                    code="yaml-syntax",
                    hint="remove one of the two",
                )
                continue
            # One tuple for both tables: a large project has hundreds of thousands of keys.
            child = (*path, key)
            if self.record:
                self.key_positions[child] = _mark(key_node)
            result[key] = self.convert(value_node, child, depth + 1)
        return result


def _too_long(value: str) -> str:
    return f"this value is {len(value)} characters long, more than the {MAX_SCALAR_CHARS} allowed"


def _scalar(node: yaml.Node, path: Path, walk: _Walk) -> Any:
    tag: str = node.tag
    value: str = node.value
    if len(value) > MAX_SCALAR_CHARS:
        walk.error(_too_long(value), path, code="limit", hint="shorten it")
        return value[:MAX_SCALAR_CHARS]
    if tag == _STR:  # most values: tried first
        return value
    if tag.endswith(":bool"):
        return value.lower() == "true"
    if tag.endswith(":int"):
        try:
            return int(value, 0) if value.startswith(("0o", "0x")) else int(value)
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
            walk.error(
                f"the number {quote(value)} is too long", path, code="limit", hint="shorten it"
            )
            return 0
    if tag.endswith(":float"):
        lowered = value.lower()
        if lowered.endswith("inf"):
            return float("-inf") if lowered.startswith("-") else float("inf")
        return float("nan") if lowered == ".nan" else float(value)
    if tag.endswith(":null"):
        return None
    if tag.endswith(":str"):
        return value
    walk.error(
        f"YAML tag {quote(tag)} is not supported", path, code="yaml-syntax", hint="remove the tag"
    )
    return value


def yaml11_boolean_hint(value: object) -> str:
    """A hint for strings that YAML 1.1 would have read as booleans.

    >>> yaml11_boolean_hint("yes")
    " ('yes' is a string here: write true or false)"
    """
    if isinstance(value, str) and value.lower() in _YAML11_BOOLEANS:
        return f" ('{value}' is a string here: write true or false)"
    return ""
