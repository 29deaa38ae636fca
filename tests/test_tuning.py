"""The tuning track: `[tuning]` grids, trials as ordinary cells, selection per seed on validation accuracy."""

from __future__ import annotations

import pytest

from conftest import make_suite
from suite import stats
from suite.executor import run_suite
from suite.plan import Cell, plan
from suite.records import Provenance, Record, SuiteRef
from suite.results import ResultSet
from suite.spec import MAX_TRIALS, SpecError
from suite.tables import render, rows

TINY = """
[[tasks]]
name = "digits-mlp"
params = { depth = 2, width = 16 }
budget = { epochs = 1 }

[[regimes]]
name = "e2e"

[[regimes]]
name = "hsic-bottleneck-cka"
"""
HSIC_ONLY = TINY.replace('[[regimes]]\nname = "e2e"\n\n', "")
E2E_ONLY = TINY.replace('\n[[regimes]]\nname = "hsic-bottleneck-cka"\n', "")
LR_GRID = "\n[tuning]\nlearning_rate = [3e-4, 1e-3, 3e-3]\n"
# The cells of TINY (seeds 0 and 1, backend "tensorflow") as planned without tuning (under the validation
# protocol's cell keys): a suite without [tuning] must keep them, or every stored record would be orphaned.
# planned before tuning existed; updated when the default estimators became nhsic, nhsic_median, cka, cka_median
UNTUNED_HASHES = ["bdf6265f155a4c95", "2e42d0c9c22b38d5", "f67e6bdebf00529a", "81e8073717c9e600"]

PROVENANCE = Provenance(task_code_sha256="t", regime_code_sha256="r", backend="tensorflow", device="cpu", packages={},
                        platform="test", git_commit=None, started_at="", finished_at="", hostname="test")


def problems(body: str) -> list[str]:
    with pytest.raises(SpecError) as exc:
        make_suite(body)
    return exc.value.problems


def record(cell: Cell, val: float | None, test: float, status: str = "ok") -> Record:
    """A sealed record of ``cell`` with validation and test accuracy in its summary."""
    summary = {} if status == "failed" else {"val_accuracy": val, "test_accuracy": test}
    return Record(cell_hash=cell.hash, cell=cell.key(), suite=SuiteRef(name="t", version="1.0", sha256="0"),
                  task_label=cell.task.label, regime_label=cell.regime.label, status=status,  # type: ignore[arg-type]
                  error="boom" if status == "failed" else None, summary=summary, provenance=PROVENANCE).sealed()


# -- suite files ---------------------------------------------------------------------------------------------

def test_the_tuning_table_gives_every_regime_the_same_learning_rate_trials():
    suite = make_suite(TINY + LR_GRID)
    assert suite.n_trials == 3
    for regime in suite.regimes:
        assert [t.as_dict() for t in regime.trials] == [{"learning_rate": 3e-4}, {"learning_rate": 1e-3}, {"learning_rate": 3e-3}]
        assert all(t.params == regime.params for t in regime.trials)


def test_a_regime_may_tune_its_own_params_or_learning_rates_instead():
    body = TINY.replace('name = "hsic-bottleneck-cka"', 'name = "hsic-bottleneck-cka"\ntuning = { params = { lam = [0.1, 1, 10.0] } }')
    suite = make_suite(body + LR_GRID)
    e2e, hsic = suite.regimes
    assert [t.learning_rate for t in e2e.trials] == [3e-4, 1e-3, 3e-3]
    assert [t.as_dict() for t in hsic.trials] == [{"lam": 0.1}, {"lam": 1.0}, {"lam": 10.0}]
    assert [t.params.lam for t in hsic.trials] == [0.1, 1.0, 10.0] and all(t.learning_rate is None for t in hsic.trials)
    grid = TINY.replace('name = "hsic-bottleneck-cka"', 'name = "hsic-bottleneck-cka"\ntuning = { learning_rate = [1e-3, 1e-2], params = { lam = [0.0] } }')
    grid = grid.replace('name = "e2e"', 'name = "e2e"\ntuning = { learning_rate = [1e-3, 1e-2] }')
    assert [t.as_dict() for t in make_suite(grid).regimes[1].trials] == [{"learning_rate": 1e-3, "lam": 0.0},
                                                                          {"learning_rate": 1e-2, "lam": 0.0}]


