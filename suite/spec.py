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
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from suite import registry
from suite.api import Budget, Params, Regime, Task

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SUITES_DIR = Path(__file__).parent / "suites"
DEFAULT_SUITE = "default"


class SpecError(ValueError):
    """A suite file that cannot be used; ``str()`` is the complete message for the user."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: invalid suite file\n{lines}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SuiteInfo(_Strict):
    """The ``[suite]`` table."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="suite name (letters, digits, . _ -)")
    version: str = Field(pattern=r"^\d+\.\d+$", description="Major.Minor")
    description: str = ""
    seeds: list[int] = Field(min_length=1, description="a non-empty list of distinct non-negative integers")

    @field_validator("seeds")
    @classmethod
    def _distinct_non_negative(cls, seeds: list[int]) -> list[int]:
        if any(s < 0 for s in seeds):
            raise ValueError("seeds must be non-negative integers")
        if len(set(seeds)) != len(seeds):
            raise ValueError("seeds must be distinct")
        return seeds


class BudgetOverride(_Strict):
    """Fields of a task's default budget to override in this suite."""

    epochs: int | None = Field(default=None, gt=0)
    batch_size: int | None = Field(default=None, gt=0)
    optimizer: Literal["adam", "adamw", "sgd", "rmsprop"] | None = None
    learning_rate: float | None = Field(default=None, gt=0)


class TaskEntry(_Strict):
    """One ``[[tasks]]`` entry."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    budget: BudgetOverride = Field(default_factory=BudgetOverride)


class RegimeEntry(_Strict):
    """One ``[[regimes]]`` entry; ``label`` tells apart two entries of the same regime."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    label: str | None = None


class ProbeSettings(_Strict):
    """``[metrics.probe]``: the information-plane probe (see ``suite.metrics``)."""

    enabled: bool = True
    probe_size: int = Field(default=1000, gt=1, description="test examples in the probe set (stratified, seeded)")
    probe_seed: int = Field(default=0, ge=0, description="seed of the probe-set draw (fixed across cells)")
    every: int | Literal["log"] = Field(default=1, description="probe every N epochs, or 'log' for a log-spaced schedule")
    estimators: list[Literal["nhsic", "cka"]] = Field(default_factory=lambda: ["nhsic", "cka"], min_length=1)
    sigma: float = Field(default=5.0, gt=0)
    eps: float = Field(default=1e-5, gt=0)
    label_kernel: Literal["gaussian", "linear"] = "gaussian"

    @field_validator("every")
    @classmethod
    def _positive(cls, every: int | str) -> int | str:
        if isinstance(every, int) and every <= 0:
            raise ValueError("every must be a positive integer or 'log'")
        return every


class MetricsSettings(_Strict):
    """The ``[metrics]`` table."""

    probe: ProbeSettings = Field(default_factory=ProbeSettings)


class ReportSettings(_Strict):
    """The ``[report]`` table: which sections ``e2ebench report`` writes, in order (see ``suite.report``)."""

    sections: list[str] = Field(default_factory=lambda: ["table"], min_length=1)


class DataSettings(_Strict):
    """The ``[data]`` table: where prepared datasets are found (see ``tasks.datasets.options``).

    Not part of any cell's identity: the same data read from another directory gives the same cells.
    """

    data_dir: str | None = Field(default=None, description="directory of prepared TFDS datasets; relative paths are relative to the suite file; `--data-dir` overrides it")


class SuiteFile(_Strict):
    """The raw schema of a suite file."""

    suite: SuiteInfo
    tasks: list[TaskEntry] = Field(min_length=1)
    regimes: list[RegimeEntry] = Field(min_length=1)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    data: DataSettings = Field(default_factory=DataSettings)


@dataclasses.dataclass(frozen=True)
class ResolvedTask:
    """A task entry with its class found and its params and budget validated."""

    cls: type[Task]
    params: Params
    budget: Budget

    @property
    def label(self) -> str:
        return self.cls.name + _params_suffix(self.params, self.cls.Params())


@dataclasses.dataclass(frozen=True)
class ResolvedRegime:
    """A regime entry with its class found and its params validated."""

    cls: type[Regime]
    params: Params
    label: str


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


def _params_suffix(params: Params, defaults: Params) -> str:
    changed = {k: v for k, v in params.model_dump().items() if defaults.model_dump().get(k) != v}
    if not changed:
        return ""
    return "[" + ",".join(f"{k}={v}" for k, v in sorted(changed.items())) + "]"


