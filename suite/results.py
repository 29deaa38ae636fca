"""Results: the one typed view of stored records under every table, report, plot, gate and leaderboard.

A :class:`ResultSet` is built once, from the cells a suite plans (or a leaderboard's cells and
submission entries) and a store. Each :class:`Result` is one cell: which task and regime (with the
regime's declared family), which seed, and its record if there is one, so a cell that is missing,
failed or not applicable is still a row that views can count. Views group and aggregate through
:meth:`ResultSet.group_by` and :meth:`ResultSet.aggregate`; none of them reads raw record dicts,
re-plans a suite, or selects regimes by name.

In a tuned suite a (task, regime, seed) has one result per trial. :meth:`ResultSet.select_trials` keeps the
trial with the best validation accuracy of each; :meth:`ResultSet.from_cells` (and so ``from_suite``) does
it by default, so no view pools trials as if they were seeds.
"""

from __future__ import annotations

import dataclasses
import functools
import statistics
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from suite import plane, registry, stats
from suite.records import EpochRecord, Record, Reinitialization, SplitSizes, finite_or_none
from suite.scores import is_information, score_of

if TYPE_CHECKING:
    from suite.plan import Cell
    from suite.spec import Suite
    from suite.store import Store

Status = Literal["ok", "diverged", "failed", "missing", "n/a"]
FINISHED = ("ok", "diverged")
SELECTION_SCORE = "val_accuracy"  # trials are selected on the validation split, never on the test split


@dataclasses.dataclass(frozen=True)
class TaskRef:
    """The task of a result: identity, params, and what analyses need to know about it."""

    name: str
    version: str
    label: str
    params: Mapping[str, Any]
    budget_epochs: int | None = None
    difficulty_knob: str | None = None

    @classmethod
    def of_cell(cls, cell: Cell) -> TaskRef:
        t = cell.task
        return cls(t.cls.name, t.cls.version, t.label, t.params.model_dump(mode="json"), t.budget.epochs, t.cls.difficulty_knob)

    @classmethod
    def of_record(cls, record: Record) -> TaskRef:
        """From the record alone; the knob comes from the registered task class, if it is installed."""
        task, budget = record.cell["task"], record.cell.get("budget", {})
        registered = _registered(registry.tasks, task["name"])
        knob = registered.difficulty_knob if registered is not None else None
        return cls(task["name"], task["version"], record.task_label, task["params"], budget.get("epochs"), knob)


@dataclasses.dataclass(frozen=True)
class RegimeRef:
    """The regime of a result: identity, params, and its declared family (``suite.api.RegimeFamily``)."""

    name: str
    version: str
    label: str
    params: Mapping[str, Any]
    family: str = "other"
    baseline: bool = False
    probe_not_applicable: str | None = None  # why the information plane does not apply (``Regime.probe_not_applicable``)

    @classmethod
    def of_cell(cls, cell: Cell) -> RegimeRef:
        r = cell.regime
        return cls(r.cls.name, r.cls.version, r.label, r.params.model_dump(mode="json"), r.cls.family, r.cls.baseline,
                   r.cls.probe_not_applicable)

    @classmethod
    def of_record(cls, record: Record) -> RegimeRef:
        """From the record alone; the family comes from the registered regime class, if it is installed."""
        regime = record.cell["regime"]
        registered = _registered(registry.regimes, regime["name"])
        family, baseline = (registered.family, registered.baseline) if registered is not None else ("other", False)
        no_plane = registered.probe_not_applicable if registered is not None else None
        return cls(regime["name"], regime["version"], record.regime_label, regime["params"], family, baseline, no_plane)

    @classmethod
    def of_listing(cls, regime: Mapping[str, Any]) -> RegimeRef:
        """From a leaderboard manifest's or submission entry's description of the regime. Listings written
        before regimes declared ``probe_not_applicable`` take it from the registered class, if installed."""
        if "probe_not_applicable" in regime:
            no_plane = regime["probe_not_applicable"]
        else:
            registered = _registered(registry.regimes, regime["name"])
            no_plane = registered.probe_not_applicable if registered is not None else None
        return cls(regime["name"], regime["version"], regime["label"], regime.get("params", {}), regime.get("family", "other"),
                   bool(regime.get("baseline", False)), no_plane)


