"""The information-plane probe: a fixed, stratified, seeded probe set and per-block measurements.

At each probe epoch the harness calls :meth:`Probe.measure`, which computes, for every block l,
nHSIC(X; T_l) and nHSIC(Y; T_l) (and the same with every other chosen estimator, e.g. the
scale-invariant ``nhsic_median`` and ``cka_median``) on the probe set. Each measurement carries the
estimators' versions and the probe set's hash; the estimator settings are the cell's ``probe`` settings
(part of its hash). Together they are the metric's version. A regime whose inference does not run
``network.features()`` declares ``Regime.probe_not_applicable``: its cells are probed all the same, and
``suite.results`` shows nothing of what was measured. Definitions: ``docs/metrics.md``; compression and
role differentiation: ``suite.plane``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from suite import estimators, metrics, plane, registry
from suite.api import Network, Split
from suite.records import EpochRecord
from suite.spec import ProbeSettings
from suite.splits import stratified_indices

if TYPE_CHECKING:
    import keras

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

    def features(self, network: Network, infer: Callable[[keras.Model], keras.Model] = lambda model: model) -> list[np.ndarray]:
        """Every block's output on the probe set (inference mode); ``infer`` gives the model to run it on
        (:meth:`suite.steps.StepSession.inference`)."""
        model = infer(network.features())
        # predict_on_batch skips predict()'s per-call data pipeline, which costs more than the
        # whole forward pass at probe sizes.
        chunks = [model.predict_on_batch(self.x[i : i + FEATURE_BATCH]) for i in range(0, len(self.x), FEATURE_BATCH)]
        chunks = [c if isinstance(c, (list, tuple)) else [c] for c in chunks]
        return [np.concatenate([np.asarray(c[l]) for c in chunks]) for l in range(len(chunks[0]))]

    def measure(self, network: Network, infer: Callable[[keras.Model], keras.Model] = lambda model: model) -> dict[str, Any]:
        """Per-block estimates for the network as it is now (lists indexed by block)."""
        t0 = time.perf_counter()
        out: dict[str, Any] = {"probe_sha256": self.sha256, "estimators": dict(self.versions), "blocks": list(network.block_names)}
        per_block = [self._plane.scores(t) for t in self.features(network, infer)]
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
        """The summaries of a history: :func:`suite.plane.summaries` of its probe measurements (compression,
        final nHSIC, role differentiation) and ``probe_seconds``, the seconds spent probing (features and
        estimators). Tables read the plane's summaries recomputed, never as stored (``suite.results``)."""
        measured = [h.probe for h in history if h.probe]
        out: dict[str, float | None] = {}
        if measured and all("seconds" in p for p in measured):
            out["probe_seconds"] = float(sum(p["seconds"] for p in measured))
        out.update(plane.summaries(measured))
        return out
