"""Records: the immutable JSON result of one cell, with its full history and provenance.

Schema changes bump :data:`SCHEMA_VERSION`; :func:`Record.load` migrates older records on read.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from suite.plan import content_hash

SCHEMA_VERSION = 1

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
    seconds: float
    examples: int
    steps: int
    probe: dict[str, Any] | None = None


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
    history: list[EpochRecord] = Field(default_factory=list)
    summary: dict[str, float | int | None] = Field(default_factory=dict)
    provenance: Provenance
    record_hash: str = ""

    def compute_hash(self) -> str:
        """Content hash of everything but ``record_hash`` itself."""
        return content_hash(self.model_dump(mode="json", exclude={"record_hash"}), length=64)

    def sealed(self) -> Record:
        """This record with its ``record_hash`` filled in."""
        return self.model_copy(update={"record_hash": self.compute_hash()})

    @classmethod
    def load(cls, data: dict[str, Any]) -> Record:
        """Parse a record, migrating older schema versions."""
        version = data.get("schema_version", 1)
        if version > SCHEMA_VERSION:
            raise ValueError(f"record schema {version} is newer than this e2ebench understands ({SCHEMA_VERSION}); upgrade e2ebench")
        return cls.model_validate(data)


def finite_or_none(x: float | None) -> float | None:
    """JSON has no infinity or NaN: store ``None`` instead (documented per field as 'never'/'undefined')."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None
