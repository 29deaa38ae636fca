"""Cost of the information-plane probe, measured side by side in one run.

1. **Estimator speed**: for the probe size of a suite and the block shapes of its tasks, the time of
   one block's estimates (nHSIC and CKA against X and Y) with

   * ``literal``: the definition computed as written (right-centered ``K H``, an LU solve per
     operator, CKA recomputing every kernel), numpy float64;
   * ``numpy``: the probe's estimator (``suite.metrics.PlaneEstimator``) with the numpy kernel step;
   * ``compiled``: the same with the kernel step compiled (XLA / ``jax.jit``); first-call compile time
     reported apart.

   All share one process and machine state; medians of ``--repeats`` runs.
2. **Probe share**: the suite's cells (run into ``--results``, or read from it when complete), with
   ``probe_seconds / train_seconds`` and ``probe_seconds / wall_seconds`` per task x regime and in total.

Timings are measured, never asserted. Usage::

    python bench/probe_cost.py                      # default suite, in a temporary results directory
    python bench/probe_cost.py default --results /tmp/m-default --seeds 0
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
from tabulate import tabulate  # noqa: E402

from suite import backend, metrics  # noqa: E402
from suite.executor import run_suite  # noqa: E402
from suite.api import Split  # noqa: E402
from suite.results import ResultSet  # noqa: E402
from suite.probe import Probe  # noqa: E402
from suite.splits import stratified_indices  # noqa: E402
from suite.spec import ProbeSettings, Suite, load_suite  # noqa: E402
from suite.store import Store  # noqa: E402


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` over ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def literal_block(x: np.ndarray, labels: np.ndarray, t: np.ndarray, settings: ProbeSettings) -> None:
    """One block's estimates computed literally (the definition as written)."""
    sigma, eps, lk = settings.sigma, settings.eps, settings.label_kernel
    op_t = metrics.normalized_operator(t, "gaussian", sigma, eps)
    metrics.nhsic_from_operators(metrics.normalized_operator(x, "gaussian", sigma, eps), op_t)
    metrics.nhsic_from_operators(metrics.normalized_operator(labels, lk, sigma, eps), op_t)
    metrics.cka(x, t, sigma=sigma, impl="numpy")
    metrics.cka(labels, t, sigma=sigma, kernel_a=lk, impl="numpy")


def estimator_speed(suite: Suite, repeats: int, sizes: list[int]) -> list[list[object]]:
    """Rows of the estimator-speed table: one per (task, block shape, probe size)."""
    settings = suite.metrics.probe
    rows: list[list[object]] = []
    for resolved in suite.tasks:
        task = resolved.cls(resolved.params)
        data = task.load_data()
        backend.seed_everything(0)
        network = task.build_network(data)
        for m in sizes:
            idx = stratified_indices(data.test.y, m, settings.probe_seed)
            if len(idx) < m:  # a small test split: draw from train as well, for the timing only
                x_all = np.concatenate([data.test.x, data.train.x])
                y_all = np.concatenate([data.test.y, data.train.y])
                idx = stratified_indices(y_all, m, settings.probe_seed)
            else:
                x_all, y_all = data.test.x, data.test.y
            x, y = x_all[idx], y_all[idx]
            labels = metrics.one_hot(y, data.num_classes)
            feats = Probe(Split(x, y), data.num_classes, settings).features(network)
            refs = {"x": (x, "gaussian"), "y": (labels, settings.label_kernel)}
            planes = {impl: metrics.PlaneEstimator(refs, sigma=settings.sigma, eps=settings.eps, impl=impl)
                      for impl in ("numpy", "compiled")}
            for name, t in zip(network.block_names, feats):
                shape = "x".join(str(d) for d in t.shape)
                with metrics.blas_limited():
                    lit = median_seconds(lambda: literal_block(x, labels, t, settings), repeats)
                fast = median_seconds(lambda: planes["numpy"].scores(t), repeats)
                t0 = time.perf_counter()
                planes["compiled"].scores(t)
                first = time.perf_counter() - t0
                comp = median_seconds(lambda: planes["compiled"].scores(t), repeats)
                a, b = planes["numpy"].scores(t), planes["compiled"].scores(t)
                err = max(abs(a[k] - b[k]) / max(abs(a[k]), 1e-300) for k in a)
                auto = "compiled" if metrics.prefer_compiled(t.shape[0], int(np.prod(t.shape[1:]))) else "numpy"
                rows.append([resolved.label, f"{name} {shape}", f"{lit * 1e3:.2f}", f"{fast * 1e3:.2f}", f"{comp * 1e3:.2f}",
                             f"{first:.2f}", f"{lit / fast:.1f}x", f"{fast / comp:.2f}x", f"{err:.1e}", auto])
    return rows


