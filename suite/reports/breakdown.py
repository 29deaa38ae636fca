"""Breakdown analysis: where end-to-end training stops learning while modular training still does.

Report section ``breakdown``. For every task family that declares a difficulty knob
(``Task.difficulty_knob``) and every value of the knob a suite sweeps, it gathers each regime's final
accuracy (mean ± standard deviation over seeds) and time to target, and names the **breakdown point**
of the family, after Glasmachers (2017, "Limits of End-to-End Learning") and Shalev-Shwartz, Shamir &
Shammah (2017, "Failures of Gradient-Based Deep Learning"):

    the smallest knob value at which, after the full budget, end-to-end training's mean final
    accuracy over seeds is within ``margin`` of chance (<= chance + margin) while modular training's
    mean final accuracy reaches the task's target (>= target).

Both regimes are judged by the same statistic: the mean over seeds of the accuracy after the last
epoch, on the protocol's validation split (``suite.splits``; records made before the protocol have
none, and are judged on the test split). The test accuracy is reported beside it, never judged.

The margin is three binomial standard errors of a guesser's accuracy on the judged split,
``3 sqrt(p (1 - p) / n)`` with ``p`` the chance level and ``n`` the split's size: an accuracy above
chance + margin is not chance. For records that do not give the split's size the margin falls back to
:data:`UNKNOWN_SIZE_MARGIN`. ``analyze(..., margin=...)`` fixes another margin.

"End-to-end" and "modular" are the regimes declared the baselines of those families (``e2e`` and
``modular`` among the built-ins), never chosen by name. When no knob value qualifies the section says
"none in range" and why (e2e never at chance, or modular missing the target too).

A *family* is a task name with its other (non-knob) params; regimes are told apart by their labels.
Time to target counts epochs (and training seconds) until the judged accuracy first reaches the target,
from the start of training, except for regimes that re-initialize a module (``module-isolation``):
there it counts from the re-initialization the regime declared (``TrainContext.reinitialized``, the
record's ``reinitialization``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from suite import figstyle
from suite.paths import slug
from suite.records import EpochRecord
from suite.reports.core import ReportContext, section
from suite.results import Result, ResultSet

#: Binomial standard errors of chance that the margin spans.
MARGIN_STANDARD_ERRORS = 3.0
#: The margin when the records do not give the judged split's size (3 standard errors at 1000 examples).
UNKNOWN_SIZE_MARGIN = 0.05
E2E_FAMILY = "end-to-end"
MODULAR_FAMILY = "modular"


@dataclasses.dataclass(frozen=True)
class SeedResult:
    """One record reduced to what the breakdown needs."""

    seed: int
    accuracy: float  # the judged one: final validation accuracy (test in records without a validation split)
    test_accuracy: float
    epochs_to_target: int | None
    seconds_to_target: float | None
    final_nhsic_y: float | None = None


@dataclasses.dataclass
class Point:
    """One regime at one knob value of one family: its seeds' results."""

    knob_value: int
    regime: str
    seeds: list[SeedResult] = dataclasses.field(default_factory=list)
    budget_epochs: int | None = None
    diverged: int = 0  # seeds whose training diverged before the first epoch ended (no accuracy)

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def accuracy_mean(self) -> float:
        """Mean final judged accuracy over seeds (NaN when no seed has one)."""
        return statistics.fmean(s.accuracy for s in self.seeds) if self.seeds else math.nan

    @property
    def accuracy_std(self) -> float:
        return statistics.stdev(s.accuracy for s in self.seeds) if self.n > 1 else 0.0

    @property
    def test_accuracy_mean(self) -> float:
        """Mean final test accuracy over seeds (reported, not judged)."""
        return statistics.fmean(s.test_accuracy for s in self.seeds) if self.seeds else math.nan

    @property
    def test_accuracy_std(self) -> float:
        return statistics.stdev(s.test_accuracy for s in self.seeds) if self.n > 1 else 0.0

    @property
    def reached(self) -> int:
        """Seeds whose judged accuracy reached the target at some reported epoch."""
        return sum(s.epochs_to_target is not None for s in self.seeds)

    @property
    def epochs_to_target(self) -> float | None:
        """Median epochs to target over the seeds that reached it (None if none did)."""
        hits = [s.epochs_to_target for s in self.seeds if s.epochs_to_target is not None]
        return float(statistics.median(hits)) if hits else None

    @property
    def seconds_to_target(self) -> float | None:
        """Median training seconds to target over the seeds that reached it."""
        hits = [s.seconds_to_target for s in self.seeds if s.seconds_to_target is not None]
        return float(statistics.median(hits)) if hits else None

    @property
    def final_nhsic_y(self) -> float | None:
        """Mean nHSIC(Y; T_L) of the last block at the last probe, if probed."""
        vals = [s.final_nhsic_y for s in self.seeds if s.final_nhsic_y is not None]
        return statistics.fmean(vals) if vals else None


