"""SQL by plan shape: a query that differs from one compiled before only in its dates reuses
that rendering, with its own dates written in.

Rendering (building the tree, the dialect's rules, sqlglot's generation) is most of a compile,
and a dashboard asks the same question over moving date ranges. A plan's dates are its DATE
literals (``'2026-01-31'``, in conditions) and its date fields (a spine's first and last day);
``plan_dates`` lists them in a fixed order, the plan's *slots*. Two queries whose specs are equal
but for ``start`` and ``end``, that both give or both omit each of them, and whose spines count
days with the same number of digits (``shape_key``), have plans equal but for the values in those
slots: the dates are only ever written into the SQL as their own ISO text, never used to choose
what SQL to write.

So the first rendering of a shape is also made from a copy of the plan with a stand-in date in
each slot (``with_stand_ins``: one distinct date per slot, 400 days apart from year 4000 on, which
no real query holds); the stand-in text is kept only if writing the real dates into it gives the
real rendering exactly (``fill``), and every later query of the shape is the kept text with its
own dates written in. A source's table or SQL belongs to the loaded definitions, the same for
every query, so its literals are not slots.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from sqlglot import exp

from metrics_layer.planner.plan import Plan
from metrics_layer.planner.query import MetricQuery

__all__ = ["fill", "plan_dates", "shape_key", "with_stand_ins"]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Fields holding a source's (or the calendar's) relation: fixed by the definitions.
_FIXED = frozenset({"relation"})
_FIRST_STAND_IN = dt.date(4000, 1, 1)
_STAND_IN_STEP = dt.timedelta(days=400)
# Marks a given start or end in a shape key.
_GIVEN = dt.date(1, 1, 1)


def shape_key(spec: MetricQuery, plan: Plan) -> tuple[MetricQuery, tuple[int | str, ...]]:
    """What a plan's SQL depends on besides its dates: the query without its dates (only
    whether each is given), the digits of every day spine, and the names of its aggregations
    and shifted views (whether an offset is applied to rows or to periods depends on whether
    the dates hold whole periods).

    >>> from metrics_layer.planner.plan import Plan
    >>> spec = MetricQuery.of("signups", start="2026-01-01")
    >>> key, digits = shape_key(spec, Plan((), (), (), (), None, ()))
    >>> key.start, key.end, digits
    (datetime.date(1, 1, 1), None, ())
    """
    given = dataclasses.replace(
        spec,
        start=None if spec.start is None else _GIVEN,
        end=None if spec.end is None else _GIVEN,
    )
    digits = [a.window.spine.digits for a in plan.aggregations if a.window is not None]
    digits += [
        a.periods.spine.digits
        for a in plan.aggregations
        if a.periods is not None and a.periods.spine is not None
    ]
    if plan.fill is not None:
        digits.append(plan.fill.spine.digits)
    # An offset applied to rows is an aggregation named like the view of one applied to
    # periods: the view's name is marked as such.
    names = [a.name for a in plan.aggregations] + [f"shifted {v.name}" for v in plan.shifted]
    return given, (*digits, *names)


def plan_dates(plan: Plan) -> list[str]:
    """The ISO text of each date slot of ``plan``, in slot order.

    >>> p = Plan((), (), (), (), None, ())
    >>> plan_dates(p)
    []
    """
    found: list[str] = []
    _walk(plan, found)
    return found


def _walk(value: Any, found: list[str]) -> None:
    if isinstance(value, exp.Expr):
        for node in value.walk():
            if type(node) is exp.Literal and node.is_string and _DATE.fullmatch(node.this):
                found.append(node.this)
    elif isinstance(value, dt.datetime):
        raise TypeError("a plan holds dates, not timestamps")
    elif isinstance(value, dt.date):
        found.append(value.isoformat())
    elif isinstance(value, tuple):
        for item in value:
            _walk(item, found)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            if field.name not in _FIXED:
                _walk(getattr(value, field.name), found)


def with_stand_ins(plan: Plan) -> tuple[Plan, list[str]]:
    """A copy of ``plan`` with a stand-in date in every slot, and the stand-ins' text in slot
    order (the plan itself is not changed)."""
    stand_ins: list[str] = []
    copied = _replaced(plan, stand_ins)
    assert isinstance(copied, Plan)
    return copied, stand_ins


def _stand_in(index: int) -> dt.date:
    return _FIRST_STAND_IN + index * _STAND_IN_STEP


def _replaced(value: Any, stand_ins: list[str]) -> Any:
    if isinstance(value, exp.Expr):
        copy = value.copy()
        for node in copy.walk():
            if type(node) is exp.Literal and node.is_string and _DATE.fullmatch(node.this):
                text = _stand_in(len(stand_ins)).isoformat()
                stand_ins.append(text)
                node.set("this", text)
        return copy
    if isinstance(value, dt.datetime):
        raise TypeError("a plan holds dates, not timestamps")
    if isinstance(value, dt.date):
        day = _stand_in(len(stand_ins))
        stand_ins.append(day.isoformat())
        return day
    if isinstance(value, tuple):
        return tuple(_replaced(item, stand_ins) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            field.name: _replaced(getattr(value, field.name), stand_ins)
            for field in dataclasses.fields(value)
            if field.name not in _FIXED
        }
        return dataclasses.replace(value, **changes)
    return value


def fill(template: str, stand_ins: list[str], dates: list[str]) -> str:
    """``template`` with each stand-in replaced by the date of its slot.

    >>> fill("d BETWEEN '4000-01-01' AND '4001-02-04'", ["4000-01-01", "4001-02-04"],
    ...      ["2026-01-01", "2026-01-31"])
    "d BETWEEN '2026-01-01' AND '2026-01-31'"
    """
    if len(stand_ins) != len(dates):
        raise ValueError(f"{len(dates)} dates for {len(stand_ins)} slots")
    if not stand_ins:
        return template
    by_text = dict(zip(stand_ins, dates, strict=True))
    pattern = re.compile("|".join(re.escape(s) for s in stand_ins))
    return pattern.sub(lambda found: by_text[found.group(0)], template)
