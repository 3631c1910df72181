"""Every example of docs/checks/check-messages.md does what the page says: the Bad example
reports its section's code, the Good one reports no error and not that code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer.checks.codes import CODES

PAGE = Path(__file__).resolve().parents[2] / "docs" / "checks" / "check-messages.md"
SECTION = re.compile(r"^## `([a-z-]+)`\n", re.M)
BLOCK = re.compile(r"```yaml\n# file: (\S+)\n(.*?)```", re.S)


def sections() -> dict[str, str]:
    text = PAGE.read_text(encoding="utf-8")
    found = list(SECTION.finditer(text))
    return {
        m.group(1): text[m.end() : found[i + 1].start() if i + 1 < len(found) else len(text)]
        for i, m in enumerate(found)
    }


def example(body: str, label: str) -> dict[str, str]:
    part = body.split("\nBad:\n")[1] if label == "Bad" else body.split("\nGood:\n")[1]
    if label == "Bad":
        part = part.split("\nGood:\n")[0]
    return dict(BLOCK.findall(part))


def run(tmp_path: Path, files: dict[str, str]) -> list[ml.Diagnostic]:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    _, diagnostics = ml.check(tmp_path)
    return diagnostics


OWNED = [
    "empty-project",
    "yaml-syntax",
    "duplicate-name",
    "unknown-reference",
    "expression",
    "cycle",
    "join",
    "definition",
    "not-computable",
    "changelog",
    "certification",
]


def test_the_page_has_a_section_per_code_in_the_registry_format() -> None:
    found = sections()
    assert sorted(found) == sorted(OWNED)
    for code, body in found.items():
        level, summary = CODES[code].level.value, CODES[code].summary
        assert body.lstrip().startswith(f"**{level}** · {summary}\n")


@pytest.mark.parametrize("code", OWNED)
def test_bad_example_reports_the_code(tmp_path: Path, code: str) -> None:
    diagnostics = run(tmp_path, example(sections()[code], "Bad"))
    assert code in {d.code for d in diagnostics}, [str(d) for d in diagnostics]


@pytest.mark.parametrize("code", OWNED)
def test_good_example_passes_without_the_code(tmp_path: Path, code: str) -> None:
    diagnostics = run(tmp_path, example(sections()[code], "Good"))
    assert not [d for d in diagnostics if d.level is ml.Level.ERROR], [str(d) for d in diagnostics]
    assert code not in {d.code for d in diagnostics}