@dataclasses.dataclass(frozen=True)
class Result:
    """One cell of a suite and its stored record (``None`` when it has not run or is not applicable)."""

    task: TaskRef
    regime: RegimeRef
    seed: int
    cell_hash: str
    record: Record | None = None
    not_applicable: str | None = None
    trial: Mapping[str, Any] | None = None  # the tuning setting this result tried (None: untuned)
    splits: SplitSizes | None = None  # split sizes known apart from the record (a manifest for older records)

    @property
    def status(self) -> Status:
        """``ok``, ``diverged`` or ``failed`` from the record; ``missing`` without one; ``n/a`` by declaration."""
        if self.not_applicable is not None:
            return "n/a"
        return "missing" if self.record is None else self.record.status

    @property
    def finished(self) -> bool:
        """Whether the cell ran to the end of its budget or diverged (a result that can be scored)."""
        return self.status in FINISHED

    @functools.cached_property
    def summary(self) -> Mapping[str, Any]:
        """The record's summary scores as every view reads them (empty without a record).

        The information-plane summaries (:func:`suite.plane.summaries`: compression, final nHSIC, role
        differentiation) are recomputed from the record's probe measurements with the current definitions,
        whatever the record stored, so records made before a definition changed read like new ones. When
        the regime declares the information plane not applicable (``Regime.probe_not_applicable``) there
        are no information scores at all: what its probe measured is not the network it runs.
        """
        if self.record is None:
            return {}
        out = {k: v for k, v in self.record.summary.items() if not plane.is_summary(k)}
        if self.regime.probe_not_applicable:
            return {k: v for k, v in out.items() if not is_information(k)}
        out.update(plane.summaries([h.probe for h in self.probed if h.probe]))
        return out

    def score(self, name: str) -> float | None:
        """Summary score ``name`` (:attr:`summary`) as a finite float, or None (never reached, undefined, not
        applicable, no record). Every table, gate, report and entry reads scores here."""
        value = self.summary.get(name)
        return None if value is None else finite_or_none(float(value))

    @property
    def history(self) -> list[EpochRecord]:
        """The per-epoch history (epoch 0 is the initialization); empty without a record."""
        return self.record.history if self.record is not None else []

    @property
    def target(self) -> float | None:
        return self.record.target_accuracy if self.record is not None else None

    @property
    def chance(self) -> float | None:
        return self.record.chance_level if self.record is not None else None

    @property
    def reinitialization(self) -> Reinitialization | None:
        return self.record.reinitialization if self.record is not None else None

    def split_size(self, split: str) -> int | None:
        """Examples in the record's ``train``/``validation``/``test`` split (None for records that predate it)."""
        sizes = self.record.splits if self.record is not None and self.record.splits is not None else self.splits
        if sizes is None:
            return None
        return getattr(sizes, split) or None  # a split of 0 examples (no validation) has no size to floor by

    @property
    def probed(self) -> list[EpochRecord]:
        """The epochs of the history whose information plane was measured, the only ones views read probe
        measurements from. None when the regime declares the plane not applicable
        (``Regime.probe_not_applicable``): its record may hold a probe, of a network the regime does not run."""
        if self.regime.probe_not_applicable:
            return []
        return [h for h in self.history if h.probe]

    def probe_series(self, key: str) -> tuple[tuple[int, ...], np.ndarray] | None:
        """Probe epochs and the per-block values of probe measurement ``key`` (e.g. ``"nhsic_x"``), an array
        of shape (probes, blocks); None when no epoch was probed for it (see :attr:`probed`)."""
        probes = [(h.epoch, h.probe[key]) for h in self.probed if h.probe and key in h.probe]
        if not probes:
            return None
        return tuple(e for e, _ in probes), np.array([v for _, v in probes], dtype=float)

    def block_names(self) -> list[str] | None:
        """The probed blocks' names as the probe recorded them (None for records without probes)."""
        for h in self.probed:
            if h.probe and isinstance(h.probe.get("blocks"), list):
                return [str(b) for b in h.probe["blocks"]]
        return None


