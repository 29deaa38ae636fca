"""The whole contract between the harness, a task and a regime.

Read this file to write a task or a regime; nothing else in ``suite/`` is needed.

* A :class:`Task` loads its data (:class:`TaskData`) and builds a fresh :class:`Network` (named blocks
  plus a classifier head) for every cell. It declares a default :class:`Budget` and a target accuracy.
* A :class:`Regime` trains that network inside the budget, however it likes, and calls
  :meth:`TrainContext.report_epoch` once per epoch (or uses :meth:`TrainContext.fit`, which does it).
  It never writes files and never evaluates on the test split: the harness measures.
  A regime declares its :data:`RegimeFamily` and whether it is its family's ``baseline``; analyses
  select regimes by these declarations, never by name.
* The harness (``suite.runner``) seeds everything, times training, evaluates test accuracy and the
  information-plane probe (of ``network.features()``) at each reported epoch, and writes the record. Facts that analyses read
  (a module re-initialized mid-training) cross the boundary through typed calls on the context
  (:meth:`TrainContext.reinitialized`), never through free-form notes.

Data flows one way: suite file -> cells -> ``regime.train(ctx)`` -> records -> ``suite.results`` ->
tables, reports, plots, leaderboard.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_serializer

import keras

__all__ = [
    "Params",
    "RegimeFamily",
    "Budget",
    "Split",
    "TaskData",
    "ModuleTarget",
    "Network",
    "Task",
    "Regime",
    "TrainContext",
    "Diverged",
    "DataUnavailable",
    "default_aux_head",
]


#: What kind of training method a regime is. Analyses compare families, never regime names:
#: ``"end-to-end"`` (one global loss, exact gradients), ``"layer-wise"`` (every block trained by its own local
#: objective on detached inputs: auxiliary classifiers, predsim, HSIC objectives), ``"modular"`` (modules
#: trained on their own intermediate targets), ``"feedback"`` (fixed random feedback instead of the
#: transposed weights), ``"forward"`` (no backward pass: forward-forward), ``"other"``.
RegimeFamily = Literal["end-to-end", "layer-wise", "modular", "feedback", "forward", "other"]


class Params(BaseModel):
    """Base class for task and regime parameters: plain, frozen data; unknown fields are rejected.

    ``added_fields`` names fields added after cells were recorded with the class: at their default they
    are left out of the plain data (``model_dump``), which a cell's hash covers, so adding a parameter
    whose default keeps the old behaviour leaves every existing cell's hash (and record) valid.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    added_fields: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _omit_added_defaults(self, handler: Any) -> Any:
        data = handler(self)
        for name in self.added_fields:
            if isinstance(data, dict) and name in data and getattr(self, name) == type(self).model_fields[name].default:
                del data[name]
        return data


class Budget(Params):
    """What a regime may spend in one cell. The same for every regime compared on a task.

    Args:
        epochs: passes over the training split (a regime that splits them into stages records how).
        batch_size: examples per optimizer step.
        optimizer: optimizer name.
        learning_rate: the optimizer's step size.
    """

    epochs: int = Field(gt=0, description="passes over the training split")
    batch_size: int = Field(gt=0, description="examples per optimizer step")
    optimizer: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    learning_rate: float = Field(default=1e-3, gt=0)


@dataclasses.dataclass(frozen=True)
class Split:
    """One split of a dataset: inputs ``x`` (float32, channels last) and integer labels ``y``."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclasses.dataclass(frozen=True)
class ModuleTarget:
    """Intermediate supervision for one module of a modular pipeline.

    ``train``/``test`` hold the module's own inputs and labels; ``module`` is the index of the
    block it supervises. Only regimes with ``uses_module_targets = True`` ever see these.
    The inputs ``x`` are the *network's* inputs (the same examples as the task's splits) and ``y``
    has shape ``(n, *target_shape)``: what the output of block ``module`` must predict (see
    ``regimes/modular.py`` and ``docs/breakdown.md``).
    """

    module: int
    train: Split
    test: Split
    num_classes: int
    description: str = ""


@dataclasses.dataclass(frozen=True)
class TaskData:
    """A task's data, held in memory as numpy arrays.

    ``validation`` is carved from the task's training data by the harness (``suite.splits``); a task's
    ``load_data`` leaves it ``None``, and a regime never sees it: it trains on ``train`` only.
    """

    train: Split
    test: Split
    num_classes: int
    module_targets: Mapping[str, ModuleTarget] = dataclasses.field(default_factory=dict)
    validation: Split | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example (without the batch dimension)."""
        return tuple(int(d) for d in self.train.x.shape[1:])

    def without_module_targets(self) -> TaskData:
        """The same data with the module targets hidden (what end-to-end regimes see)."""
        return dataclasses.replace(self, module_targets={})

    def without_validation(self) -> TaskData:
        """The same data with the validation split hidden (what every regime sees)."""
        return dataclasses.replace(self, validation=None)

    def training_only(self) -> TaskData:
        """What a regime sees: the training split (and the training halves of module targets); the test
        splits are empty and the validation split is absent."""
        def empty(split: Split) -> Split:
            return Split(split.x[:0], split.y[:0])

        targets = {k: dataclasses.replace(t, test=empty(t.test)) for k, t in self.module_targets.items()}
        return dataclasses.replace(self, test=empty(self.test), validation=None, module_targets=targets)