def test_unequal_trial_counts_are_rejected_naming_the_regime_and_both_counts():
    two = TINY.replace('name = "hsic-bottleneck-cka"', 'name = "hsic-bottleneck-cka"\ntuning = { params = { lam = [0.1, 1.0] } }')
    (p,) = problems(two + LR_GRID)
    assert p.startswith("regimes[1].tuning: 'hsic-bottleneck-cka' gets 2 trials, but the suite's [tuning] gives 3;")
    (p,) = problems(two)  # no [tuning]: e2e runs untuned, once
    assert p.startswith("regimes[1].tuning: 'hsic-bottleneck-cka' gets 2 trials, but 'e2e' (untuned) gets 1;")
    assert "same number of trials" in p


@pytest.mark.parametrize("value, message", [
    ("nan", "must be a finite number"), ("inf", "must be a finite number"), ("-1e-3", "greater than 0"),
    ("0.0", "greater than 0"), ("20.0", "less than or equal to 10"), ('"0.1"', "a valid number"), ("true", "a valid number"),
])
def test_learning_rates_must_be_finite_positive_numbers_within_the_cap(value, message):
    (p,) = problems(TINY + f"\n[tuning]\nlearning_rate = [1e-3, {value}]\n")
    assert p.startswith("tuning.learning_rate[1]: ") and message in p
    (p,) = problems(TINY.replace('name = "e2e"', f'name = "e2e"\ntuning = {{ learning_rate = [{value}] }}'))
    assert p.startswith("regimes[0].tuning.learning_rate[0]: ") and message in p


def test_tuned_params_are_validated_against_the_regimes_params():
    body = TINY.replace('name = "hsic-bottleneck-cka"', 'name = "hsic-bottleneck-cka"\ntuning = { params = { lamda = [0.1], sigma = [-1.0] } }')
    assert problems(body.replace('name = "e2e"', 'name = "e2e"\ntuning = { learning_rate = [1e-3] }')) == [
        "regimes[1].tuning.params.lamda: unknown field; did you mean 'lam'?",
        "regimes[1].tuning.params.sigma: Input should be greater than 0 (got -1.0)",
    ]
    (p,) = problems(TINY.replace('name = "e2e"', 'name = "e2e"\ntuning = { params = { lam = [0.1] } }'))
    assert p.startswith("regimes[0].tuning.params.lam: unknown field")  # e2e has no params


def test_the_number_of_trials_is_capped():
    many = ", ".join(f"{(i + 1) / 1000}" for i in range(MAX_TRIALS + 1))
    (p,) = problems(TINY + f"\n[tuning]\nlearning_rate = [{many}]\n")
    assert p.startswith("tuning.learning_rate: ") and f"at most {MAX_TRIALS} items" in p
    grid = 'tuning = { learning_rate = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 2.0, 3.0, 4.0, 5.0], params = { lam = [0, 1, 2, 3, 4, 5, 6, 7] } }'
    (p,) = problems(HSIC_ONLY.replace('name = "hsic-bottleneck-cka"', f'name = "hsic-bottleneck-cka"\n{grid}'))
    assert p == f"regimes[0].tuning: 72 trials (the product of the grid's lengths); a regime has at most {MAX_TRIALS}"


def test_repeated_values_and_an_empty_tuning_table_are_rejected():
    (p,) = problems(TINY + "\n[tuning]\nlearning_rate = [1e-3, 0.001]\n")
    assert p.startswith("tuning.learning_rate: ") and "each value once" in p
    (p,) = problems(HSIC_ONLY.replace('name = "hsic-bottleneck-cka"', 'name = "hsic-bottleneck-cka"\ntuning = { params = { lam = [1, 1.0] } }'))
    assert "two trials are the same setting" in p
    (p,) = problems(TINY.replace('name = "e2e"', 'name = "e2e"\ntuning = {}'))
    assert p.startswith("regimes[0].tuning: ") and "needs learning_rate or params" in p
    (p,) = problems(TINY + "\n[tuning]\n")
    assert p == "tuning.learning_rate: required field is missing"


# -- planning ------------------------------------------------------------------------------------------------

def test_planning_crosses_tasks_regimes_seeds_and_trials():
    suite = make_suite(TINY + LR_GRID, seeds="[0, 1]")
    cells = plan(suite, "tensorflow")
    assert len(cells) == 1 * 2 * 2 * 3
    assert len({c.hash for c in cells}) == len(cells)
    assert [(c.regime.label, c.seed, c.trial) for c in cells[:4]] == [
        ("e2e", 0, {"learning_rate": 3e-4}), ("e2e", 0, {"learning_rate": 1e-3}), ("e2e", 0, {"learning_rate": 3e-3}),
        ("e2e", 1, {"learning_rate": 3e-4})]
    assert all(c.task.budget.learning_rate == c.trial["learning_rate"] for c in cells)
    assert cells[0].title == "digits-mlp[depth=2,width=16] / e2e / seed 0 / lr=0.0003"
    assert "trial" not in cells[0].key()


