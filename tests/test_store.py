"""The results store verifies what it loads: bad record files are reported and quarantined, never deleted."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path

import pytest

from suite.records import EpochRecord, Provenance, Record, SuiteRef
from suite.store import Problem, Store, StoreError, check_file

LEADERBOARD = Path(__file__).resolve().parents[1] / "leaderboard" / "official-1.0"


def record(cell_hash: str = "0123456789abcdef", accuracy: float = 0.9, probe: dict | None = None) -> Record:
    """A small sealed record of one finished cell."""
    return Record(
        cell_hash=cell_hash,
        cell={"task": {"name": "digits-mlp", "version": "1.0", "params": {}}, "seed": 0},
        suite=SuiteRef(name="t", version="1.0", sha256="0" * 64),
        task_label="digits-mlp", regime_label="e2e", status="ok",
        history=[EpochRecord(epoch=1, train_loss=0.5, train_accuracy=0.8, test_accuracy=accuracy, seconds=1.0, examples=10, steps=1, probe=probe)],
        summary={"test_accuracy": accuracy, "epochs_to_target": 1},
        provenance=Provenance(task_code_sha256="t", regime_code_sha256="r", backend="tensorflow", device="cpu", packages={},
                              platform="test", git_commit=None, started_at="", finished_at="", hostname="test"),
    ).sealed()


@pytest.fixture
def stored(store: Store) -> tuple[Store, Record, Path]:
    rec = record()
    return store, rec, store.put(rec)


def quarantined(store: Store) -> list[str]:
    return sorted(p.name for p in store.quarantine_dir.iterdir()) if store.quarantine_dir.is_dir() else []


def test_a_good_record_round_trips_and_verifies(stored):
    store, rec, path = stored
    assert path == store.records_dir / f"{rec.cell_hash}.json"
    assert store.get(rec.cell_hash) == rec and list(store) == [rec]
    assert store.is_complete(rec.cell_hash) and store.verify() == []


@pytest.mark.parametrize("damage, reason", [
    (lambda text: text[: len(text) // 2], "invalid-json"),
    (lambda text: "", "empty"),
    (lambda text: "[1, 2]", "schema"),
    (lambda text: text.replace('"status": "ok"', '"status": "great"'), "schema"),
    (lambda text: text.replace('"test_accuracy": 0.9', '"test_accuracy": 0.99'), "record-hash"),
], ids=["truncated", "empty", "not-an-object", "bad-status", "tampered-summary"])
def test_a_damaged_file_is_quarantined_with_a_warning_and_its_cell_reruns(stored, caplog, damage, reason):
    store, rec, path = stored
    bad = damage(path.read_text())
    path.write_text(bad)
    with caplog.at_level(logging.WARNING, logger="suite.store"):
        assert store.get(rec.cell_hash) is None
    assert not path.exists() and not store.is_complete(rec.cell_hash)
    moved = store.quarantine_dir / f"{rec.cell_hash}.{reason}.json"
    assert quarantined(store) == [moved.name] and moved.read_text() == bad  # moved, not deleted
    (message,) = [r.getMessage() for r in caplog.records]
    assert str(path) in message and reason in message and str(moved) in message


def test_a_renamed_file_does_not_verify(stored):
    store, rec, path = stored
    other = path.with_name("fedcba9876543210.json")
    path.rename(other)
    (problem,) = store.verify()
    assert (problem.path, problem.reason) == (other, "cell-hash") and rec.cell_hash in problem.detail
    assert list(store) == [] and quarantined(store) == ["fedcba9876543210.cell-hash.json"]


def test_verify_lists_every_problem_and_moves_nothing(stored):
    store, rec, _ = stored
    (store.records_dir / "aaaaaaaaaaaaaaaa.json").write_text("")
    (store.records_dir / "bbbbbbbbbbbbbbbb.json").write_text('{"cell_hash": ')
    before = sorted(p.name for p in store.records_dir.iterdir())
    problems = store.verify()
    assert [(p.path.stem, p.reason) for p in problems] == [("aaaaaaaaaaaaaaaa", "empty"), ("bbbbbbbbbbbbbbbb", "invalid-json")]
    assert all(isinstance(p, Problem) and str(p.path) in str(p) for p in problems)
    assert sorted(p.name for p in store.records_dir.iterdir()) == before and quarantined(store) == []
    assert list(store) == [rec]  # iterating quarantines the bad files and yields the good one
    assert quarantined(store) == ["aaaaaaaaaaaaaaaa.empty.json", "bbbbbbbbbbbbbbbb.invalid-json.json"]


def test_a_read_only_store_raises_instead_of_moving(stored):
    store, rec, path = stored
    path.write_text(path.read_text()[:10])
    readonly = Store(store.root, quarantine=False)
    with pytest.raises(StoreError, match=rf"{rec.cell_hash}\.json: invalid-json: .*restore or remove"):
        readonly.get(rec.cell_hash)
    with pytest.raises(StoreError):
        list(readonly)
    assert path.exists() and quarantined(store) == []


def test_a_second_bad_copy_of_a_cell_never_overwrites_the_first(stored):
    store, rec, path = stored
    for text in ("", "{"):
        path.write_text(text)
        assert store.get(rec.cell_hash) is None
    path.write_text("")
    assert store.get(rec.cell_hash) is None
    assert quarantined(store) == [f"{rec.cell_hash}.empty.1.json", f"{rec.cell_hash}.empty.json", f"{rec.cell_hash}.invalid-json.json"]


def test_a_record_of_a_newer_schema_is_an_error_and_stays(stored):
    store, rec, path = stored
    data = json.loads(path.read_text())
    data["schema_version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(StoreError, match="newer than this e2ebench understands"):
        store.get(rec.cell_hash)
    assert path.exists() and quarantined(store) == []


def test_temp_files_are_not_records_and_stale_ones_are_cleaned(store):
    store.records_dir.mkdir(parents=True)
    fresh, stale = store.records_dir / ".tmp-fresh.json", store.records_dir / ".tmp-stale.json"
    fresh.write_text('{"half a rec')
    stale.write_text("")
    hour_ago = time.time() - 2 * 3600
    os.utime(stale, (hour_ago, hour_ago))
    assert store.files() == [] and list(store) == [] and store.verify() == []
    rec = record()
    store.put(rec)  # the first put cleans up
    assert not stale.exists() and fresh.exists()
    assert store.files() == [store.path(rec.cell_hash)] and list(store) == [rec]


def test_only_sealed_records_are_stored(store):
    unsealed = record().model_copy(update={"summary": {"test_accuracy": 1.0}})
    with pytest.raises(ValueError, match="not sealed"):
        store.put(unsealed)
    assert store.files() == []


def test_a_record_with_nan_is_sealed_as_json_stores_it(store, caplog):
    rec = record().model_copy(update={"summary": {"test_accuracy": 0.9, "auc": math.nan}}).sealed()
    with caplog.at_level(logging.WARNING, logger="suite.store"):
        store.put(rec)
    got = store.get(rec.cell_hash)  # JSON has no NaN: it reads back as null, and verifies
    assert got is not None and got.summary == {"test_accuracy": 0.9, "auc": None} and store.verify() == []
    assert "NaN" in caplog.text and quarantined(store) == []


def test_cell_hashes_cannot_leave_the_records_directory(store):
    for bad in ("../x", "a/b", ".hidden", ""):
        with pytest.raises(ValueError, match="not a cell hash"):
            store.path(bad)


def test_every_committed_leaderboard_record_verifies():
    store = Store(LEADERBOARD, quarantine=False)
    assert store.files() and store.verify() == []
    assert all(isinstance(check_file(p), Record) for p in store.files())


def test_result_hash_leaves_out_exactly_the_scores_that_vary_between_runs():
    from suite.records import RESULT_HASH_EXCLUDES
    from suite.scores import builtin_varying_scores

    assert RESULT_HASH_EXCLUDES == builtin_varying_scores()
