"""Modular training: each module learns its own target, is frozen, and the modules are composed.

Three regimes share the pieces here:

* ``modular``: train each supervised module on its module target (upstream modules frozen), then
  the remaining blocks and the head on the final label;
* ``modular-finetune``: the same, then end-to-end fine-tuning of everything on the final label;
* ``module-isolation``: the diagnostic of Glasmachers (2017): with every other module trained and
  frozen, re-initialize one module and train it from the final label only.

Module targets (``TaskData.module_targets``) follow one convention: a target's ``x`` is the
*network's* input (the same examples as the task's training split), its ``y`` the labels that the
output of block ``module`` must predict, of shape ``(n, *target_shape)``. A module's classifier is a
linear layer: applied to the block's last axis when the block's output is ``(*target_shape, units)``
(e.g. one recognition per image, shared weights), otherwise flatten -> linear -> reshape.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from pydantic import Field

import keras
from regimes.parts import split_epochs
from suite.api import ModuleTarget, Network, Params, Regime, TrainContext
from suite.registry import regimes

GLASMACHERS = "Glasmachers (2017), Limits of End-to-End Learning, ACML, arXiv:1704.08305"
SHALEV_SHWARTZ = "Shalev-Shwartz, Shamir & Shammah (2017), Failures of Gradient-Based Deep Learning, ICML, arXiv:1703.07950"


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage of a modular schedule: train ``blocks`` (indices) on ``target`` (None = final label)."""

    name: str
    blocks: tuple[int, ...]
    target: ModuleTarget | None


def module_head(feature_shape: Sequence[int], target_shape: Sequence[int], num_classes: int, name: str) -> keras.Layer:
    """A linear classifier from a block's output to a module target's logits ``(*target_shape, num_classes)``.

    Shared across positions (a Dense on the last axis) when the block's output is
    ``(*target_shape, units)``; otherwise flatten -> Dense -> reshape.
    """
    feature_shape, target_shape = tuple(feature_shape), tuple(target_shape)
    if feature_shape[:-1] == target_shape:
        return keras.layers.Dense(num_classes, name=name)
    layers: list[keras.Layer] = []
    if len(feature_shape) > 1:
        layers.append(keras.layers.Flatten())
    layers.append(keras.layers.Dense(math.prod(target_shape) * num_classes))
    if target_shape:
        layers.append(keras.layers.Reshape((*target_shape, num_classes)))
    return keras.Sequential(layers, name=name)


def modular_stages(network: Network, targets: dict[str, ModuleTarget]) -> list[Stage]:
    """The stages of modular training, in block order.

    Each module target trains the blocks after the previous supervised block up to its own block
    (usually just that one); a last stage trains the blocks after the last supervised block and the
    head on the final label (the head alone if the last block is supervised).

    Raises:
        ValueError: if a target names a block that does not exist, or two targets name one block.
    """
    by_block: dict[int, tuple[str, ModuleTarget]] = {}
    for name, target in targets.items():
        if not 0 <= target.module < len(network.blocks):
            raise ValueError(f"module target {name!r} supervises block {target.module}, but the network has blocks 0..{len(network.blocks) - 1}")
        if target.module in by_block:
            raise ValueError(f"module targets {by_block[target.module][0]!r} and {name!r} both supervise block {target.module}")
        by_block[target.module] = (name, target)
    stages, start = [], 0
    for block in sorted(by_block):
        name, target = by_block[block]
        stages.append(Stage(name, tuple(range(start, block + 1)), target))
        start = block + 1
    stages.append(Stage("label", tuple(range(start, len(network.blocks))), None))
    return stages


def set_trainable(network: Network, blocks: Sequence[int], head: bool) -> None:
    """Make exactly ``blocks`` (and the head if ``head``) trainable; freeze everything else."""
    for i, block in enumerate(network.blocks):
        block.trainable = i in blocks
    network.head.trainable = head


def reinitialize(layer: keras.Layer, input_shape: Sequence[int]) -> None:
    """Draw fresh initial weights for ``layer`` in place (same architecture, its own initializers)."""
    fresh = keras.models.clone_model(layer) if isinstance(layer, keras.Model) else layer.__class__.from_config(layer.get_config())
    if not fresh.built:  # a clone of a model built on an input layer is built already
        fresh.build((None, *input_shape))
    layer.set_weights(fresh.get_weights())


def block_input_shape(network: Network, index: int) -> tuple[int, ...]:
    """The shape (without batch) of what block ``index`` receives."""
    return tuple(int(d) for d in network.stem.shape[1:]) if index == 0 else network.block_output_shapes[index - 1]


