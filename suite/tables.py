"""Tables of results: one row per task x regime, each score aggregated over seeds, rendered with tabulate.

A table shows a :class:`suite.results.ResultSet` (built from a suite's planned cells, so records of
another suite version, or of another task or regime version, can never mix in). When a row's results
are selected trials of a tuned suite, a ``tuned`` column says which setting won, per seed, counted.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
from collections.abc import Sequence
from typing import Literal

from tabulate import tabulate

from suite import protocol
from suite.results import SELECTION_SCORE, Aggregate, ResultSet
from suite.scores import Score, score_of
from suite.spec import trial_label

Format = Literal["md", "latex", "csv", "html"]
DEFAULT_METRICS = ("test_accuracy", "selected_test_accuracy", "epochs_to_target", "train_seconds")
_TABULATE_FORMAT = {"md": "github", "html": "html"}
NOT_APPLICABLE = "n/a"
MISSING = "—"


@dataclasses.dataclass
class Row:
    """One task x regime line of a table."""

    task: str
    regime: str
    metrics: dict[str, Aggregate]
    tuned: str = ""  # the winning trial settings, e.g. "lr=0.001 (3/5), lr=0.003 (2/5)"; empty when untuned
    budget: float | None = None  # the share of the shared budget used, when more than 1
    summaries: dict[str, float] = dataclasses.field(default_factory=dict)  # per-regime columns, e.g. profile_auc(...)

    @property
    def regime_text(self) -> str:
        """The regime's label, marked when it spent more than the shared budget."""
        return self.regime + (f" (×{self.budget:g} budget)" if self.budget else "")


def rows(results: ResultSet, metrics: Sequence[str], profile_scores: Sequence[str] = ()) -> list[Row]:
    """One row per task x regime of ``results`` (in plan order), each metric aggregated over seeds; for each of
    ``profile_scores`` a ``profile_auc(score)`` column: the regime's performance-profile area over the tasks of
    ``results`` (``suite.profiles``), the same on each of its rows."""
    from suite import profiles

    areas = {profiles.column_name(s): profiles.auc_column(results, s) for s in profile_scores}
    out = []
    for (task, regime), group in results.group_by("task", "regime").items():
        extra = [b for r in group if (b := protocol.extra_budget(r.record)) is not None]
        out.append(Row(task, regime, {m: group.aggregate(m) for m in metrics}, tuned_summary(group), max(extra) if extra else None,
                       {name: by_regime[regime] for name, by_regime in areas.items()}))
    return out


def summary_columns(rows: Sequence[Row]) -> list[str]:
    """The per-regime summary columns the rows carry, in order."""
    return list(dict.fromkeys(name for r in rows for name in r.summaries))


SUMMARY_FMT = ".3f"


def tuned_summary(results: ResultSet) -> str:
    """The trial setting of each finished result, counted over the results that come from trials, most
    frequent first (``lr=0.001 (3/5), lr=0.003 (2/5)``); empty when none comes from trials. A seed whose
    trials have no validation score to select on (all diverged; records older than the validation split)
    counts as ``unselected``."""
    tried = [r for r in results if r.trial is not None]
    counts = collections.Counter(trial_label(r.trial) if r.status == "ok" and r.score(SELECTION_SCORE) is not None else "unselected"
                                 for r in tried if r.trial is not None and r.finished)
    return ", ".join(f"{label} ({n}/{len(tried)})" for label, n in counts.most_common())


@dataclasses.dataclass(frozen=True)
class CellParts:
    """What a table cell shows, before it is rendered: a word (``n/a``, ``failed``, ``never``, ``—``) when there
    is no number, else the mean, the interval's half-width (None for one value) and the notes (``n=5; 4/5 reached``)."""

    word: str | None = None
    mean: str | None = None
    half_width: str | None = None
    notes: str = ""


def cell_parts(agg: Aggregate, score: Score) -> CellParts:
    """The parts of :func:`format_cell`, for renderers that typeset them (LaTeX)."""
    if agg.not_applicable:
        return CellParts(NOT_APPLICABLE)
    if agg.n == 0:
        return CellParts("failed" if agg.failed else MISSING)
    if not agg.values:
        return CellParts("never" if score.group == "convergence" else MISSING)
    interval = agg.interval
    half = None if interval.half_width is None else f"{interval.half_width:{score.fmt}}"
    notes = [f"n={len(agg.values)}"]
    if len(agg.values) < agg.n:
        notes.append(f"{len(agg.values)}/{agg.n} reached" if score.group == "convergence" else f"{len(agg.values)}/{agg.n}")
    if agg.diverged:
        notes.append(f"{agg.diverged} diverged")
    if agg.missing or agg.failed:
        notes.append(f"{agg.n}/{agg.n + agg.missing + agg.failed} seeds")
    return CellParts(None, f"{interval.mean:{score.fmt}}", half, "; ".join(notes))


