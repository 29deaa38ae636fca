"""Image-classification tasks on real datasets (TFDS) with the networks of the source papers.

Named ``<dataset>-<net>``. The budgets follow the public code of Sakamoto & Sato (2024): batch 128,
Adam with learning rate 5e-4; CIFAR-like sets get horizontal flips as their only augmentation. The
epochs and target accuracies are ours (the paper's are not known to us), chosen so that end-to-end
training reaches the target within the budget; see ``docs/reproduction.md``.

``tfds-image`` runs any TFDS image-classification dataset with any of these networks, by
configuration; ``digits-lenet5`` is the offline stand-in of ``mnist-lenet5`` for smoke tests.

The data comes from :mod:`tasks.datasets.tfds`: prepared data is found in the data directory
(``--data-dir``, the suite's ``[data] data_dir``, ``TFDS_DATA_DIR``), or the task is skipped with the
preparation instructions.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import keras
from pydantic import Field, field_validator, model_validator

from suite.api import Budget, Network, Params, Task, TaskData
from suite.registry import tasks
from tasks.datasets import embedded
from tasks.datasets import tfds as tfds_data
from tasks.datasets.resize import resized
from tasks.models.lenet5 import lenet5
from tasks.models.mlp import MLPBlock, mlp
from tasks.models.resnet import resnet18
from tasks.models.vgg import vgg

# Sakamoto & Sato's code: batch 128, Adam, learning rate 5e-4.
MNIST_BUDGET = Budget(epochs=20, batch_size=128, optimizer="adam", learning_rate=5e-4)
CIFAR_BUDGET = Budget(epochs=60, batch_size=128, optimizer="adam", learning_rate=5e-4)

Net = Literal["mlp", "lenet5", "vgg6b", "vgg8b", "vgg11b", "resnet18"]


def flip_layer(enabled: bool) -> keras.Layer | None:
    """Random horizontal flips while training (identity at inference), or ``None``."""
    return keras.layers.RandomFlip("horizontal") if enabled else None


class ImageMLPParams(Params):
    depth: int = Field(default=5, ge=1, le=64, description="hidden blocks")
    width: int = Field(default=256, ge=1, le=8192, description="units per block")
    block: MLPBlock = Field(default="dense-relu", description="layers of a block: dense-relu, or dense-bn-relu-dropout (Sakamoto & Sato's MLP block)")

    added_fields: ClassVar[frozenset[str]] = frozenset({"block"})


class LeNet5Params(Params):
    activation: Literal["relu", "tanh"] = Field(default="relu", description="activation of every block")


class VGGParams(Params):
    dropout: float = Field(default=0.2, ge=0.0, lt=1.0, description="dropout after every block")
    width_multiplier: float = Field(default=1.0, gt=0.0, le=4.0, description="scales every layer's width")
    flip: bool = Field(default=True, description="random horizontal flips while training")


class ResNetParams(Params):
    width: int = Field(default=64, ge=1, le=512, description="filters of the stem and first stage")
    flip: bool = Field(default=True, description="random horizontal flips while training")


class _TFDSTask(Task):
    """A task on one TFDS dataset (train and test splits, per-channel standardization)."""

    dataset: ClassVar[str]

    def prepared_datasets(self) -> tuple[str, ...]:
        return (self.dataset,)

    def load_data(self) -> TaskData:
        return tfds_data.image_classification(self.dataset)


@tasks.register
class MnistMLP(_TFDSTask):
    """An MLP of ``depth`` blocks (Dense-ReLU, or Sakamoto & Sato's Dense-BatchNorm-ReLU-Dropout) on MNIST."""

    name = "mnist-mlp"
    version = "1.0"
    description = "MLP (depth x width Dense-ReLU blocks, default 5 x 256) on MNIST (60k train / 10k test)"
    data_source = "tfds:mnist"
    dataset = "mnist"
    Params = ImageMLPParams
    default_budget = MNIST_BUDGET
    target_accuracy = 0.98
    architecture = "mlp"

    def build_network(self, data: TaskData) -> Network:
        p = self.params
        return mlp(data.input_shape, data.num_classes, depth=p.depth, width=p.width, block=p.block)


@tasks.register
class FashionMnistMLP(MnistMLP):
    """An MLP of ``depth`` Dense-ReLU blocks on Fashion-MNIST."""

    name = "fashion_mnist-mlp"
    version = "1.0"
    description = "MLP (depth x width Dense-ReLU blocks, default 5 x 256) on Fashion-MNIST (60k / 10k)"
    data_source = "tfds:fashion_mnist"
    dataset = "fashion_mnist"
    target_accuracy = 0.88


@tasks.register
class MnistLeNet5(_TFDSTask):
    """LeNet-5 (four blocks) on MNIST."""

    name = "mnist-lenet5"
    version = "1.0"
    description = "LeNet-5 (conv6-conv16-fc120-fc84 blocks, ReLU, max-pool) on MNIST (60k / 10k)"
    data_source = "tfds:mnist"
    dataset = "mnist"
    Params = LeNet5Params
    default_budget = MNIST_BUDGET
    target_accuracy = 0.99
    architecture = "cnn"

    def build_network(self, data: TaskData) -> Network:
        return lenet5(data.input_shape, data.num_classes, activation=self.params.activation)


@tasks.register
class Cifar10VGG8b(_TFDSTask):
    """VGG8b of Nøkland & Eidnes (2019): six conv blocks and one fc1024 block, on CIFAR-10."""

    name = "cifar10-vgg8b"
    version = "1.0"
    description = "VGG8b (6 Conv3x3-BN-ReLU-dropout blocks + fc1024; 8.9M params) on CIFAR-10, horizontal flips"
    data_source = "tfds:cifar10"
    dataset = "cifar10"
    Params = VGGParams
    default_budget = CIFAR_BUDGET
    target_accuracy = 0.85
    architecture = "cnn"

    def build_network(self, data: TaskData) -> Network:
        p = self.params
        return vgg("vgg8b", data.input_shape, data.num_classes, dropout=p.dropout, width_multiplier=p.width_multiplier,
                   augment=flip_layer(p.flip))


@tasks.register
class Cifar10ResNet18(_TFDSTask):
    """ResNet-18 (CIFAR form; stem + 8 basic blocks) on CIFAR-10."""

    name = "cifar10-resnet18"
    version = "1.0"
    description = "ResNet-18, CIFAR form (3x3 stem, no max-pool; 9 blocks; 11.2M params) on CIFAR-10, horizontal flips"
    data_source = "tfds:cifar10"
    dataset = "cifar10"
    Params = ResNetParams
    default_budget = CIFAR_BUDGET
    target_accuracy = 0.88
    architecture = "resnet"

    def build_network(self, data: TaskData) -> Network:
        return resnet18(data.input_shape, data.num_classes, width=self.params.width, augment=flip_layer(self.params.flip))


@tasks.register
class Cifar100ResNet18(Cifar10ResNet18):
    """ResNet-18 (CIFAR form) on CIFAR-100."""

    name = "cifar100-resnet18"
    version = "1.0"
    description = "ResNet-18, CIFAR form (9 blocks; 11.2M params) on CIFAR-100, horizontal flips"
    data_source = "tfds:cifar100"
    dataset = "cifar100"
    target_accuracy = 0.60


class TFDSImageParams(Params):
    dataset: str = Field(default="mnist", description="TFDS name[/config][:version], e.g. svhn_cropped")
    net: Net = Field(default="mlp", description="network: mlp (5 x 256), lenet5, vgg6b, vgg8b, vgg11b or resnet18")
    train_split: str = Field(default="train", description="TFDS split (or expression, e.g. train[:90%]) to train on")
    test_split: str = Field(default="test", description="TFDS split to test (and probe) on")
    flip: bool = Field(default=False, description="random horizontal flips while training (convolutional nets)")
    target_accuracy: float = Field(default=0.9, gt=0.0, le=1.0, description="test accuracy that counts as converged")

    @field_validator("dataset")
    @classmethod
    def _tfds_name(cls, dataset: str) -> str:
        tfds_data.DatasetRef.parse(dataset)
        return dataset

    @model_validator(mode="after")
    def _flip_needs_images(self) -> TFDSImageParams:
        if self.flip and self.net == "mlp":
            raise ValueError("flip applies to convolutional nets; the mlp flattens its input")
        return self


@tasks.register
class TFDSImage(Task):
    """Any TFDS image-classification dataset with any of the image networks, chosen by parameters.

    Example suite entry::

        [[tasks]]
        name = "tfds-image"
        params = { dataset = "svhn_cropped", net = "resnet18", target_accuracy = 0.93 }
        budget = { epochs = 30 }
    """

    name = "tfds-image"
    version = "1.0"
    description = "any TFDS image-classification dataset (params.dataset) with mlp, lenet5, vgg6b/8b/11b or resnet18 (params.net)"
    data_source = "tfds:<params.dataset>"
    Params = TFDSImageParams
    default_budget = MNIST_BUDGET
    target_accuracy = 0.9

    def __init__(self, params: Params | None = None) -> None:
        super().__init__(params)
        self.target_accuracy = self.params.target_accuracy  # per instance: it depends on the dataset

    def prepared_datasets(self) -> tuple[str, ...]:
        return (self.params.dataset,)

    @property
    def architecture(self) -> str:  # type: ignore[override]
        """The model family of ``params.net`` (see ``suite.api.Task.architecture``)."""
        return {"mlp": "mlp", "resnet18": "resnet"}.get(self.params.net, "cnn")

    def load_data(self) -> TaskData:
        p = self.params
        return tfds_data.image_classification(p.dataset, train_split=p.train_split, test_split=p.test_split)

    def build_network(self, data: TaskData) -> Network:
        p = self.params
        shape, classes = data.input_shape, data.num_classes
        if p.net == "mlp":
            return mlp(shape, classes, depth=5, width=256)
        if p.net == "lenet5":
            return lenet5(shape, classes, augment=flip_layer(p.flip))
        if p.net == "resnet18":
            return resnet18(shape, classes, augment=flip_layer(p.flip))
        return vgg(p.net, shape, classes, augment=flip_layer(p.flip))


@tasks.register
class DigitsLeNet5(Task):
    """LeNet-5 on scikit-learn's 8x8 digits upscaled to 28x28: the offline stand-in of ``mnist-lenet5``."""

    name = "digits-lenet5"
    version = "1.0"
    description = "LeNet-5 (as mnist-lenet5) on scikit-learn's 8x8 digits, bilinearly upscaled to 28x28 (1437 / 360)"
    data_source = "sklearn:load_digits (embedded)"
    Params = LeNet5Params
    default_budget = Budget(epochs=20, batch_size=128, optimizer="adam", learning_rate=5e-4)
    target_accuracy = 0.95
    architecture = "cnn"

    def load_data(self) -> TaskData:
        return resized(embedded.digits(), (28, 28))

    def build_network(self, data: TaskData) -> Network:
        return lenet5(data.input_shape, data.num_classes, activation=self.params.activation)
