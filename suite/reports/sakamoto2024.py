"""The claims of Sakamoto & Sato (2024), checked against a suite's stored records.

Report section ``sakamoto2024-claims``. Each claim of "End-to-End Training Induces Information
Bottleneck through Layer-Role Differentiation" (TMLR 2024) is turned into a fixed rule on measured
numbers and marked **supported**, **not supported** or **inconclusive**, with the numbers, the seeds
and the rule beside it. The rules are deliberately simple and stated in full, so a reader can
disagree with a rule without having to distrust the numbers:

* two-sample comparisons ("E2E is higher than layer-wise"): with at least two seeds per side,
  supported when the mean difference is larger than the pooled standard deviation
  ``sqrt((s_a^2 + s_b^2) / 2)``, not supported when it is that much in the other direction,
  inconclusive in between (an effect size of one standard deviation either way);
* the information-bottleneck shape of the last E2E block: relative compression above a 2 % tolerance
  and above its spread over seeds, without losing label information. Compression means a fall of
  nHSIC(X;T) after a fitting phase (the peak comes after initialization); a block whose nHSIC(X;T) only
  falls from its initial value loses input information (claim 3) but does not compress;
* the link between middle-block compression and generalization: Spearman's rank correlation between
  the two over all runs of a task (all regimes and seeds), supported when positive with p < 0.05.

Regimes are chosen by their declared family (``suite.api.RegimeFamily``), never by name: "E2E" is
the baseline of the ``end-to-end`` family, "layer-wise" every regime of the ``layer-wise`` family.
A claim is tested once per task (and per layer-wise regime where it compares regimes); its overall
verdict is "supported" when more than half of those comparisons support it and none contradicts it,
"not supported" when more than half contradict it and none supports it, and "inconclusive"
otherwise. The numbers come from the results' summaries and probe histories (``suite.probe``).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from tabulate import tabulate

from suite.reports.core import ReportContext, section
from suite.results import Result, ResultSet

Verdict = Literal["supported", "not supported", "inconclusive"]
SUPPORTED: Verdict = "supported"
NOT_SUPPORTED: Verdict = "not supported"
INCONCLUSIVE: Verdict = "inconclusive"

BASELINE_FAMILY = "end-to-end"
COMPARED_FAMILY = "layer-wise"
BASELINE = "e2e"  # how the tables and notes name the end-to-end baseline
MIN_SEEDS = 2
COMPRESSION_TOLERANCE = 0.02  # relative changes of nHSIC smaller than this count as none
CORRELATION_ALPHA = 0.05
MIN_CORRELATION_RUNS = 6
PAPER = "Sakamoto & Sato (2024), End-to-End Training Induces Information Bottleneck through Layer-Role Differentiation, TMLR"


@dataclasses.dataclass(frozen=True)
class Run:
    """One result, reduced to what the claims need."""

    task: str
    regime: str
    family: str
    baseline: bool
    seed: int
    test_accuracy: float | None
    role_differentiation: float | None
    probe_epochs: tuple[int, ...]
    nhsic_x: np.ndarray | None  # (probes, blocks)
    nhsic_y: np.ndarray | None

    @classmethod
    def from_result(cls, result: Result) -> Run:
        x, y = result.probe_series("nhsic_x"), result.probe_series("nhsic_y")
        both = x is not None and y is not None and x[0] == y[0]
        return cls(
            task=result.task.label,
            regime=result.regime.label,
            family=result.regime.family,
            baseline=result.regime.baseline,
            seed=result.seed,
            test_accuracy=result.score("test_accuracy"),
            role_differentiation=result.score("role_differentiation"),
            probe_epochs=x[0] if both else (),
            nhsic_x=x[1] if both else None,
            nhsic_y=y[1] if both else None,
        )

    @property
    def blocks(self) -> int:
        """Number of probed blocks (0 without probes)."""
        return 0 if self.nhsic_x is None else int(self.nhsic_x.shape[1])

    @property
    def layerwise(self) -> bool:
        """Whether the regime belongs to the layer-wise family."""
        return self.family == COMPARED_FAMILY

    @property
    def is_baseline(self) -> bool:
        """Whether the regime is the end-to-end baseline."""
        return self.baseline and self.family == BASELINE_FAMILY


def early_middle_blocks(blocks: int) -> list[int]:
    """0-based indices of the blocks in the first two thirds of a network, never the last block."""
    return list(range(min(math.ceil(2 * blocks / 3), blocks - 1)))


def middle_blocks(blocks: int) -> list[int]:
    """0-based indices of the middle third of a network (empty below three blocks)."""
    if blocks < 3:
        return []
    return list(range(blocks // 3, max(math.ceil(2 * blocks / 3), blocks // 3 + 1)))


def compression(trajectory: np.ndarray) -> float:
    """Fall of a block's nHSIC(X;T) from its peak to the last probe, if the peak follows a fitting phase
    (comes after the first probe); 0 when the values only fall from initialization."""
    peak = int(np.argmax(trajectory))
    return float(trajectory[peak] - trajectory[-1]) if peak > 0 else 0.0


def _block_span(indices: Sequence[int], blocks: int) -> str:
    if not indices:
        return "none"
    first, last = indices[0] + 1, indices[-1] + 1
    return (f"block {first}" if first == last else f"blocks {first}–{last}") + f" of {blocks}"


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The claim "a is higher than b", decided by the pooled-standard-deviation rule."""

    a: tuple[float, ...]
    b: tuple[float, ...]

    @property
    def mean_a(self) -> float | None:
        return statistics.fmean(self.a) if self.a else None

    @property
    def mean_b(self) -> float | None:
        return statistics.fmean(self.b) if self.b else None

    @property
    def difference(self) -> float | None:
        return None if self.mean_a is None or self.mean_b is None else self.mean_a - self.mean_b

    @property
    def pooled_std(self) -> float | None:
        if len(self.a) < 2 or len(self.b) < 2:
            return None
        return math.sqrt((statistics.variance(self.a) + statistics.variance(self.b)) / 2)

    @property
    def verdict(self) -> Verdict:
        diff, pooled = self.difference, self.pooled_std
        if diff is None or pooled is None:
            return INCONCLUSIVE
        if diff > pooled and diff > 0:
            return SUPPORTED
        if -diff > pooled and diff < 0:
            return NOT_SUPPORTED
        return INCONCLUSIVE


