"""The regression gate (``e2ebench gate``): compare a results store with a stored baseline (e.g. the
leaderboard), score by score, in each score's declared direction.

A score regresses when its mean over seeds moves in its worse direction by more than the tolerance,
relative to the baseline's mean (``new < base - tol |base|`` for higher-is-better scores,
``new > base + tol |base|`` for lower-is-better ones). For time-to-target scores the share of seeds
that reached the target is compared first: reaching it in fewer seeds regresses. Neutral scores are never gated. Rows the new results do not
have are listed as not compared (or fail with ``require_all``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from suite.results import Aggregate, ResultSet
from suite.scores import score_of

DEFAULT_METRICS = ("test_accuracy",)
DEFAULT_TOLERANCE = 0.02


@dataclasses.dataclass(frozen=True)
class Comparison:
    """One score of one task x regime row, baseline vs new."""

    task: str
    regime: str
    metric: str
    baseline: float | None
    new: float | None
    verdict: str  # "ok", "improved", "regressed", "not compared"

    def line(self) -> str:
        def fmt(v: float | None) -> str:
            return "never/none" if v is None else f"{v:.4g}"

        return f"{self.verdict.upper():<12} {self.task} / {self.regime} / {self.metric}: {fmt(self.baseline)} -> {fmt(self.new)}"


@dataclasses.dataclass
class GateReport:
    """All comparisons; ``ok`` when nothing regressed (and, with ``require_all``, everything was compared)."""

    comparisons: list[Comparison]
    require_all: bool = False

    @property
    def regressions(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.verdict == "regressed"]

    @property
    def ok(self) -> bool:
        if self.regressions:
            return False
        return not (self.require_all and any(c.verdict == "not compared" for c in self.comparisons))

    def format(self) -> str:
        counts = {v: sum(c.verdict == v for c in self.comparisons) for v in ("ok", "improved", "regressed", "not compared")}
        head = "gate: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n) + (" -> PASS" if self.ok else " -> FAIL")
        shown = [c for c in self.comparisons if c.verdict != "ok"]
        return "\n".join([head, *("  " + c.line() for c in shown)])


def verdict(metric: str, baseline: Aggregate, new: Aggregate, tolerance: float) -> str:
    """Compare one score's aggregates over seeds (see the module docstring)."""
    score = score_of(metric)
    if baseline.n == 0 or new.n == 0:
        return "not compared"
    if score.direction == "neutral":
        return "ok"
    if score.group == "convergence":  # time to target: first the share of seeds that reached it
        base_rate, new_rate = len(baseline.values) / baseline.n, len(new.values) / new.n
        if new_rate < base_rate:
            return "regressed"
        if new_rate > base_rate:
            return "improved"
    b, n = baseline.mean, new.mean
    if b is None or n is None:
        return "ok" if b is None and n is None else "not compared"
    slack = tolerance * abs(b)
    worse = n < b - slack if score.direction == "higher" else n > b + slack
    better = n > b + slack if score.direction == "higher" else n < b - slack
    return "regressed" if worse else ("improved" if better else "ok")


def compare(baseline: ResultSet, new: ResultSet, metrics: Sequence[str] = DEFAULT_METRICS,
            tolerance: float = DEFAULT_TOLERANCE, require_all: bool = False) -> GateReport:
    """Compare each task x regime row of ``baseline`` with the same row of ``new`` (n/a rows are skipped)."""
    new_groups = new.group_by("task", "regime")
    out = []
    for (task, regime), base_group in baseline.group_by("task", "regime").items():
        new_group = new_groups.get((task, regime), ResultSet())
        for m in metrics:
            ba, na = base_group.aggregate(m), new_group.aggregate(m)
            if ba.not_applicable:
                continue
            out.append(Comparison(task, regime, m, ba.mean, na.mean, verdict(m, ba, na, tolerance)))
    return GateReport(out, require_all)
