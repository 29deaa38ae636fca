"""Summary scores of a record: their definitions, directions and the functions that compute them.

Every score declares whether higher or lower is better, or that neither is (``neutral``), so tables
can rank and regression gates can compare. A neutral score is shown but never ranked or gated: the
information-plane scores are neutral, because a larger or smaller value is not better in itself (the
paper's nHSIC follows the scale of the activations; see ``docs/metrics.md``). Scores are computed from
the record's history when the cell finishes and stored in its summary; the information-plane summaries
are recomputed from the history whenever they are read (``suite.results.Result.score``), so a changed
definition applies to old records too.
"""

from __future__ import annotations

import dataclasses
import re
import statistics
from collections.abc import Sequence
from typing import Literal

from suite import registry
from suite.records import EpochRecord, Record, finite_or_none

Direction = Literal["higher", "lower", "neutral"]
PER_BLOCK = re.compile(r"compression_block[1-9][0-9]*")


@dataclasses.dataclass(frozen=True)
class Score:
    """A scalar summary of one record.

    ``None`` means "never" for time-to-target scores (rendered as ``never``) and "undefined" otherwise.
    """

    name: str
    direction: Direction
    description: str
    fmt: str = ".4f"
    group: str = "accuracy"
    varies_between_runs: bool = False  # wall times and memory: not reproducible under a fixed seed
    split: Literal["test", "validation"] | None = None  # an accuracy on this split: its size bounds the noise


def register_score(score: Score) -> Score:
    """Declare a score (name, direction, description) so tables and gates know it (``suite.registry.scores``)."""
    return registry.scores.register(score)


def score_of(name: str) -> Score:
    """The declared score ``name``; per-block summaries (``compression_block3``) are neutral information scores."""
    if name in registry.scores:
        return registry.scores.get(name)
    if PER_BLOCK.fullmatch(name):
        return Score(name, "neutral", f"{name.replace('_block', ' of block ')} (peak - final nHSIC(X; T_l), 0 when the peak is the initialization)", ".3f", "information")
    return registry.scores.get(name)  # raises with the closest names


def is_information(name: str) -> bool:
    """Whether ``name`` is a score of the information plane (group ``information``); False for unknown names."""
    return PER_BLOCK.fullmatch(name) is not None or (name in registry.scores and registry.scores.get(name).group == "information")


def check_score_names(names: Sequence[str]) -> None:
    """Raise :class:`suite.registry.RegistryError` naming the first unknown score (with close matches)."""
    for name in names:
        score_of(name)


_BUILTIN_SCORES = [
    Score("test_accuracy", "higher", "test accuracy after the full budget", split="test"),
    Score("selected_test_accuracy", "higher", "test accuracy at the epoch with the best validation accuracy (selected on validation, never on test)", split="test"),
    Score("val_accuracy", "higher", "validation accuracy after the full budget", split="validation"),
    Score("best_val_accuracy", "higher", "best validation accuracy over the reported epochs", split="validation"),
    Score("selected_epoch", "neutral", "the epoch with the best validation accuracy (the first, on ties)", ".0f", "convergence"),
    Score("best_test_accuracy", "higher", "best test accuracy over the epochs: selection on the test split, only in records made before the validation protocol (never shown by default)", split="test"),
    Score("train_accuracy", "higher", "training accuracy of the last epoch (running mean over its batches)"),
    Score("auc", "higher", "area under the test-accuracy curve over the budget, normalised to [0, 1] (mean per-epoch test accuracy; a diverged run scores 0 after divergence)", group="convergence"),
    Score("epochs_to_target", "lower", "epochs until validation accuracy first reaches the task's target (never: None; test accuracy in records before the validation protocol)", ".0f", "convergence"),
    Score("examples_to_target", "lower", "training examples processed until the target is first reached on validation", ".0f", "convergence"),
    Score("seconds_to_target", "lower", "training seconds (evaluation and one-off compilation excluded) until the target is first reached on validation", ".2f", "convergence", varies_between_runs=True),
    Score("steps", "lower", "optimizer steps taken", ".0f", "cost"),
    Score("examples", "lower", "training examples processed", ".0f", "cost"),
    Score("train_seconds", "lower", "training wall seconds, evaluation, probing and one-off compilation excluded", ".2f", "cost", varies_between_runs=True),
    Score("compile_seconds", "lower", "one-off cost of building and compiling training steps: the excess of each training stage's first epoch over its later epochs' median (excluded from train_seconds)", ".2f", "cost", varies_between_runs=True),
    Score("wall_seconds", "lower", "wall seconds of the whole cell, data loading excluded", ".2f", "cost", varies_between_runs=True),
    Score("peak_memory_mb", "lower", "peak resident host memory of the process while the cell ran (MiB; Linux: reset per cell, else since start)", ".0f", "cost", varies_between_runs=True),
    Score("peak_memory_increase_mb", "lower", "peak_memory_mb minus the resident memory when the cell started (MiB; Linux): what the cell needed on top", ".0f", "cost", varies_between_runs=True),
    Score("peak_device_memory_mb", "lower", "peak accelerator memory held by the backend's allocator while the cell ran (MiB; absent on CPU)", ".0f", "cost", varies_between_runs=True),
    Score("probe_seconds", "lower", "seconds spent measuring the information plane (features and estimators), outside train_seconds", ".2f", "cost", varies_between_runs=True),
    Score("budget_declared", "neutral", "the budget the regime declared it spends, as a multiple of the shared budget (Regime.budget_factor; 1.0 = the shared budget)", ".2f", "cost"),
    Score("budget_used", "lower", "examples processed as a fraction of epochs x training examples (1.0 = the whole budget)", ".2f", "cost"),
    Score("num_params", "lower", "parameters of the network (blocks and head)", ".0f", "cost"),
    Score("final_nhsic_y", "neutral", "nHSIC(Y; T_L) of the last block at the last probe (paper's estimator: follows the activations' scale, so not ranked)", ".3f", "information"),
    Score("final_nhsic_x", "neutral", "nHSIC(X; T_L) of the last block at the last probe", ".3f", "information"),
    Score("mean_compression", "neutral", "mean over blocks of the compression of nHSIC(X; T_l): peak - final, 0 when the peak is the initialization", ".3f", "information"),
    Score("role_differentiation", "neutral", "RMS spread over blocks of their rise to the peak and net movement (from initialization) in the normalized information plane", ".3f", "information"),
]
for _s in _BUILTIN_SCORES:
    register_score(_s)


