"""Differentiable kernel dependence measures (``keras.ops``): Gram matrices, HSIC and its normalizations.

These are the training-time counterparts of the probe's estimators (``suite.metrics``, numpy): the
same kernel conventions, written with ``keras.ops`` so that gradients flow through them on every
backend; the Gaussian kernel itself is the one of ``suite.kernels``. Double centering here uses
``ops.mean`` (float32 activations); the float64 estimators centre with sums instead, because Keras'
JAX backend reduces float64 means in float32. All functions take a batch of ``m`` examples and return scalars or ``m x m`` matrices.

References: Gretton et al. (2005), Measuring Statistical Dependence with Hilbert-Schmidt Norms;
Kornblith et al. (2019), Similarity of Neural Network Representations Revisited (CKA);
Ma, Lewis & Kleijn (2020), The HSIC Bottleneck (Gaussian kernel scaled by the dimension, nHSIC).
"""

from __future__ import annotations

from typing import Any, Literal

from keras import ops

from regimes.objective import flatten
from suite.kernels import gaussian_gram

Estimator = Literal["hsic", "cka", "nhsic"]


def gaussian_kernel(a: Any, sigma: float = 5.0) -> Any:
    """``K_ij = exp(-||a_i - a_j||^2 / (2 sigma^2 d))`` on flattened features (``d`` = feature dimension)."""
    a = flatten(a)
    d = float(a.shape[1])
    return gaussian_gram(a, 2.0 * sigma**2 * d)


def linear_kernel(a: Any) -> Any:
    """``K = a a^T`` on flattened features (for one-hot labels: 1 for equal labels, else 0)."""
    a = flatten(a)
    return ops.matmul(a, ops.transpose(a))


def double_center(k: Any) -> Any:
    """``H K H`` with ``H = I - 11^T/m``."""
    k = k - ops.mean(k, axis=0, keepdims=True)
    return k - ops.mean(k, axis=1, keepdims=True)


def hsic(k: Any, l: Any) -> Any:
    """The biased HSIC estimator ``tr(K H L H) / (m - 1)^2`` of two Gram matrices."""
    m = ops.cast(ops.shape(k)[0], k.dtype)
    return ops.sum(double_center(k) * double_center(l)) / ((m - 1.0) ** 2)


def cka(k: Any, l: Any, eps: float = 1e-12) -> Any:
    """Normalized HSIC (centered kernel alignment): ``HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))``, in [0, 1]."""
    return hsic(k, l) / ops.sqrt(hsic(k, k) * hsic(l, l) + eps)


def nhsic(k: Any, l: Any, eps: float = 1e-5) -> Any:
    """The normalized-CCA HSIC of the probe: ``tr[K~ (K~ + eps m I)^-1 L~ (L~ + eps m I)^-1]``, ``K~ = K H``."""
    m = ops.shape(k)[0]
    eye = ops.eye(m, dtype=k.dtype)
    reg = eps * ops.cast(m, k.dtype)

    def operator(g: Any) -> Any:
        gc = g - ops.mean(g, axis=1, keepdims=True)  # right-centering K H
        # gc (gc + reg I)^-1 = ((gc + reg I)^-T gc^T)^T
        return ops.transpose(ops.solve(ops.transpose(gc + reg * eye), ops.transpose(gc)))

    return ops.trace(ops.matmul(operator(k), operator(l)))


def dependence(k: Any, l: Any, estimator: Estimator = "cka") -> Any:
    """Dependence between two Gram matrices with the named estimator."""
    if estimator == "hsic":
        return hsic(k, l)
    if estimator == "cka":
        return cka(k, l)
    if estimator == "nhsic":
        return nhsic(k, l)
    raise ValueError(f"unknown estimator {estimator!r}; expected 'hsic', 'cka' or 'nhsic'")
