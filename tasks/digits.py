"""Tasks on scikit-learn's embedded 8x8 digits: they run offline on any machine in seconds."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from suite.api import Budget, Network, Params, Task, TaskData
from suite.registry import tasks
from tasks.datasets import embedded
from tasks.models.cnn import small_cnn
from tasks.models.mlp import MLPBlock, mlp


class MLPParams(Params):
    depth: int = Field(default=4, ge=1, le=64, description="hidden blocks")
    width: int = Field(default=128, ge=1, le=8192, description="units per block")
    block: MLPBlock = Field(default="dense-relu", description="layers of a block: dense-relu, or dense-bn-relu-dropout (Sakamoto & Sato's MLP block)")

    added_fields: ClassVar[frozenset[str]] = frozenset({"block"})


@tasks.register
class DigitsMLP(Task):
    """An MLP of ``depth`` blocks (Dense-ReLU, or Sakamoto & Sato's Dense-BatchNorm-ReLU-Dropout) on the 8x8 digits."""

    name = "digits-mlp"
    version = "1.0"
    description = "MLP (depth x width Dense-ReLU blocks) on scikit-learn's 8x8 digits (1437 train / 360 test)"
    data_source = "sklearn:load_digits (embedded)"
    Params = MLPParams
    default_budget = Budget(epochs=20, batch_size=64, optimizer="adam", learning_rate=1e-3)
    target_accuracy = 0.95
    architecture = "mlp"

    def load_data(self) -> TaskData:
        return embedded.digits()

    def build_network(self, data: TaskData) -> Network:
        p = self.params
        return mlp(data.input_shape, data.num_classes, depth=p.depth, width=p.width, block=p.block)


class CNNParams(Params):
    depth: int = Field(default=4, ge=1, le=6, description="conv blocks (the 8x8 map halves after every second)")
    width: int = Field(default=32, ge=1, le=512, description="filters of the first block")


@tasks.register
class DigitsCNN(Task):
    """A small CNN of Conv-BN-ReLU blocks on the 8x8 digits."""

    name = "digits-cnn"
    version = "1.1"  # 1.1: BatchNorm momentum 0.9 (1.0 used 0.99, whose running statistics lagged training)
    description = "small CNN (Conv3x3-BN-ReLU blocks, max-pool every second) on scikit-learn's 8x8 digits"
    data_source = "sklearn:load_digits (embedded)"
    Params = CNNParams
    default_budget = Budget(epochs=15, batch_size=64, optimizer="adam", learning_rate=1e-3)
    target_accuracy = 0.95
    architecture = "cnn"

    def load_data(self) -> TaskData:
        return embedded.digits()

    def build_network(self, data: TaskData) -> Network:
        return small_cnn(data.input_shape, data.num_classes, width=self.params.width, depth=self.params.depth)
