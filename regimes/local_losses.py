"""Local error signals: every block trained by its own "pred", "sim" or "predsim" loss (no backward pass
between blocks)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

import keras
from keras import ops

from regimes.losses import one_hot, similarity_matching_loss
from regimes.objective import ObjectiveModel, cross_entropy
from regimes.parts import detached_blocks
from suite.api import Params, Regime, TrainContext
from suite.registry import regimes


class PredSimParams(Params):
    loss: Literal["pred", "sim", "predsim"] = Field(default="predsim", description="local loss of every block")
    beta: float = Field(default=0.99, ge=0.0, le=1.0, description="predsim weight: (1 - beta) pred + beta sim")


class ChannelStd(keras.layers.Layer):
    """Standard deviation of each channel over the spatial positions: ``(batch, h, w, c) -> (batch, c)``."""

    def call(self, x):
        flat = ops.reshape(x, (-1, int(x.shape[1]) * int(x.shape[2]), int(x.shape[3])))
        return ops.std(flat, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[3])


def similarity_features(feature_shape: tuple[int, ...], name: str) -> keras.Layer:
    """What the sim loss compares for a block output (after Nøkland & Eidnes 2019): for feature maps with
    more than 3 channels, a learned 3x3 convolution then each channel's standard deviation over space;
    otherwise the flattened output itself."""
    if len(feature_shape) == 3 and feature_shape[2] > 3 and feature_shape[0] * feature_shape[1] > 1:
        return keras.Sequential([keras.layers.Conv2D(feature_shape[2], 3, padding="same", use_bias=False), ChannelStd()], name=name)
    return keras.Sequential([keras.layers.Flatten()], name=name)


@regimes.register
class PredSim(Regime):
    """Training with local error signals (Nøkland & Eidnes 2019, "Training Neural Networks with Local Error
    Signals", ICML), losses "pred", "sim" and "predsim".

    Every block's input is gradient-stopped, so each block learns only from its own losses:

    * pred: cross-entropy of an auxiliary linear classifier on the block's output (the task's auxiliary
      head: average-pooled to at most 2048 features, then linear), for every block including the last;
    * sim: mean squared difference between the batch's cosine-similarity matrix of the block's
      similarity features (features centred per example) and that of the one-hot labels; the
      similarity features of a feature map are a learned 3x3 convolution followed by each channel's
      standard deviation over space, those of a flat output the output itself (as in the paper's code);
    * predsim: ``(1 - beta) pred + beta sim`` (``beta = 0.99`` as in the paper).

    The network's head (the output layer) learns from the task's cross-entropy on the detached last
    block, as in the paper. Departures from the paper: no dropout, and the paper's VGG8b network is
    replaced by the task's own blocks. All losses are summed and minimized with one optimizer in one
    forward pass per example. Runs on every architecture. The sim loss is scale-invariant: in networks
    without normalization layers the block outputs may shrink, and the head then learns slowly.
    """

    name = "predsim"
    version = "1.0"
    family = "layer-wise"
    description = "local pred / sim / predsim loss per block (auxiliary classifier and similarity matching), gradients stopped between blocks"
    citation = "Nøkland & Eidnes (2019), Training Neural Networks with Local Error Signals, ICML"
    reuses_compiled_steps = True
    Params = PredSimParams

    def train(self, ctx: TrainContext) -> None:
        net, p = ctx.network, self.params
        num_classes = net.num_classes
        w_pred = {"pred": 1.0, "sim": 0.0, "predsim": 1.0 - p.beta}[p.loss]
        w_sim = {"pred": 0.0, "sim": 1.0, "predsim": p.beta}[p.loss]
        # As in the paper, the output layer learns from the global loss on the detached last block.
        features, scores = detached_blocks(net)
        outputs = {}
        for i, t in enumerate(features):
            if w_sim > 0:
                outputs[f"sim{i + 1}"] = similarity_features(net.block_output_shapes[i], f"sim{i + 1}")(t)
            if w_pred > 0:
                outputs[f"pred{i + 1}"] = net.make_aux_head(i)(t)
        outputs["scores"] = scores

        def objective(x, y, out):
            y_onehot = one_hot(y, num_classes)
            loss = cross_entropy(y, out["scores"])
            for i in range(len(net.blocks)):
                if f"pred{i + 1}" in out:
                    loss = loss + w_pred * cross_entropy(y, out[f"pred{i + 1}"])
                if f"sim{i + 1}" in out:
                    loss = loss + w_sim * similarity_matching_loss(out[f"sim{i + 1}"], y_onehot)
            return loss

        model = ObjectiveModel(net.input, outputs, objective, name=f"local_{p.loss}")
        model.compile(optimizer=ctx.make_optimizer())
        ctx.fit(model, ctx.data.train.x, ctx.data.train.y, epochs=ctx.budget.epochs,
                predictor=net.composed(), loss_key="task_loss")
