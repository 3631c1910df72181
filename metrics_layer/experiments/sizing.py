"""Sizing a test on a metric: baseline per unit, daily traffic, units per arm and days to run.

Several treatment arms are each compared with the control (the first arm); the significance
level is split between those comparisons (Bonferroni), so the chance of any false positive
stays at ``alpha``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from metrics_layer.errors import QueryError
from metrics_layer.experiments.stats import Moments, moments, sample_size
from metrics_layer.experiments.units import Window, per_unit, window_for

if TYPE_CHECKING:
    from metrics_layer.api import SemanticLayer

__all__ = ["Effect", "ExperimentPlan", "parse_mde", "size"]

MAX_ARMS = 20
MAX_LOOKBACK = 366
SIZE_OPTIONS = (
    "alpha",
    "power",
    "arms",
    "allocation",
    "lookback",
    "end",
    "traffic",
    "unit",
    "population",
    "where",
)


def checked_options(options: dict[str, Any], allowed: Sequence[str]) -> dict[str, Any]:
    """``options`` when every key is one of ``allowed``; else a QueryError naming it."""
    from metrics_layer.errors import did_you_mean

    for key in options:
        if key not in allowed:
            raise QueryError(
                f"unknown option {key!r:.60}; options: {', '.join(allowed)}."
                f"{did_you_mean(key, allowed)}",
                field=key,
            )
    return options


@dataclass(frozen=True)
class Effect:
    """A minimum detectable effect: ``amount`` relative to the baseline (``0.05`` for 5%) or
    absolute, in the metric's units (``0.02`` for two points of a rate)."""

    amount: float
    relative: bool

    def absolute(self, baseline: float) -> float:
        """The change in the metric's units."""
        return self.amount * baseline if self.relative else self.amount

    @property
    def text(self) -> str:
        return f"{self.amount * 100:g}% relative" if self.relative else f"{self.amount:g} absolute"


def parse_mde(value: object) -> Effect:
    """``"5%"`` is 5% of the baseline; a number (or its text) is a change in the metric's
    units; a leading ``-`` asks to detect a fall.

    >>> parse_mde("5%"), parse_mde(0.02), parse_mde("-2.5%")
    (Effect(amount=0.05, relative=True), Effect(amount=0.02, relative=False), \
Effect(amount=-0.025, relative=True))
    """
    relative = isinstance(value, str) and value.strip().endswith("%")
    text = value.strip().removesuffix("%") if isinstance(value, str) else value
    try:
        if isinstance(text, bool) or not isinstance(text, str | int | float):
            raise ValueError
        amount = float(text)
    except ValueError:
        raise QueryError(
            f"expected a change such as '5%' (relative) or 0.02 (absolute), not {value!r:.60}",
            field="mde",
        ) from None
    if not math.isfinite(amount) or amount == 0:
        raise QueryError(
            f"the effect must be a non-zero finite number, not {value!r:.60}", field="mde"
        )
    if relative and abs(amount) >= 1000:
        raise QueryError(f"a relative effect of {amount:g}% is not a plausible change", field="mde")
    return Effect(amount / 100 if relative else amount, relative)


