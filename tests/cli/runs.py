"""One in-process invocation of the CLI, as the CLI tests see it."""

from __future__ import annotations


class Run:
    """One in-process invocation: exit code and both streams."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err
