"""TFDS image datasets: fail fast with instructions, load through TFDS (mock data and a dataset built
here), cache as arrays that need no TensorFlow. Never the network."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from suite.api import DataUnavailable
from tasks.datasets import tfds as tfds_data
from tasks.datasets.options import current, data_options, resolve_data_dir
from tasks.image import Cifar10VGG8b, MnistLeNet5

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_NAME = "e2ebench_test_images"
TINY_TRAIN, TINY_TEST, TINY_CLASSES = 30, 12, 3


def tiny_pixel(label: int) -> int:
    """Every pixel of a tiny-dataset image encodes its label, so image/label pairing can be checked."""
    return 40 * label + 5


@pytest.fixture(autouse=True)
def _restore_data_options():
    """Commands run in-process configure the data options; give every test the ones it started with."""
    before = current()
    with data_options(data_dir=before.data_dir, download=before.download):
        yield


@pytest.fixture
def network_up(monkeypatch):
    """The download hosts count as reachable (for TFDS's mock data, which downloads nothing); nothing is sent."""
    from tasks.datasets import network

    monkeypatch.setattr(network, "unreachable", lambda hosts, timeout=network.CONNECT_TIMEOUT: {})


@pytest.fixture(scope="module")
def tiny_data_dir(tmp_path_factory):
    """A small TFDS image dataset built here, from generated examples, into a fresh data directory."""
    tfds = pytest.importorskip("tensorflow_datasets")

    with tfds.core.registered.skip_registration():

        class E2ebenchTestImages(tfds.core.GeneratorBasedBuilder):
            VERSION = tfds.core.Version("1.0.0")

            def _info(self):
                return tfds.core.DatasetInfo(
                    builder=self,
                    features=tfds.features.FeaturesDict({
                        "image": tfds.features.Image(shape=(8, 8, 3)),
                        "label": tfds.features.ClassLabel(num_classes=TINY_CLASSES),
                    }),
                    supervised_keys=("image", "label"),
                )

            def _split_generators(self, dl_manager):
                return {"train": self._generate_examples(TINY_TRAIN, "tr"), "test": self._generate_examples(TINY_TEST, "te")}

            def _generate_examples(self, n, prefix):
                for i in range(n):
                    label = i % TINY_CLASSES
                    image = np.full((8, 8, 3), tiny_pixel(label), np.uint8)
                    image[0, 0, 0] = i  # distinct examples
                    yield f"{prefix}{i}", {"image": image, "label": label}

    root = tmp_path_factory.mktemp("tfds")
    builder = E2ebenchTestImages(data_dir=str(root))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    return root


def test_a_missing_dataset_fails_within_seconds_with_the_preparation_instructions(tmp_path):
    with data_options(data_dir=tmp_path):
        start = time.perf_counter()
        with pytest.raises(DataUnavailable) as exc:
            MnistLeNet5().load_data()
        elapsed = time.perf_counter() - start
    message = str(exc.value)
    assert elapsed < 10, f"took {elapsed:.1f}s"
    assert f"tfds build mnist --data_dir {tmp_path}" in message
    assert "--download" in message and "copy" in message
    assert str(tmp_path / "mnist") in message


def test_the_data_directory_comes_from_the_option_then_tfds_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "from-env"))
    with data_options(data_dir=None):
        assert resolve_data_dir() == tmp_path / "from-env"
    with data_options(data_dir=tmp_path / "configured"):
        assert resolve_data_dir() == tmp_path / "configured"
        assert os.environ["E2EBENCH_DATA_DIR"] == str(tmp_path / "configured")  # seen by --jobs workers
        assert resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert current().data_dir is None and "E2EBENCH_DATA_DIR" not in os.environ


def test_dataset_names_are_checked():
    assert tfds_data.DatasetRef.parse("emnist/balanced:3.1.0") == tfds_data.DatasetRef("emnist", "balanced", "3.1.0")
    with pytest.raises(ValueError, match="expected a TFDS name"):
        tfds_data.DatasetRef.parse("CIFAR 10")


