"""Information-plane estimators: normalized HSIC (nHSIC) and centered kernel alignment (CKA).

nHSIC follows the HSIC-bottleneck code of Ma, Lewis & Kleijn (2020) as used by Sakamoto & Sato (2024):

* Gaussian kernel on flattened features ``K_ij = exp(-||u_i - u_j||^2 / (2 sigma^2 d))``, d = feature dim;
* right-centering ``K~ = K H`` with ``H = I - 11^T / m``;
* ``nHSIC(A; B) = tr[K~_A (K~_A + eps m I)^-1 K~_B (K~_B + eps m I)^-1]``.

CKA is the plain normalized HSIC ``tr(K H L H) / sqrt(tr(K H K H) tr(L H L H))``.

All reductions and solves run in float64.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Kernel = Literal["gaussian", "linear"]

NHSIC_VERSION = "nhsic-v1"
CKA_VERSION = "cka-v1"


def _flat64(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a.reshape(a.shape[0], -1).astype(np.float64)


def kernel_matrix(a: np.ndarray, kind: Kernel = "gaussian", sigma: float = 5.0) -> np.ndarray:
    """The m x m kernel matrix of the rows of ``a`` (flattened), in float64."""
    x = _flat64(a)
    if kind == "linear":
        return x @ x.T
    if kind != "gaussian":
        raise ValueError(f"unknown kernel {kind!r}; expected 'gaussian' or 'linear'")
    sq = np.sum(x * x, axis=1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0)
    return np.exp(-dist / (2.0 * sigma**2 * x.shape[1]))


def _centered(k: np.ndarray) -> np.ndarray:
    """Right-centering ``K H``: subtract each row's mean."""
    return k - k.mean(axis=1, keepdims=True)


def normalized_operator(a: np.ndarray, kind: Kernel = "gaussian", sigma: float = 5.0, eps: float = 1e-5) -> np.ndarray:
    """``K~ (K~ + eps m I)^-1`` for the rows of ``a``: the factor nHSIC multiplies (reusable across pairs)."""
    kc = _centered(kernel_matrix(a, kind, sigma))
    m = kc.shape[0]
    reg = kc + eps * m * np.eye(m)
    # X = K~ R^-1  <=>  R^T X^T = K~^T
    return np.linalg.solve(reg.T, kc.T).T


def nhsic_from_operators(op_a: np.ndarray, op_b: np.ndarray) -> float:
    """``tr(op_a @ op_b)`` without forming the product."""
    return float(np.sum(op_a * op_b.T))


def nhsic(
    a: np.ndarray,
    b: np.ndarray,
    *,
    sigma: float = 5.0,
    eps: float = 1e-5,
    kernel_a: Kernel = "gaussian",
    kernel_b: Kernel = "gaussian",
) -> float:
    """Normalized HSIC of two samples with the same first dimension m (features flattened).

    Args:
        a, b: arrays of shape ``(m, ...)``.
        sigma: Gaussian kernel width (scaled by the flattened dimension).
        eps: ridge regularizer, multiplied by m.
        kernel_a, kernel_b: ``"gaussian"`` or ``"linear"`` (e.g. for one-hot labels).
    """
    if np.shape(a)[0] != np.shape(b)[0]:
        raise ValueError(f"a and b need the same number of rows, got {np.shape(a)[0]} and {np.shape(b)[0]}")
    return nhsic_from_operators(normalized_operator(a, kernel_a, sigma, eps), normalized_operator(b, kernel_b, sigma, eps))


def cka(a: np.ndarray, b: np.ndarray, *, sigma: float = 5.0, kernel_a: Kernel = "gaussian", kernel_b: Kernel = "gaussian") -> float:
    """Centered kernel alignment (plain normalized HSIC) of two samples, in [0, 1]."""
    ka = _centered(_centered(kernel_matrix(a, kernel_a, sigma)).T)
    kb = _centered(_centered(kernel_matrix(b, kernel_b, sigma)).T)
    hab = np.sum(ka * kb)
    denom = np.sqrt(np.sum(ka * ka) * np.sum(kb * kb))
    return float(hab / denom) if denom > 0 else 0.0


def one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels as float64 one-hot rows."""
    return np.eye(num_classes, dtype=np.float64)[np.asarray(y, dtype=np.int64)]
