"""The modular regimes: stages, budget split, learning above chance, the isolation diagnostic, n/a."""

from __future__ import annotations

import numpy as np
import pytest

import keras
from conftest import make_suite
from regimes.modular import block_input_shape, extra_stage_epochs, modular_stages, module_head, reinitialize
from suite import backend
from suite.api import ModuleTarget, Split
from suite.executor import run_suite
from suite.plan import plan
from suite.results import ResultSet
from suite.tables import leaderboard_table
from tasks.breakdown.parity_digits import ParityOfDigits
from tasks.breakdown.sparse_parity import SparseParity

# Small enough to train in a few seconds, large enough to learn: parity of two digits.
PARITY2 = """
[[tasks]]
name = "parity-of-digits"
params = { k = 2, width = 32, train_size = 1200, test_size = 400 }
budget = { epochs = 6, learning_rate = 0.003 }
"""


def records_by_regime(suite, store):
    return {c.regime.label: store.get(c.hash) for c in plan(suite)}


def test_modular_stages_follow_the_supervised_blocks():
    task = SparseParity(SparseParity.Params(n=8, k=2, width=4, train_size=20, test_size=10))
    data = task.load_data()
    net = task.build_network(data)
    stages = modular_stages(net, dict(data.module_targets))
    assert [(s.name, s.blocks, s.target is not None) for s in stages] == [("relevant_bits", (0,), True), ("label", (1,), False)]
    assert [(s.name, s.blocks) for s in modular_stages(net, {})] == [("label", (0, 1))]  # no targets: end to end
    bad = ModuleTarget(module=5, train=data.train, test=data.test, num_classes=2)
    with pytest.raises(ValueError, match="supervises block 5"):
        modular_stages(net, {"bad": bad})
    twice = ModuleTarget(module=0, train=Split(data.train.x, data.train.y), test=data.test, num_classes=2)
    with pytest.raises(ValueError, match="both supervise block 0"):
        modular_stages(net, {"a": data.module_targets["relevant_bits"], "b": twice})


@pytest.mark.parametrize(("features", "target", "logits"), [((3, 8), (3,), (3, 2)), ((8,), (5,), (5, 2)), ((4, 4, 2), (), (2,))])
def test_module_head_maps_block_outputs_to_target_logits(features, target, logits):
    head = module_head(features, target, 2, name="h")
    assert tuple(head(keras.ops.zeros((7, *features))).shape) == (7, *logits)


def test_reinitialize_draws_new_weights_of_the_same_shapes():
    backend.seed_everything(0)
    block = keras.Sequential([keras.layers.Dense(6), keras.layers.ReLU(), keras.layers.Dense(3)])
    block(keras.ops.zeros((1, 4)))
    before = [w.copy() for w in block.get_weights()]
    reinitialize(block, (4,))
    after = block.get_weights()
    assert [w.shape for w in after] == [w.shape for w in before]
    assert not np.allclose(after[0], before[0])


def test_block_input_shape():
    task = ParityOfDigits(ParityOfDigits.Params(k=2, width=4, train_size=20, test_size=10))
    net = task.build_network(task.load_data())
    assert block_input_shape(net, 0) == (2, 8, 8, 1) and block_input_shape(net, 1) == (2, 4)


def test_modular_regimes_learn_parity_of_two_digits_within_the_same_budget(store):
    suite = make_suite(PARITY2 + '[[regimes]]\nname = "modular"\n[[regimes]]\nname = "modular-finetune"\n')
    report = run_suite(suite, store, progress=False)
    assert report.ok and report.ran == 2
    recs = records_by_regime(suite, store)
    for label in ("modular", "modular-finetune"):
        rec = recs[label]
        assert rec.status == "ok"
        assert rec.summary["test_accuracy"] > 0.7, label  # chance is 0.5; 0.7 is 8 standard deviations above it
        assert rec.summary["examples"] == 6 * 1080  # the budget of e2e: epochs x training examples (1200 less validation)
        assert sum(stage["epochs"] for stage in rec.notes["stages"]) == 6
    modular = recs["modular"]
    assert [s["stage"] for s in modular.notes["stages"]] == ["oddness", "label"]
    assert [h.stage for h in modular.history[1:]] == ["module:oddness"] * 3 + ["label"] * 3
    finetune = recs["modular-finetune"]
    assert finetune.notes["stages"][-1] == {"stage": "finetune", "blocks": ["recognizer", "aggregator"], "target": "label", "epochs": 2}
    assert finetune.history[-1].stage == "finetune"