@dataclasses.dataclass
class Family:
    """A task family swept over its knob, with the breakdown verdict."""

    label: str
    task: str
    knob: str
    e2e: str  # the label of the end-to-end baseline
    modular: str  # the label of the modular baseline
    chance: float
    target: float
    margin: float
    points: dict[tuple[int, str], Point]
    regimes: list[str]
    knob_values: list[int]
    split: str = "validation"  # the split whose accuracy is judged
    split_size: int | None = None  # its examples (None: not in the records; the margin is then the fallback)
    breakdown_point: int | None = None
    verdict: str = ""

    def point(self, knob_value: int, regime: str) -> Point | None:
        return self.points.get((knob_value, regime))

    @property
    def threshold(self) -> float:
        """e2e at or below this accuracy counts as "within the margin of chance"."""
        return self.chance + self.margin


def chance_margin(chance: float, n: int, standard_errors: float = MARGIN_STANDARD_ERRORS) -> float:
    """``standard_errors`` binomial standard errors of a guesser's accuracy on ``n`` examples,
    ``sqrt(p (1 - p) / n)`` with ``p = chance``."""
    return standard_errors * math.sqrt(chance * (1.0 - chance) / n)


def _judged(result: Result) -> tuple[str, float | None]:
    """The split the result is judged on and its final accuracy there (validation when the record has it)."""
    val = result.score("val_accuracy")
    return ("validation", val) if val is not None else ("test", result.score("test_accuracy"))


def _judged_accuracy(h: EpochRecord, split: str) -> float:
    return h.val_accuracy if split == "validation" and h.val_accuracy is not None else h.test_accuracy


def _time_to_target(result: Result, target: float, split: str) -> tuple[int | None, float | None]:
    """Epochs and training seconds until the judged accuracy reaches the target, counted from the (re)start
    of the module's training."""
    start = result.reinitialization.after_epoch if result.reinitialization is not None else 0
    base = next((h for h in result.history if h.epoch == start), None)
    base_seconds = base.seconds if base is not None else 0.0
    for h in result.history:
        if h.epoch > start and _judged_accuracy(h, split) >= target:
            return h.epoch - start, h.seconds - base_seconds
    return None, None


def _family_key(knobs: Mapping[str, str] | None) -> Callable[[Result], Hashable]:
    """Results of one task name with the same non-knob params share a family (None: no knob)."""

    def key(r: Result) -> Hashable:
        knob = (knobs or {}).get(r.task.name) or r.task.difficulty_knob
        if knob is None or knob not in r.task.params:
            return None
        rest = {k: v for k, v in r.task.params.items() if k != knob}
        return (r.task.name, knob, json.dumps(rest, sort_keys=True))

    return key


