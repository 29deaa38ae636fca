"""The results store: one JSON record per cell, named by the cell's hash, written atomically.

A cell whose record exists with status ``ok`` or ``diverged`` is complete and is skipped on rerun;
a ``failed`` record is retried (and replaced). Records are never edited in place.

Every record is verified when it is loaded: it must parse, match the schema, carry the
``record_hash`` of its content, and sit in the file named by its ``cell_hash``. What fails is a
:class:`Problem`. By default (``quarantine=True``, right for a results store that ``e2ebench run``
writes) the file is moved to ``<root>/quarantine/<name>.<reason>.json`` (never deleted) with a
warning on the ``suite.store`` logger, and the cell reads as missing, so the next run redoes it.
A store that must not change under its reader (a committed leaderboard directory, a gate's baseline)
is opened with ``quarantine=False``: a bad file then raises :class:`StoreError` and nothing moves.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import ValidationError

from suite.records import SCHEMA_VERSION, Record, as_stored

DEFAULT_RESULTS = "results"
COMPLETE = ("ok", "diverged")
TEMP_PREFIX = ".tmp-"  # put()'s temporary files; one left behind by a killed writer is never a record
STALE_TEMP_SECONDS = 3600.0
# Problems that are not the file's fault: never quarantined (a newer e2ebench wrote it; permissions).
_NOT_QUARANTINED = ("newer-schema", "unreadable")

log = logging.getLogger(__name__)


class StoreError(ValueError):
    """A record file that cannot be used and may not be moved away; ``str()`` says which and why."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """A record file that does not verify. ``reason`` is one of ``unreadable``, ``empty``,
    ``invalid-json``, ``schema``, ``newer-schema``, ``record-hash``, ``result-hash``, ``cell-hash``."""

    path: Path
    reason: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}: {self.detail}"


def check_file(path: Path) -> Record | Problem:
    """The verified record in ``path``, or the :class:`Problem` with it. Reads, never moves."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Problem(path, "unreadable", exc.strerror or str(exc))
    if not data.strip():
        return Problem(path, "empty", "the file is empty (a write that never finished?)")
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        detail = f"{exc.msg} at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)[:200]
        return Problem(path, "invalid-json", f"not valid JSON ({detail}); truncated?")
    if not isinstance(raw, dict):
        return Problem(path, "schema", f"a record is a JSON object, not {type(raw).__name__}")
    version = raw.get("schema_version", 1)
    if isinstance(version, int) and version > SCHEMA_VERSION:
        return Problem(path, "newer-schema", f"record schema {version} is newer than this e2ebench understands ({SCHEMA_VERSION}); upgrade e2ebench")
    try:
        record = Record.load(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        return Problem(path, "schema", f"{exc.error_count()} schema error(s), first {where}: {first['msg']}")
    except ValueError as exc:
        return Problem(path, "schema", str(exc))
    if record.record_hash != record.compute_hash():
        return Problem(path, "record-hash", "record_hash does not match the content (edited after it was written?)")
    if record.result_hash is not None:
        from suite.scores import result_hash

        if record.result_hash != result_hash(record):
            return Problem(path, "result-hash", "result_hash does not match the record's deterministic content")
    if record.cell_hash != path.stem:
        return Problem(path, "cell-hash", f"the record is of cell {record.cell_hash!r}, not of the cell the file is named after")
    return record


class Store:
    """A directory of records: ``<root>/records/<cell_hash>.json`` (see the module docstring for
    ``quarantine``)."""

    def __init__(self, root: str | os.PathLike[str] = DEFAULT_RESULTS, *, quarantine: bool = True) -> None:
        self.root = Path(root)
        self.records_dir = self.root / "records"
        self.quarantine_dir = self.root / "quarantine"
        self.quarantine = quarantine
        self._cleaned = False

    def path(self, cell_hash: str) -> Path:
        """Where the record of ``cell_hash`` lives."""
        if not cell_hash or cell_hash.startswith(".") or any(c in cell_hash for c in "/\\\0"):
            raise ValueError(f"not a cell hash: {cell_hash[:80]!r}")
        return self.records_dir / f"{cell_hash}.json"

    def files(self) -> list[Path]:
        """The record files, sorted (temporary files left by an interrupted write are not records)."""
        if not self.records_dir.is_dir():
            return []
        return sorted(p for p in self.records_dir.glob("*.json") if not p.name.startswith(".") and p.is_file())

    def get(self, cell_hash: str) -> Record | None:
        """The stored record of a cell, or None (none stored, or its file failed verification)."""
        path = self.path(cell_hash)
        if not path.is_file():
            return None
        return self._verified(path)

    def peek(self, cell_hash: str) -> Record | Problem | None:
        """The record of a cell as :func:`check_file` finds it (a :class:`Problem` when it does not verify),
        or None when there is none; reads only and never moves a file (for plans and dry runs)."""
        path = self.path(cell_hash)
        return check_file(path) if path.is_file() else None

    def is_complete(self, cell_hash: str) -> bool:
        """Whether the cell has a finished (``ok`` or ``diverged``) record."""
        record = self.get(cell_hash)
        return record is not None and record.status in COMPLETE

    def verify(self) -> list[Problem]:
        """Every record file that does not verify; nothing is moved."""
        return [found for path in self.files() if isinstance(found := check_file(path), Problem)]

    def put(self, record: Record) -> Path:
        """Write a sealed record atomically (temp file in the same directory, then rename); the first
        put of a store also removes stale temporary files (:meth:`clean_temp`)."""
        if record.record_hash != record.compute_hash():
            raise ValueError(f"record of cell {record.cell_hash} is not sealed (or changed since): store record.sealed()")
        target = self.path(record.cell_hash)
        stored = as_stored(record)
        if stored is not record:
            log.warning("record of cell %s holds values JSON cannot keep (NaN or infinity, stored as null); sealed as stored", record.cell_hash)
        text = stored.model_dump_json(indent=1)
        self.records_dir.mkdir(parents=True, exist_ok=True)
        if not self._cleaned:
            self._cleaned = True
            self.clean_temp()
        fd, tmp = tempfile.mkstemp(dir=self.records_dir, prefix=TEMP_PREFIX, suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def clean_temp(self, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
        """Remove temporary files older than ``older_than`` seconds (a live writer's are younger); the removed."""
        if not self.records_dir.is_dir():
            return []
        cutoff = time.time() - older_than
        removed = []
        for p in self.records_dir.glob(f"{TEMP_PREFIX}*.json"):
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink()
                    removed.append(p)
            except FileNotFoundError:  # another process removed it first
                continue
        return removed

    def __iter__(self) -> Iterator[Record]:
        for path in self.files():
            record = self._verified(path)
            if record is not None:
                yield record

    def _verified(self, path: Path) -> Record | None:
        found = check_file(path)
        if isinstance(found, Record):
            return found
        if not self.quarantine or found.reason in _NOT_QUARANTINED:
            raise StoreError(f"{found}" + ("" if found.reason in _NOT_QUARANTINED else "; restore or remove the file"))
        dest = self._quarantine_path(path, found.reason)
        try:
            os.replace(path, dest)
        except FileNotFoundError:  # another reader moved it first
            return None
        log.warning("%s; moved to %s, so its cell runs again", found, dest)
        return None

    def _quarantine_path(self, path: Path, reason: str) -> Path:
        """A free name ``<name>.<reason>[.<n>].json`` in the quarantine directory (nothing is overwritten)."""
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        dest, n = self.quarantine_dir / f"{path.stem}.{reason}.json", 1
        while dest.exists():
            dest, n = self.quarantine_dir / f"{path.stem}.{reason}.{n}.json", n + 1
        return dest


class Ledger:
    """The bytes of every file under some directories, kept in memory, to detect and undo changes made
    behind the harness's back (by an isolated worker running without a sandbox).

    :meth:`accept` registers what the harness itself writes; :meth:`restore` puts every other change back.
    """

    def __init__(self, roots: Sequence[str | os.PathLike[str]]) -> None:
        self.roots = [Path(r).resolve() for r in dict.fromkeys(str(r) for r in roots)]  # records directories
        self._files = self._read()

    def _read(self) -> dict[Path, bytes]:
        out: dict[Path, bytes] = {}
        for root in self.roots:
            if root.is_dir():
                for p in root.rglob("*"):
                    if p.is_file() and not p.is_symlink() and not p.name.startswith((TEMP_PREFIX, ".lock")) and p.suffix != ".lock":
                        try:
                            out[p] = p.read_bytes()
                        except OSError:
                            continue
        return out

    def accept(self, path: str | os.PathLike[str]) -> None:
        """Take the current content of ``path`` (written by the harness) as legitimate."""
        p = Path(path).resolve()
        if p.is_file():
            self._files[p] = p.read_bytes()

    def changes(self) -> list[str]:
        """Every file changed, added or removed since the ledger last agreed with the disk."""
        now = self._read()
        out = [f"changed {p}" for p, data in self._files.items() if p in now and now[p] != data]
        out += [f"removed {p}" for p in self._files if p not in now]
        out += [f"added {p}" for p in now if p not in self._files]
        return sorted(out)

    def restore(self) -> list[str]:
        """Undo every change (rewrite changed and removed files, remove added ones); what was undone."""
        found = self.changes()
        now = self._read()
        for p, data in self._files.items():
            if now.get(p) != data:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
        for p in now:
            if p not in self._files:
                p.unlink(missing_ok=True)
        return found
