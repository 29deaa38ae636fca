"""The e2ebench command line as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from suite.cli import app

runner = CliRunner()

SUITE = """
[suite]
name = "cli-test"
version = "1.0"
seeds = [0, 1]

[[tasks]]
name = "digits-mlp"
params = { depth = 2, width = 16 }
budget = { epochs = 2 }

[[regimes]]
name = "e2e"

[[regimes]]
name = "layerwise"

[metrics.probe]
enabled = false
"""


def write_suite(tmp_path: Path, text: str = SUITE) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


def test_run_prints_a_table_and_rerun_reuses_everything(tmp_path):
    suite = write_suite(tmp_path)
    results = tmp_path / "res"
    first = runner.invoke(app, ["run", str(suite), "--results", str(results), "--no-progress"])
    assert first.exit_code == 0, first.output
    assert "| digits-mlp[depth=2,width=16] | e2e" in first.output
    assert "± " in first.output
    assert len(list((results / "records").glob("*.json"))) == 4
    again = runner.invoke(app, ["run", str(suite), "--results", str(results), "--no-progress"])
    assert again.exit_code == 0 and "ran 0, reused 4" in again.output
    assert "plan: 0 cells to run, 4 reused from" in again.output

    table = runner.invoke(app, ["table", str(suite), "--results", str(results), "--format", "latex", "-m", "test_accuracy", "-m", "auc"])
    assert table.exit_code == 0 and "\\toprule" in table.output and "auc" in table.output
    csv = runner.invoke(app, ["table", str(suite), "--results", str(results), "--format", "csv"])
    assert csv.output.splitlines()[0].startswith("task,regime,n,budget_used,test_accuracy_mean,test_accuracy_ci_low,test_accuracy_ci_high,test_accuracy_n")


def test_table_rejects_an_unknown_metric(tmp_path):
    suite = write_suite(tmp_path)
    result = runner.invoke(app, ["table", str(suite), "--results", str(tmp_path), "-m", "test_acuracy"])
    assert result.exit_code == 2 and "did you mean 'test_accuracy'" in result.output


def test_validate_reports_a_bad_file_without_a_traceback(tmp_path):
    bad = write_suite(tmp_path, SUITE.replace("epochs = 2", "epochs = -2").replace('"layerwise"', '"layerwize"'))
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    assert str(bad) in result.output
    assert "tasks[0].budget.epochs" in result.output and "did you mean 'layerwise'" in result.output
    assert "Traceback" not in result.output


def test_validate_accepts_a_good_file(tmp_path):
    result = runner.invoke(app, ["validate", str(write_suite(tmp_path))])
    assert result.exit_code == 0 and "4 cells" in result.output


def test_list_shows_names_versions_and_descriptions():
    tasks = runner.invoke(app, ["list", "tasks"])
    assert "digits-mlp" in tasks.output and "1.0" in tasks.output and "sklearn" in tasks.output
    regimes = runner.invoke(app, ["list", "regimes"])
    assert "layerwise-seq" in regimes.output and "Nøkland" in regimes.output
    suites = runner.invoke(app, ["list", "suites"])
    assert "default" in suites.output and "ci" in suites.output
    metrics = runner.invoke(app, ["list", "metrics"])
    assert "epochs_to_target" in metrics.output and "lower" in metrics.output


def test_kill_9_loses_at_most_the_cell_in_progress(tmp_path):
    """A real process killed with SIGKILL mid-suite resumes where it stopped."""
    suite = write_suite(tmp_path, SUITE.replace("epochs = 2", "epochs = 4").replace("seeds = [0, 1]", "seeds = [0, 1, 2]"))
    results = tmp_path / "res"
    records = results / "records"
    cmd = [sys.executable, "-m", "suite.cli", "run", str(suite), "--results", str(results), "--no-progress"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(records.glob("*.json"))) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list(records.glob("*.json")))
    assert 2 <= done_before < 6
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"ran {6 - done_before}, reused {done_before}" in resumed.stderr
    assert len(list(records.glob("*.json"))) == 6


def test_table_can_show_records_of_another_backend(tmp_path):
    suite = write_suite(tmp_path, SUITE.replace("seeds = [0, 1]", "seeds = [0]").replace('[[regimes]]\nname = "layerwise"\n', ""))
    results = tmp_path / "res"
    assert runner.invoke(app, ["run", str(suite), "--results", str(results), "--no-progress"]).exit_code == 0
    from suite import backend

    other = "jax" if backend.name() != "jax" else "tensorflow"
    mine = runner.invoke(app, ["table", str(suite), "--results", str(results)])
    theirs = runner.invoke(app, ["table", str(suite), "--results", str(results), "--backend", other])
    row = next(line for line in mine.output.splitlines() if "| e2e" in line)
    other_row = next(line for line in theirs.output.splitlines() if "| e2e" in line)
    assert "—" not in row and "0." in row
    assert other_row.count("—") == 4  # no record of that backend for any of the four scores


RAISES = '''
from suite.api import Regime
from suite.registry import regimes


@regimes.register
class Raises(Regime):
    """Fails at once (a test fixture, no paper)."""

    name = "raises"
    version = "1.0"
    description = "raises in train"
    citation = "none (test fixture)"

    def train(self, ctx):
        raise RuntimeError("this regime always fails")


@regimes.register
class Explodes(Regime):
    """Reports a non-finite loss (a test fixture, no paper)."""

    name = "explodes"
    version = "1.0"
    description = "reports a NaN loss"
    citation = "none (test fixture)"

    def train(self, ctx):
        ctx.report_epoch(train_loss=float("nan"), train_accuracy=0.1, examples=len(ctx.data.train.y), steps=1)
'''


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path):
    suite = write_suite(tmp_path, SUITE.replace('name = "layerwise"', 'name = "forward-forward"')
                        .replace('name = "digits-mlp"', 'name = "digits-cnn"'))
    results = tmp_path / "res"
    result = runner.invoke(app, ["run", str(suite), "--results", str(results), "--dry-run", "-v"])
    assert result.exit_code == 0, result.output
    assert "plan: 2 cells to run, 0 reused from" in result.output and "2 not applicable" in result.output
    lines = [line.split()[0] for line in result.output.splitlines() if line.startswith("  ")]
    assert lines == ["run", "run", "n/a", "n/a"]
    assert "forward-forward / seed 0" in result.output and "Dense" in result.output  # the reason it is n/a
    assert not results.exists()


def test_a_failed_cell_makes_run_exit_1_and_say_how_many_while_diverged_is_a_result(tmp_path):
    (tmp_path / "fixtures.py").write_text(RAISES)
    body = SUITE.replace("seeds = [0, 1]", "seeds = [0]").replace("epochs = 2", "epochs = 1")
    diverges = write_suite(tmp_path, body.replace('name = "e2e"', 'name = "explodes"').replace('[[regimes]]\nname = "layerwise"\n', ""))
    result = runner.invoke(app, ["run", str(diverges), "--results", str(tmp_path / "a"), "--no-progress", "--plugin", str(tmp_path / "fixtures.py")])
    assert result.exit_code == 0, result.output
    assert "failed 0, diverged 1" in result.output

    fails = write_suite(tmp_path, body.replace('name = "layerwise"', 'name = "raises"'))
    result = runner.invoke(app, ["run", str(fails), "--results", str(tmp_path / "b"), "--no-progress", "--plugin", str(tmp_path / "fixtures.py")])
    assert result.exit_code == 1
    assert "error: 1 of the 2 cells run failed" in result.output and "/ raises / seed 0" in result.output
    again = runner.invoke(app, ["run", str(fails), "--results", str(tmp_path / "b"), "--dry-run", "--plugin", str(tmp_path / "fixtures.py")])
    assert again.exit_code == 0 and "plan: 1 cell to run (1 retried after failing), 1 reused" in again.output
