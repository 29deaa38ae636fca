"""Suite files: a TOML schema (pydantic), loading, and validation with actionable messages.

A suite names tasks (with params and optional budget overrides), regimes (with params), seeds and
metric settings::

    [suite]
    name = "quick"
    version = "1.0"
    seeds = [0, 1, 2]

    [[tasks]]
    name = "digits-mlp"
    params = { depth = 4, width = 128 }
    budget = { epochs = 10 }

    [[regimes]]
    name = "layerwise"

    [metrics.probe]
    probe_size = 300

    [tuning]                      # optional: every regime is tried with each learning rate
    learning_rate = [3e-4, 1e-3, 3e-3]
"""

from __future__ import annotations

import codecs
import collections
import dataclasses
import hashlib
import itertools
import json
import math
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from suite import registry

if TYPE_CHECKING:  # suite.api imports Keras: a file with a TOML error is reported without loading a backend
    from suite.api import Budget, Params, Regime, Task

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SUITES_DIR = Path(__file__).parent / "suites"
DEFAULT_SUITE = "default"

# Caps on what a suite file may ask for; each is stated in the error that enforces it.
MAX_FILE_BYTES = 256 * 1024  # the shipped suites are under 2 KiB; this also bounds TOML parsing time
MAX_DEPTH = 16  # nesting of arrays and tables
MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 1_000_000
MAX_LEARNING_RATE = 10.0
MAX_SEED = 2**32 - 1  # what numpy and TensorFlow seeding accept
MAX_SEEDS = 1_000
MAX_ENTRIES = 1_000  # [[tasks]] and [[regimes]] entries, each
MAX_CELLS = 100_000  # tasks x regimes x seeds x trials
MAX_TRIALS = 64  # tuning trials per task x regime x seed
MAX_PROBE_SIZE = 10_000  # the probe's kernel matrices are probe_size x probe_size
MAX_LABEL = 120
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,79}$"  # safe as a file or directory name


class SpecError(ValueError):
    """A suite file that cannot be used; ``str()`` is the complete message for the user."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: invalid suite file\n{lines}")


def _label_problem(label: str, check_length: bool = True) -> str | None:
    """Why ``label`` cannot name a row (in Markdown tables and one-line logs), or None."""
    if not label.strip():
        return "a label must not be empty"
    if check_length and len(label) > MAX_LABEL:
        return f"a label has at most {MAX_LABEL} characters (got {len(label)})"
    bad = next((c for c in label if c == "|" or unicodedata.category(c).startswith("C")), None)
    if bad is not None:
        return f"a label must not contain {bad!r} ('|', newlines and other control characters are not allowed)"
    return None


class _Strict(BaseModel):
    # strict: a suite file's "1" is not the number 1, nor true the seed 1; inf and nan are never settings.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]


class SuiteInfo(_Strict):
    """The ``[suite]`` table."""

    name: str = Field(pattern=NAME_PATTERN, description="suite name: 1-80 letters, digits, . _ + -, starting with a letter or digit")
    version: str = Field(pattern=r"^[0-9]{1,6}\.[0-9]{1,6}$", description="Major.Minor")
    description: str = Field(default="", max_length=2000)
    seeds: list[Seed] = Field(min_length=1, max_length=MAX_SEEDS,
                              description=f"1 to {MAX_SEEDS} distinct integers in 0..{MAX_SEED}")

    @field_validator("name")
    @classmethod
    def _no_dot_dot(cls, name: str) -> str:
        if ".." in name:
            raise ValueError("a suite name must not contain '..'")
        return name

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError("seeds must be distinct")
        return seeds


class BudgetOverride(_Strict):
    """Fields of a task's default budget to override in this suite."""

    epochs: int | None = Field(default=None, gt=0, le=MAX_EPOCHS, description=f"1 to {MAX_EPOCHS}")
    batch_size: int | None = Field(default=None, gt=0, le=MAX_BATCH_SIZE, description=f"1 to {MAX_BATCH_SIZE}")
    optimizer: Literal["adam", "adamw", "sgd", "rmsprop"] | None = None
    learning_rate: float | None = Field(default=None, gt=0, le=MAX_LEARNING_RATE, description=f"in (0, {MAX_LEARNING_RATE:g}]")


