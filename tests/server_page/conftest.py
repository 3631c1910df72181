"""Fixtures for the catalogue page: the shipped definitions plus metrics that exercise it (a
hostile draft one with a kept version, a deprecated one), the real app under uvicorn on a
loopback port, and Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metrics_layer.server.app import create_app
from metrics_layer.server.config import ServerConfig
from tests.conftest import DEFINITIONS

with warnings.catch_warnings():
    # Starlette asks for another HTTP client package than the one FastAPI documents.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
"""Screenshots of the page (ignored by git)."""

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
HOSTILE_CHANGE = "Only the pro plan <script>window.__pwned = 3</script>."

PAGE_METRICS = f"""\
metrics:
  - name: pro_signups
    label: "Pro signups <b>bold</b>"
    description: '{HOSTILE} Signups on the pro plan & the rest.'
    owner: "<i>growth</i>"
    status: draft
    tags: [acquisition, "<svg onload=alert(1)>"]
    synonyms: [pro_registrations]
    type: simple
    measure: users.signups
    filter: "plan = 'pro'"
    version: 2
    changelog:
      - {{version: 2, date: 2026-12-01, change: "{HOSTILE_CHANGE}"}}
      - {{version: 1, date: 2026-11-01, change: First version.}}
    versions:
      - version: 1
        type: simple
        measure: users.signups
        filter: "plan != 'free'"
  - name: registrations_old
    label: Registrations (old name)
    description: The old name of signups.
    owner: growth
    status: deprecated
    replaced_by: signups
    sunset: 2027-03-31
    type: simple
    measure: users.signups
    version: 1
    changelog:
      - {{version: 1, date: 2026-11-25, change: First definition.}}
"""

API_KEY = "page-test-key-" + "p" * 32
ACCESS_YML = f"""\
api_keys:
  - subject: dashboard
    sha256: {hashlib.sha256(API_KEY.encode()).hexdigest()}
    roles: [tenant]
policies:
  - name: tenant
    when: {{roles: [tenant]}}
    metrics: {{deny: [mrr, churned_mrr]}}
"""


@pytest.fixture(scope="session")
def page_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped definitions plus ``PAGE_METRICS``."""
    folder = tmp_path_factory.mktemp("page") / "definitions"
    shutil.copytree(DEFINITIONS, folder)
    (folder / "metrics" / "catalogue_page.yml").write_text(PAGE_METRICS)
    return folder


@pytest.fixture(scope="session")
def access_file(page_project: Path) -> Path:
    path = page_project.parent / "access.yml"
    path.write_text(ACCESS_YML)
    return path


@pytest.fixture(scope="module")
def page_client(demo_db: Path, page_project: Path) -> Iterator[TestClient]:
    """The app in process (no server): for the routes' own tests."""
    config = ServerConfig(
        project=page_project, connection=f"duckdb:///{demo_db}", allow_anonymous=True
    )
    with TestClient(create_app(config), raise_server_exceptions=False) as client:
        yield client


class Served:
    """The real app under uvicorn on a loopback port, in a thread of this process."""

    def __init__(self, config: ServerConfig) -> None:
        import uvicorn

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server = uvicorn.Server(
            uvicorn.Config(create_app(config), log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert self.thread.is_alive(), "the service stopped while starting"
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


@pytest.fixture(scope="module")
def served(demo_db: Path, page_project: Path) -> Iterator[Served]:
    """An anonymous service on the page project and the demo DuckDB."""
    config = ServerConfig(
        project=page_project, connection=f"duckdb:///{demo_db}", allow_anonymous=True
    )
    with Served(config) as found:
        yield found


@pytest.fixture(scope="module")
def served_secured(demo_db: Path, page_project: Path, access_file: Path) -> Iterator[Served]:
    """A service that needs an API key (``API_KEY``), whose policy hides mrr and churned_mrr."""
    config = ServerConfig(
        project=page_project, connection=f"duckdb:///{demo_db}", access_file=access_file
    )
    with Served(config) as found:
        yield found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless; the tests skip without it (docs/service.md says so)."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"the browser tests need Debian's Chromium at {CHROMIUM} "
            "(apt-get install -y chromium chromium-driver)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()


class Watched:
    """A browser page with what it logged: console errors, uncaught errors, every request."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[Any] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("request", lambda r: self.requests.append(r))
        page.set_default_timeout(10_000)

    def reset(self) -> None:
        """Forget what was logged so far."""
        self.errors.clear()
        self.requests.clear()


@contextlib.contextmanager
def watching(browser: Any) -> Iterator[Watched]:
    """A new page in a browser context of its own."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield Watched(context.new_page())
    finally:
        context.close()
