"""``metrics-layer size`` and ``metrics-layer analyze``: the plan printed, errors naming flags."""

from __future__ import annotations

from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer.cli.main import main

DEFINITIONS = str(Path(__file__).resolve().parents[2] / "definitions")


@pytest.fixture(autouse=True)
def _demo(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    monkeypatch.setenv("METRICS_LAYER_URL", f"duckdb:///{demo_db}")
    monkeypatch.delenv("METRICS_LAYER_PATH", raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--project", DEFINITIONS])
    out, err = capsys.readouterr()
    return code, out, err


def test_size_prints_the_plan(capsys: pytest.CaptureFixture[str], layer: ml.SemanticLayer) -> None:
    code, out, err = run(
        capsys, "size", "activation_rate_7d", "--mde", "10%", "--end", "2026-10-31", "--arms", "3"
    )
    assert (code, err) == (0, "")
    plan = layer.experiment("activation_rate_7d", mde="10%", end="2026-10-31", arms=3)
    assert out.strip() == plan.to_markdown().strip()
    assert out.startswith("# Experiment plan: Activation rate (7 days)")
    code, out, _ = run(
        capsys,
        "size",
        "activation_rate_7d",
        "--mde",
        "0.05",
        "--end",
        "2026-10-31",
        "--allocation",
        "2,1",
        "--format",
        "html",
    )
    assert code == 0
    assert out.startswith("<!DOCTYPE html>")
    assert layer.fingerprints["activation_rate_7d"] in out


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--mde", "5x"], "--mde"),
        (["--mde", "5%", "--alpha", "abc"], "--alpha"),
        (["--mde", "5%", "--alpha", "0.9"], "--alpha"),
        (["--mde", "5%", "--power", "1.5"], "--power"),
        (["--mde", "5%", "--arms", "two"], "--arms"),
        (["--mde", "5%", "--arms", "1"], "--arms"),
        (["--mde", "5%", "--lookback", "-3"], "--lookback"),
        (["--mde", "5%", "--allocation", "1,x"], "--allocation"),
        (["--mde", "5%", "--allocation", "1,1,1"], "--allocation"),
        (["--mde", "5%", "--end", "soon"], "--end"),
        (["--mde", "5%", "--traffic", "2"], "--traffic"),
        (["--mde", "5%", "--unit", "planet"], "--unit"),
    ],
)
def test_bad_flags_are_named(
    capsys: pytest.CaptureFixture[str], argv: list[str], flag: str
) -> None:
    code, out, err = run(capsys, "size", "trial_to_paid_rate", "--end", "2026-10-31", *argv)
    assert code == 1
    assert out == ""
    assert err.startswith(f"error: {flag}: ")
    assert "Traceback" not in err


def test_size_without_mde_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "size", "signups")
    assert code == 2
    assert "--mde" in err


def test_unsizeable_metric(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "size", "monthly_active_users", "--mde", "5%")
    assert code == 1
    assert "rolling" in err


def test_analyze_reads_a_csv(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, layer: ml.SemanticLayer
) -> None:
    keys = [row[0] for row in layer.query("signups", by="user").run().rows]
    path = tmp_path / "assignment.csv"
    path.write_text(
        "user_id,variant\n" + "".join(f"{k},{'b' if k % 2 else 'a'}\n" for k in keys),
        encoding="utf-8",
    )
    code, out, err = run(
        capsys,
        "analyze",
        "new_mrr",
        "--assignment",
        str(path),
        "--start",
        "2026-09-01",
        "--end",
        "2026-10-31",
    )
    assert (code, err) == (0, "")
    expected = layer.analyze_experiment(
        "new_mrr", {k: "b" if k % 2 else "a" for k in keys}, start="2026-09-01", end="2026-10-31"
    )
    assert out.strip() == expected.to_markdown().strip()
    path.write_text("user_id;variant\n1;a\n", encoding="utf-8")
    code, _, err = run(
        capsys,
        "analyze",
        "new_mrr",
        "--assignment",
        str(path),
        "--start",
        "2026-09-01",
        "--end",
        "2026-10-31",
    )
    assert code == 1
    assert err.startswith("error: --assignment: ")
    code, _, err = run(
        capsys,
        "analyze",
        "new_mrr",
        "--assignment",
        str(tmp_path / "missing.csv"),
        "--start",
        "2026-09-01",
        "--end",
        "2026-10-31",
    )
    assert code == 1
    assert err.startswith("error: --assignment: cannot read")
