"""forward-forward, HSIC bottleneck, feedback alignment, direct feedback alignment and predsim: each learns a
tiny digits task above chance, deterministically; their pieces do what their papers say."""

from __future__ import annotations

import numpy as np
import pytest

import keras
from keras import ops
from conftest import make_suite
from regimes.feedback import FeedbackAligned, feedback_aligned_call, unsupported_layers
from regimes.forward_forward import EveryLabel, embed_labels, label_slots
from regimes.kernels import cka, gaussian_kernel, hsic, linear_kernel, nhsic
from regimes.losses import inject_gradient, similarity_matrix
from suite.checks import check_regime
from suite.plan import plan
from suite.registry import regimes

NEW_REGIMES = ["forward-forward", "hsic-bottleneck", "hsic-bottleneck-cka", "feedback-alignment", "direct-feedback-alignment", "predsim"]
TINY = [("digits-mlp", {"depth": 2, "width": 64})]
BUDGET = {"epochs": 3, "batch_size": 64, "learning_rate": 0.003}

_reports: dict[str, object] = {}


def battery(name: str):
    """The conformance report of a regime on the tiny task (two training runs), computed once per session."""
    if name not in _reports:
        _reports[name] = check_regime(regimes.get(name), tasks=TINY, budget=BUDGET)
    return _reports[name]


def result(report, check: str):
    return next(r for r in report.results if r.name == check)


@pytest.mark.parametrize("name", NEW_REGIMES)
def test_regime_learns_tiny_digits_above_chance(name):
    report = battery(name)
    learns = result(report, "learns")
    assert learns.passed, report.format()


@pytest.mark.parametrize("name", NEW_REGIMES)
def test_regime_is_deterministic_for_a_seed(name):
    report = battery(name)
    assert result(report, "is deterministic").passed, report.format()


@pytest.mark.parametrize("name", NEW_REGIMES)
def test_regime_passes_the_whole_conformance_battery(name):
    report = battery(name)
    assert report.ok, report.format()


@pytest.mark.parametrize("name", NEW_REGIMES)
def test_regime_declares_version_citation_and_defaults(name):
    cls = regimes.get(name)
    assert cls.version and cls.citation and cls.__doc__
    assert any(str(y) in cls.citation for y in (2016, 2019, 2020, 2022))
    cls.Params()  # every hyperparameter has a default


def test_forward_forward_is_not_applicable_to_conv_tasks_with_a_reason():
    suite = make_suite("""
[[tasks]]
name = "digits-mlp"
[[tasks]]
name = "digits-cnn"
[[regimes]]
name = "forward-forward"
[[regimes]]
name = "feedback-alignment"
[[regimes]]
name = "hsic-bottleneck"
""")
    na = {(c.task.label, c.regime.label): c.not_applicable for c in plan(suite)}
    assert na[("digits-mlp", "forward-forward")] is None
    assert "mlp" in na[("digits-cnn", "forward-forward")]
    assert na[("digits-cnn", "feedback-alignment")] is None  # conv layers get random feedback too
    assert na[("digits-cnn", "hsic-bottleneck")] is None


def test_feedback_alignment_declares_other_architectures_not_applicable():
    class Other:
        name, architecture = "some-resnet", "resnet"

    reason = regimes.get("feedback-alignment")().supports(Other())
    assert reason and "resnet" in reason


# --- pieces ------------------------------------------------------------------------------------------


def _dense(units: int, inputs: int) -> keras.layers.Dense:
    layer = keras.layers.Dense(units)
    layer.build((None, inputs))
    return layer


def test_feedback_aligned_dense_keeps_the_forward_pass():
    keras.utils.set_random_seed(0)
    dense = _dense(3, 5)
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    np.testing.assert_allclose(ops.convert_to_numpy(FeedbackAligned(dense)(x)), ops.convert_to_numpy(dense(x)), rtol=1e-5, atol=1e-6)


