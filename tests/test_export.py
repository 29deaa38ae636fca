"""Tidy exports (`e2ebench export`): each level written and read back with pandas, checked against the records."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from suite import leaderboard as lb
from suite.cli import app

pd = pytest.importorskip("pandas")
OFFICIAL_1 = Path(__file__).resolve().parents[1] / "leaderboard" / "official-1.0"


@pytest.fixture(scope="module")
def board():
    return lb.load(OFFICIAL_1)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Every level of the official 1.0 leaderboard exported through the command line, as Parquet and CSV."""
    pytest.importorskip("pyarrow", reason="Parquet export needs pyarrow (pip install 'e2ebench[export]')")
    out = tmp_path_factory.mktemp("export")
    paths = {}
    for level in ("record", "epoch", "probe"):
        for fmt in ("parquet", "csv"):
            path = out / f"{level}.{fmt}"
            result = CliRunner().invoke(app, ["export", "official", "--results", str(OFFICIAL_1), "--format", fmt,
                                              "--level", level, "--out", str(path)])
            assert result.exit_code == 0, result.output
            paths[level, fmt] = path
    return paths


def read(path: Path):
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_record_level_has_one_row_per_cell_with_its_scores(written, board, fmt):
    df = read(written["record", fmt])
    assert len(df) == len(board.results) == 48
    assert (df["status"] == "ok").sum() == 45 and (df["status"] == "not_applicable").sum() == 3
    first = next(r for r in board.results if r.record is not None)
    row = df[df["cell_hash"] == first.cell_hash].iloc[0]
    assert row["task"] == first.task.label and row["regime"] == first.regime.label and row["seed"] == first.seed
    assert row["test_accuracy"] == pytest.approx(first.score("test_accuracy"))
    assert row["suite"] == "official" and str(row["suite_version"]) == "1.0"


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_epoch_level_has_one_row_per_reported_epoch(written, board, fmt):
    df = read(written["epoch", fmt])
    assert len(df) == sum(len(r.history) for r in board.results)
    first = next(r for r in board.results if r.record is not None)
    last = df[df["cell_hash"] == first.cell_hash].sort_values("epoch").iloc[-1]
    assert last["epoch"] == first.history[-1].epoch
    assert last["test_accuracy"] == pytest.approx(first.history[-1].test_accuracy)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_probe_level_has_one_row_per_probe_epoch_block_and_estimator(written, board, fmt):
    df = read(written["probe", fmt])
    expected = sum(len(h.probe["blocks"]) * len(h.probe["estimators"]) for r in board.results for h in r.history if h.probe)
    assert len(df) == expected > 0
    first = next(r for r in board.results if r.record is not None)
    probe = first.history[0].probe
    row = df[(df["cell_hash"] == first.cell_hash) & (df["epoch"] == 0) & (df["estimator"] == "nhsic") & (df["block_index"] == 1)].iloc[0]
    assert row["block"] == probe["blocks"][1]
    assert row["x"] == pytest.approx(probe["nhsic_x"][1]) and row["y"] == pytest.approx(probe["nhsic_y"][1])


def test_an_empty_level_still_has_its_columns():
    from suite import export
    from suite.results import ResultSet

    assert list(export.frame(ResultSet(), "probe").columns) == list(export.IDENTITY + export.PROBE)


def test_a_leaderboard_of_another_suite_is_refused(tmp_path):
    result = CliRunner().invoke(app, ["export", "default", "--results", str(OFFICIAL_1), "--format", "csv", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "not default" in result.output


def test_every_trial_of_a_tuned_leaderboard_exports_with_the_selected_one_marked(tmp_path):
    """official 2.0 has three learning-rate trials per cell: --trials all gives one row per manifest cell, and
    ``selected`` marks exactly the trial each table reports (the default export's rows)."""
    import json

    import pandas as pd

    board = Path(__file__).resolve().parents[1] / "leaderboard" / "official-2.0"
    cells = json.loads((board / "manifest.json").read_text())["cells"]
    paths = {}
    for trials in ("all", "selected"):
        paths[trials] = tmp_path / f"{trials}.csv"
        result = CliRunner().invoke(app, ["export", str(board), "--format", "csv", "--trials", trials, "--out", str(paths[trials])])
        assert result.exit_code == 0, result.output
    every, chosen = pd.read_csv(paths["all"]), pd.read_csv(paths["selected"])
    assert len(every) == len(cells) and set(every["cell_hash"]) == {c["cell_hash"] for c in cells}
    assert chosen["selected"].all() and set(every.loc[every["selected"], "cell_hash"]) == set(chosen["cell_hash"])
    assert (every.groupby(["task", "regime", "seed"])["selected"].sum() == 1).all()
