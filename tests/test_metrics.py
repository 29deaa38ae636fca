"""nHSIC and CKA against the definitions written out literally (explicit H, np.linalg.inv), in float64."""

from __future__ import annotations

import numpy as np
import pytest

from suite import backend, metrics


# ---- the definitions, as literally as possible --------------------------------------------------

def literal_kernel(a: np.ndarray, kind: str, sigma: float, bandwidth: str = "fixed") -> np.ndarray:
    x = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    m, d = x.shape
    if kind == "linear":
        return x @ x.T
    dist2 = np.array([[np.sum((x[i] - x[j]) ** 2) for j in range(m)] for i in range(m)])
    if bandwidth == "fixed":
        width = 2.0 * sigma**2 * d
    else:  # the median distance between distinct rows (i < j)
        width = 2.0 * float(np.median([np.sqrt(dist2[i, j]) for i in range(m) for j in range(i + 1, m)])) ** 2
    return np.exp(-dist2 / width)


def literal_nhsic(a, b, sigma=5.0, eps=1e-5, kernel_a="gaussian", kernel_b="gaussian", bandwidth="fixed") -> float:
    m = len(a)
    h = np.eye(m) - np.ones((m, m)) / m
    ka = literal_kernel(a, kernel_a, sigma, bandwidth) @ h
    kb = literal_kernel(b, kernel_b, sigma, bandwidth) @ h
    ra = ka @ np.linalg.inv(ka + eps * m * np.eye(m))
    rb = kb @ np.linalg.inv(kb + eps * m * np.eye(m))
    return float(np.trace(ra @ rb))


def literal_cka(a, b, sigma=5.0, kernel_a="gaussian", kernel_b="gaussian", bandwidth="fixed") -> float:
    m = len(a)
    h = np.eye(m) - np.ones((m, m)) / m
    k, l = literal_kernel(a, kernel_a, sigma, bandwidth), literal_kernel(b, kernel_b, sigma, bandwidth)
    return float(np.trace(k @ h @ l @ h) / np.sqrt(np.trace(k @ h @ k @ h) * np.trace(l @ h @ l @ h)))


