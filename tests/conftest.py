"""Shared fixtures. Tests are offline: embedded or generated data only, never the network."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TFDS_DATA_DIR", os.path.join(os.path.dirname(__file__), ".tfds-empty"))  # never a real cache

import pytest  # noqa: E402

from suite import backend  # noqa: E402
from suite.spec import Suite, parse_suite  # noqa: E402
from suite.store import Store  # noqa: E402

# Before any op: cells trained here use the threads every executor uses (results depend on them).
backend.limit_threads(backend.training_threads())


@pytest.fixture
def store(tmp_path) -> Store:
    """An empty results store in a temporary directory."""
    return Store(tmp_path / "results")


def make_suite(body: str, name: str = "t", seeds: str = "[0]", probe: str = "enabled = false") -> Suite:
    """A suite from the ``[[tasks]]``/``[[regimes]]`` part of a suite file (header and probe filled in)."""
    text = f'[suite]\nname = "{name}"\nversion = "1.0"\nseeds = {seeds}\n\n{body}\n\n[metrics.probe]\n{probe}\n'
    return parse_suite(text, source=f"<{name}>")
