"""The claims of Sakamoto & Sato (2024), checked against a suite's stored records.

Report section ``sakamoto2024-claims``. Each claim of "End-to-End Training Induces Information
Bottleneck through Layer-Role Differentiation" (TMLR 2024) is turned into a fixed rule on measured
numbers and marked **supported**, **not supported** or **inconclusive**, with the numbers, the seeds
and the rule beside it. The rules are stated in full, so a reader can disagree with a rule without
having to distrust the numbers:

* two-sample comparisons ("E2E is higher than layer-wise"): the one-sided test of ``suite.stats.compare``
  over seeds (paired by seed when both sides have the same seeds, Welch's test otherwise; accuracies
  floored at the binomial error of the test split), supported when p < 0.05, not supported when the
  reverse test has p < 0.05, inconclusive otherwise;
* the information-bottleneck shape of the last E2E block: its relative compression (``suite.plane``'s one
  definition, divided by the peak) tested above a 2 % tolerance over seeds, without a significant loss
  of label information;
* the link between middle-block compression and generalization: ``suite.stats.spearman_within``, the
  rank correlation within each regime of a task with a permutation test that permutes within regimes,
  so differences between training methods cannot make a correlation appear.

Every claim about the information plane (2-5) is decided with each estimator the records hold: the
paper's nHSIC (fixed kernel width, its values follow the scale of the activations) and the
scale-invariant ones (nHSIC and CKA with the median kernel width: ``nhsic_median``, ``cka_median``; the
``cka`` estimator keeps the fixed width and is not one of them). The verdicts are shown side by side;
a comparison is supported (or not supported) only when the paper's estimator and every scale-invariant
one recorded agree, and inconclusive otherwise, or when no scale-invariant estimator was recorded.

Regimes are chosen by their declared family (``suite.api.RegimeFamily``), never by name: "E2E" is
the baseline of the ``end-to-end`` family, "layer-wise" every regime of the ``layer-wise`` family; a
regime that declares its information plane not applicable (``Regime.probe_not_applicable``) is left
out of claims 2-5 with its reason. A claim is tested once per task (and per layer-wise regime where it
compares regimes); its overall verdict is "supported" when more than half of those comparisons
support it and none contradicts it, "not supported" when more than half contradict it and none
supports it, and "inconclusive" otherwise.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Literal

import numpy as np
from tabulate import tabulate

from suite import plane, stats
from suite.metrics import PLANE_MEASURES
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
ALPHA = 0.05
COMPRESSION_TOLERANCE = 0.02  # relative changes of nHSIC smaller than this count as none
MIN_CORRELATION_RUNS = 6
PAPER_ESTIMATOR = "nhsic"
SCALE_INVARIANT = ("nhsic_median", "cka_median")
ESTIMATORS = (PAPER_ESTIMATOR, *SCALE_INVARIANT)
ESTIMATOR_NAMES = {"nhsic": "nHSIC (paper)", "nhsic_median": "nHSIC, median width", "cka": "CKA, fixed width",
                   "cka_median": "CKA, median width"}
PAPER = "Sakamoto & Sato (2024), End-to-End Training Induces Information Bottleneck through Layer-Role Differentiation, TMLR"


@dataclasses.dataclass(frozen=True)
class Plane:
    """One run's information plane as one estimator measured it: per probe and block, ``x = I(X; T_l)``
    and ``y = I(Y; T_l)`` (raw values), and the plane's extent along each axis (``suite.plane.extent``)."""

    epochs: tuple[int, ...]
    x: np.ndarray  # (probes, blocks)
    y: np.ndarray
    x_extent: float = 1.0
    y_extent: float = 1.0

    @property
    def blocks(self) -> int:
        return int(self.x.shape[1])

    def normalized(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` divided by the plane's extent, so both axes are on a common scale."""
        return self.x / self.x_extent, self.y / self.y_extent


@dataclasses.dataclass(frozen=True)
class Run:
    """One result, reduced to what the claims need."""

    task: str
    regime: str
    family: str
    baseline: bool
    seed: int
    test_accuracy: float | None
    planes: Mapping[str, Plane] = dataclasses.field(default_factory=dict)  # estimator -> its plane
    n_test: int | None = None  # test examples: the binomial floor of the accuracy comparisons
    probe_not_applicable: str | None = None

    @classmethod
    def from_result(cls, result: Result) -> Run:
        probed = result.probed  # none for a regime whose information plane does not apply
        planes = {}
        for est in ESTIMATORS:
            series = plane.trajectories([h.probe for h in probed], est)
            if series is None:
                continue
            measured = [h for h in probed if f"{est}_x" in h.probe and f"{est}_y" in h.probe]
            first = measured[0].probe
            planes[est] = Plane(tuple(h.epoch for h in measured), series[0], series[1],
                                plane.extent(first, est, "x"), plane.extent(first, est, "y"))
        return cls(
            task=result.task.label,
            regime=result.regime.label,
            family=result.regime.family,
            baseline=result.regime.baseline,
            seed=result.seed,
            test_accuracy=result.score("test_accuracy"),
            planes=planes,
            n_test=result.split_size("test"),
            probe_not_applicable=result.regime.probe_not_applicable,
        )

    @property
    def blocks(self) -> int:
        """Number of probed blocks (0 without probes)."""
        return next((p.blocks for p in self.planes.values()), 0)

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


def _block_span(indices: Sequence[int], blocks: int) -> str:
    if not indices:
        return "none"
    first, last = indices[0] + 1, indices[-1] + 1
    return (f"block {first}" if first == last else f"blocks {first}–{last}") + f" of {blocks}"


def agreement(verdicts: Mapping[str, Verdict]) -> Verdict:
    """The verdict of one comparison from each estimator's: supported (or not supported) only when the
    paper's estimator and every scale-invariant one present agree on it; inconclusive without the paper's
    estimator or any scale-invariant one. Other estimators' verdicts (e.g. the fixed-width ``cka``) do not count."""
    if PAPER_ESTIMATOR not in verdicts or not any(e in verdicts for e in SCALE_INVARIANT):
        return INCONCLUSIVE
    distinct = {v for e, v in verdicts.items() if e in ESTIMATORS}
    return distinct.pop() if len(distinct) == 1 else INCONCLUSIVE


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
    """One claim: what the paper says, how it is tested, what was found. ``by_estimator`` holds, for a
    claim about the information plane, each estimator's verdict of every comparison (in the order of
    ``verdicts``, which are their agreement)."""

    key: str
    title: str
    statement: str
    rule: str
    verdicts: list[Verdict]
    table: str
    notes: list[str] = dataclasses.field(default_factory=list)
    by_estimator: dict[str, list[Verdict]] = dataclasses.field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        return overall(self.verdicts)[0]

    @property
    def counts(self) -> str:
        return overall(self.verdicts)[1]

    def estimator_verdict(self, estimator: str) -> Verdict | None:
        """The overall verdict this claim would get from ``estimator`` alone (None: not an information-plane
        claim, or the estimator was not recorded)."""
        v = self.by_estimator.get(estimator)
        return overall(v)[0] if v else None


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


def _p(c: stats.Comparison) -> str:
    return "—" if c.p_value is None else f"{c.p_value:.3f}"


def _ci(c: stats.Comparison, digits: int) -> str:
    if c.ci is None:
        return _fmt(c.difference, digits, sign=True)
    return f"{_fmt(c.difference, digits, sign=True)} [{_fmt(c.ci[0], digits, sign=True)}, {_fmt(c.ci[1], digits, sign=True)}]"


def group(runs: Sequence[Run]) -> dict[str, dict[str, list[Run]]]:
    """Runs by task, then by regime label, in the order they come (the runs of :func:`evaluate` come
    grouped already, from ``ResultSet.group_by``; this keeps that order)."""
    out: dict[str, dict[str, list[Run]]] = {}
    for r in runs:
        out.setdefault(r.task, {}).setdefault(r.regime, []).append(r)
    return out


def _baseline(regimes: dict[str, list[Run]]) -> tuple[str, list[Run]] | None:
    return next(((label, rs) for label, rs in regimes.items() if rs[0].is_baseline), None)


def compare_runs(a: Sequence[Run], b: Sequence[Run], value: Callable[[Run], float | None],
                 n_test: int | None = None) -> stats.Comparison:
    """``suite.stats.compare`` of "a > b" on ``value`` per run: paired by seed when both sides hold the same
    seeds (once each) with a value, Welch's test otherwise."""
    pa = [(r.seed, v) for r in a if (v := value(r)) is not None]
    pb = [(r.seed, v) for r in b if (v := value(r)) is not None]
    va, vb = dict(pa), dict(pb)
    if sorted(va) == sorted(vb) and len(va) == len(pa) and len(vb) == len(pb):
        seeds = sorted(va)
        return stats.compare([va[s] for s in seeds], [vb[s] for s in seeds], n_test=n_test, paired=True, alpha=ALPHA)
    return stats.compare([v for _, v in pa], [v for _, v in pb], n_test=n_test, alpha=ALPHA)


def _plane_notes(runs: Sequence[Run]) -> list[str]:
    """Notes on regimes without an information plane and estimators missing from the records."""
    notes = sorted({f"{r.regime} ({r.task}): information plane n/a — {r.probe_not_applicable}"
                    for r in runs if r.probe_not_applicable})
    probed = [r for r in runs if r.planes]
    missing = [e for e in ESTIMATORS if probed and not any(e in r.planes for r in probed)]
    if missing:
        notes.append("not recorded by the probe: " + ", ".join(ESTIMATOR_NAMES[e] for e in missing)
                     + " (add them to `[metrics.probe] estimators`); a comparison without a scale-invariant estimator is inconclusive")
    return notes


def _estimators(runs: Sequence[Run]) -> list[str]:
    return [e for e in ESTIMATORS if any(e in r.planes for r in runs)]


def _layerwise_pairs(runs: Sequence[Run], notes: list[str]) -> Iterator[tuple[str, str, list[Run], str, list[Run]]]:
    """Per task, the E2E baseline's runs against each layer-wise regime's: ``(task, baseline label, its runs,
    layer-wise label, its runs)``; a task without baseline records is noted in ``notes`` and skipped."""
    for task, regimes in group(runs).items():
        base = _baseline(regimes)
        if base is None:
            notes.append(f"{task}: no {BASELINE} records")
            continue
        base_label, base_runs = base
        for label, others in regimes.items():
            if others[0].layerwise:
                yield task, base_label, base_runs, label, others


def _plane_comparisons(runs: Sequence[Run], value: Callable[[Run, str], float | None], digits: int,
                       value_name: str) -> tuple[list[Verdict], dict[str, list[Verdict]], str, list[str]]:
    """E2E against every layer-wise regime on every task, with ``value(run, estimator)`` per run and
    estimator: each estimator's test side by side, their agreement as the verdict, and a detail table."""
    rows, details, verdicts, notes = [], [], [], _plane_notes(runs)
    by_estimator: dict[str, list[Verdict]] = {}
    usable = [r for r in runs if not r.probe_not_applicable]
    chosen = _estimators(usable)
    for task, base_label, base_runs, label, others in _layerwise_pairs(usable, notes):
        per: dict[str, Verdict] = {}
        cells = []
        for est in chosen:
            c = compare_runs(base_runs, others, lambda r, e=est: value(r, e))
            if c.n_a == 0 or c.n_b == 0:
                cells.append("—")
                continue
            per[est] = c.verdict
            by_estimator.setdefault(est, []).append(c.verdict)
            cells.append(f"{_fmt(c.difference, digits, sign=True)} (p {_p(c)}): {c.verdict}")
            details.append([task, f"{base_label} vs {label}", ESTIMATOR_NAMES[est],
                            _summary([v for r in base_runs if (v := value(r, est)) is not None], digits),
                            _summary([v for r in others if (v := value(r, est)) is not None], digits),
                            _ci(c, digits), c.test, _p(c), c.verdict])
        verdict = agreement(per)
        verdicts.append(verdict)
        rows.append([task, f"{base_label} vs {label}", f"{_seeds(base_runs)} / {_seeds(others)}", *cells, f"**{verdict}**"])
    headers = ["task", "comparison", "seeds", *(f"{ESTIMATOR_NAMES[e]}: {BASELINE} − layer-wise" for e in chosen), "verdict"]
    table = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True) if rows else ""
    if details:
        table += ("\n\nPer estimator (mean ± std over seeds; difference with its 90 % interval):\n\n"
                  + tabulate(details, headers=["task", "comparison", "estimator", f"{BASELINE} {value_name}",
                                               f"layer-wise {value_name}", "difference", "test", "p", "verdict"],
                             tablefmt="github", disable_numparse=True))
    return verdicts, by_estimator, table, notes


TEST_RULE = (f"the one-sided test of `suite.stats.compare` over seeds (paired by seed when both sides have the same "
             f"seeds, else Welch's): supported when p < {ALPHA}, not supported when the reverse test has p < {ALPHA}, "
             f"inconclusive otherwise or with fewer than {MIN_SEEDS} seeds a side")
AGREEMENT_RULE = ("decided with each estimator recorded (the paper's nHSIC and the scale-invariant nHSIC with the median "
                  "kernel width and CKA), shown side by side; a comparison is supported (not supported) only when they all "
                  "agree, inconclusive otherwise")


def check_accuracy(runs: Sequence[Run]) -> ClaimResult:
    """Claim 1: end-to-end training reaches a higher test accuracy than layer-wise training."""
    rows, verdicts, notes = [], [], []
    for task, base_label, base_runs, label, others in _layerwise_pairs(runs, notes):
        sizes = [r.n_test for r in (*base_runs, *others) if r.n_test]
        c = compare_runs(base_runs, others, lambda r: r.test_accuracy, n_test=min(sizes) if sizes else None)
        verdicts.append(c.verdict)
        rows.append([task, f"{base_label} vs {label}", _summary([r.test_accuracy for r in base_runs if r.test_accuracy is not None], 4),
                     _summary([r.test_accuracy for r in others if r.test_accuracy is not None], 4), _ci(c, 4), c.test, _p(c),
                     f"{_seeds(base_runs)} / {_seeds(others)}", f"**{c.verdict}**"])
    headers = ["task", "comparison", f"{BASELINE} test acc.", "layer-wise test acc.", "difference [90 % CI]", "test", "p",
               "seeds", "verdict"]
    table = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True) if rows else ""
    return ClaimResult(
        "accuracy", "E2E training beats layer-wise training",
        "With the same architecture and budget, end-to-end training reaches a higher test accuracy than "
        "layer-wise training (simultaneous or sequential).",
        f"per task and layer-wise regime: final test accuracy, {TEST_RULE}; each side's spread floored at the "
        "binomial error of the test split.",
        verdicts, table, notes)


def role_differentiation(run: Run, estimator: str) -> float | None:
    """``suite.plane.role_differentiation`` of the run's normalized plane for ``estimator``."""
    p = run.planes.get(estimator)
    return None if p is None else plane.role_differentiation(*p.normalized())


def check_roles(runs: Sequence[Run]) -> ClaimResult:
    """Claim 2: E2E blocks take different roles in the information plane; layer-wise blocks move alike."""
    verdicts, by_est, table, notes = _plane_comparisons(runs, role_differentiation, 3, "role diff.")
    return ClaimResult(
        "roles", "E2E layers differentiate their roles; layer-wise layers behave alike",
        "In the information plane (nHSIC(X;T), nHSIC(Y;T)), the blocks of an E2E-trained network move "
        "differently from each other (early blocks keep input information, later ones compress it), while "
        "under layer-wise training every block moves the same way.",
        "per task and layer-wise regime: role differentiation (`suite.plane`: the spread over blocks of each "
        "block's rise to its peak and net movement from initialization, in the plane normalized by its extent); "
        f"{TEST_RULE}; {AGREEMENT_RULE}.",
        verdicts, table, notes, by_est)


def final_early_input_information(run: Run, estimator: str) -> float | None:
    """I(X;T_l) at the last probe, averaged over the early and middle blocks, for ``estimator``."""
    p = run.planes.get(estimator)
    if p is None or p.blocks < 2:
        return None
    return float(np.mean(p.x[-1, early_middle_blocks(p.blocks)]))


def check_input_information(runs: Sequence[Run]) -> ClaimResult:
    """Claim 3: layer-wise training loses input information in its early and middle blocks."""
    verdicts, by_est, table, notes = _plane_comparisons(runs, final_early_input_information, 3, "I(X;T)")
    spans = sorted({_block_span(early_middle_blocks(r.blocks), r.blocks) + f" ({r.task})" for r in runs if r.blocks >= 2})
    if spans:
        notes.append("blocks averaged: " + "; ".join(spans))
    return ClaimResult(
        "input-information", "Layer-wise training loses input information early",
        "Under layer-wise training the early and middle blocks keep less information about the input "
        "(lower nHSIC(X;T)) than the same blocks trained end to end; E2E propagates input information deeper.",
        "per task and layer-wise regime: I(X;T_l) at the last probe, averaged over the blocks in the first "
        f"two thirds of the network (never the last block); {TEST_RULE}; {AGREEMENT_RULE}.",
        verdicts, table, notes, by_est)


@dataclasses.dataclass(frozen=True)
class BottleneckShape:
    """The trajectory of one run's last block in the information plane, as one estimator measured it."""

    peak_epoch: int
    relative_compression: float  # suite.plane.compression / peak of I(X; T_L)
    relative_label_change: float  # (final - at peak) / at peak of I(Y; T_L)
    final_y: float


def bottleneck_shape(run: Run, estimator: str = PAPER_ESTIMATOR) -> BottleneckShape | None:
    """Compression and label information of the last block, from its probe history."""
    p = run.planes.get(estimator)
    if p is None or len(p.epochs) < 2:
        return None
    x, y = p.x[:, -1], p.y[:, -1]
    top = plane.peak(x)
    if x[top] <= 0:
        return None
    return BottleneckShape(
        peak_epoch=p.epochs[top],
        relative_compression=plane.compression(x) / float(x[top]),
        relative_label_change=float((y[-1] - y[top]) / max(abs(y[top]), 1e-12)),
        final_y=float(y[-1]),
    )


def bottleneck_verdict(shapes: Sequence[BottleneckShape]) -> Verdict:
    """Supported when the relative compression is above the tolerance by the one-sided test over seeds
    (``suite.stats.compare`` of the values against the tolerance, paired: a one-sample t-test) and label
    information is not significantly lost (relative change below minus the tolerance by the same test);
    not supported when the mean compression is at most the tolerance, the test puts it below, or labels
    are significantly lost; inconclusive otherwise or with fewer than two seeds."""
    if len(shapes) < MIN_SEEDS:
        return INCONCLUSIVE
    comp = [s.relative_compression for s in shapes]
    label = [s.relative_label_change for s in shapes]
    tol = [COMPRESSION_TOLERANCE] * len(shapes)
    compresses = stats.compare(comp, tol, paired=True, alpha=ALPHA)
    loses_labels = stats.compare([-COMPRESSION_TOLERANCE] * len(shapes), label, paired=True, alpha=ALPHA)
    if statistics.fmean(comp) <= COMPRESSION_TOLERANCE or compresses.verdict == NOT_SUPPORTED or loses_labels.verdict == SUPPORTED:
        return NOT_SUPPORTED
    if compresses.verdict == SUPPORTED:
        return SUPPORTED
    return INCONCLUSIVE


def check_bottleneck(runs: Sequence[Run]) -> ClaimResult:
    """Claim 4: the final E2E representation follows the information-bottleneck principle."""
    rows, verdicts, notes = [], [], _plane_notes(runs)
    by_estimator: dict[str, list[Verdict]] = {}
    usable = [r for r in runs if not r.probe_not_applicable]
    chosen = _estimators(usable)
    for task, regimes in group(usable).items():
        base = _baseline(regimes)
        if base is None:
            notes.append(f"{task}: no {BASELINE} records")
        for label, rs in regimes.items():
            is_base = base is not None and label == base[0]
            per: dict[str, Verdict] = {}
            for est in chosen:
                shapes = [s for s in (bottleneck_shape(r, est) for r in rs) if s is not None]
                verdict = bottleneck_verdict(shapes) if is_base and shapes else None
                if verdict is not None:
                    per[est] = verdict
                    by_estimator.setdefault(est, []).append(verdict)
                rows.append([
                    task, label, ESTIMATOR_NAMES[est],
                    _summary([100 * s.relative_compression for s in shapes], 1),
                    ",".join(str(s.peak_epoch) for s in shapes) or "—",
                    _summary([100 * s.relative_label_change for s in shapes], 1),
                    _summary([s.final_y for s in shapes], 3),
                    _seeds(rs),
                    verdict if verdict else "(for comparison)",
                ])
            if is_base:
                combined = agreement(per)
                verdicts.append(combined)
                rows.append([task, label, "**agreement**", "", "", "", "", "", f"**{combined}**"])
    headers = ["task", "regime", "estimator", "compression of I(X;T_L) %", "peak epochs", "change of I(Y;T_L) since peak %",
               "final I(Y;T_L)", "seeds", "verdict"]
    table = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True) if rows else ""
    return ClaimResult(
        "bottleneck", "The final E2E representation follows the information-bottleneck principle",
        "The last block of an E2E-trained network first gathers input information and then compresses it "
        "(nHSIC(X;T_L) falls from its peak) while keeping a high nHSIC(Y;T_L).",
        f"E2E runs of each task, last block, per estimator: relative compression = compression (`suite.plane`: peak − "
        f"final I(X;T_L), 0 when the peak is at initialization: no fitting phase) / peak; label change = (final − value at "
        f"that peak) / value at that peak of I(Y;T_L). Supported when the compression is above {COMPRESSION_TOLERANCE:.0%} "
        f"by the one-sided test over seeds (`suite.stats.compare` against the tolerance, p < {ALPHA}) and the label "
        f"change is not significantly below −{COMPRESSION_TOLERANCE:.0%}; not supported when the mean compression is at "
        f"most {COMPRESSION_TOLERANCE:.0%}, the test puts it below, or label information is significantly lost; "
        f"{AGREEMENT_RULE}. Layer-wise rows are shown for comparison only.",
        verdicts, table, notes, by_estimator)


def middle_compression(run: Run, estimator: str = PAPER_ESTIMATOR) -> float | None:
    """Mean ``suite.plane.compression`` of I(X;T_l) over the middle third of the blocks, for ``estimator``."""
    p = run.planes.get(estimator)
    if p is None:
        return None
    mids = middle_blocks(p.blocks)
    if not mids:
        return None
    return float(np.mean([plane.compression(p.x[:, b]) for b in mids]))


def correlation_verdict(rho: float, p: float | None, n: int) -> Verdict:
    """Supported: positive with p < alpha; not supported: zero or negative; else inconclusive."""
    if n < MIN_CORRELATION_RUNS or not math.isfinite(rho) or p is None:
        return INCONCLUSIVE
    if rho > 0 and p < ALPHA:
        return SUPPORTED
    if rho <= 0:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def check_compression_generalization(runs: Sequence[Run]) -> ClaimResult:
    """Claim 5: compression in the middle blocks goes with better generalization, within each regime."""
    rows, verdicts, notes = [], [], _plane_notes(runs)
    by_estimator: dict[str, list[Verdict]] = {}
    usable = [r for r in runs if not r.probe_not_applicable]
    chosen = _estimators(usable)
    for task, regimes in group(usable).items():
        all_runs = [r for rs in regimes.values() for r in rs]
        blocks = max(r.blocks for r in all_runs)
        if not middle_blocks(blocks):
            notes.append(f"{task}: no probed middle blocks (fewer than three blocks, or no probe)")
            continue
        per: dict[str, Verdict] = {}
        for est in chosen:
            groups = {label: ([middle_compression(r, est) for r in rs], [r.test_accuracy for r in rs]) for label, rs in regimes.items()}
            n = sum(1 for xs, ys in groups.values() for x, y in zip(xs, ys) if x is not None and y is not None)
            if n == 0:
                continue
            rho, p = stats.spearman_within(groups)
            verdict = correlation_verdict(rho, p, n)
            per[est] = verdict
            by_estimator.setdefault(est, []).append(verdict)
            by_regime = "; ".join(f"{label}: {_fmt(statistics.fmean(v), 3)}"
                                  for label, (xs, _) in groups.items() if (v := [x for x in xs if x is not None]))
            rows.append([task, _block_span(middle_blocks(blocks), blocks), ESTIMATOR_NAMES[est], by_regime, n,
                         _fmt(rho, 2), "—" if p is None else f"{p:.3f}", verdict])
        combined = agreement(per)
        verdicts.append(combined)
        rows.append([task, "", "**agreement**", "", "", "", "", f"**{combined}**"])
    headers = ["task", "middle blocks", "estimator", "mean compression by regime", "runs", "ρ within regimes", "p", "verdict"]
    table = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True) if rows else ""
    return ClaimResult(
        "compression-generalization", "Middle-layer compression is linked to generalization",
        "Networks whose middle blocks compress input information more (a larger fall of nHSIC(X;T) from its "
        "peak) generalize better.",
        "per task and estimator: the rank correlation between the mean compression of the middle third of the blocks "
        "(`suite.plane`: peak − final I(X;T_l), 0 without a fitting phase) and the final test accuracy, ranked within "
        "each regime and pooled over regimes (`suite.stats.spearman_within`), with a one-sided permutation test that "
        f"permutes within regimes; supported when ρ > 0 with p < {ALPHA}, not supported when ρ ≤ 0, inconclusive "
        f"otherwise or with fewer than {MIN_CORRELATION_RUNS} runs. Only differences between seeds of one training "
        f"method count, never differences between methods; {AGREEMENT_RULE}.",
        verdicts, table, notes, by_estimator)


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
    shown = [e for e in ESTIMATORS if any(e in r.by_estimator for r in results)]
    summary = [[i + 1, r.title, f"**{r.verdict}**", *(r.estimator_verdict(e) or "—" for e in shown), r.counts]
               for i, r in enumerate(results)]
    lines.append(tabulate(summary, headers=["#", "claim", "verdict", *(f"{ESTIMATOR_NAMES[e]} alone" for e in shown), "comparisons"],
                          tablefmt="github", disable_numparse=True))
    if shown:
        lines.append("\nThe verdict of a claim about the information plane (2–5) counts a comparison as supported (not "
                     "supported) only where every estimator agrees; the columns beside it give each estimator's verdict alone.")
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
    widths = {"fixed": f"σ = {probe.sigma:g} scaled by the feature dimension", "median": "the median pairwise distance"}
    names = ", ".join(f"{ESTIMATOR_NAMES.get(e, e)} (width: {widths[m.bandwidth]})" if (m := PLANE_MEASURES.get(e)) is not None
                      else ESTIMATOR_NAMES.get(e, e) for e in probe.estimators)
    estimator = (f"{names}, Gaussian kernels, ε = {probe.eps:g}, "
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
