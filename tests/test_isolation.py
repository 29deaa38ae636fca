"""Submitted regimes are untrusted code: hostile ones run in isolated workers and cannot change any record
but their own cell's, forge their measurements, see the test split, or make a failing run pass."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from suite import sandbox
from suite.cli import app
from suite.store import Store

HOSTILE = '''
import os, sys, time, json, glob
import numpy as np
import keras
from suite import registry
from suite.api import Regime

TARGET = {target!r}


def _fit(ctx, epochs=1):
    net = ctx.network
    model = net.composed()
    model.compile(optimizer=ctx.make_optimizer(), loss=ctx.task.loss(), metrics=["accuracy"])
    ctx.fit(model, ctx.data.train.x, ctx.data.train.y, epochs=epochs)


class Base(Regime):
    """A hostile regime for the isolation tests (Nobody 2026)."""
    version = "1.0"
    description = "hostile"
    citation = "none"


@registry.regimes.register
class Rewrite(Base):
    """Rewrites every other record it can find with a perfect score and a valid hash, deletes one, then trains."""
    name = "hostile-rewrite"

    def train(self, ctx):
        from suite.records import Record
        for i, path in enumerate(sorted(glob.glob(os.path.join(TARGET, "records", "*.json")))):
            try:
                if i == 0:
                    os.remove(path)
                    continue
                rec = Record.load(json.load(open(path)))
                rec = rec.model_copy(update={{"summary": {{**rec.summary, "test_accuracy": 1.0}}}}).sealed()
                open(path, "w").write(rec.model_dump_json())
            except OSError:
                pass  # a read-only file system: carry on as if nothing happened
        _fit(ctx)


@registry.regimes.register
class Forge(Base):
    """Trains nothing and rewrites its history to a perfect test accuracy."""
    name = "hostile-forge"

    def train(self, ctx):
        ctx.report_epoch(train_loss=0.01, train_accuracy=1.0, examples=len(ctx.data.train), steps=1)
        for h in getattr(ctx, "history", []):
            h.test_accuracy = 1.0
        ctx.history = [{{"test_accuracy": 1.0}}] * 5


@registry.regimes.register
class Peek(Base):
    """Looks for the test split and the validation split, notes what it found, trains."""
    name = "hostile-peek"

    def train(self, ctx):
        found = {{"test": len(ctx.data.test), "validation": ctx.data.validation is not None}}
        try:
            found["reloaded"] = len(ctx.task.load_data().test)
        except Exception as exc:
            found["reloaded"] = type(exc).__name__
        ctx.note(**found)
        _fit(ctx)


@registry.regimes.register
class Exit(Base):
    """Ends the process with exit code 0 in the middle of training."""
    name = "hostile-exit"

    def train(self, ctx):
        sys.exit(0)


@registry.regimes.register
class HardExit(Base):
    """Ends the process without any clean-up."""
    name = "hostile-hard-exit"

    def train(self, ctx):
        os._exit(0)


@registry.regimes.register
class Sleep(Base):
    """Never finishes."""
    name = "hostile-sleep"

    def train(self, ctx):
        time.sleep(3600)


@registry.regimes.register
class Allocate(Base):
    """Allocates memory until it is stopped."""
    name = "hostile-allocate"

    def train(self, ctx):
        hoard = []
        for _ in range(40):
            hoard.append(np.ones(2**27))  # 1 GiB each
'''

SUITE = '''
[suite]
name = "hostile"
version = "1.0"
seeds = [0]

[[tasks]]
name = "digits-mlp"
params = {{ depth = 2, width = 16 }}
budget = {{ epochs = 1 }}

[[regimes]]
name = "e2e"
{regimes}

[metrics.probe]
enabled = false
'''

ALL = ["hostile-rewrite", "hostile-forge", "hostile-peek", "hostile-exit", "hostile-hard-exit", "hostile-sleep", "hostile-allocate"]
SANDBOXED = sandbox.bubblewrap() is not None  # CI installs bubblewrap; the other mode is tested by the rewrite alone


def _write(tmp_path: Path, results: Path, regimes: list[str]) -> tuple[Path, Path]:
    plugin = tmp_path / "hostile.py"
    plugin.write_text(HOSTILE.format(target=str(results)))
    suite = tmp_path / "hostile.toml"
    suite.write_text(SUITE.format(regimes="\n".join(f'[[regimes]]\nname = "{r}"' for r in regimes)))
    return plugin, suite


def _by_regime(results: Path) -> dict[str, object]:
    return {r.regime_label: r for r in Store(results, quarantine=False)}


def test_hostile_regimes_are_contained(tmp_path):
    """Every hostile case in one suite, under bubblewrap where it works (else without a sandbox)."""
    sandboxed = SANDBOXED
    results = tmp_path / "results"
    plugin, suite = _write(tmp_path, results, ALL)
    runner = CliRunner()
    first = runner.invoke(app, ["run", str(suite), "--results", str(results), "--no-progress", "--untrusted", str(plugin),
                                "--cell-timeout", "10", "--cell-memory", "3000", "--sandbox" if sandboxed else "--no-sandbox"])
    assert first.exit_code == 1, first.output  # cells failed: the run must not pass
    records = _by_regime(results)
    assert set(records) == {"e2e", *ALL}
    baseline = records["e2e"]
    assert baseline.status == "ok" and baseline.summary["test_accuracy"] < 1.0  # neither deleted nor rewritten
    assert Store(results).verify() == []

    rewrite = records["hostile-rewrite"]
    if sandboxed:  # the store is read-only for the worker: nothing changed, the regime trained on
        assert rewrite.status == "ok"
    else:  # the harness noticed, undid the change and failed the cell
        assert rewrite.status == "failed" and "changed files" in rewrite.error

    forge = records["hostile-forge"]
    assert forge.status == "ok" and forge.summary["test_accuracy"] < 0.5  # measured by the harness, untrained

    peek = records["hostile-peek"]
    assert peek.status == "ok" and peek.notes["test"] == 0 and peek.notes["validation"] is False
    if sandboxed:  # the dataset files are hidden from the worker
        assert peek.notes["reloaded"] != 360

    for name in ("hostile-exit", "hostile-hard-exit"):
        assert records[name].status == "failed", name
    assert "sys.exit" in records["hostile-exit"].error
    assert "exited with code 0" in records["hostile-hard-exit"].error
    assert records["hostile-sleep"].status == "failed" and "timeout" in records["hostile-sleep"].error
    assert records["hostile-allocate"].status == "failed" and "memory" in records["hostile-allocate"].error


@pytest.mark.skipif(not SANDBOXED, reason="without bubblewrap the whole hostile suite already runs without a sandbox")
def test_without_a_sandbox_a_rewritten_store_is_restored_and_the_cell_failed(tmp_path):
    results = tmp_path / "results"
    plugin, suite = _write(tmp_path, results, ["hostile-rewrite"])
    out = CliRunner().invoke(app, ["run", str(suite), "--results", str(results), "--no-progress", "--untrusted", str(plugin),
                                   "--no-sandbox"])
    assert out.exit_code == 1, out.output
    records = _by_regime(results)
    assert records["e2e"].status == "ok" and records["e2e"].summary["test_accuracy"] < 1.0
    assert records["hostile-rewrite"].status == "failed" and "changed files" in records["hostile-rewrite"].error
    assert Store(results).verify() == []


def test_hostile_submission_cannot_touch_the_leaderboard(tmp_path):
    """Under ``submit`` the leaderboard's baseline records are guarded as well as the results store."""
    lb_root = tmp_path / "leaderboard"
    results = tmp_path / "results"
    plugin, suite = _write(tmp_path, lb_root / "hostile-1.0", [])
    runner = CliRunner()
    base = runner.invoke(app, ["run", str(suite), "--results", str(lb_root / "hostile-1.0"), "--no-progress"])
    assert base.exit_code == 0, base.output
    before = {p.name: p.read_bytes() for p in (lb_root / "hostile-1.0" / "records").iterdir()}
    out = runner.invoke(app, ["submit", str(plugin), "--name", "hostile-rewrite", "--suite", str(suite), "--results", str(results),
                              "--leaderboard", str(lb_root), "--skip-checks", "--no-progress", "--no-sandbox"])
    assert out.exit_code == 1, out.output
    after = {p.name: p.read_bytes() for p in (lb_root / "hostile-1.0" / "records").iterdir()}
    assert after == before


