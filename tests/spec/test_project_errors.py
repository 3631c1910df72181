"""Finding and reading a project: every problem is a diagnostic naming the file, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from projects import USERS_SOURCE, WriteProject

import metrics_layer as ml
from metrics_layer.errors import Diagnostic


def said(diagnostic: Diagnostic) -> str:
    """A diagnostic's message and hint, as its one-line form joins them."""
    return f"{diagnostic.message}; {diagnostic.hint}" if diagnostic.hint else diagnostic.message


SOURCE = USERS_SOURCE
METRIC = "metrics:\n  - {name: signups, type: simple, measure: users.signups}\n"


def load_error(path: Path) -> ml.DefinitionError:
    with pytest.raises(ml.DefinitionError) as caught:
        ml.load(path)
    return caught.value


def test_missing_folder_is_one_diagnostic_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_definitions"
    error = load_error(missing)
    [diagnostic] = error.diagnostics
    assert diagnostic.file == str(missing)
    assert f"no such file or folder '{missing}'" in said(diagnostic)
    assert "metrics_layer.yml" in said(diagnostic)
    assert str(error).startswith(f"{missing}: error:")


def test_project_paths_naming_a_missing_folder_points_at_that_path(
    write_project: WriteProject,
) -> None:
    project = write_project(
        {
            "metrics_layer.yml": "project:\n  name: p\n  paths: [sources, metrics]\n",
            "sources/a.yml": SOURCE,
        }
    )
    [diagnostic] = load_error(project).diagnostics
    assert diagnostic.file == str(project / "metrics_layer.yml")
    assert (diagnostic.line, diagnostic.column) == (3, 20)
    assert "project.paths names 'metrics', which is not a folder" in said(diagnostic)


def test_project_settings_outside_the_project_file_are_refused_at_the_key(
    write_project: WriteProject,
) -> None:
    project = write_project({"a.yml": SOURCE + METRIC + "project:\n  name: other\n"})
    [diagnostic] = load_error(project).diagnostics
    assert diagnostic.file == str(project / "a.yml")
    assert (diagnostic.line, diagnostic.column) == (14, 1)
    assert "'project' settings belong in metrics_layer.yml at the project root" in (
        said(diagnostic)
    )


def test_project_file_reads_only_its_paths(write_project: WriteProject) -> None:
    project = write_project(
        {
            "metrics_layer.yml": "project:\n  name: p\n  paths: [defs]\n",
            "defs/sources.yml": SOURCE,
            "defs/nested/metrics.yaml": METRIC,
            "scratch/broken.yml": "metrics: [\n",
        }
    )
    layer = ml.load(project)
    assert [m.name for m in layer.metrics] == ["signups"]
    assert layer.graph.settings.name == "p"


def test_hidden_folders_are_not_read(write_project: WriteProject) -> None:
    project = write_project(
        {"a.yml": SOURCE + METRIC, ".github/workflows/ci.yml": "on: [push]\njobs: {}\n"}
    )
    assert [m.name for m in ml.load(project).metrics] == ["signups"]


def test_single_file_is_read_alone(write_project: WriteProject) -> None:
    project = write_project({"a.yml": SOURCE + METRIC, "b.yml": "metrics: [\n"})
    assert [m.name for m in ml.load(project / "a.yml").metrics] == ["signups"]
    [diagnostic] = load_error(project / "b.yml").diagnostics
    assert diagnostic.file == str(project / "b.yml")


def test_unknown_time_zone_is_a_definition_error(write_project: WriteProject) -> None:
    project = write_project(
        {
            "metrics_layer.yml": "project:\n  name: p\n  time_zone: Mars/Olympus\n",
            "a.yml": SOURCE + METRIC,
        }
    )
    [diagnostic] = load_error(project).diagnostics
    assert diagnostic.file == str(project / "metrics_layer.yml")
    assert diagnostic.line == 3
    assert "Mars/Olympus" in said(diagnostic)


def test_duplicate_source_across_files_names_the_first_place(write_project: WriteProject) -> None:
    project = write_project({"a.yml": SOURCE + METRIC, "b.yml": SOURCE})
    [diagnostic] = load_error(project).diagnostics
    assert diagnostic.file == str(project / "b.yml")
    assert diagnostic.line == 2
    assert f"source 'users' is defined twice (first at {project / 'a.yml'}:2)" in (said(diagnostic))


def test_check_returns_every_diagnostic_without_raising(write_project: WriteProject) -> None:
    project = write_project(
        {"a.yml": SOURCE + METRIC.replace("users.signups}", "users.signup}"), "b.yml": "x: [\n"}
    )
    graph, diagnostics = ml.check(project)
    # The bad YAML of b.yml does not hide the unknown measure of a.yml: both, in file order.
    assert graph is not None
    assert [(Path(d.file or "").name, d.line, d.code) for d in diagnostics] == [
        ("a.yml", 13, "unknown-reference"),
        ("b.yml", 1, "yaml-syntax"),  # the "[" left open
    ]


def test_warnings_do_not_stop_loading_and_are_kept(write_project: WriteProject) -> None:
    project = write_project(
        {"a.yml": SOURCE + METRIC.replace("users.signups}", "users.signups, version: 2}")}
    )
    layer = ml.load(project)
    [warning] = layer.warnings
    assert warning.level is ml.Level.WARNING
    assert warning.file == str(project / "a.yml")
    assert warning.line == 13
    assert "version 2 with no changelog entry" in said(warning)


def test_same_label_with_other_logic_is_an_error_naming_both(write_project: WriteProject) -> None:
    project = write_project(
        {
            "a.yml": SOURCE
            + "metrics:\n"
            + "  - {name: signups, type: simple, measure: users.signups, label: Signups}\n"
            + "  - {name: registrations, type: simple, measure: users.signups, label: signups,\n"
            + "     filter: \"country = 'DE'\"}\n"
        }
    )
    [error] = load_error(project).diagnostics
    assert (error.code, error.line) == ("conflicting-label", 14)
    assert "the label 'signups' of metric 'registrations' is the name of metric 'signups'" in (
        error.message
    )


def test_all_reference_problems_of_all_files_are_listed(write_project: WriteProject) -> None:
    project = write_project(
        {
            "a.yml": SOURCE,
            "m1.yml": "metrics:\n  - {name: a, type: simple, measure: users.signup}\n",
            "m2.yml": "metrics:\n"
            "  - {name: b, type: simple, measure: user.signups}\n"
            "  - {name: c, type: ratio, numerator: a, denominator: d}\n",
        }
    )
    error = load_error(project)
    places = [(Path(d.file or "").name, d.line) for d in error.diagnostics]
    assert places == [("m1.yml", 2), ("m2.yml", 2), ("m2.yml", 3)]
    assert str(error).startswith("3 error(s) in the definitions:")
    for diagnostic in error.diagnostics:
        assert f"{diagnostic.file}:{diagnostic.line}:{diagnostic.column}: error: " in str(error)
