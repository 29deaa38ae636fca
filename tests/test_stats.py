"""Seed statistics (suite.stats): intervals, one-sided comparisons, their error rates, and the
stratified permutation test of a within-group rank correlation."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as st

from suite.stats import Comparison, Interval, binomial_se, compare, interval, spearman_within

N_SIM = 2000  # simulated pairs under the null
ALPHA = 0.05
# The false-positive rate over N_SIM simulations may exceed alpha by at most 3 binomial standard
# errors: 0.05 + 3 * sqrt(0.05 * 0.95 / 2000) = 0.0646.
NULL_BOUND = ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / N_SIM)


def test_import_is_light():
    code = "import sys; from suite.stats import compare, interval; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- interval


def test_interval_matches_scipy_t_interval():
    x = [0.91, 0.93, 0.92, 0.95, 0.90]
    iv = interval(x)
    low, high = st.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=st.sem(x))
    assert iv.n == 5 and iv.level == 0.95
    assert iv.mean == pytest.approx(np.mean(x))
    assert iv.low == pytest.approx(low) and iv.high == pytest.approx(high)
    assert iv.half_width == pytest.approx((high - low) / 2)
    iv90 = interval(x, level=0.90)
    assert iv90.half_width < iv.half_width


def test_interval_small_and_empty():
    one = interval([0.9])
    assert one == Interval(mean=0.9, low=None, high=None, n=1)
    assert one.half_width is None
    assert interval([0.9], n_test=360).low is None  # one value: still no spread
    empty = interval([])
    assert math.isnan(empty.mean) and empty.low is None and empty.high is None and empty.n == 0
    assert interval([None, math.nan]).n == 0


def test_interval_drops_non_finite():
    iv = interval([0.9, None, 0.92, math.nan, math.inf, -math.inf, 0.94])
    assert iv == interval([0.9, 0.92, 0.94])
    assert iv.n == 3


def test_interval_binomial_floor_on_zero_spread():
    n = 3
    assert interval([0.9417] * n).half_width == 0.0  # degenerate without the floor
    iv = interval([0.9417] * n, n_test=360)
    expected = st.t.ppf(0.975, n - 1) * math.sqrt(0.9417 * 0.0583 / 360) / math.sqrt(n)
    assert iv.half_width == pytest.approx(expected)
    assert iv.half_width > 0
    # the floor does not shrink a spread that is already larger
    wide = [0.80, 0.90, 0.99]
    assert interval(wide, n_test=360) == interval(wide)


def test_binomial_se():
    assert binomial_se(0.9, 100) == pytest.approx(0.03)
    assert binomial_se(1.0, 100) == 0.0
    with pytest.raises(ValueError):
        binomial_se(0.5, 0)


# ---------------------------------------------------------------- compare


def test_welch_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.91, 0.01, 5), rng.normal(0.90, 0.02, 6)
    c = compare(a, b)
    ref = st.ttest_ind(a, b, equal_var=False, alternative="greater")
    assert c.test == "welch" and (c.n_a, c.n_b) == (5, 6)
    assert c.p_value == pytest.approx(ref.pvalue)
    assert c.difference == pytest.approx(a.mean() - b.mean())


def test_paired_matches_scipy():
    rng = np.random.default_rng(2)
    b = rng.normal(0.90, 0.01, 6)
    a = b + rng.normal(0.005, 0.003, 6)
    c = compare(a, b, paired=True)
    ref = st.ttest_rel(a, b, alternative="greater")
    assert c.test == "paired-t" and (c.n_a, c.n_b) == (6, 6)
    assert c.p_value == pytest.approx(ref.pvalue)
    assert c.verdict == "supported"


def test_ci_agrees_with_one_sided_test():
    rng = np.random.default_rng(3)
    for _ in range(200):
        a, b = rng.normal(0.905, 0.01, 4), rng.normal(0.90, 0.01, 4)
        for paired in (False, True):
            c = compare(a, b, paired=paired)
            assert (c.ci[0] > 0) == (c.verdict == "supported")
            assert (c.ci[1] < 0) == (c.verdict == "not supported")


def _verdict_rate(rng, gap: float, paired: bool, n_sim: int, n_seeds: int = 5) -> float:
    hits = 0
    for _ in range(n_sim):
        a = rng.normal(0.9 + gap, 0.01, n_seeds)
        b = rng.normal(0.9, 0.01, n_seeds)
        hits += compare(a, b, paired=paired, alpha=ALPHA).verdict == "supported"
    return hits / n_sim


@pytest.mark.parametrize("paired", [False, True])
def test_false_positive_rate_under_null(paired):
    rate = _verdict_rate(np.random.default_rng(10 + paired), gap=0.0, paired=paired, n_sim=N_SIM)
    assert rate <= NULL_BOUND, f"null 'supported' rate {rate:.4f} > {NULL_BOUND:.4f}"


@pytest.mark.parametrize("paired", [False, True])
def test_power_at_a_gap_of_two_and_a_half_sd(paired):
    rate = _verdict_rate(np.random.default_rng(20 + paired), gap=0.025, paired=paired, n_sim=500)
    assert rate >= 0.80, f"power {rate:.3f} < 0.80"


def test_gap_below_binomial_noise_is_not_supported():
    a, b = [0.9417] * 3, [0.9389] * 3
    for paired in (False, True):
        c = compare(a, b, n_test=360, paired=paired)
        assert c.verdict == "inconclusive"
        assert c.p_value is not None and c.p_value > 0.3
        assert c.ci[0] < 0 < c.ci[1]
        assert c.difference == pytest.approx(0.0028)
        # degenerate without a floor: no t statistic, so no verdict either way
        d = compare(a, b, paired=paired)
        assert d.verdict == "inconclusive" and d.p_value is None and d.ci is None
    same = compare([0.9] * 3, [0.9] * 3)
    assert same.verdict == "inconclusive" and same.p_value == 0.5


def test_binomial_floor_still_lets_a_large_gap_through():
    c = compare([0.99] * 3, [0.80] * 3, n_test=1000)
    assert c.verdict == "supported" and c.p_value < 0.01


def test_reverse_direction_is_not_supported():
    a, b = [0.80, 0.81, 0.79, 0.80], [0.90, 0.91, 0.89, 0.905]
    for paired in (False, True):
        c = compare(a, b, paired=paired)
        assert c.verdict == "not supported"
        assert c.p_value > 0.95 and c.difference < 0


def test_too_few_values_is_inconclusive():
    c = compare([0.95], [0.80, 0.81, 0.79])
    assert c == Comparison(
        difference=pytest.approx(0.15), ci=None, p_value=None, verdict="inconclusive", test="welch", n_a=1, n_b=3, alpha=0.05
    )
    c = compare([0.95, None, math.nan], [0.80, 0.81])
    assert c.verdict == "inconclusive" and c.n_a == 1
    assert compare([], []).verdict == "inconclusive"


def test_non_finite_dropped_and_pairs_kept_together():
    a, b = [0.93, 0.94, math.nan, 0.95], [0.90, 0.91, 0.92, None]
    c = compare(a, b, paired=True)
    assert (c.n_a, c.n_b) == (2, 2)
    assert c.difference == pytest.approx(0.03)
    w = compare(a, b)
    assert (w.n_a, w.n_b) == (3, 3)
    assert w.difference == pytest.approx(0.94 - 0.91)


def test_paired_needs_equal_lengths():
    with pytest.raises(ValueError):
        compare([0.9, 0.91, 0.92], [0.9, 0.91], paired=True)


# ---------------------------------------------------------------- spearman_within


def test_spearman_within_detects_within_group_correlation():
    rng = np.random.default_rng(30)
    groups = {}
    for g in range(4):
        x = rng.normal(size=8)
        groups[f"task{g}"] = (x, 0.8 * x + 0.4 * rng.normal(size=8) + 5 * g)
    rho, p = spearman_within(groups, n_permutations=2000, seed=0)
    assert rho > 0.5 and p < 0.01


def test_spearman_within_ignores_between_group_differences():
    rng = np.random.default_rng(31)
    groups = {}
    for g in range(4):  # x and y both rise from group to group, but are independent inside a group
        groups[f"task{g}"] = (rng.normal(size=8) + 10 * g, rng.normal(size=8) + 10 * g)
    pooled = np.concatenate([v[0] for v in groups.values()]), np.concatenate([v[1] for v in groups.values()])
    assert st.spearmanr(*pooled).statistic > 0.7  # a naive pooled correlation is fooled
    rho, p = spearman_within(groups, n_permutations=2000, seed=0)
    assert abs(rho) < 0.4 and p > 0.05


def test_spearman_within_degenerate_groups():
    rho, p = spearman_within({"a": ([1.0], [2.0]), "b": ([1.0, 2.0], [3.0, 3.0])})
    assert math.isnan(rho) and p is None
