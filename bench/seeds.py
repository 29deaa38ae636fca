"""What seeds cost: one seed vs five seeds of a cell, with compiled steps reused across seeds and without.

Every arm runs in this one interpreter (process start-up excluded, as the targets ask), into an empty
results directory, arms alternated within each repeat. An arm's time is the sum of its cells'
``wall_seconds`` (seeding, building, training, per-epoch measurement, probing); the ratios are of medians.
The records of the reuse and rebuild arms must carry the same result hashes.

    python bench/seeds.py [--repeats 2] [--write bench/README.md]
    python bench/seeds.py --records leaderboard/official-3.0/records   # fixed costs of committed records

``--records`` prints, for a directory of records, the sum of the cells' ``wall_seconds`` against the sum
of their steady-state training time (per training stage: its epochs x the median of its later epochs).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sections import write_section  # noqa: E402  (bench/ is the script's directory)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

START, END = "<!-- bench/seeds.py: start -->", "<!-- bench/seeds.py: end -->"
TASK = '[[tasks]]\nname = "digits-mlp"\nparams = { depth = 4, width = 128 }\n'  # the official suite's digits MLP
PROBE = '[metrics.probe]\nprobe_size = 360\nevery = "log"\nestimators = ["nhsic", "cka"]\n'


def suite_text(seeds: list[int]) -> str:
    return (f'[suite]\nname = "bench-seeds"\nversion = "1.0"\nseeds = {seeds}\n\n{TASK}\n[[regimes]]\nname = "e2e"\n\n{PROBE}')


def steady_seconds(record) -> float:
    """Per training stage, its epochs x the median of its later epochs (the first epoch's when it has one)."""
    from suite.scores import epoch_durations

    history = record.history[1:]
    durations = epoch_durations(history)
    total, start = 0.0, 0
    for i in range(1, len(history) + 1):
        if i == len(history) or history[i].stage != history[start].stage:
            stage = durations[start:i]
            total += len(stage) * statistics.median(stage[1:] or stage)
            start = i
    return total


def fixed_cost_ratio(records: list) -> tuple[float, float, float]:
    """(sum of wall_seconds, sum of steady-state training seconds, their ratio) over finished records."""
    done = [r for r in records if r.status == "ok" and len(r.history) > 1 and r.summary.get("wall_seconds") is not None]
    wall = sum(r.summary["wall_seconds"] for r in done)
    steady = sum(steady_seconds(r) for r in done)
    return wall, steady, wall / steady


def run_arm(seeds: list[int], reuse: bool, where: Path) -> tuple[float, dict[str, str], list]:
    from suite import steps
    from suite.executor import run_suite
    from suite.spec import parse_suite
    from suite.store import Store

    steps.PROCESS_CACHE.clear()
    store = Store(where)
    run_suite(parse_suite(suite_text(seeds), source="<bench>"), store, progress=False, reuse_steps=reuse, log=lambda line: None)
    records = [store.get(p.stem) for p in store.files()]
    return sum(r.summary["wall_seconds"] for r in records), {r.cell_hash: r.result_hash for r in records}, records


def measure(repeats: int) -> tuple[dict[str, list[float]], dict[str, list[float]], tuple[float, float]]:
    from suite import backend

    backend.limit_threads(backend.training_threads())
    arms = {"1 seed, reuse": ([0], True), "5 seeds, reuse": ([0, 1, 2, 3, 4], True),
            "1 seed, rebuild": ([0], False), "5 seeds, rebuild": ([0, 1, 2, 3, 4], False)}
    times: dict[str, list[float]] = {a: [] for a in arms}
    ratios: dict[str, list[float]] = {a: [] for a in arms}
    load_before = os.getloadavg()[0]
    run_arm([0], True, Path(tempfile.mkdtemp(prefix="e2ebench-seeds-warm-")))  # imports and first-process costs, not timed
    names = list(arms)
    with tempfile.TemporaryDirectory(prefix="e2ebench-seeds-") as tmp:
        for r in range(repeats):
            hashes = {}
            for name in names[r % len(names):] + names[:r % len(names)]:
                seeds, reuse = arms[name]
                t0 = time.perf_counter()
                seconds, hashes[name], records = run_arm(seeds, reuse, Path(tmp) / f"{r}-{name}")
                times[name].append(seconds)
                ratios[name].append(fixed_cost_ratio(records)[2])
                print(f"repeat {r + 1}/{repeats}  {name:<17} cells {seconds:6.1f} s (run {time.perf_counter() - t0:6.1f} s)", flush=True)
            if hashes["5 seeds, reuse"] != hashes["5 seeds, rebuild"] or hashes["1 seed, reuse"] != hashes["1 seed, rebuild"]:
                raise SystemExit("reused and rebuilt steps gave different result hashes")
    return times, ratios, (load_before, os.getloadavg()[0])


def table(repeats: int, times: dict[str, list[float]], ratios: dict[str, list[float]], load: tuple[float, float]) -> str:
    med = {a: statistics.median(t) for a, t in times.items()}
    rows = ["| arm | cells' wall time (median) | wall / steady-state training |", "| --- | --- | --- |"]
    rows += [f"| {a} | {med[a]:.1f} s | {statistics.median(ratios[a]):.2f} |" for a in times]
    return "\n".join([
        f"Command: `python bench/seeds.py --repeats {repeats}` (`digits-mlp` depth 4 x 128, `e2e`, 20 epochs, probe as in the "
        f"official suite; sums of the cells' `wall_seconds` in one interpreter, arms alternated; medians of {repeats}).",
        f"Machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}; "
        f"load average {load[0]:.1f} before and {load[1]:.1f} after.",
        "",
        *rows,
        "",
        f"- Five seeds / one seed: **{med['5 seeds, reuse'] / med['1 seed, reuse']:.2f}x** with compiled steps reused, "
        f"{med['5 seeds, rebuild'] / med['1 seed, rebuild']:.2f}x when every seed builds its own.",
        "- The reuse and rebuild arms' records had the same result hashes.",
    ])




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--write", type=Path, default=None, help="write the section into this Markdown file")
    parser.add_argument("--records", type=Path, default=None, help="only report the fixed costs of the records in this directory")
    args = parser.parse_args()
    if args.records is not None:
        from suite.store import Store

        store = Store(args.records.parent) if args.records.name == "records" else Store(args.records)
        wall, steady, ratio = fixed_cost_ratio([store.get(p.stem) for p in store.files()])
        print(f"{args.records}: cells' wall {wall / 60:.1f} min, steady-state training {steady / 60:.1f} min, ratio {ratio:.2f}")
        return
    times, ratios, load = measure(args.repeats)
    section = table(args.repeats, times, ratios, load)
    print("\n" + section)
    if args.write is not None:
        write_section(args.write, section, START, END)
        print(f"\nwritten to {args.write}")


if __name__ == "__main__":
    main()