def compare(a: Sequence[float | None], b: Sequence[float | None]) -> Comparison:
    """Compare two samples (``None`` values dropped) under the claim that ``a`` is higher."""
    return Comparison(tuple(float(v) for v in a if v is not None), tuple(float(v) for v in b if v is not None))


def overall(verdicts: Sequence[Verdict]) -> tuple[Verdict, str]:
    """A claim's overall verdict from its comparisons, and the counts behind it."""
    n = len(verdicts)
    if n == 0:
        return INCONCLUSIVE, "no comparison could be made (no matching records)"
    s, ns = verdicts.count(SUPPORTED), verdicts.count(NOT_SUPPORTED)
    counts = f"supported in {s}, not supported in {ns}, inconclusive in {n - s - ns} of {n} comparisons"
    if s > n / 2 and ns == 0:
        return SUPPORTED, counts
    if ns > n / 2 and s == 0:
        return NOT_SUPPORTED, counts
    return INCONCLUSIVE, counts


@dataclasses.dataclass
class ClaimResult:
    """One claim: what the paper says, how it is tested, what was found."""

    key: str
    title: str
    statement: str
    rule: str
    verdicts: list[Verdict]
    table: str
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return overall(self.verdicts)[0]

    @property
    def counts(self) -> str:
        return overall(self.verdicts)[1]


