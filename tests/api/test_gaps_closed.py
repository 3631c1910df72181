"""Bad inputs that once hung the checker or escaped as raw exceptions: a FIFO among the
definitions, a YAML alias bomb, a connection that is not a URL.

The project-reading cases run ``ml.check`` in a child process with a time limit, so that a
regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import metrics_layer as ml

SECONDS = 60  # a hang detector: the child ends in well under a second when nothing hangs


def check_in_a_child(project: Path) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(
        f"""
        import metrics_layer as ml
        graph, diagnostics = ml.check({str(project)!r})
        print(len(diagnostics), any(d.level is ml.Level.ERROR for d in diagnostics))
        """
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=SECONDS,
        check=False,
    )


def finishes_with_an_error_diagnostic(project: Path) -> bool:
    try:
        completed = check_in_a_child(project)
    except subprocess.TimeoutExpired:
        return False
    return completed.returncode == 0 and completed.stdout.split()[1:] == ["True"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_among_the_definitions_is_a_diagnostic(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "a.yml")
    assert finishes_with_an_error_diagnostic(tmp_path)


def test_a_yaml_alias_bomb_is_a_diagnostic(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        previous, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    lines.append("metrics: *i")
    (tmp_path / "a.yml").write_text("\n".join(lines) + "\n")
    assert finishes_with_an_error_diagnostic(tmp_path)


@pytest.mark.parametrize("connection", [123, b"duckdb://"], ids=repr)
def test_run_on_a_connection_that_is_not_a_url_is_an_engine_error(
    layer: ml.SemanticLayer, connection: Any
) -> None:
    with pytest.raises(ml.EngineError):
        layer.query("signups").run(connection)
