"""The JSON Schema of a definitions file: generated from the models, committed, validated first.

``schema.json`` beside this module is the committed copy; a test proves it equals
``generate_schema()``. Editors use it through the yaml-language-server line documented in
docs/definitions.md.

The schema's errors are the ones shown to an author (they name the field and the fix), but
walking a file with ``jsonschema`` takes about 0.2 ms per metric; ``spec/project.py`` walks only
the files the models refuse when read strictly (``models.accepts_strictly``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any, cast

import jsonschema

from metrics_layer.errors import did_you_mean, printable
from metrics_layer.spec.limits import QUOTE_CHARS, quote
from metrics_layer.spec.places import describe, place
from metrics_layer.spec.yaml_source import Path, YamlDocument, yaml11_boolean_hint

__all__ = ["SCHEMA_ID", "generate_schema", "invalid_paths", "load_schema", "validate_document"]

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
    base = jsonschema.validators.validator_for(schema)
    plain_one_of = base.VALIDATORS["oneOf"]

    def one_of(
        validator: Any, alternatives: Any, instance: Any, where: Mapping[str, Any]
    ) -> Iterator[jsonschema.ValidationError]:
        """``oneOf`` with the models' discriminator: an item whose ``type`` names one
        alternative is validated against that one only (its errors are the ones to show, and
        a thousand metrics are not each tried against every type); any other item, against
        all of them."""
        discriminator = where.get("discriminator")
        if discriminator is not None and validator.is_type(instance, "object"):
            named = instance.get(discriminator["propertyName"])
            chosen = discriminator["mapping"].get(named) if isinstance(named, str) else None
            if isinstance(chosen, str):
                yield from validator.descend(instance, {"$ref": chosen})
                return
        yield from plain_one_of(validator, alternatives, instance, where)

    cls = jsonschema.validators.extend(base, {"oneOf": one_of})  # type: ignore[no-untyped-call]
    return cast(jsonschema.protocols.Validator, cls(schema))


def validate_document(doc: YamlDocument) -> bool:
    """Validate ``doc.data`` against the schema; add one diagnostic per problem. True if clean."""
    return not invalid_paths(doc)


def invalid_paths(doc: YamlDocument) -> list[Path]:
    """Validate ``doc.data`` against the schema, adding one diagnostic per problem; the path
    of each problem found (so a caller keeps the items that have none)."""
    errors = sorted(_validator().iter_errors(doc.data), key=lambda e: list(map(str, e.path)))
    for error in errors:
        _report(doc, error)
    return [tuple(error.absolute_path) for error in errors]


def _report(doc: YamlDocument, error: jsonschema.ValidationError) -> None:
    path = tuple(error.absolute_path)
    schema = _mapping(error.schema)
    where = place(doc.data, path)
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
                f"{where}: each metric must be a mapping of fields, not {quote(error.instance)}",
                path,
                code="schema",
                hint="write the metric as 'name: ...', 'type: ...' and its other fields",
            )
            return
        if (
            isinstance(error.instance, dict)
            and "discriminator" in schema
            and ("type" not in error.instance)
        ):
            kinds = _discriminator_values(schema)
            doc.error(
                f"{where} has no 'type'",
                path,
                code="schema",
                hint=f"add 'type: {' | '.join(kinds)}'",
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
                f"{where}: unknown type {quote(error.instance['type'])}",
                (*path, "type"),
                code="schema",
                hint=f"use one of {', '.join(kinds)}."
                + _did_you_mean(error.instance["type"], kinds),
            )
            return
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(schema.get("properties", {}))
        for key in error.instance:
            if key not in allowed:
                suggestion = _did_you_mean(key, allowed).strip()
                doc.error(
                    f"{where}: unknown field {quote(key)}"
                    if path
                    else f"unknown field {quote(key)} at the top of the file",
                    (*path, key),
                    key=True,
                    code="schema",
                    hint=f"{suggestion} Allowed fields: {', '.join(allowed)}.".lstrip(),
                )
        return
    if error.validator == "required":
        missing = _quoted_name(error.message)
        if _misspelled(error.instance, missing, schema):
            return  # the unknown field's error says "did you mean" this one
        doc.error(
            f"{where} needs '{missing}'" if path else f"the file needs '{missing}'",
            path,
            code="schema",
            hint=f"add '{missing}'",
        )
        return
    if error.validator == "enum":
        allowed = [str(v) for v in schema.get("enum", [])]
        doc.error(
            f"{where} must be one of {', '.join(allowed)}, not {quote(error.instance)}",
            path,
            code="schema",
            hint=(
                _did_you_mean(error.instance, allowed).strip()
                or (f"write '{allowed[0]}' or another of the values listed" if allowed else "")
                or "write one of the values the field allows"
            ),
        )
        return
    if error.validator == "pattern":
        rule = schema.get("description") or (
            "lower-case letters, digits and underscores, starting with a letter"
        )
        what = "name" if "letters" in rule.lower() else "value"
        owner, field = describe(doc.data, path)
        kind = owner.rsplit(", ", 1)[-1].split(" ")[0] if owner else ""
        doc.error(
            f"{quote(error.instance)} is not a valid {kind} name"
            if field == "name" and kind and not owner.startswith("the ")
            else f"{where}: {quote(error.instance)} is not a valid {what}",
            path,
            code="schema",
            hint=f"use {rule[0].lower()}{rule[1:].rstrip('.')}",
        )
        return
    message, hint = _wording(error, schema)
    boolean = yaml11_boolean_hint(error.instance).strip(" ()")
    doc.error(f"{where} {message}", path, code="schema", hint=boolean or hint)


_TYPES = {
    "number": "a number",
    "integer": "a whole number",
    "string": "text",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping of fields",
    "null": "empty",
}


def _wording(error: jsonschema.ValidationError, schema: dict[str, Any]) -> tuple[str, str]:
    """(what is wrong, what to do) for a schema error, in the library's words.

    >>> v = jsonschema.Draft202012Validator({"type": "number", "exclusiveMaximum": 1})
    >>> _wording(next(v.iter_errors(90)), {"exclusiveMaximum": 1})
    ('must be below 1, not 90', 'write 0.9')
    """
    value = error.instance
    validator = str(error.validator)
    if validator == "type":
        wanted = schema.get("type", "")
        kinds = [wanted] if isinstance(wanted, str) else [str(k) for k in wanted]
        words = " or ".join(_TYPES.get(str(k), str(k)) for k in kinds if k != "null")
        return f"must be {words}, not {quote(value)}", f"write {words}"
    bounds = {
        "minimum": "at least",
        "exclusiveMinimum": "above",
        "maximum": "at most",
        "exclusiveMaximum": "below",
    }
    if validator in bounds:
        limit = error.validator_value
        message = f"must be {bounds[validator]} {limit}, not {quote(value)}"
        if _is_fraction(schema) and isinstance(value, (int, float)) and 1 < value < 100:
            return message, f"write {value / 100:g}"
        if validator in ("minimum", "exclusiveMinimum"):
            return message, f"write a number {bounds[validator]} {limit}"
        return message, f"write a number {bounds[validator]} {limit}"
    if validator == "minLength":
        return "must not be empty", "write a value, or remove the field"
    if validator == "maxLength":
        return (
            f"is longer than {error.validator_value} characters",
            f"shorten it to {error.validator_value} characters",
        )
    if validator == "minItems":
        return (
            f"needs at least {error.validator_value} item(s)",
            "add an item, or remove the field",
        )
    if validator == "const":
        return f"must be {quote(error.validator_value)}", f"write {quote(error.validator_value)}"
    return _message(error), "fix the value; docs/definitions.md lists every field"


def _misspelled(instance: object, missing: str, schema: dict[str, Any]) -> bool:
    """Whether ``instance`` holds an unknown key that is a misspelling of ``missing``.

    >>> _misspelled({"measur": "x"}, "measure", {"properties": {"measure": {}}})
    True
    >>> _misspelled({"label": "x"}, "measure", {"properties": {"measure": {}, "label": {}}})
    False
    """
    if not isinstance(instance, dict):
        return False
    allowed = schema.get("properties", {})
    unknown = [str(k) for k in instance if k not in allowed]
    return any(_did_you_mean(k, list(allowed)) == f" Did you mean '{missing}'?" for k in unknown)


def _is_fraction(schema: dict[str, Any]) -> bool:
    """Whether a number field takes a fraction between 0 and 1 (a percentile)."""
    high = schema.get("exclusiveMaximum", schema.get("maximum"))
    low = schema.get("exclusiveMinimum", schema.get("minimum"))
    return high == 1 and low in (0, None)


def _quoted_name(message: str) -> str:
    """The property jsonschema names in "'measure' is a required property"."""
    head, _, rest = message.partition("'")
    name = rest.rsplit("' is a required property", 1)[0]
    return printable(name) if not head and len(name) <= QUOTE_CHARS else "a field"


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
