"""Sparse parity: n random bits in, the parity of k hidden relevant bits out.

The standard hard case for gradient descent (Shalev-Shwartz, Shamir & Shammah 2017, section 2;
Barak et al. 2022, "Hidden Progress in Deep Learning: SGD Learns Parities Near the Computational
Limit"): the label is uncorrelated with every set of fewer than k input bits, so the gradient carries
no signal about which bits matter until the network has (by chance) found all of them; the time
end-to-end training needs grows roughly like n^k. A module target that names the k relevant bits
(the first module's sub-results) removes the search, and an aggregator then learns the parity of k
clean bits quickly. Unlike parity-of-digits there is no perception problem: it isolates the
combinatorial part of the breakdown.
"""

from __future__ import annotations

import functools

import numpy as np
from pydantic import Field, model_validator

import keras
from suite.api import Budget, ModuleTarget, Network, Params, Split, TaskData
from suite.registry import tasks
from tasks.breakdown.common import BreakdownTask, balanced_draw, rng_for


class SparseParityParams(Params):
    n: int = Field(default=32, ge=1, le=4096, description="input bits")
    k: int = Field(default=3, ge=1, le=64, description="relevant bits (the difficulty knob)")
    width: int = Field(default=64, ge=2, le=4096, description="units of the selector's and aggregator's layers")
    train_size: int = Field(default=4000, ge=2, le=1_000_000, description="training examples (even: classes are balanced)")
    test_size: int = Field(default=1000, ge=2, le=1_000_000, description="test examples (even: classes are balanced)")

    @model_validator(mode="after")
    def _k_at_most_n(self) -> "SparseParityParams":
        if self.k > self.n:
            raise ValueError(f"k={self.k} relevant bits cannot exceed n={self.n} input bits")
        return self


def relevant_bits(n: int, k: int) -> np.ndarray:
    """The k relevant positions among n bits (fixed by the data seed, sorted)."""
    return np.sort(rng_for("sparse-parity/relevant", n, k).choice(n, size=k, replace=False))


@functools.lru_cache(maxsize=16)
def _examples(n: int, k: int, train_size: int, test_size: int) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """(x in {-1, +1}^n as float32, relevant bits in {0, 1}^k, label) for train and test."""
    rel = relevant_bits(n, k)
    rng = rng_for("sparse-parity", n, k, train_size, test_size)

    def draw(g: np.random.Generator, count: int) -> tuple[np.ndarray, ...]:
        bits = g.integers(0, 2, size=(count, n), dtype=np.int32)
        sub = bits[:, rel]
        return (2.0 * bits - 1.0).astype(np.float32), sub, (sub.sum(axis=1) % 2).astype(np.int32)

    def label(arrays: tuple[np.ndarray, ...]) -> np.ndarray:
        return arrays[2]

    return balanced_draw(draw, label, train_size, 2, rng), balanced_draw(draw, label, test_size, 2, rng)


@tasks.register
class SparseParity(BreakdownTask):
    """Input: n uniform random bits coded as -1/+1, shape ``(n,)``. Label: parity of k fixed bits.

    Blocks: ``selector`` (Dense-ReLU) and ``aggregator`` (Dense-ReLU-Dense-ReLU); head: linear,
    2 classes. Module target ``relevant_bits`` (block 0): the values of the k relevant bits,
    shape ``(k,)``. Both splits are exactly balanced, so chance is 0.5. Target accuracy: 0.95 (a
    parity of clean bits is learned exactly or not at all).
    """

    name = "sparse-parity"
    version = "1.0"
    description = "n random bits -> parity of k hidden relevant bits; module target: the relevant bits (knob k)"
    Params = SparseParityParams
    difficulty_knob = "k"
    architecture = "mlp"
    default_budget = Budget(epochs=10, batch_size=64, optimizer="adam", learning_rate=1e-3)
    target_accuracy = 0.95

    def load_data(self) -> TaskData:
        p = self.params
        (x_tr, sub_tr, y_tr), (x_te, sub_te, y_te) = _examples(p.n, p.k, p.train_size, p.test_size)
        target = ModuleTarget(
            module=0,
            train=Split(x_tr, sub_tr),
            test=Split(x_te, sub_te),
            num_classes=2,
            description="the values (0/1) of the k relevant input bits; shape (k,)",
        )
        return TaskData(train=Split(x_tr, y_tr), test=Split(x_te, y_te), num_classes=2, module_targets={"relevant_bits": target})

    def build_network(self, data: TaskData) -> Network:
        w = self.params.width
        selector = keras.Sequential([keras.layers.Dense(w), keras.layers.ReLU()], name="selector")
        aggregator = keras.Sequential(
            [keras.layers.Dense(w), keras.layers.ReLU(), keras.layers.Dense(w), keras.layers.ReLU()], name="aggregator"
        )
        head = keras.layers.Dense(2, name="head")
        return Network(data.input_shape, [selector, aggregator], head, 2, block_names=["selector", "aggregator"])
