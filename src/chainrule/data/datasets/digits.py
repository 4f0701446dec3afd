"""scikit-learn's bundled handwritten digits: 1797 images of 8x8 pixels, 10 classes.

Ships inside scikit-learn (``pip install 'chainrule[datasets]'``): nothing is downloaded.

    >>> X, y = digits()
    >>> X.shape, float(X.max()), y.dtype
    ((1797, 64), 1.0, dtype('int64'))
"""

from __future__ import annotations

import numpy as np

from ...tensor import _make


def digits(flatten=True):
    """``(X, y)``: float32 pixels scaled to [0, 1] (n, 64), or (n, 8, 8); int64 labels 0..9."""
    try:
        from sklearn.datasets import load_digits  # noqa: PLC0415 - optional and slow to import
    except ImportError as exc:
        raise ImportError("digits needs scikit-learn: pip install 'chainrule[datasets]'") from exc
    images, labels = load_digits(return_X_y=True)
    # Pixels are integers 0..16; divide in float32, never through float64 on the way.
    X = images.astype(np.float32) / np.float32(16.0)
    if not flatten:
        X = X.reshape(-1, 8, 8)
    return _make(np.ascontiguousarray(X)), _make(labels.astype(np.int64))
