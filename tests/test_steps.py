"""Compiled training steps reused across seeds and learning rates (suite.steps): the same records either way."""

from __future__ import annotations

import pytest

import regimes  # noqa: F401  (registers the built-in regimes)
from suite import steps
from suite.executor import run_suite
from suite.registry import regimes as registry
from suite.stats import compare
from suite.store import Store
from conftest import make_suite

OPTED_IN = ["e2e", "layerwise", "layerwise-seq", "predsim", "feedback-alignment", "hsic-bottleneck-cka", "forward-forward"]
TASK = '[[tasks]]\nname = "digits-mlp"\nparams = { depth = 2, width = 16 }\nbudget = { epochs = 2 }\n'
TUNING = "\n[tuning]\nlearning_rate = [1e-3, 3e-3]\n"


def _records(suite, tmp_path, name: str, reuse: bool) -> dict:
    steps.PROCESS_CACHE.clear()  # what an earlier test compiled must not help (or hide) anything
    store = Store(tmp_path / name)
    report = run_suite(suite, store, progress=False, reuse_steps=reuse, log=lambda line: None)
    assert report.ok
    return {p.stem: store.get(p.stem) for p in store.files()}


LENET = '[[tasks]]\nname = "digits-lenet5"\nbudget = { epochs = 1 }\n'


@pytest.mark.parametrize("task, regime", [(TASK, r) for r in OPTED_IN]
                         + [(LENET, r) for r in ("e2e", "layerwise-seq", "feedback-alignment")],
                         ids=[f"mlp-{r}" for r in OPTED_IN] + [f"lenet5-{r}" for r in ("e2e", "layerwise-seq", "feedback-alignment")])
def test_reuse_gives_identical_records(task, regime, tmp_path):
    """Seeds 0, 1 x two learning rates: the later cells train (and are evaluated and probed) through the
    first one's compiled models, and every record has the same result hash as when each cell builds its
    own (so results cannot depend on which cell ran first in a worker, or on resuming)."""
    assert registry.get(regime).reuses_compiled_steps
    suite = make_suite(task + f'[[regimes]]\nname = "{regime}"\n' + TUNING, seeds="[0, 1]", probe="probe_size = 60\nevery = 1")
    reused, rebuilt = _records(suite, tmp_path, "reuse", True), _records(suite, tmp_path, "rebuild", False)
    assert reused.keys() == rebuilt.keys() and len(reused) == 4
    for h, record in reused.items():
        assert record.result_hash == rebuilt[h].result_hash, record.cell
        assert rebuilt[h].provenance.compiled_steps is None  # --rebuild-steps: nothing was reused
    counts = sorted((r.provenance.compiled_steps["reused"] > 0) for r in reused.values())
    assert counts == [False, True, True, True]  # the first cell built, the three others reused


def test_five_seeds_same_distribution_either_way(tmp_path):
    """e2e on digits-mlp, five seeds with and without reuse: the accuracies are the same numbers, so
    suite.stats.compare finds no difference in either direction."""
    suite = make_suite('[[tasks]]\nname = "digits-mlp"\nparams = { depth = 2, width = 32 }\nbudget = { epochs = 3 }\n'
                       '[[regimes]]\nname = "e2e"\n', seeds="[0, 1, 2, 3, 4]")
    reused, rebuilt = _records(suite, tmp_path, "reuse", True), _records(suite, tmp_path, "rebuild", False)
    a = [reused[h].summary["test_accuracy"] for h in sorted(reused)]
    b = [rebuilt[h].summary["test_accuracy"] for h in sorted(reused)]
    assert a == b and len(set(a)) > 1  # seeds differ from each other, not between the modes
    result = compare(a, b, n_test=reused[sorted(reused)[0]].splits.test)
    assert result.verdict == "inconclusive"


def test_regime_with_seed_dependent_constants_does_not_take_part(tmp_path):
    """direct-feedback-alignment draws its feedback matrices in Python per seed: reusing seed 0's step
    would train seed 1 with seed 0's matrices, so it does not opt in and every cell builds its own."""
    assert not registry.get("direct-feedback-alignment").reuses_compiled_steps
    suite = make_suite(TASK + '[[regimes]]\nname = "direct-feedback-alignment"\n', seeds="[0, 1]")
    for record in _records(suite, tmp_path, "dfa", True).values():
        assert record.provenance.compiled_steps is None


def test_recompiled_entry_is_not_reused():
    """A kept model that its own cell compiled again (a new optimizer, a new step) is dropped, not reused."""
    import keras

    cache = steps.StepCache()
    session = cache.session("program")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = keras.random.normal((8, 4)), keras.ops.zeros((8,), dtype="int32")
    session.fit(model, x, y, callbacks=[], epochs=1, verbose=0, batch_size=4)
    assert session.built == 1 and len(cache._entries) == 1
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")  # its cell recompiles it
    key = next(iter(cache._entries))
    assert cache._get(key) is None and not cache._entries


def test_disabled_cache_gives_no_session():
    assert steps.StepCache(enabled=False).session("program") is None