def test_mock_data_goes_through_the_tfds_loading_code_and_is_cached(tmp_path, network_up):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=24):
        arrays = tfds_data.load_arrays("mnist", data_dir=tmp_path, download=True)
    assert arrays.source == "tfds"
    assert arrays.x_train.shape == (24, 28, 28, 1) and arrays.x_train.dtype == np.uint8
    assert arrays.num_classes == 10 and arrays.y_train.dtype == np.int32
    cache = tmp_path / "e2ebench-arrays" / "mnist" / arrays.version
    assert (cache / "train.npz").is_file() and (cache / "test.npz").is_file()

    again = tfds_data.load_arrays("mnist", data_dir=tmp_path)  # no mock, no download: from the cache
    assert again.source == "arrays" and again.version == arrays.version
    np.testing.assert_array_equal(again.x_train, arrays.x_train)
    np.testing.assert_array_equal(again.y_test, arrays.y_test)


def test_an_image_task_runs_through_the_harness_on_mock_cifar10(tmp_path, network_up):
    tfds = pytest.importorskip("tensorflow_datasets")
    from conftest import make_suite
    from suite.plan import plan
    from suite.records import SuiteRef
    from suite.runner import run_cell

    suite = make_suite('[[tasks]]\nname = "cifar10-vgg8b"\nparams = { width_multiplier = 0.02 }\nbudget = { epochs = 1, batch_size = 20 }\n'
                       '[[regimes]]\nname = "e2e"', probe="probe_size = 20")
    (cell,) = plan(suite)
    with tfds.testing.mock_data(num_examples=40), data_options(data_dir=tmp_path, download=True):
        data = Cifar10VGG8b(cell.task.params).load_data()
    assert data.input_shape == (32, 32, 3) and data.num_classes == 10
    assert abs(float(data.train.x.mean())) < 0.05 and abs(float(data.train.x.std()) - 1) < 0.05  # standardized
    record = run_cell(cell, SuiteRef(name="t", version="1.0", sha256="0"), data)
    assert record.status == "ok", record.error
    assert len(record.history[-1].probe["nhsic_x"]) == 7  # six convolutions and fc1


