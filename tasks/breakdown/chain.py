"""Module chain: m fixed random Boolean modules in series; the label is the chain's output.

Glasmachers (2017) argues that end-to-end learning degrades as a system grows into more
non-trivial modules in series. Here every module is a layer of a fixed random Boolean circuit: each
of its ``state_bits`` output bits is a random *local* function of its input state, either
``a xor b`` or ``a xor (b and c)`` of randomly wired input bits, possibly negated. Each module alone
is simple (every output bit depends on two or three bits of its input, with a clear margin: it is
learned exactly from its module target), but the composition of m of them makes the label depend
on ever more input bits through ever higher-order interactions, so the label's correlation with any
few input bits fades and the gradient that end-to-end training gets from the label fades with it.

The chain is drawn once (fixed seed) and nested: the task with knob m uses the first m modules of
the same chain, so a larger m extends the smaller one rather than drawing a new problem. The label
is bit 0 of the state after module m; the module targets are the full states after modules
1..m-1. Discrete states are what makes a long chain learnable module by module: a continuous random
teacher network either loses the input's information along the chain (the composition collapses to
a simple function) or amplifies every module's small error (chaos), whereas an exactly learned
Boolean module passes on an exactly correct state.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
from pydantic import Field

import keras
from suite.api import Budget, ModuleTarget, Network, Params, Split, TaskData
from suite.registry import tasks
from tasks.breakdown.common import BreakdownTask, balanced_draw, rng_for

MAX_MODULES = 16


class ModuleChainParams(Params):
    m: int = Field(default=3, ge=1, le=MAX_MODULES, description="modules in series (the difficulty knob)")
    input_bits: int = Field(default=24, ge=3, le=1024, description="input bits x, coded -1/+1")
    state_bits: int = Field(default=12, ge=3, le=1024, description="bits of each intermediate state (a module's output)")
    width: int = Field(default=64, ge=2, le=4096, description="units of each block's two hidden layers")
    train_size: int = Field(default=8000, ge=2, le=1_000_000, description="training examples (even: classes are balanced)")
    test_size: int = Field(default=1000, ge=2, le=1_000_000, description="test examples (even: classes are balanced)")


@dataclasses.dataclass(frozen=True)
class BooleanModule:
    """One layer of a random Boolean circuit: ``out[j] = x[a_j] ^ (x[b_j] & x[c_j] if nonlinear_j else x[b_j]) ^ flip_j``."""

    wires: np.ndarray  # (outputs, 3) input indices; the third is unused by linear gates
    nonlinear: np.ndarray  # (outputs,) bool
    flip: np.ndarray  # (outputs,) 0/1

    def __call__(self, bits: np.ndarray) -> np.ndarray:
        a, b, c = (bits[:, self.wires[:, i]] for i in range(3))
        return a ^ np.where(self.nonlinear, b & c, b) ^ self.flip


@functools.lru_cache(maxsize=8)
def draw_chain(input_bits: int, state_bits: int) -> tuple[BooleanModule, ...]:
    """The fixed chain of :data:`MAX_MODULES` modules for these sizes (the same for every knob value).

    Each output bit reads three distinct bits of the previous state; gates are linear or nonlinear
    with probability 1/2 each, and negated with probability 1/2.
    """
    rng = rng_for("module-chain", input_bits, state_bits)
    modules = []
    width_in = input_bits
    for _ in range(MAX_MODULES):
        wires = np.stack([rng.choice(width_in, size=3, replace=False) for _ in range(state_bits)])
        modules.append(BooleanModule(wires, rng.random(state_bits) < 0.5, rng.integers(0, 2, size=state_bits, dtype=np.int32)))
        width_in = state_bits
    return tuple(modules)


def chain_states(bits: np.ndarray, modules: tuple[BooleanModule, ...]) -> list[np.ndarray]:
    """The states after each module for input ``bits`` (0/1 integers)."""
    states = []
    for module in modules:
        bits = module(bits)
        states.append(bits)
    return states


@functools.lru_cache(maxsize=16)
def _examples(m: int, input_bits: int, state_bits: int, train_size: int, test_size: int):
    """(x in {-1, +1}^n as float32, states after modules 1..m-1, label) for train and test."""
    modules = draw_chain(input_bits, state_bits)[:m]
    rng = rng_for("module-chain/data", m, input_bits, state_bits, train_size, test_size)

    def draw(g: np.random.Generator, count: int) -> tuple[np.ndarray, ...]:
        bits = g.integers(0, 2, size=(count, input_bits), dtype=np.int32)
        states = chain_states(bits, modules)
        return ((2.0 * bits - 1.0).astype(np.float32), *states[:-1], states[-1][:, 0].astype(np.int32))

    def label(arrays: tuple[np.ndarray, ...]) -> np.ndarray:
        return arrays[-1]

    return balanced_draw(draw, label, train_size, 2, rng), balanced_draw(draw, label, test_size, 2, rng)


@tasks.register
class ModuleChain(BreakdownTask):
    """Input: ``input_bits`` uniform random bits coded -1/+1. Label: bit 0 of the state after m
    random Boolean modules in series (see the module docstring).

    Blocks: ``module1`` .. ``module{m}``, each Dense-ReLU-Dense-ReLU (``width`` units); head: linear,
    2 classes. Module targets ``state1`` .. ``state{m-1}`` (block i-1 predicts the ``state_bits``
    bits of the state after module i, shape ``(state_bits,)``); block m and the head learn the label.
    Both splits are exactly balanced, so chance is 0.5. Target accuracy: 0.9.
    """

    name = "module-chain"
    version = "1.0"
    description = "m random Boolean modules in series -> bit 0 of the last state; module targets: the intermediate states (knob m)"
    Params = ModuleChainParams
    difficulty_knob = "m"
    architecture = "mlp"
    default_budget = Budget(epochs=10, batch_size=32, optimizer="adam", learning_rate=2e-3)
    target_accuracy = 0.9

    def load_data(self) -> TaskData:
        p = self.params
        train, test = _examples(p.m, p.input_bits, p.state_bits, p.train_size, p.test_size)
        targets = {
            f"state{i + 1}": ModuleTarget(
                module=i,
                train=Split(train[0], train[1 + i]),
                test=Split(test[0], test[1 + i]),
                num_classes=2,
                description=f"the {p.state_bits} bits (0/1) of the state after module {i + 1}; shape ({p.state_bits},)",
            )
            for i in range(p.m - 1)
        }
        return TaskData(train=Split(train[0], train[-1]), test=Split(test[0], test[-1]), num_classes=2, module_targets=targets)

    def build_network(self, data: TaskData) -> Network:
        w = self.params.width
        blocks = [
            keras.Sequential([keras.layers.Dense(w), keras.layers.ReLU(), keras.layers.Dense(w), keras.layers.ReLU()], name=f"module{i + 1}")
            for i in range(self.params.m)
        ]
        head = keras.layers.Dense(2, name="head")
        return Network(data.input_shape, blocks, head, 2, block_names=[b.name for b in blocks])
