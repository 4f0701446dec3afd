"""The lectures' toy classification problems in two dimensions.

Each function returns ``(X, y)``: ``X`` a float32 tensor of shape (n, 2), ``y`` an int64
tensor of class labels, both in a shuffled order drawn from ``seed`` (same seed, same data).

    >>> X, y = moons(200, noise=0.1, seed=0)
    >>> X.shape, X.dtype, y.dtype
    (chainrule.Size([200, 2]), chainrule.float32, chainrule.int64)
"""

from __future__ import annotations

import numpy as np

from ... import backend
from ...tensor import _make


def _rng(seed) -> np.random.Generator:
    return backend.Generator().manual_seed(int(seed)).rng


def _per_class(n: int, classes: int, name: str) -> list[int]:
    if not isinstance(n, (int, np.integer)) or n < classes:
        raise ValueError(f"{name}: n must be an int >= {classes}, got {n!r}")
    counts = [n // classes] * classes
    for i in range(n % classes):
        counts[i] += 1
    return counts


def _finish(X, y, rng):
    order = rng.permutation(len(y))
    return _make(np.ascontiguousarray(X[order], dtype=np.float32)), \
        _make(np.ascontiguousarray(y[order], dtype=np.int64))


def _labels(counts) -> np.ndarray:
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def two_clouds(n=200, distance=3.0, std=1.0, signed=False, seed=0):
    """Two Gaussian clouds ``distance`` apart along the diagonal, ``std`` wide.

    Labels are 0/1, or -1/+1 with ``signed=True`` (the logistic-regression lecture's
    convention, for ``nn.SoftMarginLoss``).
    """
    rng = _rng(seed)
    counts = _per_class(n, 2, "two_clouds")
    centers = np.array([[-1.0, -1.0], [1.0, 1.0]]) * (distance / (2 * np.sqrt(2.0)))
    y = _labels(counts)
    X = centers[y] + std * rng.standard_normal((n, 2))
    if signed:
        y = 2 * y - 1
    return _finish(X, y, rng)


def blobs(n=300, classes=3, std=0.5, radius=2.0, seed=0):
    """``classes`` Gaussian blobs at the corners of a regular polygon (softmax regression)."""
    rng = _rng(seed)
    counts = _per_class(n, classes, "blobs")
    angles = 2 * np.pi * np.arange(classes) / classes + np.pi / 2
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    y = _labels(counts)
    X = centers[y] + std * rng.standard_normal((n, 2))
    return _finish(X, y, rng)


def xor(n=200, std=0.15, seed=0):
    """Four clusters at (+-1, +-1); the class is 1 where the signs of x1 and x2 differ."""
    rng = _rng(seed)
    counts = _per_class(n, 4, "xor")
    corners = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
    which = _labels(counts)
    X = corners[which] + std * rng.standard_normal((n, 2))
    y = (which >= 2).astype(np.int64)
    return _finish(X, y, rng)


def circles(n=200, noise=0.05, factor=0.5, seed=0):
    """Two concentric circles: the outer one (radius 1) is class 0, the inner one class 1."""
    if not 0 < factor < 1:
        raise ValueError(f"circles: factor must be in (0, 1), got {factor}")
    rng = _rng(seed)
    counts = _per_class(n, 2, "circles")
    y = _labels(counts)
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.where(y == 0, 1.0, factor)
    X = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    X += noise * rng.standard_normal((n, 2))
    return _finish(X, y, rng)


def moons(n=200, noise=0.1, seed=0):
    """Two interleaving half circles (scikit-learn's ``make_moons``)."""
    rng = _rng(seed)
    counts = _per_class(n, 2, "moons")
    y = _labels(counts)
    t = np.pi * rng.uniform(0, 1, n)
    X = np.where(y[:, None] == 0,
                 np.stack([np.cos(t), np.sin(t)], axis=1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1))
    X += noise * rng.standard_normal((n, 2))
    return _finish(X, y, rng)


def spirals(n=300, classes=3, noise=0.2, turns=1.0, seed=0):
    """``classes`` interleaved spiral arms (the CS231n spiral): not linearly separable."""
    rng = _rng(seed)
    counts = _per_class(n, classes, "spirals")
    y = _labels(counts)
    # Position along the arm, from the center (0) out to radius 1, for every sample at once.
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = (np.arange(n) - np.repeat(starts, counts)) / np.repeat(np.maximum(counts, 2) - 1, counts)
    theta = y * (2 * np.pi / classes) + pos * turns * 2 * np.pi
    theta = theta + noise * rng.standard_normal(n)
    X = pos[:, None] * np.stack([np.sin(theta), np.cos(theta)], axis=1)
    return _finish(X, y, rng)


# The triangle of "three logistic regressions make a neural net": a point is inside (class 1)
# when it is on the positive side of all three edges, i.e. when W @ x + b > 0 row by row.
TRIANGLE_VERTICES = np.array([[0.0, 1.0], [-1.0, -0.8], [1.0, -0.8]])


def triangle_halfplanes() -> tuple[np.ndarray, np.ndarray]:
    """``(W, b)`` of the three edges: ``W @ x + b > 0`` on the inner side of each (unit normals)."""
    V = TRIANGLE_VERTICES
    W, b = [], []
    for i in range(3):
        p, q, other = V[i], V[(i + 1) % 3], V[(i + 2) % 3]
        normal = np.array([q[1] - p[1], p[0] - q[0]])
        normal /= np.linalg.norm(normal)
        offset = -normal @ p
        if normal @ other + offset < 0:  # point the normal inward
            normal, offset = -normal, -offset
        W.append(normal)
        b.append(offset)
    return np.array(W), np.array(b)


def triangle(n=400, low=-1.25, high=1.25, seed=0):
    """Points uniform in a square, class 1 inside the triangle ``TRIANGLE_VERTICES``.

    One logistic unit per edge and one more that ANDs them solve it exactly: see
    ``triangle_halfplanes`` and ``examples/triangle.py``.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"triangle: n must be a positive int, got {n!r}")
    rng = _rng(seed)
    X = rng.uniform(low, high, (n, 2))
    W, b = triangle_halfplanes()
    y = np.all(X @ W.T + b > 0, axis=1).astype(np.int64)
    return _finish(X, y, rng)


TOY = {
    "two_clouds": two_clouds, "blobs": blobs, "xor": xor, "circles": circles,
    "moons": moons, "spirals": spirals, "triangle": triangle,
}
