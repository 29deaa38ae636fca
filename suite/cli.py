"""The ``e2ebench`` command line."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from suite import gate as gate_rules
from suite.cli_common import (AddressOpt, BackendOpt, CellMemoryOpt, CellTimeoutOpt, CpusPerCellOpt, DataDirOpt, DownloadOpt, DryRunOpt,
                              ExecutorKind, ExecutorOpt, GpusPerCellOpt, IsolateOpt, Kind,
                              PluginOpt, ProfileAucOpt, ResultsOpt, SandboxOpt, SuiteArg, SuiteOrBoardArg, TableFormat, ThreadsOpt, UntrustedOpt, VerboseOpt,
                              check_metrics, check_profile_scores, configure_data, executor_for, fail, isolation, load, require_records,
                              set_threads, suite_results)

if TYPE_CHECKING:
    from suite.spec import Suite

app = typer.Typer(
    name="e2ebench",
    help="A declarative benchmark of end-to-end backpropagation against layer-wise, modular and other training regimes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

@app.command()
def run(
    suite: SuiteArg = None,
    results: ResultsOpt = Path("results"),
    plugin: PluginOpt = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar over cells")] = True,
    table_format: Annotated[TableFormat, typer.Option("--format", "-f", help="format of the table printed at the end")] = TableFormat.md,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="worker processes (1: run cells in this process)")] = 1,
    executor: ExecutorOpt = ExecutorKind.local,
    address: AddressOpt = None,
    cpus_per_cell: CpusPerCellOpt = None,
    gpus_per_cell: GpusPerCellOpt = None,
    data_dir: DataDirOpt = None,
    download: DownloadOpt = False,
    untrusted: UntrustedOpt = None,
    isolate: IsolateOpt = False,
    sandbox: SandboxOpt = None,
    cell_timeout: CellTimeoutOpt = None,
    cell_memory: CellMemoryOpt = None,
    threads: ThreadsOpt = None,
    verbose: VerboseOpt = False,
    dry_run: DryRunOpt = False,
    tensorboard: Annotated[Optional[Path], typer.Option("--tensorboard", metavar="DIR", help="also write each cell's learning curve and information plane to DIR as TensorBoard runs, epoch by epoch (needs the tensorboard extra; records are unchanged)")] = None,
    reuse_steps: Annotated[bool, typer.Option("--reuse-steps/--rebuild-steps", help="pay graph building once per program, not once per seed and learning rate: on TensorFlow later cells train through the step compiled for the first; on JAX compiled programs are cached in RESULTS/.cache/jax (records are identical; --rebuild-steps builds every cell's own)")] = True,
) -> None:
    """Run every cell of a suite that has no finished record yet, then print its leaderboard table.

    The plan (cells to run, reused, not applicable) is printed first. Exits 1 when a cell failed or a
    task's data is not available (a diverged cell is a finished result, not a failure), 130 when interrupted."""
    set_threads(threads)
    runner = executor_for(executor, jobs, address, cpus_per_cell, gpus_per_cell)  # before any import of a backend
    if tensorboard is not None:  # before anything runs: one line saying how to install it
        from suite.tensorboard import TensorBoardUnavailable, require

        try:
            require()
        except TensorBoardUnavailable as exc:
            fail(str(exc))
    from suite.executor import run_suite
    from suite.plan import plan
    from suite.ray_executor import RayUnavailable
    from suite.results import ResultSet
    from suite.schedule import schedule
    from suite.store import Store
    from suite.tables import leaderboard_table

    iso = isolation(isolate, sandbox, cell_timeout, cell_memory, untrusted)
    spec = load(suite, plugin, untrusted, iso.sandbox)
    configure_data(spec, data_dir, download)
    store = Store(results)
    cells = plan(spec)
    head = f"suite {spec.name} {spec.version}: {len(spec.tasks)} tasks x {len(spec.regimes)} regimes x {len(spec.seeds)} seeds{_trials(spec)} = {len(cells)} cells -> {store.records_dir}"
    typer.echo(f"{head}\n{schedule(cells, store).format(str(store.records_dir), verbose=verbose)}", err=not dry_run)
    if dry_run:
        return
    try:
        report = run_suite(spec, store, progress=progress, cells=cells, jobs=jobs, plugins=plugin or [], isolation=iso,
                           tensorboard=tensorboard, executor=runner, reuse_steps=reuse_steps)
    except RayUnavailable as exc:  # the cluster cannot be reached or cannot fit a cell: nothing was trained
        fail(str(exc), code=1)
    except KeyboardInterrupt:
        typer.echo("\ninterrupted: finished cells are saved; run the same command again to resume.", err=True)
        raise typer.Exit(130)
    elsewhere = f", done by another run {report.elsewhere}" if report.elsewhere else ""
    typer.echo(f"ran {report.ran}, reused {report.skipped}{elsewhere}, not applicable {report.not_applicable}, failed {len(report.failed)}, diverged {len(report.diverged)}", err=True)
    typer.echo(leaderboard_table(ResultSet.from_cells(cells, store), fmt=table_format.value))
    by_message: dict[str, list[str]] = {}  # tasks sharing a dataset share one set of instructions
    for task, message in report.unavailable.items():
        by_message.setdefault(message, []).append(task)
    for message, tasks in by_message.items():
        typer.secho(f"\n{', '.join(tasks)}: data not available\n{message}", err=True, fg=typer.colors.YELLOW)
    if report.failed:
        _say_failed(report.failed, report.ran + report.elsewhere)
    if not report.ok:
        raise typer.Exit(1)


