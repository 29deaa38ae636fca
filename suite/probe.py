"""The information-plane probe: a fixed, stratified, seeded probe set and per-block measurements.

At each probe epoch the harness calls :meth:`Probe.measure`, which computes, for every block l,
nHSIC(X; T_l) and nHSIC(Y; T_l) (and the same with every other chosen estimator, e.g. the
scale-invariant ``nhsic_median`` and ``cka``) on the probe set. Each measurement carries
the estimators' versions and the probe set's hash; the estimator settings are the cell's ``probe``
settings (part of its hash). Together they are the metric's version. A regime whose inference does not
run ``network.features()`` declares ``Regime.probe_not_applicable``, and its cells are not probed
(``suite.plan``). Definitions: ``docs/metrics.md``; compression and role differentiation: ``suite.plane``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from suite import estimators, metrics, plane, registry
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
        # least upper bounds of nHSIC(X; T) and nHSIC(Y; T) per nHSIC estimator: the plane's extent, for normalizing
        out.update(self._plane.bounds())
        elapsed = time.perf_counter() - t0
        self.seconds += elapsed
        out["seconds"] = elapsed
        return out

    @staticmethod
    def summarize(history: Sequence[EpochRecord]) -> dict[str, float | None]:
        """Information-plane summaries of a history, from the paper's estimator (``nhsic``; definitions and
        formulas: ``docs/metrics.md``, ``suite.plane``).

        * ``compression_block{l}``: :func:`suite.plane.compression` of nHSIC(X; T_l) (peak minus final, 0
          when the peak is the initialization);
        * ``mean_compression``: the mean of those over blocks;
        * ``final_nhsic_x``, ``final_nhsic_y``: nHSIC(X; T_L), nHSIC(Y; T_L) of the last block at the last probe;
        * ``role_differentiation``: :func:`suite.plane.role_differentiation` in the normalized plane
          (each block's rise to its peak and net movement); ``None`` for a single block;
        * ``probe_seconds``: seconds spent probing (features and estimators).
        """
        measured = [h.probe for h in history if h.probe]
        out: dict[str, float | None] = {}
        if measured and all("seconds" in p for p in measured):
            out["probe_seconds"] = float(sum(p["seconds"] for p in measured))
        raw = plane.trajectories(measured, "nhsic")
        if raw is None:
            return out
        xs, ys = raw
        per_block = [plane.compression(xs[:, l]) for l in range(xs.shape[1])]
        for l, c in enumerate(per_block):
            out[f"compression_block{l + 1}"] = finite_or_none(c)
        out["mean_compression"] = finite_or_none(float(np.mean(per_block)))
        out["final_nhsic_x"] = finite_or_none(xs[-1, -1])
        out["final_nhsic_y"] = finite_or_none(ys[-1, -1])
        nx, ny = plane.trajectories(measured, "nhsic", normalize=True)
        out["role_differentiation"] = plane.role_differentiation(nx, ny)
        return out
