"""Greedy sequential layer-wise training: block 1, then freeze it and train block 2, and so on."""

from __future__ import annotations

import keras

from suite.api import Regime, TrainContext
from suite.registry import regimes
from regimes.parts import split_epochs


@regimes.register
class LayerwiseSequential(Regime):
    """Greedy layer-wise training (Bengio et al. 2007; Belilovsky et al. 2019; the "sequential" arm of
    Sakamoto & Sato 2024).

    Stage k trains block k with an auxiliary classifier (the network's own head for the last block) on
    top of the frozen blocks 1..k-1. The budget's epochs are split as evenly as possible over the
    stages (later stages take the remainder); the split is recorded in the record's notes. During stage k
    the reported test accuracy is that of blocks 1..k with the stage's classifier.
    """

    name = "layerwise-seq"
    version = "1.0"
    family = "layer-wise"
    description = "greedy: train block 1 with an auxiliary head, freeze it, then block 2, ...; epochs split over stages"
    citation = "Belilovsky, Eickenberg & Oyallon (2019), Greedy Layerwise Learning Can Scale to ImageNet; Sakamoto & Sato (2024), TMLR"

    def train(self, ctx: TrainContext) -> None:
        net = ctx.network
        stages = split_epochs(ctx.budget.epochs, len(net.blocks))
        ctx.note(stage_epochs=dict(zip(net.block_names, stages)))
        x, y = ctx.data.train.x, ctx.data.train.y
        try:
            for k, epochs in enumerate(stages):
                for j, block in enumerate(net.blocks):
                    block.trainable = j == k
                t = net.stem
                for block in net.blocks[: k + 1]:
                    t = block(t)
                last = k == len(net.blocks) - 1
                head = net.head if last else net.make_aux_head(k)
                model = keras.Model(net.input, head(t), name=f"stage{k + 1}")
                model.compile(optimizer=ctx.make_optimizer(), loss=ctx.task.loss(), metrics=["accuracy"])
                ctx.fit(model, x, y, epochs=epochs, predictor=None if last else model, stage=net.block_names[k])
        finally:
            for block in net.blocks:
                block.trainable = True
