"""Grains and date parts of a time dimension: which names exist, and which fit a dimension.

A query names a period of a time dimension with a grain (``metric_time.fiscal_quarter``, a
DATE or TIMESTAMP: the period's start) or an integer date part (``metric_time.day_of_week``).
Either must be no finer than what the dimension records (its ``grain``, default day), and a
period only rolls up into a coarser one that it fits in: a calendar quarter does not fit in a
fiscal year that starts in February, so that pair is refused rather than split.
"""

from __future__ import annotations

from metrics_layer.errors import QueryError, did_you_mean
from metrics_layer.graph.model import CalendarPeriod, Dimension, Period
from metrics_layer.spec.models import DatePart, Grain
from metrics_layer.sql.parts import PART_GRAIN

__all__ = [
    "GRAIN_NAMES",
    "PART_NAMES",
    "check_grain",
    "check_part",
    "finer",
    "fits_in",
    "suffix_error",
]

GRAIN_NAMES = tuple(g.value for g in Grain)
PART_NAMES = tuple(p.value for p in DatePart)

_CALENDAR = frozenset({Grain.QUARTER, Grain.YEAR})
_FISCAL = frozenset({Grain.FISCAL_QUARTER, Grain.FISCAL_YEAR})
_DAILY = frozenset({Grain.SECOND, Grain.MINUTE, Grain.HOUR, Grain.DAY})


def fits_in(fine: Period, coarse: Period) -> bool:
    """True when every ``fine`` period lies within one ``coarse`` period (or they are equal).

    Calendar quarters and years do not fit in fiscal ones, nor the other way round; months do.
    A calendar table's period holds whole days: days (and hours, minutes, seconds) fit in it,
    and it fits in itself only, since the library cannot see how its table's periods nest.

    >>> fits_in(Grain.MONTH, Grain.FISCAL_YEAR), fits_in(Grain.QUARTER, Grain.FISCAL_YEAR)
    (True, False)
    >>> fits_in(Grain.FISCAL_QUARTER, Grain.FISCAL_YEAR), fits_in(Grain.YEAR, Grain.MONTH)
    (True, False)
    """
    if isinstance(fine, CalendarPeriod) or isinstance(coarse, CalendarPeriod):
        return fine == coarse or (
            isinstance(coarse, CalendarPeriod) and isinstance(fine, Grain) and fine in _DAILY
        )
    if finer(coarse, fine):
        return False
    return not (
        (fine in _CALENDAR and coarse in _FISCAL) or (fine in _FISCAL and coarse in _CALENDAR)
    )


def check_grain(name: str, grain: Period, dimension: Dimension, field: str) -> Period:
    """``grain`` when ``dimension`` records time at least that finely; else a QueryError."""
    finest = dimension.grain or Grain.DAY
    if not fits_in(finest, grain):
        raise QueryError(
            f"'{name}': '{dimension.source}.{dimension.name}' is recorded per {finest.value}, "
            f"so it cannot be grouped by {grain.value}; use {finest.value} or coarser"
            + ("" if finer(grain, finest) else f" (a {finest.value} that fits in a {grain.value})"),
            field=field,
        )
    return grain


def finer(grain: Period, than: Period) -> bool:
    """>>> finer(Grain.HOUR, Grain.DAY), finer(Grain.FISCAL_QUARTER, Grain.QUARTER)
    (True, False)

    A day or finer is finer than a calendar table's period; nothing else compares with one.
    """
    if isinstance(than, CalendarPeriod):
        return isinstance(grain, Grain) and grain in _DAILY
    if isinstance(grain, CalendarPeriod):
        return False
    return GRAIN_NAMES.index(grain.value) < GRAIN_NAMES.index(than.value)


def check_part(name: str, part: DatePart, dimension: Dimension, field: str) -> DatePart:
    """``part`` when ``dimension`` records time finely enough to have it; else a QueryError."""
    finest = dimension.grain or Grain.DAY
    needed = PART_GRAIN[part]
    if not fits_in(finest, needed):
        raise QueryError(
            f"'{name}': '{dimension.source}.{dimension.name}' is recorded per {finest.value}, "
            f"so it has no {part.value} (that needs a time recorded per {needed.value} or "
            f"finer); use a part of {finest.value} or coarser, or declare the dimension's "
            f"'grain: {needed.value}' if the data has it",
            field=field,
        )
    return part


def suffix_error(name: str, suffix: str, field: str, calendar: tuple[str, ...] = ()) -> QueryError:
    """The error for a last name part that is neither a grain, a date part nor one of the
    ``calendar`` table's periods."""
    known = (*GRAIN_NAMES, *PART_NAMES, *calendar)
    periods = f", a calendar period ({', '.join(calendar)})" if calendar else ""
    return QueryError(
        f"'{name}': '{suffix}' is not a time grain or date part; use a grain "
        f"({', '.join(GRAIN_NAMES)}){periods} or a date part ({', '.join(PART_NAMES)})."
        + did_you_mean(suffix, known),
        field=field,
    )
