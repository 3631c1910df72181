"""Reading YAML: positions on every problem, and no YAML 1.1 surprises."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from yaml.resolver import BaseResolver

import metrics_layer as ml
from metrics_layer.errors import Diagnostic
from metrics_layer.spec.yaml_source import YamlDocument, _Loader, read_yaml


def said(diagnostic: Diagnostic) -> str:
    """A diagnostic's message and hint, as its one-line form joins them."""
    return f"{diagnostic.message}; {diagnostic.hint}" if diagnostic.hint else diagnostic.message


FILE = "defs/a.yml"


def read(text: str) -> YamlDocument:
    return read_yaml(textwrap.dedent(text).lstrip("\n"), FILE)


def only(doc: YamlDocument) -> Diagnostic:
    assert len(doc.diagnostics) == 1, [str(d) for d in doc.diagnostics]
    return doc.diagnostics[0]


def load_error(project: Path) -> ml.DefinitionError:
    with pytest.raises(ml.DefinitionError) as caught:
        ml.load(project)
    return caught.value


SOURCE = """
sources:
  - name: users
    table: users
    entities:
      - {name: user, key: user_id, primary: true}
    dimensions:
      - {name: country}
    measures:
      - {name: signups, agg: count}
"""


def test_clean_document_keeps_positions_of_values_and_keys() -> None:
    doc = read(SOURCE)
    assert doc.diagnostics == []
    assert doc.positions[("sources", 0, "name")] == (2, 11)
    assert doc.key_positions[("sources", 0, "table")] == (3, 5)
    assert doc.positions[("sources", 0, "measures", 0, "agg")] == (9, 30)


def test_parse_error_has_file_line_and_column() -> None:
    diagnostic = only(read("sources:\n  - name: users\n    table: [users\n"))
    assert diagnostic.file == FILE
    # At the bracket left open, not where the parser gave up.
    assert (diagnostic.line, diagnostic.column) == (3, 12)
    assert str(diagnostic).startswith(f"{FILE}:3:12: error: invalid YAML")
    assert diagnostic.message == "invalid YAML: this '[' is not closed where its items end"
    assert diagnostic.code == "yaml-syntax"
    assert diagnostic.hint is not None
    assert diagnostic.hint.startswith("close it with ']' after its last item")


def test_parse_error_of_a_bad_indent_points_at_the_offending_line() -> None:
    diagnostic = only(read("sources:\n  - name: users\n     table: users\n"))
    assert diagnostic.line == 3
    assert said(diagnostic).startswith("invalid YAML:")


def test_duplicate_key_names_both_lines() -> None:
    doc = read(
        """
        sources:
          - name: users
            table: users
            table: people
        """
    )
    diagnostic = only(doc)
    assert (diagnostic.file, diagnostic.line, diagnostic.column) == (FILE, 4, 5)
    assert "duplicate key 'table'" in said(diagnostic)
    assert "first defined at line 3" in said(diagnostic)
    assert doc.data == {"sources": [{"name": "users", "table": "users"}]}


def test_duplicate_top_level_key_names_both_lines() -> None:
    diagnostic = only(read("metrics: []\nsources: []\nmetrics: []\n"))
    assert diagnostic.line == 3
    assert "duplicate key 'metrics' (first defined at line 1)" in said(diagnostic)


def test_tab_in_indentation_points_at_the_tab() -> None:
    diagnostic = only(read_yaml("sources:\n  - name: users\n \ttable: users\n", FILE))
    assert (diagnostic.line, diagnostic.column) == (3, 2)
    assert "tab" in said(diagnostic)
    assert "spaces" in said(diagnostic)


def test_tab_inside_a_value_is_not_indentation() -> None:
    doc = read_yaml('sources:\n  - name: users\n    description: "a\tb"\n', FILE)
    assert doc.diagnostics == []
    assert doc.data["sources"][0]["description"] == "a\tb"


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n", "Yes", "NO", "On"])
def test_yaml11_booleans_stay_strings(word: str) -> None:
    doc = read_yaml(f"{word}: {word}\ncountry: {word}\n", FILE)
    assert doc.diagnostics == []
    assert doc.data == {word: word, "country": word}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("False", False),
        ("12", 12),
        ("-3", -3),
        ("0x1f", 31),
        ("0o17", 15),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("null", None),
        ("~", None),
        ("", None),
        ("2026-01-31", "2026-01-31"),
        ("1_000", "1_000"),
        ("0b101", "0b101"),
        ("12:30", "12:30"),
        ("'007'", "007"),
    ],
)
def test_scalars_follow_the_yaml12_core_schema(text: str, value: object) -> None:
    doc = read_yaml(f"value: {text}\n", FILE)
    assert doc.diagnostics == []
    assert doc.data == {"value": value}
    assert type(doc.data["value"]) is type(value)


