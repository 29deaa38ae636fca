"""The breakdown analysis on synthetic records: the breakdown point, "none in range", the report section."""

from __future__ import annotations

import json

import pytest

from conftest import make_suite
from suite.reports.breakdown import UNKNOWN_SIZE_MARGIN, chance_margin
from suite.reports.breakdown import analyze as analyze_results
from suite.plan import plan
from suite.records import EpochRecord, Provenance, Record, Reinitialization, SplitSizes, SuiteRef
from suite.reports import write_report
from suite.results import ResultSet

PROVENANCE = Provenance(task_code_sha256="t", regime_code_sha256="r", backend="tensorflow", device="cpu", packages={},
                        platform="test", git_commit=None, started_at="", finished_at="", hostname="test")


def record(task: str, params: dict, regime: str, seed: int, curve: list[float], *, target: float = 0.8, chance: float = 0.5,
           reinitialized_after: int | None = None, cell_hash: str | None = None, budget_epochs: int | None = None,
           validation: int | None = 400, test_curve: list[float] | None = None) -> Record:
    """A finished record whose validation accuracy follows ``curve`` (epochs 1..len(curve)) on ``validation``
    examples, and its test accuracy ``test_curve`` (default: the same). ``validation=None``: a record made
    before the validation protocol (no validation split, no split sizes; ``curve`` is the test accuracy)."""
    test_curve = test_curve or curve
    val = (lambda a: a) if validation is not None else (lambda a: None)
    history = [EpochRecord(epoch=0, train_loss=None, train_accuracy=None, test_accuracy=chance, val_accuracy=val(chance),
                           seconds=0.0, examples=0, steps=0)]
    history += [EpochRecord(epoch=e, train_loss=0.5, train_accuracy=0.5, test_accuracy=t, val_accuracy=val(a), seconds=float(e),
                            examples=100 * e, steps=e)
                for e, (a, t) in enumerate(zip(curve, test_curve), start=1)]
    hit = next((h.epoch for h in history[1:] if (h.val_accuracy if validation is not None else h.test_accuracy) >= target), None)
    summary = {"test_accuracy": test_curve[-1], "epochs_to_target": hit}
    if validation is not None:
        summary["val_accuracy"] = curve[-1]
    return Record(
        cell_hash=cell_hash or f"{task}-{params}-{regime}-{seed}",
        cell={"task": {"name": task, "version": "1.0", "params": params}, "budget": {"epochs": budget_epochs or len(curve)},
              "regime": {"name": regime.split("[")[0], "version": "1.0", "params": {}}, "seed": seed},
        suite=SuiteRef(name="t", version="1.0", sha256="0"),
        task_label=task, regime_label=regime, status="ok", chance_level=chance, target_accuracy=target, reinitialization=None if reinitialized_after is None else Reinitialization(block="block1", after_epoch=reinitialized_after),
        history=history, summary=summary,
        splits=SplitSizes(train=3600, validation=validation, test=1000) if validation is not None else None,
        provenance=PROVENANCE,
    ).sealed()


def analyze(records: list[Record], **kwargs):
    """The breakdown analysis of bare records (families from the registered regimes: e2e and modular)."""
    return analyze_results(ResultSet.from_records(records), **kwargs)


def sweep(e2e_final: dict[int, float], modular_final: dict[int, float], task: str = "parity-of-digits", **kwargs) -> list[Record]:
    """Two seeds per knob value; e2e and modular end at the given accuracies (seeds +-0.01)."""
    out = []
    for k in e2e_final:
        for seed, d in ((0, -0.01), (1, 0.01)):
            out.append(record(task, {"k": k, "width": 64}, "e2e", seed, [0.5, e2e_final[k] + d], **kwargs))
            out.append(record(task, {"k": k, "width": 64}, "modular", seed, [0.5, modular_final[k] + d], **kwargs))
    return out


def test_breakdown_point_is_the_first_knob_where_e2e_is_at_chance_and_modular_reaches_the_target():
    (fam,) = analyze(sweep({1: 0.97, 2: 0.9, 3: 0.52, 4: 0.5}, {1: 0.97, 2: 0.95, 3: 0.9, 4: 0.85}))
    assert (fam.task, fam.knob, fam.knob_values) == ("parity-of-digits", "k", [1, 2, 3, 4])
    assert fam.breakdown_point == 3
    assert fam.chance == 0.5 and fam.target == 0.8 and fam.margin == pytest.approx(0.075)
    assert (fam.split, fam.split_size) == ("validation", 400)
    assert "k = 3" in fam.verdict and "0.520 ± 0.014 validation accuracy" in fam.verdict and "2/2 seeds" in fam.verdict
    assert fam.point(3, "e2e").accuracy_mean == pytest.approx(0.52)
    assert fam.point(2, "modular").epochs_to_target == 2