def test_module_isolation_relearns_the_reinitialized_module_from_the_label_alone(store):
    body = """
[[tasks]]
name = "sparse-parity"
params = { n = 10, k = 2, width = 32, train_size = 1000, test_size = 400 }
budget = { epochs = 12, learning_rate = 0.003 }

[[regimes]]
name = "module-isolation"
params = { module = 0 }
"""
    suite = make_suite(body)
    assert run_suite(suite, store, progress=False).ok
    (rec,) = records_by_regime(suite, store).values()
    # 12 epochs, 2 modular stages: the isolated module gets an equal share, 12 / 3 = 4 epochs
    assert rec.notes["isolated_module"] == "selector"
    assert rec.reinitialization is not None and (rec.reinitialization.block, rec.reinitialization.after_epoch) == ("selector", 8)
    isolated = [h for h in rec.history if h.stage == "isolated:selector"]
    assert len(isolated) == 4
    assert isolated[0].test_accuracy < 0.8  # it really starts again ...
    assert isolated[-1].test_accuracy > 0.9  # ... and learns again, through the frozen aggregator, from the label only


def test_extra_stages_take_an_equal_share_unless_told_otherwise():
    assert extra_stage_epochs(10, 2, None) == 3 and extra_stage_epochs(15, 4, None) == 3
    assert extra_stage_epochs(10, 2, 0.5) == 5 and extra_stage_epochs(3, 2, 0.01) == 1
    with pytest.raises(ValueError, match="cannot train 3 modular stages"):
        extra_stage_epochs(3, 3, None)


def test_module_isolation_rejects_a_block_the_task_does_not_have(store):
    suite = make_suite(PARITY2 + '[[regimes]]\nname = "module-isolation"\nparams = { module = 7 }\n')
    report = run_suite(suite, store, progress=False)
    (rec,) = records_by_regime(suite, store).values()
    assert rec.status == "failed" and "module=7 is not a block" in rec.error and report.failed


def test_modular_regimes_are_not_applicable_to_tasks_without_module_targets(store):
    body = """
[[tasks]]
name = "digits-mlp"
params = { depth = 1, width = 8 }
budget = { epochs = 1 }

[[regimes]]
name = "e2e"

[[regimes]]
name = "modular"

[[regimes]]
name = "module-isolation"
"""
    suite = make_suite(body)
    cells = plan(suite)
    assert [c.not_applicable is not None for c in cells] == [False, True, True]
    report = run_suite(suite, store, progress=False)
    assert report.ok and report.ran == 1 and report.not_applicable == 2 and not report.failed
    rows = {line.split("|")[2].strip(): line for line in leaderboard_table(ResultSet.from_cells(cells, store)).splitlines()[2:]}
    assert "n/a" in rows["modular"] and "n/a" in rows["module-isolation"] and "n/a" not in rows["e2e"]


TINY_SPARSE_PARITY = (("sparse-parity", {"n": 10, "k": 2, "width": 32, "train_size": 1000, "test_size": 400}),)


@pytest.mark.parametrize("name", ["modular", "modular-finetune", "module-isolation"])
def test_modular_regimes_pass_the_conformance_battery(name):
    from suite.checks import check_regime
    from suite.registry import regimes

    report = check_regime(regimes.get(name), tasks=TINY_SPARSE_PARITY, budget={"epochs": 9})
    report.raise_for_failures()
