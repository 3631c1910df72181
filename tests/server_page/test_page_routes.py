"""``GET /`` and its files on the real app: served from the package, nothing from another host,
no data without the API, and only the files the page is made of."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from metrics_layer.server.app import create_app
from metrics_layer.server.config import ServerConfig
from metrics_layer.server.page import ASSETS, CONTENT_SECURITY_POLICY, PAGE_PATHS, STATIC

from .conftest import API_KEY, TestClient

ROOT = Path(__file__).resolve().parents[2]


def test_the_page_is_html_with_a_strict_content_security_policy(page_client: Any) -> None:
    answer = page_client.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    policy = answer.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(part.split(" ", 1) for part in policy.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"  # no inline script, no eval, no other host
    assert directives["connect-src"] == "'self'"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"


def test_the_page_loads_only_its_own_files(page_client: Any) -> None:
    html = page_client.get("/").text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"
    assert " style=" not in html
    assert "<style" not in html
    references = re.findall(r'\b(?:src|href)="([^"]*)"', html)
    assert references
    for reference in references:
        if reference.startswith("#"):
            continue
        assert reference.startswith("/static/"), reference
        answer = page_client.get(reference)
        assert answer.status_code == 200, reference
        assert answer.headers["content-type"] == ASSETS[reference.removeprefix("/static/")]
        assert answer.headers["x-content-type-options"] == "nosniff"


OWN_FILES = [
    "index.html",
    "page.css",
    *(name for name in ASSETS if name.endswith(".js") and "/" not in name),
]


@pytest.mark.parametrize("name", OWN_FILES)
def test_no_file_of_the_page_names_another_host(name: str) -> None:
    text = (STATIC / name).read_text()
    assert not re.search(r"(?i)\b(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text), name


@pytest.mark.parametrize("name", [name for name in OWN_FILES if name.endswith(".js")])
def test_the_scripts_never_write_html(name: str) -> None:
    """Every text from the definitions is set as text: no HTML parsing sink in the scripts."""
    script = (STATIC / name).read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink
    assert "new Function" not in script


@pytest.mark.parametrize(
    "name",
    [
        "",
        "nope.js",
        "../page.py",
        "..%2fpage.py",
        "uplot/../../page.py",
        "%2e%2e/app.py",
        "/etc/passwd",
        "index.html/",
        "uplot/README.md",
        "PAGE.JS",
    ],
)
def test_only_the_page_files_are_served(page_client: Any, name: str) -> None:
    answer = page_client.get(f"/static/{name}")
    assert answer.status_code == 404
    assert answer.json()["error"]["type"] == "not_found"
    assert "import" not in answer.text  # no source of the server


def test_an_unchanged_file_is_not_sent_again(page_client: Any) -> None:
    first = page_client.get("/static/page.js")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = page_client.get("/static/page.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = page_client.get("/static/page.js", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200
    assert other.content == (STATIC / "page.js").read_bytes()


def test_the_page_is_not_part_of_the_api_document(page_client: Any) -> None:
    paths = page_client.get("/openapi.json").json()["paths"]
    assert not set(paths) & PAGE_PATHS
    assert "/v1/metrics" in paths


def test_a_secured_service_serves_the_page_but_no_data_without_credentials(
    demo_db: Path, page_project: Path, access_file: Path
) -> None:
    config = ServerConfig(
        project=page_project, connection=f"duckdb:///{demo_db}", access_file=access_file
    )
    with TestClient(create_app(config), raise_server_exceptions=False) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert "signups" not in page.text
        assert "product_ops" not in page.text
        assert client.get("/static/page.js").status_code == 200
        assert client.get("/v1/metrics").status_code == 401
        seen = client.get("/v1/metrics", headers={"X-API-Key": API_KEY}).json()["metrics"]
        assert "signups" in {m["name"] for m in seen}


def test_the_vendored_chart_library_is_the_published_one_with_its_licence() -> None:
    """uPlot's files match the checksums its README records, and its MIT licence is beside."""
    folder = STATIC / "uplot"
    readme = (folder / "README.md").read_text()
    for name in ("uPlot.iife.min.js", "uPlot.min.css"):
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        assert f"`{name}` | `dist/{name}` | `{digest}`" in readme, name
    assert "npm package `uplot@1.6.32`" in readme
    assert (
        (folder / "uPlot.iife.min.js")
        .read_text()
        .startswith("/*! https://github.com/leeoniya/uPlot (v1.6.32) */")
    )
    licence = (folder / "LICENSE").read_text()
    assert licence.startswith("The MIT License (MIT)")
    assert "Leon Sorokin" in licence


def test_every_file_of_the_page_is_package_data() -> None:
    """A wheel holds what the page needs: each file matches a package-data pattern (a glob:
    ``*`` does not cross a folder)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["metrics_layer"]
    package = ROOT / "metrics_layer"
    for name in ["index.html", *ASSETS]:
        path = (STATIC / name).relative_to(package).as_posix()
        globs = [re.escape(p).replace(r"\*", "[^/]*") for p in patterns]
        assert any(re.fullmatch(glob, path) for glob in globs), path
