"""TensorBoard run tracking: each cell's learning curve and information plane as event files, epoch by epoch.

An output sink only: nothing here enters a cell, its hash or its record, and a failure to write is a
warning, never a failed cell. Each cell gets one run directory, ``LOGDIR/<task>/<regime>/seed-<n>``
(``-<trial>`` appended for a tuning trial), named from the cell's labels made file-name-safe, and the
process that trains the cell (the harness's, or a ``--jobs`` pool worker's) writes it after each
measured epoch, so TensorBoard shows a run while it trains. Steps are epochs (0: the initialization).
Tags: ``train/loss``, ``train/accuracy`` (where the regime reports it), ``validation/accuracy``,
``test/accuracy`` and, at each probe epoch, ``probe/<estimator>/<block>/<x|y>`` (e.g.
``probe/nhsic/block1/x`` for nHSIC(X; T_block1)). Values are stored as 32-bit floats, as TensorBoard does.

A cell trained again (a failed cell retried) replaces its run's event files; a cell reused from the
store is written once from its stored record, when its run directory has no events yet, so a rerun
never duplicates a curve. The files are written with the ``tensorboard`` package's record writer and
protocol buffers, without TensorFlow, so every Keras backend and executor writes them alike.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from suite import plane
from suite.paths import slug
from suite.records import EpochRecord, Record
from suite.spec import trial_label

if TYPE_CHECKING:
    from suite.plan import Cell

log = logging.getLogger(__name__)

#: The end of every event file's name that e2ebench writes (TensorBoard reads any name holding ``tfevents``).
SUFFIX = ".e2ebench"
INSTALL_HINT = "pip install 'e2ebench[tensorboard]' (or pip install tensorboard)"


class TensorBoardUnavailable(ImportError):
    """The ``tensorboard`` package is not installed."""


def require() -> None:
    """Raise :class:`TensorBoardUnavailable`, with the command that installs it, unless ``tensorboard`` imports."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2  # noqa: F401
        from tensorboard.summary.writer.record_writer import RecordWriter  # noqa: F401
    except ImportError as exc:
        raise TensorBoardUnavailable(f"--tensorboard needs the tensorboard package, which is not installed ({exc}); "
                                     f"install it with {INSTALL_HINT}") from None


def run_name(cell: Cell) -> str:
    """The cell's run, relative to the log directory: ``<task>/<regime>/seed-<n>[-<trial>]``, each part file-name-safe."""
    seed = f"seed-{cell.seed}" + (f"-{slug(trial_label(cell.trial), 'trial')}" if cell.trial else "")
    return "/".join([slug(cell.task.label, "task"), slug(cell.regime.label, "regime"), seed])


def run_dirs(logdir: str | os.PathLike[str], cells: Iterable[Cell]) -> dict[str, Path]:
    """Every applicable cell's run directory under ``logdir``, by cell hash. Two cells whose labels give one
    name (labels that differ only in characters a file name cannot hold) get their hash's start appended."""
    cells = [c for c in cells if c.not_applicable is None]
    names = {c.hash: run_name(c) for c in cells}
    taken: dict[str, set[str]] = {}
    for h, name in names.items():
        taken.setdefault(name, set()).add(h)
    root = Path(logdir).absolute()  # the same place for every worker process, whatever its directory
    return {h: root / (name + (f"-{h[:8]}" if len(taken[name]) > 1 else "")) for h, name in names.items()}


def scalars(epoch: EpochRecord) -> dict[str, float]:
    """The tags and values one measured epoch gives (probe tags only at probe epochs)."""
    out: dict[str, float] = {}
    for tag, value in (("train/loss", epoch.train_loss), ("train/accuracy", epoch.train_accuracy),
                       ("validation/accuracy", epoch.val_accuracy), ("test/accuracy", epoch.test_accuracy)):
        if value is not None:
            out[tag] = float(value)
    if epoch.probe:
        out.update(probe_scalars(epoch.probe))
    return out


def probe_scalars(probe: dict[str, Any]) -> dict[str, float]:
    """``probe/<estimator>/<block>/<reference>`` for every per-block measurement of a probe (``None`` left out)."""
    blocks = [str(b) for b in probe.get("blocks") or []]
    out: dict[str, float] = {}
    for est, lists in plane.per_block(probe).items():
        for ref, values in lists.items():
            if len(values) != len(blocks):
                continue
            for block, value in zip(blocks, values):
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out[f"probe/{est}/{block}/{ref}"] = float(value)
    return out


class EventWriter:
    """Writes one run's event file in ``directory``, flushed after every epoch so TensorBoard sees it at once.

    Opening removes the event files e2ebench wrote there before (the cell is trained again). Any error
    while writing is logged once and turns the writer off: the cell goes on as if no writer were there.
    """

    def __init__(self, directory: str | os.PathLike[str], *, replace: bool = True) -> None:
        self.directory = Path(directory)
        self._writer: Any = None
        self._warned = False
        try:
            from tensorboard.compat.proto import event_pb2
            from tensorboard.summary.writer.record_writer import RecordWriter

            self._event_pb2 = event_pb2
            self.directory.mkdir(parents=True, exist_ok=True)
            if replace:
                for old in self.directory.glob(f"events.out.tfevents.*{SUFFIX}"):
                    old.unlink()
            name = f"events.out.tfevents.{int(time.time()):010d}.{slug(socket.gethostname(), 'host')}.{os.getpid()}{SUFFIX}"
            self.path = self.directory / name
            self._writer = RecordWriter(open(self.path, "wb"))
            self._write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))
        except Exception as exc:
            self._fail(exc)

    @property
    def active(self) -> bool:
        """Whether events are still written (no error so far)."""
        return self._writer is not None

    def epoch(self, epoch: EpochRecord, wall_time: float | None = None) -> None:
        """Write one measured epoch's scalars at step ``epoch.epoch`` (``wall_time``: now, unless given)."""
        if self._writer is None:
            return
        try:
            event = self._event_pb2.Event(wall_time=time.time() if wall_time is None else wall_time, step=epoch.epoch)
            for tag, value in scalars(epoch).items():
                event.summary.value.add(tag=tag, simple_value=value)
            self._write(event)
        except Exception as exc:
            self._fail(exc)

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception as exc:
                self._fail(exc)
            self._writer = None

    def _write(self, event: Any) -> None:
        self._writer.write(event.SerializeToString())
        self._writer.flush()

    def _fail(self, exc: BaseException) -> None:
        if not self._warned:
            log.warning("TensorBoard events for %s are not written: %s: %s", self.directory, type(exc).__name__, exc)
            self._warned = True
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close()
            except Exception:
                pass


def has_events(directory: str | os.PathLike[str]) -> bool:
    """Whether ``directory`` holds an event file that e2ebench wrote."""
    return any(Path(directory).glob(f"events.out.tfevents.*{SUFFIX}"))


def write_record(directory: str | os.PathLike[str], record: Record) -> bool:
    """Write a stored record's curve to ``directory`` unless it has events already (a reused cell); whether it
    wrote. Wall times are the record's start plus each epoch's training seconds."""
    if has_events(directory):
        return False
    try:
        start = _dt.datetime.fromisoformat(record.provenance.started_at).timestamp()
    except ValueError:
        start = time.time()
    writer = EventWriter(directory, replace=False)
    try:
        for epoch in record.history:
            writer.epoch(epoch, wall_time=start + epoch.seconds)
    finally:
        writer.close()
    return True

