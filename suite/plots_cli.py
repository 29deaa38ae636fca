"""``e2ebench plot``: learning curves and information planes from stored records (see ``suite.plots``).

Kept apart from ``suite.plots`` so that importing the command line stays light: the backend,
matplotlib and the records are imported only when a plot command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(help="Plot learning curves and information planes from stored records (PNG and PDF).", no_args_is_help=True)

_SuiteArg = Annotated[Optional[str], typer.Argument(help="suite file path, or the name of a shipped suite (default: 'default')")]
_ResultsOpt = Annotated[Path, typer.Option("--results", "-r", help="results directory (records are read from RESULTS/records)")]
_OutOpt = Annotated[Optional[Path], typer.Option("--out", "-o", help="output directory (default: RESULTS/plots/SUITE)")]
_PluginOpt = Annotated[Optional[list[Path]], typer.Option("--plugin", "-p", help="Python file registering extra tasks or regimes (repeatable)")]


def _run_plot(kind: str, suite: str | None, results: Path, out: Path | None, plugin: list[Path] | None) -> None:
    from suite.cli import _fail, _load
    from suite.plan import plan
    from suite.plots import write_curves, write_info_planes
    from suite.store import Store

    spec = _load(suite, plugin)
    store = Store(results)
    if not store.records_dir.is_dir():
        _fail(f"no records in {store.records_dir}; run `e2ebench run {suite or ''} --results {results}` first".replace("  ", " "))
    target = out or results / "plots" / spec.name
    writer = write_curves if kind == "curves" else write_info_planes
    paths = writer(plan(spec), store, target)
    if not paths:
        what = "finished records" if kind == "curves" else "finished records with probe measurements"
        _fail(f"nothing to plot: no {what} of suite {spec.name} in {store.records_dir}", code=1)
    for p in paths:
        typer.echo(str(p))


@app.command("curves")
def curves(suite: _SuiteArg = None, results: _ResultsOpt = Path("results"), out: _OutOpt = None, plugin: _PluginOpt = None) -> None:
    """Test accuracy vs epochs and vs training seconds, one line per regime, mean ± std over seeds; one figure per task."""
    _run_plot("curves", suite, results, out, plugin)


@app.command("info-plane")
def info_plane(suite: _SuiteArg = None, results: _ResultsOpt = Path("results"), out: _OutOpt = None, plugin: _PluginOpt = None) -> None:
    """Information plane: one panel per regime, a trajectory per block coloured by depth; one figure per task."""
    _run_plot("info-plane", suite, results, out, plugin)
