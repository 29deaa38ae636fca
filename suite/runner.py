"""Running one cell: seed, build, hand the network to the regime, measure each reported epoch, record.

The harness never knows how a regime trains; the regime never evaluates on the test split.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import socket
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import keras
from suite import backend, provenance, steps
from suite.api import Budget, DataUnavailable, Diverged, Network, Split, Task, TaskData
from suite.context import FitContext
from suite.plan import Cell
from suite.probe import Probe
from suite.sandbox import Limits, Worker, WorkerError
from suite.records import EpochRecord, Provenance, Record, Reinitialization, SplitSizes, SuiteRef, finite_or_none
from suite.scores import training_summary
from suite.steps import StepSession

EVAL_BATCH = 1024


def accuracy(predictor: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of ``predictor``'s class scores on ``(x, y)``."""
    # predict_on_batch skips predict()'s per-call data pipeline (~80 ms), which dominates small test sets.
    correct = 0
    for i in range(0, len(x), EVAL_BATCH):
        scores = keras.ops.convert_to_numpy(predictor.predict_on_batch(x[i : i + EVAL_BATCH]))
        correct += int(np.sum(np.argmax(scores, axis=-1) == y[i : i + EVAL_BATCH]))
    return correct / len(x)


class Recorder:
    """The harness's measurements of one cell, epoch by epoch, on data the regime never sees: test and
    validation accuracy, and the information plane on the probe set. ``on_epoch`` (an output sink, e.g.
    :class:`suite.tensorboard.EventWriter`) is called with each epoch's record as soon as it is measured."""

    def __init__(self, test: Split, validation: Split | None, probe: Probe | None, budget_epochs: int,
                 on_epoch: Callable[[EpochRecord], None] | None = None, steps: StepSession | None = None) -> None:
        self.test, self.validation, self.probe, self.budget_epochs = test, validation, probe, budget_epochs
        self.on_epoch = on_epoch
        self._infer = steps.inference if steps is not None else (lambda model: model)
        self.history: list[EpochRecord] = []

    def measure(self, network: Network, predictor: keras.Model | None, *, train_loss: float | None,
                train_accuracy: float | None, stage: str | None, seconds: float, examples: int, steps: int) -> None:
        """Measure ``predictor`` (default: the composed network) and probe ``network`` as they are now."""
        epoch = len(self.history)
        model = self._infer(predictor if predictor is not None else network.composed())
        probe = None
        if self.probe is not None and self.probe.due(epoch, self.budget_epochs):
            probe = self.probe.measure(network, self._infer)
        self.history.append(
            EpochRecord(
                epoch=epoch,
                stage=stage,
                train_loss=finite_or_none(train_loss),
                train_accuracy=finite_or_none(train_accuracy),
                test_accuracy=accuracy(model, self.test.x, self.test.y),
                val_accuracy=accuracy(model, self.validation.x, self.validation.y) if self.validation is not None else None,
                seconds=seconds,
                examples=examples,
                steps=steps,
                probe=probe,
            )
        )
        if self.on_epoch is not None:
            self.on_epoch(self.history[-1])


class CellContext(FitContext):
    """The harness's side of :class:`suite.api.TrainContext` for a cell trained in the harness's process.

    ``data`` is what the regime sees (:meth:`TaskData.training_only` in :func:`run_cell`); ``test``
    (default: ``data.test``) and ``validation`` are what the harness measures on.
    """

    def __init__(self, task: Task, data: TaskData, network: Network, budget: Budget, seed: int, probe: Probe | None,
                 validation: Split | None = None, test: Split | None = None,
                 on_epoch: Callable[[EpochRecord], None] | None = None, steps: StepSession | None = None) -> None:
        super().__init__(task, data, network, budget, seed, steps)
        self._recorder = Recorder(test if test is not None else data.test, validation, probe, budget.epochs, on_epoch, steps)
        self._train_seconds = 0.0
        self._examples = 0
        self._steps = 0
        self._recorder.measure(network, None, train_loss=None, train_accuracy=None, stage=None, seconds=0.0, examples=0, steps=0)
        self._clock = time.perf_counter()

    @property
    def history(self) -> list[EpochRecord]:
        """The epochs measured so far (epoch 0: the initialization)."""
        return self._recorder.history

    def report_epoch(self, *, train_loss: float, train_accuracy: float | None, examples: int, steps: int,
                     predictor: keras.Model | None = None, stage: str | None = None) -> None:
        self._train_seconds += time.perf_counter() - self._clock
        self._examples += int(examples)
        self._steps += int(steps)
        self.epochs_reported += 1
        if train_loss is None or not math.isfinite(float(train_loss)):
            raise Diverged(f"training loss is {train_loss} at epoch {self.epochs_reported}")
        self._recorder.measure(self.network, predictor, train_loss=train_loss, train_accuracy=train_accuracy, stage=stage,
                               seconds=self._train_seconds, examples=self._examples, steps=self._steps)
        self._clock = time.perf_counter()


