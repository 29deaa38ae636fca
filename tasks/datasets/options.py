"""Where prepared datasets live and whether they may be downloaded: one small settings object per process.

The command line sets it from ``e2ebench run --data-dir DIR --download`` and the suite file's
``[data] data_dir``; Python users call :func:`configure` (or use :func:`data_options` for a block of
code). Tasks never receive it as a parameter, so it never enters a cell's hash: the same data read
from another directory gives the same cell.

The data directory is, in order of precedence: an explicit argument, the configured ``data_dir``,
the ``TFDS_DATA_DIR`` environment variable, then ``~/tensorflow_datasets`` (TFDS' own default).

The options live in the environment variables ``E2EBENCH_DATA_DIR`` and ``E2EBENCH_DOWNLOAD`` too
(:func:`configure` writes them), so worker processes started by ``e2ebench run --jobs N`` see the same.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

DEFAULT_DATA_DIR = Path("~/tensorflow_datasets")
DATA_DIR_ENV = "E2EBENCH_DATA_DIR"
DOWNLOAD_ENV = "E2EBENCH_DOWNLOAD"


@dataclasses.dataclass(frozen=True)
class DataOptions:
    """How tasks find their data.

    Args:
        data_dir: directory of prepared TFDS datasets (and of e2ebench's array caches); ``None`` means
            ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``.
        download: whether a dataset that is not prepared may be downloaded and prepared now.
    """

    data_dir: str | None = None
    download: bool = False


def _from_environment() -> DataOptions:
    return DataOptions(data_dir=os.environ.get(DATA_DIR_ENV) or None,
                       download=os.environ.get(DOWNLOAD_ENV, "").lower() in ("1", "true", "yes"))


_current = _from_environment()


def current() -> DataOptions:
    """The options in force."""
    return _current


def configure(*, data_dir: str | os.PathLike[str] | None = None, download: bool = False) -> DataOptions:
    """Replace the options in force (``data_dir=None`` falls back to ``TFDS_DATA_DIR``); returns them."""
    _restore(DataOptions(data_dir=None if data_dir is None else str(data_dir), download=bool(download)))
    return _current


@contextlib.contextmanager
def data_options(*, data_dir: str | os.PathLike[str] | None = None, download: bool = False) -> Iterator[DataOptions]:
    """Use other options inside a ``with`` block, then restore the previous ones."""
    previous = _current
    try:
        yield configure(data_dir=data_dir, download=download)
    finally:
        _restore(previous)


def _restore(options: DataOptions) -> None:
    global _current
    _current = options
    if options.data_dir is None:
        os.environ.pop(DATA_DIR_ENV, None)
    else:
        os.environ[DATA_DIR_ENV] = options.data_dir
    if options.download:
        os.environ[DOWNLOAD_ENV] = "1"
    else:
        os.environ.pop(DOWNLOAD_ENV, None)


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The data directory to use: ``data_dir`` if given, else the configured one, else
    ``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``; ``~`` and ``$VARS`` expanded, made absolute and normalized."""
    chosen = data_dir if data_dir is not None else _current.data_dir
    if chosen is None:
        chosen = os.environ.get("TFDS_DATA_DIR") or str(DEFAULT_DATA_DIR)
    return Path(os.path.abspath(os.path.expanduser(os.path.expandvars(os.fspath(chosen)))))
