"""A project held in memory (``read_project_files``, what ``--base`` reads from git) follows the
rules of a project on disk: the project file, ``paths``, hidden entries, limits, YAML and schema
checks, each problem a diagnostic naming the file."""

from __future__ import annotations

from pathlib import Path

from metrics_layer.spec.limits import MAX_FILE_BYTES
from metrics_layer.spec.project import read_project, read_project_files

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = ROOT / "definitions"


def held(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_the_shipped_definitions_read_the_same_from_memory() -> None:
    on_disk = read_project(DEFINITIONS)
    in_memory = read_project_files(held(DEFINITIONS), DEFINITIONS)
    assert in_memory.diagnostics == on_disk.diagnostics == []
    assert in_memory.files == on_disk.files
    assert in_memory.settings == on_disk.settings
    assert [m.spec for m in in_memory.metrics] == [m.spec for m in on_disk.metrics]
    assert [s.spec for s in in_memory.sources] == [s.spec for s in on_disk.sources]
    assert len(in_memory.metrics) == 30


def test_paths_choose_the_folders_read() -> None:
    files = {
        "metrics_layer.yml": b"project:\n  name: p\n  paths: [defs]\n",
        "defs/a.yml": b"metrics:\n  - {name: a, type: simple, measure: s.m}\n",
        "other/b.yml": b"metrics:\n  - {name: b, type: simple, measure: s.m}\n",
        "defs/.hidden/c.yml": b"metrics:\n  - {name: c, type: simple, measure: s.m}\n",
        "defs/notes.txt": b"not yaml",
    }
    project = read_project_files(files, "root")
    assert project.diagnostics == []
    assert project.files == ["root/metrics_layer.yml", "root/defs/a.yml"]
    assert [m.spec.name for m in project.metrics] == ["a"]


def test_paths_outside_the_project_or_to_no_folder_are_errors() -> None:
    files = {"metrics_layer.yml": b"project:\n  name: p\n  paths: [../up, /etc, missing]\n"}
    project = read_project_files(files, "root")
    # '  paths: [' is 10 characters: the three items start in columns 11, 18 and 24
    assert [(d.file, d.line, d.column) for d in project.diagnostics] == [
        ("root/metrics_layer.yml", 3, 11),
        ("root/metrics_layer.yml", 3, 18),
        ("root/metrics_layer.yml", 3, 24),
    ]
    outside = "leads outside the project folder"
    assert [outside in d.message for d in project.diagnostics] == [True, True, False]
    assert project.diagnostics[0].hint == (
        "definitions are read only from inside it: name a folder inside it"
    )
    assert "'missing', which is not a folder" in project.diagnostics[2].message


def test_yaml_schema_and_size_limits_are_diagnostics_naming_the_file() -> None:
    files = {
        "a.yml": b"metrics:\n  - {name: a, type: simple, measure: s.m\n",
        "b.yml": b"metrics:\n  - {name: b, type: simpel, measure: s.m}\n",
        "c.yml": b"#" * (MAX_FILE_BYTES + 1),
        "d.yml": b"metrics: [\xff]\n",
    }
    project = read_project_files(files, "root")
    assert [(d.file, d.line) for d in project.diagnostics] == [
        ("root/a.yml", 2),  # at the '{' left open
        ("root/b.yml", 2),
        ("root/c.yml", None),
        ("root/d.yml", 1),
    ]
    assert [d.code for d in project.diagnostics][1:] == ["schema", "limit", "project"]
    assert "larger than 1 MiB" in project.diagnostics[2].message
    assert "not UTF-8" in project.diagnostics[3].message
    assert project.metrics == []
