"""Starting a process-pool worker: its device environment first, then the harness.

This module imports no backend, so a spawned worker unpickles its initializer, sets the environment
:func:`suite.backend.worker_environment` computes (the GPU it sees, memory on demand, threads), and only
then imports Keras through :mod:`suite.executor`. Its arguments are plain data for the same reason.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from suite import backend


def start_pool_worker(slots: Any, backend_name: str, gpus: Sequence[str], plugins: Sequence[str],
                      untrusted: Sequence[tuple[str, list[dict[str, Any]]]], threads: int, reuse_steps: bool = True) -> None:
    """Initializer of a pool worker: take the next slot number from ``slots`` (a shared integer), set
    this worker's environment, then load plugins and stand-ins (:func:`suite.executor._init_worker`)."""
    with slots.get_lock():
        slot = slots.value
        slots.value += 1
    backend.apply_worker_environment(backend.worker_environment(
        backend_name, threads=threads, slot=slot, gpus=gpus, environ=os.environ))
    from suite.executor import _init_worker

    _init_worker(plugins, threads, untrusted, reuse_steps)
