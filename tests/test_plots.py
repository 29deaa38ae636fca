"""Plots and report sections render from stored records of a tiny suite run with the probe on; the figure
style (files, text sizes, regime styles, panels, bands) is checked on synthetic results."""

from __future__ import annotations

import dataclasses

from pathlib import Path

import pytest
from matplotlib.text import Text
from typer.testing import CliRunner

from suite import figstyle, stats
from suite.cli import app
from suite.executor import run_suite
from suite.plan import plan
from suite.plots import by_task, curves_figure, info_plane_figure, profiles_figure, seed_band, write_curves, write_info_planes, write_profiles
from suite.profiles import performance_profile
from suite.records import EpochRecord, Provenance, Record, SplitSizes, SuiteRef
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


# ---------------------------------------------------------------------------------------------------------
# The figure style, on synthetic results (no training): files, text sizes, regime styles, panels, bands.


PROVENANCE = Provenance(task_code_sha256="t", regime_code_sha256="r", backend="tensorflow", device="cpu", packages={},
                        platform="test", git_commit=None, started_at="", finished_at="", hostname="test")
REGIMES = ["e2e", "layerwise", "layerwise-seq", "predsim", "feedback-alignment", "direct-feedback-alignment",
           "hsic-bottleneck", "forward-forward"]
BLOCKS = ["conv1", "conv2", "fc1"]


def synthetic(task: str, regime: str, seed: int, epochs: int = 4, scale: float = 1.0, probe: bool = True) -> Record:
    """A finished record whose accuracy rises with the epoch (a little per seed), probed at every epoch; ``scale``
    stretches its information plane (nHSIC(X; T) up to about 3 * scale)."""
    history = []
    for e in range(epochs + 1):
        acc = min(0.1 + 0.2 * e + 0.01 * seed + 0.003 * REGIMES.index(regime), 0.99)
        plane = {"blocks": BLOCKS, "estimators": ["nhsic", "cka"],
                 "nhsic_x": [scale * (1 + e + l) for l in range(3)], "nhsic_y": [0.5 + 0.4 * e + 0.1 * l for l in range(3)],
                 "cka_x": [0.1 * (1 + e) for _ in range(3)], "cka_y": [0.05 * (1 + e) + 0.1 * l for l in range(3)]}
        history.append(EpochRecord(epoch=e, train_loss=1.0 / (1 + e), train_accuracy=acc, test_accuracy=acc, val_accuracy=acc,
                                   seconds=0.5 * e, examples=100 * e, steps=10 * e, probe=plane if probe else None))
    return Record(cell_hash=f"{task}-{regime}-{seed}",
                  cell={"task": {"name": task, "version": "1.0", "params": {}}, "budget": {"epochs": epochs},
                        "regime": {"name": regime, "version": "1.0", "params": {}}, "seed": seed},
                  suite=SuiteRef(name="t", version="1.0", sha256="0"), task_label=task, regime_label=regime, status="ok",
                  chance_level=0.1, target_accuracy=0.8, splits=SplitSizes(train=900, validation=100, test=360),
                  history=history, summary={"test_accuracy": history[-1].test_accuracy, "epochs_to_target": 3},
                  provenance=PROVENANCE).sealed()


def synthetic_results(seeds=(0, 1, 2), regimes=REGIMES[:4], missing=()) -> ResultSet:
    """Two tasks x ``regimes`` x ``seeds``; ``missing`` regimes have no cell on task "b" (so "b" shows fewer regimes).
    The second regime's information plane is 10 times wider than the others'."""
    records = [synthetic(task, regime, seed, scale=10.0 if i == 1 else 1.0)
               for task in ("a", "b") for i, regime in enumerate(regimes) for seed in seeds
               if not (task == "b" and regime in missing)]
    return ResultSet.from_records(records)


def _drawn(fig):
    fig.canvas.draw()  # tick labels exist only once drawn
    return fig


def _small_texts(fig) -> list[tuple[str, float]]:
    """Visible, non-empty text artists below 8 points."""
    return [(t.get_text(), t.get_fontsize()) for t in _drawn(fig).findobj(Text)
            if t.get_visible() and t.get_text().strip() and t.get_fontsize() < figstyle.FONT_SIZE]


def _png_width(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[16:20], "big")


def _style(line) -> tuple:
    """(colour, dash pattern, marker) of a drawn line."""
    return (line.get_color(), line._unscaled_dash_pattern, line.get_marker())  # matplotlib keeps the pattern there


def _regime_lines(ax) -> dict[str, object]:
    return {line.get_label().split(" (")[0]: line for line in ax.get_lines() if not line.get_label().startswith("_")}