@dataclasses.dataclass
class Aggregate:
    """One score over the seeds of a group of results."""

    score: str
    values: list[float]
    seeds: list[int]  # the seed of each value, in order
    n: int  # results with a finished record
    missing: int = 0
    failed: int = 0
    diverged: int = 0
    not_applicable: str | None = None
    n_test: int | None = None  # examples of the split an accuracy score was measured on (None: not an accuracy)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.values) if self.values else None

    @property
    def std(self) -> float | None:
        return statistics.stdev(self.values) if len(self.values) > 1 else (0.0 if self.values else None)

    @property
    def interval(self) -> stats.Interval:
        """Mean and 95% interval over seeds (``suite.stats.interval``, floored at the split's binomial error)."""
        return stats.interval(self.values, n_test=self.n_test)

    @property
    def reached(self) -> float | None:
        """The share of finished results with a value (for time-to-target scores: that reached the target)."""
        return len(self.values) / self.n if self.n else None


Key = str | Callable[[Result], Hashable]
_KEYS: dict[str, Callable[[Result], Hashable]] = {
    "task": lambda r: r.task.label,
    "task_name": lambda r: r.task.name,
    "regime": lambda r: r.regime.label,
    "family": lambda r: r.regime.family,
    "seed": lambda r: r.seed,
}