def test_a_trial_equal_to_the_default_setting_is_the_untuned_cell():
    untuned = {(c.regime.label, c.seed): c.hash for c in plan(make_suite(TINY), "tensorflow")}
    tuned = plan(make_suite(TINY + LR_GRID), "tensorflow")
    default_lr = [c for c in tuned if c.trial == {"learning_rate": 1e-3}]  # digits-mlp's default learning rate
    assert [c.hash for c in default_lr] == [untuned["e2e", 0], untuned["hsic-bottleneck-cka", 0]]
    assert not {c.hash for c in tuned if c.trial != {"learning_rate": 1e-3}} & set(untuned.values())
    lam = TINY.replace('name = "hsic-bottleneck-cka"', 'name = "hsic-bottleneck-cka"\ntuning = { params = { lam = [0.1, 1.0] } }')
    lam = lam.replace('name = "e2e"', 'name = "e2e"\ntuning = { learning_rate = [1e-3, 3e-3] }')
    hsic = [c for c in plan(make_suite(lam), "tensorflow") if c.regime.label == "hsic-bottleneck-cka"]
    assert hsic[0].hash == untuned["hsic-bottleneck-cka", 0] and hsic[1].hash != hsic[0].hash  # lam = 0.1 is the default
    assert hsic[1].regime.label == "hsic-bottleneck-cka" and hsic[1].regime.params.lam == 1.0


def test_a_suite_without_tuning_plans_the_same_cells_as_before():
    cells = plan(make_suite(TINY, seeds="[0, 1]"), "tensorflow")
    assert [c.hash for c in cells] == UNTUNED_HASHES
    assert all(c.trial is None for c in cells) and cells[0].title == "digits-mlp[depth=2,width=16] / e2e / seed 0"


def test_a_submitted_regime_gets_the_suites_trials():
    from suite.registry import regimes
    from suite.submit import with_regime

    suite, regime = with_regime(make_suite(TINY + LR_GRID), regimes.get("layerwise"))
    assert [t.learning_rate for t in regime.trials] == [3e-4, 1e-3, 3e-3] and suite.regimes[-1] is regime


# -- selection and tables ------------------------------------------------------------------------------------

def tuned_store(store, scores: dict[tuple[str, int], list[tuple[float | None, float, str]]], seeds: str = "[0, 1]"):
    """A tuned suite whose trials have stored records: per (regime, seed), (val, test, status) per trial."""
    suite = make_suite(TINY + LR_GRID, seeds=seeds)
    cells = plan(suite, "tensorflow")
    for (regime, seed), trials in scores.items():
        group = [c for c in cells if c.regime.label == regime and c.seed == seed]
        for cell, (val, test, status) in zip(group, trials):
            if status != "missing":
                store.put(record(cell, val, test, status))
    return suite


def test_selection_keeps_the_trial_with_the_best_validation_accuracy_of_each_seed(store):
    suite = tuned_store(store, {("e2e", 0): [(0.5, 0.99, "ok"), (0.9, 0.7, "ok"), (0.8, 0.8, "ok")],
                                ("e2e", 1): [(0.6, 0.6, "ok"), (0.7, 0.7, "ok"), (0.95, 0.75, "ok")]})
    results = ResultSet.from_suite(suite, store, "tensorflow").where(regime="e2e")
    assert [(r.seed, r.trial, r.score("test_accuracy")) for r in results] == [
        (0, {"learning_rate": 1e-3}, 0.7), (1, {"learning_rate": 3e-3}, 0.75)]  # the test accuracy never selects
    assert results.aggregate("test_accuracy").values == [0.7, 0.75]
    every = ResultSet.from_suite(suite, store, "tensorflow", select=False)
    assert len(every) == 12 and len(every.where(regime="e2e").finished()) == 6  # all trials stay available


def test_ties_go_to_the_first_trial_and_a_failed_trial_never_wins(store):
    suite = tuned_store(store, {("e2e", 0): [(0.8, 0.1, "ok"), (0.8, 0.2, "ok"), (0.7, 0.3, "ok")],
                                ("e2e", 1): [(0.99, 0.9, "failed"), (0.5, 0.5, "ok"), (None, 0.4, "diverged")]})
    e2e = ResultSet.from_suite(suite, store, "tensorflow").where(regime="e2e")
    assert [r.trial["learning_rate"] for r in e2e] == [3e-4, 1e-3]


