"""hsic-bottleneck follows Ma, Lewis & Kleijn (2020); its former CKA variant keeps its records' identity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import keras
from conftest import make_suite
from regimes.hsic_bottleneck import MA_ET_AL_BATCH_SIZE, MA_ET_AL_OPTIMIZER, HSICBottleneck, HSICBottleneckCKA
from regimes.parts import detached_blocks
from suite.checks import check_regime
from suite.plan import plan
from suite.spec import load_suite
from tasks.models.mlp import mlp

TINY = [("digits-mlp", {"depth": 2, "width": 64})]
LEADERBOARD = Path(__file__).resolve().parents[1] / "leaderboard"


def test_its_defaults_are_ma_lewis_and_kleijns_settings():
    p = HSICBottleneck.Params()
    assert (p.estimator, p.label_kernel, p.lambda_x, p.lambda_y, p.sigma) == ("nhsic", "gaussian", 1.0, 50.0, 5.0)
    assert (MA_ET_AL_BATCH_SIZE, MA_ET_AL_OPTIMIZER) == (512, "sgd")
    assert HSICBottleneck.version == "2.0" and "Ma, Lewis & Kleijn (2020)" in HSICBottleneck.citation


def test_their_batch_size_and_sgd_are_params_that_show_in_the_row_label():
    suite = make_suite('[[tasks]]\nname = "digits-mlp"\n[[regimes]]\nname = "hsic-bottleneck"\n'
                       'params = { batch_size = 512, optimizer = "sgd" }\n')
    assert suite.regimes[0].label == "hsic-bottleneck[batch_size=512,optimizer=sgd]"


def test_each_block_gets_the_gradient_of_its_own_objective_only():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("gradient inspection uses the TensorFlow backend; the regime itself is backend-agnostic")
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    net = mlp((8, 8, 1), 10, depth=3, width=16)
    features, scores = detached_blocks(net)
    model = keras.Model(net.input, {f"t{i + 1}": t for i, t in enumerate(features)} | {"scores": scores})
    objectives = HSICBottleneck().block_objectives(3, 10)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 8, 8, 1)).astype("float32"), rng.integers(0, 10, size=32)
    with tf.GradientTape(persistent=True) as tape:
        per_block, _ = objectives(tf.constant(x), tf.constant(y), model(x))
    for i, loss in enumerate(per_block):
        for j, block in enumerate(net.blocks):
            grads = [g for g in tape.gradient(loss, block.trainable_weights) if g is not None]
            moved = any(float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)
            assert moved == (i == j), f"objective of block {i + 1} vs weights of block {j + 1}"


def test_it_learns_a_tiny_task_above_chance_with_their_batch_size_and_sgd():
    # Plain SGD at batch 512 takes few steps on 1,437 examples: 8 epochs reach about 0.24 on 10 classes
    # (one CPU thread), so the margin over chance is 0.1 here rather than the battery's default 0.15.
    report = check_regime(HSICBottleneck, {"batch_size": 512, "optimizer": "sgd"}, tasks=TINY,
                          budget={"epochs": 8, "learning_rate": 0.1}, margin=0.1)
    assert report.ok, report.format()


def test_the_cka_variant_keeps_the_name_and_version_of_hsic_bottleneck_1_0_in_its_cells():
    p = HSICBottleneckCKA.Params()
    assert (p.estimator, p.label_kernel, p.lam) == ("cka", "linear", 0.1)
    suite = make_suite('[[tasks]]\nname = "digits-mlp"\n[[regimes]]\nname = "hsic-bottleneck-cka"\n')
    (cell,) = plan(suite, "tensorflow")
    assert cell.key()["regime"] == {"name": "hsic-bottleneck", "version": "1.0", "params": p.model_dump(mode="json")}


def test_official_2_0_froze_the_cka_variant_and_3_0_plans_ma_et_al():
    """2.0's records keep the CKA variant's identity (hsic-bottleneck 1.0); the 3.0 suite plans hsic-bottleneck
    at its current version, Ma et al.'s settings."""
    manifest = json.loads((LEADERBOARD / "official-2.0" / "manifest.json").read_text(encoding="utf-8"))
    assert {c["regime"]["version"] for c in manifest["cells"] if c["regime"]["name"] == "hsic-bottleneck"} == {"1.0"}
    suite = load_suite("official")
    assert (suite.name, suite.version) == ("official", "3.0")
    versions = {c.key()["regime"]["version"] for c in plan(suite, "tensorflow") if c.regime.cls.name == "hsic-bottleneck"}
    assert versions == {HSICBottleneck.version} and HSICBottleneck.version != "1.0"