def _fmt(x: float | None, digits: int = 3, sign: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def _summary(values: Sequence[float], digits: int = 3) -> str:
    if not values:
        return "—"
    text = _fmt(statistics.fmean(values), digits)
    if len(values) > 1:
        text += f" ± {_fmt(statistics.stdev(values), digits)}"
    return text + f" (n={len(values)})"


def _seeds(runs: Sequence[Run]) -> str:
    return ",".join(str(s) for s in sorted({r.seed for r in runs})) or "—"


def group(runs: Sequence[Run]) -> dict[str, dict[str, list[Run]]]:
    """Runs by task, then by regime label, in the order they come (the runs of :func:`evaluate` come
    grouped already, from ``ResultSet.group_by``; this keeps that order)."""
    out: dict[str, dict[str, list[Run]]] = {}
    for r in runs:
        out.setdefault(r.task, {}).setdefault(r.regime, []).append(r)
    return out


def _baseline(regimes: dict[str, list[Run]]) -> tuple[str, list[Run]] | None:
    return next(((label, rs) for label, rs in regimes.items() if rs[0].is_baseline), None)


def _regime_comparisons(runs: Sequence[Run], value: Callable[[Run], float | None], digits: int = 3,
                        value_name: str = "value") -> tuple[list[Verdict], str, list[str]]:
    """Compare E2E against every layer-wise regime on every task, with ``value`` per run."""
    rows, verdicts, notes = [], [], []
    for task, regimes in group(runs).items():
        base = _baseline(regimes)
        if base is None:
            notes.append(f"{task}: no {BASELINE} records")
            continue
        base_label, base_runs = base
        for label, others in regimes.items():
            if not others[0].layerwise:
                continue
            c = compare([value(r) for r in base_runs], [value(r) for r in others])
            verdicts.append(c.verdict)
            rows.append([task, f"{base_label} vs {label}", _summary(c.a, digits), _summary(c.b, digits),
                         _fmt(c.difference, digits, sign=True), _fmt(c.pooled_std, digits),
                         f"{_seeds(base_runs)} / {_seeds(others)}", f"**{c.verdict}**"])
    headers = ["task", "comparison", f"{BASELINE} {value_name}", f"layer-wise {value_name}", "difference",
               "pooled std", "seeds", "verdict"]
    return verdicts, tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True) if rows else "", notes


def check_accuracy(runs: Sequence[Run]) -> ClaimResult:
    """Claim 1: end-to-end training reaches a higher test accuracy than layer-wise training."""
    verdicts, table, notes = _regime_comparisons(runs, lambda r: r.test_accuracy, 4, "test acc.")
    return ClaimResult(
        "accuracy", "E2E training beats layer-wise training",
        "With the same architecture and budget, end-to-end training reaches a higher test accuracy than "
        "layer-wise training (simultaneous or sequential).",
        "per task and layer-wise regime: final test accuracy; supported when the E2E mean exceeds the "
        "layer-wise mean by more than the pooled standard deviation over seeds (≥ 2 seeds each).",
        verdicts, table, notes)


def check_roles(runs: Sequence[Run]) -> ClaimResult:
    """Claim 2: E2E blocks take different roles in the information plane; layer-wise blocks move alike."""
    verdicts, table, notes = _regime_comparisons(runs, lambda r: r.role_differentiation, 3, "role diff.")
    return ClaimResult(
        "roles", "E2E layers differentiate their roles; layer-wise layers behave alike",
        "In the information plane (nHSIC(X;T), nHSIC(Y;T)), the blocks of an E2E-trained network move "
        "differently from each other (early blocks keep input information, later ones compress it), while "
        "under layer-wise training every block moves the same way.",
        "per task and layer-wise regime: `role_differentiation` (spread of the blocks' net movements in the "
        "plane from the first to the last probe, see `suite.probe`); supported when the E2E mean exceeds the "
        "layer-wise mean by more than the pooled standard deviation.",
        verdicts, table, notes)


