"""Plots and report sections render from stored records of a tiny suite run with the probe on."""

from __future__ import annotations

import dataclasses

from pathlib import Path

import pytest
from typer.testing import CliRunner

from suite.cli import app
from suite.executor import run_suite
from suite.plan import plan
from suite.plots import by_task, info_plane_figure, write_curves, write_info_planes
from suite.reports import write_report
from suite.results import ResultSet
from suite.spec import parse_suite
from suite.store import Store
from conftest import make_suite

BODY = ('[[tasks]]\nname = "digits-mlp"\nparams = { depth = 3, width = 12 }\nbudget = { epochs = 2 }\n\n'
        '[[regimes]]\nname = "e2e"\n\n[[regimes]]\nname = "layerwise"\n')
PROBE = "probe_size = 60"
SEEDS = "[0, 1]"


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A tiny suite (1 task x 2 regimes x 2 seeds), run once; its file and results directory."""
    root = tmp_path_factory.mktemp("plots")
    suite = make_suite(BODY, name="plots-t", seeds=SEEDS, probe=PROBE)
    store = Store(root / "results")
    report = run_suite(suite, store, progress=False, log=lambda line: None)
    assert report.ok and report.ran == 4
    text = f'[suite]\nname = "plots-t"\nversion = "1.0"\nseeds = {SEEDS}\n\n{BODY}\n\n[metrics.probe]\n{PROBE}\n'
    path = root / "plots-t.toml"
    path.write_text(text + '\n[report]\nsections = ["table", "curves", "information-plane"]\n')
    assert [c.hash for c in plan(parse_suite(path.read_text()))] == [c.hash for c in plan(suite)]
    return suite, store, path


def _is_png(p: Path) -> bool:
    return p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000


def _is_pdf(p: Path) -> bool:
    return p.read_bytes()[:5] == b"%PDF-"


def test_records_are_grouped_per_task_and_regime(finished):
    suite, store, _ = finished
    (group,) = by_task(ResultSet.from_cells(plan(suite), store))
    assert list(group.regimes) == ["e2e", "layerwise"]
    assert all(len(r) == 2 for r in group.regimes.values())
    assert group.target_accuracy == 0.95 and 0 < group.chance_level < 0.2


def test_information_plane_has_a_panel_per_regime_and_a_trajectory_per_block(finished):
    suite, store, _ = finished
    (group,) = by_task(ResultSet.from_cells(plan(suite), store))
    fig = info_plane_figure(group)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["e2e (n=2)", "layerwise (n=2)"]
    for ax in panels:
        paths = [line for line in ax.get_lines() if len(line.get_xdata()) == 3]  # epochs 0, 1, 2
        assert len(paths) == 3  # one per block
    assert panels[0].get_xlabel() == "nHSIC(X; T)" and panels[0].get_ylabel() == "nHSIC(Y; T)"


def test_curves_and_info_planes_are_written_as_png_and_pdf(finished, tmp_path):
    suite, store, _ = finished
    written = write_curves(ResultSet.from_cells(plan(suite), store), tmp_path) + write_info_planes(ResultSet.from_cells(plan(suite), store), tmp_path)
    names = sorted(p.name for p in written)
    assert names == ["curves-digits-mlp-depth-3-width-12.pdf", "curves-digits-mlp-depth-3-width-12.png",
                     "info-plane-digits-mlp-depth-3-width-12.pdf", "info-plane-digits-mlp-depth-3-width-12.png"]
    for p in written:
        assert _is_png(p) if p.suffix == ".png" else _is_pdf(p)


def test_plot_commands_write_figures_from_records_only(finished, tmp_path):
    _, store, path = finished
    runner = CliRunner()
    for kind in ("info-plane", "curves"):
        result = runner.invoke(app, ["plot", kind, str(path), "--results", str(store.root), "--out", str(tmp_path)])
        assert result.exit_code == 0, result.output
        pngs = [Path(line) for line in result.output.split() if line.endswith(".png")]
        assert len(pngs) == 1 and _is_png(pngs[0])


def test_plot_command_without_records_fails_with_a_clear_message(finished, tmp_path):
    _, _, path = finished
    result = CliRunner().invoke(app, ["plot", "curves", str(path), "--results", str(tmp_path / "nothing")])
    assert result.exit_code == 2
    assert "no records in" in result.output


def test_information_plane_is_skipped_for_records_without_probes(finished):
    suite, store, _ = finished
    (group,) = by_task(ResultSet.from_cells(plan(suite), store))
    for regime, records in group.regimes.items():
        group.regimes[regime] = ResultSet(
            dataclasses.replace(r, record=r.record.model_copy(update={"history": [h.model_copy(update={"probe": None}) for h in r.history]}))
            for r in records)
    assert info_plane_figure(group) is None


def test_report_sections_link_existing_figures(finished, tmp_path):
    suite, store, path = finished
    page = write_report(parse_suite(path.read_text(), source=str(path)), store, tmp_path / "report")
    text = page.read_text()
    assert "## Learning curves" in text and "## Information plane" in text and "role_differentiation" in text
    links = [line.split("](")[1].split(")")[0] for line in text.splitlines() if line.startswith("![")]
    assert len(links) == 2
    for link in links:
        assert _is_png(page.parent / link)
