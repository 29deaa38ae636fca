"""Compiled training steps reused across a process's cells, so graph building is paid once per graph.

A cell's seeds (and its tuning trials) train the same program: the same task, regime, parameters and budget,
differing only in initial weights, shuffling order and learning rate. Keras builds (TensorFlow) or traces and
compiles (JAX) a model's training step on its first ``fit``; for a small cell that first epoch costs many
later epochs. :class:`StepCache` keeps each compiled model of a finished cell, keyed by everything that
shapes its step, and trains the next cell that builds the same model *through* it: the new model's
variables (weights, batch-norm statistics, dropout seed states) and its freshly built optimizer's variables
(step counter, learning rate, slots) are copied into the compiled model, which trains, and its variables are
copied back into the new model after every epoch, before the harness measures it. Nothing of the earlier
cell survives but the compiled program, so a cell's numbers do not depend on what ran before it in the
process (``tests/test_steps.py`` checks identical records with and without reuse, for every built-in regime
that opts in).

Reuse is on for the TensorFlow backend (see :data:`SUPPORTED_BACKENDS`). Only regimes that declare :attr:`suite.api.Regime.reuses_compiled_steps` take part: a regime whose Python code
puts seed-dependent constants into its step (a random matrix captured by a closure rather than held in a
variable) must not. Isolated workers (submitted regimes) train one cell per process and never reuse.
"""

from __future__ import annotations

import collections
import dataclasses
import json
from typing import Any

import numpy as np

import keras
from suite import backend

#: compiled models kept per process (the least recently used is dropped first)
CAPACITY = 8

#: Backends whose records are identical with and without reuse (tests/test_steps.py). Not JAX: its array
#: adapter shuffles with NumPy's global generator, and the first ``fit`` of a new model draws one extra
#: permutation while it builds the model, so training through an already built model shuffles differently.
SUPPORTED_BACKENDS = ("tensorflow",)


@dataclasses.dataclass
class _Entry:
    model: keras.Model  # the compiled model that trains on behalf of later cells
    optimizer: Any  # the optimizer it was compiled with
    train_function: Any  # its compiled step (a recompile replaces it: the entry is then stale)
    trainable: tuple[bool, ...]  # per-variable trainable flags its step was built for


