"""Regimes from untrusted files (submissions): described by an isolated worker, never imported here.

:func:`load_untrusted` asks a :class:`suite.sandbox.Worker` to import the file and describe the regimes it
registers: identity, family, params schema and the answers of ``supports()`` for the tasks at hand.
From that description it builds a stand-in :class:`suite.api.Regime` class and registers it, so suite
files, plans, tables and leaderboard entries treat the regime like any other; its ``train`` never runs
in the harness: :func:`suite.runner.run_cell` runs every cell of an untrusted regime in a worker.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import create_model

from suite import backend, registry
from suite.api import Params, Regime, Task, TrainContext
from suite.sandbox import Limits, Worker, WorkerError

DESCRIBE_TIMEOUT = 300.0
TaskKey = tuple[str, dict[str, Any]]


class UntrustedError(ValueError):
    """An untrusted file cannot be described; ``str()`` says why."""


def is_untrusted(cls: type) -> bool:
    """Whether ``cls`` stands in for a regime of an untrusted file (its code runs only in workers)."""
    return bool(getattr(cls, "untrusted_file", None))


def _key(task_name: str, params: dict[str, Any]) -> str:
    return f"{task_name}|{json.dumps(params, sort_keys=True, separators=(',', ':'))}"


_JSON_TYPES: dict[str, Any] = {"number": float, "integer": int, "boolean": bool, "string": str, "array": list, "object": dict}


def _annotation(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return Literal[tuple(schema["enum"])]
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        inner = _annotation(options[0]) if len(options) == 1 else Any
        return Optional[inner] if len(options) < len(schema["anyOf"]) else inner
    return _JSON_TYPES.get(schema.get("type", ""), Any)


def _params_model(name: str, qualname: str, schema: dict[str, Any]) -> type[Params]:
    """A params model with the fields, types and defaults of ``schema`` (the worker validates exactly),
    picklable by reference as ``suite.untrusted.<qualname>``."""
    fields = {}
    for field, spec in (schema.get("properties") or {}).items():
        if "default" not in spec:
            raise UntrustedError(f"regime {name}: param {field!r} has no default (every regime param needs one)")
        fields[field] = (_annotation(spec), spec["default"])
    model = create_model(qualname, __base__=Params, __module__=__name__, **fields)
    setattr(sys.modules[__name__], qualname, model)
    return model


def _stand_in(desc: dict[str, Any], path: Path, code_sha256: str) -> type[Regime]:
    supports = dict(desc.get("supports") or {})
    name = str(desc["name"])

    def supports_fn(self: Regime, task: Task) -> str | None:
        key = _key(task.name, task.params.model_dump(mode="json"))
        if key not in supports:
            raise UntrustedError(f"regime {name} was not asked whether it supports {task.name} {task.params.model_dump()}")
        return supports[key]

    def train(self: Regime, ctx: TrainContext) -> None:
        raise RuntimeError(f"regime {name} comes from an untrusted file and runs only in an isolated worker")

    qualname = "Untrusted_" + hashlib.sha256(f"{path}:{name}".encode()).hexdigest()[:12]
    params = _params_model(name, qualname + "_Params", desc.get("params_schema") or {})
    cls = type(qualname, (Regime,), {
        "__module__": __name__, "__qualname__": qualname, "__doc__": desc.get("doc") or "",
        "name": name, "version": str(desc["version"]), "description": str(desc.get("description", "")),
        "citation": str(desc.get("citation", "")), "family": desc.get("family", "other"),
        "baseline": bool(desc.get("baseline", False)), "uses_module_targets": bool(desc.get("uses_module_targets", False)),
        "Params": params,
        "untrusted_file": str(path), "code_sha256": code_sha256, "description_data": desc,
        "supports": supports_fn, "train": train,
    })
    setattr(sys.modules[__name__], qualname, cls)  # picklable by reference in processes that rebuilt it
    return cls


def register_described(path: str | Path, described: Sequence[dict[str, Any]]) -> list[type[Regime]]:
    """Register stand-ins for regimes a worker described (also used by pool workers to rebuild them)."""
    path = Path(path).resolve()
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    out = []
    for desc in described:
        name = str(desc.get("name"))
        if name in registry.regimes:
            existing = registry.regimes.get(name)
            if _defined_in(existing, path):
                # this process already imported the file as a trusted --plugin: its code has run here, so
                # the class itself stands for it
                out.append(existing)
                continue
            if is_untrusted(existing):  # described before: from this file, or another with the same name
                same = Path(existing.untrusted_file) == path and existing.code_sha256 == sha  # type: ignore[attr-defined]
                out.append(existing if same else registry.regimes.replace(_stand_in(desc, path, sha)))
                continue
        out.append(registry.regimes.register(_stand_in(desc, path, sha)))
    return out


def _defined_in(cls: type, path: Path) -> bool:
    import inspect

    try:
        return Path(inspect.getfile(cls)).resolve() == path
    except (TypeError, OSError):
        return False


def describe(path: str | Path, tasks: Sequence[TaskKey], *, plugins: Sequence[str] = (), sandbox: bool | None = None) -> list[dict[str, Any]]:
    """What the regimes of ``path`` declare, as an isolated worker reports it (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise UntrustedError(f"regime file {str(path)!r} does not exist")
    from suite.checks import TINY_TASKS

    asked = list(dict.fromkeys((n, json.dumps(p, sort_keys=True)) for n, p in [*tasks, *TINY_TASKS]))
    job = {"op": "describe", "file": str(path.resolve()), "plugins": list(plugins), "threads": backend.training_threads(),
           "tasks": [(n, json.loads(p)) for n, p in asked]}
    try:
        with Worker(Limits(timeout=DESCRIBE_TIMEOUT), sandbox) as worker:
            worker.send(job)
            header, _ = worker.receive()
    except WorkerError as exc:
        raise UntrustedError(f"{path}: {exc}") from exc
    if header.get("type") == "failed":
        first = str(header.get("error", "")).strip().splitlines()
        raise UntrustedError(f"{path}: {first[0] if first else 'the file could not be loaded'}")
    regimes = header.get("regimes")
    if header.get("type") != "described" or not isinstance(regimes, list) or not all(isinstance(r, dict) for r in regimes):
        raise UntrustedError(f"{path}: the worker did not describe the file's regimes")
    return regimes


def load_untrusted(path: str | Path, tasks: Sequence[TaskKey], *, plugins: Sequence[str] = (),
                   sandbox: bool | None = None) -> list[type[Regime]]:
    """Describe the regimes of the untrusted file ``path`` in a worker and register their stand-ins."""
    return register_described(path, describe(path, tasks, plugins=plugins, sandbox=sandbox))


def suite_task_keys(suite: Any) -> list[TaskKey]:
    """The (task name, params) of a suite's tasks: what ``supports()`` is asked about."""
    return [(t.cls.name, t.params.model_dump(mode="json")) for t in suite.tasks]


def raw_task_keys(suite: str | None) -> list[TaskKey]:
    """The (task name, params) of a suite file's tasks, read before its regimes can be resolved (an untrusted
    regime it names is described first); entries that do not validate are left to the suite's loader."""
    import tomllib

    from suite.spec import find_suite

    try:
        raw = tomllib.loads(find_suite(suite).read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001  (load_suite reports the problem properly)
        return []
    out = []
    for entry in raw.get("tasks", []) if isinstance(raw.get("tasks"), list) else []:
        try:
            cls = registry.tasks.get(entry["name"])
            out.append((cls.name, cls.Params.model_validate(entry.get("params", {})).model_dump(mode="json")))
        except Exception:  # noqa: BLE001
            continue
    return out