LearningRate = Annotated[float, Field(gt=0, le=MAX_LEARNING_RATE)]
LearningRates = Annotated[list[LearningRate], Field(min_length=1, max_length=MAX_TRIALS,
                                                    description=f"1 to {MAX_TRIALS} distinct learning rates in (0, {MAX_LEARNING_RATE:g}]")]


def _distinct_values(values: list[Any] | None) -> list[Any] | None:
    if values is not None and len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
        raise ValueError("a tuning grid lists each value once")
    return values


class TuningSettings(_Strict):
    """The ``[tuning]`` table: the learning rates every regime is tried with; their number is the trial budget."""

    learning_rate: LearningRates

    _distinct = field_validator("learning_rate")(_distinct_values)


class RegimeTuning(_Strict):
    """A regime entry's ``tuning``: its own grid, replacing the suite's; it must give as many trials."""

    learning_rate: LearningRates | None = None
    params: dict[str, Annotated[list[Any], Field(min_length=1, max_length=MAX_TRIALS)]] = Field(
        default_factory=dict, description="a list of values per regime param")

    _distinct = field_validator("learning_rate")(_distinct_values)

    @field_validator("params")
    @classmethod
    def _distinct_params(cls, params: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for values in params.values():
            _distinct_values(values)
        return params

    @property
    def size(self) -> int:
        """The number of trials of this grid."""
        return len(self.learning_rate or [None]) * math.prod(len(v) for v in self.params.values())

    @model_validator(mode="after")
    def _not_empty(self) -> RegimeTuning:
        if self.learning_rate is None and not self.params:
            raise ValueError("a tuning table needs learning_rate or params")
        return self


class TaskEntry(_Strict):
    """One ``[[tasks]]`` entry."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    budget: BudgetOverride = Field(default_factory=BudgetOverride)


class RegimeEntry(_Strict):
    """One ``[[regimes]]`` entry; ``label`` tells apart two entries of the same regime."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    label: str | None = Field(default=None, description=f"at most {MAX_LABEL} characters; no '|' or control characters")
    tuning: RegimeTuning | None = None

    @field_validator("label")
    @classmethod
    def _safe_label(cls, label: str | None) -> str | None:
        problem = None if label is None else _label_problem(label)
        if problem:
            raise ValueError(problem)
        return label


class ProbeSettings(_Strict):
    """``[metrics.probe]``: the information-plane probe (see ``suite.metrics``)."""

    enabled: bool = True
    probe_size: int = Field(default=1000, gt=1, le=MAX_PROBE_SIZE,
                            description=f"test examples in the probe set (stratified, seeded), 2 to {MAX_PROBE_SIZE}")
    probe_seed: int = Field(default=0, ge=0, le=MAX_SEED, description="seed of the probe-set draw (fixed across cells)")
    every: int | Literal["log"] = Field(default=1, description="probe every N epochs, or 'log' for a log-spaced schedule")
    estimators: list[str] = Field(default_factory=lambda: ["nhsic", "nhsic_median", "cka", "cka_median"], min_length=1,
                                  description="registered estimators (`e2ebench list estimators`)")
    sigma: float = Field(default=5.0, gt=0)
    eps: float = Field(default=1e-5, gt=0)
    label_kernel: Literal["gaussian", "linear"] = "gaussian"

    @field_validator("estimators")
    @classmethod
    def _registered(cls, estimators: list[str]) -> list[str]:
        known = registry.estimators.names()
        for name in estimators:
            if name not in known:
                raise ValueError(f"unknown estimator {name!r}{registry.did_you_mean(name, known)}")
        if len(set(estimators)) != len(estimators):
            raise ValueError("estimators must be distinct")
        return estimators

    @field_validator("every")
    @classmethod
    def _positive(cls, every: int | str) -> int | str:
        if isinstance(every, int) and not 0 < every <= MAX_EPOCHS:
            raise ValueError(f"every must be an integer in 1..{MAX_EPOCHS} or 'log'")
        return every


class MetricsSettings(_Strict):
    """The ``[metrics]`` table."""

    probe: ProbeSettings = Field(default_factory=ProbeSettings)


class ReportSettings(_Strict):
    """The ``[report]`` table: which sections ``e2ebench report`` writes, in order (see ``suite.report``)."""

    sections: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=lambda: ["table"], min_length=1, max_length=100)