def format_cell(agg: Aggregate, score: Score) -> str:
    """``mean ± CI half-width (n=…)`` over seeds, with markers for missing seeds, never-reached targets and
    divergence; one value shows no spread."""
    parts = cell_parts(agg, score)
    if parts.word is not None:
        return parts.word
    text = parts.mean if parts.half_width is None else f"{parts.mean} ± {parts.half_width}"
    return f"{text} ({parts.notes})"


def leaders(rows: Sequence[Row], metric: str, alpha: float = 0.05) -> set[int]:
    """Indices of the rows that lead their task on ``metric``: the best mean in the score's declared direction,
    and every row the protocol's test cannot call worse than it.

    For time-to-target scores the share of seeds that reached the target counts first (as in the regression
    gate): the best row reaches it in the most seeds, then has the best mean, and a row leads only with the same
    share. A row is "not significantly worse" when the one-sided test over seeds that the best is better
    (``suite.gate.paired_comparison``: paired by seed, accuracies floored at their split's binomial error) does
    not reject at ``alpha``; a row with a single value can never be called worse. Neutral scores have no leader,
    nor do rows without a value (n/a, failed, never)."""
    from suite.gate import paired_comparison

    score = score_of(metric)
    if score.direction == "neutral":
        return set()
    higher = score.direction == "higher"
    out: set[int] = set()
    for task in dict.fromkeys(r.task for r in rows):
        scored = [(i, r.metrics[metric]) for i, r in enumerate(rows) if r.task == task and r.metrics[metric].values]
        if not scored:
            continue

        def rank(item: tuple[int, Aggregate]) -> tuple[float, float]:
            agg = item[1]
            reached = len(agg.values) / agg.n if score.group == "convergence" and agg.n else 1.0
            mean = agg.mean or 0.0
            return reached, mean if higher else -mean

        best_i, best = max(scored, key=rank)
        for i, agg in scored:
            if i == best_i:
                out.add(i)
            elif rank((i, agg))[0] == rank((best_i, best))[0]:
                test = paired_comparison(best, agg, higher_is_better=higher, alpha=alpha)
                if test.verdict != "supported":
                    out.add(i)
    return out


def _header(score: Score) -> str:
    arrow = {"higher": " ↑", "lower": " ↓"}.get(score.direction, "")
    return score.name + arrow


def render(rows: Sequence[Row], metrics: Sequence[str], fmt: Format = "md", siunitx: bool = False) -> str:
    """Render rows as Markdown or HTML (tabulate), LaTeX (``suite.latex``: booktabs, leaders in bold, ASCII only;
    ``siunitx`` aligns the numbers) or CSV (mean, 95% interval bounds and n as separate columns)."""
    scores = [score_of(m) for m in metrics]
    tuned = ["tuned"] if any(r.tuned for r in rows) else []  # the column appears only for tuned suites
    summaries = summary_columns(rows)
    if fmt == "csv":
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["task", "regime", "n", "budget_used"] + [f"{s.name}_{part}" for s in scores for part in ("mean", "ci_low", "ci_high", "n")]
                   + summaries + tuned)
        for r in rows:
            line: list[object] = [r.task, r.regime, max((a.n for a in r.metrics.values()), default=0), r.budget or 1.0]
            for s in scores:
                a = r.metrics[s.name]
                if a.not_applicable:
                    line += [NOT_APPLICABLE, "", "", 0]
                    continue
                i = a.interval
                line += ["" if not a.values else repr(i.mean), "" if i.low is None else repr(i.low),
                         "" if i.high is None else repr(i.high), len(a.values)]
            w.writerow(line + [repr(r.summaries[c]) if c in r.summaries else "" for c in summaries] + [r.tuned for _ in tuned])
        return out.getvalue()
    if fmt == "latex":
        from suite.latex import latex_table

        return latex_table(rows, metrics, siunitx=siunitx)
    if fmt not in _TABULATE_FORMAT:
        raise ValueError(f"unknown table format {fmt!r}; expected md, latex, csv or html")
    headers = ["task", "regime"] + [_header(s) for s in scores] + [f"{c} ↑" for c in summaries] + tuned
    body = [[r.task, r.regime_text] + [format_cell(r.metrics[s.name], s) for s in scores]
            + [f"{r.summaries[c]:{SUMMARY_FMT}}" if c in r.summaries else "" for c in summaries] + [r.tuned for _ in tuned] for r in rows]
    return tabulate(body, headers=headers, tablefmt=_TABULATE_FORMAT[fmt], disable_numparse=True)


def leaderboard_table(results: ResultSet, metrics: Sequence[str] = DEFAULT_METRICS, fmt: Format = "md",
                      siunitx: bool = False, profile_scores: Sequence[str] = ()) -> str:
    """The rendered table of ``results`` for the given metrics (and profile areas, see :func:`rows`)."""
    return render(rows(results, metrics, profile_scores), metrics, fmt, siunitx)
