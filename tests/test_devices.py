"""What each worker process sees before it imports the backend: its share of the GPUs, memory on demand,
the threads every cell trains with (``suite.backend.worker_environment``, a pure function: no GPU needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from suite import backend
from suite.backend import parse_visible_devices, visible_gpus, worker_environment

ROOT = Path(__file__).resolve().parent.parent


def test_tensorflow_workers_grow_gpu_memory_on_demand():
    env = worker_environment("tensorflow", threads=1)
    assert env == {"KERAS_BACKEND": "tensorflow", "E2EBENCH_THREADS": "1", "OMP_NUM_THREADS": "1",
                   "TF_FORCE_GPU_ALLOW_GROWTH": "true"}


def test_jax_workers_do_not_preallocate_and_a_gpu_share_caps_the_allocator():
    env = worker_environment("jax", threads=2)
    assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false" and "XLA_PYTHON_CLIENT_MEM_FRACTION" not in env
    assert env["E2EBENCH_THREADS"] == env["OMP_NUM_THREADS"] == "2"
    quarter = worker_environment("jax", threads=1, gpu_fraction=0.25)
    assert quarter["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert quarter["XLA_PYTHON_CLIENT_MEM_FRACTION"] == "0.225"  # the share, less a margin for CUDA contexts
    assert "XLA_PYTHON_CLIENT_MEM_FRACTION" not in worker_environment("jax", threads=1, gpu_fraction=1.0)
    assert "TF_FORCE_GPU_ALLOW_GROWTH" not in env


def test_pool_workers_get_the_visible_gpus_round_robin():
    seen = [worker_environment("tensorflow", threads=1, slot=s, gpus=["2", "5"]).get("CUDA_VISIBLE_DEVICES") for s in range(5)]
    assert seen == ["2", "5", "2", "5", "2"]
    assert "CUDA_VISIBLE_DEVICES" not in worker_environment("tensorflow", threads=1, slot=3)  # no GPU: nothing hidden
    assert "CUDA_VISIBLE_DEVICES" not in worker_environment("tensorflow", threads=1, gpus=["0"])  # Ray assigns its own


def test_the_users_memory_settings_win():
    env = worker_environment("jax", threads=1, gpu_fraction=0.5, environ={"XLA_PYTHON_CLIENT_MEM_FRACTION": "0.3",
                                                                         "XLA_PYTHON_CLIENT_PREALLOCATE": "true"})
    assert "XLA_PYTHON_CLIENT_MEM_FRACTION" not in env and "XLA_PYTHON_CLIENT_PREALLOCATE" not in env
    assert "TF_FORCE_GPU_ALLOW_GROWTH" not in worker_environment("tensorflow", threads=1, environ={"TF_FORCE_GPU_ALLOW_GROWTH": "false"})


def test_visible_devices_are_read_from_cuda_visible_devices():
    assert parse_visible_devices(None) is None
    assert parse_visible_devices("") == [] and parse_visible_devices("-1") == []
    assert parse_visible_devices("0, 2,") == ["0", "2"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "1,3"}) == ["1", "3"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []


def test_ray_workers_get_the_drivers_backend_threads_data_and_code():
    from suite.ray_executor import task_environment

    env = task_environment(1, 0.25, {"E2EBENCH_DATA_DIR": "/data", "TF_CPP_MIN_LOG_LEVEL": "3", "UNRELATED": "x"})
    assert env["KERAS_BACKEND"] == backend.name() and env["E2EBENCH_THREADS"] == "1"
    assert env["E2EBENCH_DATA_DIR"] == "/data" and env["TF_CPP_MIN_LOG_LEVEL"] == "3" and "UNRELATED" not in env
    assert "CUDA_VISIBLE_DEVICES" not in env  # Ray gives each task its GPUs


def test_the_worker_start_modules_import_no_backend():
    """A worker must set its environment before Keras loads: the modules it starts from import none."""
    code = ("import sys, suite.launch, suite.ray_executor, suite.backend; "
            "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


ENV_PROBE = '''
import os
from suite import registry
from regimes.e2e import EndToEnd


@registry.regimes.register
class EnvProbe(EndToEnd):
    """End-to-end training that notes the worker's device environment (a test fixture)."""
    name = "env-probe"
    description = "e2e, noting CUDA_VISIBLE_DEVICES and the memory settings"

    def train(self, ctx):
        ctx.notes.update({k: os.environ.get(k) for k in ("CUDA_VISIBLE_DEVICES", "TF_FORCE_GPU_ALLOW_GROWTH", "E2EBENCH_THREADS")})
        super().train(ctx)
'''


def test_pool_workers_train_with_their_gpu_and_on_demand_memory(tmp_path, monkeypatch):
    """--jobs 2 with two visible GPUs: each worker sees one of them (on a CPU machine the ids are only noted)."""
    from conftest import make_suite
    from suite.executor import run_suite
    from suite.registry import load_plugin_file
    from suite.store import Store

    plugin = tmp_path / "env_probe.py"
    plugin.write_text(ENV_PROBE)
    load_plugin_file(plugin)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "7,9")
    suite = make_suite('[[tasks]]\nname = "digits-mlp"\nparams = { depth = 1, width = 8 }\nbudget = { epochs = 1 }\n\n'
                       '[[regimes]]\nname = "env-probe"\n', seeds="[0, 1]")
    store = Store(tmp_path / "results")
    assert run_suite(suite, store, progress=False, log=lambda _: None, jobs=2, plugins=[plugin]).ok
    notes = [r.notes for r in store]
    assert len(notes) == 2
    assert all(n["CUDA_VISIBLE_DEVICES"] in ("7", "9") and n["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" for n in notes)
    assert all(n["E2EBENCH_THREADS"] == str(backend.training_threads()) for n in notes)
