"""VGG networks in the local-learning style of Nøkland & Eidnes (2019): vgg6b, vgg8b, vgg11b.

Every convolution is its own block (``Conv3x3 -> BatchNorm -> ReLU [-> MaxPool 2x2] -> Dropout``), the
max-pooling placed where the original configurations put an ``M``; then one hidden fully connected
block (``Dense 1024 -> BatchNorm -> ReLU -> Dropout``) and a linear head. The name counts the weight
layers: vgg8b = 6 convolutions + fc1024 + the head. Sakamoto & Sato (2024) train these with a
dropout of 0.2 after every block.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from suite.api import Network
from tasks.models.cnn import conv_block

# Filters per 3x3 convolution; "M" = 2x2 max-pooling (Nøkland & Eidnes 2019, their configurations).
VGG_CONFIGS: dict[str, tuple[int | str, ...]] = {
    "vgg6b": (128, "M", 256, "M", 512, "M", 512, "M"),
    "vgg8b": (128, 256, "M", 256, 512, "M", 512, "M", 512, "M"),
    "vgg11b": (128, 128, 128, 256, "M", 256, 512, "M", 512, 512, "M", 512, "M"),
}
FC_WIDTH = 1024
BN_MOMENTUM = 0.9  # PyTorch's default (momentum 0.1), as in the papers' code


def vgg(
    config: str,
    input_shape: Sequence[int],
    num_classes: int,
    dropout: float = 0.2,
    width_multiplier: float = 1.0,
    fc_width: int = FC_WIDTH,
    augment: keras.Layer | None = None,
) -> Network:
    """A VGG of :data:`VGG_CONFIGS` as blocks ``conv1..convN`` and ``fc1``, with a linear head.

    Args:
        config: ``vgg6b``, ``vgg8b`` or ``vgg11b``.
        input_shape: e.g. ``(32, 32, 3)``; every ``M`` halves the map (floor), so 32x32 ends at 2x2.
        num_classes: classes of the head.
        dropout: dropout rate after every block (0 disables).
        width_multiplier: scales every layer's width (for tiny test variants); 1.0 is the original.
        fc_width: units of the hidden fully connected block (scaled by ``width_multiplier`` too).
        augment: layer applied to the input while training (e.g. ``RandomFlip("horizontal")``).

    vgg8b has about 8.9 M parameters on CIFAR-10 (Nøkland & Eidnes report 8.9 M).
    """
    if config not in VGG_CONFIGS:
        raise ValueError(f"unknown VGG configuration {config!r}; expected one of {sorted(VGG_CONFIGS)}")
    spec = VGG_CONFIGS[config]
    blocks: list[keras.Layer] = []
    for i, item in enumerate(spec):
        if item == "M":
            continue
        pool = i + 1 < len(spec) and spec[i + 1] == "M"
        filters = max(1, round(int(item) * width_multiplier))
        blocks.append(conv_block(filters, pool=pool, name=f"conv{len(blocks) + 1}", dropout=dropout, bn_momentum=BN_MOMENTUM))
    units = max(1, round(fc_width * width_multiplier))
    fc = [keras.layers.Flatten(), keras.layers.Dense(units, use_bias=False),
          keras.layers.BatchNormalization(momentum=BN_MOMENTUM), keras.layers.ReLU()]
    if dropout:
        fc.append(keras.layers.Dropout(dropout))
    blocks.append(keras.Sequential(fc, name="fc1"))
    head = keras.layers.Dense(num_classes, name="head")
    return Network(input_shape, blocks, head, num_classes, block_names=[b.name for b in blocks], augment=augment)