def test_feedback_aligned_dense_sends_the_error_through_the_fixed_random_matrix():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("gradient inspection uses the TensorFlow backend; the layer itself is backend-agnostic")
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    dense = _dense(3, 5)
    fa = FeedbackAligned(dense)
    x = tf.constant(np.random.default_rng(1).normal(size=(4, 5)).astype("float32"))
    upstream = tf.constant(np.random.default_rng(2).normal(size=(4, 3)).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tf.reduce_sum(fa(x) * upstream)
    b = ops.convert_to_numpy(fa.feedback)
    w = ops.convert_to_numpy(dense.kernel)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), upstream.numpy() @ b.T, rtol=1e-5, atol=1e-6)
    assert not np.allclose(b, w)  # the error does not travel through W^T
    # the weights learn as in backpropagation: dL/dW = x^T delta
    np.testing.assert_allclose(tape.gradient(y, dense.kernel).numpy(), x.numpy().T @ upstream.numpy(), rtol=1e-5, atol=1e-6)


def test_feedback_aligned_call_walks_sequential_blocks_and_refuses_unknown_weights():
    block = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(4), keras.layers.ReLU()])
    block.build((None, 2, 3))
    out = feedback_aligned_call(block, keras.Input((2, 3)), FeedbackAligned)
    assert tuple(out.shape) == (None, 4)
    emb = keras.layers.Embedding(10, 4)
    emb.build((None,))
    assert unsupported_layers(keras.Sequential([emb])) != []


def test_inject_gradient_is_zero_valued_with_the_given_gradient():
    h = np.ones((2, 3), "float32")
    assert float(ops.convert_to_numpy(inject_gradient(h, np.full((2, 3), 5.0, "float32")))) == 0.0
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        t = tf.constant(h)
        d = tf.constant(np.arange(6, dtype="float32").reshape(2, 3))
        with tf.GradientTape() as tape:
            tape.watch(t)
            v = inject_gradient(t, d)
        np.testing.assert_allclose(tape.gradient(v, t).numpy(), d.numpy() / 2)


def test_similarity_matrix_of_one_hot_labels_is_one_for_equal_labels():
    y = np.eye(3, dtype="float32")[[0, 0, 1, 2]]
    r = ops.convert_to_numpy(similarity_matrix(y))
    assert r[0, 1] == pytest.approx(1.0) and r[0, 2] == pytest.approx(-0.5) and r[2, 2] == pytest.approx(1.0)


def test_kernel_estimators_detect_dependence():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(64, 5)).astype("float32")
    unrelated = rng.normal(size=(64, 5)).astype("float32")
    k_a = gaussian_kernel(a, 1.0)
    assert float(ops.convert_to_numpy(cka(k_a, k_a))) == pytest.approx(1.0, abs=1e-4)
    assert float(ops.convert_to_numpy(cka(k_a, gaussian_kernel(2 * a, 1.0)))) > float(ops.convert_to_numpy(cka(k_a, gaussian_kernel(unrelated, 1.0))))
    assert float(ops.convert_to_numpy(hsic(k_a, k_a))) > 0
    assert float(ops.convert_to_numpy(nhsic(k_a, k_a))) > float(ops.convert_to_numpy(nhsic(k_a, linear_kernel(unrelated))))


def test_label_slots_pick_the_least_variable_inputs_and_embedding_is_one_hot():
    x = np.random.default_rng(0).random((50, 4, 4, 1)).astype("float32")
    x[:, 0, :3, 0] = 0.0  # three constant "border" pixels
    slots = label_slots(x, 3)
    assert list(slots) == [0, 1, 2]
    emb = embed_labels(x, np.array([2] * 50), slots, 1.0).reshape(50, -1)
    assert (emb[:, 2] == 1.0).all() and (emb[:, :2] == 0.0).all()
    np.testing.assert_array_equal(emb[:, 3:], x.reshape(50, -1)[:, 3:])


def test_every_label_layer_matches_numpy_embedding():
    x = np.random.default_rng(0).random((2, 4, 4, 1)).astype("float32")
    slots = np.array([0, 5, 9])
    every = ops.convert_to_numpy(EveryLabel(slots, 1.0, 3)(x))
    assert every.shape == (6, 4, 4, 1)
    for i in range(2):
        for c in range(3):
            np.testing.assert_allclose(every[i * 3 + c], embed_labels(x[i : i + 1], np.array([c]), slots, 1.0)[0])
