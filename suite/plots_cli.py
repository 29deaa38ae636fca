"""``e2ebench plot``: learning curves, information planes and performance profiles from stored records (see ``suite.plots``).

Kept apart from ``suite.plots`` so that importing the command line stays light: the backend,
matplotlib and the records are imported only when a plot command runs.
"""

from __future__ import annotations

from pathlib import Path
from enum import Enum
from typing import Annotated, Optional

import typer

from suite.cli_common import PluginOpt, ResultsOpt, SuiteArg, SuiteOrBoardArg, check_profile_scores, fail, load, require_records, suite_results

app = typer.Typer(help="Plot learning curves, information planes and performance profiles from stored records (PNG and PDF).", no_args_is_help=True)

_OutOpt = Annotated[Optional[Path], typer.Option("--out", "-o", help="output directory (default: RESULTS/plots/SUITE)")]


class FigureWidth(str, Enum):
    single = "single"
    double = "double"


def _width_opt(default: str) -> object:
    from suite.figstyle import WIDTHS  # light: matplotlib is imported only when a figure is drawn

    return typer.Option("--width", "-w", help=f"figure width: one column of a two-column paper (single, {WIDTHS['single']:g} in) "
                                              f"or the full text width (double, {WIDTHS['double']:g} in); default: {default}")


class Estimator(str, Enum):
    nhsic = "nhsic"
    nhsic_median = "nhsic_median"
    cka = "cka"
    cka_median = "cka_median"


def _run_plot(kind: str, suite: str | None, results: Path, out: Path | None, plugin: list[Path] | None, **options: object) -> None:
    from suite.paths import slug
    from suite.plots import write_curves, write_info_planes
    from suite.results import ResultSet
    from suite.store import Store

    spec = load(suite, plugin)
    require_records(results, "--results", f"run `e2ebench run {spec.name} --results {results}` first")
    store = Store(results)
    target = out or results / "plots" / slug(spec.name, "suite")
    writer = write_curves if kind == "curves" else write_info_planes
    paths = writer(ResultSet.from_suite(spec, store), target, **options)  # type: ignore[arg-type]
    if not paths:
        what = "finished records" if kind == "curves" else "finished records with probe measurements"
        fail(f"nothing to plot: no {what} of suite {spec.name} in {store.records_dir}", code=1)
    for p in paths:
        typer.echo(str(p))


@app.command("curves")
def curves(
    suite: SuiteArg = None,
    results: ResultsOpt = Path("results"),
    out: _OutOpt = None,
    plugin: PluginOpt = None,
    width: Annotated[Optional[FigureWidth], _width_opt("single, double with --seconds")] = None,
    seconds: Annotated[bool, typer.Option("--seconds", help="add a panel against training seconds (compilation excluded)")] = False,
) -> None:
    """Test accuracy after every epoch, one line per regime: the mean over seeds with a band for its 95% Student-t
    interval; one figure per task."""
    _run_plot("curves", suite, results, out, plugin, width=width.value if width else None, seconds=seconds)


@app.command("info-plane")
def info_plane(
    suite: SuiteArg = None,
    results: ResultsOpt = Path("results"),
    out: _OutOpt = None,
    plugin: PluginOpt = None,
    width: Annotated[FigureWidth, _width_opt("double")] = FigureWidth.double,
    estimator: Annotated[Estimator, typer.Option("--estimator", "-e", help="the estimator whose plane is drawn (the probe must have measured it)")] = Estimator.nhsic,
) -> None:
    """Information plane: one panel per regime, each with its own axes, a trajectory per block (one colour each, arrows
    from the first probe to the last), mean over seeds; one figure per task."""
    _run_plot("info-plane", suite, results, out, plugin, width=width.value, estimator=estimator.value)


@app.command("profiles")
def profiles(
    suite: SuiteOrBoardArg = None,
    results: ResultsOpt = Path("results"),
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-m", help="score to profile (repeatable; default: test_accuracy)")] = None,
    out: _OutOpt = None,
    plugin: PluginOpt = None,
    width: Annotated[FigureWidth, _width_opt("single")] = FigureWidth.single,
) -> None:
    """Performance profiles (Dolan and More, as AlgoPerf): per regime, the fraction of tasks on which its cost is
    within a factor tau of the best, for tau in [1, 4]; one figure per score. SUITE or RESULTS may be a leaderboard
    directory. Definitions: docs/metrics.md, "Performance profiles"."""
    from suite.paths import slug
    from suite.plots import write_profiles

    scores = metric or ["test_accuracy"]
    check_profile_scores(scores, "--metric")
    rs, ident = suite_results(suite, results, plugin)
    target = out or results / "plots" / slug(ident["name"], "suite")
    try:
        paths = write_profiles(rs, target, scores, width=width.value)
    except ValueError as exc:
        fail(str(exc))
    if not paths:
        fail(f"nothing to plot: no finished records of suite {ident['name']} in {results}", code=1)
    for p in paths:
        typer.echo(str(p))
