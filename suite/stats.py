"""Seed statistics for citable comparisons: intervals over seeds and one-sided tests between regimes.

A benchmark cell is run over a handful of seeds, so every number reported from it is a mean over few
values. The choices made here, stated once:

* **Intervals** (:func:`interval`) are Student-t confidence intervals of the mean over seeds,
  ``mean +- t_{(1+level)/2, n-1} * s / sqrt(n)`` with ``s`` the sample standard deviation (ddof=1).
  One finite value gives a mean and no bounds: no spread can be estimated from one value.
* **Binomial floor.** When a score is an accuracy measured on ``n_test`` test examples, each seed's
  score carries at least the sampling noise of a binomial proportion, ``sqrt(p(1-p)/n_test)`` with
  ``p`` the mean (clipped to [0, 1]). The per-seed standard deviation is floored at that value, so
  seeds that happen to agree exactly (all 0.9417) do not produce a zero-width interval or a
  "significant" gap smaller than the test set can resolve. The floor is conservative: it widens
  intervals and only ever makes a test less likely to reject.
* **Comparisons** (:func:`compare`) test the one-sided alternative "a > b" at level ``alpha``:
  Welch's t-test (unequal variances, Welch-Satterthwaite degrees of freedom) for independent seeds,
  a paired t-test on per-seed differences when both sides share seeds. The verdict is "supported"
  when p < alpha, "not supported" when the reverse one-sided test (b > a) has p < alpha, and
  "inconclusive" otherwise. The interval reported with a comparison is the two-sided ``1 - 2*alpha``
  interval of the difference (90 % at alpha = 0.05), so it agrees with the one-sided test: its lower
  bound is above 0 exactly when the verdict is "supported", its upper bound below 0 exactly when it
  is "not supported".
* **Rank correlation within groups** (:func:`spearman_within`): a stratified permutation test, which
  permutes y within each group only, so differences between groups (tasks) cannot make a
  correlation appear.

Non-finite values (None, nan, inf) are dropped everywhere before computing; counts ``n`` count the
finite values that were used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as _st

__all__ = [
    "Comparison",
    "Interval",
    "Verdict",
    "binomial_se",
    "compare",
    "interval",
    "spearman_within",
]

Verdict = Literal["supported", "not supported", "inconclusive"]


def binomial_se(p: float, n_test: int) -> float:
    """Standard error ``sqrt(p(1-p)/n_test)`` of an accuracy ``p`` measured on ``n_test`` examples."""
    if n_test < 1:
        raise ValueError(f"n_test must be a positive count, got {n_test}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a proportion in [0, 1], got {p}")
    return math.sqrt(p * (1.0 - p) / n_test)


def _as_array(values: Iterable[float | None]) -> np.ndarray:
    """Values as a float array, None as nan (positions kept, for pairing)."""
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _finite(values: Iterable[float | None]) -> np.ndarray:
    x = _as_array(values)
    return x[np.isfinite(x)]


def _floor(mean: float, n_test: int | None) -> float:
    """The binomial floor of a per-seed standard deviation (0 without ``n_test``)."""
    if n_test is None:
        return 0.0
    return binomial_se(min(max(mean, 0.0), 1.0), n_test)


@dataclass(frozen=True)
class Interval:
    """A mean over ``n`` finite seed values and its t-based confidence interval at ``level``.

    ``low``/``high`` are None when fewer than two finite values were given.
    """

    mean: float
    low: float | None
    high: float | None
    n: int
    level: float = 0.95

    @property
    def half_width(self) -> float | None:
        """Half the interval's width, or None without bounds."""
        if self.low is None or self.high is None:
            return None
        return (self.high - self.low) / 2.0


