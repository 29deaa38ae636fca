"""Layer-wise training with local losses, all blocks at once ("simultaneous")."""

from __future__ import annotations

from typing import Literal

from suite.api import Params, Regime, TrainContext
from suite.registry import regimes
from regimes.parts import local_heads_model


class LayerwiseParams(Params):
    head: Literal["linear"] = "linear"  # auxiliary head: avg-pool to <= 2048 features, then linear
    detach: bool = True  # stop gradients between blocks (False = deep supervision)


@regimes.register
class Layerwise(Regime):
    """Layer-wise training with local losses, trained simultaneously (Nøkland & Eidnes 2019; Belilovsky
    et al. 2019; the "layer-wise" arm of Sakamoto & Sato 2024).

    Every block but the last gets an auxiliary classifier (average-pool to at most 2048 features, then
    linear) with a cross-entropy loss; the last block is trained by the network's own head. The input of
    each block is the previous block's output with the gradient stopped, so each local loss reaches only
    its own block. All losses are summed and minimized with one optimizer, in one pass per batch.
    """

    name = "layerwise"
    version = "1.0"
    family = "layer-wise"
    description = "local cross-entropy loss per block through an auxiliary linear head; gradients stopped between blocks; all blocks trained at once"
    citation = "Nøkland & Eidnes (2019), Training Neural Networks with Local Error Signals; Sakamoto & Sato (2024), TMLR"
    reuses_compiled_steps = True
    Params = LayerwiseParams

    def train(self, ctx: TrainContext) -> None:
        model, names = local_heads_model(ctx.network, detach=self.params.detach)
        model.compile(
            optimizer=ctx.make_optimizer(),
            loss={n: ctx.task.loss() for n in names},
            metrics={"final": ["accuracy"]},
        )
        y = ctx.data.train.y
        # Keras prefixes log keys with the output's name only when there are several outputs.
        prefix = "final_" if len(names) > 1 else ""
        ctx.fit(model, ctx.data.train.x, {n: y for n in names}, epochs=ctx.budget.epochs,
                loss_key=f"{prefix}loss", accuracy_key=f"{prefix}accuracy")
