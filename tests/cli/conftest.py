"""No CLI test takes a default from the environment."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_environment_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METRICS_LAYER_PATH", raising=False)
    monkeypatch.delenv("METRICS_LAYER_URL", raising=False)