def _say_failed(titles: list[str], of: int, shown: int = 10) -> None:
    """``error: N of the M cells run failed`` and the first few of them."""
    lines = [f"error: {len(titles)} of the {of} cells run failed (their records hold the error; run the command again to retry them):"]
    lines += [f"  - {t}" for t in titles[:shown]] + ([f"  ... and {len(titles) - shown} more"] if len(titles) > shown else [])
    typer.secho("\n".join(lines), err=True, fg=typer.colors.RED)


def _trials(spec: Suite, sep: str = " x ") -> str:
    """``sep`` and ``N trials`` for a tuned suite (every regime gets the same number), else nothing."""
    return f"{sep}{spec.n_trials} trials" if any(r.trials for r in spec.regimes) else ""


@app.command()
def validate(
    suite: Annotated[str, typer.Argument(help="suite file path, or a shipped suite's name")],
    plugin: PluginOpt = None,
) -> None:
    """Check a suite file without running it."""
    spec = load(suite, plugin)  # a TOML error is reported before any task code (or backend) is imported
    from suite.plan import plan

    cells = plan(spec)
    na = sum(c.not_applicable is not None for c in cells)
    typer.echo(f"{spec.source}: ok — suite {spec.name} {spec.version}, {len(spec.tasks)} tasks, {len(spec.regimes)} regimes, {len(spec.seeds)} seeds{_trials(spec, ', ')}, {len(cells)} cells ({na} not applicable)")


@app.command("list")
def list_(
    kind: Annotated[Kind, typer.Argument(help="what to list")],
    plugin: PluginOpt = None,
) -> None:
    """List registered tasks, regimes, scores, estimators or report sections, or the shipped suites."""
    from tabulate import tabulate

    from suite import registry

    try:
        for p in plugin or []:
            registry.load_plugin_file(p)
    except registry.RegistryError as exc:
        fail(str(exc))
    if kind is Kind.tasks:
        rows = [[c.name, c.version, c.data_source, c.description] for c in registry.tasks]
        typer.echo(tabulate(rows, headers=["task", "version", "data", "description"], tablefmt="simple", disable_numparse=True))
    elif kind is Kind.regimes:
        rows = [[c.name, c.version, c.description, c.citation] for c in registry.regimes]
        typer.echo(tabulate(rows, headers=["regime", "version", "description", "citation"], tablefmt="simple", maxcolwidths=[None, None, 60, 50], disable_numparse=True))
    elif kind is Kind.suites:
        from suite.spec import SpecError, shipped_suites, summarize_suite

        rows = []
        try:
            for name in shipped_suites():  # read from the files alone: no task code, no backend
                s = summarize_suite(name)
                rows.append([s.name, s.version, s.cells, s.description])
        except SpecError as exc:
            fail(str(exc))
        typer.echo(tabulate(rows, headers=["suite", "version", "cells", "description"], tablefmt="simple", disable_numparse=True))
    elif kind is Kind.metrics:
        rows = [[s.name, s.direction, s.group, s.description] for s in registry.scores]
        typer.echo(tabulate(rows, headers=["score", "better", "group", "description"], tablefmt="simple", maxcolwidths=[None, None, None, 80]))
    elif kind is Kind.estimators:
        rows = [[e.name, e.version, e.description] for e in registry.estimators]
        typer.echo(tabulate(rows, headers=["estimator", "version", "description"], tablefmt="simple", maxcolwidths=[None, None, 80]))
    else:
        rows = [[s.name, s.description] for s in registry.reports]
        typer.echo(tabulate(rows, headers=["report section", "description"], tablefmt="simple", maxcolwidths=[None, 90]))


