"""Records: the immutable JSON result of one cell, with its full history and provenance.

Schema changes bump :data:`SCHEMA_VERSION`; :func:`Record.load` migrates older records on read.
Fields added after schema 1 enter the record's hash only when set, so every older record keeps
its hash (and verifies) under the newer schema.

Schema history: 1: the first; 2: ``reinitialization`` (typed, was a free-form note); 3: the protocol's
validation split: ``val_accuracy`` in every epoch and ``splits`` (the sizes of train, validation, test);
4: ``result_hash`` (the deterministic part's hash, see :meth:`Record.compute_result_hash`) and
``provenance.threads``.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from suite.hashing import content_hash

SCHEMA_VERSION = 4

Status = Literal["ok", "diverged", "failed"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EpochRecord(_Model):
    """One reported epoch. ``seconds``, ``examples`` and ``steps`` are cumulative since the start of
    training; ``seconds`` excludes evaluation and probing."""

    epoch: int
    stage: str | None = None
    train_loss: float | None
    train_accuracy: float | None
    test_accuracy: float
    val_accuracy: float | None = None  # on the validation split (schema 3; None in older records)
    seconds: float
    examples: int
    steps: int
    probe: dict[str, Any] | None = None


class Reinitialization(_Model):
    """A block the regime re-initialized mid-training (``TrainContext.reinitialized``)."""

    block: str
    after_epoch: int  # the epochs reported before it; training then restarts for this block


class SplitSizes(_Model):
    """How many examples each split of the cell's data had (the regime trained on ``train`` only)."""

    train: int
    validation: int
    test: int


class SuiteRef(_Model):
    """The suite a record was produced for."""

    name: str
    version: str
    sha256: str


class Provenance(_Model):
    """Where and with what a record was produced."""

    task_code_sha256: str
    regime_code_sha256: str
    backend: str
    device: str
    packages: dict[str, str]
    platform: str
    git_commit: str | None
    started_at: str
    finished_at: str
    hostname: str
    threads: int | None = None  # CPU threads the cell trained with (schema 4): they change floating-point results
    #: how the cell's ``ctx.fit`` steps were compiled (suite.steps): ``{"built": n, "reused": m}``; None when
    #: the regime does not take part. Results do not depend on it.
    compiled_steps: dict[str, int] | None = None
    #: the CPU's model name (suite.backend.cpu_model): bit-identical results need the same one
    cpu: str | None = None


class Record(_Model):
    """The result of one cell."""

    schema_version: int = SCHEMA_VERSION
    cell_hash: str
    cell: dict[str, Any]
    suite: SuiteRef
    task_label: str
    regime_label: str
    status: Status
    error: str | None = None
    num_params: int | None = None
    chance_level: float | None = None
    target_accuracy: float | None = None
    notes: dict[str, Any] = Field(default_factory=dict)
    reinitialization: Reinitialization | None = None
    splits: SplitSizes | None = None
    history: list[EpochRecord] = Field(default_factory=list)
    summary: dict[str, float | int | None] = Field(default_factory=dict)
    provenance: Provenance
    result_hash: str | None = None  # schema 4; see compute_result_hash
    record_hash: str = ""

    @property
    def seed(self) -> int:
        """The cell's seed."""
        return int(self.cell["seed"])

    def compute_hash(self) -> str:
        """Content hash of everything but ``record_hash`` itself (later fields only when set)."""
        data = self.model_dump(mode="json", exclude={"record_hash"})
        for name in _ADDED_AFTER_SCHEMA_1:
            if data.get(name) is None:
                data.pop(name, None)
        for epoch in data["history"]:
            for name in _EPOCH_FIELDS_AFTER_SCHEMA_1:
                if epoch.get(name) is None:
                    epoch.pop(name, None)
        for name in _PROVENANCE_FIELDS_AFTER_SCHEMA_1:
            if data["provenance"].get(name) is None:
                data["provenance"].pop(name, None)
        return content_hash(data, length=64)

    def compute_result_hash(self, varying_scores: set[str] | frozenset[str] | None = None) -> str:
        """Content hash of exactly the deterministic part of the record: the cell, the status, the learning
        curve without its timings, the measurements, notes, and the summary without ``varying_scores``
        (timings and memory, :func:`suite.scores.varying_scores`). Two honest runs of one cell with the same
        code, packages and threads share it; the error text (a traceback with paths) is left out."""
        history = []
        for h in self.history:
            epoch = h.model_dump(mode="json", exclude={"seconds"})
            if epoch.get("probe"):
                epoch["probe"] = {k: v for k, v in epoch["probe"].items() if k != "seconds"}
            for name in _EPOCH_FIELDS_AFTER_SCHEMA_1:
                if epoch.get(name) is None:
                    epoch.pop(name, None)
            history.append(epoch)
        data = {
            "cell_hash": self.cell_hash, "cell": self.cell, "status": self.status, "num_params": self.num_params,
            "notes": self.notes, "reinitialization": self.reinitialization.model_dump(mode="json") if self.reinitialization else None,
            "history": history, "summary": {k: v for k, v in self.summary.items() if k not in (RESULT_HASH_EXCLUDES if varying_scores is None else varying_scores)},
        }
        return content_hash(data, length=64)

    def sealed(self, with_result_hash: bool = False) -> Record:
        """This record with its ``record_hash`` filled in, and its ``result_hash`` (re)computed when it has one
        or ``with_result_hash`` asks for it."""
        record = self
        if with_result_hash or self.result_hash is not None:
            record = self.model_copy(update={"result_hash": self.compute_result_hash()})
        return record.model_copy(update={"record_hash": record.compute_hash()})

    @classmethod
    def load(cls, data: dict[str, Any]) -> Record:
        """Parse a record, migrating older schema versions."""
        version = data.get("schema_version", 1)
        if version > SCHEMA_VERSION:
            raise ValueError(f"record schema {version} is newer than this e2ebench understands ({SCHEMA_VERSION}); upgrade e2ebench")
        return cls.model_validate(data)


#: The summary scores that differ between identical runs (timings, memory): what ``result_hash`` leaves out.
#: ``suite.scores`` declares the same set (its varying built-in scores; a test checks they agree).
RESULT_HASH_EXCLUDES = frozenset({"compile_seconds", "peak_device_memory_mb", "peak_memory_increase_mb", "peak_memory_mb",
                                  "probe_seconds", "seconds_to_target", "train_seconds", "wall_seconds"})
_ADDED_AFTER_SCHEMA_1 = ("reinitialization", "splits", "result_hash")
_PROVENANCE_FIELDS_AFTER_SCHEMA_1 = ("threads", "compiled_steps", "cpu")
_EPOCH_FIELDS_AFTER_SCHEMA_1 = ("val_accuracy",)


def as_stored(record: Record) -> Record:
    """``record`` as its JSON keeps it: itself when its JSON reads back with the same hash, else the record read
    back and sealed again (JSON has no NaN or infinity: pydantic writes null). What a store writes."""
    stored = Record.load(json.loads(record.model_dump_json()))
    return record if stored.compute_hash() == record.record_hash else stored.sealed()


def finite_or_none(x: float | None) -> float | None:
    """JSON has no infinity or NaN: store ``None`` instead (documented per field as 'never'/'undefined')."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None
