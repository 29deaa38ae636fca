"""Information-plane estimators: normalized HSIC (nHSIC) and centered kernel alignment (CKA).

nHSIC follows the HSIC-bottleneck code of Ma, Lewis & Kleijn (2020) as used by Sakamoto & Sato (2024):

* Gaussian kernel on flattened features ``K_ij = exp(-||u_i - u_j||^2 / (2 sigma^2 d))``, d = feature dim
  (or the linear kernel ``K = U U^T``, e.g. for one-hot labels);
* right-centering ``K~ = K H`` with ``H = I - 11^T / m``;
* ``nHSIC(A; B) = tr[K~_A (K~_A + eps m I)^-1 K~_B (K~_B + eps m I)^-1]``.

CKA is the plain normalized HSIC ``tr(K H L H) / sqrt(tr(K H K H) tr(L H L H))`` (Kornblith et al. 2019).

Kernel width. ``bandwidth="fixed"`` (the default, the paper's) divides by ``2 sigma^2 d``: the kernel then
depends on the scale of the features, so rescaling one representation moves its nHSIC (a ReLU layer
of the digits scaled by 0.1 ... 30 moves nHSIC(X;T) from 0.9 to 28). ``bandwidth="median"`` divides by
``2 s^2`` with ``s`` the median distance between distinct rows of that representation (Gretton et
al. 2005's heuristic), computed for each representation separately: the kernel, and so every value
computed from it, does not change when a representation is multiplied by a constant.

How it is computed. With ``S = H K H`` (symmetric, positive semi-definite) and ``c = eps m``,
``K~ (K~ + cI)^-1 = K (S + cI)^-1 H`` (push-through identity, ``H^2 = H``), so by the cyclic property
of the trace ``nHSIC(A; B) = <R_A, R_B>_F`` with the *symmetric* ``R = S (S + cI)^-1``. ``S + cI`` is
positive definite with smallest eigenvalue at least ``c``, so ``R`` comes from a float64 Cholesky solve;
the value equals the literal definition to rounding (the tests check this against explicit ``H`` and
``np.linalg.inv``). Consequences used by the probe: ``0 <= nHSIC(A; B) <= min(tr R_A, tr R_B)`` (the
eigenvalues of ``R`` lie in [0, 1)), and one ``R`` per representation serves every pair.

Two implementations of the kernel step (Gram matrix, exponential, double centering) give the same
float64 numbers: ``"numpy"``, and ``"compiled"`` (``keras.ops`` compiled with XLA / ``jax.jit``
through :func:`suite.backend.jit`). The solve is always LAPACK in float64 (XLA's CPU solvers are
several times slower). ``"auto"`` picks per backend and size what ``bench/probe_cost.py`` measured
to be faster (see :func:`prefer_compiled`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import scipy.linalg
from threadpoolctl import ThreadpoolController

from suite import backend

Kernel = Literal["gaussian", "linear"]
Impl = Literal["auto", "numpy", "compiled"]
Bandwidth = Literal["fixed", "median"]

NHSIC_VERSION = "nhsic-v1"
NHSIC_MEDIAN_VERSION = "nhsic-median-v1"
CKA_VERSION = "cka-v1"
CKA_MEDIAN_VERSION = "cka-median-v1"


@dataclasses.dataclass(frozen=True)
class PlaneMeasure:
    """What a built-in estimator computes (``"nhsic"`` or ``"cka"``) and with which Gaussian kernel width."""

    kind: Literal["nhsic", "cka"]
    bandwidth: Bandwidth


#: The built-in estimators, computed together by :class:`PlaneEstimator` and registered in ``suite.estimators``.
PLANE_MEASURES: dict[str, PlaneMeasure] = {
    "nhsic": PlaneMeasure("nhsic", "fixed"),  # the paper's estimator
    "nhsic_median": PlaneMeasure("nhsic", "median"),
    "cka": PlaneMeasure("cka", "fixed"),
    "cka_median": PlaneMeasure("cka", "median"),
}
PLANE_ESTIMATORS = tuple(PLANE_MEASURES)

_default_impl: Impl = "auto"

# BLAS/LAPACK threads for the estimators. The matrices are small (m x m, m ~ 1e2-1e3) and BLAS worker
# threads compete with the backend's own thread pool, which keeps spinning between training steps:
# measured on 2 busy cores, a 360 x 360 solve took 0.1-0.6 s multi-threaded and 3 ms single-threaded.
BLAS_THREADS = 1
_blas_controller: ThreadpoolController | None = None


def blas_limited() -> Any:
    """Context manager limiting BLAS/LAPACK to :data:`BLAS_THREADS` threads (see its comment)."""
    global _blas_controller
    if _blas_controller is None:
        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=BLAS_THREADS, user_api="blas")


def set_default_impl(impl: Impl) -> Impl:
    """Set the implementation used when ``impl="auto"`` is not overridden; returns the previous one.

    ``"numpy"`` or ``"compiled"`` force one implementation everywhere (benchmarks, debugging); results
    agree to about 1e-12 relative, so this never changes a record beyond rounding.
    """
    global _default_impl
    if impl not in ("auto", "numpy", "compiled"):
        raise ValueError(f"unknown implementation {impl!r}; expected 'auto', 'numpy' or 'compiled'")
    previous, _default_impl = _default_impl, impl
    return previous


def _flat64(a: Any) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 0:
        raise ValueError("expected an array of shape (m, ...), got a scalar")
    return a.reshape(a.shape[0], -1).astype(np.float64)


def _check_kernel(kind: str, bandwidth: str = "fixed") -> None:
    if kind not in ("gaussian", "linear"):
        raise ValueError(f"unknown kernel {kind!r}; expected 'gaussian' or 'linear'")
    if bandwidth not in ("fixed", "median"):
        raise ValueError(f"unknown bandwidth {bandwidth!r}; expected 'fixed' or 'median'")


def median_distance(squared_distances: np.ndarray) -> float:
    """The median distance between distinct rows, from their m x m squared distances.

    Pairs of identical rows are left out when they are at least half of all pairs (the median would be
    0 and the kernel a Kronecker delta); 0 only when every row is the same.
    """
    m = squared_distances.shape[0]
    d = np.sqrt(squared_distances[np.triu_indices(m, 1)])
    s = float(np.median(d)) if d.size else 0.0
    if s > 0:
        return s
    positive = d[d > 0]
    return float(np.median(positive)) if positive.size else 0.0


# --------------------------------------------------------------------------------------------------
# numpy float64: the reference kernel computations
# --------------------------------------------------------------------------------------------------


def kernel_matrix(a: Any, kind: Kernel = "gaussian", sigma: float = 5.0, bandwidth: Bandwidth = "fixed") -> np.ndarray:
    """The m x m kernel matrix of the rows of ``a`` (flattened), in float64.

    The Gaussian kernel is ``exp(-||u_i - u_j||^2 / w)`` with ``w = 2 sigma^2 d`` (``bandwidth="fixed"``)
    or ``w = 2 s^2``, ``s`` the :func:`median_distance` of the rows (``"median"``; all ones when every
    row is the same). ``sigma`` is not used with the median bandwidth, nor by the linear kernel.
    """
    _check_kernel(kind, bandwidth)
    x = _flat64(a)
    if kind == "linear":
        return x @ x.T
    x -= x.mean(axis=0)  # distances do not change; the Gram matrix loses less to cancellation
    k = x @ x.T
    sq = np.diag(k).copy()
    # in place: k <- exp(-max(sq_i + sq_j - 2 g_ij, 0) / w)
    k *= -2.0
    k += sq[:, None]
    k += sq[None, :]
    np.maximum(k, 0.0, out=k)
    if bandwidth == "fixed":
        k *= -1.0 / (2.0 * sigma**2 * x.shape[1])
    else:
        s = median_distance(k)
        k *= -1.0 / (2.0 * s**2) if s > 0 else 0.0
    return np.exp(k, out=k)


def double_centered(k: np.ndarray, overwrite: bool = False) -> np.ndarray:
    """``H K H`` for a symmetric ``K``: subtract row and column means, add back the grand mean."""
    r = k.mean(axis=1)
    out = k if overwrite else k.copy()
    out -= r[:, None]
    out -= r[None, :]
    out += r.mean()
    return out


def centered_kernel(a: Any, kind: Kernel = "gaussian", sigma: float = 5.0, impl: Impl = "auto",
                    bandwidth: Bandwidth = "fixed") -> np.ndarray:
    """``S = H K H`` (float64, m x m) for the rows of ``a``, with the chosen implementation.

    The median bandwidth always takes the numpy kernel step (the median needs every distance first).
    """
    _check_kernel(kind, bandwidth)
    shape = np.shape(a)
    m, d = shape[0], int(np.prod(shape[1:], dtype=np.int64))
    if kind == "gaussian" and bandwidth == "fixed" and _resolve(impl, m, d) == "compiled":
        return _compiled_centered_gaussian(a, sigma)
    return double_centered(kernel_matrix(a, kind, sigma, bandwidth), overwrite=True)


def resolvent(s: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """``R = S (S + eps m I)^-1`` for a centered kernel ``S`` (symmetric; float64 Cholesky solve)."""
    m = s.shape[0]
    a = s + (eps * m) * np.eye(m)
    try:
        r = scipy.linalg.cho_solve(scipy.linalg.cho_factor(a, lower=True, check_finite=False), s, check_finite=False)
    except np.linalg.LinAlgError:  # S not positive semi-definite to rounding (non-finite or degenerate input)
        r = np.linalg.solve(a, s)
    return 0.5 * (r + r.T)  # symmetric in exact arithmetic


def normalized_operator(a: Any, kind: Kernel = "gaussian", sigma: float = 5.0, eps: float = 1e-5) -> np.ndarray:
    """The literal ``K~ (K~ + eps m I)^-1`` with ``K~ = K H`` (not symmetric). For reference and tests;
    :func:`nhsic` uses the equivalent symmetric form."""
    k = kernel_matrix(a, kind, sigma)
    kc = k - k.mean(axis=1, keepdims=True)  # K H: subtract each row's mean
    m = kc.shape[0]
    reg = kc + eps * m * np.eye(m)
    # X = K~ R^-1  <=>  R^T X^T = K~^T
    return np.linalg.solve(reg.T, kc.T).T


def nhsic_from_operators(op_a: np.ndarray, op_b: np.ndarray) -> float:
    """``tr(op_a @ op_b)`` without forming the product."""
    return float(np.sum(op_a * op_b.T))


# --------------------------------------------------------------------------------------------------
# compiled kernel step (XLA on TensorFlow, jax.jit on JAX)
# --------------------------------------------------------------------------------------------------


def _centered_gaussian_ops(t: Any, width: Any) -> Any:
    """``H K H`` of the Gaussian kernel ``exp(-||u - v||^2 / width)`` (``suite.kernels``), in keras.ops, float64."""
    from keras import ops

    from suite.kernels import gaussian_gram

    m = t.shape[0]
    x = ops.cast(ops.reshape(t, (m, -1)), "float64")
    # sums, not ops.mean: Keras' JAX backend reduces float64 means in float32
    x = x - ops.sum(x, axis=0, keepdims=True) / m
    k = gaussian_gram(x, width)
    r = ops.sum(k, axis=1, keepdims=True) / m
    return k - r - ops.transpose(r) + ops.sum(r) / m


@functools.lru_cache(maxsize=None)
def _compiled_fn(backend_name: str) -> Any:
    return backend.jit(_centered_gaussian_ops)


def _compiled_centered_gaussian(a: Any, sigma: float) -> np.ndarray:
    from keras import ops

    shape = np.shape(a)
    d = int(np.prod(shape[1:], dtype=np.int64))
    fn = _compiled_fn(backend.name())
    t = np.asarray(a)
    if t.dtype not in (np.float32, np.float64):
        t = t.astype(np.float64)
    out = fn(t, np.asarray(2.0 * sigma**2 * d, dtype=np.float64))
    return np.asarray(ops.convert_to_numpy(out), dtype=np.float64)


@functools.lru_cache(maxsize=None)
def _auto_compiles(backend_name: str) -> bool:
    return backend.jit_available() and backend.float64_available() and backend.on_accelerator()


def prefer_compiled(m: int, d: int) -> bool:
    """Whether ``impl="auto"`` uses the compiled kernel step for an ``m x d`` representation.

    Measured with ``bench/probe_cost.py`` (``docs/metrics.md``): on a CPU the XLA-compiled float64
    kernel step was 1.0-2.5x *slower* than numpy at every size tried (m = 360 and 1000, d = 128 to
    2048), so on a CPU "auto" means numpy at every size. On a GPU or TPU it compiles, which keeps the
    O(m^2 d) Gram matrix on the device; that choice has not been timed by the project's benchmarks.
    """
    return _auto_compiles(backend.name())


def _resolve(impl: Impl, m: int, d: int) -> Literal["numpy", "compiled"]:
    if impl not in ("auto", "numpy", "compiled"):
        raise ValueError(f"unknown implementation {impl!r}; expected 'auto', 'numpy' or 'compiled'")
    if impl == "auto":
        impl = _default_impl
    if impl == "compiled":
        if not backend.float64_available():
            raise RuntimeError("the compiled estimator needs float64 on the backend (on JAX: jax_enable_x64)")
        return "compiled"
    if impl == "numpy":
        return "numpy"
    return "compiled" if prefer_compiled(m, d) else "numpy"


# --------------------------------------------------------------------------------------------------
# public estimators
# --------------------------------------------------------------------------------------------------


def _check_pair(a: Any, b: Any) -> None:
    if np.ndim(a) < 1 or np.ndim(b) < 1:
        raise ValueError("a and b must be arrays of shape (m, ...)")
    if np.shape(a)[0] != np.shape(b)[0]:
        raise ValueError(f"a and b need the same number of rows, got {np.shape(a)[0]} and {np.shape(b)[0]}")
    if np.shape(a)[0] < 2:
        raise ValueError("at least 2 rows are needed")


def nhsic(
    a: Any,
    b: Any,
    *,
    sigma: float = 5.0,
    eps: float = 1e-5,
    kernel_a: Kernel = "gaussian",
    kernel_b: Kernel = "gaussian",
    impl: Impl = "auto",
    bandwidth: Bandwidth = "fixed",
) -> float:
    """Normalized HSIC of two samples with the same first dimension m (features flattened).

    ``tr[K~_a (K~_a + eps m I)^-1 K~_b (K~_b + eps m I)^-1]`` with right-centered kernels ``K~ = K H``.

    Args:
        a, b: arrays of shape ``(m, ...)``.
        sigma: Gaussian kernel width for ``bandwidth="fixed"`` (the variance is ``2 sigma^2 d``, d the
            flattened dimension).
        eps: ridge regularizer, multiplied by m.
        kernel_a, kernel_b: ``"gaussian"`` or ``"linear"`` (e.g. for one-hot labels).
        impl: ``"auto"``, ``"numpy"`` or ``"compiled"`` (same value to rounding).
        bandwidth: ``"fixed"`` (the paper's width ``sigma sqrt(d)``) or ``"median"`` (each Gaussian
            side's median pairwise distance: invariant to rescaling either side).

    Example:
        >>> x = np.random.default_rng(0).normal(size=(100, 8))
        >>> 0 < nhsic(x, x[:, :4]) < nhsic(x, x)
        True
        >>> bool(np.isclose(nhsic(10 * x, x[:, :4], bandwidth="median"), nhsic(x, x[:, :4], bandwidth="median")))
        True
    """
    _check_pair(a, b)
    with blas_limited():
        ra = resolvent(centered_kernel(a, kernel_a, sigma, impl, bandwidth), eps)
        rb = resolvent(centered_kernel(b, kernel_b, sigma, impl, bandwidth), eps)
        return float(np.sum(ra * rb))


def cka(
    a: Any,
    b: Any,
    *,
    sigma: float = 5.0,
    kernel_a: Kernel = "gaussian",
    kernel_b: Kernel = "gaussian",
    impl: Impl = "auto",
    bandwidth: Bandwidth = "fixed",
) -> float:
    """Centered kernel alignment (plain normalized HSIC) of two samples, in [0, 1].

    ``tr(K H L H) / sqrt(tr(K H K H) tr(L H L H))``; 0 when either centered kernel vanishes. ``bandwidth``
    as for :func:`nhsic` (the probe's ``cka`` estimator uses ``"fixed"``, ``cka_median`` ``"median"``).
    """
    _check_pair(a, b)
    with blas_limited():
        sa = centered_kernel(a, kernel_a, sigma, impl, bandwidth)
        sb = centered_kernel(b, kernel_b, sigma, impl, bandwidth)
    denom = np.sqrt(np.sum(sa * sa) * np.sum(sb * sb))
    return float(np.sum(sa * sb) / denom) if denom > 0 else 0.0


def one_hot(y: Any, num_classes: int) -> np.ndarray:
    """Integer labels as float64 one-hot rows."""
    return np.eye(num_classes, dtype=np.float64)[np.asarray(y, dtype=np.int64)]


def inverse_spd(a: np.ndarray) -> np.ndarray:
    """The inverse of a symmetric positive-definite matrix (float64 Cholesky, LAPACK ``potrf``/``potri``).

    Only the lower triangle of the result is the inverse; the strict upper triangle holds leftovers.
    ``potri`` costs a third of solving for ``m`` right-hand sides.
    """
    f = np.array(a, dtype=np.float64, order="F")
    c, info = scipy.linalg.lapack.dpotrf(f, lower=1, overwrite_a=1, clean=0)
    if info == 0:
        inv, info = scipy.linalg.lapack.dpotri(c, lower=1, overwrite_c=1)
        if info == 0:
            return inv
    return np.linalg.inv(a)  # not positive definite to rounding (degenerate or non-finite input)


@dataclasses.dataclass(frozen=True)
class Reference:
    """A fixed variable (the input X or the labels Y) that many representations are compared with."""

    resolvent: np.ndarray  # R = S (S + eps m I)^-1
    lower_weights: np.ndarray  # 2 tril(R, -1) + diag(R): <R, M>_F = sum(lower_weights * tril(M)) for symmetric M
    unit_centered: np.ndarray  # S / ||S||_F
    trace: float  # tr R: the least upper bound of nHSIC(ref; T) over all T

    @classmethod
    def of(cls, a: Any, kind: Kernel, sigma: float, eps: float, impl: Impl = "auto", bandwidth: Bandwidth = "fixed") -> Reference:
        """Compute the reference matrices of the rows of ``a``."""
        with blas_limited():
            s = centered_kernel(a, kind, sigma, impl, bandwidth)
            r = resolvent(s, eps)
        norm = float(np.sqrt(np.sum(s * s)))
        weights = np.tril(r, -1) * 2.0 + np.diag(np.diag(r))
        return cls(r, weights, s / norm if norm > 0 else s, float(np.trace(r)))


class PlaneEstimator:
    """The built-in estimators (:data:`PLANE_MEASURES`) of many representations against fixed references.

    Per representation T and kernel width: ``S_T = H K_T H`` once; CKA from ``S_T``; nHSIC from ``A^-1``
    with ``A = S_T + cI`` (``c = eps m``), since ``R_T = S_T A^-1 = I - c A^-1`` gives
    ``nHSIC(ref; T) = tr R_ref - c <R_ref, A^-1>_F`` (one Cholesky inverse serves every reference).

    Args:
        references: name -> (array, kernel) of the fixed variables, e.g. ``{"x": (x, "gaussian"),
            "y": (one_hot, "linear")}``.
        sigma, eps: the estimator settings (``sigma`` is the fixed bandwidth's).
        estimators: which of :data:`PLANE_ESTIMATORS` to compute.
        impl: kernel-step implementation for the representations.
        extra: further estimators, name -> ``measure(reference, representation)``, computed on the raw
            reference arrays (see ``suite.estimators``).
    """

    def __init__(
        self,
        references: Mapping[str, tuple[Any, Kernel]],
        *,
        sigma: float = 5.0,
        eps: float = 1e-5,
        estimators: tuple[str, ...] = ("nhsic", "cka"),
        impl: Impl = "auto",
        extra: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
    ) -> None:
        unknown = set(estimators) - set(PLANE_ESTIMATORS)
        if unknown:
            raise ValueError(f"unknown estimator(s) {sorted(unknown)}; expected {sorted(PLANE_ESTIMATORS)}")
        self.sigma, self.eps, self.estimators, self.impl = sigma, eps, tuple(estimators), impl
        self.bandwidths = tuple(dict.fromkeys(PLANE_MEASURES[e].bandwidth for e in self.estimators))
        self.by_bandwidth = {bw: {name: Reference.of(a, kind, sigma, eps, bandwidth=bw) for name, (a, kind) in references.items()}
                             for bw in self.bandwidths}
        self._arrays = {name: np.asarray(a) for name, (a, _) in references.items()}
        self.extra = dict(extra or {})

    @property
    def references(self) -> dict[str, Reference]:
        """The references of the first kernel width in use (the fixed one whenever ``nhsic`` is computed)."""
        return self.by_bandwidth[self.bandwidths[0]] if self.bandwidths else {}

    def bounds(self) -> dict[str, float]:
        """``{"<estimator>_<ref>_bound": tr R_ref}`` for every nHSIC estimator: the least upper bound of
        nHSIC(ref; T), the extent of the information plane along that reference."""
        return {f"{e}_{name}_bound": ref.trace for e in self.estimators if PLANE_MEASURES[e].kind == "nhsic"
                for name, ref in self.by_bandwidth[PLANE_MEASURES[e].bandwidth].items()}

    def scores(self, t: Any) -> dict[str, float]:
        """``{"<estimator>_<ref>": ...}`` (e.g. ``nhsic_x``, ``cka_y``) for one representation ``t`` of shape ``(m, ...)``."""
        out: dict[str, float] = {}
        with blas_limited():
            for bw in self.bandwidths:
                refs = self.by_bandwidth[bw]
                chosen = [e for e in self.estimators if PLANE_MEASURES[e].bandwidth == bw]
                s = centered_kernel(t, "gaussian", self.sigma, self.impl, bw)
                m = s.shape[0]
                for est in chosen:
                    if PLANE_MEASURES[est].kind == "cka":
                        norm = float(np.sqrt(np.einsum("ij,ij->", s, s)))
                        for name, ref in refs.items():
                            out[f"{est}_{name}"] = float(np.einsum("ij,ij->", ref.unit_centered, s) / norm) if norm > 0 else 0.0
                nhsics = [e for e in chosen if PLANE_MEASURES[e].kind == "nhsic"]
                if nhsics:
                    c = self.eps * m
                    s[np.diag_indices(m)] += c  # s is not used after this
                    inv = inverse_spd(s)
                    for est in nhsics:
                        for name, ref in refs.items():
                            out[f"{est}_{name}"] = ref.trace - c * float(np.einsum("ij,ij->", ref.lower_weights, inv))
        for est, measure in self.extra.items():
            for name, a in self._arrays.items():
                out[f"{est}_{name}"] = float(measure(a, np.asarray(t)))
        return out
