"""The JSON Schema: committed copy in sync with the models, and errors that point and suggest."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from projects import USERS_SOURCE

import metrics_layer as ml
from metrics_layer.errors import Diagnostic
from metrics_layer.spec.limits import quote
from metrics_layer.spec.models import ProjectSpec, SourceSpec, accepts_strictly, read_strictly
from metrics_layer.spec.project import _METRIC
from metrics_layer.spec.schema import (
    SCHEMA_ID,
    generate_schema,
    load_schema,
    schema_text,
    validate_document,
)
from metrics_layer.spec.yaml_source import read_yaml


def said(diagnostic: Diagnostic) -> str:
    """A diagnostic's message and hint, as its one-line form joins them."""
    return f"{diagnostic.message}; {diagnostic.hint}" if diagnostic.hint else diagnostic.message


SCHEMA_FILE = Path(ml.__file__).parent / "spec" / "schema.json"
DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
REGENERATE = "make schema (python -m metrics_layer.spec.schema)"

SOURCE = USERS_SOURCE


def test_committed_schema_equals_the_generated_one() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    generated = schema_text(generate_schema())
    assert committed == generated, (
        f"metrics_layer/spec/schema.json is stale; regenerate it from the repository root with:\n"
        f"{REGENERATE}"
    )


def test_write_schema_writes_the_generated_schema(tmp_path: Path) -> None:
    from metrics_layer.spec.schema import write_schema

    target = tmp_path / "schema.json"
    assert write_schema(str(target)) == str(target)
    assert target.read_text(encoding="utf-8") == schema_text(generate_schema())


def test_loaded_schema_is_the_committed_file() -> None:
    assert load_schema() == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert load_schema()["$id"] == SCHEMA_ID


@pytest.mark.parametrize(
    "file", sorted(DEFINITIONS.rglob("*.yml")), ids=lambda p: p.relative_to(DEFINITIONS).as_posix()
)
def test_shipped_definitions_declare_and_satisfy_the_schema(file: Path) -> None:
    text = file.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=")
    declared = text.splitlines()[0].split("$schema=", 1)[1]
    assert (file.parent / declared).resolve() == SCHEMA_FILE.resolve()
    doc = read_yaml(text, str(file))
    assert validate_document(doc), [str(d) for d in doc.diagnostics]


def problems(write_project: Callable[[dict[str, str]], Path], text: str) -> list[Diagnostic]:
    project = write_project({"a.yml": text})
    with pytest.raises(ml.DefinitionError) as caught:
        ml.load(project)
    for diagnostic in caught.value.diagnostics:
        assert diagnostic.file == str(project / "a.yml")
        assert diagnostic.line is not None
        assert diagnostic.column is not None
    return list(caught.value.diagnostics)


def one(write_project: Callable[[dict[str, str]], Path], text: str) -> Diagnostic:
    found = problems(write_project, text)
    assert len(found) == 1, [str(d) for d in found]
    return found[0]


def with_metric(metric: str) -> str:
    return SOURCE + "metrics:\n  - " + metric + "\n"


