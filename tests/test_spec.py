"""Suite files: valid ones resolve; malformed ones get one clear message naming file and field."""

from __future__ import annotations

import pytest

from suite.spec import SpecError, load_suite, parse_suite, shipped_suites

GOOD = """
[suite]
name = "ok"
version = "1.2"
seeds = [0, 1]

[[tasks]]
name = "digits-mlp"
params = { depth = 2, width = 16 }
budget = { epochs = 3 }

[[regimes]]
name = "e2e"

[[regimes]]
name = "layerwise"
"""


def problems(text: str) -> str:
    with pytest.raises(SpecError) as info:
        parse_suite(text, source="bad.toml")
    return str(info.value)


def test_valid_suite_resolves_params_defaults_and_budget_overrides():
    suite = parse_suite(GOOD)
    task = suite.tasks[0]
    assert task.params.depth == 2 and task.params.width == 16
    assert task.budget.epochs == 3
    assert task.budget.batch_size == task.cls.default_budget.batch_size
    assert [r.label for r in suite.regimes] == ["e2e", "layerwise"]
    assert suite.seeds == (0, 1)


def test_every_shipped_suite_is_valid():
    for name in shipped_suites():
        assert load_suite(name).name == name


def test_toml_syntax_error_names_the_file():
    msg = problems('[suite\nname = "x"')
    assert "bad.toml" in msg and "TOML syntax error" in msg


def test_unknown_field_suggests_the_close_match():
    msg = problems(GOOD.replace("seeds = [0, 1]", "seeds = [0, 1]\nseed = 3"))
    assert "suite.seed: unknown field; did you mean 'seeds'?" in msg


def test_unknown_task_name_suggests_registered_names():
    msg = problems(GOOD.replace('name = "digits-mlp"', 'name = "digit-mlp"'))
    assert "tasks[0].name: unknown task 'digit-mlp'; did you mean 'digits-mlp'" in msg


def test_unknown_regime_name_suggests_registered_names():
    msg = problems(GOOD.replace('name = "layerwise"', 'name = "layerwize"'))
    assert "regimes[1].name: unknown regime 'layerwize'; did you mean 'layerwise'" in msg


def test_wrong_type_names_field_and_value():
    msg = problems(GOOD.replace("depth = 2", 'depth = "deep"'))
    assert "tasks[0].params.depth" in msg and "'deep'" in msg


def test_unknown_task_param_is_rejected():
    msg = problems(GOOD.replace("depth = 2", "detph = 2"))
    assert "tasks[0].params.detph: unknown field; did you mean 'depth'?" in msg


def test_empty_seed_list_is_rejected():
    msg = problems(GOOD.replace("seeds = [0, 1]", "seeds = []"))
    assert "suite.seeds" in msg


def test_negative_epochs_are_rejected():
    msg = problems(GOOD.replace("epochs = 3", "epochs = -1"))
    assert "tasks[0].budget.epochs" in msg and "-1" in msg


def test_bad_version_and_duplicate_seeds_are_both_reported():
    msg = problems(GOOD.replace('version = "1.2"', 'version = "one"').replace("[0, 1]", "[1, 1]"))
    assert "suite.version" in msg and "suite.seeds" in msg


def test_missing_required_table():
    msg = problems(GOOD.split("[[regimes]]")[0])
    assert "regimes: required field is missing" in msg


def test_same_regime_twice_needs_a_label():
    text = GOOD + '\n[[regimes]]\nname = "e2e"\n'
    assert "labelled 'e2e'" in problems(text)
    labelled = parse_suite(GOOD + '\n[[regimes]]\nname = "e2e"\nlabel = "e2e-again"\n')
    assert [r.label for r in labelled.regimes] == ["e2e", "layerwise", "e2e-again"]


def test_unknown_suite_name_suggests_shipped_suites():
    with pytest.raises(SpecError) as info:
        load_suite("defualt")
    assert "did you mean 'default'" in str(info.value)
