"""``e2ebench verify`` and ``e2ebench reproduce``: a record re-runs from itself alone, agrees when the
training and the probes do (whatever a later version re-derives from them), and says where it differs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from suite.cli import app
from suite.store import Store


@pytest.fixture(scope="module")
def record_file(tmp_path_factory):
    """One cell of the ci suite trained and stored (the smallest probed cell with two blocks or more)."""
    from suite.executor import load_task_data
    from suite.plan import plan
    from suite.records import SuiteRef
    from suite.runner import run_cell
    from suite.spec import load_suite

    spec = load_suite("ci")
    cell = next(c for c in plan(spec) if c.seed == 0 and c.regime.label == "e2e")
    record = run_cell(cell, SuiteRef(name=spec.name, version=spec.version, sha256=""), load_task_data(cell.task))
    store = Store(tmp_path_factory.mktemp("results"))
    store.put(record)
    (path,) = store.files()
    return path


def rewrite(path, tmp_path, change):
    """A copy of the record at ``path`` changed by ``change(dict)`` and sealed again (it still verifies)."""
    from suite.records import Record

    data = json.loads(path.read_text())
    change(data)
    out = tmp_path / "records" / path.name
    out.parent.mkdir(parents=True)
    out.write_text(Record.load(data).sealed().model_dump_json())
    return out


def test_a_record_reproduces_and_verifies(record_file):
    from suite.verify import reproduce, verify

    assert verify(record_file).ok
    r = reproduce(record_file)
    assert r.identical and r.first_difference() is None and r.rescored == []
    assert r.rerun.result_hash == r.original.result_hash


def test_a_stale_derived_summary_is_re_scored_not_a_difference(record_file, tmp_path):
    """Records sealed before an information-plane summary's definition changed still reproduce."""
    from suite import plane
    from suite.verify import reproduce

    derived = sorted(k for k in json.loads(record_file.read_text())["summary"] if plane.is_summary(k))
    assert "role_differentiation" in derived
    path = rewrite(record_file, tmp_path, lambda d: d["summary"].update(role_differentiation=12.5))
    r = reproduce(path)
    assert r.identical and r.rescored == ["role_differentiation"]
    assert r.original.result_hash != r.rerun.result_hash  # the stored hash covers the stale value


def test_a_forged_curve_or_probe_is_a_difference_named_in_words(record_file, tmp_path):
    from suite.verify import reproduce

    def forge_curve(d):
        d["history"][-1]["test_accuracy"] = 1.0

    r = reproduce(rewrite(record_file, tmp_path / "a", forge_curve))
    assert not r.identical and "test_accuracy" in r.first_difference() and "1.0" in r.first_difference()

    def forge_probe(d):
        probe = next(h["probe"] for h in d["history"] if h.get("probe"))
        probe[next(k for k in probe if k != "seconds")] = "forged"

    r = reproduce(rewrite(record_file, tmp_path / "b", forge_probe))
    assert not r.identical and r.first_difference().startswith("the learning curves agree; differs: probe[")
    result = CliRunner().invoke(app, ["reproduce", str(tmp_path / "b" / "records" / record_file.name)])
    assert result.exit_code == 1 and "DIFFERS" in result.output and "probe[" in result.output


def test_on_another_cpu_the_same_computation_up_to_rounding_is_consistent(record_file, tmp_path):
    """A record made on another CPU model (or naming none) whose re-run drifts after the first epoch is
    consistent (exit 0; --exact refuses it); one whose first-epoch loss moved by 1 % is a different
    computation and differs."""
    from suite.verify import reproduce

    def drifted(cpu):
        def change(d):
            d["provenance"]["cpu"] = cpu
            d["history"][1]["train_loss"] *= 1 + 3e-7  # rounding
            d["history"][-1]["test_accuracy"] = max(0.0, d["history"][-1]["test_accuracy"] - 0.02)  # drift, as seeds do
        return change

    other = rewrite(record_file, tmp_path / "other", drifted("Some Other CPU 9000"))
    r = reproduce(other)
    assert not r.identical and r.same_cpu is False and r.consistent
    result = CliRunner().invoke(app, ["reproduce", str(other)])
    assert result.exit_code == 0 and "consistent" in result.output and "Some Other CPU 9000" in result.output
    assert CliRunner().invoke(app, ["reproduce", "--exact", str(other)]).exit_code == 1

    unnamed = rewrite(record_file, tmp_path / "unnamed", drifted(None))
    assert reproduce(unnamed).same_cpu is None and reproduce(unnamed).consistent

    def changed(d):
        d["provenance"]["cpu"] = "Some Other CPU 9000"
        d["history"][1]["train_loss"] *= 1.01

    different = rewrite(record_file, tmp_path / "changed", changed)
    assert not reproduce(different).consistent

    def reinitialized(d):  # another initialization (a seed or model change): the epoch-0 probe moves
        d["provenance"]["cpu"] = "Some Other CPU 9000"
        probe = d["history"][0]["probe"]
        key = next(k for k, v in probe.items() if isinstance(v, list) and v and isinstance(v[0], float))
        probe[key] = [v * (1 + 1e-3) for v in probe[key]]

    assert not reproduce(rewrite(record_file, tmp_path / "reinit", reinitialized)).consistent
    result = CliRunner().invoke(app, ["reproduce", str(different)])
    assert result.exit_code == 1 and "DIFFERS" in result.output


def test_a_record_names_the_cpu_that_made_it(record_file):
    from suite import backend
    from suite.records import Record

    record = Record.load(json.loads(record_file.read_text()))
    assert record.provenance.cpu == backend.cpu_model() and record.provenance.cpu