def test_unknown_source_field_suggests_and_points_at_the_key(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    diagnostic = one(write_project, SOURCE.replace("    time:", "    tabel: x\n    time:"))
    assert (diagnostic.line, diagnostic.column) == (4, 5)
    assert diagnostic.message == "source 'users': unknown field 'tabel'"
    assert "Did you mean 'table'?" in said(diagnostic)
    assert "Allowed fields:" in said(diagnostic)


def test_unknown_metric_field_suggests_from_its_own_type(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    diagnostic = one(
        write_project, with_metric("{name: a, type: simple, measure: users.signups, onwer: x}")
    )
    assert (diagnostic.line, diagnostic.column) == (13, 53)
    assert diagnostic.message == "metric 'a': unknown field 'onwer'"
    assert diagnostic.hint is not None
    assert diagnostic.hint.startswith("Did you mean 'owner'? Allowed fields: changelog, ")


def test_field_of_another_metric_type_is_unknown_here(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    diagnostic = one(
        write_project,
        with_metric("{name: a, type: simple, measure: users.signups, numerator: users.signups}"),
    )
    assert diagnostic.message == "metric 'a': unknown field 'numerator'"
    assert "measure" in said(diagnostic).split("Allowed fields:")[1]


def test_every_unknown_field_is_reported(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    text = SOURCE.replace("    time:", "    tabel: x\n    descripton: y\n    time:")
    found = problems(write_project, text)
    assert [(d.line, d.message) for d in found] == [
        (4, "source 'users': unknown field 'tabel'"),
        (5, "source 'users': unknown field 'descripton'"),
    ]


@pytest.mark.parametrize(
    ("old", "new", "wrong", "suggestion", "column"),
    [
        ("agg: count}", "agg: count_distinc}", "count_distinc", "count_distinct", 30),
        ("type: time}", "type: tmie}", "tmie", "time", 36),
    ],
)
def test_wrong_enum_value_suggests_and_points_at_the_value(
    write_project: Callable[[dict[str, str]], Path],
    old: str,
    new: str,
    wrong: str,
    suggestion: str,
    column: int,
) -> None:
    diagnostic = one(write_project, SOURCE.replace(old, new))
    assert diagnostic.column == column
    assert "must be one of " in diagnostic.message
    assert diagnostic.message.endswith(f", not '{wrong}'")
    assert diagnostic.hint == f"Did you mean '{suggestion}'?"


def test_wrong_metric_status_suggests(write_project: Callable[[dict[str, str]], Path]) -> None:
    diagnostic = one(
        write_project,
        with_metric("{name: a, type: simple, measure: users.signups, status: certifed}"),
    )
    assert diagnostic.line == 13
    assert diagnostic.message == (
        "metric 'a': status must be one of draft, certified, deprecated, not 'certifed'"
    )
    assert diagnostic.hint == "Did you mean 'certified'?"


def test_unknown_metric_type_lists_the_types_and_suggests(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    diagnostic = one(write_project, with_metric("{name: a, type: simpel, measure: users.signups}"))
    assert (diagnostic.line, diagnostic.column) == (13, 21)
    assert "unknown type 'simpel'" in said(diagnostic)
    types = "churn, conversion, cumulative, derived, ratio, retention, rolling, simple"
    assert types in said(diagnostic)
    assert "Did you mean 'simple'?" in said(diagnostic)


def test_metric_without_type_asks_for_one(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    diagnostic = one(write_project, with_metric("{name: a, measure: users.signups}"))
    assert diagnostic.line == 13
    assert "type" in said(diagnostic)
    assert "simple" in said(diagnostic)
    assert "not valid under any of the given schemas" not in said(diagnostic)


@pytest.mark.parametrize(
    ("text", "line", "missing", "where"),
    [
        (with_metric("{name: a, type: simple}"), 13, "measure", "metric 'a'"),
        (
            with_metric("{name: a, type: ratio, numerator: users.signups}"),
            13,
            "denominator",
            "metric 'a'",
        ),
        (
            with_metric("{type: simple, measure: users.signups}"),
            13,
            "name",
            "the 1st metric (no name)",
        ),
        (
            SOURCE.replace("  - name: users\n    table", "  - table"),
            2,
            "name",
            "the 1st source (no name)",
        ),
        (
            SOURCE.replace("{name: signups, agg: count}", "{name: signups}"),
            11,
            "agg",
            "source 'users', measure 'signups'",
        ),
    ],
)
def test_missing_required_field_is_named_at_its_object(
    write_project: Callable[[dict[str, str]], Path],
    text: str,
    line: int,
    missing: str,
    where: str,
) -> None:
    diagnostic = one(write_project, text)
    assert diagnostic.line == line
    assert (diagnostic.message, diagnostic.hint) == (
        f"{where} needs '{missing}'",
        f"add '{missing}'",
    )


@pytest.mark.parametrize("name", ["Bad_Name", "bad-name", "1st_metric", "daily active", "_x", "é"])
def test_invalid_name_says_what_a_name_is(
    write_project: Callable[[dict[str, str]], Path], name: str
) -> None:
    diagnostic = one(
        write_project, with_metric(f"{{name: '{name}', type: simple, measure: users.signups}}")
    )
    assert (diagnostic.line, diagnostic.column) == (13, 12)
    assert diagnostic.message == f"{quote(name)} is not a valid metric name"
    assert "lower-case letters, digits and underscores, starting with a letter" in (
        said(diagnostic)
    )


def test_overlong_name_is_refused(write_project: Callable[[dict[str, str]], Path]) -> None:
    diagnostic = one(
        write_project, with_metric(f"{{name: {'a' * 64}, type: simple, measure: users.signups}}")
    )
    assert diagnostic.message == f"metric '{'a' * 64}': name is longer than 63 characters"
    assert diagnostic.hint == "shorten it to 63 characters"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("version", "'2'", "metric 'a': version must be a whole number, not '2'"),
        ("version", "0", "metric 'a': version must be at least 1, not 0"),
        ("tags", "growth", "metric 'a': tags must be a list, not 'growth'"),
    ],
)
def test_wrong_value_type_names_the_field(
    write_project: Callable[[dict[str, str]], Path], field: str, value: str, expected: str
) -> None:
    diagnostic = one(
        write_project,
        with_metric(f"{{name: a, type: simple, measure: users.signups, {field}: {value}}}"),
    )
    assert diagnostic.line == 13
    assert diagnostic.message == expected


@pytest.mark.parametrize(
    ("date", "hint"),
    [("2026-13-45", "'2026-13-45'"), ("yesterday", "'yesterday'")],
)
def test_bad_changelog_date_points_at_the_date(
    write_project: Callable[[dict[str, str]], Path], date: str, hint: str
) -> None:
    metric = (
        "name: a\n    type: simple\n    measure: users.signups\n    changelog:\n"
        f"      - {{version: 1, date: {date}, change: First.}}"
    )
    diagnostic = one(write_project, with_metric(metric))
    assert (diagnostic.line, diagnostic.column) == (17, 28)
    assert diagnostic.message == (
        "metric 'a', the changelog entry of version 1: date must be a date written "
        f"YYYY-MM-DD, not {hint}"
    )
    assert diagnostic.hint == "write a real date such as 2026-11-01"


@pytest.mark.parametrize(
    ("files", "line", "expected"),
    [
        (
            {"metrics_layer.yml": "project:\n  name: p\n  week_start: mon\n"},
            3,
            "Did you mean 'monday'?",
        ),
        (
            {"metrics_layer.yml": "project:\n  name: p\n  colour: blue\n"},
            3,
            "project: unknown field 'colour'",
        ),
        (
            {"a.yml": SOURCE.replace("agg: count}", "agg: percentile, percentile: 2}")},
            11,
            "source 'users', measure 'signups': percentile must be below 1, not 2",
        ),
    ],
)
def test_error_inside_an_optional_field_points_at_it_and_explains(
    write_project: Callable[[dict[str, str]], Path],
    files: dict[str, str],
    line: int,
    expected: str,
) -> None:
    with pytest.raises(ml.DefinitionError) as caught:
        ml.load(write_project(files))
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.line == line
    assert "not valid under any of the given schemas" not in said(diagnostic)
    assert expected in said(diagnostic)


def test_schema_errors_of_several_files_are_all_listed(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    project = write_project(
        {
            "a.yml": SOURCE.replace("agg: count}", "agg: cnt}"),
            "b.yml": "metrics:\n  - {name: b, type: simple, measure: users.signups, onwer: x}\n",
        }
    )
    with pytest.raises(ml.DefinitionError) as caught:
        ml.load(project)
    found = sorted((Path(d.file or "").name, d.line) for d in caught.value.diagnostics)
    assert found == [("a.yml", 11), ("b.yml", 2)]
    message = str(caught.value)
    assert f"{project / 'a.yml'}:11:" in message
    assert f"{project / 'b.yml'}:2:" in message


# Values that a lax reading would coerce, and other near misses of the schema's types.
_NEAR_MISSES: list[object] = [
    "3",
    3,
    3.0,
    2.5,
    -1,
    0,
    True,
    False,
    "yes",
    "true",
    None,
    "",
    "a\n",
    "2026-13-01",
    "2026-11-01",
    20261101,
    [],
    ["x"],
    {},
    {"name": "x"},
    "day",
    "monthly",
    float("nan"),
]


def _leaves(data: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """The path of every value inside ``data`` (mappings and lists included)."""
    found: list[tuple[object, ...]] = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _leaves(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _leaves(value, (*path, index))
    return found


def _replaced(data: object, path: tuple[object, ...], value: object) -> object:
    if not path:
        return value
    copy = dict(data) if isinstance(data, dict) else list(data)  # type: ignore[call-overload]
    copy[path[0]] = _replaced(copy[path[0]], path[1:], value)
    return copy


_SHIPPED = {
    p.relative_to(DEFINITIONS).as_posix(): read_yaml(p.read_text("utf-8"), str(p)).data
    for p in sorted(DEFINITIONS.rglob("*.yml"))
}


@settings(max_examples=300, deadline=None)
@given(
    file=st.sampled_from(sorted(_SHIPPED)),
    spot=st.integers(min_value=0),
    value=st.sampled_from(_NEAR_MISSES),
    key=st.sampled_from([None, "schema_", "fill_period", "type", "versions", "Name"]),
)
def test_what_the_models_accept_strictly_the_schema_accepts(
    file: str, spot: int, value: object, key: str | None
) -> None:
    """Files the models accept strictly skip the schema walk (spec/project.py): the schema must
    accept every one of them, however a field is changed."""
    data = _SHIPPED[file]
    paths = _leaves(data)
    path = paths[spot % len(paths)]
    changed = _replaced(data, path, value)
    if key is not None:
        parent = path[:-1]
        holder = changed
        for step in parent:
            holder = holder[step]  # type: ignore[index]
        if isinstance(holder, dict):
            holder[key] = value
    doc = read_yaml("", file)
    doc.data = changed
    if accepts_strictly(changed):
        assert validate_document(doc), [str(d) for d in doc.diagnostics]
        assert_items_read_alike(changed)


def assert_items_read_alike(data: object) -> int:
    """A file the models accept strictly gives, item by item, the models that reading each
    item alone gives (spec/project.py takes them from the strict reading): the same values
    of the same types (compared by ``repr``: ``0.0`` is not ``0``). Returns the items."""
    strict = read_strictly(data)
    assert strict is not None
    assert isinstance(data, dict)
    alone = [
        *([ProjectSpec.model_validate(data["project"])] if data.get("project") else []),
        *(SourceSpec.model_validate(item) for item in data.get("sources", [])),
        *(_METRIC.validate_python(item) for item in data.get("metrics", [])),
    ]
    read = [*([strict.project] if strict.project else []), *strict.sources, *strict.metrics]
    assert [repr(m) for m in read] == [repr(m) for m in alone]
    assert read == alone
    return len(read)


def test_items_read_strictly_are_the_items_read_alone(tmp_path: Path) -> None:
    """Over every file of the shipped definitions, of the checks corpus and of a generated
    project that the models accept strictly."""
    from benchmarks.generate_project import generate_project

    generate_project(tmp_path, metrics=300)
    corpus = DEFINITIONS.parent / "tests" / "checks" / "corpus"
    files = [
        *DEFINITIONS.rglob("*.yml"),
        *corpus.glob("*/project/**/*.yml"),
        *tmp_path.rglob("*.yml"),
    ]
    items = 0
    for file in files:
        data = read_yaml(file.read_text("utf-8"), str(file)).data
        if read_strictly(data) is not None:
            items += assert_items_read_alike(data)
    assert items > 350


@pytest.mark.parametrize(
    "data",
    [
        {"metrics": [{"name": "a", "type": "simple", "measure": "s.m", "version": "2"}]},
        {"metrics": [{"name": "a", "type": "simple", "measure": "s.m", "version": True}]},
        {"metrics": [{"name": "a", "type": "simple", "measure": "s.m", "fill_periods": "yes"}]},
        {"metrics": [{"name": "a", "type": "simple", "measure": "s.m", "sunset": 20260101}]},
        {"metrics": [{"name": "a", "type": "simple", "measure": "s.m", "fill_null": "1.5"}]},
        {"project": {"name": "p", "targets": {"dev": {"schema_": "x"}}}},
    ],
)
def test_coercions_are_not_accepted_strictly(data: dict[str, object]) -> None:
    """What pydantic would coerce goes to the schema, whose error names the field."""
    assert not accepts_strictly(data)
    doc = read_yaml("", "a.yml")
    doc.data = data
    assert not validate_document(doc)