@dataclasses.dataclass(frozen=True)
class Isolation:
    """Where a cell's regime code runs. Disabled: in the harness's process (trusted, built-in regimes).
    Enabled: in a fresh :class:`suite.sandbox.Worker` per cell, under ``limits``, sandboxed by bubblewrap
    when ``sandbox`` allows; the harness then measures the weights the worker reports.

    ``plugins`` are the plugin files the worker imports (never imported by the harness when untrusted).
    """

    enabled: bool = False
    sandbox: bool | None = None
    limits: Limits = Limits()
    plugins: tuple[str, ...] = ()


@dataclasses.dataclass
class _Trained:
    """What training a cell produced, wherever it ran."""

    status: str = "ok"
    error: str | None = None
    history: list[EpochRecord] = dataclasses.field(default_factory=list)
    notes: dict[str, Any] = dataclasses.field(default_factory=dict)
    reinitialization: Reinitialization | None = None
    declared: float = 1.0
    network: Network | None = None
    peak_memory_bytes: int | None = None
    steps: StepSession | None = None


def _failure(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=8))


def _train_here(cell: Cell, task: Task, data: TaskData, probe: Probe | None,
                on_epoch: Callable[[EpochRecord], None] | None = None) -> _Trained:
    """Train in this process (trusted regimes)."""
    regime = cell.regime.cls(cell.regime.params)
    out = _Trained()
    ctx: CellContext | None = None
    try:
        backend.seed_everything(cell.seed)
        out.network = task.build_network(_visible(cell, data))
        out.declared = regime.budget_factor(task, len(out.network.blocks))
        if cell.regime.cls.reuses_compiled_steps:
            out.steps = steps.PROCESS_CACHE.session(cell.program)
        ctx = CellContext(task, _visible(cell, data), out.network, cell.task.budget, cell.seed, probe, data.validation, data.test,
                          on_epoch, out.steps)
        regime.train(ctx)
    except Diverged as exc:
        out.status, out.error = "diverged", str(exc)
    except (KeyboardInterrupt, DataUnavailable):
        raise
    except Exception as exc:  # the suite carries on; the record keeps the reason
        out.status, out.error = "failed", _failure(exc)
    if ctx is not None:
        out.history, out.notes, out.reinitialization = ctx.history, ctx.notes, ctx.reinitialization
    out.peak_memory_bytes = backend.peak_memory_bytes()
    return out


def _visible(cell: Cell, data: TaskData) -> TaskData:
    """The data the cell's regime may see: training examples only (module targets if it declares them)."""
    return (data if cell.regime.cls.uses_module_targets else data.without_module_targets()).training_only()