def test_isolated_worker_computes_what_the_harness_process_does(tmp_path):
    """The same cell trained in this process and in a worker has one result hash (same threads)."""
    from suite.executor import load_task_data
    from suite.plan import plan
    from suite.records import SuiteRef
    from suite.runner import Isolation, run_cell
    from suite.spec import load_suite

    ref = SuiteRef(name="ci", version="1.0", sha256="")
    # layerwise-seq: a predictor of its own per stage (rebuilt by the harness from its configuration)
    for cell in [c for c in plan(load_suite("ci")) if c.seed == 0 and c.regime.label == "layerwise-seq"]:
        data = load_task_data(cell.task)
        here = run_cell(cell, ref, data)
        there = run_cell(cell, ref, data, Isolation(enabled=True, sandbox=False))
        assert here.status == there.status == "ok"
        assert here.result_hash == there.result_hash, cell.title
        assert there.provenance.threads == here.provenance.threads


def test_worker_messages_cannot_carry_code():
    from suite import wire

    header, arrays = wire.decode(wire.encode({"a": 1}, [json.loads("[1, 2]")]))
    assert header == {"a": 1} and arrays[0].tolist() == [1, 2]
    import io
    import pickle
    import struct

    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, np.array([object()], dtype=object))
    evil = struct.pack("<Q", 2) + b"{}" + buf.getvalue()
    with pytest.raises(wire.WireError):
        wire.decode(evil)
    with pytest.raises(wire.WireError):
        wire.decode(struct.pack("<Q", 4) + b"[1] " + pickle.dumps(1))
    with pytest.raises(wire.WireError):
        wire.decode(textwrap.dedent("x").encode())