@app.command()
def table(
    suite: SuiteOrBoardArg = None,
    results: ResultsOpt = Path("results"),
    table_format: Annotated[TableFormat, typer.Option("--format", "-f", help="output format")] = TableFormat.md,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-m", help="score to show (repeatable; see `e2ebench list metrics`)")] = None,
    siunitx: Annotated[bool, typer.Option("--siunitx", help="LaTeX: align numbers on the decimal point with siunitx S columns (the document must load siunitx)")] = False,
    profile_auc: ProfileAucOpt = None,
    plugin: PluginOpt = None,
    backend_name: BackendOpt = None,
) -> None:
    """Render a suite's leaderboard table from stored records (nothing is re-run). LaTeX tables use booktabs and
    mark each task's leaders in bold (docs/metrics.md, "Tables")."""
    from suite.tables import DEFAULT_METRICS, leaderboard_table

    metrics = metric or list(DEFAULT_METRICS)
    check_metrics(metrics)
    check_profile_scores(profile_auc or [])
    rs, _ = suite_results(suite, results, plugin, backend_name)
    typer.echo(leaderboard_table(rs, metrics, fmt=table_format.value, siunitx=siunitx, profile_scores=profile_auc or []))


@app.command()
def report(
    suite: SuiteArg = None,
    results: ResultsOpt = Path("results"),
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="output directory (default: RESULTS/reports/SUITE)")] = None,
    plugin: PluginOpt = None,
    backend_name: BackendOpt = None,
) -> None:
    """Write a Markdown report (figures beside it) for a suite from its stored records."""
    from suite.reports import write_report
    from suite.store import Store

    spec = load(suite, plugin)
    store = Store(results)
    target = out or results / "reports" / spec.name
    try:
        page = write_report(spec, store, target, backend_name=backend_name)
    except ValueError as exc:
        fail(str(exc))
    typer.echo(str(page))


class ExportFormat(str, Enum):
    parquet = "parquet"
    csv = "csv"


class ExportTrials(str, Enum):
    selected = "selected"
    all = "all"


class ExportLevel(str, Enum):
    record = "record"
    epoch = "epoch"
    probe = "probe"


@app.command()
def export(
    suite: SuiteOrBoardArg = None,
    results: ResultsOpt = Path("results"),
    file_format: Annotated[ExportFormat, typer.Option("--format", "-f", help="file format (parquet needs pyarrow, in the export extra)")] = ExportFormat.parquet,
    level: Annotated[ExportLevel, typer.Option("--level", "-l", help="one row per cell (record), per cell x epoch (epoch), or per cell x probe epoch x block x estimator (probe)")] = ExportLevel.record,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="output file (default: RESULTS/export/SUITE-VERSION-LEVEL.FORMAT)")] = None,
    trials: Annotated[ExportTrials, typer.Option("--trials", help="in a tuned suite: the trial each table reports per task x regime x seed (selected), or every trial (all); the column selected tells them apart")] = ExportTrials.selected,
    plugin: PluginOpt = None,
    backend_name: BackendOpt = None,
) -> None:
    """Write a suite's results as one tidy table (Parquet or CSV) for pandas, R or a spreadsheet; columns in
    docs/export.md. RESULTS (or SUITE) may be a leaderboard directory, read as its manifest froze it."""
    from suite import export as ex
    from suite.paths import slug

    rs, ident = suite_results(suite, results, plugin, backend_name, select=trials == ExportTrials.selected)
    df = ex.frame(rs, level.value, ident)
    target = out or results / "export" / f"{slug(ident['name'], 'suite')}-{ident['version']}-{level.value}.{file_format.value}"
    try:
        path = ex.write(df, target, file_format.value)
    except ImportError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {target}: {exc}", code=1)
    typer.echo(f"{path}: {len(df)} rows x {len(df.columns)} columns ({level.value} level)")


