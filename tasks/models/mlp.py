"""Multi-layer perceptron as a list of blocks: each block is ``Dense(width) -> ReLU``."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from suite.api import Network


def mlp(input_shape: Sequence[int], num_classes: int, depth: int, width: int) -> Network:
    """An MLP with ``depth`` hidden blocks of ``width`` units and a linear head.

    The first block flattens its input. Block l's output (width,) is the representation T_l.
    """
    blocks = []
    for i in range(depth):
        layers = [keras.layers.Flatten()] if i == 0 else []
        layers += [keras.layers.Dense(width), keras.layers.ReLU()]
        blocks.append(keras.Sequential(layers, name=f"fc{i + 1}"))
    head = keras.layers.Dense(num_classes, name="head")
    return Network(input_shape, blocks, head, num_classes, block_names=[b.name for b in blocks])
