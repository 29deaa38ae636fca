"""``e2ebench run --tensorboard DIR``: every cell's curve and information plane as TensorBoard runs, read back
with TensorBoard's own reader; records and hashes are the same as without it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from suite.cli import app
from suite.records import EpochRecord
from suite.store import Store

needs_tensorboard = pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None,
                                       reason="the tensorboard package is not installed (the tensorboard extra)")
runner = CliRunner()

# Two cells of two epochs; probed at epochs 0 and 2 only, with two estimators whose names share a prefix.
SUITE = """
[suite]
name = "tb-test"
version = "1.0"
seeds = [0]

[[tasks]]
name = "digits-mlp"
params = { depth = 2, width = 16 }
budget = { epochs = 2 }

[[regimes]]
name = "e2e"

[[regimes]]
name = "layerwise"

[metrics.probe]
probe_size = 100
every = 2
estimators = ["nhsic", "nhsic_median"]
"""
RUNS = {"e2e": "digits-mlp-depth-2-width-16/e2e/seed-0", "layerwise": "digits-mlp-depth-2-width-16/layerwise/seed-0"}


def _run(tmp: Path, results: str, *extra: str, suite: str = SUITE) -> str:
    path = tmp / "suite.toml"
    path.write_text(suite)
    out = runner.invoke(app, ["run", str(path), "--results", str(tmp / results), "--no-progress", *extra])
    assert out.exit_code == 0, out.output
    return out.output


def read_scalars(directory: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series of one run directory, as TensorBoard reads it: ``{tag: [(step, value), ...]}``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(directory), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def runs(logdir: Path) -> set[str]:
    """The run directories (relative to ``logdir``) holding event files."""
    return {p.parent.relative_to(logdir).as_posix() for p in logdir.rglob("events.out.tfevents.*")}


def f32(x: float) -> float:
    return float(np.float32(x))


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The suite run once in this process with --tensorboard: (tmp, records by regime, logdir)."""
    tmp = tmp_path_factory.mktemp("tb")
    _run(tmp, "res", "--tensorboard", str(tmp / "logs"))
    records = {r.regime_label: r for r in Store(tmp / "res")}
    assert set(records) == set(RUNS) and all(r.status == "ok" for r in records.values())
    return tmp, records, tmp / "logs"


@needs_tensorboard
def test_every_cell_gets_a_run_with_its_curve_and_information_plane(live):
    tmp, records, logdir = live
    assert runs(logdir) == set(RUNS.values())
    for regime, run in RUNS.items():
        record, got = records[regime], read_scalars(logdir / run)
        probed = [h for h in record.history if h.probe]
        assert [h.epoch for h in probed] == [0, 2]
        blocks, estimators = probed[0].probe["blocks"], sorted(probed[0].probe["estimators"])
        assert estimators == ["nhsic", "nhsic_median"]
        probe_tags = {f"probe/{e}/{b}/{r}" for e in estimators for b in blocks for r in "xy"}
        assert "probe/nhsic/fc1/x" in probe_tags  # digits-mlp names its blocks fc1, fc2
        assert set(got) == {"train/loss", "train/accuracy", "validation/accuracy", "test/accuracy"} | probe_tags
        assert got["test/accuracy"] == [(h.epoch, f32(h.test_accuracy)) for h in record.history]
        assert [s for s, _ in got["test/accuracy"]] == [0, 1, 2]
        assert got["validation/accuracy"] == [(h.epoch, f32(h.val_accuracy)) for h in record.history]
        assert got["train/loss"] == [(h.epoch, f32(h.train_loss)) for h in record.history[1:]]  # epoch 0: untrained
        for e in estimators:
            for i, b in enumerate(blocks):
                for r in "xy":
                    assert got[f"probe/{e}/{b}/{r}"] == [(h.epoch, f32(h.probe[f"{e}_{r}"][i])) for h in probed]


@needs_tensorboard
def test_records_and_hashes_do_not_depend_on_tensorboard(live):
    tmp, records, _ = live
    _run(tmp, "plain")
    plain = {r.regime_label: r for r in Store(tmp / "plain")}
    assert {k: (r.cell_hash, r.result_hash) for k, r in plain.items()} == {k: (r.cell_hash, r.result_hash) for k, r in records.items()}
    assert {k: [h.test_accuracy for h in r.history] for k, r in plain.items()} == {k: [h.test_accuracy for h in r.history] for k, r in records.items()}