def test_a_seed_without_a_finished_trial_counts_once(store):
    suite = tuned_store(store, {("e2e", 0): [(0.9, 0.9, "failed"), (0.9, 0.9, "missing"), (0.9, 0.9, "failed")],
                                ("e2e", 1): [(0.5, 0.5, "ok"), (0.6, 0.6, "ok"), (0.7, 0.7, "ok")]})
    results = ResultSet.from_suite(suite, store, "tensorflow")
    e2e, hsic = results.where(regime="e2e"), results.where(regime="hsic-bottleneck-cka")
    assert [r.status for r in e2e] == ["failed", "ok"] and [r.status for r in hsic] == ["missing", "missing"]
    agg = e2e.aggregate("test_accuracy")
    assert (agg.n, agg.failed, agg.missing, agg.values) == (1, 1, 0, [0.7])


def test_the_table_says_which_setting_won_in_every_format(store):
    suite = tuned_store(store, {("e2e", 0): [(0.5, 0.5, "ok"), (0.9, 0.9, "ok"), (0.8, 0.8, "ok")],
                                ("e2e", 1): [(0.5, 0.5, "ok"), (0.9, 0.85, "ok"), (0.8, 0.8, "ok")],
                                ("e2e", 2): [(0.5, 0.5, "ok"), (0.8, 0.8, "ok"), (0.9, 0.95, "ok")]}, seeds="[0, 1, 2]")
    table_rows = rows(ResultSet.from_suite(suite, store, "tensorflow"), ["test_accuracy"])
    assert [(r.regime, r.tuned) for r in table_rows] == [("e2e", "lr=0.001 (2/3), lr=0.003 (1/3)"), ("hsic-bottleneck-cka", "")]
    md = render(table_rows, ["test_accuracy"], "md").splitlines()
    assert md[0].split("|")[-2].strip() == "tuned" and f"0.9000 ± {stats.interval([0.85, 0.95, 0.9]).half_width:.4f}" in md[2] and md[2].split("|")[-2].strip() == "lr=0.001 (2/3), lr=0.003 (1/3)"
    csv_lines = render(table_rows, ["test_accuracy"], "csv").splitlines()
    assert csv_lines[0].endswith(",test_accuracy_n,tuned") and csv_lines[1].endswith(',3,"lr=0.001 (2/3), lr=0.003 (1/3)"')
    for fmt in ("latex", "html"):
        text = render(table_rows, ["test_accuracy"], fmt)
        assert "tuned" in text and "lr=0.001 (2/3), lr=0.003 (1/3)" in text


def test_a_seed_without_a_validation_score_is_shown_unselected(store):
    suite = tuned_store(store, {("e2e", 0): [(None, 0.5, "ok"), (None, 0.9, "ok"), (None, 0.8, "ok")],
                                ("e2e", 1): [(0.5, 0.5, "ok"), (0.9, 0.85, "ok"), (0.8, 0.8, "ok")]})
    (e2e, _) = rows(ResultSet.from_suite(suite, store, "tensorflow"), ["test_accuracy"])
    assert e2e.tuned == "unselected (1/2), lr=0.001 (1/2)"
    assert e2e.metrics["test_accuracy"].values == [0.5, 0.85]  # the first ok trial represents the unselected seed


def test_an_untuned_table_has_no_tuned_column(store):
    suite = make_suite(TINY)
    for cell in plan(suite, "tensorflow"):
        store.put(record(cell, 0.9, 0.9))
    table_rows = rows(ResultSet.from_suite(suite, store, "tensorflow"), ["test_accuracy"])
    assert all(r.tuned == "" for r in table_rows)
    assert "tuned" not in render(table_rows, ["test_accuracy"], "md") and "tuned" not in render(table_rows, ["test_accuracy"], "csv")


# -- end to end ----------------------------------------------------------------------------------------------

def test_trials_run_as_ordinary_cells_and_a_rerun_reuses_them(store):
    suite = make_suite(E2E_ONLY + "\n[tuning]\nlearning_rate = [1e-3, 1e-2]\n", seeds="[0, 1]")
    cells = plan(suite)
    lines: list[str] = []
    report = run_suite(suite, store, progress=False, log=lines.append)
    assert report.ran == 4 and report.ok
    records = [store.get(c.hash) for c in cells]
    assert all(r is not None and r.status == "ok" for r in records)
    assert [r.cell["budget"]["learning_rate"] for r in records] == [1e-3, 1e-2, 1e-3, 1e-2]
    assert sum("(lr=0.01)" in line for line in lines) == 2
    again = run_suite(suite, store, progress=False, log=lines.append)
    assert (again.ran, again.skipped) == (0, 4)
