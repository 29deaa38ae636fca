"""Random feedback pathways: error signals that do not reuse the forward weights (keras-only).

The trick that makes them backend-agnostic: for a forward value ``v`` computed from ``stop_gradient(x)``
and a surrogate ``s`` computed from ``x``, ``v + s - stop_gradient(s)`` has the value of ``v`` but sends
``x`` the gradient of ``s``. No custom-gradient hook is needed, so the same code runs on TensorFlow,
JAX and PyTorch; it costs one extra matrix product or convolution per layer.

* :class:`FeedbackAligned` wraps a Dense or convolution layer so that its input receives the error
  through a fixed random matrix ``B`` instead of the transposed kernel (Lillicrap et al. 2016).
* :func:`feedback_aligned_call` applies a block (a layer or a nested ``keras.Sequential``) with every
  Dense/convolution layer wrapped, sharing the block's weights.
* :func:`feedback_matrix` draws the fixed projections of direct feedback alignment (Nøkland 2016).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import keras
from keras import ops

WEIGHT_LAYERS = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
# Normalization layers keep their true derivative: it involves only per-feature scales, no weight transport
# between units, and the feedback-alignment literature leaves them in place.
NORMALIZATION_LAYERS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization, keras.layers.GroupNormalization)


class UnsupportedLayer(ValueError):
    """A layer whose backward pass a feedback rule cannot replace."""


def with_gradient_of(value: Any, surrogate: Any) -> Any:
    """``value`` in the forward pass; the gradient of ``surrogate`` in the backward pass (where the two
    share inputs, ``value`` must have been computed from gradient-stopped ones)."""
    return value + surrogate - ops.stop_gradient(surrogate)


class FeedbackAligned(keras.layers.Layer):
    """A Dense or Conv layer whose input gets its error through a fixed random matrix (feedback alignment).

    Forward pass and weight gradients are those of the wrapped layer (whose variables it shares);
    the gradient sent to the input is ``delta B^T`` (Dense) or the transposed convolution of
    ``delta`` with ``B`` (Conv), where ``B`` has the kernel's shape, is drawn once and never trained
    (Lillicrap, Cownden, Tweed & Akerman 2016).

    Args:
        layer: a built ``Dense``, ``Conv1D``, ``Conv2D`` or ``Conv3D`` layer.
        initializer: initializer of the feedback matrix ``B``.
    """

    def __init__(self, layer: keras.Layer, initializer: str = "glorot_uniform", **kwargs: Any) -> None:
        if not isinstance(layer, WEIGHT_LAYERS):
            raise UnsupportedLayer(f"{type(layer).__name__} {layer.name!r} is not a Dense or convolution layer")
        if not layer.built:
            raise UnsupportedLayer(f"layer {layer.name!r} must be built before it is wrapped")
        if getattr(layer, "lora_enabled", False) or getattr(layer, "quantization_mode", None):
            raise UnsupportedLayer(f"layer {layer.name!r} is LoRA-enabled or quantized")
        super().__init__(name=kwargs.pop("name", f"{layer.name}_fa"), **kwargs)
        self.layer = layer
        self.feedback = self.add_weight(shape=tuple(layer.kernel.shape), initializer=initializer,
                                        trainable=False, name="feedback")

    def _linear(self, x: Any, kernel: Any) -> Any:
        if isinstance(self.layer, keras.layers.Dense):
            return ops.matmul(x, kernel)
        return self.layer.convolution_op(x, kernel)

    def call(self, x: Any) -> Any:
        layer = self.layer
        y = with_gradient_of(self._linear(ops.stop_gradient(x), layer.kernel), self._linear(x, self.feedback))
        if layer.use_bias:
            bias = layer.bias
            if not isinstance(layer, keras.layers.Dense) and layer.data_format == "channels_first":
                bias = ops.reshape(bias, (1, -1) + (1,) * (len(y.shape) - 2))
            y = y + bias
        if layer.activation is not None:
            y = layer.activation(y)
        return y

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)


def unsupported_layers(layer: keras.Layer) -> list[str]:
    """The layers inside ``layer`` (recursing into ``keras.Sequential``) that :func:`feedback_aligned_call`
    cannot handle: trainable layers other than Dense, convolutions and normalization."""
    if isinstance(layer, keras.Sequential):
        return [name for sub in layer.layers for name in unsupported_layers(sub)]
    if isinstance(layer, WEIGHT_LAYERS + NORMALIZATION_LAYERS) or not layer.weights:
        return []
    return [f"{layer.name} ({type(layer).__name__})"]


def feedback_aligned_call(layer: keras.Layer, t: Any, wrap: Callable[[keras.Layer], keras.Layer]) -> Any:
    """Apply ``layer`` to ``t`` with each Dense/conv layer replaced by ``wrap(layer)``; other layers
    (activations, pooling, flatten, dropout, normalization) are called as they are.

    Raises:
        UnsupportedLayer: for any other layer with weights (see :func:`unsupported_layers`).
    """
    if isinstance(layer, keras.Sequential):
        for sub in layer.layers:
            t = feedback_aligned_call(sub, t, wrap)
        return t
    if isinstance(layer, WEIGHT_LAYERS):
        return wrap(layer)(t)
    if isinstance(layer, NORMALIZATION_LAYERS) or not layer.weights:
        return layer(t)
    raise UnsupportedLayer(f"feedback alignment cannot replace the backward pass of {layer.name!r} ({type(layer).__name__})")


def feedback_matrix(rng: np.random.Generator, rows: int, cols: int, scale: float = 1.0) -> np.ndarray:
    """A fixed random ``rows x cols`` projection, uniform in ``[-a, a]`` with ``a = scale sqrt(6 / (rows + cols))``
    (Glorot's range), as float32."""
    limit = scale * float(np.sqrt(6.0 / (rows + cols)))
    return rng.uniform(-limit, limit, size=(rows, cols)).astype(np.float32)
