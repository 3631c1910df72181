"""Summaries of timing samples, and the targets they are held to."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Part", "Summary", "Target", "format_ms", "summarize"]


@dataclass(frozen=True)
class Summary:
    """Order statistics of timing samples, in milliseconds."""

    samples: int
    median_ms: float
    p95_ms: float
    min_ms: float
    max_ms: float

    @property
    def cells(self) -> str:
        """``median | p95 | min`` for a markdown table row."""
        return f"{format_ms(self.median_ms)} | {format_ms(self.p95_ms)} | {format_ms(self.min_ms)}"


def summarize(seconds: Sequence[float]) -> Summary:
    """Median, 95th percentile (nearest rank), min and max of samples given in seconds.

    >>> summarize([0.001, 0.002, 0.003]).median_ms
    2.0
    """
    if not seconds:
        raise ValueError("no samples")
    ordered = sorted(s * 1000 for s in seconds)
    rank = max(0, math.ceil(0.95 * len(ordered)) - 1)
    return Summary(len(ordered), statistics.median(ordered), ordered[rank], ordered[0], ordered[-1])


def format_ms(value: float) -> str:
    """A duration in milliseconds, readable at any scale.

    >>> format_ms(0.8421), format_ms(12.345), format_ms(1234.5)
    ('0.842 ms', '12.3 ms', '1.23 s')
    """
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.3f} ms"


@dataclass(frozen=True)
class Target:
    """A measured value held to an upper limit, or a requirement that was not met."""

    label: str
    measured_ms: float
    limit_ms: float
    problem: str | None = None

    @classmethod
    def unmet(cls, label: str, problem: str) -> Target:
        """A failed requirement that has no duration, e.g. a project that does not load."""
        return cls(label, math.inf, math.inf, problem)

    @property
    def passed(self) -> bool:
        return self.problem is None and self.measured_ms <= self.limit_ms

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    @property
    def measured(self) -> str:
        return self.problem if self.problem is not None else format_ms(self.measured_ms)

    @property
    def limit(self) -> str:
        return "required" if self.problem is not None else format_ms(self.limit_ms)

    def line(self) -> str:
        if self.problem is not None:
            return f"{self.verdict}  {self.label}: {self.problem}"
        return f"{self.verdict}  {self.label}: {self.measured} (target <= {self.limit})"


@dataclass
class Part:
    """One benchmark's results: markdown for the report, targets, and console notes."""

    title: str
    markdown: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
