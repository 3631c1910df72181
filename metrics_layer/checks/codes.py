"""Every diagnostic code ``metrics-layer check`` can report: stable names, one place.

A code names a rule, never a message: messages may be reworded, codes stay (CI configurations,
SARIF rule ids and ``docs/checks.md`` refer to them). Each code has a default level and a
one-line summary; docs/checks.md shows each with a bad and a good example, and a test proves
that every code the package emits is listed here and documented there.
"""

from __future__ import annotations

from dataclasses import dataclass

from metrics_layer.errors import Level

__all__ = ["CODES", "Code", "code"]


@dataclass(frozen=True)
class Code:
    name: str
    level: Level
    summary: str
    group: str


def _codes(group: str, *items: tuple[str, Level, str]) -> dict[str, Code]:
    return {name: Code(name, level, summary, group) for name, level, summary in items}


E, W, N = Level.ERROR, Level.WARNING, Level.NOTE

CODES: dict[str, Code] = {
    **_codes(
        "reading",
        ("project", E, "the project folder or a file in it cannot be read"),
        ("empty-project", E, "the project holds no definitions"),
        ("limit", E, "a file or the project exceeds a size or nesting limit"),
        ("yaml-syntax", E, "a file is not valid YAML"),
        ("schema", E, "a field is missing, misspelled or has a value of the wrong kind"),
    ),
    **_codes(
        "graph",
        ("duplicate-name", E, "two sources, metrics, measures or dimensions share a name"),
        (
            "unknown-reference",
            E,
            "a name refers to a source, measure, dimension or metric that does not exist",
        ),
        ("expression", E, "a SQL expression, filter or table is not accepted"),
        ("cycle", E, "metrics depend on each other in a loop"),
        ("join", E, "a join path is missing, ambiguous or would fan out"),
        ("definition", E, "a metric's or source's fields do not fit together"),
        ("not-computable", E, "a metric cannot be planned on its own"),
    ),
    **_codes(
        "governance",
        ("changelog", E, "a metric's version and its changelog disagree"),
        ("certification", E, "a certified metric lacks an owner or a description"),
        ("certified-uses-draft", W, "a certified metric is built on a draft metric"),
        ("certified-uses-deprecated", E, "a certified metric is built on a deprecated metric"),
        (
            "deprecation",
            E,
            "a deprecated metric lacks replaced_by or sunset, or is replaced by an unknown or "
            "deprecated metric; or a metric that is not deprecated has them",
        ),
        ("past-sunset", W, "a deprecated metric is still defined after its sunset date"),
        ("equivalent-metrics", E, "two metrics compute the same thing under different names"),
        ("equivalent-measures", W, "two measures compute the same thing under different names"),
        (
            "conflicting-label",
            E,
            "two metrics share a label or synonym but compute different things",
        ),
        ("similar-names", W, "two metric names differ only in spelling"),
    ),
    **_codes(
        "changes",
        ("lock-missing", W, "the project has no metrics.lock"),
        ("lock-outdated", E, "metrics.lock does not match the definitions"),
        ("lock-invalid", E, "metrics.lock cannot be read"),
        ("silent-change", E, "a metric's meaning changed without a version bump"),
        ("version-decreased", E, "a metric's version went down"),
        ("removed-without-deprecation", E, "a metric was removed without being deprecated first"),
        ("version-drift", E, "a kept earlier version no longer computes what it did"),
        ("base", E, "the --base revision cannot be read"),
        ("breaking-change", N, "a change a consumer of the metric must know about"),
    ),
    **_codes(
        "warehouse",
        ("connection", E, "the --connection database cannot be reached or inspected"),
        ("missing-table", E, "a source's table does not exist in the database"),
        ("missing-column", E, "a column a definition uses does not exist in its table"),
        ("column-type", E, "a column's type does not fit how a definition uses it"),
        ("source-query", E, "a source's SQL fails on the database"),
    ),
}


def code(name: str) -> Code:
    """The registered code ``name``; a KeyError here is a bug in the package."""
    return CODES[name]