def test_no_breakdown_point_when_e2e_stays_above_the_margin():
    (fam,) = analyze(sweep({1: 0.97, 2: 0.9, 3: 0.6}, {1: 0.97, 2: 0.95, 3: 0.9}))
    assert fam.breakdown_point is None
    assert fam.verdict.startswith("none in range (k = 1..3): e2e stays above chance + margin (0.575)")


def test_no_breakdown_point_when_modular_misses_the_target_where_e2e_breaks():
    (fam,) = analyze(sweep({1: 0.97, 2: 0.5}, {1: 0.97, 2: 0.7}))
    assert fam.breakdown_point is None
    assert "within the margin of chance from k = 2 on" in fam.verdict and "ends below the target" in fam.verdict


def test_modular_is_judged_on_its_final_accuracy_not_on_its_best_epoch():
    recs = sweep({1: 0.5}, {1: 0.9})
    for seed in (0, 1):  # both seeds pass the target at epoch 1, then fall below it
        recs[2 * seed + 1] = record("parity-of-digits", {"k": 1, "width": 64}, "modular", seed, [0.9, 0.7])
    (fam,) = analyze(recs)
    assert fam.point(1, "modular").reached == 2 and fam.breakdown_point is None


def test_modular_passes_on_its_mean_final_accuracy_over_seeds_like_e2e():
    recs = sweep({1: 0.5}, {1: 0.9})
    recs[1] = record("parity-of-digits", {"k": 1, "width": 64}, "modular", 0, [0.5, 0.78])  # one seed ends below 0.8
    recs[3] = record("parity-of-digits", {"k": 1, "width": 64}, "modular", 1, [0.5, 0.84])  # the mean, 0.81, is above
    (fam,) = analyze(recs)
    assert fam.point(1, "modular").reached == 1 and fam.breakdown_point == 1


def test_the_margin_is_three_binomial_standard_errors_of_chance_on_the_judged_split():
    assert chance_margin(0.5, 1000) == pytest.approx(0.04743, abs=1e-5)
    assert analyze(sweep({1: 0.5}, {1: 0.9}, validation=100))[0].margin == pytest.approx(0.15)
    assert analyze(sweep({1: 0.5}, {1: 0.9}, chance=0.1, target=0.5))[0].margin == pytest.approx(3 * 0.3 / 20)


def test_records_without_split_sizes_are_judged_on_test_with_the_fallback_margin():
    (fam,) = analyze(sweep({1: 0.5}, {1: 0.9}, validation=None))
    assert (fam.split, fam.split_size, fam.margin) == ("test", None, UNKNOWN_SIZE_MARGIN)


def test_e2e_is_judged_on_validation_accuracy_not_test_accuracy():
    recs = sweep({1: 0.5}, {1: 0.9})
    for seed in (0, 1):  # at chance on test, learned on validation: not broken down
        recs[2 * seed] = record("parity-of-digits", {"k": 1, "width": 64}, "e2e", seed, [0.5, 0.9], test_curve=[0.5, 0.5])
    (fam,) = analyze(recs)
    assert fam.point(1, "e2e").test_accuracy_mean == 0.5 and fam.breakdown_point is None


def test_the_margin_is_inclusive_and_configurable():
    recs = sweep({1: 0.55, 2: 0.5}, {1: 0.9, 2: 0.9})
    assert analyze(recs, margin=0.05)[0].breakdown_point == 1  # 0.55 is within chance + 0.05
    assert analyze(recs, margin=0.02)[0].breakdown_point == 2


def test_families_are_told_apart_by_their_other_params():
    recs = sweep({1: 0.5}, {1: 0.9})
    recs += [record("parity-of-digits", {"k": 1, "width": 8}, "e2e", 0, [0.9]), record("parity-of-digits", {"k": 1, "width": 8}, "modular", 0, [0.9])]
    labels = sorted(f.label for f in analyze(recs))
    assert labels == ["parity-of-digits[width=64]", "parity-of-digits[width=8]"]


