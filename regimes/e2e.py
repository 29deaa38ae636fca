"""End-to-end backpropagation: one loss at the output, gradients through every block."""

from __future__ import annotations

from suite.api import Regime, TrainContext
from suite.registry import regimes


@regimes.register
class EndToEnd(Regime):
    """Plain end-to-end training with backpropagation (Rumelhart, Hinton & Williams 1986): the whole
    network (blocks and head) minimizes the task loss on the final output with one optimizer.
    """

    name = "e2e"
    version = "1.0"
    family = "end-to-end"
    baseline = True
    description = "end-to-end backpropagation through all blocks (the baseline)"
    citation = "Rumelhart, Hinton & Williams (1986), Learning representations by back-propagating errors"
    reuses_compiled_steps = True

    def train(self, ctx: TrainContext) -> None:
        model = ctx.network.composed()
        model.compile(optimizer=ctx.make_optimizer(), loss=ctx.task.loss(), metrics=["accuracy"])
        ctx.fit(model, ctx.data.train.x, ctx.data.train.y, epochs=ctx.budget.epochs)