def varying_scores() -> set[str]:
    """Names of the scores that differ between identical runs (timings, memory)."""
    return {s.name for s in registry.scores if s.varies_between_runs}


def result_hash(record: Record) -> str:
    """The hash of ``record``'s deterministic part (:meth:`suite.records.Record.compute_result_hash`)."""
    return record.compute_result_hash()


def builtin_varying_scores() -> frozenset[str]:
    """The built-in scores declared as varying between identical runs (must equal ``RESULT_HASH_EXCLUDES``)."""
    return frozenset(s.name for s in _BUILTIN_SCORES if s.varies_between_runs)


def epoch_durations(history: Sequence[EpochRecord]) -> list[float]:
    """Seconds of each reported epoch of ``history`` (epochs 1..E, whose ``seconds`` are cumulative)."""
    return [h.seconds - (history[i - 1].seconds if i else 0.0) for i, h in enumerate(history)]


def one_off_seconds(history: Sequence[EpochRecord]) -> list[float]:
    """Per reported epoch, the estimated one-off cost inside it (graph building, compilation).

    Training stages (runs of epochs with the same ``stage``) each build their own step; the first epoch
    of a stage pays for it. Its one-off cost is its excess over the median of the stage's later epochs,
    or over the median of every stage's later epochs when the stage has one epoch (0 when no epoch is
    "later"). ``history`` holds epochs 1..E with cumulative ``seconds``.
    """
    durations = epoch_durations(history)
    starts = [i for i, h in enumerate(history) if i == 0 or h.stage != history[i - 1].stage]
    later = [d for i, d in enumerate(durations) if i not in starts]
    out = [0.0] * len(history)
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(history)
        rest = durations[start + 1:end] or later
        if rest:
            out[start] = max(0.0, durations[start] - statistics.median(rest))
    return out


def steady_seconds(history: Sequence[EpochRecord]) -> list[float]:
    """Cumulative training seconds at each reported epoch with the one-off costs taken out."""
    spent, out = 0.0, []
    for h, extra in zip(history, one_off_seconds(history)):
        spent += extra
        out.append(h.seconds - spent)
    return out


def first_reaching(history: Sequence[EpochRecord], target: float) -> int | None:
    """The index of the first epoch whose validation accuracy (test accuracy in records without a
    validation split) is at least ``target``."""
    return next((i for i, h in enumerate(history) if _selection_accuracy(h) >= target), None)


def _selection_accuracy(h: EpochRecord) -> float:
    return h.val_accuracy if h.val_accuracy is not None else h.test_accuracy


def training_summary(history: Sequence[EpochRecord], target: float, budget_epochs: int | None = None,
                     diverged: bool = False) -> dict[str, float | int | None]:
    """Accuracy, convergence and cost scores of a finished history (epochs 1..E, initialization excluded).

    Selection and time to target read the validation accuracy; the test accuracy is reported at the end of
    the budget and at the validation-selected epoch. ``auc`` is the mean test accuracy over the budget's
    epochs: epochs a run did not report count as its last accuracy, or as 0 when it diverged (a diverged
    run is penalized, never dropped).
    """
    if not history:
        return {}
    accs = [h.test_accuracy for h in history]
    hit = first_reaching(history, target)
    last = history[-1]
    missing = max((budget_epochs or 0) - len(accs), 0)
    steady = steady_seconds(history)
    out: dict[str, float | int | None] = {
        "test_accuracy": accs[-1],
        "train_accuracy": finite_or_none(last.train_accuracy),
        "auc": (sum(accs) + missing * (0.0 if diverged else accs[-1])) / (len(accs) + missing),
        "epochs_to_target": history[hit].epoch if hit is not None else None,
        "examples_to_target": history[hit].examples if hit is not None else None,
        "seconds_to_target": steady[hit] if hit is not None else None,
        "steps": last.steps,
        "examples": last.examples,
        "train_seconds": steady[-1],
        "compile_seconds": last.seconds - steady[-1],
    }
    vals = [h.val_accuracy for h in history]
    if all(v is not None for v in vals):
        best = max(range(len(vals)), key=lambda i: (vals[i], -i))  # the first best epoch
        out.update(val_accuracy=vals[-1], best_val_accuracy=vals[best], selected_epoch=history[best].epoch,
                   selected_test_accuracy=accs[best])
    else:  # a history without a validation split (records before the protocol): no selection is possible
        out["best_test_accuracy"] = max(accs)
    return out
