"""Plots from stored records: learning curves, information planes and performance profiles (no display needed).

* :func:`curves_figure`: per task, test accuracy after every epoch, one line per regime: the mean over
  seeds with a band for the 95 % Student-t interval of that mean (``suite.stats.interval``, floored at
  the test split's binomial error, as the tables' intervals are), the task's target and chance level;
  optionally a second panel against training seconds.
* :func:`info_plane_figure`: per task, one panel per regime, each with its own axes; per block, the
  trajectory of (I(X; T_l), I(Y; T_l)) as one estimator measures them (nHSIC by default), averaged over
  seeds, in one colour per block (a legend entry each); a hollow circle marks the initialization,
  arrowheads the direction of training and the block's marker the last probe.
* :func:`profiles_figure`: the performance profile of every regime over the tasks for one score
  (``suite.profiles``), a step line per regime.

Every figure has the project's style (``suite.figstyle``): a single- or double-column width, text of 8
points or more, and per regime a colour, line style and marker, assigned by the suite's regime order
so that a regime looks the same in every figure. All read results only (nothing is re-run) and write
PDF and PNG side by side. They are also the ``curves`` and ``information-plane`` report sections
(``suite.reports.figures``) and the ``e2ebench plot`` commands (``suite.plots_cli``).
Figures are built on :class:`matplotlib.figure.Figure` (Agg canvas), never through ``pyplot``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from suite import figstyle, stats
from suite.figstyle import Width
from suite.paths import slug
from suite.results import ResultSet
from suite.scores import score_of, steady_seconds

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from suite.profiles import Profile

FORMATS = ("png", "pdf")
DPI = figstyle.DPI
LEVEL = 0.95  # of the curves' bands, as the tables' intervals
ESTIMATOR_NAMES = {"nhsic": "nHSIC", "nhsic_median": "nHSIC (median σ)", "cka": "CKA", "cka_median": "CKA (median σ)"}

# Kept for callers of the names they had here; the style lives in ``suite.figstyle``.
_PALETTE, _LINESTYLES, _MARKERS = figstyle.PALETTE, figstyle.LINESTYLES, figstyle.MARKERS
PROFILE_WIDTH = figstyle.WIDTHS["single"]


@dataclasses.dataclass
class TaskResults:
    """The finished results of one task, by regime (in suite order), with the task's target and chance.

    ``regime_order`` is every regime of the suite in its order (styles are assigned by it, so a regime looks
    the same on every task); ``labels`` names a regime in legends (e.g. ``layerwise-seq (×4 budget)``).
    """

    task: str
    regimes: dict[str, ResultSet]
    target_accuracy: float | None
    chance_level: float | None
    regime_order: tuple[str, ...] = ()
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def styles(self) -> dict[str, figstyle.RegimeStyle]:
        """The style of each regime, by the suite's regime order."""
        return figstyle.regime_styles(self.regime_order, list(self.regimes))


def budget_labels(results: ResultSet) -> dict[str, str]:
    """``{regime: "regime (×k budget)"}`` for the regimes that spent more than the shared budget, marked as
    the tables mark them."""
    from suite.protocol import extra_budget

    budgets: dict[str, set[float]] = {}
    for r in results:
        if (b := extra_budget(r.record)) is not None:
            budgets.setdefault(r.regime.label, set()).add(b)
    # across tasks of different depths the factor differs (layerwise-seq: one budget per block): a range
    return {regime: f"{regime} (×{min(b):g}{f'–{max(b):g}' if len(b) > 1 else ''} budget)" for regime, b in budgets.items()}


def by_task(results: ResultSet) -> list[TaskResults]:
    """The finished results of each task, by regime; tasks and regimes without any are left out."""
    order = tuple(results.labels("regime"))
    out = []
    for task, group in results.finished().group_by("task").items():
        last = group[-1]
        out.append(TaskResults(task, group.group_by("regime"), last.target, last.chance, order, budget_labels(group)))
    return out


def _ragged(rows: list[list[float]]) -> np.ndarray:
    """Ragged rows (diverged runs are shorter) as an array padded with nan."""
    n = max(len(r) for r in rows)
    a = np.full((len(rows), n), np.nan)
    for i, r in enumerate(rows):
        a[i, : len(r)] = r
    return a


