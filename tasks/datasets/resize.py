"""Resizing small image datasets (numpy, no backend), e.g. the 8x8 digits to LeNet-5's 28x28."""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.ndimage import zoom

from suite.api import Split, TaskData


def resize_images(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a batch of channels-last images ``(n, h, w, c)`` to ``(n, *size, c)``, float32."""
    n, h, w, c = x.shape
    out = zoom(x.astype(np.float32), (1, size[0] / h, size[1] / w, 1), order=1, mode="nearest", grid_mode=True)
    if out.shape[1:3] != tuple(size):  # zoom rounds the output size; never off by more than one pixel
        out = out[:, : size[0], : size[1]]
    return np.ascontiguousarray(out, dtype=np.float32)


def resized(data: TaskData, size: tuple[int, int]) -> TaskData:
    """``data`` with both splits' images resized to ``size`` (labels and module targets unchanged)."""
    return dataclasses.replace(
        data,
        train=Split(resize_images(data.train.x, size), data.train.y),
        test=Split(resize_images(data.test.x, size), data.test.y),
    )