def _loc(parts: Sequence[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _format_validation_error(exc: ValidationError, prefix: Sequence[Any], model: type[BaseModel]) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = list(prefix) + list(err["loc"])
        where = _loc(loc)
        if err["type"] == "extra_forbidden":
            field = err["loc"][-1]
            parent = _model_at(model, err["loc"][:-1])
            known = sorted(parent.model_fields) if parent is not None else []
            hint = registry.did_you_mean(str(field), known) if known else ""
            problems.append(f"{where}: unknown field{hint}" + ("" if hint else f" (expected one of: {', '.join(known)})" if known else ""))
        elif err["type"] == "missing":
            problems.append(f"{where}: required field is missing")
        else:
            got = err.get("input")
            shown = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
            problems.append(f"{where}: {err['msg']}{shown}")
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
                problems.append(f"{key}[{i}].name: unknown {reg.kind} {name!r}{registry.did_you_mean(name, reg.names())}")
    return problems


def find_suite(name_or_path: str | None) -> Path:
    """A suite file's path from a path, or from the name of a suite shipped in the package."""
    if name_or_path is None:
        name_or_path = DEFAULT_SUITE
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise SpecError(str(path), ["file not found"])
        return path
    shipped = SUITES_DIR / f"{name_or_path}.toml"
    if shipped.is_file():
        return shipped
    names = shipped_suites()
    raise SpecError(name_or_path, [f"no such file, and no shipped suite of that name{registry.did_you_mean(name_or_path, names)}"])


def shipped_suites() -> list[str]:
    """Names of the suites that ship inside the package."""
    return sorted(p.stem for p in SUITES_DIR.glob("*.toml"))


def load_suite(name_or_path: str | Path | None = None) -> Suite:
    """Read, validate and resolve a suite file (a path, or a shipped suite's name).

    Raises:
        SpecError: with every problem found, each naming its field.
    """
    path = find_suite(None if name_or_path is None else str(name_or_path))
    text = path.read_text(encoding="utf-8")
    return parse_suite(text, source=str(path))


def parse_suite(text: str, source: str = "<suite>") -> Suite:
    """Validate and resolve suite-file text (see :func:`load_suite`)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(source, [f"TOML syntax error: {exc}"]) from None
    try:
        spec = SuiteFile.model_validate(raw)
    except ValidationError as exc:
        # Report unknown task/regime names too, so one pass shows every problem.
        raise SpecError(source, _format_validation_error(exc, [], SuiteFile) + _unknown_names(raw)) from None

    problems: list[str] = []
    tasks: list[ResolvedTask] = []
    for i, entry in enumerate(spec.tasks):
        try:
            cls = registry.tasks.get(entry.name)
        except registry.RegistryError as exc:
            problems.append(f"tasks[{i}].name: {exc}")
            continue
        try:
            params = cls.Params.model_validate(entry.params)
        except ValidationError as exc:
            problems.extend(_format_validation_error(exc, ["tasks", i, "params"], cls.Params))
            continue
        overrides = entry.budget.model_dump(exclude_none=True)
        budget = cls.default_budget.model_copy(update=overrides)
        tasks.append(ResolvedTask(cls, params, Budget.model_validate(budget.model_dump())))

    regimes: list[ResolvedRegime] = []
    for i, rentry in enumerate(spec.regimes):
        try:
            rcls = registry.regimes.get(rentry.name)
        except registry.RegistryError as exc:
            problems.append(f"regimes[{i}].name: {exc}")
            continue
        try:
            rparams = rcls.Params.model_validate(rentry.params)
        except ValidationError as exc:
            problems.extend(_format_validation_error(exc, ["regimes", i, "params"], rcls.Params))
            continue
        label = rentry.label or rcls.name + _params_suffix(rparams, rcls.Params())
        regimes.append(ResolvedRegime(rcls, rparams, label))

    labels = [r.label for r in regimes]
    for dup in sorted({x for x in labels if labels.count(x) > 1}):
        problems.append(f"regimes: two entries are both labelled {dup!r}; give one a distinct 'label'")
    task_labels = [t.label for t in tasks]
    for dup in sorted({x for x in task_labels if task_labels.count(x) > 1}):
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
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        data=spec.data,
    )
