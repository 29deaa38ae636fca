"""The regression gate (``e2ebench gate``): compare a results store with a stored baseline (e.g. the
leaderboard), score by score, in each score's declared direction.

A score regresses when the new results are worse than the baseline in the score's direction by a
one-sided test over seeds at level ``alpha`` (``suite.stats.compare``: paired by seed where both sides
have the same seeds, Welch's test otherwise; accuracies' per-seed spread floored at the binomial error of
their split), and improves when the test says they are better; otherwise the row is ``ok``. A fixed
tolerance would call noise a regression on rows that vary across seeds, and miss a real one on rows
that do not. For time-to-target scores the share of seeds that reached the target is compared first:
reaching it in fewer seeds regresses. Neutral scores are never gated: their rows are listed as ``not
gated`` with both values, and never pass or fail. Rows the new results do not have are listed as not
compared (or fail with ``require_all``).

For CI the report is also written as JSON (:func:`report_json`) or JUnit XML (:func:`junit_xml`): one
test case per compared score of a row, a failure for each regression (and for each row not compared
under ``require_all``, else a skipped case).
"""

from __future__ import annotations

import dataclasses
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from suite.scores import score_of

if TYPE_CHECKING:  # imported where used: `e2ebench --help` loads this module and needs neither (nor a backend)
    from suite import stats
    from suite.results import Aggregate, ResultSet

DEFAULT_METRICS = ("test_accuracy",)
DEFAULT_ALPHA = 0.05


@dataclasses.dataclass(frozen=True)
class Comparison:
    """One score of one task x regime row, baseline vs new."""

    task: str
    regime: str
    metric: str
    baseline: float | None
    new: float | None
    verdict: str  # "ok", "improved", "regressed", "not compared", "not gated" (a neutral score)
    test: stats.Comparison | None = None  # new - baseline, one-sided in the score's better direction

    def line(self) -> str:
        def fmt(v: float | None) -> str:
            return "never/none" if v is None else f"{v:.4g}"

        evidence = ""
        if self.test is not None and self.test.p_value is not None and self.test.ci is not None:
            lo, hi = self.test.ci
            evidence = (f" (difference {self.test.difference:+.4g}, {1 - 2 * self.test.alpha:.0%} CI [{lo:+.4g}, {hi:+.4g}], "
                        f"{self.test.test}, n={self.test.n_a}/{self.test.n_b})")
        return f"{self.verdict.upper():<12} {self.task} / {self.regime} / {self.metric}: {fmt(self.baseline)} -> {fmt(self.new)}{evidence}"


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
        counts = {v: sum(c.verdict == v for c in self.comparisons) for v in ("ok", "improved", "regressed", "not compared", "not gated")}
        head = "gate: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n) + (" -> PASS" if self.ok else " -> FAIL")
        shown = [c for c in self.comparisons if c.verdict != "ok"]
        return "\n".join([head, *("  " + c.line() for c in shown)])


def verdict(metric: str, baseline: Aggregate, new: Aggregate, alpha: float = DEFAULT_ALPHA) -> tuple[str, stats.Comparison | None]:
    """Compare one score's aggregates over seeds (see the module docstring); the test behind it, if one ran."""
    score = score_of(metric)
    if score.direction == "neutral":
        return "not gated", None
    if baseline.n == 0 or new.n == 0:
        return "not compared", None
    if score.group == "convergence":  # time to target: first the share of seeds that reached it
        base_rate, new_rate = len(baseline.values) / baseline.n, len(new.values) / new.n
        if new_rate < base_rate:
            return "regressed", None
        if new_rate > base_rate:
            return "improved", None
    if not baseline.values or not new.values:
        return ("ok" if not baseline.values and not new.values else "not compared"), None
    test = paired_comparison(new, baseline, higher_is_better=score.direction == "higher", alpha=alpha)
    if test.verdict == "supported":
        return "improved", test
    if test.verdict == "not supported":
        return "regressed", test
    return "ok", test


