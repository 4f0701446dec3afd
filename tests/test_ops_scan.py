"""cumsum and cumprod (ops/scan.py) against PyTorch, with zeros, dtypes and second order."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from oracle import assert_close, check_gradcheck, check_op, check_second_order

# name, shape, torch fn, chainrule fn (None: the same lambda)
SCAN_OPS = [
    ("cumsum", (5,), lambda x: torch.cumsum(x, 0), lambda x: cr.cumsum(x, 0)),
    ("cumsum_dim1", (3, 4), lambda x: x.cumsum(1), None),
    ("cumsum_neg", (2, 3, 4), lambda x: x.cumsum(dim=-2), None),
    ("cumsum_0d", (), lambda x: x.cumsum(0), None),
    ("cumsum_f64", (3, 2), lambda x: x.cumsum(0, dtype=torch.float64),
     lambda x: x.cumsum(0, dtype=cr.float64)),
    ("cumprod", (5,), lambda x: torch.cumprod(x, 0), lambda x: cr.cumprod(x, 0)),
    ("cumprod_dim1", (3, 4), lambda x: x.cumprod(1), None),
    ("cumprod_neg", (2, 3, 4), lambda x: x.cumprod(dim=-3), None),
    ("cumprod_0d", (), lambda x: x.cumprod(0), None),
]
ROWS = [(n, s, t, c or t) for n, s, t, c in SCAN_OPS]


@pytest.mark.parametrize("name,shape,torch_fn,cr_fn", ROWS, ids=[r[0] for r in ROWS])
def test_scan_vs_torch(name, shape, torch_fn, cr_fn):
    check_op([shape], torch_fn, cr_fn)


@pytest.mark.parametrize("name,shape,torch_fn,cr_fn", ROWS, ids=[r[0] for r in ROWS])
def test_scan_gradcheck(name, shape, torch_fn, cr_fn):
    check_gradcheck([shape], lambda x: cr_fn(x) ** 2, away_from=0.0)


@pytest.mark.parametrize("name,shape,torch_fn,cr_fn", ROWS, ids=[r[0] for r in ROWS])
def test_scan_second_order_vs_torch(name, shape, torch_fn, cr_fn):
    check_second_order([shape], lambda x: torch_fn(x) ** 2, lambda x: cr_fn(x) ** 2,
                       away_from=0.0)


# Zeros make the division formula 0/0: the exact route must agree with torch, also at order 2.
ZEROS = [
    np.array([2.0, 0.0, 3.0, -1.5]),
    np.array([0.0, 0.0, 3.0, 2.0]),
    np.array([[1.5, 0.0, 2.0], [0.0, -1.0, 0.5], [1.0, 2.0, 3.0]]),
]


@pytest.mark.parametrize("data", ZEROS, ids=["one_zero", "two_zeros", "rows"])
@pytest.mark.parametrize("dim", [0, -1])
def test_cumprod_with_zeros_vs_torch(data, dim):
    if data.ndim == 1 and dim == 0:
        dim = -1
    check_op([data.shape], lambda x: torch.cumprod(x, dim), lambda x: cr.cumprod(x, dim),
             inputs=[data.astype(np.float32)])
    check_second_order([data.shape], lambda x: torch.cumprod(x, dim) ** 2,
                       lambda x: cr.cumprod(x, dim) ** 2, inputs=[data])
    check_gradcheck([data.shape], lambda x: cr.cumprod(x, dim), inputs=[data])


def test_integer_scans_are_int64_like_torch():
    for dtype in (np.int32, np.int64, np.bool_):
        data = np.array([[1, 0, 1], [1, 1, 0]], dtype=dtype)
        for name in ("cumsum", "cumprod"):
            got = getattr(cr, name)(cr.tensor(data), 1)
            want = getattr(torch, name)(torch.from_numpy(data), 1)
            assert_close(got, want)


def test_scan_errors():
    with pytest.raises(IndexError, match="cumsum: dim 2"):
        cr.cumsum(cr.ones(3, 2), 2)
    with pytest.raises(TypeError, match="cumprod: expected a Tensor"):
        cr.cumprod([1.0, 2.0], 0)


# --- shapes and dims drawn by hypothesis, zeros included ----------------------------------------

@st.composite
def scan_case(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    zeros = draw(st.lists(st.integers(0, int(np.prod(shape)) - 1), max_size=2))
    return shape, dim, zeros


@settings(max_examples=40, deadline=None)
@given(scan_case())
def test_scans_on_drawn_shapes_vs_torch(case):
    shape, dim, zeros = case
    data = np.random.default_rng(len(shape)).uniform(-2, 2, shape)
    data.flat[zeros] = 0.0
    for name in ("cumsum", "cumprod"):
        check_op([shape], lambda t: getattr(t, name)(dim), inputs=[data.astype(np.float32)],
                 grad_atol=1e-4)
        check_second_order([shape], lambda t: getattr(t, name)(dim) ** 2, inputs=[data])
