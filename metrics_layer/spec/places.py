"""Naming a place in a definitions file the way its author thinks of it.

A schema error at ``("metrics", 7, "fill_null")`` is about ``metric 't1'``'s ``fill_null``, not
about ``metrics[7]``: the item is named by its ``name`` (read from the raw YAML, so even an
invalid item is known by name), the field by its key.

>>> data = {"metrics": [{"name": "t1", "inputs": [{"metric": "a"}]}]}
>>> describe(data, ("metrics", 0, "fill_null"))
("metric 't1'", 'fill_null')
>>> describe(data, ("metrics", 0, "inputs", 0, "offset"))
("metric 't1', input 'a'", 'offset')
>>> describe({"sources": [{"table": "x"}]}, ("sources", 0, "measures"))
('the 1st source (no name)', 'measures')
>>> describe({"project": {}}, ("project", "targets", "dev", "schema"))
("project, target 'dev'", 'schema')
"""

from __future__ import annotations

from typing import Any

from metrics_layer.spec.limits import QUOTE_CHARS, quote

__all__ = ["describe", "item_name", "ordinal", "place", "split_hint"]

# What each list of named items holds, and the key naming an item in it.
_ITEMS: dict[str, tuple[str, str]] = {
    "sources": ("source", "name"),
    "metrics": ("metric", "name"),
    "entities": ("entity", "name"),
    "dimensions": ("dimension", "name"),
    "measures": ("measure", "name"),
    "inputs": ("input", "metric"),
    "periods": ("period", "name"),
    "changelog": ("changelog entry", "version"),
}
# Mappings whose keys are names the author chose.
_NAMED_KEYS = {"targets": "target"}


def ordinal(index: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th`` for a 0-based index.

    >>> [ordinal(i) for i in (0, 1, 2, 3, 10, 11, 20, 21)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '21st', '22nd']
    """
    number = index + 1
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def item_name(item: object, key: str = "name") -> str | None:
    """The name an item of a file gives itself, if it is a short plain value."""
    if isinstance(item, dict):
        value = item.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            text = str(value)
            if text and len(text) <= QUOTE_CHARS:
                return text
    return None


def describe(data: Any, path: tuple[Any, ...]) -> tuple[str, str]:
    """(the innermost named item holding ``path``, the field below it) for a message.

    Either part may be empty: ``("", "sources")`` for a top-level key, ``("metric 'a'", "")``
    for the item itself.
    """
    owners: list[str] = []
    field: list[str] = []
    node = data
    index = 0
    while index < len(path):
        step = path[index]
        child = node.get(step) if isinstance(node, dict) else None
        following = path[index + 1] if index + 1 < len(path) else None
        if step == "project" and index == 0:
            owners, field = ["project"], []
            node, index = child, index + 1
            continue
        if (
            isinstance(step, str)
            and step in _ITEMS
            and isinstance(following, int)
            and isinstance(child, list)
            and following < len(child)
        ):
            kind, key = _ITEMS[step]
            item = child[following]
            name = item_name(item, key)
            if name is None:
                owners.append(f"the {ordinal(following)} {kind} (no {key})")
            elif key == "version":
                owners.append(f"the {kind} of version {name}")
            else:
                owners.append(f"{kind} {quote(name)}")
            field = []
            node, index = item, index + 2
            continue
        if isinstance(step, str) and step in _NAMED_KEYS and following is not None:
            owners.append(f"{_NAMED_KEYS[step]} {quote(str(following))}")
            field = []
            node = child.get(following) if isinstance(child, dict) else None
            index += 2
            continue
        field.append(_step(step))
        if isinstance(node, dict):
            node = child
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            node = None
        index += 1
    return ", ".join(owners), "".join(field).lstrip(".")


def place(data: Any, path: tuple[Any, ...]) -> str:
    """``metric 't1': fill_null`` style prefix for a message about ``path``.

    >>> place({"metrics": [{"name": "t1"}]}, ("metrics", 0, "fill_null"))
    "metric 't1': fill_null"
    >>> place({"metrics": [{"name": "t1"}]}, ("metrics", 0))
    "metric 't1'"
    >>> place({}, ("sources",))
    'sources'
    """
    owner, field = describe(data, path)
    if owner and field:
        return f"{owner}: {field}"
    return owner or field or "the file"


def _step(part: object) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    text = str(part)
    return f".{text}" if text.isidentifier() and len(text) <= QUOTE_CHARS else f"[{quote(text)}]"


_FIX_WORDS = (
    "Write ",
    "Use ",
    "Group ",
    "Declare ",
    "Name ",
    "Add ",
    "Remove ",
    "Set ",
    "Give ",
    "Define ",
    "Filter ",
    "A filter is ",
    "An expression is ",
    "Did you mean ",
)


def split_hint(text: str, default: str) -> tuple[str, str]:
    """An error text written as "problem; fix" or "Problem. Fix ..." split into (problem,
    fix); ``default`` is the fix when the text holds none.

    >>> split_hint("unknown name 'x'. Write 'entity.dimension'. Did you mean 'y'?", "-")
    ("unknown name 'x'", "write 'entity.dimension'. Did you mean 'y'?")
    >>> split_hint("comments are not allowed in a filter; remove them", "-")
    ('comments are not allowed in a filter', 'remove them')
    >>> split_hint("no way to say", "ask")
    ('no way to say', 'ask')
    """
    cut = len(text)
    for word in _FIX_WORDS:
        found = text.find(". " + word)
        if found != -1 and found < cut:
            cut = found
    semicolon = text.find("; ")
    if semicolon != -1 and semicolon < cut:
        return text[:semicolon], text[semicolon + 2 :]
    if cut < len(text):
        fix = text[cut + 2 :]
        if not fix.startswith("Did you mean "):
            fix = fix[:1].lower() + fix[1:]
        return text[:cut], fix
    return text, default
