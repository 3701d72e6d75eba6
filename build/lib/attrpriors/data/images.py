"""Image data for the pixel attribution prior (Erion et al. 2019, Fig. 1): scikit-learn's bundled 8 × 8 digits
(offline, the embedded default), MNIST from its IDX files (paper scale), and salt-and-pepper test noise.

Images are float32 ``(N, 1, H, W)`` scaled to [0, 1]; labels int64.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["load_digits_images", "read_idx", "load_mnist", "salt_and_pepper", "MNIST_SOURCES", "download_mnist"]

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled handwritten digits: 1797 images of 8 × 8 pixels (values 0..16 → [0, 1]), 10 classes."""
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.images.astype(np.float32) / 16.0)[:, None, :, :]
    return X, d.target.astype(np.int64)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format; gzip-compressed when the name ends in ``.gz``).

    Raises ``ValueError`` naming the file when the header is not IDX or the size does not match it.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"IDX file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    body = raw[4 + 4 * ndim :]
    if len(body) != int(np.prod(shape)) * dtype.itemsize:
        raise ValueError(f"{path}: IDX header says shape {shape} but the file holds {len(body)} bytes of data")
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def load_mnist(train_images, train_labels, test_images, test_labels) -> dict[str, np.ndarray]:
    """MNIST from its four IDX files: ``X_pool, y_pool`` (the 60,000 training images) and ``X_test, y_test``."""
    out = {}
    for name, img, lab in (("pool", train_images, train_labels), ("test", test_images, test_labels)):
        X, y = read_idx(img), read_idx(lab)
        if X.ndim != 3 or y.ndim != 1 or len(X) != len(y):
            raise ValueError(f"{img} / {lab}: expected (N, H, W) images and N labels, got {X.shape} and {y.shape}")
        out[f"X_{name}"] = (X.astype(np.float32) / 255.0)[:, None, :, :]
        out[f"y_{name}"] = y.astype(np.int64)
    return out


def salt_and_pepper(images: np.ndarray, fraction: float, rng: np.random.Generator, low: float = 0.0,
                    high: float = 1.0) -> np.ndarray:
    """Set ``round(fraction · H · W)`` randomly chosen pixels of every image to ``low`` or ``high`` (probability ½ each).

    Erion et al.'s noise test ("randomly set a fraction of pixels in the test images to be 0 or 1"). The pixels
    are drawn without replacement per image; all channels of a chosen pixel get the same value. Returns a copy.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"noise fraction must be in [0, 1], got {fraction}")
    X = np.array(images, dtype=np.float32, copy=True)
    if X.ndim != 4:
        raise ValueError(f"salt_and_pepper needs (N, C, H, W) images, got shape {X.shape}")
    n, c, h, w = X.shape
    k = int(round(fraction * h * w))
    if k == 0:
        return X
    flat = X.reshape(n, c, h * w)
    where = np.argsort(rng.random((n, h * w)), axis=1)[:, :k]  # k distinct pixels per image
    values = np.where(rng.random((n, k)) < 0.5, low, high).astype(np.float32)
    rows = np.arange(n)[:, None]
    for ch in range(c):
        flat[rows, ch, where] = values
    return flat.reshape(n, c, h, w)


#: attrpriors.data.download registry names of the four MNIST files, in :func:`load_mnist`'s argument order.
MNIST_SOURCES = ("mnist_train_images", "mnist_train_labels", "mnist_test_images", "mnist_test_labels")


def download_mnist(destinations: Sequence[str | os.PathLike]) -> list[Path]:
    """Fetch the four MNIST IDX files (md5-verified) to ``destinations`` through :func:`attrpriors.data.download.download`."""
    from .download import download

    if len(destinations) != len(MNIST_SOURCES):
        raise ValueError(f"download_mnist needs {len(MNIST_SOURCES)} destinations, got {len(destinations)}")
    return [download(name, dest) for name, dest in zip(MNIST_SOURCES, destinations)]
