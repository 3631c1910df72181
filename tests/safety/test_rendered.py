"""The statement guard's table of rendered forms is current and complete: every construct the
allow-lists admit, rendered for an engine, passes the guard for that engine."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from metrics_layer.safety import samples
from metrics_layer.safety.statement import verify


def test_rendered_table_is_current() -> None:
    committed = Path(samples.__file__).with_name("rendered.py").read_text(encoding="utf-8")
    assert committed == samples.module_text(), "run `make allowlist` and review the diff"


@pytest.mark.parametrize("dialect", samples.ENGINE_DIALECTS)
def test_every_allowed_construct_passes_the_guard_as_rendered(dialect: str) -> None:
    checked = 0
    for text in samples.samples():
        try:
            rendering = sqlglot.parse_one(text).sql(dialect, unsupported_level=ErrorLevel.IGNORE)
        except sqlglot.errors.SqlglotError:
            continue
        verify(rendering, dialect)
        checked += 1
    assert checked > 150
