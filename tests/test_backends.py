"""The same suite runs on another Keras backend (JAX), with no code change."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

SUITE = """
[suite]
name = "backend-test"
version = "1.0"
seeds = [0]

[[tasks]]
name = "digits-mlp"
params = { depth = 2, width = 32 }
budget = { epochs = 4, learning_rate = 0.003 }

[[regimes]]
name = "e2e"

[[regimes]]
name = "layerwise"

[metrics.probe]
probe_size = 60
"""


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install -e '.[jax]')")
def test_suite_runs_on_the_jax_backend(tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, "-m", "suite.cli", "run", str(suite), "--results", str(tmp_path / "res"), "--no-progress"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(p.read_text()) for p in (tmp_path / "res" / "records").glob("*.json")]
    assert len(records) == 2
    for record in records:
        assert record["status"] == "ok"
        assert record["provenance"]["backend"] == "jax" and record["cell"]["backend"] == "jax"
        assert record["summary"]["test_accuracy"] > 0.5  # chance is about 0.1
        assert len(record["history"][-1]["probe"]["nhsic_x"]) == 2


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install -e '.[jax]')")
def test_jax_compilation_cache_under_the_results_directory_keeps_the_numbers(tmp_path):
    """On JAX a run caches its compiled programs in RESULTS/.cache/jax; a run that loads them from there, and
    one that compiles everything itself (--rebuild-steps), give records with the same result hashes."""
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE.replace("seeds = [0]", "seeds = [0, 1]"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION") and not k.startswith("JAX_PERSISTENT")}
    env.update(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")

    def run(results, *extra, **more):
        out = subprocess.run([sys.executable, "-m", "suite.cli", "run", str(suite), "--results", str(results), "--no-progress", *extra],
                             env={**env, **more}, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        return {json.loads(p.read_text())["cell_hash"]: json.loads(p.read_text())["result_hash"]
                for p in (results / "records").glob("*.json")}

    first = run(tmp_path / "a")
    cache = tmp_path / "a" / ".cache" / "jax"
    assert cache.is_dir() and any(cache.iterdir())
    loaded = run(tmp_path / "b", JAX_COMPILATION_CACHE_DIR=str(cache))  # every program is in the cache already
    rebuilt = run(tmp_path / "c", "--rebuild-steps")
    assert len(first) == 4 and first == loaded == rebuilt
    assert not (tmp_path / "c" / ".cache").exists()
