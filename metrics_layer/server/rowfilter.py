"""A policy's row filter: parsed once, with each ``{claims.NAME}`` a slot that a caller's claim
value fills as a typed literal node, per request, in a copy of the tree.

The text is checked by the same parser and allow-list as a query's ``where``
(``graph/expressions.py: parse_condition``); a claim value never becomes SQL text, only a
string, number or boolean literal (a list claim: the items of an ``IN`` list), so a quote, a
``--`` or a whole statement in a claim is compared as the value it is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from metrics_layer.errors import AccessError, FilterError
from metrics_layer.graph.expressions import column_parts, parse_condition
from metrics_layer.safety.trees import filter_problem

__all__ = ["MAX_CLAIM_CHARS", "MAX_CLAIM_ITEMS", "RowFilter"]

# ``{claims.country}``: a top-level claim of the token (or of the API key's configuration).
_PLACEHOLDER = re.compile(r"\{\s*claims\.([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}")
# What a placeholder is parsed as: a bare column no definition can name (NAME allows it, so the
# filter parses; the prefix is refused in the text itself).
_SLOT = "__ml_claim__"
# A string claim longer than this, or a list with more items, is refused rather than sent.
MAX_CLAIM_CHARS = 1000
MAX_CLAIM_ITEMS = 1000
# Whole numbers up to 38 digits: the filter allow-list's bound on a number literal.
_MAX_DIGITS = 38


@dataclass(frozen=True)
class RowFilter:
    """A row filter as written (``text``), parsed with its claim slots (``tree``), the claim
    names it needs in order, and the dimension names it reads.

    >>> f = RowFilter.parse("user.country = {claims.country}", field="row_filter")
    >>> f.claims, f.names
    (('country',), ('user.country',))
    >>> f.fill({"country": "O'Hara"}).sql()
    "user.country = 'O''Hara'"
    >>> f.fill({"country": ["DE", "AT"]}).sql()
    "user.country IN ('DE', 'AT')"
    >>> RowFilter.parse("user.plan <> {claims.p}", field="row_filter").fill({"p": ["a"]}).sql()
    "NOT user.plan IN ('a')"
    """

    text: str
    tree: exp.Expr
    claims: tuple[str, ...]
    names: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, *, field: str) -> RowFilter:
        """Parse and check ``text``; a FilterError naming ``field`` when it is not a safe
        boolean over dimension names and ``{claims.NAME}`` placeholders."""
        if _SLOT in text:
            raise FilterError(f"'{_SLOT}' is reserved; rename it", field=field)
        slotted = _PLACEHOLDER.sub(lambda m: f" {_SLOT}{m.group(1)} ", text)
        if "{" in slotted or "}" in slotted:
            raise FilterError(
                "a placeholder is written {claims.NAME}, NAME a claim of the token (letters, "
                "digits and '_'); no other braces are allowed",
                field=field,
            )
        tree = parse_condition(slotted, field=field)
        claims: list[str] = []
        names: list[str] = []
        for node in tree.find_all(exp.Column):
            parts = column_parts(node)
            slots = [p for p in parts if p.startswith(_SLOT)]
            if not slots:
                names.append(".".join(parts))
                continue
            if len(parts) != 1:
                raise FilterError(
                    "a placeholder stands for a value, not for part of a name; write "
                    "e.g. user.country = {claims.country}",
                    field=field,
                )
            claims.append(parts[0][len(_SLOT) :])
            if isinstance(node.parent, exp.In) and len(node.parent.expressions) != 1:
                raise FilterError(
                    "a placeholder in IN (...) stands for the whole list; write "
                    "IN ({claims.NAME}) with nothing else in the parentheses",
                    field=field,
                )
        return cls(text, tree, tuple(dict.fromkeys(claims)), tuple(dict.fromkeys(names)))

    def fill(self, claims: Mapping[str, Any]) -> exp.Expr:
        """A new tree with each slot replaced by its claim's value as a literal; AccessError
        when a claim is missing or is not a string, number, boolean or list of those."""
        # Held in a parent of its own, so that a slot's comparison at the root can be replaced.
        holder = exp.Paren(this=self.tree.copy())
        for node in list(holder.find_all(exp.Column)):
            name = node.name
            if not name.startswith(_SLOT):
                continue
            claim = name[len(_SLOT) :]
            if claim not in claims:
                raise AccessError(
                    f"your credentials have no claim '{claim}', which your access policy "
                    "needs; ask for a token (or key) that carries it"
                )
            value = claims[claim]
            if isinstance(value, (list, tuple)):
                _fill_list(node, claim, value)
            else:
                node.replace(literal(value, claim))
        tree: exp.Expr = holder.this.pop()
        problem = filter_problem(tree)
        if problem is not None:
            raise AccessError(f"a claim's value made {problem}, which a filter may not hold")
        return tree


def _fill_list(node: exp.Column, claim: str, values: Sequence[Any]) -> None:
    """Put a list claim's values where ``node`` is: the items of its ``IN (...)``, or, as one
    side of ``=`` (``<>``), an ``IN`` (``NOT IN``) list of them."""
    if not values:
        raise AccessError(f"claim '{claim}' is an empty list: your access policy allows no rows")
    if len(values) > MAX_CLAIM_ITEMS:
        raise AccessError(
            f"claim '{claim}' lists {len(values):,} values; at most {MAX_CLAIM_ITEMS:,} are "
            "accepted"
        )
    items = [literal(v, claim) for v in values]
    parent = node.parent
    if isinstance(parent, exp.In) and node.arg_key == "expressions":
        parent.set("expressions", items)
        return
    if isinstance(parent, (exp.EQ, exp.NEQ)):
        other = parent.expression if node.arg_key == "this" else parent.this
        listed: exp.Expr = exp.In(this=other.copy(), expressions=items)
        parent.replace(listed if isinstance(parent, exp.EQ) else exp.Not(this=listed))
        return
    raise AccessError(
        f"claim '{claim}' is a list, and your access policy compares it with one value; "
        "ask for a token where it is a single value"
    )


def literal(value: object, claim: str) -> exp.Expr:
    """``value`` as a literal node: a string, a finite number (negative as ``-n``) or a
    boolean; anything else (None, an object, a nested list) is an AccessError naming ``claim``
    but never quoting its value.

    >>> literal("x' OR 1=1 --", "c").sql()
    "'x'' OR 1=1 --'"
    >>> literal(-2.5, "c").sql(), literal(True, "c").sql()
    ('-2.5', 'TRUE')
    >>> literal({"a": 1}, "c")
    Traceback (most recent call last):
    metrics_layer.errors.AccessError: claim 'c' is a dict; a row filter takes a string, a ...
    """
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        if len(str(abs(value))) > _MAX_DIGITS:
            raise AccessError(f"claim '{claim}' is a number of more than {_MAX_DIGITS} digits")
        number = exp.Literal.number(abs(value))
        return exp.Neg(this=number) if value < 0 else number
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AccessError(f"claim '{claim}' is not a finite number")
        number = exp.Literal.number(repr(abs(value)))
        return exp.Neg(this=number) if value < 0 else number
    if isinstance(value, str):
        if len(value) > MAX_CLAIM_CHARS:
            raise AccessError(
                f"claim '{claim}' has {len(value):,} characters; at most {MAX_CLAIM_CHARS:,} "
                "are accepted"
            )
        if "\x00" in value or not _is_text(value):
            raise AccessError(f"claim '{claim}' holds a NUL character or bytes that are not text")
        return exp.Literal.string(value)
    raise AccessError(
        f"claim '{claim}' is a {type(value).__name__}; a row filter takes a string, a number "
        "or a boolean"
    )


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
