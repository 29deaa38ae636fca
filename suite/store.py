"""The results store: one JSON record per cell, named by the cell's hash, written atomically.

A cell whose record exists with status ``ok`` or ``diverged`` is complete and is skipped on rerun;
a ``failed`` record is retried (and replaced). Records are never edited in place.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from suite.records import Record

DEFAULT_RESULTS = "results"
COMPLETE = ("ok", "diverged")


class Store:
    """A directory of records: ``<root>/records/<cell_hash>.json``."""

    def __init__(self, root: str | os.PathLike[str] = DEFAULT_RESULTS) -> None:
        self.root = Path(root)
        self.records_dir = self.root / "records"

    def path(self, cell_hash: str) -> Path:
        """Where the record of ``cell_hash`` lives."""
        return self.records_dir / f"{cell_hash}.json"

    def get(self, cell_hash: str) -> Record | None:
        """The stored record of a cell, or None."""
        path = self.path(cell_hash)
        if not path.is_file():
            return None
        return Record.load(json.loads(path.read_text(encoding="utf-8")))

    def is_complete(self, cell_hash: str) -> bool:
        """Whether the cell has a finished (``ok`` or ``diverged``) record."""
        record = self.get(cell_hash)
        return record is not None and record.status in COMPLETE

    def put(self, record: Record) -> Path:
        """Write a record atomically (temp file in the same directory, then rename)."""
        self.records_dir.mkdir(parents=True, exist_ok=True)
        target = self.path(record.cell_hash)
        fd, tmp = tempfile.mkstemp(dir=self.records_dir, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(record.model_dump_json(indent=1))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def __iter__(self) -> Iterator[Record]:
        if not self.records_dir.is_dir():
            return iter(())
        return (Record.load(json.loads(p.read_text(encoding="utf-8"))) for p in sorted(self.records_dir.glob("*.json")))
