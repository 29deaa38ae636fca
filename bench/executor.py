"""Executor throughput: one suite run with ``--jobs 1``, ``--jobs 2`` and ``--executor ray``, side by side.

Each arm is the command a user types, in a fresh interpreter, into an empty results directory, so its wall
time includes what that user waits for: importing the backend in every worker process, and for Ray,
starting and stopping a local Ray instance (measured alone too, as its own arm). Arms alternate within
each repeat, in a rotating order, so all see the same machine state; the ratios are of median wall times
(throughput = cells / wall time). Every arm's records must carry the same result hashes.

    python bench/executor.py [--suite ci] [--repeats 3] [--write bench/README.md]

``--write`` replaces the section between the markers in that file with the measured table and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sections import write_section  # noqa: E402  (bench/ is the script's directory)

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench/executor.py: start -->", "<!-- bench/executor.py: end -->"
ARMS = {  # name -> extra `e2ebench run` options
    "jobs 1": [],
    "jobs 2": ["--jobs", "2"],
    "ray": ["--executor", "ray"],
}
RAY_START = ("import ray, time; t = time.perf_counter(); ray.init(address='local', include_dashboard=False, logging_level='error'); "
             "ray.shutdown(); print(time.perf_counter() - t)")


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}


def run_arm(suite: str, options: list[str], results: Path) -> float:
    """Wall seconds of ``e2ebench run SUITE OPTIONS`` into the empty directory ``results``."""
    code = ("import sys; from suite.cli import main; sys.argv[0] = 'e2ebench'; "
            f"sys.argv[1:] = {['run', suite, '--results', str(results), '--no-progress', *options]!r}; main()")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), cwd=ROOT)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"e2ebench run {suite} {' '.join(options)} failed ({out.returncode}):\n{out.stdout[-2000:]}{out.stderr[-4000:]}")
    return seconds


def ray_start_seconds() -> float:
    """Seconds to start and stop a local Ray instance, alone (what the ray arm pays before its first cell)."""
    out = subprocess.run([sys.executable, "-c", RAY_START], capture_output=True, text=True, env=_env(), check=True)
    return float(out.stdout.strip().splitlines()[-1])


def result_hashes(results: Path) -> dict[str, str]:
    return {p.stem: json.loads(p.read_text())["result_hash"] for p in (results / "records").glob("*.json")}


def measure(suite: str, repeats: int) -> tuple[dict[str, list[float]], list[float], int, tuple[float, float]]:
    """Wall times per arm, Ray's start-up times, the number of cells, and the load average before and after."""
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {name: [] for name in ARMS}
    starts: list[float] = []
    names = list(ARMS)
    cells = 0
    with tempfile.TemporaryDirectory(prefix="e2ebench-executor-bench-") as tmp:
        for r in range(repeats):
            order = names[r % len(names):] + names[:r % len(names)]
            hashes = {}
            for name in order:
                results = Path(tmp) / f"{r}-{name.replace(' ', '')}"
                times[name].append(run_arm(suite, ARMS[name], results))
                hashes[name] = result_hashes(results)
                shutil.rmtree(results)
                print(f"repeat {r + 1}/{repeats}  {name:<7} {times[name][-1]:7.1f} s", flush=True)
            starts.append(ray_start_seconds())
            first = hashes[names[0]]
            if any(h != first for h in hashes.values()):
                raise SystemExit("the arms' records differ in their result hashes: the executors do not compute the same cells")
            cells = len(first)
    return times, starts, cells, (load_before, os.getloadavg()[0])


def table(suite: str, repeats: int, times: dict[str, list[float]], starts: list[float], cells: int,
          load: tuple[float, float]) -> str:
    """The Markdown section: the command, the machine and its load, wall times and ratios."""
    med = {name: statistics.median(ts) for name, ts in times.items()}
    ray_start = statistics.median(starts)
    rows = [
        "| arm | median wall time | cells per minute | throughput vs `--jobs 1` |",
        "| --- | --- | --- | --- |",
    ]
    for name, t in med.items():
        label = {"jobs 1": "`--jobs 1` (in process)", "jobs 2": "`--jobs 2` (process pool)",
                 "ray": "`--executor ray` (local Ray instance, 2 cells at once)"}[name]
        rows.append(f"| {label} | {t:.1f} s | {60 * cells / t:.1f} | {med['jobs 1'] / t:.2f} |")
    rows.append(f"| starting and stopping a local Ray instance, alone | {ray_start:.1f} s | | |")
    lines = [
        f"Command: `python bench/executor.py --suite {suite} --repeats {repeats}` ({cells} cells; each arm is `e2ebench run "
        f"{suite}` in a fresh interpreter into an empty results directory, arms alternated; medians of {repeats}).",
        f"Machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}; "
        f"load average {load[0]:.1f} before and {load[1]:.1f} after (the machine is shared: other jobs ran meanwhile).",
        "",
        *rows,
        "",
        f"- `--jobs 2` / `--jobs 1`: **{med['jobs 1'] / med['jobs 2']:.2f}x** throughput.",
        f"- Ray / process pool (both 2 cells at once): **{med['jobs 2'] / med['ray']:.2f}x** throughput; without Ray's start-up "
        f"({ray_start:.1f} s), {med['jobs 2'] / max(med['ray'] - ray_start, 1e-9):.2f}x.",
        "- Every arm's records had the same result hashes.",
    ]
    return "\n".join(lines)




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="ci", help="suite to run (default: ci, 6 cells)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", type=Path, default=None, help="write the section into this Markdown file")
    args = parser.parse_args()
    try:
        import ray  # noqa: F401
    except ImportError:
        raise SystemExit("the ray arm needs Ray: pip install -e '.[ray]'") from None
    times, starts, cells, load = measure(args.suite, args.repeats)
    section = table(args.suite, args.repeats, times, starts, cells, load)
    print("\n" + section)
    if args.write is not None:
        write_section(args.write, section, START, END)
        print(f"\nwritten to {args.write}")


if __name__ == "__main__":
    main()
