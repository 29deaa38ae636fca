"""The protocol's splits: a fixed, stratified, seeded validation split carved from a task's training data.

Every task's training split is divided once, the same way for every cell, regime and seed: a
validation split of ``Task.validation_fraction`` of the training examples (stratified by label, drawn
with :data:`VALIDATION_SEED`) and the rest, which is all a regime trains on. Model selection, targets,
time to target and early stopping read the validation split; the test split is only reported.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from suite.api import Split, TaskData

VALIDATION_SEED = 0


def stratified_indices(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """``size`` indices of ``y`` drawn without replacement, class proportions kept, sorted."""
    y = np.asarray(y)
    if size >= len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    quota = np.floor(counts / counts.sum() * size).astype(int)
    # hand the remainder to the classes with the largest fractional parts
    remainder = size - quota.sum()
    frac = counts / counts.sum() * size - quota
    quota[np.argsort(-frac, kind="stable")[:remainder]] += 1
    picks = [rng.choice(np.flatnonzero(y == c), size=q, replace=False) for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(picks))


def validation_size(n_train: int, fraction: float) -> int:
    """Validation examples for a training split of ``n_train`` (at least one, never all)."""
    return min(max(int(round(fraction * n_train)), 1), n_train - 1)


def carve_validation(data: TaskData, fraction: float, seed: int = VALIDATION_SEED) -> TaskData:
    """``data`` with ``fraction`` of its training examples moved to a validation split (stratified by
    label; module targets' training splits lose the same examples)."""
    if data.validation is not None:
        raise ValueError("the data already has a validation split")
    n = len(data.train)
    held_out = stratified_indices(_stratum(data.train.y), validation_size(n, fraction), seed)
    keep = np.ones(n, dtype=bool)
    keep[held_out] = False
    targets = {name: dataclasses.replace(t, train=_take(t.train, keep)) for name, t in data.module_targets.items()}
    return dataclasses.replace(data, train=_take(data.train, keep), validation=_take(data.train, ~keep), module_targets=targets)


def _take(split: Split, rows: np.ndarray) -> Split:
    return Split(split.x[rows], split.y[rows])


def _stratum(y: np.ndarray) -> np.ndarray:
    """One stratum label per example (labels of shape (n, ...) are flattened to their first value)."""
    y = np.asarray(y)
    return y.reshape(len(y), -1)[:, 0] if y.ndim > 1 else y


__all__ = ["VALIDATION_SEED", "carve_validation", "stratified_indices", "validation_size"]
