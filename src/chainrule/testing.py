"""``cr.testing.assert_close``, as ``torch.testing.assert_close``: values equal within a
tolerance chosen from the dtype, shapes and dtypes equal.

    >>> cr.testing.assert_close(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.0 + 1e-7]))
    >>> cr.testing.assert_close(cr.ones(1), cr.zeros(1))  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    AssertionError: Tensor-likes are not close!
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor

# torch's defaults (rtol, atol) by dtype; integers and bools must be equal.
_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7), np.dtype(np.complex64): (1.3e-6, 1e-5),
               np.dtype(np.complex128): (1e-7, 1e-7)}


def _as_array(x):
    if isinstance(x, Tensor):
        return np.asarray(x.detach().numpy())
    return np.asarray(x)


def assert_close(actual, expected, *, rtol=None, atol=None, equal_nan=False, check_dtype=True,
                 msg=None):
    """Raise ``AssertionError`` unless ``|actual - expected| <= atol + rtol * |expected|``
    elementwise (nans equal only with ``equal_nan``), with equal shapes and, unless
    ``check_dtype=False``, equal dtypes. Sequences and dicts are compared item by item."""
    if isinstance(actual, dict) and isinstance(expected, dict):
        if actual.keys() != expected.keys():
            raise AssertionError(f"The keys differ: {sorted(actual)} and {sorted(expected)}")
        for k in actual:
            assert_close(actual[k], expected[k], rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_dtype=check_dtype, msg=msg)
        return
    if isinstance(actual, (list, tuple)) and isinstance(expected, (list, tuple)) \
            and not all(isinstance(v, (int, float, bool, complex)) for v in (*actual, *expected)):
        if len(actual) != len(expected):
            raise AssertionError(f"The lengths differ: {len(actual)} and {len(expected)}")
        for a, e in zip(actual, expected):
            assert_close(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_dtype=check_dtype, msg=msg)
        return
    if (rtol is None) != (atol is None):
        raise ValueError("assert_close: give both rtol and atol, or neither")
    a, e = _as_array(actual), _as_array(expected)
    if a.shape != e.shape:
        raise AssertionError(msg or f"The values for attribute 'shape' do not match: "
                                    f"{a.shape} != {e.shape}.")
    both_tensors = isinstance(actual, Tensor) and isinstance(expected, Tensor)
    if check_dtype and both_tensors and a.dtype != e.dtype:
        raise AssertionError(msg or f"The values for attribute 'dtype' do not match: "
                                    f"{actual.dtype} != {expected.dtype}.")
    if rtol is None:
        rtol, atol = max(_TOLERANCES.get(a.dtype, (0.0, 0.0)), _TOLERANCES.get(e.dtype, (0.0, 0.0)))
    if a.dtype.kind in "biu" and e.dtype.kind in "biu":
        close = a == e
    else:
        close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if np.all(close):
        return
    if msg is not None:
        raise AssertionError(msg)
    bad = ~close
    diff = np.abs(a.astype(np.float64) - e.astype(np.float64))
    diff_shown = np.where(bad, diff, -1)
    at = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff_shown)), a.shape))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(bad, diff / np.abs(e.astype(np.float64)), -1)
    rel_at = tuple(int(i) for i in np.unravel_index(int(np.argmax(rel)), a.shape))
    n, total = int(bad.sum()), a.size
    raise AssertionError(
        f"Tensor-likes are not close!\n\nMismatched elements: {n} / {total} "
        f"({100 * n / total:.1f}%)\nGreatest absolute difference: {diff[at]} at index {at} "
        f"(up to {atol} allowed)\nGreatest relative difference: {rel[rel_at]} at index "
        f"{rel_at} (up to {rtol} allowed)")
