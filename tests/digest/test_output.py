"""The digest's output: the CLI writes the same bytes twice for the same data and --today,
hostile labels are escaped in Markdown and HTML, the HTML is self-contained, and it renders in
headless Chromium with its sparklines drawn and no console errors (screenshot kept under
tests/artifacts/; skipped, with the reason, where /usr/bin/chromium is missing)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import metrics_layer as ml
from metrics_layer.cli.main import main
from metrics_layer.digest import Digest
from tests.conftest import DEFINITIONS

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
TODAY = "2026-11-02"
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> | *x* #'
METRICS = ["signups", "mrr", "paid_conversion_rate", "hostile_signups"]

HOSTILE_METRIC = f"""\
metrics:
  - name: hostile_signups
    label: '{HOSTILE}'
    description: Signups, under a label that tries to run a script.
    owner: growth
    status: draft
    type: simple
    measure: users.signups
    filter: "plan = 'pro'"
    version: 1
    changelog:
      - {{version: 1, date: 2026-11-01, change: First version.}}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("digest") / "definitions"
    shutil.copytree(DEFINITIONS, folder)
    (folder / "metrics" / "hostile.yml").write_text(HOSTILE_METRIC, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def digest(project: Path, demo_db: Path) -> Digest:
    layer = ml.load(project, connection=f"duckdb:///{demo_db}")
    return layer.digest(METRICS, by="user.plan", today=TODAY)


def run_cli(project: Path, out: Path, fmt: str) -> bytes:
    argv = ["digest", *METRICS, "--by", "user.plan", "--today", TODAY, "--format", fmt]
    assert main([*argv, "--out", str(out), "--project", str(project)]) == 0
    return out.read_bytes()


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_two_runs_are_byte_identical(project: Path, tmp_path: Path, fmt: str) -> None:
    first = run_cli(project, tmp_path / "one", fmt)
    second = run_cli(project, tmp_path / "two", fmt)
    assert first == second
    assert b"2026-10-26" in first


def test_cli_refuses_a_bad_today_naming_the_flag(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["digest", "signups", "--today", "yesterday", "--project", str(project)])
    err = capsys.readouterr().err
    assert code != 0
    assert "--today" in err
    assert "YYYY-MM-DD" in err
    assert "Traceback" not in err


def test_hostile_label_is_escaped_in_html(digest: Digest) -> None:
    page = digest.to_html()
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert "onerror=&quot;window.__pwned" in page


def test_hostile_label_is_escaped_in_markdown(digest: Digest) -> None:
    text = digest.to_markdown()
    assert "<script" not in text
    assert "<img" not in text
    row = next(line for line in text.splitlines() if "pwned = 1" in line)
    assert r"\| \*x\* \#" in row
    # Six cells between unescaped pipes: the label's pipe does not open a column.
    assert len(re.split(r"(?<!\\)\|", row)) == 8


def test_html_is_self_contained(digest: Digest) -> None:
    page = digest.to_html()
    assert "http://" not in page
    assert "https://" not in page
    assert "<link" not in page
    assert "src=" not in page.replace("src=x", "")
    assert page.count('<svg class="spark"') == len(METRICS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"the browser test needs Debian's Chromium at {CHROMIUM} "
            "(apt-get install -y chromium chromium-driver)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()


def test_html_renders_in_chromium(browser: Any, digest: Digest, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    try:
        file = tmp_path / "digest.html"
        file.write_text(digest.to_html(), encoding="utf-8")
        page.goto(file.as_uri())
        boxes = page.eval_on_selector_all(
            "#kpis svg.spark path",
            "paths => paths.map(p => { const b = p.getBBox(); "
            "return [p.getTotalLength(), b.width, b.height]; })",
        )
        assert len(boxes) == len(METRICS)
        assert all(length > 50 and width > 100 for length, width, _ in boxes), boxes
        rows = page.eval_on_selector_all("#kpis tbody tr", "rows => rows.length")
        assert rows == len(METRICS)
        assert page.evaluate("window.__pwned") is None
        hostile = page.inner_text("#kpis tr[data-metric=hostile_signups] td")
        assert hostile == re.sub(r"\s+", " ", HOSTILE)
        assert errors == []
        assert requests == [file.as_uri()]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "digest.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--movers", "three"], "--movers"),
        (["--movers", "99"], "--movers"),
        (["--by", "user.plna"], "--by"),
        (["--out", "/nonexistent-folder/digest.md"], "--out"),
    ],
)
def test_cli_bad_flags_are_named(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], flag: str
) -> None:
    code = main(["digest", "signups", "--today", TODAY, *argv, "--project", str(project)])
    err = capsys.readouterr().err
    assert code == 1
    assert flag in err
    assert "Traceback" not in err
