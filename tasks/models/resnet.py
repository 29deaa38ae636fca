"""ResNet-18 in its CIFAR form (He, Zhang, Ren & Sun 2016), one block per residual block.

CIFAR form: a 3x3 stride-1 stem convolution and no max-pooling, so a 32x32 image keeps its
resolution through the first stage; stages of 64, 128, 256 and 512 filters, two basic blocks each,
the first block of stages 2-4 halving the map. Blocks: ``stem``, ``res1a``, ``res1b``, ``res2a``, ...,
``res4b`` (nine in all); head: global average pooling and a linear layer. 11,173,962 trainable
parameters for 10 classes (the usual PyTorch count; Keras also counts BatchNorm's moving statistics).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from suite.api import Network
from tasks.models.cnn import conv_block

BN_MOMENTUM = 0.9  # PyTorch's default (momentum 0.1), as in the papers' code
STAGES = (1, 2, 4, 8)  # filters of each stage, as multiples of the base width


def _bn() -> keras.layers.BatchNormalization:
    return keras.layers.BatchNormalization(momentum=BN_MOMENTUM)


def basic_block(input_shape: Sequence[int], filters: int, stride: int, name: str) -> keras.Model:
    """``Conv3x3(stride) -> BN -> ReLU -> Conv3x3 -> BN``, plus the shortcut, then ReLU.

    The shortcut is the identity, or ``Conv1x1(stride) -> BN`` when the shape changes. Built as a small
    functional model, so it is one layer of the network.
    """
    x = keras.Input(shape=tuple(input_shape))
    h = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    h = keras.layers.ReLU()(_bn()(h))
    h = _bn()(keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(h))
    shortcut = x
    if stride != 1 or int(input_shape[-1]) != filters:
        shortcut = _bn()(keras.layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x))
    out = keras.layers.ReLU()(keras.layers.Add()([h, shortcut]))
    return keras.Model(x, out, name=name)


def resnet(
    input_shape: Sequence[int],
    num_classes: int,
    blocks_per_stage: Sequence[int] = (2, 2, 2, 2),
    width: int = 64,
    augment: keras.Layer | None = None,
) -> Network:
    """A CIFAR-style ResNet of basic blocks; ``blocks_per_stage=(2, 2, 2, 2)`` is ResNet-18.

    Args:
        input_shape: e.g. ``(32, 32, 3)``.
        num_classes: classes of the head.
        blocks_per_stage: basic blocks in each of the four stages.
        width: filters of the stem and the first stage (64 in ResNet-18; smaller for tests).
        augment: layer applied to the input while training (e.g. ``RandomFlip("horizontal")``).
    """
    if len(blocks_per_stage) != len(STAGES):
        raise ValueError(f"blocks_per_stage needs {len(STAGES)} entries, got {list(blocks_per_stage)}")
    stem = conv_block(width, pool=False, name="stem", bn_momentum=BN_MOMENTUM)
    blocks: list[keras.Layer] = [stem]
    shape = stem.compute_output_shape((None, *input_shape))[1:]
    for s, (mult, count) in enumerate(zip(STAGES, blocks_per_stage)):
        for b in range(count):
            stride = 2 if s > 0 and b == 0 else 1
            block = basic_block(shape, width * mult, stride, name=f"res{s + 1}{chr(ord('a') + b)}")
            blocks.append(block)
            shape = block.output.shape[1:]
    head = keras.Sequential([keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(num_classes)], name="head")
    return Network(input_shape, blocks, head, num_classes, block_names=[b.name for b in blocks], augment=augment)


def resnet18(input_shape: Sequence[int], num_classes: int, width: int = 64, augment: keras.Layer | None = None) -> Network:
    """ResNet-18, CIFAR form: stem + 8 basic blocks (see :func:`resnet`)."""
    return resnet(input_shape, num_classes, (2, 2, 2, 2), width, augment)
