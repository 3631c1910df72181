"""Mutated copies of the shipped definitions load or fail with located diagnostics, nothing else."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metrics_layer as ml

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
FILES = sorted(p.relative_to(DEFINITIONS).as_posix() for p in DEFINITIONS.rglob("*.yml"))
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*|\d+(?:\.\d+)?|'[^'\n]*'|\"[^\"\n]*\"|\S")
INSERTS = st.text(
    alphabet=st.sampled_from(list(" \t\n:-{}[],'\"#&*!|>%@`?<=~\\\x00\x85\ufeffa1"))
    | st.characters(codec="utf-8"),
    min_size=1,
    max_size=6,
)


@dataclass(frozen=True)
class Mutation:
    kind: str
    at: int
    other: int
    amount: int
    text: str

    def apply(self, source: str) -> str:
        lines = source.split("\n")
        line = self.at % len(lines)
        if self.kind == "delete":
            del lines[line]
        elif self.kind == "duplicate":
            lines.insert(line, lines[line])
        elif self.kind == "swap":
            other = self.other % len(lines)
            lines[line], lines[other] = lines[other], lines[line]
        elif self.kind == "indent":
            stripped = lines[line].lstrip(" ")
            width = max(0, len(lines[line]) - len(stripped) + self.amount)
            lines[line] = " " * width + stripped
        elif self.kind == "token":
            tokens = list(TOKEN.finditer(source))
            if not tokens:
                return source
            target = tokens[self.at % len(tokens)]
            replacement = tokens[self.other % len(tokens)].group()
            return source[: target.start()] + replacement + source[target.end() :]
        elif self.kind == "insert":
            position = self.at % (len(source) + 1)
            return source[:position] + self.text + source[position:]
        elif self.kind == "truncate":
            return source[: self.at % (len(source) + 1)]
        return "\n".join(lines)


mutations = st.builds(
    Mutation,
    kind=st.sampled_from(["delete", "duplicate", "swap", "indent", "token", "insert", "truncate"]),
    at=st.integers(min_value=0, max_value=100_000),
    other=st.integers(min_value=0, max_value=100_000),
    amount=st.integers(min_value=-6, max_value=6).filter(bool),
    text=INSERTS,
)


def diagnostics_of(project: Path) -> tuple[ml.Diagnostic, ...]:
    """Nothing when the project loads; the diagnostics of its DefinitionError otherwise."""
    try:
        ml.load(project)
    except ml.DefinitionError as error:
        return error.diagnostics or (ml.Diagnostic(ml.Level.ERROR, "no diagnostics"),)
    return ()


def test_mutations_change_the_text() -> None:
    source = "a: 1\nb:\n  - c\n"
    assert Mutation("delete", 0, 0, 0, "").apply(source) == "b:\n  - c\n"
    assert Mutation("duplicate", 0, 0, 0, "").apply(source) == "a: 1\na: 1\nb:\n  - c\n"
    assert Mutation("swap", 0, 1, 0, "").apply(source) == "b:\na: 1\n  - c\n"
    assert Mutation("indent", 2, 0, -2, "").apply(source) == "a: 1\nb:\n- c\n"
    assert Mutation("token", 0, 2, 0, "").apply(source) == "1: 1\nb:\n  - c\n"
    assert Mutation("insert", 1, 0, 0, "\t").apply(source) == "a\t: 1\nb:\n  - c\n"
    assert Mutation("truncate", 6, 0, 0, "").apply(source) == "a: 1\nb"


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    file=st.sampled_from(FILES),
    changes=st.lists(mutations, min_size=1, max_size=3),
)
def test_mutated_definitions_load_or_fail_with_located_diagnostics(
    file: str, changes: list[Mutation]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "definitions"
        shutil.copytree(DEFINITIONS, project)
        target = project / file
        text = target.read_text(encoding="utf-8")
        for change in changes:
            text = change.apply(text)
        target.write_text(text, encoding="utf-8")
        found = diagnostics_of(project)
        for diagnostic in found:
            assert diagnostic.file is not None, str(diagnostic)
            assert Path(diagnostic.file).is_relative_to(project), str(diagnostic)
        assert not found or any(d.level is ml.Level.ERROR for d in found)
