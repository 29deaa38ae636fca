"""The versioned leaderboard: records and accepted submissions of one suite version, and its tables.

Layout (one directory per suite version; a leaderboard version is a suite version)::

    leaderboard/<suite>-<version>/
        manifest.json                   the suite's identity and every cell (task, regime, seed, cell and
                                        record hash): what the table shows, frozen
        records/<cell-hash>.json        the records (baselines and submissions), a results store
        submissions/<regime>-<v>.json   one entry per submitted regime (cells, hashes, scores, checks)
        submissions/<regime>-<v>.md     the summary pasted into the pull request
        README.md                       the table, between markers, written by `e2ebench leaderboard`
        table.csv, table.tex            the same table for spreadsheets and papers
        site/                           optional: the static site (``suite.site``), kept with the tables once it exists

The manifest is written once, from the suite file, when the version is first rendered (or again with
``--replan``); from then on the version is frozen: its table is rendered from the manifest, the
records and the submission entries alone, so it stays checkable after the suite file, a task or the
protocol has moved on (a submitted regime's code need not be installed either). Every record must
match the hash the manifest holds. Nothing in a table is typed by hand: ``e2ebench leaderboard``
regenerates every file (the site too, where ``site/`` exists), and ``--check`` fails when a committed table
or page is stale.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from suite.plan import plan
from suite.records import Record, SplitSizes
from suite.results import RegimeRef, Result, ResultSet, TaskRef
from suite.scores import score_of
from suite.spec import Suite
from suite.store import Store, StoreError
from suite.tables import Row, render
from suite.tables import rows as table_rows

DEFAULT_ROOT = Path("leaderboard")
METRICS = ("test_accuracy", "auc", "epochs_to_target", "train_seconds", "final_nhsic_y")
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
START = "<!-- e2ebench:leaderboard:start -->"
END = "<!-- e2ebench:leaderboard:end -->"


def directory(suite: Suite, root: str | Path = DEFAULT_ROOT) -> Path:
    """``root/<suite name>-<suite version>``: where one leaderboard version lives."""
    return Path(root) / f"{suite.name}-{suite.version}"


CHECKOUT_ROOT = Path(__file__).resolve().parent.parent / "leaderboard"  # beside the package in a checkout of e2ebench


class LeaderboardNotFound(LookupError):
    """No leaderboard directory of a suite version where :func:`locate` looks; ``str()`` says where it looked."""


def search_roots(suite: Suite) -> list[Path]:
    """Where the leaderboard of ``suite`` is looked for, in order: ``leaderboard/`` beside the suite file and in
    each folder above it, then ``leaderboard/`` of the e2ebench checkout (never the working directory)."""
    roots = []
    source = Path(suite.source)
    if source.is_file():
        roots += [parent / "leaderboard" for parent in source.resolve().parents]
    roots.append(CHECKOUT_ROOT)
    return list(dict.fromkeys(roots))


def locate(suite: Suite, root: str | Path | None = None, *, existing: bool = True, hint: str | None = None) -> Path:
    """The leaderboard directory of ``suite``'s version: ``root/<suite>-<version>`` when ``root`` is given,
    else the first one found under :func:`search_roots`. Where none exists and ``existing`` is False, the
    version goes into the first root that exists (a new version beside the others).

    Raises:
        LeaderboardNotFound: nothing found (or, without ``existing``, no root exists), naming where it looked and
            ending with ``hint`` (default: which option to pass).
    """
    if root is not None:
        return directory(suite, root)
    roots = search_roots(suite)
    for candidate in roots:
        if directory(suite, candidate).is_dir():
            return directory(suite, candidate)
    if not existing:
        for candidate in roots:
            if candidate.is_dir():
                return directory(suite, candidate)
    name = directory(suite, "").name
    beside = [r for r in roots if r != CHECKOUT_ROOT]
    looked = (f"leaderboard/{name}/ beside the suite file and in every folder above it ({beside[0]}, ..., {beside[-1]}) "
              if beside else "")
    raise LeaderboardNotFound(f"no leaderboard of suite {suite.name} {suite.version}: looked for {looked or 'it '}"
                              f"{'and ' if looked else ''}in the e2ebench checkout ({CHECKOUT_ROOT / name}); "
                              f"{hint or f'pass --leaderboard ROOT, the folder that holds (or is to hold) {name}/'}")


def entries(lb_dir: Path) -> list[dict[str, Any]]:
    """The submission entries of a leaderboard directory, sorted by file name."""
    sub = lb_dir / "submissions"
    if not sub.is_dir():
        return []
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(sub.glob("*.json"))]


@dataclasses.dataclass(frozen=True)
class Leaderboard:
    """One leaderboard version as its manifest describes it, with its results (entries included)."""

    directory: Path
    suite: dict[str, Any]  # name, version, sha256, seeds, description
    backend: str
    results: ResultSet  # one selected trial per task x regime x seed
    verified: int = 0  # records checked against the manifest (every trial) and the entries
    trials: ResultSet = dataclasses.field(default_factory=ResultSet)  # every trial, the selected ones included
    entries: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # submissions/*.json, as read (:func:`entries`)

    @property
    def label(self) -> str:
        return f"{self.suite['name']}-{self.suite['version']}"


def manifest_path(lb_dir: Path) -> Path:
    return Path(lb_dir) / MANIFEST


def write_manifest(suite: Suite, lb_dir: Path, backend_name: str | None = None) -> Path:
    """Freeze the suite's planned cells and their current records' hashes into ``lb_dir/manifest.json``."""
    from suite import backend

    name = backend_name or backend.name()
    own = ResultSet.from_cells(plan(suite, name), Store(lb_dir, quarantine=False), select=False)  # every trial
    data = {
        "manifest_version": MANIFEST_VERSION,
        "suite": {"name": suite.name, "version": suite.version, "sha256": suite.sha256, "seeds": list(suite.seeds),
                  "description": suite.description},
        "backend": name,
        "cells": [{"task": dataclasses.asdict(r.task), "regime": dataclasses.asdict(r.regime), "seed": r.seed,
                   "cell_hash": r.cell_hash, "record_hash": r.record.record_hash if r.record is not None else None,
                   "not_applicable": r.not_applicable, "trial": dict(r.trial) if r.trial is not None else None,
                   "splits": r.record.splits.model_dump() if r.record is not None and r.record.splits is not None else None}
                  for r in own],
    }
    lb_dir.mkdir(parents=True, exist_ok=True)
    path = manifest_path(lb_dir)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def load(lb_dir: Path) -> Leaderboard:
    """The leaderboard version in ``lb_dir``: its manifest's cells, then, task by task, those of submitted
    regimes (their code need not be installed: the entry says what they are). Records are verified."""
    path = manifest_path(lb_dir)
    if not path.is_file():
        raise StoreError(f"{lb_dir}: no {MANIFEST}; render the leaderboard from its suite first (`e2ebench leaderboard SUITE`)")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    store = Store(lb_dir, quarantine=False)  # committed records are never moved: a bad one is an error
    every = ResultSet(_manifest_result(c, store) for c in manifest["cells"])
    own = every.select_trials()
    labels = set(own.labels("regime"))
    tasks = {r.task.label: r.task for r in own}
    extra = []
    board_entries = entries(lb_dir)
    for entry in board_entries:
        regime = entry["regime"]
        if regime["label"] in labels or entry.get("backend") != manifest["backend"]:
            continue
        ref = RegimeRef.of_listing(regime)
        for c in entry["cells"]:
            if c["task"] not in tasks:
                continue
            na = c.get("not_applicable")
            extra.append(Result(tasks[c["task"]], ref, int(c["seed"]), c["cell_hash"], None if na else _checked(store, c), na,
                                c.get("trial")))
    submitted = ResultSet(extra)  # entries list every trial; the table shows the selected ones
    trials = ResultSet()
    for task in tasks:
        trials += every.where(task=task) + submitted.where(task=task)
    verified = sum(r.record is not None for r in every) + sum(r.record is not None for r in extra)
    return Leaderboard(Path(lb_dir), manifest["suite"], manifest["backend"], trials.select_trials(), verified, trials,
                       board_entries)


def _checked(store: Store, cell: dict[str, Any]) -> Record | None:
    """The stored record of a manifest's or entry's cell, which must have the hash the cell lists."""
    record = store.get(cell["cell_hash"])
    expected = cell.get("record_hash")
    if record is not None and expected is not None and record.record_hash != expected:
        raise StoreError(f"{store.path(cell['cell_hash'])}: record hash {record.record_hash[:12]} differs from the "
                         f"listed {expected[:12]} (a record of a frozen leaderboard was replaced)")
    return record


def _manifest_result(cell: dict[str, Any], store: Store) -> Result:
    record = None if cell["not_applicable"] else _checked(store, cell)
    splits = SplitSizes(**cell["splits"]) if cell.get("splits") else None
    return Result(TaskRef(**cell["task"]), RegimeRef.of_listing(cell["regime"]), int(cell["seed"]), cell["cell_hash"], record,
                  cell["not_applicable"], trial=cell.get("trial"), splits=splits)


def prepare(suite: Suite, lb_dir: Path, backend_name: str | None = None, replan: bool = False) -> Leaderboard:
    """The leaderboard of ``suite``'s version: frozen by its manifest, which is written first if there is
    none yet (or ``replan``)."""
    if replan or not manifest_path(lb_dir).is_file():
        write_manifest(suite, lb_dir, backend_name)
    return load(lb_dir)


def ranked(rows: Sequence[Row], metric: str) -> list[Row]:
    """Rows grouped by task (first-seen order), each group sorted best first by ``metric``'s mean;
    rows without a value (n/a, missing, failed) go last. A neutral score ranks nothing: rows keep their order."""
    score = score_of(metric)
    sign = -1.0 if score.direction == "higher" else 1.0
    out: list[Row] = []
    for task in dict.fromkeys(r.task for r in rows):
        group = [r for r in rows if r.task == task]
        if score.direction != "neutral":
            group.sort(key=lambda r: (r.metrics[metric].mean is None, sign * (r.metrics[metric].mean or 0.0)))
        out += group
    return out


def tables(lb: Leaderboard, metrics: Sequence[str] = METRICS, profile_scores: Sequence[str] = ()) -> dict[str, str]:
    """The leaderboard table in Markdown, CSV and LaTeX, rows ranked by the first metric (with a
    ``profile_auc(score)`` column for each of ``profile_scores``, see ``suite.profiles``)."""
    rows = ranked(table_rows(lb.results, metrics, profile_scores), metrics[0])
    return {fmt: render(rows, metrics, fmt) for fmt in ("md", "csv", "latex")}


def readme_block(lb: Leaderboard, table_md: str) -> str:
    """The generated part of the leaderboard README (between the markers)."""
    suite = lb.suite
    n_records = len(Store(lb.directory, quarantine=False).files())
    n_entries = len(lb.entries)
    reasons = {r.regime.label: r.regime.probe_not_applicable for r in lb.results if r.regime.probe_not_applicable}
    no_plane = "".join(f"- {label}: information scores n/a, the information plane does not apply ({reason}).\n"
                       for label, reason in reasons.items())
    return (f"{START}\n"
            f"Suite `{suite['name']}` {suite['version']} (suite file sha256 `{suite['sha256'][:12]}`), backend `{lb.backend}`: "
            f"{n_records} records; submission entries: {n_entries}. Mean ± half-width of the 95% interval over seeds "
            f"{list(suite['seeds'])} (Student t; accuracies floored at the binomial error of their split where the records "
            f"give its size, see docs/metrics.md), n = seeds with a value; rows ranked by the first column; n/a = the "
            f"regime declares it cannot run the task.\n"
            f"Generated by `e2ebench leaderboard {lb.directory.parent.name}/{lb.directory.name}` from `{MANIFEST}`; "
            f"do not edit by hand.\n\n"
            f"{table_md.rstrip()}\n" + (f"\n{no_plane}" if no_plane else "") + END)


def _default_readme(lb: Leaderboard) -> str:
    suite = lb.suite
    description = f"{suite['description']}\n\n" if suite.get("description") else ""
    return (f"# Leaderboard: suite `{suite['name']}` {suite['version']}\n\n{description}"
            f"The records behind this table are in `records/`, the accepted submissions in `submissions/`. "
            f"See [leaderboard/README.md](../README.md) for how versions work and "
            f"[docs/submitting.md](../../docs/submitting.md) for how to submit.\n\n"
            f"{START}\n{END}\n")


def render_files(lb: Leaderboard, metrics: Sequence[str] = METRICS, profile_scores: Sequence[str] = ()) -> dict[Path, str]:
    """Every generated file of a leaderboard directory and its new content."""
    t = tables(lb, metrics, profile_scores)
    readme = lb.directory / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else _default_readme(lb)
    if START not in text or END not in text:
        text = text.rstrip() + f"\n\n{START}\n{END}\n"
    block = readme_block(lb, t["md"])
    text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block, text, count=1, flags=re.S)
    return {readme: text, lb.directory / "table.csv": t["csv"], lb.directory / "table.tex": t["latex"] + "\n"}


def write(lb: Leaderboard, metrics: Sequence[str] = METRICS, profile_scores: Sequence[str] = ()) -> list[Path]:
    """Regenerate the leaderboard's README table, CSV and LaTeX files, and its site where ``site/`` exists
    (``suite.site``); returns the paths written."""
    from suite import site

    files = render_files(lb, metrics, profile_scores)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    pages = site.write(lb, site.site_dir(lb), metrics, profile_scores) if site.site_dir(lb).is_dir() else []
    return list(files) + pages


def stale(lb: Leaderboard, metrics: Sequence[str] = METRICS, profile_scores: Sequence[str] = ()) -> list[Path]:
    """The generated files that differ from what the records give now (for CI: the table is up to date), the
    pages of ``site/`` included where it exists (figures compared by the records they draw, ``suite.site.stale``)."""
    from suite import site

    files = [p for p, text in render_files(lb, metrics, profile_scores).items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    return files + (site.stale(lb, site.site_dir(lb), metrics, profile_scores) if site.site_dir(lb).is_dir() else [])