def _structure(value: Any) -> Any:
    """Shapes and dtypes of a fit's ``x`` or ``y`` (arrays, or dicts / lists of arrays)."""
    if isinstance(value, dict):
        return {k: _structure(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_structure(v) for v in value]
    array = np.asarray(value) if not hasattr(value, "shape") else value
    return [list(array.shape[1:]), str(array.dtype)]


def _signature(model: keras.Model) -> list[Any]:
    return [[v.path, list(v.shape), str(v.dtype), bool(v.trainable)] for v in model.variables]


def _copy(source: list[Any], target: list[Any], what: str) -> None:
    if len(source) != len(target):
        raise RuntimeError(f"step reuse: {what} has {len(source)} variables, the compiled model {len(target)}")
    for src, dst in zip(source, target):
        dst.assign(keras.ops.copy(src))  # a copy: JAX's step donates its inputs' buffers, which must not be shared


class _SyncBack(keras.callbacks.Callback):
    """After each epoch of the compiled model, copy its variables into the cell's own model (before the
    harness's epoch report, which runs next)."""

    def __init__(self, compiled: keras.Model, own: keras.Model) -> None:
        super().__init__()
        self._compiled, self._own = compiled, own

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        _copy(self._compiled.variables, self._own.variables, "the compiled model")


class _Kept(collections.OrderedDict):
    """At most ``capacity`` values by key, the least recently used dropped first."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def get_recent(self, key: str) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def keep(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)


class StepCache:
    """The compiled models of one process's finished cells (see the module docstring)."""

    def __init__(self, capacity: int = CAPACITY, enabled: bool = True) -> None:
        self.enabled = enabled
        self._entries = _Kept(capacity)  # training models, by program, fit ordinal and signature
        self._twins = _Kept(capacity)  # evaluation and probe models, by program and signature

    def session(self, cell_identity: str) -> StepSession | None:
        """The reuse of one cell (``None`` when disabled): ``cell_identity`` is everything of the cell's key
        but its seed and learning rate (cells sharing it train the same program)."""
        return StepSession(self, cell_identity) if self.enabled and backend.name() in SUPPORTED_BACKENDS else None

    def clear(self) -> None:
        self._entries.clear()
        self._twins.clear()

    def _get(self, key: str) -> _Entry | None:
        entry = self._entries.get_recent(key)
        if entry is not None and (entry.model.optimizer is not entry.optimizer
                                  or entry.model.train_function is not entry.train_function):
            del self._entries[key]  # its own cell recompiled it after it was kept
            return None
        return entry


class StepSession:
    """One cell's view of a :class:`StepCache`: its ``fit`` calls, in order, and what each reused."""

    def __init__(self, cache: StepCache, cell_identity: str) -> None:
        self._cache, self._identity = cache, cell_identity
        self._bound: dict[int, tuple[_Entry, Any, keras.Model]] = {}  # id(model) -> entry, its optimizer, the model
        self._ordinal = 0
        self._twins: dict[int, tuple[keras.Model, keras.Model]] = {}  # id(model) -> its inference twin, the model
        self.reused = 0  # fit calls that trained through a compiled model of an earlier cell
        self.built = 0  # fit calls that built their own step

    def summary(self) -> dict[str, int]:
        """What the record keeps: ``{"built": n, "reused": m}`` (a cell's later fits of a model it already
        trained count in neither)."""
        return {"built": self.built, "reused": self.reused}

    def fit(self, model: keras.Model, x: Any, y: Any, *, callbacks: list[keras.callbacks.Callback], **fit_args: Any) -> None:
        """``model.fit(x, y, callbacks=callbacks, **fit_args)``, through a compiled model when one fits."""
        bound = self._bound.get(id(model))
        if bound is not None and bound[2] is model and bound[1] is model.optimizer:
            entry = bound[0]
            if entry.model is model:
                model.fit(x, y, callbacks=callbacks, **fit_args)
            else:  # the same model again (a later stage): the compiled one keeps its optimizer state
                self._through(entry, model, x, y, callbacks, fit_args, fresh_optimizer=False)
            return
        self._ordinal += 1
        key = json.dumps([self._identity, self._ordinal, type(model).__module__, type(model).__qualname__,
                          type(model.optimizer).__name__, _signature(model), _structure(x), _structure(y),
                          sorted((k, repr(v)) for k, v in fit_args.items())], default=repr)
        entry = self._cache._get(key)
        if entry is None:
            model.fit(x, y, callbacks=callbacks, **fit_args)
            self.built += 1
            entry = _Entry(model, model.optimizer, model.train_function, tuple(v.trainable for v in model.variables))
            self._cache._entries.keep(key, entry)
        else:
            self._through(entry, model, x, y, callbacks, fit_args, fresh_optimizer=True)
            self.reused += 1
        self._bound[id(model)] = (entry, model.optimizer, model)

    def inference(self, model: keras.Model) -> keras.Model:
        """The model to run ``model``'s inference on (``predict_on_batch``): a compiled twin of an earlier cell
        holding ``model``'s current variables, or ``model`` itself the first time its structure is seen."""
        twin = self._twins.get(id(model))
        if twin is None or twin[1] is not model:
            key = json.dumps([self._identity, "inference", type(model).__module__, type(model).__qualname__, model.name,
                              _signature(model)], default=repr)
            entry = self._cache._twins.get_recent(key)
            if entry is None:
                entry = model
                self._cache._twins.keep(key, model)
            twin = self._twins[id(model)] = (entry, model)
        if twin[0] is not model:
            _copy(model.variables, twin[0].variables, "the model to evaluate")
        return twin[0]

    def _through(self, entry: _Entry, model: keras.Model, x: Any, y: Any, callbacks: list[keras.callbacks.Callback],
                 fit_args: dict[str, Any], fresh_optimizer: bool) -> None:
        compiled = entry.model
        for variable, trainable in zip(compiled.variables, entry.trainable):
            variable.trainable = trainable  # as when its step was built (its own cell may have frozen layers since)
        _copy(model.variables, compiled.variables, "the cell's model")
        if fresh_optimizer:
            if not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)
            _copy(model.optimizer.variables, compiled.optimizer.variables, "the cell's optimizer")
        compiled.fit(x, y, callbacks=[_SyncBack(compiled, model), *callbacks], **fit_args)


#: the process's cache (one per harness process or worker)
PROCESS_CACHE = StepCache()
