"""What both sides of a cell share: the Keras ``fit`` loop with an epoch report after each epoch.

:class:`FitContext` implements everything of :class:`suite.api.TrainContext` except ``report_epoch``,
which differs between a cell trained in the harness's process (:class:`suite.runner.CellContext`)
and one trained in an isolated worker (:class:`suite.worker.WorkerContext`).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import keras
from suite.api import Budget, Network, Task, TaskData, TrainContext
from suite.records import Reinitialization
from suite.steps import StepSession


class _EpochReporter(keras.callbacks.Callback):
    """Turns Keras' epoch logs into :meth:`TrainContext.report_epoch` calls."""

    def __init__(self, ctx: TrainContext, n_examples: int, predictor: keras.Model | None, stage: str | None,
                 loss_key: str, accuracy_key: str | None) -> None:
        super().__init__()
        self._ctx, self._n, self._predictor, self._stage = ctx, n_examples, predictor, stage
        self._loss_key, self._acc_key = loss_key, accuracy_key

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self._loss_key not in logs:  # a wrong key is a regime bug, not a diverged run
            raise KeyError(f"ctx.fit(loss_key={self._loss_key!r}): Keras logged only {sorted(logs)}")
        steps = math.ceil(self._n / self._ctx.budget.batch_size)
        self._ctx.report_epoch(
            train_loss=float(logs[self._loss_key]),
            train_accuracy=float(logs[self._acc_key]) if self._acc_key and self._acc_key in logs else None,
            examples=self._n,
            steps=steps,
            predictor=self._predictor,
            stage=self._stage,
        )


class FitContext(TrainContext):
    """A :class:`TrainContext` with ``note``, ``reinitialized`` and ``fit``; subclasses report epochs."""

    def __init__(self, task: Task, data: TaskData, network: Network, budget: Budget, seed: int,
                 steps: StepSession | None = None) -> None:
        self.task, self.data, self.network, self.budget, self.seed = task, data, network, budget, seed
        self.steps = steps  # where compiled steps of earlier cells are reused (None: every fit builds its own)
        self.notes: dict[str, Any] = {}
        self.reinitialization: Reinitialization | None = None
        self.epochs_reported = 0

    def note(self, **facts: Any) -> None:
        self.notes.update(facts)

    def reinitialized(self, block: str) -> None:
        if block not in self.network.block_names:
            raise ValueError(f"ctx.reinitialized({block!r}): not a block of this network ({', '.join(self.network.block_names)})")
        self.reinitialization = Reinitialization(block=block, after_epoch=self.epochs_reported)

    def fit(self, model: keras.Model, x: Any, y: Any, *, epochs: int, predictor: keras.Model | None = None,
            stage: str | None = None, loss_key: str = "loss", accuracy_key: str | None = "accuracy") -> None:
        if epochs <= 0:
            return
        first = x if not isinstance(x, dict) else next(iter(x.values()))
        reporter = _EpochReporter(self, len(first), predictor, stage, loss_key, accuracy_key)
        fit = model.fit if self.steps is None else functools.partial(self.steps.fit, model)
        fit(x, y, batch_size=self.budget.batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=[reporter])
