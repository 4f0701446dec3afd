"""Convolution, pooling, padding, interpolation and the 2-D normalizations against torch 2.13.

Each row runs forward and backward in float64 against torch (``check_op``); the second-order
table compares the derivative of a gradient (``check_second_order``); small rows also pass
central finite differences (``gradcheck`` / ``gradgradcheck``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from oracle import check_gradcheck, check_op, check_second_order, random_inputs

import chainrule as cr
import chainrule.nn.functional as F

F64 = dict(dtype=np.float64, atol=1e-10, rtol=1e-8, grad_atol=1e-10, grad_rtol=1e-8)


def conv2d_rows():
    # (input shape, weight shape, kwargs): kernels 1/3/5, strides 1/2, paddings incl. "same",
    # dilation 2, groups 1/2/depthwise, odd sizes, batch 1.
    return [
        ((2, 3, 7, 9), (4, 3, 1, 1), {}),
        ((2, 3, 7, 9), (4, 3, 3, 3), {}),
        ((2, 3, 7, 9), (4, 3, 3, 3), dict(padding=1)),
        ((1, 3, 9, 7), (5, 3, 5, 5), dict(padding=2)),
        ((2, 3, 9, 8), (4, 3, 3, 3), dict(stride=2)),
        ((2, 3, 9, 8), (4, 3, 5, 5), dict(stride=2, padding=1)),
        ((2, 3, 9, 8), (4, 3, 3, 3), dict(stride=(2, 1), padding=(1, 0))),
        ((2, 3, 8, 8), (4, 3, 3, 3), dict(padding="same")),
        ((2, 3, 8, 9), (4, 3, 4, 2), dict(padding="same")),         # even kernel: extra pad at end
        ((2, 3, 9, 9), (4, 3, 3, 3), dict(padding="same", dilation=2)),
        ((2, 3, 8, 8), (4, 3, 3, 3), dict(padding="valid")),
        ((2, 3, 11, 10), (4, 3, 3, 3), dict(dilation=2)),
        ((2, 3, 11, 10), (4, 3, 3, 3), dict(dilation=2, stride=2, padding=2)),
        ((2, 4, 7, 7), (6, 2, 3, 3), dict(groups=2, padding=1)),
        ((2, 4, 7, 7), (4, 1, 3, 3), dict(groups=4, padding=1)),   # depthwise
        ((2, 4, 7, 7), (8, 1, 5, 5), dict(groups=4, stride=2)),    # depthwise, multiplier 2
        ((1, 1, 5, 5), (1, 1, 5, 5), {}),                           # kernel = input
        ((3, 7, 7), (2, 3, 3, 3), dict(padding=1)),                 # unbatched
    ]


@pytest.mark.parametrize("xs, ws, kw", conv2d_rows())
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d(xs, ws, kw, bias):
    shapes = [xs, ws] + ([(ws[0],)] if bias else [])
    check_op(shapes, lambda *a: TF.conv2d(*a, **kw), lambda *a: F.conv2d(*a, **kw), **F64)


CONV1D_ROWS = [
    ((2, 3, 10), (4, 3, 1), {}),
    ((2, 3, 10), (4, 3, 3), dict(padding=1)),
    ((1, 3, 11), (4, 3, 5), dict(stride=2, padding=2)),
    ((2, 3, 10), (4, 3, 4), dict(padding="same")),
    ((2, 3, 13), (4, 3, 3), dict(dilation=2, padding="same")),
    ((2, 4, 9), (6, 2, 3), dict(groups=2)),
    ((2, 4, 9), (4, 1, 3), dict(groups=4, padding=1)),
    ((3, 9), (4, 3, 3), {}),
]


@pytest.mark.parametrize("xs, ws, kw", CONV1D_ROWS)
def test_conv1d(xs, ws, kw):
    check_op([xs, ws, (ws[0],)], lambda *a: TF.conv1d(*a, **kw), lambda *a: F.conv1d(*a, **kw),
             **F64)


CONV_T2D_ROWS = [
    ((2, 4, 5, 6), (4, 3, 3, 3), {}),
    ((2, 4, 5, 6), (4, 3, 3, 3), dict(stride=2)),
    ((2, 4, 5, 6), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((1, 4, 5, 5), (4, 3, 5, 5), dict(stride=(2, 3), padding=(2, 1), output_padding=(1, 2))),
    ((2, 4, 5, 6), (4, 2, 3, 3), dict(groups=2, stride=2)),
    ((2, 4, 5, 6), (4, 1, 3, 3), dict(groups=4, dilation=2)),
    ((2, 4, 5, 6), (4, 3, 1, 1), {}),
    ((4, 5, 6), (4, 3, 3, 3), dict(stride=2)),
]


@pytest.mark.parametrize("xs, ws, kw", CONV_T2D_ROWS)
def test_conv_transpose2d(xs, ws, kw):
    bias = (ws[1] * kw.get("groups", 1),)
    check_op([xs, ws, bias], lambda *a: TF.conv_transpose2d(*a, **kw),
             lambda *a: F.conv_transpose2d(*a, **kw), **F64)


@pytest.mark.parametrize("xs, ws, kw", [
    ((2, 4, 7), (4, 3, 3), {}),
    ((2, 4, 7), (4, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((1, 4, 6), (4, 2, 5), dict(groups=2, dilation=2)),
])
def test_conv_transpose1d(xs, ws, kw):
    bias = (ws[1] * kw.get("groups", 1),)
    check_op([xs, ws, bias], lambda *a: TF.conv_transpose1d(*a, **kw),
             lambda *a: F.conv_transpose1d(*a, **kw), **F64)


@pytest.mark.parametrize("kw", [
    dict(kernel_size=2), dict(kernel_size=(2, 3), stride=2, padding=1),
    dict(kernel_size=3, dilation=2, padding=2, stride=(1, 2)),
])
def test_unfold_fold(kw):
    check_op([(2, 3, 7, 8)], lambda x: TF.unfold(x, **kw), lambda x: F.unfold(x, **kw), **F64)
    cols = TF.unfold(torch.zeros(2, 3, 7, 8), **kw).shape
    check_op([cols], lambda c: TF.fold(c, (7, 8), **kw), lambda c: F.fold(c, (7, 8), **kw),
             **F64)


# --- pooling ------------------------------------------------------------------------------

MAXPOOL2D_ROWS = [
    dict(kernel_size=2),
    dict(kernel_size=3),
    dict(kernel_size=3, stride=2),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=2, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1)),
    dict(kernel_size=3, stride=1, dilation=2),
    dict(kernel_size=2, stride=1, dilation=2, padding=1, ceil_mode=True),
    dict(kernel_size=5, stride=1, padding=2),
    dict(kernel_size=1, stride=2),
]


@pytest.mark.parametrize("kw", MAXPOOL2D_ROWS)
@pytest.mark.parametrize("shape", [(2, 3, 9, 7), (1, 2, 8, 8)])
def test_max_pool2d(kw, shape):
    check_op([shape], lambda x: TF.max_pool2d(x, **kw), lambda x: F.max_pool2d(x, **kw), **F64)
    y_t, i_t = TF.max_pool2d(torch.from_numpy(random_inputs([shape], dtype=np.float64)[0]),
                             return_indices=True, **kw)
    y_c, i_c = F.max_pool2d(cr.tensor(random_inputs([shape], dtype=np.float64)[0]),
                            return_indices=True, **kw)
    np.testing.assert_array_equal(i_c._array, i_t.numpy())
    assert i_c.dtype == np.int64


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, ceil_mode=True),
                                dict(kernel_size=2, dilation=3)])
def test_max_pool1d(kw):
    check_op([(2, 3, 11)], lambda x: TF.max_pool1d(x, **kw), lambda x: F.max_pool1d(x, **kw),
             **F64)


def test_max_pool_ties_pick_the_first_maximum():
    x = np.zeros((1, 1, 4, 4))
    check_op([], lambda x: TF.max_pool2d(x, 2), lambda x: F.max_pool2d(x, 2), inputs=[x], **F64)
    check_op([], lambda x: TF.max_pool2d(x, 3, 1), lambda x: F.max_pool2d(x, 3, 1), inputs=[x],
             **F64)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_max_pool_nan_is_the_maximum_and_gets_the_gradient(kw):
    x = random_inputs([(1, 2, 6, 6)], dtype=np.float64)[0]
    x[0, 1, 2, 3] = np.nan
    check_op([], lambda x: TF.max_pool2d(x, **kw), lambda x: F.max_pool2d(x, **kw), inputs=[x],
             **F64)


def test_max_pool_keeps_a_channels_last_layout():
    x = cr.tensor(np.moveaxis(random_inputs([(2, 5, 6, 3)], dtype=np.float64)[0], -1, 1))
    y = F.max_pool2d(F.conv2d(x, cr.randn(4, 3, 3, 3, dtype="float64"), padding=1), 2)
    assert y._array.strides[1] == y._array.itemsize  # channels stay the fastest dim


def _layouts(a):
    """``a`` (N, C, *S) as the memory layouts a conv meets: NCHW, a channels-last view (what
    the previous conv gives), and a strided slice of a larger array."""
    last = np.ascontiguousarray(np.moveaxis(a, 1, -1))
    wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    wide[..., ::2] = a
    return {"nchw": a, "channels_last": np.moveaxis(last, -1, 1), "strided": wide[..., ::2]}


@pytest.mark.parametrize("layout", ["nchw", "channels_last", "strided"])
@pytest.mark.parametrize("grad_layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("xs, ws, kw", [
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(padding=1)),              # "same": the full-conv gradient
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(stride=2, padding=1)),    # strided: spread
    ((2, 4, 7, 7), (6, 2, 3, 3), dict(groups=2)),               # valid, grouped: spread
    ((2, 3, 12), (5, 3, 3), dict(stride=2, padding=1)),         # MNIST-1D's second layer
])
def test_conv_any_input_and_gradient_layout(layout, grad_layout, xs, ws, kw):
    """The values and all three gradients do not depend on how the input and the incoming
    gradient lie in memory (the kernels read strides, and copy where they must)."""
    conv = TF.conv1d if len(xs) == 3 else TF.conv2d
    ours_fn = F.conv1d if len(xs) == 3 else F.conv2d
    x0, w0, b0 = random_inputs([xs, ws, (ws[0],)], dtype=np.float64)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    ty = conv(tx, tw, tb, **kw)
    g0 = np.random.default_rng(3).standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g0))
    x = cr.from_numpy(_layouts(x0)[layout]).requires_grad_()   # from_numpy keeps the strides
    assert x._array.strides == _layouts(x0)[layout].strides
    w, b = cr.tensor(w0, requires_grad=True), cr.tensor(b0, requires_grad=True)
    y = ours_fn(x, w, b, **kw)
    y.backward(cr.from_numpy(_layouts(g0)[grad_layout]))
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-12)
    for ours, theirs in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("size", [8, 9])   # even: the windows tile the input; odd: a remainder
@pytest.mark.parametrize("grad_layout", ["nchw", "channels_last"])
def test_max_pool_gradient_in_either_layout(size, grad_layout):
    """A channels-last input whose gradient comes back NCHW (after a Flatten), or not."""
    x0 = random_inputs([(2, 3, size, size)], dtype=np.float64)[0]
    x0[0, 0, :2, :2] = 1.5                      # a tie: the first maximum takes the gradient
    tx = torch.tensor(x0, requires_grad=True)
    ty = TF.max_pool2d(tx, 2)
    g0 = np.random.default_rng(5).standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g0))
    x = cr.from_numpy(_layouts(x0)["channels_last"]).requires_grad_()
    y = F.max_pool2d(x, 2)
    assert y._array.strides[1] == y._array.itemsize       # the output is channels-last too
    g = cr.from_numpy(_layouts(g0)[grad_layout])
    assert (g._array.strides[1] == g._array.itemsize) == (grad_layout == "channels_last")
    y.backward(g)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_max_unpool2d(kw):
    x = torch.from_numpy(random_inputs([(2, 3, 8, 7)], dtype=np.float64)[0])
    _, idx = TF.max_pool2d(x, return_indices=True, **kw)
    idx_c = cr.tensor(idx.numpy())
    out = (8, 7)
    check_op([tuple(idx.shape)], lambda y: TF.max_unpool2d(y, idx, output_size=out, **kw),
             lambda y: F.max_unpool2d(y, idx_c, output_size=out, **kw), **F64)


AVGPOOL2D_ROWS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, stride=2, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 1)),
    dict(kernel_size=3, divisor_override=2),
    dict(kernel_size=5, stride=1, padding=2),
]


@pytest.mark.parametrize("kw", AVGPOOL2D_ROWS)
@pytest.mark.parametrize("shape", [(2, 3, 9, 7), (1, 2, 8, 8)])
def test_avg_pool2d(kw, shape):
    check_op([shape], lambda x: TF.avg_pool2d(x, **kw), lambda x: F.avg_pool2d(x, **kw), **F64)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, ceil_mode=True,
                                     count_include_pad=False)])
def test_avg_pool1d(kw):
    check_op([(2, 3, 11)], lambda x: TF.avg_pool1d(x, **kw), lambda x: F.avg_pool1d(x, **kw),
             **F64)


@pytest.mark.parametrize("out", [1, 2, 3, (4, 2), (None, 3), (5, 7)])
def test_adaptive_pool2d(out):
    check_op([(2, 3, 9, 7)], lambda x: TF.adaptive_avg_pool2d(x, out),
             lambda x: F.adaptive_avg_pool2d(x, out), **F64)
    check_op([(2, 3, 9, 7)], lambda x: TF.adaptive_max_pool2d(x, out),
             lambda x: F.adaptive_max_pool2d(x, out), **F64)
    x = random_inputs([(2, 3, 9, 7)], dtype=np.float64)[0]
    _, i_t = TF.adaptive_max_pool2d(torch.from_numpy(x), out, return_indices=True)
    _, i_c = F.adaptive_max_pool2d(cr.tensor(x), out, return_indices=True)
    np.testing.assert_array_equal(i_c._array, i_t.numpy())


@pytest.mark.parametrize("out", [1, 3, 4, 10])
def test_adaptive_pool1d(out):
    check_op([(2, 3, 10)], lambda x: TF.adaptive_avg_pool1d(x, out),
             lambda x: F.adaptive_avg_pool1d(x, out), **F64)
    check_op([(2, 3, 10)], lambda x: TF.adaptive_max_pool1d(x, out),
             lambda x: F.adaptive_max_pool1d(x, out), **F64)


# --- pad, interpolate, pixel_shuffle, normalization ---------------------------------------

PAD_ROWS = [
    ((2, 3, 5, 6), (1, 2), "constant"),
    ((2, 3, 5, 6), (1, 2, 0, 3), "constant"),
    ((2, 3, 5, 6), (-1, 2, 1, -2), "constant"),
    ((2, 3, 5, 6), (2, 1, 3, 4), "reflect"),
    ((2, 3, 7), (3, 2), "reflect"),
    ((2, 3, 5, 6), (2, 1, 3, 4), "replicate"),
    ((2, 3, 7), (5, 2), "replicate"),
    ((2, 3, 5, 6), (2, 1, 3, 4), "circular"),
    ((2, 3, 7), (7, 2), "circular"),
]


@pytest.mark.parametrize("shape, widths, mode", PAD_ROWS)
def test_pad(shape, widths, mode):
    check_op([shape], lambda x: TF.pad(x, widths, mode=mode),
             lambda x: F.pad(x, widths, mode=mode), **F64)


def test_pad_value():
    check_op([(2, 3, 4)], lambda x: TF.pad(x, (1, 2), value=3.5),
             lambda x: F.pad(x, (1, 2), value=3.5), **F64)


INTERP_ROWS = [
    ((2, 3, 5, 4), dict(scale_factor=2, mode="nearest")),
    ((2, 3, 5, 4), dict(size=(7, 3), mode="nearest")),
    ((2, 3, 5, 4), dict(scale_factor=1.7, mode="nearest")),
    ((2, 3, 5, 4), dict(size=(7, 9), mode="nearest-exact")),
    ((2, 3, 5, 4), dict(scale_factor=2, mode="bilinear")),
    ((2, 3, 5, 4), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ((2, 3, 5, 4), dict(size=(3, 7), mode="bilinear")),
    ((2, 3, 5, 4), dict(size=(3, 7), mode="bilinear", align_corners=True)),
    ((2, 3, 5, 4), dict(size=(1, 1), mode="bilinear", align_corners=True)),
    ((2, 3, 5, 4), dict(scale_factor=(1.5, 2.5), mode="bilinear")),
    ((2, 3, 6), dict(scale_factor=3, mode="linear")),
    ((2, 3, 6), dict(size=4, mode="linear", align_corners=True)),
    ((2, 3, 6), dict(size=13, mode="nearest")),
]


@pytest.mark.parametrize("shape, kw", INTERP_ROWS)
def test_interpolate(shape, kw):
    check_op([shape], lambda x: TF.interpolate(x, **kw), lambda x: F.interpolate(x, **kw), **F64)


@pytest.mark.parametrize("shape, r", [((2, 8, 3, 4), 2), ((18, 2, 3), 3), ((1, 2, 4, 2, 2), 1)])
def test_pixel_shuffle(shape, r):
    check_op([shape], lambda x: TF.pixel_shuffle(x, r), lambda x: F.pixel_shuffle(x, r), **F64)
    check_op([shape], lambda x: TF.pixel_unshuffle(TF.pixel_shuffle(x, r), r),
             lambda x: F.pixel_unshuffle(F.pixel_shuffle(x, r), r), **F64)


@pytest.mark.parametrize("shape, groups", [((2, 6, 5, 4), 3), ((2, 6, 7), 2), ((1, 4, 3, 3), 4),
                                           ((3, 4, 5), 1)])
def test_group_norm(shape, groups):
    c = shape[1]
    check_op([shape, (c,), (c,)], lambda x, w, b: TF.group_norm(x, groups, w, b),
             lambda x, w, b: F.group_norm(x, groups, w, b), **F64)


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (3, 2, 7)])
def test_instance_norm(shape):
    c = shape[1]
    check_op([shape, (c,), (c,)], lambda x, w, b: TF.instance_norm(x, weight=w, bias=b),
             lambda x, w, b: F.instance_norm(x, weight=w, bias=b), **F64)


def test_instance_norm_running_stats():
    x = random_inputs([(3, 2, 5, 4)], dtype=np.float64)[0]
    rm_t, rv_t = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    rm_c, rv_c = cr.zeros(2, dtype="float64"), cr.ones(2, dtype="float64")
    y_t = TF.instance_norm(torch.from_numpy(x), rm_t, rv_t, use_input_stats=True, momentum=0.3)
    y_c = F.instance_norm(cr.tensor(x), rm_c, rv_c, use_input_stats=True, momentum=0.3)
    np.testing.assert_allclose(y_c._array, y_t.numpy(), atol=1e-10)
    np.testing.assert_allclose(rm_c._array, rm_t.numpy(), atol=1e-12)
    np.testing.assert_allclose(rv_c._array, rv_t.numpy(), atol=1e-12)
    y_t = TF.instance_norm(torch.from_numpy(x), rm_t, rv_t, use_input_stats=False)
    y_c = F.instance_norm(cr.tensor(x), rm_c, rv_c, use_input_stats=False)
    np.testing.assert_allclose(y_c._array, y_t.numpy(), atol=1e-10)


def test_batch_norm_4d():
    c = 3
    check_op([(4, c, 5, 3), (c,), (c,)],
             lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
             lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), **F64)


def test_integer_conv_as_torch():
    x, w = np.arange(30).reshape(1, 3, 10), np.arange(18).reshape(2, 3, 3) - 9
    y = F.conv1d(cr.tensor(x), cr.tensor(w), padding=1)
    expected = TF.conv1d(torch.from_numpy(x), torch.from_numpy(w), padding=1)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y._array, expected.numpy())


def test_float32_conv_matches_torch():
    check_op([(4, 3, 12, 12), (8, 3, 3, 3), (8,)], lambda *a: TF.conv2d(*a, padding=1),
             lambda *a: F.conv2d(*a, padding=1))


# --- second order ------------------------------------------------------------------------

SECOND_ORDER_ROWS = [
    ("conv2d", [(2, 3, 6, 5), (4, 3, 3, 3), (4,)], lambda F_: lambda x, w, b: F_.conv2d(
        x, w, b, padding=1)),
    ("conv2d strided dilated", [(1, 2, 9, 8), (3, 2, 3, 3)], lambda F_: lambda x, w: F_.conv2d(
        x, w, stride=2, dilation=2, padding=1)),
    ("conv2d groups", [(2, 4, 6, 6), (4, 2, 3, 3)], lambda F_: lambda x, w: F_.conv2d(
        x, w, groups=2)),
    ("conv2d depthwise", [(2, 3, 6, 6), (3, 1, 3, 3)], lambda F_: lambda x, w: F_.conv2d(
        x, w, groups=3, padding="same")),
    ("conv1d", [(2, 3, 9), (4, 3, 3)], lambda F_: lambda x, w: F_.conv1d(x, w, stride=2)),
    ("conv_transpose2d", [(2, 3, 4, 5), (3, 2, 3, 3), (2,)],
     lambda F_: lambda x, w, b: F_.conv_transpose2d(x, w, b, stride=2, output_padding=1)),
    ("max_pool2d", [(2, 3, 7, 6)], lambda F_: lambda x: F_.max_pool2d(x, 3, 2, 1)),
    ("max_pool2d 2x2", [(2, 3, 7, 6)], lambda F_: lambda x: F_.max_pool2d(x, 2, ceil_mode=True)),
    ("avg_pool2d", [(2, 3, 7, 6)], lambda F_: lambda x: F_.avg_pool2d(x, 3, 2, 1, True, False)),
    ("adaptive_avg_pool2d", [(2, 3, 7, 6)], lambda F_: lambda x: F_.adaptive_avg_pool2d(x, 4)),
    ("adaptive_max_pool2d", [(2, 3, 7, 6)], lambda F_: lambda x: F_.adaptive_max_pool2d(x, 4)),
    ("interpolate", [(2, 3, 4, 5)], lambda F_: lambda x: F_.interpolate(x, scale_factor=2,
                                                                         mode="bilinear")),
    ("pad reflect", [(2, 3, 4, 5)], lambda F_: lambda x: F_.pad(x, (1, 2, 2, 1), mode="reflect")),
    ("unfold", [(2, 3, 5, 5)], lambda F_: lambda x: F_.unfold(x, 2, stride=1, padding=1)),
    # A CNN's nonlinear composite: conv -> tanh -> conv.
    ("conv tanh conv", [(2, 2, 6, 6), (3, 2, 3, 3), (2, 3, 3, 3)],
     lambda F_: lambda x, w1, w2: F_.conv2d(F_.conv2d(x, w1, padding=1).tanh(), w2)),
    ("group_norm", [(2, 4, 3, 3), (4,)], lambda F_: lambda x, w: F_.group_norm(x, 2, w)),
]


@pytest.mark.parametrize("name, shapes, make", SECOND_ORDER_ROWS,
                         ids=[r[0] for r in SECOND_ORDER_ROWS])
def test_second_order(name, shapes, make):
    check_second_order(shapes, make(TF), make(F))


GRADCHECK_ROWS = [
    ("conv2d", [(1, 2, 5, 4), (2, 2, 3, 3), (2,)],
     lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1)),
    ("conv2d same dilated", [(1, 2, 5, 5), (2, 1, 3, 3)],
     lambda x, w: F.conv2d(x, w, padding="same", dilation=2, groups=2)),
    ("conv1d", [(2, 2, 6), (3, 2, 3)], lambda x, w: F.conv1d(x, w, padding=1)),
    ("conv_transpose2d", [(1, 2, 3, 3), (2, 2, 3, 3)],
     lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)),
    ("conv_transpose1d", [(1, 2, 4), (2, 3, 3)], lambda x, w: F.conv_transpose1d(x, w, stride=2)),
    ("max_pool2d", [(1, 2, 5, 5)], lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True)),
    ("max_pool2d 2x2", [(1, 2, 5, 4)], lambda x: F.max_pool2d(x, 2)),
    ("avg_pool2d", [(1, 2, 5, 5)], lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True)),
    ("adaptive_max_pool1d", [(1, 2, 7)], lambda x: F.adaptive_max_pool1d(x, 3)),
    ("fold", [(1, 8, 9)], lambda c: F.fold(c, (4, 4), 2, stride=1)),
    ("pixel_shuffle", [(1, 4, 2, 3)], lambda x: F.pixel_shuffle(x, 2)),
    ("interpolate", [(1, 1, 3, 3)], lambda x: F.interpolate(x, size=(5, 4), mode="bilinear")),
    ("pad circular", [(1, 2, 4)], lambda x: F.pad(x, (2, 3), mode="circular")),
    ("instance_norm", [(2, 2, 3, 3)], lambda x: F.instance_norm(x)),
]


@pytest.mark.parametrize("name, shapes, fn", GRADCHECK_ROWS, ids=[r[0] for r in GRADCHECK_ROWS])
def test_gradcheck(name, shapes, fn):
    check_gradcheck(shapes, fn)


def test_wgan_gp_gradient_penalty_through_a_cnn():
    """(||d critic / d x|| - 1)^2 backpropagated to the critic's weights, as torch."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 1, 8, 8))
    params = [rng.standard_normal(s) * 0.3 for s in [(4, 1, 3, 3), (4,), (6, 4, 3, 3), (6,),
                                                     (1, 6 * 2 * 2), (1,)]]

    def critic(F_, x, w1, b1, w2, b2, w3, b3):
        h = F_.leaky_relu(F_.conv2d(x, w1, b1, padding=1), 0.2)
        h = F_.avg_pool2d(h, 2)
        h = F_.leaky_relu(F_.conv2d(h, w2, b2, stride=2, padding=1), 0.2)
        h = F_.max_pool2d(h, 1)
        return F_.linear(h.reshape(h.shape[0], -1), w3, b3)

    def penalty(lib, F_, x, params):
        out = critic(F_, x, *params)
        (gx,) = lib.autograd.grad(out.sum(), [x], create_graph=True)
        norms = (gx.reshape(gx.shape[0], -1) ** 2).sum(1).sqrt()
        return ((norms - 1) ** 2).mean()

    xc = cr.tensor(x, requires_grad=True)
    pc = [cr.tensor(p, requires_grad=True) for p in params]
    xt = torch.tensor(x, requires_grad=True)
    pt = [torch.tensor(p, requires_grad=True) for p in params]
    gp_c, gp_t = penalty(cr, F, xc, pc), penalty(torch, TF, xt, pt)
    np.testing.assert_allclose(gp_c.item(), gp_t.item(), rtol=1e-10)
    # The first bias reaches the penalty only through leaky_relu's (constant) slope: zero.
    g_c = cr.autograd.grad(gp_c, pc, allow_unused=True)
    g_t = torch.autograd.grad(gp_t, pt, allow_unused=True)
    for a, b, p in zip(g_c, g_t, params):
        a = np.zeros(p.shape) if a is None else a._array
        b = np.zeros(p.shape) if b is None else b.numpy()
        np.testing.assert_allclose(a, b, atol=1e-10, rtol=1e-8)
    assert np.abs(g_c[0]._array).sum() > 0


