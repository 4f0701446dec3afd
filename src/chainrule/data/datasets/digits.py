"""scikit-learn's bundled handwritten digits: 1797 images of 8x8 pixels, 10 classes.

Ships inside scikit-learn (``pip install 'chainrule[datasets]'``): nothing is downloaded.

    >>> X, y = digits()
    >>> X.shape, float(X.max()), y.dtype
    (chainrule.Size([1797, 64]), 1.0, chainrule.int64)
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

from ...tensor import _make


def _bundled_csv() -> str | None:
    """scikit-learn's own copy of the data (``datasets/data/digits.csv.gz``), if present."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(spec.submodule_search_locations[0], "datasets", "data", "digits.csv.gz")
    return path if os.path.isfile(path) else None


def _load_arrays() -> tuple[np.ndarray, np.ndarray]:
    path = _bundled_csv()
    if path is not None:
        # Read the file sklearn's load_digits reads, without importing sklearn (scipy and
        # all: ~2 s, most of a `chainrule train` run). 64 pixel columns, then the label.
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
        if table.shape == (1797, 65):
            return table[:, :64], table[:, 64].astype(np.int64)
    try:
        from sklearn.datasets import load_digits  # noqa: PLC0415 - optional and slow to import
    except ImportError as exc:
        raise ImportError("digits needs scikit-learn: pip install 'chainrule[datasets]'") from exc
    images, labels = load_digits(return_X_y=True)
    return images.astype(np.float32), labels.astype(np.int64)


def digits(flatten=True):
    """``(X, y)``: float32 pixels scaled to [0, 1] (n, 64), or (n, 8, 8); int64 labels 0..9."""
    images, labels = _load_arrays()
    X = images / np.float32(16.0)  # pixels are integers 0..16
    if not flatten:
        X = X.reshape(-1, 8, 8)
    return _make(np.ascontiguousarray(X)), _make(labels)