def train_stages(ctx: TrainContext, stages: Sequence[Stage], epochs: Sequence[int]) -> None:
    """Train the stages in order, each for its epochs, freezing every block once its stage is done.

    The reported test accuracy is always the composed network's on the final label (near chance
    while only module targets have been trained).
    """
    net = ctx.network
    outputs = net.block_outputs  # symbolic outputs of every block, shared by all stage models
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    for stage, n_epochs in zip(stages, epochs):
        if stage.target is None:
            set_trainable(net, stage.blocks, head=True)
            model = net.composed()
            model.compile(optimizer=ctx.make_optimizer(), loss=ctx.task.loss(), metrics=["accuracy"])
            ctx.fit(model, ctx.data.train.x, ctx.data.train.y, epochs=n_epochs, stage="label")
            continue
        set_trainable(net, stage.blocks, head=False)
        last = stage.blocks[-1]
        target_shape = stage.target.train.y.shape[1:]
        head = module_head(net.block_output_shapes[last], target_shape, stage.target.num_classes, name=f"module_head_{stage.name}")
        model = keras.Model(net.input, head(outputs[last]), name=f"module_{stage.name}")
        model.compile(optimizer=ctx.make_optimizer(), loss=loss, metrics=["accuracy"])
        ctx.fit(model, stage.target.train.x, stage.target.train.y, epochs=n_epochs, stage=f"module:{stage.name}")


def _stage_note(network: Network, stages: Sequence[Stage], epochs: Sequence[int]) -> list[dict[str, object]]:
    return [
        {"stage": s.name, "blocks": [network.block_names[i] for i in s.blocks], "target": s.name if s.target else "label", "epochs": e}
        for s, e in zip(stages, epochs)
    ]


def _targets(ctx: TrainContext) -> dict[str, ModuleTarget]:
    # A task may provide no targets for some params (e.g. a one-module chain): then the only stage
    # trains every block on the label, which is end-to-end training.
    return dict(ctx.data.module_targets)


@regimes.register
class Modular(Regime):
    """Modular training (Glasmachers 2017; the "decomposition" of Shalev-Shwartz, Shamir & Shammah 2017).

    Each module with a module target is trained on that target alone, through a linear classifier on
    its output, with every upstream module already trained and frozen; then it is frozen too. Finally
    the blocks after the last supervised module and the head are trained on the final label, on top
    of the frozen modules. The budget's epochs are split as evenly as possible over the stages (later
    stages take the remainder); the record's notes list the stages and their epochs. Every epoch of
    every stage processes the whole training split, so the examples seen equal e2e's.
    """

    name = "modular"
    version = "1.0"
    family = "modular"
    baseline = True
    description = "each module trained on its own module target, frozen, composed; the rest trained on the label; epochs split over stages"
    citation = f"{GLASMACHERS}; {SHALEV_SHWARTZ}"
    uses_module_targets = True

    def train(self, ctx: TrainContext) -> None:
        stages = modular_stages(ctx.network, _targets(ctx))
        epochs = split_epochs(ctx.budget.epochs, len(stages))
        ctx.note(budget_split="modular stages only", stages=_stage_note(ctx.network, stages, epochs))
        try:
            train_stages(ctx, stages, epochs)
        finally:
            set_trainable(ctx.network, range(len(ctx.network.blocks)), head=True)


def extra_stage_epochs(total: int, stages: int, fraction: float | None) -> int:
    """Epochs of the stage that follows the modular schedule (fine-tuning, isolation): ``round(total x
    fraction)``, by default an equal share with each modular stage, ``round(total / (stages + 1))``;
    at least 1.

    Raises:
        ValueError: if the remaining epochs cannot give every modular stage at least one.
    """
    extra = max(1, round(total * (fraction if fraction is not None else 1 / (stages + 1))))
    if total - extra < stages:
        raise ValueError(f"a budget of {total} epochs cannot train {stages} modular stages and {extra} more epochs; raise budget.epochs")
    return extra


class FinetuneParams(Params):
    finetune_fraction: float | None = Field(default=None, gt=0, lt=1, description="share of the budget's epochs spent fine-tuning end to end (default: an equal share with each modular stage)")
    finetune_lr_scale: float = Field(default=0.3, gt=0, le=10, description="fine-tuning learning rate = budget learning rate x this")


