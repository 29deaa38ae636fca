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