def _points(results: ResultSet, knob: str) -> dict[tuple[int, str], Point]:
    """The seeds of every (knob value, regime) of one family."""
    points: dict[tuple[int, str], Point] = {}
    for r in results:
        value = int(r.task.params[knob])
        pt = points.setdefault((value, r.regime.label), Point(value, r.regime.label, budget_epochs=r.task.budget_epochs))
        split, accuracy = _judged(r)
        test_accuracy = r.score("test_accuracy")
        if accuracy is None or test_accuracy is None:  # diverged before its first epoch ended
            pt.diverged += 1
            continue
        epochs, seconds = _time_to_target(r, r.target if r.target is not None else math.nan, split)
        pt.seeds.append(SeedResult(r.seed, accuracy, test_accuracy, epochs, seconds, r.score("final_nhsic_y")))
    return points


def analyze(results: ResultSet, *, margin: float | None = None, knobs: Mapping[str, str] | None = None) -> list[Family]:
    """Group results into task families and knob values, and find each family's breakdown point.

    Args:
        results: the results to analyze (only finished ones count).
        margin: e2e counts as broken down when its mean final accuracy <= chance + margin; default
            (None): three binomial standard errors of chance on the judged split (:func:`chance_margin`).
        knobs: task name -> knob param, overriding ``Task.difficulty_knob``.

    Returns:
        One :class:`Family` per task family with a knob, in order of first appearance.
    """
    finished = results.finished()
    e2e = finished.baseline(E2E_FAMILY) or E2E_FAMILY
    modular = finished.baseline(MODULAR_FAMILY) or MODULAR_FAMILY
    groups = {k: g for k, g in finished.group_by(_family_key(knobs)).items() if k is not None}
    names = [task for task, _, _ in groups]
    out = []
    for (task, knob, rest), group in groups.items():
        label = task
        if names.count(task) > 1:
            label += "[" + ",".join(f"{k}={v}" for k, v in sorted(json.loads(rest).items())) + "]"
        points = _points(group, knob)
        scored = [r for r in group if _judged(r)[1] is not None]
        chances = [r.chance for r in scored if r.chance is not None]
        targets = [r.target if r.target is not None else math.nan for r in scored]
        chance = max(chances) if chances else math.nan
        split = "validation" if any(_judged(r)[0] == "validation" for r in scored) else "test"
        sizes = [n for r in scored if (n := r.split_size(split)) is not None]
        size = min(sizes) if sizes else None  # the smallest split is the noisiest
        if margin is not None:
            family_margin = margin
        elif size is not None and not math.isnan(chance):
            family_margin = chance_margin(chance, size)
        else:
            family_margin = UNKNOWN_SIZE_MARGIN
        family = Family(
            label=label, task=task, knob=knob, e2e=e2e, modular=modular,
            chance=chance,
            target=min(targets) if targets else math.nan,
            margin=family_margin,
            points=points,
            split=split,
            split_size=size,
            regimes=_ordered(group.labels("regime"), e2e, modular),
            knob_values=sorted({v for v, _ in points}),
        )
        family.breakdown_point, family.verdict = breakdown_point(family)
        out.append(family)
    return out


def breakdown_point(family: Family) -> tuple[int | None, str]:
    """The smallest knob value where e2e ends within the margin of chance while modular reaches the
    target, and a sentence with the numbers behind the verdict (or why there is none in range)."""
    k, e2e, modular = family.knob, family.e2e, family.modular
    e2e_broken = []
    for value in family.knob_values:
        pe, pm = family.point(value, e2e), family.point(value, modular)
        if pe is None or pm is None or pe.n == 0 or pm.n == 0:
            continue
        if pe.accuracy_mean <= family.threshold:
            e2e_broken.append(value)
            if pm.accuracy_mean >= family.target:
                return value, (
                    f"breakdown point {k} = {value}: {e2e} ends at {_acc(pe)} {family.split} accuracy after its full budget "
                    f"(chance {family.chance:.3f}, within the margin: <= {family.threshold:.3f}), while {modular} ends at "
                    f"{_acc(pm)}, at or above the target {family.target:.3f} ({pm.reached}/{pm.n} seeds reached it, median "
                    f"{_epochs(pm.epochs_to_target)} epochs to target)."
                )
    covered = [v for v in family.knob_values if all((p := family.point(v, r)) is not None and p.n for r in (e2e, modular))]
    if not covered:
        return None, f"none: the records lack {e2e} or {modular} runs at a common {k} value."
    span = f"{k} = {covered[0]}..{covered[-1]}" if len(covered) > 1 else f"{k} = {covered[0]}"
    if not e2e_broken:
        last = family.point(covered[-1], e2e)
        assert last is not None
        return None, (
            f"none in range ({span}): {e2e} stays above chance + margin ({family.threshold:.3f}) at every {k}; "
            f"at {k} = {covered[-1]} it ends at {_acc(last)}."
        )
    value = e2e_broken[0]
    pm = family.point(value, modular)
    assert pm is not None
    return None, (
        f"none in range ({span}): {e2e} is within the margin of chance from {k} = {value} on, but {modular} ends below "
        f"the target {family.target:.3f} there too (final {_acc(pm)}; {pm.reached}/{pm.n} seeds reached it at some epoch)."
    )


