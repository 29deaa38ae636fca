"""Feedback alignment: backpropagation with fixed random matrices in place of the transposed weights."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

import keras

from regimes.feedback import FeedbackAligned, feedback_aligned_call, unsupported_layers
from suite.api import Params, Regime, Task, TrainContext
from suite.registry import regimes

SUPPORTED_ARCHITECTURES = ("mlp", "cnn")


class FeedbackAlignmentParams(Params):
    feedback_init: Literal["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_normal"] = Field(
        default="glorot_uniform", description="initializer of the fixed feedback matrices B")


@regimes.register
class FeedbackAlignment(Regime):
    """Feedback alignment (Lillicrap, Cownden, Tweed & Akerman 2016, "Random synaptic feedback weights
    support error backpropagation for deep learning", Nature Communications 7:13276).

    The error is propagated backwards layer by layer as in backpropagation, but through a fixed random
    matrix ``B_l`` (same shape as the kernel, drawn once per cell, never trained) instead of the
    transposed forward kernel ``W_l^T``. Every Dense and convolution layer of the blocks and of the head
    is wrapped (:class:`regimes.feedback.FeedbackAligned`); weight updates use the layer's own input
    and the error arriving at its output, as in backpropagation. Activations, pooling and normalization
    layers keep their true derivatives. The forward pass is the network's own, so the harness evaluates
    ``network.composed()``. One loss (the task's) and one optimizer, as in end-to-end training.

    Supports the ``mlp`` and ``cnn`` architectures (Dense, Conv, BatchNorm, pooling, activation
    layers); other architectures are not applicable.
    """

    name = "feedback-alignment"
    version = "1.0"
    family = "feedback"
    description = "backprop with fixed random feedback matrices instead of transposed weights (Dense and conv layers)"
    citation = "Lillicrap, Cownden, Tweed & Akerman (2016), Random synaptic feedback weights support error backpropagation for deep learning, Nat. Commun. 7:13276"
    reuses_compiled_steps = True
    Params = FeedbackAlignmentParams

    def supports(self, task: Task) -> str | None:
        if task.architecture not in SUPPORTED_ARCHITECTURES:
            return (f"feedback alignment replaces the backward pass of Dense and convolution layers in "
                    f"{' and '.join(SUPPORTED_ARCHITECTURES)} networks; {task.name} is '{task.architecture}'")
        return None

    def train(self, ctx: TrainContext) -> None:
        net = ctx.network
        problems = [p for layer in [*net.blocks, net.head] for p in unsupported_layers(layer)]
        if problems:
            raise ValueError("feedback alignment cannot replace the backward pass of: " + ", ".join(problems))
        wrap = lambda layer: FeedbackAligned(layer, initializer=self.params.feedback_init)  # noqa: E731
        t = net.stem
        for block in net.blocks:
            t = feedback_aligned_call(block, t, wrap)
        logits = feedback_aligned_call(net.head, t, wrap)
        model = keras.Model(net.input, logits, name="feedback_alignment")
        model.compile(optimizer=ctx.make_optimizer(), loss=ctx.task.loss(), metrics=["accuracy"])
        ctx.fit(model, ctx.data.train.x, ctx.data.train.y, epochs=ctx.budget.epochs, predictor=net.composed())
