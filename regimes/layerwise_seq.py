"""Greedy sequential layer-wise training: block 1, then freeze it and train block 2, and so on."""

from __future__ import annotations

from typing import Literal

import keras
from pydantic import Field

from suite.api import Params, Regime, Task, TrainContext
from suite.registry import regimes
from regimes.parts import split_epochs


class LayerwiseSequentialParams(Params):
    budget: Literal["per-block", "split"] = Field(
        default="per-block",
        description="per-block: every stage trains for the budget's full epochs (the source paper's code; "
                    "L x the shared budget for L blocks); split: the budget's epochs divided over the stages")


@regimes.register
class LayerwiseSequential(Regime):
    """Greedy layer-wise training (Bengio et al. 2007; Belilovsky et al. 2019; the "sequential" arm of
    Sakamoto & Sato 2024).

    Stage k trains block k with an auxiliary classifier (the network's own head for the last block) on
    top of the frozen blocks 1..k-1. By default every stage trains for the budget's full epochs, as the
    source paper's code does: the regime declares ``budget_factor`` = the number of blocks, and tables mark
    it as spending more than the shared budget. ``budget = "split"`` divides the budget's epochs as evenly
    as possible over the stages instead (later stages take the remainder), which starves every stage of a
    deep network. The stages' epochs are recorded in the record's notes. During stage k the reported
    accuracy is that of blocks 1..k with the stage's classifier.
    """

    name = "layerwise-seq"
    version = "2.0"  # 2.0: every stage trains for the full budget by default (1.0 split the epochs)
    family = "layer-wise"
    description = "greedy: train block 1 with an auxiliary head, freeze it, then block 2, ...; each stage the full budget (or split)"
    Params = LayerwiseSequentialParams

    def budget_factor(self, task: Task, num_blocks: int) -> float:
        return float(num_blocks) if self.params.budget == "per-block" else 1.0
    citation = "Belilovsky, Eickenberg & Oyallon (2019), Greedy Layerwise Learning Can Scale to ImageNet; Sakamoto & Sato (2024), TMLR"
    reuses_compiled_steps = True

    def train(self, ctx: TrainContext) -> None:
        net = ctx.network
        n = len(net.blocks)
        stages = [ctx.budget.epochs] * n if self.params.budget == "per-block" else split_epochs(ctx.budget.epochs, n)
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