def _ordered(regimes: Sequence[str], e2e: str, modular: str) -> list[str]:
    first = [r for r in (e2e, modular) if r in regimes]
    return first + [r for r in regimes if r not in first]


def _acc(p: Point) -> str:
    return f"{p.accuracy_mean:.3f} ± {p.accuracy_std:.3f}" if p.n > 1 else f"{p.accuracy_mean:.3f}"


def _test_acc(p: Point) -> str:
    return f"{p.test_accuracy_mean:.3f} ± {p.test_accuracy_std:.3f}" if p.n > 1 else f"{p.test_accuracy_mean:.3f}"


def _split(f: Family) -> str:
    return f"{f.split} ({f.split_size})" if f.split_size is not None else f"{f.split} (size unknown)"


def _epochs(e: float | None) -> str:
    return "never" if e is None else f"{e:g}"


def cell_text(p: Point | None, not_applicable: bool = False) -> str:
    """``acc ± std (epochs to target)`` for one table cell; ``n/a``, ``—`` or ``never`` as due."""
    if not_applicable:
        return "n/a"
    if p is not None and p.n == 0 and p.diverged:
        return "diverged"
    if p is None or p.n == 0:
        return "—"
    time = _epochs(p.epochs_to_target)
    if p.epochs_to_target is not None:
        time += " ep" + (f", {p.seconds_to_target:.1f} s" if p.seconds_to_target is not None else "")
    if 0 < p.reached < p.n:
        time += f"; {p.reached}/{p.n} reached"
    if p.diverged:
        time += f"; {p.diverged} diverged"
    return f"{_acc(p)} ({time})"


def family_table(family: Family, not_applicable: Iterable[str] = (), fmt: str = "github") -> str:
    """Knob values down, regimes across: final judged accuracy (mean ± std) and median epochs to target."""
    na = set(not_applicable)
    regimes = family.regimes + sorted(na - set(family.regimes))
    headers = [family.knob] + regimes
    rows = []
    for value in family.knob_values:
        mark = " ◀" if value == family.breakdown_point else ""
        rows.append([f"{value}{mark}"] + [cell_text(family.point(value, r), r in na) for r in regimes])
    return tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True)


def information_table(family: Family, regimes: Sequence[str], fmt: str = "github") -> str | None:
    """nHSIC(Y; T_L) of the last block at the end of training, per knob value and regime (None if unprobed)."""
    rows, any_value = [], False
    for value in family.knob_values:
        row: list[str] = [str(value)]
        for r in regimes:
            p = family.point(value, r)
            v = p.final_nhsic_y if p else None
            any_value |= v is not None
            row.append("—" if v is None else f"{v:.3f}")
        rows.append(row)
    if not any_value:
        return None
    return tabulate(rows, headers=[family.knob] + list(regimes), tablefmt=fmt, disable_numparse=True)


