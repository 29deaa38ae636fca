"""The one place for backend-specific code: seeding, determinism, device description, memory, JIT.

Everything else in e2ebench uses ``keras`` and ``keras.ops`` only.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
from collections.abc import Callable
from typing import Any

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


#: CPU threads per cell unless ``--threads`` / ``E2EBENCH_THREADS`` say otherwise. The thread count changes
#: floating-point reduction orders, hence results (digits-cnn, 4 epochs: losses differ from the 5th digit
#: between 1 and 2 threads), so it is fixed, not derived from the machine or from ``--jobs``: every
#: executor (in process, ``--jobs N``, isolated workers) then computes the same numbers. ``--jobs N``
#: is how a run uses N cores.
DEFAULT_THREADS = 1
_threads: int | None = None


def training_threads() -> int:
    """The CPU threads every cell trains with (see :data:`DEFAULT_THREADS`); recorded in each record."""
    if _threads is not None:
        return _threads
    env = os.environ.get("E2EBENCH_THREADS", "")
    return max(1, int(env)) if env.isdigit() else DEFAULT_THREADS


def limit_threads(threads: int) -> bool:
    """Train with ``threads`` CPU threads from now on. Call before the backend runs its first op; returns
    False (and changes nothing) when the backend's thread pools already exist with another size."""
    global _threads
    threads = max(1, int(threads))
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if name() == "tensorflow":
        import tensorflow as tf

        if tf.config.threading.get_intra_op_parallelism_threads() == threads and _threads == threads:
            return True
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
        except RuntimeError:  # the runtime is initialized: its pools keep their size
            return tf.config.threading.get_intra_op_parallelism_threads() == threads
        _threads = threads
        return True
    _threads = threads
    if name() == "jax" and threads == 1:  # read when JAX starts its CPU client, i.e. at the first op
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
    elif name() == "torch":
        import torch

        torch.set_num_threads(threads)
    return True


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


_PROC_STATUS = "/proc/self/status"
_PROC_CLEAR_REFS = "/proc/self/clear_refs"
_window_start_rss: int | None = None


def _proc_status_kib(field: str) -> int | None:
    try:
        with open(_PROC_STATUS, encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak_memory() -> bool:
    """Start a new peak-memory window (call at the start of a cell).

    Host: on Linux, writing ``5`` to ``/proc/self/clear_refs`` resets the process's resident-set
    high-water mark (``VmHWM``). Accelerator: TensorFlow's and PyTorch's allocator peaks are reset;
    JAX's cannot be. Returns whether the host window was reset (False elsewhere: the host peak is then
    the process-wide peak since start).
    """
    device_reset = {"tensorflow": _tf_reset_device_peak, "torch": _torch_reset_device_peak}.get(name())
    if device_reset is not None:
        try:
            device_reset()
        except Exception:  # a measurement must never fail a run
            pass
    global _window_start_rss
    rss = _proc_status_kib("VmRSS")
    _window_start_rss = rss * 1024 if rss is not None else None
    try:
        with open(_PROC_CLEAR_REFS, "w", encoding="ascii") as f:
            f.write("5")
        return _proc_status_kib("VmHWM") is not None
    except OSError:
        return False


def peak_memory_increase_bytes() -> int | None:
    """Peak resident memory since :func:`reset_peak_memory` minus the resident memory at that moment:
    what the window needed on top of what the process already held (Linux only, else None)."""
    if _window_start_rss is None or _proc_status_kib("VmHWM") is None:
        return None
    return max(peak_memory_bytes() - _window_start_rss, 0)


def peak_memory_bytes() -> int:
    """Peak resident memory (host RAM) of this process since :func:`reset_peak_memory`.

    Includes everything resident in the process (interpreter, backend runtime, the task's data), so
    compare cells by their differences. Without the Linux reset it is the peak since process start.
    """
    hwm = _proc_status_kib("VmHWM")
    if hwm is not None:
        return hwm * 1024
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def _tf_gpus() -> list[str]:
    import tensorflow as tf

    return [f"GPU:{i}" for i, _ in enumerate(tf.config.list_logical_devices("GPU"))]


def _tf_reset_device_peak() -> None:
    import tensorflow as tf

    for dev in _tf_gpus():
        tf.config.experimental.reset_memory_stats(dev)


def _torch_reset_device_peak() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def peak_device_memory_bytes() -> int | None:
    """Peak accelerator memory held by the backend's allocator since :func:`reset_peak_memory`
    (summed over devices); ``None`` on a CPU. On JAX, whose peak cannot be reset, the peak since start.
    """
    try:
        backend = name()
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = _tf_gpus()
            return sum(int(tf.config.experimental.get_memory_info(d)["peak"]) for d in gpus) if gpus else None
        if backend == "jax":
            import jax

            stats = [d.memory_stats() for d in jax.local_devices() if d.platform != "cpu"]
            stats = [s for s in stats if s and "peak_bytes_in_use" in s]
            return sum(int(s["peak_bytes_in_use"]) for s in stats) if stats else None
        if backend == "torch":
            import torch

            return int(torch.cuda.max_memory_allocated()) if torch.cuda.is_available() else None
    except Exception:  # a measurement must never fail a run
        return None
    return None


def jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` compiled with the backend's XLA JIT: ``tf.function(jit_compile=True)`` on TensorFlow,
    ``jax.jit`` on JAX; ``fn`` itself elsewhere. ``fn`` must use ``keras.ops`` only and take arrays.

    One compilation per distinct input shape and dtype; the compiled function is cached by the backend.
    """
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True, reduce_retracing=False)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    return fn


def jit_available() -> bool:
    """Whether :func:`jit` really compiles on this backend."""
    return name() in ("tensorflow", "jax")


def float64_available() -> bool:
    """Whether the backend computes in float64 (JAX only with ``jax_enable_x64``)."""
    if name() == "jax":
        import jax

        return bool(getattr(jax.config, "jax_enable_x64", False))
    return True


def on_accelerator() -> bool:
    """Whether the backend computes on a GPU or TPU."""
    try:
        backend = name()
        if backend == "jax":
            import jax

            return jax.default_backend() != "cpu"
        if backend == "tensorflow":
            import tensorflow as tf

            return bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))
        if backend == "torch":
            import torch

            return bool(torch.cuda.is_available())
    except Exception:
        return False
    return False


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
