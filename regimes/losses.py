"""Local objectives as small pure functions of tensors (``keras.ops``), composed by the regimes.

Each function cites the paper it comes from. None of them knows about networks or training loops.
"""

from __future__ import annotations

from typing import Any

from keras import ops

from regimes.objective import flatten


def goodness(h: Any) -> Any:
    """Forward-forward goodness of each example: the mean of its squared activities (Hinton 2022)."""
    h = flatten(h)
    return ops.mean(h * h, axis=1)


def forward_forward_loss(g: Any, sign: Any, threshold: float) -> Any:
    """Logistic loss that pushes goodness ``g`` above ``threshold`` for positive examples (``sign = +1``)
    and below it for negative ones (``sign = -1``): ``mean(softplus(-sign (g - threshold)))`` (Hinton 2022).
    """
    return ops.mean(ops.softplus(-ops.cast(sign, g.dtype) * (g - threshold)))


def length_normalize(h: Any, eps: float = 1e-4) -> Any:
    """Divide each example's (flattened) activity vector by its length, keeping its shape: the next
    layer then sees only the direction, not the goodness, of this one (Hinton 2022)."""
    flat = flatten(h)
    flat = flat / (ops.sqrt(ops.sum(flat * flat, axis=1, keepdims=True)) + eps)
    return flat if len(h.shape) == 2 else ops.reshape(flat, (-1, *h.shape[1:]))


def similarity_matrix(a: Any, eps: float = 1e-8) -> Any:
    """Cosine similarities between the examples of a batch after centering each example's features,
    clipped to [-1, 1] (Nøkland & Eidnes 2019)."""
    a = flatten(a)
    a = a - ops.mean(a, axis=1, keepdims=True)
    a = a / (ops.sqrt(ops.sum(a * a, axis=1, keepdims=True)) + eps)
    return ops.clip(ops.matmul(a, ops.transpose(a)), -1.0, 1.0)


def similarity_matching_loss(h: Any, y_onehot: Any) -> Any:
    """The "sim" loss: mean squared difference between the similarity matrices of the representation
    and of the one-hot labels (Nøkland & Eidnes 2019)."""
    return ops.mean(ops.square(similarity_matrix(h) - ops.stop_gradient(similarity_matrix(y_onehot))))


def output_error(y: Any, logits: Any, num_classes: int) -> Any:
    """``softmax(logits) - onehot(y)``: the gradient of the summed cross-entropy with respect to the logits,
    the error that direct feedback alignment broadcasts to every layer (Nøkland 2016)."""
    return ops.softmax(logits, axis=-1) - ops.one_hot(ops.cast(ops.reshape(y, (-1,)), "int32"), num_classes)


def inject_gradient(h: Any, direction: Any) -> Any:
    """A term whose value is 0 and whose gradient with respect to ``h`` is ``direction / batch``.

    Adding it to a loss makes the optimizer treat ``direction`` as the (mean-reduced) error signal of
    ``h``, whatever produced it: the keras-only way to route a non-backprop error into a layer.
    """
    flat = flatten(h)
    term = ops.mean(ops.sum(flat * ops.stop_gradient(flatten(direction)), axis=1))
    return term - ops.stop_gradient(term)


def one_hot(y: Any, num_classes: int) -> Any:
    """Float one-hot encoding of integer labels of any shape ``(batch,)`` or ``(batch, 1)``."""
    return ops.one_hot(ops.cast(ops.reshape(y, (-1,)), "int32"), num_classes)

