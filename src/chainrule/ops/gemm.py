"""BLAS calls chosen for speed: a Linear layer's ``x @ w.T`` in the faster of its two
layouts, and a convolution's bias gradient (column sums) as a matrix-vector product.

``x @ w.T`` and ``(w @ x.T).T`` are one product; the BLAS runs them as different kernels
(which operand it packs, along which dimension it splits). On OpenBLAS with a small batch
the second is much the faster: a (32, 784) batch through a 784 -> 256 layer takes 81 us one
way and 47 us the other (53 us with the copy back to C order), and the results are equal
bit for bit, as each element is the same sum in the same order. With a larger batch the
first wins. Which is faster depends on the BLAS and the machine, so it is measured, once per
shape, on the first product of that shape, and the other layout is used only where it gives
the same bits and is clearly faster.

    >>> x, w = np.ones((32, 784), np.float32), np.ones((256, 784), np.float32)
    >>> times_transposed(x, w).shape  # C order either way
    (32, 256)
    >>> column_sums(np.ones((3, 2), np.float32))
    array([3., 3.], dtype=float32)
"""

from __future__ import annotations

from time import perf_counter

import numpy as np

from .. import backend

# (x shape, w shape, dtype) -> whether (w @ x.T).T is the way. Filled once per shape (a
# plain dict: two threads measuring the same shape at once both store the same kind of answer).
_swapped = {}

# Products measured: big enough for the layout to matter, small enough to time in < ~10 ms.
_MIN_WORK, _MAX_WORK = 1 << 16, 1 << 26
_GAIN = 0.85  # the other layout must take at most this share of the time


def times_transposed(x, w):
    """``x @ w.T`` for a 2-D ``x`` (rows) and ``w`` (out, in), C-ordered, in the layout
    measured fastest for these shapes (see the module's docstring)."""
    if type(x) is not np.ndarray or not (x.flags.c_contiguous and w.flags.c_contiguous) or \
            x.shape[0] * x.shape[1] * w.shape[0] < _MIN_WORK:
        return x @ w.T  # the layouts measured are those of C-ordered operands
    key = (x.shape, w.shape, x.dtype)
    swap = _swapped.get(key)
    if swap is None:
        swap = _swapped[key] = _measure(x, w)
    if swap:
        return (w @ x.T).T.copy()
    return x @ w.T


def swapped_layout(x_shape, w_shape, dtype):
    """Whether products of these shapes run as ``(w @ x.T).T`` (False where never measured)."""
    return _swapped.get((x_shape, w_shape, dtype)) is True


def _measure(x, w):
    """Whether ``(w @ x.T).T`` gives ``x @ w.T``'s bits in clearly less time."""
    if type(w) is not np.ndarray or x.ndim != 2 or w.ndim != 2 or x.dtype != w.dtype or \
            x.dtype.kind != "f":
        return False
    if x.shape[0] * x.shape[1] * w.shape[0] > _MAX_WORK:  # (the caller checked the minimum)
        return False
    plain, swapped = x @ w.T, (w @ x.T).T.copy()
    if not np.array_equal(_bits(plain), _bits(swapped)):
        return False
    t_plain = t_swapped = float("inf")
    for _ in range(3):  # interleaved, the best of three: one slow moment decides nothing
        t0 = perf_counter()
        x @ w.T
        t1 = perf_counter()
        (w @ x.T).T.copy()
        t2 = perf_counter()
        t_plain, t_swapped = min(t_plain, t1 - t0), min(t_swapped, t2 - t1)
    return t_swapped < _GAIN * t_plain


def _bits(a):
    return a.view(np.dtype(f"u{a.itemsize}"))


# A read-only vector of ones per dtype, grown to the longest column summed so far.
_ones = {}


def column_sums(g):
    """``g.sum(0)`` of a 2-D host array as ``ones @ g``: a GEMV, 2-4x faster than NumPy's
    add-reduce down the rows ((128, 256) float32: 2.1 us instead of 4.5). The sum's order
    is the BLAS's, so its last bits may differ from ``g.sum(0)``'s. (Linear keeps
    ``g.sum(0)``: the figures the README quotes were trained with its rounding.)"""
    xp = backend.get_array_module(g)
    if xp is not np or g.ndim != 2 or g.dtype.kind != "f" or g.itemsize < 4:
        return g.sum(0)
    n = g.shape[0]
    ones = _ones.get(g.dtype)
    if ones is None or ones.size < n:
        ones = xp.ones(max(n, 1024), g.dtype)
        ones.flags.writeable = False
        _ones[g.dtype] = ones
    return ones[:n] @ g