def test_primary_yes_is_a_schema_error_that_says_true_or_false(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    project = write_project({"a.yml": SOURCE.replace("primary: true", "primary: yes")})
    error = load_error(project)
    [diagnostic] = error.diagnostics
    assert diagnostic.file == str(project / "a.yml")
    assert diagnostic.line == 5
    assert diagnostic.message == (
        "source 'users', entity 'user': primary must be true or false, not 'yes'"
    )
    assert diagnostic.hint == "'yes' is a string here: write true or false"


def test_country_no_is_the_string_no(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    project = write_project(
        {
            "a.yml": SOURCE
            + """
metrics:
  - name: norway_signups
    type: simple
    measure: users.signups
    label: no
    filter: "country = 'no'"
"""
        }
    )
    layer = ml.load(project)
    assert layer.metric("norway_signups").label == "no"


def test_on_as_a_key_is_an_unknown_field_named_on(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    project = write_project({"a.yml": SOURCE.replace("table: users", "table: users\n    on: 1")})
    [diagnostic] = load_error(project).diagnostics
    assert "unknown field 'on'" in said(diagnostic)
    assert diagnostic.line == 4


@pytest.mark.parametrize(
    ("tag", "shown"),
    [
        ("!!python/object:os.system", "tag:yaml.org,2002:python/object:os.system"),
        ("!!timestamp", "tag:yaml.org,2002:timestamp"),
        ("!!binary", "tag:yaml.org,2002:binary"),
        ("!custom", "!custom"),
    ],
)
def test_unsupported_scalar_tag_is_refused_at_its_place(tag: str, shown: str) -> None:
    diagnostic = only(read(f"sources:\n  - name: users\n    table: {tag} users\n"))
    assert (diagnostic.line, diagnostic.column) == (3, 12)
    assert f"YAML tag '{shown}' is not supported" in said(diagnostic)


@pytest.mark.parametrize(
    "text", ["tags: !!set {a, b}\n", "tags: !!omap [a: 1]\n", "x: !k {a: 1}\n"]
)
def test_unsupported_collection_tag_is_refused(text: str) -> None:
    diagnostic = only(read_yaml(text, FILE))
    assert diagnostic.line == 1
    assert "is not supported" in said(diagnostic)


def test_merge_key_is_refused_at_the_key() -> None:
    doc = read(
        """
        defaults: &defaults
          agg: count
        sources:
          - name: users
            table: users
            measures:
              - name: signups
                <<: *defaults
        """
    )
    diagnostic = only(doc)
    assert (diagnostic.line, diagnostic.column) == (8, 9)
    assert "merge keys ('<<') are not supported" in said(diagnostic)
    assert "write the fields out" in said(diagnostic)


def test_aliases_of_scalars_are_resolved() -> None:
    doc = read_yaml("a: &x users\nb: *x\n", FILE)
    assert doc.diagnostics == []
    assert doc.data == {"a": "users", "b": "users"}


@pytest.mark.parametrize("text", ["? [a, b]\n: 1\n", "? {a: 1}\n: 1\n", "? null\n: 1\n", "~: 1\n"])
def test_non_name_keys_are_refused(text: str) -> None:
    diagnostic = only(read_yaml(text, FILE))
    assert diagnostic.line == 1
    assert "a mapping key must be a plain name" in said(diagnostic)


def test_second_document_is_an_error_at_its_separator() -> None:
    diagnostic = only(read_yaml("metrics: []\n---\nsources: []\n", FILE))
    assert diagnostic.line == 2
    assert "another document" in said(diagnostic)


def test_control_character_is_one_line_at_its_column() -> None:
    diagnostic = only(read_yaml('a: "xy\x00"\n', FILE))
    assert "\n" not in said(diagnostic)
    assert (diagnostic.line, diagnostic.column) == (1, 7)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file_is_an_empty_mapping(text: str) -> None:
    doc = read_yaml(text, FILE)
    assert doc.diagnostics == []
    assert doc.data == {}


@pytest.mark.parametrize("text", ["---\n", "# header\n---\n"])
def test_document_marker_alone_is_an_empty_mapping(text: str) -> None:
    doc = read_yaml(text, FILE)
    assert doc.diagnostics == []
    assert doc.data == {}


def test_empty_file_in_a_project_is_harmless(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    project = write_project(
        {
            "a.yml": SOURCE
            + "metrics:\n  - {name: signups, type: simple, measure: users.signups}\n",
            "empty.yml": "",
            "comment.yaml": "# nothing yet\n",
        }
    )
    assert [m.name for m in ml.load(project).metrics] == ["signups"]


@pytest.mark.parametrize(
    ("text", "kind"), [("- sources\n- metrics\n", "list"), ("hello\n", "scalar"), ("42\n", "int")]
)
def test_non_mapping_top_level_is_refused_with_file_and_line(
    write_project: Callable[[dict[str, str]], Path], text: str, kind: str
) -> None:
    project = write_project({f"{kind}.yml": text})
    [diagnostic] = load_error(project).diagnostics
    assert diagnostic.file == str(project / f"{kind}.yml")
    assert diagnostic.line == 1
    assert "must be a mapping with 'sources' and/or 'metrics'" in said(diagnostic)


def test_undecodable_file_is_a_diagnostic_naming_it(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    project = write_project({"ok.yml": "metrics: []\n"})
    (project / "latin1.yml").write_bytes(b"sources:\n  - name: caf\xe9\n")
    [diagnostic] = load_error(project).diagnostics
    assert diagnostic.file == str(project / "latin1.yml")
    assert "cannot read file" in said(diagnostic)


def test_every_yaml_problem_of_every_file_is_listed(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    project = write_project(
        {
            "a.yml": "sources:\n  - name: a\n    name: b\n",
            "b.yml": "metrics: [\n",
            "c.yml": "sources:\n\t- name: c\n",
        }
    )
    error = load_error(project)
    places = sorted((Path(d.file or "").name, d.line) for d in error.diagnostics)
    assert places == [("a.yml", 3), ("b.yml", 1), ("c.yml", 2)]  # b.yml: at its "[" left open
    assert str(error).startswith("3 error(s) in the definitions:")
    for diagnostic in error.diagnostics:
        assert f"{diagnostic.file}:{diagnostic.line}:" in str(error)


_PLAIN_EDGES = [
    "",
    "~",
    "null",
    "NULL",
    "true",
    "TRUE",
    "tRUE",
    "0",
    "-0",
    "+1",
    "0x1F",
    "0o7",
    "1.",
    ".5",
    "1e3",
    "-.inf",
    ".NaN",
    ".nan",
    "1_0",
    "yes",
    "2026-01-31",
    "x",
]


@settings(max_examples=500, deadline=None)
@given(
    value=st.one_of(st.sampled_from(_PLAIN_EDGES), st.text(max_size=12)),
    implicit=st.tuples(st.booleans(), st.booleans()),
    kind=st.sampled_from([yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode]),
)
def test_the_loaders_resolve_is_pyyamls(
    value: str, implicit: tuple[bool, bool], kind: type[yaml.Node]
) -> None:
    # The loader resolves tags without PyYAML's path and wildcard lookups, which it never has.
    loader = _Loader("")
    assert loader.resolve(kind, value, implicit) == BaseResolver.resolve(
        loader, kind, value, implicit
    )


def test_the_shipped_definitions_read_as_with_pyyamls_resolver() -> None:
    class Plain(_Loader):  # type: ignore[misc]
        resolve = BaseResolver.resolve
        descend_resolver = BaseResolver.descend_resolver
        ascend_resolver = BaseResolver.ascend_resolver

    files = sorted(Path(__file__).resolve().parents[2].joinpath("definitions").rglob("*.yml"))
    assert len(files) > 5
    for file in files:
        text = file.read_text(encoding="utf-8")
        assert _same(yaml.compose(text, Loader=_Loader), yaml.compose(text, Loader=Plain))


def _same(a: yaml.Node, b: yaml.Node) -> bool:
    """Equal node trees: kinds, tags, values and positions."""
    if type(a) is not type(b) or a.tag != b.tag or a.start_mark.index != b.start_mark.index:
        return False
    if isinstance(a, yaml.ScalarNode):
        return bool(a.value == b.value)
    if len(a.value) != len(b.value):
        return False
    if isinstance(a, yaml.MappingNode):
        pairs = zip(a.value, b.value, strict=True)
        return all(_same(ka, kb) and _same(va, vb) for (ka, va), (kb, vb) in pairs)
    return all(_same(x, y) for x, y in zip(a.value, b.value, strict=True))
