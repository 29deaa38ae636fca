"""Checking records: integrity (``e2ebench verify``) and reproducibility (``e2ebench reproduce``).

* :func:`verify` checks every record file under a results or leaderboard directory: it parses, its
  ``record_hash`` matches its content, its ``result_hash`` (when present) matches its deterministic
  part, and it sits in the file named by its ``cell_hash``. A leaderboard directory's manifest must
  also list only records that exist and verify. Nothing is moved.
* :func:`reproduce` rebuilds a record's cell from the record alone (task, regime, versions, params,
  budget, seed, probe), trains it again with the record's thread count, and compares what both runs
  measured: the result hash less the information-plane summaries, which every reader recomputes from
  the record's trajectories with the current definitions (:func:`suite.plane.is_summary`), so a record
  sealed before a definition changed still reproduces when its training and probes do.

  Bit-identical results need the same CPU model (kernels differ in rounding between instruction sets; the
  record's ``provenance.cpu``). On another CPU, or for a record that does not name its CPU, a re-run that
  is not identical is *consistent* when it is the same computation up to rounding: the same status,
  parameter count and number of epochs; the same initialization (its test accuracy within one test
  example, its probe within a relative :data:`INITIAL_PROBE_RTOL`); and a first-epoch training loss within
  a relative :data:`FIRST_EPOCH_RTOL` of the original's (rounding moved it by up to 7e-5 between two CPU
  models, on a batch-normalized MLP with dropout; a changed learning rate or loss by much more). Later
  epochs are not compared: rounding differences
  grow with training like a change of seed (between two CPU models, 84 of the 105 shared ``digits-mlp``
  cells of the official 2.0 and 3.0 leaderboards ended with the same test accuracy, and one
  direct-feedback-alignment cell moved by 0.089), which a test over seeds judges (``e2ebench gate``), not
  one cell.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from suite import backend, plane, registry
from suite.records import RESULT_HASH_EXCLUDES, Record, SuiteRef
from suite.store import Problem, Store, check_file


@dataclasses.dataclass
class VerifyReport:
    """What :func:`verify` found."""

    checked: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: str | Path) -> VerifyReport:
    """Check every record under ``path`` (a results store, a leaderboard directory or one record file)."""
    path = Path(path)
    report = VerifyReport()
    if path.is_file():
        found = check_file(path)
        report.checked = 1
        if isinstance(found, Problem):
            report.problems.append(str(found))
        return report
    store = Store(path, quarantine=False)
    if not store.records_dir.is_dir():
        report.problems.append(f"{path}: no records directory ({store.records_dir})")
        return report
    for file in store.files():
        found = check_file(file)
        report.checked += 1
        if isinstance(found, Problem):
            report.problems.append(str(found))
    from suite import leaderboard
    from suite.store import StoreError

    if leaderboard.manifest_path(path).is_file():  # every listed cell must have its listed, verified record
        try:
            leaderboard.load(path)
        except (StoreError, ValueError, KeyError) as exc:
            report.problems.append(f"{leaderboard.manifest_path(path)}: {exc}")
    return report


class ReproduceError(ValueError):
    """A record whose cell this installation cannot rebuild; ``str()`` says why."""


def cell_of(record: Record) -> Any:
    """The :class:`suite.plan.Cell` a record was produced for, rebuilt from its ``cell`` key; raises
    :class:`ReproduceError` when a task or regime is missing or has another version here."""
    from suite.api import Budget
    from suite.plan import Cell
    from suite.spec import ProbeSettings, ResolvedRegime, ResolvedTask

    key = record.cell
    classes = []
    for what, reg in (("task", registry.tasks), ("regime", registry.regimes)):
        entry = key[what]
        if entry["name"] not in reg:
            raise ReproduceError(f"the record's {what} {entry['name']!r} is not registered here (pass its --plugin)")
        cls = reg.get(entry["name"])
        if cls.version != entry["version"]:
            raise ReproduceError(f"the record's {what} {entry['name']} is version {entry['version']}, this e2ebench has {cls.version}")
        classes.append(cls)
    task_cls, regime_cls = classes
    if key.get("backend") != backend.name():
        raise ReproduceError(f"the record was made on the {key.get('backend')} backend, this process runs {backend.name()} (set KERAS_BACKEND)")
    probe = {k: v for k, v in key["probe"].items() if k != "estimator_versions"}
    task = ResolvedTask(task_cls, task_cls.Params.model_validate(key["task"]["params"]), Budget.model_validate(key["budget"]))
    regime = ResolvedRegime(regime_cls, regime_cls.Params.model_validate(key["regime"]["params"]), record.regime_label)
    cell = Cell(task, regime, int(key["seed"]), ProbeSettings.model_validate(probe), key["backend"])
    if cell.hash != record.cell_hash:
        raise ReproduceError(f"the cell rebuilt from the record hashes to {cell.hash}, not {record.cell_hash} "
                             "(estimator versions or the validation split differ in this e2ebench)")
    return cell


def _derived(*records: Record) -> set[str]:
    """The information-plane summaries ``records`` store: derived from their probes, recomputed by every reader."""
    return {name for record in records for name in record.summary if plane.is_summary(name)}


def measured_hash(record: Record) -> str:
    """The result hash of ``record`` less its derived information-plane summaries: what the cell measured."""
    return record.compute_result_hash(varying_scores=RESULT_HASH_EXCLUDES | _derived(record))


#: the largest relative difference of the first epoch's training loss between a record and its re-run on
#: another CPU for the re-run to count as the same computation (see the module docstring)
FIRST_EPOCH_RTOL = 1e-3
#: the same for the information-plane probe of the initialization (epoch 0): rounding moves it by about
#: 1e-14, another initialization (a changed seed, model or probe set) by far more than this
INITIAL_PROBE_RTOL = 1e-6


@dataclasses.dataclass
class Reproduction:
    """A record and its re-run (here, on ``cpu``)."""

    original: Record
    rerun: Record

    @property
    def same_cpu(self) -> bool | None:
        """Whether the re-run ran on the CPU model the record names (None: the record does not name one)."""
        made_on = self.original.provenance.cpu
        return None if made_on is None else made_on == self.rerun.provenance.cpu

    @property
    def consistent(self) -> bool:
        """Not identical, but the same computation up to floating-point rounding (see the module docstring);
        only meaningful when :attr:`same_cpu` is not True."""
        a, b = self.original, self.rerun
        if a.status != b.status or a.num_params != b.num_params or len(a.history) != len(b.history) or len(a.history) < 2:
            return False
        start, restart = a.history[0], b.history[0]
        n_test = a.splits.test if a.splits is not None and a.splits.test else None
        if n_test is None or abs(start.test_accuracy - restart.test_accuracy) > 1.0 / n_test + 1e-12:
            return False  # the initialization classifies differently: not the same network
        if start.probe and restart.probe and not _close(start.probe, restart.probe, INITIAL_PROBE_RTOL):
            return False
        first, again = a.history[1].train_loss, b.history[1].train_loss
        if first is None or again is None:
            return first == again
        return abs(first - again) <= FIRST_EPOCH_RTOL * max(abs(first), 1e-12)

    @property
    def expected(self) -> str:
        """The original's measured hash (:func:`measured_hash`)."""
        return measured_hash(self.original)

    @property
    def got(self) -> str:
        """The re-run's measured hash."""
        return measured_hash(self.rerun)

    @property
    def identical(self) -> bool:
        return self.expected == self.got

    @property
    def rescored(self) -> list[str]:
        """Derived summaries whose stored value differs from this e2ebench's definition (read recomputed)."""
        a, b = self.original.summary, self.rerun.summary
        return sorted(k for k in _derived(self.original, self.rerun) if a.get(k) != b.get(k))

    def first_difference(self) -> str | None:
        """Where the two runs first differ, in words (None if they do not)."""
        if self.identical:
            return None
        if self.original.status != self.rerun.status:
            return f"status {self.original.status} -> {self.rerun.status}: {(self.rerun.error or '').splitlines()[:1]}"
        for a, b in zip(self.original.history, self.rerun.history):
            for name in ("train_loss", "test_accuracy", "val_accuracy", "examples"):
                if getattr(a, name) != getattr(b, name):
                    return f"epoch {a.epoch}: {name} {getattr(a, name)!r} -> {getattr(b, name)!r}"
        if len(self.original.history) != len(self.rerun.history):
            return f"{len(self.original.history)} epochs -> {len(self.rerun.history)}"
        fields = _differing_fields(self.original, self.rerun)
        return "the learning curves agree; differs: " + (", ".join(fields[:5]) + (" ..." if len(fields) > 5 else "") if fields else "?")


