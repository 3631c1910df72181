"""Reading a dbt project's YAML files with the line of every mapping kept.

Only what the importer needs: the files below the project folder (dbt's own output and
installed packages left out), each parsed safely, each mapping a ``Node`` that knows its file
and line, so that everything the importer reports points at ``file:line``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["MAX_FILE_BYTES", "Node", "YamlFile", "read_project"]

# dbt's build output, installed packages and logs: not the project's own definitions.
SKIPPED_FOLDERS = frozenset({"target", "dbt_packages", "dbt_modules", "logs", "node_modules"})
MAX_FILE_BYTES = 1 << 20


class Node(dict[str, Any]):
    """A YAML mapping with the place it was written."""

    file: str = "<unknown>"
    line: int = 0

    @property
    def place(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class YamlFile:
    """One parsed file: its path relative to the project, and its top-level mapping."""

    name: str
    data: Node | None
    error: str | None = None


def _loader(name: str) -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
            value = Node(super().construct_mapping(node, deep=True))  # type: ignore[arg-type]
            value.file = name
            value.line = node.start_mark.line + 1
            return value

    Loader.add_constructor(  # every mapping, also the nested ones, becomes a Node
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
        Loader.construct_mapping,
    )
    return Loader


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if any(p.startswith(".") or p in SKIPPED_FOLDERS for p in parts[:-1]):
            continue
        if path.name.startswith(".") or path.suffix not in (".yml", ".yaml"):
            continue
        if path.is_file():
            yield path


def read_project(root: Path) -> list[YamlFile]:
    """Every YAML file below ``root`` (or ``root`` itself when it is a file), parsed."""
    paths = [root] if root.is_file() else list(_files(root))
    base = root.parent if root.is_file() else root
    out: list[YamlFile] = []
    for path in paths:
        # The root as the caller gave it: the places reported open from where the command ran.
        name = (base / path.relative_to(base)).as_posix()
        if path.stat().st_size > MAX_FILE_BYTES:
            out.append(YamlFile(name, None, f"larger than {MAX_FILE_BYTES} bytes; not read"))
            continue
        try:
            text = path.read_text(encoding="utf-8")
            data = yaml.load(text, Loader=_loader(name))  # a SafeLoader
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            out.append(YamlFile(name, None, f"not valid YAML: {str(exc).splitlines()[0]}"))
            continue
        out.append(YamlFile(name, data if isinstance(data, Node) else None))
    return out
