"""Plots from stored records: learning curves and information planes (matplotlib, no display needed).

* :func:`curves_figure`: test accuracy against epochs and against training seconds, one line per
  regime, mean ± one standard deviation over seeds (a band), the task's target and chance level.
* :func:`info_plane_figure`: one panel per regime; per block, the trajectory of
  (nHSIC(X; T_l), nHSIC(Y; T_l)) over the probe epochs, averaged over seeds, coloured by depth; marker
  size grows with the epoch, the initialization is a hollow circle and the end a filled square.
* :func:`profiles_figure`: the performance profile of every regime over the tasks for one score
  (``suite.profiles``), a step line per regime, told apart by colour, line style and marker (readable in
  greyscale), the legend outside the axes with each regime's profile area.

All read results only (nothing is re-run) and write PNG and PDF, one figure per task. They are also
the ``curves`` and ``information-plane`` report sections (``suite.reports.figures``) and the
``e2ebench plot`` commands (``suite.plots_cli``).
Figures are built on :class:`matplotlib.figure.Figure` (Agg canvas), never through ``pyplot``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from suite.paths import slug
from suite.results import ResultSet
from suite.scores import score_of, steady_seconds

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from suite.profiles import Profile

FORMATS = ("png", "pdf")
DPI = 150


@dataclasses.dataclass
class TaskResults:
    """The finished results of one task, by regime (in suite order), with the task's target and chance."""

    task: str
    regimes: dict[str, ResultSet]
    target_accuracy: float | None
    chance_level: float | None


def by_task(results: ResultSet) -> list[TaskResults]:
    """The finished results of each task, by regime; tasks and regimes without any are left out."""
    out = []
    for task, group in results.finished().group_by("task").items():
        last = group[-1]
        out.append(TaskResults(task, group.group_by("regime"), last.target, last.chance))
    return out