# --- errors ------------------------------------------------------------------------------

ERROR_ROWS = [
    (lambda: F.conv2d(cr.randn(1, 3, 2, 2), cr.randn(4, 3, 3, 3)), RuntimeError,
     r"conv2d: kernel size \(3, 3\).*larger than the padded input \(2, 2\)"),
    (lambda: F.conv2d(cr.randn(1, 3, 5, 5), cr.randn(4, 2, 3, 3), groups=2), ValueError,
     r"conv2d: input channels 3 .* not divisible by groups=2"),
    (lambda: F.conv2d(cr.randn(1, 4, 5, 5), cr.randn(3, 2, 3, 3), groups=2), ValueError,
     r"conv2d: out channels 3 .* not divisible by groups=2"),
    (lambda: F.conv2d(cr.randn(1, 4, 5, 5), cr.randn(3, 3, 3, 3)), RuntimeError,
     r"conv2d: weight of shape \(3, 3, 3, 3\).*expects 3 input channels, got input of shape "
     r"\(1, 4, 5, 5\)"),
    (lambda: F.conv2d(cr.randn(5, 5), cr.randn(3, 3, 3, 3)), ValueError,
     r"conv2d: expected a 3-D \(unbatched\) or 4-D \(batched\) input, got shape \(5, 5\)"),
    (lambda: F.conv2d(cr.randn(1, 3, 5, 5), cr.randn(3, 3, 3, 3), padding=-1), ValueError,
     r"conv2d: negative padding \(-1, -1\)"),
    (lambda: F.conv2d(cr.randn(1, 3, 5, 5), cr.randn(3, 3, 3, 3), stride=2, padding="same"),
     ValueError, r"conv2d: padding='same' is not supported for strided"),
    (lambda: F.conv1d(cr.randn(1, 3, 5), cr.randn(3, 3, 3, 3)), ValueError,
     r"conv1d: weight must be 3-D"),
    (lambda: F.conv2d(cr.randn(1, 3, 5, 5), cr.randn(2, 3, 3, 3, dtype="float64")), TypeError,
     r"conv2d: input dtype (chainrule\.)?float32 and weight dtype (chainrule\.)?float64 differ"),
    (lambda: F.conv_transpose2d(cr.randn(1, 3, 5, 5), cr.randn(3, 3, 3, 3), stride=2,
                                output_padding=2), ValueError,
     r"conv_transpose2d: output_padding \(2, 2\) must be smaller"),
    (lambda: F.max_pool2d(cr.randn(1, 1, 4, 4), 2, padding=2), ValueError,
     r"max_pool2d: padding \(2, 2\) should be at most half"),
    (lambda: F.max_pool2d(cr.randn(1, 1, 2, 2), 3), RuntimeError,
     r"max_pool2d: kernel size \(3, 3\).*larger than the input size \(2, 2\)"),
    (lambda: F.avg_pool2d(cr.randn(1, 1, 4, 4), 2, padding=-1), ValueError,
     r"avg_pool2d: negative padding"),
    (lambda: F.pad(cr.randn(1, 2, 3), (3, 0), mode="reflect"), ValueError,
     r"pad: reflect padding \(3, 0\) must be smaller than the input size 3"),
    (lambda: F.pad(cr.randn(1, 2, 3), (1, 0), mode="wrap"), ValueError, r"pad: mode must be"),
    (lambda: F.pixel_shuffle(cr.randn(1, 3, 2, 2), 2), ValueError,
     r"pixel_shuffle: channels 3 .* not divisible by upscale_factor\^2 = 4"),
    (lambda: F.interpolate(cr.randn(1, 1, 3), scale_factor=2, mode="bilinear"), ValueError,
     r"interpolate: mode 'bilinear' expects a 4-D input"),
    (lambda: F.group_norm(cr.randn(2, 6, 3), 4), ValueError,
     r"group_norm: expected the number of channels 6 .* divisible by num_groups=4"),
    (lambda: F.fold(cr.randn(1, 7, 9), (4, 4), 2), RuntimeError,
     r"fold: expected size of input's dim 1 \(7\)"),
]


