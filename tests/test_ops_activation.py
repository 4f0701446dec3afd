"""ReLU's in-place rules (those of torch, whose backward reads the output) and layouts,
against torch 2.13.

The values and derivatives of relu at its edge points (0, -0, +-inf, nan, first and second
order) are rows of ``test_ops_edge_points.py``; this module checks which in-place
modifications make backward refuse, as torch's does.
"""

import numpy as np
import pytest
import torch

import chainrule as cr


def _modify_relu_output(lib):
    x = lib.tensor([[-1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    y = (x * 1.0).relu()
    y.mul_(2)              # relu's backward needs y as it was
    y.sum().backward()


def test_modifying_relu_output_in_place_refuses_backward_like_torch():
    with pytest.raises(RuntimeError):
        _modify_relu_output(torch)
    with pytest.raises(RuntimeError, match="relu"):
        _modify_relu_output(cr)


@pytest.mark.parametrize("lib", [torch, cr], ids=["torch", "chainrule"])
def test_relu_in_place_then_more_ops(lib):
    x = lib.tensor([[-1.0, 2.0], [3.0, float("nan")]], requires_grad=True)
    y = (x * 2).relu_()    # relu_ on a fresh value: its gradient rule reads the result
    (y * y).sum().backward()
    got = x.grad.numpy() if lib is torch else x.grad._array
    # d/dx (2x)^2 where 2x > 0 (and nan passes: nan * ... stays nan), 0 where 2x <= 0
    np.testing.assert_array_equal(got[0], [0.0, 16.0])
    assert got[1, 0] == 24.0 and np.isnan(got[1, 1])


def test_relu_gradient_of_a_channels_last_input_matches_torch():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 5, 4)).astype(np.float32)
    g = rng.standard_normal((3, 4, 5)).astype(np.float32)
    xt = torch.tensor(a, requires_grad=True)
    xt.permute(0, 2, 1).relu().backward(torch.tensor(g))
    xc = cr.tensor(a, requires_grad=True)
    xc.permute(0, 2, 1).relu().backward(cr.tensor(g))
    np.testing.assert_array_equal(xc.grad._array, xt.grad.numpy())


# --- exact GELU: the float32 kernel (erfc, no table) and the float64 one, against torch ----

_GELU_POINTS = np.concatenate([
    np.linspace(-12, 12, 4801),
    [0.0, -0.0, 1e-30, -1e-30, 1e-7, -1e-7, 0.5, -0.5, 3.0, -3.0, 5.5, -5.5, 9.0, -9.0,
     30.0, -30.0, 1e10, -1e10, 1e30, -1e30, -np.inf, np.nan],
])


# float32 atol: torch computes 1 + erf, which cancels in the lower tail (an absolute error of
# about |x| 6e-8 there, up to 7e-7 on these points); ours is accurate there (next test).
@pytest.mark.parametrize("dtype,tol", [(np.float32, dict(atol=1e-6, rtol=1.3e-6)),
                                       (np.float64, dict(atol=1e-15, rtol=1e-12))],
                         ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(5053,), (1024, 300)], ids=["small", "blocked"])
def test_gelu_values_and_gradients_match_torch(dtype, tol, shape):
    """Exact GELU and its gradient at many points (both tails, tiny and huge |x|, -0, -inf,
    nan) match torch's; large arrays run blockwise (``in_blocks``) and give the same bits as
    small ones."""
    n = int(np.prod(shape))
    a = np.resize(_GELU_POINTS, n).astype(dtype).reshape(shape)
    u = np.resize(np.linspace(-2, 2, 7), n).astype(dtype).reshape(shape)
    xc, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    yc, yt = cr.gelu(xc), torch.nn.functional.gelu(xt)
    (yc * cr.tensor(u)).sum().backward()
    (yt * torch.tensor(u)).sum().backward()
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), **tol)
        np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(),
                                   atol=10 * tol["atol"], rtol=10 * tol["rtol"])
    zeros = a == 0
    assert np.array_equal(np.signbit(yc.detach().numpy()[zeros]), np.signbit(a[zeros]))  # -0
    small = cr.gelu(cr.tensor(a.reshape(-1)[:5053])).numpy()
    np.testing.assert_array_equal(small, yc.detach().numpy().reshape(-1)[:5053])


def test_gelu_float32_lower_tail_is_accurate():
    """Phi(x) in float32 from erfc keeps its relative accuracy where 1 + erf cancels: GELU
    within 20 ulp of the exact value on [-3, -1] and 1e-5 relative down to x = -9 (torch's
    own is off by ~2,000 ulp at -3 and far off below about -5.5)."""
    import math
    x = np.linspace(-9, -1, 20001).astype(np.float32)
    exact = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x.astype(np.float64)])
    got = cr.gelu(cr.tensor(x)).numpy().astype(np.float64)
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    upper = x >= -3
    assert np.max(np.abs(got - exact)[upper] / ulp[upper]) < 20
    assert np.max(np.abs(got - exact) / np.abs(exact)) < 1e-5
    assert cr.gelu(cr.tensor(np.float32([np.inf]))).numpy()[0] == np.inf  # torch: nan


def _edge_filled(shape, dtype, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    flat = a.reshape(-1)
    flat[::7], flat[::11], flat[::13], flat[::17], flat[::19] = -0.0, np.nan, -np.inf, np.inf, 0.0
    return a


# below the size where blocks pay, one block, several blocks and a ragged last one
@pytest.mark.parametrize("shape", [(7, 9), (64, 100), (300, 700), (3, 5, 40001)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["c", "channels_last", "strided"])
def test_relu_array_is_numpy_maximum_bit_for_bit(shape, dtype, layout):
    from chainrule.ops.activation import relu_array
    a = _edge_filled(shape, dtype)
    if layout == "channels_last":  # memory (N, *S, C) seen as (N, C, *S), as a conv's output
        a = np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 1, -1)), -1, 1)
    elif layout == "strided":      # not dense in any order: the plain maximum
        a = a[..., ::2]
    want = np.maximum(a, 0)
    got = relu_array(a)
    assert got.shape == want.shape and got.strides == want.strides
    assert np.array_equal(_bits(got), _bits(want))  # -0 -> +0, nan kept
    b = a.copy(order="K")
    assert relu_array(b, out=b) is b
    assert np.array_equal(_bits(b), _bits(want))


def _bits(a):
    return np.ascontiguousarray(a).view(np.uint8)


def test_relu_array_of_ints_and_after_many_calls():
    from chainrule.ops.activation import relu_array
    y = np.arange(-5000, 5000)
    assert np.array_equal(relu_array(y), np.maximum(y, 0)) and relu_array(y).dtype == y.dtype
    x = np.full(100_000, -2.0, np.float32)
    for _ in range(3):  # the shared block of zeros stays zeros
        assert relu_array(x).max() == 0.0 and relu_array(-x).min() == 2.0
