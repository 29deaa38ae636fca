"""Tidy exports of results: one pandas DataFrame per level, written as Parquet or CSV.

Three levels, each a long ("tidy") table whose columns are documented in ``docs/export.md``:

* ``record``: one row per cell of the :class:`suite.results.ResultSet` (missing, failed and n/a cells
  included, so a row count is a cell count), its identity, status, split sizes and every summary score
  (status ``n/a`` is written ``not_applicable``: pandas reads the string ``n/a`` in a CSV as a missing value);
* ``epoch``: one row per cell x reported epoch (epoch 0 is the initialization);
* ``probe``: one row per cell x probe epoch x block x estimator, with the two coordinates of the
  block in that estimator's information plane.

Every level starts with the same identity columns, so levels join on ``cell_hash``. In a tuned suite the
export holds the selected trial of each task x regime x seed, or every trial (``trials="all"`` of the
command), and the column ``selected`` says which trial the tables report. pandas is needed
(scikit-learn's mlxtend dependency brings it); Parquet also needs pyarrow (the ``export`` extra).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from suite import plane, registry
from suite.results import Result, ResultSet
from suite.spec import trial_label

if TYPE_CHECKING:
    import pandas as pd

Level = Literal["record", "epoch", "probe"]
LEVELS: tuple[Level, ...] = ("record", "epoch", "probe")
FileFormat = Literal["parquet", "csv"]

IDENTITY = ("suite", "suite_version", "task", "task_name", "task_version", "regime", "regime_name", "regime_version",
            "family", "seed", "trial", "selected", "cell_hash")
RECORD = ("status", "not_applicable", "baseline", "budget_epochs", "n_train", "n_validation", "n_test", "num_params",
          "chance_level", "target_accuracy", "backend", "record_hash", "result_hash")
EPOCH = ("epoch", "stage", "train_loss", "train_accuracy", "val_accuracy", "test_accuracy", "seconds", "examples", "steps")
PROBE = ("epoch", "block_index", "block", "estimator", "estimator_version", "x", "y", "x_bound", "y_bound")


def _identity(r: Result, suite: Mapping[str, str] | None) -> dict[str, Any]:
    name = r.record.suite.name if r.record is not None else (suite or {}).get("name")
    version = r.record.suite.version if r.record is not None else (suite or {}).get("version")
    return {"suite": name, "suite_version": version, "task": r.task.label, "task_name": r.task.name,
            "task_version": r.task.version, "regime": r.regime.label, "regime_name": r.regime.name,
            "regime_version": r.regime.version, "family": r.regime.family, "seed": r.seed,
            "trial": trial_label(r.trial) if r.trial is not None else None, "cell_hash": r.cell_hash}


def score_columns(results: Iterable[Result]) -> list[str]:
    """The summary scores any record of ``results`` holds: declared scores in declaration order, then the rest
    (per-block summaries, plugin scores no longer installed) sorted by name."""
    present: set[str] = set()
    for r in results:
        if r.record is not None:
            present.update(r.record.summary)
    present -= set(RECORD)  # num_params is also a record field
    declared = [s.name for s in registry.scores if s.name in present]
    return declared + sorted(present - set(declared))


def record_rows(results: ResultSet, suite: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """One dict per result: identity, status, sizes and every score (None where a record lacks it)."""
    scores = score_columns(results)
    rows = []
    for r in results:
        rec = r.record
        row = _identity(r, suite) | {
            "status": "not_applicable" if r.status == "n/a" else r.status, "not_applicable": r.not_applicable, "baseline": r.regime.baseline,
            "budget_epochs": r.task.budget_epochs, "n_train": r.split_size("train"),
            "n_validation": r.split_size("validation"), "n_test": r.split_size("test"),
            "num_params": rec.num_params if rec else None, "chance_level": r.chance, "target_accuracy": r.target,
            "backend": rec.provenance.backend if rec else None, "record_hash": rec.record_hash if rec else None,
            "result_hash": rec.result_hash if rec else None}
        rows.append(row | {s: r.score(s) for s in scores})
    return rows


def epoch_rows(results: ResultSet, suite: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """One dict per result x reported epoch (results without a record have none)."""
    return [_identity(r, suite) | {k: getattr(h, k) for k in EPOCH} for r in results for h in r.history]


def probe_rows(results: ResultSet, suite: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """One dict per result x probe epoch x block x estimator: the block's (x, y) in that estimator's plane."""
    rows = []
    for r in results:
        for h in r.history:
            probe = h.probe
            if not probe or not isinstance(probe.get("blocks"), list):
                continue
            head = _identity(r, suite) | {"epoch": h.epoch}
            for estimator, lists in plane.per_block(probe).items():
                if "x" not in lists or "y" not in lists:
                    continue
                xs, ys = lists["x"], lists["y"]
                for i, block in enumerate(probe["blocks"]):
                    rows.append(head | {"block_index": i, "block": str(block), "estimator": estimator,
                                        "estimator_version": probe["estimators"][estimator], "x": _at(xs, i), "y": _at(ys, i),
                                        "x_bound": probe.get(f"{estimator}_x_bound"),
                                        "y_bound": probe.get(f"{estimator}_y_bound")})
    return rows


def _at(values: list[Any], i: int) -> float | None:
    return float(values[i]) if i < len(values) and values[i] is not None else None


_ROWS = {"record": record_rows, "epoch": epoch_rows, "probe": probe_rows}
_COLUMNS = {"record": IDENTITY + RECORD, "epoch": IDENTITY + EPOCH, "probe": IDENTITY + PROBE}


def frame(results: ResultSet, level: Level = "record", suite: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The tidy DataFrame of ``results`` at ``level`` (columns in ``docs/export.md``; ``suite`` names the suite
    for rows without a record: ``{"name": ..., "version": ...}``). An empty level still has its columns."""
    import pandas as pd

    if level not in _ROWS:
        raise ValueError(f"unknown export level {level!r}; expected one of {', '.join(LEVELS)}")
    rows = _ROWS[level](results, suite)
    columns = list(_COLUMNS[level]) + (score_columns(results) if level == "record" else [])
    df = pd.DataFrame(rows, columns=columns)
    selected = {r.cell_hash for r in results.select_trials()}
    df["selected"] = df["cell_hash"].isin(selected).astype(bool)  # the trial the tables report
    for col in df.columns.intersection(_INTEGERS):  # counts stay integers; a missing one is <NA>, not NaN
        df[col] = df[col].astype("Int64")
    return df


_INTEGERS = ["seed", "epoch", "block_index", "budget_epochs", "n_train", "n_validation", "n_test", "num_params", "examples", "steps"]


def write(df: pd.DataFrame, path: str | Path, fmt: FileFormat) -> Path:
    """Write ``df`` to ``path`` as Parquet (needs pyarrow: ``pip install 'e2ebench[export]'``) or CSV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ImportError("Parquet export needs pyarrow: pip install 'e2ebench[export]' (or use --format csv)") from None
        df.to_parquet(path, index=False)
    elif fmt == "csv":
        df.to_csv(path, index=False)
    else:
        raise ValueError(f"unknown export format {fmt!r}; expected parquet or csv")
    return path