class ResultSet(Sequence[Result]):
    """An ordered collection of results (plan order), with grouping and aggregation over seeds."""

    def __init__(self, results: Iterable[Result] = ()) -> None:
        self._results = list(results)

    @classmethod
    def from_cells(cls, cells: Iterable[Cell], store: Store, select: bool = True) -> ResultSet:
        """The results of ``cells`` with their records looked up in ``store`` by cell hash; with ``select``
        (the default), one selected trial per task x regime x seed (see :meth:`select_trials`)."""
        results = cls(Result(TaskRef.of_cell(c), RegimeRef.of_cell(c), c.seed, c.hash,
                             None if c.not_applicable else store.get(c.hash), c.not_applicable, c.trial) for c in cells)
        return results.select_trials() if select else results

    @classmethod
    def from_records(cls, records: Iterable[Record]) -> ResultSet:
        """Results of bare records (no suite): identities from the records, families from the registry."""
        return cls(Result(TaskRef.of_record(r), RegimeRef.of_record(r), r.seed, r.cell_hash, r) for r in records)

    @classmethod
    def from_suite(cls, suite: Suite, store: Store, backend_name: str | None = None, select: bool = True) -> ResultSet:
        """The results of every cell ``suite`` plans for the backend (default: the active one); ``select=False``
        keeps every trial of a tuned suite."""
        from suite.plan import plan

        return cls.from_cells(plan(suite, backend_name), store, select)

    @overload
    def __getitem__(self, i: int) -> Result: ...

    @overload
    def __getitem__(self, i: slice) -> ResultSet: ...

    def __getitem__(self, i: int | slice) -> Result | ResultSet:
        return ResultSet(self._results[i]) if isinstance(i, slice) else self._results[i]

    def __len__(self) -> int:
        return len(self._results)

    def __iter__(self) -> Iterator[Result]:
        return iter(self._results)

    def __add__(self, other: ResultSet) -> ResultSet:
        return ResultSet([*self._results, *other._results])

    def where(self, predicate: Callable[[Result], bool] | None = None, **equal: Any) -> ResultSet:
        """The results for which ``predicate`` holds and every ``key=value`` of ``equal`` matches
        (keys as in :meth:`group_by`), e.g. ``where(family="layer-wise")``."""
        fns = {k: _key(k) for k in equal}
        return ResultSet(r for r in self._results
                         if (predicate is None or predicate(r)) and all(fns[k](r) == v for k, v in equal.items()))

    def finished(self) -> ResultSet:
        """The results whose record is ``ok`` or ``diverged``."""
        return self.where(lambda r: r.finished)

    @overload
    def group_by(self, key: Key) -> dict[Any, ResultSet]: ...

    @overload
    def group_by(self, key: Key, *more: Key) -> dict[tuple[Any, ...], ResultSet]: ...

    def group_by(self, key: Key, *more: Key) -> dict[Any, ResultSet]:
        """Results grouped by one key (``"task"``, ``"task_name"``, ``"regime"``, ``"family"``, ``"seed"`` or a
        function of a result), or by a tuple of keys; groups in order of first appearance."""
        fns = [_key(k) for k in (key, *more)]
        groups: dict[Any, list[Result]] = {}
        for r in self._results:
            k = fns[0](r) if not more else tuple(f(r) for f in fns)
            groups.setdefault(k, []).append(r)
        return {k: ResultSet(v) for k, v in groups.items()}

    def labels(self, key: Key) -> list[Any]:
        """The distinct values of ``key``, in order of first appearance."""
        return list(self.group_by(key))

    def baseline(self, family: str) -> str | None:
        """The label of the first regime declared the baseline of ``family``, or None."""
        return next((r.regime.label for r in self._results if r.regime.family == family and r.regime.baseline), None)

    def aggregate(self, score: str) -> Aggregate:
        """``score`` over these results: finished values (with their seeds) and counts of the others. An
        information score of a regime whose information plane does not apply is not applicable."""
        na = next((r.not_applicable for r in self._results if r.not_applicable), None)
        if na is None and score_of(score).group == "information":
            na = next((r.regime.probe_not_applicable for r in self._results if r.regime.probe_not_applicable), None)
        split = score_of(score).split
        sizes = {n for r in self._results if split and (n := r.split_size(split))}
        agg = Aggregate(score, [], [], 0, not_applicable=na, n_test=min(sizes) if sizes else None)
        for r in self._results:
            status = r.status
            if status == "missing":
                agg.missing += 1
            elif status == "failed":
                agg.failed += 1
            elif status in FINISHED:
                agg.n += 1
                agg.diverged += status == "diverged"
                if (value := r.score(score)) is not None:
                    agg.values.append(value)
                    agg.seeds.append(r.seed)
        return agg

    def select_trials(self, score: str = SELECTION_SCORE) -> ResultSet:
        """One result per task x regime x seed that has trials: the ``ok`` trial with the highest ``score``
        (ties: the first in grid order). Without a scored trial the group keeps one result, so it still counts:
        the first ``ok``, else diverged, else failed trial, else the first. Untuned results pass unchanged."""
        groups: dict[tuple[str, str, int], list[Result]] = {}
        for r in self._results:
            if r.trial is not None:
                groups.setdefault((r.task.label, r.regime.label, r.seed), []).append(r)
        out = []
        for r in self._results:
            if r.trial is None:
                out.append(r)
            elif (trials := groups.pop((r.task.label, r.regime.label, r.seed), None)) is not None:
                out.append(_selected(trials, score))
        return ResultSet(out)

    def first(self) -> Result | None:
        """The first result, or None for an empty set."""
        return self._results[0] if self._results else None


def _selected(trials: Sequence[Result], score: str) -> Result:
    """The trial that represents its task x regime x seed (see :meth:`ResultSet.select_trials`)."""
    scored = [r for r in trials if r.status == "ok" and r.score(score) is not None]
    if scored:
        return max(scored, key=lambda r: r.score(score) or 0.0)  # max keeps the first of equal scores
    return next((r for status in ("ok", "diverged", "failed") for r in trials if r.status == status), trials[0])


def _key(key: Key) -> Callable[[Result], Hashable]:
    if callable(key):
        return key
    try:
        return _KEYS[key]
    except KeyError:
        raise ValueError(f"unknown result key {key!r}; expected one of {sorted(_KEYS)} or a function") from None


def _registered(reg: registry.Registry[Any], name: str) -> Any:
    return reg.get(name) if name in reg else None
