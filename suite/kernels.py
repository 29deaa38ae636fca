"""The Gaussian kernel in ``keras.ops``, shared by the training-time HSIC objectives (``regimes.kernels``)
and the compiled path of the information-plane estimators (``suite.metrics``).

One definition, two callers with different dtypes: the regimes call it on float32 activations inside a
train step (gradients flow through it); the estimators call it on float64 probe features under
``jit``, after centering the features (distances are unchanged by centering, and the Gram matrix of
centered features loses less precision).
"""

from __future__ import annotations

from typing import Any

from keras import ops


def pairwise_sq_distances(a: Any) -> Any:
    """``D_ij = ||a_i - a_j||^2`` for the rows of a ``(m, d)`` matrix (clipped at 0)."""
    sq = ops.sum(a * a, axis=1, keepdims=True)
    d = sq + ops.transpose(sq) - 2.0 * ops.matmul(a, ops.transpose(a))
    return ops.maximum(d, 0.0)


def gaussian_gram(a: Any, width: Any) -> Any:
    """``K_ij = exp(-||a_i - a_j||^2 / width)`` for the rows of a ``(m, d)`` matrix; the probe's convention
    is ``width = 2 sigma^2 d`` (Ma, Lewis & Kleijn 2020)."""
    return ops.exp(-pairwise_sq_distances(a) / width)
