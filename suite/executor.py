"""Scheduling cells: run the ones without a finished record, write each record as soon as it exists.

Local, in one process, is the default. With ``jobs > 1`` cells run in a pool of worker processes
(spawned, each training with the same threads, each seeing its share of the GPUs), for many-core machines
or several accelerators; :mod:`suite.ray_executor` runs them as Ray tasks on a cluster. Every executor
is an :class:`Executor`: it yields each cell's outcome, and only this process writes records, so an
interrupted run loses at most the cells in progress. Each cell is locked while it runs
(:mod:`suite.locks`), so concurrent runs on one results directory share the cells.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol

from tqdm.auto import tqdm

from suite import backend, steps
from suite import tensorboard as tb
from suite.api import DataUnavailable, TaskData
from suite.locks import CellClaims
from suite.plan import Cell, plan
from suite.records import Record, SuiteRef
from suite.spec import trial_label
from suite.runner import Isolation, failed_record, isolated, run_cell
from suite.spec import ResolvedTask, Suite
from suite.splits import carve_validation
from suite.store import Ledger, Store


log = logging.getLogger(__name__)


@dataclasses.dataclass
class RunReport:
    """What a suite run did."""

    cells: int = 0
    ran: int = 0
    skipped: int = 0
    elsewhere: int = 0  # recorded meanwhile by another run on the same store (see suite.locks)
    not_applicable: int = 0
    failed: list[str] = dataclasses.field(default_factory=list)
    diverged: list[str] = dataclasses.field(default_factory=list)
    unavailable: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no cell failed and every task's data was available. A diverged cell is a finished
        result (scored as diverged), not a failure."""
        return not self.failed and not self.unavailable


def load_task_data(task: ResolvedTask) -> TaskData:
    """A task's data with the protocol's validation split carved from its training data."""
    return carve_validation(task.cls(task.params).load_data(), task.cls.validation_fraction)


