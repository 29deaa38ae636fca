"""Trajectory features of the information plane on synthetic trajectories: compression, peaks, role differentiation."""

from __future__ import annotations

import numpy as np
import pytest

from suite import plane

PROBES = 6


def rise_then_compress(top: float = 0.8, start: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """x rises to ``top`` and falls back to ``start``; y keeps growing (the fit-then-compress shape)."""
    x = np.array([start, 0.6, top, 0.7, 0.55, start])
    y = np.linspace(0.1, 0.7, PROBES)
    return x, y


def monotone(end: float = 0.4, start: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """x moves straight from ``start`` to ``end``; y grows as in :func:`rise_then_compress`."""
    return np.linspace(start, end, PROBES), np.linspace(0.1, 0.7, PROBES)


def network(*blocks: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack per-block trajectories into (probes, blocks) arrays."""
    return np.stack([b[0] for b in blocks], axis=1), np.stack([b[1] for b in blocks], axis=1)


def test_compression_is_the_fall_from_a_peak_that_follows_a_fitting_phase():
    assert plane.compression([0.4, 0.6, 0.8, 0.7, 0.5]) == pytest.approx(0.3)
    assert plane.compression([0.9, 0.7, 0.5]) == 0.0  # only falls from initialization
    assert plane.compression([0.2, 0.4, 0.6]) == 0.0  # never falls
    assert plane.compression([0.5, 0.5, 0.5]) == 0.0
    assert plane.peak([0.4, 0.8, 0.8, 0.1]) == 1  # the first of equal peaks


def test_identical_blocks_have_no_role_differentiation():
    xs, ys = network(rise_then_compress(), rise_then_compress(), rise_then_compress())
    assert plane.role_differentiation(xs, ys) == pytest.approx(0.0, abs=1e-12)


def test_blocks_that_move_alike_from_different_starting_points_have_no_role_differentiation():
    a, b = monotone(end=0.2, start=0.6), monotone(end=0.0, start=0.4)  # the same movement, shifted
    assert plane.role_differentiation(*network(a, b)) == pytest.approx(0.0, abs=1e-12)


def test_a_block_that_rises_and_compresses_back_differs_from_one_that_stays():
    # both end where they started, so their net movements are equal: only the peak tells them apart
    xs, ys = network(rise_then_compress(), monotone())
    net_only = np.stack([xs[-1] - xs[0], ys[-1] - ys[0]], axis=1)
    assert np.allclose(net_only[0], net_only[1])
    # half the distance of their peaks: rise_then_compress peaks at probe 2, (+0.4, +0.24) from its start
    assert plane.role_differentiation(xs, ys) == pytest.approx(0.5 * np.hypot(0.4, 0.24))


def test_rise_then_compress_monotone_and_identical_blocks_are_ordered():
    differentiated = plane.role_differentiation(*network(rise_then_compress(), monotone(end=0.8), monotone(end=0.1)))
    monotone_only = plane.role_differentiation(*network(monotone(end=0.5), monotone(end=0.45), monotone(end=0.4)))
    identical = plane.role_differentiation(*network(monotone(end=0.5), monotone(end=0.5), monotone(end=0.5)))
    assert differentiated > monotone_only > identical == pytest.approx(0.0, abs=1e-12)


def test_block_features_are_the_rise_to_the_peak_and_the_net_movement():
    xs, ys = network(rise_then_compress(top=0.8, start=0.4))
    (f,) = plane.block_features(xs, ys)
    assert f == pytest.approx([0.4, 0.24, 0.0, 0.6])


def test_role_differentiation_is_undefined_for_one_block_or_one_probe():
    xs, ys = network(rise_then_compress())
    assert plane.role_differentiation(xs, ys) is None
    xs, ys = network(rise_then_compress(), monotone())
    assert plane.role_differentiation(xs[:1], ys[:1]) is None


def test_trajectories_are_normalized_by_each_estimators_extent():
    probes = [{"nhsic_x": [2.0, 4.0], "nhsic_y": [1.0, 1.0], "nhsic_x_bound": 8.0, "nhsic_y_bound": 4.0,
               "cka_x": [0.5, 0.4], "cka_y": [0.1, 0.2]},
              {"nhsic_x": [4.0, 2.0], "nhsic_y": [2.0, 3.0], "nhsic_x_bound": 8.0, "nhsic_y_bound": 4.0,
               "cka_x": [0.6, 0.3], "cka_y": [0.3, 0.4]}]
    xs, ys = plane.trajectories(probes, "nhsic", normalize=True)
    assert xs.tolist() == [[0.25, 0.5], [0.5, 0.25]] and ys.tolist() == [[0.25, 0.25], [0.5, 0.75]]
    cx, _ = plane.trajectories(probes, "cka", normalize=True)
    assert cx.tolist() == [[0.5, 0.4], [0.6, 0.3]]  # CKA lies in [0, 1] already
    assert plane.trajectories(probes, "nhsic_median") is None