def plot_family(family: Family, path: Path, *, order: Sequence[str] | None = None, width: figstyle.Width | float = "double") -> Path:
    """Accuracy against the knob (left) and epochs to target (right), one line per regime, styled by ``order``
    (the suite's regime order; default: the family's); writes ``path`` (PNG) and the PDF beside it, returns ``path``."""
    with figstyle.style():
        fig = _family_figure(family, figstyle.regime_styles(order or family.regimes, family.regimes), width)
        figstyle.save(fig, path.parent, path.stem, ("png", "pdf"))
    return path


def _family_figure(family: Family, styles: Mapping[str, figstyle.RegimeStyle], width: figstyle.Width | float) -> Any:
    from matplotlib.ticker import MaxNLocator

    inches = figstyle.width_inches(width)
    fig = figstyle.new_figure(inches, 2.4 if inches > 5 else 2.0)
    ax_acc, ax_time = fig.subplots(1, 2)
    budget = max((p.budget_epochs or 0) for p in family.points.values()) or None
    spacing = min((b - a for a, b in zip(family.knob_values, family.knob_values[1:])), default=1)
    handles = []
    for i, regime in enumerate(family.regimes):
        pts = [family.point(v, regime) for v in family.knob_values]
        # a small sideways offset per regime, so that equal values (all at chance, all "never") stay visible
        shift = (i - (len(family.regimes) - 1) / 2) * 0.025 * spacing
        xs = [v + shift for v, p in zip(family.knob_values, pts) if p is not None and p.n]
        ps = [p for p in pts if p is not None and p.n]
        style = {**styles[regime].line(), "linewidth": 1.8 if regime in (family.e2e, family.modular) else 1.1}
        bars = ax_acc.errorbar(xs, [p.accuracy_mean for p in ps], yerr=[p.accuracy_std for p in ps], capsize=2, elinewidth=0.8,
                               label=regime, **style)
        handles.append(bars)
        hit_x = [x for x, p in zip(xs, ps) if p.epochs_to_target is not None]
        ax_time.plot(hit_x, [p.epochs_to_target for p in ps if p.epochs_to_target is not None], **style)
        never = [x for x, p in zip(xs, ps) if p.epochs_to_target is None]
        if never and budget:
            ax_time.scatter(never, [budget + 1] * len(never), marker="x", s=18, linewidths=1.0, color=styles[regime].color, zorder=3)
    refs = [ax_acc.axhline(family.chance, color="0.35", linestyle=(0, (1, 1.5)), linewidth=0.8, label=f"chance {family.chance:.2f}"),
            ax_acc.axhspan(family.chance, family.threshold, color="0.5", alpha=0.15, lw=0, label=f"chance + {family.margin:.3f}"),
            ax_acc.axhline(family.target, color="0.35", linestyle=(0, (4, 2)), linewidth=0.8, label=f"target {family.target:.2f}")]
    for ax in (ax_acc, ax_time):
        if family.breakdown_point is not None:
            half = 0.15 * spacing
            span = ax.axvspan(family.breakdown_point - half, family.breakdown_point + half, color="#D55E00", alpha=0.12, lw=0,
                              label="breakdown point")
            if ax is ax_acc:
                refs.append(span)
        ax.set_xlabel(family.knob)
        ax.set_xticks(family.knob_values)
    ax_acc.set_ylabel(f"final {family.split} accuracy\n(mean ± std over seeds)")
    ax_acc.set_ylim(max(0.0, family.chance - 0.1), 1.01)
    ax_time.set_ylabel("epochs to target\n(median of seeds reaching it)")
    if budget:
        ax_time.axhline(budget + 1, color="0.55", linestyle=(0, (1, 1.5)), linewidth=0.8)
        ax_time.set_ylim(0, budget + 2)
        ax_time.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ticks = [t for t in ax_time.get_yticks() if 0 <= t <= budget and budget + 1 - t >= 0.1 * (budget + 2)]  # clear of "never"
        ax_time.set_yticks(ticks + [budget + 1], [f"{t:g}" for t in ticks] + ["never"])
    title = f"{family.label}: breakdown point {family.knob} = {family.breakdown_point}" if family.breakdown_point is not None else f"{family.label}: no breakdown point in range"
    figstyle.fit_text(fig.suptitle(title), inches - 0.1)
    figstyle.legend_outside(fig, handles + refs, [h.get_label() for h in handles + refs])
    return fig


