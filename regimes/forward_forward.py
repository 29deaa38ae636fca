"""Forward-forward: each block learns to tell correctly from wrongly labelled inputs by its goodness."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

import keras
from keras import ops

from regimes.losses import forward_forward_loss, goodness, length_normalize
from regimes.objective import ObjectiveModel
from regimes.parts import StopGradient
from suite.api import Params, Regime, Task, TrainContext
from suite.registry import regimes


class ForwardForwardParams(Params):
    threshold: float = Field(default=0.5, gt=0, description="goodness threshold theta (goodness = mean squared activity)")
    learning_rate_scale: float = Field(default=10.0, gt=0, description="multiplies the budget's learning rate (recorded in the notes)")
    positive_fraction: float = Field(default=0.5, gt=0, lt=1, description="probability that an example is shown with its true label in an epoch")
    label_slots: Literal["low-variance", "first"] = Field(
        default="low-variance", description="input features overwritten by the one-hot label: the least variable ones, or the first ones")
    score_layers: Literal["all", "all-but-first"] = Field(
        default="all", description="blocks whose goodness is summed to classify (all-but-first: Hinton's choice for deep nets)")


def label_slots(x: np.ndarray, num_classes: int, how: str = "low-variance") -> np.ndarray:
    """Indices of the flattened input features that carry the label: the ``num_classes`` features of least
    variance over ``x`` (for MNIST these are border pixels), or the first ``num_classes`` ones (Hinton's
    choice for MNIST). Ties are broken by index, so the choice is deterministic."""
    flat = x.reshape(len(x), -1)
    if num_classes > flat.shape[1]:
        raise ValueError(f"the input has {flat.shape[1]} features, fewer than the {num_classes} classes to embed")
    if how == "first":
        return np.arange(num_classes)
    return np.sort(np.argsort(flat.var(axis=0), kind="stable")[:num_classes])


def embed_labels(x: np.ndarray, labels: np.ndarray, slots: np.ndarray, value: float) -> np.ndarray:
    """A copy of ``x`` whose label slots hold the one-hot ``labels`` (``value`` at the label's slot, 0 elsewhere)."""
    flat = x.reshape(len(x), -1).copy()
    flat[:, slots] = 0.0
    flat[np.arange(len(x)), slots[labels]] = value
    return flat.reshape(x.shape)


@keras.saving.register_keras_serializable(package="e2ebench")
class EveryLabel(keras.layers.Layer):
    """Repeat each input once per class with that class embedded in its label slots:
    ``(batch, *shape) -> (batch * num_classes, *shape)``, example-major."""

    def __init__(self, slots: np.ndarray, value: float, num_classes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.slots = np.asarray(slots)
        self.value = float(value)
        self.num_classes = int(num_classes)

    def call(self, x: Any) -> Any:
        shape = tuple(int(d) for d in x.shape[1:])
        size = int(np.prod(shape))
        keep = np.ones((1, 1, size), np.float32)
        keep[..., self.slots] = 0.0
        labels = np.zeros((1, self.num_classes, size), np.float32)
        labels[0, np.arange(self.num_classes), self.slots] = self.value
        flat = ops.reshape(x, (-1, 1, size))
        every = flat * ops.convert_to_tensor(keep) + ops.convert_to_tensor(labels)
        return ops.reshape(every, (-1, *shape))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (None, *input_shape[1:])

    def get_config(self) -> dict[str, Any]:
        # plain data, so an isolated worker's predictor can be rebuilt by the harness
        return {**super().get_config(), "slots": [int(s) for s in self.slots], "value": self.value, "num_classes": self.num_classes}


@regimes.register
class ForwardForward(Regime):
    """The forward-forward algorithm (Hinton 2022, "The Forward-Forward Algorithm: Some Preliminary
    Investigations", arXiv:2212.13345), supervised version.

    The label is embedded in the input: ``num_classes`` input features (by default the least variable
    ones, i.e. border pixels) are overwritten with the one-hot label. Every epoch each training example
    is shown once, with its true label (positive data) with probability ``positive_fraction``, else with
    a random wrong label (negative data), so an epoch costs one forward pass per example as for the
    other regimes. Each block's goodness ``g = mean(h^2)`` is pushed above ``threshold`` for positive
    and below it for negative data by ``softplus(-sign (g - threshold))``. Blocks are trained at once;
    the input of every block after the first is the previous block's output, length-normalized and
    gradient-stopped, so no error crosses blocks. The network's head is not used.

    To classify, the harness evaluates a predictor that runs each test input once per class with that
    class embedded and scores the class by the summed goodness of the blocks (all of them by default;
    Hinton leaves out the first in deep networks, but within short budgets the later blocks start out
    anti-correlated with the label on the embedded digits, so summing all is the robust default).
    The information plane is not applicable (``probe_not_applicable``): the network this regime runs
    sees label-embedded inputs and length-normalizes between blocks, while the probe's
    ``network.features()`` feeds raw inputs through the blocks as composed. The cells are probed like
    every other (their records keep that measurement), and results show the plane as n/a.
    Only for ``mlp`` tasks (Dense blocks): the goodness of convolutional feature maps with batch
    normalization is not the paper's method.

    Departures from the budget, declared in the params: the optimizer's learning rate is the budget's
    times ``learning_rate_scale`` (10 by default; with the budget's rate of 1e-3 the goodness objective
    barely moves in 20 epochs on the digits tasks; Hinton's and common re-implementations use larger steps).
    """

    name = "forward-forward"
    version = "1.0"
    family = "forward"
    description = "Hinton's forward-forward: per-block goodness of positive (true label in the input) vs negative data"
    citation = "Hinton (2022), The Forward-Forward Algorithm: Some Preliminary Investigations, arXiv:2212.13345"
    reuses_compiled_steps = True
    Params = ForwardForwardParams
    probe_not_applicable = ("forward-forward classifies label-embedded inputs and length-normalizes between blocks; "
                            "the probe's network.features() runs raw inputs through the blocks as composed, a network "
                            "forward-forward never runs")

    def supports(self, task: Task) -> str | None:
        if task.architecture != "mlp":
            return (f"forward-forward embeds the label in the input of Dense blocks and needs an 'mlp' task; "
                    f"{task.name} is '{task.architecture}'")
        return None

    def train(self, ctx: TrainContext) -> None:
        net, p = ctx.network, self.params
        x, y = ctx.data.train.x, ctx.data.train.y.astype(np.int64)
        num_classes = net.num_classes
        slots = label_slots(x, num_classes, p.label_slots)
        value = float(np.max(x)) if float(np.max(x)) > 0 else 1.0
        scored = list(range(1 if len(net.blocks) > 1 and p.score_layers == "all-but-first" else 0, len(net.blocks)))
        learning_rate = ctx.budget.learning_rate * p.learning_rate_scale
        ctx.note(label_slots=[int(s) for s in slots], label_value=value, learning_rate=learning_rate,
                 scored_blocks=[net.block_names[i] for i in scored])

        model = ObjectiveModel(net.input, self._goodness_graph(net, net.stem, detach=True), self._objective(len(net.blocks)),
                               name="forward_forward")
        model.compile(optimizer=ctx.make_optimizer(learning_rate))
        predictor = self.predictor(net, slots, value, scored)

        rng = np.random.default_rng(ctx.seed)
        for _ in range(ctx.budget.epochs):
            positive = rng.random(len(y)) < p.positive_fraction
            wrong = (y + rng.integers(1, num_classes, size=len(y))) % num_classes
            labels = np.where(positive, y, wrong)
            sign = np.where(positive, 1.0, -1.0).astype(np.float32)
            ctx.fit(model, embed_labels(x, labels, slots, value), sign, epochs=1, predictor=predictor, accuracy_key=None)

    def _objective(self, depth: int):
        threshold = self.params.threshold

        def objective(x, sign, out):
            return sum(forward_forward_loss(out[f"g{i + 1}"], ops.reshape(sign, (-1,)), threshold) for i in range(depth))

        return objective

    @staticmethod
    def _goodness_graph(net, t, detach: bool) -> dict[str, Any]:
        """Goodness of every block for inputs ``t``; between blocks: length normalization (and a stop-gradient)."""
        out = {}
        for i, block in enumerate(net.blocks):
            if i > 0:
                t = length_normalize(t)
                if detach:
                    t = StopGradient()(t)
            t = block(t)
            out[f"g{i + 1}"] = goodness(t)
        return out

    def predictor(self, net, slots: np.ndarray, value: float, scored: list[int]) -> keras.Model:
        """``x -> (batch, num_classes)`` scores: the summed goodness of the ``scored`` blocks with each class embedded."""
        inp = keras.Input(shape=net.input_shape)
        every = EveryLabel(slots, value, net.num_classes)(inp)
        g = self._goodness_graph(net, every, detach=False)
        total = sum(g[f"g{i + 1}"] for i in scored)
        return keras.Model(inp, ops.reshape(total, (-1, net.num_classes)), name="forward_forward_predictor")
