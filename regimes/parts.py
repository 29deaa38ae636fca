"""Small composable pieces that regimes assemble: gradient stops, local heads, epoch splits."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="e2ebench")
class StopGradient(keras.layers.Layer):
    """Identity in the forward pass; no gradient flows back through it (isolates a block's local loss)."""

    def call(self, x):
        return ops.stop_gradient(x)


def split_epochs(total: int, stages: int) -> list[int]:
    """Split ``total`` epochs over ``stages`` as evenly as possible, later stages taking the remainder.

    Raises:
        ValueError: if there are fewer epochs than stages (a stage would train for zero epochs).
    """
    if total < stages:
        raise ValueError(f"a budget of {total} epochs cannot train {stages} stages one epoch each; raise budget.epochs to at least {stages}")
    base, extra = divmod(total, stages)
    return [base + (1 if i >= stages - extra else 0) for i in range(stages)]


def detached_blocks(network) -> tuple[list, object]:
    """The blocks' outputs T_1..T_L with the gradient stopped between blocks, and the head's logits
    computed on the detached last block (symbolic tensors from ``network.input``).

    The shared graph of regimes whose blocks learn from local signals while the output layer learns from
    the task loss alone (HSIC bottleneck, direct feedback alignment, predsim).
    """
    t = network.stem
    features = []
    for i, block in enumerate(network.blocks):
        if i > 0:
            t = StopGradient(name=f"stop{i + 1}")(t)
        t = block(t)
        features.append(t)
    scores = network.head(StopGradient(name="stop_head")(t))
    return features, scores


def local_heads_model(network, detach: bool = True) -> tuple[keras.Model, list[str]]:
    """A model with one output per block: an auxiliary head on blocks 1..L-1 and the network's head on
    block L. With ``detach`` the input of every block but the first is gradient-stopped, so each
    local loss trains only its own block (and head).

    Returns the model (dict outputs) and the output names in block order (the last one is ``final``).
    """
    t = network.stem
    outputs = {}
    names = []
    for i, block in enumerate(network.blocks):
        if i > 0 and detach:
            t = StopGradient(name=f"stop{i + 1}")(t)
        t = block(t)
        if i < len(network.blocks) - 1:
            name = f"aux{i + 1}"
            outputs[name] = network.make_aux_head(i)(t)
            names.append(name)
    outputs["final"] = network.head(t)
    names.append("final")
    return keras.Model(network.input, outputs, name="local_heads"), names
