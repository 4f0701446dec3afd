"""Tensor names that tutorials use, against torch: rounding (values and zero gradients),
in-place unary ops in and out of the graph, ``masked_fill_``, ``nonzero``, the ``new_*``
factories, size and type probes, and ``cr.pi`` / ``e`` / ``inf`` / ``nan``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(99)
# halves (ties), negatives, zeros and values around the integers
VALUES = np.concatenate([np.arange(-3, 3.5, 0.5), RNG.standard_normal(20) * 4, [0.0, -0.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "fix", "round", "frac"])
def test_rounding_values_and_gradients(name, dtype):
    a = VALUES.astype(dtype)
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = getattr(x, name)(), getattr(tx, name)()
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(getattr(cr, name)(x).detach().numpy(), ty.detach().numpy())
    w = RNG.standard_normal(a.shape).astype(dtype)
    (y * cr.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("decimals", [-2, -1, 1, 2, 3])
def test_round_with_decimals(decimals):
    a = (RNG.standard_normal(50) * 1000).astype(np.float32)
    np.testing.assert_array_equal(cr.tensor(a).round(decimals=decimals).numpy(),
                                  torch.tensor(a).round(decimals=decimals).numpy())


def test_rounding_integers_and_refusals():
    i = cr.arange(-3, 3)
    for name in ("floor", "ceil", "trunc", "round"):
        y = getattr(i, name)()
        assert y.dtype == cr.int64
        np.testing.assert_array_equal(y.numpy(), getattr(torch.arange(-3, 3), name)().numpy())
    with pytest.raises(TypeError, match="^frac: needs a floating-point tensor"):
        i.frac()
    with pytest.raises(TypeError, match="^round: decimals must be an int"):
        cr.tensor([1.5]).round(decimals=1.0)


def test_clamp_min_and_max():
    a = VALUES.astype(np.float32)
    for name, arg in (("clamp_min", 0.5), ("clamp_max", -0.5)):
        np.testing.assert_array_equal(getattr(cr.tensor(a), name)(arg).numpy(),
                                      getattr(torch.tensor(a), name)(arg).numpy())
        c, t = cr.tensor(a), torch.tensor(a)
        getattr(c, name + "_")(arg)
        getattr(t, name + "_")(arg)
        np.testing.assert_array_equal(c.numpy(), t.numpy())


INPLACE = ["exp_", "log_", "sqrt_", "abs_", "neg_", "sigmoid_", "tanh_", "floor_", "ceil_",
           "trunc_", "round_", "frac_"]


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_unary_outside_the_graph(name):
    a = (np.abs(VALUES) + 0.25).astype(np.float32)
    c, t = cr.tensor(a), torch.tensor(a)
    assert getattr(c, name)() is c
    getattr(t, name)()
    np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_unary_in_the_graph(name):
    a = (np.abs(VALUES) + 0.25).astype(np.float64)
    base, tbase = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    z, tz = base * 1.5, tbase * 1.5
    getattr(z, name)()
    getattr(tz, name)()
    np.testing.assert_allclose(z.detach().numpy(), tz.detach().numpy(), rtol=1e-12)
    assert repr(z.grad_fn) != "<MulBackward0>"  # rebased onto the new node
    (z * z).sum().backward()
    (tz * tz).sum().backward()
    np.testing.assert_allclose(base.grad.numpy(), tbase.grad.numpy(), rtol=1e-6)  # tanh: 1-y^2


def test_inplace_unary_refusals_as_torch():
    with pytest.raises(RuntimeError, match="^sqrt_: result type float32 can't be cast"):
        cr.arange(3).sqrt_()
    with pytest.raises(RuntimeError):
        torch.arange(3).sqrt_()
    with pytest.raises(RuntimeError, match="^exp_: a leaf tensor that requires grad"):
        cr.ones(2, requires_grad=True).exp_()


def test_masked_fill_in_place():
    a = RNG.standard_normal((3, 4))
    mask = a > 0.3
    c, t = cr.tensor(a), torch.tensor(a)
    assert c.masked_fill_(cr.tensor(mask), -1.0) is c
    t.masked_fill_(torch.tensor(mask), -1.0)
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    row = np.array([True, False, True, False])  # broadcast over the rows
    c, t = cr.tensor(a), torch.tensor(a)
    c.masked_fill_(cr.tensor(row), 7.0)
    t.masked_fill_(torch.tensor(row), 7.0)
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    # in the graph, with a value that requires grad
    base, tbase = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    v, tv = cr.tensor(2.0, requires_grad=True), torch.tensor(2.0, requires_grad=True, dtype=torch.float64)
    z, tz = base * 3, tbase * 3
    z.masked_fill_(cr.tensor(mask), v)
    tz.masked_fill_(torch.tensor(mask), tv)
    (z * z).sum().backward()
    (tz * tz).sum().backward()
    np.testing.assert_allclose(base.grad.numpy(), tbase.grad.numpy())
    np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy())


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), ()])
def test_nonzero(shape):
    a = RNG.integers(0, 2, shape).astype(np.float32) * RNG.standard_normal(shape).astype(np.float32)
    got, want = cr.tensor(a).nonzero(), torch.tensor(a).nonzero()
    assert got.dtype == cr.int64 and tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    np.testing.assert_array_equal(cr.argwhere(cr.tensor(a)).numpy(), want.numpy())
    got_t, want_t = cr.nonzero(cr.tensor(a), as_tuple=True), torch.tensor(a).nonzero(as_tuple=True)
    assert len(got_t) == len(want_t)
    for g, w in zip(got_t, want_t):
        np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_nonzero_is_refused_in_a_replayed_trace():
    with cr.autograd.trace(backward="vjp"), pytest.raises(RuntimeError, match="^nonzero: "):
        cr.tensor([0.0, 1.0]).nonzero()


@pytest.mark.parametrize("source", [np.float32, np.float64, np.int64])
def test_new_factories(source):
    c, t = cr.tensor(np.ones(2, source)), torch.tensor(np.ones(2, source))
    cases = [
        (lambda x: x.new_zeros(2, 3), None), (lambda x: x.new_zeros((2,)), None),
        (lambda x: x.new_ones(3), None), (lambda x: x.new_full((2, 2), 7), None),
        (lambda x: x.new_tensor([1, 2]), None), (lambda x: x.new_tensor([1.5, 2.5]), None),
        (lambda x, dt: x.new_zeros(2, dtype=dt), "float64"), (lambda x, dt: x.new_ones(2, dtype=dt), "int32"),
    ]
    for make, dt in cases:
        args = () if dt is None else (getattr(cr, dt),)
        targs = () if dt is None else (getattr(torch, dt),)
        got, want = make(c, *args), make(t, *targs)
        assert str(got.dtype).split(".")[1] == str(want.dtype).split(".")[1]
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    e = c.new_empty(2, 3)
    assert tuple(e.shape) == (2, 3) and e.dtype == c.dtype
    g = c.new_zeros(2, dtype=cr.float32, requires_grad=True)
    assert g.requires_grad and g.is_leaf


def test_size_and_type_probes():
    for dtype, tdtype in ((cr.float32, torch.float32), (cr.float64, torch.float64),
                          (cr.int64, torch.int64), (cr.bool, torch.bool)):
        c, t = cr.zeros(2, 3, 4, dtype=dtype), torch.zeros(2, 3, 4, dtype=tdtype)
        assert (c.ndimension(), c.element_size(), c.itemsize, c.nbytes) == \
            (t.ndimension(), t.element_size(), t.itemsize, t.nbytes)
        assert (c.is_cuda, c.is_floating_point(), c.is_complex()) == \
            (t.is_cuda, t.is_floating_point(), t.is_complex())


def test_constants():
    assert (cr.pi, cr.e, cr.inf) == (torch.pi, torch.e, torch.inf) == (math.pi, math.e, math.inf)
    assert math.isnan(cr.nan) and isinstance(cr.nan, float)