def test_a_locally_built_dataset_loads_with_labels_matching_images(tiny_data_dir):
    arrays = tfds_data.load_arrays(TINY_NAME, data_dir=tiny_data_dir)
    assert arrays.source == "tfds" and arrays.version == "1.0.0" and arrays.num_classes == TINY_CLASSES
    assert arrays.x_train.shape == (TINY_TRAIN, 8, 8, 3) and arrays.x_test.shape == (TINY_TEST, 8, 8, 3)
    for x, y in ((arrays.x_train, arrays.y_train), (arrays.x_test, arrays.y_test)):
        np.testing.assert_array_equal(x[:, 4, 4, 1], [tiny_pixel(int(label)) for label in y])
    assert sorted(np.bincount(arrays.y_train)) == [TINY_TRAIN // TINY_CLASSES] * TINY_CLASSES

    data = tfds_data.to_task_data(arrays)
    np.testing.assert_allclose(data.train.x.reshape(-1, 3).mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(data.train.x.reshape(-1, 3).std(axis=0), 1.0, atol=1e-3)
    assert data.train.x.dtype == np.float32

    cached = tfds_data.load_arrays(f"{TINY_NAME}:1.0.0", data_dir=tiny_data_dir)
    assert cached.source == "arrays"
    np.testing.assert_array_equal(cached.x_train, arrays.x_train)
    with pytest.raises(DataUnavailable, match="version 2.0.0"):
        tfds_data.load_arrays(f"{TINY_NAME}:2.0.0", data_dir=tiny_data_dir)


def test_a_dataset_tfds_cannot_prepare_is_skipped_with_the_reason(tmp_path, network_up):
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(DataUnavailable, match="TFDS could not download and prepare it .*DatasetNotFoundError"):
        tfds_data.load_arrays("cifar11", data_dir=tmp_path, download=True)


def test_an_unknown_split_is_reported_with_the_known_ones(tiny_data_dir):
    with pytest.raises(DataUnavailable, match=r"no split 'validation'.*\['test', 'train'\]"):
        tfds_data.load_arrays(TINY_NAME, data_dir=tiny_data_dir, test_split="validation")


def test_the_array_cache_is_read_without_tensorflow(tmp_path):
    rng = np.random.default_rng(0)
    arrays = tfds_data.ImageArrays("mnist", "3.0.1", 10, rng.integers(0, 255, (40, 28, 28, 1), dtype=np.uint8),
                                   np.arange(40) % 10, rng.integers(0, 255, (20, 28, 28, 1), dtype=np.uint8),
                                   np.arange(20) % 10, source="arrays")
    tfds_data.save_arrays(arrays, tmp_path)
    script = textwrap.dedent(f"""
        import sys
        sys.modules["tensorflow"] = None  # any import of TensorFlow now fails
        sys.modules["tensorflow_datasets"] = None
        from suite.spec import parse_suite
        from tasks.datasets.options import configure
        from tasks.image import MnistLeNet5
        configure(data_dir={str(tmp_path)!r})
        data = MnistLeNet5().load_data()
        net = MnistLeNet5().build_network(data)
        scores = net.composed().predict(data.test.x, verbose=0)
        print(data.train.x.shape, scores.shape, net.block_names)
    """)
    env = dict(os.environ, KERAS_BACKEND="numpy", PYTHONPATH=REPO)
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(40, 28, 28, 1) (20, 10) ['conv1', 'conv2', 'fc1', 'fc2']" in result.stdout


def test_data_prepare_writes_the_arrays_and_status_reports_them(tmp_path, network_up):
    tfds = pytest.importorskip("tensorflow_datasets")
    from suite.cli import app

    runner = CliRunner()
    with tfds.testing.mock_data(num_examples=12):
        result = runner.invoke(app, ["data", "prepare", "fashion_mnist", "--data-dir", str(tmp_path), "--download"])
    assert result.exit_code == 0, result.output
    assert "12 train / 12 test images of shape (28, 28, 1), 10 classes" in result.output
    assert "fashion_mnist: arrays" in result.output

    suite = tmp_path / "s.toml"
    suite.write_text('[suite]\nname = "s"\nversion = "1.0"\nseeds = [0]\n[[tasks]]\nname = "fashion_mnist-mlp"\n'
                     '[[tasks]]\nname = "mnist-mlp"\n[[regimes]]\nname = "e2e"\n')
    result = runner.invoke(app, ["data", "status", str(suite), "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "fashion_mnist: arrays 3.0.1" in result.output and "mnist: not prepared" in result.output


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install -e '.[jax]')")
def test_an_image_task_trains_on_jax_from_the_array_cache_without_tensorflow(tmp_path):
    from sklearn.datasets import load_digits

    from tasks.datasets.resize import resize_images

    digits = load_digits()
    x = (resize_images(digits.images[..., None] / 16.0, (28, 28)) * 255).astype(np.uint8)
    y = digits.target
    arrays = tfds_data.ImageArrays("mnist", "3.0.1", 10, x[:1400], y[:1400], x[1400:], y[1400:], source="arrays")
    tfds_data.save_arrays(arrays, tmp_path / "data")
    suite = tmp_path / "suite.toml"
    suite.write_text('[suite]\nname = "jax"\nversion = "1.0"\nseeds = [0]\n[[tasks]]\nname = "mnist-lenet5"\n'
                     'budget = { epochs = 3, learning_rate = 0.003 }\n[[regimes]]\nname = "e2e"\n'
                     '[metrics.probe]\nprobe_size = 100\n')
    script = ("import sys; sys.modules['tensorflow'] = None; sys.modules['tensorflow_datasets'] = None; "
              "from suite.cli import main; sys.exit(main())")
    args = ["run", str(suite), "--results", str(tmp_path / "r"), "--data-dir", str(tmp_path / "data"), "--no-progress"]
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", PYTHONPATH=REPO)
    result = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in (tmp_path / "r" / "records").glob("*.json")]
    (record,) = records
    assert record["status"] == "ok" and record["provenance"]["backend"] == "jax"
    assert record["summary"]["test_accuracy"] > 0.5  # chance is about 0.1
    assert len(record["history"][-1]["probe"]["nhsic_x"]) == 4


def _no_network(monkeypatch, *, hang: bool = False):
    """Every connection attempt fails at once (no route) or, with ``hang``, never answers; nothing is sent."""
    import socket

    from tasks.datasets import network

    def connect(address, timeout=None, *args, **kwargs):
        if hang:
            time.sleep(60)
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(network.socket, "create_connection", connect)
    monkeypatch.setattr(socket, "create_connection", connect)  # anything else that would try, too


@pytest.mark.parametrize("hang", [False, True], ids=["unreachable", "no-answer"])
def test_a_download_without_network_fails_within_seconds_in_one_line_and_leaves_nothing(tmp_path, monkeypatch, hang):
    _no_network(monkeypatch, hang=hang)
    data_dir = tmp_path / "data"
    start = time.monotonic()
    with pytest.raises(DataUnavailable) as info:
        tfds_data.load_arrays("mnist", data_dir=data_dir, download=True)
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert "\n" not in message and "no network" in message and "mnist" in message
    assert ("no answer within" in message) if hang else ("Network is unreachable" in message)
    assert not data_dir.exists()  # no partial download, no incomplete folder


def test_data_prepare_without_network_says_so_in_one_line(tmp_path, monkeypatch):
    _no_network(monkeypatch)
    from suite.cli import app

    result = CliRunner().invoke(app, ["data", "prepare", "mnist", "--download", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("mnist: dataset 'mnist': no network: cannot reach"), result.output
    assert list(tmp_path.iterdir()) == []


def test_the_download_hosts_are_read_from_the_installed_checksums():
    if importlib.util.find_spec("tensorflow_datasets") is None:
        assert tfds_data.download_urls(tfds_data.DatasetRef.parse("mnist")) == [tfds_data.FALLBACK_URL]
        return
    urls = tfds_data.download_urls(tfds_data.DatasetRef.parse("mnist"))
    assert urls and all(u.startswith("https://") for u in urls)
    assert tfds_data.download_urls(tfds_data.DatasetRef.parse("no_such_dataset_xyz")) == [tfds_data.FALLBACK_URL]


def test_a_proxy_is_what_is_checked_when_one_is_set(monkeypatch):
    from tasks.datasets import network

    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert network.endpoints(["https://storage.googleapis.com/a", "https://storage.googleapis.com/b"]) == [("proxy.invalid", 3128)]


def test_a_failed_download_removes_what_it_wrote_and_keeps_what_was_there(tmp_path):
    root = tmp_path / "data"
    (root / "downloads").mkdir(parents=True)
    (root / "downloads" / "other.zip").write_bytes(b"kept")
    ref = tfds_data.DatasetRef.parse("mnist")

    class Interrupted:
        def download_and_prepare(self):
            (root / "downloads" / "mnist").mkdir()
            (root / "downloads" / "mnist" / "train.gz.tmp.1").write_bytes(b"partial")
            (root / "mnist" / "incomplete.X_3.0.1").mkdir(parents=True)
            raise ConnectionResetError("connection dropped")

    with pytest.raises(ConnectionResetError):
        tfds_data._download(Interrupted(), root, ref)
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == ["downloads", "downloads/other.zip"]
