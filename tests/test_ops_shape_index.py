"""Shape and indexing ops against PyTorch (forward and backward) and gradcheck in float64."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
from oracle import assert_close, check_gradcheck, check_op, check_second_order

# name, input shapes, fn (the same for both libraries unless a pair is given)
SHAPE_OPS = [
    ("reshape", [(2, 3, 4)], lambda x: x.reshape(6, 4)),
    ("reshape_tuple", [(2, 3, 4)], lambda x: x.reshape((4, -1))),
    ("reshape_0d", [()], lambda x: x.reshape(1, 1)),
    ("reshape_to_0d", [(1,)], lambda x: x.reshape(())),
    ("view", [(2, 3, 4)], lambda x: x.view(2, 12)),
    ("view_as", [(2, 3, 4), (4, 6)], lambda x, y: x.view_as(y) * y),
    ("flatten", [(2, 3, 4)], lambda x: x.flatten()),
    ("flatten_1", [(2, 3, 4, 5)], lambda x: x.flatten(1)),
    ("flatten_mid", [(2, 3, 4, 5)], lambda x: x.flatten(1, 2)),
    ("flatten_0d", [()], lambda x: x.flatten()),
    # a channels-last input (a conv's output): forward copies, backward copies back
    ("flatten_permuted", [(2, 4, 3)], lambda x: (x * 1).permute(0, 2, 1).flatten(1)),
    ("flatten_permuted_mid", [(2, 4, 5, 3)], lambda x: (x * 1).permute(0, 3, 1, 2).flatten(2)),
    # few positions and many channels (N (C - P) > 170 P): copied one position at a time
    ("flatten_permuted_few_positions", [(10, 2, 40)],
     lambda x: (x * 1).permute(0, 2, 1).flatten(1)),
    ("flatten_permuted_few_positions_2d", [(10, 2, 1, 40)],
     lambda x: (x * 1).permute(0, 3, 1, 2).flatten(1)),
    ("transpose", [(2, 3, 4)], lambda x: x.transpose(0, 2)),
    ("transpose_neg", [(2, 3, 4)], lambda x: x.transpose(-1, -2)),
    ("T", [(3, 4)], lambda x: x.T),
    ("t", [(3, 4)], lambda x: x.t()),
    ("mT", [(2, 3, 4)], lambda x: x.mT),
    ("permute", [(2, 3, 4)], lambda x: x.permute(2, 0, 1)),
    ("permute_tuple", [(2, 3, 4)], lambda x: x.permute((1, 2, 0))),
    ("permute_neg", [(2, 3, 4)], lambda x: x.permute(-1, 0, 1)),
    ("squeeze", [(2, 1, 4, 1)], lambda x: x.squeeze()),
    ("squeeze_dim", [(2, 1, 4, 1)], lambda x: x.squeeze(1)),
    ("squeeze_not1", [(2, 1, 4)], lambda x: x.squeeze(0)),
    ("squeeze_neg", [(2, 1, 4, 1)], lambda x: x.squeeze(-1)),
    ("unsqueeze", [(2, 3)], lambda x: x.unsqueeze(1)),
    ("unsqueeze_neg", [(2, 3)], lambda x: x.unsqueeze(-1)),
    ("unsqueeze_0d", [()], lambda x: x.unsqueeze(0)),
    ("expand", [(3, 1)], lambda x: x.expand(3, 4)),
    ("expand_minus1", [(3, 1)], lambda x: x.expand(2, -1, 5)),
    ("expand_as", [(1, 4), (3, 4)], lambda x, y: x.expand_as(y) * y),
    ("broadcast_to", [(3, 1)], lambda x: x.broadcast_to((2, 3, 4))),
    ("broadcast_to_fn", [(4,)], lambda x: torch.broadcast_to(x, (3, 4)),
     lambda x: cr.broadcast_to(x, (3, 4))),
    ("cat0", [(2, 3), (4, 3)], lambda x, y: torch.cat([x, y]), lambda x, y: cr.cat([x, y])),
    ("cat1", [(2, 3), (2, 5), (2, 1)], lambda x, y, z: torch.cat((x, y, z), dim=1),
     lambda x, y, z: cr.cat((x, y, z), dim=1)),
    ("cat_neg", [(2, 3, 1), (2, 3, 2)], lambda x, y: torch.cat([x, y], -1),
     lambda x, y: cr.cat([x, y], -1)),
    ("cat_same", [(2, 3)], lambda x: torch.cat([x, x * 2, x]), lambda x: cr.cat([x, x * 2, x])),
    ("stack0", [(2, 3), (2, 3)], lambda x, y: torch.stack([x, y]), lambda x, y: cr.stack([x, y])),
    ("stack_last", [(2, 3), (2, 3), (2, 3)], lambda x, y, z: torch.stack([x, y, z], dim=-1),
     lambda x, y, z: cr.stack([x, y, z], dim=-1)),
    ("stack_0d", [(), ()], lambda x, y: torch.stack([x, y]), lambda x, y: cr.stack([x, y])),
    ("split_int", [(7, 3)], lambda x: tuple(x.split(3))),
    ("split_sizes", [(7, 3)], lambda x: tuple(x.split([2, 5]))),
    ("split_dim1", [(2, 7)], lambda x: tuple(x.split(2, dim=1))),
    ("split_fn", [(6, 2)], lambda x: torch.split(x, 4), lambda x: cr.split(x, 4)),
    ("chunk", [(7, 3)], lambda x: tuple(x.chunk(3))),
    ("chunk_dim", [(2, 6)], lambda x: tuple(x.chunk(4, dim=1))),
    ("chunk_fn", [(5, 2)], lambda x: torch.chunk(x, 2), lambda x: cr.chunk(x, 2)),
    ("unbind", [(3, 2)], lambda x: torch.unbind(x, 1), lambda x: cr.unbind(x, 1)),
    ("flip", [(3, 4)], lambda x: torch.flip(x, (0, 1)), lambda x: cr.flip(x, (0, 1))),
    ("pad_last", [(2, 3)], lambda x: F.pad(x, (1, 2)), lambda x: cr.pad(x, (1, 2))),
    ("pad_two", [(2, 3, 4)], lambda x: F.pad(x, (1, 0, 2, 1)), lambda x: cr.pad(x, (1, 0, 2, 1))),
    ("pad_value", [(2, 3)], lambda x: F.pad(x, (0, 2, 1, 1), value=-1.5),
     lambda x: cr.pad(x, (0, 2, 1, 1), value=-1.5)),
]
# issue 12: triangles, repetition, rolling
SHAPE_OPS += [
    ("tril", [(3, 4)], lambda x: x.tril()),
    ("tril_fn_k", [(2, 3, 4)], lambda x: torch.tril(x, 1), lambda x: cr.tril(x, 1)),
    ("tril_neg", [(4, 3)], lambda x: x.tril(diagonal=-1)),
    ("triu", [(3, 4)], lambda x: x.triu()),
    ("triu_fn_k", [(2, 4, 3)], lambda x: torch.triu(x, -1), lambda x: cr.triu(x, -1)),
    ("triu_big_k", [(3, 3)], lambda x: x.triu(5)),
    ("repeat", [(2, 3)], lambda x: x.repeat(2, 3)),
    ("repeat_lead", [(2, 3)], lambda x: x.repeat(2, 1, 2)),
    ("repeat_tuple", [(3,)], lambda x: x.repeat((4, 2))),
    ("repeat_0d", [()], lambda x: x.repeat(3)),
    ("repeat_zero", [(2, 3)], lambda x: x.repeat(0, 1)),
    ("repeat_interleave", [(2, 3)], lambda x: x.repeat_interleave(2)),
    ("repeat_interleave_dim", [(2, 3)], lambda x: x.repeat_interleave(3, dim=1)),
    ("repeat_interleave_counts", [(3, 2)],
     lambda x: torch.repeat_interleave(x, torch.tensor([1, 0, 2]), dim=0),
     lambda x: cr.repeat_interleave(x, cr.tensor([1, 0, 2]), dim=0)),
    ("repeat_interleave_neg", [(2, 2, 3)],
     lambda x: x.repeat_interleave(torch.tensor([2, 1, 1]), dim=-1),
     lambda x: x.repeat_interleave(cr.tensor([2, 1, 1]), dim=-1)),
    ("roll", [(5,)], lambda x: x.roll(2)),
    ("roll_flat", [(3, 4)], lambda x: torch.roll(x, -5), lambda x: cr.roll(x, -5)),
    ("roll_dim", [(3, 4)], lambda x: x.roll(1, 1)),
    ("roll_dims", [(2, 3, 4)], lambda x: x.roll((1, -2), (0, 2))),
    ("roll_neg_dim", [(3, 4)], lambda x: torch.roll(x, shifts=7, dims=-1),
     lambda x: cr.roll(x, shifts=7, dims=-1)),
    ("flip_method", [(2, 3, 4)], lambda x: x.flip(0, 2)),
    ("flip_method_tuple", [(2, 3)], lambda x: x.flip((1,))),
]


def _pair(row):
    name, shapes, fn, *rest = row
    return name, shapes, fn, rest[0] if rest else None


SHAPE_ROWS = [_pair(r) for r in SHAPE_OPS]


@pytest.mark.parametrize("name,shapes,torch_fn,cr_fn", SHAPE_ROWS, ids=[r[0] for r in SHAPE_ROWS])
def test_shape_op_vs_torch(name, shapes, torch_fn, cr_fn):
    check_op(shapes, torch_fn, cr_fn)


@pytest.mark.parametrize("name,shapes,torch_fn,cr_fn", SHAPE_ROWS, ids=[r[0] for r in SHAPE_ROWS])
def test_shape_op_gradcheck(name, shapes, torch_fn, cr_fn):
    fn = cr_fn or torch_fn
    # a nonlinear tail so that gradgradcheck has a second derivative to check
    check_gradcheck(shapes, lambda *xs: tuple(o * o for o in _as_tuple(fn(*xs))))


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


# --- indexing ----------------------------------------------------------------------------------

INDEX = [
    ("int", (4, 3), lambda x: x[1]),
    ("neg_int", (4, 3), lambda x: x[-1]),
    ("slice", (5, 4), lambda x: x[1:4]),
    ("step", (6, 4), lambda x: x[::2, 1:]),
    ("neg_slice", (5, 4), lambda x: x[-3:-1, :-1]),
    ("ellipsis", (2, 3, 4), lambda x: x[..., 1]),
    ("none", (3, 4), lambda x: x[:, None, 1:3]),
    ("scalar", (3, 4), lambda x: x[1, 2]),
    ("int_list", (5, 3), lambda x: x[[0, 2, 4]]),
    ("repeated", (5, 3), lambda x: x[[0, 0, 2, 0]]),
    ("int_tensor", (5, 3), None),
    ("two_arrays", (4, 5), lambda x: x[[0, 1, 1, 3], [4, 2, 2, 0]]),
    ("array_slice", (4, 5), lambda x: x[1:3, [0, 0, 4]]),
    ("array_2d", (5, 3), None),
    ("bool_mask", (3, 4), None),
    ("bool_rows", (4, 3), None),
    ("neg_array", (5, 3), lambda x: x[[-1, -2, -1]]),
]


def _index_fns(name, fn):
    if name == "int_tensor":
        return (lambda x: x[torch.tensor([3, 1, 3])], lambda x: x[cr.tensor([3, 1, 3])])
    if name == "array_2d":
        idx = np.array([[0, 1], [4, 4]])
        return (lambda x: x[torch.from_numpy(idx)], lambda x: x[cr.tensor(idx)])
    if name == "bool_mask":
        return (lambda x: x[x > 0.3], lambda x: x[x > 0.3])
    if name == "bool_rows":
        m = np.array([True, False, True, True])
        return (lambda x: x[torch.from_numpy(m)], lambda x: x[cr.tensor(m)])
    return fn, None


INDEX_ROWS = [(name, shape, *_index_fns(name, fn)) for name, shape, fn in INDEX]


@pytest.mark.parametrize("name,shape,torch_fn,cr_fn", INDEX_ROWS, ids=[r[0] for r in INDEX_ROWS])
def test_getitem_vs_torch(name, shape, torch_fn, cr_fn):
    check_op([shape], torch_fn, cr_fn)


@pytest.mark.parametrize("name,shape,torch_fn,cr_fn", INDEX_ROWS, ids=[r[0] for r in INDEX_ROWS])
def test_getitem_gradcheck(name, shape, torch_fn, cr_fn):
    fn = cr_fn or torch_fn
    check_gradcheck([shape], lambda x: fn(x) ** 2)


def test_repeated_indices_accumulate():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad._array, [3.0, 0.0, 1.0])
    y = cr.zeros(3, 2, requires_grad=True)
    (y[[1, 1], [0, 0]] * cr.tensor([2.0, 5.0])).sum().backward()
    np.testing.assert_array_equal(y.grad._array, [[0, 0], [7, 0], [0, 0]])


def test_getitem_second_order_vs_torch():
    check_second_order([(5, 3)], lambda x: x[[0, 0, 2]] ** 3)
    check_second_order([(5, 3)], lambda x: (x[1:4] * x[:3]).sum(0))


GATHER = [
    ("gather0", (3, 4), 0, np.array([[0, 1, 2, 0], [2, 2, 1, 0]])),
    ("gather1", (3, 4), 1, np.array([[0, 0], [3, 1], [2, 2]])),
    ("gather_neg", (2, 3, 4), -1, np.array([[[0], [3], [1]], [[2], [2], [0]]])),
    ("gather_small", (4, 5), 1, np.array([[4, 4, 0]])),
]


@pytest.mark.parametrize("name,shape,dim,index", GATHER, ids=[r[0] for r in GATHER])
def test_gather_vs_torch(name, shape, dim, index):
    check_op([shape], lambda x: torch.gather(x, dim, torch.from_numpy(index)),
             lambda x: cr.gather(x, dim, cr.tensor(index)))
    check_op([shape], lambda x: x.gather(dim, torch.from_numpy(index)),
             lambda x: x.gather(dim, cr.tensor(index)))
    check_gradcheck([shape], lambda x: cr.gather(x, dim, cr.tensor(index)) ** 2)


@pytest.mark.parametrize("dim,index", [(0, [2, 0, 2]), (1, [3, 3, 1]), (-1, [0])])
def test_index_select_vs_torch(dim, index):
    idx = np.array(index)
    check_op([(3, 4)], lambda x: torch.index_select(x, dim, torch.from_numpy(idx)),
             lambda x: cr.index_select(x, dim, cr.tensor(idx)))
    check_op([(3, 4)], lambda x: x.index_select(dim, torch.from_numpy(idx)),
             lambda x: x.index_select(dim, cr.tensor(idx)))
    check_gradcheck([(3, 4)], lambda x: cr.index_select(x, dim, cr.tensor(idx)) ** 2)


@pytest.mark.parametrize("mask_shape", [(3, 4), (4,), (3, 1)], ids=str)
def test_masked_fill_vs_torch(mask_shape):
    m = np.random.default_rng(2).random(mask_shape) > 0.5
    for value in (0.0, -1e9, float("-inf")):
        out = check_op([(3, 4)], lambda x: x.masked_fill(torch.from_numpy(m), value),
                       lambda x: x.masked_fill(cr.tensor(m), value))
        assert out[0].dtype == np.float32
    check_op([(3, 4)], lambda x: torch.masked_fill(x, torch.from_numpy(m), 2.0),
             lambda x: cr.masked_fill(x, cr.tensor(m), 2.0))
    check_gradcheck([(3, 4)], lambda x: cr.masked_fill(x, cr.tensor(m), 0.5) ** 2)


def test_masked_fill_with_tensor_value_gets_gradient():
    m = np.array([[True, False], [False, True]])
    check_op([(2, 2), ()], lambda x, v: x.masked_fill(torch.from_numpy(m), v),
             lambda x, v: x.masked_fill(cr.tensor(m), v))


def test_one_hot_like_torch():
    labels = np.array([0, 2, 1, 2])
    assert_close(cr.one_hot(cr.tensor(labels), 4), F.one_hot(torch.from_numpy(labels), 4))
    assert_close(cr.one_hot(cr.tensor(labels)), F.one_hot(torch.from_numpy(labels)))


# --- errors name the op and the shapes -----------------------------------------------------------

def test_shape_errors_are_clear():
    x = cr.randn(2, 3)
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match=r"cat.*shape \(2, 4\).*\(2, 3\)"):
        cr.cat([x, cr.randn(2, 4)])
    with pytest.raises(ValueError, match=r"stack.*\(3, 2\)"):
        cr.stack([x, cr.randn(3, 2)])
    with pytest.raises(ValueError, match=r"broadcast_to.*\(2, 3\).*\(4, 3\)"):
        x.broadcast_to((4, 3))
    with pytest.raises(ValueError, match="permute"):
        x.permute(0, 0)
    with pytest.raises(ValueError, match="split"):
        x.split([1, 2])
    with pytest.raises(IndexError, match="transpose"):
        x.transpose(0, 2)
    with pytest.raises(IndexError, match="unsqueeze"):
        x.unsqueeze(4)
    with pytest.raises(IndexError, match="getitem"):
        x[5]
    with pytest.raises(IndexError, match="gather"):
        x.gather(1, cr.tensor([[0, 3]]))
    with pytest.raises(TypeError, match="masked_fill"):
        x.masked_fill(cr.tensor([[1, 0, 1], [0, 0, 0]]), 0.0)
    with pytest.raises(ValueError, match="pad"):
        cr.pad(x, (1, 2, 3))


def test_split_and_chunk_pieces_are_views_of_the_graph():
    x = cr.randn(6, 2, requires_grad=True)
    a, b, c = x.chunk(3)
    (a.sum() + 2 * b.sum() + 3 * c.sum()).backward()
    np.testing.assert_array_equal(x.grad._array[:, 0], [1, 1, 2, 2, 3, 3])


ZERO_D = [
    ("none", lambda x: x[None]), ("ellipsis", lambda x: x[...]), ("expand", lambda x: x.expand(3)),
    ("broadcast_to", lambda x: x.broadcast_to((2, 2))), ("view", lambda x: x.view(1)),
    ("squeeze", lambda x: x.squeeze()), ("squeeze0", lambda x: x.squeeze(0)),
    ("permute", lambda x: x.permute(())), ("transpose", lambda x: x.transpose(0, -1)),
    ("unsqueeze", lambda x: x.unsqueeze(-1)), ("flatten", lambda x: x.flatten()),
    ("split", lambda x: x.unsqueeze(0).split(1)),
    ("gather", lambda x: x.gather(0, torch.tensor(0)) if isinstance(x, torch.Tensor)
     else x.gather(0, cr.tensor(0))),
    ("matmul", lambda x: x.unsqueeze(0) @ (x * x).unsqueeze(0)),
    ("clamp", lambda x: x.clamp(0, 0.5)),
]


@pytest.mark.parametrize("name,fn", ZERO_D, ids=[r[0] for r in ZERO_D])
def test_shape_and_index_ops_on_0d_tensors(name, fn):
    check_op([()], fn, low=0.2, high=1.0)


def _both(t_idx, c_idx):
    return lambda x: x[t_idx() if isinstance(x, torch.Tensor) else c_idx()]


MIXED_INDEX = [
    ("adv_after_slice", lambda x: x[:, [0, 1], [1, 2]]),
    ("adv_separated", lambda x: x[[0, 1], :, [1, 2]]),
    ("mask_2d", lambda x: x[x.sum(-1) > 0]),
    ("mask_then_slice", lambda x: x[x[:, 0, 0] > -5, 1:]),
    ("none_adv", lambda x: x[None, [1, 0]]),
    ("ellipsis_adv", lambda x: x[..., [0, 0, 3]]),
    ("int_adv", lambda x: x[1, [0, 2]]),
    ("broadcast_idx", _both(lambda: (torch.tensor([[0], [1]]), torch.tensor([0, 2])),
                            lambda: (cr.tensor([[0], [1]]), cr.tensor([0, 2])))),
]


@pytest.mark.parametrize("name,fn", MIXED_INDEX, ids=[r[0] for r in MIXED_INDEX])
def test_mixed_indexing_vs_torch(name, fn):
    check_op([(2, 3, 4)], fn)
    check_gradcheck([(2, 3, 4)], lambda x: fn(x) ** 2, second_order=False)


def test_take_along_dim_swapaxes_concatenate():
    idx = np.array([[0, 2], [1, 1], [3, 0]])
    check_op([(3, 4)], lambda x: torch.take_along_dim(x, torch.from_numpy(idx), 1),
             lambda x: cr.take_along_dim(x, cr.tensor(idx), 1))
    check_op([(2, 3, 4)], lambda x: x.swapaxes(0, 2))
    check_op([(2, 3), (2, 3)], lambda x, y: torch.concatenate([x, y], 1),
             lambda x, y: cr.concatenate([x, y], 1))


def test_triangle_indices_like_torch():
    for row, col, offset in [(3, 3, 0), (3, 4, 1), (4, 3, -1), (2, 5, -3), (0, 3, 0), (3, 3, 5)]:
        assert_close(cr.tril_indices(row, col, offset), torch.tril_indices(row, col, offset))
        assert_close(cr.triu_indices(row, col, offset), torch.triu_indices(row, col, offset))
    assert cr.tril_indices(3, 3, dtype=cr.int32).dtype == np.int32


def test_repeat_triangle_roll_second_order_vs_torch():
    check_second_order([(3, 4)], lambda x: (x.tril(-1) * x).sum(1))
    check_second_order([(2, 3)], lambda x: x.repeat(2, 2) ** 3)
    check_second_order([(2, 3)], lambda x: x.repeat_interleave(2, dim=1) ** 3)
    check_second_order([(3, 4)], lambda x: x.roll(1, 0) * x)


def test_repeat_interleave_of_counts_and_dtypes():
    assert_close(cr.repeat_interleave(cr.tensor([2, 0, 3])),
                 torch.repeat_interleave(torch.tensor([2, 0, 3])))
    for data in (np.array([[True, False]]), np.array([[1, 2]], dtype=np.int32)):
        assert_close(cr.tensor(data).repeat_interleave(2, dim=0),
                     torch.from_numpy(data).repeat_interleave(2, dim=0))
        assert_close(cr.tensor(data).repeat(2, 2), torch.from_numpy(data).repeat(2, 2))
        assert_close(cr.tensor(data).tril(), torch.from_numpy(data).tril())
        assert_close(cr.tensor(data).roll(1), torch.from_numpy(data).roll(1))


def test_triangle_repeat_roll_errors():
    with pytest.raises(RuntimeError, match="tril: input tensor must have at least 2 dimensions"):
        cr.tril(cr.ones(3))
    with pytest.raises(RuntimeError, match="repeat: number of repeat dims"):
        cr.ones(2, 3).repeat(2)
    with pytest.raises(RuntimeError, match="repeat_interleave: repeats must have the same size"):
        cr.ones(3).repeat_interleave(cr.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="roll: shifts"):
        cr.ones(3, 2).roll((1, 2), 0)


def test_flatten_backward_lays_the_gradient_out_as_its_input():
    # The input of a Flatten is often a convolution's channels-last output seen as (N, C, L):
    # its gradient comes back in that memory order, so the ops below read it without a
    # strided pass; a C-contiguous input gets the free reshape.
    x = cr.randn(2, 5, 3, requires_grad=True)
    seen = {}
    for name, h in (("permuted", x.permute(0, 2, 1)), ("contiguous", x * 1)):
        h.register_hook(lambda g, name=name: seen.__setitem__(name, g))
        h.flatten(1).backward(cr.ones(2, h.shape[1] * h.shape[2]))
        assert seen[name]._array.strides == h._array.strides
    assert x.grad.shape == (2, 5, 3)


@pytest.mark.parametrize("n,c,spatial", [(100, 25, (5,)), (10, 40, (2, 1)), (3, 4, (5,)),
                                         (64, 16, (5, 5))])
def test_flatten_of_a_channels_last_input_is_c_order(n, c, spatial):
    # Both copies of a channels-last input (per position, or NumPy's) give the C order.
    mem = np.arange(n * c * math.prod(spatial), dtype=np.float32).reshape((n,) + spatial + (c,))
    x = cr.from_numpy(mem).permute((0, len(spatial) + 1) + tuple(range(1, len(spatial) + 1)))
    out = x.flatten(1)._array
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, np.ascontiguousarray(x._array).reshape(n, -1))
