"""Third-party report sections and estimators: registered from a plugin file, used by `run` and `report`."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import make_suite
from suite import registry
from suite.cli import app
from suite.executor import run_suite
from suite.registry import RegistryError, load_plugin_file
from suite.reports import write_report
from suite.results import ResultSet

PLUGIN = textwrap.dedent(
    '''
    import numpy as np

    from suite.estimators import Estimator, register
    from suite.reports import section


    def linear_cka(reference, representation):
        """Linear CKA of two samples (rows are examples)."""
        a = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
        b = np.asarray(representation, dtype=np.float64).reshape(len(representation), -1)
        a, b = a - a.mean(axis=0), b - b.mean(axis=0)
        cross = np.linalg.norm(a.T @ b) ** 2
        return float(cross / (np.linalg.norm(a.T @ a) * np.linalg.norm(b.T @ b)))


    register(Estimator("plugin-linear-cka", "0.1", "linear CKA (a plugin's estimator)", measure=linear_cka))


    @section("plugin-final-cka")
    def final_cka(ctx):
        """Mean final linear CKA of the last block with the labels."""
        finals = []
        for result in ctx.finished:
            series = result.probe_series("plugin-linear-cka_y")
            if series is not None:
                finals.append(series[1][-1, -1])
        return f"## Plugin section\\n\\nfinal linear CKA(Y; T_L) = {np.mean(finals):.6f} over {len(finals)} runs\\n"
    '''
)


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    path = tmp_path_factory.mktemp("plugin") / "my_analysis.py"
    path.write_text(PLUGIN, encoding="utf-8")
    load_plugin_file(path)
    return path


def suite_with_plugin():
    return make_suite('[[tasks]]\nname = "digits-mlp"\nparams = { depth = 2, width = 16 }\nbudget = { epochs = 2 }\n'
                      '[[regimes]]\nname = "e2e"\n\n[report]\nsections = ["table", "plugin-final-cka"]',
                      seeds="[0, 1]", probe='probe_size = 60\nestimators = ["nhsic", "plugin-linear-cka"]')


def test_a_plugin_estimator_and_report_section_are_used_by_run_and_report(plugin, store, tmp_path):
    assert "plugin-linear-cka" in registry.estimators and "plugin-final-cka" in registry.reports
    suite = suite_with_plugin()
    report = run_suite(suite, store, progress=False, log=lambda line: None, plugins=[plugin])
    assert report.ok and report.ran == 2
    results = ResultSet.from_suite(suite, store)
    for r in results:
        measured = r.history[-1].probe
        assert measured["estimators"]["plugin-linear-cka"] == "0.1"  # the version is recorded
        values = measured["plugin-linear-cka_y"]
        assert len(values) == 2 and all(0.0 < v <= 1.0 for v in values)
        assert len(measured["nhsic_y"]) == 2  # the built-in still runs beside it
    expected = np.mean([r.probe_series("plugin-linear-cka_y")[1][-1, -1] for r in results])
    page = write_report(suite, store, tmp_path / "report").read_text(encoding="utf-8")
    assert "## Results" in page and "## Plugin section" in page
    assert f"final linear CKA(Y; T_L) = {expected:.6f} over 2 runs" in page


def test_the_estimator_version_is_part_of_the_cell_hash(plugin):
    from suite.plan import plan

    before = {c.hash for c in plan(suite_with_plugin())}
    estimator = registry.estimators.get("plugin-linear-cka")
    registry.estimators._entries["plugin-linear-cka"] = type(estimator)(estimator.name, "0.2", estimator.description, estimator.measure)
    try:
        assert before.isdisjoint(c.hash for c in plan(suite_with_plugin()))
    finally:
        registry.estimators._entries["plugin-linear-cka"] = estimator


def test_the_command_line_lists_plugin_sections_and_estimators(plugin):
    runner = CliRunner()
    out = runner.invoke(app, ["list", "estimators", "--plugin", str(plugin)])
    assert out.exit_code == 0 and "plugin-linear-cka" in out.output and "nhsic" in out.output
    out = runner.invoke(app, ["list", "reports", "--plugin", str(plugin)])
    assert out.exit_code == 0 and "plugin-final-cka" in out.output and "sakamoto2024-claims" in out.output


def test_a_section_name_taken_by_a_built_in_is_a_collision(tmp_path):
    path = tmp_path / "clash.py"
    path.write_text("from suite.reports import section\n\n@section('table')\ndef mine(ctx):\n    return ''\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="duplicate report section name 'table'"):
        load_plugin_file(path)


def test_an_unknown_estimator_in_a_suite_is_a_clear_error():
    from suite.spec import SpecError

    with pytest.raises(SpecError, match="no-such-estimator"):
        make_suite('[[tasks]]\nname = "digits-mlp"\n[[regimes]]\nname = "e2e"', probe='estimators = ["no-such-estimator"]')
