"""Image-classification datasets from TensorFlow Datasets (TFDS), held in memory as numpy arrays.

Any TFDS dataset whose examples are a fixed-size image and a class label can be named, with an
optional config and version: ``mnist``, ``fashion_mnist``, ``cifar10``, ``cifar100``, ``svhn_cropped``,
``emnist/balanced``, ``cifar10:3.0.2``. For dataset NAME in data directory D (see
:mod:`tasks.datasets.options`), :func:`load_arrays` looks, in this order, for:

1. e2ebench's array cache ``D/e2ebench-arrays/NAME[/CONFIG]/VERSION/SPLIT.npz``: plain numpy files that
   need no TensorFlow, so a machine with Keras on JAX and no TensorFlow runs the same tasks;
2. a prepared TFDS dataset ``D/NAME[/CONFIG]/VERSION/`` (made by ``tfds build`` or an earlier download),
   read with tensorflow-datasets and then written to the array cache;
3. if downloading was asked for (``e2ebench run --download``), TFDS downloads and prepares it now,
   after checking within seconds that the download hosts can be reached (:mod:`tasks.datasets.network`);
   a failed download leaves no partial files in the data directory.

Otherwise it raises :class:`~suite.api.DataUnavailable` at once, with the exact preparation
instructions: without network access TFDS would retry a download for minutes. The check only looks at
files, and TensorFlow is imported only in steps 2 and 3.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import numpy as np

from suite.api import DataUnavailable, Split, TaskData
from tasks.datasets import network
from tasks.datasets.options import current, resolve_data_dir

ARRAYS_DIRNAME = "e2ebench-arrays"  # a hyphen: never the name of a TFDS dataset
READ_BATCH = 4096
FALLBACK_URL = "https://storage.googleapis.com/tfds-data/"  # TFDS's own data host, for builders that list no URLs
_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
_SPEC_RE = re.compile(r"^(?P<name>[a-z0-9_]+)(?:/(?P<config>[A-Za-z0-9_.\-]+))?(?::(?P<version>\d+\.\d+\.\d+))?$")

Normalization = Literal["standardize", "unit"]


@dataclasses.dataclass(frozen=True)
class DatasetRef:
    """A TFDS dataset named as ``name[/config][:version]``."""

    name: str
    config: str | None = None
    version: str | None = None

    @classmethod
    def parse(cls, spec: str) -> DatasetRef:
        """Parse ``name[/config][:version]``; raises ``ValueError`` with the expected form."""
        m = _SPEC_RE.match(spec.strip())
        if m is None:
            raise ValueError(f"dataset {spec!r}: expected a TFDS name like 'cifar10', 'emnist/balanced' or 'mnist:3.0.1'")
        return cls(m["name"], m["config"], m["version"])

    @property
    def spec(self) -> str:
        """The name as TFDS takes it (``name[/config][:version]``)."""
        return self.name + (f"/{self.config}" if self.config else "") + (f":{self.version}" if self.version else "")

    @property
    def parts(self) -> tuple[str, ...]:
        """Path components of the dataset's folder under a data directory."""
        return (self.name, self.config) if self.config else (self.name,)


@dataclasses.dataclass(frozen=True)
class ImageArrays:
    """Raw arrays of one dataset: images as stored (usually uint8, channels last) and int32 labels."""

    dataset: str
    version: str
    num_classes: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: Literal["arrays", "tfds"]


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))


def _dataset_folder(base: Path, ref: DatasetRef) -> Path | None:
    """The folder that holds ``ref``'s version folders under ``base``.

    Without a config, a dataset that has configs is found when exactly one config is present.
    """
    folder = base.joinpath(*ref.parts)
    if not folder.is_dir():
        return None
    children = [c for c in folder.iterdir() if c.is_dir()]
    if ref.config or any(_VERSION_RE.match(c.name) for c in children):
        return folder
    configs = [c for c in children if any(_VERSION_RE.match(g.name) for g in c.iterdir() if g.is_dir())]
    return configs[0] if len(configs) == 1 else None


