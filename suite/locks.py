"""A lock per cell, so that concurrent runs on one results directory share the cells instead of each
training all of them.

Before a run trains a cell it takes the cell's lock, ``<results>/locks/<cell_hash>.lock``, exclusively
and without waiting (``fcntl.flock``). A cell whose lock another process holds is put off; when the
run has nothing else to do it waits for that lock, then uses the record the other process wrote, or,
if there is none (that process was killed), trains the cell itself. A run waits only while it holds
no lock of its own, so two runs never wait for each other. The kernel releases a lock when its process
dies, so a killed run never blocks another; its leftover lock file is removed by the next run.

A lock file is removed by its holder before the lock is released. Whoever takes a lock checks that the
file it locked is still the one at the path (the previous holder may have removed it in between) and
otherwise tries again, so a lock is never held twice. Where ``fcntl`` is missing (Windows) cells are
not locked and concurrent runs may both train a cell.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from suite.store import COMPLETE, Store

if TYPE_CHECKING:
    from suite.plan import Cell
    from suite.records import Record

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCKS_DIRNAME = "locks"
SUFFIX = ".lock"


class CellLocks:
    """Exclusive per-cell locks in ``<root>/locks/``; one object per process."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.directory = Path(root) / LOCKS_DIRNAME
        self._held: dict[str, int] = {}

    def path(self, cell_hash: str) -> Path:
        return self.directory / f"{cell_hash}{SUFFIX}"

    @property
    def held(self) -> list[str]:
        """The cell hashes this object holds locks of."""
        return list(self._held)

    def acquire(self, cell_hash: str, *, wait: bool = False) -> bool:
        """Take the lock of ``cell_hash``; False if another process holds it (only without ``wait``)."""
        if fcntl is None:
            return True
        if cell_hash in self._held:
            return True
        path = self.path(cell_hash)
        while True:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                return False
            except BaseException:
                os.close(fd)
                raise
            if _same_file(fd, path):
                self._held[cell_hash] = fd
                return True
            os.close(fd)  # the previous holder removed the file after we opened it: lock the new one

    def release(self, cell_hash: str) -> None:
        """Remove the lock file, then release the lock (nothing if not held)."""
        fd = self._held.pop(cell_hash, None)
        if fd is None:
            return
        try:
            self.path(cell_hash).unlink(missing_ok=True)
        finally:
            os.close(fd)

    def release_all(self) -> None:
        for cell_hash in self.held:
            self.release(cell_hash)

    def clean(self) -> int:
        """Remove lock files no live process holds (left by killed runs), and the directory once empty;
        returns how many were removed."""
        if fcntl is None or not self.directory.is_dir():
            return 0
        removed = 0
        for path in self.directory.glob(f"*{SUFFIX}"):
            cell_hash = path.name[: -len(SUFFIX)]
            if cell_hash not in self._held and self.acquire(cell_hash):
                self.release(cell_hash)
                removed += 1
        try:
            self.directory.rmdir()
        except OSError:  # not empty (a live run holds a lock) or already gone
            pass
        return removed


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class CellClaims:
    """Hands a run the cells it should train, by their locks (see the module docstring).

    ``take(cells)`` yields the cells whose lock this run took and whose record is still missing; the
    caller calls :meth:`release` once the cell's record is stored. A cell locked by another process is
    put off (:attr:`put_off`); pass those to ``take`` again once the first pass is done, and it waits for
    their locks whenever this run holds none. A cell that another run recorded meanwhile is passed to
    ``elsewhere(cell, record)`` instead of being yielded.
    """

    def __init__(self, store: Store, elsewhere: Callable[[Cell, Record], None],
                 waiting: Callable[[Cell], None] | None = None) -> None:
        self.store = store
        self.locks = CellLocks(store.root)
        self.put_off: list[Cell] = []
        self._elsewhere = elsewhere
        self._waiting = waiting
        self._seen: dict[str, tuple[int, int] | None] = {}

    def take(self, cells: Iterable[Cell]) -> Iterator[Cell]:
        cells = list(cells)
        for cell in cells:  # what each record file is now, to tell a record written meanwhile by another run
            self._seen.setdefault(cell.hash, self._stamp(cell.hash))
        retry, self.put_off = {c.hash for c in self.put_off}, []
        for cell in cells:
            wait = cell.hash in retry and not self.locks.held
            if wait and self._waiting is not None and not self.locks.acquire(cell.hash):
                self._waiting(cell)
            if not self.locks.acquire(cell.hash, wait=wait):
                self.put_off.append(cell)
                continue
            record = self.store.get(cell.hash)
            if record is not None and (record.status in COMPLETE or self._stamp(cell.hash) != self._seen[cell.hash]):
                self.locks.release(cell.hash)  # finished (or failed) by another run since this one planned
                self._elsewhere(cell, record)
                continue
            yield cell

    def release(self, cell: Cell) -> None:
        self.locks.release(cell.hash)

    def close(self) -> None:
        """Release every lock this run still holds and remove leftover lock files."""
        self.locks.release_all()
        self.locks.clean()

    def _stamp(self, cell_hash: str) -> tuple[int, int] | None:
        """The record file's identity (a new record is a new file: records are written by rename)."""
        try:
            st = self.store.path(cell_hash).stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns
