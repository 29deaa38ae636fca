"""The probe: a fixed stratified probe set, per-block trajectories in every record, and their summaries."""

from __future__ import annotations

import math

import numpy as np
import pytest

from suite import backend, metrics, plane
from suite.executor import run_suite
from suite.plan import plan
from suite.probe import Probe, log_schedule
from suite.splits import stratified_indices
from suite.records import EpochRecord
from suite.spec import ProbeSettings
from tasks.datasets import embedded
from conftest import make_suite

SETTINGS = ProbeSettings(probe_size=60)


def test_probe_set_is_stratified_seeded_and_capped_by_the_split():
    y = np.repeat(np.arange(4), [50, 30, 15, 5])
    idx = stratified_indices(y, 20, seed=3)
    assert len(idx) == len(set(idx)) == 20
    assert np.bincount(y[idx], minlength=4).tolist() == [10, 6, 3, 1]
    assert np.array_equal(idx, stratified_indices(y, 20, seed=3))
    assert not np.array_equal(idx, stratified_indices(y, 20, seed=4))
    assert np.array_equal(stratified_indices(y, 1000, seed=0), np.arange(len(y)))


def test_schedules_always_include_initialization_and_the_last_epoch():
    assert log_schedule(20) == {0, 1, 2, 4, 8, 16, 20}
    data = embedded.digits()
    every3 = Probe.from_settings(SETTINGS.model_copy(update={"every": 3}), data.test, data.num_classes)
    assert [e for e in range(11) if every3.due(e, 10)] == [0, 3, 6, 9, 10]
    logp = Probe.from_settings(SETTINGS.model_copy(update={"every": "log"}), data.test, data.num_classes)
    assert [e for e in range(11) if logp.due(e, 10)] == [0, 1, 2, 4, 8, 10]


def _tiny_network(depth: int = 2):
    from tasks.models.mlp import mlp

    backend.seed_everything(0)
    data = embedded.digits()
    return data, mlp(data.input_shape, data.num_classes, depth=depth, width=12)


def test_measure_gives_each_block_its_nhsic_and_cka_with_versions():
    data, network = _tiny_network()
    probe = Probe.from_settings(SETTINGS, data.test, data.num_classes)
    out = probe.measure(network)
    assert out["estimators"] == {"nhsic": metrics.NHSIC_VERSION, "nhsic_median": metrics.NHSIC_MEDIAN_VERSION,
                                 "cka": metrics.CKA_VERSION, "cka_median": metrics.CKA_MEDIAN_VERSION}
    assert out["blocks"] == network.block_names and len(out["probe_sha256"]) == 16
    assert out["seconds"] > 0 and probe.seconds == out["seconds"]
    feats = network.features().predict(probe.x, verbose=0)
    labels = metrics.one_hot(probe.y, data.num_classes)
    for l, t in enumerate(feats):
        assert out["nhsic_x"][l] == pytest.approx(metrics.nhsic(probe.x, t, impl="numpy"), rel=1e-6)
        assert out["nhsic_y"][l] == pytest.approx(metrics.nhsic(labels, t, impl="numpy"), rel=1e-6)
        assert out["nhsic_median_y"][l] == pytest.approx(metrics.nhsic(labels, t, bandwidth="median"), rel=1e-6)
        assert out["cka_x"][l] == pytest.approx(metrics.cka(probe.x, t), rel=1e-6)
        assert out["cka_median_x"][l] == pytest.approx(metrics.cka(probe.x, t, bandwidth="median"), rel=1e-6)
        assert 0 <= out["nhsic_y"][l] <= out["nhsic_y_bound"]
        assert 0 <= out["nhsic_median_y"][l] <= out["nhsic_median_y_bound"]
    assert len(probe.x) == SETTINGS.probe_size


def test_the_probe_set_hash_depends_on_the_draw():
    data = embedded.digits()
    a = Probe.from_settings(SETTINGS, data.test, data.num_classes)
    b = Probe.from_settings(SETTINGS, data.test, data.num_classes)
    c = Probe.from_settings(SETTINGS.model_copy(update={"probe_seed": 1}), data.test, data.num_classes)
    assert a.sha256 == b.sha256 != c.sha256