def paired_comparison(a: Aggregate, b: Aggregate, *, higher_is_better: bool = True, alpha: float = DEFAULT_ALPHA) -> stats.Comparison:
    """``suite.stats.compare`` of "a is better than b": paired by seed when both have the same seeds, with the
    binomial floor of the smaller split for accuracies; for lower-is-better scores the values are negated."""
    from suite import stats

    sign = 1.0 if higher_is_better else -1.0
    xs, ys = [sign * v for v in a.values], [sign * v for v in b.values]
    n_test = min((n for n in (a.n_test, b.n_test) if n), default=None)
    if sorted(a.seeds) == sorted(b.seeds) and len(set(a.seeds)) == len(a.seeds):
        by_seed = dict(zip(b.seeds, ys))
        return stats.compare(xs, [by_seed[s] for s in a.seeds], n_test=n_test, paired=True, alpha=alpha)
    return stats.compare(xs, ys, n_test=n_test, alpha=alpha)


def compare(baseline: ResultSet, new: ResultSet, metrics: Sequence[str] = DEFAULT_METRICS,
            alpha: float = DEFAULT_ALPHA, require_all: bool = False) -> GateReport:
    """Compare each task x regime row of ``baseline`` with the same row of ``new`` (n/a rows are skipped)."""
    from suite.results import ResultSet

    new_groups = new.group_by("task", "regime")
    out = []
    for (task, regime), base_group in baseline.group_by("task", "regime").items():
        new_group = new_groups.get((task, regime), ResultSet())
        for m in metrics:
            ba, na = base_group.aggregate(m), new_group.aggregate(m)
            if ba.not_applicable:
                continue
            result, test = verdict(m, ba, na, alpha)
            out.append(Comparison(task, regime, m, ba.mean, na.mean, result, test))
    return GateReport(out, require_all)


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def report_json(report: GateReport, suite: str = "", alpha: float = DEFAULT_ALPHA) -> dict[str, Any]:
    """The gate's report as plain data (JSON-safe: no NaN or infinity, they become null)."""
    rows = []
    for c in report.comparisons:
        t = c.test
        rows.append({"task": c.task, "regime": c.regime, "metric": c.metric, "verdict": c.verdict,
                     "baseline": _finite(c.baseline), "new": _finite(c.new),
                     "test": None if t is None else {
                         "name": t.test, "difference": _finite(t.difference), "p_value": _finite(t.p_value),
                         "ci": None if t.ci is None else [_finite(t.ci[0]), _finite(t.ci[1])],
                         "n_new": t.n_a, "n_baseline": t.n_b, "alpha": t.alpha}})
    counts = {v: sum(c.verdict == v for c in report.comparisons) for v in ("ok", "improved", "regressed", "not compared")}
    return {"suite": suite, "ok": report.ok, "alpha": alpha, "require_all": report.require_all, "counts": counts, "comparisons": rows}


_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (control characters in a label)."""
    return _NOT_XML.sub("?", text)


def junit_xml(report: GateReport, suite: str = "") -> str:
    """The gate's report as JUnit XML: one ``testcase`` per comparison (class name the task, name the regime and
    score), a ``failure`` for a regression, and for a row not compared a ``failure`` under ``require_all``,
    else ``skipped``."""
    missing_fails = report.require_all
    failures = sum(c.verdict == "regressed" or (c.verdict == "not compared" and missing_fails) for c in report.comparisons)
    skipped = sum(c.verdict == "not compared" and not missing_fails for c in report.comparisons)
    name = _xml(f"e2ebench gate {suite}".strip())
    attrs = {"name": name, "tests": str(len(report.comparisons)), "failures": str(failures), "errors": "0", "skipped": str(skipped)}
    root = ET.Element("testsuites", attrs)
    cases = ET.SubElement(root, "testsuite", attrs)
    for c in report.comparisons:
        line = _xml(c.line())
        case = ET.SubElement(cases, "testcase", {"classname": _xml(c.task), "name": _xml(f"{c.regime} / {c.metric}"), "time": "0"})
        if c.verdict == "regressed":
            ET.SubElement(case, "failure", {"type": "regression", "message": line}).text = line
        elif c.verdict == "not compared":
            message = _xml(f"{c.task} / {c.regime} / {c.metric}: no new records to compare")
            ET.SubElement(case, "failure" if missing_fails else "skipped", {"type": "missing", "message": message} if missing_fails
                          else {"message": message})
        else:
            ET.SubElement(case, "system-out").text = line
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
