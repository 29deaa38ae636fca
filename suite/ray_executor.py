"""Running cells as Ray tasks, on this machine or on a cluster (``e2ebench run --executor ray``).

One Ray task per cell, each asking for ``cpus_per_cell`` CPUs and ``gpus_per_cell`` GPUs. A task trains
its cell in a Ray worker exactly as a process-pool worker does (same threads, same data loading,
:func:`suite.runner.run_cell`) and sends the record back as JSON text. Only the driver writes records,
through :meth:`suite.store.Store.put` in :func:`suite.executor.run_suite`, so a Ray run resumes like any
other and its records carry the same ``result_hash`` as the local executors'. A task whose worker dies
(a crash, ``os._exit``, a killed process, a lost node) gives a ``failed`` record, retried on the next run.

Ray is an optional dependency (``pip install 'e2ebench[ray]'``). This module imports it only when an
executor is made, and imports no backend when it is imported, so a Ray worker has its environment
(:func:`suite.backend.worker_environment`, set through the task's ``runtime_env``) before Keras loads.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import math
import os
import pickle
import site
import socket
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from suite import backend

if TYPE_CHECKING:
    from suite.api import DataUnavailable
    from suite.executor import Outcome, WorkerSetup
    from suite.plan import Cell
    from suite.records import Record, SuiteRef
    from suite.runner import Isolation

INSTALL_HINT = "the Ray executor needs Ray, which is not installed: pip install 'e2ebench[ray]' (or: pip install ray)"
LOCAL = "local"
#: Driver environment variables a worker needs to train the cell the driver planned: where data is, and
#: quiet backends. A local Ray instance inherits them anyway; a cluster's workers get them from here.
FORWARDED = ("E2EBENCH_DATA_DIR", "E2EBENCH_DOWNLOAD", "TFDS_DATA_DIR", "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")


class RayUnavailable(RuntimeError):
    """Ray is missing, cannot be reached, or cannot run a cell; ``str()`` says what to do."""


def require_ray() -> ModuleType:
    """The ``ray`` module, or :class:`RayUnavailable` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(f"{INSTALL_HINT} ({exc})") from None
    return ray


def resolve_address(address: str | None, environ: Mapping[str, str]) -> str:
    """The cluster to connect to: ``address``, else ``$RAY_ADDRESS``, else ``local`` (a Ray instance on this
    machine that the run starts and stops)."""
    return address or environ.get("RAY_ADDRESS") or LOCAL


def unreachable(address: str, timeout: float = 5.0) -> str | None:
    """Why nothing answers at a ``HOST:PORT`` address (Ray itself would retry for minutes), or None when
    something listens there or the address is another form (``auto``, ``ray://...``) that Ray resolves."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or "://" in address or not port.isdigit():
        return None
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__
    return None


def cell_slots(resources: Mapping[str, float], cpus_per_cell: float, gpus_per_cell: float) -> int:
    """How many cells the cluster's ``resources`` (``ray.cluster_resources()``) train at once."""
    slots = math.floor(resources.get("CPU", 0.0) / cpus_per_cell + 1e-9)
    if gpus_per_cell > 0:
        slots = min(slots, math.floor(resources.get("GPU", 0.0) / gpus_per_cell + 1e-9))
    return max(slots, 0)


def worker_pythonpath(environ: Mapping[str, str], code_root: str, site_dirs: Iterable[str] = ()) -> str | None:
    """``PYTHONPATH`` for Ray workers: the driver's, with the directory e2ebench was imported from added
    when it is a source checkout (not an installed package), so workers import the same code; None when
    there is nothing to set."""
    parts = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    installed = any(Path(code_root) == Path(d) for d in site_dirs)
    if not installed and code_root not in parts:
        parts.append(code_root)
    return os.pathsep.join(parts) or None


