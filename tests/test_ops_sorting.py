"""sort, argsort, topk (ops/sorting.py) against PyTorch: values, indices, gradients and second
derivatives."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from oracle import assert_close, check_gradcheck, check_op, check_second_order



# Inputs without ties (a permutation, scaled), so that every library gives the same indices.
def _distinct(shape, seed=0):
    n = int(np.prod(shape))
    perm = np.random.default_rng(seed).permutation(n).astype(np.float32)
    return (perm / max(n, 1) * 4 - 2).reshape(shape)


# name, shape, fn (one lambda for both libraries: the methods agree; the functions are below)
SORT_OPS = [
    ("sort", (5,), lambda x: tuple(x.sort())),
    ("sort_method_dim0", (4, 3), lambda x: tuple(x.sort(0))),
    ("sort_desc", (3, 5), lambda x: tuple(x.sort(dim=1, descending=True))),
    ("sort_stable_kw", (2, 3, 4), lambda x: tuple(x.sort(dim=-2, stable=True))),
    ("sort_0d", (), lambda x: tuple(x.sort())),
    ("argsort", (3, 5), lambda x: x.argsort()),
    ("argsort_desc_dim0", (4, 3), lambda x: x.argsort(dim=0, descending=True)),
    ("topk", (6,), lambda x: tuple(x.topk(3))),
    ("topk_smallest", (3, 6), lambda x: tuple(x.topk(2, dim=1, largest=False))),
    ("topk_dim0", (5, 2, 3), lambda x: tuple(x.topk(4, 0))),
    ("topk_all", (4,), lambda x: tuple(x.topk(4))),
    ("topk_0", (2, 4), lambda x: tuple(x.topk(0))),
    ("topk_0d", (), lambda x: tuple(x.topk(1))),
    ("msort", (4, 3), lambda x: x.msort()),
]


@pytest.mark.parametrize("name,shape,fn", SORT_OPS, ids=[r[0] for r in SORT_OPS])
def test_sort_op_vs_torch(name, shape, fn):
    check_op([shape], fn, inputs=[_distinct(shape)])


@pytest.mark.parametrize("name,shape,fn", SORT_OPS, ids=[r[0] for r in SORT_OPS])
def test_sort_op_gradcheck(name, shape, fn):
    x = _distinct(shape).astype(np.float64)
    def squared_values(t):
        outs = fn(t)
        outs = outs if isinstance(outs, tuple) else (outs,)
        return tuple(o * o for o in outs if o.dtype.kind == "f")
    if not squared_values(cr.tensor(x)):  # argsort: indices only, nothing to differentiate
        return
    check_gradcheck([shape], squared_values, inputs=[x])


def test_sort_functions_vs_torch():
    x = _distinct((3, 4))
    check_op([(3, 4)], lambda t: tuple(torch.topk(t, 2, dim=0)),
             lambda t: tuple(cr.topk(t, 2, dim=0)), inputs=[x])
    check_op([(3, 4)], lambda t: torch.argsort(t, dim=1, descending=True),
             lambda t: cr.argsort(t, dim=1, descending=True), inputs=[x])
    check_op([(3, 4)], lambda t: torch.sort(t, dim=0, descending=True).values,
             lambda t: cr.sort(t, dim=0, descending=True).values, inputs=[x])


def test_sort_second_order_vs_torch():
    x = _distinct((3, 4)).astype(np.float64)
    check_second_order([(3, 4)], lambda t: t.sort(dim=1)[0] ** 3, inputs=[x])
    check_second_order([(3, 4)], lambda t: t.topk(2, dim=0)[0].tanh(), inputs=[x])


def test_ties_are_stable_and_nan_is_largest():
    data = np.array([1.0, np.nan, 0.0, 1.0, 0.0, np.nan], dtype=np.float32)
    for descending in (False, True):
        got = cr.sort(cr.tensor(data), descending=descending, stable=True)
        want = torch.sort(torch.from_numpy(data), descending=descending, stable=True)
        assert_close(got.values, want.values)
        assert_close(got.indices, want.indices)
    ints = np.array([[3, 1, 3, -2, 1]], dtype=np.int32)
    got = cr.sort(cr.tensor(ints), dim=1, descending=True, stable=True)
    want = torch.sort(torch.from_numpy(ints), dim=1, descending=True, stable=True)
    assert_close(got.values, want.values)
    assert_close(got.indices, want.indices)


def test_tied_values_share_no_gradient():
    # each value's gradient goes to the one element it was taken from
    x = cr.tensor([2.0, 2.0, 1.0], requires_grad=True)
    values, indices = x.topk(1)
    values.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0] and indices.tolist() == [0]


def test_result_fields_and_errors():
    result = cr.topk(cr.tensor([1.0, 3.0, 2.0]), 2)
    assert result.values.tolist() == [3.0, 2.0] and result.indices.tolist() == [1, 2]
    assert result.indices.dtype == np.int64
    with pytest.raises(RuntimeError, match=r"topk: k \(4\) is out of range"):
        cr.topk(cr.ones(3), 4)
    with pytest.raises(IndexError, match="sort: dim 2"):
        cr.sort(cr.ones(3, 2), dim=2)
    with pytest.raises(TypeError, match="argsort: expected a Tensor"):
        cr.argsort([3, 1])


# --- shapes and dims drawn by hypothesis ------------------------------------------------------

@st.composite
def shape_dim_k(draw):
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    k = draw(st.integers(0, shape[dim]))
    return shape, dim, k, draw(st.booleans())


@settings(max_examples=40, deadline=None)
@given(shape_dim_k())
def test_sort_and_topk_on_drawn_shapes_vs_torch(case):
    shape, dim, k, flag = case
    x = _distinct(shape, seed=len(shape) + k)
    check_op([shape], lambda t: tuple(t.sort(dim=dim, descending=flag)), inputs=[x])
    check_op([shape], lambda t: tuple(t.topk(k, dim=dim, largest=flag)), inputs=[x])
    check_op([shape], lambda t: t.argsort(dim=dim, descending=not flag), inputs=[x])
