"""Shared fixtures: the shipped definitions, the demo database, and a small-project builder."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

import metrics_layer as ml

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"

# The test servers (SQLAlchemy URLs); each may be moved to another database by its variable,
# so that two checkouts can run the suite at once without reloading each other's demo tables.
POSTGRES_URL = os.environ.get(
    "ML_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB_URL = os.environ.get("ML_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")

# ``pytest --hypothesis-profile=fuzz`` (``make fuzz``) and ``--hypothesis-profile=nightly``
# (``make nightly``): longer searches for the property tests that take their number of examples
# from the profile (tests/api/test_fuzz_queries.py, tests/safety/test_filter_allowlist.py); the
# default profile runs 100 each (400 for the filter property). The differential test
# (tests/differential/, ``make differential``) runs a fixed, derandomized set by default and a
# random search of the profile's size under fuzz and nightly.
settings.register_profile("fuzz", max_examples=5_000)
settings.register_profile("nightly", max_examples=10_000)

# The test tiers. The default suite (``pytest -n 2``, CI) leaves out what ``ML_TESTS=full``
# adds: the whole engine matrix (tests/engines/matrix.py runs a tier of it by default) and the
# tests marked ``full_tier`` (each names where the default suite proves the same thing more
# cheaply). ``make full`` runs them; ``make nightly`` runs them too (docs/engines.md, "Test
# tiers").
FULL = os.environ.get("ML_TESTS", "").strip().lower() == "full"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/<dialect>/*.sql from the current compiler",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "full_tier: a slow test run only with ML_TESTS=full (make full, make nightly)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the ``full_tier`` tests out of the default suite (they run with ML_TESTS=full)."""
    if FULL:
        return
    left = [item for item in items if item.get_closest_marker("full_tier") is not None]
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = [item for item in items if item.get_closest_marker("full_tier") is None]


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
def demo_sql(layer: ml.SemanticLayer) -> Iterator[Callable[[str], list[tuple[object, ...]]]]:
    """Run hand-written SQL on the demo database, for independent expectations.

    The SQL goes as written to the DBAPI cursor of the layer's own read-only DuckDB instance:
    DuckDB refuses a second in-process connection to one file with another configuration.
    """
    raw = layer.connection.engine.raw_connection()

    def run(sql: str) -> list[tuple[object, ...]]:
        cursor = raw.cursor()
        try:
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    yield run
    raw.close()


@pytest.fixture(scope="session")
def spark_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, object]:
    """(``spark://local?warehouse=...`` holding the demo, what its first load returned).

    One warehouse per test process: Spark's catalog is one per process, and refuses the same
    table names from a second warehouse.
    """
    from metrics_layer.demo.load import load_demo

    url = f"{require_pyspark()}?warehouse={tmp_path_factory.mktemp('spark_warehouse')}"
    return url, load_demo(url)


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


def require_pyspark() -> str:
    """``spark://local`` when pyspark is installed (the test extra has it); else skip loudly."""
    import importlib.util

    require_service("Spark", importlib.util.find_spec("pyspark") is not None, "no pyspark")
    return "spark://local"


def require_server(name: str, url: str) -> None:
    """Skip loudly unless the database server at ``url`` answers (fail under CI=true)."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    from metrics_layer.engine.urls import parse

    probe = sqlalchemy.create_engine(
        parse(url), poolclass=NullPool, connect_args={"connect_timeout": 3}
    )
    try:
        with probe.connect():
            pass
    except sqlalchemy.exc.OperationalError as exc:
        require_service(name, False, str(exc.orig).strip().splitlines()[0])
    finally:
        probe.dispose()