def _fraction(value: object, field: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise QueryError(f"expected a number, not {value!r:.60}", field=field)
    if not low < value < high:
        raise QueryError(
            f"must be between {low:g} and {high:g} (exclusive), not {value!r}", field=field
        )
    return float(value)


def _count(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise QueryError(
            f"expected a whole number from {low} to {high}, not {value!r:.60}", field=field
        )
    return value


def _allocation(value: Sequence[float] | None, arms: int) -> tuple[float, ...]:
    if value is None:
        return (1 / arms,) * arms
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != arms:
        raise QueryError(
            f"expected one weight per arm ({arms}), control first, e.g. {', '.join(['1'] * arms)}",
            field="allocation",
        )
    weights = [_fraction(w, "allocation", 0, math.inf) for w in value]
    total = sum(weights)
    return tuple(w / total for w in weights)


def _date(value: object, field: str) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise QueryError(f"expected a date as YYYY-MM-DD, not {value!r:.60}", field=field)


@dataclass(frozen=True)
class ExperimentPlan:
    """What a test on ``metric`` needs, and everything it was worked out from.

    ``baseline`` is the metric over ``window`` per unit (``value``, per-unit ``variance``,
    ``n`` units); ``daily_traffic`` is units a day (``n`` over the window's days);
    ``per_arm`` the units each arm needs; ``days`` how long the test runs at ``traffic`` (the
    share of eligible units enrolled); ``definition`` the metric's catalogue entry, with
    ``version`` and ``fingerprint``, so the plan states which definition it sized.
    """

    metric: str
    label: str
    version: int
    fingerprint: str
    definition: dict[str, Any]
    unit: str
    population: str | None
    window: Window
    baseline: Moments
    daily_traffic: float
    mde: Effect
    effect: float
    alpha: float
    comparison_alpha: float
    power: float
    arms: int
    allocation: tuple[float, ...]
    traffic: float
    per_arm: tuple[int, ...]
    days: int

    @property
    def kind(self) -> str:
        """proportion, ratio (delta method) or mean."""
        if self.baseline.binary:
            return "proportion"
        return "ratio" if self.baseline.ratio else "mean"

    @property
    def total(self) -> int:
        return sum(self.per_arm)

    def to_markdown(self) -> str:
        from metrics_layer.experiments.render import plan_markdown

        return plan_markdown(self)

    def to_html(self) -> str:
        from metrics_layer.experiments.render import plan_html

        return plan_html(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return self.to_markdown()


def check_inputs(
    *,
    mde: object,
    alpha: object = 0.05,
    power: object = 0.8,
    arms: object = 2,
    allocation: Sequence[float] | None = None,
    lookback: object = 28,
    end: object = None,
    traffic: object = 1.0,
) -> tuple[Effect, float, float, int, tuple[float, ...], int, dt.date | None, float]:
    """Every sizing input checked, before any data is read: a QueryError names the first bad
    one. Returns them as ``size`` uses them (the allocation normalised to sum to 1)."""
    effect = parse_mde(mde)
    checked_alpha = _fraction(alpha, "alpha", 0, 0.5)
    checked_power = _fraction(power, "power", 0, 1)
    checked_arms = _count(arms, "arms", 2, MAX_ARMS)
    weights = _allocation(allocation, checked_arms)
    checked_lookback = _count(lookback, "lookback", 2, MAX_LOOKBACK)
    last = _date(end, "end")
    share = min(_fraction(traffic, "traffic", 0, 1.0000001), 1.0)
    return (
        effect,
        checked_alpha,
        checked_power,
        checked_arms,
        weights,
        checked_lookback,
        last,
        share,
    )


def size(
    layer: SemanticLayer,
    metric: str,
    *,
    mde: str | float,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int = 2,
    allocation: Sequence[float] | None = None,
    lookback: int = 28,
    end: str | dt.date | None = None,
    traffic: float = 1.0,
    unit: str | None = None,
    population: str | None = None,
    where: str | None = None,
) -> ExperimentPlan:
    """Size a test of ``metric`` (docs/experiments.md). Every argument is checked first, each
    bad one a QueryError naming it; then the lookback window is read."""
    checked = check_inputs(
        mde=mde,
        alpha=alpha,
        power=power,
        arms=arms,
        allocation=allocation,
        lookback=lookback,
        end=end,
        traffic=traffic,
    )
    effect, alpha, power, arms, weights, lookback, last, traffic = checked
    chosen = layer.metric(metric)
    window = window_for(layer, chosen, lookback, last)
    values = per_unit(layer, chosen, window, unit=unit, population=population, where=where)
    base = moments(list(values.values.values()), binary=values.binary, ratio=values.ratio)
    absolute = effect.absolute(base.value)
    if absolute == 0:
        raise QueryError(
            "the baseline is 0, so a relative effect is 0: give an absolute one", field="mde"
        )
    comparison_alpha = alpha / (arms - 1)
    needed = max(
        sample_size(base, absolute, alpha=comparison_alpha, power=power, ratio=w / weights[0])
        / weights[0]
        for w in weights[1:]
    )
    per_arm = tuple(math.ceil(w * needed - 1e-9) for w in weights)
    daily = base.n / window.days
    described = layer.describe(chosen.name)
    return ExperimentPlan(
        metric=chosen.name,
        label=chosen.label,
        version=chosen.version,
        fingerprint=str(described["fingerprint"]),
        definition=described,
        unit=values.unit,
        population=population,
        window=window,
        baseline=base,
        daily_traffic=daily,
        mde=effect,
        effect=absolute,
        alpha=alpha,
        comparison_alpha=comparison_alpha,
        power=power,
        arms=arms,
        allocation=weights,
        traffic=traffic,
        per_arm=per_arm,
        days=math.ceil(sum(per_arm) / (daily * traffic)),
    )