def _versions(folder: Path | None, required: Sequence[str]) -> dict[str, Path]:
    """Version folders of ``folder`` (``X.Y.Z``) that contain every file in ``required``."""
    if folder is None:
        return {}
    return {
        c.name: c
        for c in folder.iterdir()
        if c.is_dir() and _VERSION_RE.match(c.name) and all((c / r).is_file() for r in required)
    }


def _pick(found: dict[str, Path], ref: DatasetRef) -> str | None:
    if ref.version is not None:
        return ref.version if ref.version in found else None
    return max(found, key=_version_key) if found else None


def split_filename(split: str) -> str:
    """The array-cache file name of a split (split expressions such as ``train[:90%]`` are escaped)."""
    return quote(split, safe="") + ".npz"


def array_cache_folder(root: Path, ref: DatasetRef) -> Path:
    """Where :func:`load_arrays` keeps ``ref``'s array caches under the data directory ``root``."""
    return root.joinpath(ARRAYS_DIRNAME, *ref.parts)


def prepared_versions(ref: DatasetRef, root: Path) -> dict[str, Path]:
    """Versions of ``ref`` prepared by TFDS under ``root`` (folders with a ``dataset_info.json``)."""
    return _versions(_dataset_folder(root, ref), ["dataset_info.json"])


def cached_versions(ref: DatasetRef, root: Path, splits: Sequence[str]) -> dict[str, Path]:
    """Versions of ``ref`` whose array caches of all ``splits`` exist under ``root``."""
    return _versions(_dataset_folder(root / ARRAYS_DIRNAME, ref), [split_filename(s) for s in splits])


def preparation_instructions(ref: DatasetRef, root: Path) -> str:
    """What to do when ``ref`` is not prepared in ``root``: the message of :class:`DataUnavailable`."""
    where = root.joinpath(*ref.parts)
    rel = "/".join(ref.parts)
    version = f" version {ref.version}" if ref.version else ""
    return (
        f"dataset '{ref.spec}'{version} is not prepared in {root} "
        f"(no {rel}/<version>/dataset_info.json, no {ARRAYS_DIRNAME}/{rel}/<version>/*.npz there). Prepare it once:\n"
        f"  - with network access:  tfds build {ref.spec} --data_dir {root}\n"
        f"  - or download it on first use:  e2ebench run SUITE --download --data-dir {root}\n"
        f"  - or copy a prepared folder from a machine that has it: ~/tensorflow_datasets/{rel} -> {where}\n"
        f"    (without TensorFlow only the arrays are needed: run `e2ebench data prepare {ref.spec}` there, then copy\n"
        f"     <its data dir>/{ARRAYS_DIRNAME}/{rel} -> {array_cache_folder(root, ref)})\n"
        "  - or point e2ebench at the folder that has it: --data-dir DIR, `[data] data_dir` in the suite file, or TFDS_DATA_DIR"
    )


def _read_cache(folder: Path, ref: DatasetRef, version: str, train_split: str, test_split: str) -> ImageArrays:
    parts = {}
    for key, split in (("train", train_split), ("test", test_split)):
        with np.load(folder / split_filename(split), allow_pickle=False) as f:
            parts[key] = (f["x"], f["y"].astype(np.int32), int(f["num_classes"]))
    return ImageArrays(ref.spec, version, parts["train"][2], parts["train"][0], parts["train"][1],
                       parts["test"][0], parts["test"][1], source="arrays")


