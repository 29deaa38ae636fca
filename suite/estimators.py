"""Information-plane estimators as registered plugins (``suite.registry.estimators``).

An :class:`Estimator` measures the dependence between a fixed reference (the probe set's inputs X,
flattened, or its labels Y, one-hot) and a block's representation T on the same examples. A suite
chooses estimators by name in ``[metrics.probe] estimators``; each record stores every estimator's
version, and the version is part of the cell's hash, so a changed estimator never reuses old records.

The built-ins (``suite.metrics.PLANE_MEASURES``) are computed by the probe's shared fast path: ``nhsic``,
the paper's estimator, and ``cka``, both with the fixed kernel width ``sigma sqrt(d)``, so their values
follow the scale of the activations; ``nhsic_median`` and ``cka_median``, the same estimators with each
representation's median pairwise distance as the width, which are invariant to rescaling a representation.
Any other registered estimator is called as ``measure(reference, representation)`` per block and
reference, and its values are stored as ``<name>_x`` and ``<name>_y`` beside the built-ins'.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from suite import metrics, registry

Measure = Callable[[np.ndarray, np.ndarray], float]


@dataclasses.dataclass(frozen=True)
class Estimator:
    """A named, versioned dependence measure between a reference and a representation.

    Args:
        name: what suites call it (``[metrics.probe] estimators``); record keys are ``<name>_x``/``<name>_y``.
        version: bump on any change of its values.
        description: one line, shown by ``e2ebench list estimators``.
        measure: ``(reference (m, ...), representation (m, ...)) -> float``; ``None`` for the built-ins,
            which the probe computes together (see :class:`suite.metrics.PlaneEstimator`).
    """

    name: str
    version: str
    description: str
    measure: Measure | None = None


def register(estimator: Estimator) -> Estimator:
    """Add an estimator to ``suite.registry.estimators``."""
    return registry.estimators.register(estimator)


def versions(names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``{name: version}`` of the named estimators (unknown names raise with close matches)."""
    return {n: registry.estimators.get(n).version for n in names}


register(Estimator("nhsic", metrics.NHSIC_VERSION,
                   "normalized-CCA HSIC with the Gaussian kernel of Ma, Lewis & Kleijn (2020), as Sakamoto & Sato (2024) use it "
                   "(fixed width sigma sqrt(d): follows the scale of the activations)"))
register(Estimator("nhsic_median", metrics.NHSIC_MEDIAN_VERSION,
                   "the same nHSIC with each representation's median pairwise distance as the kernel width (scale-invariant)"))
register(Estimator("cka", metrics.CKA_VERSION,
                   "centered kernel alignment, the plain normalized HSIC (Kornblith et al. 2019), fixed width sigma sqrt(d)"))
register(Estimator("cka_median", metrics.CKA_MEDIAN_VERSION,
                   "the same CKA with each representation's median pairwise distance as the kernel width (scale-invariant)"))
