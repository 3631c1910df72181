"""The range of unmoved days an offset scan reads before it moves each row (``unmoved_range``):
it holds every day whose move lands in the query's range, at month ends too."""

from __future__ import annotations

import calendar
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from metrics_layer.graph.model import Offset
from metrics_layer.planner.planner import unmoved_range
from metrics_layer.spec.models import Grain

MONTHS = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}
DAYS = {Grain.DAY: 1, Grain.WEEK: 7}


def moved(day: dt.date, offset: Offset) -> dt.date:
    """``day`` moved forward by ``offset``, months clamped to the target month's last day
    (as the SQL moves it), written independently of the planner."""
    if offset.unit in DAYS:
        return day + dt.timedelta(days=offset.amount * DAYS[offset.unit])
    months = day.month - 1 + offset.amount * MONTHS[offset.unit]
    year, month = day.year + months // 12, months % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@settings(max_examples=400, deadline=None)
@given(
    start=st.dates(dt.date(2023, 1, 1), dt.date(2027, 12, 31)),
    length=st.integers(0, 70),
    amount=st.integers(1, 14),
    unit=st.sampled_from(sorted(MONTHS | DAYS, key=str)),
)
def test_every_day_moved_into_the_range_is_read(
    start: dt.date, length: int, amount: int, unit: Grain
) -> None:
    end = start + dt.timedelta(days=length)
    offset = Offset(amount, unit)
    low, high = unmoved_range(start, end, offset)
    assert low is not None
    assert high is not None
    reach = dt.timedelta(days=amount * 370)
    landing = []
    day = start - reach
    while day <= end:
        if start <= moved(day, offset) <= end:
            landing.append(day)
        day += dt.timedelta(days=1)
    assert all(low <= d <= high for d in landing), (landing[0], landing[-1])
    if landing:  # and no more than 3 days to spare on either side
        assert low >= landing[0] - dt.timedelta(days=3)
        assert high <= landing[-1] + dt.timedelta(days=3)
