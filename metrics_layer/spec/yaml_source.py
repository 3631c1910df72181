"""Read one YAML file into plain JSON-like data, keeping the position of every node.

YAML is read with the YAML 1.2 core schema, on purpose: only ``true``/``false`` are booleans,
so ``country: no`` is the string ``"no"`` and ``on:`` is the key ``"on"``; dates stay strings and
are parsed by the models. Duplicate keys, tabs used for indentation, aliases of mappings merged
with ``<<`` and non-string keys are errors, never silently resolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

from metrics_layer.errors import Diagnostic, Level

__all__ = ["Path", "Positions", "YamlDocument", "read_yaml"]

Path = tuple[str | int, ...]
Positions = dict[Path, tuple[int, int]]

_BaseLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """A loader that resolves scalars by the YAML 1.2 core schema only."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}


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
    """A parsed file: its data, where each node sits, and what went wrong reading it."""

    file: str
    data: Any
    positions: Positions = field(default_factory=dict)
    key_positions: Positions = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

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

    def error(self, message: str, path: Path, *, key: bool = False, code: str = "yaml") -> None:
        line, column = self.position(path, key=key) or (None, None)
        self.diagnostics.append(Diagnostic(Level.ERROR, message, self.file, line, column, code))


def read_yaml(text: str, file: str) -> YamlDocument:
    """Parse ``text``; problems land in ``diagnostics`` instead of raising.

    >>> doc = read_yaml("metrics:\\n  - name: a\\n    country: no\\n", "x.yml")
    >>> doc.data, doc.positions[("metrics", 0, "name")]
    ({'metrics': [{'name': 'a', 'country': 'no'}]}, (2, 11))
    """
    doc = YamlDocument(file=file, data=None)
    for number, line in enumerate(text.splitlines(), start=1):
        indent = len(line) - len(line.lstrip(" \t"))
        if "\t" in line[:indent]:
            doc.diagnostics.append(
                Diagnostic(
                    Level.ERROR,
                    "a tab is used for indentation; YAML allows spaces only. "
                    "Replace the tab with spaces.",
                    file,
                    number,
                    line.index("\t") + 1,
                    "yaml",
                )
            )
    if doc.diagnostics:
        return doc
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        doc.diagnostics.append(
            Diagnostic(
                Level.ERROR,
                f"invalid YAML: {problem}",
                file,
                mark.line + 1 if mark else None,
                mark.column + 1 if mark else None,
                "yaml",
            )
        )
        return doc
    except yaml.reader.ReaderError as exc:
        row = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        doc.diagnostics.append(
            Diagnostic(
                Level.ERROR,
                f"invalid YAML: character {exc.character!r} is not allowed; remove it",
                file,
                row,
                column,
                "yaml",
            )
        )
        return doc
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        doc.diagnostics.append(
            Diagnostic(Level.ERROR, f"invalid YAML: {message}", file, 1, 1, "yaml")
        )
        return doc
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        doc.data = {}
        return doc
    doc.data = _convert(node, (), doc)
    return doc


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _convert(node: yaml.Node, path: Path, doc: YamlDocument) -> Any:
    doc.positions[path] = _mark(node)
    if isinstance(node, yaml.CollectionNode) and node.tag not in _COLLECTION_TAGS:
        doc.error(f"YAML tag '{node.tag}' is not supported; remove it", path)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":null"):
                doc.positions[(*path, "<key>")] = _mark(key_node)
                doc.error("a mapping key must be a plain name", (*path, "<key>"))
                continue
            key = key_node.value
            if key == "<<":
                doc.key_positions[(*path, key)] = _mark(key_node)
                doc.error(
                    "merge keys ('<<') are not supported; write the fields out",
                    (*path, key),
                    key=True,
                )
                continue
            if key in result:
                first = doc.key_positions[(*path, key)]
                doc.key_positions[(*path, f"{key}<dup>")] = _mark(key_node)
                doc.error(
                    f"duplicate key '{key}' (first defined at line {first[0]}); "
                    "remove one of the two",
                    (*path, f"{key}<dup>"),
                    key=True,
                )
                continue
            doc.key_positions[(*path, key)] = _mark(key_node)
            result[key] = _convert(value_node, (*path, key), doc)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, index), doc) for index, item in enumerate(node.value)]
    return _scalar(node, path, doc)


def _scalar(node: yaml.Node, path: Path, doc: YamlDocument) -> Any:
    tag: str = node.tag
    value: str = node.value
    if tag.endswith(":bool"):
        return value.lower() == "true"
    if tag.endswith(":int"):
        return int(value, 0) if value.startswith(("0o", "0x")) else int(value)
    if tag.endswith(":float"):
        lowered = value.lower()
        if lowered.endswith("inf"):
            return float("-inf") if lowered.startswith("-") else float("inf")
        return float("nan") if lowered == ".nan" else float(value)
    if tag.endswith(":null"):
        return None
    if tag.endswith(":str"):
        return value
    doc.error(f"YAML tag '{tag}' is not supported; remove it", path)
    return value


def yaml11_boolean_hint(value: object) -> str:
    """A hint for strings that YAML 1.1 would have read as booleans.

    >>> yaml11_boolean_hint("yes")
    " ('yes' is a string here: write true or false)"
    """
    if isinstance(value, str) and value.lower() in _YAML11_BOOLEANS:
        return f" ('{value}' is a string here: write true or false)"
    return ""