class _DataCache:
    """Holds the data of one task at a time (cells are planned task by task)."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._data: TaskData | None = None

    def get(self, task: ResolvedTask) -> TaskData:
        key = (task.cls.name, task.cls.version, task.params.model_dump_json())
        if key != self._key:
            self._data = None
            self._data = load_task_data(task)
            self._key = key
        assert self._data is not None
        return self._data


def describe(record: Record) -> str:
    """One line about a finished record, for the progress log."""
    if record.status == "failed":
        return f"FAILED   {record.task_label} / {record.regime_label} / seed {record.seed}: {(record.error or '').splitlines()[0]}"
    s = record.summary
    return (f"{record.status:<8} {record.task_label} / {record.regime_label} / seed {record.seed}: "
            f"test acc {s.get('test_accuracy', float('nan')):.3f} in {s.get('wall_seconds', 0.0):.1f}s")


Outcome = tuple[Cell, "Record | DataUnavailable"]


@dataclasses.dataclass(frozen=True)
class WorkerSetup:
    """What a worker process needs besides the cell: the plugin files to import, the stand-ins of
    untrusted regimes (file, descriptions), the CPU threads every cell trains with, and where each cell
    writes its TensorBoard run (by cell hash; empty without ``--tensorboard``)."""

    plugins: tuple[str, ...] = ()
    untrusted: tuple[tuple[str, list[dict[str, Any]]], ...] = ()
    threads: int = 1
    events: Mapping[str, Path] = dataclasses.field(default_factory=dict)
    reuse_steps: bool = True  # later cells of a program train through earlier cells' compiled steps (suite.steps)


class Executor(Protocol):
    """Where cells train. :func:`run_suite` calls :meth:`start` once before the first cell, then
    :meth:`outcomes` once per pass over the cells it holds, then :meth:`close`.

    ``outcomes`` draws cells from ``cells`` only as it can start them (each is locked while it is drawn,
    :mod:`suite.locks`) and yields ``(cell, record or DataUnavailable)`` as each finishes, in any order. It
    never writes a record: the caller stores them. A cell whose worker dies gets a
    :func:`suite.runner.failed_record`, and the run carries on.
    """

    def start(self) -> None: ...

    def outcomes(self, cells: Iterable[Cell], ref: SuiteRef, isolation: Isolation, setup: WorkerSetup,
                 started: Callable[[Cell], None]) -> Iterator[Outcome]: ...

    def close(self) -> None: ...


def run_suite(suite: Suite, store: Store, *, progress: bool = True, log: Callable[[str], None] | None = None,
              cells: list[Cell] | None = None, jobs: int = 1, plugins: Sequence[str | os.PathLike[str]] = (),
              isolation: Isolation | None = None, guard: Sequence[str | os.PathLike[str]] = (),
              tensorboard: str | os.PathLike[str] | None = None, executor: Executor | None = None,
              reuse_steps: bool = True) -> RunReport:
    """Run every cell of ``suite`` (or the given subset) that has no finished record in ``store``.

    Args:
        jobs: worker processes; 1 runs the cells in this process (ignored when ``executor`` is given).
        executor: where cells train (default: :class:`InProcess`, or :class:`ProcessPool` for ``jobs > 1``);
            started only when there is a cell to run.
        plugins: plugin files the workers must import (those loaded here with ``--plugin``).
        isolation: where regime code runs (default: in process, except untrusted regimes, always isolated).
        guard: directories besides the store's whose records no isolated cell may change (a leaderboard's).
        tensorboard: a log directory: each cell writes its TensorBoard run there as it trains, and a reused
            cell its stored curve once (:mod:`suite.tensorboard`). Raises ImportError, before any cell runs,
            when the ``tensorboard`` package is missing.
        reuse_steps: later cells of a program (another seed or learning rate) train through the compiled
            steps of earlier ones in the same worker (:mod:`suite.steps`; records are identical either way).
    """
    isolation = isolation or Isolation()
    isolation = dataclasses.replace(isolation, plugins=tuple(dict.fromkeys([*isolation.plugins, *(str(p) for p in plugins)])))
    cells = plan(suite) if cells is None else cells
    events: dict[str, Path] = {}
    if tensorboard is not None:
        tb.require()
        events = tb.run_dirs(tensorboard, cells)
    report = RunReport(cells=len(cells))
    if reuse_steps:
        backend.use_compilation_cache(store.root / ".cache" / "jax")
    todo = []
    for cell in cells:
        if cell.not_applicable is not None:
            report.not_applicable += 1
        elif store.is_complete(cell.hash):
            report.skipped += 1
            if events and (stored := store.get(cell.hash)) is not None:
                tb.write_record(events[cell.hash], stored)
        else:
            todo.append(cell)
    ref = SuiteRef(name=suite.name, version=suite.version, sha256=suite.sha256)
    bar = tqdm(total=len(todo), desc=f"{suite.name} {suite.version}", unit="cell", disable=not progress or not todo, dynamic_ncols=True)
    write = log or (lambda line: tqdm.write(line))
    def count(cell: Cell, record: Record) -> None:
        if record.status == "failed":
            report.failed.append(cell.title)
        elif record.status == "diverged":
            report.diverged.append(cell.title)

    def elsewhere(cell: Cell, record: Record) -> None:  # another run on this store recorded the cell meanwhile
        bar.update(1)
        report.elsewhere += 1
        count(cell, record)
        if events:
            tb.write_record(events[cell.hash], record)
        write(describe(record) + (f" ({trial_label(cell.trial)})" if cell.trial else "") + " [by another run]")

    claims = CellClaims(store, elsewhere, waiting=lambda cell: write(f"waiting  {cell.title}: another run is training it"))
    # An isolated worker without a sandbox could reach the files: every change it makes is undone.
    ledger = Ledger([store.records_dir, *(Path(g) / 'records' for g in guard)]) if any(isolated(c, isolation) for c in todo) else None
    setup = WorkerSetup(tuple(str(p) for p in plugins), tuple(_untrusted_descriptions(todo)), backend.training_threads(), events,
                        reuse_steps)
    executor = executor or (InProcess() if jobs <= 1 else ProcessPool(jobs))
    started = lambda cell: bar.set_postfix_str(cell.title, refresh=True)  # noqa: E731
    pending = todo
    try:
        if pending:
            executor.start()
        while pending:  # a second pass for the cells other runs held during the first, and so on
            taken = claims.take(pending)
            for cell, outcome in executor.outcomes(taken, ref, isolation, setup, started):
                bar.update(1)
                try:
                    if ledger is not None and (tampered := ledger.restore()):
                        write(f"TAMPER   {cell.title}: files changed while the cell ran; restored: {'; '.join(tampered[:5])}")
                        if isinstance(outcome, Record):
                            outcome = _tampered(outcome, tampered)
                    if isinstance(outcome, DataUnavailable):
                        if cell.task.label not in report.unavailable:
                            report.unavailable[cell.task.label] = str(outcome)
                            write(f"SKIPPED  {cell.task.label}: data not available (instructions at the end)")
                        continue
                    written = store.put(outcome)
                    if ledger is not None:
                        ledger.accept(written)
                finally:
                    claims.release(cell)  # after the record is stored: whoever locks it next finds the record
                report.ran += 1
                count(cell, outcome)
                write(describe(outcome) + (f" ({trial_label(cell.trial)})" if cell.trial else ""))
            pending = claims.put_off
    finally:
        try:
            if todo:
                executor.close()
        finally:
            claims.close()
            bar.close()
    return report


def _tampered(record: Record, changes: list[str]) -> Record:
    """``record`` turned into a failure: files outside its own record changed while its cell ran."""
    error = "the cell changed files it must not touch (undone by the harness): " + "; ".join(changes[:20])
    return record.model_copy(update={"status": "failed", "error": error, "summary": {}}).sealed()


def _untrusted_descriptions(cells: Sequence[Cell]) -> list[tuple[str, list[dict[str, Any]]]]:
    """What pool workers need to rebuild the stand-ins of untrusted regimes: (file, descriptions)."""
    from suite.untrusted import is_untrusted

    found: dict[str, dict[str, Any]] = {}
    for c in cells:
        if is_untrusted(c.regime.cls):
            found.setdefault(c.regime.cls.untrusted_file, {})[c.regime.cls.name] = c.regime.cls.description_data  # type: ignore[attr-defined]
    return [(f, list(d.values())) for f, d in found.items()]


class InProcess:
    """Cells train one after another in this process (the default)."""

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass

    def outcomes(self, cells: Iterable[Cell], ref: SuiteRef, isolation: Isolation, setup: WorkerSetup,
                 started: Callable[[Cell], None]) -> Iterator[Outcome]:
        return _in_process(cells, ref, isolation, setup, started)


class ProcessPool:
    """Cells train in ``jobs`` spawned worker processes; each worker sees one GPU of the visible ones,
    assigned round-robin (:func:`suite.backend.worker_environment`)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, int(jobs))

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass

    def outcomes(self, cells: Iterable[Cell], ref: SuiteRef, isolation: Isolation, setup: WorkerSetup,
                 started: Callable[[Cell], None]) -> Iterator[Outcome]:
        return _in_pool(cells, ref, self.jobs, setup, isolation)


