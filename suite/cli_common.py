"""What every ``e2ebench`` command shares: option types, the one way to fail, and loading a suite.

Kept apart from ``suite.cli`` so command groups (``suite.plots_cli``) use it without importing the
main command line, and without importing a backend.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

ResultsOpt = Annotated[Path, typer.Option("--results", "-r", help="results directory (records are stored in RESULTS/records)")]
PluginOpt = Annotated[Optional[list[Path]], typer.Option("--plugin", "-p", help="Python file registering extra tasks, regimes, report sections, estimators or scores (repeatable)")]
BackendOpt = Annotated[Optional[str], typer.Option("--backend", help="show records made with this Keras backend (default: the active one)")]
SuiteOrBoardArg = Annotated[Optional[str], typer.Argument(help="suite file path, a shipped suite's name, or a leaderboard directory (default: 'default')")]
SuiteArg = Annotated[Optional[str], typer.Argument(help="suite file path, or the name of a shipped suite (default: 'default')")]
DataDirOpt = Annotated[Optional[Path], typer.Option("--data-dir", help="directory of prepared TFDS datasets (default: data_dir in the suite file, then $TFDS_DATA_DIR, then ~/tensorflow_datasets)")]
UntrustedOpt = Annotated[Optional[list[Path]], typer.Option("--untrusted", help="Python file registering regimes to run as untrusted code: described and trained only in isolated workers, never imported here (repeatable)")]
IsolateOpt = Annotated[bool, typer.Option("--isolate/--in-process", help="run every cell's regime code in an isolated worker process (untrusted regimes always are)")]
SandboxOpt = Annotated[Optional[bool], typer.Option("--sandbox/--no-sandbox", help="run isolated workers under bubblewrap (default: when it is installed and works)")]
CellTimeoutOpt = Annotated[Optional[float], typer.Option("--cell-timeout", min=1.0, help="seconds an isolated cell may run before it is killed and recorded as failed (implies --isolate)")]
CellMemoryOpt = Annotated[Optional[float], typer.Option("--cell-memory", min=64.0, help="MiB of resident memory an isolated cell's processes may hold (implies --isolate)")]
ThreadsOpt = Annotated[Optional[int], typer.Option("--threads", min=1, help="CPU threads per cell (default 1, or $E2EBENCH_THREADS); results depend on it, so it is recorded; use --jobs to use more cores")]
DownloadOpt = Annotated[bool, typer.Option("--download", help="download and prepare missing TFDS datasets (needs network access; without it a missing dataset is skipped with instructions)")]


class ExecutorKind(str, Enum):
    local = "local"
    ray = "ray"


ExecutorOpt = Annotated[ExecutorKind, typer.Option("--executor", help="where cells train: local (in this process, or --jobs N worker processes) or ray (one Ray task per cell, on a local Ray instance or a cluster; needs the ray extra)")]
AddressOpt = Annotated[Optional[str], typer.Option("--address", help="--executor ray: the Ray cluster, HOST:6379 (default: $RAY_ADDRESS, else a local Ray instance started for the run)")]
CpusPerCellOpt = Annotated[Optional[float], typer.Option("--cpus-per-cell", min=0.01, help="--executor ray: CPUs each cell's task asks for (default: --threads)")]
GpusPerCellOpt = Annotated[Optional[float], typer.Option("--gpus-per-cell", min=0.0, help="--executor ray: GPUs each cell's task asks for; a fraction (0.25) shares a GPU between cells (default 0)")]

ProfileAucOpt = Annotated[Optional[list[str]], typer.Option("--profile-auc", help="add a column with each regime's performance-profile area over the tasks for this score (repeatable; docs/metrics.md, \"Performance profiles\")")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="list every cell of the plan (run, reused, n/a) before starting")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="print the plan and exit 0: nothing is trained or written")]


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
    estimators = "estimators"
    reports = "reports"


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` and exit with ``code`` (2: a usage error, 1: nothing to do)."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def configure_data(spec, data_dir: Path | None, download: bool) -> None:
    """Set where tasks find datasets: --data-dir, else the suite's [data] data_dir (relative to the suite
    file), else the environment; never part of a cell's identity."""
    from tasks.datasets import options

    chosen: str | None = str(data_dir) if data_dir is not None else None
    if chosen is None and spec is not None and spec.data.data_dir:
        path = Path(os.path.expandvars(spec.data.data_dir)).expanduser()
        chosen = str(path if path.is_absolute() else Path(spec.source).parent / path)
    options.configure(data_dir=chosen or options.current().data_dir, download=download or options.current().download)


def load(suite: str | None, plugins: list[Path] | None, untrusted: list[Path] | None = None, sandbox: bool | None = None):
    """Load plugins, describe untrusted regime files (in isolated workers) and load the suite, turning user
    errors into one clear message."""
    from suite.registry import RegistryError, load_plugin_file
    from suite.spec import SpecError, load_suite

    errors: tuple[type[Exception], ...] = (SpecError, RegistryError)
    try:
        for p in plugins or []:
            load_plugin_file(p)
        if untrusted:  # suite.untrusted imports the backend: only when there is an untrusted file
            from suite.untrusted import UntrustedError, load_untrusted, raw_task_keys

            errors += (UntrustedError,)
            for u in untrusted:
                load_untrusted(u, raw_task_keys(suite), plugins=[str(p) for p in plugins or []], sandbox=sandbox)
        return load_suite(suite)
    except errors as exc:
        fail(str(exc))


