"""Performance profiles across tasks (Dolan and More, "Benchmarking optimization software with performance
profiles", Math. Program. 91, 2002), as AlgoPerf summarizes training algorithms (Dahl et al., 2023).

For a score and a set of tasks, each regime's **cost** on a task is its mean over seeds, made
lower-is-better: the value itself for a lower-is-better score (epochs to target, seconds), and the
error ``1 - value`` for a higher-is-better score, which must then lie in [0, 1] (accuracies, ``auc``).
The **ratio** of a regime on a task is its cost over the best (lowest) cost any regime has on that task,
so the best regime has ratio 1. A regime that has no value on a task has ratio infinity: the task is
n/a for it, its cells are missing or failed, or (for time-to-target scores) some seed never reached the
target. When the best cost is 0 (a perfect accuracy), regimes with cost 0 have ratio 1 and every other
regime ratio infinity.

The **profile** of a regime is ``rho(tau) = |{tasks with ratio <= tau}| / |tasks|`` for tau in
[1, tau_max] (tau_max = 4, as in AlgoPerf): the share of tasks on which the regime is within a factor tau
of the best. Its **area** ``profile_auc = (1 / (tau_max - 1)) * integral_1^tau_max rho(tau) dtau`` is 1 for
a regime that is best on every task and 0 for one that is never within tau_max of the best; as rho is a
step function it is exactly ``mean over tasks of max(0, tau_max - ratio) / (tau_max - 1)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

from suite.results import ResultSet
from suite.scores import Score, score_of

TAU_MAX = 4.0


@dataclasses.dataclass(frozen=True)
class Profile:
    """The performance profile of every regime over the same tasks, for one score.

    Attributes:
        score: the score the costs come from.
        tasks: the tasks, in order.
        ratios: per regime, its ratio on each task (``math.inf``: no value there).
        tau_max: the right end of the profile.
    """

    score: str
    tasks: tuple[str, ...]
    ratios: Mapping[str, tuple[float, ...]]
    tau_max: float = TAU_MAX

    @property
    def regimes(self) -> list[str]:
        return list(self.ratios)

    def rho(self, regime: str, tau: float | np.ndarray) -> float | np.ndarray:
        """The share of tasks on which ``regime`` is within a factor ``tau`` of the best."""
        r = np.asarray(self.ratios[regime], dtype=float)
        taus = np.asarray(tau, dtype=float)
        shares = (r[None, :] <= taus.reshape(-1, 1)).mean(axis=1) if r.size else np.zeros(taus.size)
        return float(shares[0]) if taus.ndim == 0 else shares

    def auc(self, regime: str) -> float:
        """The area under ``regime``'s profile over [1, tau_max], divided by tau_max - 1 (in [0, 1])."""
        r = self.ratios[regime]
        if not r:
            return 0.0
        return sum(max(0.0, self.tau_max - x) for x in r) / ((self.tau_max - 1.0) * len(r))

    def aucs(self) -> dict[str, float]:
        """``auc`` of every regime."""
        return {regime: self.auc(regime) for regime in self.ratios}


def cost_of(value: float, score: Score) -> float:
    """A score's value as a lower-is-better cost (see the module docstring)."""
    if score.direction == "lower":
        return value
    if score.direction == "higher":
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"performance profiles of the higher-is-better score {score.name} need values in [0, 1] "
                             f"(the cost is 1 - value), got {value}")
        return 1.0 - value
    raise ValueError(f"score {score.name} is neutral: a performance profile needs a better direction")


def from_costs(costs: Mapping[str, Mapping[str, float | None]], score: str = "", tau_max: float = TAU_MAX) -> Profile:
    """The profile of ``costs[regime][task]`` (lower is better; None or missing: no value on that task).
    Tasks are every task any regime names, in order of first appearance."""
    if tau_max <= 1.0:
        raise ValueError(f"tau_max must be above 1, got {tau_max}")
    tasks = tuple(dict.fromkeys(t for by_task in costs.values() for t in by_task))
    best = {}
    for t in tasks:
        values = [c[t] for c in costs.values() if c.get(t) is not None and math.isfinite(c[t])]
        best[t] = min(values) if values else None
    ratios = {}
    for regime, by_task in costs.items():
        ratios[regime] = tuple(_ratio(by_task.get(t), best[t]) for t in tasks)
    return Profile(score, tasks, ratios, tau_max)


def _ratio(cost: float | None, best: float | None) -> float:
    if cost is None or best is None or not math.isfinite(cost):
        return math.inf
    if best == 0.0:
        return 1.0 if cost == 0.0 else math.inf
    return cost / best


def regime_costs(results: ResultSet, score: str) -> dict[str, dict[str, float | None]]:
    """Per regime and task, the cost of the mean over seeds (None where the regime has no value on the task;
    for time-to-target scores, also when a finished seed never reached the target)."""
    s = score_of(score)
    out: dict[str, dict[str, float | None]] = {}
    for regime in results.labels("regime"):
        out[regime] = {}
    for (task, regime), group in results.group_by("task", "regime").items():
        agg = group.aggregate(score)
        complete = agg.values and (s.group != "convergence" or len(agg.values) == agg.n)
        out[regime][task] = cost_of(agg.mean, s) if complete and agg.mean is not None else None
    return out


def performance_profile(results: ResultSet, score: str = "test_accuracy", tau_max: float = TAU_MAX) -> Profile:
    """The performance profile of every regime of ``results`` over its tasks, for ``score``.

    Raises:
        ValueError: ``score`` is neutral, or higher-is-better with a value outside [0, 1].
    """
    if score_of(score).direction == "neutral":
        raise ValueError(f"score {score} is neutral: a performance profile needs a better direction")
    costs = regime_costs(results, score)
    tasks = results.labels("task")
    for by_task in costs.values():  # a regime without a cell on a task has no value there
        for t in tasks:
            by_task.setdefault(t, None)
    ordered = {r: {t: costs[r][t] for t in tasks} for r in costs}
    return from_costs(ordered, score, tau_max)


def taus(tau_max: float = TAU_MAX, points: int = 301) -> np.ndarray:
    """Evenly spaced tau in [1, tau_max], for plotting."""
    return np.linspace(1.0, tau_max, points)


def auc_column(results: ResultSet, score: str, tau_max: float = TAU_MAX) -> dict[str, float]:
    """``profile_auc`` of each regime of ``results`` for ``score`` (what tables show as a column)."""
    return performance_profile(results, score, tau_max).aucs()


def column_name(score: str) -> str:
    """The table column of a score's profile area: ``profile_auc(test_accuracy)``."""
    return f"profile_auc({score})"


__all__: Sequence[str] = ("Profile", "TAU_MAX", "auc_column", "column_name", "cost_of", "from_costs",
                          "performance_profile", "regime_costs", "taus")