def test_every_figure_is_written_as_pdf_with_truetype_fonts_and_png_at_the_chosen_width(tmp_path):
    rs = synthetic_results(seeds=(0, 1), regimes=REGIMES[:2])
    paths = (write_curves(rs, tmp_path / "single") + write_curves(rs, tmp_path / "double", width="double")
             + write_info_planes(rs, tmp_path / "double") + write_profiles(rs, tmp_path / "single", ["test_accuracy"]))
    expected = {"single/curves-a": 990, "single/curves-b": 990, "double/curves-a": 2070, "double/curves-b": 2070,
                "double/info-plane-a": 2070, "double/info-plane-b": 2070, "single/profiles-test_accuracy": 990}
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths) == sorted(f"{k}.{f}" for k in expected for f in ("pdf", "png"))
    for stem, pixels in expected.items():  # side by side; single 3.3 in and double 6.9 in at 300 dpi, exactly
        pdf, png = (tmp_path / f"{stem}.pdf").read_bytes(), tmp_path / f"{stem}.png"
        assert pdf[:5] == b"%PDF-" and b"/FontFile2" in pdf and b"/Type3" not in pdf  # TrueType embedded (fonttype 42)
        assert _is_png(png) and _png_width(png) == pixels


def test_text_is_at_least_8_points_in_every_figure():
    rs = synthetic_results(regimes=REGIMES)
    (group, _) = by_task(rs)
    figures = [curves_figure(group), curves_figure(group, width="double"), curves_figure(group, seconds=True),
               info_plane_figure(group), info_plane_figure(group, width="single"),
               profiles_figure(performance_profile(rs, "test_accuracy"))]
    for fig in figures:
        assert _small_texts(fig) == []
        assert len(fig.findobj(Text)) > 20  # ticks, labels, titles and legends were all looked at


def test_the_style_is_applied_inside_the_figure_functions_only():
    import matplotlib

    before = dict(matplotlib.rcParams)
    import suite.figstyle  # noqa: F401  (importing changes nothing)

    curves_figure(by_task(synthetic_results())[0])
    assert dict(matplotlib.rcParams) == before
    with figstyle.style():
        assert matplotlib.rcParams["pdf.fonttype"] == 42 and matplotlib.rcParams["font.size"] >= 8
        assert not matplotlib.rcParams["axes.spines.top"] and not matplotlib.rcParams["axes.spines.right"]
    assert matplotlib.rcParams["pdf.fonttype"] == before["pdf.fonttype"]


def test_regime_styles_differ_in_colour_line_style_and_marker():
    styles = figstyle.regime_styles(REGIMES)
    for part in ("color", "linestyle", "marker"):  # each alone tells the first 8 apart (greyscale: line style and marker)
        assert len({repr(getattr(s, part)) for s in styles.values()}) == len(REGIMES), part
    many = figstyle.regime_styles([f"r{i}" for i in range(40)])
    assert len({(s.color, repr(s.linestyle), s.marker) for s in many.values()}) == 40
    assert all(c.upper() != "#F0E442" for c in figstyle.PALETTE)  # Okabe-Ito's yellow, too faint on white, is left out


def test_a_regime_keeps_its_style_across_tasks_and_figures():
    rs = synthetic_results(regimes=REGIMES[:5], missing=("layerwise",))  # task b lacks the second regime
    group_a, group_b = by_task(rs)
    assert "layerwise" not in group_b.regimes and group_b.regime_order == tuple(REGIMES[:5])
    lines_a = _regime_lines(curves_figure(group_a).axes[0])
    lines_b = _regime_lines(curves_figure(group_b).axes[0])
    profile = profiles_figure(performance_profile(rs, "test_accuracy"), order=rs.labels("regime"))
    lines_p = _regime_lines(profile.axes[0])
    expected = figstyle.regime_styles(REGIMES[:5])
    for regime in REGIMES[:5]:
        assert lines_a[regime].get_color() == expected[regime].color and lines_a[regime].get_marker() == expected[regime].marker
        assert _style(lines_p[regime]) == _style(lines_a[regime])
        if regime != "layerwise":
            assert _style(lines_b[regime]) == _style(lines_a[regime])  # not shifted by the missing regime


