"""A ranked search over catalogue entries: what an assistant calls when it has a word ("actives",
"churn", "revenue") and not a metric's name.

The catalogue page (server/static/page.js) filters on words found in a metric's name, label,
synonyms or tags, with ``tag:x`` for one tag exactly; this search reads the same fields (and
the description and owner, with less weight) and ranks what it finds, so the metric whose name
or synonym *is* the word comes first:

==========================================  =====
match                                       score
==========================================  =====
the whole query is the name                 100
the whole query is a synonym                 90
the whole query is the label                 80
a word in the name or a synonym              12
a word in the label or a tag                 10
a word in the description or the owner        3
the query is close to the name or a synonym  20 (when no word is found at all)
==========================================  =====

Every word of the query must be found somewhere in a metric (or the query be close to its
name or a synonym) for it to be listed.

>>> entries = [
...     {"name": "daily_active_users", "label": "Daily active users (DAU)",
...      "synonyms": ["dau", "actives"], "tags": ["engagement"], "description": None,
...      "owner": "growth"},
...     {"name": "signups", "label": "Signups", "synonyms": ["registrations"], "tags": [],
...      "description": "New accounts.", "owner": "growth"},
... ]
>>> [m["name"] for m in search(entries, "actives")]
['daily_active_users']
>>> [m["name"] for m in search(entries, "growth")]
['daily_active_users', 'signups']
>>> [m["name"] for m in search(entries, "signpus")]
['signups']
>>> search(entries, "tag:engagement")[0]["name"]
'daily_active_users'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from difflib import SequenceMatcher
from typing import Any

__all__ = ["search", "words"]

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The lower-case words of ``text`` (letters and digits; ``_`` and punctuation split)."""
    return _WORD.findall(text.lower())


def search(
    entries: Iterable[Mapping[str, Any]], query: str, limit: int = 20
) -> list[Mapping[str, Any]]:
    """The entries matching ``query``, best first (then by name), at most ``limit``."""
    text = " ".join(query.lower().split())
    tags = {part[4:] for part in text.split() if part.startswith("tag:") and len(part) > 4}
    rest = " ".join(part for part in text.split() if not part.startswith("tag:"))
    wanted = words(rest)
    scored: list[tuple[float, str, Mapping[str, Any]]] = []
    for entry in entries:
        if tags and not tags <= {t.lower() for t in entry.get("tags") or ()}:
            continue
        score = _score(entry, rest, wanted)
        if score is not None:
            scored.append((score, str(entry["name"]), entry))
    scored.sort(key=lambda found: (-found[0], found[1]))
    return [entry for _, _, entry in scored[:limit]]


def _score(entry: Mapping[str, Any], text: str, wanted: list[str]) -> float | None:
    """How well ``entry`` matches; None when it does not."""
    name = str(entry["name"]).lower()
    synonyms = [str(s).lower() for s in entry.get("synonyms") or ()]
    label = str(entry.get("label") or "").lower()
    if not wanted:
        return 0.0  # only tags were asked for, and they matched
    joined = "_".join(wanted)
    score = 0.0
    if joined == name or text == name:
        score += 100
    if joined in synonyms or text in synonyms:
        score += 90
    if text == label:
        score += 80
    strong = " ".join([name, *synonyms])
    middle = " ".join([label, *(str(t).lower() for t in entry.get("tags") or ())])
    weak = " ".join([str(entry.get("description") or ""), str(entry.get("owner") or "")]).lower()
    found = 0
    for word in wanted:
        if word in strong:
            score += 12
        elif word in middle:
            score += 10
        elif word in weak:
            score += 3
        else:
            continue
        found += 1
    if found == len(wanted):
        return score
    close = max(
        (SequenceMatcher(None, joined, candidate).ratio() for candidate in [name, *synonyms]),
        default=0.0,
    )
    return 20 * close if close >= 0.75 else None
