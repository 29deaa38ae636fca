"""TensorFlow against JAX on the MNIST-5k cells: first-epoch and steady-state epoch times, side by side.

Each arm is `e2ebench run` of a small suite (`e2e` on `mnist5k-mlp` and `mnist5k-lenet5`, seeds 0 and 1, 4 epochs,
no probe) in a fresh interpreter with one backend, into an empty results directory (so JAX starts with an
empty compilation cache); the arms alternate within each repeat. Epoch times are read from the records.

    python bench/backends.py [--repeats 2] [--write bench/README.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from sections import write_section  # noqa: E402  (bench/ is the script's directory)

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench/backends.py: start -->", "<!-- bench/backends.py: end -->"
SUITE = """[suite]
name = "bench-backends"
version = "1.0"
seeds = [0, 1]

[[tasks]]
name = "mnist5k-mlp"
budget = { epochs = 4 }

[[tasks]]
name = "mnist5k-lenet5"
budget = { epochs = 4 }

[[regimes]]
name = "e2e"

[metrics.probe]
enabled = false
"""
BACKENDS = ("tensorflow", "jax")


def run_arm(backend: str, suite: Path, results: Path) -> list[dict]:
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-m", "suite.cli", "run", str(suite), "--results", str(results), "--no-progress"],
                         env=env, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"{backend}: e2ebench run failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return [json.loads(p.read_text()) for p in (results / "records").glob("*.json")]


def measure(repeats: int) -> tuple[dict, tuple[float, float]]:
    """{(backend, task, seed): {"first": [...], "steady": [...], "wall": [...]}} and the load before and after."""
    load_before = os.getloadavg()[0]
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="e2ebench-backends-") as tmp:
        suite = Path(tmp) / "suite.toml"
        suite.write_text(SUITE)
        for r in range(repeats):
            for backend in BACKENDS[r % 2:] + BACKENDS[:r % 2]:
                for record in run_arm(backend, suite, Path(tmp) / f"{r}-{backend}"):
                    seconds = [h["seconds"] for h in record["history"]]
                    epochs = [b - a for a, b in zip(seconds, seconds[1:])]
                    row = out.setdefault((backend, record["task_label"], record["cell"]["seed"]), {"first": [], "steady": [], "wall": []})
                    row["first"].append(epochs[0])
                    row["steady"].append(statistics.median(epochs[1:]))
                    row["wall"].append(record["summary"]["wall_seconds"])
                print(f"repeat {r + 1}/{repeats} {backend} done", flush=True)
    return out, (load_before, os.getloadavg()[0])


def table(repeats: int, rows: dict, load: tuple[float, float]) -> str:
    lines = ["| task | seed (order in the run) | backend | first epoch | later epochs (median) | cell wall time |",
             "| --- | --- | --- | --- | --- | --- |"]
    for (backend, task, seed), v in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
        lines.append(f"| {task} | {seed} | {backend} | {statistics.median(v['first']):.2f} s | {statistics.median(v['steady']):.3f} s "
                     f"| {statistics.median(v['wall']):.1f} s |")
    return "\n".join([
        f"Command: `python bench/backends.py --repeats {repeats}` (`e2e`, 4 epochs, no probe; one `e2ebench run` per backend in a "
        f"fresh interpreter, arms alternated; medians of {repeats}).",
        f"Machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}; "
        f"load average {load[0]:.1f} before and {load[1]:.1f} after.",
        "", *lines])




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    rows, load = measure(args.repeats)
    section = table(args.repeats, rows, load)
    print("\n" + section)
    if args.write is not None:
        write_section(args.write, section, START, END)


if __name__ == "__main__":
    main()
