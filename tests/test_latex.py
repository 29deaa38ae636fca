"""LaTeX tables: booktabs, intervals as $\\pm$, each task's leaders in bold, ASCII only, and they compile."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from suite import leaderboard as lb
from suite.latex import escape, latex_table
from suite.results import Aggregate
from suite.tables import Row, leaders, render
from suite.tables import rows as table_rows

LEADERBOARD = Path(__file__).resolve().parents[1] / "leaderboard"


def agg(values, score="test_accuracy", n=None, n_test=None):
    return Aggregate(score, list(values), list(range(len(values))), n if n is not None else len(values), n_test=n_test)


def row(regime, values, task="t", score="test_accuracy", **kw):
    return Row(task, regime, {score: agg(values, score, **kw)})


def test_the_best_mean_leads_in_the_scores_direction():
    rows = [row("a", [0.80, 0.83, 0.78]), row("b", [0.90, 0.91, 0.89])]
    assert leaders(rows, "test_accuracy") == {1}
    slow, fast = row("slow", [90.0, 93.0, 88.0], score="train_seconds"), row("fast", [10.0, 11.0, 9.0], score="train_seconds")
    assert leaders([slow, fast], "train_seconds") == {1}


def test_a_row_the_test_cannot_call_worse_also_leads():
    best, close, far = row("best", [0.90, 0.95, 0.85]), row("close", [0.89, 0.94, 0.84]), row("far", [0.50, 0.51, 0.49])
    assert leaders([best, close, far], "test_accuracy") == {0, 1}


def test_leaders_are_chosen_per_task_and_never_for_neutral_scores():
    rows = [row("a", [0.9, 0.9], task="x", n_test=100), row("b", [0.1, 0.1], task="x", n_test=100), row("b", [0.5, 0.6], task="y")]
    assert leaders(rows, "test_accuracy") == {0, 2}
    assert leaders([row("a", [3.0, 4.0], score="selected_epoch")], "selected_epoch") == set()


def test_reaching_the_target_in_more_seeds_leads_before_a_faster_mean():
    always = row("always", [9.0, 10.0, 11.0], score="epochs_to_target", n=3)
    sometimes = row("sometimes", [2.0], score="epochs_to_target", n=3)  # 1 of 3 seeds reached the target
    assert leaders([always, sometimes], "epochs_to_target") == {0}


def test_escape_gives_ascii_latex_for_labels_and_symbols():
    assert escape("lr_0.1 & 50% #1") == r"lr\_0.1 \& 50\% \#1"
    assert escape("×4 ± ≥ − → ↑ — é") == r"$\times$4 $\pm$ $\geq$ $-$ $\rightarrow$ $\uparrow$ --- e"
    assert escape("日").isascii()


def test_the_latex_table_uses_booktabs_pm_and_bold_leaders():
    rows = [row("a_b", [0.80, 0.83, 0.78]), row("b", [0.90, 0.91, 0.89])]
    text = render(rows, ["test_accuracy"], "latex")
    assert text.isascii()
    assert [ln for ln in text.splitlines() if ln.startswith("\\") and "rule" in ln] == [r"\toprule", r"\midrule", r"\bottomrule"]
    assert r"test\_accuracy $\uparrow$" in text and r"a\_b" in text
    assert r"\textbf{0.9000 $\pm$" in text and r"\textbf{0.8000" not in text


def official_tables():
    board = lb.load(LEADERBOARD / "official-2.0")
    rows = lb.ranked(table_rows(board.results, lb.METRICS), lb.METRICS[0])
    return rows


def compile_latex(tmp_path: Path, table: str, packages: list[str]) -> subprocess.CompletedProcess:
    doc = ("\\documentclass{article}\n" + "".join(f"\\usepackage{{{p}}}\n" for p in packages)
           + "\\usepackage[landscape,margin=1cm]{geometry}\n\\begin{document}\n\\tiny\n" + table + "\n\\end{document}\n")
    (tmp_path / "table.tex").write_text(doc, encoding="ascii")
    return subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "table.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def _need(program: str, package: str | None = None) -> None:
    if shutil.which(program) is None:
        pytest.skip(f"{program} is not installed (Debian: apt-get install texlive-latex-base texlive-latex-recommended)")
    if package is not None:
        found = subprocess.run(["kpsewhich", f"{package}.sty"], capture_output=True, text=True)
        if not found.stdout.strip():
            pytest.skip(f"the LaTeX package {package} is not installed (Debian: apt-get install texlive-science)")


@pytest.mark.parametrize("siunitx", [False, True], ids=["plain", "siunitx"])
def test_the_official_leaderboard_table_compiles_with_pdflatex(tmp_path, siunitx):
    _need("pdflatex", "siunitx" if siunitx else "booktabs")
    table = latex_table(official_tables(), lb.METRICS, siunitx=siunitx)
    result = compile_latex(tmp_path, table, ["booktabs", *(["siunitx"] if siunitx else [])])
    assert result.returncode == 0, result.stdout[-3000:]
    assert (tmp_path / "table.pdf").stat().st_size > 0


def test_the_committed_leaderboard_tables_are_ascii():
    for tex in LEADERBOARD.glob("*/table.tex"):
        assert tex.read_text(encoding="utf-8").isascii(), tex
