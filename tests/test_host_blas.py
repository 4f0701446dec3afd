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


gers = pytest.mark.skipif(not host_blas._ger, reason="no BLAS ger that adds as NumPy does")


@gers
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_rows_is_numpys_sum_bit_for_bit(dtype):
    """Rows joined (a power of two divides the row count) or not, 2-D and more, a (1, N)
    bias row, infinities, nan and signed zeros: the bits of ``y + b``."""
    rng = np.random.default_rng(5)
    for shape in [(50176, 6), (1900, 25), (1001, 17), (4096, 1), (1024, 256), (64, 3, 100)]:
        y = rng.standard_normal(shape).astype(dtype)
        b = rng.standard_normal(shape[-1]).astype(dtype)
        y.reshape(-1)[:4] = [np.inf, -0.0, np.nan, -np.inf]
        b[0] = -0.0
        with np.errstate(invalid="ignore"):
            expected = y + b
        got = host_blas.add_rows(y, b)
        assert got is y
        bits = np.dtype(f"u{y.itemsize}")
        np.testing.assert_array_equal(got.view(bits), expected.view(bits), err_msg=str(shape))


def test_add_rows_falls_back_to_numpy_for_other_layouts():
    """Small, strided, broadcast from a 2-D bias, mixed dtypes or 1-D: NumPy's ``y += b``."""
    rng = np.random.default_rng(6)
    cases = [(np.zeros((10, 4), np.float32), np.ones(4, np.float32)),
             (np.zeros((300, 400), np.float32).T, np.ones(300, np.float32)),
             (np.zeros((5000, 4), np.float32), np.ones((1, 4), np.float32)),
             (np.zeros((5000, 4), np.float64), np.ones(4, np.float32)),
             (np.zeros(5000, np.float32), np.ones(5000, np.float32))]
    for y, b in cases:
        b = b * rng.standard_normal(b.shape).astype(b.dtype)
        expected = y + b
        np.testing.assert_array_equal(host_blas.add_rows(y, b), expected)


def test_the_load_time_check_refuses_a_ger_that_adds_otherwise():
    def wrong(order, m, n, alpha, x, incx, y, incy, a, lda):
        _array_at(a, m * n)[:] += 1  # not y: a wrong kernel, caught

    assert not host_blas._adds_rows_exactly(wrong)
    assert host_blas._ger == {} or np.dtype(np.float32) in host_blas._ger  # left as it was
