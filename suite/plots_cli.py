"""``e2ebench plot``: learning curves and information planes from stored records (see ``suite.plots``).

Kept apart from ``suite.plots`` so that importing the command line stays light: the backend,
matplotlib and the records are imported only when a plot command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from suite.cli_common import PluginOpt, ResultsOpt, SuiteArg, SuiteOrBoardArg, check_profile_scores, fail, load, require_records, suite_results

app = typer.Typer(help="Plot learning curves, information planes and performance profiles from stored records (PNG and PDF).", no_args_is_help=True)

_OutOpt = Annotated[Optional[Path], typer.Option("--out", "-o", help="output directory (default: RESULTS/plots/SUITE)")]


def _run_plot(kind: str, suite: str | None, results: Path, out: Path | None, plugin: list[Path] | None) -> None:
    from suite.paths import slug
    from suite.plots import write_curves, write_info_planes
    from suite.results import ResultSet
    from suite.store import Store

    spec = load(suite, plugin)
    require_records(results, "--results", f"run `e2ebench run {spec.name} --results {results}` first")
    store = Store(results)
    target = out or results / "plots" / slug(spec.name, "suite")
    writer = write_curves if kind == "curves" else write_info_planes
    paths = writer(ResultSet.from_suite(spec, store), target)
    if not paths:
        what = "finished records" if kind == "curves" else "finished records with probe measurements"
        fail(f"nothing to plot: no {what} of suite {spec.name} in {store.records_dir}", code=1)
    for p in paths:
        typer.echo(str(p))


@app.command("curves")
def curves(suite: SuiteArg = None, results: ResultsOpt = Path("results"), out: _OutOpt = None, plugin: PluginOpt = None) -> None:
    """Test accuracy vs epochs and vs training seconds, one line per regime, mean ± std over seeds; one figure per task."""
    _run_plot("curves", suite, results, out, plugin)


@app.command("info-plane")
def info_plane(suite: SuiteArg = None, results: ResultsOpt = Path("results"), out: _OutOpt = None, plugin: PluginOpt = None) -> None:
    """Information plane: one panel per regime, a trajectory per block coloured by depth; one figure per task."""
    _run_plot("info-plane", suite, results, out, plugin)


@app.command("profiles")
def profiles(
    suite: SuiteOrBoardArg = None,
    results: ResultsOpt = Path("results"),
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-m", help="score to profile (repeatable; default: test_accuracy)")] = None,
    out: _OutOpt = None,
    plugin: PluginOpt = None,
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
        paths = write_profiles(rs, target, scores)
    except ValueError as exc:
        fail(str(exc))
    if not paths:
        fail(f"nothing to plot: no finished records of suite {ident['name']} in {results}", code=1)
    for p in paths:
        typer.echo(str(p))
