"""Convolutions as functions: ``conv1d``, ``conv2d``, their transposes, ``unfold`` and ``fold``.

    >>> import chainrule.nn.functional as F
    >>> x = cr.randn(64, 1, 28, 28)
    >>> F.conv2d(x, cr.randn(6, 1, 5, 5), padding=2).shape
    chainrule.Size([64, 6, 28, 28])

Each is one node of ``chainrule.ops.conv`` (im2col + one GEMM; the transposes add their
bias after it, as a broadcast sum); see that module for how the backward of every order
stays a convolution.
"""

from __future__ import annotations

import functools

from ...ops import conv as _conv
from ...tensor import Tensor
from ...errors import InvalidArgument


def _batched(name, input, d):
    """Accept (N, C, *S) and the unbatched (C, *S), as PyTorch; anything else is an error."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim == d + 2:
        return input, False
    if input.ndim == d + 1:
        return input.unsqueeze(0), True
    raise InvalidArgument(f"{name}: expected a {d + 1}-D (unbatched) or {d + 2}-D (batched) "
                          f"input, got shape {tuple(input.shape)}")


def _check_weight(name, input, weight, groups, d, transposed=False):
    _check_shapes(name, tuple(input._array.shape), tuple(weight._array.shape), groups, d,
                  transposed)
    if input.dtype != weight.dtype:
        raise TypeError(f"{name}: input dtype {input.dtype} and weight dtype {weight.dtype} differ")


def _check_shapes(name, x_shape, w_shape, groups, d, transposed):
    if len(w_shape) != d + 2:
        raise ValueError(f"{name}: weight must be {d + 2}-D, got shape {w_shape}")
    if not isinstance(groups, int) or groups <= 0:
        raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
    C = x_shape[1]
    if C % groups:
        raise ValueError(f"{name}: input channels {C} (input shape {x_shape}) are not "
                         f"divisible by groups={groups}")
    if transposed:
        if w_shape[0] != C:
            raise RuntimeError(f"{name}: input of shape {x_shape} has {C} channels but "
                               f"weight of shape {w_shape} expects {w_shape[0]}")
    else:
        if w_shape[0] % groups:
            raise ValueError(f"{name}: out channels {w_shape[0]} (weight shape "
                             f"{w_shape}) are not divisible by groups={groups}")
        if w_shape[1] * groups != C:
            raise RuntimeError(f"{name}: weight of shape {w_shape} with groups={groups} "
                               f"expects {w_shape[1] * groups} input channels, got input of "
                               f"shape {x_shape}")


def _check_bias(name, bias, n):
    if bias is not None and tuple(bias.shape) != (n,):
        raise ValueError(f"{name}: bias must have shape ({n},), got {tuple(bias.shape)}")


@functools.lru_cache(maxsize=512)  # a layer asks the same question at every step
def _conv_geometry(name, d, x_shape, w_shape, b_shape, groups, stride, padding, dilation):
    """Check a convolution's shapes and arguments and return its geometry."""
    _check_shapes(name, x_shape, w_shape, groups, d, False)
    if b_shape is not None and b_shape != (w_shape[0],):
        raise ValueError(f"{name}: bias must have shape ({w_shape[0]},), got {b_shape}")
    return _conv.geometry(name, x_shape, w_shape, stride, padding, dilation)


# (name, x shape, w shape, b shape, x dtype, w dtype, groups, stride, padding, dilation) ->
# geometry, for arguments already checked: a layer calls with the same ones at every step, and
# one dictionary lookup replaces the checks' dozen Python calls.
_CHECKED: dict = {}


