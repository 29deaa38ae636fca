"""What a run will do before it starts: which cells it trains, which it reuses, which are not applicable.

``e2ebench run`` and ``e2ebench submit`` print this plan first (``--dry-run`` prints only the plan). It
is made by reading the store without changing it: a record that does not verify is counted as a cell
to run again (the run itself then quarantines the file), and a ``failed`` record as one to retry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from suite.plan import Cell
from suite.store import COMPLETE, Problem, Store

RUN = "run"  # no record yet
RETRY = "retry"  # its record is ``failed``
REDO = "redo"  # its record does not verify (it will be quarantined)
REUSED = "reused"  # a finished record (``ok`` or ``diverged``)
NOT_APPLICABLE = "n/a"


@dataclasses.dataclass(frozen=True)
class Step:
    """One cell of a plan and what the run does with it; ``why`` says why it is retried, redone or n/a."""

    cell: Cell
    action: str
    why: str = ""

    @property
    def trains(self) -> bool:
        return self.action in (RUN, RETRY, REDO)


@dataclasses.dataclass(frozen=True)
class Schedule:
    """The plan of one run, in the order the cells are planned."""

    steps: tuple[Step, ...]

    def count(self, *actions: str) -> int:
        return sum(s.action in actions for s in self.steps)

    @property
    def to_run(self) -> list[Cell]:
        """The cells the run trains."""
        return [s.cell for s in self.steps if s.trains]

    def summary(self, where: str = "the store") -> str:
        """One line: ``plan: 4 cells to run (1 retried), 2 reused from WHERE, 0 not applicable``."""
        extra = [f"{n} {label}" for n, label in ((self.count(RETRY), "retried after failing"),
                                                 (self.count(REDO), "redone: their records do not verify")) if n]
        runs = self.count(RUN, RETRY, REDO)
        return (f"plan: {runs} cell{'s' if runs != 1 else ''} to run{' (' + ', '.join(extra) + ')' if extra else ''}, "
                f"{self.count(REUSED)} reused from {where}, {self.count(NOT_APPLICABLE)} not applicable")

    def lines(self) -> list[str]:
        """One line per cell: action, title, cell hash and the reason, if any."""
        return [f"  {s.action:<7} {s.cell.title}  [{s.cell.hash[:12]}]" + (f": {s.why}" if s.why else "") for s in self.steps]

    def format(self, where: str = "the store", verbose: bool = False) -> str:
        return "\n".join([self.summary(where), *(self.lines() if verbose else [])])


def schedule(cells: Sequence[Cell], store: Store) -> Schedule:
    """What a run of ``cells`` against ``store`` does (reads records, changes nothing)."""
    steps = []
    for cell in cells:
        if cell.not_applicable is not None:
            steps.append(Step(cell, NOT_APPLICABLE, cell.not_applicable))
            continue
        found = store.peek(cell.hash)
        if found is None:
            steps.append(Step(cell, RUN))
        elif isinstance(found, Problem):
            steps.append(Step(cell, REDO, f"its record does not verify ({found.reason})"))
        elif found.status in COMPLETE:
            steps.append(Step(cell, REUSED, "diverged" if found.status == "diverged" else ""))
        else:
            steps.append(Step(cell, RETRY, f"its record is {found.status}"))
    return Schedule(tuple(steps))
