"""Datasets that ship with installed packages, so suites run offline on a fresh machine."""

from __future__ import annotations

import functools

import numpy as np

from suite.api import Split, TaskData

DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[..., None]  # (1797, 8, 8, 1) in [0, 1]
    return x, bunch.target.astype(np.int32)


def digits() -> TaskData:
    """scikit-learn's 1797 real 8x8 handwritten digits (10 classes), split 80/20, stratified, fixed seed.

    Inputs are (8, 8, 1) float32 in [0, 1]; the split never depends on a cell's seed.
    """
    from sklearn.model_selection import train_test_split

    x, y = _digits_arrays()
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=DIGITS_TEST_FRACTION, stratify=y, random_state=DIGITS_SPLIT_SEED
    )
    return TaskData(train=Split(x_tr, y_tr), test=Split(x_te, y_te), num_classes=10)
