"""The information-plane probe: a fixed, stratified, seeded probe set and per-block measurements.

At each probe epoch the harness calls :meth:`Probe.measure`, which computes, for every block l,
nHSIC(X; T_l) and nHSIC(Y; T_l) (and the CKA counterparts) on the probe set. The estimator's name,
settings and the probe set's hash are written with each measurement: they are the metric's version.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from suite import metrics
from suite.api import Network, Split
from suite.records import EpochRecord

FEATURE_BATCH = 1024


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


def log_schedule(epochs: int) -> set[int]:
    """Epochs 0, 1, 2, 4, 8, ... and the last one."""
    out = {0, epochs}
    e = 1
    while e < epochs:
        out.add(e)
        e *= 2
    return out


class Probe:
    """Measures the information plane of a network's blocks on a fixed probe set."""

    def __init__(self, probe: Split, num_classes: int, settings: dict[str, Any]) -> None:
        self.x = probe.x
        self.y = probe.y
        self.num_classes = num_classes
        self.settings = settings
        self.sha256 = hashlib.sha256(np.ascontiguousarray(probe.x).tobytes() + np.ascontiguousarray(probe.y).tobytes()).hexdigest()[:16]
        sigma, eps = settings["sigma"], settings["eps"]
        labels = metrics.one_hot(self.y, num_classes)
        # The input and label operators do not change during training: compute them once.
        self._x_op = metrics.normalized_operator(self.x, "gaussian", sigma, eps)
        self._y_op = metrics.normalized_operator(labels, settings["label_kernel"], sigma, eps)
        self._labels = labels

    @classmethod
    def from_settings(cls, settings: dict[str, Any], test: Split, num_classes: int) -> Probe:
        """Draw the probe set from the test split as ``settings`` say (size, seed)."""
        idx = stratified_indices(test.y, settings["probe_size"], settings["probe_seed"])
        return cls(Split(test.x[idx], test.y[idx]), num_classes, settings)

    def due(self, epoch: int, total_epochs: int) -> bool:
        """Whether ``epoch`` is a probe epoch (epoch 0 is the initialization, always probed)."""
        every = self.settings["every"]
        if every == "log":
            return epoch in log_schedule(total_epochs)
        return epoch % int(every) == 0 or epoch == total_epochs

    def measure(self, network: Network) -> dict[str, Any]:
        """Per-block estimates for the network as it is now."""
        feats = network.features().predict(self.x, batch_size=FEATURE_BATCH, verbose=0)
        if not isinstance(feats, (list, tuple)):
            feats = [feats]
        s = self.settings
        out: dict[str, Any] = {"probe_sha256": self.sha256}
        if "nhsic" in s["estimators"]:
            ops = [metrics.normalized_operator(t, "gaussian", s["sigma"], s["eps"]) for t in feats]
            out["nhsic_x"] = [metrics.nhsic_from_operators(self._x_op, op) for op in ops]
            out["nhsic_y"] = [metrics.nhsic_from_operators(self._y_op, op) for op in ops]
        if "cka" in s["estimators"]:
            out["cka_x"] = [metrics.cka(self.x, t, sigma=s["sigma"]) for t in feats]
            out["cka_y"] = [metrics.cka(self._labels, t, sigma=s["sigma"], kernel_a=s["label_kernel"]) for t in feats]
        return out

    @staticmethod
    def summarize(history: Sequence[EpochRecord]) -> dict[str, float | None]:
        """Information-plane summaries of a history (see the README's metric definitions).

        * ``compression_block{l}``: peak minus final nHSIC(X; T_l) over the probed epochs;
        * ``mean_compression``: the mean of those over blocks;
        * ``final_nhsic_y``: nHSIC(Y; T_L) of the last block at the last probe;
        * ``final_nhsic_x``: nHSIC(X; T_L) of the last block at the last probe;
        * ``role_differentiation``: spread of the blocks' net movements in the plane,
          ``sqrt(mean_l ||v_l - mean(v)||^2)`` with ``v_l`` = (final - initial) (nHSIC(X;T_l), nHSIC(Y;T_l)).
        """
        probes = [h.probe for h in history if h.probe and "nhsic_x" in h.probe]
        if not probes:
            return {}
        xs = np.array([p["nhsic_x"] for p in probes])  # (probes, blocks)
        ys = np.array([p["nhsic_y"] for p in probes])
        out: dict[str, float | None] = {}
        for l in range(xs.shape[1]):
            out[f"compression_block{l + 1}"] = float(xs[:, l].max() - xs[-1, l])
        out["mean_compression"] = float(np.mean(xs.max(axis=0) - xs[-1]))
        out["final_nhsic_x"] = float(xs[-1, -1])
        out["final_nhsic_y"] = float(ys[-1, -1])
        moves = np.stack([xs[-1] - xs[0], ys[-1] - ys[0]], axis=1)  # (blocks, 2)
        spread = float(np.sqrt(np.mean(np.sum((moves - moves.mean(axis=0)) ** 2, axis=1))))
        out["role_differentiation"] = spread if math.isfinite(spread) else None
        return out
