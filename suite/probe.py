"""The information-plane probe: a fixed, stratified, seeded probe set and per-block measurements.

At each probe epoch the harness calls :meth:`Probe.measure`, which computes, for every block l,
nHSIC(X; T_l) and nHSIC(Y; T_l) (and the CKA counterparts) on the probe set. Each measurement carries
the estimators' versions and the probe set's hash; the estimator settings are the cell's ``probe``
settings (part of its hash). Together they are the metric's version. Definitions: ``docs/metrics.md``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from suite import estimators, metrics, registry
from suite.api import Network, Split
from suite.records import EpochRecord, finite_or_none
from suite.spec import ProbeSettings
from suite.splits import stratified_indices

FEATURE_BATCH = 1024


def log_schedule(epochs: int) -> set[int]:
    """Epochs 0, 1, 2, 4, 8, ... and the last one."""
    out = {0, epochs}
    e = 1
    while e < epochs:
        out.add(e)
        e *= 2
    return out


_PLANES: dict[tuple[Any, ...], metrics.PlaneEstimator] = {}
_PLANES_KEPT = 4


def _plane(key: tuple[Any, ...], x: np.ndarray, labels: np.ndarray, settings: ProbeSettings) -> metrics.PlaneEstimator:
    """The estimator of a probe set, cached by its hash and settings (cells of one task share it)."""
    if key not in _PLANES:
        while len(_PLANES) >= _PLANES_KEPT:
            _PLANES.pop(next(iter(_PLANES)))
        chosen = [registry.estimators.get(e) for e in settings.estimators]
        _PLANES[key] = metrics.PlaneEstimator({"x": (x, "gaussian"), "y": (labels, settings.label_kernel)},
                                              sigma=settings.sigma, eps=settings.eps,
                                              estimators=tuple(e.name for e in chosen if e.measure is None),
                                              extra={e.name: e.measure for e in chosen if e.measure is not None})
    return _PLANES[key]


class Probe:
    """Measures the information plane of a network's blocks on a fixed probe set.

    Args:
        probe: the probe set (inputs and integer labels).
        num_classes: number of classes (labels are one-hot encoded).
        settings: the suite's ``[metrics.probe]`` settings.
    """

    def __init__(self, probe: Split, num_classes: int, settings: ProbeSettings) -> None:
        self.x = probe.x
        self.y = probe.y
        self.num_classes = num_classes
        self.settings = settings
        self.sha256 = hashlib.sha256(np.ascontiguousarray(probe.x).tobytes() + np.ascontiguousarray(probe.y).tobytes()).hexdigest()[:16]
        self.estimators = tuple(settings.estimators)
        self.versions = estimators.versions(self.estimators)
        labels = metrics.one_hot(self.y, num_classes)
        # The input and label sides never change: computed once per probe set (and reused across cells).
        key = (self.sha256, num_classes, settings.sigma, settings.eps, settings.label_kernel, self.estimators)
        self._plane = _plane(key, self.x, labels, settings)
        self.seconds = 0.0

    @classmethod
    def from_settings(cls, settings: ProbeSettings, test: Split, num_classes: int) -> Probe:
        """Draw the probe set from the test split as ``settings`` say (size, seed)."""
        idx = stratified_indices(test.y, settings.probe_size, settings.probe_seed)
        return cls(Split(test.x[idx], test.y[idx]), num_classes, settings)

    def due(self, epoch: int, total_epochs: int) -> bool:
        """Whether ``epoch`` is a probe epoch (epoch 0 is the initialization, always probed)."""
        every = self.settings.every
        if every == "log":
            return epoch in log_schedule(total_epochs)
        return epoch % int(every) == 0 or epoch == total_epochs

    def features(self, network: Network) -> list[np.ndarray]:
        """Every block's output on the probe set (inference mode)."""
        model = network.features()
        # predict_on_batch skips predict()'s per-call data pipeline, which costs more than the
        # whole forward pass at probe sizes.
        chunks = [model.predict_on_batch(self.x[i : i + FEATURE_BATCH]) for i in range(0, len(self.x), FEATURE_BATCH)]
        chunks = [c if isinstance(c, (list, tuple)) else [c] for c in chunks]
        return [np.concatenate([np.asarray(c[l]) for c in chunks]) for l in range(len(chunks[0]))]

    def measure(self, network: Network) -> dict[str, Any]:
        """Per-block estimates for the network as it is now (lists indexed by block)."""
        t0 = time.perf_counter()
        out: dict[str, Any] = {"probe_sha256": self.sha256, "estimators": dict(self.versions), "blocks": list(network.block_names)}
        per_block = [self._plane.scores(t) for t in self.features(network)]
        for key in per_block[0]:
            out[key] = [s[key] for s in per_block]
        if "nhsic" in self.estimators:
            # least upper bounds of nHSIC(X; T) and nHSIC(Y; T): the plane's extent, for normalizing
            out["nhsic_x_bound"] = self._plane.references["x"].trace
            out["nhsic_y_bound"] = self._plane.references["y"].trace
        elapsed = time.perf_counter() - t0
        self.seconds += elapsed
        out["seconds"] = elapsed
        return out

    @staticmethod
    def summarize(history: Sequence[EpochRecord]) -> dict[str, float | None]:
        """Information-plane summaries of a history (definitions and formulas: ``docs/metrics.md``).

        * ``compression_block{l}``: peak minus final nHSIC(X; T_l) over the probed epochs;
        * ``mean_compression``: the mean of those over blocks;
        * ``final_nhsic_x``, ``final_nhsic_y``: nHSIC(X; T_L), nHSIC(Y; T_L) of the last block at the last probe;
        * ``role_differentiation``: how differently the blocks moved in the (normalized) information
          plane: the root-mean-square deviation of the blocks' displacements (last probe minus
          initialization) from their mean; ``None`` for a single block;
        * ``probe_seconds``: seconds spent probing (features and estimators).
        """
        measured = [h.probe for h in history if h.probe]
        out: dict[str, float | None] = {}
        if measured and all("seconds" in p for p in measured):
            out["probe_seconds"] = float(sum(p["seconds"] for p in measured))
        probes = [p for p in measured if "nhsic_x" in p]
        if not probes:
            return out
        xs = np.array([p["nhsic_x"] for p in probes], dtype=np.float64)  # (probes, blocks)
        ys = np.array([p["nhsic_y"] for p in probes], dtype=np.float64)
        for l in range(xs.shape[1]):
            out[f"compression_block{l + 1}"] = finite_or_none(xs[:, l].max() - xs[-1, l])
        out["mean_compression"] = finite_or_none(np.mean(xs.max(axis=0) - xs[-1]))
        out["final_nhsic_x"] = finite_or_none(xs[-1, -1])
        out["final_nhsic_y"] = finite_or_none(ys[-1, -1])
        out["role_differentiation"] = role_differentiation(
            xs / float(probes[0].get("nhsic_x_bound", 1.0)), ys / float(probes[0].get("nhsic_y_bound", 1.0)))
        return out


def role_differentiation(xs: np.ndarray, ys: np.ndarray) -> float | None:
    """``sqrt(mean_l ||v_l - mean_k v_k||^2)`` with ``v_l`` the displacement of block l from the first
    to the last probe in the plane ``(xs, ys)`` (arrays of shape probes x blocks)."""
    if xs.shape[1] < 2 or xs.shape[0] < 2:
        return None
    moves = np.stack([xs[-1] - xs[0], ys[-1] - ys[0]], axis=1)  # (blocks, 2)
    return finite_or_none(np.sqrt(np.mean(np.sum((moves - moves.mean(axis=0)) ** 2, axis=1))))
