"""The psql examples of docs/sql-interface.md are what the SQL interface answers: each
``$ psql ...`` line of a ```console block is run (its port replaced by the test server's) and
its output, standard output then standard error, compared with the lines after it."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from metrics_layer.server.sqlwire import SqlServer
from tests.server.test_sql_interface import server

__all__ = ["server"]

PAGE = Path(__file__).resolve().parents[2] / "docs" / "sql-interface.md"


def examples() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    inside = False
    command: str | None = None
    output: list[str] = []
    for line in lines:
        if line.strip() == "```console":
            inside = True
            continue
        if inside and line.strip() == "```":
            if command is not None:
                found.append((command, "\n".join(output).strip("\n")))
            inside, command, output = False, None, []
            continue
        if not inside:
            continue
        if line.startswith("$ psql "):
            if command is not None:
                found.append((command, "\n".join(output).strip("\n")))
            command, output = line[2:], []
        elif command is not None:
            output.append(line)
    return found


def test_the_page_has_examples() -> None:
    assert len(examples()) >= 5


@pytest.mark.parametrize(("command", "expected"), examples())
def test_each_psql_example(server: SqlServer, command: str, expected: str) -> None:
    argv = shlex.split(command.replace("port=15432", f"port={server.port}"))
    argv[0] = "/usr/bin/psql"
    argv.insert(1, "-X")
    ran = subprocess.run(
        argv, capture_output=True, text=True, timeout=20, env={"PATH": "/usr/bin:/bin"}
    )
    got = (ran.stdout + ran.stderr).strip("\n")
    assert got == expected