def _train_isolated(cell: Cell, task: Task, data: TaskData, probe: Probe | None, isolation: Isolation,
                    on_files: Any = None, on_epoch: Callable[[EpochRecord], None] | None = None) -> _Trained:
    """Train in a fresh worker process; measure here, on this process's own copy of the network."""
    out = _Trained()
    visible = _visible(cell, data)
    backend.seed_everything(cell.seed)
    network = out.network = task.build_network(visible)
    recorder = Recorder(data.test, data.validation, probe, cell.task.budget.epochs, on_epoch)
    predictors: dict[str, keras.Model] = {}
    job = {"op": "train", "plugins": list(isolation.plugins), "threads": backend.training_threads(),
           "task": {"name": cell.task.cls.name, "version": cell.task.cls.version, "params": cell.task.params.model_dump(mode="json")},
           "regime": {"name": cell.regime.cls.name, "version": cell.regime.cls.version, "params": cell.regime.params.model_dump(mode="json")},
           "budget": cell.task.budget.model_dump(mode="json"), "seed": cell.seed, "data": visible}
    seconds, examples, steps = 0.0, 0, 0
    worker: Worker | None = None
    try:
        worker = Worker(isolation.limits, isolation.sandbox)
        worker.send(job)
        clock = time.perf_counter()
        while True:
            header, arrays = worker.receive()
            elapsed = time.perf_counter() - clock
            kind = header.get("type")
            if kind == "failed":
                out.status, out.error = "failed", "in the isolated worker: " + str(header.get("error"))[:20000]
                break
            if kind == "diverged":
                out.status, out.error = "diverged", str(header.get("error"))[:2000]
                break
            if kind == "done":
                out.notes = header.get("notes") if isinstance(header.get("notes"), dict) else {}
                reinit = header.get("reinitialization")
                out.reinitialization = Reinitialization.model_validate(reinit) if reinit is not None else None
                if out.reinitialization is not None and out.reinitialization.block not in network.block_names:
                    raise WorkerError(f"the regime declared an unknown block {out.reinitialization.block!r} re-initialized")
                break
            n = header.get("network_weights")
            if not isinstance(n, int) or not 0 <= n <= len(arrays):
                raise WorkerError("the worker's message does not say which arrays are the network's weights")
            _load_weights(network.composed(), arrays[:n], "the network")
            if kind == "start":
                declared = header.get("budget_declared")
                if not isinstance(declared, (int, float)) or not math.isfinite(declared) or declared <= 0:
                    raise WorkerError(f"the regime declared an invalid budget factor {declared!r}")
                out.declared = float(declared)
                worker.training_started()
                recorder.measure(network, None, train_loss=None, train_accuracy=None, stage=None, seconds=0.0, examples=0, steps=0)
            elif kind == "epoch":
                seconds += elapsed  # the harness's clock: from "continue" to the epoch's report, weights included
                examples += _count(header, "examples")
                steps += _count(header, "steps")
                loss, acc = header.get("train_loss"), header.get("train_accuracy")
                if not isinstance(loss, (int, float)) or not math.isfinite(loss):
                    out.status, out.error = "diverged", f"training loss is {loss} at epoch {len(recorder.history)}"
                    break
                predictor = None
                if header.get("predictor") is not None:
                    predictor = _rebuild(predictors, str(header["predictor"]))
                    _load_weights(predictor, arrays[n:], "the predictor")
                stage = header.get("stage")
                recorder.measure(network, predictor, train_loss=float(loss),
                                 train_accuracy=float(acc) if isinstance(acc, (int, float)) else None,
                                 stage=str(stage)[:200] if stage is not None else None,
                                 seconds=seconds, examples=examples, steps=steps)
            else:
                raise WorkerError(f"the worker sent an unknown message type {kind!r}")
            worker.send({"op": "continue"})
            clock = time.perf_counter()
    except WorkerError as exc:
        out.status, out.error = "failed", str(exc)
    except (KeyboardInterrupt, DataUnavailable):
        raise
    except Exception as exc:  # measuring what the worker reported failed: the regime's fault
        out.status, out.error = "failed", _failure(exc)
    finally:
        if worker is not None:
            out.peak_memory_bytes = worker.peak_rss_bytes
            if on_files is not None:
                on_files(worker.written_files())
            worker.close()
    out.history = recorder.history
    return out


def _count(header: dict[str, Any], key: str) -> int:
    value = header.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise WorkerError(f"the epoch report's {key!r} is {value!r}, not a count")
    return value


def _load_weights(model: keras.Model, arrays: list[np.ndarray], what: str) -> None:
    expected = [tuple(w.shape) for w in model.weights]
    got = [tuple(a.shape) for a in arrays]
    if expected != got:
        raise WorkerError(f"the weights the worker reported do not fit {what}: {len(got)} arrays, expected {len(expected)} "
                          f"of shapes {expected[:4]}{' ...' if len(expected) > 4 else ''}")
    model.set_weights(arrays)


def _rebuild(cache: dict[str, keras.Model], config: str) -> keras.Model:
    """The predictor a worker described, rebuilt here from its configuration (safe mode: Keras layers, the
    task's layers and e2ebench's registered layers only; no code from the worker)."""
    if config not in cache:
        try:
            cache[config] = keras.models.model_from_json(config)
        except Exception as exc:
            raise WorkerError("the regime's predictor cannot be rebuilt by the harness from its configuration "
                              f"({type(exc).__name__}: {str(exc)[:300]}); in isolation a predictor may use only Keras "
                              "layers and registered serializable layers") from exc
    return cache[config]


