"""The source papers' networks as block lists: names, shapes, parameter counts; tiny variants train."""

from __future__ import annotations

import numpy as np
import pytest

import keras
from regimes.parts import local_heads_model
from suite import backend
from suite.api import Split, TaskData
from tasks.image import Cifar10ResNet18, Cifar10VGG8b, Cifar100ResNet18, DigitsLeNet5, FashionMnistMLP, MnistLeNet5, MnistMLP, TFDSImage
from tasks.models.lenet5 import lenet5
from tasks.models.resnet import resnet, resnet18
from tasks.models.vgg import VGG_CONFIGS, vgg


def trainable_params(network) -> int:
    return int(sum(np.prod(w.shape) for w in network.composed().trainable_weights))


def fake_data(shape: tuple[int, ...], classes: int, n: int = 8) -> TaskData:
    x = np.zeros((n, *shape), np.float32)
    y = np.arange(n) % classes
    return TaskData(Split(x, y), Split(x, y), classes)


def test_lenet5_has_four_blocks_and_the_classic_61706_parameters():
    net = lenet5((28, 28, 1), 10)
    assert net.block_names == ["conv1", "conv2", "fc1", "fc2"]
    assert net.block_output_shapes == [(14, 14, 6), (5, 5, 16), (120,), (84,)]
    assert net.count_params() == 61_706


@pytest.mark.parametrize("config, convs", [("vgg6b", 4), ("vgg8b", 6), ("vgg11b", 9)])
def test_vgg_blocks_follow_the_local_learning_configurations(config, convs):
    net = vgg(config, (32, 32, 3), 10)
    assert net.block_names == [f"conv{i + 1}" for i in range(convs)] + ["fc1"]
    pools = VGG_CONFIGS[config].count("M")
    assert net.block_output_shapes[-2] == (32 >> pools, 32 >> pools, 512)
    assert net.block_output_shapes[-1] == (1024,)
    assert convs + 2 == int(config[3:-1])  # the name counts the weight layers: convolutions, fc1, head


def test_vgg8b_has_8_9_million_parameters_on_cifar10():
    net = vgg("vgg8b", (32, 32, 3), 10)
    assert net.block_output_shapes[:3] == [(32, 32, 128), (16, 16, 256), (16, 16, 256)]
    assert abs(trainable_params(net) / 8.9e6 - 1) < 0.005  # Nøkland & Eidnes (2019) report 8.9M


def test_resnet18_cifar_has_nine_blocks_and_11_2_million_parameters():
    net = resnet18((32, 32, 3), 10)
    assert net.block_names == ["stem", "res1a", "res1b", "res2a", "res2b", "res3a", "res3b", "res4a", "res4b"]
    assert net.block_output_shapes == [(32, 32, 64)] * 3 + [(16, 16, 128)] * 2 + [(8, 8, 256)] * 2 + [(4, 4, 512)] * 2
    assert trainable_params(net) == 11_173_962  # the usual count of CIFAR ResNet-18, 10 classes
    assert trainable_params(resnet18((32, 32, 3), 100)) == 11_220_132


def test_every_image_task_builds_its_network_from_data_of_its_dataset_shape():
    cases = [
        (MnistMLP(), (28, 28, 1), 10, 5, False),
        (FashionMnistMLP(), (28, 28, 1), 10, 5, False),
        (MnistLeNet5(), (28, 28, 1), 10, 4, False),
        (DigitsLeNet5(), (28, 28, 1), 10, 4, False),
        (Cifar10VGG8b(Cifar10VGG8b.Params(width_multiplier=0.05)), (32, 32, 3), 10, 7, True),
        (Cifar10ResNet18(Cifar10ResNet18.Params(width=4)), (32, 32, 3), 10, 9, True),
        (Cifar100ResNet18(Cifar100ResNet18.Params(width=4)), (32, 32, 3), 100, 9, True),
        (TFDSImage(TFDSImage.Params(dataset="svhn_cropped", net="vgg6b", flip=False)), (32, 32, 3), 10, 5, False),
    ]
    for task, shape, classes, blocks, flips in cases:
        net = task.build_network(fake_data(shape, classes))
        assert len(net.blocks) == blocks, task.name
        assert net.composed().output.shape[-1] == classes
        has_flip = any(isinstance(layer, keras.layers.RandomFlip) for layer in net.composed().layers)
        assert has_flip == flips, task.name
        assert task.default_budget.batch_size == 128 or task.name == "tfds-image"


