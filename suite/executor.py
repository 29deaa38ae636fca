"""Scheduling cells: run the ones without a finished record, write each record as soon as it exists.

Local, in one process, is the default (cells are independent; on a CPU the backend already uses
every core). An interrupted run loses at most the cell in progress.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tqdm.auto import tqdm

from suite.api import DataUnavailable, TaskData
from suite.plan import Cell, plan
from suite.records import Record, SuiteRef
from suite.runner import run_cell
from suite.spec import ResolvedTask, Suite
from suite.store import Store


@dataclasses.dataclass
class RunReport:
    """What a suite run did."""

    cells: int = 0
    ran: int = 0
    skipped: int = 0
    not_applicable: int = 0
    failed: list[str] = dataclasses.field(default_factory=list)
    diverged: list[str] = dataclasses.field(default_factory=list)
    unavailable: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no cell failed and every task's data was available."""
        return not self.failed and not self.unavailable


class _DataCache:
    """Holds the data of one task at a time (cells are planned task by task)."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._data: TaskData | None = None

    def get(self, task: ResolvedTask) -> TaskData:
        key = (task.cls.name, task.cls.version, task.params.model_dump_json())
        if key != self._key:
            self._data = None
            self._data = task.cls(task.params).load_data()
            self._key = key
        assert self._data is not None
        return self._data


def describe(record: Record) -> str:
    """One line about a finished record, for the progress log."""
    if record.status == "failed":
        return f"FAILED   {record.task_label} / {record.regime_label} / seed {record.cell['seed']}: {(record.error or '').splitlines()[0]}"
    s = record.summary
    return (f"{record.status:<8} {record.task_label} / {record.regime_label} / seed {record.cell['seed']}: "
            f"test acc {s.get('test_accuracy', float('nan')):.3f} in {s.get('wall_seconds', 0.0):.1f}s")


def run_suite(suite: Suite, store: Store, *, progress: bool = True, log: Callable[[str], None] | None = None,
              cells: list[Cell] | None = None) -> RunReport:
    """Run every cell of ``suite`` (or the given subset) that has no finished record in ``store``."""
    cells = plan(suite) if cells is None else cells
    report = RunReport(cells=len(cells))
    todo = []
    for cell in cells:
        if cell.not_applicable is not None:
            report.not_applicable += 1
        elif store.is_complete(cell.hash):
            report.skipped += 1
        else:
            todo.append(cell)
    ref = SuiteRef(name=suite.name, version=suite.version, sha256=suite.sha256)
    cache = _DataCache()
    bar = tqdm(todo, desc=f"{suite.name} {suite.version}", unit="cell", disable=not progress or not todo, dynamic_ncols=True)
    write = log or (lambda line: tqdm.write(line))
    for cell in bar:
        bar.set_postfix_str(cell.title, refresh=True)
        if cell.task.label in report.unavailable:
            continue
        try:
            data = cache.get(cell.task)
            record = run_cell(cell, ref, data)
        except DataUnavailable as exc:
            report.unavailable[cell.task.label] = str(exc)
            write(f"SKIPPED  {cell.task.label}: data not available\n{exc}")
            continue
        store.put(record)
        report.ran += 1
        if record.status == "failed":
            report.failed.append(cell.title)
        elif record.status == "diverged":
            report.diverged.append(cell.title)
        write(describe(record))
    bar.close()
    return report
