"""Parity of digits: k embedded digit images in, the parity of how many of them are odd out.

The decomposition experiment of Shalev-Shwartz, Shamir & Shammah (2017, "Failures of Gradient-Based
Deep Learning", section 3) on scikit-learn's embedded 8x8 digits: the label is a parity over k
sub-results (is digit i odd?), each computed from one part of the input by the same recognizer.
With supervision on the sub-results a modular pipeline learns quickly; from the final label alone,
the gradient's signal-to-noise ratio decays exponentially in k and end-to-end training stalls.
"""

from __future__ import annotations

import functools

import numpy as np
from pydantic import Field

import keras
from suite.api import Budget, ModuleTarget, Network, Params, Split, TaskData
from suite.registry import tasks
from tasks.breakdown.common import BreakdownTask, balanced_draw, rng_for
from tasks.datasets import embedded


class ParityOfDigitsParams(Params):
    k: int = Field(default=3, ge=1, le=12, description="digits per example (the difficulty knob)")
    width: int = Field(default=64, ge=2, le=1024, description="units of the recognizer's and aggregator's layers")
    train_size: int = Field(default=4000, ge=2, le=200_000, description="training tuples (even: classes are balanced)")
    test_size: int = Field(default=1000, ge=2, le=100_000, description="test tuples (even: classes are balanced)")


@functools.lru_cache(maxsize=16)
def _tuples(k: int, train_size: int, test_size: int) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """(images, oddness, label) for train and test; test tuples use only the digits' test images."""
    digits = embedded.digits()
    rng = rng_for("parity-of-digits", k, train_size, test_size)

    def sampler(split: Split):
        def draw(g: np.random.Generator, count: int) -> tuple[np.ndarray, ...]:
            idx = g.integers(0, len(split), size=(count, k))
            odd = (split.y[idx] % 2).astype(np.int32)
            return split.x[idx], odd, (odd.sum(axis=1) % 2).astype(np.int32)

        return draw

    def label(arrays: tuple[np.ndarray, ...]) -> np.ndarray:
        return arrays[2]

    train = balanced_draw(sampler(digits.train), label, train_size, 2, rng)
    test = balanced_draw(sampler(digits.test), label, test_size, 2, rng)
    return train, test


@tasks.register
class ParityOfDigits(BreakdownTask):
    """Input: k embedded 8x8 digits, shape ``(k, 8, 8, 1)``. Label: parity of the number of odd digits.

    Blocks: ``recognizer`` (shared per image: Dense-ReLU-Dense-ReLU on each flattened 8x8 image,
    output ``(k, width)``) and ``aggregator`` (Dense-ReLU-Dense-ReLU on the k recognitions); head:
    linear, 2 classes. Module target ``oddness`` (block 0): per image, whether its digit is odd,
    shape ``(k,)``. Tuples draw digits with replacement, training tuples only from the digits'
    training images and test tuples only from their test images; both splits are exactly balanced,
    so chance is 0.5. The target accuracy 0.8 is reachable by a modular pipeline up to k = 5: a
    recognizer with per-image error e caps the parity accuracy at ``0.5 + 0.5 (1 - 2e)^k``.
    """

    name = "parity-of-digits"
    version = "1.0"
    description = "k embedded 8x8 digits -> parity of the number of odd digits; module target: per-image oddness (knob k)"
    data_source = "sklearn:load_digits (embedded), tuples generated with a fixed seed"
    Params = ParityOfDigitsParams
    difficulty_knob = "k"
    default_budget = Budget(epochs=10, batch_size=64, optimizer="adam", learning_rate=1e-3)
    target_accuracy = 0.8

    def load_data(self) -> TaskData:
        p = self.params
        (x_tr, odd_tr, y_tr), (x_te, odd_te, y_te) = _tuples(p.k, p.train_size, p.test_size)
        oddness = ModuleTarget(
            module=0,
            train=Split(x_tr, odd_tr),
            test=Split(x_te, odd_te),
            num_classes=2,
            description="per image: 1 if its digit is odd, else 0; shape (k,)",
        )
        return TaskData(train=Split(x_tr, y_tr), test=Split(x_te, y_te), num_classes=2, module_targets={"oddness": oddness})

    def build_network(self, data: TaskData) -> Network:
        k, w = self.params.k, self.params.width
        recognizer = keras.Sequential(
            [keras.layers.Reshape((k, 64)), keras.layers.Dense(w), keras.layers.ReLU(), keras.layers.Dense(w), keras.layers.ReLU()],
            name="recognizer",
        )
        aggregator = keras.Sequential(
            [keras.layers.Flatten(), keras.layers.Dense(w), keras.layers.ReLU(), keras.layers.Dense(w), keras.layers.ReLU()],
            name="aggregator",
        )
        head = keras.layers.Dense(2, name="head")
        return Network(data.input_shape, [recognizer, aggregator], head, 2, block_names=["recognizer", "aggregator"])