def test_linear_label_kernel_and_a_single_estimator():
    data, network = _tiny_network()
    settings = SETTINGS.model_copy(update={"label_kernel": "linear", "estimators": ["nhsic"]})
    out = Probe.from_settings(settings, data.test, data.num_classes).measure(network)
    assert "cka_x" not in out and "nhsic_median_x" not in out and "cka_median_x" not in out and out["estimators"] == {"nhsic": metrics.NHSIC_VERSION}
    # one-hot labels under the linear kernel: the label operator is (nearly) a projection of rank C - 1
    assert out["nhsic_y_bound"] == pytest.approx(data.num_classes - 1, abs=0.01)


def _epoch(epoch: int, xs: list[float] | None, ys: list[float] | None, seconds: float = 0.5) -> EpochRecord:
    probe = None if xs is None else {"nhsic_x": xs, "nhsic_y": ys, "nhsic_x_bound": 10.0, "nhsic_y_bound": 5.0, "seconds": seconds}
    return EpochRecord(epoch=epoch, train_loss=1.0, train_accuracy=0.5, test_accuracy=0.5, seconds=float(epoch),
                       examples=epoch, steps=epoch, probe=probe)


def test_summaries_follow_their_formulas():
    history = [
        _epoch(0, [6.0, 4.0], [1.0, 1.0]),
        _epoch(1, [8.0, 5.0], [2.0, 3.0]),
        _epoch(2, None, None),  # not a probe epoch
        _epoch(3, [7.0, 2.0], [2.5, 4.0]),
    ]
    s = Probe.summarize(history)
    assert s["compression_block1"] == pytest.approx(1.0)  # peak 8, final 7
    assert s["compression_block2"] == pytest.approx(3.0)  # peak 5, final 2
    assert s["mean_compression"] == pytest.approx(2.0)
    assert s["final_nhsic_x"] == 2.0 and s["final_nhsic_y"] == 4.0
    assert s["probe_seconds"] == pytest.approx(1.5)
    # per block in the normalized plane (x / 10, y / 5), relative to initialization: the rise to the peak
    # (probe 1 for both) and the net movement: block1 (0.2, 0.2, 0.1, 0.3), block2 (0.1, 0.4, -0.2, 0.6);
    # the spread of two blocks is half their distance
    expected = 0.5 * math.sqrt(0.1**2 + 0.2**2 + 0.3**2 + 0.3**2)
    assert s["role_differentiation"] == pytest.approx(expected)


def test_a_block_that_only_falls_from_initialization_does_not_compress():
    history = [_epoch(0, [9.0, 4.0], [1.0, 1.0]), _epoch(1, [7.0, 6.0], [2.0, 2.0]), _epoch(2, [5.0, 5.0], [2.0, 2.0])]
    s = Probe.summarize(history)
    assert s["compression_block1"] == 0.0  # peak at initialization: input information lost, not compressed
    assert s["compression_block2"] == pytest.approx(1.0)
    assert s["mean_compression"] == pytest.approx(0.5)


def test_no_summaries_without_probes():
    assert Probe.summarize([_epoch(0, None, None)]) == {}


@pytest.fixture(scope="module")
def probed_records(tmp_path_factory):
    body = ('[[tasks]]\nname = "digits-mlp"\nparams = { depth = 2, width = 16 }\nbudget = { epochs = 3 }\n\n'
            '[[regimes]]\nname = "e2e"\n')
    suite = make_suite(body, name="probe-t", seeds="[0]", probe="probe_size = 80\nevery = 2")
    from suite.store import Store

    store = Store(tmp_path_factory.mktemp("probe") / "results")
    report = run_suite(suite, store, progress=False, log=lambda line: None)
    assert report.ok and report.ran == 1
    return suite, store


def test_every_record_holds_per_block_trajectories_and_the_summaries(probed_records):
    suite, store = probed_records
    (cell,) = plan(suite)
    record = store.get(cell.hash)
    assert record.status == "ok"
    probed = [h.epoch for h in record.history if h.probe]
    assert probed == [0, 2, 3]  # every 2 epochs, plus initialization and the last epoch
    for h in record.history:
        if h.probe:
            assert len(h.probe["nhsic_x"]) == len(h.probe["nhsic_y"]) == len(h.probe["cka_y"]) == 2
            assert all(np.isfinite(h.probe["nhsic_x"]))
    assert cell.key()["probe"]["estimator_versions"] == {"nhsic": metrics.NHSIC_VERSION, "nhsic_median": metrics.NHSIC_MEDIAN_VERSION,
                                                         "cka": metrics.CKA_VERSION, "cka_median": metrics.CKA_MEDIAN_VERSION}
    assert "summaries" not in cell.key()["probe"]  # read with the current definitions (Result.score), never keyed
    s = record.summary
    for key in ("compression_block1", "compression_block2", "mean_compression", "final_nhsic_x", "final_nhsic_y",
                "role_differentiation", "probe_seconds", "peak_memory_mb"):
        assert s[key] is not None, key
    assert 0 < s["probe_seconds"] < s["wall_seconds"]
    assert s["peak_memory_mb"] > 50
    import sys

    if sys.platform.startswith("linux"):  # per-cell window: the increase is part of the cell's peak
        assert 0 <= s["peak_memory_increase_mb"] < s["peak_memory_mb"]


