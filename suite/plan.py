"""Cells: the (task, params, regime, params, seed) runs a suite asks for, each identified by a hash.

A cell's hash covers everything that determines its result (task and regime names, versions and
params, budget, the validation split, seed, probe settings, backend) and nothing else, so records are shared between
suites: a new regime reuses every baseline cell already in the results store.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from suite import backend, estimators
from suite.hashing import content_hash
from suite.splits import VALIDATION_SEED
from suite.spec import ProbeSettings, ResolvedRegime, ResolvedTask, Suite


@dataclasses.dataclass(frozen=True)
class Cell:
    """One run: a task with params and budget, a regime with params, a seed, metric settings, a backend."""

    task: ResolvedTask
    regime: ResolvedRegime
    seed: int
    probe: ProbeSettings
    backend: str
    not_applicable: str | None = None

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
                "name": self.regime.cls.name,
                "version": self.regime.cls.version,
                "params": self.regime.params.model_dump(mode="json"),
            },
            "seed": self.seed,
            "probe": probe_key(self.probe),
            "backend": self.backend,
        }

    @property
    def hash(self) -> str:
        """Content hash of :meth:`key`; the record's file name."""
        return content_hash(self.key())

    @property
    def title(self) -> str:
        """Short human-readable name, e.g. ``digits-mlp / layerwise / seed 0``."""
        return f"{self.task.label} / {self.regime.label} / seed {self.seed}"


def probe_key(probe: ProbeSettings) -> dict[str, Any]:
    """The probe settings as they enter a cell's hash, with the estimators' versions when enabled."""
    key = probe.model_dump(mode="json")
    if probe.enabled:  # a new estimator version must not reuse records of the old one
        key["estimator_versions"] = estimators.versions(probe.estimators)
    return key


def plan(suite: Suite, backend_name: str | None = None) -> list[Cell]:
    """Cross tasks x regimes x seeds into cells, marking those a regime cannot run as not applicable."""
    name = backend_name or backend.name()
    probe = suite.metrics.probe
    cells = []
    for task in suite.tasks:
        task_obj = task.cls(task.params)
        for regime in suite.regimes:
            reason = not_applicable(task_obj, regime)
            for seed in suite.seeds:
                cells.append(Cell(task, regime, seed, probe, name, reason))
    return cells


def not_applicable(task_obj: Any, regime: ResolvedRegime) -> str | None:
    """Why ``regime`` cannot run ``task_obj`` (shown as n/a), or None."""
    if regime.cls.uses_module_targets and not task_obj.provides_module_targets:
        return f"{regime.cls.name} trains on module targets, which {task_obj.name} does not provide"
    return regime.cls(regime.params).supports(task_obj)
