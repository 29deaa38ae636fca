"""A lock per cell: concurrent runs on one results directory train each cell once, and a killed run
never blocks another."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from suite.locks import CellLocks

pytest.importorskip("fcntl")

REPO = Path(__file__).resolve().parent.parent
TINY = """
[suite]
name = "locks-test"
version = "1.0"
seeds = [0, 1, 2]

[[tasks]]
name = "digits-mlp"
params = { depth = 2, width = 16 }
budget = { epochs = 1 }

[[regimes]]
name = "e2e"

[[regimes]]
name = "layerwise"

[metrics.probe]
enabled = false
"""


def _env() -> dict[str, str]:
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def test_a_cell_lock_is_exclusive_and_its_file_goes_with_it(tmp_path):
    mine, theirs = CellLocks(tmp_path), CellLocks(tmp_path)
    assert mine.acquire("abc")
    assert not theirs.acquire("abc")  # another open file: as another process sees it
    assert theirs.acquire("def")
    mine.release("abc")
    assert not (tmp_path / "locks" / "abc.lock").exists()
    assert theirs.acquire("abc")
    theirs.release_all()
    assert theirs.clean() == 0 and not (tmp_path / "locks").exists()


def test_the_lock_of_a_killed_process_is_free_and_its_file_is_cleaned_up(tmp_path):
    code = ("import sys, time; from suite.locks import CellLocks; "
            f"CellLocks({str(tmp_path)!r}).acquire('abc'); print('locked', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        assert not CellLocks(tmp_path).acquire("abc")
    finally:
        proc.kill()
        proc.wait()
    assert (tmp_path / "locks" / "abc.lock").exists()  # the file stays, the lock does not
    locks = CellLocks(tmp_path)
    assert locks.clean() == 1 and not (tmp_path / "locks").exists()
    assert locks.acquire("abc")
    locks.release("abc")


def test_two_concurrent_runs_on_one_store_train_every_cell_exactly_once(tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(TINY)
    results = tmp_path / "res"
    cmd = [sys.executable, "-m", "suite.cli", "run", str(suite), "--results", str(results), "--no-progress"]
    procs = [subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    ran = []
    for out, err in outputs:
        summary = re.search(r"ran (\d+), reused (\d+)(?:, done by another run (\d+))?", err)
        assert summary, err
        ran.append(int(summary[1]))
        assert int(summary[1]) + int(summary[2]) + int(summary[3] or 0) == 6
        assert out.count("[by another run]") == int(summary[3] or 0)
    assert sum(ran) == 6  # each of the 6 cells trained by exactly one of the two runs
    assert len(list((results / "records").glob("*.json"))) == 6
    assert not (results / "locks").exists()
    assert not [p for p in (results / "records").iterdir() if p.name.startswith(".")]  # no temporary files left
