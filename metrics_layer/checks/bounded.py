"""Diagnostics that cannot flood or rewrite a log, whatever the files hold."""

from __future__ import annotations

from collections.abc import Sequence

from metrics_layer.errors import Diagnostic, Level

__all__ = ["bounded_diagnostics"]


def bounded_diagnostics(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics that cannot flood or rewrite a log: messages (which may quote the files) cut
    and escaped, at most ``MAX_DIAGNOSTICS_PER_FILE`` per file and ``MAX_DIAGNOSTICS`` in all,
    the rest counted in one diagnostic per file."""
    from dataclasses import replace

    from metrics_layer.spec.limits import MAX_DIAGNOSTICS, MAX_DIAGNOSTICS_PER_FILE, bounded

    kept: list[Diagnostic] = []
    per_file: dict[str | None, int] = {}
    dropped: dict[str | None, list[Level]] = {}
    for d in diagnostics:
        count = per_file[d.file] = per_file.get(d.file, 0) + 1
        if count > MAX_DIAGNOSTICS_PER_FILE or len(kept) >= MAX_DIAGNOSTICS:
            dropped.setdefault(d.file, []).append(d.level)
        else:
            kept.append(
                replace(
                    d,
                    message=bounded(d.message),
                    hint=None if d.hint is None else bounded(d.hint),
                    file=_place(d.file),
                )
            )
    for file, levels in dropped.items():
        level = Level.ERROR if Level.ERROR in levels else Level.WARNING
        kept.append(
            Diagnostic(
                level,
                f"{len(levels)} more problem(s) here are not listed",
                file,
                code="limit",
                hint="fix the ones listed and check again",
            )
        )
    return kept


def _place(file: str | None) -> str | None:
    """A file name, cut to 500 characters (a caller's location may be any text); control
    characters are kept, since a renderer escapes them for its own format."""
    if file is None or len(file) <= 500:
        return file
    return file[:497] + "..."