def test_tfds_image_checks_its_params():
    with pytest.raises(ValueError, match="flip applies to convolutional nets"):
        TFDSImage.Params(net="mlp", flip=True)
    with pytest.raises(ValueError, match="expected a TFDS name"):
        TFDSImage.Params(dataset="Not A Name")
    assert TFDSImage(TFDSImage.Params(target_accuracy=0.5)).target_accuracy == 0.5
    assert TFDSImage(TFDSImage.Params(net="resnet18")).architecture == "resnet"


def separable_images(n: int, size: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two classes told apart by which colour channel is brighter (a horizontal flip keeps the class)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 0.5, (n, size, size, 3)).astype(np.float32)
    x[..., 0] += np.where(y == 0, 1.0, -1.0)[:, None, None]
    return x, y


def test_a_tiny_resnet_learns_with_local_heads_and_a_tiny_vgg_end_to_end():
    flip = lambda: keras.layers.RandomFlip("horizontal")  # noqa: E731
    cases = [  # (name, input size, builder, trained with local heads and stop-gradients?)
        ("resnet", 8, lambda: resnet((8, 8, 3), 2, blocks_per_stage=(1, 1, 1, 1), width=4, augment=flip()), True),
        ("vgg6b", 16, lambda: vgg("vgg6b", (16, 16, 3), 2, dropout=0.1, width_multiplier=1 / 32, augment=flip()), False),
    ]
    loss = lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True)  # noqa: E731
    for name, size, build, local in cases:
        x, y = separable_images(256, size)
        xt, yt = separable_images(128, size, seed=1)
        backend.seed_everything(0)
        net = build()
        if local:
            model, names = local_heads_model(net)
            model.compile(optimizer=keras.optimizers.Adam(3e-3), loss={n: loss() for n in names})
            model.fit(x, {n: y for n in names}, batch_size=32, epochs=3, verbose=0)
        else:
            model = net.composed()
            model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=loss())
            model.fit(x, y, batch_size=32, epochs=3, verbose=0)
        scores = net.composed().predict(xt, verbose=0)
        np.testing.assert_array_equal(scores, net.composed().predict(xt, verbose=0))  # no flips at inference
        accuracy = float(np.mean(scores.argmax(-1) == yt))
        assert accuracy > 0.8, f"{name}: {accuracy:.2f}"


def test_the_sakamoto_mlp_block_is_dense_batchnorm_relu_dropout():
    from tasks.models.mlp import mlp

    net = mlp((8, 8, 1), 10, depth=2, width=16, block="dense-bn-relu-dropout")
    kinds = [[type(layer).__name__ for layer in block.layers] for block in net.blocks]
    assert kinds == [["Flatten", "Dense", "BatchNormalization", "ReLU", "Dropout"], ["Dense", "BatchNormalization", "ReLU", "Dropout"]]
    assert net.blocks[0].layers[-1].rate == 0.2 and not net.blocks[0].layers[1].use_bias
    assert net.block_output_shapes == [(16,), (16,)]


@pytest.mark.parametrize("task", ["digits-mlp", "mnist-mlp", "fashion_mnist-mlp", "mnist5k-mlp"])
def test_every_mlp_task_takes_the_block_as_a_param_and_keeps_its_default(task):
    from suite.registry import tasks

    cls = tasks.get(task)
    default, sakamoto = cls.Params(), cls.Params(block="dense-bn-relu-dropout")
    assert default.block == "dense-relu"
    # the block enters the params' plain data (a cell's hash) only when it is not the default, so the
    # records made before it existed keep their hashes
    assert "block" not in default.model_dump(mode="json")
    assert sakamoto.model_dump(mode="json")["block"] == "dense-bn-relu-dropout"
    net = cls(sakamoto).build_network(fake_data((8, 8, 1), 10))
    assert any(type(layer).__name__ == "BatchNormalization" for layer in net.blocks[0].layers)


def test_the_reproduction_suites_use_the_sakamoto_mlp_block():
    from suite.spec import load_suite

    for name in ("sakamoto2024", "sakamoto2024-smoke"):
        mlps = [t for t in load_suite(name).tasks if t.cls.architecture == "mlp"]
        assert mlps and all(t.params.block == "dense-bn-relu-dropout" for t in mlps), name