def _write_cache(folder: Path, split: str, x: np.ndarray, y: np.ndarray, num_classes: int, ref: DatasetRef, version: str,
                 strict: bool = False) -> None:
    """Write one split's arrays atomically; unless ``strict``, a read-only data directory only costs a warning."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, x=x, y=y, num_classes=np.int64(num_classes), dataset=np.str_(ref.name), version=np.str_(version))
            os.replace(tmp, folder / split_filename(split))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        if strict:
            raise
        warnings.warn(f"could not write the array cache of {ref.spec} in {folder}: {exc}", stacklevel=3)


def save_arrays(arrays: ImageArrays, data_dir: str | os.PathLike[str] | None = None, train_split: str = "train",
                test_split: str = "test") -> Path:
    """Write ``arrays`` as the array cache of ``arrays.dataset`` (at ``arrays.version``) in the data
    directory, where :func:`load_arrays` finds them without TensorFlow; returns the version folder.

    Also a way to bring data from elsewhere: any uint8 image arrays saved under a TFDS-style name load
    like a TFDS dataset.
    """
    ref = DatasetRef.parse(arrays.dataset)
    if not _VERSION_RE.match(arrays.version):
        raise ValueError(f"version {arrays.version!r}: expected X.Y.Z")
    folder = array_cache_folder(resolve_data_dir(data_dir), ref) / arrays.version
    for split, x, y in ((train_split, arrays.x_train, arrays.y_train), (test_split, arrays.x_test, arrays.y_test)):
        _write_cache(folder, split, x, np.asarray(y, np.int32), arrays.num_classes, ref, arrays.version, strict=True)
    return folder


def _import_tfds():
    try:
        import tensorflow_datasets as tfds_lib
    except ImportError as exc:
        raise ImportError(f"tensorflow-datasets is not importable ({exc})") from exc
    return tfds_lib


def _read_tfds(ref: DatasetRef, root: Path, version_dir: Path | None, train_split: str, test_split: str) -> ImageArrays:
    """Read two splits with TFDS, from a prepared folder or after downloading and preparing."""
    if version_dir is None:
        _check_network(ref)
    try:
        tfds_lib = _import_tfds()
    except ImportError as exc:
        where = version_dir if version_dir is not None else root
        raise DataUnavailable(
            f"dataset '{ref.spec}' needs tensorflow-datasets to be read from {where}, but {exc}.\n"
            "Install it (pip install 'e2ebench[tf]'), or, on a machine that has it, run "
            f"`e2ebench data prepare {ref.spec} --data-dir DIR` and copy DIR/{ARRAYS_DIRNAME}/{'/'.join(ref.parts)} "
            f"to {array_cache_folder(root, ref)}: those arrays need no TensorFlow."
        ) from None
    try:
        if version_dir is not None:
            builder = tfds_lib.builder_from_directory(str(version_dir))
        else:
            builder = tfds_lib.builder(ref.spec, data_dir=str(root))
            _download(builder, root, ref)
    except DataUnavailable:
        raise
    except Exception as exc:  # unknown name, corrupt folder, a download that failed: skip the task, say why
        action = f"read {version_dir}" if version_dir is not None else f"download and prepare it in {root}"
        first = (str(exc).strip().splitlines() or [""])[0][:300]  # TFDS may append a list of every dataset
        raise DataUnavailable(f"dataset '{ref.spec}': TFDS could not {action}: {type(exc).__name__}: {first}") from exc
    info = builder.info
    keys = info.supervised_keys if isinstance(info.supervised_keys, tuple) and len(info.supervised_keys) == 2 else ("image", "label")
    image_key, label_key = keys
    features = info.features
    if image_key not in features or label_key not in features or not hasattr(features[label_key], "num_classes"):
        raise DataUnavailable(f"dataset '{ref.spec}' is not an image-classification dataset: its examples have no "
                              f"'{image_key}' image and '{label_key}' class label (features: {list(features.keys())})")
    shape = tuple(features[image_key].shape)
    if any(d is None for d in shape):
        raise DataUnavailable(f"dataset '{ref.spec}' has images of varying size {shape}; e2ebench holds datasets as fixed-size arrays")
    known = set(info.splits.keys()) if info.splits else set()
    for split in (train_split, test_split):
        if known and split.split("[")[0] not in known:
            raise DataUnavailable(f"dataset '{ref.spec}' has no split {split!r}; its splits are {sorted(known)}")
    version = str(info.version)
    arrays = {}
    for key, split in (("train", train_split), ("test", test_split)):
        ds = builder.as_dataset(split=split, shuffle_files=False)
        xs, ys = [], []
        for batch in tfds_lib.as_numpy(ds.batch(READ_BATCH)):
            xs.append(batch[image_key])
            ys.append(batch[label_key])
        x = np.concatenate(xs) if xs else np.zeros((0, *shape), np.uint8)
        y = (np.concatenate(ys) if ys else np.zeros((0,), np.int64)).astype(np.int32)
        arrays[key] = (x, y)
        _write_cache(array_cache_folder(root, ref) / version, split, x, y, features[label_key].num_classes, ref, version)
    return ImageArrays(ref.spec, version, int(features[label_key].num_classes), arrays["train"][0], arrays["train"][1],
                       arrays["test"][0], arrays["test"][1], source="tfds")


def download_urls(ref: DatasetRef) -> list[str]:
    """The URLs TFDS downloads ``ref`` from, read from the checksum files installed with tensorflow-datasets
    (without importing it, which takes seconds); TFDS's own data host when none lists the dataset."""
    spec = importlib.util.find_spec("tensorflow_datasets")
    package = Path(next(iter(spec.submodule_search_locations or ()), "")) if spec is not None else None
    urls: list[str] = []
    if package is not None and package.is_dir():
        files = [package / "url_checksums" / f"{ref.name}.txt", *package.glob(f"*/{ref.name}/checksums.tsv")]
        for path in files:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError:
                continue
            urls += [line.split("\t", 1)[0] for line in lines if line.startswith(("http://", "https://", "ftp://"))]
    return urls or [FALLBACK_URL]


