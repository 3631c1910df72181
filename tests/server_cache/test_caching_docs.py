"""docs/caching.md shows what the code does: its Python example prints the text under it, and
the log line it shows is the one a Redis that is down gives."""

from __future__ import annotations

import contextlib
import io
import logging
from typing import Any

import pytest

from metrics_layer.server.redis_cache import RedisCache
from tests.test_docs import ROOT, blocks

PAGE = "caching.md"


def test_the_python_example_prints_what_the_page_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("METRICS_LAYER_URL", raising=False)
    found = list(blocks(PAGE))
    examples = [i for i, (language, _, _) in enumerate(found) if language == "python"]
    assert len(examples) == 1
    (index,) = examples
    _, line, text = found[index]
    namespace: dict[str, Any] = {"__name__": "docs.caching"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(text, f"docs/{PAGE}:{line}", "exec"), namespace)
    assert found[index + 1][0] == "text"
    assert printed.getvalue().rstrip("\n") == found[index + 1][2]


def test_the_log_line_is_the_one_redis_down_gives(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    shown = [text for language, _, text in blocks(PAGE) if "cannot be used" in text]
    assert len(shown) == 1
    cache = RedisCache(f"redis://:pw@127.0.0.1:{closed_port}/0", namespace="docs")
    with caplog.at_level(logging.WARNING, logger="metrics_layer.server.cache"):
        cache.get_or_compute("k", lambda: b"rows", 60)
    assert caplog.messages == [shown[0].replace("6390", str(closed_port))]
