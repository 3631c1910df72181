"""docs/ci.md shows what ``metrics-layer check`` prints: each ``$ metrics-layer check defs``
example is run on the page's own ``defs/a.yml`` and its output compared line by line (the SARIF
log, shown with rules left out at ``...``, by its lines in order)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from metrics_layer.cli.main import main

PAGE = Path(__file__).resolve().parents[2] / "docs" / "ci.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def blocks() -> list[tuple[str, str]]:
    return BLOCK.findall(PAGE.read_text(encoding="utf-8"))


def the_project() -> str:
    """The page's ``defs/a.yml``: the first yaml block after it names the folder."""
    text = PAGE.read_text(encoding="utf-8")
    after = text[text.index("Each example checks the folder `defs`") :]
    found = BLOCK.search(after)
    assert found is not None
    assert found.group(1) == "yaml"
    return found.group(2)


EXAMPLES = [
    body
    for language, body in blocks()
    if language == "text" and body.startswith("$ metrics-layer check defs")
]


def test_the_page_shows_every_format() -> None:
    shown = {body.splitlines()[0] for body in EXAMPLES}
    formats = ("json", "github", "sarif", "markdown")
    assert shown == {"$ metrics-layer check defs"} | {
        f"$ metrics-layer check defs --format {f}" for f in formats
    }


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda body: body.splitlines()[0])
def test_an_example_prints_what_the_page_shows(
    example: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "a.yml").write_text(the_project(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"):
        monkeypatch.delenv(name, raising=False)
    command, *shown = example.rstrip("\n").splitlines()
    assert main(command.split()[2:]) == 1
    captured = capsys.readouterr()
    printed = (captured.out or captured.err).rstrip("\n").splitlines()
    if "--format sarif" in command:
        kept = iter(printed)
        missing = [line for line in shown if line.strip() != "..." and line not in kept]
        assert not missing, missing[:3]
    else:
        assert printed == shown
