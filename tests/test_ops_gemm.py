"""``ops.gemm.times_transposed``: x @ w.T in either BLAS layout, the same bits and C order."""

import numpy as np
import pytest

from chainrule.ops import gemm


@pytest.fixture
def fresh_choices(monkeypatch):
    monkeypatch.setattr(gemm, "_swapped", {})
    return gemm._swapped


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, n_in, n_out", [(32, 784, 256), (7, 300, 129), (1024, 64, 10)])
@pytest.mark.parametrize("swap", [False, True])
def test_either_layout_gives_x_times_w_transposed(fresh_choices, dtype, rows, n_in, n_out,
                                                   swap):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, n_in)).astype(dtype)
    w = rng.standard_normal((n_out, n_in)).astype(dtype)
    fresh_choices[(x.shape, w.shape, x.dtype)] = swap   # the choice forced, not measured
    y = gemm.times_transposed(x, w)
    assert y.flags.c_contiguous and y.shape == (rows, n_out) and y.dtype == dtype
    np.testing.assert_allclose(y, x.astype(np.float64) @ w.T.astype(np.float64),
                               rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-3)


def test_the_measured_choice_keeps_the_bits_and_is_remembered(fresh_choices, monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 784)).astype(np.float32)
    w = rng.standard_normal((256, 784)).astype(np.float32)
    y = gemm.times_transposed(x, w)
    assert np.array_equal(y.view(np.uint32), (x @ w.T).view(np.uint32))
    assert fresh_choices[(x.shape, w.shape, x.dtype)] in (True, False)

    def measure_again(x, w):
        raise AssertionError("measured twice")
    monkeypatch.setattr(gemm, "_measure", measure_again)   # the next product looks it up
    x2 = rng.standard_normal((32, 784)).astype(np.float32)
    assert np.array_equal(gemm.times_transposed(x2, w).view(np.uint32),
                          (x2 @ w.T).view(np.uint32))


def test_a_layout_with_other_bits_is_never_chosen(monkeypatch):
    x = np.random.default_rng(2).standard_normal((32, 784)).astype(np.float32)
    w = np.random.default_rng(3).standard_normal((256, 784)).astype(np.float32)
    seen = []

    def bits_of_a_blas_that_rounds_the_swapped_layout_otherwise(a):
        seen.append(a)
        return a.view(np.uint32) ^ np.uint32(len(seen) == 2)   # the second: one bit off
    monkeypatch.setattr(gemm, "_bits", bits_of_a_blas_that_rounds_the_swapped_layout_otherwise)
    assert gemm._measure(x, w) is False and len(seen) == 2


def test_small_odd_and_strided_products_are_plain(fresh_choices):
    x = np.ones((4, 3), np.float32)
    w = np.ones((2, 3), np.float32)
    gemm.times_transposed(x, w)                    # too small to be worth measuring
    xt = np.ones((784, 32), np.float32).T          # not C-ordered: never measured, plain
    assert np.array_equal(gemm.times_transposed(xt, np.ones((256, 784), np.float32)),
                          np.full((32, 256), 784, np.float32))
    assert not fresh_choices and not gemm.swapped_layout(x.shape, w.shape, x.dtype)
    xi = np.ones((64, 1024), np.int64)             # ints: plain
    assert gemm.times_transposed(xi, np.ones((64, 1024), np.int64))[0, 0] == 1024


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 5), (128, 256), (3000, 7)])  # the ones grow past 1024
def test_column_sums_are_the_sums_down_the_rows(dtype, shape):
    g = np.random.default_rng(4).standard_normal(shape).astype(dtype)
    got = gemm.column_sums(g)
    assert got.shape == shape[1:] and got.dtype == dtype
    np.testing.assert_allclose(got, g.astype(np.float64).sum(0),
                               rtol=1e-5 if dtype == np.float32 else 1e-13, atol=1e-4)
    assert np.array_equal(gemm.column_sums(g[::2]), gemm.column_sums(np.ascontiguousarray(g[::2])))


def test_column_sums_of_other_arrays_are_numpys():
    h = np.ones((4, 3), np.float16)
    assert gemm.column_sums(h).dtype == np.float16 and gemm.column_sums(h)[0] == 4
    i = np.arange(6).reshape(3, 2)
    assert np.array_equal(gemm.column_sums(i), [6, 9])


def test_the_plan_writes_out_the_layout_eager_measured(fresh_choices):
    import chainrule as cr
    x = cr.randn(32, 784)
    lin = cr.nn.Linear(784, 256)
    for swap in (True, False):
        fresh_choices[((32, 784), (256, 784), np.dtype(np.float32))] = swap
        step = cr.compile(lambda t: lin(t).sum())
        eager = lin(x).sum()
        assert step(x).item() == eager.item() == step(x).item()
        source = next(iter(step.plans.values()))[0].plan.source
        assert (".T).T.copy()" in source) is swap
