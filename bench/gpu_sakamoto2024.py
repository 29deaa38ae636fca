"""Epoch times of the full-size ``sakamoto2024`` networks: CIFAR-10 VGG8b and ResNet-18, on a GPU.

Trains the suite's CIFAR-10 cells (``cifar10-vgg8b``, ``cifar10-resnet18``) for a short budget through
the harness (the same task, regime and runner code as ``e2ebench run sakamoto2024``) and prints, per
cell, the first epoch (graph building and compilation included), the median later epoch, images per
second and the device. Meant for a machine with an accelerator and Keras on JAX::

    KERAS_BACKEND=jax python bench/gpu_sakamoto2024.py --data-dir ~/tensorflow_datasets

Where CIFAR-10 is not prepared in the data directory (``e2ebench data prepare cifar10``), it trains on a
synthetic stand-in of the same shape (50,000 + 10,000 random 32x32x3 uint8 images, 10 classes), written
to a temporary data directory through the project's array cache and said so in the output: epoch times
depend on the shapes, not on the pixels. Accuracies of a stand-in run mean nothing. Never part of CI.

    python bench/gpu_sakamoto2024.py [--epochs 3] [--regimes e2e,layerwise] [--seeds 0] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import numpy as np  # noqa: E402

TASKS = ("cifar10-vgg8b", "cifar10-resnet18")
STAND_IN = {"train": 50_000, "test": 10_000, "shape": (32, 32, 3), "classes": 10}


def cifar10_prepared(data_dir: Path) -> bool:
    """Whether CIFAR-10 loads from ``data_dir`` without a download (array cache or prepared TFDS folder)."""
    from suite.api import DataUnavailable
    from tasks.datasets import tfds as tfds_data
    from tasks.datasets.options import data_options

    try:
        with data_options(data_dir=data_dir):
            tfds_data.load_arrays("cifar10")
    except DataUnavailable:
        return False
    return True


def write_stand_in(root: Path, train: int, test: int, seed: int = 0) -> Path:
    """A synthetic CIFAR-10 of the real shapes in ``root``'s array cache; returns ``root``."""
    from tasks.datasets.tfds import ImageArrays, save_arrays

    rng = np.random.default_rng(seed)
    shape, k = STAND_IN["shape"], STAND_IN["classes"]
    arrays = ImageArrays("cifar10", "3.0.2", k,
                         rng.integers(0, 256, (train, *shape), dtype=np.uint8), rng.integers(0, k, train).astype(np.int32),
                         rng.integers(0, 256, (test, *shape), dtype=np.uint8), rng.integers(0, k, test).astype(np.int32),
                         source="arrays")
    save_arrays(arrays, root)
    return root


def suite_text(epochs: int, regimes: list[str], seeds: list[int], probe: bool) -> str:
    """The benchmark's suite: the sakamoto2024 CIFAR-10 cells with a short budget."""
    lines = ['[suite]', 'name = "gpu-sakamoto2024"', 'version = "1.0"', f"seeds = {seeds}"]
    for task in TASKS:
        lines += ["[[tasks]]", f'name = "{task}"', f"budget = {{ epochs = {epochs} }}"]
    for regime in regimes:
        lines += ["[[regimes]]", f'name = "{regime}"']
    lines += ["[metrics.probe]", f"enabled = {'true' if probe else 'false'}"]
    if probe:
        lines += ["probe_size = 1000", "every = 1", 'estimators = ["nhsic"]']
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")).expanduser())
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--regimes", default="e2e,layerwise")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--probe", action="store_true", help="probe nHSIC every epoch (timed apart, as probe_seconds)")
    parser.add_argument("--stand-in-train", type=int, default=STAND_IN["train"], help="stand-in training images")
    parser.add_argument("--stand-in-test", type=int, default=STAND_IN["test"], help="stand-in test images")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()

    from suite import backend
    from suite.executor import run_suite
    from suite.scores import epoch_durations
    from suite.spec import parse_suite
    from suite.store import Store
    from tasks.datasets.options import data_options

    scratch = Path(tempfile.mkdtemp(prefix="gpu-sakamoto2024-"))
    data_dir, stand_in = args.data_dir, False
    if not cifar10_prepared(data_dir):
        data_dir, stand_in = write_stand_in(scratch / "data", args.stand_in_train, args.stand_in_test), True
        print(f"CIFAR-10 is not prepared in {args.data_dir}: training on a synthetic stand-in of its shape "
              f"({args.stand_in_train} + {args.stand_in_test} images); accuracies mean nothing, epoch times do")
    suite = parse_suite(suite_text(args.epochs, args.regimes.split(","), [int(s) for s in args.seeds.split(",")], args.probe))
    store = Store(scratch / "results")
    t0 = time.perf_counter()
    with data_options(data_dir=data_dir):
        report = run_suite(suite, store, progress=False, log=print)
    wall = time.perf_counter() - t0
    rows = []
    for record in store:
        per_epoch = epoch_durations([h for h in record.history if h.epoch >= 1])
        steady = statistics.median(per_epoch[1:]) if len(per_epoch) > 1 else None
        train = record.splits.train if record.splits else None
        rows.append({
            "task": record.task_label, "regime": record.regime_label, "seed": record.seed, "status": record.status,
            "first_epoch_s": per_epoch[0] if per_epoch else None, "median_later_epoch_s": steady,
            "images_per_s": (train / steady) if train and steady else None,
            "compile_seconds": record.summary.get("compile_seconds"), "probe_seconds": record.summary.get("probe_seconds"),
            "test_accuracy": record.summary.get("test_accuracy"), "device": record.provenance.device,
        })
    header = f"backend {backend.name()}, {'synthetic stand-in' if stand_in else 'CIFAR-10'}, {args.epochs} epochs, wall {wall:.1f} s"
    print(header)
    print(f"{'task':<18} {'regime':<14} {'seed':>4} {'1st epoch s':>11} {'later epoch s':>13} {'images/s':>9}  device")
    for r in sorted(rows, key=lambda r: (r["task"], r["regime"], r["seed"])):
        first = f"{r['first_epoch_s']:.2f}" if r["first_epoch_s"] is not None else "-"
        later = f"{r['median_later_epoch_s']:.2f}" if r["median_later_epoch_s"] is not None else "-"
        ips = f"{r['images_per_s']:.0f}" if r["images_per_s"] is not None else "-"
        print(f"{r['task']:<18} {r['regime']:<14} {r['seed']:>4} {first:>11} {later:>13} {ips:>9}  {r['device']}")
    if args.json:
        args.json.write_text(json.dumps({"header": header, "stand_in": stand_in, "rows": rows}, indent=1))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