def _close(x: Any, y: Any, rtol: float) -> bool:
    """Whether two probe measurements agree: numbers within ``rtol`` (relative), everything else equal
    (timings left out)."""
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_close(x[k], y[k], rtol) for k in x if k != "seconds")
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_close(u, v, rtol) for u, v in zip(x, y))
    if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
        return abs(x - y) <= rtol * max(abs(x), abs(y), 1e-12)
    return x == y


def _differing_fields(a: Record, b: Record) -> list[str]:
    """Dotted paths of the measured fields (probes, notes, summary, parameters) where ``a`` and ``b`` differ."""
    out: list[str] = []

    def walk(x: Any, y: Any, path: str) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y), key=str):
                if k != "seconds":
                    walk(x.get(k), y.get(k), f"{path}.{k}" if path else str(k))
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{path}[{i}]")
        elif x != y:
            out.append(path)

    skip = RESULT_HASH_EXCLUDES | _derived(a, b)
    da, db = a.model_dump(mode="json"), b.model_dump(mode="json")
    for name in ("num_params", "notes", "reinitialization"):
        walk(da.get(name), db.get(name), name)
    walk([h.probe for h in a.history], [h.probe for h in b.history], "probe")
    walk({k: v for k, v in a.summary.items() if k not in skip}, {k: v for k, v in b.summary.items() if k not in skip}, "summary")
    return out


def reproduce(path: str | Path, isolation: Any = None) -> Reproduction:
    """Re-run the cell of the record in ``path`` and compare result hashes (see the module docstring)."""
    from suite.executor import load_task_data
    from suite.runner import Isolation, run_cell

    path = Path(path)
    found = check_file(path)
    if isinstance(found, Problem):
        raise ReproduceError(str(found))
    threads = found.provenance.threads or 1  # records before schema 4: the official ones trained on 1 thread
    if not backend.limit_threads(threads):
        raise ReproduceError(f"the record trained with {threads} threads and this process cannot switch to them "
                             "(run e2ebench reproduce in a fresh process)")
    cell = cell_of(found)
    suite = SuiteRef(name=found.suite.name, version=found.suite.version, sha256=found.suite.sha256)
    rerun = run_cell(cell, suite, load_task_data(cell.task), isolation or Isolation())
    return Reproduction(found, rerun)


def as_json(report: VerifyReport) -> str:
    """The report as JSON (for CI logs)."""
    return json.dumps(dataclasses.asdict(report), indent=1)
