"""A small convolutional network for tiny images (e.g. 8x8 digits), as a list of conv blocks."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from suite.api import Network


def conv_block(filters: int, pool: bool, name: str, dropout: float = 0.0, bn_momentum: float = 0.99) -> keras.Sequential:
    """``Conv3x3 -> BatchNorm -> ReLU [-> MaxPool2x2] [-> Dropout]``.

    ``bn_momentum`` is Keras' moving-average momentum (PyTorch's default momentum 0.1 is Keras' 0.9).
    """
    layers = [
        keras.layers.Conv2D(filters, 3, padding="same", use_bias=False),
        keras.layers.BatchNormalization(momentum=bn_momentum),
        keras.layers.ReLU(),
    ]
    if pool:
        layers.append(keras.layers.MaxPooling2D(2))
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    return keras.Sequential(layers, name=name)


def small_cnn(input_shape: Sequence[int], num_classes: int, width: int = 32, depth: int = 4) -> Network:
    """``depth`` conv blocks; the width doubles and the map halves after every second block.

    Head: global average pooling then a linear layer.
    """
    blocks = []
    for i in range(depth):
        filters = width * 2 ** (i // 2)
        # momentum 0.9: with ~20 steps an epoch the default 0.99 leaves the running statistics far behind
        blocks.append(conv_block(filters, pool=(i % 2 == 1), name=f"conv{i + 1}", bn_momentum=0.9))
    head = keras.Sequential([keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(num_classes)], name="head")
    return Network(input_shape, blocks, head, num_classes, block_names=[b.name for b in blocks])