def test_jobs_1_and_jobs_2_give_identical_result_hashes(tmp_path):
    """One determinism for every executor: the pool's workers train with the threads this process does."""
    from suite.executor import run_suite
    from suite.spec import load_suite

    spec = load_suite("ci")
    one, two = Store(tmp_path / "one"), Store(tmp_path / "two")
    assert run_suite(spec, one, progress=False, log=lambda _: None).ok
    assert run_suite(spec, two, progress=False, log=lambda _: None, jobs=2).ok
    a = {r.cell_hash: r.result_hash for r in one}
    b = {r.cell_hash: r.result_hash for r in two}
    assert len(a) == 6 and a == b
    assert {r.provenance.threads for r in one} == {r.provenance.threads for r in two} == {1}


CRASH = '''
import os
from suite import registry
from suite.api import Regime


@registry.regimes.register
class Crash(Regime):
    """Kills its process, as a segmentation fault or the out-of-memory killer would (a test fixture)."""
    name = "crash"
    version = "1.0"
    description = "kills its process"
    citation = "none"

    def train(self, ctx):
        os._exit(3)
'''


def test_a_dying_pool_worker_gives_failed_records_not_a_traceback(tmp_path):
    """Even a trusted regime that kills its pool worker (--jobs 2) leaves failed records; the run exits 1."""
    plugin = tmp_path / "crash.py"
    plugin.write_text(CRASH)
    suite = tmp_path / "crash.toml"
    suite.write_text(SUITE.format(regimes='[[regimes]]\nname = "crash"').replace("seeds = [0]", "seeds = [0, 1]"))
    results = tmp_path / "results"
    out = CliRunner().invoke(app, ["run", str(suite), "--results", str(results), "--plugin", str(plugin), "--jobs", "2", "--no-progress"])
    assert out.exit_code == 1, out.output
    assert "Traceback" not in out.output
    records = list(Store(results))
    crashed = [r for r in records if r.regime_label == "crash"]
    assert len(crashed) == 2 and all(r.status == "failed" and "died" in r.error for r in crashed)


def test_untrusted_regimes_run_under_the_process_pool(tmp_path):
    """--jobs 2: pool workers rebuild the stand-ins from the description; the file is still never imported."""
    results = tmp_path / "results"
    plugin, suite = _write(tmp_path, results, ["hostile-peek"])
    suite.write_text(suite.read_text().replace("seeds = [0]", "seeds = [0, 1]"))
    out = CliRunner().invoke(app, ["run", str(suite), "--results", str(results), "--untrusted", str(plugin), "--jobs", "2",
                                   "--no-progress", "--no-sandbox"])
    assert out.exit_code == 0, out.output
    peeks = [r for r in Store(results) if r.regime_label == "hostile-peek"]
    assert len(peeks) == 2 and all(r.status == "ok" and r.notes["test"] == 0 for r in peeks)
    import sys

    assert not any("hostile" in name for name in sys.modules)  # the harness never imported the file
