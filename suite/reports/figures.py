"""Report sections ``curves`` and ``information-plane``: the figures of ``suite.plots`` with their captions."""

from __future__ import annotations

from pathlib import Path

from suite.reports.core import ReportContext, section
from suite.tables import leaderboard_table

FIGURES_DIR = "figures"
INFORMATION_SCORES = ("role_differentiation", "mean_compression", "final_nhsic_x", "final_nhsic_y", "probe_seconds")


def _links(paths: list[Path], ctx: ReportContext) -> str:
    return "\n\n".join(f"![{p.stem}]({p.relative_to(ctx.out_dir).as_posix()}) ([PDF]({p.with_suffix('.pdf').relative_to(ctx.out_dir).as_posix()}))"
                       for p in paths if p.suffix == ".png")


@section("curves")
def curves_section(ctx: ReportContext) -> str:
    """Test accuracy after every epoch, per task: the mean over seeds and its 95% Student-t interval."""
    from suite.plots import LEVEL, write_curves

    paths = write_curves(ctx.results, ctx.out_dir / FIGURES_DIR)
    if not paths:
        return "## Learning curves\n\nNo records yet.\n"
    return ("## Learning curves\n\nTest accuracy after every epoch (epoch 0: the initialization), one line per regime: the "
            f"mean over seeds, with a shaded band for its {LEVEL:.0%} Student-t confidence interval (the interval of the tables: "
            "t with n - 1 degrees of freedom, the per-seed spread floored at the test split's binomial error; no band where "
            "fewer than two seeds reached the epoch). Dashed: the task's target (reached on the validation split for "
            "`epochs_to_target`), dotted: chance; a vertical line marks the shared budget where a regime trained longer. "
            "Each regime keeps its colour, line style and marker in every figure.\n\n" + _links(paths, ctx) + "\n")


@section("information-plane")
def information_plane_section(ctx: ReportContext) -> str:
    """Every block's trajectory in the information plane, per task and regime, and the information scores."""
    from suite.plots import write_info_planes

    paths = write_info_planes(ctx.results, ctx.out_dir / FIGURES_DIR)
    reasons = {r.regime.label: r.regime.probe_not_applicable for r in ctx.results if r.regime.probe_not_applicable}
    na = "".join(f"- {label}: n/a — {reason}\n" for label, reason in reasons.items())
    if not paths:
        return ("## Information plane\n\nNo probe measurements in the records (is `[metrics.probe] enabled = false`?).\n"
                + (f"\nInformation plane not applicable (not shown):\n\n{na}" if na else ""))
    probe = ctx.suite.metrics.probe
    table = leaderboard_table(ctx.results, INFORMATION_SCORES, fmt="md")
    return ("## Information plane\n\n"
            f"nHSIC(X; T_l) and nHSIC(Y; T_l) of every block on a fixed probe set of {probe.probe_size} test examples "
            f"(the paper's estimator: Gaussian kernel, sigma = {probe.sigma}, eps = {probe.eps}, label kernel {probe.label_kernel}); "
            "one panel per regime, each with its own axes (compare shapes across panels, read values off each panel's "
            "ticks); one colour per block (dark: first, light: last), a hollow circle "
            "at the initialization, arrowheads from each probe to the next and the block's marker at the last probe; "
            "mean over seeds. "
            "The information scores are neutral (neither direction is better; the paper's nHSIC follows the scale of "
            "the activations). Definitions of the summaries: `docs/metrics.md`.\n\n"
            + (f"Information plane not applicable (not shown):\n\n{na}\n" if na else "") + _links(paths, ctx) + "\n\n" + table + "\n")