def to_json(families: Sequence[Family]) -> dict[str, Any]:
    """The numbers behind the section, as plain data (written beside the page)."""
    return {
        "definition": ("smallest knob value with mean e2e final accuracy <= chance + margin while mean modular final accuracy "
                       ">= target, both on the judged split; margin = 3 sqrt(chance (1 - chance) / n), n = the judged split's size"),
        "families": [
            {
                "family": f.label,
                "task": f.task,
                "knob": f.knob,
                "chance": f.chance,
                "margin": f.margin,
                "split": f.split,
                "split_size": f.split_size,
                "target": f.target,
                "breakdown_point": f.breakdown_point,
                "verdict": f.verdict,
                "points": [
                    {
                        "knob_value": p.knob_value,
                        "regime": p.regime,
                        "seeds": p.n,
                        "accuracy_mean": p.accuracy_mean,
                        "accuracy_std": p.accuracy_std,
                        "test_accuracy_mean": p.test_accuracy_mean,
                        "test_accuracy_std": p.test_accuracy_std,
                        "reached_target": p.reached,
                        "median_epochs_to_target": p.epochs_to_target,
                        "median_seconds_to_target": p.seconds_to_target,
                        "final_nhsic_y": p.final_nhsic_y,
                    }
                    for p in sorted(f.points.values(), key=lambda p: (p.knob_value, f.regimes.index(p.regime)))
                ],
            }
            for f in families
        ],
    }


@section("breakdown")
def breakdown_section(ctx: ReportContext) -> str:
    """Per task family: accuracy and time to target against the knob for every regime, and the breakdown point."""
    families = analyze(ctx.results)
    lines = ["## Breakdown of end-to-end learning\n"]
    if not families:
        lines.append("No records of tasks with a difficulty knob (`Task.difficulty_knob`) in this suite.\n")
        return "\n".join(lines)
    e2e, modular = families[0].e2e, families[0].modular
    lines.append(
        f"Breakdown point: the smallest knob value at which `{e2e}`'s mean final accuracy over seeds, after its full "
        f"budget, is within the margin of chance (<= chance + margin) while `{modular}`'s mean final accuracy reaches "
        "the task's target (Glasmachers 2017; Shalev-Shwartz, Shamir & Shammah 2017). Both are judged on the protocol's "
        "validation split; the margin is three binomial standard errors of chance on that split, "
        "3 sqrt(chance (1 - chance) / n). Cells: final validation accuracy, mean ± std over seeds, and in brackets the "
        "median epochs and training seconds until validation accuracy first reached the target, over the seeds that "
        "reached it (`never` if none did; for `module-isolation`, counted from the module's re-initialization). "
        "◀ marks the breakdown point.\n"
    )
    summary = []
    for f in families:
        pe = f.point(f.breakdown_point, e2e) if f.breakdown_point is not None else None
        pm = f.point(f.breakdown_point, modular) if f.breakdown_point is not None else None
        summary.append([
            f.label, f.knob, ", ".join(map(str, f.knob_values)),
            "none in range" if f.breakdown_point is None else str(f.breakdown_point),
            _acc(pe) if pe else "—", _acc(pm) if pm else "—", _test_acc(pe) if pe else "—", _test_acc(pm) if pm else "—",
            f"{f.chance:.3f}", _split(f), f"{f.margin:.3f}", f"{f.threshold:.3f}", f"{f.target:.3f}",
        ])
    lines.append(tabulate(summary, headers=["family", "knob", "swept", "breakdown point", "e2e acc there", "modular acc there",
                                            "e2e test acc", "modular test acc", "chance", "judged on", "margin",
                                            "e2e broken if ≤", "target"], tablefmt="github", disable_numparse=True))
    lines.append("")
    na_by_family = {task: set(group.labels("regime"))
                    for task, group in ctx.results.where(lambda r: r.status == "n/a").group_by("task_name").items()}
    (ctx.out_dir / "breakdown.json").write_text(json.dumps(to_json(families), indent=1), encoding="utf-8")
    for f in families:
        lines.append(f"### {f.label} (knob `{f.knob}`)\n")
        lines.append(f"{f.verdict}\n")
        lines.append(family_table(f, na_by_family.get(f.task, ())))
        lines.append("")
        info = information_table(f, [r for r in (e2e, modular) if r in f.regimes])
        if info:
            lines.append("Label information in the last block at the end of training, nHSIC(Y; T_L) (mean over seeds): "
                         "where e2e breaks down its last representation carries little information about the label.\n")
            lines.append(info)
            lines.append("")
        image = plot_family(f, ctx.out_dir / f"breakdown-{slug(f.label, 'family')}.png", order=ctx.results.labels("regime"))
        lines.append(f"![{f.label}: accuracy and epochs to target against {f.knob}]({image.name}) ([PDF]({image.with_suffix('.pdf').name}))\n")
    lines.append("The numbers behind this section: [`breakdown.json`](breakdown.json).\n")
    return "\n".join(lines)


