"""Sparklines of a KPI's weekly values: an inline SVG path for HTML, block characters for chat.

Both are drawn from the values alone (no plotting library, no fonts), with fixed rounding, so
the same values always give the same bytes. A missing week (``None``) breaks the line.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["svg", "text"]

BLOCKS = "▁▂▃▄▅▆▇█"
WIDTH = 120
HEIGHT = 28
PAD = 3


def _scaled(values: Sequence[float | None]) -> list[float | None]:
    """Each value as a share (0 to 1) of the range of the values present; a flat line sits in
    the middle."""
    present = [v for v in values if v is not None]
    if not present:
        return [None for _ in values]
    low, high = min(present), max(present)
    span = high - low
    return [None if v is None else (0.5 if span == 0 else (v - low) / span) for v in values]


def text(values: Sequence[float | None]) -> str:
    """Block characters, one per value, a space for a missing one.

    >>> text([1, 2, 3, None, 8])
    '▁▂▃ █'
    """
    out = []
    for share in _scaled(values):
        out.append(" " if share is None else BLOCKS[round(share * (len(BLOCKS) - 1))])
    return "".join(out)


def _points(values: Sequence[float | None]) -> list[tuple[float, float] | None]:
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    inner = HEIGHT - 2 * PAD
    return [
        None if share is None else (PAD + i * step, PAD + (1 - share) * inner)
        for i, share in enumerate(_scaled(values))
    ]


def path(values: Sequence[float | None]) -> str:
    """The SVG path data of the line: a move at the start and after each gap.

    >>> path([0, 1, None, 1])
    'M3.0 25.0L41.0 3.0M117.0 3.0'
    """
    parts: list[str] = []
    move = True
    for point in _points(values):
        if point is None:
            move = True
            continue
        parts.append(f"{'M' if move else 'L'}{point[0]:.1f} {point[1]:.1f}")
        move = False
    return "".join(parts)


def svg(values: Sequence[float | None], label: str) -> str:
    """An inline SVG sparkline with a dot on the last value; ``label`` (already escaped for
    HTML) is its accessible name."""
    points = _points(values)
    last = points[-1] if points else None
    dot = "" if last is None else f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="2.5"/>'
    line = path(values)
    drawn = f'<path d="{line}"/>' if line else ""
    return (
        f'<svg class="spark" role="img" aria-label="{label}" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">'
        f'<g fill="none" stroke="#2f6fdf" stroke-width="1.5">{drawn}</g>'
        f'<g fill="#2f6fdf">{dot}</g></svg>'
    )
