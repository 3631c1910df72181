"""The JSON Schema of a definitions file: generated from the models, committed, validated first.

``schema.json`` beside this module is the committed copy; a test proves it equals
``generate_schema()``. Editors use it through the yaml-language-server line documented in
docs/definitions.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from metrics_layer.errors import did_you_mean
from metrics_layer.spec.limits import QUOTE_CHARS, quote
from metrics_layer.spec.yaml_source import YamlDocument, yaml11_boolean_hint

__all__ = ["SCHEMA_ID", "generate_schema", "load_schema", "validate_document"]

SCHEMA_ID = "https://metrics-layer.dev/schema/definitions-v1.json"


def generate_schema() -> dict[str, Any]:
    """The JSON Schema that the pydantic models describe."""
    from metrics_layer.spec.models import DefinitionsFile

    schema = DefinitionsFile.model_json_schema(mode="validation")
    schema["$id"] = SCHEMA_ID
    return schema


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


@cache
def load_schema() -> dict[str, Any]:
    """The committed schema shipped in the package."""
    text = resources.files("metrics_layer.spec").joinpath("schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = load_schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def validate_document(doc: YamlDocument) -> bool:
    """Validate ``doc.data`` against the schema; add one diagnostic per problem. True if clean."""
    errors = sorted(_validator().iter_errors(doc.data), key=lambda e: list(map(str, e.path)))
    for error in errors:
        _report(doc, error)
    return not errors


def _report(doc: YamlDocument, error: jsonschema.ValidationError) -> None:
    path = tuple(error.absolute_path)
    schema = _mapping(error.schema)
    if error.validator == "oneOf" or error.validator == "anyOf":
        branch = _matching_branch(error)
        if branch:
            for sub in branch:
                _report(doc, sub)
            return
        if (
            error.instance is not None
            and not isinstance(error.instance, dict)
            and any("$ref" in branch for branch in schema.get(str(error.validator), []))
            and "discriminator" in schema
        ):
            doc.error(
                f"each metric must be a mapping of fields, not {quote(error.instance)}",
                path,
                code="schema",
            )
            return
        if (
            isinstance(error.instance, dict)
            and "discriminator" in schema
            and ("type" not in error.instance)
        ):
            kinds = _discriminator_values(schema)
            doc.error(
                f"a metric needs 'type: {' | '.join(kinds)}'{_where(path)}; add it",
                path,
                code="schema",
            )
            return
        optional = _non_null_branch(error)
        if optional:
            for sub in optional:
                _report(doc, sub)
            return
        if isinstance(error.instance, dict) and "type" in error.instance:
            kinds = _discriminator_values(schema)
            doc.error(
                f"unknown type {quote(error.instance['type'])}; expected one of "
                f"{', '.join(kinds)}.{_did_you_mean(error.instance['type'], kinds)}",
                (*path, "type"),
                code="schema",
            )
            return
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(schema.get("properties", {}))
        for key in error.instance:
            if key not in allowed:
                doc.error(
                    f"unknown field {quote(key)}{_where(path)}.{_did_you_mean(key, allowed)} "
                    f"Allowed fields: {', '.join(allowed)}.",
                    (*path, key),
                    key=True,
                    code="schema",
                )
        return
    if error.validator == "required":
        doc.error(f"{error.message}{_where(path)}; add it", path, code="schema")
        return
    if error.validator == "enum":
        allowed = [str(v) for v in schema.get("enum", [])]
        doc.error(
            f"{quote(error.instance)} is not allowed{_where(path)}; use one of "
            f"{', '.join(allowed)}.{_did_you_mean(error.instance, allowed)}",
            path,
            code="schema",
        )
        return
    if error.validator == "pattern":
        rule = schema.get("description") or (
            "lower-case letters, digits and underscores, starting with a letter"
        )
        what = "name" if "letters" in rule.lower() else "value"
        doc.error(
            f"{quote(error.instance)} is not a valid {what}{_where(path)}: use "
            f"{rule[0].lower()}{rule[1:].rstrip('.')}",
            path,
            code="schema",
        )
        return
    hint = yaml11_boolean_hint(error.instance)
    doc.error(f"{_message(error)}{_where(path)}{hint}", path, code="schema")


def _message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message with the value it quotes (``repr`` of any size) cut short."""
    shown = repr(error.instance)
    if shown in error.message:
        return error.message.replace(shown, quote(error.instance))
    message = error.message
    return message if message.isprintable() and len(message) <= 300 else quote(message)[1:-1]


def _did_you_mean(name: object, candidates: list[str]) -> str:
    """A suggestion for a name from a file; a value too long to be a misspelling gets none."""
    text = str(name)
    return did_you_mean(text, candidates) if len(text) <= QUOTE_CHARS else ""


def _where(path: tuple[Any, ...]) -> str:
    if not path:
        return ""
    return " in " + "".join(_step(p) for p in path).lstrip(".")


def _step(part: object) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    text = str(part)
    return f".{text}" if text.isidentifier() and len(text) <= QUOTE_CHARS else f"[{quote(text)}]"


def _matching_branch(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """For a union tagged by ``type``, the errors of the branch that the instance names."""
    instance = error.instance
    if not isinstance(instance, dict) or "type" not in instance:
        return []
    branches = _mapping(error.schema).get(str(error.validator), [])
    found: list[jsonschema.ValidationError] = []
    for sub in error.context or ():
        index = sub.relative_schema_path[0] if sub.relative_schema_path else None
        if not isinstance(index, int) or index >= len(branches):
            continue
        tag = _resolve(branches[index]).get("properties", {}).get("type", {}).get("const")
        if tag == instance["type"]:
            found.append(sub)
    return found


def _non_null_branch(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """For an optional field (``X | null``) holding a non-null value, the errors against X."""
    if error.instance is None:
        return []
    branches = _mapping(error.schema).get(str(error.validator), [])
    kept = [i for i, b in enumerate(branches) if _mapping(b).get("type") != "null"]
    if len(kept) != 1:
        return []
    return [
        sub
        for sub in error.context or ()
        if sub.relative_schema_path and sub.relative_schema_path[0] == kept[0]
    ]


def _mapping(schema: object) -> dict[str, Any]:
    return dict(schema) if isinstance(schema, Mapping) else {}


def _resolve(schema: Any) -> dict[str, Any]:
    if isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        resolved: dict[str, Any] = load_schema().get("$defs", {}).get(name, {})
        return resolved
    return schema if isinstance(schema, dict) else {}


def _discriminator_values(schema: dict[str, Any]) -> list[str]:
    mapping = schema.get("discriminator", {}).get("mapping", {})
    return sorted(mapping) or ["simple", "ratio", "derived"]


def write_schema(target: str | None = None) -> str:
    """Regenerate ``schema.json`` (the package's committed copy by default); returns its path."""
    if target is not None:
        with open(target, "w", encoding="utf-8") as file:
            file.write(schema_text(generate_schema()))
        return target
    path = resources.files("metrics_layer.spec").joinpath("schema.json")
    with resources.as_file(path) as file_path:
        file_path.write_text(schema_text(generate_schema()), encoding="utf-8")
        return str(file_path)


if __name__ == "__main__":
    print(f"wrote {write_schema()}")
