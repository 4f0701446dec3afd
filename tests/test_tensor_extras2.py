"""More torch names against torch: scatter / scatter_add / masked_select / index_fill (and
their in-place forms), fmod / remainder / %, lerp, addcmul, addcdiv, nan_to_num, median,
quantile, unique, bincount, logspace, the in-place view ops, ParameterList / ParameterDict."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

RNG = np.random.default_rng(11)


def _grads_match(fn_cr, fn_torch, *arrays, rtol=1e-10):
    cs = [cr.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = fn_cr(*cs), fn_torch(*ts)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=rtol)
    w = RNG.standard_normal(tuple(ty.shape))
    (y * cr.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    for c, t in zip(cs, ts):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("dim", [0, 1])
@pytest.mark.parametrize("op", ["scatter", "scatter_add"])
def test_scatter_family(op, dim):
    a = RNG.standard_normal((3, 5))
    index = np.array([[0, 2, 1, 0, 2], [2, 1, 0, 1, 0]]) if dim == 0 else \
        np.array([[0, 4, 2], [1, 3, 2], [4, 0, 1]])   # no repeats within a row: one writer each
    src = RNG.standard_normal(index.shape)
    _grads_match(lambda x, s: getattr(cr, op)(x, dim, cr.tensor(index), s),
                 lambda x, s: getattr(torch, op)(x, dim, torch.tensor(index), s), a, src)
    # in place, and a number for scatter
    c, t = cr.tensor(a), torch.tensor(a)
    getattr(c, op + "_")(dim, cr.tensor(index), cr.tensor(src))
    getattr(t, op + "_")(dim, torch.tensor(index), torch.tensor(src))
    np.testing.assert_allclose(c.numpy(), t.numpy())
    if op == "scatter":
        np.testing.assert_array_equal(cr.tensor(a).scatter(dim, cr.tensor(index), 7.0).numpy(),
                                      torch.tensor(a).scatter(dim, torch.tensor(index), 7.0).numpy())
        assert cr.autograd.gradgradcheck(
            lambda x, s: cr.scatter(x, dim, cr.tensor(index), s) ** 2,
            (cr.tensor(a, requires_grad=True), cr.tensor(src, requires_grad=True)))


def test_scatter_one_hot_idiom_and_errors():
    labels = np.array([2, 0, 1])
    got = cr.zeros(3, 4).scatter_(1, cr.tensor(labels).unsqueeze(1), 1.0)
    want = torch.zeros(3, 4).scatter_(1, torch.tensor(labels).unsqueeze(1), 1.0)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(IndexError, match="^scatter: index 4 is out of bounds for dim 1"):
        cr.zeros(2, 4).scatter(1, cr.tensor([[4]]), 1.0)
    with pytest.raises(TypeError, match="^scatter: give exactly one of src and value"):
        cr.zeros(2).scatter(0, cr.tensor([0]))
    base = cr.randn(3, 4, requires_grad=True)
    z = base * 2
    z.scatter_(1, cr.tensor(labels).unsqueeze(1), 0.0)  # in the graph: the written slots get 0
    z.sum().backward()
    assert base.grad.numpy().sum() == 2 * (12 - 3)


def test_masked_select_and_index_fill():
    a = RNG.standard_normal((3, 4))
    for mask in (a > 0, (a > 0)[0]):  # broadcast mask too
        _grads_match(lambda x: cr.masked_select(x, cr.tensor(mask)),
                     lambda x: torch.masked_select(x, torch.tensor(mask)), a)
    _grads_match(lambda x: x.index_fill(1, cr.tensor([0, 3]), -1.0),
                 lambda x: x.index_fill(1, torch.tensor([0, 3]), -1.0), a)
    c, t = cr.tensor(a), torch.tensor(a)
    c.index_fill_(0, cr.tensor([2]), 5.0)
    t.index_fill_(0, torch.tensor([2]), 5.0)
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    with pytest.raises(IndexError, match="^index_fill: index 9 is out of range"):
        cr.zeros(2, 3).index_fill(1, cr.tensor([9]), 0.0)


@pytest.mark.parametrize("op", ["fmod", "remainder"])
def test_fmod_and_remainder(op):
    a, b = RNG.standard_normal(8) * 5, RNG.standard_normal(8) + 2.5
    _grads_match(getattr(cr, op), getattr(torch, op), a, b)
    np.testing.assert_allclose(getattr(cr.tensor(a), op)(2.5).numpy(),
                               getattr(torch.tensor(a), op)(2.5).numpy())
    ints = np.array([-7, -3, 0, 3, 7])
    np.testing.assert_array_equal(getattr(cr, op)(cr.tensor(ints), 3).numpy(),
                                  getattr(torch, op)(torch.tensor(ints), 3).numpy())
    if op == "remainder":
        np.testing.assert_array_equal((cr.tensor(ints) % 3).numpy(), (torch.tensor(ints) % 3).numpy())
        np.testing.assert_array_equal((7 % cr.tensor([2, 3])).numpy(), (7 % torch.tensor([2, 3])).numpy())


@pytest.mark.parametrize("weight", [0.25, 0.75, 1.0, "tensor"])
def test_lerp(weight):
    s, e, w = RNG.standard_normal(6), RNG.standard_normal(6), RNG.random(6)
    if weight == "tensor":
        _grads_match(cr.lerp, torch.lerp, s, e, w)
    else:
        _grads_match(lambda a, b: cr.lerp(a, b, weight), lambda a, b: torch.lerp(a, b, weight), s, e)
    c, t = cr.tensor(s), torch.tensor(s)
    c.lerp_(cr.tensor(e), 0.3)
    t.lerp_(torch.tensor(e), 0.3)
    np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-14)


@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
def test_addcmul_addcdiv(op):
    a, b, d = RNG.standard_normal(6), RNG.standard_normal(6), RNG.random(6) + 0.5
    _grads_match(lambda x, y, z: getattr(cr, op)(x, y, z, value=0.3),
                 lambda x, y, z: getattr(torch, op)(x, y, z, value=0.3), a, b, d)
    c, t = cr.tensor(a), torch.tensor(a)
    getattr(c, op + "_")(cr.tensor(b), cr.tensor(d), value=2.0)
    getattr(t, op + "_")(torch.tensor(b), torch.tensor(d), value=2.0)
    np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-14)


def test_nan_to_num():
    x0 = np.array([1.0, np.nan, np.inf, -np.inf, -2.0], dtype=np.float32)
    c, t = cr.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    y, ty = cr.nan_to_num(c), torch.nan_to_num(t)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())
    kw = dict(nan=1.0, posinf=2.0, neginf=-3.0)
    np.testing.assert_array_equal(cr.tensor(x0).nan_to_num(**kw).numpy(),
                                  torch.tensor(x0).nan_to_num(**kw).numpy())
    c = cr.tensor(x0)
    c.nan_to_num_()
    np.testing.assert_array_equal(c.numpy(), torch.tensor(x0).nan_to_num_().numpy())


@pytest.mark.parametrize("dim", [None, 0, 1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_median(dim, keepdim):
    if dim is None and keepdim:
        pytest.skip("no keepdim without a dim")
    a = RNG.standard_normal((4, 6))
    if dim is None:
        _grads_match(cr.median, torch.median, a)
        return
    got, want = cr.tensor(a).median(dim, keepdim), torch.tensor(a).median(dim, keepdim)
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    _grads_match(lambda x: x.median(dim, keepdim).values, lambda x: x.median(dim, keepdim).values, a)


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "nearest", "midpoint"])
@pytest.mark.parametrize("q", [0.3, [0.1, 0.5, 0.9]])
@pytest.mark.parametrize("dim", [None, 1])
def test_quantile(q, dim, interpolation):
    a = RNG.standard_normal((4, 7))

    def cq(x):
        qq = cr.tensor(q, dtype=cr.float64) if isinstance(q, list) else q
        return cr.quantile(x, qq, dim, interpolation=interpolation)

    def tq(x):
        qq = torch.tensor(q, dtype=torch.float64) if isinstance(q, list) else q
        return torch.quantile(x, qq, dim, interpolation=interpolation)

    _grads_match(cq, tq, a)
    with pytest.raises(ValueError, match="^quantile: q must be"):
        cr.quantile(cr.tensor(a), 1.5)


def test_unique_and_bincount():
    u = np.array([3, 1, 2, 3, 1, 5])
    for kw in ({}, dict(return_inverse=True), dict(return_counts=True),
               dict(return_inverse=True, return_counts=True)):
        got, want = cr.unique(cr.tensor(u), **kw), torch.unique(torch.tensor(u), **kw)
        got, want = (got,) if not isinstance(got, tuple) else got, \
            (want,) if not isinstance(want, tuple) else want
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w.numpy())
    m = np.array([[1, 2], [1, 2], [3, 4]])
    for g, w in zip(cr.unique(cr.tensor(m), dim=0, return_inverse=True),
                    torch.unique(torch.tensor(m), dim=0, return_inverse=True)):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    x = np.array([0, 1, 1, 3, 5])
    np.testing.assert_array_equal(cr.bincount(cr.tensor(x), minlength=8).numpy(),
                                  torch.bincount(torch.tensor(x), minlength=8).numpy())
    for weights in (np.array([0.5, 1, 2, 3, 4], np.float32), np.arange(5)):
        got = cr.tensor(x).bincount(cr.tensor(weights))
        want = torch.tensor(x).bincount(torch.tensor(weights))
        assert str(got.dtype).split(".")[1] == str(want.dtype).split(".")[1]
        np.testing.assert_allclose(got.numpy(), want.numpy())
    with pytest.raises(ValueError, match="^bincount: values must be non-negative"):
        cr.bincount(cr.tensor([-1, 2]))


def test_logspace_half_and_inplace_views():
    for args, kw in (((0, 2, 5), {}), ((0, 3, 4), dict(base=2)), ((-1, 1, 3), {})):
        np.testing.assert_allclose(cr.logspace(*args, **kw).numpy(), torch.logspace(*args, **kw).numpy(),
                                   rtol=1e-6)
    assert cr.ones(2).half().dtype == cr.float16
    c, t = cr.zeros(3, 1, 4), torch.zeros(3, 1, 4)
    for op, args in (("squeeze_", ()), ("unsqueeze_", (0,)), ("squeeze_", (0,)), ("t_", ())):
        getattr(c, op)(*args)
        getattr(t, op)(*args)
        assert tuple(c.shape) == tuple(t.shape)
    base = cr.randn(3, 4, requires_grad=True)
    z = base * 2
    z.unsqueeze_(1)
    assert tuple(z.shape) == (3, 1, 4)
    (z * z).sum().backward()
    np.testing.assert_allclose(base.grad.numpy(), 8 * base.detach().numpy(), rtol=1e-6)


def test_parameter_containers_as_torch():
    m, tm = nn.Module(), torch.nn.Module()
    m.ps = nn.ParameterList([nn.Parameter(cr.ones(2)) for _ in range(3)])
    tm.ps = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)) for _ in range(3)])
    m.pd = nn.ParameterDict({"a": nn.Parameter(cr.zeros(3)), "b": cr.ones(1)})
    tm.pd = torch.nn.ParameterDict({"a": torch.nn.Parameter(torch.zeros(3)), "b": torch.ones(1)})
    assert list(m.state_dict()) == list(tm.state_dict())
    assert len(list(m.parameters())) == len(list(tm.parameters())) == 5
    assert isinstance(m.pd["b"], nn.Parameter) and m.pd["b"].requires_grad
    assert repr(m.ps) == repr(tm.ps).replace("torch", "chainrule")
    assert repr(m.pd) == repr(tm.pd).replace("torch", "chainrule")
    m.ps.append(cr.zeros(4))
    assert len(m.ps) == 4 and tuple(m.ps[-1].shape) == (4,) and isinstance(m.ps[3], nn.Parameter)
    assert [tuple(p.shape) for p in m.ps[1:3]] == [(2,), (2,)]
    assert sorted(m.pd.keys()) == ["a", "b"] and "a" in m.pd
    with pytest.raises(TypeError, match="^ParameterList has no forward"):
        m.ps()


@pytest.mark.parametrize("make", [
    lambda L, t: t.select(1, 2), lambda L, t: t.select(-1, -1), lambda L, t: L.select(t, 0, 1),
    lambda L, t: t.narrow(1, 1, 2), lambda L, t: t.narrow(0, -2, 2), lambda L, t: L.narrow(t, 1, 0, 4),
])
def test_select_and_narrow_are_views_as_torch(make):
    a = RNG.standard_normal((3, 4))
    _grads_match(lambda x: make(cr, x), lambda x: make(torch, x), a)
    c, t = cr.tensor(a), torch.tensor(a)
    make(cr, c).fill_(7.0)  # writes through, as torch's views do
    make(torch, t).fill_(7.0)
    np.testing.assert_array_equal(c.numpy(), t.numpy())


def test_select_and_narrow_errors():
    with pytest.raises(IndexError, match=r"^select: index 5 is out of range for dim 0 of size 3"):
        cr.zeros(3, 2).select(0, 5)
    with pytest.raises(RuntimeError, match=r"^narrow: start \(2\) \+ length \(3\) exceeds"):
        cr.zeros(4).narrow(0, 2, 3)