def _convnd(name, d, input, weight, bias, stride, padding, dilation, groups):
    try:
        x_arr, w_arr = input._array, weight._array
        key = (name, x_arr.shape, w_arr.shape, None if bias is None else bias._array.shape,
               x_arr.dtype, w_arr.dtype, groups, stride, padding, dilation)
        geom = _CHECKED.get(key)
    except (AttributeError, TypeError):  # not Tensors, or a list argument: the full checks
        geom = key = None
    if geom is not None and type(groups) is int:  # (2.0 == 2 as a key; groups must be an int)
        return _conv.Conv.apply(input, weight, bias, geom, groups)
    x, unbatched = _batched(name, input, d)
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{name}: {what} must be a Tensor, got {type(t).__name__}")
    if input.dtype != weight.dtype:
        raise TypeError(f"{name}: input dtype {input.dtype} and weight dtype {weight.dtype} differ")
    if not isinstance(groups, int):  # lru_cache would take 2.0 and 2 for the same key
        raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
    geom = _conv_geometry(name, d, x._array.shape, weight._array.shape,
                          None if bias is None else bias._array.shape, groups,
                          _conv._hashable(stride), _conv._hashable(padding),
                          _conv._hashable(dilation))
    if key is not None and not unbatched and isinstance(input, Tensor):
        if len(_CHECKED) > 512:  # shapes seen once (varying batch sizes) must not pile up
            _CHECKED.clear()
        _CHECKED[key] = geom
    y = _conv.conv(x, weight, bias, geom, groups)
    return y.squeeze(0) if unbatched else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of (N, C, L) with ``weight`` (O, C / groups, K), as ``torch``'s.

    ``padding`` is an int, a 1-tuple, ``"valid"`` or ``"same"``.
    """
    return _convnd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution of (N, C, H, W) with ``weight`` (O, C / groups, kH, kW), as ``torch``'s.

    y[n, o] = bias[o] + sum_c sum_(i, j) weight[o, c, i, j] x[n, c, s*h + d*i - p, s*w + d*j - p];
    ``groups=C`` with O = m C is the depthwise convolution.
    """
    return _convnd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _conv_transposend(name, d, input, weight, bias, stride, padding, output_padding, groups,
                      dilation):
    x, unbatched = _batched(name, input, d)
    _check_weight(name, x, weight, groups, d, transposed=True)
    out_channels = weight.shape[1] * groups
    _check_bias(name, bias, out_channels)
    if isinstance(padding, str):
        raise ValueError(f"{name}: padding must be an int or a tuple, got {padding!r}")
    stride_t = _conv._tuple(name, stride, d, "stride")
    pad_t = _conv._tuple(name, padding, d, "padding")
    dil_t = _conv._tuple(name, dilation, d, "dilation")
    outpad_t = _conv._tuple(name, output_padding, d, "output_padding")
    if any(p < 0 for p in pad_t):
        raise ValueError(f"{name}: negative padding {pad_t} is not supported")
    for op, s, dl in zip(outpad_t, stride_t, dil_t):
        if op < 0 or (op >= s and op >= dl):
            raise ValueError(f"{name}: output_padding {outpad_t} must be smaller than either "
                             f"stride {stride_t} or dilation {dil_t}")
    size = tuple((n - 1) * s - 2 * p + dl * (k - 1) + op + 1 for n, s, p, dl, k, op in
                 zip(x.shape[2:], stride_t, pad_t, dil_t, weight.shape[2:], outpad_t))
    if any(n <= 0 for n in size):
        raise RuntimeError(f"{name}: the output size {size} of input shape {tuple(x.shape)} with "
                           f"weight shape {tuple(weight.shape)} is not positive")
    out_shape = (x.shape[0], out_channels) + size
    # The convolution this is the adjoint of maps out_shape to x's shape with weight
    # (Cin, Cout / groups, *K), i.e. the transposed conv's weight read as a conv's.
    geom = _conv.geometry(name, out_shape, tuple(weight.shape), stride_t, pad_t, dil_t)
    if geom.out != tuple(x.shape[2:]):
        raise RuntimeError(f"{name}: inconsistent sizes: input {tuple(x.shape)}, "
                           f"output {out_shape}")
    y = _conv.conv_transpose(x, weight, bias, geom, groups, out_shape)
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 1-D convolution of (N, Cin, L) with ``weight`` (Cin, Cout / groups, K).

    L_out = (L - 1) stride - 2 padding + dilation (K - 1) + output_padding + 1.
    """
    return _conv_transposend("conv_transpose1d", 1, input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-D convolution (the adjoint of conv2d), weight (Cin, Cout / groups, kH, kW).

        >>> F.conv_transpose2d(cr.randn(1, 4, 5, 5), cr.randn(4, 2, 3, 3), stride=2).shape
        chainrule.Size([1, 2, 11, 11])
    """
    return _conv_transposend("conv_transpose2d", 2, input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


def _pair(name, value, what):
    return _conv._tuple(name, value, 2, what)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Every sliding window of (N, C, H, W) as columns: (N, C * kH * kW, L), as ``torch``'s.

        >>> F.unfold(cr.randn(1, 3, 4, 4), 2).shape
        chainrule.Size([1, 12, 9])
    """
    if input.ndim != 4:
        raise ValueError(f"unfold: expected a 4-D input (N, C, H, W), got shape "
                         f"{tuple(input.shape)}")
    k = _pair("unfold", kernel_size, "kernel_size")
    geom = _conv.geometry("unfold", tuple(input.shape), (1, 1) + k, stride,
                          _pair("unfold", padding, "padding"), dilation)
    return _conv.Unfold.apply(input, geom)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum columns (N, C * kH * kW, L) back into (N, C, *output_size): ``unfold``'s adjoint."""
    unbatched = input.ndim == 2
    x = input.unsqueeze(0) if unbatched else input
    if x.ndim != 3:
        raise ValueError(f"fold: expected a 2-D or 3-D input, got shape {tuple(input.shape)}")
    k = _pair("fold", kernel_size, "kernel_size")
    size = _pair("fold", output_size, "output_size")
    kk = k[0] * k[1]
    if x.shape[1] % kk:
        raise RuntimeError(f"fold: expected size of input's dim 1 ({x.shape[1]}) to be divisible "
                           f"by the product of kernel_size {k}")
    C = x.shape[1] // kk
    shape = (x.shape[0], C) + size
    geom = _conv.geometry("fold", shape, (1, 1) + k, stride, _pair("fold", padding, "padding"),
                          dilation)
    if geom.out[0] * geom.out[1] != x.shape[2]:
        raise RuntimeError(f"fold: input shape {tuple(input.shape)} has {x.shape[2]} blocks but "
                           f"output_size {size} with kernel_size {k} gives "
                           f"{geom.out[0]} x {geom.out[1]} = {geom.out[0] * geom.out[1]}")
    y = _conv.Fold.apply(x, geom, shape)
    return y.squeeze(0) if unbatched else y
