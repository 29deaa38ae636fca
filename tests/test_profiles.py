"""Performance profiles on synthetic results: rho(tau), the profile area, the table column and the figure."""

from __future__ import annotations

import math

import pytest

from suite.scores import Score

from suite import profiles
from suite.records import EpochRecord, Provenance, Record, SuiteRef
from suite.results import ResultSet
from suite.tables import leaderboard_table

PROVENANCE = Provenance(task_code_sha256="t", regime_code_sha256="r", backend="tensorflow", device="cpu", packages={},
                        platform="test", git_commit=None, started_at="", finished_at="", hostname="test")


def record(task: str, regime: str, seed: int, accuracy: float, epochs_to_target: int | None = 3) -> Record:
    history = [EpochRecord(epoch=e, train_loss=0.5, train_accuracy=0.5, test_accuracy=accuracy, seconds=float(e), examples=10 * e, steps=e)
               for e in (0, 1)]
    return Record(cell_hash=f"{task}-{regime}-{seed}",
                  cell={"task": {"name": task, "version": "1.0", "params": {}}, "budget": {"epochs": 1},
                        "regime": {"name": regime, "version": "1.0", "params": {}}, "seed": seed},
                  suite=SuiteRef(name="t", version="1.0", sha256="0"), task_label=task, regime_label=regime, status="ok",
                  history=history, summary={"test_accuracy": accuracy, "epochs_to_target": epochs_to_target},
                  provenance=PROVENANCE).sealed()


def results(accuracies: dict[tuple[str, str], float], **kw) -> ResultSet:
    return ResultSet.from_records(record(t, r, s, a, **kw) for (t, r), a in accuracies.items() for s in (0, 1))


def test_a_regime_best_on_every_task_has_rho_1_at_tau_1_and_area_1():
    rs = results({("a", "best"): 0.9, ("a", "other"): 0.8, ("b", "best"): 0.95, ("b", "other"): 0.7})
    p = profiles.performance_profile(rs, "test_accuracy")
    assert p.tasks == ("a", "b")
    assert p.rho("best", 1.0) == 1.0 and p.auc("best") == 1.0
    # other: errors 0.2 / 0.1 = 2 on a, 0.3 / 0.05 = 6 on b (beyond tau_max = 4)
    assert p.ratios["other"] == pytest.approx((2.0, 6.0))
    assert p.rho("other", 1.99) == 0.0 and p.rho("other", 2.0) == 0.5 and p.rho("other", 4.0) == 0.5
    assert p.auc("other") == pytest.approx((4 - 2) / 3 / 2)


def test_a_small_case_gives_the_hand_computed_profile():
    # lower-is-better costs: x is best on t1, y on t2; z has no value on t2
    p = profiles.from_costs({"x": {"t1": 1.0, "t2": 4.0}, "y": {"t1": 2.0, "t2": 2.0}, "z": {"t1": 1.5, "t2": None}})
    assert p.ratios == {"x": (1.0, 2.0), "y": (2.0, 1.0), "z": (1.5, math.inf)}
    assert list(p.rho("x", [1.0, 1.5, 2.0, 4.0])) == [0.5, 0.5, 1.0, 1.0]
    assert p.auc("x") == pytest.approx((3 / 3 + 2 / 3) / 2) == p.auc("y")
    assert p.auc("z") == pytest.approx((2.5 / 3 + 0) / 2)


def test_a_best_cost_of_zero_leaves_only_the_perfect_regimes_within_any_tau():
    p = profiles.from_costs({"perfect": {"t": 0.0}, "almost": {"t": 0.01}})
    assert p.ratios == {"perfect": (1.0,), "almost": (math.inf,)}


def test_a_time_to_target_that_some_seed_never_reached_counts_as_no_value():
    rs = ResultSet.from_records([record("a", "sure", 0, 0.9, 4), record("a", "sure", 1, 0.9, 4),
                                 record("a", "lucky", 0, 0.9, 1), record("a", "lucky", 1, 0.9, None)])
    p = profiles.performance_profile(rs, "epochs_to_target")
    assert p.ratios == {"sure": (1.0,), "lucky": (math.inf,)}