@needs_tensorboard
def test_a_reused_cell_writes_its_stored_curve_once(live):
    tmp, records, logdir = live
    before = {p: p.read_bytes() for p in logdir.rglob("events.out.tfevents.*")}
    assert "ran 0, reused 2" in _run(tmp, "res", "--tensorboard", str(logdir))
    assert {p: p.read_bytes() for p in logdir.rglob("events.out.tfevents.*")} == before  # nothing new
    fresh = tmp / "logs-from-store"
    for _ in range(2):  # the second time the runs are there already: nothing is written twice
        _run(tmp, "res", "--tensorboard", str(fresh))
        assert runs(fresh) == set(RUNS.values()) and len(list(fresh.rglob("events.out.tfevents.*"))) == 2
    for run in RUNS.values():
        assert read_scalars(fresh / run) == read_scalars(logdir / run)


@needs_tensorboard
def test_jobs_2_writes_the_same_runs_and_tags(live):
    tmp, records, logdir = live
    _run(tmp, "pool", "--jobs", "2", "--tensorboard", str(tmp / "pool-logs"))
    assert runs(tmp / "pool-logs") == set(RUNS.values())
    pool = {r.regime_label: r for r in Store(tmp / "pool")}
    for regime, run in RUNS.items():
        got, here = read_scalars(tmp / "pool-logs" / run), read_scalars(logdir / run)
        assert {t: [s for s, _ in v] for t, v in got.items()} == {t: [s for s, _ in v] for t, v in here.items()}
        assert got["test/accuracy"] == [(h.epoch, f32(h.test_accuracy)) for h in pool[regime].history]


@needs_tensorboard
def test_an_isolated_cell_writes_its_run_from_the_harness(tmp_path):
    one = SUITE.replace('[[regimes]]\nname = "layerwise"\n', "").replace("every = 2", "enabled = false")
    _run(tmp_path, "res", "--isolate", "--no-sandbox", "--tensorboard", str(tmp_path / "logs"), suite=one)
    (record,) = list(Store(tmp_path / "res"))
    got = read_scalars(tmp_path / "logs" / RUNS["e2e"])
    assert set(got) == {"train/loss", "train/accuracy", "validation/accuracy", "test/accuracy"}
    assert got["test/accuracy"] == [(h.epoch, f32(h.test_accuracy)) for h in record.history]


def test_without_the_package_run_says_how_to_install_it_before_any_cell_runs(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")] or ["tensorboard"]:
        monkeypatch.setitem(sys.modules, name, None)  # `import tensorboard...` now fails as if it were not installed
    path = tmp_path / "suite.toml"
    path.write_text(SUITE)
    out = runner.invoke(app, ["run", str(path), "--results", str(tmp_path / "res"), "--tensorboard", str(tmp_path / "logs")])
    assert out.exit_code == 2
    errors = [line for line in out.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "pip install 'e2ebench[tensorboard]'" in errors[0], out.output
    assert not (tmp_path / "res").exists() and not (tmp_path / "logs").exists()


@needs_tensorboard
def test_events_are_on_disk_after_each_epoch_and_writing_never_fails_a_cell(tmp_path):
    from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

    from suite.tensorboard import EventWriter

    writer = EventWriter(tmp_path / "run")
    writer.epoch(EpochRecord(epoch=0, train_loss=None, train_accuracy=None, test_accuracy=0.25, seconds=0.0, examples=0, steps=0,
                             probe={"blocks": ["b1", "b2"], "estimators": {"nhsic": "1", "nhsic_median": "1"},
                                    "nhsic_x": [0.5, 0.25], "nhsic_median_x": [0.75, 1.0], "nhsic_x_bound": 3.0}))
    (path,) = (tmp_path / "run").glob("events.out.tfevents.*")
    events = [e for e in LegacyEventFileLoader(str(path)).Load() if e.HasField("summary")]  # before close: flushed
    assert {v.tag: v.simple_value for v in events[0].summary.value} == {
        "test/accuracy": 0.25, "probe/nhsic/b1/x": 0.5, "probe/nhsic/b2/x": 0.25,
        "probe/nhsic_median/b1/x": 0.75, "probe/nhsic_median/b2/x": 1.0}
    writer.close()

    (tmp_path / "blocked").write_text("a file where the run directory should be")
    broken = EventWriter(tmp_path / "blocked" / "run")  # cannot create it: a warning, no exception
    broken.epoch(EpochRecord(epoch=1, train_loss=0.1, train_accuracy=None, test_accuracy=0.5, seconds=1.0, examples=1, steps=1))
    broken.close()
    assert not broken.active


@needs_tensorboard
def test_run_names_are_readable_and_distinct():
    from suite.plan import plan
    from suite.spec import parse_suite
    from suite.tensorboard import run_dirs

    tuned = SUITE.replace("[metrics.probe]", "[tuning]\nlearning_rate = [0.001, 0.003]\n\n[metrics.probe]")
    names = {p.as_posix().split("/logs/")[1] for p in run_dirs("/x/logs", plan(parse_suite(tuned, source="<t>"))).values()}
    assert names == {f"digits-mlp-depth-2-width-16/{r}/seed-0-lr-{lr}" for r in ("e2e", "layerwise") for lr in ("0.001", "0.003")}
