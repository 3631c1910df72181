"""``metrics-layer serve``: refuses to start open without --allow-anonymous, runs under
uvicorn on loopback, and the rest of the package imports nothing of the server."""

from __future__ import annotations

import contextlib
import io
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from metrics_layer.cli.main import main
from tests.conftest import DEFINITIONS

SERVER_MODULES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "pyarrow",
    "httpx",
    "mcp",
    "metrics_layer.mcp",
    "buenavista",
    "metrics_layer.server.sqlwire",
)


def test_the_package_and_the_cli_import_nothing_of_the_server() -> None:
    code = (
        "import sys, metrics_layer, metrics_layer.cli.main as cli; cli._parser(); "
        "import metrics_layer.api; "
        f"print(','.join(m for m in {SERVER_MODULES!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_serve_refuses_to_start_without_authentication(demo_db: Path) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["serve", "--project", str(DEFINITIONS), "-c", f"duckdb:///{demo_db}"])
    assert code == 1
    assert "--allow-anonymous" in err.getvalue()
    assert "--access access.yml" in err.getvalue()
    assert "Traceback" not in err.getvalue()


@pytest.mark.parametrize(
    ("flag", "value"), [("--port", "99999"), ("--port", "0"), ("--workers", "0")]
)
def test_serve_refuses_a_port_or_worker_count_out_of_range(
    demo_db: Path, flag: str, value: str
) -> None:
    err = io.StringIO()
    argv = ["serve", "--project", str(DEFINITIONS), "-c", f"duckdb:///{demo_db}"]
    with contextlib.redirect_stderr(err):
        code = main([*argv, "--allow-anonymous", flag, value])
    assert code == 1
    assert f"{flag}: expected" in err.getvalue()
    assert "Traceback" not in err.getvalue()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_on_loopback(demo_db: Path, workers: int) -> None:
    port = _free_port()
    command = [
        sys.executable,
        "-c",
        "import sys; from metrics_layer.cli.main import main; sys.exit(main())",
        "serve",
        "--project",
        str(DEFINITIONS),
        "--connection",
        f"duckdb:///{demo_db}",
        "--port",
        str(port),
        "--allow-anonymous",
        "--workers",
        str(workers),
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[1].decode()[-2000:]
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.1)
        assert health.json() == {"status": "ok"}
        answer = httpx.post(
            f"http://127.0.0.1:{port}/v1/query", json={"metrics": ["signups"]}, timeout=10
        )
        assert answer.status_code == 200
        assert answer.json()["columns"] == [{"name": "signups", "type": "integer"}]
        for _ in range(4):  # whichever worker answers, the same number
            again = httpx.post(
                f"http://127.0.0.1:{port}/v1/query", json={"metrics": ["signups"]}, timeout=10
            )
            assert again.json()["rows"] == answer.json()["rows"]
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_worker_configuration_round_trips(tmp_path: Path) -> None:
    from metrics_layer.server.config import Limits, ServerConfig, from_text, to_text

    config = ServerConfig(
        project=tmp_path,
        connection="duckdb:///x.duckdb",
        limits=Limits(timeout=5, max_rows=10, max_body_bytes=100),
        cors_origins=("https://a.example",),
        access_file=tmp_path / "access.yml",
        cache_url="memory",
        cache_ttl=7.0,
        watch=2.0,
    )
    back = from_text(to_text(config))
    assert back == ServerConfig(
        **{**config.__dict__, "project": str(tmp_path), "access_file": str(tmp_path / "access.yml")}
    )
