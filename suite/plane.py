"""Trajectories in the information plane: what "compression", a block's "peak" and "role
differentiation" mean, defined once and used by the probe's summaries and by every report.

A block's trajectory is its sequence of points ``(x_l(p), y_l(p))`` over the probes ``p = 0 .. P``
(``p = 0`` is the initialization), with ``x = I(X; T_l)`` and ``y = I(Y; T_l)`` as one estimator
measures them. Arrays here are ``(probes, blocks)``. Formulas and the reasons behind them:
``docs/metrics.md``. The definitions are not part of a cell's hash: every score is read through
``suite.results.Result.score``, which recomputes them from the record's trajectories with this code, so
old and new records share one definition.

* **Peak**: the first probe at which ``x_l`` is largest.
* **Compression** of a block: the fall of ``x_l`` from its peak to the last probe, *when the peak
  follows a fitting phase* (comes after the first probe); 0 when ``x_l`` only falls from its initial
  value. Falling from initialization loses input information without having gathered it first, which
  is not the fit-then-compress shape of the information-bottleneck account.
* **Role differentiation**: how differently the blocks move, from two features per block taken
  relative to its initial point: where it stands at its peak and where it ends. A block that rises
  and then compresses back differs from one that rises and stays, although both may end at the same
  place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from suite.metrics import PLANE_MEASURES
from suite.records import finite_or_none
from suite.scores import PER_BLOCK

def peak(trajectory: Sequence[float] | np.ndarray) -> int:
    """Index of the first probe at which the block's ``x`` is largest."""
    return int(np.argmax(np.asarray(trajectory, dtype=np.float64)))


def compression(trajectory: Sequence[float] | np.ndarray) -> float:
    """``x(peak) - x(P)`` when the peak comes after the first probe, else 0 (see the module docstring)."""
    x = np.asarray(trajectory, dtype=np.float64)
    p = peak(x)
    return float(x[p] - x[-1]) if p > 0 else 0.0


def block_features(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Per block, ``(x(peak) - x(0), y(peak) - y(0), x(P) - x(0), y(P) - y(0))``: the rise to its peak and
    its net movement (arrays ``(probes, blocks)``; returns ``(blocks, 4)``)."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    peaks = np.array([peak(xs[:, l]) for l in range(xs.shape[1])], dtype=np.int64)
    blocks = np.arange(xs.shape[1])
    return np.stack([xs[peaks, blocks] - xs[0], ys[peaks, blocks] - ys[0], xs[-1] - xs[0], ys[-1] - ys[0]], axis=1)


def role_differentiation(xs: np.ndarray, ys: np.ndarray) -> float | None:
    """``sqrt(mean_l ||f_l - mean_k f_k||^2)`` with ``f_l`` the :func:`block_features` of block l; ``None``
    for one block or one probe. Pass coordinates on a common scale (:func:`normalized`)."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    if xs.ndim != 2 or xs.shape[1] < 2 or xs.shape[0] < 2:
        return None
    f = block_features(xs, ys)
    return finite_or_none(float(np.sqrt(np.mean(np.sum((f - f.mean(axis=0)) ** 2, axis=1)))))


def extent(probe: Mapping[str, Any], estimator: str, reference: str) -> float:
    """The extent of the plane along ``reference`` (``"x"`` or ``"y"``) for ``estimator``: nHSIC's least
    upper bound ``tr R_ref`` as the probe recorded it, 1 for estimators already in [0, 1] (CKA) or
    records without the bound."""
    measure = PLANE_MEASURES.get(estimator)
    if measure is not None and measure.kind == "cka":
        return 1.0
    bound = probe.get(f"{estimator}_{reference}_bound")
    return float(bound) if bound else 1.0


#: The plane's two axes: I(X; T) and I(Y; T), stored in a probe as ``<estimator>_x`` and ``<estimator>_y``.
REFERENCES = ("x", "y")


def per_block(probe: Mapping[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """Per estimator the probe recorded (in its order), its per-block values by axis (``{"x": [...], "y": [...]}``),
    only the lists the probe holds."""
    out: dict[str, dict[str, list[Any]]] = {}
    for estimator in probe.get("estimators") or {}:
        lists = {ref: v for ref in REFERENCES if isinstance(v := probe.get(f"{estimator}_{ref}"), list)}
        if lists:
            out[estimator] = lists
    return out


def trajectories(probes: Sequence[Mapping[str, Any]], estimator: str, normalize: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
    """``(xs, ys)`` of one estimator from probe measurements (``EpochRecord.probe`` dicts, in epoch order),
    each ``(probes, blocks)``; divided by the plane's :func:`extent` with ``normalize``. ``None`` when no
    probe measured this estimator."""
    kx, ky = f"{estimator}_x", f"{estimator}_y"
    measured = [p for p in probes if p and kx in p and ky in p]
    if not measured:
        return None
    xs = np.array([p[kx] for p in measured], dtype=np.float64)
    ys = np.array([p[ky] for p in measured], dtype=np.float64)
    if normalize:
        xs = xs / extent(measured[0], estimator, "x")
        ys = ys / extent(measured[0], estimator, "y")
    return xs, ys


#: The summaries :func:`summaries` derives, besides ``compression_block{l}`` (one per block).
SUMMARIES = ("mean_compression", "final_nhsic_x", "final_nhsic_y", "role_differentiation")


def is_summary(name: str) -> bool:
    """Whether ``name`` is one of the summaries :func:`summaries` derives (read recomputed, never as stored)."""
    return name in SUMMARIES or PER_BLOCK.fullmatch(name) is not None


def summaries(probes: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """The information-plane summaries of probe measurements (``EpochRecord.probe`` dicts, in epoch order),
    from the paper's estimator (``nhsic``); empty when no probe measured it.

    * ``compression_block{l}``: :func:`compression` of nHSIC(X; T_l);
    * ``mean_compression``: the mean of those over blocks;
    * ``final_nhsic_x``, ``final_nhsic_y``: nHSIC(X; T_L), nHSIC(Y; T_L) of the last block at the last probe;
    * ``role_differentiation``: :func:`role_differentiation` in the normalized plane; ``None`` for one block.
    """
    raw = trajectories(probes, "nhsic")
    if raw is None:
        return {}
    xs, ys = raw
    per_block = [compression(xs[:, l]) for l in range(xs.shape[1])]
    out: dict[str, float | None] = {f"compression_block{l + 1}": finite_or_none(c) for l, c in enumerate(per_block)}
    out["mean_compression"] = finite_or_none(float(np.mean(per_block)))
    out["final_nhsic_x"] = finite_or_none(xs[-1, -1])
    out["final_nhsic_y"] = finite_or_none(ys[-1, -1])
    nx, ny = trajectories(probes, "nhsic", normalize=True)
    out["role_differentiation"] = role_differentiation(nx, ny)
    return out
