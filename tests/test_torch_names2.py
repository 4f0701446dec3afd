"""Another batch of torch's names against torch: div's rounding modes and ``//``, one-argument
``where``, ``isclose``, ``count_nonzero``, ``movedim``, ``tile``, ``diff``, ``atleast_*d``, the
stacks, ``broadcast_tensors`` / ``broadcast_shapes``, ``index_add``, ``normal``, the casts
(``byte``, ``char``, ``short``, ``type_as``), ``pow_``, the thread count, dtype promotion
queries, ``is_nonzero`` and ``autograd.Variable``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from oracle import intel_with_mkl

RNG = np.random.default_rng(21)
FLOATS = (np.array([-7.5, -3.0, 0.0, 3.0, 7.5, 5.0, -0.5]), np.array([2.0, -2.0, 3.0, 2.0, -2.5, 0.5, 4.0]))
INTS = (np.array([-7, -3, 0, 3, 7, 9, -1]), np.array([2, -2, 3, 2, -3, 4, 5]))


@pytest.mark.parametrize("a, b", [FLOATS, INTS])
@pytest.mark.parametrize("mode", ["floor", "trunc"])
def test_div_rounding_modes_and_floor_division(a, b, mode):
    got = cr.div(cr.tensor(a), cr.tensor(b), rounding_mode=mode)
    want = torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode)
    assert str(got.dtype).split(".")[1] == str(want.dtype).split(".")[1]
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    np.testing.assert_array_equal((cr.tensor(a) // cr.tensor(b)).numpy(), (torch.tensor(a) // torch.tensor(b)).numpy())
    np.testing.assert_array_equal((cr.tensor(a) // 2).numpy(), (torch.tensor(a) // 2).numpy())
    np.testing.assert_array_equal((7 // cr.tensor(b)).numpy(), (7 // torch.tensor(b)).numpy())
    np.testing.assert_array_equal(cr.floor_divide(cr.tensor(a), 3).numpy(), torch.floor_divide(torch.tensor(a), 3).numpy())


def test_div_rounding_gradients_and_refusals():
    x, tx = cr.tensor(FLOATS[0], requires_grad=True), torch.tensor(FLOATS[0], requires_grad=True)
    cr.div(x, 2, rounding_mode="floor").sum().backward()
    torch.div(tx, 2, rounding_mode="floor").sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())  # zeros
    with pytest.raises(RuntimeError, match="derivative is not implemented"):
        (x // 2).sum().backward()
    with pytest.raises(RuntimeError):
        (tx // 2).sum().backward()
    with pytest.raises(RuntimeError, match="^div: integer division by zero"):
        cr.tensor([1, 2]) // 0
    with pytest.raises(ValueError, match="^div: rounding_mode must be"):
        cr.div(x, 2, rounding_mode="round")
    got = cr.tensor([1.0, -1.0, 0.0]) // cr.tensor([0.0, 0.0, 0.0])  # floats: inf, nan as torch
    want = torch.tensor([1.0, -1.0, 0.0]) // torch.tensor([0.0, 0.0, 0.0])
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_one_argument_where_isclose_count_nonzero():
    a = RNG.standard_normal((3, 4))
    c, t = cr.tensor(a), torch.tensor(a)
    for g, w in zip(cr.where(c > 0), torch.where(t > 0)):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    special = np.array([np.inf, -np.inf, np.nan, 1.0])
    for kw in ({}, dict(equal_nan=True), dict(rtol=0.1, atol=0.0)):
        np.testing.assert_array_equal(cr.isclose(cr.tensor(special), cr.tensor(special * 1.01), **kw).numpy(),
                                      torch.isclose(torch.tensor(special), torch.tensor(special * 1.01), **kw).numpy())
    for dim in (None, 0, 1, (0, 1)):
        np.testing.assert_array_equal(cr.count_nonzero(c > 0, dim).numpy(), torch.count_nonzero(t > 0, dim).numpy())


SHAPE_CASES = {
    "movedim": (lambda L, x: L.movedim(x, 0, 2), (2, 3, 4)),
    "movedim several": (lambda L, x: x.movedim((0, 1), (2, 0)), (2, 3, 4)),
    "tile": (lambda L, x: L.tile(x, (2, 1, 3)), (2, 3)),
    "tile fewer dims": (lambda L, x: x.tile((2,)), (2, 3)),
    "diff": (lambda L, x: L.diff(x, n=2, dim=0), (4, 3)),
    "diff prepend": (lambda L, x: x.diff(prepend=x[:, :1], append=x[:, -1:]), (4, 3)),
    "hstack": (lambda L, x: L.hstack([x, x * 2]), (2, 3)),
    "vstack": (lambda L, x: L.vstack([x, x[0]]), (2, 3)),
    "dstack": (lambda L, x: L.dstack([x, x]), (2, 3)),
    "column_stack": (lambda L, x: L.column_stack([x[0], x[1]]), (2, 3)),
    "atleast_3d": (lambda L, x: L.atleast_3d(x), (3,)),
    "broadcast_tensors": (lambda L, x: L.broadcast_tensors(x, L.ones(4, 1, 3))[0], (2, 3)),
}


@pytest.mark.parametrize("case", sorted(SHAPE_CASES))
def test_shape_functions_values_and_gradients(case):
    fn, shape = SHAPE_CASES[case]
    a = RNG.standard_normal(shape)
    c, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = fn(cr, c), fn(torch, t)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy())
    w = RNG.standard_normal(tuple(ty.shape))
    (y * cr.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy())
    assert cr.broadcast_shapes((4, 1), (1, 5), 5) == torch.broadcast_shapes((4, 1), (1, 5), 5)
    with pytest.raises(RuntimeError, match="^broadcast_shapes: shapes"):
        cr.broadcast_shapes((2,), (3,))


def test_index_add():
    a, src = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 3))
    index = np.array([1, 3, 1])  # a repeated index adds up
    c, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    s, ts = cr.tensor(src, requires_grad=True), torch.tensor(src, requires_grad=True)
    y, ty = cr.index_add(c, 1, cr.tensor(index), s, alpha=2), torch.index_add(t, 1, torch.tensor(index), ts, alpha=2)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy())
    w = RNG.standard_normal((3, 4))
    (y * cr.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy())
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy())
    c2, t2 = cr.tensor(a), torch.tensor(a)
    c2.index_add_(0, cr.tensor([2, 0]), cr.ones(2, 4))
    t2.index_add_(0, torch.tensor([2, 0]), torch.ones(2, 4, dtype=torch.float64))
    np.testing.assert_allclose(c2.numpy(), t2.numpy())
    with pytest.raises(ValueError, match="^index_add: source shape"):
        cr.index_add(cr.zeros(3, 4), 1, cr.tensor([0]), cr.ones(3, 2))


@pytest.mark.parametrize("seed", [0, 5])
def test_normal_draws_torch_numbers(seed):
    m = np.arange(20.0, dtype=np.float32)
    s = np.linspace(0.1, 2, 20).astype(np.float32)
    for make_cr, make_torch in (
        (lambda: cr.normal(2.0, 3.0, size=(5, 4)), lambda: torch.normal(2.0, 3.0, size=(5, 4))),
        (lambda: cr.normal(cr.tensor(m), cr.tensor(s)), lambda: torch.normal(torch.tensor(m), torch.tensor(s))),
        (lambda: cr.normal(cr.tensor(m), 1.5), lambda: torch.normal(torch.tensor(m), 1.5)),
        (lambda: cr.normal(0.5, cr.tensor(s)), lambda: torch.normal(0.5, torch.tensor(s))),
    ):
        cr.manual_seed(seed)
        torch.manual_seed(seed)
        np.testing.assert_array_equal(make_cr().numpy(), make_torch().numpy())
    with pytest.raises(TypeError, match="^normal: give size"):
        cr.normal(0.0, 1.0)


def test_casts_pow_and_probes():
    x, tx = cr.arange(4), torch.arange(4)
    for name in ("byte", "char", "short"):
        assert str(getattr(x, name)().dtype).split(".")[1] == str(getattr(tx, name)().dtype).split(".")[1]
    assert cr.ones(2).type_as(x).dtype == cr.int64
    for L in (cr, torch):
        base = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
        z = base * 1
        z.pow_(3)
        (z * L.tensor([1.0, 1.0, 2.0])).sum().backward()
        assert z.detach().tolist() == [1.0, 8.0, 27.0] and base.grad.tolist() == [3.0, 12.0, 54.0]
    with pytest.raises(RuntimeError, match="^pow_: result type float32 can't be cast"):
        cr.arange(3).pow_(0.5)
    assert cr.is_nonzero(cr.tensor([1])) is True and cr.is_nonzero(cr.tensor(0.0)) is False
    with pytest.raises(RuntimeError, match="^is_nonzero: a tensor with 2 elements"):
        cr.is_nonzero(cr.tensor([1, 2]))


def test_promotion_queries_as_torch():
    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
    for a in names:
        for b in names:
            got = cr.promote_types(getattr(cr, a), getattr(cr, b))
            want = torch.promote_types(getattr(torch, a), getattr(torch, b))
            assert str(got).split(".")[1] == str(want).split(".")[1], (a, b)
            assert cr.can_cast(getattr(cr, a), getattr(cr, b)) == \
                torch.can_cast(getattr(torch, a), getattr(torch, b)), (a, b)
    for x, y in ((cr.randn(2), cr.tensor([1, 2])), (cr.tensor([1, 2]), 2.5), (cr.tensor([1, 2]), 3)):
        tx = torch.tensor(x.numpy()) if isinstance(x, cr.Tensor) else x
        ty = torch.tensor(y.numpy()) if isinstance(y, cr.Tensor) else y
        assert str(cr.result_type(x, y)).split(".")[1] == str(torch.result_type(tx, ty)).split(".")[1]


def test_threads_and_variable():
    n = cr.get_num_threads()
    assert n >= 1
    cr.set_num_threads(1)
    try:
        assert cr.get_num_threads() == 1
    finally:
        cr.set_num_threads(n)
    assert cr.get_num_threads() == n
    with pytest.raises(ValueError, match="^set_num_threads: expects a positive int"):
        cr.set_num_threads(0)
    v = cr.autograd.Variable(cr.ones(2), requires_grad=True)
    assert isinstance(v, cr.autograd.Variable) and isinstance(cr.zeros(1), cr.autograd.Variable)
    (v * 2).sum().backward()
    assert v.grad.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("fn", ["nansum", "nanmean"])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_nan_reductions(fn, dim):
    a = np.array([[1.0, np.nan, 3.0], [np.nan, 5.0, 6.0]])
    c, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = getattr(c, fn)(dim), getattr(t, fn)(dim)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy())
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy())


def test_aminmax_std_mean_var_mean_sign_fill_diagonal_and_conj():
    b = RNG.standard_normal((3, 4))
    got, want = cr.aminmax(cr.tensor(b), dim=1), torch.aminmax(torch.tensor(b), dim=1)
    np.testing.assert_array_equal(got.min.numpy(), want.min.numpy())
    np.testing.assert_array_equal(got.max.numpy(), want.max.numpy())
    for fn in ("std_mean", "var_mean"):
        for g, w in zip(getattr(cr, fn)(cr.tensor(b), dim=0), getattr(torch, fn)(torch.tensor(b), dim=0)):
            np.testing.assert_allclose(g.numpy(), w.numpy())
    c, t = cr.tensor(b), torch.tensor(b)
    c.sign_()
    t.sign_()
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    for shape, wrap in (((3, 3), False), ((5, 2), False), ((7, 3), True), ((2, 2, 2), False)):
        c, t = cr.zeros(*shape), torch.zeros(*shape)
        c.fill_diagonal_(5.0, wrap)
        t.fill_diagonal_(5.0, wrap)
        np.testing.assert_array_equal(c.numpy(), t.numpy())
    base = cr.tensor(b, requires_grad=True)
    z = base * 1
    z.fill_diagonal_(0.0)
    z.sum().backward()
    np.testing.assert_array_equal(base.grad.numpy(), 1 - np.eye(3, 4))
    np.testing.assert_array_equal(cr.tensor(b).H.numpy(), torch.tensor(b).H.numpy())
    np.testing.assert_array_equal(cr.tensor(b).mH.numpy(), torch.tensor(b).mH.numpy())
    x = cr.tensor(b)
    assert x.conj() is x and x.real is x


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("shape", [(7,), (40,), (3, 5)])
def test_random_fills_draw_torch_numbers(seed, shape):
    for name, args in (("exponential_", (2.0,)), ("random_", (0, 10)), ("random_", (5,))):
        cr.manual_seed(seed)
        torch.manual_seed(seed)
        got, want = getattr(cr.zeros(*shape), name)(*args), getattr(torch.zeros(*shape), name)(*args)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    got = cr.zeros(*shape).bernoulli_(0.3)
    assert set(np.unique(got.numpy())) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="^random_: expects from_ < to"):
        cr.zeros(2).random_(5, 5)
    with pytest.raises(ValueError, match="^exponential_: lambd must be positive"):
        cr.zeros(2).exponential_(0.0)


@pytest.mark.skipif(intel_with_mkl(), reason="torch draws bernoulli_(p) from MKL's stream on Intel CPUs")
def test_bernoulli_fill_draws_torch_numbers():
    p = np.linspace(0, 1, 30).astype(np.float32)
    for seed in (0, 4):
        cr.manual_seed(seed)
        torch.manual_seed(seed)
        np.testing.assert_array_equal(cr.zeros(30).bernoulli_(0.3).numpy(), torch.zeros(30).bernoulli_(0.3).numpy())
        np.testing.assert_array_equal(cr.zeros(30).bernoulli_(cr.tensor(p)).numpy(),
                                      torch.zeros(30).bernoulli_(torch.tensor(p)).numpy())


@pytest.mark.parametrize("arg", [3, 4, [1, 4], [-2, 10], [3, 1]])
def test_tensor_split_and_friends(arg):
    a = RNG.standard_normal((4, 6))
    got, want = cr.tensor_split(cr.tensor(a), arg, dim=1), torch.tensor_split(torch.tensor(a), arg, dim=1)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    for name, sections in (("hsplit", 3), ("vsplit", [1])):
        for g, w in zip(getattr(cr, name)(cr.tensor(a), sections), getattr(torch, name)(torch.tensor(a), sections)):
            np.testing.assert_array_equal(g.numpy(), w.numpy())
    with pytest.raises(RuntimeError, match="^hsplit: dim 1 of size 6 does not split into 4"):
        cr.hsplit(cr.tensor(a), 4)


@pytest.mark.parametrize("k", [-1, 0, 1, 2, 3, 5])
@pytest.mark.parametrize("dims", [(0, 1), (1, 0), (1, 2)])
def test_rot90(k, dims):
    a = RNG.standard_normal((2, 3, 4))
    c, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = cr.rot90(c, k, dims), torch.rot90(t, k, dims)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    w = RNG.standard_normal(tuple(ty.shape))
    (y * cr.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())


def test_take_index_copy_cov_corrcoef():
    a = RNG.standard_normal((4, 6))
    idx = [[0, 5], [-1, 7]]
    np.testing.assert_array_equal(cr.take(cr.tensor(a), cr.tensor(idx)).numpy(),
                                  torch.take(torch.tensor(a), torch.tensor(idx)).numpy())
    src = RNG.standard_normal((4, 2))
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    s, ts = cr.tensor(src, requires_grad=True), torch.tensor(src, requires_grad=True)
    y, ty = cr.index_copy(x, 1, cr.tensor([4, 1]), s), torch.index_copy(tx, 1, torch.tensor([4, 1]), ts)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    w = RNG.standard_normal((4, 6))
    (y * cr.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy())
    c2, t2 = cr.tensor(a), torch.tensor(a)
    c2.index_copy_(0, cr.tensor([3]), cr.ones(1, 6, dtype=cr.float64))
    t2.index_copy_(0, torch.tensor([3]), torch.ones(1, 6, dtype=torch.float64))
    np.testing.assert_array_equal(c2.numpy(), t2.numpy())
    for fn, kw in ((cr.cov, {}), (cr.cov, dict(correction=0)), (cr.corrcoef, {})):
        tfn = getattr(torch, fn.__name__)
        x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, ty = fn(x, **kw), tfn(tx, **kw)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
        w = RNG.standard_normal((4, 4))
        (y * cr.tensor(w)).sum().backward()
        (ty * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(cr.cov(cr.tensor(a[0])).numpy(), torch.cov(torch.tensor(a[0])).numpy())


@pytest.mark.parametrize("weights", [("f",), ("a",), ("f", "a")])
@pytest.mark.parametrize("correction", [0, 1, 2])
def test_cov_with_weights(weights, correction):
    a = RNG.standard_normal((3, 6))
    fw, aw = np.array([1, 2, 0, 3, 1, 1]), RNG.random(6)
    ckw, tkw = dict(correction=correction), dict(correction=correction)
    if "f" in weights:
        ckw["fweights"], tkw["fweights"] = cr.tensor(fw), torch.tensor(fw)
    if "a" in weights:
        ckw["aweights"], tkw["aweights"] = cr.tensor(aw), torch.tensor(aw)
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = cr.cov(x, **ckw), torch.cov(tx, **tkw)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    with pytest.raises(TypeError, match="^cov: fweights must be integers"):
        cr.cov(x, fweights=cr.tensor(aw))
    with pytest.raises(ValueError, match="^cov: aweights must be 1-D"):
        cr.cov(x, aweights=cr.ones(5))
