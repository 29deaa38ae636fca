"""e2e, layerwise and layerwise-seq: they learn, and their gradients go where they claim."""

from __future__ import annotations

import numpy as np
import pytest

import keras
from conftest import make_suite
from regimes.parts import local_heads_model, split_epochs
from suite import backend
from suite.executor import run_suite
from suite.plan import plan
from tasks.digits import DigitsMLP


@pytest.mark.parametrize("regime", ["e2e", "layerwise", "layerwise-seq"])
def test_regime_learns_digits_well_above_chance(store, regime):
    suite = make_suite(f"""
[[tasks]]
name = "digits-mlp"
params = {{ depth = 2, width = 64 }}
budget = {{ epochs = 6, learning_rate = 0.003 }}

[[regimes]]
name = "{regime}"
""")
    run_suite(suite, store, progress=False)
    record = store.get(plan(suite)[0].hash)
    assert record.status == "ok"
    assert record.summary["test_accuracy"] > 0.7  # chance is about 0.1


def test_local_losses_reach_only_their_own_block():
    backend.seed_everything(0)
    task = DigitsMLP(DigitsMLP.Params(depth=3, width=16))
    data = task.load_data()
    net = task.build_network(data)
    model, names = local_heads_model(net, detach=True)
    assert names == ["aux1", "aux2", "final"]
    x = keras.ops.convert_to_tensor(data.train.x[:32])
    y = data.train.y[:32]
    loss_fn = task.loss()

    def grad_norms(output: str) -> list[float]:
        import tensorflow as tf  # gradients are taken with the test backend; the regime itself is backend-agnostic

        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True)[output])
        weights = [b.trainable_weights for b in net.blocks]
        grads = tape.gradient(loss, [w for ws in weights for w in ws])
        norms, i = [], 0
        for ws in weights:
            g = grads[i : i + len(ws)]
            i += len(ws)
            norms.append(sum(float(np.sum(np.square(gi))) for gi in g if gi is not None))
        return norms

    if keras.backend.backend() != "tensorflow":
        pytest.skip("gradient inspection uses the TensorFlow backend")
    final = grad_norms("final")
    assert final[0] == 0 and final[1] == 0 and final[2] > 0
    aux1 = grad_norms("aux1")
    assert aux1[0] > 0 and aux1[1] == 0 and aux1[2] == 0


def test_layerwise_seq_leaves_earlier_blocks_frozen(store):
    from suite.api import Budget
    from suite.runner import CellContext
    from regimes.layerwise_seq import LayerwiseSequential

    backend.seed_everything(0)
    task = DigitsMLP(DigitsMLP.Params(depth=2, width=16))
    data = task.load_data()
    net = task.build_network(data)
    snapshots = []

    class Spy(CellContext):
        def report_epoch(self, **kw):
            snapshots.append([w.copy() for w in net.blocks[0].get_weights()])
            super().report_epoch(**kw)

    ctx = Spy(task, data, net, Budget(epochs=2, batch_size=64), 0, probe=None)
    LayerwiseSequential().train(ctx)  # every stage trains for the full budget: 2 epochs each
    # stage 1 (epochs 1-2) changes block 1; stage 2 (epochs 3-4) must not
    assert len(snapshots) == 4
    assert not np.allclose(snapshots[0][0], snapshots[1][0])
    assert all(np.array_equal(a, b) for a, b in zip(snapshots[1], snapshots[3]))
    assert all(b.trainable for b in net.blocks)  # restored afterwards


def test_split_epochs():
    assert split_epochs(10, 4) == [2, 2, 3, 3]
    assert split_epochs(3, 3) == [1, 1, 1]
    with pytest.raises(ValueError, match="at least 4"):
        split_epochs(3, 4)