def task_environment(setup_threads: int, gpus_per_cell: float, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment variables of every Ray worker that trains cells (see :data:`FORWARDED`)."""
    fraction = gpus_per_cell if 0 < gpus_per_cell < 1 else None
    env = backend.worker_environment(backend.name(), threads=setup_threads, gpu_fraction=fraction, environ=environ)
    env.update({k: environ[k] for k in FORWARDED if k in environ})
    code_root = str(Path(__file__).resolve().parent.parent)
    site_dirs = [*site.getsitepackages(), site.getusersitepackages()] if hasattr(site, "getsitepackages") else []
    if (path := worker_pythonpath(environ, code_root, site_dirs)) is not None:
        env["PYTHONPATH"] = path
    return env


class RayExecutor:
    """Cells as Ray tasks (see the module docstring); an :class:`suite.executor.Executor`.

    Args:
        address: the Ray cluster (``HOST:6379``, ``ray://HOST:10001``, ``auto``); default ``$RAY_ADDRESS``,
            else a local instance with ``num_cpus`` CPUs (default: every core) started and stopped by the run.
            A driver already connected to Ray (``ray.is_initialized()``) uses that connection and leaves it open.
        cpus_per_cell: CPUs each cell's task asks for (default: the threads each cell trains with).
        gpus_per_cell: GPUs each cell's task asks for; a fraction below 1 shares a GPU between cells.
    """

    def __init__(self, address: str | None = None, *, cpus_per_cell: float | None = None, gpus_per_cell: float = 0.0,
                 num_cpus: int | None = None) -> None:
        require_ray()  # before any cell: a missing Ray is one clear message
        cpus = float(backend.training_threads() if cpus_per_cell is None else cpus_per_cell)
        if not cpus > 0:
            raise ValueError(f"cpus_per_cell must be positive, not {cpus_per_cell!r}")
        if not gpus_per_cell >= 0 or (gpus_per_cell > 1 and not float(gpus_per_cell).is_integer()):
            raise ValueError(f"gpus_per_cell must be a fraction in [0, 1] or a whole number of GPUs, not {gpus_per_cell!r}")
        self.address, self.num_cpus = address, num_cpus
        self.cpus_per_cell, self.gpus_per_cell = cpus, float(gpus_per_cell)
        self.slots = 0
        self._owned = False
        self._pending: dict[Any, Cell] = {}

    def start(self) -> None:
        """Connect to Ray (or start a local instance) and check that a cell fits on the cluster."""
        ray = require_ray()
        if not ray.is_initialized():
            target = resolve_address(self.address, os.environ)
            local = {"include_dashboard": False, "num_cpus": self.num_cpus} if target == LOCAL else {}
            if target != LOCAL and (why := unreachable(target)) is not None:
                raise RayUnavailable(f"no Ray cluster answers at {target} ({why}); start one with `ray start --head --port 6379` "
                                     "there, or pass the right --address (or RAY_ADDRESS)")
            try:
                ray.init(address=target, logging_level=logging.WARNING, **local)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise RayUnavailable(f"cannot connect to the Ray cluster at {target}: {exc}; check that it runs "
                                     f"(`ray status --address {target}`) and, if it uses token authentication, that this "
                                     "machine has the cluster's token (RAY_AUTH_MODE=token, ~/.ray/auth_token)") from None
            self._owned = True
        resources = ray.cluster_resources()
        self.slots = cell_slots(resources, self.cpus_per_cell, self.gpus_per_cell)
        if self.slots < 1:
            self.close()
            raise RayUnavailable(f"the Ray cluster has {resources.get('CPU', 0):g} CPUs and {resources.get('GPU', 0):g} GPUs: "
                                 f"not enough for one cell asking for {self.cpus_per_cell:g} CPUs and {self.gpus_per_cell:g} GPUs; "
                                 "lower --cpus-per-cell or --gpus-per-cell")

    def close(self) -> None:
        """Cancel the tasks still running, and stop the local Ray instance this executor started."""
        if "ray" not in sys.modules:
            return
        ray = sys.modules["ray"]
        for ref in list(self._pending):
            try:
                ray.cancel(ref, force=True)
            except Exception:  # already finished, or the cluster is gone
                pass
        self._pending.clear()
        if self._owned and ray.is_initialized():
            ray.shutdown()
        self._owned = False

    def outcomes(self, cells: Iterable[Cell], ref: SuiteRef, isolation: Isolation, setup: WorkerSetup,
                 started: Callable[[Cell], None]) -> Iterator[Outcome]:
        """Submit cells as slots free up (each is locked only while its task runs); yield each outcome."""
        ray = require_ray()
        task = ray.remote(_train_remote).options(
            num_cpus=self.cpus_per_cell, num_gpus=self.gpus_per_cell, max_retries=0,  # a crash is recorded, not retried
            runtime_env={"env_vars": task_environment(setup.threads, self.gpus_per_cell, os.environ)})
        # Absolute paths: a Ray worker's working directory is not the driver's.
        isolation = dataclasses.replace(isolation, plugins=tuple(str(Path(p).resolve()) for p in isolation.plugins))
        prepare = ([str(Path(p).resolve()) for p in setup.plugins], [list(u) for u in setup.untrusted], setup.threads,
                   setup.reuse_steps)
        todo = iter(cells)
        while True:
            for cell in itertools.islice(todo, self.slots - len(self._pending)):
                started(cell)
                payload = pickle.dumps((cell, ref, isolation, setup.events.get(cell.hash)))
                self._pending[task.remote(payload, prepare)] = cell
            if not self._pending:
                return
            done, _ = ray.wait(list(self._pending), num_returns=1)
            for obj in done:
                cell = self._pending.pop(obj)
                yield cell, _outcome(ray, obj, cell, ref)


def _outcome(ray: ModuleType, obj: Any, cell: Cell, ref: SuiteRef) -> Record | DataUnavailable:
    """What came back for ``cell``: its verified record, DataUnavailable, or a failed record saying why."""
    from suite.api import DataUnavailable
    from suite.runner import failed_record

    try:
        reply = json.loads(ray.get(obj))
    except ray.exceptions.TaskCancelledError:
        return failed_record(cell, ref, "the cell's Ray task was cancelled; it is retried on the next run")
    except ray.exceptions.RayTaskError as exc:  # the harness raised in the worker (e.g. a plugin failed to load)
        return failed_record(cell, ref, f"in the Ray worker: {_first_lines(exc)}")
    except ray.exceptions.RayError as exc:  # the worker process or its node died
        return failed_record(cell, ref, f"the Ray worker running this cell died ({type(exc).__name__}: {_first_lines(exc, 3)}); "
                                        "it is retried on the next run")
    if "unavailable" in reply:
        return DataUnavailable(reply["unavailable"])
    return _received(reply.get("record"), cell, ref)


def _received(text: Any, cell: Cell, ref: SuiteRef) -> Record:
    """The record a worker sent, checked: it parses, is sealed, is of ``cell``, and was made by the same code."""
    from suite import provenance
    from suite.records import Record
    from suite.runner import failed_record

    try:
        record = Record.load(json.loads(text))
    except (TypeError, ValueError) as exc:
        return failed_record(cell, ref, f"the record the Ray worker sent back does not parse: {str(exc)[:300]}")
    if record.record_hash != record.compute_hash() or record.cell_hash != cell.hash:
        return failed_record(cell, ref, "the record the Ray worker sent back does not verify (its hash, or its cell)")
    here = (provenance.code_hash(cell.task.cls), provenance.code_hash(cell.regime.cls))
    there = (record.provenance.task_code_sha256, record.provenance.regime_code_sha256)
    if here != there:
        return failed_record(cell, ref, f"the Ray worker on {record.provenance.hostname} runs other code for this task or regime "
                                        "than the driver; install the same e2ebench (and plugin files) on every node")
    return record


def _first_lines(exc: BaseException, n: int = 20) -> str:
    return "\n".join(str(exc).strip().splitlines()[-n:])[:4000]


# --- In the Ray worker -----------------------------------------------------------------------------------

_prepared: str | None = None


def _train_remote(payload: bytes, prepare: tuple[list[str], list[list[Any]], int]) -> str:
    """A Ray task: train one cell, return ``{"record": JSON}`` or ``{"unavailable": message}`` as JSON text.

    The worker's environment was set by the task's ``runtime_env`` before this process imported anything;
    plugins and stand-ins are loaded once per worker process, before the cell (which may name a plugin's
    class) is unpickled.
    """
    global _prepared
    from suite import executor
    from suite.api import DataUnavailable

    plugins, untrusted, threads, reuse_steps = prepare
    key = json.dumps(prepare, sort_keys=True, default=str)
    if _prepared != key:
        executor._init_worker(plugins, threads, [(path, described) for path, described in untrusted], reuse_steps)
        _prepared = key
    cell, ref, isolation, events = pickle.loads(payload)
    outcome = executor._work(cell, ref, isolation, events)  # events: its TensorBoard run, written where the worker runs
    if isinstance(outcome, DataUnavailable):
        return json.dumps({"unavailable": str(outcome)})
    return json.dumps({"record": _portable(outcome)})


def _portable(record: Record) -> str:
    """``record`` as the JSON text the driver stores (:func:`suite.records.as_stored`)."""
    from suite.records import as_stored

    return as_stored(record).model_dump_json()
