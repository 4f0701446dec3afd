"""chainrule.ops.special against torch: values (float32, float64, int inputs), gradients,
gradcheck / gradgradcheck in float64 inside each domain, and the domain edges."""

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.distributions import special as dist_special
from chainrule.ops import special as S
from oracle import assert_close, check_gradcheck, check_op, check_second_order, to_numpy

# name: (chainrule function, torch function, low, high) -- an interval inside the domain.
UNARY = {
    "tan": (S.tan, torch.tan, -1.3, 1.3),
    "sinh": (S.sinh, torch.sinh, -3.0, 3.0),
    "cosh": (S.cosh, torch.cosh, -3.0, 3.0),
    "asin": (S.asin, torch.asin, -0.95, 0.95),
    "acos": (S.acos, torch.acos, -0.95, 0.95),
    "atan": (S.atan, torch.atan, -3.0, 3.0),
    "asinh": (S.asinh, torch.asinh, -3.0, 3.0),
    "acosh": (S.acosh, torch.acosh, 1.05, 4.0),
    "atanh": (S.atanh, torch.atanh, -0.95, 0.95),
    "exp2": (S.exp2, torch.exp2, -3.0, 3.0),
    "reciprocal": (S.reciprocal, torch.reciprocal, 0.3, 3.0),
    "sinc": (S.sinc, torch.sinc, -2.5, 2.5),
    "erfc": (S.erfc, torch.erfc, -3.0, 5.0),
    "erfinv": (S.erfinv, torch.erfinv, -0.99, 0.99),
    "lgamma": (S.lgamma, torch.lgamma, 0.2, 6.0),
    "digamma": (S.digamma, torch.digamma, 0.2, 6.0),
    "polygamma1": (lambda x: S.polygamma(1, x), lambda x: torch.polygamma(1, x), 0.3, 6.0),
    "polygamma2": (lambda x: S.polygamma(2, x), lambda x: torch.polygamma(2, x), 0.3, 6.0),
}

# torch's float64 polygamma (n >= 1, through the Hurwitz zeta) is good to ~1e-9 only.
F64_RTOL = {"polygamma1": 1e-8, "polygamma2": 1e-8}

