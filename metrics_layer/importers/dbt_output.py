"""The converted definitions written, checked, and corrected until they check.

Each item (a source's head, an entity, a dimension, a measure, a metric) is written so that a
line of the written files belongs to one item: entities, dimensions and measures one per line
in flow style, metrics one block each. ``metrics_layer.check`` then runs on the files; an item
an error points at is taken out and reported as skipped, with the check's message, and the
files are written and checked again, until no error is left. Warnings become notes.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from metrics_layer.errors import UserError

__all__ = ["FILES", "Checked", "Item", "Skipped", "write_checked"]

FILES = ("metrics_layer.yml", "sources.yml", "metrics.yml")
_DEFINED_AT = re.compile(r"\(defined at (\S+?):(\d+)(?::\d+)?\)")
# A bound on the rounds; each takes out at least one item, so a project ends far sooner.
_ROUNDS = 1000


@dataclass(frozen=True)
class Skipped:
    """Something of the dbt project that is not in the written definitions, and why."""

    place: str
    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.place}: skipped {self.what}: {self.reason}"


@dataclass
class Item:
    """One written item (a source, or an entity, dimension, measure or metric) and the dbt
    place it came from, so that the check's findings lead back there."""

    kind: str
    data: dict[str, Any]
    origin: str
    children: list[Item] = field(default_factory=list)

    @property
    def what(self) -> str:
        return f"{self.kind} '{self.data['name']}'"


@dataclass
class Checked:
    """What the check took out (``skipped``) and what it warned about (``notes``)."""

    skipped: list[Skipped] = field(default_factory=list)
    notes: list[Skipped] = field(default_factory=list)


def write_checked(
    target: Path, name: str, sources: list[Item], metrics: list[Item]
) -> tuple[tuple[Path, ...], Checked]:
    """Write the project ``name`` to ``target`` once it checks; ``sources`` and ``metrics``
    lose the items the check refuses."""
    checked = Checked()
    with tempfile.TemporaryDirectory(prefix="ml-dbt-") as tmp:
        work = Path(tmp)
        for _ in range(_ROUNDS):
            lines = _write(work, name, sources, metrics)
            warnings: list[Skipped] = []
            removed = _refused(work, lines, sources, metrics, warnings)
            if not removed:
                checked.notes += warnings
                break
            checked.skipped += removed
        target.mkdir(parents=True, exist_ok=True)
        files = []
        for file in FILES:
            shutil.copyfile(work / file, target / file)
            files.append(target / file)
    return tuple(files), checked


def _refused(
    work: Path,
    lines: dict[tuple[str, int], Item],
    sources: list[Item],
    metrics: list[Item],
    warnings: list[Skipped],
) -> list[Skipped]:
    """Take out every item the check finds an error in; the skips, with the check's reason.
    The check's warnings about an item (two measures computing the same thing) are added to
    ``warnings``, to be shown as notes."""
    from metrics_layer.api import check
    from metrics_layer.errors import Level

    def dbt_place(match: re.Match[str]) -> str:
        other = lines.get((Path(match.group(1)).name, int(match.group(2))))
        return f"(defined at {other.origin})" if other else match.group(0)

    _graph, diagnostics = check(work)
    out: list[Skipped] = []
    for diagnostic in diagnostics:
        item = lines.get((Path(diagnostic.file or "").name, diagnostic.line or 0))
        if item is None:
            continue
        # A place in the converted files is shown as the dbt place it came from.
        message = _DEFINED_AT.sub(dbt_place, diagnostic.message)
        if diagnostic.level != Level.ERROR:
            warnings.append(Skipped(item.origin, item.what, f"check: {message}"))
            continue
        if not _remove(item, sources, metrics):
            continue
        out.append(Skipped(item.origin, item.what, f"{message} (when checked)"))
    if not out and any(d.level == Level.ERROR for d in diagnostics):
        # An error that points at no single item: nothing can be taken out to fix it.
        first = next(d for d in diagnostics if d.level == Level.ERROR)
        raise UserError(f"the converted definitions do not check: {first}")
    return out


def _remove(item: Item, sources: list[Item], metrics: list[Item]) -> bool:
    if item in metrics:
        metrics.remove(item)
        return True
    if item in sources:
        sources.remove(item)
        return True
    for source in sources:
        if item in source.children:
            source.children.remove(item)
            if item.kind == "dimension" and source.data.get("time") == item.data["name"]:
                source.data.pop("time")
            return True
    return False


def _write(
    folder: Path, name: str, sources: list[Item], metrics: list[Item]
) -> dict[tuple[str, int], Item]:
    """Write the three files; returns which item each written line belongs to."""
    header = "# Converted from dbt semantic models and metrics by `metrics-layer import dbt`.\n"
    project = {"project": {"name": name, "paths": ["."]}}
    (folder / "metrics_layer.yml").write_text(header + _block(project), encoding="utf-8")
    lines: dict[tuple[str, int], Item] = {}
    text = [header, "sources:\n"]
    for source in sources:
        start = sum(t.count("\n") for t in text) + 1
        head = dict(source.data)
        block = _block([head]).replace("\n", "\n  ").rstrip() + "\n"
        text.append("  " + block)
        for offset in range(block.count("\n")):
            lines[("sources.yml", start + offset)] = source
        for kind, key in (
            ("entity", "entities"),
            ("dimension", "dimensions"),
            ("measure", "measures"),
        ):
            children = [c for c in source.children if c.kind == kind]
            if not children:
                continue
            text.append(f"    {key}:\n")
            for child in children:
                lines[("sources.yml", sum(t.count("\n") for t in text) + 1)] = child
                text.append(f"      - {_flow(child.data)}\n")
    if not sources:
        text[-1] = "sources: []\n"
    (folder / "sources.yml").write_text("".join(text), encoding="utf-8")
    text = [header, "metrics:\n" if metrics else "metrics: []\n"]
    for metric in metrics:
        start = sum(t.count("\n") for t in text) + 1
        block = "  " + _block([metric.data]).replace("\n", "\n  ").rstrip() + "\n"
        for offset in range(block.count("\n")):
            lines[("metrics.yml", start + offset)] = metric
        text.append(block)
    (folder / "metrics.yml").write_text("".join(text), encoding="utf-8")
    return lines


def _block(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _flow(data: dict[str, Any]) -> str:
    text = yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, default_flow_style=True, width=10**6
    )
    return text.strip()