def _final_early_input_information(run: Run) -> float | None:
    if run.nhsic_x is None or run.blocks < 2:
        return None
    return float(np.mean(run.nhsic_x[-1, early_middle_blocks(run.blocks)]))


def check_input_information(runs: Sequence[Run]) -> ClaimResult:
    """Claim 3: layer-wise training loses input information in its early and middle blocks."""
    verdicts, table, notes = _regime_comparisons(runs, _final_early_input_information, 3, "nHSIC(X;T)")
    spans = sorted({_block_span(early_middle_blocks(r.blocks), r.blocks) + f" ({r.task})" for r in runs if r.blocks >= 2})
    if spans:
        notes.append("blocks averaged: " + "; ".join(spans))
    return ClaimResult(
        "input-information", "Layer-wise training loses input information early",
        "Under layer-wise training the early and middle blocks keep less information about the input "
        "(lower nHSIC(X;T)) than the same blocks trained end to end; E2E propagates input information deeper.",
        "per task and layer-wise regime: nHSIC(X;T_l) at the last probe, averaged over the blocks in the first "
        "two thirds of the network (never the last block); supported when the E2E mean exceeds the layer-wise "
        "mean by more than the pooled standard deviation.",
        verdicts, table, notes)


@dataclasses.dataclass(frozen=True)
class BottleneckShape:
    """The trajectory of one run's last block in the information plane."""

    peak_epoch: int
    relative_compression: float  # (peak - final) / peak of nHSIC(X; T_L)
    relative_label_change: float  # (final - at peak) / at peak of nHSIC(Y; T_L)
    final_nhsic_y: float


def bottleneck_shape(run: Run) -> BottleneckShape | None:
    """Compression and label information of the last block, from its probe history."""
    if run.nhsic_x is None or run.nhsic_y is None or len(run.probe_epochs) < 2:
        return None
    x, y = run.nhsic_x[:, -1], run.nhsic_y[:, -1]
    peak = int(np.argmax(x))
    if x[peak] <= 0:
        return None
    return BottleneckShape(
        peak_epoch=run.probe_epochs[peak],
        relative_compression=compression(x) / float(x[peak]),
        relative_label_change=float((y[-1] - y[peak]) / max(abs(y[peak]), 1e-12)),
        final_nhsic_y=float(y[-1]),
    )


