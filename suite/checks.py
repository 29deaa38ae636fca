"""``check_regime``: the conformance battery every regime must pass (built-in, plugin or submitted).

It trains the regime twice on a tiny, embedded task (a few seconds on a CPU) and checks that it:

* ``declares``: a name, a version, a description, a citation, a docstring, default params, and a
  ``supports`` that answers ``None`` or a reason;
* ``runs``: trains without raising and without a non-finite loss;
* ``reports every epoch``: one ``report_epoch`` per budget epoch, with examples counted;
* ``respects the budget``: processes at most ``epochs x training examples`` (``budget_used <= 1``);
* ``learns``: ends above chance by a margin;
* ``is deterministic``: the same seed gives the same learning curve (losses and accuracies);
* ``writes no files``: the working directory is left untouched (a regime never writes files).

Use it in a regime's tests::

    from suite.checks import check_regime
    check_regime(MyRegime).raise_for_failures()

``e2ebench submit`` runs it before the suite's cells.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from suite import protocol
from suite.api import Params, Regime
from suite.records import Record, SuiteRef

#: Tiny tasks tried in order; the first one the regime supports is used.
TINY_TASKS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("digits-mlp", {"depth": 2, "width": 64}),
    ("digits-cnn", {"depth": 2, "width": 16}),
)
TINY_BUDGET = {"epochs": 4, "batch_size": 64, "learning_rate": 0.003}


class ConformanceError(AssertionError):
    """A regime failed one or more conformance checks; ``str()`` lists them."""


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The outcome of one check."""

    name: str
    passed: bool
    message: str = ""
    skipped: bool = False

    def line(self) -> str:
        mark = "skip" if self.skipped else ("ok" if self.passed else "FAIL")
        return f"[{mark:>4}] {self.name}" + (f": {self.message}" if self.message else "")


@dataclasses.dataclass
class CheckReport:
    """All check results of one regime."""

    regime: str
    results: list[CheckResult]
    task: str | None = None

    @property
    def ok(self) -> bool:
        """True when no check failed (skipped checks do not fail)."""
        return all(r.passed or r.skipped for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not (r.passed or r.skipped)]

    def format(self) -> str:
        """One line per check."""
        head = f"conformance checks of regime {self.regime!r}" + (f" on {self.task}" if self.task else "")
        return "\n".join([head, *("  " + r.line() for r in self.results)])

    def raise_for_failures(self) -> None:
        """Raise :class:`ConformanceError` listing the failed checks, if any."""
        if not self.ok:
            raise ConformanceError(self.format())


def check_regime(
    cls: type[Regime],
    params: Params | dict[str, Any] | None = None,
    *,
    tasks: Sequence[tuple[str, dict[str, Any]]] = TINY_TASKS,
    budget: dict[str, Any] | None = None,
    seed: int = 0,
    margin: float = 0.15,
) -> CheckReport:
    """Run the conformance battery on the regime class ``cls`` (see the module docstring).

    Args:
        cls: the regime class (registered or not).
        params: its params (a ``cls.Params`` instance or a dict; default: the defaults).
        tasks: ``(task name, params)`` candidates; the first the regime supports is used.
        budget: overrides of the tiny task's budget (default :data:`TINY_BUDGET`).
        seed: the seed of both runs.
        margin: how far above the task's chance level the final test accuracy must be.
    """
    name = getattr(cls, "name", None) or getattr(cls, "__name__", repr(cls))
    report = CheckReport(regime=str(name), results=[])
    declared = _check_declarations(cls, params, tasks)
    report.results.append(declared)
    if not declared.passed:
        return report
    regime_params = params if isinstance(params, Params) else cls.Params.model_validate(params or {})

    cell = _tiny_cell(cls, regime_params, tasks, {**TINY_BUDGET, **(budget or {})}, seed)
    if isinstance(cell, str):
        report.results.append(CheckResult("runs", False, cell, skipped=True))
        return report
    report.task = cell.task.label
    from suite.executor import load_task_data

    data = load_task_data(cell.task)

    with _empty_working_dir() as workdir:
        first = _run(cell, data)
        written = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*"))
    if first.status != "ok":
        reason = (first.error or "").strip().splitlines()
        report.results.append(CheckResult("runs", False, f"{first.status}: {reason[0] if reason else ''}"
                                          + (f" ... {reason[-1]}" if len(reason) > 1 else "")))
        return report
    report.results.append(CheckResult("runs", True))
    report.results.append(_check_epochs(first, cell.task.budget.epochs))
    report.results.append(_check_budget(first))
    report.results.append(_check_learns(first, margin))
    with _empty_working_dir():
        second = _run(cell, data)
    report.results.append(_check_deterministic(first, second))
    report.results.append(CheckResult("writes no files", not written,
                                      "" if not written else "wrote into the working directory: " + ", ".join(written[:5])))
    return report


