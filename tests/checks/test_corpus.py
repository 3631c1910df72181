"""A corpus of small broken projects, each with the diagnostics a reviewer must see.

Each ``corpus/<case>/`` holds ``project/`` (the definitions) and ``expected.yml``: the
diagnostics of one ``ml.check`` run, in order (by file, line, column), each with its code, file,
line, column and a phrase of its message (``says``) and, where it matters, of its hint. The
expectations are written by hand from the files, never copied from the output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import metrics_layer as ml
from metrics_layer.checks.codes import CODES

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.yml").is_file())


def expected_of(case: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CORPUS / case / "expected.yml").read_text("utf-8"))
    return loaded


@pytest.mark.parametrize("case", CASES)
def test_each_case_reports_exactly_what_is_expected(case: str) -> None:
    expected = expected_of(case)
    project = CORPUS / case / "project"
    graph, found = ml.check(project)
    shown = [str(d) for d in found]
    places = [
        (d.code, Path(d.file).relative_to(project).as_posix() if d.file else None, d.line, d.column)
        for d in found
    ]
    wanted_places = [
        (e["code"], e["file"], e.get("line"), e.get("column")) for e in expected["diagnostics"]
    ]
    assert places == wanted_places, shown
    for diagnostic, wanted in zip(found, expected["diagnostics"], strict=True):
        assert wanted["says"] in diagnostic.message, shown
        if "hint" in wanted:
            assert diagnostic.hint is not None
            assert wanted["hint"] in diagnostic.hint, shown
        if "level" in wanted:
            assert diagnostic.level.value == wanted["level"]
    if "metrics" in expected:
        assert graph is not None
        assert sorted(graph.metrics) == sorted(expected["metrics"])


@pytest.mark.parametrize("case", CASES)
def test_every_diagnostic_has_a_registered_code_a_hint_and_a_place(case: str) -> None:
    _, found = ml.check(CORPUS / case / "project")
    assert found
    for diagnostic in found:
        assert diagnostic.code in CODES, diagnostic
        assert diagnostic.hint, diagnostic
        assert diagnostic.file is not None, diagnostic
        assert str(diagnostic) == (
            f"{diagnostic.where}: {diagnostic.level.value}: {diagnostic.message}; {diagnostic.hint}"
        )


@pytest.mark.parametrize("case", CASES)
def test_load_raises_listing_every_error_of_the_case(case: str) -> None:
    expected = [d for d in expected_of(case)["diagnostics"] if d.get("level", "error") == "error"]
    if not expected:
        ml.load(CORPUS / case / "project")
        return
    with pytest.raises(ml.DefinitionError) as caught:
        ml.load(CORPUS / case / "project")
    text = str(caught.value)
    if len(expected) > 1:
        assert text.startswith(f"{len(expected)} error(s) in the definitions:")
    for wanted in expected:
        if wanted.get("line") is not None:
            assert f"{wanted['file']}:{wanted['line']}:{wanted['column']}: error: " in text
        assert wanted["says"] in text
