"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998) as a list of four blocks and a linear head."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import keras

from suite.api import Network


def lenet5(
    input_shape: Sequence[int],
    num_classes: int,
    activation: Literal["relu", "tanh"] = "relu",
    conv1_padding: Literal["same", "valid"] = "same",
    augment: keras.Layer | None = None,
) -> Network:
    """LeNet-5 in its common modern form: ReLU and max-pooling instead of scaled tanh and trainable
    subsampling, a full connection from ``conv1`` to ``conv2``, and a linear head instead of RBF units.

    Blocks (the representations T_1..T_4 the probe sees):

    * ``conv1``: Conv 6@5x5 -> activation -> MaxPool 2x2
    * ``conv2``: Conv 16@5x5 (valid) -> activation -> MaxPool 2x2
    * ``fc1``: Flatten -> Dense 120 -> activation
    * ``fc2``: Dense 84 -> activation

    Head: Dense ``num_classes`` (logits).

    ``conv1_padding="same"`` on a 28x28 input gives the classic 28x28 maps that the original 32x32
    input gave without padding: 61,706 parameters for 28x28x1 inputs and 10 classes. ``augment`` is
    applied to the input while training (see :class:`suite.api.Network`).

    Example:
        >>> net = lenet5((28, 28, 1), 10)
        >>> net.block_output_shapes
        [(14, 14, 6), (5, 5, 16), (120,), (84,)]
    """
    blocks = [
        keras.Sequential([keras.layers.Conv2D(6, 5, padding=conv1_padding), keras.layers.Activation(activation),
                          keras.layers.MaxPooling2D(2)], name="conv1"),
        keras.Sequential([keras.layers.Conv2D(16, 5, padding="valid"), keras.layers.Activation(activation),
                          keras.layers.MaxPooling2D(2)], name="conv2"),
        keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(120), keras.layers.Activation(activation)], name="fc1"),
        keras.Sequential([keras.layers.Dense(84), keras.layers.Activation(activation)], name="fc2"),
    ]
    head = keras.layers.Dense(num_classes, name="head")
    return Network(input_shape, blocks, head, num_classes, block_names=[b.name for b in blocks], augment=augment)
