"""Hypothesis draws broadcastable shape pairs; every binary elementwise op must agree with torch."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from oracle import check_op


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast: a common shape, each side dropping lead dims or using 1s."""
    ndim = draw(st.integers(0, 4))
    full = draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim))
    shapes = []
    for _ in range(2):
        keep = draw(st.integers(0, ndim))
        dims = full[ndim - keep:]
        ones = draw(st.lists(st.booleans(), min_size=keep, max_size=keep))
        shapes.append(tuple(1 if one else n for n, one in zip(dims, ones)))
    return shapes


BINARY = [
    ("add", lambda x, y: x + y, -2, 2),
    ("sub", lambda x, y: x - y, -2, 2),
    ("mul", lambda x, y: x * y, -2, 2),
    ("div", lambda x, y: x / y, 0.3, 2),
    ("pow", lambda x, y: x ** y, 0.3, 2),
    ("maximum", lambda x, y: x.maximum(y), -2, 2),
    ("minimum", lambda x, y: x.minimum(y), -2, 2),
    ("where", None, -2, 2),
]


def _where(lib):
    return lambda x, y: lib.where(x > y, x * y, y)


@pytest.mark.parametrize("name,fn,low,high", BINARY, ids=[r[0] for r in BINARY])
@settings(max_examples=25, deadline=None)
@given(shapes=broadcast_pair(), seed=st.integers(0, 1000))
def test_binary_broadcasting_vs_torch(name, fn, low, high, shapes, seed):
    torch_fn, cr_fn = (_where(torch), _where(cr)) if fn is None else (fn, None)
    check_op(shapes, torch_fn, cr_fn, low=low, high=high, seed=seed)


@settings(max_examples=25, deadline=None)
@given(shapes=broadcast_pair(), seed=st.integers(0, 1000))
def test_broadcast_gradients_sum_back_to_each_shape(shapes, seed):
    a_shape, b_shape = shapes
    rng = np.random.default_rng(seed)
    a = cr.tensor(rng.standard_normal(a_shape), dtype=cr.float64, requires_grad=True)
    b = cr.tensor(rng.standard_normal(b_shape), dtype=cr.float64, requires_grad=True)
    out = a * 2 + b
    out.sum().backward()
    n_out = int(np.prod(out.shape))
    assert a.grad.shape == a_shape and b.grad.shape == b_shape
    # every element of a (of b) reaches n_out / a.numel() outputs
    np.testing.assert_allclose(a.grad._array, 2 * n_out / max(a.numel(), 1))
    np.testing.assert_allclose(b.grad._array, n_out / max(b.numel(), 1))


@settings(max_examples=15, deadline=None)
@given(shapes=broadcast_pair(), seed=st.integers(0, 1000))
def test_broadcast_gradcheck_float64(shapes, seed):
    rng = np.random.default_rng(seed)
    xs = [cr.tensor(rng.uniform(0.5, 2, s), dtype=cr.float64, requires_grad=True) for s in shapes]
    assert cr.autograd.gradcheck(lambda x, y: (x * y) / (x + y) + x ** y, xs)
