"""The statistics of sizing and analysing a test, on plain floats.

Sizing uses normal quantiles only (``statistics.NormalDist``, no extra needed); the analysis
needs Student's t and chi-square tails, taken from SciPy (the ``stats`` extra), imported on
first use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

from metrics_layer.errors import QueryError, UserError

__all__ = [
    "Comparison",
    "Moments",
    "compare",
    "moments",
    "sample_size",
    "srm_p_value",
]

_NORMAL = NormalDist()


def _scipy_stats() -> Any:
    """``scipy.stats``, or a UserError saying which extra installs it."""
    try:
        from scipy import stats
    except ImportError as exc:
        raise UserError("analysing a test needs SciPy: pip install 'kpi-layer[stats]'") from exc
    return stats


@dataclass(frozen=True)
class Moments:
    """What a set of units says about the metric: ``n`` units, the metric ``value``
    (``sum x / sum y``), and ``variance``: the variance of one unit's contribution, so that
    the variance of ``value`` is ``variance / n`` (the delta method for a ratio)."""

    n: int
    value: float
    variance: float
    binary: bool
    ratio: bool = False


def moments(pairs: Sequence[tuple[float, float]], *, binary: bool, ratio: bool = False) -> Moments:
    """Mean and per-unit variance of ``sum x / sum y`` over ``pairs``.

    With every ``y`` equal to 1 this is the sample mean and variance (``n - 1``); a
    proportion's variance is ``p (1 - p)``. For a ratio, the delta method:
    ``(var x - 2 R cov(x, y) + R^2 var y) / mean(y)^2`` with ``R = mean x / mean y``.

    >>> moments([(1, 1), (0, 1), (1, 1), (0, 1)], binary=True)
    Moments(n=4, value=0.5, variance=0.25, binary=True, ratio=False)
    >>> round(moments([(2, 1), (4, 1), (9, 1)], binary=False).variance, 6)
    13.0
    """
    n = len(pairs)
    if n < 2:
        raise QueryError(f"{n} units in the window: at least 2 are needed", field="lookback")
    mx = sum(x for x, _ in pairs) / n
    my = sum(y for _, y in pairs) / n
    if my == 0:
        raise QueryError("the metric's denominator is 0 for every unit", field="metric")
    value = mx / my
    if binary:
        return Moments(n, value, value * (1 - value), True)
    vx = sum((x - mx) ** 2 for x, _ in pairs) / (n - 1)
    vy = sum((y - my) ** 2 for _, y in pairs) / (n - 1)
    cxy = sum((x - mx) * (y - my) for x, y in pairs) / (n - 1)
    variance = (vx - 2 * value * cxy + value**2 * vy) / my**2
    return Moments(n, value, max(variance, 0.0), False, ratio)


def sample_size(
    base: Moments,
    effect: float,
    *,
    alpha: float,
    power: float,
    ratio: float = 1.0,
    null: Literal["pooled", "baseline"] = "pooled",
) -> float:
    """Units needed in the control arm (the treatment arm gets ``ratio`` times as many) for a
    two-sided test at ``alpha`` to detect an absolute change ``effect`` with ``power``.

    A continuous metric (or a ratio, by the delta method): ``(z_a + z_b)^2 (s^2 + s^2 / r) /
    d^2``, the variance assumed equal in both arms, as statsmodels' ``NormalIndPower`` does.
    A proportion ``p`` moving to ``p' = p + d``: ``(z_a sqrt(P Q (1 + 1/r)) + z_b sqrt(p q +
    p' q' / r))^2 / d^2``, the alternative's variance unpooled and the null's at the pooled
    proportion ``P = (p + r p') / (1 + r)`` (Fleiss; statsmodels'
    ``samplesize_proportions_2indep_onetail``); ``null="baseline"`` puts it at ``p`` instead,
    as Evan Miller's calculator does.

    >>> base = Moments(1000, 0.2, 0.16, True)
    >>> round(sample_size(base, 0.05, alpha=0.05, power=0.8), 1)
    1093.7
    >>> round(sample_size(base, 0.05, alpha=0.05, power=0.8, null="baseline"), 1)
    1030.2
    """
    z_a = _NORMAL.inv_cdf(1 - alpha / 2)
    z_b = _NORMAL.inv_cdf(power)
    if base.variance == 0:
        raise QueryError(
            f"the metric is {base.value:.6g} for every unit in the window (variance 0): "
            "there is nothing to detect a change against",
            field="metric",
        )
    if base.binary:
        p, p1 = base.value, base.value + effect
        if not 0 < p1 < 1:
            raise QueryError(
                f"the baseline {p:.4g} moved by {effect:.4g} leaves the range 0 to 1",
                field="mde",
            )
        pooled = p if null == "baseline" else (p + ratio * p1) / (1 + ratio)
        null_sd = math.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio))
        alternative = math.sqrt(p * (1 - p) + p1 * (1 - p1) / ratio)
        return (z_a * null_sd + z_b * alternative) ** 2 / effect**2
    return (z_a + z_b) ** 2 * base.variance * (1 + 1 / ratio) / effect**2


@dataclass(frozen=True)
class Comparison:
    """A treatment arm against control: the absolute ``difference``, the relative ``lift``
    (None when control is 0), the ``(low, high)`` interval of the difference and of the lift
    (the difference's interval over the control value), and the two-sided ``p_value``."""

    difference: float
    lift: float | None
    interval: tuple[float, float]
    lift_interval: tuple[float, float] | None
    p_value: float
    test: str


def compare(control: Moments, treatment: Moments, *, alpha: float) -> Comparison:
    """Two-proportion z-test (pooled for the p-value, unpooled for the interval), Welch's t
    for a mean, or a z-test on the delta-method variances for a ratio."""
    stats = _scipy_stats()

    diff = treatment.value - control.value
    se = math.sqrt(control.variance / control.n + treatment.variance / treatment.n)
    test: str
    if control.binary and treatment.binary:
        test = "two-proportion z-test"
        pooled = (control.value * control.n + treatment.value * treatment.n) / (
            control.n + treatment.n
        )
        se0 = math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / treatment.n))
        p_value = 2 * _NORMAL.cdf(-abs(diff) / se0) if se0 > 0 else 1.0
        critical = _NORMAL.inv_cdf(1 - alpha / 2)
    elif control.ratio or treatment.ratio:
        test = "delta-method z-test"
        p_value = 2 * _NORMAL.cdf(-abs(diff) / se) if se > 0 else 1.0
        critical = _NORMAL.inv_cdf(1 - alpha / 2)
    else:
        test = "Welch t-test"
        a = control.variance / control.n
        b = treatment.variance / treatment.n
        if a + b == 0:
            df = float(control.n + treatment.n - 2)
        else:
            df = (a + b) ** 2 / (a**2 / max(control.n - 1, 1) + b**2 / max(treatment.n - 1, 1))
        p_value = float(2 * stats.t.sf(abs(diff) / se, df)) if se > 0 else 1.0
        critical = float(stats.t.ppf(1 - alpha / 2, df))
    interval = (diff - critical * se, diff + critical * se)
    lift = diff / control.value if control.value else None
    lift_interval = (
        (interval[0] / control.value, interval[1] / control.value) if control.value else None
    )
    if control.value < 0 and lift_interval is not None:
        lift_interval = (lift_interval[1], lift_interval[0])
    return Comparison(diff, lift, interval, lift_interval, p_value, test)


def srm_p_value(counts: Sequence[int], weights: Sequence[float]) -> float:
    """The chi-square goodness-of-fit p-value of the units per arm against the allocation."""
    stats = _scipy_stats()

    total = sum(counts)
    expected = [total * w / sum(weights) for w in weights]
    result: Any = stats.chisquare(counts, expected)
    return float(result.pvalue)
