"""Harness overhead: one ``e2e`` cell through the harness against a hand-written ``model.fit``.

Both train the same network (same builder, seed, data, optimizer, batch size and epochs) and
evaluate test accuracy after every epoch (the hand-written loop through ``validation_data``; the
harness through its own evaluation, which every record needs). A third arm, ``model.fit`` with no
evaluation at all, is the floor any harness pays on top of. The probe is off here: its cost is
measured by ``bench/probe_cost.py``. Runs alternate (harness, hand-written, harness, ...) so both
see the same machine state; the ratio of median wall times is printed.

    python bench/overhead.py [--task digits-mlp] [--repeats 5] [--epochs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from suite import backend  # noqa: E402
from suite.executor import load_task_data  # noqa: E402
from suite.plan import plan  # noqa: E402
from suite.records import SuiteRef  # noqa: E402
from suite.runner import run_cell  # noqa: E402
from suite.spec import parse_suite  # noqa: E402


def harness_cell(task: str, epochs: int):
    suite = parse_suite(
        f'[suite]\nname="bench"\nversion="1.0"\nseeds=[0]\n[[tasks]]\nname="{task}"\nbudget={{epochs={epochs}}}\n'
        '[[regimes]]\nname="e2e"\n[metrics.probe]\nenabled=false\n'
    )
    (cell,) = plan(suite)
    data = load_task_data(cell.task)
    ref = SuiteRef(name=suite.name, version=suite.version, sha256=suite.sha256)

    def run() -> float:
        t0 = time.perf_counter()
        record = run_cell(cell, ref, data)
        assert record.status == "ok", record.error
        return time.perf_counter() - t0

    def by_hand(evaluate: bool = True) -> float:
        t0 = time.perf_counter()
        backend.seed_everything(cell.seed)
        task_obj = cell.task.cls(cell.task.params)
        model = task_obj.build_network(data).composed()
        budget = cell.task.budget
        import keras

        model.compile(optimizer=keras.optimizers.Adam(budget.learning_rate), loss=task_obj.loss(), metrics=["accuracy"])
        model.fit(data.train.x, data.train.y, batch_size=budget.batch_size, epochs=budget.epochs, shuffle=True,
                  validation_data=(data.test.x, data.test.y) if evaluate else None, verbose=0)
        return time.perf_counter() - t0

    return run, by_hand


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="digits-mlp")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    run, by_hand = harness_cell(args.task, args.epochs)
    run(), by_hand()  # warm-up: imports, first traces
    harness, hand, bare = [], [], []
    for _ in range(args.repeats):
        harness.append(run())
        hand.append(by_hand())
        bare.append(by_hand(evaluate=False))
    h, m, f = statistics.median(harness), statistics.median(hand), statistics.median(bare)
    print(f"backend {backend.name()}, task {args.task}, {args.epochs} epochs, {args.repeats} alternated repeats")
    print(f"harness cell : median {h:.3f} s  (runs: {', '.join(f'{t:.2f}' for t in harness)})")
    print(f"model.fit    : median {m:.3f} s  (runs: {', '.join(f'{t:.2f}' for t in hand)})")
    print(f"model.fit, no per-epoch evaluation: median {f:.3f} s  (runs: {', '.join(f'{t:.2f}' for t in bare)})")
    print(f"ratio harness / model.fit with per-epoch test evaluation = {h / m:.3f}  (target <= 1.05)")
    print(f"ratio harness / model.fit without any evaluation         = {h / f:.3f}  (the floor: training alone)")


if __name__ == "__main__":
    main()