def _check_network(ref: DatasetRef) -> None:
    """Fail within seconds, in one line, when the hosts of ``ref``'s download cannot be reached."""
    try:
        network.require_hosts(download_urls(ref), f"dataset '{ref.spec}'")
    except ConnectionError as exc:
        raise DataUnavailable(f"{exc}; nothing was downloaded (prepare it where there is a network, see docs/datasets.md)") from None


def _download(builder, root: Path, ref: DatasetRef) -> None:
    """Download and prepare, removing what a failed attempt left in the data directory (partial downloads,
    an incomplete dataset folder); what was there before is never touched."""
    watched = [root / "downloads", root.joinpath(*ref.parts)]
    before = {p for w in watched for p in _tree(w)}
    created = [d for d in (root, *watched) if not d.exists()]
    try:
        builder.download_and_prepare()
    except BaseException:
        for path in sorted((p for w in watched for p in _tree(w) if p not in before), key=lambda p: len(p.parts), reverse=True):
            _remove(path)
        for d in reversed(created):  # folders this attempt made, once empty
            try:
                d.rmdir()
            except OSError:
                pass
        raise


def _tree(folder: Path) -> list[Path]:
    """``folder`` and everything under it (nothing if it does not exist)."""
    if not folder.exists():
        return []
    out = [folder]
    for dirpath, dirnames, filenames in os.walk(folder):
        out += [Path(dirpath, n) for n in (*dirnames, *filenames)]
    return out


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            path.rmdir()  # deepest first: its new contents are gone already
        else:
            path.unlink()
    except OSError:
        pass


def load_arrays(
    dataset: str,
    *,
    train_split: str = "train",
    test_split: str = "test",
    data_dir: str | os.PathLike[str] | None = None,
    download: bool | None = None,
) -> ImageArrays:
    """The raw arrays of two splits of a TFDS image-classification dataset.

    Args:
        dataset: ``name[/config][:version]``; without a version, the newest one present is used.
        train_split, test_split: TFDS split names or expressions (``train[:90%]``).
        data_dir: the data directory (default: see :func:`tasks.datasets.options.resolve_data_dir`).
        download: allow downloading and preparing (default: the configured option, ``--download``).

    Raises:
        DataUnavailable: the data is not prepared (and downloading was not asked for), or cannot be
            read on this machine; the message says how to prepare it.
    """
    ref = DatasetRef.parse(dataset)
    root = resolve_data_dir(data_dir)
    download = current().download if download is None else download
    splits = (train_split, test_split)
    cached = cached_versions(ref, root, splits)
    prepared = prepared_versions(ref, root)
    best = _pick({**cached, **prepared}, ref)
    if best is not None and best in cached:
        return _read_cache(cached[best], ref, best, train_split, test_split)
    if best is not None:
        return _read_tfds(ref, root, prepared[best], train_split, test_split)
    if not download:
        raise DataUnavailable(preparation_instructions(ref, root))
    return _read_tfds(ref, root, None, train_split, test_split)