def interval(values: Iterable[float | None], *, n_test: int | None = None, level: float = 0.95) -> Interval:
    """Mean over seeds and its Student-t confidence interval (t with n-1 degrees of freedom).

    With ``n_test`` (the values are accuracies on ``n_test`` test examples) the per-seed standard
    deviation is floored at ``binomial_se(mean, n_test)``. Non-finite values are dropped; no values
    give ``mean=nan`` and one value gives the value without bounds.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    x = _finite(values)
    n = int(x.size)
    if n == 0:
        return Interval(mean=math.nan, low=None, high=None, n=0, level=level)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean=mean, low=None, high=None, n=1, level=level)
    sd = max(float(x.std(ddof=1)), _floor(mean, n_test))
    half = float(_st.t.ppf((1.0 + level) / 2.0, n - 1)) * sd / math.sqrt(n)
    return Interval(mean=mean, low=mean - half, high=mean + half, n=n, level=level)


@dataclass(frozen=True)
class Comparison:
    """The one-sided comparison "a > b" of two sets of seed values.

    ``difference`` is mean(a) - mean(b) (for a paired test, the mean of the paired differences);
    ``ci`` its two-sided ``1 - 2*alpha`` interval; ``p_value`` the one-sided p-value for a > b.
    ``ci`` and ``p_value`` are None when they cannot be computed. ``n_a``/``n_b`` count the finite
    values used (for a paired test, both count the complete pairs).
    """

    difference: float
    ci: tuple[float, float] | None
    p_value: float | None
    verdict: Verdict
    test: str
    n_a: int
    n_b: int
    alpha: float


def compare(
    a: Sequence[float | None],
    b: Sequence[float | None],
    *,
    n_test: int | None = None,
    paired: bool = False,
    alpha: float = 0.05,
) -> Comparison:
    """Test "a > b" over seeds: Welch's t-test, or a paired t-test with ``paired=True``.

    Welch: ``t = (mean_a - mean_b) / sqrt(s_a^2/n_a + s_b^2/n_b)`` with Welch-Satterthwaite degrees
    of freedom; with ``n_test`` each side's ``s`` is floored at the binomial standard error of its
    mean. Paired (values given in the same seed order; different lengths raise ValueError; a pair
    with a non-finite value is dropped): a one-sided t-test on the differences with n-1 degrees of
    freedom; with ``n_test`` the standard deviation of the differences is floored at
    ``sqrt(p_a(1-p_a)/n_test + p_b(1-p_b)/n_test)``, the standard deviation of a difference of two
    independent binomial proportions.

    Verdict: "supported" when p < alpha, "not supported" when the reverse test (b > a) has p < alpha,
    "inconclusive" otherwise, and always "inconclusive" (p and ci None) with fewer than two finite
    values on a side. With zero spread on both sides and no ``n_test`` a t statistic does not exist:
    equal means give "inconclusive" with p = 0.5, different means "inconclusive" with p None (a gap
    between values that never vary says nothing about noise, so it is not called significant).
    """
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")
    if paired:
        xa, xb = _as_array(a), _as_array(b)
        if xa.size != xb.size:
            raise ValueError(f"paired comparison needs equal lengths, got {xa.size} and {xb.size}")
        keep = np.isfinite(xa) & np.isfinite(xb)
        xa, xb = xa[keep], xb[keep]
        test = "paired-t"
    else:
        xa, xb = _finite(a), _finite(b)
        test = "welch"
    n_a, n_b = int(xa.size), int(xb.size)
    mean_a = float(xa.mean()) if n_a else math.nan
    mean_b = float(xb.mean()) if n_b else math.nan

    def result(difference: float, ci: tuple[float, float] | None, p: float | None, verdict: Verdict) -> Comparison:
        return Comparison(difference, ci, p, verdict, test, n_a, n_b, alpha)

    if n_a < 2 or n_b < 2:
        diff = mean_a - mean_b if n_a and n_b else math.nan
        return result(diff, None, None, "inconclusive")

    if paired:
        d = xa - xb
        diff = float(d.mean())
        floor = math.hypot(_floor(mean_a, n_test), _floor(mean_b, n_test))
        sd = max(float(d.std(ddof=1)), floor)
        se = sd / math.sqrt(n_a)
        df = float(n_a - 1)
    else:
        diff = mean_a - mean_b
        va = max(float(xa.std(ddof=1)), _floor(mean_a, n_test)) ** 2 / n_a
        vb = max(float(xb.std(ddof=1)), _floor(mean_b, n_test)) ** 2 / n_b
        se = math.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1)) if se > 0 else math.nan

    if se == 0.0:  # no spread and no floor: no t statistic
        return result(diff, None, 0.5 if diff == 0.0 else None, "inconclusive")

    t_stat = diff / se
    p = float(_st.t.sf(t_stat, df))
    p_reverse = float(_st.t.cdf(t_stat, df))
    half = float(_st.t.ppf(1.0 - alpha, df)) * se
    verdict: Verdict = "supported" if p < alpha else "not supported" if p_reverse < alpha else "inconclusive"
    return result(diff, (diff - half, diff + half), p, verdict)


def spearman_within(
    groups: Mapping[str, tuple[Sequence[float | None], Sequence[float | None]]],
    n_permutations: int = 10_000,
    seed: int = 0,
) -> tuple[float, float | None]:
    """Pooled within-group Spearman correlation of x and y, and its stratified permutation p-value.

    Each group (e.g. a task) maps to paired values ``(x, y)``; pairs with a non-finite value are
    dropped. x and y are ranked within each group and the ranks centred on the group's mean rank;
    the statistic is the Pearson correlation of the pooled centred ranks, so only the ordering inside
    each group counts and differences between groups do not. The one-sided p-value (rho > 0) permutes
    y within each group ``n_permutations`` times: ``(1 + #{rho_perm >= rho}) / (1 + n_permutations)``.
    Groups with fewer than two pairs or constant ranks carry no information and are skipped; with
    none left the result is ``(nan, None)``.
    """
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be positive, got {n_permutations}")
    rng = np.random.default_rng(seed)
    rxs, rys = [], []
    for x, y in groups.values():
        xs, ys = _as_array(x), _as_array(y)
        if xs.size != ys.size:
            raise ValueError(f"x and y of a group need equal lengths, got {xs.size} and {ys.size}")
        keep = np.isfinite(xs) & np.isfinite(ys)
        if keep.sum() < 2:
            continue
        rx = _st.rankdata(xs[keep]) - (keep.sum() + 1) / 2.0
        ry = _st.rankdata(ys[keep]) - (keep.sum() + 1) / 2.0
        if not rx.any() or not ry.any():
            continue
        rxs.append(rx)
        rys.append(ry)
    if not rxs:
        return math.nan, None
    # Permuting y within a group leaves the sums of squares unchanged: only the cross term varies.
    norm = math.sqrt(sum(float(rx @ rx) for rx in rxs) * sum(float(ry @ ry) for ry in rys))
    observed = sum(float(rx @ ry) for rx, ry in zip(rxs, rys))
    permuted = np.zeros(n_permutations)
    for rx, ry in zip(rxs, rys):
        permuted += rng.permuted(np.tile(ry, (n_permutations, 1)), axis=1) @ rx
    rho = observed / norm
    tol = 1e-12 * norm  # ties at the observed value count as "at least as large"
    p = (1.0 + float(np.count_nonzero(permuted >= observed - tol))) / (1.0 + n_permutations)
    return rho, p
