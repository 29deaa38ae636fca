"""The package's declared dependencies: the `tf` extra picks a TensorFlow build that has a wheel on each platform."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
PLATFORMS = {  # (sys_platform, platform_machine): the TensorFlow distribution that has a wheel there
    ("linux", "x86_64"): "tensorflow-cpu",
    ("win32", "AMD64"): "tensorflow-cpu",
    ("linux", "aarch64"): "tensorflow",
    ("darwin", "arm64"): "tensorflow",
}


@pytest.mark.parametrize("platform, expected", PLATFORMS.items(), ids=lambda p: "-".join(p) if isinstance(p, tuple) else p)
def test_the_tf_extra_installs_one_tensorflow_build_per_platform(platform, expected):
    extras = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    env = {"sys_platform": platform[0], "platform_machine": platform[1], "python_version": "3.11", "extra": ""}
    chosen = [r.name for r in map(Requirement, extras["tf"])
              if r.name.startswith("tensorflow") and r.name != "tensorflow-datasets" and (r.marker is None or r.marker.evaluate(env))]
    assert chosen == [expected]
