"""The one place for backend-specific code: seeding, determinism, device description, memory, JIT, and
the environment a worker process needs before it imports the backend (devices it sees, on-demand memory).

Everything else in e2ebench uses ``keras`` and ``keras.ops`` only. This module imports Keras only when a
function needs it, so a worker can set its environment (:func:`worker_environment`) before the backend loads.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from collections.abc import Callable, Mapping, Sequence
from typing import Any

log = logging.getLogger(__name__)


def name() -> str:
    """The Keras backend in use: ``tensorflow``, ``jax`` or ``torch``."""
    import keras

    return keras.backend.backend()


_determinism_enabled = False


def seed_everything(seed: int) -> None:
    """Seed python, numpy and the backend, and make the backend's kernels deterministic.

    Same seed, backend and machine -> identical training (up to wall times).
    """
    import keras

    global _determinism_enabled
    try:  # no full garbage collection per cell (0.2-0.4 s): the process's cyclic garbage is collected as usual
        keras.backend.clear_session(free_memory=False)
    except TypeError:  # Keras < 3.6
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


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what :mod:`platform` says): floating-point
    results of the same program differ in the last digits between CPU models (kernels chosen per
    instruction set), so a record names the one that made it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name") and ":" in line:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


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


# --- Worker processes: which devices each sees, and memory allocated on demand -------------------------

#: JAX's allocator is capped a little below a worker's share of a GPU: the CUDA context and the other
#: workers' contexts on the same device take some memory outside it.
JAX_FRACTION_MARGIN = 0.9
#: Environment variables that are the user's to set: a worker keeps the driver's value when there is one.
_MEMORY_VARIABLES = ("TF_FORCE_GPU_ALLOW_GROWTH", "XLA_PYTHON_CLIENT_PREALLOCATE", "XLA_PYTHON_CLIENT_MEM_FRACTION",
                     "XLA_PYTHON_CLIENT_ALLOCATOR")
_BACKEND_MODULES = ("keras", "tensorflow", "jax", "torch")


#: JAX's persistent compilation cache, set through its environment variables (read when JAX starts and by
#: every worker): every program is cached, however quick its compilation, so a later cell, seed, worker or
#: run that compiles the same program loads the executable instead. The executable is the same, so the
#: numbers are too.
JAX_CACHE_VARIABLES = ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
                       "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES")


def use_compilation_cache(directory: str | os.PathLike[str]) -> Path | None:
    """Cache JAX's compiled programs in ``directory`` (a run's ``<results>/.cache/jax``) for this process and
    the workers it starts; a cache directory already set (``JAX_COMPILATION_CACHE_DIR``) is kept. Returns the
    directory in use, or None on other backends (TensorFlow reuses compiled steps in-process, :mod:`suite.steps`)."""
    if name() != "jax":
        return None
    chosen = os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(Path(directory).resolve()))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    if "jax" in sys.modules:  # already imported: its configuration has read the environment, update it
        import jax

        jax.config.update("jax_compilation_cache_dir", chosen)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return Path(chosen)


def worker_environment(backend: str, *, threads: int, slot: int | None = None, gpus: Sequence[str] = (),
                       gpu_fraction: float | None = None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment variables a worker process sets before it imports the backend. A pure function.

    Args:
        backend: the Keras backend the cells train with (the driver's; it is part of every cell's hash).
        threads: the CPU threads every cell trains with (:func:`training_threads`).
        slot: the number of a process-pool worker; with ``gpus`` it sees only ``gpus[slot % len(gpus)]``
            (round-robin). Ray workers pass None: Ray sets ``CUDA_VISIBLE_DEVICES`` itself.
        gpus: the device ids the driver may use (:func:`visible_gpus`).
        gpu_fraction: the share of one GPU each cell is given (below 1: several cells share a device);
            JAX's allocator is then capped at that share (``XLA_PYTHON_CLIENT_MEM_FRACTION``).
        environ: the driver's environment; memory settings it already has are left as they are.

    Memory is allocated on demand, never reserved up front: TensorFlow's memory growth
    (``TF_FORCE_GPU_ALLOW_GROWTH``), JAX without preallocation (``XLA_PYTHON_CLIENT_PREALLOCATE``);
    PyTorch's caching allocator already grows on demand.
    """
    environ = environ or {}
    threads = max(1, int(threads))
    env = {"KERAS_BACKEND": backend, "E2EBENCH_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    if slot is not None and gpus:
        env["CUDA_VISIBLE_DEVICES"] = str(gpus[slot % len(gpus)])
    memory: dict[str, str] = {}
    if backend == "tensorflow":
        memory["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    elif backend == "jax":
        memory["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
        if gpu_fraction is not None and 0 < gpu_fraction < 1:
            memory["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{math.floor(gpu_fraction * JAX_FRACTION_MARGIN * 1000) / 1000:.3f}"
    env.update({k: v for k, v in memory.items() if k not in environ})
    if backend == "jax":  # the driver's compilation cache (use_compilation_cache), for workers on other nodes too
        env.update({k: environ[k] for k in JAX_CACHE_VARIABLES if k in environ})
    return env


def parse_visible_devices(value: str | None) -> list[str] | None:
    """The device ids a ``CUDA_VISIBLE_DEVICES`` value lists (None: the variable is unset, every device is
    visible; an empty list: none is, as with ``""`` or ``-1``)."""
    if value is None:
        return None
    ids = [part.strip() for part in value.split(",") if part.strip()]
    return [] if not ids or ids[0].startswith("-") else ids


def visible_gpus(environ: Mapping[str, str] | None = None) -> list[str]:
    """The GPUs this process may hand to workers: those ``CUDA_VISIBLE_DEVICES`` lists, else every GPU
    ``nvidia-smi`` reports (no backend is initialized for it); empty on a machine without NVIDIA GPUs."""
    listed = parse_visible_devices((os.environ if environ is None else environ).get("CUDA_VISIBLE_DEVICES"))
    if listed is not None:
        return listed
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.stdout.splitlines()) if line.startswith("GPU ")] if out.returncode == 0 else []


def apply_worker_environment(env: Mapping[str, str]) -> None:
    """Set ``env`` (from :func:`worker_environment`) in this process; call it before the backend is imported.
    A backend imported earlier still reads most of these when it first touches a device, so this only logs."""
    early = [m for m in _BACKEND_MODULES if m in sys.modules]
    if early:
        log.debug("worker environment set after %s was imported; device settings apply from its first device use", ", ".join(early))
    os.environ.update(env)


def configure_devices() -> None:
    """Once the backend is imported, before its first op: let each visible GPU allocate memory on demand
    (TensorFlow's memory growth; JAX and PyTorch follow their environment). Nothing on a CPU."""
    if name() != "tensorflow":
        return
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except (RuntimeError, ValueError):  # the device is initialized already: it keeps its setting
            pass