def default_aux_head(feature_shape: Sequence[int], num_classes: int, max_features: int = 2048) -> keras.Layer:
    """Auxiliary classifier for layer-wise training: average-pool to at most ``max_features`` features,
    flatten, then one linear layer producing logits (as in Sakamoto & Sato 2024, after Nøkland & Eidnes 2019).
    """
    layers: list[keras.Layer] = []
    shape = tuple(int(d) for d in feature_shape)
    if len(shape) == 3:
        h, w, c = shape
        pool = 1
        while (h // pool) * (w // pool) * c > max_features and pool < max(h, w):
            pool += 1
        if pool > 1:  # "valid" pooling floors the map size, as the bound above assumes
            layers.append(keras.layers.AveragePooling2D(pool_size=pool, padding="valid"))
    if len(shape) > 1:
        layers.append(keras.layers.Flatten())
    layers.append(keras.layers.Dense(num_classes))
    return keras.Sequential(layers)


class Network:
    """A model split into named blocks and a classifier head, built fresh for every cell.

    The output of each block is a representation T_l that the harness probes. ``composed()`` is the
    plain end-to-end model (blocks then head); regimes build their own training graphs from the same
    layer objects, starting at ``network.input`` / ``network.stem``, so weights are shared.

    Args:
        input_shape: shape of one example.
        blocks: the trainable units, in order.
        head: the final classifier, applied to the last block's output; produces logits.
        num_classes: number of output classes.
        block_names: one name per block (defaults to ``block1``, ``block2``, ...).
        aux_head: factory ``(feature_shape, num_classes) -> Layer`` for auxiliary classifiers.
        augment: optional layer applied to the input before block 1; it must be the identity at
            inference (e.g. ``keras.layers.RandomFlip``), so it acts only while training.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        blocks: Sequence[keras.Layer],
        head: keras.Layer,
        num_classes: int,
        block_names: Sequence[str] | None = None,
        aux_head: Callable[[Sequence[int], int], keras.Layer] = default_aux_head,
        augment: keras.Layer | None = None,
    ) -> None:
        if not blocks:
            raise ValueError("a Network needs at least one block")
        self.input_shape = tuple(int(d) for d in input_shape)
        self.blocks = list(blocks)
        self.head = head
        self.num_classes = int(num_classes)
        self.block_names = list(block_names) if block_names else [f"block{i + 1}" for i in range(len(blocks))]
        if len(self.block_names) != len(self.blocks):
            raise ValueError("block_names must name every block")
        self._aux_head = aux_head
        # Build every layer once, symbolically, so shapes and weights exist before any regime runs.
        self.input = keras.Input(shape=self.input_shape, name="x")
        self.stem = augment(self.input) if augment is not None else self.input  # what block 1 sees
        outputs = []
        t = self.stem
        for block in self.blocks:
            t = block(t)
            outputs.append(t)
        self.logits = self.head(t)
        self.block_outputs = outputs
        self.block_output_shapes = [tuple(int(d) for d in o.shape[1:]) for o in outputs]
        self._composed: keras.Model | None = None
        self._features: keras.Model | None = None

    def __len__(self) -> int:
        return len(self.blocks)

    def make_aux_head(self, index: int) -> keras.Layer:
        """A new auxiliary classifier for the output of block ``index`` (0-based)."""
        return self._aux_head(self.block_output_shapes[index], self.num_classes)

    def composed(self) -> keras.Model:
        """The end-to-end model ``x -> blocks -> head -> logits`` (built once, shares weights)."""
        if self._composed is None:
            self._composed = keras.Model(self.input, self.logits, name="composed")
        return self._composed

    def features(self) -> keras.Model:
        """A model ``x -> [T_1, ..., T_L]`` returning every block's output (for probing)."""
        if self._features is None:
            self._features = keras.Model(self.input, self.block_outputs, name="features")
        return self._features

    def count_params(self) -> int:
        """Number of parameters of the blocks and head (auxiliary heads excluded)."""
        return int(self.composed().count_params())


class Task(abc.ABC):
    """A dataset, a model split into blocks, a loss, a default budget and a target accuracy.

    Subclasses set the class attributes, define ``Params`` (a :class:`Params` model) and implement
    :meth:`load_data` and :meth:`build_network`. Register with ``@suite.registry.tasks.register``.
    Bump ``version`` on any change that alters results.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    description: ClassVar[str]
    data_source: ClassVar[str] = "generated"
    Params: ClassVar[type[Params]] = Params
    default_budget: ClassVar[Budget]
    target_accuracy: ClassVar[float]
    provides_module_targets: ClassVar[bool] = False
    #: The model family, for regimes that can train only some (read in ``Regime.supports``): ``"mlp"``
    #: (blocks of Dense layers and activations on flattened inputs), ``"cnn"`` (Sequential blocks of
    #: convolution, normalization, pooling, dropout and activation layers; Dense or pooling head),
    #: ``"resnet"`` (blocks with skip connections) or ``"other"``. Override with a property when the
    #: params choose the network.
    architecture: ClassVar[str] = "other"
    #: Share of the training data held out as the validation split (stratified, seeded, the same for
    #: every cell; see ``suite.splits``). Model selection, targets and time to target read it.
    validation_fraction: ClassVar[float] = 0.1
    #: For tasks whose difficulty is swept (breakdown tasks): the name of the ``Params`` field that is
    #: the difficulty knob (e.g. ``"k"``), read by the breakdown analysis; ``None`` for other tasks.
    difficulty_knob: ClassVar[str | None] = None

    def __init__(self, params: Params | None = None) -> None:
        self.params = params if params is not None else self.Params()

    @abc.abstractmethod
    def load_data(self) -> TaskData:
        """Load (or generate) the data. Must not depend on the cell's seed: the dataset is fixed."""

    @abc.abstractmethod
    def build_network(self, data: TaskData) -> Network:
        """Build fresh, randomly initialised blocks and head (the harness seeds before calling)."""

    def prepared_datasets(self) -> tuple[str, ...]:
        """Names of the prepared (TFDS) datasets this task reads, for ``e2ebench data status``; empty for
        embedded or generated data."""
        return ()

    def chance_level(self, data: TaskData) -> float:
        """Accuracy of the best constant guess (default: the most frequent test label)."""
        counts = np.bincount(data.test.y.astype(np.int64), minlength=data.num_classes)
        return float(counts.max() / counts.sum())

    def loss(self) -> keras.losses.Loss:
        """The training loss on the head's logits."""
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


class DataUnavailable(RuntimeError):
    """A task's data is not prepared on this machine; the message says exactly how to prepare it."""


class Diverged(RuntimeError):
    """Raised when training produced a non-finite loss; the cell is recorded as diverged."""


class TrainContext(abc.ABC):
    """What the harness hands a regime for one cell.

    Attributes:
        task: the task instance (with its params).
        data: the task's data; module targets are present only for regimes that declare them.
        network: the freshly built network to train.
        budget: what may be spent.
        seed: the cell's seed (already applied to python, numpy and the backend).
    """

    task: Task
    data: TaskData
    network: Network
    budget: Budget
    seed: int

    @abc.abstractmethod
    def report_epoch(
        self,
        *,
        train_loss: float,
        train_accuracy: float | None,
        examples: int,
        steps: int,
        predictor: keras.Model | None = None,
        stage: str | None = None,
    ) -> None:
        """Report the end of one epoch.

        Args:
            train_loss: mean training loss over the epoch.
            train_accuracy: mean training accuracy over the epoch, if known.
            examples: training examples processed in this epoch (every forward pass counts).
            steps: optimizer steps taken in this epoch.
            predictor: model ``x -> class scores`` to evaluate now (default: ``network.composed()``).
            stage: name of the training stage, for staged regimes.

        Raises:
            Diverged: if ``train_loss`` is not finite.
        """

    @abc.abstractmethod
    def note(self, **facts: Any) -> None:
        """Record facts about how the regime spent its budget (e.g. the epochs of each stage), for readers
        of the record; no analysis depends on a note's keys."""

    @abc.abstractmethod
    def reinitialized(self, block: str) -> None:
        """Declare that block ``block`` has just been re-initialized, after the epochs reported so far.

        Time-to-target analyses (e.g. how fast a module is relearned) count from this point; the record
        keeps it as ``reinitialization``.
        """

    def make_optimizer(self, learning_rate: float | None = None) -> keras.optimizers.Optimizer:
        """A fresh optimizer from the budget (optionally with another learning rate)."""
        lr = self.budget.learning_rate if learning_rate is None else learning_rate
        return {
            "adam": keras.optimizers.Adam,
            "adamw": keras.optimizers.AdamW,
            "sgd": keras.optimizers.SGD,
            "rmsprop": keras.optimizers.RMSprop,
        }[self.budget.optimizer](learning_rate=lr)

    @abc.abstractmethod
    def fit(
        self,
        model: keras.Model,
        x: Any,
        y: Any,
        *,
        epochs: int,
        predictor: keras.Model | None = None,
        stage: str | None = None,
        loss_key: str = "loss",
        accuracy_key: str | None = "accuracy",
    ) -> None:
        """``model.fit`` over the given training arrays with the budget's batch size, shuffling, and
        an epoch report after each epoch. ``model`` must be compiled.

        ``loss_key``/``accuracy_key`` name the entries of Keras' logs to report as training loss and
        accuracy.
        """


class Regime(abc.ABC):
    """A training method. Subclasses set the class attributes, define ``Params`` and implement
    :meth:`train`. Register with ``@suite.registry.regimes.register``; bump ``version`` on any change
    that alters results. The class docstring cites the method's paper.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    description: ClassVar[str]
    citation: ClassVar[str] = ""
    Params: ClassVar[type[Params]] = Params
    uses_module_targets: ClassVar[bool] = False
    #: What kind of method this is (see :data:`RegimeFamily`).
    family: ClassVar[RegimeFamily] = "other"
    #: Whether this is the reference method of its family: analyses compare the family's other members,
    #: and other families, against it (``e2e`` for end-to-end, ``modular`` for modular training).
    baseline: ClassVar[bool] = False
    #: ``None`` when the regime classifies through ``network.features()`` (the blocks as composed, on the
    #: raw inputs), which is what the information-plane probe measures. Otherwise the reason the plane
    #: does not apply (e.g. the predictor feeds the blocks transformed inputs): its cells are probed like
    #: any other (so their hashes do not depend on it), but results show its information scores as "n/a"
    #: with this reason, and no figure or claim uses its probe measurements.
    probe_not_applicable: ClassVar[str | None] = None
    #: The ``(name, version)`` under which this regime's cells are keyed and its records were made, when
    #: they are not its own: a regime that gave its name to a new method keeps, under its new name, the
    #: identity of the records made under the old one (``None``: its own name and version).
    recorded_as: ClassVar[tuple[str, str] | None] = None
    #: Whether a later cell of the same program (another seed or learning rate) may train through the
    #: compiled step of an earlier one (:mod:`suite.steps`): true only when everything a ``ctx.fit`` model's
    #: step computes with lives in Keras variables or is fixed by the task, params and budget (no
    #: seed-dependent constant captured by Python code). Results must not change with it.
    reuses_compiled_steps: ClassVar[bool] = False

    def __init__(self, params: Params | None = None) -> None:
        self.params = params if params is not None else self.Params()

    def supports(self, task: Task) -> str | None:
        """``None`` if this regime can run ``task``; otherwise the reason it cannot (shown as "n/a")."""
        return None

    def budget_factor(self, task: Task, num_blocks: int) -> float:
        """How many times the shared budget this regime spends on ``task``'s network of ``num_blocks`` blocks.

        1.0 (the default) for every regime that keeps to the shared budget. A regime that follows its paper
        with more (e.g. greedy training with the full budget per block) declares it here: the protocol then
        allows it, the record keeps it (``budget_declared``) and every table marks the row."""
        return 1.0

    @abc.abstractmethod
    def train(self, ctx: TrainContext) -> None:
        """Train ``ctx.network`` within ``ctx.budget``, reporting every epoch through ``ctx``."""
