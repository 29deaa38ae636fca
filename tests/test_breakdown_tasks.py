"""The synthetic breakdown tasks: fixed data, balanced classes, consistent module targets, knobs."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from suite import backend
from suite.registry import tasks
from tasks.breakdown import chain, parity_digits, sparse_parity
from tasks.datasets import embedded

SMALL = {
    "parity-of-digits": {"k": 3, "width": 8, "train_size": 200, "test_size": 100},
    "sparse-parity": {"n": 12, "k": 3, "width": 8, "train_size": 200, "test_size": 100},
    "module-chain": {"m": 3, "input_bits": 10, "state_bits": 6, "width": 8, "train_size": 200, "test_size": 100},
}


def make(name: str, **overrides):
    cls = tasks.get(name)
    return cls(cls.Params(**{**SMALL[name], **overrides}))


@pytest.mark.parametrize("name", sorted(SMALL))
def test_data_is_fixed_whatever_the_global_seed(name):
    task = make(name)
    generate = {"parity-of-digits": parity_digits._tuples, "sparse-parity": sparse_parity._examples, "module-chain": chain._examples}[name]
    args = {
        "parity-of-digits": lambda p: (p.k, p.train_size, p.test_size),
        "sparse-parity": lambda p: (p.n, p.k, p.train_size, p.test_size),
        "module-chain": lambda p: (p.m, p.input_bits, p.state_bits, p.train_size, p.test_size),
    }[name](task.params)
    backend.seed_everything(1)
    first = generate.__wrapped__(*args)  # bypass the cache: really generate twice
    backend.seed_everything(2)
    np.random.seed(123)
    second = generate.__wrapped__(*args)
    for a, b in zip(first[0] + first[1], second[0] + second[1]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_classes_are_exactly_balanced_and_chance_is_one_half(name):
    task = make(name)
    data = task.load_data()
    for split in (data.train, data.test):
        assert np.bincount(split.y, minlength=2).tolist() == [len(split) // 2] * 2
    assert task.chance_level(data) == 0.5
    assert 0.5 < task.target_accuracy <= 1.0


@pytest.mark.parametrize("name", sorted(SMALL))
def test_the_knob_is_a_declared_param(name):
    task = make(name)
    assert task.difficulty_knob in type(task.params).model_fields
    assert task.knob_value == SMALL[name][task.difficulty_knob]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_module_targets_are_seen_on_the_network_inputs_and_fit_their_blocks(name):
    task = make(name)
    data = task.load_data()
    network = task.build_network(data)
    assert task.provides_module_targets and data.module_targets
    for target in data.module_targets.values():
        assert 0 <= target.module < len(network.blocks)
        np.testing.assert_array_equal(target.train.x, data.train.x)
        np.testing.assert_array_equal(target.test.x, data.test.x)
        assert target.train.y.shape[0] == len(data.train) and target.test.y.shape[0] == len(data.test)
        assert set(np.unique(target.train.y)) <= set(range(target.num_classes))
        assert target.description


def test_parity_of_digits_targets_are_per_image_oddness_and_the_label_their_parity():
    task = make("parity-of-digits")
    data = task.load_data()
    odd = data.module_targets["oddness"]
    assert data.input_shape == (3, 8, 8, 1)
    assert odd.train.y.shape == (200, 3) and odd.module == 0
    np.testing.assert_array_equal(odd.train.y.sum(axis=1) % 2, data.train.y)
    network = task.build_network(data)
    assert network.block_names == ["recognizer", "aggregator"]
    assert network.block_output_shapes[0] == (3, 8)  # one recognition per image: a per-image module head fits


def test_parity_of_digits_test_tuples_use_only_test_images():
    digits = embedded.digits()
    train_rows = {r.tobytes() for r in digits.train.x.reshape(len(digits.train), -1)}
    test_rows = {r.tobytes() for r in digits.test.x.reshape(len(digits.test), -1)}
    data = make("parity-of-digits").load_data()
    used = {r.tobytes() for r in data.test.x.reshape(-1, 64)}
    assert used <= test_rows and not (used - test_rows) and used.isdisjoint(train_rows - test_rows)


def test_sparse_parity_label_is_the_parity_of_the_relevant_bits():
    task = make("sparse-parity")
    data = task.load_data()
    rel = sparse_parity.relevant_bits(12, 3)
    bits = (data.train.x > 0).astype(int)
    np.testing.assert_array_equal(bits[:, rel], data.module_targets["relevant_bits"].train.y)
    np.testing.assert_array_equal(bits[:, rel].sum(axis=1) % 2, data.train.y)
    with pytest.raises(ValidationError, match="cannot exceed"):
        sparse_parity.SparseParity.Params(n=4, k=5)


def test_module_chain_states_follow_the_fixed_modules_and_longer_chains_extend_shorter_ones():
    data = make("module-chain").load_data()
    modules = chain.draw_chain(10, 6)
    bits = (data.train.x > 0).astype(np.int32)
    s1, s2 = data.module_targets["state1"].train.y, data.module_targets["state2"].train.y
    assert s1.shape == (200, 6) and data.module_targets["state2"].module == 1
    np.testing.assert_array_equal(modules[0](bits), s1)
    np.testing.assert_array_equal(modules[1](s1), s2)
    np.testing.assert_array_equal(modules[2](s2)[:, 0], data.train.y)
    longer = make("module-chain", m=4).load_data()
    assert sorted(longer.module_targets) == ["state1", "state2", "state3"]
    np.testing.assert_array_equal(
        modules[0]((longer.train.x > 0).astype(np.int32)), longer.module_targets["state1"].train.y
    )


def test_a_one_module_chain_has_no_module_targets():
    data = make("module-chain", m=1).load_data()
    assert data.module_targets == {}