@pytest.mark.parametrize("call, exc, pattern", ERROR_ROWS)
def test_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_torch_refuses_what_we_refuse():
    """Spot checks that the refusals above are torch's too."""
    with pytest.raises(RuntimeError):
        TF.conv2d(torch.randn(1, 3, 2, 2), torch.randn(4, 3, 3, 3))
    with pytest.raises(RuntimeError):
        TF.conv2d(torch.randn(1, 3, 5, 5), torch.randn(3, 3, 3, 3), padding=-1)
    with pytest.raises(RuntimeError):
        TF.max_pool2d(torch.randn(1, 1, 4, 4), 2, padding=2)


def test_arguments_checked_once_are_checked_again_where_they_differ():
    # F.conv* skips its checks for arguments it has already checked (a dictionary of them):
    # anything that differs from a checked call still goes through the checks.
    x, w, b = cr.randn(2, 4, 9), cr.randn(6, 2, 3), cr.randn(6)
    y = F.conv1d(x, w, b, stride=2, groups=2)                     # checked, then remembered
    expected = TF.conv1d(torch.from_numpy(x._array), torch.from_numpy(w._array),
                         torch.from_numpy(b._array), stride=2, groups=2).numpy()
    for _ in range(2):                                            # the remembered path
        np.testing.assert_allclose(F.conv1d(x, w, b, stride=2, groups=2)._array, expected,
                                   rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y._array, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.conv1d(x, w, b, stride=[2], groups=2)._array, expected,
                               rtol=1e-5, atol=1e-6)              # a list: not a dict key
    with pytest.raises(ValueError, match="conv1d: groups must be a positive integer"):
        F.conv1d(x, w, b, stride=2, groups=2.0)                   # 2.0 == 2 as a key
    with pytest.raises(TypeError, match="conv1d: input dtype"):
        F.conv1d(x.double(), w, b, stride=2, groups=2)
    with pytest.raises(TypeError, match="conv1d: bias must be a Tensor"):
        F.conv1d(x, w, b._array, stride=2, groups=2)
    with pytest.raises(TypeError, match="conv1d: input must be a Tensor"):
        F.conv1d(x._array, w, b, stride=2, groups=2)
    assert F.conv1d(x[0], w, b, stride=2, groups=2).shape == (6, 4)   # unbatched
    with pytest.raises(RuntimeError, match="conv1d: weight of shape"):
        F.conv1d(cr.randn(2, 6, 9), w, b, stride=2, groups=2)


def test_add_bias_joins_short_rows_with_numpys_bits():
    """A convolution's bias on rows of a few channels, joined into longer rows: the bits of
    ``rows + b`` (infinities, nan, signed zeros too), joined or not, and in place."""
    from chainrule.ops.conv import add_bias
    rng = np.random.default_rng(8)
    for shape in [(50176, 6), (1900, 25), (1001, 17), (6400, 16), (4096, 1), (64, 300), (8, 3)]:
        rows = rng.standard_normal(shape).astype(np.float32)
        b = rng.standard_normal(shape[1]).astype(np.float32)
        rows.reshape(-1)[:4] = [np.inf, -0.0, np.nan, -np.inf]
        b[0] = -0.0
        with np.errstate(invalid="ignore"):
            expected = rows + b
            got = add_bias(rows, b)
        assert got is rows
        np.testing.assert_array_equal(got.view(np.uint32), expected.view(np.uint32))