def test_a_neutral_score_or_a_higher_score_outside_0_1_has_no_profile():
    rs = results({("a", "r"): 0.9})
    with pytest.raises(ValueError, match="neutral"):
        profiles.performance_profile(rs, "selected_epoch")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        profiles.cost_of(3.0, Score("gain", "higher", "a higher-is-better score that is not a fraction"))


def test_tables_show_the_profile_area_when_asked():
    rs = results({("a", "best"): 0.9, ("a", "other"): 0.8, ("b", "best"): 0.95, ("b", "other"): 0.7})
    assert "profile_auc" not in leaderboard_table(rs, ["test_accuracy"])
    csv = leaderboard_table(rs, ["test_accuracy"], fmt="csv", profile_scores=["test_accuracy"]).splitlines()
    assert "profile_auc(test_accuracy)" in csv[0].split(",")
    assert csv[1].startswith("a,best,") and csv[1].split(",")[-1] == "1.0"
    latex = leaderboard_table(rs, ["test_accuracy"], fmt="latex", profile_scores=["test_accuracy"])
    assert r"profile\_auc(test\_accuracy) $\uparrow$" in latex and "0.333" in latex


def test_the_profile_figure_is_written_as_png_and_pdf(tmp_path):
    from suite.plots import write_profiles

    rs = results({("a", "best"): 0.9, ("a", "other"): 0.8, ("b", "best"): 0.95, ("b", "other"): 0.7})
    paths = write_profiles(rs, tmp_path, ["test_accuracy", "epochs_to_target"])
    assert sorted(p.name for p in paths) == ["profiles-epochs_to_target.pdf", "profiles-epochs_to_target.png",
                                             "profiles-test_accuracy.pdf", "profiles-test_accuracy.png"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_the_profile_figure_has_the_project_style_with_regimes_styled_by_suite_order():
    from matplotlib.text import Text

    from suite import figstyle
    from suite.plots import profiles_figure

    # "other" comes first in the suite, "best" ranks first: styles follow the suite, the legend the ranking
    rs = results({("a", "other"): 0.8, ("a", "best"): 0.9, ("b", "other"): 0.7, ("b", "best"): 0.95})
    fig = profiles_figure(profiles.performance_profile(rs, "test_accuracy"))
    fig.canvas.draw()
    lines = {line.get_label().split(" ")[0]: line for line in fig.axes[0].get_lines()}
    styles = figstyle.regime_styles(["other", "best"])
    for regime in ("other", "best"):
        assert (lines[regime].get_color(), lines[regime].get_marker()) == (styles[regime].color, styles[regime].marker)
    (legend,) = fig.legends  # outside the axes, ranked by profile area
    assert [t.get_text() for t in legend.get_texts()] == ["best (1.000)", "other (0.333)"]
    renderer = fig.canvas.get_renderer()
    assert legend.get_window_extent(renderer).y1 <= fig.axes[0].get_tightbbox(renderer).y0 + 1
    small = [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and t.get_fontsize() < 8]
    assert small == []
    assert fig.get_size_inches()[0] == figstyle.WIDTHS["single"]
    assert profiles_figure(profiles.performance_profile(rs, "test_accuracy"), width="double").get_size_inches()[0] == 6.9
    assert not fig.axes[0].spines["top"].get_visible() and not fig.axes[0].spines["right"].get_visible()


def test_plot_profiles_reads_a_leaderboard_directory(tmp_path):
    from pathlib import Path

    from typer.testing import CliRunner

    from suite.cli import app

    board = Path(__file__).resolve().parents[1] / "leaderboard" / "official-1.0"
    result = CliRunner().invoke(app, ["plot", "profiles", str(board), "-m", "auc", "--out", str(tmp_path), "--width", "double"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "profiles-auc.png").is_file() and (tmp_path / "profiles-auc.pdf").is_file()
    assert int.from_bytes((tmp_path / "profiles-auc.png").read_bytes()[16:20], "big") == 2070  # 6.9 in at 300 dpi
    neutral = CliRunner().invoke(app, ["plot", "profiles", str(board), "-m", "selected_epoch", "--out", str(tmp_path)])
    assert neutral.exit_code == 2 and "neutral" in neutral.output