class DataSettings(_Strict):
    """The ``[data]`` table: where prepared datasets are found (see ``tasks.datasets.options``).

    Not part of any cell's identity: the same data read from another directory gives the same cells.
    """

    data_dir: str | None = Field(default=None, max_length=4096, description="directory of prepared TFDS datasets; relative paths are relative to the suite file; `--data-dir` overrides it")


class SuiteFile(_Strict):
    """The raw schema of a suite file."""

    suite: SuiteInfo
    tasks: list[TaskEntry] = Field(min_length=1, max_length=MAX_ENTRIES)
    regimes: list[RegimeEntry] = Field(min_length=1, max_length=MAX_ENTRIES)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    tuning: TuningSettings | None = None


@dataclasses.dataclass(frozen=True)
class ResolvedTask:
    """A task entry with its class found and its params and budget validated."""

    cls: type[Task]
    params: Params
    budget: Budget

    @property
    def label(self) -> str:
        return self.cls.name + params_suffix(self.params, self.cls.Params())


@dataclasses.dataclass(frozen=True)
class Trial:
    """One point of a tuning grid: the budget's learning rate (None: the task's) and the regime params."""

    learning_rate: float | None
    params: Params
    setting: tuple[tuple[str, Any], ...]  # what the grid varies, e.g. (("learning_rate", 0.001),)

    def as_dict(self) -> dict[str, Any]:
        """The setting as a dict, e.g. ``{"learning_rate": 0.001}`` (for display; not part of a cell's key)."""
        return dict(self.setting)


@dataclasses.dataclass(frozen=True)
class ResolvedRegime:
    """A regime entry with its class found and its params validated; ``trials`` is its tuning grid (empty: untuned)."""

    cls: type[Regime]
    params: Params
    label: str
    trials: tuple[Trial, ...] = ()


@dataclasses.dataclass(frozen=True)
class Suite:
    """A validated suite, ready to be planned into cells."""

    name: str
    version: str
    description: str
    seeds: tuple[int, ...]
    tasks: tuple[ResolvedTask, ...]
    regimes: tuple[ResolvedRegime, ...]
    metrics: MetricsSettings
    report: ReportSettings
    source: str
    sha256: str
    data: DataSettings = dataclasses.field(default_factory=DataSettings)
    tuning: TuningSettings | None = None

    @property
    def n_trials(self) -> int:
        """Trials per task x regime x seed (1 when untuned; the same for every regime)."""
        return max((len(r.trials) for r in self.regimes), default=0) or 1


