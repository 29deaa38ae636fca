"""The one place for backend-specific code: seeding, determinism, device description, memory.

Everything else in e2ebench uses ``keras`` and ``keras.ops`` only.
"""

from __future__ import annotations

import os
import platform
import resource
import sys

import keras


def name() -> str:
    """The Keras backend in use: ``tensorflow``, ``jax`` or ``torch``."""
    return keras.backend.backend()


_determinism_enabled = False


def seed_everything(seed: int) -> None:
    """Seed python, numpy and the backend, and make the backend's kernels deterministic.

    Same seed, backend and machine -> identical training (up to wall times).
    """
    global _determinism_enabled
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    if name() == "tensorflow" and not _determinism_enabled:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        tf.get_logger().setLevel("ERROR")  # per-cell models retrace predict functions by design
        _determinism_enabled = True
    elif name() == "torch":
        import torch

        torch.use_deterministic_algorithms(True, warn_only=True)


def limit_threads(threads: int) -> None:
    """Limit the backend's CPU threads (for worker processes sharing a machine). Call before any op runs."""
    threads = max(1, int(threads))
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if name() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
    elif name() == "jax" and threads == 1:  # read when JAX starts its CPU client, i.e. at the first op
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
    elif name() == "torch":
        import torch

        torch.set_num_threads(threads)


def device() -> str:
    """A short description of the device that trains: the accelerator if any, else the CPU."""
    backend = name()
    try:
        if backend == "jax":
            import jax

            d = jax.devices()[0]
            return f"{d.platform}:{getattr(d, 'device_kind', d)}"
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                return f"gpu:{details.get('device_name', gpus[0].name)}"
        if backend == "torch":
            import torch

            if torch.cuda.is_available():
                return f"gpu:{torch.cuda.get_device_name(0)}"
    except Exception:  # a description must never fail a run
        pass
    return f"cpu:{platform.processor() or platform.machine()} x{os.cpu_count()}"


def peak_memory_bytes() -> int:
    """Peak resident memory of this process so far (host memory; includes the backend's allocations)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def package_versions() -> dict[str, str]:
    """Versions of the packages that can change a result."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("e2ebench", "keras", "numpy", "tensorflow", "tensorflow-cpu", "tensorflow-datasets", "jax", "jaxlib", "torch", "scikit-learn"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            continue
    return out
