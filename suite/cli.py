"""The ``e2ebench`` command line."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

app = typer.Typer(
    name="e2ebench",
    help="A declarative benchmark of end-to-end backpropagation against layer-wise, modular and other training regimes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ResultsOpt = Annotated[Path, typer.Option("--results", "-r", help="results directory (records are stored in RESULTS/records)")]
PluginOpt = Annotated[Optional[list[Path]], typer.Option("--plugin", "-p", help="Python file registering extra tasks or regimes (repeatable)")]
BackendOpt = Annotated[Optional[str], typer.Option("--backend", help="show records made with this Keras backend (default: the active one)")]
SuiteArg = Annotated[Optional[str], typer.Argument(help="suite file path, or the name of a shipped suite (default: 'default')")]


class TableFormat(str, Enum):
    md = "md"
    latex = "latex"
    csv = "csv"
    html = "html"


class Kind(str, Enum):
    tasks = "tasks"
    regimes = "regimes"
    suites = "suites"
    metrics = "metrics"


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _load(suite: str | None, plugins: list[Path] | None):
    """Load plugins and the suite, turning user errors into one clear message."""
    from suite.registry import RegistryError, load_plugin_file
    from suite.spec import SpecError, load_suite

    try:
        for p in plugins or []:
            load_plugin_file(p)
        return load_suite(suite)
    except (SpecError, RegistryError) as exc:
        _fail(str(exc))


@app.command()
def run(
    suite: SuiteArg = None,
    results: ResultsOpt = Path("results"),
    plugin: PluginOpt = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar over cells")] = True,
    table_format: Annotated[TableFormat, typer.Option("--format", "-f", help="format of the table printed at the end")] = TableFormat.md,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="worker processes (1: run cells in this process)")] = 1,
) -> None:
    """Run every cell of a suite that has no finished record yet, then print its leaderboard table."""
    from suite.executor import run_suite
    from suite.plan import plan
    from suite.store import Store
    from suite.tables import leaderboard_table

    spec = _load(suite, plugin)
    store = Store(results)
    cells = plan(spec)
    typer.echo(f"suite {spec.name} {spec.version}: {len(spec.tasks)} tasks x {len(spec.regimes)} regimes x {len(spec.seeds)} seeds = {len(cells)} cells -> {store.records_dir}", err=True)
    try:
        report = run_suite(spec, store, progress=progress, cells=cells, jobs=jobs, plugins=plugin or [])
    except KeyboardInterrupt:
        typer.echo("\ninterrupted: finished cells are saved; run the same command again to resume.", err=True)
        raise typer.Exit(130)
    typer.echo(f"ran {report.ran}, reused {report.skipped}, not applicable {report.not_applicable}, failed {len(report.failed)}, diverged {len(report.diverged)}", err=True)
    typer.echo(leaderboard_table(cells, store, fmt=table_format.value))
    for task, message in report.unavailable.items():
        typer.secho(f"\n{task}: data not available\n{message}", err=True, fg=typer.colors.YELLOW)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def validate(
    suite: Annotated[str, typer.Argument(help="suite file path, or a shipped suite's name")],
    plugin: PluginOpt = None,
) -> None:
    """Check a suite file without running it."""
    from suite.plan import plan

    spec = _load(suite, plugin)
    cells = plan(spec)
    na = sum(c.not_applicable is not None for c in cells)
    typer.echo(f"{spec.source}: ok — suite {spec.name} {spec.version}, {len(spec.tasks)} tasks, {len(spec.regimes)} regimes, {len(spec.seeds)} seeds, {len(cells)} cells ({na} not applicable)")


@app.command("list")
def list_(
    kind: Annotated[Kind, typer.Argument(help="what to list")],
    plugin: PluginOpt = None,
) -> None:
    """List registered tasks or regimes, shipped suites, or the scores a table can show."""
    from tabulate import tabulate

    from suite import registry

    try:
        for p in plugin or []:
            registry.load_plugin_file(p)
    except registry.RegistryError as exc:
        _fail(str(exc))
    if kind is Kind.tasks:
        rows = [[c.name, c.version, c.data_source, c.description] for c in registry.tasks]
        typer.echo(tabulate(rows, headers=["task", "version", "data", "description"], tablefmt="simple", disable_numparse=True))
    elif kind is Kind.regimes:
        rows = [[c.name, c.version, c.description, c.citation] for c in registry.regimes]
        typer.echo(tabulate(rows, headers=["regime", "version", "description", "citation"], tablefmt="simple", maxcolwidths=[None, None, 60, 50], disable_numparse=True))
    elif kind is Kind.suites:
        from suite.spec import load_suite, shipped_suites

        rows = []
        for name in shipped_suites():
            s = load_suite(name)
            rows.append([s.name, s.version, len(s.tasks) * len(s.regimes) * len(s.seeds), s.description])
        typer.echo(tabulate(rows, headers=["suite", "version", "cells", "description"], tablefmt="simple", disable_numparse=True))
    else:
        from suite.scores import SCORES

        rows = [[s.name, s.direction, s.group, s.description] for s in SCORES.values()]
        typer.echo(tabulate(rows, headers=["score", "better", "group", "description"], tablefmt="simple", maxcolwidths=[None, None, None, 80]))


@app.command()
def table(
    suite: SuiteArg = None,
    results: ResultsOpt = Path("results"),
    table_format: Annotated[TableFormat, typer.Option("--format", "-f", help="output format")] = TableFormat.md,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-m", help="score to show (repeatable; see `e2ebench list metrics`)")] = None,
    plugin: PluginOpt = None,
    backend_name: BackendOpt = None,
) -> None:
    """Render a suite's leaderboard table from stored records (nothing is re-run)."""
    from suite.plan import plan
    from suite.registry import did_you_mean
    from suite.scores import SCORES
    from suite.store import Store
    from suite.tables import DEFAULT_METRICS, leaderboard_table

    spec = _load(suite, plugin)
    metrics = metric or list(DEFAULT_METRICS)
    for m in metrics:
        if m not in SCORES and not m.startswith("compression_block"):
            _fail(f"--metric: unknown score {m!r}{did_you_mean(m, list(SCORES))}")
    store = Store(results)
    if not store.records_dir.is_dir():
        _fail(f"no records in {store.records_dir}; run `e2ebench run {suite or ''} --results {results}` first".replace("  ", " "))
    typer.echo(leaderboard_table(plan(spec, backend_name), store, metrics, fmt=table_format.value))


@app.command()
def report(
    suite: SuiteArg = None,
    results: ResultsOpt = Path("results"),
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="output directory (default: RESULTS/reports/SUITE)")] = None,
    plugin: PluginOpt = None,
    backend_name: BackendOpt = None,
) -> None:
    """Write a Markdown report (figures beside it) for a suite from its stored records."""
    from suite.report import write_report
    from suite.store import Store

    spec = _load(suite, plugin)
    store = Store(results)
    target = out or results / "reports" / spec.name
    try:
        page = write_report(spec, store, target, backend_name=backend_name)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(str(page))


def main() -> None:
    """Entry point of the ``e2ebench`` script."""
    # Before any backend is imported: keep its start-up chatter out of the user's terminal.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        app()
    except BrokenPipeError:  # e.g. `e2ebench table | head`
        sys.stderr.close()
        os._exit(0)


if __name__ == "__main__":
    main()
