"""A template for a new training regime. Copy this file anywhere, rename the class, and fill it in.

Try it:

    e2ebench list regimes --plugin my_regime.py            # it is registered
    e2ebench run ci --plugin my_regime.py --results results # (after adding it to a copy of the ci suite)
    e2ebench submit my_regime.py                            # the official leaderboard suite

See docs/submitting.md. This file is an example: e2ebench does not register it by default.
"""

from __future__ import annotations

from pydantic import Field

import keras
from keras import ops

from suite.api import Params, Regime, Task, TrainContext
from suite.registry import regimes


class MyRegimeParams(Params):
    """Hyperparameters: plain values with defaults. They are part of every cell's identity and of the
    leaderboard entry; a suite file or ``--params`` may override them."""

    label_smoothing: float = Field(default=0.1, ge=0.0, lt=1.0, description="label smoothing of the cross-entropy")


@regimes.register
class MyRegime(Regime):
    """End-to-end training with label smoothing (Szegedy et al. 2016, "Rethinking the Inception
    Architecture for Computer Vision", CVPR): say here what the method does and cite its paper.
    """

    name = "my-regime"  # unique; `e2ebench list regimes` shows the names taken
    version = "1.0"  # bump on any change that alters results (records are keyed by it)
    family = "end-to-end"  # what kind of method it is (suite.api.RegimeFamily); analyses select by family
    description = "end-to-end backpropagation with label smoothing"
    citation = "Szegedy et al. (2016), Rethinking the Inception Architecture for Computer Vision, CVPR"
    Params = MyRegimeParams

    def supports(self, task: Task) -> str | None:
        """Return None if this regime can train the task, else the reason (the cell shows "n/a").

        Decide from declared facts only (``task.architecture``, ``task.provides_module_targets``,
        ``task.name``, ``task.params``): this is called when cells are planned, before any data is loaded.
        """
        return None

    def train(self, ctx: TrainContext) -> None:
        """Train ``ctx.network`` within ``ctx.budget``, reporting once per epoch."""
        num_classes = ctx.network.num_classes
        smoothing = self.params.label_smoothing

        def loss(y_true, logits):
            # keras.ops only, so the regime runs on TensorFlow, JAX and PyTorch.
            y = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), num_classes)
            return keras.losses.categorical_crossentropy(y, logits, from_logits=True, label_smoothing=smoothing)

        model = ctx.network.composed()  # x -> blocks -> head -> logits (the harness evaluates this)
        model.compile(optimizer=ctx.make_optimizer(), loss=loss, metrics=["accuracy"])
        # ctx.fit: the budget's batch size, shuffling, and one ctx.report_epoch per epoch.
        ctx.fit(model, ctx.data.train.x, ctx.data.train.y, epochs=ctx.budget.epochs)