data_app = typer.Typer(help="Prepare and inspect the TFDS datasets of the image tasks.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("prepare")
def data_prepare(
    datasets: Annotated[list[str], typer.Argument(help="TFDS names, name[/config][:version] (e.g. cifar10 mnist)")],
    data_dir: DataDirOpt = None,
    download: DownloadOpt = False,
    train_split: Annotated[str, typer.Option(help="training split")] = "train",
    test_split: Annotated[str, typer.Option(help="test split")] = "test",
) -> None:
    """Read prepared TFDS datasets (downloading them with --download) and write their array caches.

    The array caches (DATA_DIR/e2ebench-arrays/...) are plain numpy: machines without TensorFlow
    (Keras on JAX) read them. See docs/datasets.md."""
    from suite.api import DataUnavailable
    from tasks.datasets import tfds as tfds_data

    configure_data(None, data_dir, download)
    failed = False
    for name in datasets:
        try:
            arrays = tfds_data.load_arrays(name, train_split=train_split, test_split=test_split)
        except (DataUnavailable, ValueError) as exc:
            typer.secho(f"{name}: {exc}", err=True, fg=typer.colors.YELLOW)
            failed = True
            continue
        typer.echo(f"{name} {arrays.version}: {len(arrays.y_train)} train / {len(arrays.y_test)} test images of shape "
                   f"{arrays.x_train.shape[1:]}, {arrays.num_classes} classes (read from {arrays.source})")
        typer.echo("  " + tfds_data.describe(name, splits=(train_split, test_split)))
    if failed:
        raise typer.Exit(1)


@data_app.command("status")
def data_status(
    suite: Annotated[str, typer.Argument(help="suite file path, or a shipped suite's name")],
    data_dir: DataDirOpt = None,
    plugin: PluginOpt = None,
) -> None:
    """Say, for each TFDS task of a suite, whether its dataset is prepared (nothing is read or downloaded)."""
    from tasks.datasets import tfds as tfds_data

    spec = load(suite, plugin)
    configure_data(spec, data_dir, False)
    seen = set()
    for t in spec.tasks:
        for name in t.cls(t.params).prepared_datasets():
            if name not in seen:
                seen.add(name)
                typer.echo(tfds_data.describe(name))
    if not seen:
        typer.echo(f"suite {spec.name} has no TFDS tasks")


@app.command()
def submit(
    file_or_name: Annotated[str, typer.Argument(help="the regime: a Python file that registers it, or a registered regime's name")],
    suite: Annotated[str, typer.Option("--suite", "-s", help="suite to submit to (default: the official leaderboard suite)")] = "official",
    results: ResultsOpt = Path("results"),
    leaderboard_root: Annotated[Optional[Path], typer.Option("--leaderboard", help="leaderboard root; baselines are read from and the entry written to LEADERBOARD/<suite>-<version>/ (default: found from the suite: leaderboard/ beside the suite file or above it, or in the e2ebench checkout)")] = None,
    params: Annotated[Optional[str], typer.Option("--params", help="the regime's params as JSON, e.g. '{\"lam\": 0.1}' (default: its defaults)")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="which regime, when the file registers several")] = None,
    run_cells: Annotated[bool, typer.Option("--run/--no-run", help="run the cells without a finished record (--no-run: only check the stored records, as CI does)")] = True,
    checks: Annotated[bool, typer.Option("--checks/--skip-checks", help="run the conformance battery (suite.checks.check_regime) first")] = True,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="worker processes for the cells")] = 1,
    progress: Annotated[bool, typer.Option(help="show a progress bar over cells")] = True,
    sandbox: SandboxOpt = None,
    cell_timeout: CellTimeoutOpt = None,
    cell_memory: CellMemoryOpt = None,
    threads: ThreadsOpt = None,
    verbose: VerboseOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Run a regime on a suite (reusing stored baseline cells), check the protocol, and write its leaderboard
    entry and a Markdown summary for the pull request. The plan is printed first. Exits 1 with the list of
    problems if a check fails or a cell failed."""
    import json

    from suite.registry import RegistryError
    from suite.spec import SpecError
    from suite.submit import SubmissionError
    from suite.submit import submit as do_submit

    try:
        parsed = json.loads(params) if params else None
    except json.JSONDecodeError as exc:
        fail(f"--params is not valid JSON: {exc}")
    if parsed is not None and not isinstance(parsed, dict):
        fail("--params must be a JSON object, e.g. '{\"lam\": 0.1}'")
    try:
        set_threads(threads)
        iso = isolation(False, sandbox, cell_timeout, cell_memory, [Path(file_or_name)])
        outcome = do_submit(file_or_name, suite=suite, results=results, leaderboard_root=leaderboard_root, params=parsed,
                            name=name, run=run_cells, checks=checks, jobs=jobs, progress=progress,
                            dry_run=dry_run, verbose=verbose, log=lambda line: typer.echo(line, err=True), isolation=iso)
    except (SpecError, RegistryError, SubmissionError) as exc:
        fail(str(exc))
    except ValueError as exc:  # invalid --params for the regime (pydantic)
        fail(f"--params: {exc}")
    if dry_run:
        typer.echo(outcome.plan)
        return
    typer.echo(outcome.protocol.format(), err=True)
    if outcome.failed:
        _say_failed(outcome.failed, outcome.ran)
    if not outcome.ok:
        typer.secho(f"\nsubmission of {outcome.regime.label} rejected; fix these and submit again:", err=True, fg=typer.colors.RED)
        for line in outcome.problems():
            typer.secho(f"  - {line}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1)
    lb_option = f" --leaderboard {leaderboard_root}" if leaderboard_root is not None else ""
    typer.echo(f"ran {outcome.ran} cells, reused {outcome.reused}; entry: {outcome.entry_path}; summary: {outcome.summary_path}", err=True)
    typer.echo(f"regenerate the table with `e2ebench leaderboard {suite}{lb_option}`, then open a pull request with the summary below.\n", err=True)
    typer.echo(outcome.summary)


@app.command()
def leaderboard(
    suite: Annotated[str, typer.Argument(help="a suite (its leaderboard is LEADERBOARD/<suite>-<version>/), or a leaderboard directory (default: official)")] = "official",
    leaderboard_root: Annotated[Optional[Path], typer.Option("--leaderboard", help="leaderboard root (the table goes to LEADERBOARD/<suite>-<version>/; default: found from the suite, as for submit)")] = None,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-m", help="score to show (repeatable; the first ranks the rows)")] = None,
    profile_auc: ProfileAucOpt = None,
    check: Annotated[bool, typer.Option("--check", help="write nothing; exit 1 if the generated files (the site/ pages too, where the leaderboard has one) are out of date or a record does not verify")] = False,
    html: Annotated[Optional[Path], typer.Option("--html", help="write only the static site into DIR instead: an index page and one page per regime, self-contained HTML that works from file:// (with --check: check DIR's pages instead)", metavar="DIR")] = None,
    replan: Annotated[bool, typer.Option("--replan", help="rewrite the version's manifest from the suite file (after re-running its cells)")] = False,
    plugin: PluginOpt = None,
    backend_name: BackendOpt = None,
) -> None:
    """Regenerate a leaderboard's table (README.md between markers, table.csv, table.tex) from its manifest,
    records and submission entries, and its static site where LEADERBOARD/<suite>-<version>/site/ exists. The
    first render of a suite version writes its manifest, which freezes it. Never edit those files by hand."""
    from suite import leaderboard as lb
    from suite import site
    from suite.store import StoreError

    metrics = metric or list(lb.METRICS)
    check_metrics(metrics)
    profile_scores = profile_auc or []
    check_profile_scores(profile_scores)
    try:
        if lb.manifest_path(Path(suite)).is_file():  # a leaderboard directory: frozen, no suite file needed
            board = lb.load(Path(suite))
        else:
            spec = load(suite, plugin)
            target = lb.locate(spec, leaderboard_root, existing=False)
            if check and (replan or not lb.manifest_path(target).is_file()):
                fail(f"{target}: no manifest to check against; run `e2ebench leaderboard {suite}` first", code=1)
            board = lb.load(target) if check else lb.prepare(spec, target, backend_name, replan=replan)
    except StoreError as exc:
        fail(str(exc), code=1)
    except lb.LeaderboardNotFound as exc:
        fail(str(exc))
    if check:
        stale = site.stale(board, html, metrics, profile_scores) if html is not None else lb.stale(board, metrics, profile_scores)
        if stale:
            again = f"e2ebench leaderboard {suite}" + (f" --html {html}" if html is not None else "")
            typer.secho("out of date: " + ", ".join(str(p) for p in stale) + f"\nrun `{again}`", err=True, fg=typer.colors.RED)
            raise typer.Exit(1)
        typer.echo(f"{html if html is not None else board.directory}: up to date ({board.verified} verified records)")
        return
    try:
        paths = site.write(board, html, metrics, profile_scores) if html is not None else lb.write(board, metrics, profile_scores)
    except ValueError as exc:  # a profiled score out of range (suite.profiles)
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {html or board.directory}: {exc}", code=1)
    for path in paths:
        typer.echo(str(path))


@app.command()
def gate(
    suite: Annotated[str, typer.Argument(help="suite whose cells to compare (default: official)")] = "official",
    baseline: Annotated[Optional[Path], typer.Option("--baseline", help="store with the reference records (default: leaderboard/<suite>-<version>)")] = None,
    results: ResultsOpt = Path("results"),
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-m", help="score to gate (repeatable; default: test_accuracy)")] = None,
    alpha: Annotated[float, typer.Option("--alpha", min=1e-6, max=0.5, help="level of the one-sided test over seeds that calls a change a regression or an improvement")] = gate_rules.DEFAULT_ALPHA,
    require_all: Annotated[bool, typer.Option("--require-all/--allow-missing", help="fail when a baseline row has no new records (default), or only list it")] = True,
    report_json: Annotated[Optional[Path], typer.Option("--report-json", help="also write the report as JSON to this file (for CI)")] = None,
    junit: Annotated[Optional[Path], typer.Option("--junit", help="also write the report as JUnit XML to this file: one test case per row and score, a failure per regression")] = None,
    plugin: PluginOpt = None,
    backend_name: BackendOpt = None,
) -> None:
    """Fail (exit 1) when a score in RESULTS is worse than in the baseline by a one-sided test over seeds (paired by
    seed), in each score's declared direction (see `e2ebench list metrics`), or when a baseline row is missing."""
    import json

    from suite import leaderboard as lb
    from suite.plan import plan
    from suite.results import ResultSet
    from suite.store import Store

    spec = load(suite, plugin)
    metrics = metric or list(gate_rules.DEFAULT_METRICS)
    check_metrics(metrics)
    try:
        base_root = baseline or lb.locate(spec, hint="pass --baseline DIR, a results store or a leaderboard directory")
    except lb.LeaderboardNotFound as exc:
        fail(str(exc))
    require_records(base_root, "--baseline")
    require_records(results, "--results")
    cells = plan(spec, backend_name)
    # a leaderboard version is compared as its manifest froze it; any other store by the suite's cells
    base = (lb.load(base_root).results if lb.manifest_path(base_root).is_file()
            else ResultSet.from_cells(cells, Store(base_root, quarantine=False)))
    report = gate_rules.compare(base, ResultSet.from_cells(cells, Store(results)), metrics, alpha, require_all)
    typer.echo(report.format())
    try:
        if report_json is not None:
            report_json.write_text(json.dumps(gate_rules.report_json(report, spec.name, alpha), indent=1) + "\n", encoding="utf-8")
        if junit is not None:
            junit.write_text(gate_rules.junit_xml(report, spec.name), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write the report: {exc}", code=1)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def verify(
    paths: Annotated[list[Path], typer.Argument(help="results directories, leaderboard directories or record files")],
) -> None:
    """Check the integrity of records: each parses, carries the hashes of its content and deterministic part, and
    sits in the file of its cell; a leaderboard's manifest lists only verified records. Exits 1 on any problem."""
    from suite.verify import verify as do_verify

    bad = 0
    for path in paths:
        if not path.exists():
            fail(f"{path}: no such file or directory")
        found = do_verify(path)
        for problem in found.problems:
            typer.secho(f"  {problem}", err=True, fg=typer.colors.RED)
        bad += len(found.problems)
        typer.echo(f"{path}: {found.checked} records checked, {len(found.problems)} problems")
    if bad:
        raise typer.Exit(1)