def _in_process(todo: Iterable[Cell], ref: SuiteRef, isolation: Isolation, setup: WorkerSetup,
                started: Callable[[Cell], None]) -> Iterator[Outcome]:
    threads = setup.threads
    steps.PROCESS_CACHE.enabled = setup.reuse_steps
    if not backend.limit_threads(threads):
        log.warning("the backend already runs with another number of threads than %d: this run's results may differ "
                    "from other executors' in the last digits", threads)
    cache = _DataCache()
    unavailable: dict[str, DataUnavailable] = {}
    for cell in todo:
        started(cell)
        if cell.task.label in unavailable:
            yield cell, unavailable[cell.task.label]
            continue
        try:
            data = cache.get(cell.task)
        except DataUnavailable as exc:
            unavailable[cell.task.label] = exc
            yield cell, exc
            continue
        yield cell, run_cell(cell, ref, data, isolation, events=setup.events.get(cell.hash))


_worker_cache: _DataCache | None = None


def _init_worker(plugins: Sequence[str], threads: int, untrusted: Sequence[tuple[str, list]], reuse_steps: bool = True) -> None:
    """Prepare a worker process (pool or Ray) for its cells; its environment is already set
    (:func:`suite.backend.worker_environment`)."""
    global _worker_cache
    from suite.registry import load_plugin_file
    from suite.untrusted import register_described

    backend.configure_devices()
    backend.limit_threads(threads)
    steps.PROCESS_CACHE.enabled = reuse_steps
    for path in plugins:
        load_plugin_file(Path(path))
    for path, described in untrusted:  # stand-ins only: the untrusted code itself runs in isolated workers
        register_described(path, described)
    _worker_cache = _DataCache()


def _work(cell: Cell, ref: SuiteRef, isolation: Isolation, events: Path | None = None) -> Record | DataUnavailable:
    assert _worker_cache is not None
    try:
        data = _worker_cache.get(cell.task)
    except DataUnavailable as exc:
        return exc
    return run_cell(cell, ref, data, isolation, events=events)


def _in_pool(todo: Iterable[Cell], ref: SuiteRef, jobs: int, setup: WorkerSetup, isolation: Isolation) -> Iterator[Outcome]:
    from suite.launch import start_pool_worker

    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: no backend state is forked
    gpus = backend.visible_gpus()
    backend_name = backend.name()

    def new_pool() -> ProcessPoolExecutor:
        slots = ctx.Value("i", 0)  # each worker takes the next number: its GPU, round-robin
        return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=start_pool_worker,
                                   initargs=(slots, backend_name, gpus, list(setup.plugins), list(setup.untrusted), setup.threads,
                                             setup.reuse_steps))

    pool = new_pool()
    cells, pending = iter(todo), {}
    try:
        while True:  # cells are drawn only as workers free up: each is locked (suite.locks) only while it runs
            for cell in itertools.islice(cells, jobs - len(pending)):
                pending[pool.submit(_work, cell, ref, isolation, setup.events.get(cell.hash))] = cell
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                cell = pending.pop(future)
                try:
                    yield cell, future.result()
                except BrokenProcessPool as exc:  # a worker process died (killed, out of memory, a crash)
                    broken = True
                    yield cell, failed_record(cell, ref, f"the worker process running this cell died ({exc}); it is retried on the next run")
            if broken:  # every cell still in the dead pool failed with it; the rest go to a new pool
                for future, cell in list(pending.items()):
                    yield cell, failed_record(cell, ref, "a worker process of the pool died while this cell ran; it is retried on the next run")
                pending.clear()
                pool.shutdown(wait=True, cancel_futures=True)
                pool = new_pool()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