def trial_label(trial: Mapping[str, Any]) -> str:
    """A trial's setting, short: ``lr=0.001``, ``lam=10``, ``lr=0.003 lam=1``."""
    return " ".join(f"{'lr' if k == 'learning_rate' else k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in trial.items())


def params_suffix(params: Params, defaults: Params) -> str:
    """``[k=v,...]`` for the params that differ from the defaults (empty when none do): the label suffix."""
    changed = {k: v for k, v in params.model_dump().items() if defaults.model_dump().get(k) != v}
    if not changed:
        return ""
    return "[" + ",".join(f"{k}={v}" for k, v in sorted(changed.items())) + "]"


def _loc(parts: Sequence[Any]) -> str:
    out = ""
    for p in parts:
        p = p if isinstance(p, int) else _clip(str(p), 40)
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out or "(top level)"


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _shown(value: Any) -> str:
    return "" if isinstance(value, (dict, list)) else f" (got {_clip(repr(value))})"


def _format_validation_error(exc: ValidationError, prefix: Sequence[Any], model: type[BaseModel]) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = list(prefix) + list(err["loc"])
        where = _loc(loc)
        if err["type"] == "extra_forbidden":
            field = err["loc"][-1]
            parent = _model_at(model, err["loc"][:-1])
            known = sorted(parent.model_fields) if parent is not None else []
            hint = registry.did_you_mean(_clip(str(field), 100), known) if known else ""
            problems.append(f"{where}: unknown field{hint}" + ("" if hint else f" (expected one of: {', '.join(known)})" if known else ""))
        elif err["type"] == "missing":
            problems.append(f"{where}: required field is missing")
        else:
            problems.append(f"{where}: {err['msg']}{_shown(err.get('input'))}")
    return problems


def _model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """The pydantic model class found by walking ``loc`` from ``model`` (list indices skipped)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if isinstance(current, type) and issubclass(current, BaseModel) else None
        if field is None:
            return None
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        current = next((a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if current is None:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unknown_names(raw: dict[str, Any]) -> list[str]:
    """``tasks[i].name`` / ``regimes[i].name`` problems found in raw (not yet validated) suite data."""
    problems = []
    for key, reg in (("tasks", registry.tasks), ("regimes", registry.regimes)):
        entries = raw.get(key)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str) and name not in reg:
                problems.append(f"{key}[{i}].name: unknown {reg.kind} {_clip(repr(name))}{registry.did_you_mean(_clip(name, 100), reg.names())}")
    return problems


def _too_many(raw: dict[str, Any]) -> list[str]:
    """Lists over their cap, found before any item is validated (so a million seeds fail at once)."""
    info = raw.get("suite")
    lists = [("suite.seeds", info.get("seeds") if isinstance(info, dict) else None, MAX_SEEDS, "seeds"),
             ("tasks", raw.get("tasks"), MAX_ENTRIES, "[[tasks]] entries"),
             ("regimes", raw.get("regimes"), MAX_ENTRIES, "[[regimes]] entries")]
    return [f"{where}: at most {cap} {what} (got {len(value)})" for where, value, cap, what in lists
            if isinstance(value, list) and len(value) > cap]


def _scan(raw: dict[str, Any]) -> list[str]:
    """Values no setting accepts, anywhere (params included): deep nesting, inf/nan, dates, control characters."""
    problems: list[str] = []
    stack: list[tuple[list[Any], Any]] = [([], raw)]
    while stack and len(problems) < 20:
        loc, value = stack.pop()
        if isinstance(value, (dict, list)):
            if len(loc) >= MAX_DEPTH:
                problems.append(f"{_loc(loc)}: nested too deeply (a suite file has at most {MAX_DEPTH} levels of tables and arrays)")
                continue
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend((loc + [k], v) for k, v in items)
        elif isinstance(value, float):
            if not math.isfinite(value):
                problems.append(f"{_loc(loc)}: must be a finite number (got {value})")
        elif isinstance(value, str):
            bad = next((c for c in value if unicodedata.category(c) == "Cc" and c not in "\t\n"), None)
            if bad is not None:
                problems.append(f"{_loc(loc)}: control character {bad!r} in a string (only tabs and newlines are allowed)")
        elif not isinstance(value, (bool, int)):
            problems.append(f"{_loc(loc)}: dates and times are not settings (got {_clip(str(value))}); quote it to give a string")
    return sorted(problems)


def _section_problems(sections: Sequence[str]) -> list[str]:
    known = registry.reports.names()
    problems = []
    for i, name in enumerate(sections):
        if name not in known:
            problems.append(f"report.sections[{i}]: unknown report section {_clip(repr(name))}{registry.did_you_mean(name, known)}")
        elif name in sections[:i]:
            problems.append(f"report.sections[{i}]: section {name!r} is listed twice")
    return problems


def _test_examples(task: ResolvedTask) -> int | None:
    """The size of the task's test split when its params state it (``test_size``), else None.

    Only that is known without loading data: tasks on fixed datasets (the embedded digits, TFDS) expose
    no size cheaply, so a ``probe_size`` above their split is not caught here (the probe then uses the
    whole split; see ``suite.probe.stratified_indices``).
    """
    n = getattr(task.params, "test_size", None)
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def _validate_params(cls: type[Task | Regime], params: dict[str, Any], where: list[Any], problems: list[str]) -> Params | None:
    """``params`` validated strictly against ``cls.Params`` (JSON rules: a string is never a number or a
    boolean; an integer is a valid float), or None with the problems appended."""
    try:
        return cls.Params.model_validate_json(json.dumps(params), strict=True)
    except ValidationError as exc:
        problems.extend(_format_validation_error(exc, where, cls.Params))
        return None


def _unequal_trials(tuning: TuningSettings | None, counts: Sequence[tuple[str, str, int, bool]]) -> list[str]:
    """Problems for the regime entries (``(where, label, trials, tuned)``) whose number of trials differs from
    the suite's: that of ``[tuning]``, else that of the first entry."""
    if not counts:
        return []
    expected, source = ((len(tuning.learning_rate), "the suite's [tuning] gives") if tuning is not None
                        else (counts[0][2], f"{counts[0][1]!r}{'' if counts[0][3] else ' (untuned)'} gets"))
    return [f"{where}: {label!r} gets {n} trial{'s' * (n != 1)}{'' if tuned else ' (untuned)'}, but {source} {expected}; "
            "every regime gets the same number of trials (the same tuning budget)"
            for where, label, n, tuned in counts if n != expected]


def suite_trials(tuning: TuningSettings | None, params: Params) -> tuple[Trial, ...]:
    """The trials the suite's ``[tuning]`` gives a regime entry with ``params`` (none without the table)."""
    lrs = tuning.learning_rate if tuning is not None else []
    return tuple(Trial(lr, params, (("learning_rate", lr),)) for lr in lrs)


def _regime_trials(cls: type[Regime], entry: RegimeEntry, params: Params, where: list[Any],
                   problems: list[str]) -> tuple[Trial, ...]:
    """The grid of a regime entry's own ``tuning``: its learning rates x each param's values, in file order,
    every value validated against ``cls.Params``; empty, with the problems appended, when it is unusable."""
    tuning = entry.tuning
    assert tuning is not None
    errors: list[str] = []
    if "learning_rate" in tuning.params and tuning.learning_rate is not None:
        errors.append(f"{_loc([*where, 'params', 'learning_rate'])}: tune the budget's learning_rate or the param of that name, not both")
    for name, values in tuning.params.items():
        for value in values:
            _validate_params(cls, {**entry.params, name: value}, [*where, "params"], errors)
    if (n := tuning.size) > MAX_TRIALS:
        errors.append(f"{_loc(where)}: {n} trials (the product of the grid's lengths); a regime has at most {MAX_TRIALS}")
    if errors:
        problems.extend(dict.fromkeys(errors))
        return ()
    trials: dict[tuple[float | None, str], Trial] = {}
    for lr in tuning.learning_rate or [None]:
        for values in itertools.product(*tuning.params.values()):
            tuned = dict(zip(tuning.params, values))
            trial_params = _validate_params(cls, {**entry.params, **tuned}, [*where, "params"], errors) if tuned else params
            if trial_params is None:
                continue
            shown = trial_params.model_dump(mode="json")  # the validated values (a TOML 1 for a float reads 1.0)
            setting = ((("learning_rate", lr),) if lr is not None else ()) + tuple((k, shown[k]) for k in tuned)
            key = (lr, trial_params.model_dump_json())
            if key in trials:
                errors.append(f"{_loc(where)}: two trials are the same setting ({trials[key].as_dict()} and {dict(setting)}); "
                              "list each value once")
            trials.setdefault(key, Trial(lr, trial_params, setting))
    problems.extend(dict.fromkeys(errors))
    return () if errors else tuple(trials.values())


def find_suite(name_or_path: str | None) -> Path:
    """A suite file's path from a path, or from the name of a suite shipped in the package."""
    if name_or_path is None:
        name_or_path = DEFAULT_SUITE
    path = Path(name_or_path)
    try:
        if path.suffix == ".toml" or path.exists():
            if not path.is_file():
                raise SpecError(str(path), ["not a file" if path.exists() else "file not found"])
            return path
    except OSError as exc:
        raise SpecError(_clip(str(path), 200), [f"cannot open it: {exc.strerror or exc}"]) from None
    shipped = SUITES_DIR / f"{name_or_path}.toml"
    if shipped.is_file():
        return shipped
    names = shipped_suites()
    raise SpecError(name_or_path, [f"no such file, and no shipped suite of that name{registry.did_you_mean(name_or_path, names)}"])


def shipped_suites() -> list[str]:
    """Names of the suites that ship inside the package."""
    return sorted(p.stem for p in SUITES_DIR.glob("*.toml"))


@dataclasses.dataclass(frozen=True)
class SuiteSummary:
    """What ``e2ebench list suites`` shows of a suite: read from its file alone, no task or regime loaded."""

    name: str
    version: str
    description: str
    cells: int  # tasks x regimes x seeds x trials, as the resolved suite counts them


def summarize_suite(name_or_path: str | Path) -> SuiteSummary:
    """A suite file's name, version, description and number of cells, without importing task code (or a
    backend). Only the parts it reads are validated: :func:`load_suite` checks the rest."""
    path = find_suite(str(name_or_path))
    source = str(path)
    try:
        raw = tomllib.loads(_read_text(path))
        info = SuiteInfo.model_validate(raw.get("suite"))
        tasks, regimes = raw.get("tasks", []), raw.get("regimes", [])
        suite_trials = len(TuningSettings.model_validate(raw["tuning"]).learning_rate) if "tuning" in raw else 0
        sizes = [RegimeTuning.model_validate(r["tuning"]).size if isinstance(r, dict) and "tuning" in r else suite_trials
                 for r in regimes]
    except ValueError as exc:  # TOMLDecodeError and pydantic's ValidationError
        raise SpecError(source, [f"{type(exc).__name__}: {str(exc).splitlines()[0]}; `e2ebench validate {source}` says more"]) from None
    cells = len(tasks) * len(regimes) * len(info.seeds) * (max(sizes, default=0) or 1)
    return SuiteSummary(info.name, info.version, info.description, cells)


def load_suite(name_or_path: str | Path | None = None) -> Suite:
    """Read, validate and resolve a suite file (a path, or a shipped suite's name).

    Raises:
        SpecError: with every problem found, each naming its field.
    """
    path = find_suite(None if name_or_path is None else str(name_or_path))
    return parse_suite(_read_text(path), source=str(path))


def _read_text(path: Path) -> str:
    """A suite file's text: UTF-8 (a UTF-8 byte-order mark is dropped), at most :data:`MAX_FILE_BYTES`,
    line endings normalized as text-mode reading does (so every suite's sha256 is what it was)."""
    source = str(path)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SpecError(source, [f"(file): cannot read it: {exc.strerror or exc}"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise SpecError(source, [f"(file): larger than {MAX_FILE_BYTES // 1024} KiB, the most a suite file may be"])
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SpecError(source, ["(file): UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpecError(source, [f"(file): not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}); save it as UTF-8"]) from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def parse_suite(text: str, source: str = "<suite>") -> Suite:
    """Validate and resolve suite-file text (see :func:`load_suite`)."""
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SpecError(source, [f"(file): not valid Unicode text ({exc.reason} at character {exc.start})"]) from None
    if len(encoded) > MAX_FILE_BYTES:
        raise SpecError(source, [f"(file): larger than {MAX_FILE_BYTES // 1024} KiB, the most a suite file may be"])
    if "\x00" in text:
        raise SpecError(source, [f"(file): a NUL byte at line {text.count(chr(10), 0, text.index(chr(0))) + 1}; a suite file is TOML text"])
    try:
        raw = tomllib.loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError, or a value it cannot build
        raise SpecError(source, [f"TOML syntax error: {exc}"]) from None
    except RecursionError:
        raise SpecError(source, [f"(file): arrays or tables nested too deeply (a suite file has at most {MAX_DEPTH} levels)"]) from None
    if not raw:
        raise SpecError(source, ["(file): no settings (expected a [suite] table, [[tasks]] and [[regimes]] entries)"])
    early = _too_many(raw) or _scan(raw)
    if early:
        raise SpecError(source, early)
    try:
        spec = SuiteFile.model_validate(raw)
    except ValidationError as exc:
        # Report unknown task/regime names too, so one pass shows every problem.
        raise SpecError(source, _format_validation_error(exc, [], SuiteFile) + _unknown_names(raw)) from None

    from suite.api import Budget

    problems: list[str] = []
    n_trials = (len(spec.tuning.learning_rate) if spec.tuning is not None
                else max((e.tuning.size for e in spec.regimes if e.tuning is not None), default=1))
    n_cells = len(spec.tasks) * len(spec.regimes) * len(spec.suite.seeds) * n_trials
    if n_cells > MAX_CELLS:
        problems.append(f"(top level): {len(spec.tasks)} tasks x {len(spec.regimes)} regimes x {len(spec.suite.seeds)} seeds "
                        + (f"x {n_trials} trials " if n_trials > 1 else "") + f"= {n_cells} cells; a suite has at most {MAX_CELLS}")
    if "report" in raw:  # the default sections are known ones: import the registry only when a file names some
        problems.extend(_section_problems(spec.report.sections))

    tasks: list[ResolvedTask] = []
    for i, entry in enumerate(spec.tasks):
        try:
            cls = registry.tasks.get(entry.name)
        except registry.RegistryError as exc:
            problems.append(f"tasks[{i}].name: {exc}")
            continue
        params = _validate_params(cls, entry.params, ["tasks", i, "params"], problems)
        if params is None:
            continue
        overrides = entry.budget.model_dump(exclude_none=True)
        budget = cls.default_budget.model_copy(update=overrides)
        task = ResolvedTask(cls, params, Budget.model_validate(budget.model_dump()))
        problem = _label_problem(task.label, check_length=False)
        if problem:
            problems.append(f"tasks[{i}].params: its label {_clip(repr(task.label))} is unusable: {problem}")
        probe = spec.metrics.probe
        n_test = _test_examples(task)
        if probe.enabled and n_test is not None and probe.probe_size > n_test:
            problems.append(f"metrics.probe.probe_size: {probe.probe_size} is more than the {n_test} test examples of "
                            f"tasks[{i}] ({task.label}); expected at most {n_test}")
        tasks.append(task)

    regimes: list[ResolvedRegime] = []
    trial_counts: list[tuple[str, str, int, bool]] = []  # (where, label, trials, tuned) of each entry
    for i, rentry in enumerate(spec.regimes):
        try:
            rcls = registry.regimes.get(rentry.name)
        except registry.RegistryError as exc:
            problems.append(f"regimes[{i}].name: {exc}")
            continue
        rparams = _validate_params(rcls, rentry.params, ["regimes", i, "params"], problems)
        if rparams is None:
            continue
        label = rentry.label or rcls.name + params_suffix(rparams, rcls.Params())
        problem = None if rentry.label else _label_problem(label)
        if problem:
            problems.append(f"regimes[{i}].params: its label {_clip(repr(label))} is unusable: {problem}; give the entry a 'label'")
        trials = (suite_trials(spec.tuning, rparams) if rentry.tuning is None
                  else _regime_trials(rcls, rentry, rparams, ["regimes", i, "tuning"], problems))
        if rentry.tuning is None or trials:
            trial_counts.append((f"regimes[{i}]" + (".tuning" if rentry.tuning else ""), label, max(len(trials), 1), bool(trials)))
        regimes.append(ResolvedRegime(rcls, rparams, label, trials))

    counts = collections.Counter(r.label for r in regimes)
    for dup in sorted(x for x, n in counts.items() if n > 1):
        problems.append(f"regimes: two entries are both labelled {dup!r}; give one a distinct 'label'")
    problems.extend(_unequal_trials(spec.tuning, trial_counts))
    task_counts = collections.Counter(t.label for t in tasks)
    for dup in sorted(x for x, n in task_counts.items() if n > 1):
        problems.append(f"tasks: {dup!r} is listed twice")
    if problems:
        raise SpecError(source, problems)
    return Suite(
        name=spec.suite.name,
        version=spec.suite.version,
        description=spec.suite.description,
        seeds=tuple(spec.suite.seeds),
        tasks=tuple(tasks),
        regimes=tuple(regimes),
        metrics=spec.metrics,
        report=spec.report,
        source=source,
        sha256=hashlib.sha256(encoded).hexdigest(),
        data=spec.data,
        tuning=spec.tuning,
    )