def run_cell(cell: Cell, suite: SuiteRef, data: TaskData, isolation: Isolation = Isolation(),
             on_files: Any = None, events: Path | None = None) -> Record:
    """Train and measure one cell. Never raises for a failing regime: the record says ``failed``.

    Args:
        isolation: where the regime's code runs (default: in this process).
        on_files: with isolation, called with the files the worker left in its working directory.
        events: the cell's TensorBoard run directory, written after each measured epoch
            (:mod:`suite.tensorboard`; an output sink that changes nothing in the record).
    """
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    backend.reset_peak_memory()  # peak memory is per cell, not per process
    task = cell.task.cls(cell.task.params)
    probe = Probe.from_settings(cell.probe, data.test, data.num_classes) if cell.probe.enabled else None
    writer = None
    if events is not None:
        from suite.tensorboard import EventWriter

        writer = EventWriter(events)
    on_epoch = writer.epoch if writer is not None else None
    try:
        if isolated(cell, isolation):
            untrusted_file = getattr(cell.regime.cls, "untrusted_file", None)
            if untrusted_file:
                isolation = dataclasses.replace(isolation, plugins=tuple(dict.fromkeys([*isolation.plugins, untrusted_file])))
            trained = _train_isolated(cell, task, data, probe, isolation, on_files, on_epoch)
        else:
            trained = _train_here(cell, task, data, probe, on_epoch)
    finally:
        if writer is not None:
            writer.close()
    status, error, history = trained.status, trained.error, trained.history
    if status == "ok" and len(history) < 2:
        status, error = "failed", "RuntimeError: the regime reported no epoch (it must call ctx.report_epoch or use ctx.fit)"
    network = trained.network
    num_params = network.count_params() if network is not None else None
    declared = trained.declared
    summary: dict[str, Any] = {}
    if status != "failed":
        budget_epochs = round(cell.task.budget.epochs * declared)
        summary = training_summary(history[1:], task.target_accuracy, budget_epochs, diverged=status == "diverged")
        summary["wall_seconds"] = time.perf_counter() - t0
        if trained.peak_memory_bytes is not None:
            summary["peak_memory_mb"] = trained.peak_memory_bytes / 2**20
        if not isolation.enabled and (increase := backend.peak_memory_increase_bytes()) is not None:
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
        notes=trained.notes,
        reinitialization=trained.reinitialization,
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
            threads=backend.training_threads(),
            compiled_steps=trained.steps.summary() if trained.steps is not None else None,
            cpu=backend.cpu_model(),
        ),
    )
    return record.sealed(with_result_hash=True)


def failed_record(cell: Cell, suite: SuiteRef, error: str) -> Record:
    """A ``failed`` record for a cell that never reported back (its process died); retried on the next run."""
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return Record(
        cell_hash=cell.hash, cell=cell.key(), suite=suite, task_label=cell.task.label, regime_label=cell.regime.label,
        status="failed", error=error, target_accuracy=cell.task.cls.target_accuracy,
        provenance=Provenance(
            task_code_sha256=provenance.code_hash(cell.task.cls), regime_code_sha256=provenance.code_hash(cell.regime.cls),
            backend=backend.name(), device=backend.device(), packages=backend.package_versions(),
            platform=provenance.platform_string(), git_commit=provenance.git_commit(), started_at=now, finished_at=now,
            hostname=socket.gethostname(), threads=backend.training_threads(), cpu=backend.cpu_model()),
    ).sealed(with_result_hash=True)


def _budget_used(history: list[EpochRecord], budget: Budget, n_train: int) -> float | None:
    """Examples processed as a fraction of the budget's ``epochs x training examples``."""
    if not history:
        return None
    return history[-1].examples / (budget.epochs * n_train)


def isolated(cell: Cell, isolation: Isolation) -> bool:
    """Whether ``cell``'s regime code runs in an isolated worker (always for an untrusted regime)."""
    from suite.untrusted import is_untrusted

    return isolation.enabled or is_untrusted(cell.regime.cls)
