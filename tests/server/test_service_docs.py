"""The request and response examples of docs/service.md are what the service answers.

Each ```http block that starts with a method is a request; the ```http block after it, the
response: its status, its content type, and its body (JSON compared as data: an object in the
page may leave keys out, and ``timings`` are not compared; other bodies as text).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "service.md"


def http_blocks() -> list[str]:
    blocks: list[str] = []
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        if lines[index].strip() == "```http":
            end = lines.index("```", index + 1)
            blocks.append("\n".join(lines[index + 1 : end]))
            index = end
        index += 1
    return blocks


def parse(block: str) -> tuple[str, dict[str, str], str]:
    head, _, body = block.partition("\n\n")
    first, *rest = head.splitlines()
    headers = dict(line.split(": ", 1) for line in rest)
    return first, headers, body


def examples() -> list[tuple[str, str]]:
    blocks = http_blocks()
    pairs = [
        (blocks[i], blocks[i + 1])
        for i in range(len(blocks) - 1)
        if not blocks[i].startswith("HTTP/") and blocks[i + 1].startswith("HTTP/")
    ]
    assert len(pairs) >= 6
    return pairs


def contains(shown: Any, got: Any, where: str = "") -> None:
    """``got`` holds ``shown``: objects by the keys shown, lists and values exactly."""
    if isinstance(shown, dict):
        assert isinstance(got, dict), where
        for key, value in shown.items():
            if key != "timings":
                assert key in got, f"{where}.{key}"
                contains(value, got[key], f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(got, list), where
        assert len(got) == len(shown), where
        for index, (a, b) in enumerate(zip(shown, got, strict=True)):
            contains(a, b, f"{where}[{index}]")
    else:
        assert shown == got, f"{where}: {shown!r} != {got!r}"


@pytest.mark.parametrize(("request_block", "response_block"), examples())
def test_the_page_shows_what_the_service_answers(
    client: Any, request_block: str, response_block: str
) -> None:
    line, headers, body = parse(request_block)
    method, path = line.split(" ", 1)
    response = client.request(
        method, path, headers=headers, content=body.encode() if body else None
    )
    status_line, shown_headers, shown_body = parse(response_block)
    assert response.status_code == int(status_line.split()[1]), response.text
    assert response.headers["content-type"].startswith(shown_headers["Content-Type"])
    if shown_headers["Content-Type"] == "application/json":
        contains(json.loads(shown_body), response.json())
    else:
        assert response.text.replace("\r\n", "\n") == shown_body + "\n"