def channel_stats(x: np.ndarray, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of ``x / 255`` (float64, accumulated in chunks)."""
    channels = x.shape[-1]
    total = np.zeros(channels)
    squares = np.zeros(channels)
    count = 0
    for i in range(0, len(x), chunk):
        part = x[i : i + chunk].reshape(-1, channels).astype(np.float64) / 255.0
        total += part.sum(axis=0)
        squares += np.square(part).sum(axis=0)
        count += part.shape[0]
    mean = total / max(count, 1)
    std = np.sqrt(np.maximum(squares / max(count, 1) - mean**2, 0.0))
    return mean, np.maximum(std, 1e-6)


def _scaled(x: np.ndarray, mean: np.ndarray, std: np.ndarray, chunk: int = 8192) -> np.ndarray:
    out = np.empty(x.shape, np.float32)
    m, s = mean.astype(np.float32), std.astype(np.float32)
    for i in range(0, len(x), chunk):
        out[i : i + chunk] = (x[i : i + chunk].astype(np.float32) / np.float32(255.0) - m) / s
    return out


def to_task_data(arrays: ImageArrays, normalization: Normalization = "standardize") -> TaskData:
    """Float32 task data from raw arrays.

    ``standardize`` scales pixels to [0, 1], then subtracts the training split's per-channel mean and
    divides by its per-channel standard deviation (the same numbers for both splits); ``unit`` only
    scales to [0, 1].
    """
    if normalization == "standardize":
        mean, std = channel_stats(arrays.x_train)
    elif normalization == "unit":
        channels = arrays.x_train.shape[-1]
        mean, std = np.zeros(channels), np.ones(channels)
    else:
        raise ValueError(f"unknown normalization {normalization!r}; expected 'standardize' or 'unit'")
    return TaskData(
        train=Split(_scaled(arrays.x_train, mean, std), arrays.y_train),
        test=Split(_scaled(arrays.x_test, mean, std), arrays.y_test),
        num_classes=arrays.num_classes,
    )


def image_classification(
    dataset: str,
    *,
    train_split: str = "train",
    test_split: str = "test",
    normalization: Normalization = "standardize",
    data_dir: str | os.PathLike[str] | None = None,
    download: bool | None = None,
) -> TaskData:
    """A TFDS image-classification dataset as task data (see :func:`load_arrays` and :func:`to_task_data`)."""
    arrays = load_arrays(dataset, train_split=train_split, test_split=test_split, data_dir=data_dir, download=download)
    return to_task_data(arrays, normalization)


def describe(dataset: str, data_dir: str | os.PathLike[str] | None = None, splits: Sequence[str] = ("train", "test")) -> str:
    """One line saying what is prepared for ``dataset`` under the data directory."""
    ref = DatasetRef.parse(dataset)
    root = resolve_data_dir(data_dir)
    prepared = sorted(prepared_versions(ref, root), key=_version_key)
    cached = sorted(cached_versions(ref, root, splits), key=_version_key)
    if not prepared and not cached:
        return f"{ref.spec}: not prepared in {root}"
    parts = []
    if prepared:
        parts.append(f"TFDS {', '.join(prepared)}")
    if cached:
        parts.append(f"arrays {', '.join(cached)}")
    return f"{ref.spec}: {'; '.join(parts)} in {root}"
