"""What the NumPy floors (``bench.floor``, ``bench.floor_cnn``, ``bench.seq_floor``) share:
the fastest NumPy formulations found for ReLU, a Linear layer's product, a convolution's
bias and the loss's row maxima, the same as chainrule's (docs/benchmarks.md, "The fourth
round" and "The fifth round"), so that a ratio to the floor measures the framework and not
a better kernel on one side. Written here again, not imported: the floor depends on NumPy
alone.
"""

from __future__ import annotations

from time import perf_counter

import numpy as np

BLOCK = 1 << 16
_ZEROS = np.zeros(BLOCK, np.float32)
_ZEROS.flags.writeable = False


def relu_(h):
    """max(h, 0) in place for a C-ordered float32 ``h``, against a block of zeros: NumPy's
    maximum with the scalar 0 runs an unvectorized loop, 2.5-4x slower."""
    if not h.flags.c_contiguous:
        return np.maximum(h, 0, out=h)
    flat = h.reshape(-1)
    for start in range(0, flat.size, BLOCK):
        part = flat[start:start + BLOCK]
        np.maximum(part, _ZEROS[:part.size], out=part)
    return h


def swapped_is_faster(rows, W, rng=None):
    """Whether ``(W @ x.T).T`` (copied to C order) beats ``x @ W.T`` for a (rows, in) batch
    through ``W``, timed once at set-up on random data (the BLAS runs the two layouts as
    different kernels: with 32 rows into 784 -> 256, 81 us against 53 here)."""
    x = (rng or np.random.default_rng(0)).standard_normal((rows, W.shape[1])).astype(W.dtype)
    best = [float("inf"), float("inf")]
    for _ in range(5):
        t0 = perf_counter()
        x @ W.T
        t1 = perf_counter()
        (W @ x.T).T.copy()
        t2 = perf_counter()
        best = [min(best[0], t1 - t0), min(best[1], t2 - t1)]
    return best[1] < 0.85 * best[0]


def times_transposed(x, W, swapped):
    """``x @ W.T``, in the layout chosen at set-up."""
    return (W @ x.T).T.copy() if swapped else x @ W.T


def add_bias(rows, b):
    """``rows += b`` for C-ordered rows (M, N), short rows joined: 2^j consecutive rows are
    one row of a 2^j-fold tiled bias, about 1,024 long (NumPy's broadcast runs one inner
    loop per row: slow on a convolution's few channels). The same bits."""
    m, n = rows.shape
    k = 1
    if m * n >= 4096:
        while k * n < 1024 and m % (2 * k) == 0:
            k *= 2
    if k == 1:
        rows += b
    else:
        tiled = np.empty((k, n), dtype=b.dtype)  # np.tile(b, k) without its ~5 us of Python
        tiled[...] = b
        joined = rows.reshape(m // k, k * n)
        joined += tiled.reshape(-1)
    return rows


def row_max(z):
    """``z.max(axis=1, keepdims=True)`` of C-ordered logits (N, C), C <= 32: over the columns
    of the transposed copy (NumPy runs one reduction per short row: 48 us against 5 for
    (1024, 10)). The same values."""
    if z.shape[1] > 32 or not z.flags.c_contiguous:
        return z.max(axis=1, keepdims=True)
    return np.maximum.reduce(np.ascontiguousarray(z.T), axis=0)[:, None]
