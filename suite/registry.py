"""One generic registry for every kind of plugin (tasks, regimes).

Built-in entries register themselves with a decorator when their package is imported. Third-party
packages add entries through entry points (groups ``e2ebench.tasks`` and ``e2ebench.regimes``, each
value a ``module:attr`` string), and a plain Python file through :func:`load_plugin_file`.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Generic, TypeVar

from suite.api import Regime, Task

T = TypeVar("T", bound=type)


class RegistryError(ValueError):
    """A name collision, an unknown name, or a plugin that cannot be loaded."""


class Registry(Generic[T]):
    """Name -> class mapping for one kind of plugin, filled by decorators and entry points."""

    def __init__(self, kind: str, base: type, builtin_package: str, entry_point_group: str) -> None:
        self.kind = kind
        self.base = base
        self._builtin_package = builtin_package
        self._group = entry_point_group
        self._entries: dict[str, T] = {}
        self._loaded = False

    def register(self, cls: T) -> T:
        """Class decorator: add ``cls`` under ``cls.name``. A second, different class of the same name is an error."""
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise RegistryError(f"{cls!r} is not a subclass of {self.base.__name__}")
        for attr in ("name", "version", "description"):
            if not getattr(cls, attr, None):
                raise RegistryError(f"{self.kind} {cls.__qualname__} must set the class attribute {attr!r}")
        existing = self._entries.get(cls.name)
        if existing is not None and existing is not cls and _qualified(existing) != _qualified(cls):
            raise RegistryError(
                f"duplicate {self.kind} name {cls.name!r}: {_qualified(existing)} and {_qualified(cls)}"
            )
        self._entries[cls.name] = cls
        return cls

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        importlib.import_module(self._builtin_package)
        for ep in importlib.metadata.entry_points(group=self._group):
            try:
                obj = ep.load()
            except Exception as exc:  # a broken third-party plugin must not hide the built-ins
                raise RegistryError(f"entry point {ep.name!r} ({ep.value}) of group {self._group} failed to load: {exc}") from exc
            if isinstance(obj, type) and issubclass(obj, self.base) and obj.name not in self._entries:
                self.register(obj)

    def get(self, name: str) -> T:
        """The class registered as ``name``; unknown names raise with the closest matches."""
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            raise RegistryError(f"unknown {self.kind} {name!r}{did_you_mean(name, self.names())}") from None

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self._load()
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[T]:
        self._load()
        return iter([self._entries[n] for n in sorted(self._entries)])


def did_you_mean(name: str, choices: list[str]) -> str:
    """``"; did you mean 'a' or 'b'?"`` for the closest choices, or ``""``; lists the choices when few."""
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.65)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    if choices and len(choices) <= 12:
        return "; known: " + ", ".join(choices)
    return ""


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


tasks: Registry[type[Task]] = Registry("task", Task, "tasks", "e2ebench.tasks")
regimes: Registry[type[Regime]] = Registry("regime", Regime, "regimes", "e2ebench.regimes")


def load_plugin_file(path: str | Path) -> None:
    """Import a plain Python file whose decorators register tasks or regimes."""
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
    tasks._load()
    regimes._load()
    try:
        spec.loader.exec_module(module)
    except RegistryError:
        del sys.modules[module_name]
        raise
    except Exception as exc:
        del sys.modules[module_name]
        raise RegistryError(f"plugin file {str(path)!r} failed to import: {type(exc).__name__}: {exc}") from exc
