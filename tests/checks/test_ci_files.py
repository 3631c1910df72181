"""The pre-commit hook and the GitHub Actions workflow of docs/ci.md run what they say."""

from __future__ import annotations

import argparse
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from metrics_layer.cli.main import _parser

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w*)\s*$")


def check_parser() -> argparse.ArgumentParser:
    for action in _parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices["check"]
    raise AssertionError("metrics-layer has no check command")


def yaml_blocks(page: Path) -> list[Any]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found, index = [], 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        if match.group(1) == "yaml":
            found.append(yaml.safe_load("\n".join(lines[index + 1 : end])))
        index = end + 1
    return found


def test_the_pre_commit_hook_runs_the_check_on_definitions_files() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "metrics-layer-check"
    assert hook["entry"] == "metrics-layer check"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    assert scripts["metrics-layer"] == "metrics_layer.cli.main:main"
    files = re.compile(hook["files"])
    matched = [n for n in ("definitions/a.yml", "b.yaml", "metrics.lock") if files.search(n)]
    assert len(matched) == 3
    assert not any(files.search(n) for n in ("a.py", "README.md", "yml.txt", "a.yml.bak"))


def test_the_pre_commit_example_names_the_hook() -> None:
    configs = [b for b in yaml_blocks(ROOT / "docs" / "ci.md") if "repos" in b]
    [config] = configs
    [repo] = config["repos"]
    [hook] = repo["hooks"]
    assert hook["id"] == "metrics-layer-check"
    check_parser().parse_args(hook["args"])  # the args are a valid check command line


def test_the_workflow_uploads_sarif_and_comments_the_markdown() -> None:
    [workflow] = [b for b in yaml_blocks(ROOT / "docs" / "ci.md") if "jobs" in b]
    steps = workflow["jobs"]["check"]["steps"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    assert workflow["jobs"]["check"]["env"]["BASE"] == "origin/${{ github.base_ref }}"
    upload = next(s for s in steps if "upload-sarif" in str(s.get("uses", "")))
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == "check.sarif"
    commands = [
        shlex.split(line.split(">")[0])
        for step in steps
        for line in str(step.get("run", "")).splitlines()
        if line.startswith("metrics-layer check")
    ]
    assert [c[c.index("--format") + 1] for c in commands] == ["sarif", "markdown"]
    assert all(c[2] == "definitions" and c[c.index("--base") + 1] == "$BASE" for c in commands)
    runs = "\n".join(str(step.get("run", "")) for step in steps)
    assert "gh pr comment" in runs
    assert "--body-file comment.md" in runs
    assert "${{" not in runs  # expressions reach the shell through env only
    if "--base" not in {o for a in check_parser()._actions for o in a.option_strings}:
        pytest.skip("metrics-layer check does not take --base yet: the commands cannot parse")
    for command in commands:
        check_parser().parse_args(command[2:])
