"""The Sakamoto & Sato (2024) reproduction: its suites, their fail-fast behaviour without data, and the
claims section of the report (rules on constructed runs, then rendered from real records)."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import make_suite
from suite.reports import sakamoto2024 as claims
from suite.reports.sakamoto2024 import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Plane, Run
from suite.cli import app
from suite.executor import run_suite
from suite.plan import plan
from suite.reports import write_report
from suite.spec import load_suite
from tasks.datasets.options import current, data_options


@pytest.fixture(autouse=True)
def _restore_data_options():
    """`e2ebench run` in-process configures the data options; give every test the ones it started with."""
    before = current()
    with data_options(data_dir=before.data_dir, download=before.download):
        yield


def test_the_reproduction_suite_crosses_the_papers_tasks_with_three_regimes_and_seeds():
    spec = load_suite("sakamoto2024")
    assert [t.cls.name for t in spec.tasks] == ["mnist-mlp", "mnist-lenet5", "fashion_mnist-mlp", "cifar10-vgg8b",
                                               "cifar10-resnet18", "cifar100-resnet18"]
    assert [r.cls.name for r in spec.regimes] == ["e2e", "layerwise", "layerwise-seq"]
    assert len(spec.seeds) >= 3 and spec.metrics.probe.enabled and "nhsic" in spec.metrics.probe.estimators
    assert all(t.cls.data_source.startswith("tfds:") for t in spec.tasks)
    assert all(t.budget.batch_size == 128 and t.budget.learning_rate == 5e-4 for t in spec.tasks)
    assert "sakamoto2024-claims" in spec.report.sections
    assert len(plan(spec)) == 6 * 3 * len(spec.seeds)


def test_the_smoke_suite_runs_the_same_protocol_on_embedded_data():
    spec, full = load_suite("sakamoto2024-smoke"), load_suite("sakamoto2024")
    assert [r.cls.name for r in spec.regimes] == [r.cls.name for r in full.regimes]
    assert all("embedded" in t.cls.data_source for t in spec.tasks)
    assert len(spec.seeds) >= 2 and spec.metrics.probe.estimators == full.metrics.probe.estimators
    assert spec.report.sections[-1] == "sakamoto2024-claims"


def test_running_the_reproduction_without_data_fails_fast_with_instructions_per_dataset(tmp_path):
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["run", "sakamoto2024", "--results", str(tmp_path / "r"), "--data-dir",
                                      str(tmp_path / "tfds"), "--no-progress"])
    elapsed = time.perf_counter() - start
    assert result.exit_code == 1, result.output
    assert elapsed < 10, f"took {elapsed:.1f}s"
    for dataset in ("mnist", "fashion_mnist", "cifar10", "cifar100"):
        assert f"tfds build {dataset} --data_dir {tmp_path / 'tfds'}" in result.output
    assert not list((tmp_path / "r").glob("records/*.json"))


def test_the_suite_data_dir_is_relative_to_the_suite_file_and_the_flag_overrides_it(tmp_path):
    suite = tmp_path / "suites" / "mine.toml"
    suite.parent.mkdir()
    suite.write_text('[suite]\nname = "mine"\nversion = "1.0"\nseeds = [0]\n[[tasks]]\nname = "mnist-mlp"\n'
                     '[[regimes]]\nname = "e2e"\n[data]\ndata_dir = "../prepared"\n')
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(suite), "--results", str(tmp_path / "r"), "--no-progress"])
    assert result.exit_code == 1 and f"--data_dir {tmp_path / 'prepared'}" in result.output
    result = runner.invoke(app, ["run", str(suite), "--results", str(tmp_path / "r"), "--no-progress", "--data-dir", str(tmp_path / "other")])
    assert result.exit_code == 1 and f"--data_dir {tmp_path / 'other'}" in result.output


def test_comparisons_use_the_seed_test_paired_by_seed():
    a = [run("e2e", i, acc, x=[[1, 1], [2, 2]], y=[[1, 1], [2, 2]]) for i, acc in enumerate([0.80, 0.97, 0.86, 0.99])]
    b = [run("layerwise", i, acc - 0.02, x=[[1, 1], [2, 2]], y=[[1, 1], [2, 2]]) for i, acc in enumerate([0.80, 0.97, 0.86, 0.99])]
    c = claims.compare_runs(a, b, lambda r: r.test_accuracy, n_test=1000)
    assert c.test == "paired-t" and c.verdict == SUPPORTED and c.difference == pytest.approx(0.02)
    c = claims.compare_runs(a, b[:3], lambda r: r.test_accuracy)
    assert c.test == "welch" and c.verdict == INCONCLUSIVE  # the seeds' spread hides the gap without pairing
    assert claims.compare_runs(b, a, lambda r: r.test_accuracy, n_test=1000).verdict == NOT_SUPPORTED


def test_a_comparison_needs_the_papers_and_a_scale_invariant_estimator_to_agree():
    assert claims.agreement({"nhsic": SUPPORTED, "nhsic_median": SUPPORTED, "cka_median": SUPPORTED}) == SUPPORTED
    assert claims.agreement({"nhsic": NOT_SUPPORTED, "cka_median": NOT_SUPPORTED}) == NOT_SUPPORTED
    assert claims.agreement({"nhsic": SUPPORTED, "nhsic_median": SUPPORTED, "cka_median": INCONCLUSIVE}) == INCONCLUSIVE
    assert claims.agreement({"nhsic": SUPPORTED}) == INCONCLUSIVE  # nothing scale-invariant to agree with
    assert claims.agreement({"nhsic_median": SUPPORTED, "cka_median": SUPPORTED}) == INCONCLUSIVE  # not the paper's estimator
    # the fixed-width CKA follows the activations' scale like the paper's nHSIC: it is not a check of it
    assert claims.agreement({"nhsic": SUPPORTED, "cka": SUPPORTED}) == INCONCLUSIVE
    assert claims.agreement({"nhsic": SUPPORTED, "cka_median": SUPPORTED, "cka": NOT_SUPPORTED}) == SUPPORTED


def test_overall_verdicts_need_a_majority_and_no_contradiction():
    assert claims.overall([SUPPORTED, SUPPORTED, INCONCLUSIVE])[0] == SUPPORTED
    assert claims.overall([SUPPORTED, NOT_SUPPORTED, SUPPORTED])[0] == INCONCLUSIVE
    assert claims.overall([NOT_SUPPORTED, NOT_SUPPORTED])[0] == NOT_SUPPORTED
    assert claims.overall([SUPPORTED, INCONCLUSIVE, INCONCLUSIVE])[0] == INCONCLUSIVE
    assert claims.overall([]) == (INCONCLUSIVE, "no comparison could be made (no matching records)")


@pytest.mark.parametrize("blocks, early, middle", [(2, [0], []), (3, [0, 1], [1]), (4, [0, 1, 2], [1, 2]),
                                                   (7, [0, 1, 2, 3, 4], [2, 3, 4]), (9, list(range(6)), [3, 4, 5])])
def test_early_and_middle_blocks(blocks, early, middle):
    assert claims.early_middle_blocks(blocks) == early
    assert claims.middle_blocks(blocks) == middle


def run(regime: str, seed: int, accuracy: float, x: list[list[float]], y: list[list[float]], task: str = "t",
        estimators: tuple[str, ...] = claims.ESTIMATORS, other: Plane | None = None) -> Run:
    """A run with a probe trajectory: ``x[probe][block]`` = I(X;T), ``y`` likewise for labels, the same for every
    estimator, or ``other`` for the scale-invariant ones."""
    p = Plane(tuple(range(len(x))), np.array(x, float), np.array(y, float))
    planes = {e: (other if other is not None and e != claims.PAPER_ESTIMATOR else p) for e in estimators}
    family = "end-to-end" if regime == "e2e" else "layer-wise"
    return Run(task, regime, family, regime == "e2e", seed, accuracy, planes, n_test=1000)


def e2e_like(seed: int, **kw) -> Run:
    """Early blocks keep input information; the last block rises then compresses while labels grow; the
    middle block compresses more in the seeds that generalize better."""
    j = 0.01 * seed
    return run("e2e", seed, 0.95 + j, x=[[5, 5, 5], [9, 8, 9 + j], [9, 7 - 10 * j, 6 + j]], y=[[1, 1, 1], [2, 3, 4], [2, 4, 6]], **kw)


def layerwise_like(seed: int, regime: str = "layerwise", **kw) -> Run:
    """Every block loses input information alike; the middle block compresses a little, more in the seeds
    that generalize better; lower accuracy."""
    j = 0.01 * seed
    return run(regime, seed, 0.85 + j, x=[[5, 5, 5], [4, 6, 4], [3 + j, 6 - 10 * j, 3]], y=[[1, 1, 1], [2, 2, 2], [3, 3, 3]], **kw)


SEEDS = range(5)


def test_the_claims_are_supported_by_runs_that_behave_as_the_paper_says():
    runs = [e2e_like(s) for s in SEEDS] + [layerwise_like(s) for s in SEEDS]
    results = {r.key: r for r in (check(runs) for check in claims.CHECKS)}
    assert results["accuracy"].verdicts == [SUPPORTED]
    assert results["roles"].verdicts == [SUPPORTED]
    assert results["input-information"].verdicts == [SUPPORTED]
    assert results["bottleneck"].verdicts == [SUPPORTED]
    # within each regime, the seeds whose middle block compresses more are the more accurate ones
    assert results["compression-generalization"].verdicts == [SUPPORTED]
    for key in ("roles", "input-information", "bottleneck", "compression-generalization"):
        assert results[key].by_estimator == {e: [SUPPORTED] for e in claims.ESTIMATORS}, key


def test_the_claims_are_not_supported_by_runs_that_contradict_the_paper():
    runs = [layerwise_like(s, "e2e") for s in SEEDS] + [e2e_like(s) for s in SEEDS]
    runs = [dataclass_replace(r, regime="layerwise", family="layer-wise", baseline=False) if i >= len(SEEDS) else r
            for i, r in enumerate(runs)]
    results = {r.key: r for r in (check(runs) for check in claims.CHECKS)}
    assert results["accuracy"].verdicts == [NOT_SUPPORTED]
    assert results["roles"].verdicts == [NOT_SUPPORTED]
    assert results["input-information"].verdicts == [NOT_SUPPORTED]
    assert results["bottleneck"].verdicts == [NOT_SUPPORTED]  # the "e2e" runs here never compress their last block


def test_a_verdict_of_the_papers_estimator_alone_is_inconclusive_when_the_scale_invariant_ones_disagree():
    # under the scale-invariant estimators every e2e block moves alike and keeps as little input information
    alike = Plane((0, 1, 2), np.array([[5.0, 5, 5], [4, 4, 4], [3, 3, 3]]), np.array([[1.0, 1, 1], [2, 2, 2], [3, 3, 3]]))
    runs = [e2e_like(s, other=alike) for s in SEEDS] + [layerwise_like(s) for s in SEEDS]
    results = {r.key: r for r in (check(runs) for check in claims.CHECKS)}
    for key in ("roles", "input-information"):
        assert results[key].by_estimator["nhsic"] == [SUPPORTED], key
        assert results[key].by_estimator["cka_median"] != [SUPPORTED], key
        assert results[key].verdicts == [INCONCLUSIVE], key
    assert results["accuracy"].verdicts == [SUPPORTED]  # not a claim about the information plane


def test_only_the_papers_estimator_recorded_gives_no_information_plane_verdict():
    runs = [e2e_like(s, estimators=("nhsic",)) for s in SEEDS] + [layerwise_like(s, estimators=("nhsic",)) for s in SEEDS]
    results = {r.key: r for r in (check(runs) for check in claims.CHECKS)}
    assert results["roles"].by_estimator == {"nhsic": [SUPPORTED]}
    assert results["roles"].verdicts == [INCONCLUSIVE]
    assert any("not recorded by the probe" in n for n in results["roles"].notes)


def test_compression_and_generalization_are_correlated_within_regimes_not_across_them():
    # between regimes: e2e compresses more and is more accurate; within each regime the relation is reversed
    def middle(regime: str, seed: int, fall: float, acc: float) -> Run:
        return run(regime, seed, acc, x=[[5, 5, 5], [6, 8, 6], [6, 8 - fall, 6]], y=[[1, 1, 1], [2, 2, 2], [3, 3, 3]])

    runs = ([middle("e2e", s, 2.0 + 0.1 * s, 0.95 - 0.01 * s) for s in SEEDS]
            + [middle("layerwise", s, 0.5 + 0.1 * s, 0.85 - 0.01 * s) for s in SEEDS])
    pooled, _ = scipy_spearman([claims.middle_compression(r) for r in runs], [r.test_accuracy for r in runs])
    assert pooled > 0  # a pooled correlation would call this support
    result = claims.check_compression_generalization(runs)
    assert result.verdicts == [NOT_SUPPORTED]


def scipy_spearman(x, y):
    from scipy.stats import spearmanr

    r = spearmanr(x, y)
    return float(r.statistic), float(r.pvalue)


def dataclass_replace(r: Run, **changes) -> Run:
    import dataclasses

    return dataclasses.replace(r, **changes)


def test_one_seed_is_never_enough_for_a_verdict():
    results = [check([e2e_like(0), layerwise_like(0)]) for check in claims.CHECKS]
    assert all(v == INCONCLUSIVE for r in results for v in r.verdicts)


def test_the_claims_section_renders_from_real_records(store, tmp_path):
    suite = make_suite('[[tasks]]\nname = "digits-mlp"\nparams = { depth = 3, width = 16 }\nbudget = { epochs = 2 }\n'
                       '[[regimes]]\nname = "e2e"\n[[regimes]]\nname = "layerwise"',
                       seeds="[0, 1]", probe='probe_size = 60\nestimators = ["nhsic", "nhsic_median", "cka_median"]')
    report = run_suite(suite, store, progress=False, log=lambda line: None)
    assert report.ok and report.ran == 4
    page = write_report(suite, store, tmp_path / "report", sections=["table", "sakamoto2024-claims"]).read_text()
    for title in ("E2E training beats layer-wise training", "differentiate their roles", "loses input information early",
                  "information-bottleneck principle", "Middle-layer compression is linked to generalization"):
        assert title in page
    e2e_acc = statistics.fmean(r.summary["test_accuracy"] for r in store if r.regime_label == "e2e")
    assert f"{e2e_acc:.4f}" in page  # the numbers come from the records
    assert "seeds [0, 1]" in page and "2 epochs" in page
    assert sum(page.count(f"**{v}**") for v in (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)) >= 5
    for name in ("nHSIC (paper) alone", "nHSIC, median width alone", "CKA, median width alone"):
        assert name in page  # every estimator's verdict side by side
