"""Shared fixtures: the shipped definitions, the demo database, and a small-project builder."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import metrics_layer as ml

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/<dialect>/*.sql from the current compiler",
    )


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def demo_db() -> Path:
    """The embedded demo DuckDB file (created once, shared by every test)."""
    from metrics_layer.demo import ensure_demo

    return ensure_demo()


@pytest.fixture(scope="session")
def layer(demo_db: Path) -> ml.SemanticLayer:
    """The shipped KPI library, on the demo database."""
    return ml.load(DEFINITIONS, connection=f"duckdb:///{demo_db}")


@pytest.fixture(scope="session")
def demo_sql(demo_db: Path) -> Callable[[str], list[tuple[object, ...]]]:
    """Run hand-written SQL on the demo database (read-only), for independent expectations."""
    import duckdb

    connection = duckdb.connect(str(demo_db), read_only=True)

    def run(sql: str) -> list[tuple[object, ...]]:
        return [tuple(row) for row in connection.execute(sql).fetchall()]

    return run


@pytest.fixture
def write_project(tmp_path: Path) -> Callable[..., Path]:
    """Write a project from {relative path: YAML text}; returns its folder."""

    def write(files: dict[str, str]) -> Path:
        for name, text in files.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return tmp_path

    return write


def require_service(name: str, available: bool, reason: str) -> None:
    """Skip loudly when a service is missing; in CI (CI=true) its absence is a failure."""
    if available:
        return
    message = f"{name} is not reachable: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI requires it)")
    pytest.skip(message)
