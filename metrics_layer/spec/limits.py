"""How much a project may hold: every limit on reading definitions, in one place.

Definitions come from pull requests and ``metrics-layer check`` runs them before review, so
reading must end quickly, in bounded memory, whatever the files hold. Each limit below is far
above what real projects need: the generated 1,000-metric benchmark project
(``benchmarks/generate_project.py``) has 32 files, 0.5 MB in all, 28 KB and about 900 YAML nodes
in its largest file, nesting 5 deep; a 10,000-metric one has 4.6 MB, 284 KB in its largest file.
Going over a limit is an error diagnostic naming the file (and line when known) and the limit;
nothing is read past it. docs/security-definitions.md explains what each one protects.

>>> quote("a\\x1b[31mred\\n")
"'a\\\\x1b[31mred\\\\n'"
>>> quote("x" * 100)[-6:]
"xx...'"
"""

from __future__ import annotations

import reprlib

from metrics_layer.errors import printable

__all__ = [
    "MAX_DEPTH",
    "MAX_DIAGNOSTICS",
    "MAX_DIAGNOSTICS_PER_FILE",
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "MAX_MESSAGE_CHARS",
    "MAX_NODES",
    "MAX_SCALAR_CHARS",
    "MAX_TOTAL_BYTES",
    "MAX_TOTAL_NODES",
    "MAX_WALK_ENTRIES",
    "QUOTE_CHARS",
    "bounded",
    "quote",
    "quote_path",
    "size",
]

MAX_FILE_BYTES = 1024 * 1024
"""Bytes in one file: 1 MiB holds about 2,000 metrics, 37 times the benchmark's largest file."""

MAX_FILES = 10_000
"""Definitions files in a project: one file per metric still fits a 10,000-metric catalogue."""

MAX_TOTAL_BYTES = 16 * 1024 * 1024
"""Bytes in all files: 16 MiB is about 35,000 metrics, 32 times the 1,000-metric benchmark.
Loading and checking costs about 2 s per MB, so this also bounds the time ``check`` takes."""

MAX_NODES = 100_000
"""YAML nodes (mappings, sequences, scalars) in one file, counted as aliases are expanded: a
realistic 1 MiB file has about 30,000; an alias bomb of a few hundred bytes is refused here
before it grows."""

MAX_TOTAL_NODES = 500_000
"""YAML nodes in all files, aliases expanded: about 28,000 metrics (the 1,000-metric benchmark
has about 18,000 nodes, a 10,000-metric project about 180,000). Checking costs up to about 50 µs
a node, so this bounds ``check`` to tens of seconds however the nodes are shaped, and many small
alias-heavy files cannot add up."""

MAX_DEPTH = 64
"""Nesting of mappings and sequences: definitions nest about 6 deep."""

MAX_SCALAR_CHARS = 64 * 1024
"""Characters in one value: a long ``sql:`` derived table fits; 64 K characters of filter or
description is never written by hand."""

MAX_WALK_ENTRIES = 200_000
"""Folder entries looked at while searching ``paths`` for ``*.yml``/``*.yaml`` files (a
definitions repository has hundreds); hidden folders such as ``.git`` are not searched."""

MAX_DIAGNOSTICS_PER_FILE = 100
"""Diagnostics listed for one file; the rest are counted in one last diagnostic, so a file
repeating one mistake thousands of times (by hand or through aliases) cannot flood the log."""

MAX_DIAGNOSTICS = 1000
"""Diagnostics listed for a whole project, counted the same way."""

QUOTE_CHARS = 80
"""Characters of a value from a file quoted in a diagnostic; the rest is cut."""

MAX_MESSAGE_CHARS = 1000
"""Characters of one diagnostic message, whatever stage wrote it: the last net under
``QUOTE_CHARS`` for messages that quote SQL or a parser's error text."""


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict = 2, 4, 4
_SHORT.maxstring = _SHORT.maxother = QUOTE_CHARS


def quote(value: object) -> str:
    """``value`` for a diagnostic, quoted if a string: at most ``QUOTE_CHARS`` characters,
    control characters escaped, so a file cannot flood or rewrite the CI log through a message.

    >>> quote(3), quote([1] * 9)
    ('3', '[1, 1, 1, 1, ...]')
    """
    if not isinstance(value, str):
        return printable(_SHORT.repr(value)[:QUOTE_CHARS])
    clipped = len(value) > QUOTE_CHARS
    escaped = printable(value[:QUOTE_CHARS])
    return f"'{escaped}...'" if clipped else f"'{escaped}'"


def bounded(message: str) -> str:
    """``message`` with control characters escaped, cut to ``MAX_MESSAGE_CHARS``.

    >>> bounded("bad\\x1b[2Jsql")
    'bad\\\\x1b[2Jsql'
    """
    if message.isprintable() and len(message) <= MAX_MESSAGE_CHARS:
        return message
    escaped = printable(message[: MAX_MESSAGE_CHARS + 1])
    return escaped if len(escaped) <= MAX_MESSAGE_CHARS else escaped[:MAX_MESSAGE_CHARS] + "..."


def quote_path(path: object) -> str:
    """A file or folder name for a diagnostic: quoted, control characters escaped, never cut.

    >>> quote_path("defs/a\\nb.yml")
    "'defs/a\\\\nb.yml'"
    """
    return f"'{printable(str(path))}'"


def size(count: int) -> str:
    """A byte count for messages.

    >>> size(MAX_FILE_BYTES), size(MAX_TOTAL_BYTES), size(1500)
    ('1 MiB', '16 MiB', '1500 bytes')
    """
    if count >= 1024 * 1024 and count % (1024 * 1024) == 0:
        return f"{count // (1024 * 1024)} MiB"
    return f"{count} bytes"