@app.command()
def reproduce(
    records: Annotated[list[Path], typer.Argument(help="record files (RESULTS/records/<cell>.json) to re-run")],
    plugin: PluginOpt = None,
    isolate: IsolateOpt = False,
    exact: Annotated[bool, typer.Option("--exact", help="require bit-identical results even when the record was made on another CPU model (or does not name its CPU)")] = False,
) -> None:
    """Re-run the cell of each record (with the threads it trained with) and compare what both runs measured:
    the deterministic part of the record (learning curve without timings, probes, notes, summary) less the
    information-plane summaries that every reader recomputes. On the CPU model that made the record they must
    be identical; on another one (or when the record does not name its CPU) the same computation up to
    rounding is reported as consistent (same status, parameters, epochs and initialization, first-epoch loss within 1e-3).
    Exits 1 if any differs."""
    from suite.registry import RegistryError, load_plugin_file
    from suite.runner import Isolation
    from suite.verify import ReproduceError
    from suite.verify import reproduce as do_reproduce

    try:
        for p in plugin or []:
            load_plugin_file(p)
    except RegistryError as exc:
        fail(str(exc))
    differ = 0
    for path in records:
        try:
            r = do_reproduce(path, Isolation(enabled=isolate))
        except ReproduceError as exc:
            fail(f"{path}: {exc}", code=1)
        title = f"{r.original.task_label} / {r.original.regime_label} / seed {r.original.seed}"
        if r.identical:
            rescored = f" (derived summaries re-scored by this version: {', '.join(r.rescored)})" if r.rescored else ""
            typer.echo(f"reproduced  {title}: measured hash {r.got[:16]}{rescored}")
        elif not exact and r.same_cpu is not True and r.consistent:
            where = (f"made on {r.original.provenance.cpu!r}" if r.same_cpu is False else "the record does not name its CPU")
            a, b = r.original.history, r.rerun.history
            typer.echo(f"consistent  {title}: not bit-identical ({where}; here {r.rerun.provenance.cpu!r}), the same computation "
                       f"up to rounding: first-epoch loss {a[1].train_loss:.7g} -> {b[1].train_loss:.7g}; final test accuracy "
                       f"{a[-1].test_accuracy:.4f} -> {b[-1].test_accuracy:.4f} (later epochs drift like a change of seed)")
        else:
            differ += 1
            typer.secho(f"DIFFERS     {title}: measured hash {r.expected[:16]} -> {r.got[:16]}; {r.first_difference()}", fg=typer.colors.RED)
    if differ:
        raise typer.Exit(1)


from suite.plots_cli import app as _plot_app  # noqa: E402  (light: heavy imports happen inside the commands)

app.add_typer(_plot_app, name="plot")


def main() -> None:
    """Entry point of the ``e2ebench`` script."""
    # Before any backend is imported: keep its start-up chatter out of the user's terminal.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    from suite.store import StoreError

    try:
        app()
    except StoreError as exc:  # a committed record that does not verify: say which, never a traceback
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(1)
    except BrokenPipeError:  # e.g. `e2ebench table | head`
        sys.stderr.close()
        os._exit(0)


if __name__ == "__main__":
    main()