def set_threads(threads: int | None) -> None:
    """Apply ``--threads`` (inherited by worker processes through ``E2EBENCH_THREADS``)."""
    if threads is not None:
        os.environ["E2EBENCH_THREADS"] = str(threads)


def isolation(isolate: bool, sandbox: bool | None, cell_timeout: float | None, cell_memory: float | None,
              untrusted: list[Path] | None = None):
    """The :class:`suite.runner.Isolation` the command-line options ask for (also checks a required sandbox)."""
    from suite.runner import Isolation
    from suite.sandbox import Limits, bubblewrap

    if sandbox is True and bubblewrap() is None:
        fail("--sandbox: bubblewrap (bwrap) is not installed or cannot create a sandbox here "
             "(Debian/Ubuntu: apt-get install bubblewrap)")
    enabled = isolate or cell_timeout is not None or cell_memory is not None
    if (enabled or untrusted) and sandbox is None and bubblewrap() is None:
        typer.secho("note: bubblewrap is not available: isolated workers run without a sandbox (no test data, no "
                    "store handed to them, store changes undone; see docs/submitting.md)", err=True, fg=typer.colors.YELLOW)
    return Isolation(enabled=enabled, sandbox=sandbox, limits=Limits(timeout=cell_timeout, memory_mb=cell_memory))




def executor_for(kind: ExecutorKind, jobs: int, address: str | None, cpus_per_cell: float | None,
                 gpus_per_cell: float | None):
    """The :class:`suite.executor.Executor` the ``run`` options ask for (None: the local default for ``jobs``);
    fails before any cell when the options do not fit together or Ray is not installed."""
    ray_only = [name for name, value in (("--address", address), ("--cpus-per-cell", cpus_per_cell),
                                         ("--gpus-per-cell", gpus_per_cell)) if value is not None]
    if kind is ExecutorKind.local:
        if ray_only:
            fail(f"{', '.join(ray_only)}: only with --executor ray")
        return None
    if jobs > 1:
        fail("--jobs is for the local executor; with --executor ray the cluster's CPUs and GPUs, and --cpus-per-cell "
             "and --gpus-per-cell, decide how many cells train at once")
    from suite.ray_executor import RayExecutor, RayUnavailable

    try:
        return RayExecutor(address, cpus_per_cell=cpus_per_cell, gpus_per_cell=gpus_per_cell or 0.0)
    except RayUnavailable as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(f"--gpus-per-cell: {exc}")


def check_metrics(metrics: list[str], option: str = "--metric") -> None:
    """Fail with the closest names when a ``--metric`` (or ``option``) is not a declared score."""
    from suite.registry import RegistryError
    from suite.scores import check_score_names

    try:
        check_score_names(metrics)
    except RegistryError as exc:
        fail(f"{option}: {exc}")


def check_profile_scores(scores: list[str], option: str = "--profile-auc") -> None:
    """Fail when a ``--profile-auc`` (or ``option``) score is unknown or has no better direction."""
    check_metrics(scores, option)
    from suite.scores import score_of

    for name in scores:
        if score_of(name).direction == "neutral":
            fail(f"{option}: {name} is a neutral score; a performance profile needs one with a better direction")


def require_records(store_root: Path, what: str, hint: str | None = None) -> None:
    """Fail when ``store_root`` holds no records directory."""
    records = Path(store_root) / "records"
    if not records.is_dir():
        fail(f"{what}: no records in {records}" + (f"; {hint}" if hint else ""))


def suite_results(suite: str | None, results: Path, plugins: list[Path] | None = None, backend_name: str | None = None,
                  select: bool = True):
    """The results a command shows and the suite they belong to (``{"name": ..., "version": ...}``).

    ``suite`` may be a leaderboard directory (``leaderboard/official-2.0``), and ``results`` may be one: a
    leaderboard version is read as its manifest froze it (no suite file needed), any other results directory by
    the cells the suite plans. ``select=False`` keeps every trial of a tuned suite (default: the selected one
    of each task x regime x seed)."""
    from suite import leaderboard as lb
    from suite.results import ResultSet
    from suite.store import Store

    def shown(board: lb.Leaderboard):
        return board.results if select else board.trials, {"name": board.suite["name"], "version": board.suite["version"]}

    if suite and lb.manifest_path(Path(suite)).is_file():
        return shown(lb.load(Path(suite)))
    spec = load(suite, plugins)
    if lb.manifest_path(results).is_file():
        board = lb.load(results)
        if board.suite["name"] != spec.name:
            fail(f"--results: {results} is the leaderboard of suite {board.suite['name']}, not {spec.name}")
        return shown(board)
    require_records(results, "--results", f"run `e2ebench run {spec.name} --results {results}` first")
    return ResultSet.from_suite(spec, Store(results), backend_name, select), {"name": spec.name, "version": spec.version}
