"""One generic registry for every kind of plugin: tasks, regimes, report sections, estimators, scores.

Built-in entries register themselves with a decorator when their module is imported. Third-party
packages add entries through entry points (groups ``e2ebench.tasks``, ``e2ebench.regimes``,
``e2ebench.reports``, ``e2ebench.estimators`` and ``e2ebench.scores``; each value a ``module:attr``
string naming an entry, or a module whose import registers entries), and a plain Python file through
:func:`load_plugin_file`.

This module imports no backend: the registries of sections, estimators and scores are usable by
commands that never train.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from suite.api import Regime, Task
    from suite.estimators import Estimator
    from suite.reports.core import Section
    from suite.scores import Score

T = TypeVar("T")


class RegistryError(ValueError):
    """A name collision, an unknown name, or a plugin that cannot be loaded."""


class Registry(Generic[T]):
    """Name -> entry mapping for one kind of plugin, filled by decorators and entry points.

    Args:
        kind: what the entries are, for messages (``"task"``, ``"report section"``, ...).
        builtin_modules: modules whose import registers the built-in entries (imported on first use).
        entry_point_group: the entry-point group third-party packages register under.
        validate: raises :class:`RegistryError` for an object that is not an entry of this kind.
        same: whether two objects registered under one name are the same entry (then it is no collision).
    """

    def __init__(self, kind: str, builtin_modules: tuple[str, ...], entry_point_group: str,
                 validate: Callable[[Any], None], same: Callable[[T, T], bool] = lambda a, b: a is b) -> None:
        self.kind = kind
        self._builtin = builtin_modules
        self._group = entry_point_group
        self._validate = validate
        self._same = same
        self._entries: dict[str, T] = {}
        self._loaded = False

    def register(self, entry: T) -> T:
        """Add ``entry`` under ``entry.name`` (usable as a decorator). A second, different entry of the
        same name is an error."""
        self._validate(entry)
        name: str = entry.name  # type: ignore[attr-defined]
        existing = self._entries.get(name)
        if existing is not None and not self._same(existing, entry):
            raise RegistryError(f"duplicate {self.kind} name {name!r}: {_where(existing)} and {_where(entry)}")
        self._entries[name] = entry
        return entry

    def replace(self, entry: T) -> T:
        """Register ``entry`` in place of the entry of the same name (for stand-ins described again from
        another file, :mod:`suite.untrusted`)."""
        self._validate(entry)
        self._entries[entry.name] = entry  # type: ignore[attr-defined]
        return entry

    def load(self) -> None:
        """Import the built-in entries and the entry points (once)."""
        if self._loaded:
            return
        self._loaded = True
        for module in self._builtin:
            importlib.import_module(module)
        for ep in importlib.metadata.entry_points(group=self._group):
            try:
                obj = ep.load()
            except Exception as exc:  # a broken third-party plugin must not hide the built-ins
                raise RegistryError(f"entry point {ep.name!r} ({ep.value}) of group {self._group} failed to load: {exc}") from exc
            if isinstance(obj, types.ModuleType):
                continue  # importing it registered its entries
            if getattr(obj, "name", None) not in self._entries:
                self.register(obj)

    def get(self, name: str) -> T:
        """The entry registered as ``name``; unknown names raise with the closest matches."""
        self.load()
        try:
            return self._entries[name]
        except KeyError:
            raise RegistryError(f"unknown {self.kind} {name!r}{did_you_mean(name, self.names())}") from None

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self.load()
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        self.load()
        return name in self._entries

    def __iter__(self) -> Iterator[T]:
        self.load()
        return iter([self._entries[n] for n in sorted(self._entries)])


def did_you_mean(name: str, choices: list[str]) -> str:
    """``"; did you mean 'a' or 'b'?"`` for the closest choices, or ``""``; lists the choices when few."""
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.65)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    if choices and len(choices) <= 12:
        return "; known: " + ", ".join(choices)
    return ""


def _where(obj: Any) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    qual = obj.__qualname__ if isinstance(obj, type) else f"{cls.__qualname__}({getattr(obj, 'name', '?')!r})"
    module = getattr(obj, "__module__", None) or cls.__module__
    return f"{module}.{qual}"


def _same_class(a: type, b: type) -> bool:
    # the same class imported twice (e.g. a plugin file loaded again in a worker) is the same entry
    return a is b or (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def _class_validator(kind: str, base: Callable[[], type]) -> Callable[[Any], None]:
    def validate(cls: Any) -> None:
        if not (isinstance(cls, type) and issubclass(cls, base())):
            raise RegistryError(f"{cls!r} is not a subclass of {base().__name__}")
        for attr in ("name", "version", "description"):
            if not getattr(cls, attr, None):
                raise RegistryError(f"{kind} {cls.__qualname__} must set the class attribute {attr!r}")

    return validate


def _instance_validator(kind: str, cls: Callable[[], type]) -> Callable[[Any], None]:
    def validate(obj: Any) -> None:
        if not isinstance(obj, cls()):
            raise RegistryError(f"{obj!r} is not a {kind} (an instance of {cls().__qualname__})")
        if not getattr(obj, "name", None):
            raise RegistryError(f"{kind} {obj!r} has no name")

    return validate


def _api(attr: str) -> Callable[[], type]:
    return lambda: getattr(importlib.import_module("suite.api"), attr)


def _attr(module: str, attr: str) -> Callable[[], type]:
    return lambda: getattr(importlib.import_module(module), attr)


def class_registry(kind: str, base: type | Callable[[], type], builtin_modules: tuple[str, ...], entry_point_group: str) -> Registry[Any]:
    """A registry of subclasses of ``base`` (a class, or a function returning it, to import it lazily)."""
    get_base = base if not isinstance(base, type) else (lambda: base)
    return Registry(kind, builtin_modules, entry_point_group, _class_validator(kind, get_base), _same_class)


tasks: Registry[type[Task]] = class_registry("task", _api("Task"), ("tasks",), "e2ebench.tasks")
regimes: Registry[type[Regime]] = class_registry("regime", _api("Regime"), ("regimes",), "e2ebench.regimes")
reports: Registry[Section] = Registry("report section", ("suite.reports",), "e2ebench.reports",
                                      _instance_validator("report section", _attr("suite.reports.core", "Section")),
                                      lambda a, b: a == b)
estimators: Registry[Estimator] = Registry("estimator", ("suite.estimators",), "e2ebench.estimators",
                                           _instance_validator("estimator", _attr("suite.estimators", "Estimator")),
                                           lambda a, b: a == b)
scores: Registry[Score] = Registry("score", ("suite.scores",), "e2ebench.scores",
                                   _instance_validator("score", _attr("suite.scores", "Score")), lambda a, b: a == b)

ALL: tuple[Registry[Any], ...] = (tasks, regimes, reports, estimators, scores)


def load_plugin_file(path: str | Path) -> None:
    """Import a plain Python file whose decorators register tasks, regimes, report sections, estimators
    or scores."""
    path = Path(path)
    if not path.is_file():
        raise RegistryError(f"plugin file {str(path)!r} does not exist")
    # A stable name (not the salted built-in hash), so worker processes import the same module name.
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:10]
    module_name = f"e2ebench_plugin_{path.stem}_{digest}"
    if module_name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise RegistryError(f"cannot import plugin file {str(path)!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    # Make the built-ins known first, so a plugin that reuses a built-in name is reported as a collision.
    for registry in ALL:
        registry.load()
    try:
        spec.loader.exec_module(module)
    except RegistryError:
        del sys.modules[module_name]
        raise
    except Exception as exc:
        del sys.modules[module_name]
        raise RegistryError(f"plugin file {str(path)!r} failed to import: {type(exc).__name__}: {exc}") from exc
