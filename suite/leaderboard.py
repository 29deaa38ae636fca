"""The versioned leaderboard: records and accepted submissions of one suite version, and its tables.

Layout (one directory per suite version; a leaderboard version is a suite version)::

    leaderboard/<suite>-<version>/
        records/<cell-hash>.json        the records (baselines and submissions), a results store
        submissions/<regime>-<v>.json   one entry per submitted regime (cells, hashes, scores, checks)
        submissions/<regime>-<v>.md     the summary pasted into the pull request
        README.md                       the table, between markers, written by `e2ebench leaderboard`
        table.csv, table.tex            the same table for spreadsheets and papers

The table is planned from the suite file (its regimes) plus the cells listed by the submission entries,
and filled from the records by hash, so a submitted regime's code need not be installed to render it.
Nothing in a table is typed by hand: ``e2ebench leaderboard SUITE`` regenerates every file, and
``--check`` fails when a committed table is stale.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from suite.plan import plan
from suite.results import RegimeRef, Result, ResultSet
from suite.scores import score_of
from suite.spec import Suite
from suite.store import Store
from suite.tables import Row, render
from suite.tables import rows as table_rows

DEFAULT_ROOT = Path("leaderboard")
METRICS = ("test_accuracy", "auc", "epochs_to_target", "train_seconds", "final_nhsic_y")
START = "<!-- e2ebench:leaderboard:start -->"
END = "<!-- e2ebench:leaderboard:end -->"


def directory(suite: Suite, root: str | Path = DEFAULT_ROOT) -> Path:
    """``root/<suite name>-<suite version>``: where one leaderboard version lives."""
    return Path(root) / f"{suite.name}-{suite.version}"


def entries(lb_dir: Path) -> list[dict[str, Any]]:
    """The submission entries of a leaderboard directory, sorted by file name."""
    sub = lb_dir / "submissions"
    if not sub.is_dir():
        return []
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(sub.glob("*.json"))]


def results(suite: Suite, lb_dir: Path, backend_name: str | None = None) -> ResultSet:
    """The suite's own cells, then, task by task, those of submitted regimes the suite file does not list
    (their code need not be installed: the entry says what they are)."""
    store = Store(lb_dir, quarantine=False)  # committed records are never moved: a bad one is an error
    planned = plan(suite, backend_name)
    own = ResultSet.from_cells(planned, store)
    labels = {c.regime.label for c in planned}
    tasks = {r.task.label: r.task for r in own}
    backend = planned[0].backend if planned else None
    extra = []
    for entry in entries(lb_dir):
        regime = entry["regime"]
        if regime["label"] in labels or entry.get("backend") != backend:
            continue
        ref = RegimeRef(regime["name"], regime["version"], regime["label"], regime.get("params", {}),
                        regime.get("family", "other"), bool(regime.get("baseline", False)))
        for c in entry["cells"]:
            if c["task"] not in tasks:
                continue
            na = c.get("not_applicable")
            extra.append(Result(tasks[c["task"]], ref, int(c["seed"]), c["cell_hash"], None if na else store.get(c["cell_hash"]), na,
                                c.get("trial")))
    submitted = ResultSet(extra).select_trials()  # entries list every trial; the table shows the selected ones
    ordered = ResultSet()
    for task in tasks:
        ordered += own.where(task=task) + submitted.where(task=task)
    return ordered


def ranked(rows: Sequence[Row], metric: str) -> list[Row]:
    """Rows grouped by task (first-seen order), each group sorted best first by ``metric``'s mean;
    rows without a value (n/a, missing, failed) go last."""
    score = score_of(metric)
    sign = -1.0 if score.direction == "higher" else 1.0
    out: list[Row] = []
    for task in dict.fromkeys(r.task for r in rows):
        group = [r for r in rows if r.task == task]
        group.sort(key=lambda r: (r.metrics[metric].mean is None, sign * (r.metrics[metric].mean or 0.0)))
        out += group
    return out


def tables(suite: Suite, lb_dir: Path, metrics: Sequence[str] = METRICS, backend_name: str | None = None) -> dict[str, str]:
    """The leaderboard table in Markdown, CSV and LaTeX, rows ranked by the first metric."""
    rows = ranked(table_rows(results(suite, lb_dir, backend_name), metrics), metrics[0])
    return {fmt: render(rows, metrics, fmt) for fmt in ("md", "csv", "latex")}


def readme_block(suite: Suite, lb_dir: Path, table_md: str, backend_name: str) -> str:
    """The generated part of the leaderboard README (between the markers)."""
    n_records = len(Store(lb_dir, quarantine=False).files())
    n_entries = len(entries(lb_dir))
    return (f"{START}\n"
            f"Suite `{suite.name}` {suite.version} (suite file sha256 `{suite.sha256[:12]}`), backend `{backend_name}`: "
            f"{n_records} records; submission entries: {n_entries}. Mean ± std over seeds {list(suite.seeds)}; "
            f"rows ranked by the first column; n/a = the regime declares it cannot run the task.\n"
            f"Generated by `e2ebench leaderboard {suite.name}`; do not edit by hand.\n\n"
            f"{table_md.rstrip()}\n{END}")


def _default_readme(suite: Suite) -> str:
    description = f"{suite.description}\n\n" if suite.description else ""
    return (f"# Leaderboard: suite `{suite.name}` {suite.version}\n\n{description}"
            f"The records behind this table are in `records/`, the accepted submissions in `submissions/`. "
            f"See [leaderboard/README.md](../README.md) for how versions work and "
            f"[docs/submitting.md](../../docs/submitting.md) for how to submit.\n\n"
            f"{START}\n{END}\n")


def render_files(suite: Suite, lb_dir: Path, metrics: Sequence[str] = METRICS, backend_name: str | None = None) -> dict[Path, str]:
    """Every generated file of a leaderboard directory and its new content."""
    from suite import backend

    name = backend_name or backend.name()
    t = tables(suite, lb_dir, metrics, name)
    readme = lb_dir / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else _default_readme(suite)
    if START not in text or END not in text:
        text = text.rstrip() + f"\n\n{START}\n{END}\n"
    block = readme_block(suite, lb_dir, t["md"], name)
    text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block, text, count=1, flags=re.S)
    return {readme: text, lb_dir / "table.csv": t["csv"], lb_dir / "table.tex": t["latex"] + "\n"}


def write(suite: Suite, lb_dir: Path, metrics: Sequence[str] = METRICS, backend_name: str | None = None) -> list[Path]:
    """Regenerate the leaderboard's README table, CSV and LaTeX files; returns the paths written."""
    lb_dir.mkdir(parents=True, exist_ok=True)
    files = render_files(suite, lb_dir, metrics, backend_name)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)


def stale(suite: Suite, lb_dir: Path, metrics: Sequence[str] = METRICS, backend_name: str | None = None) -> list[Path]:
    """The generated files that differ from what the records give now (for CI: the table is up to date)."""
    return [p for p, text in render_files(suite, lb_dir, metrics, backend_name).items()
            if not p.is_file() or p.read_text(encoding="utf-8") != text]