@regimes.register
class ModularFinetune(Regime):
    """Modular training followed by end-to-end fine-tuning (Glasmachers 2017: train modules first,
    then compose; Shalev-Shwartz, Shamir & Shammah 2017).

    ``round(epochs x finetune_fraction)`` epochs (at least 1; by default an equal share with each
    modular stage, ``round(epochs / (stages + 1))``) fine-tune every block and the head on the final
    label with a fresh optimizer at ``learning_rate x finetune_lr_scale``; the other epochs run the
    ``modular`` schedule, split over its stages. The notes record the split.
    """

    name = "modular-finetune"
    version = "1.0"
    family = "modular"
    description = "modular training, then end-to-end fine-tuning of all blocks on the label (budget split recorded)"
    citation = f"{GLASMACHERS}; {SHALEV_SHWARTZ}"
    uses_module_targets = True
    Params = FinetuneParams

    def train(self, ctx: TrainContext) -> None:
        net = ctx.network
        stages = modular_stages(net, _targets(ctx))
        finetune = extra_stage_epochs(ctx.budget.epochs, len(stages), self.params.finetune_fraction)
        epochs = split_epochs(ctx.budget.epochs - finetune, len(stages))
        ctx.note(budget_split="modular stages, then end-to-end fine-tuning",
                 stages=_stage_note(net, stages, epochs) + [{"stage": "finetune", "blocks": list(net.block_names), "target": "label", "epochs": finetune}],
                 finetune_learning_rate=ctx.budget.learning_rate * self.params.finetune_lr_scale)
        try:
            train_stages(ctx, stages, epochs)
            set_trainable(net, range(len(net.blocks)), head=True)
            model = net.composed()
            model.compile(optimizer=ctx.make_optimizer(ctx.budget.learning_rate * self.params.finetune_lr_scale),
                          loss=ctx.task.loss(), metrics=["accuracy"])
            ctx.fit(model, ctx.data.train.x, ctx.data.train.y, epochs=finetune, stage="finetune")
        finally:
            set_trainable(net, range(len(net.blocks)), head=True)


class IsolationParams(Params):
    module: int = Field(default=0, description="index of the block to re-initialize (negative: from the end)")
    isolation_fraction: float | None = Field(default=None, gt=0, lt=1, description="share of the budget's epochs for training the re-initialized module (default: an equal share with each modular stage)")


@regimes.register
class ModuleIsolation(Regime):
    """The module-isolation diagnostic of Glasmachers (2017): a module *can* learn from the final
    label alone when every other module is already trained and frozen.

    First the ``modular`` schedule trains the whole pipeline (``epochs - isolation epochs``, split over
    its stages); then block ``module`` is re-initialized and trained alone, from the final label only,
    with every other block and the head frozen, for ``round(epochs x isolation_fraction)`` epochs (at
    least 1; by default an equal share with each modular stage, ``round(epochs / (stages + 1))``, so
    the re-initialized module gets as many epochs from the label as a module gets from its target,
    and the pipeline around it is trained almost as long as under ``modular``). The record's final accuracy is the re-trained pipeline's; the notes record the split and
    the epoch at which the module was re-initialized (time to target counts from there in the
    breakdown report). Whether it learns depends on what lies downstream: through an aggregator that
    computes a parity of many sub-results the gradient reaching the module stays as uninformative as
    in end-to-end training (Shalev-Shwartz, Shamir & Shammah 2017).
    """

    name = "module-isolation"
    version = "1.1"  # 1.1: the re-initialization is a typed record field (time to relearn counts from it)
    family = "modular"
    description = "diagnostic: train the pipeline modularly, re-initialize one module, re-train it alone from the final label with the rest frozen"
    citation = f"{GLASMACHERS}; {SHALEV_SHWARTZ}"
    uses_module_targets = True
    Params = IsolationParams

    def train(self, ctx: TrainContext) -> None:
        net = ctx.network
        n = len(net.blocks)
        index = self.params.module + n if self.params.module < 0 else self.params.module
        if not 0 <= index < n:
            raise ValueError(f"module={self.params.module} is not a block of {ctx.task.name} (it has {n} blocks: {', '.join(net.block_names)})")
        stages = modular_stages(net, _targets(ctx))
        isolated = extra_stage_epochs(ctx.budget.epochs, len(stages), self.params.isolation_fraction)
        epochs = split_epochs(ctx.budget.epochs - isolated, len(stages))
        name = net.block_names[index]
        ctx.note(budget_split="modular stages, then the re-initialized module alone on the label",
                 stages=_stage_note(net, stages, epochs) + [{"stage": f"isolated:{name}", "blocks": [name], "target": "label", "epochs": isolated}],
                 isolated_module=name)
        try:
            train_stages(ctx, stages, epochs)
            reinitialize(net.blocks[index], block_input_shape(net, index))
            ctx.reinitialized(name)
            set_trainable(net, [index], head=False)
            model = net.composed()
            model.compile(optimizer=ctx.make_optimizer(), loss=ctx.task.loss(), metrics=["accuracy"])
            ctx.fit(model, ctx.data.train.x, ctx.data.train.y, epochs=isolated, stage=f"isolated:{name}")
        finally:
            set_trainable(net, range(n), head=True)
