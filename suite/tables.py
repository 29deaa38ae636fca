"""Leaderboard tables from stored records: aggregate over seeds, render with tabulate.

A table is always for one suite: its cells are planned from the suite file and looked up in the
store by hash, so records of another suite version (or task/regime version) can never mix in.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import statistics
from collections.abc import Sequence
from typing import Literal

from tabulate import tabulate

from suite.plan import Cell
from suite.records import Record
from suite.scores import SCORES, Score
from suite.store import Store

Format = Literal["md", "latex", "csv", "html"]
DEFAULT_METRICS = ("test_accuracy", "epochs_to_target", "wall_seconds")
_TABULATE_FORMAT = {"md": "github", "latex": "latex_booktabs", "html": "html"}


@dataclasses.dataclass
class Aggregate:
    """A metric over the seeds of one task x regime."""

    values: list[float]
    n: int  # seeds with a finished record
    missing: int = 0
    failed: int = 0
    diverged: int = 0
    not_applicable: str | None = None

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.values) if self.values else None

    @property
    def std(self) -> float | None:
        return statistics.stdev(self.values) if len(self.values) > 1 else (0.0 if self.values else None)


@dataclasses.dataclass
class Row:
    """One task x regime line of a table."""

    task: str
    regime: str
    metrics: dict[str, Aggregate]


def score_of(name: str) -> Score:
    """The declared score ``name``, or a neutral description for per-block summaries."""
    return SCORES.get(name) or Score(name, "neutral", name, ".3f", "information")


def collect(cells: Sequence[Cell], store: Store, metrics: Sequence[str]) -> list[Row]:
    """Aggregate the stored records of ``cells`` per task x regime (in plan order)."""
    groups: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.task.label, cell.regime.label), []).append(cell)
    rows = []
    for (task, regime), group in groups.items():
        records: list[Record | None] = [store.get(c.hash) for c in group]
        aggs = {}
        for m in metrics:
            agg = Aggregate(values=[], n=0, not_applicable=group[0].not_applicable)
            for rec in records:
                if rec is None:
                    agg.missing += 1
                elif rec.status == "failed":
                    agg.failed += 1
                else:
                    agg.n += 1
                    agg.diverged += rec.status == "diverged"
                    value = rec.summary.get(m)
                    if value is not None and math.isfinite(float(value)):
                        agg.values.append(float(value))
            aggs[m] = agg
        rows.append(Row(task, regime, aggs))
    return rows


def format_cell(agg: Aggregate, score: Score) -> str:
    """``mean ± std`` (with markers for missing seeds, never-reached targets and divergence)."""
    if agg.not_applicable:
        return "n/a"
    if agg.n == 0:
        return "failed" if agg.failed else "—"
    if not agg.values:
        return "never" if score.group == "convergence" else "—"
    text = f"{agg.mean:{score.fmt}}"
    if agg.n > 1:
        text += f" ± {agg.std:{score.fmt}}"
    notes = []
    if len(agg.values) < agg.n:
        notes.append(f"{len(agg.values)}/{agg.n} reached" if score.group == "convergence" else f"{len(agg.values)}/{agg.n}")
    if agg.diverged:
        notes.append(f"{agg.diverged} diverged")
    if agg.missing or agg.failed:
        notes.append(f"{agg.n}/{agg.n + agg.missing + agg.failed} seeds")
    return text + (f" ({', '.join(notes)})" if notes else "")


def _header(score: Score) -> str:
    arrow = {"higher": " ↑", "lower": " ↓"}.get(score.direction, "")
    return score.name + arrow


def render(rows: Sequence[Row], metrics: Sequence[str], fmt: Format = "md") -> str:
    """Render rows as Markdown, LaTeX, HTML (tabulate) or CSV (mean, std and n as separate columns)."""
    scores = [score_of(m) for m in metrics]
    if fmt == "csv":
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["task", "regime"] + [f"{s.name}_{part}" for s in scores for part in ("mean", "std", "n")])
        for r in rows:
            line: list[object] = [r.task, r.regime]
            for s in scores:
                a = r.metrics[s.name]
                line += ["n/a" if a.not_applicable else ("" if a.mean is None else repr(a.mean)),
                         "" if a.std is None else repr(a.std), len(a.values)]
            w.writerow(line)
        return out.getvalue()
    if fmt not in _TABULATE_FORMAT:
        raise ValueError(f"unknown table format {fmt!r}; expected md, latex, csv or html")
    headers = ["task", "regime"] + [_header(s) for s in scores]
    body = [[r.task, r.regime] + [format_cell(r.metrics[s.name], s) for s in scores] for r in rows]
    return tabulate(body, headers=headers, tablefmt=_TABULATE_FORMAT[fmt], disable_numparse=True)


def leaderboard_table(cells: Sequence[Cell], store: Store, metrics: Sequence[str] = DEFAULT_METRICS, fmt: Format = "md") -> str:
    """The rendered table of ``cells``' records for the given metrics."""
    return render(collect(cells, store, metrics), metrics, fmt)
