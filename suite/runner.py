"""Running one cell: seed, build, hand the network to the regime, measure each reported epoch, record.

The harness never knows how a regime trains; the regime never evaluates on the test split.
"""

from __future__ import annotations

import datetime as _dt
import math
import socket
import time
import traceback
from typing import Any

import numpy as np

import keras
from suite import backend, provenance
from suite.api import Budget, DataUnavailable, Diverged, Network, Split, Task, TaskData, TrainContext
from suite.plan import Cell
from suite.probe import Probe
from suite.records import EpochRecord, Provenance, Record, Reinitialization, SplitSizes, SuiteRef, finite_or_none
from suite.scores import training_summary

EVAL_BATCH = 1024


def accuracy(predictor: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of ``predictor``'s class scores on ``(x, y)``."""
    # predict_on_batch skips predict()'s per-call data pipeline (~80 ms), which dominates small test sets.
    correct = 0
    for i in range(0, len(x), EVAL_BATCH):
        scores = keras.ops.convert_to_numpy(predictor.predict_on_batch(x[i : i + EVAL_BATCH]))
        correct += int(np.sum(np.argmax(scores, axis=-1) == y[i : i + EVAL_BATCH]))
    return correct / len(x)


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


class CellContext(TrainContext):
    """The harness's side of :class:`suite.api.TrainContext` for one cell."""

    def __init__(self, task: Task, data: TaskData, network: Network, budget: Budget, seed: int, probe: Probe | None,
                 validation: Split | None = None) -> None:
        self.task, self.data, self.network, self.budget, self.seed = task, data, network, budget, seed
        self._validation = validation
        self.history: list[EpochRecord] = []
        self.notes: dict[str, Any] = {}
        self.reinitialization: Reinitialization | None = None
        self._probe = probe
        self._train_seconds = 0.0
        self._examples = 0
        self._steps = 0
        self._measure(epoch=0, train_loss=None, train_accuracy=None, predictor=None, stage=None)
        self._clock = time.perf_counter()

    def _measure(self, *, epoch: int, train_loss: float | None, train_accuracy: float | None,
                 predictor: keras.Model | None, stage: str | None) -> None:
        model = predictor if predictor is not None else self.network.composed()
        probe = None
        if self._probe is not None and self._probe.due(epoch, self.budget.epochs):
            probe = self._probe.measure(self.network)
        self.history.append(
            EpochRecord(
                epoch=epoch,
                stage=stage,
                train_loss=finite_or_none(train_loss),
                train_accuracy=finite_or_none(train_accuracy),
                test_accuracy=accuracy(model, self.data.test.x, self.data.test.y),
                val_accuracy=accuracy(model, self._validation.x, self._validation.y) if self._validation is not None else None,
                seconds=self._train_seconds,
                examples=self._examples,
                steps=self._steps,
                probe=probe,
            )
        )

    def report_epoch(self, *, train_loss: float, train_accuracy: float | None, examples: int, steps: int,
                     predictor: keras.Model | None = None, stage: str | None = None) -> None:
        self._train_seconds += time.perf_counter() - self._clock
        self._examples += int(examples)
        self._steps += int(steps)
        epoch = len(self.history)
        if train_loss is None or not math.isfinite(float(train_loss)):
            raise Diverged(f"training loss is {train_loss} at epoch {epoch}")
        self._measure(epoch=epoch, train_loss=train_loss, train_accuracy=train_accuracy, predictor=predictor, stage=stage)
        self._clock = time.perf_counter()

    def note(self, **facts: Any) -> None:
        self.notes.update(facts)

    def reinitialized(self, block: str) -> None:
        if block not in self.network.block_names:
            raise ValueError(f"ctx.reinitialized({block!r}): not a block of this network ({', '.join(self.network.block_names)})")
        self.reinitialization = Reinitialization(block=block, after_epoch=len(self.history) - 1)

    def fit(self, model: keras.Model, x: Any, y: Any, *, epochs: int, predictor: keras.Model | None = None,
            stage: str | None = None, loss_key: str = "loss", accuracy_key: str | None = "accuracy") -> None:
        if epochs <= 0:
            return
        first = x if not isinstance(x, dict) else next(iter(x.values()))
        reporter = _EpochReporter(self, len(first), predictor, stage, loss_key, accuracy_key)
        model.fit(x, y, batch_size=self.budget.batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=[reporter])


def run_cell(cell: Cell, suite: SuiteRef, data: TaskData) -> Record:
    """Train and measure one cell. Never raises for a failing regime: the record says ``failed``."""
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    backend.reset_peak_memory()  # peak memory is per cell, not per process
    task = cell.task.cls(cell.task.params)
    regime = cell.regime.cls(cell.regime.params)
    visible = (data if regime.uses_module_targets else data.without_module_targets()).without_validation()
    status, error = "ok", None
    declared = 1.0
    ctx: CellContext | None = None
    network: Network | None = None
    try:
        backend.seed_everything(cell.seed)
        network = task.build_network(visible)
        declared = regime.budget_factor(task, len(network.blocks))
        probe = Probe.from_settings(cell.probe, data.test, data.num_classes) if cell.probe.enabled else None
        ctx = CellContext(task, visible, network, cell.task.budget, cell.seed, probe, data.validation)
        regime.train(ctx)
        if len(ctx.history) < 2:
            raise RuntimeError("the regime reported no epoch (it must call ctx.report_epoch or use ctx.fit)")
    except Diverged as exc:
        status, error = "diverged", str(exc)
    except (KeyboardInterrupt, DataUnavailable):
        raise
    except Exception as exc:  # the suite carries on; the record keeps the reason
        status = "failed"
        error = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=8))
    history = ctx.history if ctx is not None else []
    num_params = network.count_params() if network is not None else None
    summary: dict[str, Any] = {}
    if status != "failed":
        budget_epochs = round(cell.task.budget.epochs * declared)
        summary = training_summary(history[1:], task.target_accuracy, budget_epochs, diverged=status == "diverged")
        summary["wall_seconds"] = time.perf_counter() - t0
        summary["peak_memory_mb"] = backend.peak_memory_bytes() / 2**20
        if (increase := backend.peak_memory_increase_bytes()) is not None:
            summary["peak_memory_increase_mb"] = increase / 2**20
        if (device_peak := backend.peak_device_memory_bytes()) is not None:
            summary["peak_device_memory_mb"] = device_peak / 2**20
        if num_params is not None:
            summary["num_params"] = num_params
        summary["budget_used"] = _budget_used(history, cell.task.budget, len(data.train))
        summary["budget_declared"] = declared
        if probe_summary := (Probe.summarize(history) if cell.probe.enabled else {}):
            summary.update(probe_summary)
    finished = _dt.datetime.now(_dt.timezone.utc)
    record = Record(
        cell_hash=cell.hash,
        cell=cell.key(),
        suite=suite,
        task_label=cell.task.label,
        regime_label=cell.regime.label,
        status=status,
        error=error,
        num_params=num_params,
        chance_level=task.chance_level(data),
        target_accuracy=task.target_accuracy,
        notes=ctx.notes if ctx is not None else {},
        reinitialization=ctx.reinitialization if ctx is not None else None,
        splits=SplitSizes(train=len(data.train), validation=len(data.validation) if data.validation is not None else 0,
                          test=len(data.test)),
        history=history,
        summary={k: finite_or_none(v) if isinstance(v, float) else v for k, v in summary.items()},
        provenance=Provenance(
            task_code_sha256=provenance.code_hash(cell.task.cls),
            regime_code_sha256=provenance.code_hash(cell.regime.cls),
            backend=backend.name(),
            device=backend.device(),
            packages=backend.package_versions(),
            platform=provenance.platform_string(),
            git_commit=provenance.git_commit(),
            started_at=started.isoformat(timespec="seconds"),
            finished_at=finished.isoformat(timespec="seconds"),
            hostname=socket.gethostname(),
        ),
    )
    return record.sealed()


def _budget_used(history: list[EpochRecord], budget: Budget, n_train: int) -> float | None:
    """Examples processed as a fraction of the budget's ``epochs x training examples``."""
    if not history:
        return None
    return history[-1].examples / (budget.epochs * n_train)
