"""The published package: a wheel and an sdist built with ``python -m build``, the wheel
installed into a fresh virtual environment, and the command run from there.

It takes about a minute (building in an isolated environment, then installing the wheel's
dependencies), over the default suite's budget, so it runs only when asked:
``METRICS_LAYER_PACKAGE_TEST=1`` (``make package``), and always in CI (``CI=true``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import metrics_layer as ml

ROOT = Path(__file__).resolve().parents[1]
ASKED = os.environ.get("METRICS_LAYER_PACKAGE_TEST") == "1" or os.environ.get("CI") == "true"
NAME = "kpi-layer"

pytestmark = pytest.mark.skipif(
    not ASKED, reason="builds and installs the package (~1 min): METRICS_LAYER_PACKAGE_TEST=1"
)


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_wheel_and_sdist_build_and_the_wheel_runs_in_a_fresh_venv(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], tmp_path, env)
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    assert wheel.name == f"kpi_layer-{ml.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(info).decode()
    assert f"Name: {NAME}\n" in metadata
    assert {"metrics_layer/py.typed", "metrics_layer/spec/schema.json"} <= names
    assert "metrics_layer/importers/dbt.py" in names
    with tarfile.open(sdist) as archive:
        members = set(archive.getnames())
    assert f"kpi_layer-{ml.__version__}/metrics_layer/spec/schema.json" in members

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], tmp_path, env)
    where = _run(
        [str(bin_dir / "python"), "-c", "import metrics_layer; print(metrics_layer.__file__)"],
        tmp_path,
        env,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv)
    helped = _run([str(bin_dir / "metrics-layer"), "--help"], tmp_path, env)
    assert "import" in helped.stdout
    assert "serve" in helped.stdout

    # A demo query from the installed command, on the shipped definitions (they are not in the
    # wheel: they are this repository's example project), equal to the same query here.
    args = ["signups", "mrr", "--by", "metric_time.year", "--format", "json"]
    project = ["--project", str(ROOT / "definitions")]
    queried = _run([str(bin_dir / "metrics-layer"), "query", *args, *project], tmp_path, env)
    here = ml.load(ROOT / "definitions").query(["signups", "mrr"], by=["metric_time.year"]).run()
    rows = json.loads(queried.stdout)
    assert [r["signups"] for r in rows] == [row[1] for row in here.rows]
    assert [round(r["mrr"], 2) for r in rows] == [round(float(row[2]), 2) for row in here.rows]
    assert len(rows) == 2