def test_information_scores_are_read_with_the_current_definitions_whatever_the_record_stored(probed_records, tmp_path):
    from suite.results import ResultSet
    from suite.store import Store
    from suite.submit import entry

    suite, store = probed_records
    (cell,) = plan(suite)
    record = store.get(cell.hash)
    current = plane.summaries([h.probe for h in record.history if h.probe])
    # a record summarized by an older definition (and one that listed a block the network does not have)
    old = record.model_copy(update={"summary": {**record.summary, "role_differentiation": 123.0, "mean_compression": -1.0,
                                                "compression_block9": 4.0}}).sealed()
    (result,) = ResultSet.from_records([old])
    assert current["role_differentiation"] != 123.0
    assert result.score("role_differentiation") == pytest.approx(current["role_differentiation"])
    assert result.score("mean_compression") == pytest.approx(current["mean_compression"])
    assert result.score("compression_block9") is None
    assert result.score("test_accuracy") == record.summary["test_accuracy"]  # other scores as stored
    assert ResultSet([result]).aggregate("role_differentiation").values == [pytest.approx(current["role_differentiation"])]
    # a submission entry lists the scores as the tables read them
    old_store = Store(tmp_path / "old")
    old_store.put(old)
    (row,) = entry(suite, cell.regime, [cell], old_store, source="builtin:e2e")["cells"]
    assert row["scores"]["mean_compression"] == pytest.approx(current["mean_compression"])


def test_a_regime_whose_inference_is_not_the_probed_network_shows_no_information_plane(store):
    body = ('[[tasks]]\nname = "digits-mlp"\nparams = { depth = 2, width = 16 }\nbudget = { epochs = 1 }\n\n'
            '[[regimes]]\nname = "e2e"\n\n[[regimes]]\nname = "forward-forward"\n')
    suite = make_suite(body, name="probe-ff", seeds="[0]", probe="probe_size = 60")
    e2e, ff = plan(suite)
    assert ff.probe == e2e.probe  # the declaration never changes a cell (nor its hash)
    reason = ff.regime.cls.probe_not_applicable
    assert reason and "network.features()" in reason
    report = run_suite(suite, store, progress=False, log=lambda line: None)
    assert report.ok and report.ran == 2
    assert any(h.probe for h in store.get(ff.hash).history)  # the record keeps what the probe measured
    from suite.results import ResultSet
    from suite.tables import leaderboard_table

    results = ResultSet.from_suite(suite, store)
    (ff_result,) = results.where(regime="forward-forward")
    assert ff_result.probed == [] and ff_result.probe_series("nhsic_x") is None and ff_result.block_names() is None
    for name in ("final_nhsic_y", "final_nhsic_x", "mean_compression", "role_differentiation", "compression_block1"):
        assert ff_result.score(name) is None, name
        assert results.where(regime="forward-forward").aggregate(name).not_applicable == reason
    assert results.where(regime="e2e").first().score("final_nhsic_y") is not None
    assert results.where(regime="forward-forward").aggregate("test_accuracy").not_applicable is None
    table = leaderboard_table(results, ("test_accuracy", "final_nhsic_y"))
    ff_row = next(line for line in table.splitlines() if "forward-forward" in line)
    assert ff_row.rstrip(" |").endswith("n/a")
    from suite.plots import by_task, info_plane_figure

    (group,) = by_task(results)
    figure = info_plane_figure(group)
    assert [ax.get_title() for ax in figure.axes if ax.get_visible() and ax.get_title()] == ["e2e (n=1)"]
    from suite.reports import write_report

    page = write_report(suite, store, store.root / "report", sections=["information-plane"]).read_text()
    assert f"- forward-forward: n/a — {reason}" in page and "not applicable (not shown)" in page
