"""The harness end to end on tiny suites: records, resume, determinism, failures, divergence."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from conftest import make_suite
from suite.executor import run_suite
from suite.plan import plan
from suite.registry import load_plugin_file
from suite.scores import varying_scores

TINY = """
[[tasks]]
name = "digits-mlp"
params = { depth = 2, width = 32 }
budget = { epochs = 2 }

[[regimes]]
name = "e2e"
"""

TIMING_FIELDS = varying_scores() | {"seconds"}  # "seconds": per-epoch and per-probe wall times


def strip_timings(obj):
    """A record as plain data without wall times, dates and hashes that cover them."""
    if isinstance(obj, dict):
        return {k: strip_timings(v) for k, v in obj.items()
                if k not in TIMING_FIELDS and k not in {"started_at", "finished_at", "record_hash", "git_commit"}}
    if isinstance(obj, list):
        return [strip_timings(v) for v in obj]
    return obj


def test_a_cell_writes_a_complete_record(store):
    suite = make_suite(TINY, probe="probe_size = 50")
    report = run_suite(suite, store, progress=False)
    assert report.ran == 1 and report.ok
    (cell,) = plan(suite)
    record = store.get(cell.hash)
    assert record.status == "ok"
    assert record.record_hash == record.compute_hash()
    assert [h.epoch for h in record.history] == [0, 1, 2]
    assert record.splits is not None and (record.splits.train, record.splits.validation) == (1293, 144)
    assert record.history[-1].examples == 2 * 1293  # the regime trains on what the validation split leaves
    assert record.summary["budget_used"] == pytest.approx(1.0)
    assert record.cell["task"] == {"name": "digits-mlp", "version": "1.0", "params": {"depth": 2, "width": 32}}
    assert record.provenance.backend and record.provenance.packages["keras"]
    assert len(record.history[1].probe["nhsic_x"]) == 2  # one value per block


def test_rerun_skips_finished_cells(store):
    suite = make_suite(TINY, seeds="[0, 1]")
    assert run_suite(suite, store, progress=False).ran == 2
    again = run_suite(suite, store, progress=False)
    assert again.ran == 0 and again.skipped == 2


def test_same_seed_gives_identical_records(tmp_path):
    from suite.store import Store

    suite = make_suite(TINY, probe="probe_size = 50")
    a, b = Store(tmp_path / "a"), Store(tmp_path / "b")
    run_suite(suite, a, progress=False)
    run_suite(suite, b, progress=False)
    (cell,) = plan(suite)
    ra = strip_timings(json.loads(a.path(cell.hash).read_text()))
    rb = strip_timings(json.loads(b.path(cell.hash).read_text()))
    assert ra == rb


def test_different_seeds_give_different_results(store):
    suite = make_suite(TINY, seeds="[0, 1]")
    run_suite(suite, store, progress=False)
    losses = [store.get(c.hash).history[1].train_loss for c in plan(suite)]
    assert losses[0] != losses[1]


def test_cell_hash_depends_on_what_determines_the_result():
    base = plan(make_suite(TINY))[0].hash
    assert plan(make_suite(TINY))[0].hash == base
    assert plan(make_suite(TINY.replace("epochs = 2", "epochs = 3")))[0].hash != base
    assert plan(make_suite(TINY.replace("width = 32", "width = 33")))[0].hash != base
    assert plan(make_suite(TINY, seeds="[1]"))[0].hash != base
    assert plan(make_suite(TINY, name="another-suite"))[0].hash == base  # shared across suites


def _plugin(tmp_path, name: str, body: str) -> None:
    path = tmp_path / f"{name.replace('-', '_')}.py"
    path.write_text(textwrap.dedent(
        f'''
        import numpy as np
        from suite.api import Regime
        from suite.registry import regimes

        @regimes.register
        class R(Regime):
            name = "{name}"
            version = "1.0"
            description = "test regime"

            def train(self, ctx):
        '''
    ) + textwrap.indent(textwrap.dedent(body), " " * 8))
    load_plugin_file(path)


def test_a_failing_regime_is_recorded_and_the_suite_carries_on(store, tmp_path):
    _plugin(tmp_path, "test-raises", 'raise ValueError("boom")\n')
    suite = make_suite(TINY + '\n[[regimes]]\nname = "test-raises"\n')
    report = run_suite(suite, store, progress=False)
    assert report.ran == 2 and len(report.failed) == 1 and not report.ok
    e2e, bad = plan(suite)
    assert store.get(e2e.hash).status == "ok"
    failed = store.get(bad.hash)
    assert failed.status == "failed" and "ValueError: boom" in failed.error
    # failed cells are retried on the next run, finished ones are not
    assert run_suite(suite, store, progress=False).ran == 1


def test_a_nan_loss_is_recorded_as_diverged(store, tmp_path):
    _plugin(tmp_path, "test-diverges", '''\
        ctx.report_epoch(train_loss=0.5, train_accuracy=0.1, examples=10, steps=1)
        ctx.report_epoch(train_loss=float("nan"), train_accuracy=None, examples=10, steps=1)
        ''')
    suite = make_suite(TINY.replace('name = "e2e"', 'name = "test-diverges"'))
    report = run_suite(suite, store, progress=False)
    (cell,) = plan(suite)
    record = store.get(cell.hash)
    assert record.status == "diverged" and "nan" in record.error
    assert report.diverged and report.ok  # diverging is a result, not a crash
    assert len(record.history) == 2


def test_an_interrupted_run_keeps_finished_cells_and_resumes(store, tmp_path):
    _plugin(tmp_path, "test-interrupt", "raise KeyboardInterrupt\n")
    suite = make_suite(TINY + '\n[[regimes]]\nname = "test-interrupt"\n')
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, store, progress=False)
    e2e, interrupted = plan(suite)
    assert store.get(e2e.hash).status == "ok"
    assert store.get(interrupted.hash) is None
    assert not list(store.records_dir.glob(".tmp-*"))


def test_layerwise_seq_trains_every_block_for_the_full_budget_declares_it_and_tables_mark_it(store):
    from suite import protocol
    from suite.results import ResultSet
    from suite.tables import leaderboard_table

    suite = make_suite(TINY.replace('"e2e"', '"layerwise-seq"'))
    run_suite(suite, store, progress=False)
    record = store.get(plan(suite)[0].hash)
    assert record.notes["stage_epochs"] == {"fc1": 2, "fc2": 2}
    assert [h.stage for h in record.history[1:]] == ["fc1", "fc1", "fc2", "fc2"]
    assert record.summary["budget_declared"] == 2.0 and record.summary["budget_used"] == pytest.approx(2.0)
    assert protocol.budget_problem(record) is None and protocol.epochs_problem(record, 2) is None
    assert "layerwise-seq (×2 budget)" in leaderboard_table(ResultSet.from_suite(suite, store))


def test_layerwise_seq_can_split_the_budget_over_its_stages(store):
    suite = make_suite(TINY.replace("epochs = 2", "epochs = 5").replace('"e2e"', '"layerwise-seq"\nparams = { budget = "split" }'))
    run_suite(suite, store, progress=False)
    record = store.get(plan(suite)[0].hash)
    assert record.notes["stage_epochs"] == {"fc1": 2, "fc2": 3}
    assert [h.stage for h in record.history[1:]] == ["fc1", "fc1", "fc2", "fc2", "fc2"]
    assert record.summary["budget_used"] == pytest.approx(1.0) and record.summary["budget_declared"] == 1.0


def test_layerwise_seq_with_fewer_epochs_than_blocks_fails_clearly(store):
    suite = make_suite(TINY.replace("epochs = 2", "epochs = 1").replace('"e2e"', '"layerwise-seq"\nparams = { budget = "split" }'))
    run_suite(suite, store, progress=False)
    record = store.get(plan(suite)[0].hash)
    assert record.status == "failed" and "raise budget.epochs to at least 2" in record.error


def test_chance_level_and_target_are_recorded(store):
    suite = make_suite(TINY)
    run_suite(suite, store, progress=False)
    record = store.get(plan(suite)[0].hash)
    assert 0.09 < record.chance_level < 0.12
    assert record.target_accuracy == 0.95
    assert np.isfinite(record.summary["auc"])


def test_a_process_pool_runs_cells_including_plugin_regimes(store, tmp_path):
    _plugin(tmp_path, "test-pool-plugin", '''\
        model = ctx.network.composed()
        model.compile(optimizer=ctx.make_optimizer(), loss=ctx.task.loss(), metrics=["accuracy"])
        ctx.fit(model, ctx.data.train.x, ctx.data.train.y, epochs=ctx.budget.epochs)
        ''')
    suite = make_suite(TINY + '\n[[regimes]]\nname = "test-pool-plugin"\n', seeds="[0, 1]")
    plugin = tmp_path / "test_pool_plugin.py"
    report = run_suite(suite, store, progress=False, jobs=2, plugins=[plugin])
    assert report.ran == 4 and report.ok
    assert all(store.get(c.hash).status == "ok" for c in plan(suite))
    assert run_suite(suite, store, progress=False, jobs=2, plugins=[plugin]).skipped == 4


def test_layerwise_on_a_one_block_network_trains_normally(store):
    suite = make_suite(TINY.replace("depth = 2", "depth = 1").replace('"e2e"', '"layerwise"'))
    run_suite(suite, store, progress=False)
    record = store.get(plan(suite)[0].hash)
    assert record.status == "ok" and record.history[-1].train_loss is not None


def test_a_wrong_log_key_fails_the_cell_instead_of_looking_diverged(store, tmp_path):
    _plugin(tmp_path, "test-wrong-key", '''\
        model = ctx.network.composed()
        model.compile(optimizer=ctx.make_optimizer(), loss=ctx.task.loss())
        ctx.fit(model, ctx.data.train.x, ctx.data.train.y, epochs=1, loss_key="no_such_loss")
        ''')
    suite = make_suite(TINY.replace('"e2e"', '"test-wrong-key"'))
    run_suite(suite, store, progress=False)
    record = store.get(plan(suite)[0].hash)
    assert record.status == "failed" and "no_such_loss" in record.error and "'loss'" in record.error
