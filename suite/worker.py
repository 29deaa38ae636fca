"""The isolated worker: ``python -m suite.worker FD`` runs regime code for the harness and nothing else.

It receives one pickled instruction from the harness over the socket ``FD`` and answers with
:mod:`suite.wire` messages. Instructions:

* ``describe``: import a plugin file and describe the regimes it registers (identity, params schema,
  and ``supports()`` for the given tasks), so the harness never imports untrusted code itself;
* ``train``: build the cell's network, train it with the regime on the training split (the only data
  it gets), and after every reported epoch send the network's weights (and the predictor's
  configuration and weights, if the regime evaluates another model), then wait for the harness.

The harness measures accuracies and the information plane itself, on its own copy of the network.
"""

from __future__ import annotations

import math
import sys
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from suite import wire

MAX_NOTES_BYTES = 64 * 1024


def _send(conn: Connection, header: dict[str, Any], arrays: list[np.ndarray] | None = None) -> None:
    conn.send_bytes(wire.encode(header, arrays or []))


def _plain(value: Any) -> Any:
    """``value`` as JSON data (numpy scalars and arrays become numbers and lists)."""
    import json

    return json.loads(json.dumps(value, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def _weights(model: Any) -> list[np.ndarray]:
    return [np.asarray(w) for w in model.get_weights()]


def _train(conn: Connection, job: dict[str, Any]) -> None:
    import keras
    from suite import backend, registry
    from suite.api import Budget, Diverged
    from suite.context import FitContext

    class WorkerContext(FitContext):
        """The regime's :class:`suite.api.TrainContext` inside the worker: epoch reports go to the harness."""

        def report_epoch(self, *, train_loss: float, train_accuracy: float | None, examples: int, steps: int,
                         predictor: keras.Model | None = None, stage: str | None = None) -> None:
            self.epochs_reported += 1
            if train_loss is None or not math.isfinite(float(train_loss)):
                raise Diverged(f"training loss is {train_loss} at epoch {self.epochs_reported}")
            arrays = _weights(self.network.composed())
            header: dict[str, Any] = {
                "type": "epoch", "train_loss": float(train_loss),
                "train_accuracy": None if train_accuracy is None else float(train_accuracy),
                "examples": int(examples), "steps": int(steps), "stage": None if stage is None else str(stage),
                "network_weights": len(arrays), "predictor": None,
            }
            if predictor is not None and predictor is not self.network.composed():
                header["predictor"] = predictor.to_json()
                arrays += _weights(predictor)
            _send(conn, header, arrays)
            answer = conn.recv()
            if answer.get("op") != "continue":
                raise SystemExit(0)  # the harness stopped the cell

    task_cls = registry.tasks.get(job["task"]["name"])
    regime_cls = registry.regimes.get(job["regime"]["name"])
    for what, cls in (("task", task_cls), ("regime", regime_cls)):
        if cls.version != job[what]["version"]:
            raise RuntimeError(f"the worker's {what} {cls.name} is version {cls.version}, the cell asks for {job[what]['version']}")
    task = task_cls(task_cls.Params.model_validate(job["task"]["params"]))
    regime = regime_cls(regime_cls.Params.model_validate(job["regime"]["params"]))
    backend.seed_everything(job["seed"])
    network = task.build_network(job["data"])
    declared = float(regime.budget_factor(task, len(network.blocks)))
    ctx = WorkerContext(task, job["data"], network, Budget.model_validate(job["budget"]), job["seed"])
    _send(conn, {"type": "start", "budget_declared": declared if math.isfinite(declared) else None,
                 "network_weights": len(network.composed().get_weights())}, _weights(network.composed()))
    if conn.recv().get("op") != "continue":
        return
    try:
        regime.train(ctx)
    except Diverged as exc:
        _send(conn, {"type": "diverged", "error": str(exc)})
        return
    notes = _plain(ctx.notes)
    if len(str(notes)) > MAX_NOTES_BYTES:
        notes = {"truncated": f"the regime's notes exceeded {MAX_NOTES_BYTES} bytes"}
    reinit = ctx.reinitialization.model_dump() if ctx.reinitialization is not None else None
    _send(conn, {"type": "done", "notes": notes, "reinitialization": reinit})


def _describe(conn: Connection, job: dict[str, Any]) -> None:
    import inspect
    from pathlib import Path

    from suite import registry

    for r in registry.ALL:
        r.load()
    before = set(registry.regimes.names())
    registry.load_plugin_file(job["file"])
    tasks = [(name, params) for name, params in job["tasks"]]
    out = []
    for name in registry.regimes.names():
        if name in before:
            continue
        cls = registry.regimes.get(name)
        try:
            defined_in = str(Path(inspect.getfile(cls)).resolve())
        except (TypeError, OSError):
            defined_in = ""
        supports = {}
        for task_name, params in tasks:
            task_cls = registry.tasks.get(task_name)
            task = task_cls(task_cls.Params.model_validate(params))
            try:
                answer = cls(cls.Params()).supports(task)
            except Exception as exc:  # noqa: BLE001  (the regime's error, reported as such)
                answer = f"supports() raised {type(exc).__name__}: {exc}"
            supports[f"{task_name}|{_canonical(params)}"] = answer if answer is None else str(answer)
        out.append({
            "name": cls.name, "version": str(cls.version), "family": str(getattr(cls, "family", "other")),
            "baseline": bool(getattr(cls, "baseline", False)), "uses_module_targets": bool(cls.uses_module_targets),
            "description": str(getattr(cls, "description", "") or ""), "citation": str(getattr(cls, "citation", "") or ""),
            "doc": cls.__doc__ or "", "params_schema": cls.Params.model_json_schema(), "defined_in": defined_in,
            "supports": supports,
        })
    _send(conn, {"type": "described", "regimes": out})


def _canonical(params: dict[str, Any]) -> str:
    import json

    return json.dumps(params, sort_keys=True, separators=(",", ":"))


def main(argv: list[str]) -> int:
    conn = Connection(int(argv[1]))
    job = conn.recv()  # from the harness: trusted
    from suite import backend, registry

    backend.limit_threads(job["threads"])
    try:
        for path in job.get("plugins", ()):
            registry.load_plugin_file(path)
        {"train": _train, "describe": _describe}[job["op"]](conn, job)
    except BaseException as exc:  # noqa: BLE001  (SystemExit from regime code included: report it, never hide it)
        kind = "the regime called sys.exit" if isinstance(exc, SystemExit) else type(exc).__name__
        try:
            _send(conn, {"type": "failed", "error": f"{kind}: {exc}\n" + "".join(traceback.format_exc(limit=8))})
        except OSError:
            pass
        return 1
    finally:
        time.sleep(0)  # let the socket flush before the interpreter exits
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
