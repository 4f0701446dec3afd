"""Reductions, softmax and log_softmax against PyTorch, gradcheck, ties, zeros and extremes."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from oracle import assert_close, check_gradcheck, check_op, check_second_order, to_torch

# (dim, keepdim) combinations on a (2, 3, 4) input; None means all dims
DIMS = [(None, False), (0, False), (1, True), (-1, False), ((0, 2), False), ((0, 2), True),
        ((-1, -2), False), ((0, 1, 2), True)]

# name, fn(x, dim, keepdim) for both libraries
REDUCE = [
    ("sum", lambda x, d, k: x.sum() if d is None else x.sum(d, keepdim=k)),
    ("mean", lambda x, d, k: x.mean() if d is None else x.mean(d, keepdim=k)),
    ("var", lambda x, d, k: x.var() if d is None else x.var(d, keepdim=k)),
    ("var_unbiased_false", lambda x, d, k: x.var(d, unbiased=False, keepdim=k)),
    ("var_correction0", lambda x, d, k: x.var(d, correction=0, keepdim=k)),
    ("var_correction2", lambda x, d, k: x.var(d, correction=2, keepdim=k)),
    ("std", lambda x, d, k: x.std() if d is None else x.std(d, keepdim=k)),
    ("std_unbiased_false", lambda x, d, k: x.std(d, unbiased=False, keepdim=k)),
    ("std_correction0", lambda x, d, k: x.std(d, correction=0, keepdim=k)),
    ("prod", lambda x, d, k: x.prod() if d is None else x.prod(d, keepdim=k)),
    ("amax", lambda x, d, k: x.amax(() if d is None else d, keepdim=k) if isinstance(x, torch.Tensor)
     else x.amax(d, keepdim=k)),
    ("amin", lambda x, d, k: x.amin(() if d is None else d, keepdim=k) if isinstance(x, torch.Tensor)
     else x.amin(d, keepdim=k)),
    ("logsumexp", lambda x, d, k: x.logsumexp(tuple(range(x.ndim)) if d is None else d, keepdim=k)),
    ("norm", lambda x, d, k: x.norm(dim=d, keepdim=k)),
    ("norm1", lambda x, d, k: x.norm(p=1, dim=d, keepdim=k)),
    ("norm3", lambda x, d, k: x.norm(p=3, dim=d, keepdim=k)),
    ("norm_inf", lambda x, d, k: x.norm(p=float("inf"), dim=d, keepdim=k)),
]

_TORCH_NO_TUPLE = {"prod"}  # torch.prod takes a single int dim


def _applicable(name, dim):
    if name.startswith("norm") and isinstance(dim, tuple) and len(dim) > 2:
        return False  # torch's Tensor.norm takes at most two dims
    return not (name in _TORCH_NO_TUPLE and isinstance(dim, tuple))


ROWS = [(name, fn, d, k) for name, fn in REDUCE for d, k in DIMS if _applicable(name, d)]


@pytest.mark.parametrize("name,fn,dim,keepdim", ROWS,
                         ids=[f"{r[0]}-{r[2]}-{r[3]}" for r in ROWS])
def test_reduce_vs_torch(name, fn, dim, keepdim):
    low = 0.5 if name == "prod" else -2.0
    check_op([(3, 4, 5)], lambda x: fn(x, dim, keepdim), low=low, high=2.0, away_from=0.0,
             atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name,fn", REDUCE, ids=[r[0] for r in REDUCE])
def test_reduce_gradcheck(name, fn):
    for dim, keepdim in [(None, False), (1, True), ((0, 2), False)]:
        if _applicable(name, dim):
            check_gradcheck([(2, 3, 4)], lambda x: fn(x, dim, keepdim), away_from=0.0,
                            second_order=dim == 1)


def test_prod_tuple_dim_matches_nested_torch_prod():
    check_op([(2, 3, 4)], lambda x: x.prod(2).prod(0), lambda x: x.prod((0, 2)))


@pytest.mark.parametrize("zeros", [[(0, 1)], [(0, 1), (1, 2)], [(0, 0), (0, 3)]], ids=str)
def test_prod_with_zeros_like_torch(zeros):
    a = np.random.default_rng(0).uniform(0.5, 2, (2, 4)).astype(np.float32)
    for idx in zeros:
        a[idx] = 0.0
    check_op(None, lambda x: x.prod(), inputs=[a.copy()])
    check_op(None, lambda x: x.prod(1), inputs=[a.copy()])
    check_op(None, lambda x: x.prod(0, keepdim=True), inputs=[a.copy()])
    b = a.astype(np.float64)
    check_gradcheck(None, lambda x: x.prod(1), inputs=[b], second_order=False)


def test_prod_with_zeros_second_order():
    a = np.array([[0.0, 2.0, 3.0], [1.0, 0.5, -1.5]])
    check_second_order(None, lambda x: x.prod(1), inputs=[a])
    b = np.array([[0.0, 0.0, 3.0], [1.0, 0.5, -1.5]])
    check_second_order(None, lambda x: x.prod(1), inputs=[b])


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, True), (-1, False)])
def test_max_min_dim_values_indices(op, dim, keepdim):
    out = check_op([(3, 5)], lambda x: tuple(getattr(x, op)(dim, keepdim=keepdim)))
    assert out[1].dtype == np.int64 and not out[1].requires_grad
    r = getattr(cr.randn(3, 5), op)(dim, keepdim)
    assert r.values is r[0] and r.indices is r[1]


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_dim_gradcheck(op):
    check_gradcheck([(3, 5)], lambda x: getattr(x, op)(1)[0] * x.sum(1))
    check_gradcheck([(3, 5)], lambda x: getattr(x, op)(0, keepdim=True).values ** 2)


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_all(op):
    check_op([(3, 5)], lambda x: getattr(x, op)())
    check_op([(3, 5)], lambda x: getattr(torch, op)(x), lambda x: getattr(cr, op)(x))


def test_max_min_ties_like_torch():
    # amax/amin and max() split the gradient evenly among ties; max(dim) sends it to the index
    a = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]], dtype=np.float32)
    for fn in (lambda x: x.amax(1), lambda x: x.amin(1), lambda x: x.amax(),
               lambda x: x.amax((0, 1)) if isinstance(x, cr.Tensor) else x.amax((0, 1)),
               lambda x: x.max(), lambda x: x.min(),
               lambda x: x.max(1)[0], lambda x: x.min(1)[0], lambda x: x.max(0, keepdim=True)[0],
               lambda x: x.norm(p=float("inf"), dim=1)):
        check_op(None, fn, inputs=[a.copy()])


def test_max_binary_form():
    check_op([(3, 4), (4,)], lambda x, y: torch.max(x, y), lambda x, y: cr.max(x, y))
    check_op([(3, 4), (4,)], lambda x, y: torch.min(x, y), lambda x, y: cr.min(x, y))


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin(op):
    a = np.random.default_rng(3).standard_normal((3, 4, 5)).astype(np.float32)
    a[0, 0, 1] = a[0, 0, 3] = 10  # a tie: both return the first index
    x, t = cr.tensor(a, requires_grad=True), to_torch(a)
    for args in [(), (0,), (1,), (-1,)]:
        assert_close(getattr(x, op)(*args), getattr(t, op)(*args))
        assert_close(getattr(cr, op)(x, *args), getattr(torch, op)(t, *args))
    assert_close(getattr(x, op)(1, keepdim=True), getattr(t, op)(1, keepdim=True))
    r = getattr(x, op)(1)
    assert r.dtype == np.int64 and not r.requires_grad and r.grad_fn is None


SOFTMAX_SHAPES = [((5,), 0), ((3, 5), 1), ((3, 5), 0), ((2, 3, 4), -1), ((2, 3, 4), 1)]


@pytest.mark.parametrize("shape,dim", SOFTMAX_SHAPES, ids=str)
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_vs_torch(op, shape, dim):
    check_op([shape], lambda x: getattr(x, op)(dim), low=-4, high=4)
    check_op([shape], lambda x: getattr(torch, op)(x, dim), lambda x: getattr(cr, op)(x, dim))


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_gradcheck(op):
    check_gradcheck([(3, 4)], lambda x: getattr(x, op)(1))
    check_gradcheck([(2, 3, 4)], lambda x: getattr(x, op)(0), second_order=False)


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_extreme_logits(op):
    a = np.array([[1e4, 0.0, -1e4], [1e4, 1e4 - 1, 1e4 + 2], [-1e4, -1e4, -1e4]],
                 dtype=np.float32)
    out = check_op(None, lambda x: getattr(x, op)(1), inputs=[a], atol=1e-3)
    assert np.isfinite(out[0]._array).all()
    check_op(None, lambda x: getattr(x, op)(1), inputs=[a.astype(np.float64)], atol=1e-8)


def test_log_softmax_with_minus_inf_entries():
    a = np.array([[0.0, -np.inf, 1.0], [-np.inf, 2.0, -np.inf]], dtype=np.float32)
    out = check_op(None, lambda x: x.log_softmax(1), inputs=[a.copy()], backward=False)
    assert np.isfinite(out[0]._array[[0, 0, 1], [0, 2, 1]]).all()
    # backward with an upstream that is 0 on the -inf entries is finite, like torch
    x, t = cr.tensor(a, requires_grad=True), to_torch(a, requires_grad=True)
    g = np.array([[1.0, 0.0, -2.0], [0.0, 1.5, 0.0]], dtype=np.float32)
    x.log_softmax(1).backward(cr.tensor(g))
    t.log_softmax(1).backward(torch.from_numpy(g))
    assert_close(x.grad, t.grad)
    assert np.isfinite(x.grad._array).all()
    # softmax and logsumexp with -inf entries, and a row that is all -inf
    check_op(None, lambda x: x.softmax(1), inputs=[a.copy()])
    check_op(None, lambda x: x.logsumexp(1), inputs=[a.copy()])
    b = np.full((1, 3), -np.inf, dtype=np.float32)
    check_op(None, lambda x: x.logsumexp(1), inputs=[b], backward=False)
    # a row of only -inf: NaN like torch (no finite answer), and no NumPy warning
    c = np.array([[-np.inf, -np.inf], [0.0, 1.0]], dtype=np.float32)
    for op in ("softmax", "log_softmax"):
        check_op(None, lambda x: getattr(x, op)(1), inputs=[c.copy()], backward=False)


def test_mean_of_int_tensor_errors():
    with pytest.raises(TypeError, match="mean"):
        cr.tensor([1, 2, 3]).mean()


def test_sum_of_int_and_bool_tensor_gives_int64():
    assert_close(cr.tensor([1, 2, 3], dtype=cr.int32).sum(),
                 torch.tensor([1, 2, 3], dtype=torch.int32).sum())
    assert_close(cr.tensor([True, False, True]).sum(), torch.tensor([True, False, True]).sum())
    assert_close(cr.tensor([[1.0, 2.0]]).sum(dtype=cr.float64),
                 torch.tensor([[1.0, 2.0]]).sum(dtype=torch.float64))


ZERO_D = [
    ("sum", lambda x: x.sum()), ("sum_dim", lambda x: x.sum(0)), ("mean", lambda x: x.mean()),
    ("prod", lambda x: x.prod()), ("amax", lambda x: x.amax()), ("max", lambda x: x.max()),
    ("logsumexp", lambda x: x.logsumexp(0)), ("softmax", lambda x: x.softmax(0)),
    ("log_softmax", lambda x: x.log_softmax(0)), ("norm", lambda x: x.norm()),
    ("max_dim", lambda x: x.max(0)[0]), ("mean_keep", lambda x: x.mean(0, keepdim=True)),
]


@pytest.mark.parametrize("name,fn", ZERO_D, ids=[r[0] for r in ZERO_D])
def test_reductions_of_0d_tensors(name, fn):
    check_op([()], fn, low=0.5, high=2)


def test_unknown_dim_errors_name_the_op():
    x = cr.randn(2, 3)
    for call, name in [(lambda: x.sum(2), "sum"), (lambda: x.mean(-3), "mean"),
                       (lambda: x.softmax(5), "softmax"), (lambda: x.amax((0, 4)), "amax"),
                       (lambda: x.max(2), "max"), (lambda: x.argmax(3), "argmax"),
                       (lambda: x.logsumexp(2), "logsumexp"), (lambda: x.var(2), "var")]:
        with pytest.raises(IndexError, match=rf"{name}.*dim"):
            call()


def test_second_order_reductions_vs_torch():
    check_second_order([(3, 4)], lambda x: (x.sum(1) ** 2))
    check_second_order([(3, 4)], lambda x: (x.mean(0) ** 2))
    check_second_order([(3, 4)], lambda x: x.softmax(1))
    check_second_order([(3, 4)], lambda x: x.log_softmax(1))
    check_second_order([(3, 4)], lambda x: x.logsumexp(1))
    check_second_order([(3, 4)], lambda x: x.var(1))
    check_second_order([(3, 4)], lambda x: x.std(0))
    check_second_order([(3, 4)], lambda x: x.norm(dim=1))
    check_second_order([(3, 4)], lambda x: x.norm(p=3, dim=1), away_from=0.0)
    check_second_order([(3, 4)], lambda x: x.prod(1), low=0.5)
    check_second_order([(3, 4)], lambda x: x.amax(1) * x.sum(1))


def test_norm_at_zero_gradient_is_zero_like_torch():
    a = np.zeros((2, 3), dtype=np.float32)
    check_op(None, lambda x: x.norm(), inputs=[a.copy()])
    check_op(None, lambda x: x.norm(dim=1), inputs=[a.copy()])


# --- hypothesis: random shapes, dims and keepdim ----------------------------------------------

@st.composite
def shape_and_dims(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    dims = draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1, max_size=2,
                         unique_by=lambda d: d % len(shape)))
    return shape, tuple(dims), draw(st.booleans())


HYPO = [
    ("sum", lambda x, d, k: x.sum(d, keepdim=k)),
    ("mean", lambda x, d, k: x.mean(d, keepdim=k)),
    ("amax", lambda x, d, k: x.amax(d, keepdim=k)),
    ("amin", lambda x, d, k: x.amin(d, keepdim=k)),
    ("logsumexp", lambda x, d, k: x.logsumexp(d, keepdim=k)),
    ("var0", lambda x, d, k: x.var(d, correction=0, keepdim=k)),
    ("norm", lambda x, d, k: x.norm(dim=d, keepdim=k)),
    ("prod", lambda x, d, k: x.prod(d[0], keepdim=k)),
    ("max", lambda x, d, k: x.max(d[0], keepdim=k)[0]),
    ("softmax", lambda x, d, k: x.softmax(d[0])),
]


@pytest.mark.parametrize("name,fn", HYPO, ids=[r[0] for r in HYPO])
@settings(max_examples=20, deadline=None)
@given(case=shape_and_dims(), seed=st.integers(0, 1000))
def test_reductions_random_dims_vs_torch(name, fn, case, seed):
    shape, dims, keepdim = case
    check_op([shape], lambda x: fn(x, dims, keepdim), low=0.5 if name == "prod" else -2.0,
             seed=seed, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("op", ["all", "any"])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 1), False)])
def test_all_any_vs_torch(op, dim, keepdim):
    a = np.array([[True, False, True], [True, True, True]])
    t = to_torch(a)
    want = getattr(t, op)() if dim is None else getattr(t, op)(dim, keepdim=keepdim)
    assert_close(getattr(cr.tensor(a), op)(dim, keepdim), want)
    assert_close(getattr(cr, op)(cr.tensor(a), dim, keepdim), want)


def test_sum_to_size_vs_torch():
    check_op([(2, 3, 4)], lambda x: x.sum_to_size(3, 1))
    check_op([(2, 3, 4)], lambda x: x.sum_to_size((1, 3, 4)))
    check_gradcheck([(2, 3, 4)], lambda x: x.sum_to_size(3, 1) ** 2)


def test_argmax_and_argmin_of_an_array_argument_match_torch():
    a = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    for name in ("argmax", "argmin"):
        for dim in (None, 0, 1):
            got = getattr(cr, name)(a, dim=dim)
            want = getattr(torch, name)(torch.tensor(a), dim=dim)
            np.testing.assert_array_equal(got._array, want.numpy())