def _check_declarations(cls: Any, params: Any, tasks: Sequence[tuple[str, dict[str, Any]]]) -> CheckResult:
    problems = []
    if not (isinstance(cls, type) and issubclass(cls, Regime)):
        return CheckResult("declares", False, f"{cls!r} is not a subclass of suite.api.Regime")
    for attr in ("name", "version", "description", "citation"):
        if not getattr(cls, attr, None):
            problems.append(f"class attribute {attr!r} is missing or empty")
    if not (cls.__doc__ or "").strip():
        problems.append("the class has no docstring (it should describe the method and cite its paper)")
    try:
        p = params if isinstance(params, Params) else cls.Params.model_validate(params or {})
        regime = cls(p)
    except Exception as exc:  # noqa: BLE001  (any error here is the regime's)
        problems.append(f"cannot be built with {'default' if params is None else 'the given'} params: {exc}")
        return CheckResult("declares", False, "; ".join(problems))
    from suite import registry

    task_cls = registry.tasks.get(tasks[0][0])
    try:
        answer = regime.supports(task_cls(task_cls.Params.model_validate(tasks[0][1])))
        if answer is not None and not isinstance(answer, str):
            problems.append(f"supports() must return None or a reason (str), got {answer!r}")
    except Exception as exc:  # noqa: BLE001
        problems.append(f"supports() raised {type(exc).__name__}: {exc}")
    return CheckResult("declares", not problems, "; ".join(problems))


def _tiny_cell(cls: type[Regime], params: Params, tasks: Sequence[tuple[str, dict[str, Any]]],
               budget: dict[str, Any], seed: int):
    """The first tiny cell the regime supports, or the reasons it supports none."""
    from suite import backend
    from suite.api import Budget
    from suite.plan import Cell, not_applicable
    from suite.registry import tasks as task_registry
    from suite.spec import ProbeSettings, ResolvedRegime, ResolvedTask

    reasons = []
    for task_name, task_params in tasks:
        task_cls = task_registry.get(task_name)
        task_obj = task_cls(task_cls.Params.model_validate(task_params))
        resolved = ResolvedRegime(cls, params, cls.name)
        reason = not_applicable(task_obj, resolved)
        if reason is not None:
            reasons.append(f"{task_name}: {reason}")
            continue
        full_budget = Budget.model_validate({**task_cls.default_budget.model_dump(), **budget})
        probe = ProbeSettings(probe_size=100, estimators=["nhsic"])
        return Cell(ResolvedTask(task_cls, task_obj.params, full_budget), resolved, seed, probe, backend.name())
    return "the regime supports none of the tiny check tasks (" + "; ".join(reasons) + "); pass tasks=[...]"


def _run(cell: Any, data: Any) -> Record:
    from suite.runner import run_cell

    return run_cell(cell, SuiteRef(name="check-regime", version="0.0", sha256=""), data)


def _check_epochs(record: Record, epochs: int) -> CheckResult:
    if (problem := protocol.epochs_problem(record, epochs)) is not None:
        return CheckResult("reports every epoch", False, problem)
    counts = [h.examples for h in record.history]
    if any(b <= a for a, b in zip(counts, counts[1:])):
        return CheckResult("reports every epoch", False, "an epoch report counted no training examples")
    return CheckResult("reports every epoch", True)


def _check_budget(record: Record) -> CheckResult:
    problem = protocol.budget_problem(record)
    return CheckResult("respects the budget", problem is None, problem or f"used {record.summary['budget_used']:.2f} x the budget's training examples")


def _check_learns(record: Record, margin: float) -> CheckResult:
    acc = record.summary.get("test_accuracy")
    chance = record.chance_level or 0.0
    ok = acc is not None and acc >= chance + margin
    return CheckResult("learns", ok, f"test accuracy {acc if acc is None else round(acc, 3)} vs chance {chance:.3f} + margin {margin}")


def _check_deterministic(a: Record, b: Record) -> CheckResult:
    def curve(r: Record) -> list[tuple[Any, ...]]:
        return [(h.train_loss, h.train_accuracy, h.test_accuracy, h.examples, h.steps) for h in r.history]

    if b.status != a.status:
        return CheckResult("is deterministic", False, f"first run {a.status}, second run {b.status}")
    ca, cb = curve(a), curve(b)
    if ca != cb:
        first = next(i for i, (x, y) in enumerate(zip(ca, cb)) if x != y) if len(ca) == len(cb) else min(len(ca), len(cb))
        return CheckResult("is deterministic", False, f"two runs with seed {a.seed} differ from epoch {first} on "
                                                      "(draw randomness from the seeded backend or from ctx.seed)")
    return CheckResult("is deterministic", True)


@contextlib.contextmanager
def _empty_working_dir() -> Iterator[Path]:
    """Run the body in a fresh empty directory, then return to where we were."""
    before = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="e2ebench-check-") as tmp:
        os.chdir(tmp)
        try:
            yield Path(tmp)
        finally:
            os.chdir(before)
