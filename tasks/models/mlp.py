"""Multi-layer perceptron as a list of blocks: ``Dense(width) -> ReLU``, or Sakamoto & Sato's block
``Dense(width) -> BatchNorm -> ReLU -> Dropout(0.2)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import keras

from suite.api import Network

#: The layers of one hidden block: ``"dense-relu"`` (the default), or ``"dense-bn-relu-dropout"``, the MLP
#: block of Sakamoto & Sato's (2024) code.
MLPBlock = Literal["dense-relu", "dense-bn-relu-dropout"]
BN_MOMENTUM = 0.9  # PyTorch's default (momentum 0.1), as for the VGG and ResNet blocks
DROPOUT = 0.2


def mlp_block_layers(width: int, block: MLPBlock = "dense-relu") -> list[keras.Layer]:
    """The layers of one hidden block of ``width`` units (without the first block's ``Flatten``).

    In ``dense-bn-relu-dropout`` the Dense layer has no bias: BatchNorm's shift replaces it.
    """
    if block == "dense-relu":
        return [keras.layers.Dense(width), keras.layers.ReLU()]
    if block == "dense-bn-relu-dropout":
        return [keras.layers.Dense(width, use_bias=False), keras.layers.BatchNormalization(momentum=BN_MOMENTUM),
                keras.layers.ReLU(), keras.layers.Dropout(DROPOUT)]
    raise ValueError(f"unknown MLP block {block!r}; expected 'dense-relu' or 'dense-bn-relu-dropout'")


def mlp(input_shape: Sequence[int], num_classes: int, depth: int, width: int, block: MLPBlock = "dense-relu") -> Network:
    """An MLP with ``depth`` hidden blocks of ``width`` units (see :func:`mlp_block_layers`) and a linear head.

    The first block flattens its input. Block l's output (width,) is the representation T_l.
    """
    blocks = []
    for i in range(depth):
        layers = [keras.layers.Flatten()] if i == 0 else []
        layers += mlp_block_layers(width, block)
        blocks.append(keras.Sequential(layers, name=f"fc{i + 1}"))
    head = keras.layers.Dense(num_classes, name="head")
    return Network(input_shape, blocks, head, num_classes, block_names=[b.name for b in blocks])
