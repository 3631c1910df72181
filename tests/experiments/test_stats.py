"""Sizing and test statistics against statsmodels, SciPy and published reference values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.power import NormalIndPower, zt_ind_solve_power
from statsmodels.stats.proportion import (
    proportion_effectsize,
    proportions_ztest,
    samplesize_proportions_2indep_onetail,
)

import metrics_layer as ml
from metrics_layer.experiments import parse_mde
from metrics_layer.experiments.stats import Moments, compare, moments, sample_size, srm_p_value


def proportion(p: float, n: int = 1000) -> Moments:
    return Moments(n, p, p * (1 - p), True)


@pytest.mark.parametrize(
    ("p", "d", "ratio", "alpha", "power"),
    [
        (0.2, 0.05, 1.0, 0.05, 0.8),
        (0.1, 0.05, 2.0, 0.05, 0.8),
        (0.5, -0.1, 0.5, 0.01, 0.9),
        (0.03, 0.003, 1.0, 0.05, 0.8),
        (0.6, 0.02, 1.0, 0.025, 0.95),
    ],
)
def test_proportion_sample_size_equals_statsmodels(
    p: float, d: float, ratio: float, alpha: float, power: float
) -> None:
    ours = sample_size(proportion(p), d, alpha=alpha, power=power, ratio=ratio)
    # statsmodels' sample 1 is the treatment (p + d), sample 2 (the reference) has ratio
    # times as many: our control arm with 1/ratio.
    theirs = samplesize_proportions_2indep_onetail(
        d, p, power, ratio=1 / ratio, alpha=alpha, alternative="two-sided"
    )
    assert ours * ratio == pytest.approx(theirs, rel=1e-9)


def test_evan_miller_reference_value() -> None:
    # https://www.evanmiller.org/ab-testing/sample-size.html, its default example: baseline
    # conversion rate 20%, minimum detectable effect 5% absolute, power 80%, significance 5%
    # -> "1,030" per variation. The calculator takes the null variance at the baseline.
    n = sample_size(proportion(0.2), 0.05, alpha=0.05, power=0.8, null="baseline")
    assert round(n) == 1030
    # The pooled null variance (the library's default) needs more: 1,094 (statsmodels above).
    assert math.ceil(sample_size(proportion(0.2), 0.05, alpha=0.05, power=0.8)) == 1094


def test_arcsine_approximation_is_close() -> None:
    # statsmodels' NormalIndPower on Cohen's h (the arcsine transform) is another
    # approximation of the same test: within 1% here.
    h = proportion_effectsize(0.25, 0.2)
    arcsine = NormalIndPower().solve_power(h, alpha=0.05, power=0.8, ratio=1)
    assert sample_size(proportion(0.2), 0.05, alpha=0.05, power=0.8) == pytest.approx(
        arcsine, rel=0.01
    )


@pytest.mark.parametrize(
    ("ratio", "power", "alpha"), [(1, 0.8, 0.05), (2, 0.9, 0.05), (0.5, 0.8, 0.01)]
)
def test_continuous_sample_size_equals_statsmodels(
    ratio: float, power: float, alpha: float
) -> None:
    base = Moments(500, 10.0, 16.0, False)  # sd 4: a change of 1 is d = 0.25
    ours = sample_size(base, 1.0, alpha=alpha, power=power, ratio=ratio)
    theirs = NormalIndPower().solve_power(0.25, alpha=alpha, power=power, ratio=ratio)
    also = zt_ind_solve_power(effect_size=0.25, alpha=alpha, power=power, ratio=ratio)
    assert ours == pytest.approx(theirs, rel=1e-5)
    assert ours == pytest.approx(also, rel=1e-5)


def test_lehr_rule_of_thumb() -> None:
    # Lehr's rule (van Belle, Statistical Rules of Thumb, 2nd ed., 2008, ch. 2): for alpha
    # 0.05 two-sided and power 0.8, n = 16 / delta^2 per group, delta = effect / sd
    # (16 rounds 2 * (1.96 + 0.84)^2 = 15.7).
    for delta in (0.2, 0.5, 1.0):
        n = sample_size(Moments(100, 0.0, 1.0, False), delta, alpha=0.05, power=0.8)
        assert n == pytest.approx(16 / delta**2, rel=0.02)
        assert n == pytest.approx(15.698 / delta**2, rel=1e-3)


def test_moments_by_hand() -> None:
    pairs = [(2.0, 1.0), (3.0, 2.0), (5.0, 2.0), (1.0, 1.0)]
    m = moments(pairs, binary=False, ratio=True)
    # mean x 2.75, mean y 1.5, R = 11/6; var x 35/12, var y 1/3, cov 5/6 (n - 1).
    r = 11 / 6
    expected = (35 / 12 - 2 * r * 5 / 6 + r * r / 3) / 1.5**2
    assert m.value == pytest.approx(r)
    assert m.variance == pytest.approx(expected)
    assert m.variance == pytest.approx(0.436214, abs=1e-6)
    plain = moments([(1.0, 1.0), (2.0, 1.0), (6.0, 1.0)], binary=False)
    assert (plain.value, plain.variance) == (3.0, 7.0)


def test_delta_method_variance_matches_simulation() -> None:
    rng = np.random.default_rng(7)
    n, runs = 400, 400
    estimates, predicted = [], []
    for _ in range(runs):
        y = rng.poisson(3, n) + 1
        x = rng.binomial(y, 0.3) + rng.normal(0, 0.5, n)
        estimates.append(x.sum() / y.sum())
        predicted.append(moments(list(zip(x, y, strict=True)), binary=False).variance / n)
    assert float(np.var(estimates)) == pytest.approx(float(np.mean(predicted)), rel=0.15)


def test_welch_comparison_equals_scipy() -> None:
    a = [3.0, 5.0, 4.0, 8.0, 1.0, 0.0, 2.0, 9.0]
    b = [6.0, 7.0, 2.0, 11.0, 4.0, 9.0, 5.0]
    c = compare(
        moments([(x, 1.0) for x in a], binary=False),
        moments([(x, 1.0) for x in b], binary=False),
        alpha=0.05,
    )
    welch = scipy_stats.ttest_ind(b, a, equal_var=False)
    assert c.test == "Welch t-test"
    assert c.p_value == pytest.approx(welch.pvalue, rel=1e-9)
    interval = welch.confidence_interval(0.95)
    assert c.interval == pytest.approx((interval.low, interval.high), rel=1e-9)
    assert c.difference == pytest.approx(np.mean(b) - np.mean(a))
    assert c.lift == pytest.approx((np.mean(b) - np.mean(a)) / np.mean(a))


def test_two_proportion_comparison_equals_statsmodels() -> None:
    control = [(1.0, 1.0)] * 120 + [(0.0, 1.0)] * 880
    treatment = [(1.0, 1.0)] * 150 + [(0.0, 1.0)] * 850
    c = compare(moments(control, binary=True), moments(treatment, binary=True), alpha=0.05)
    _, p_value = proportions_ztest([150, 120], [1000, 1000])
    assert c.p_value == pytest.approx(p_value, rel=1e-9)
    se = math.sqrt(0.12 * 0.88 / 1000 + 0.15 * 0.85 / 1000)
    assert c.interval == pytest.approx((0.03 - 1.959964 * se, 0.03 + 1.959964 * se), abs=1e-8)
    assert c.lift == pytest.approx(0.25)


def test_srm_p_value_by_hand() -> None:
    # 520 vs 480 against 50/50: chi-square = (20^2 + 20^2) / 500 = 1.6, 1 degree of freedom.
    assert srm_p_value([520, 480], [1, 1]) == pytest.approx(scipy_stats.chi2.sf(1.6, 1))
    assert srm_p_value([5000, 4000], [1, 1]) < 1e-20
    # 600/200/200 is exactly 60/20/20.
    assert srm_p_value([600, 200, 200], [0.6, 0.2, 0.2]) == pytest.approx(1.0)


def test_mde_parsing() -> None:
    assert parse_mde("5%").relative
    assert parse_mde("5%").amount == pytest.approx(0.05)
    assert parse_mde(" -2.5% ").amount == pytest.approx(-0.025)
    assert not parse_mde("0.02").relative
    assert parse_mde(3).amount == 3.0
    for bad in ("", "%", "5x", "nan", "inf%", "0", "0%", True, None, [5], "1e9%", "5 %%"):
        with pytest.raises(ml.QueryError) as caught:
            parse_mde(bad)
        assert caught.value.field == "mde"


def test_proportion_effect_beyond_range_is_refused() -> None:
    with pytest.raises(ml.QueryError, match="leaves the range 0 to 1") as caught:
        sample_size(proportion(0.98), 0.05, alpha=0.05, power=0.8)
    assert caught.value.field == "mde"
    with pytest.raises(ml.QueryError, match="variance 0"):
        sample_size(Moments(10, 1.0, 0.0, False), 0.1, alpha=0.05, power=0.8)


def test_sizing_imports_no_scipy() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from metrics_layer.experiments.stats import Moments, sample_size; "
        "sample_size(Moments(10, 0.2, 0.16, True), 0.05, alpha=0.05, power=0.8); "
        "print('scipy' in sys.modules, 'statsmodels' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