DOC_START = "<!-- e2ebench:breakdown:start -->"
DOC_END = "<!-- e2ebench:breakdown:end -->"


def measured_block(families: Sequence[Family], sources: Mapping[str, ResultSet]) -> str:
    """The measured part of ``docs/breakdown.md`` (between :data:`DOC_START` and :data:`DOC_END`): the
    breakdown point of every family, every regime's final accuracy per knob value, e2e's and modular's
    label information, and the cells' run time per leaderboard (``sources``: label -> its results)."""
    lines = [DOC_START, "", "| family | knob | breakdown point | e2e there | modular there | judged on (n) | chance | margin | "
             "e2e broken if ≤ | target | e2e test acc there | modular test acc there |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for f in families:
        bp = f.breakdown_point
        pe, pm = (f.point(bp, f.e2e), f.point(bp, f.modular)) if bp is not None else (None, None)
        lines.append(f"| {f.label} | {f.knob} | {'none in range' if bp is None else f'**{bp}**'} | {_acc(pe) if pe else '—'} | "
                     f"{_acc(pm) if pm else '—'} | {_split(f)} | {f.chance:.3f} | {f.margin:.3f} | {f.threshold:.3f} | {f.target:.3f} | "
                     f"{_test_acc(pe) if pe else '—'} | {_test_acc(pm) if pm else '—'} |")
    lines.append("")
    for f in families:
        lines += [f"**{f.label}** ({f.knob}): {f.verdict}", ""]
    lines += ["Final validation accuracy (mean ± std over seeds) and, in brackets, median epochs and training seconds until "
              "validation accuracy first reached the target (module-isolation: from the re-initialization):", ""]
    for f in families:
        lines += [f"*{f.label}*", "", family_table(f), ""]
    lines += ["Label information in the last block at the end of training, nHSIC(Y; T_L), mean over seeds:", ""]
    for f in families:
        info = information_table(f, [r for r in (f.e2e, f.modular) if r in f.regimes])
        if info:
            lines += [f"*{f.label}*", "", info, ""]
    lines += ["Run time (the records' `wall_seconds`, summed over the cells; CPU shared with other work):", "",
              "| leaderboard | records | backend | sum of cell wall times |", "| --- | --- | --- | --- |"]
    for label, results in sources.items():
        finished = [r for r in results if r.record is not None]
        seconds = sum(r.score("wall_seconds") or 0.0 for r in finished)
        backends = sorted({r.record.provenance.backend for r in finished if r.record.provenance is not None})
        lines.append(f"| `{label}` | {len(finished)} | {', '.join(backends)} | {seconds / 60:.1f} min |")
    lines += ["", DOC_END]
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    """``text`` with its measured block (between the markers) replaced by ``block``."""
    start, end = text.index(DOC_START), text.index(DOC_END) + len(DOC_END)
    return text[:start] + block + text[end:]
