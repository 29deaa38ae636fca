"""check_regime: the conformance battery names each way a regime can break the protocol."""

from __future__ import annotations

import os
import time
from typing import Literal

import pytest

from suite.api import Params, Regime, TrainContext
from suite.checks import ConformanceError, check_regime

TINY = [("digits-mlp", {"depth": 1, "width": 16})]
ONE_EPOCH = {"epochs": 1, "learning_rate": 0.003}


class FaultParams(Params):
    fault: Literal["none", "nondeterministic", "writes", "overrun", "silent"] = "none"


class Faulty(Regime):
    """End-to-end training with one injected fault, to test the battery (no paper)."""

    name = "faulty"
    version = "1.0"
    description = "end-to-end training with an injected protocol fault"
    citation = "none (a test fixture)"
    Params = FaultParams

    def train(self, ctx: TrainContext) -> None:
        fault = self.params.fault
        model = ctx.network.composed()
        lr = ctx.budget.learning_rate
        if fault == "nondeterministic":
            lr *= 1.0 + (time.perf_counter_ns() % 1000) / 1000  # not drawn from the seed
        model.compile(optimizer=ctx.make_optimizer(lr), loss=ctx.task.loss(), metrics=["accuracy"])
        if fault == "writes":
            with open("checkpoint.txt", "w") as f:
                f.write("a regime must not write files")
        if fault == "silent":  # trains without ever reporting an epoch
            model.fit(ctx.data.train.x, ctx.data.train.y, epochs=ctx.budget.epochs, verbose=0)
            return
        epochs = ctx.budget.epochs * (2 if fault == "overrun" else 1)
        ctx.fit(model, ctx.data.train.x, ctx.data.train.y, epochs=epochs)


def run(fault: str):
    return check_regime(Faulty, {"fault": fault}, tasks=TINY, budget=ONE_EPOCH, margin=-1.0)


def verdicts(report) -> dict[str, bool]:
    return {r.name: r.passed for r in report.results}


def test_a_conforming_regime_passes_every_check():
    report = run("none")
    assert report.ok, report.format()
    assert list(verdicts(report)) == ["declares", "runs", "reports every epoch", "respects the budget", "learns",
                                      "is deterministic", "writes no files"]
    report.raise_for_failures()  # does not raise


def test_budget_overrun_fails_budget_and_epoch_checks():
    report = run("overrun")
    v = verdicts(report)
    assert not v["respects the budget"] and not v["reports every epoch"]
    assert "2.00 x the budget" in report.format()
    with pytest.raises(ConformanceError, match="respects the budget"):
        report.raise_for_failures()


def test_unseeded_randomness_fails_determinism():
    report = run("nondeterministic")
    v = verdicts(report)
    assert v["runs"] and not v["is deterministic"], report.format()


def test_writing_a_file_fails_and_names_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = run("writes")
    assert not verdicts(report)["writes no files"]
    assert "checkpoint.txt" in report.format()
    assert os.listdir(tmp_path) == []  # the battery ran in a scratch directory


def test_a_regime_that_never_reports_fails_to_run_with_the_reason():
    report = run("silent")
    assert not verdicts(report)["runs"]
    assert "reported no epoch" in report.format()


def test_missing_metadata_fails_before_any_training():
    class Anonymous(Faulty):
        citation = ""
        __doc__ = None

    report = check_regime(Anonymous, tasks=TINY, budget=ONE_EPOCH)
    assert [r.name for r in report.results] == ["declares"]
    assert "citation" in report.format() and "docstring" in report.format()