def bottleneck_verdict(shapes: Sequence[BottleneckShape]) -> Verdict:
    """Supported when the last block compresses (mean relative compression above both the tolerance and
    its spread over seeds) while keeping label information (mean relative change of nHSIC(Y;T) not below
    minus the tolerance); not supported when it does not compress (mean at most the tolerance) or clearly
    loses label information (below minus the tolerance and the spread)."""
    if len(shapes) < MIN_SEEDS:
        return INCONCLUSIVE
    comp = [s.relative_compression for s in shapes]
    label = [s.relative_label_change for s in shapes]
    c_mean, c_std = statistics.fmean(comp), statistics.stdev(comp)
    l_mean, l_std = statistics.fmean(label), statistics.stdev(label)
    compresses = c_mean > max(COMPRESSION_TOLERANCE, c_std)
    no_compression = c_mean <= COMPRESSION_TOLERANCE
    keeps_labels = l_mean >= -COMPRESSION_TOLERANCE
    loses_labels = l_mean < -(COMPRESSION_TOLERANCE + l_std)
    if compresses and keeps_labels:
        return SUPPORTED
    if no_compression or loses_labels:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def check_bottleneck(runs: Sequence[Run]) -> ClaimResult:
    """Claim 4: the final E2E representation follows the information-bottleneck principle."""
    rows, verdicts, notes = [], [], []
    for task, regimes in group(runs).items():
        base = _baseline(regimes)
        if base is None:
            notes.append(f"{task}: no {BASELINE} records")
        for label, rs in regimes.items():
            shapes = [s for s in (bottleneck_shape(r) for r in rs) if s is not None]
            is_base = base is not None and label == base[0]
            verdict = bottleneck_verdict(shapes) if is_base else None
            if verdict is not None:
                verdicts.append(verdict)
            rows.append([
                task, label,
                _summary([100 * s.relative_compression for s in shapes], 1),
                ",".join(str(s.peak_epoch) for s in shapes) or "—",
                _summary([100 * s.relative_label_change for s in shapes], 1),
                _summary([s.final_nhsic_y for s in shapes], 3),
                _seeds(rs),
                f"**{verdict}**" if verdict else "(for comparison)",
            ])
    headers = ["task", "regime", "compression of nHSIC(X;T_L) %", "peak epochs", "change of nHSIC(Y;T_L) since peak %",
               "final nHSIC(Y;T_L)", "seeds", "verdict"]
    table = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True) if rows else ""
    return ClaimResult(
        "bottleneck", "The final E2E representation follows the information-bottleneck principle",
        "The last block of an E2E-trained network first gathers input information and then compresses it "
        "(nHSIC(X;T_L) falls from its peak) while keeping a high nHSIC(Y;T_L).",
        f"E2E runs of each task, last block: relative compression = (peak − final) / peak of nHSIC(X;T_L) over the "
        f"probed epochs (0 when the peak is at initialization: no fitting phase); label change = (final − value at that peak) / value at that peak of nHSIC(Y;T_L). "
        f"Supported when the mean compression exceeds {COMPRESSION_TOLERANCE:.0%} and its standard deviation over "
        f"seeds, and the mean label change is not below −{COMPRESSION_TOLERANCE:.0%}; not supported when the mean "
        f"compression is at most {COMPRESSION_TOLERANCE:.0%} or label information clearly falls (below "
        f"−{COMPRESSION_TOLERANCE:.0%} minus its standard deviation). Layer-wise rows are shown for comparison only.",
        verdicts, table, notes)


def _middle_compression(run: Run) -> float | None:
    if run.nhsic_x is None:
        return None
    mids = middle_blocks(run.blocks)
    if not mids:
        return None
    return float(np.mean([compression(run.nhsic_x[:, b]) for b in mids]))


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Spearman's rank correlation and its two-sided p-value (``nan`` when undefined)."""
    from scipy.stats import spearmanr

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return float("nan"), float("nan")
    result = spearmanr(x, y)
    return float(result.statistic), float(result.pvalue)


def correlation_verdict(rho: float, p: float, n: int) -> Verdict:
    """Supported: positive with p < alpha; not supported: zero or negative; else inconclusive."""
    if n < MIN_CORRELATION_RUNS or not math.isfinite(rho):
        return INCONCLUSIVE
    if rho > 0 and p < CORRELATION_ALPHA:
        return SUPPORTED
    if rho <= 0:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def check_compression_generalization(runs: Sequence[Run]) -> ClaimResult:
    """Claim 5: compression in the middle blocks goes with better generalization."""
    rows, verdicts, notes = [], [], []
    for task, regimes in group(runs).items():
        pairs = [(c, r.test_accuracy) for rs in regimes.values() for r in rs
                 if (c := _middle_compression(r)) is not None and r.test_accuracy is not None]
        all_runs = [r for rs in regimes.values() for r in rs]
        if not pairs:
            notes.append(f"{task}: no probed middle blocks (fewer than three blocks, or no probe)")
            continue
        xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
        rho, p = spearman(xs, ys)
        verdict = correlation_verdict(rho, p, len(pairs))
        verdicts.append(verdict)
        blocks = max(r.blocks for r in all_runs)
        per_regime = "; ".join(
            f"{label}: {_fmt(statistics.fmean(v), 3)}"
            for label, rs in regimes.items()
            if (v := [c for r in rs if (c := _middle_compression(r)) is not None])
        )
        rows.append([task, _block_span(middle_blocks(blocks), blocks), per_regime, len(pairs), _fmt(rho, 2),
                     _fmt(p, 3), f"**{verdict}**"])
    headers = ["task", "middle blocks", "mean compression by regime", "runs", "Spearman ρ", "p", "verdict"]
    table = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True) if rows else ""
    return ClaimResult(
        "compression-generalization", "Middle-layer compression is linked to generalization",
        "Networks whose middle blocks compress input information more (a larger fall of nHSIC(X;T) from its "
        "peak) generalize better.",
        f"per task, over all its runs (every regime and seed): Spearman's rank correlation between the mean "
        f"compression of the middle third of the blocks (peak − final nHSIC(X;T_l), 0 without a fitting phase) and the "
        f"final test accuracy; "
        f"supported when ρ > 0 with p < {CORRELATION_ALPHA}, not supported when ρ ≤ 0, inconclusive otherwise or "
        f"with fewer than {MIN_CORRELATION_RUNS} runs. Regimes are pooled, so the test is across training methods "
        "as well as seeds.",
        verdicts, table, notes)