def test_time_to_target_of_module_isolation_counts_from_the_reinitialization():
    rec = record("parity-of-digits", {"k": 1}, "module-isolation", 0, [0.6, 0.85, 0.5, 0.6, 0.9],
                 reinitialized_after=2)
    (fam,) = analyze([rec])
    point = fam.point(1, "module-isolation")
    assert point.epochs_to_target == 3 and point.seconds_to_target == 3.0


def test_tasks_without_a_knob_are_left_out():
    assert analyze([record("digits-mlp", {"depth": 2}, "e2e", 0, [0.9])]) == []


def test_the_report_section_names_the_breakdown_point_and_writes_its_plot_and_numbers(store, tmp_path):
    body = "\n".join(f'[[tasks]]\nname = "sparse-parity"\nparams = {{ k = {k}, n = 12 }}\n' for k in (2, 3, 4))
    body += '\n[[tasks]]\nname = "digits-mlp"\n'
    body += "".join(f'\n[[regimes]]\nname = "{r}"\n' for r in ("e2e", "modular", "module-isolation"))
    suite = make_suite(body, seeds="[0, 1]")
    finals = {("e2e", 2): 1.0, ("e2e", 3): 0.8, ("e2e", 4): 0.51, ("modular", 2): 1.0, ("modular", 3): 1.0, ("modular", 4): 0.99,
              ("module-isolation", 2): 1.0, ("module-isolation", 3): 0.97, ("module-isolation", 4): 0.6}
    for cell in plan(suite):
        if cell.not_applicable:
            continue
        name, regime = cell.task.cls.name, cell.regime.label
        if name == "digits-mlp":
            store.put(record(name, cell.key()["task"]["params"], regime, cell.seed, [0.9], target=0.95, chance=0.1, cell_hash=cell.hash))
            continue
        k = cell.task.params.k
        store.put(record(name, cell.key()["task"]["params"], regime, cell.seed, [0.5, 0.6, finals[regime, k]], target=0.95, cell_hash=cell.hash))
    page = write_report(suite, store, tmp_path / "report", sections=["breakdown"])
    text = page.read_text()
    assert "| sparse-parity | k      | 2, 3, 4 | 4 " in text
    assert "breakdown point k = 4: e2e ends at 0.510 ± 0.000" in text
    assert "| 4 ◀ |" in text
    assert (tmp_path / "report" / "breakdown-sparse-parity.png").stat().st_size > 10_000
    assert (tmp_path / "report" / "breakdown-sparse-parity.pdf").read_bytes()[:5] == b"%PDF-"  # side by side, in the project's style
    assert "([PDF](breakdown-sparse-parity.pdf))" in text
    numbers = json.loads((tmp_path / "report" / "breakdown.json").read_text())
    (family,) = numbers["families"]
    assert family["breakdown_point"] == 4 and family["chance"] == 0.5 and family["target"] == 0.95
    assert {p["regime"] for p in family["points"]} == {"e2e", "modular", "module-isolation"}


def test_not_applicable_regimes_show_as_na_in_the_family_table():
    from suite.reports.breakdown import family_table

    (fam,) = analyze(sweep({1: 0.5}, {1: 0.9}))
    table = family_table(fam, not_applicable=["modular-finetune"])
    assert table.splitlines()[0].split("|")[1:-1][-1].strip() == "modular-finetune"
    assert table.splitlines()[2].rstrip("| ").endswith("n/a")


def test_a_run_that_diverged_before_its_first_epoch_shows_as_diverged():
    from suite.reports.breakdown import family_table

    recs = sweep({1: 0.5, 2: 0.5}, {1: 0.9, 2: 0.9})
    broken = record("parity-of-digits", {"k": 1, "width": 64}, "layerwise", 0, [0.5])
    recs.append(broken.model_copy(update={"status": "diverged", "summary": {}}))
    (fam,) = analyze(recs)
    assert fam.point(1, "layerwise").diverged == 1 and fam.breakdown_point == 1
    assert "| diverged" in family_table(fam).splitlines()[2]


def test_the_measured_block_of_docs_breakdown_md_is_what_the_committed_records_give():
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "bench" / "breakdown_doc.py"
    spec = importlib.util.spec_from_file_location("breakdown_doc", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0  # regenerate with `python bench/breakdown_doc.py`
