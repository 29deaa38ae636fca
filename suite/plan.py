"""Cells: the (task, params, regime, params, seed) runs a suite asks for, each identified by a hash.

A cell's hash covers everything that determines its result (task and regime names, versions and
params, budget, the validation split, seed, probe settings, backend) and nothing else, so records are shared between
suites: a new regime reuses every baseline cell already in the results store.

A tuned suite (``[tuning]``) expands each (task, regime, seed) into one cell per trial: the trial's
learning rate is the cell's budget, its params the regime's, so a trial is an ordinary cell (cached,
resumable, parallel) and a trial equal to the untuned setting is the untuned cell itself.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from suite import backend, estimators
from suite.hashing import content_hash
from suite.splits import VALIDATION_SEED
from suite.spec import trial_label
from suite.spec import ProbeSettings, ResolvedRegime, ResolvedTask, Suite


@dataclasses.dataclass(frozen=True)
class Cell:
    """One run: a task with params and budget, a regime with params, a seed, metric settings, a backend.

    ``trial`` is the tuning setting the cell tries (e.g. ``{"learning_rate": 0.001}``), for display only: the
    budget and params already hold it, so it is not part of the key (nor of equality).
    """

    task: ResolvedTask
    regime: ResolvedRegime
    seed: int
    probe: ProbeSettings
    backend: str
    not_applicable: str | None = None
    trial: dict[str, Any] | None = dataclasses.field(default=None, compare=False)

    def key(self) -> dict[str, Any]:
        """Everything that determines the cell's result, as plain data."""
        return {
            "task": {
                "name": self.task.cls.name,
                "version": self.task.cls.version,
                "params": self.task.params.model_dump(mode="json"),
            },
            "budget": self.task.budget.model_dump(mode="json"),
            # the protocol's validation split: which training examples the regime never sees
            "validation": {"fraction": self.task.cls.validation_fraction, "seed": VALIDATION_SEED},
            "regime": {
                "name": self.regime_identity[0],
                "version": self.regime_identity[1],
                "params": self.regime.params.model_dump(mode="json"),
            },
            "seed": self.seed,
            "probe": probe_key(self.probe),
            "backend": self.backend,
        }

    @property
    def program(self) -> str:
        """The cell's key without its seed and learning rate, as text: cells sharing it train the same
        program (:mod:`suite.steps` reuses its compiled steps across them)."""
        key = self.key()
        del key["seed"]
        key["budget"].pop("learning_rate", None)
        return json.dumps(key, sort_keys=True)

    @property
    def regime_identity(self) -> tuple[str, str]:
        """The regime's ``(name, version)`` in the cell's key: its own, or the one it declares its records
        were made under (``Regime.recorded_as``)."""
        return self.regime.cls.recorded_as or (self.regime.cls.name, self.regime.cls.version)

    @property
    def hash(self) -> str:
        """Content hash of :meth:`key`; the record's file name."""
        return content_hash(self.key())

    @property
    def title(self) -> str:
        """Short human-readable name, e.g. ``digits-mlp / layerwise / seed 0`` (``... / seed 0 / lr=0.001`` for a trial)."""
        return f"{self.task.label} / {self.regime.label} / seed {self.seed}" + (f" / {trial_label(self.trial)}" if self.trial else "")


def probe_key(probe: ProbeSettings) -> dict[str, Any]:
    """The probe settings as they enter a cell's hash, with the estimators' versions when enabled."""
    key = probe.model_dump(mode="json")
    if probe.enabled:  # a new estimator version must not reuse records of the old one
        key["estimator_versions"] = estimators.versions(probe.estimators)
    return key


def plan(suite: Suite, backend_name: str | None = None) -> list[Cell]:
    """Cross tasks x regimes x seeds (x trials, in grid order) into cells, marking those a regime cannot run
    as not applicable."""
    name = backend_name or backend.name()
    probe = suite.metrics.probe
    cells = []
    for task in suite.tasks:
        task_obj = task.cls(task.params)
        for regime in suite.regimes:
            variants = [(t, r, trial, not_applicable(task_obj, r)) for t, r, trial in trial_variants(task, regime)]
            for seed in suite.seeds:
                for t, r, trial, reason in variants:
                    cells.append(Cell(t, r, seed, probe, name, reason, trial))
    return cells


def trial_variants(task: ResolvedTask, regime: ResolvedRegime) -> list[tuple[ResolvedTask, ResolvedRegime, dict[str, Any] | None]]:
    """The (task, regime, trial) each trial of ``regime`` runs: the trial's learning rate in the task's budget,
    its params in the regime (label unchanged); ``[(task, regime, None)]`` when the regime is untuned."""
    if not regime.trials:
        return [(task, regime, None)]
    out = []
    for trial in regime.trials:
        budget = task.budget if trial.learning_rate is None else task.budget.model_copy(update={"learning_rate": trial.learning_rate})
        out.append((dataclasses.replace(task, budget=budget), dataclasses.replace(regime, params=trial.params), trial.as_dict()))
    return out


def not_applicable(task_obj: Any, regime: ResolvedRegime) -> str | None:
    """Why ``regime`` cannot run ``task_obj`` (shown as n/a), or None."""
    if regime.cls.uses_module_targets and not task_obj.provides_module_targets:
        return f"{regime.cls.name} trains on module targets, which {task_obj.name} does not provide"
    return regime.cls(regime.params).supports(task_obj)
