"""The examples of docs/experiments.md run, and print what the page shows under them."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w*)[ \t]*$")


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, in order."""
    out: list[tuple[str, str]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        out.append((match.group(1), "\n".join(lines[index + 1 : end])))
        index = end + 1
    return out


def test_examples_print_what_the_page_shows(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("METRICS_LAYER_URL", f"duckdb:///{demo_db}")
    found = blocks((ROOT / "docs" / "experiments.md").read_text(encoding="utf-8"))
    namespace: dict[str, Any] = {"__name__": "docs.experiments"}
    compared = 0
    for (language, body), following in zip(found, [*found[1:], ("", "")], strict=True):
        if language != "python":
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(body, "docs/experiments.md", "exec"), namespace)
        if following[0] == "text":
            assert printed.getvalue().strip() == following[1].strip()
            compared += 1
    assert compared == 3