def _mean_std(rows: list[list[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, std and count per position over ragged rows (diverged runs are shorter)."""
    a = _ragged(rows)
    count = np.sum(~np.isnan(a), axis=0)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(a, axis=0)
        std = np.where(count > 1, np.nanstd(a, axis=0, ddof=1 if a.shape[0] > 1 else 0), 0.0)
    return mean, np.nan_to_num(std), count


def seed_band(rows: list[list[float]], n_test: int | None = None, level: float = LEVEL,
              bounds: tuple[float, float] | None = (0.0, 1.0)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per position of ragged per-seed rows: the mean and the bounds of its ``suite.stats.interval`` (nan
    where fewer than two seeds have a value), the bounds clipped to the range an accuracy can take
    (``bounds``; None: unclipped)."""
    a = _ragged(rows)
    mean, low, high = (np.full(a.shape[1], np.nan) for _ in range(3))
    for j in range(a.shape[1]):
        iv = stats.interval(a[:, j], n_test=n_test, level=level)
        mean[j] = iv.mean
        if iv.low is not None and iv.high is not None:
            low[j], high[j] = iv.low, iv.high
    if bounds is not None:
        low, high = np.clip(low, *bounds), np.clip(high, *bounds)
    return mean, low, high


def _label(regime: str, records: ResultSet, labels: Mapping[str, str], with_n: bool) -> str:
    diverged = sum(r.status == "diverged" for r in records)
    text = labels.get(regime, regime)
    if with_n or diverged:
        text += f" (n={len(records)}" + (f", {diverged} diverged)" if diverged else ")")
    return text


def _seeds_note(group: TaskResults) -> tuple[bool, str]:
    """Whether legend entries need their own seed counts, and the figure's note on seeds."""
    counts = {len(rs) for rs in group.regimes.values()}
    diverged = any(r.status == "diverged" for rs in group.regimes.values() for r in rs)
    if len(counts) == 1 and not diverged:
        return False, f"mean of {counts.pop()} seeds"
    return True, "mean over seeds"


def _shared_budget(group: TaskResults) -> int | None:
    """The task's shared budget in epochs when some regime reported more epochs than that, else None."""
    budgets = {r.task.budget_epochs for rs in group.regimes.values() for r in rs if r.task.budget_epochs}
    longest = max((r.history[-1].epoch for rs in group.regimes.values() for r in rs if r.history), default=0)
    if len(budgets) != 1:
        return None
    (budget,) = budgets
    return budget if longest > budget else None


def curves_figure(group: TaskResults, *, width: Width | float | None = None, seconds: bool = False) -> Figure:
    """Test accuracy after every epoch for one task: per regime the mean over seeds and a band for its 95 %
    Student-t interval (where 2 or more seeds have the epoch); with ``seconds``, a second panel against
    training seconds (compilation excluded). ``width``: ``"single"`` (default; ``"double"`` with ``seconds``)."""
    with figstyle.style():
        return _curves_figure(group, width or ("double" if seconds else "single"), seconds)


def _curves_figure(group: TaskResults, width: Width | float, seconds: bool) -> Figure:
    from matplotlib.ticker import MaxNLocator

    inches = figstyle.width_inches(width)
    fig = figstyle.new_figure(inches, 2.2 if inches < 5 else 2.6)
    axes: list[Axes] = list(np.atleast_1d(fig.subplots(1, 2 if seconds else 1, sharey=True, squeeze=False)).ravel())
    styles = group.styles()
    with_n, note = _seeds_note(group)
    handles: list[Any] = []
    for i, (regime, records) in enumerate(group.regimes.items()):  # records: a ResultSet
        style = styles[regime]
        accs = [[h.test_accuracy for h in r.history] for r in records]
        sizes = [n for r in records if (n := r.split_size("test"))]
        acc, low, high = seed_band(accs, min(sizes) if sizes else None)
        xs = [np.array([h.epoch for h in max((r.history for r in records), key=len)], dtype=float)]
        if seconds:
            xs.append(_mean_std([[0.0] + steady_seconds(r.history[1:]) for r in records])[0])
        every = max(len(acc) // 6, 1)
        start = (i * every) // max(len(group.regimes), 1)
        for ax, x in zip(axes, xs):
            (line,) = ax.plot(x, acc, **style.line(), markevery=(start, every), zorder=3,
                              label=_label(regime, records, group.labels, with_n))
            if np.isfinite(low).any():
                ax.fill_between(x, low, high, color=style.color, alpha=0.15, lw=0, zorder=2)
        handles.append(line)
    refs = []
    for ax in axes:
        if group.target_accuracy is not None:
            refs.append(ax.axhline(group.target_accuracy, color="0.35", ls=(0, (4, 2)), lw=0.8, zorder=1, label="target"))
        if group.chance_level is not None:
            refs.append(ax.axhline(group.chance_level, color="0.35", ls=(0, (1, 1.5)), lw=0.8, zorder=1, label="chance"))
        ax.set_ylim(0, 1.01)  # a perfect accuracy stays whole
        ax.margins(x=0.01)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10], integer=True))
    handles += refs[: (group.target_accuracy is not None) + (group.chance_level is not None)]
    budget = _shared_budget(group)
    if budget is not None:  # some regime spent more than the shared budget (e.g. greedy layer-wise training)
        handles.append(axes[0].axvline(budget, color="0.55", ls="-", lw=0.6, zorder=1, label="shared budget"))
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("test accuracy")
    if seconds:
        fig.get_layout_engine().set(wspace=0.08)  # type: ignore[call-arg,union-attr]  # the last epoch's tick clear of the next panel
        figstyle.fit_text(axes[1].set_xlabel("training seconds (compilation excluded)"), inches / 2 - 0.3)
    figstyle.fit_text(fig.suptitle(group.task), inches - 0.1)
    figstyle.legend_outside(fig, handles, [h.get_label() for h in handles], title=f"{note}; band: {LEVEL:.0%} t-interval of the mean")
    return fig


def _trajectories(results: ResultSet, estimator: str = "nhsic") -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Epochs and the mean over seeds of I(X; T_l), I(Y; T_l) by ``estimator``: arrays (probes,), (probes, blocks) x 2.

    Only the probe epochs that every seed reached are kept (a diverged seed stops early).
    """
    kx, ky = f"{estimator}_x", f"{estimator}_y"
    per_seed = []
    for r in results:
        probes = {h.epoch: h.probe for h in r.probed if h.probe and kx in h.probe and ky in h.probe}
        if probes:
            per_seed.append(probes)
    if not per_seed:
        return None
    epochs = sorted(set.intersection(*(set(p) for p in per_seed)))
    if not epochs:
        return None
    xs = np.mean([[p[e][kx] for e in epochs] for p in per_seed], axis=0)
    ys = np.mean([[p[e][ky] for e in epochs] for p in per_seed], axis=0)
    return np.array(epochs), xs, ys


def has_plane(results: ResultSet, estimator: str = "nhsic") -> bool:
    """Whether :func:`info_plane_figure` draws a panel for these results (decided without drawing)."""
    return _trajectories(results, estimator) is not None


def block_labels(results: ResultSet, depth: int) -> list[str]:
    """The blocks' names as the probe recorded them (``block1``, ... for older records)."""
    for r in results:
        names = r.block_names()
        if names is not None and len(names) == depth:
            return names
    return [f"block{l + 1}" for l in range(depth)]


def estimator_name(estimator: str) -> str:
    """How axes name an estimator: ``nHSIC``, ``CKA``, ... (the key itself for others)."""
    return ESTIMATOR_NAMES.get(estimator, estimator)


def _arrows(ax: Axes, xs: np.ndarray, ys: np.ndarray, color: Any, most: int = 6) -> None:
    """Arrowheads along a trajectory, pointing from each probe to the next (on at most ``most`` segments)."""
    segments = len(xs) - 1
    if segments < 1:
        return
    for k in sorted({int(round(v)) for v in np.linspace(0, segments - 1, min(segments, most))}):
        (x0, y0), (x1, y1) = (xs[k], ys[k]), (xs[k + 1], ys[k + 1])
        if x0 == x1 and y0 == y1:
            continue
        ax.annotate("", xy=(x0 + 0.6 * (x1 - x0), y0 + 0.6 * (y1 - y0)), xytext=(x0 + 0.4 * (x1 - x0), y0 + 0.4 * (y1 - y0)),
                    arrowprops={"arrowstyle": "-|>", "color": color, "lw": 0.8, "mutation_scale": 7, "shrinkA": 0, "shrinkB": 0},
                    zorder=4)


def info_plane_figure(group: TaskResults, *, width: Width | float = "double", estimator: str = "nhsic") -> Figure | None:
    """One panel per regime, each with its own axes, with every block's mean trajectory in the information
    plane of ``estimator`` (``nhsic``, the paper's, by default); None without probes of it."""
    with figstyle.style():
        return _info_plane_figure(group, width, estimator)


def _info_plane_figure(group: TaskResults, width: Width | float, estimator: str) -> Figure | None:
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    data = {regime: t for regime, recs in group.regimes.items() if (t := _trajectories(recs, estimator)) is not None}
    if not data:
        return None
    n = len(data)
    inches = figstyle.width_inches(width)
    ncols = min(n, max(int(inches // 1.6), 1))
    nrows = -(-n // ncols)
    panel = min(inches / ncols, 2.6)
    fig = figstyle.new_figure(inches, nrows * panel * 0.9 + 0.3)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    depth = max(t[1].shape[1] for t in data.values())
    colors = figstyle.block_colors(depth)
    markers = [figstyle.MARKERS[l % len(figstyle.MARKERS)] for l in range(depth)]
    name = estimator_name(estimator)
    for k, (ax, (regime, (epochs, xs, ys))) in enumerate(zip(axes, data.items())):
        for l in range(xs.shape[1]):
            color = colors[l]
            ax.plot(xs[:, l], ys[:, l], color=color, lw=1.0, marker="o", ms=2.0, zorder=2)
            _arrows(ax, xs[:, l], ys[:, l], color)
            ax.plot(xs[0, l], ys[0, l], ls="", marker="o", ms=4.5, mfc="white", mec=color, mew=1.0, zorder=5)
            ax.plot(xs[-1, l], ys[-1, l], ls="", marker=markers[l], ms=5.0, color=color, mec="black", mew=0.5, zorder=6)
        figstyle.fit_text(ax.set_title(f"{regime} (n={len(group.regimes[regime])})"), inches / ncols - 0.25)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.margins(0.08)
        if k + ncols >= n:  # no panel below it
            ax.set_xlabel(f"{name}(X; T)")
        if k % ncols == 0:
            ax.set_ylabel(f"{name}(Y; T)")
    for ax in axes[n:]:
        ax.set_visible(False)
    deepest = next(group.regimes[r] for r, t in data.items() if t[1].shape[1] == depth)
    names = block_labels(deepest, depth)
    blocks = [Line2D([], [], color=colors[l], lw=1.0, marker=markers[l], ms=5.0, mec="black", mew=0.5, label=names[l])
              for l in range(depth)]
    keys = [Line2D([], [], ls="", marker="o", ms=4.5, mfc="white", mec="0.2", mew=1.0, label="initialization"),
            Line2D([], [], ls="", marker=r"$\rightarrow$", ms=8, color="0.2", label="training"),
            Line2D([], [], ls="", marker="o", ms=5.0, color="0.45", mec="black", mew=0.5, label="last probe")]
    seeds = {len(group.regimes[r]) for r in data}
    title = f"{group.task}: information plane ({name}), mean of {seeds.pop()} seeds" if len(seeds) == 1 else \
        f"{group.task}: information plane ({name}), mean over seeds"
    figstyle.fit_text(fig.suptitle(title), inches - 0.1)
    w, h = fig.get_size_inches()
    block_legend = figstyle.legend_outside(fig, blocks, names, title="block", side="left", grow=False, max_width=0.62 * w)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    room = w - block_legend.get_window_extent(renderer).width / fig.dpi - 0.25
    time_legend = figstyle.legend_outside(fig, keys, [k.get_label() for k in keys], title="time", side="right", grow=False,
                                          max_width=room)
    block_legend.set_gid("blocks")
    time_legend.set_gid("time")
    fig.set_size_inches(w, h + max(lg.get_window_extent(renderer).height for lg in (block_legend, time_legend)) / fig.dpi)
    return fig


def save(fig: Figure, out_dir: Path, stem: str, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` as ``out_dir/stem.<format>`` for each format (``suite.figstyle.save``); returns the paths."""
    return figstyle.save(fig, out_dir, stem, formats)


def write_curves(results: ResultSet, out_dir: str | Path, *, width: Width | float | None = None, seconds: bool = False) -> list[Path]:
    """``curves-<task>.png/.pdf`` for every task with finished results; returns the written paths."""
    paths: list[Path] = []
    for group in by_task(results):
        paths += save(curves_figure(group, width=width, seconds=seconds), Path(out_dir), f"curves-{slug(group.task, 'task')}")
    return paths


def write_info_planes(results: ResultSet, out_dir: str | Path, *, width: Width | float = "double", estimator: str = "nhsic") -> list[Path]:
    """``info-plane-<task>.png/.pdf`` for every task whose results carry probes; returns the written paths."""
    paths: list[Path] = []
    for group in by_task(results):
        fig = info_plane_figure(group, width=width, estimator=estimator)
        if fig is not None:
            paths += save(fig, Path(out_dir), f"info-plane-{slug(group.task, 'task')}")
    return paths


def profiles_figure(profile: Profile, labels: dict[str, str] | None = None, *, width: Width | float = "single",
                    order: Sequence[str] | None = None) -> Figure:
    """rho(tau) of every regime for tau in [1, tau_max], the legend ordered by profile area (best first);
    ``labels`` names regimes in the legend (default: their labels); styles follow ``order`` (default: the
    profile's regimes, which are in the suite's order)."""
    with figstyle.style():
        return _profiles_figure(profile, labels or {}, width, order)


def _profiles_figure(profile: Profile, labels: Mapping[str, str], width: Width | float, order: Sequence[str] | None) -> Figure:
    from suite.profiles import taus as tau_grid

    aucs = profile.aucs()
    styles = figstyle.regime_styles(order or profile.regimes, profile.regimes)
    ranked = sorted(profile.regimes, key=lambda r: -aucs[r])
    grid = tau_grid(profile.tau_max)
    inches = figstyle.width_inches(width)
    fig = figstyle.new_figure(inches, 2.2 if inches < 5 else 2.6)
    ax = fig.subplots()
    every = max(len(grid) // 8, 1)
    handles = []
    for i, regime in enumerate(ranked):
        (line,) = ax.plot(grid, profile.rho(regime, grid), drawstyle="steps-post", **styles[regime].line(), ms=3.5,
                          markevery=(i * every // max(len(ranked), 1), every), clip_on=False, zorder=3,
                          label=f"{labels.get(regime, regime)} ({aucs[regime]:.3f})")
        handles.append(line)
    ax.set_xlim(1.0, profile.tau_max)
    ax.set_ylim(-0.03, 1.03)  # lines at 0 and 1 clear of the spine
    if 0 < len(profile.tasks) <= 5:  # the only values a share of so few tasks takes
        ax.set_yticks(np.linspace(0.0, 1.0, len(profile.tasks) + 1))
    score = score_of(profile.score)
    cost = f"1 − {score.name}" if score.direction == "higher" else score.name
    ax.set_xlabel(f"τ: cost ({cost}) over the task's best")
    ax.set_ylabel("fraction of tasks within τ")
    figstyle.fit_text(fig.suptitle(f"Performance profiles, {score.name}, {len(profile.tasks)} tasks"), inches - 0.1)
    figstyle.legend_outside(fig, handles, [h.get_label() for h in handles], title="regime (profile area)")
    return fig


def write_profiles(results: ResultSet, out_dir: str | Path, scores: Sequence[str] = ("test_accuracy",), *,
                   width: Width | float = "single") -> list[Path]:
    """``profiles-<score>.png/.pdf`` for each score; nothing when ``results`` has no finished result."""
    from suite.profiles import performance_profile

    if not results.finished():
        return []
    labels = budget_labels(results)  # marked as in the tables
    order = results.labels("regime")
    paths: list[Path] = []
    for score in scores:
        fig = profiles_figure(performance_profile(results, score), labels, width=width, order=order)
        paths += save(fig, Path(out_dir), f"profiles-{slug(score, 'score')}")
    return paths