def relu_features(rng: np.random.Generator, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A representation that depends on ``x`` (a random ReLU layer), reshaped to ``shape``."""
    flat = x.reshape(len(x), -1)
    w = rng.normal(size=(flat.shape[1], int(np.prod(shape)))) / np.sqrt(flat.shape[1])
    return np.maximum(flat @ w, 0).reshape((len(x),) + shape).astype(np.float32)


COMPILED = backend.jit_available() and backend.float64_available()  # on JAX: needs jax_enable_x64
IMPLS = ["numpy", "compiled"] if COMPILED else ["numpy"]
SHAPES = [(40, (3,), (5,)), (120, (16,), (8, 8)), (64, (4, 4, 3), (2, 2, 8)), (50, (6, 6, 2), (3, 3, 4))]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("m,shape_a,shape_b", SHAPES)
def test_nhsic_matches_the_literal_definition(impl, m, shape_a, shape_b):
    rng = np.random.default_rng(m)
    a = rng.normal(size=(m,) + shape_a).astype(np.float32)
    b = relu_features(rng, a, shape_b)
    got = metrics.nhsic(a, b, impl=impl)
    assert got == pytest.approx(literal_nhsic(a, b), rel=1e-4)


def test_the_default_fixed_bandwidth_matches_the_literal_definition_to_1e9():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(80, 6))
    b = np.maximum(a @ rng.normal(size=(6, 12)), 0)
    assert metrics.nhsic(a, b, impl="numpy") == pytest.approx(literal_nhsic(a, b), rel=1e-9)
    assert metrics.nhsic(a, b, impl="numpy", bandwidth="fixed") == metrics.nhsic(a, b, impl="numpy")


def test_the_median_bandwidth_matches_its_literal_definition():
    rng = np.random.default_rng(8)
    a = rng.normal(size=(60, 5))
    b = np.maximum(a @ rng.normal(size=(5, 9)), 0)
    assert metrics.nhsic(a, b, bandwidth="median") == pytest.approx(literal_nhsic(a, b, bandwidth="median"), rel=1e-9)
    assert metrics.cka(a, b, bandwidth="median") == pytest.approx(literal_cka(a, b, bandwidth="median"), rel=1e-9)


def test_the_median_bandwidth_is_invariant_to_rescaling_a_representation():
    rng = np.random.default_rng(9)
    a = np.maximum(rng.normal(size=(120, 16)) @ rng.normal(size=(16, 32)), 0)
    y = metrics.one_hot(rng.integers(0, 5, 120), 5)
    for kernel_b in ("gaussian", "linear"):
        base = metrics.nhsic(a, y, bandwidth="median", kernel_b=kernel_b)
        for scale in (0.1, 10.0, 30.0):
            assert metrics.nhsic(scale * a, y, bandwidth="median", kernel_b=kernel_b) == pytest.approx(base, abs=1e-6)
            assert metrics.cka(scale * a, y, bandwidth="median", kernel_b=kernel_b) == pytest.approx(
                metrics.cka(a, y, bandwidth="median", kernel_b=kernel_b), abs=1e-6)
    # the paper's fixed width is not: the same representation scores differently at another scale
    assert abs(metrics.nhsic(10 * a, y) - metrics.nhsic(0.1 * a, y)) > 1.0


def test_the_median_bandwidth_ignores_duplicate_rows_and_a_constant_representation_carries_nothing():
    rng = np.random.default_rng(10)
    distinct = rng.normal(size=(10, 3))
    mostly_same = np.concatenate([np.zeros((40, 3)), distinct])  # more than half of all pairs are identical
    k = metrics.kernel_matrix(mostly_same, bandwidth="median")
    assert np.all(np.isfinite(k)) and 0 < k[0, -1] < 1
    constant = np.ones((30, 4))
    assert metrics.nhsic(constant, rng.normal(size=(30, 2)), bandwidth="median") == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("impl", IMPLS)
def test_nhsic_with_one_hot_labels_and_the_linear_kernel(impl):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, size=90)
    labels = metrics.one_hot(y, 5)
    t = (rng.normal(size=(90, 4, 4, 2)) + y[:, None, None, None]).astype(np.float32)  # depends on y
    for kernel in ("gaussian", "linear"):
        got = metrics.nhsic(t, labels, kernel_b=kernel, impl=impl)
        assert got == pytest.approx(literal_nhsic(t, labels, kernel_b=kernel), rel=1e-4)


def test_nhsic_follows_sigma_and_eps():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(60, 7)), rng.normal(size=(60, 2, 3))
    for sigma, eps in [(1.0, 1e-3), (0.5, 1e-5), (10.0, 1e-2)]:
        assert metrics.nhsic(a, b, sigma=sigma, eps=eps) == pytest.approx(literal_nhsic(a, b, sigma, eps), rel=1e-4)
    assert metrics.nhsic(a, b, sigma=1.0) != pytest.approx(metrics.nhsic(a, b, sigma=5.0), rel=1e-3)


def test_the_literal_operator_helpers_agree_with_nhsic():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(50, 4)), rng.normal(size=(50, 3, 2))
    via_operators = metrics.nhsic_from_operators(metrics.normalized_operator(a), metrics.normalized_operator(b))
    assert via_operators == pytest.approx(metrics.nhsic(a, b), rel=1e-9)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("m,shape_a,shape_b", SHAPES[:3])
def test_cka_matches_the_literal_definition(impl, m, shape_a, shape_b):
    rng = np.random.default_rng(m + 7)
    a = rng.normal(size=(m,) + shape_a)
    b = relu_features(rng, a, shape_b)
    assert metrics.cka(a, b, impl=impl) == pytest.approx(literal_cka(a, b), rel=1e-4)


def test_nhsic_is_symmetric_and_invariant_to_a_joint_row_permutation():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(70, 5))
    b = relu_features(rng, a, (6,))
    perm = rng.permutation(70)
    v = metrics.nhsic(a, b)
    assert metrics.nhsic(b, a) == pytest.approx(v, rel=1e-9)
    assert metrics.nhsic(a[perm], b[perm]) == pytest.approx(v, rel=1e-9)
    # permuting only one side destroys the pairing, and with it most of the dependence
    assert metrics.nhsic(a, b[perm]) < v


def test_gaussian_nhsic_ignores_translation_and_rotation_of_features():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(60, 4))
    b = relu_features(rng, a, (4,))
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    v = metrics.nhsic(a, b)
    assert metrics.nhsic(a @ q + 100.0, b) == pytest.approx(v, rel=1e-6)


def test_cka_is_one_for_identical_inputs_and_lies_in_the_unit_interval():
    rng = np.random.default_rng(6)
    a = rng.normal(size=(50, 3, 3))
    assert metrics.cka(a, a) == pytest.approx(1.0, abs=1e-12)
    for _ in range(5):
        b = rng.normal(size=(50, 8)) * rng.uniform(0.1, 10)
        assert 0.0 <= metrics.cka(a, b) <= 1.0
        assert 0.0 <= metrics.cka(a, b, kernel_b="linear") <= 1.0


def test_nhsic_is_bounded_by_the_trace_of_each_normalized_operator():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(80, 6))
    ref = metrics.Reference.of(x, "gaussian", 5.0, 1e-5)
    for t in (x, relu_features(rng, x, (10,)), rng.normal(size=(80, 3))):
        v = metrics.nhsic(x, t)
        assert 0.0 <= v <= ref.trace
    assert metrics.nhsic(x, x) == pytest.approx(float(np.sum(ref.resolvent**2)), rel=1e-9)


def test_dependent_representations_score_higher_than_independent_noise():
    rng = np.random.default_rng(9)
    # With eps = 1e-5, nHSIC saturates for high-dimensional samples (many eigenvalues above eps m):
    # independent 16-d noise already scores close to a dependent 16-d code. Low-dimensional x shows it.
    x = rng.normal(size=(100, 3))
    dependent = relu_features(rng, x, (16,))
    noise = rng.normal(size=(100, 3))
    assert metrics.nhsic(x, dependent) > 2 * metrics.nhsic(x, noise)
    assert metrics.cka(x, dependent) > 2 * metrics.cka(x, noise)


@pytest.mark.parametrize("impl", IMPLS)
def test_plane_estimator_equals_the_pairwise_estimators(impl):
    rng = np.random.default_rng(10)
    x = rng.normal(size=(64, 2, 2, 3)).astype(np.float32)
    labels = metrics.one_hot(rng.integers(0, 4, 64), 4)
    plane = metrics.PlaneEstimator({"x": (x, "gaussian"), "y": (labels, "linear")}, impl=impl,
                                   estimators=("nhsic", "nhsic_median", "cka", "cka_median"))
    t = relu_features(rng, x, (3, 3, 2))
    s = plane.scores(t)
    assert set(s) == {"nhsic_x", "nhsic_y", "nhsic_median_x", "nhsic_median_y", "cka_x", "cka_y", "cka_median_x", "cka_median_y"}
    assert s["nhsic_x"] == pytest.approx(literal_nhsic(x, t), rel=1e-4)
    assert s["nhsic_y"] == pytest.approx(literal_nhsic(labels, t, kernel_a="linear"), rel=1e-4)
    assert s["nhsic_median_x"] == pytest.approx(literal_nhsic(x, t, bandwidth="median"), rel=1e-4)
    assert s["nhsic_median_y"] == pytest.approx(literal_nhsic(labels, t, kernel_a="linear", bandwidth="median"), rel=1e-4)
    # cka keeps the fixed width (cka-v1); cka_median is the scale-invariant one (metrics.PLANE_MEASURES)
    assert s["cka_x"] == pytest.approx(literal_cka(x, t), rel=1e-4)
    assert s["cka_y"] == pytest.approx(literal_cka(labels, t, kernel_a="linear"), rel=1e-4)
    assert s["cka_median_x"] == pytest.approx(literal_cka(x, t, bandwidth="median"), rel=1e-4)
    assert s["cka_median_y"] == pytest.approx(literal_cka(labels, t, kernel_a="linear", bandwidth="median"), rel=1e-4)
    bounds = plane.bounds()
    assert set(bounds) == {"nhsic_x_bound", "nhsic_y_bound", "nhsic_median_x_bound", "nhsic_median_y_bound"}
    assert 0 < s["nhsic_median_x"] <= bounds["nhsic_median_x_bound"]
    only = metrics.PlaneEstimator({"x": (x, "gaussian")}, estimators=("nhsic",), impl=impl).scores(t)
    assert set(only) == {"nhsic_x"} and only["nhsic_x"] == pytest.approx(s["nhsic_x"], rel=1e-12)


@pytest.mark.skipif(not COMPILED, reason="no float64 JIT on this backend")
def test_compiled_and_numpy_kernel_steps_agree_to_rounding():
    rng = np.random.default_rng(11)
    t = np.maximum(rng.normal(size=(90, 4, 4, 8)), 0).astype(np.float32) * 3
    a = metrics.centered_kernel(t, impl="numpy")
    b = metrics.centered_kernel(t, impl="compiled")
    assert np.max(np.abs(a - b)) <= 1e-12 * np.max(np.abs(a))


def test_auto_uses_numpy_on_a_cpu_and_the_default_can_be_forced():
    assert backend.jit_available() == (backend.name() in ("tensorflow", "jax"))
    if not backend.on_accelerator():
        assert metrics._resolve("auto", 360, 128) == "numpy"
    previous = metrics.set_default_impl("compiled" if COMPILED else "numpy")
    try:
        assert metrics._resolve("auto", 10, 10) == ("compiled" if COMPILED else "numpy")
        assert metrics._resolve("numpy", 10, 10) == "numpy"
    finally:
        metrics.set_default_impl(previous)


def test_clear_errors_for_bad_inputs():
    a = np.zeros((10, 3))
    with pytest.raises(ValueError, match="same number of rows"):
        metrics.nhsic(a, np.zeros((9, 3)))
    with pytest.raises(ValueError, match="unknown kernel"):
        metrics.nhsic(a, a, kernel_a="laplace")
    with pytest.raises(ValueError, match="unknown implementation"):
        metrics.nhsic(a, a, impl="cuda")
    with pytest.raises(ValueError, match="unknown bandwidth"):
        metrics.nhsic(a, a, bandwidth="silverman")
    with pytest.raises(ValueError, match="unknown estimator"):
        metrics.PlaneEstimator({"x": (a, "gaussian")}, estimators=("mi",))
    with pytest.raises(ValueError, match="at least 2 rows"):
        metrics.cka(a[:1], a[:1])


# ---- accuracy and convergence scores ------------------------------------------------------------

def _history(accs: list[float]):
    from suite.records import EpochRecord

    return [EpochRecord(epoch=e + 1, train_loss=1.0, train_accuracy=a, test_accuracy=a, seconds=2.0 * (e + 1),
                        examples=100 * (e + 1), steps=10 * (e + 1)) for e, a in enumerate(accs)]


def test_time_to_target_is_the_first_epoch_reaching_it_and_none_when_never():
    from suite.scores import training_summary

    s = training_summary(_history([0.5, 0.96, 0.94, 0.97]), target=0.95, budget_epochs=4)
    assert (s["epochs_to_target"], s["examples_to_target"], s["seconds_to_target"]) == (2, 200, 4.0)
    assert s["test_accuracy"] == 0.97 and s["best_test_accuracy"] == 0.97
    assert s["auc"] == pytest.approx((0.5 + 0.96 + 0.94 + 0.97) / 4)
    never = training_summary(_history([0.5, 0.6]), target=0.95, budget_epochs=2)
    assert never["epochs_to_target"] is never["seconds_to_target"] is never["examples_to_target"] is None


def test_auc_is_over_the_whole_budget_and_penalizes_divergence():
    from suite.scores import training_summary

    diverged = training_summary(_history([0.8, 0.9]), target=0.95, budget_epochs=4, diverged=True)
    assert diverged["auc"] == pytest.approx((0.8 + 0.9) / 4)
    stopped = training_summary(_history([0.8, 0.9]), target=0.95, budget_epochs=4)
    assert stopped["auc"] == pytest.approx((0.8 + 0.9 + 0.9 + 0.9) / 4)