def test_curves_show_the_mean_and_the_seed_interval_of_the_tables_when_two_or_more_seeds():
    (group, _) = by_task(synthetic_results(seeds=(0, 1, 2)))
    ax = curves_figure(group).axes[0]
    assert len(ax.collections) == len(group.regimes)  # one band per regime
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "test accuracy"
    e2e = group.regimes["e2e"]
    values = [r.history[2].test_accuracy for r in e2e]
    mean, low, high = seed_band([[h.test_accuracy for h in r.history] for r in e2e], n_test=360)
    expected = stats.interval(values, n_test=360)
    assert (mean[2], low[2], high[2]) == pytest.approx((expected.mean, expected.low, expected.high))
    assert _regime_lines(ax)["e2e"].get_ydata()[2] == pytest.approx(expected.mean)
    fig = curves_figure(group)
    band_note = fig.legends[0].get_title().get_text()
    assert "95%" in band_note and "t-interval" in band_note and "3 seeds" in band_note
    (single, _) = by_task(synthetic_results(seeds=(0,)))
    assert len(curves_figure(single).axes[0].collections) == 0  # one seed: no spread to show
    _, low, high = seed_band([[0.2, 0.99], [0.0, 1.0], [0.1, 0.9]], n_test=360)
    assert 0.0 <= low.min() and high.max() <= 1.0  # an accuracy's band never leaves [0, 1]


def test_curves_legend_sits_outside_the_axes():
    (group, _) = by_task(synthetic_results(regimes=REGIMES))
    fig = _drawn(curves_figure(group))
    (legend,) = fig.legends
    renderer = fig.canvas.get_renderer()
    assert not fig.axes[0].get_legend()
    assert legend.get_window_extent(renderer).y1 <= fig.axes[0].get_tightbbox(renderer).y0 + 1  # below, not over the data


def test_information_plane_panels_have_their_own_axes_and_a_discrete_block_legend():
    (group, _) = by_task(synthetic_results())
    fig = _drawn(info_plane_figure(group))
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["e2e (n=3)", "layerwise (n=3)", "layerwise-seq (n=3)", "predsim (n=3)"]
    for ax in panels:
        assert ax.get_shared_x_axes().get_siblings(ax) == [ax] and ax.get_shared_y_axes().get_siblings(ax) == [ax]
    wide, narrow = panels[1].get_xlim(), panels[0].get_xlim()
    assert wide[1] > 60 and narrow[1] < 10  # the wide regime (x up to 70) does not squeeze the others (up to 7)
    blocks = next(lg for lg in fig.legends if lg.get_gid() == "blocks")
    assert [t.get_text() for t in blocks.get_texts()] == BLOCKS  # one entry per block, named as probed
    colors = {tuple(h.get_color()) for h in blocks.legend_handles}
    assert len(colors) == len(BLOCKS)
    assert len(fig.axes) == 4  # no colour bar
    assert [ax.get_xlabel() for ax in panels] == ["nHSIC(X; T)"] * 4  # one row at double width: every panel is at the bottom
    assert [ax.get_ylabel() for ax in panels] == ["nHSIC(Y; T)", "", "", ""]
    single = [ax for ax in info_plane_figure(group, width="single").axes if ax.get_visible()]  # 2 x 2
    assert [ax.get_xlabel() for ax in single] == ["", "", "nHSIC(X; T)", "nHSIC(X; T)"]
    assert [ax.get_ylabel() for ax in single] == ["nHSIC(Y; T)", "", "nHSIC(Y; T)", ""]


def test_information_plane_arrows_point_from_each_probe_to_the_next():
    (group, _) = by_task(synthetic_results())
    fig = info_plane_figure(group)
    ax = fig.axes[0]
    arrows = [a for a in ax.texts if a.arrow_patch is not None]
    assert len(arrows) == len(BLOCKS) * 4  # 5 probes: 4 segments per block
    for a in arrows:
        (x0, y0), (x1, y1) = a.xyann, a.xy
        assert x1 > x0 and y1 > y0  # the synthetic trajectories rise in x and y with the epoch
    time = next(lg for lg in fig.legends if lg.get_gid() == "time")
    assert [t.get_text() for t in time.get_texts()] == ["initialization", "training", "last probe"]


def test_information_plane_names_its_estimator():
    (group, _) = by_task(synthetic_results())
    fig = info_plane_figure(group, estimator="cka")
    assert fig.axes[-1].get_xlabel() == "CKA(X; T)" and fig.axes[0].get_ylabel() == "CKA(Y; T)"
    assert "CKA" in fig._suptitle.get_text()
    assert info_plane_figure(group, estimator="nhsic_median") is None  # never measured


def test_plot_commands_take_a_width(finished, tmp_path):
    _, store, path = finished
    result = CliRunner().invoke(app, ["plot", "curves", str(path), "--results", str(store.root), "--out", str(tmp_path), "--width", "double"])
    assert result.exit_code == 0, result.output
    (png,) = [Path(line) for line in result.output.split() if line.endswith(".png")]
    assert _png_width(png) == 2070 and png.with_suffix(".pdf").is_file()
    wrong = CliRunner().invoke(app, ["plot", "info-plane", str(path), "--results", str(store.root), "--width", "triple"])
    assert wrong.exit_code == 2
