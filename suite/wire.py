"""Messages from an isolated worker to the harness: a JSON header and numpy arrays, never pickle.

The worker runs untrusted regime code, so nothing it sends may execute code when read: the header is
JSON (an object, bounded in size) and the arrays are an ``.npz`` archive read with
``allow_pickle=False``. Messages from the harness to the worker are trusted and may be pickled.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

MAX_HEADER_BYTES = 1 << 20  # 1 MiB of JSON: notes, predictor configs, errors
MAX_MESSAGE_BYTES = 1 << 32  # 4 GiB: the weights of the largest shipped network fit many times over
_LENGTH = struct.Struct("<Q")


class WireError(ValueError):
    """A message that is not a well-formed header plus arrays; ``str()`` says what is wrong."""


def encode(header: dict[str, Any], arrays: Sequence[np.ndarray] = ()) -> bytes:
    """One message: the length of the JSON header, the header, then the arrays as ``.npz``."""
    head = json.dumps(header, allow_nan=False).encode()
    if len(head) > MAX_HEADER_BYTES:
        raise WireError(f"message header of {len(head)} bytes exceeds {MAX_HEADER_BYTES}")
    buf = io.BytesIO()
    np.savez(buf, *[np.asarray(a) for a in arrays])
    return _LENGTH.pack(len(head)) + head + buf.getvalue()


def decode(data: bytes) -> tuple[dict[str, Any], list[np.ndarray]]:
    """The header and arrays of a message from :func:`encode`; raises :class:`WireError` otherwise."""
    if len(data) < _LENGTH.size:
        raise WireError("message shorter than its length prefix")
    (n,) = _LENGTH.unpack_from(data)
    if n > MAX_HEADER_BYTES or _LENGTH.size + n > len(data):
        raise WireError(f"message header length {n} is out of bounds")
    try:
        header = json.loads(data[_LENGTH.size : _LENGTH.size + n])
    except (ValueError, RecursionError) as exc:
        raise WireError(f"message header is not JSON: {str(exc)[:200]}") from exc
    if not isinstance(header, dict):
        raise WireError(f"message header is a JSON {type(header).__name__}, not an object")
    try:
        with np.load(io.BytesIO(data[_LENGTH.size + n :]), allow_pickle=False) as archive:
            arrays = [archive[f"arr_{i}"] for i in range(len(archive.files))]
    except Exception as exc:  # a malformed archive is the sender's fault, whatever numpy raises
        raise WireError(f"message arrays are not a plain .npz archive: {type(exc).__name__}: {str(exc)[:200]}") from exc
    if any(a.dtype.kind not in "biuf" for a in arrays):
        raise WireError("message arrays must be numeric")
    return header, arrays