def _mean_std(rows: list[list[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, std and count per position over ragged rows (diverged runs are shorter)."""
    n = max(len(r) for r in rows)
    a = np.full((len(rows), n), np.nan)
    for i, r in enumerate(rows):
        a[i, : len(r)] = r
    count = np.sum(~np.isnan(a), axis=0)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(a, axis=0)
        std = np.where(count > 1, np.nanstd(a, axis=0, ddof=1 if a.shape[0] > 1 else 0), 0.0)
    return mean, np.nan_to_num(std), count


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def curves_figure(group: TaskResults) -> Figure:
    """Test accuracy vs epochs and vs training seconds for one task (mean ± std over seeds)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_e, ax_s = fig.subplots(1, 2, sharey=True)
    for color, (regime, records) in zip(_colors(len(group.regimes)), group.regimes.items()):  # records: a ResultSet
        accs = [[h.test_accuracy for h in r.history] for r in records]
        secs = [[0.0] + steady_seconds(r.history[1:]) for r in records]  # one-off compilation excluded
        acc, std, _ = _mean_std(accs)
        sec, _, _ = _mean_std(secs)
        epochs = np.arange(len(acc))
        diverged = sum(r.status == "diverged" for r in records)
        label = f"{regime} (n={len(records)}" + (f", {diverged} diverged)" if diverged else ")")
        for ax, x in ((ax_e, epochs), (ax_s, sec)):
            ax.plot(x, acc, color=color, label=label, lw=1.6)
            ax.fill_between(x, acc - std, acc + std, color=color, alpha=0.2, lw=0)
    for ax in (ax_e, ax_s):
        if group.target_accuracy is not None:
            ax.axhline(group.target_accuracy, color="0.3", ls="--", lw=0.9, label="target")
        if group.chance_level is not None:
            ax.axhline(group.chance_level, color="0.5", ls=":", lw=0.9, label="chance")
        ax.grid(alpha=0.3)
        ax.set_ylim(0, 1.02)
    from matplotlib.ticker import MaxNLocator

    ax_e.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_e.set_xlabel("epoch")
    ax_s.set_xlabel("training seconds, compilation excluded (mean over seeds)")
    ax_e.set_ylabel("test accuracy")
    handles, labels = ax_e.get_legend_handles_labels()
    ax_s.legend(handles, labels, loc="lower right", fontsize=8)
    fig.suptitle(f"{group.task}: test accuracy (mean ± std over seeds)")
    return fig


def _trajectories(results: ResultSet) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Epochs and the mean over seeds of nHSIC(X; T_l), nHSIC(Y; T_l): arrays (probes,), (probes, blocks) x 2.

    Only the probe epochs that every seed reached are kept (a diverged seed stops early).
    """
    per_seed = []
    for r in results:
        probes = {h.epoch: h.probe for h in r.probed if h.probe and "nhsic_x" in h.probe}
        if probes:
            per_seed.append(probes)
    if not per_seed:
        return None
    epochs = sorted(set.intersection(*(set(p) for p in per_seed)))
    if not epochs:
        return None
    xs = np.mean([[p[e]["nhsic_x"] for e in epochs] for p in per_seed], axis=0)
    ys = np.mean([[p[e]["nhsic_y"] for e in epochs] for p in per_seed], axis=0)
    return np.array(epochs), xs, ys


def block_labels(results: ResultSet, depth: int) -> list[str]:
    """The blocks' names as the probe recorded them (``block1``, ... for older records)."""
    for r in results:
        names = r.block_names()
        if names is not None and len(names) == depth:
            return names
    return [f"block{l + 1}" for l in range(depth)]


def info_plane_figure(group: TaskResults) -> Figure | None:
    """One panel per regime with every block's mean trajectory in the information plane; None without probes."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    data = {regime: t for regime, recs in group.regimes.items() if (t := _trajectories(recs)) is not None}
    if not data:
        return None
    n = len(data)
    ncols = min(n, 3)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(4.2 * ncols + 0.8, 3.8 * nrows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
    depth = max(t[1].shape[1] for t in data.values())
    cmap = colormaps["viridis"]
    norm = Normalize(vmin=1, vmax=max(depth, 2))
    for ax, (regime, (epochs, xs, ys)) in zip(axes, data.items()):
        last = max(int(epochs[-1]), 1)
        sizes = 8 + 40 * (epochs / last)
        for l in range(xs.shape[1]):
            color = cmap(norm(l + 1))
            ax.plot(xs[:, l], ys[:, l], color=color, lw=1.2, alpha=0.85, zorder=2)
            ax.scatter(xs[:, l], ys[:, l], s=sizes, color=color, zorder=3, edgecolors="none")
            ax.scatter(xs[0, l], ys[0, l], s=60, facecolors="white", edgecolors=[color], linewidths=1.5, zorder=4)
            ax.scatter(xs[-1, l], ys[-1, l], s=60, marker="s", color=color, edgecolors="black", linewidths=0.6, zorder=5)
        ax.set_title(f"{regime} (n={len(group.regimes[regime])})", fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[n:]:
        ax.set_visible(False)
    for ax in axes[(nrows - 1) * ncols : n]:
        ax.set_xlabel("nHSIC(X; T)")
    for ax in axes[::ncols]:
        ax.set_ylabel("nHSIC(Y; T)")
    keys = [Line2D([], [], ls="", marker="o", mfc="white", mec="0.2", label="initialization (epoch 0)"),
            Line2D([], [], ls="", marker="s", color="0.2", label="end of training"),
            Line2D([], [], ls="", marker="o", color="0.5", ms=3, label="probe epochs (size grows with epoch)")]
    axes[0].legend(handles=keys, fontsize=7, loc="best")
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=list(axes[:n]), label="block (depth)", ticks=range(1, depth + 1), shrink=0.8)
    deepest = next(group.regimes[r] for r, t in data.items() if t[1].shape[1] == depth)
    bar.ax.set_yticklabels([f"{l + 1}: {name}" for l, name in enumerate(block_labels(deepest, depth))], fontsize=7)
    fig.suptitle(f"{group.task}: information plane (nHSIC, mean over seeds)")
    return fig


def save(fig: Figure, out_dir: Path, stem: str, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` as ``out_dir/stem.<format>`` for each format; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        fig.savefig(path, dpi=DPI)
        paths.append(path)
    return paths


def write_curves(results: ResultSet, out_dir: str | Path) -> list[Path]:
    """``curves-<task>.png/.pdf`` for every task with finished results; returns the written paths."""
    paths: list[Path] = []
    for group in by_task(results):
        paths += save(curves_figure(group), Path(out_dir), f"curves-{slug(group.task, 'task')}")
    return paths


def write_info_planes(results: ResultSet, out_dir: str | Path) -> list[Path]:
    """``info-plane-<task>.png/.pdf`` for every task whose results carry probes; returns the written paths."""
    paths: list[Path] = []
    for group in by_task(results):
        fig = info_plane_figure(group)
        if fig is not None:
            paths += save(fig, Path(out_dir), f"info-plane-{slug(group.task, 'task')}")
    return paths


# Okabe and Ito's colour-blind-safe palette (its yellow, faint on white, swapped for grey), paired with line styles and markers so that lines stay apart in greyscale.
_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999")  # grey for yellow
_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2, 2, 2)))
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
PROFILE_WIDTH = 6.5  # inches: the text width of a two-column paper (fits one column of a one-column paper)


def profiles_figure(profile: Profile, labels: dict[str, str] | None = None) -> Figure:
    """rho(tau) of every regime for tau in [1, tau_max], regimes ordered by profile area (best first); ``labels``
    names regimes in the legend (default: their labels)."""
    from matplotlib.figure import Figure

    from suite.profiles import taus as tau_grid

    aucs = profile.aucs()
    order = sorted(profile.regimes, key=lambda r: -aucs[r])
    grid = tau_grid(profile.tau_max)
    fig = Figure(figsize=(PROFILE_WIDTH, 3.0), layout="constrained")
    ax = fig.subplots()
    every = max(len(grid) // 8, 1)
    for i, regime in enumerate(order):
        ax.plot(grid, profile.rho(regime, grid), drawstyle="steps-post", color=_PALETTE[i % len(_PALETTE)],
                ls=_LINESTYLES[i % len(_LINESTYLES)], marker=_MARKERS[i % len(_MARKERS)], ms=4,
                markevery=(i * every // max(len(order), 1), every), lw=1.4,
                label=f"{(labels or {}).get(regime, regime)} ({aucs[regime]:.3f})")
    ax.set_xlim(1.0, profile.tau_max)
    ax.set_ylim(-0.02, 1.02)
    score = score_of(profile.score)
    cost = f"1 - {score.name}" if score.direction == "higher" else score.name
    ax.set_xlabel(f"τ: cost ({cost}) over the best cost on the task", fontsize=9)
    ax.set_ylabel("fraction of tasks within τ", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(f"Performance profiles, {score.name}, {len(profile.tasks)} tasks", fontsize=10)
    fig.legend(loc="outside right center", fontsize=8, title="regime (profile area)", title_fontsize=8, frameon=False)
    return fig


def write_profiles(results: ResultSet, out_dir: str | Path, scores: Sequence[str] = ("test_accuracy",)) -> list[Path]:
    """``profiles-<score>.png/.pdf`` for each score; nothing when ``results`` has no finished result."""
    from suite.profiles import performance_profile

    if not results.finished():
        return []
    from suite.protocol import extra_budget

    budgets: dict[str, float] = {}
    for r in results:
        if (b := extra_budget(r.record)) is not None:
            budgets[r.regime.label] = max(b, budgets.get(r.regime.label, b))
    labels = {regime: f"{regime} (×{b:g} budget)" for regime, b in budgets.items()}  # marked as in the tables
    paths: list[Path] = []
    for score in scores:
        fig = profiles_figure(performance_profile(results, score), labels)
        paths += save(fig, Path(out_dir), f"profiles-{slug(score, 'score')}")
    return paths