def probe_share(suite: Suite, store: Store) -> tuple[list[list[object]], dict[str, float]]:
    """Per task x regime, from stored records: training, probe and wall seconds (summed over seeds)."""
    groups: dict[tuple[str, str], list[float]] = {}
    for key, group in ResultSet.from_suite(suite, store).finished().group_by("task", "regime").items():
        groups[key] = [sum(group.aggregate(s).values) for s in ("train_seconds", "probe_seconds", "wall_seconds")] + [len(group)]
    rows = [[task, regime, int(n), f"{train:.1f}", f"{probe:.1f}", f"{wall:.1f}", f"{probe / train:.1%}", f"{probe / wall:.1%}"]
            for (task, regime), (train, probe, wall, n) in groups.items()]
    total = [sum(v[i] for v in groups.values()) for i in range(3)]
    return rows, {"train": total[0], "probe": total[1], "wall": total[2]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", nargs="?", default="default", help="suite file or shipped suite name (default: default)")
    parser.add_argument("--results", help="results directory (default: a temporary one); complete cells are reused")
    parser.add_argument("--seeds", type=int, nargs="*", help="run only these seeds of the suite (default: all)")
    parser.add_argument("--repeats", type=int, default=15, help="timed repetitions per block (default: 15)")
    parser.add_argument("--sizes", type=int, nargs="*", help="probe sizes for the estimator table (default: the suite's, capped by the data, and 1000)")
    parser.add_argument("--skip-suite", action="store_true", help="only the estimator-speed table")
    args = parser.parse_args(argv)

    suite = load_suite(args.suite)
    if args.seeds:
        import dataclasses

        unknown = set(args.seeds) - set(suite.seeds)
        if unknown:
            parser.error(f"--seeds {sorted(unknown)} not in the suite's seeds {list(suite.seeds)}")
        suite = dataclasses.replace(suite, seeds=tuple(args.seeds))
    print(f"backend {backend.name()} on {backend.device()}; BLAS threads in the estimators: {metrics.BLAS_THREADS}")

    if not args.skip_suite:
        results = args.results or tempfile.mkdtemp(prefix="probe-cost-")
        store = Store(results)
        t0 = time.perf_counter()
        report = run_suite(suite, store, progress=False, log=lambda line: print(line, file=sys.stderr))
        print(f"\n## Probe share of cell time: suite {suite.name} ({report.ran} cells run, {report.skipped} reused from {results}; {time.perf_counter() - t0:.0f} s)\n")
        rows, total = probe_share(suite, store)
        print(tabulate(rows, headers=["task", "regime", "cells", "train s", "probe s", "wall s", "probe/train", "probe/wall"], tablefmt="github"))
        if total["train"] > 0:
            print(f"\ntotal: probe {total['probe']:.1f} s = {total['probe'] / total['train']:.1%} of training time "
                  f"({total['train']:.1f} s), {total['probe'] / total['wall']:.1%} of cell wall time ({total['wall']:.1f} s)")

    settings = suite.metrics.probe
    sizes = args.sizes or sorted({settings.probe_size, 1000})
    print(f"\n## Estimator speed per block (ms, median of {args.repeats}; sigma={settings.sigma}, eps={settings.eps}, label kernel {settings.label_kernel})\n")
    rows = estimator_speed(suite, args.repeats, sizes)
    print(tabulate(rows, headers=["task", "block (m x shape)", "literal ms", "numpy ms", "compiled ms", "compile s",
                                  "numpy vs literal", "compiled vs numpy", "max rel diff", "auto uses"], tablefmt="github"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