CHECKS: tuple[Callable[[Sequence[Run]], ClaimResult], ...] = (
    check_accuracy, check_roles, check_input_information, check_bottleneck, check_compression_generalization,
)


def evaluate(results: ResultSet) -> list[ClaimResult]:
    """Every claim, checked on the finished ``results``."""
    runs = [Run.from_result(r) for r in results.finished()]
    return [check(runs) for check in CHECKS]


def render(results: Sequence[ClaimResult], context: str = "") -> str:
    """The Markdown of the section: a summary table, then one subsection per claim."""
    lines = [f"## Claims of {PAPER}\n", context] if context else [f"## Claims of {PAPER}\n"]
    summary = [[i + 1, r.title, f"**{r.verdict}**", r.counts] for i, r in enumerate(results)]
    lines.append(tabulate(summary, headers=["#", "claim", "verdict", "comparisons"], tablefmt="github", disable_numparse=True))
    lines.append("")
    for i, r in enumerate(results):
        lines.append(f"### {i + 1}. {r.title} — {r.verdict}\n")
        lines.append(f"*Claim.* {r.statement}\n")
        lines.append(f"*Rule.* {r.rule}\n")
        if r.table:
            lines.append(r.table + "\n")
        lines.extend(f"- {n}" for n in r.notes)
        if r.notes:
            lines.append("")
    return "\n".join(lines)


def _context(ctx: ReportContext, results: ResultSet) -> str:
    probe = ctx.suite.metrics.probe
    budgets = "; ".join(f"{t.label}: {t.budget.epochs} epochs, batch {t.budget.batch_size}, "
                        f"{t.budget.optimizer} lr {t.budget.learning_rate:g}" for t in ctx.suite.tasks)
    estimator = (f"nHSIC with a Gaussian kernel (σ = {probe.sigma:g}, scaled by the feature dimension), ε = {probe.eps:g}, "
                 f"{probe.label_kernel} label kernel, on a stratified probe set of {probe.probe_size} test examples "
                 f"(seed {probe.probe_seed}), probed "
                 + ("at log-spaced epochs" if probe.every == "log" else f"every {probe.every} epoch(s)"))
    return (f"Verdicts from {len(results)} records of suite `{ctx.suite.name}` {ctx.suite.version}, "
            f"seeds {list(ctx.suite.seeds)}. Budgets: {budgets}. Information plane: {estimator}. "
            "The verdicts describe these runs only; a suite with small budgets or few seeds tests the "
            "protocol, not the paper.\n")


@section("sakamoto2024-claims")
def claims_section(ctx: ReportContext) -> str:
    """Report section: each claim of Sakamoto & Sato (2024) with its verdict, rule and numbers."""
    finished = ctx.finished
    return render(evaluate(finished), _context(ctx, finished))
