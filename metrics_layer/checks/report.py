"""``metrics-layer check`` output: the diagnostics of one check in each format.

Each renderer is a pure function of the diagnostics (and, for text, a way to read the line a
diagnostic points at), returning the whole output as one string:

- ``render_text``: compiler style for people, the offending YAML line under each finding;
- ``render_json``: ``{"version": 1, "summary": ..., "diagnostics": [...]}`` for scripts;
- ``render_github``: GitHub Actions workflow commands, which become annotations on the diff;
- ``render_sarif``: a SARIF 2.1.0 log for code scanning (``upload-sarif``);
- ``render_markdown``: a pull-request comment, breaking changes first.

Whatever a definitions file holds (its name, or text quoted in a message), the output cannot
run together, start a CI command, move a terminal's cursor or mention someone: each format
escapes what it embeds in its own way, and text read back from a file is bounded.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from metrics_layer.checks.codes import CODES
from metrics_layer.errors import Diagnostic, Level, printable
from metrics_layer.spec.limits import MAX_FILE_BYTES, MAX_TOTAL_BYTES, bounded

__all__ = [
    "JSON_VERSION",
    "Format",
    "LineReader",
    "Summary",
    "artifact_uri",
    "failed",
    "github_command",
    "github_link",
    "not_a_command",
    "render_github",
    "render_json",
    "render_markdown",
    "render_sarif",
    "render_text",
    "source_lines",
    "summarize",
]


class Format(StrEnum):
    """The output formats of ``metrics-layer check``."""

    TEXT = "text"
    JSON = "json"
    GITHUB = "github"
    SARIF = "sarif"
    MARKDOWN = "markdown"


JSON_VERSION = 1
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SNIPPET_CHARS = 160
"""Characters of a source line shown under a finding; a longer line is shown around the column."""
MARKDOWN_CHARS = 60_000
"""A pull-request comment holds at most 65,536 characters; past this the rest is counted."""

LineReader = Callable[[str, int], "str | None"]
"""``(file, line number) -> the text of that line``, or None when it cannot be read."""


@dataclass(frozen=True)
class Summary:
    """How many findings of each level, and how many metrics were checked."""

    errors: int
    warnings: int
    notes: int
    metrics: int

    def __str__(self) -> str:
        """The last line of the text output.

        >>> str(Summary(2, 1, 0, 30)), str(Summary(0, 0, 0, 30))
        ('2 error(s), 1 warning(s), 0 note(s)', 'ok: 30 metrics, no problems')
        """
        if self.errors or self.warnings or self.notes:
            return f"{self.errors} error(s), {self.warnings} warning(s), {self.notes} note(s)"
        return f"ok: {self.metrics} metrics, no problems"


def summarize(diagnostics: Sequence[Diagnostic], metrics: int = 0) -> Summary:
    """Count ``diagnostics`` by level.

    >>> summarize([Diagnostic(Level.ERROR, "x"), Diagnostic(Level.NOTE, "y")], 3)
    Summary(errors=1, warnings=0, notes=1, metrics=3)
    """
    levels = [d.level for d in diagnostics]
    return Summary(
        levels.count(Level.ERROR), levels.count(Level.WARNING), levels.count(Level.NOTE), metrics
    )


def failed(diagnostics: Sequence[Diagnostic], *, strict: bool = False) -> bool:
    """Whether the check fails: on any error, and with ``strict`` on any warning too; notes
    never fail it.

    >>> warning = Diagnostic(Level.WARNING, "w")
    >>> failed([warning]), failed([warning], strict=True), failed([Diagnostic(Level.NOTE, "n")])
    (False, True, False)
    """
    stops = {Level.ERROR, Level.WARNING} if strict else {Level.ERROR}
    return any(d.level in stops for d in diagnostics)


def _joined(d: Diagnostic) -> str:
    """The message and the hint on one line, as ``str(diagnostic)`` joins them."""
    return f"{d.message}; {d.hint}" if d.hint else d.message


def not_a_command(line: str) -> str:
    """``line`` with ``./`` in front when it starts with ``::``, so that a CI runner reading
    the log does not take it for a workflow command.

    >>> not_a_command("::error::x.yml:1:1: error"), not_a_command("a.yml")
    ('./::error::x.yml:1:1: error', 'a.yml')
    """
    return f"./{line}" if line.startswith("::") else line


# -- text ----------------------------------------------------------------------------------------

_COLOURS = {Level.ERROR: "\x1b[1;31m", Level.WARNING: "\x1b[1;33m", Level.NOTE: "\x1b[1;36m"}
_BLUE, _BOLD, _RESET = "\x1b[1;34m", "\x1b[1m", "\x1b[0m"
# The line breaks PyYAML counts lines by, so a line number means the same line here.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def source_lines(
    limit: int = MAX_FILE_BYTES, total: int = MAX_TOTAL_BYTES, *, within: str | None = None
) -> LineReader:
    """A reader of one line of a definitions file, for the text output.

    Each file is read once (at most ``limit`` bytes, only if it is a regular file, without
    blocking: ``spec.files.read_bytes``) and at most ``total`` bytes over all files. With
    ``within`` (the checked folder, or file) a file is read only when its real path, links
    resolved, is inside that folder, as the check itself reads: a diagnostic about a link that
    leads elsewhere does not get the other file's line printed. A file that cannot be read, or a
    line past its end, gives None.
    """
    from metrics_layer.spec.files import Scope, Unreadable, read_bytes, real_path

    scope = None
    if within is not None:
        root = real_path(Path(within))
        scope = Scope(root if os.path.isdir(root) else root.parent)  # isdir never raises
    files: dict[str, list[str] | None] = {}
    spent = 0

    def read(file: str, line: int) -> str | None:
        nonlocal spent
        if file not in files:
            lines: list[str] | None = None
            allowed = scope is None or scope.allows(real_path(Path(file)))
            if allowed and spent < total:
                try:
                    data = read_bytes(Path(file), min(limit, total - spent))
                    spent += len(data)
                    lines = _LINE_BREAK.split(data.decode("utf-8", errors="replace"))
                except (Unreadable, OSError, ValueError):
                    lines = None
            files[file] = lines
        found = files[file]
        if found is None or not 1 <= line <= len(found):
            return None
        return found[line - 1].removeprefix("\ufeff") if line == 1 else found[line - 1]

    return read


def _width(text: str) -> int:
    """Terminal columns ``text`` takes: East Asian wide characters take two.

    >>> _width("ab"), _width("指标")
    (2, 4)
    """
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _snippet(text: str, column: int) -> tuple[str, int]:
    """The part of a source line to show and the display column of ``column`` in it: control
    characters escaped, a long line cut to ``SNIPPET_CHARS`` around the column.

    >>> _snippet("  a:\\tb", 6)
    ('  a:\\\\tb', 6)
    >>> shown, at = _snippet("x" * 300 + "y", 301)
    >>> shown[at], len(shown) < 200
    ('y', True)
    """
    index = max(0, min(column - 1, len(text)))
    start = max(0, index - SNIPPET_CHARS // 2) if len(text) > SNIPPET_CHARS else 0
    end = min(len(text), start + SNIPPET_CHARS)
    head = "..." if start > 0 else ""
    tail = "..." if end < len(text) else ""
    before = head + printable(text[start:index])
    return before + printable(text[index:end]) + tail, _width(before)


def _text_block(d: Diagnostic, read: LineReader | None, colour: bool) -> list[str]:
    level = d.level.value
    paint = _COLOURS[d.level] if colour else ""
    blue, bold, reset = (_BLUE, _BOLD, _RESET) if colour else ("", "", "")
    where = not_a_command(printable(d.where))
    message = printable(bounded(d.message))
    lines = [f"{bold}{where}{reset}: {paint}{level}[{printable(d.code)}]{reset}: {message}"]
    text = read(d.file, d.line) if read is not None and d.file and d.line else None
    gutter = " " * len(str(d.line or ""))
    if text is not None and d.line is not None:
        shown, at = _snippet(text, d.column or 1)
        lines += [
            f"{blue}{gutter} |{reset}",
            f"{blue}{d.line} |{reset} {shown}",
            f"{blue}{gutter} |{reset} {' ' * at}{paint}^{reset}",
        ]
    if d.hint:
        hint = printable(bounded(d.hint))
        lines.append(f"{blue}{gutter or ' '} ={reset} {bold}hint{reset}: {hint}")
    return lines


def render_text(
    diagnostics: Sequence[Diagnostic],
    *,
    metrics: int = 0,
    read: LineReader | None = None,
    colour: bool = False,
) -> str:
    """Compiler-style text: per finding ``file:line:col: level[code]: message``, the line of
    the file it points at with a caret under the column (read with ``read``), and the hint;
    then the summary. Control characters are escaped and ANSI colours are added only with
    ``colour``, so every line is printable text.

    >>> d = Diagnostic(Level.ERROR, "unknown measure 'events.foo'", "m.yml", 2, 14,
    ...                "unknown-reference", "did you mean 'events.fob'?")
    >>> print(render_text([d], read=lambda file, line: "    measure: events.foo"))
    m.yml:2:14: error[unknown-reference]: unknown measure 'events.foo'
      |
    2 |     measure: events.foo
      |              ^
      = hint: did you mean 'events.fob'?
    <BLANKLINE>
    1 error(s), 0 warning(s), 0 note(s)
    <BLANKLINE>
    """
    out: list[str] = []
    for d in diagnostics:
        out += [*_text_block(d, read, colour), ""]
    out.append(str(summarize(diagnostics, metrics)))
    return "\n".join(out) + "\n"


# -- json ----------------------------------------------------------------------------------------


def render_json(diagnostics: Sequence[Diagnostic], *, metrics: int = 0) -> str:
    """One JSON object: the format ``version``, a ``summary`` and every diagnostic, with file
    names and messages exactly as the library gives them (the JSON encoder escapes them).

    >>> print(render_json([Diagnostic(Level.WARNING, "w", "a.yml", 1, 2, "lock-missing")]))
    ... # doctest: +NORMALIZE_WHITESPACE
    {"version": 1, "summary": {"errors": 0, "warnings": 1, "notes": 0, "metrics": 0},
     "diagnostics": [{"code": "lock-missing", "level": "warning", "file": "a.yml", "line": 1,
                      "column": 2, "message": "w", "hint": null}]}
    """
    summary = summarize(diagnostics, metrics)
    document = {
        "version": JSON_VERSION,
        "summary": {
            "errors": summary.errors,
            "warnings": summary.warnings,
            "notes": summary.notes,
            "metrics": summary.metrics,
        },
        "diagnostics": [
            {
                "code": d.code,
                "level": d.level.value,
                "file": d.file,
                "line": d.line,
                "column": d.column,
                "message": d.message,
                "hint": d.hint,
            }
            for d in diagnostics
        ],
    }
    return json.dumps(document)


# -- github --------------------------------------------------------------------------------------

_GITHUB_KIND = {Level.ERROR: "error", Level.WARNING: "warning", Level.NOTE: "notice"}


def render_github(diagnostics: Sequence[Diagnostic]) -> str:
    """One workflow command per diagnostic, one per line."""
    return "".join(github_command(d) + "\n" for d in diagnostics)


def github_command(d: Diagnostic) -> str:
    r"""A diagnostic as one GitHub Actions workflow command (an annotation on the diff): errors
    and warnings as such, notes as ``notice``; the code is the title, the hint follows the
    message.

    Escaped as GitHub's own toolkit (``@actions/core``, ``command.ts``) escapes, so no file name
    or message can end the line or add a property; other control characters (a terminal
    escape) are written as ``\x1b``.

    >>> print(github_command(Diagnostic(Level.ERROR, "50% done\nnext", "a,b:c.yml", 3, 5)))
    ::error file=a%2Cb%3Ac.yml,line=3,col=5,title=definition::50%25 done%0Anext
    >>> print(github_command(Diagnostic(Level.NOTE, "v2", code="breaking-change", hint="tell")))
    ::notice title=breaking-change::v2; tell
    """
    place: dict[str, str] = {}
    if d.file is not None:
        place["file"] = d.file
        if d.line is not None:
            place["line"] = str(d.line)
            place["col"] = str(d.column or 1)
    place["title"] = d.code
    properties = ",".join(f"{k}={_escape_property(_visible(v))}" for k, v in place.items())
    return f"::{_GITHUB_KIND[d.level]} {properties}::{_escape_data(_visible(_joined(d)))}"


def _visible(text: str) -> str:
    r"""``text`` with every control or invisible character but CR and LF escaped (the workflow
    command escaping keeps those two exactly).

    >>> _visible("a\nb\x1b[2J")
    'a\nb\\x1b[2J'
    """
    if text.isprintable():
        return text
    return "".join(c if c in "\r\n" else printable(c) for c in text)


def _escape_data(text: str) -> str:
    """The message of a workflow command: ``%``, CR and LF escaped (``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """A property value of a workflow command: also ``:`` and ``,`` (``escapeProperty``)."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


# -- sarif ---------------------------------------------------------------------------------------


def render_sarif(
    diagnostics: Sequence[Diagnostic],
    *,
    version: str,
    root: str | None = None,
    cwd: str | None = None,
    docs_url: str | None = None,
) -> str:
    """A SARIF 2.1.0 log with one run: the tool with every registered code as a rule, and a
    result per diagnostic at its file (relative to ``cwd`` when inside it), line and column.

    A diagnostic without a file is placed at ``root`` (the checked folder) when given: code
    scanning drops results without a location. Each rule links to its section of
    ``docs/checks.md``: ``helpUri`` when ``docs_url`` (the absolute address of the docs folder)
    is known, and the ``help`` text always.
    """
    here = cwd if cwd is not None else os.getcwd()
    rules = _rules(diagnostics, docs_url)
    index = {rule["id"]: number for number, rule in enumerate(rules)}
    results = []
    for d in diagnostics:
        result: dict[str, Any] = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": d.level.value,
            "message": {"text": printable(_joined(d))},
        }
        file = d.file if d.file is not None else root
        if file is not None:
            physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(file, here)}}
            if d.file is not None and d.line is not None:
                physical["region"] = {"startLine": d.line, "startColumn": d.column or 1}
            result["locations"] = [{"physicalLocation": physical}]
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "metrics-layer",
                        "version": version,
                        "semanticVersion": version,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def _rules(diagnostics: Iterable[Diagnostic], docs_url: str | None) -> list[dict[str, Any]]:
    """Every registered code as a rule, then any code a diagnostic carries that is not
    registered (so every result has its rule)."""
    found = {name: (c.level, c.summary) for name, c in CODES.items()}
    for d in diagnostics:
        found.setdefault(d.code, (d.level, d.code))
    rules = []
    for name, (level, summary) in found.items():
        rule: dict[str, Any] = {
            "id": name,
            "shortDescription": {"text": summary},
            "defaultConfiguration": {"level": level.value},
            "help": {
                "text": f"See docs/checks.md#{name} in the metrics_layer documentation.",
                "markdown": f"See [`{name}`](docs/checks.md#{name}) in the metrics_layer "
                "documentation.",
            },
        }
        if docs_url:
            rule["helpUri"] = f"{docs_url.rstrip('/')}/checks.md#{quote(name)}"
        rules.append(rule)
    return rules


def artifact_uri(file: str, cwd: str) -> str:
    """A file name as a SARIF ``artifactLocation.uri``: relative to ``cwd`` when inside it,
    else an absolute ``file://`` URI; always with ``/`` and percent-encoded.

    >>> artifact_uri("/repo/defs/a b.yml", "/repo"), artifact_uri("defs/50%.yml", "/repo")
    ('defs/a%20b.yml', 'defs/50%25.yml')
    >>> artifact_uri("/elsewhere/a:b.yml", "/repo")
    'file:///elsewhere/a%3Ab.yml'
    """
    path = PurePath(file)
    absolute = path if path.is_absolute() else PurePath(cwd) / path
    try:
        relative = PurePath(os.path.normpath(absolute)).relative_to(os.path.normpath(cwd))
        return quote(relative.as_posix(), safe="/")
    except ValueError:
        posix = PurePath(os.path.normpath(absolute)).as_posix()
        return "file://" + quote(posix if posix.startswith("/") else "/" + posix, safe="/")


# -- markdown ------------------------------------------------------------------------------------

_METRIC = re.compile(r"metric '([^']+)'")
_VERSIONS = re.compile(r"\bv(?:ersion)?\s?(\d+)\b")
_BUMP = re.compile(r"\bversion (\d+) → (\d+)\b")


def render_markdown(
    diagnostics: Sequence[Diagnostic],
    *,
    metrics: int = 0,
    link: Callable[[str, int | None], str | None] | None = None,
) -> str:
    """A pull-request comment: a table of the ``breaking-change`` notes (metric, change,
    version), then errors and warnings as a list, each at ``file:line`` (a link when ``link``
    gives an address for it), then other notes; "No problems" when there is nothing.

    Text from the definitions is shown in code spans, where Markdown, HTML and @-mentions are
    not interpreted; the comment stays under ``MARKDOWN_CHARS``.

    >>> print(render_markdown([], metrics=3))
    ### metrics-layer check
    <BLANKLINE>
    No problems: 3 metric(s) checked.
    <BLANKLINE>
    """
    summary = summarize(diagnostics, metrics)
    out = ["### metrics-layer check", ""]
    if not diagnostics:
        return "\n".join([*out, f"No problems: {metrics} metric(s) checked.", ""])
    out += [_markdown_summary(summary), ""]
    breaking = [d for d in diagnostics if d.code == "breaking-change"]
    problems = [d for d in diagnostics if d.level is not Level.NOTE]
    notes = [d for d in diagnostics if d.level is Level.NOTE and d.code != "breaking-change"]
    body: list[str] = []
    if breaking:
        body += [f"#### Breaking changes ({len(breaking)})", ""]
        body += ["| metric | change | version |", "|---|---|---|"]
        body += [_breaking_row(d) for d in breaking]
        body.append("")
    if problems:
        body += [f"#### Errors and warnings ({len(problems)})", ""]
        body += [_item(d, link) for d in problems]
        body.append("")
    if notes:
        body += [f"#### Notes ({len(notes)})", ""]
        body += [_item(d, link) for d in notes]
        body.append("")
    size = sum(len(line) + 1 for line in out)
    for number, line in enumerate(body):
        if size + len(line) + 1 > MARKDOWN_CHARS:
            left = sum(1 for rest in body[number:] if rest.startswith(("|", "-")))
            out += ["", f"... and {left} more; the check's own output lists every finding.", ""]
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def _markdown_summary(summary: Summary) -> str:
    parts = [
        f"**{count} {name}{'' if count == 1 else 's'}**"
        for count, name in (
            (summary.errors, "error"),
            (summary.warnings, "warning"),
            (summary.notes, "note"),
        )
        if count
    ]
    checked = f" in {summary.metrics} metric(s)" if summary.metrics else ""
    return ", ".join(parts) + checked + "."


def _breaking_row(d: Diagnostic) -> str:
    """A table row for a breaking change: the metric (the first ``metric 'name'`` in the
    message), the message and hint, and the versions it mentions (``1 → 2``)."""
    text = printable(bounded(d.message))
    metric = _METRIC.search(text)
    bump = _BUMP.search(text)
    versions = [bump.group(1), bump.group(2)] if bump else _VERSIONS.findall(text)
    version = " → ".join(dict.fromkeys(versions)) if versions else "-"
    name = _code(metric.group(1)) if metric else "-"
    # The row names the metric already: the change is the rest of the message.
    change = text[metric.end() :].lstrip(":; ") if metric and metric.start() == 0 else text
    return f"| {name} | {_code(change or text)} | {version} |"


def _item(d: Diagnostic, link: Callable[[str, int | None], str | None] | None) -> str:
    place = printable(d.where)
    address = link(d.file, d.line) if link is not None and d.file is not None else None
    where = f"[{_code(place)}]({address})" if address else _code(place)
    text = _code(printable(bounded(_joined(d))))
    return f"- **{d.level.value}** `{printable(d.code)}` {where}: {text}"


def _code(text: str) -> str:
    """``text`` as a Markdown code span, safe inside a table cell: any run of backticks in it is
    fenced by a longer one, and ``|`` is escaped (GitHub splits cells on it even in code).

    >>> _code("a|b"), _code("x `y` z"), _code("@team")
    ('`a\\\\|b`', '`` x `y` z ``', '`@team`')
    """
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text.replace('|', chr(92) + '|')}{pad}{fence}"


def github_link(
    server: str, repository: str, revision: str
) -> Callable[[str, int | None], str | None]:
    """Addresses of lines in a GitHub repository at ``revision``, for ``render_markdown``;
    file names relative to the current folder (the repository's root in a workflow).

    >>> github_link("https://github.com", "o/r", "abc")("defs/a b.yml", 3)
    'https://github.com/o/r/blob/abc/defs/a%20b.yml#L3'
    """
    base = f"{server.rstrip('/')}/{repository}/blob/{quote(revision, safe='')}"

    def link(file: str, line: int | None) -> str | None:
        uri = artifact_uri(file, os.getcwd())
        if uri.startswith("file:"):
            return None  # not in the repository
        anchor = f"#L{line}" if line else ""
        return f"{base}/{uri}{anchor}"

    return link