BINARY = {
    "atan2": (S.atan2, torch.atan2, -2.0, 2.0),
    "hypot": (S.hypot, torch.hypot, -2.0, 2.0),
    "xlogy": (S.xlogy, torch.xlogy, 0.2, 3.0),
    "logaddexp": (S.logaddexp, torch.logaddexp, -3.0, 3.0),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float32_values_and_gradients(name):
    fn, tfn, low, high = UNARY[name]
    check_op([(5, 4)], tfn, fn, low=low, high=high, seed=1)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float64_second_order_against_torch(name):
    fn, tfn, low, high = UNARY[name]
    rtol = F64_RTOL.get(name, 1e-10)
    check_op([(6,)], tfn, fn, low=low, high=high, dtype=np.float64, atol=1e-12, rtol=rtol,
             grad_atol=1e-11, grad_rtol=max(rtol, 1e-9), seed=2)
    check_second_order([(6,)], tfn, fn, low=low, high=high, seed=3, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradcheck_and_gradgradcheck(name):
    fn, _, low, high = UNARY[name]
    check_gradcheck([(4,)], fn, low=low, high=high, seed=4)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_integer_input_is_float32(name):
    fn, tfn, _, _ = UNARY[name]
    # not -1: torch's float32 trigamma there is 1.29e15, not the pole's inf
    ints = np.array([1, 2, 3, 0, 5], dtype=np.int64)
    got, want = fn(cr.tensor(ints)), tfn(torch.from_numpy(ints))
    assert want.dtype == torch.float32
    assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values_gradients_and_broadcasting(name):
    fn, tfn, low, high = BINARY[name]
    check_op([(3, 4), (4,)], tfn, fn, low=low, high=high, seed=5)
    check_op([(3, 1), (1, 4)], tfn, fn, low=low, high=high, dtype=np.float64, atol=1e-12,
             rtol=1e-10, grad_atol=1e-11, grad_rtol=1e-9, seed=6)
    check_second_order([(2, 3), (3,)], tfn, fn, low=low, high=high, seed=7, rtol=1e-6)
    check_gradcheck([(2, 3), (3,)], fn, low=low, high=high, seed=8)


def test_binary_integer_inputs_as_torch():
    a, b = np.array([1, 0, 3]), np.array([2, 5, 1])
    for fn, tfn in ((S.atan2, torch.atan2), (S.xlogy, torch.xlogy)):
        assert_close(fn(cr.tensor(a), cr.tensor(b)), tfn(torch.from_numpy(a), torch.from_numpy(b)))
    b64 = np.array([2.0, 5.0, 1.0])
    assert_close(S.atan2(cr.tensor(a), cr.tensor(b64)),
                 torch.atan2(torch.from_numpy(a), torch.from_numpy(b64)))
    for fn in (S.hypot, S.logaddexp):  # torch has no integer kernel for these
        with pytest.raises(TypeError):
            fn(cr.tensor(a), cr.tensor(b))


def test_xlogy_with_a_number_and_at_zero():
    y = np.array([0.0, 2.0, np.nan, 0.5])
    x = np.array([0.0, 0.0, 0.0, 3.0])
    check_op([], torch.xlogy, S.xlogy, inputs=[x, y], dtype=np.float64)
    assert_close(S.xlogy(2.0, cr.tensor(y[1:], dtype=np.float32)),
                 torch.xlogy(2.0, torch.from_numpy(y[1:].astype(np.float32))))


def _edge(fn, tfn, points, dtype=np.float32):
    """Forward and first gradient of ``fn`` at ``points`` equal torch's (inf and nan alike)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy warnings must not leak at the edges
        check_op([], tfn, fn, inputs=[np.array(points, dtype=dtype)], seed=9)


@pytest.mark.parametrize("name, points", [
    ("asin", [1.0, -1.0, 1.5, -2.0, 0.0]),
    ("acos", [1.0, -1.0, 1.5, -2.0]),
    ("acosh", [1.0, 0.5, -1.0, 2.0]),
    ("atanh", [1.0, -1.0, 1.5, 0.0]),
    ("erfinv", [1.0, -1.0, 1.5, -1.5, 0.0]),
    ("reciprocal", [0.0, -0.0, np.inf]),
    ("sinc", [0.0, 1.0, -2.0]),
    ("tan", [np.inf]),
    ("sinh", [100.0, -100.0]),
    ("cosh", [100.0, -100.0]),
    ("exp2", [200.0, -200.0]),
    ("erfc", [6.0, 10.0, 30.0, -30.0, np.inf, np.nan]),
    ("lgamma", [0.0, -1.0, -2.5, -0.5, np.inf, np.nan]),
    ("digamma", [0.0, -0.0, -2.5, -0.5, np.inf, -np.inf, np.nan]),  # -1: see above
    ("polygamma1", [0.0, -2.5, -0.5, np.inf, np.nan]),
    ("polygamma2", [0.0, -2.5, np.inf]),
])
def test_domain_edges_match_torch(name, points):
    fn, tfn, _, _ = UNARY[name]
    _edge(fn, tfn, points)
    _edge(fn, tfn, points, dtype=np.float64)


def test_binary_edges_match_torch():
    zero = np.array([0.0, 1.0, np.inf, -np.inf])
    other = np.array([0.0, np.inf, np.inf, -np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fn, tfn in ((S.atan2, torch.atan2), (S.hypot, torch.hypot),
                        (S.logaddexp, torch.logaddexp)):
            check_op([], tfn, fn, inputs=[zero, other], dtype=np.float64, seed=10)
        check_op([], torch.logaddexp, S.logaddexp,
                 inputs=[np.array([1000.0, -1000.0]), np.array([-1000.0, 1000.0])])


def test_erfc_and_erfinv_are_accurate_in_the_tail():
    x = np.array([3.0, 6.0, 9.0, 20.0, 26.0])
    got = to_numpy(S.erfc(cr.tensor(x, dtype=np.float64)))
    np.testing.assert_allclose(got, torch.erfc(torch.from_numpy(x)).numpy(), rtol=1e-13)
    # erfinv undoes erf to float64 precision, near 1 too (1 - 1e-12: 7 in 1e12 ulps of 1)
    p = np.array([-0.999999999999, -0.7, -0.2, 1e-8, 0.3, 0.9, 0.9999, 0.999999999999,
                  1 - 1e-15])
    y = to_numpy(S.erfinv(cr.tensor(p, dtype=np.float64)))
    np.testing.assert_allclose(y, torch.erfinv(torch.from_numpy(p)).numpy(), rtol=1e-13)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_polygamma_orders_and_negative_arguments(n):
    x = np.array([-3.7, -1.5, -0.25, 0.01, 0.7, 3.0, 14.5, 40.0])
    check_op([], lambda t: torch.polygamma(n, t), lambda t: S.polygamma(n, t),
             inputs=[x], dtype=np.float64, atol=1e-10, rtol=1e-8, grad_atol=1e-8,
             grad_rtol=1e-8)


def test_polygamma_closed_forms():
    """psi'(1) = pi^2 / 6, psi'(1/2) = pi^2 / 2, psi''(1) = -2 zeta(3), psi(1/2) = -g - 2 log 2:
    to float64 precision (tighter than torch's own polygamma)."""
    x = cr.tensor([1.0, 0.5], dtype=np.float64)
    np.testing.assert_allclose(to_numpy(S.polygamma(1, x)), [np.pi ** 2 / 6, np.pi ** 2 / 2],
                               rtol=1e-14)
    zeta3 = 1.2020569031595942
    np.testing.assert_allclose(to_numpy(S.polygamma(2, x))[0], -2 * zeta3, rtol=1e-14)
    np.testing.assert_allclose(to_numpy(S.digamma(x))[1], -0.5772156649015329 - 2 * np.log(2),
                               rtol=1e-14)


def test_polygamma_rejects_a_bad_order():
    with pytest.raises(ValueError):
        S.polygamma(-1, cr.tensor([1.0]))


def test_aliases_and_the_distributions_names():
    assert (S.arcsin, S.arccos, S.arctan) == (S.asin, S.acos, S.atan)
    assert (S.arcsinh, S.arccosh, S.arctanh, S.arctan2) == (S.asinh, S.acosh, S.atanh, S.atan2)
    assert dist_special.lgamma is S.lgamma and dist_special.digamma is S.digamma
    assert dist_special.polygamma is S.polygamma


def test_node_names_are_torch_names():
    x = cr.tensor([0.5], requires_grad=True)
    for fn, tfn in ((S.tan, torch.tan), (S.erfinv, torch.erfinv), (S.digamma, torch.digamma),
                    (S.reciprocal, torch.reciprocal), (S.lgamma, torch.lgamma)):
        want = type(tfn(torch.tensor([0.5], requires_grad=True)).grad_fn).__name__
        assert repr(fn(x).grad_fn) == f"<{want}>"
