"""``add_scaled``: y += alpha * x rounded once, as torch's ``add_(x, alpha=...)``."""

import numpy as np
import pytest
import torch

from chainrule.backend import host_blas

fused = pytest.mark.skipif(not host_blas.fused(), reason="no BLAS axpy that rounds once")

M = host_blas.MIN_SIZE
SIZES = [M, M + 1, M + 31, M + 63, M + 64, M + 65, 65537, 200704, 300001]


def _torch_add(y, alpha, x):
    t = torch.from_numpy(y.copy())
    t.add_(torch.from_numpy(x), alpha=alpha)
    return t.numpy()


@fused
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equals_torch_bit_for_bit_at_every_size(dtype):
    for n in SIZES:
        rng = np.random.default_rng(n)
        y, x = (rng.standard_normal(n).astype(dtype) for _ in range(2))
        got = host_blas.add_scaled(y.copy(), -0.0123, x)
        np.testing.assert_array_equal(got, _torch_add(y, -0.0123, x), err_msg=f"n={n}")


@fused
def test_rounds_once_where_numpy_rounds_twice():
    rng = np.random.default_rng(0)
    y, x = (rng.standard_normal(M).astype(np.float32) for _ in range(2))
    twice = y + x * np.float32(0.3)
    once = host_blas.add_scaled(y.copy(), 0.3, x)
    assert (once != twice).sum() > 20  # ~2% of the elements differ in the last bit
    np.testing.assert_allclose(once, twice, rtol=1e-6, atol=1e-6)


@fused
def test_shapes_and_read_only_operands():
    y = np.arange(3 * M, dtype=np.float32).reshape(3, M)
    x = np.ones((3, M), np.float32)
    x.flags.writeable = False
    out = host_blas.add_scaled(y, 2.0, x)
    assert out is y
    np.testing.assert_array_equal(y, np.arange(3 * M).reshape(3, M) + 2.0)


def test_small_arrays_keep_numpys_rounding():
    """Below MIN_SIZE elements a call into the library costs more than NumPy's two passes:
    NumPy's ``y += alpha * x`` there, bit for bit, 0-d and empty arrays included."""
    rng = np.random.default_rng(4)
    for n in (1, 7, 64, 1000, M - 1):
        y, x = (rng.standard_normal(n).astype(np.float32) for _ in range(2))
        expected = y + x * np.float32(-0.0123)
        np.testing.assert_array_equal(host_blas.add_scaled(y, -0.0123, x), expected)
    scalar = np.array(1.5, np.float32)
    host_blas.add_scaled(scalar, 2.0, np.array(0.25, np.float32))
    assert scalar == 2.0
    empty = np.empty((0, 3), np.float32)
    assert host_blas.add_scaled(empty, 1.0, empty.copy()).shape == (0, 3)


def test_other_layouts_and_dtypes_fall_back_to_numpy():
    """A strided view, a broadcast or mixed dtypes: NumPy's ``y += alpha * x``, in place."""
    rng = np.random.default_rng(1)
    base = rng.standard_normal((300, 400)).astype(np.float32)
    g = rng.standard_normal((400, 300)).astype(np.float32)
    y = base.copy().T
    expected = y + g * np.float32(-0.1)
    host_blas.add_scaled(y, -0.1, g)
    np.testing.assert_array_equal(y, expected)
    row = np.ones(4, np.float32)
    y2 = np.zeros((2, 4), np.float32)
    host_blas.add_scaled(y2, 3.0, row)
    np.testing.assert_array_equal(y2, np.full((2, 4), 3.0))
    y3 = np.ones(5, np.float64)
    host_blas.add_scaled(y3, 0.5, np.ones(5, np.float32))
    np.testing.assert_array_equal(y3, np.full(5, 1.5))


def test_the_numpy_fallback_blocks_big_arrays(monkeypatch):
    """Without axpy, a big contiguous array is updated a cache-sized block at a time, with
    NumPy's two roundings."""
    monkeypatch.setattr(host_blas, "_axpy", {})
    rng = np.random.default_rng(2)
    y, x = (rng.standard_normal(host_blas.BLOCK * 2 + 17).astype(np.float32) for _ in range(2))
    expected = y + x * np.float32(0.7)
    host_blas.add_scaled(y, 0.7, x)
    np.testing.assert_array_equal(y, expected)
    assert not host_blas.fused()


def _array_at(ref, n):
    """The float32 array of n elements at a ctypes buffer view or an address."""
    import ctypes
    address = ref if isinstance(ref, int) else ctypes.addressof(ref)
    return np.ctypeslib.as_array(ctypes.cast(address, ctypes.POINTER(ctypes.c_float)), (n,))


def test_the_load_time_check_refuses_a_kernel_that_rounds_twice():
    """A library whose axpy rounds the product and then the sum is not used (NumPy then)."""
    def twice(n, alpha, x, incx, y, incy):
        ys = _array_at(y, n)
        ys += _array_at(x, n) * np.float32(alpha)

    def once(n, alpha, x, incx, y, incy):  # exact on the check's numbers, in [1, 2)
        ys = _array_at(y, n)
        ys[...] = (ys + np.float64(np.float32(alpha)) * _array_at(x, n)).astype(np.float32)

    assert not host_blas._rounds_once(twice)
    assert host_blas._rounds_once(once)


def test_alpha_zero_still_propagates_inf_and_nan_as_torch():
    """BLAS's axpy returns at once for alpha 0; torch computes y + 0 * x (nan for inf)."""
    y = np.ones(M, np.float32)
    x = np.ones(M, np.float32)
    x[3], x[5] = np.inf, np.nan
    host_blas.add_scaled(y, 0.0, x)
    np.testing.assert_array_equal(y, _torch_add(np.ones(M, np.float32), 0.0, x))
    assert np.isnan(y[3]) and np.isnan(y[5]) and y[0] == 1


@pytest.mark.parametrize("shift", [1, 31, 64, 1000])
def test_overlapping_operands_as_if_the_product_were_copied_first(shift):
    # axpy on y = a[shift:], x = a[:-shift] would read elements of x it had overwritten
    base = np.random.default_rng(shift).standard_normal(4 * M).astype(np.float32)
    a = base.copy()
    got = host_blas.add_scaled(a[shift:], 2.0, a[:-shift])
    want = base[shift:] + base[:-shift] * np.float32(2.0)
    np.testing.assert_array_equal(got, want)
    same = base.copy()
    np.testing.assert_array_equal(host_blas.add_scaled(same, 2.0, same),
                                  _torch_add(base, 2.0, base))  # one array: axpy, bit for bit
