"""Elementwise ops against PyTorch (forward and backward, float32) and gradcheck (float64).

One row per op, tinygrad style: the same lambda runs on chainrule and torch tensors when
the APIs agree, otherwise a pair.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
from oracle import assert_close, check_gradcheck, check_op, check_second_order, to_torch

SHAPES_1 = [(), (5,), (3, 4), (2, 3, 4)]

# name, torch fn, chainrule fn (None: the same), low, high, away_from (a kink to avoid)
UNARY = [
    ("neg", lambda x: -x, None, -2, 2, None),
    ("neg_fn", torch.neg, cr.neg, -2, 2, None),
    ("exp", lambda x: x.exp(), None, -3, 3, None),
    ("log", lambda x: x.log(), None, 0.1, 4, None),
    ("log1p", lambda x: x.log1p(), None, -0.9, 4, None),
    ("log2", lambda x: x.log2(), None, 0.1, 4, None),
    ("log2_fn", torch.log2, cr.log2, 0.1, 4, None),
    ("log10", lambda x: x.log10(), None, 0.1, 4, None),
    ("log10_fn", torch.log10, cr.log10, 0.1, 4, None),
    ("square_method", lambda x: x.square(), None, -2, 2, None),
    ("erf_method", lambda x: x.erf(), None, -3, 3, None),
    ("expm1", lambda x: x.expm1(), None, -3, 3, None),
    ("sqrt", lambda x: x.sqrt(), None, 0.1, 4, None),
    ("rsqrt", lambda x: x.rsqrt(), None, 0.1, 4, None),
    ("abs", lambda x: x.abs(), None, -2, 2, 0.0),
    ("abs_builtin", abs, None, -2, 2, 0.0),
    ("sign", lambda x: x.sign(), None, -2, 2, 0.0),
    ("sin", lambda x: x.sin(), None, -3, 3, None),
    ("cos", lambda x: x.cos(), None, -3, 3, None),
    ("tanh", lambda x: x.tanh(), None, -3, 3, None),
    ("sigmoid", lambda x: x.sigmoid(), None, -6, 6, None),
    ("relu", lambda x: x.relu(), None, -2, 2, 0.0),
    ("leaky_relu", lambda x: F.leaky_relu(x), cr.leaky_relu, -2, 2, 0.0),
    ("leaky_relu_02", lambda x: F.leaky_relu(x, 0.2), lambda x: cr.leaky_relu(x, 0.2), -2, 2, 0.0),
    ("elu", lambda x: F.elu(x), cr.elu, -3, 3, 0.0),
    ("elu_a", lambda x: F.elu(x, 0.5), lambda x: cr.elu(x, alpha=0.5), -3, 3, 0.0),
    ("gelu", lambda x: F.gelu(x), cr.gelu, -4, 4, None),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"),
     lambda x: cr.gelu(x, approximate="tanh"), -4, 4, None),
    ("softplus", lambda x: F.softplus(x), cr.softplus, -5, 5, None),
    ("softplus_beta", lambda x: F.softplus(x, beta=2.0, threshold=3.0),
     lambda x: cr.softplus(x, beta=2.0, threshold=3.0), -3, 3, 1.5),
    ("silu", lambda x: F.silu(x), cr.silu, -4, 4, None),
    ("square", lambda x: torch.square(x), cr.square, -2, 2, None),
    ("clamp", lambda x: x.clamp(-0.5, 0.7), None, -2, 2, None),
    ("clamp_min", lambda x: x.clamp(min=-0.5), None, -2, 2, None),
    ("clamp_max", lambda x: x.clamp(max=0.3), None, -2, 2, None),
    ("clip_fn", lambda x: torch.clip(x, -1, 1), lambda x: cr.clip(x, -1, 1), -2, 2, None),
    ("pow_2", lambda x: x ** 2, None, -2, 2, None),
    ("pow_3", lambda x: x ** 3, None, -2, 2, None),
    ("pow_half", lambda x: x ** 0.5, None, 0.1, 3, None),
    ("pow_neg", lambda x: x ** -1.5, None, 0.2, 3, None),
    ("pow_zero", lambda x: x ** 0, None, -2, 2, None),
    ("rpow", lambda x: 2.0 ** x, None, -2, 2, None),
    ("radd", lambda x: 2.5 + x, None, -2, 2, None),
    ("add_s", lambda x: x + 2.5, None, -2, 2, None),
    ("rsub", lambda x: 2.5 - x, None, -2, 2, None),
    ("sub_s", lambda x: x - 2.5, None, -2, 2, None),
    ("rmul", lambda x: 2.5 * x, None, -2, 2, None),
    ("mul_s", lambda x: x * 2.5, None, -2, 2, None),
    ("rdiv", lambda x: 2.5 / x, None, 0.2, 2, None),
    ("div_s", lambda x: x / 2.5, None, -2, 2, None),
    ("int_scalar", lambda x: x * 3 + 1 - 2 // 1, None, -2, 2, None),
]


@pytest.mark.parametrize("name,torch_fn,cr_fn,low,high,away", UNARY, ids=[r[0] for r in UNARY])
@pytest.mark.parametrize("shape", SHAPES_1, ids=str)
def test_unary_vs_torch(name, torch_fn, cr_fn, low, high, away, shape):
    check_op([shape], torch_fn, cr_fn, low=low, high=high, away_from=away)


@pytest.mark.parametrize("name,torch_fn,cr_fn,low,high,away", UNARY, ids=[r[0] for r in UNARY])
def test_unary_gradcheck(name, torch_fn, cr_fn, low, high, away):
    fn = cr_fn or torch_fn
    # sign's derivative is zero everywhere: its second derivative is zero too.
    check_gradcheck([(2, 3)], fn, low=low, high=high, away_from=away)


BINARY_SHAPES = [
    [(3, 4), (3, 4)],
    [(3, 4), (4,)],
    [(4,), (3, 4)],
    [(2, 1, 4), (3, 1)],
    [(4, 1), (1, 5)],
    [(), (3,)],
    [(2, 3), ()],
    [(), ()],
]

# name, fn, low, high (positive bases for tensor exponents, nonzero divisors)
BINARY = [
    ("add", lambda x, y: x + y, -2, 2),
    ("sub", lambda x, y: x - y, -2, 2),
    ("mul", lambda x, y: x * y, -2, 2),
    ("div", lambda x, y: x / y, 0.3, 2),
    ("pow", lambda x, y: x ** y, 0.3, 2),
    ("add_fn", lambda x, y: x.add(y), -2, 2),
    ("add_alpha", lambda x, y: x.add(y, alpha=2.0), -2, 2),
    ("sub_alpha", lambda x, y: x.sub(y, alpha=0.5), -2, 2),
    ("mul_fn", lambda x, y: x.mul(y), -2, 2),
    ("div_fn", lambda x, y: x.div(y), 0.3, 2),
    ("pow_fn", lambda x, y: x.pow(y), 0.3, 2),
    ("maximum", lambda x, y: x.maximum(y), -2, 2),
    ("minimum", lambda x, y: x.minimum(y), -2, 2),
]


@pytest.mark.parametrize("name,fn,low,high", BINARY, ids=[r[0] for r in BINARY])
@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_binary_vs_torch(name, fn, low, high, shapes):
    check_op(shapes, fn, low=low, high=high)


def test_module_functions_match_operators():
    for cr_fn, torch_fn in [(cr.add, torch.add), (cr.sub, torch.sub), (cr.mul, torch.mul),
                            (cr.div, torch.div), (cr.pow, torch.pow), (cr.maximum, torch.maximum),
                            (cr.minimum, torch.minimum)]:
        check_op([(3, 1), (4,)], torch_fn, cr_fn, low=0.3, high=2)


@pytest.mark.parametrize("name,fn,low,high", BINARY, ids=[r[0] for r in BINARY])
def test_binary_gradcheck(name, fn, low, high):
    check_gradcheck([(2, 3), (3,)], fn, low=low, high=high)


def test_where_vs_torch():
    for shapes in [[(3, 4), (3, 4)], [(3, 4), (4,)], [(2, 1, 4), (3, 1)]]:
        check_op(shapes, lambda x, y: torch.where(x > 0, x, y),
                 lambda x, y: cr.where(x > 0, x, y))
        check_op(shapes, lambda x, y: torch.where(y < 0.5, x * 2, 1.5),
                 lambda x, y: cr.where(y < 0.5, x * 2, 1.5))
    check_op([(3, 4)], lambda x: x.where(x > 0, 0.0), lambda x: x.where(x > 0, 0.0))
    check_gradcheck([(3, 4), (4,)], lambda x, y: cr.where(x > 0, x * y, y.exp()))


def test_where_condition_must_be_bool():
    x = cr.randn(3)
    with pytest.raises(TypeError, match="where"):
        cr.where(x, x, x)


def test_maximum_minimum_ties_split_like_torch():
    a = np.array([1.0, 2.0, 3.0, 2.0], dtype=np.float32)
    b = np.array([1.0, 0.0, 3.0, 5.0], dtype=np.float32)
    for op in ("maximum", "minimum"):
        check_op(None, lambda x, y: getattr(x, op)(y), inputs=[a, b])
    # clamp at its bounds: torch passes the gradient through at x == min and x == max
    check_op(None, lambda x: x.clamp(-1.0, 1.0), inputs=[np.array([-1.0, 0.0, 1.0, 2.0],
                                                                  dtype=np.float32)])


def test_relu_abs_at_zero_like_torch():
    z = np.array([0.0, -1.0, 1.0], dtype=np.float32)
    for fn in (lambda x: x.relu(), lambda x: x.abs(), lambda x: x.sign(), lambda x: x ** 2,
               lambda x: (F if isinstance(x, torch.Tensor) else cr).leaky_relu(x, 0.1),
               lambda x: (F if isinstance(x, torch.Tensor) else cr).elu(x)):
        check_op(None, fn, inputs=[z])


def test_pow_tensor_exponent_at_zero_base():
    # d(a^b)/db = a^b log a is taken as 0 where a == 0, as in torch
    a = np.array([0.0, 1.0, 2.0], dtype=np.float32)
    b = np.array([2.0, 3.0, 0.5], dtype=np.float32)
    check_op(None, lambda x, y: x ** y, inputs=[a, b])


def test_leaky_relu_elu_gelu_second_order():
    check_second_order([(3, 4)], lambda x: F.elu(x) * x, lambda x: cr.elu(x) * x, away_from=0.0)
    check_second_order([(3, 4)], lambda x: F.gelu(x), cr.gelu)
    check_second_order([(3, 4)], lambda x: F.gelu(x, approximate="tanh"),
                       lambda x: cr.gelu(x, approximate="tanh"))
    check_second_order([(3, 4)], lambda x: F.softplus(x) * x, lambda x: cr.softplus(x) * x)


@pytest.mark.parametrize("shape", [(), (4,), (2, 3)], ids=str)
def test_float64_vs_torch(shape):
    for fn in (lambda x: (x.exp() * x.sin()).tanh(), lambda x: x.sigmoid() / (1 + x * x)):
        out = check_op([shape], fn, dtype=np.float64, atol=1e-12, rtol=1e-10, grad_atol=1e-12,
                       grad_rtol=1e-10)
        assert out[0].dtype == np.float64


# --- dtype promotion ------------------------------------------------------------------------

PROMOTION = [
    (np.int64, lambda x: x + 0.5),
    (np.int64, lambda x: 0.5 * x),
    (np.int64, lambda x: x - 1.5),
    (np.int64, lambda x: x / 2),
    (np.int64, lambda x: 3 / x),
    (np.int64, lambda x: x * 2),
    (np.int64, lambda x: x + 1),
    (np.int64, lambda x: x ** 2),
    (np.int64, lambda x: x ** 0.5),
    (np.int32, lambda x: x * 1.5),
    (np.bool_, lambda x: x * 1.5),
    (np.float32, lambda x: x * 2.0),
    (np.float32, lambda x: x + np.float64(2.0)),
    (np.float32, lambda x: 1 / x),
    (np.float64, lambda x: x * 2.0),
    (np.uint8, lambda x: x / 255.0),   # image bytes to floats: float32 at full precision
    (np.uint8, lambda x: x * 0.1 - 0.3),
    (np.uint8, lambda x: x / 3),
    (np.int8, lambda x: x ** 0.5),
    (np.bool_, lambda x: x + 0.1),
    (np.uint8, lambda x: x + x),
    (np.float16, lambda x: x * 0.5),
]


@pytest.mark.parametrize("dtype,fn", PROMOTION, ids=[f"{d.__name__}-{i}" for i, (d, _) in
                                                      enumerate(PROMOTION)])
def test_scalar_promotion_like_torch(dtype, fn):
    a = np.array([[1, 2, 3], [4, 5, 6]]).astype(dtype)
    got, want = fn(cr.tensor(a)), fn(to_torch(a))
    assert_close(got, want, rtol=1e-3 if dtype == np.float16 else 1e-6)


@pytest.mark.parametrize("name", ["exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos",
                                  "tanh", "sigmoid"])
@pytest.mark.parametrize("data,dtype", [([1, 2, 3], "int64"), (4, "int64"), ([1, 5], "uint8"),
                                        ([2, 3], "int16")], ids=["int", "int0d", "uint8", "int16"])
def test_float_functions_of_int_tensors_give_float32(name, data, dtype):
    got = getattr(cr.tensor(data, dtype=dtype), name)()
    want = getattr(torch.tensor(data, dtype=getattr(torch, dtype)), name)()
    assert_close(got, want)
    assert_close(cr.tensor(data, dtype=dtype) / 2, torch.tensor(data, dtype=getattr(torch, dtype)) / 2)


def test_int_tensor_with_float_tensor_gives_float():
    i = np.array([1, 2, 3], dtype=np.int64)
    f = np.array([0.5, 1.5, 2.5], dtype=np.float32)
    for fn in (lambda a, b: a + b, lambda a, b: a * b, lambda a, b: b - a, lambda a, b: a / b,
               lambda a, b: a.maximum(b) if hasattr(a, "maximum") else a):
        assert_close(fn(cr.tensor(i), cr.tensor(f)), fn(to_torch(i), to_torch(f)))
    assert_close(cr.tensor(i) / cr.tensor(i), to_torch(i) / to_torch(i))
    # the float side still gets its gradient
    x = cr.tensor(f, requires_grad=True)
    (cr.tensor(i) * x).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad._array, i)
    # where with an int tensor and a float number is float32, as torch
    c = np.array([True, False, True])
    assert_close(cr.where(cr.tensor(c), cr.tensor(i), 0.1), torch.where(to_torch(c), to_torch(i), 0.1))


def test_float32_never_upcast_by_python_scalar():
    x = cr.randn(3, requires_grad=True)
    for y in (x + 1.0, 2.0 * x, x / 3.0, x ** 2.0, 1.0 - x, x.clamp(-0.5, 0.5), cr.where(x > 0, x, 0.0),
              x.maximum(cr.tensor(0.0))):
        assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_float32_float64_mixed_gives_float64_and_grads_keep_dtype():
    a = cr.randn(3, requires_grad=True)
    b = cr.randn(3, dtype=cr.float64, requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


# --- comparisons and logic: no gradient -------------------------------------------------------

COMPARE = [
    ("eq", lambda x, y: x == y), ("ne", lambda x, y: x != y), ("lt", lambda x, y: x < y),
    ("le", lambda x, y: x <= y), ("gt", lambda x, y: x > y), ("ge", lambda x, y: x >= y),
    ("eq_fn", lambda x, y: x.eq(y)), ("gt_fn", lambda x, y: x.gt(y)), ("le_fn", lambda x, y: x.le(y)),
    ("scalar", lambda x, y: x > 0.5), ("rscalar", lambda x, y: 0.5 < y),
    ("and", lambda x, y: (x > 0) & (y > 0)), ("or", lambda x, y: (x > 0) | (y > 0)),
    ("xor", lambda x, y: (x > 0) ^ (y > 0)), ("not", lambda x, y: ~(x > 0)),
    ("logical_and", lambda x, y: (x > 0).logical_not()),
    ("isnan", lambda x, y: (x * float("nan") + y).isnan()),
    ("isfinite", lambda x, y: (x.log() + y).isfinite()),
]


@pytest.mark.parametrize("name,fn", COMPARE, ids=[r[0] for r in COMPARE])
def test_comparisons_vs_torch(name, fn):
    a = np.array([[0.0, 1.0, -1.0], [2.0, 0.5, 0.0]], dtype=np.float32)
    b = np.array([0.0, 1.0, 3.0], dtype=np.float32)
    x, y = cr.tensor(a, requires_grad=True), cr.tensor(b)
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0) and log(-1) on purpose
        out = fn(x, y)
        assert_close(out, fn(to_torch(a), to_torch(b)))
    assert out.dtype == np.bool_
    assert not out.requires_grad and out.grad_fn is None


def test_logical_functions():
    a = np.array([True, False, True, False])
    b = np.array([True, True, False, False])
    for name in ("logical_and", "logical_or", "logical_xor"):
        assert_close(getattr(cr, name)(cr.tensor(a), cr.tensor(b)),
                     getattr(torch, name)(to_torch(a), to_torch(b)))
    assert_close(cr.logical_not(cr.tensor(a)), torch.logical_not(to_torch(a)))


# --- double backward --------------------------------------------------------------------------

SECOND_ORDER = [
    ("exp", lambda x: x.exp(), -2, 2),
    ("log", lambda x: x.log(), 0.2, 3),
    ("sqrt", lambda x: x.sqrt(), 0.2, 3),
    ("rsqrt", lambda x: x.rsqrt(), 0.2, 3),
    ("sigmoid", lambda x: x.sigmoid(), -4, 4),
    ("tanh", lambda x: x.tanh(), -3, 3),
    ("sin", lambda x: x.sin(), -3, 3),
    ("cos", lambda x: x.cos(), -3, 3),
    ("pow3", lambda x: x ** 3, -2, 2),
    ("rpow", lambda x: 3.0 ** x, -2, 2),
    ("div", lambda x: 1.5 / x, 0.3, 2),
    ("log1p", lambda x: x.log1p(), -0.5, 2),
    ("expm1", lambda x: x.expm1(), -2, 2),
    ("log2", lambda x: x.log2(), 0.2, 3),
    ("log10", lambda x: x.log10(), 0.2, 3),
]


@pytest.mark.parametrize("name,fn,low,high", SECOND_ORDER, ids=[r[0] for r in SECOND_ORDER])
def test_second_order_unary_vs_torch(name, fn, low, high):
    check_second_order([(3, 4)], fn, low=low, high=high)


@pytest.mark.parametrize("name,fn,low,high", BINARY, ids=[r[0] for r in BINARY])
def test_second_order_binary_vs_torch(name, fn, low, high):
    check_second_order([(3, 4), (4,)], lambda x, y: fn(x, y) * x, low=low, high=high)


EXTREME = [
    ("sigmoid", lambda x: x.sigmoid(), None),
    ("softplus", lambda x: F.softplus(x), cr.softplus),
    ("tanh", lambda x: x.tanh(), None),
    ("elu", lambda x: F.elu(x), cr.elu),
    ("gelu", lambda x: F.gelu(x), cr.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: cr.gelu(x, approximate="tanh")),
    ("silu", lambda x: F.silu(x), cr.silu),
    ("leaky_relu", lambda x: F.leaky_relu(x), cr.leaky_relu),
    ("clamp", lambda x: x.clamp(-1, 1), None),
    ("erf", torch.erf, cr.erf),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,torch_fn,cr_fn", EXTREME, ids=[r[0] for r in EXTREME])
def test_activations_at_extreme_inputs(name, torch_fn, cr_fn, dtype):
    # finite, equal to torch, and no overflow warnings (pytest turns them into errors)
    big = np.array([-1e4, -100.0, -30.0, 0.5, 30.0, 100.0, 1e4], dtype=dtype)
    out = check_op(None, torch_fn, cr_fn, inputs=[big], dtype=dtype)
    assert np.isfinite(out[0]._array).all()


def test_numerical_extremes_elementwise():
    big = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype=np.float32)
    x = cr.tensor(big, requires_grad=True)
    y = x.sigmoid()
    assert y._array[0] == 0.0 and y._array[-1] == 1.0
    y.sum().backward()
    assert np.isfinite(x.grad._array).all()


def test_pow_zero_exponent_at_zero_base_like_torch():
    z = np.array([0.0, 1.0, -2.0], dtype=np.float32)
    check_op(None, lambda x: x ** 0, inputs=[z])
    check_op(None, lambda x: x ** 1, inputs=[z])
    check_op(None, lambda x: x ** 3, inputs=[z])
    check_op(None, lambda x, y: x ** y, inputs=[np.array([0.0, 0.0, 2.0], dtype=np.float32),
                                               np.array([0.0, 2.0, 0.0], dtype=np.float32)])
    check_second_order(None, lambda x: x ** 0 + x ** 3, inputs=[z.astype(np.float64)])


def test_erf_vs_torch_and_math():
    import math
    check_op([(4, 5)], torch.erf, cr.erf, low=-4, high=4)
    check_op([(4, 5)], torch.erf, cr.erf, low=-7, high=7, dtype=np.float64, atol=1e-15, rtol=1e-14,
             grad_atol=1e-14, grad_rtol=1e-12)
    xs = np.linspace(-8, 8, 2001)
    np.testing.assert_allclose(cr.erf(cr.tensor(xs))._array, [math.erf(v) for v in xs],
                               atol=2e-16, rtol=0)
    special = cr.erf(cr.tensor([0.0, -0.0, np.inf, -np.inf, np.nan]))._array
    np.testing.assert_array_equal(special[:4], [0.0, -0.0, 1.0, -1.0])
    assert np.isnan(special[4]) and np.signbit(special[1])
    check_gradcheck([(2, 3)], cr.erf)


def test_clone_and_helpers():
    check_op([(2, 3)], lambda x: x.clone() * 2)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c._array is not x._array and c.grad_fn is not None
    assert cr.allclose(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.0 + 1e-9]))
    assert not cr.allclose(cr.tensor([1.0]), cr.tensor([1.1]))
    assert cr.equal(cr.tensor([1, 2]), cr.tensor([1, 2]))
    assert not cr.equal(cr.tensor([1]), cr.tensor([2]))
    a = np.array([1.0, np.inf, -np.inf, np.nan], dtype=np.float32)
    for name in ("isinf", "isnan", "isfinite"):
        assert_close(getattr(cr, name)(cr.tensor(a)), getattr(torch, name)(to_torch(a)))


# --- pow's fast paths (issue 12): every route against torch, special values included ---------

POW_EXPONENTS = [0, 1, 2, 3, 4, 5, 7, 16, 17, -1, -2, -3, -7, 3.0, -2.0, 0.5, -0.5, 1.5, 2.5,
                 -1.5, -2.5, 7.5, 16.5, 2.7, -1.3, 0.3, 1e-3, 1 / 3, 40.0, -20.5]
POW_SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 1e-30, 3e30, -2.5]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("exponent", POW_EXPONENTS, ids=str)
def test_pow_fast_paths_vs_torch(exponent, dtype):
    data = np.random.default_rng(5).uniform(-3, 3, (4, 50)).astype(dtype)
    data.flat[:len(POW_SPECIALS)] = POW_SPECIALS
    x, t = cr.tensor(data), torch.from_numpy(data)
    with np.errstate(all="ignore"):
        got = [x ** exponent, cr.pow(x, exponent), x.pow(exponent)]
    want = (t ** exponent).numpy()
    for g in got:
        assert_close(g, want, atol=0, rtol=1e-5 if dtype == np.float32 else 1e-12)
        finite_or_zero = np.isinf(want) | (want == 0)  # and signs of zeros and infinities
        np.testing.assert_array_equal(np.signbit(g.numpy()[finite_or_zero]),
                                      np.signbit(want[finite_or_zero]))
    assert np.isnan(data).sum() == 1 and data.flat[1] == 0  # the input was not written


@pytest.mark.parametrize("exponent", [3, 4, -3, 1.5, -2.5, 2.7, 0.3, 17, 16.5], ids=str)
def test_pow_fast_paths_gradients_vs_torch(exponent):
    check_op([(3, 5)], lambda x: x ** exponent, low=0.2, high=3)
    check_op([(3, 5)], lambda x: torch.pow(x, float(exponent)),
             lambda x: cr.pow(x, float(exponent)), low=0.2, high=3, rtol=2e-5)
    check_second_order([(3, 5)], lambda x: x ** exponent, low=0.2, high=3)
    # below 1.5: x^17 of 3 is 1e8, and central differences of such sums lose the small entries
    check_gradcheck([(3, 5)], lambda x: x ** exponent, low=0.2, high=1.5)


def test_pow_of_integer_tensors_and_0d_like_torch():
    ints = np.array([[-3, 0, 2], [5, 1, -1]], dtype=np.int64)
    assert_close(cr.tensor(ints) ** 3, torch.from_numpy(ints) ** 3)
    assert_close(cr.tensor(ints).abs() ** 0.5, torch.from_numpy(ints).abs() ** 0.5)
    assert_close(cr.tensor(2.0) ** 3, torch.tensor(2.0) ** 3)
    assert_close(cr.tensor(2.0) ** 2.7, torch.tensor(2.0) ** 2.7)


def test_composed_tanh_gelu_matches_torch():
    # minGPT's NewGELU writes torch.pow(x, 3.0): the fast cube path gives F.gelu's numbers
    def new_gelu(lib, x):
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * lib.pow(x, 3.0))
        return 0.5 * x * (1.0 + lib.tanh(inner))
    check_op([(4, 8)], lambda x: new_gelu(torch, x), lambda x: new_gelu(cr, x), low=-4, high=4)
    check_op([(4, 8)], lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
             lambda x: new_gelu(cr, x), low=-4, high=4, atol=2e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_erf_of_a_large_array_in_blocks(dtype):
    """Host arrays over 512 KB go through erf in cache-sized blocks (GELU's hot path): the
    values of torch across the blocks' seams, with a non-contiguous input too."""
    x = np.random.default_rng(5).standard_normal((700, 301)).astype(dtype) * 3
    x[0, :4] = [np.inf, -np.inf, np.nan, 0.0]
    for a in (x, x.T):
        ours = cr.erf(cr.tensor(a)).numpy()
        np.testing.assert_allclose(ours, torch.erf(torch.tensor(a)).numpy(), rtol=0,
                                   atol=2e-7 if dtype == "float32" else 1e-15)


@pytest.mark.parametrize("call", [
    lambda lib, a, b: lib.add(a, b, alpha=0.5), lambda lib, a, b: lib.sub(a, 3, alpha=2.0),
    lambda lib, a, b: a.add(b, alpha=0.5), lambda lib, a, b: a.add_(b, alpha=1.5),
    lambda lib, a, b: a.sub_(b, alpha=0.25)])
def test_a_float_alpha_with_integral_inputs_is_refused_as_torch_refuses_it(call):
    """torch: "For integral input tensors, argument alpha must not be a floating point
    number"; NumPy would turn the integers into floats instead (add_: refuse in place)."""
    for lib in (torch, cr):
        a, b = lib.ones(3, dtype=lib.int64), lib.ones(3, dtype=lib.int64)
        with pytest.raises(RuntimeError, match="alpha must not be a floating point"):
            call(lib, a, b)
        assert a.tolist() == [1, 1, 1]  # nothing changed


def test_an_integral_alpha_and_float_inputs_still_work_as_torch():
    i, f = cr.ones(3, dtype=cr.int64), cr.ones(3)
    assert cr.add(i, i, alpha=2).tolist() == [3, 3, 3]
    assert cr.add(f, i, alpha=0.5).tolist() == [1.5, 1.5, 1.5]
    assert cr.sub(i, 1, alpha=3).tolist() == torch.sub(torch.ones(3, dtype=torch.int64), 1,
                                                       alpha=3).tolist()
