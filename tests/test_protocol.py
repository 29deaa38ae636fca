"""The protocol behind citable numbers: a validation split for every selection, compilation kept out of
training time, seed statistics in tables and the gate, and leaderboard versions frozen by a manifest."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import make_suite
from suite import gate, stats
from suite.api import ModuleTarget, Split, TaskData
from suite.cli import app
from suite.executor import run_suite
from suite.plan import plan
from suite.records import EpochRecord
from suite.results import Aggregate, ResultSet
from suite.scores import one_off_seconds, steady_seconds, training_summary
from suite.splits import carve_validation
from suite.store import Store

TINY = '[[tasks]]\nname = "digits-mlp"\nparams = { depth = 2, width = 32 }\nbudget = { epochs = 3 }\n[[regimes]]\nname = "e2e"'


def _data(n: int = 200, classes: int = 4) -> TaskData:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(classes), n // classes)
    x = rng.normal(size=(n, 3)).astype("float32") + y[:, None]
    target = ModuleTarget(module=0, train=Split(x, y % 2), test=Split(x[:10], y[:10] % 2), num_classes=2)
    return TaskData(Split(x, y), Split(x[:20], y[:20]), classes, {"parity": target})


def test_the_validation_split_is_stratified_disjoint_from_train_and_fixed():
    data = _data()
    a, b = carve_validation(data, 0.2), carve_validation(data, 0.2)
    assert (len(a.train), len(a.validation)) == (160, 40)
    assert np.array_equal(np.bincount(a.validation.y), [10, 10, 10, 10])  # stratified
    assert np.array_equal(a.validation.x, b.validation.x)  # the same for every cell
    rows = {tuple(r) for r in data.train.x}
    assert {tuple(r) for r in a.train.x} | {tuple(r) for r in a.validation.x} == rows
    assert not {tuple(r) for r in a.train.x} & {tuple(r) for r in a.validation.x}
    assert np.array_equal(a.module_targets["parity"].train.x, a.train.x)  # module targets lose the same rows
    with pytest.raises(ValueError, match="already has a validation split"):
        carve_validation(a, 0.2)


PEEKING_REGIME = textwrap.dedent('''
    from suite.api import Regime
    from suite.registry import regimes

    SEEN = {}

    @regimes.register
    class Peeking(Regime):
        """Records what a regime is handed."""
        name = "peeking-test"
        version = "0.1"
        description = "test regime that records the data it sees"

        def train(self, ctx):
            SEEN["validation"] = ctx.data.validation
            SEEN["train"] = len(ctx.data.train)
            model = ctx.network.composed()
            model.compile(optimizer=ctx.make_optimizer(), loss=ctx.task.loss(), metrics=["accuracy"])
            ctx.fit(model, ctx.data.train.x, ctx.data.train.y, epochs=ctx.budget.epochs)
''')


def test_a_cell_trains_on_train_only_and_selects_on_validation(store, tmp_path):
    from suite.registry import load_plugin_file

    path = tmp_path / "peeking.py"
    path.write_text(PEEKING_REGIME, encoding="utf-8")
    load_plugin_file(path)
    import sys

    seen = next(m for n, m in sys.modules.items() if n.startswith("e2ebench_plugin_peeking_")).SEEN
    suite = make_suite(TINY.replace('"e2e"', '"peeking-test"'))
    assert run_suite(suite, store, progress=False, log=lambda line: None).ok
    record = store.get(plan(suite)[0].hash)
    assert seen["validation"] is None and seen["train"] == record.splits.train
    assert (record.splits.train, record.splits.validation, record.splits.test) == (1293, 144, 360)
    assert all(h.val_accuracy is not None for h in record.history)
    s = record.summary
    vals = [h.val_accuracy for h in record.history[1:]]
    assert s["val_accuracy"] == vals[-1] and s["best_val_accuracy"] == max(vals)
    assert s["selected_epoch"] == 1 + vals.index(max(vals))
    assert s["selected_test_accuracy"] == record.history[s["selected_epoch"]].test_accuracy
    assert "best_test_accuracy" not in s  # no selection on the test split
    assert s["compile_seconds"] >= 0 and s["train_seconds"] + s["compile_seconds"] == pytest.approx(record.history[-1].seconds)


def test_the_validation_split_is_part_of_the_cell_hash(monkeypatch):
    from tasks.digits import DigitsMLP

    before = plan(make_suite(TINY))[0].hash
    monkeypatch.setattr(DigitsMLP, "validation_fraction", 0.2)
    assert plan(make_suite(TINY))[0].hash != before


def _epoch(e: int, seconds: float, val: float | None, test: float = 0.5, stage: str | None = None) -> EpochRecord:
    return EpochRecord(epoch=e, stage=stage, train_loss=1.0, train_accuracy=0.5, test_accuracy=test, val_accuracy=val,
                       seconds=seconds, examples=100 * e, steps=e)


def test_time_to_target_and_selection_read_the_validation_split():
    history = [_epoch(1, 1.0, 0.80, 0.99), _epoch(2, 2.0, 0.96, 0.90), _epoch(3, 3.0, 0.96, 0.95), _epoch(4, 4.0, 0.94, 0.97)]
    s = training_summary(history, target=0.95, budget_epochs=4)
    assert s["epochs_to_target"] == 2  # validation first reaches 0.95 at epoch 2 (test did at epoch 1)
    assert (s["best_val_accuracy"], s["selected_epoch"], s["selected_test_accuracy"]) == (0.96, 2, 0.90)  # ties: the first
    assert s["test_accuracy"] == 0.97 and s["val_accuracy"] == 0.94


def test_one_off_compilation_is_each_stages_first_epoch_excess_and_is_kept_out_of_training_time():
    # stage a: epochs of 3 s (compiling), then 1 s; stage b: one epoch of 2.5 s, judged by the later epochs' median (1 s)
    history = [_epoch(1, 3.0, 0.5, stage="a"), _epoch(2, 4.0, 0.5, stage="a"), _epoch(3, 5.0, 0.5, stage="a"),
               _epoch(4, 7.5, 0.5, stage="b")]
    assert one_off_seconds(history) == pytest.approx([2.0, 0.0, 0.0, 1.5])
    assert steady_seconds(history) == pytest.approx([1.0, 2.0, 3.0, 4.0])
    s = training_summary(history, target=0.9, budget_epochs=4)
    assert s["compile_seconds"] == pytest.approx(3.5) and s["train_seconds"] == pytest.approx(4.0)


def _agg(values: list[float], seeds: list[int] | None = None, n_test: int | None = None) -> Aggregate:
    seeds = seeds if seeds is not None else list(range(len(values)))
    return Aggregate("test_accuracy", values, seeds, len(values), n_test=n_test)


def test_the_gate_calls_a_change_a_regression_only_when_the_test_over_seeds_says_so():
    base, shift = [0.90, 0.91, 0.92, 0.905, 0.915], [0.04, 0.05, 0.06, 0.045, 0.055]
    assert gate.verdict("test_accuracy", _agg(base), _agg([v - d for v, d in zip(base, shift)]))[0] == "regressed"
    assert gate.verdict("test_accuracy", _agg(base), _agg([v + d for v, d in zip(base, shift)]))[0] == "improved"
    # a 2% fall of the mean that is within the seeds' noise is no regression
    noisy = [0.66, 0.91, 0.41, 0.88, 0.44]
    assert gate.verdict("test_accuracy", _agg(noisy), _agg([v - 0.013 for v in noisy[::-1]]))[0] == "ok"
    # identical seeds on a 360-example split: the gap is far below the binomial noise
    assert gate.verdict("test_accuracy", _agg([0.9417] * 3, n_test=360), _agg([0.9389] * 3, n_test=360))[0] == "ok"
    # lower-is-better scores regress when they grow
    fast, slow = _agg([5.0, 6.0, 5.5, 5.2, 5.8]), _agg([9.0, 9.5, 8.8, 9.9, 9.1])
    fast.score = slow.score = "train_seconds"
    assert gate.verdict("train_seconds", fast, slow)[0] == "regressed"


def test_neutral_scores_are_reported_but_never_gated_or_ranked():
    from suite.leaderboard import ranked
    from suite.scores import score_of
    from suite.tables import Row, _header

    low, high = _agg([1.0, 1.1, 0.9, 1.05, 0.95]), _agg([9.0, 9.5, 8.8, 9.9, 9.1])
    for name in ("final_nhsic_y", "final_nhsic_x", "mean_compression", "role_differentiation", "compression_block2"):
        assert score_of(name).direction == "neutral"
        assert gate.verdict(name, high, low) == ("not gated", None)
        assert _header(score_of(name)) == name  # no arrow: neither direction is better
    report = gate.GateReport([gate.Comparison("t", "r", "final_nhsic_y", 9.3, 1.0, "not gated")])
    assert report.ok and "1 not gated" in report.format() and "-> PASS" in report.format()
    rows = [Row("t", "a", {"final_nhsic_y": low}), Row("t", "b", {"final_nhsic_y": high})]
    assert [r.regime for r in ranked(rows, "final_nhsic_y")] == ["a", "b"]  # plan order kept
    rows = [Row("t", "a", {"test_accuracy": low}), Row("t", "b", {"test_accuracy": high})]
    assert [r.regime for r in ranked(rows, "test_accuracy")] == ["b", "a"]


def test_the_gate_pairs_seeds_when_both_sides_share_them():
    a, b = _agg([0.8, 0.9, 0.7, 0.85, 0.75]), _agg([0.79, 0.885, 0.69, 0.838, 0.742])
    paired = gate.paired_comparison(a, b)
    assert paired.test == "paired-t" and paired.verdict == "supported"
    unpaired = gate.paired_comparison(a, _agg(b.values, seeds=[5, 6, 7, 8, 9]))
    assert unpaired.test == "welch" and unpaired.verdict == "inconclusive"  # the spread between seeds hides the gap


def test_tables_show_an_interval_over_seeds_and_no_spread_for_one_value():
    from suite.scores import score_of
    from suite.tables import format_cell

    interval = stats.interval([0.90, 0.92, 0.94], n_test=360)
    assert format_cell(_agg([0.90, 0.92, 0.94], n_test=360), score_of("test_accuracy")) == f"0.9200 ± {interval.half_width:.4f} (n=3)"
    assert format_cell(_agg([0.9]), score_of("test_accuracy")) == "0.9000 (n=1)"


def test_a_leaderboard_version_is_frozen_by_its_manifest(tmp_path):
    suite = make_suite(TINY, name="frozen", seeds="[0, 1]")
    root = tmp_path / "leaderboard"
    lb_dir = root / "frozen-1.0"
    assert run_suite(suite, Store(lb_dir), progress=False, log=lambda line: None).ok
    path = tmp_path / "frozen.toml"
    path.write_text(f'[suite]\nname = "frozen"\nversion = "1.0"\nseeds = [0, 1]\n\n{TINY}\n\n[metrics.probe]\nenabled = false\n', encoding="utf-8")
    runner = CliRunner()
    first = runner.invoke(app, ["leaderboard", str(path), "--leaderboard", str(root)])
    assert first.exit_code == 0, first.output
    manifest = json.loads((lb_dir / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["cells"]) == 2 and all(c["record_hash"] for c in manifest["cells"])
    check = runner.invoke(app, ["leaderboard", str(lb_dir), "--check"])  # the directory alone: no suite file needed
    assert check.exit_code == 0 and "up to date (2 verified records)" in check.output
    # the suite file moves on (another budget: other cells); the frozen version still renders the same
    path.write_text(path.read_text(encoding="utf-8").replace("epochs = 3", "epochs = 4"), encoding="utf-8")
    assert runner.invoke(app, ["leaderboard", str(path), "--leaderboard", str(root), "--check"]).exit_code == 0
    # a record replaced by another valid record is caught
    store = Store(lb_dir)
    cell = manifest["cells"][0]
    record = store.get(cell["cell_hash"])
    store.put(record.model_copy(update={"summary": {**record.summary, "test_accuracy": 1.0}}).sealed())
    tampered = runner.invoke(app, ["leaderboard", str(lb_dir), "--check"])
    assert tampered.exit_code == 1 and "differs from the listed" in tampered.output


@pytest.mark.parametrize("version, records", [("1.0", 45), ("2.0", 225)])
def test_the_committed_official_leaderboards_are_frozen_and_up_to_date(version, records):
    from pathlib import Path

    result = CliRunner().invoke(app, ["leaderboard", str(Path(__file__).parents[1] / "leaderboard" / f"official-{version}"), "--check"])
    assert result.exit_code == 0, result.output
    assert f"{records} verified records" in result.output


def _current_leaderboards() -> list[tuple[str, object]]:
    """(suite name, manifest path) of every committed leaderboard whose version is the shipped suite's."""
    from pathlib import Path

    from suite.spec import load_suite, shipped_suites

    out = []
    for path in sorted((Path(__file__).parents[1] / "leaderboard").glob("*/manifest.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))["suite"]
        if suite["name"] in shipped_suites() and load_suite(suite["name"]).version == suite["version"]:
            out.append((suite["name"], path))
    return out


@pytest.mark.parametrize("name, manifest_path", _current_leaderboards(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_shipped_suite_plans_exactly_the_cells_of_its_committed_leaderboard(name, manifest_path):
    """Every record of the committed version is reused (a submission runs only its own cells): no cell hash may move."""
    from suite.spec import load_suite

    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert [c.hash for c in plan(load_suite(name), manifest["backend"])] == [c["cell_hash"] for c in manifest["cells"]]


def test_the_official_suite_is_checked_against_its_495_committed_cells():
    """3.0: 3 tasks x 11 regimes x 5 seeds x 3 learning rates (150 of them n/a)."""
    (path,) = [p for name, p in _current_leaderboards() if name == "official"]
    assert path.parent.name == "official-3.0"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert len(cells) == 495 and sum(c["not_applicable"] is not None for c in cells) == 150


def test_official_3_0_keeps_the_digits_mlp_cells_of_2_0():
    """The digits MLP is unchanged between 2.0 and 3.0: its cells have the same hashes, so 2.0's numbers on it
    stay comparable."""
    from pathlib import Path

    board = Path(__file__).parents[1] / "leaderboard"
    old = json.loads((board / "official-2.0" / "manifest.json").read_text(encoding="utf-8"))["cells"]
    new = json.loads((board / "official-3.0" / "manifest.json").read_text(encoding="utf-8"))["cells"]
    kept = {c["regime"]["name"] for c in old if c["task"]["name"] == "digits-mlp"} - {"hsic-bottleneck"}  # 2.0's was the CKA variant
    old_hashes = {c["cell_hash"] for c in old if c["task"]["name"] == "digits-mlp" and c["regime"]["name"] in kept}
    new_hashes = {c["cell_hash"] for c in new}
    assert len(old_hashes) == 105 and old_hashes <= new_hashes


def test_a_committed_leaderboard_shows_no_information_plane_for_a_regime_it_does_not_apply_to():
    """The manifest predates ``probe_not_applicable``: the registered regime's declaration applies to it."""
    from pathlib import Path

    from suite import leaderboard
    from suite.registry import regimes

    lb = leaderboard.load(Path(__file__).parents[1] / "leaderboard" / "official-2.0")
    ff = lb.results.where(regime="forward-forward", task="digits-mlp")  # the task it runs (digits-lenet5: n/a)
    reason = regimes.get("forward-forward").probe_not_applicable
    assert len(ff) == 5 and all(r.record is not None and any(h.probe for h in r.history) for r in ff)
    assert ff.aggregate("final_nhsic_y").not_applicable == reason and ff.aggregate("final_nhsic_y").values == []
    assert lb.results.where(regime="e2e").aggregate("final_nhsic_y").values
    assert f"- forward-forward: information scores n/a, the information plane does not apply ({reason})" in (
        (lb.directory / "README.md").read_text(encoding="utf-8"))


def test_results_carry_the_split_size_that_floors_accuracy_intervals(store):
    suite = make_suite(TINY, seeds="[0, 1]")
    run_suite(suite, store, progress=False, log=lambda line: None)
    agg = ResultSet.from_suite(suite, store).aggregate("test_accuracy")
    assert agg.n_test == 360 and ResultSet.from_suite(suite, store).aggregate("val_accuracy").n_test == 144
    assert ResultSet.from_suite(suite, store).aggregate("train_seconds").n_test is None
