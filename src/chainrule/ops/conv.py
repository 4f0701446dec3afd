"""Convolution as im2col + one GEMM, its two adjoints, and unfold / fold.

A convolution of ``x`` (N, C, *S) with ``w`` (O, C / groups, *K) reads, for every output
position, a window of the (zero-padded) input: the windows are a strided *view* (what
``sliding_window_view`` gives, built from the strides directly), copied once into a matrix
of rows (N * L, C * K) ("im2col", L the number of output positions, channels-last), so the
whole convolution is one matrix product with ``w`` reshaped to (O, C * K).

Three primitives form a closed family, each the others' backward, so that every derivative
of any order is again one of them (a WGAN-GP gradient penalty through a CNN works):

* ``Conv(x, w)``            y = conv(x, w)
* ``ConvData(gy, w)``       gx = conv^T(gy, w): the input gradient, also ``conv_transpose``
* ``ConvWeight(x, gy)``     gw: the weight gradient

For <a, b> the inner product, <gy, conv(x, w)> = <conv^T(gy, w), x> = <ConvWeight(x, gy), w>:
reading those identities left to right gives every backward below.

``Unfold`` (im2col as the user sees it, (N, C * K, L)) and ``Fold`` (col2im, summing
overlaps) are a pair in the same way.

    >>> x = cr.randn(2, 3, 8, 8, requires_grad=True)
    >>> w = cr.randn(4, 3, 3, 3, requires_grad=True)
    >>> cr.ops.conv.conv(x, w, None, cr.ops.conv.geometry("conv2d", x.shape, w.shape)).shape
    chainrule.Size([2, 4, 6, 6])

Second derivatives match central differences (float64), through both inputs:

    >>> x = cr.randn(1, 2, 5, 5, dtype=cr.float64, requires_grad=True)
    >>> w = cr.randn(3, 2, 3, 3, dtype=cr.float64, requires_grad=True)
    >>> cr.autograd.gradgradcheck(lambda x, w: F.conv2d(x, w, stride=2), (x, w))
    True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..autograd.function import Op
from . import either
from .either import wants as _wants


@dataclass(frozen=True)
class Geometry:
    """Where the windows of a convolution lie, per spatial dim (d = 1 or 2, or more)."""

    size: tuple        # input spatial size S
    kernel: tuple      # K
    stride: tuple
    padding: tuple     # ((lo, hi), ...) zero padding per dim
    dilation: tuple
    out: tuple         # output spatial size

    @property
    def padded(self):
        return tuple(s + lo + hi for s, (lo, hi) in zip(self.size, self.padding))


def _tuple(name, value, d, what):
    if isinstance(value, (int, np.integer)):
        return (int(value),) * d
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * d
    if len(value) != d:
        raise ValueError(f"{name}: {what} must be an int or a tuple of {d} ints, got {value}")
    return value


def out_size(size, kernel, stride, lo, hi, dilation):
    return (size + lo + hi - dilation * (kernel - 1) - 1) // stride + 1


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


def geometry(name, x_shape, w_shape, stride=1, padding=0, dilation=1):
    """Check a convolution's arguments and return its ``Geometry``.

    ``padding`` is an int, a tuple, ``"valid"`` or ``"same"`` (stride 1 only; an odd total
    pads one more at the end, as PyTorch).
    """
    return _geometry(name, tuple(x_shape), tuple(w_shape), _hashable(stride),
                     _hashable(padding), _hashable(dilation))


@functools.lru_cache(maxsize=512)  # a layer asks the same question at every step
def _geometry(name, x_shape, w_shape, stride, padding, dilation):
    d = len(w_shape) - 2
    size = tuple(x_shape[2:])
    kernel = tuple(w_shape[2:])
    stride = _tuple(name, stride, d, "stride")
    dilation = _tuple(name, dilation, d, "dilation")
    if any(s <= 0 for s in stride):
        raise ValueError(f"{name}: stride must be positive, got {stride}")
    if any(v <= 0 for v in dilation):
        raise ValueError(f"{name}: dilation must be positive, got {dilation}")
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * d
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions (stride {stride})")
            totals = [dl * (k - 1) for dl, k in zip(dilation, kernel)]
            pads = tuple((t // 2, t - t // 2) for t in totals)
        else:
            raise ValueError(f"{name}: padding must be an int, a tuple, 'valid' or 'same', "
                             f"got {padding!r}")
    else:
        p = _tuple(name, padding, d, "padding")
        if any(v < 0 for v in p):
            raise ValueError(f"{name}: negative padding {p} is not supported")
        pads = tuple((v, v) for v in p)
    out = []
    spans = tuple(dl * (k - 1) + 1 for dl, k in zip(dilation, kernel))
    padded = tuple(s + a + b for s, (a, b) in zip(size, pads))
    for s, k, st, (lo, hi), dl in zip(size, kernel, stride, pads, dilation):
        if s + lo + hi < dl * (k - 1) + 1:
            raise RuntimeError(
                f"{name}: kernel size {kernel} (dilated {spans}) is larger than the padded "
                f"input {padded} of input shape {tuple(x_shape)}")
        out.append(out_size(s, k, st, lo, hi, dl))
    return Geometry(size, kernel, stride, pads, dilation, tuple(out))


# --- the array kernels ----------------------------------------------------------------------

def _prod(values):
    n = 1
    for v in values:
        n *= v
    return n


def pad_zeros(x, padding, value=0):
    """``x`` (N, C, *S) with ``padding`` ((lo, hi), ...) added around its spatial dims."""
    if not any(lo or hi for lo, hi in padding):
        return x
    xp = backend.get_array_module(x)
    shape = x.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], padding))
    out = xp.zeros(shape, dtype=x.dtype) if value == 0 else xp.full(shape, value, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(lo, lo + s) for s, (lo, _) in
                                            zip(x.shape[2:], padding))] = x
    return out


def windows(xp_, geom):
    """The view (N, C, *out, *K) of every window of the padded input ``xp_`` (no copy).

    Built from strides directly: the view's step along an output dim is stride x the
    input's, along a kernel dim dilation x the input's.
    """
    st = xp_.strides
    shape = tuple(xp_.shape[:2]) + tuple(geom.out) + tuple(geom.kernel)
    strides = tuple(st[:2]) + tuple(st[2 + i] * s for i, s in enumerate(geom.stride)) + \
        tuple(st[2 + i] * dl for i, dl in enumerate(geom.dilation))
    xp = backend.get_array_module(xp_)
    if xp is np and xp_.flags.c_contiguous:
        # ~0.3 us instead of ~6 us for as_strided; NumPy checks the bounds against the buffer
        return np.ndarray(shape, xp_.dtype, xp_, 0, strides)
    return xp.lib.stride_tricks.as_strided(xp_, shape, strides, writeable=False)


def im2col(x, geom):
    """Rows (N * L, C * K) of every window, channels-last: one contiguous copy."""
    d = len(geom.kernel)
    v = windows(pad_zeros(x, geom.padding), geom)           # (N, C, *out, *K)
    perm = (0,) + tuple(range(2, 2 + d)) + (1,) + tuple(range(2 + d, 2 + 2 * d))
    xp = backend.get_array_module(x)
    cols = xp.ascontiguousarray(v.transpose(perm))           # (N, *out, C, *K)
    return cols.reshape(x.shape[0] * _prod(geom.out), x.shape[1] * _prod(geom.kernel))


def col2im(cols, geom, shape):
    """Sum rows (N * L, C * K) back onto an input of ``shape`` (N, C, *S): im2col's adjoint.

    One strided add per kernel offset into a channels-last padded buffer; the result is a
    (N, C, *S) view of it.
    """
    N, C = shape[0], shape[1]
    d = len(geom.kernel)
    xp = backend.get_array_module(cols)
    c = cols.reshape((N,) + geom.out + (C,) + geom.kernel)
    buf = xp.zeros((N,) + geom.padded + (C,), dtype=cols.dtype)
    for offset in np.ndindex(*geom.kernel):
        index = (slice(None),)
        for k, o, s, dl in zip(offset, geom.out, geom.stride, geom.dilation):
            index += (slice(k * dl, k * dl + (o - 1) * s + 1, s),)
        buf[index] += c[(slice(None),) * (d + 2) + offset]
    crop = (slice(None),) + tuple(slice(lo, lo + s) for s, (lo, _) in
                                  zip(geom.size, geom.padding))
    gx = buf[crop]
    return gx.transpose(_TO_FIRST[gx.ndim])


_TO_LAST = {3: (0, 2, 1), 4: (0, 2, 3, 1), 5: (0, 2, 3, 4, 1)}    # (N, C, *S) -> (N, *S, C)
_TO_FIRST = {3: (0, 2, 1), 4: (0, 3, 1, 2), 5: (0, 4, 1, 2, 3)}   # (N, *S, C) -> (N, C, *S)


def _rows(g):
    """(N, O, *out) -> rows (N * L, O), channels-last (free when ``g`` already is)."""
    return g.transpose(_TO_LAST[g.ndim]).reshape(-1, g.shape[1])


def _from_rows(rows, n, out):
    """Rows (N * L, O) -> (N, O, *out), a view of the channels-last rows."""
    y = rows.reshape((n,) + tuple(out) + (rows.shape[1],))
    return y.transpose(_TO_FIRST[y.ndim])


def _grouped(a, groups):
    """(M, G * P) -> (G, M, P) view, for one batched GEMM per group."""
    return a.reshape(a.shape[0], groups, -1).swapaxes(0, 1)


def _ungrouped(a):
    """(G, M, P) -> (M, G * P)."""
    xp = backend.get_array_module(a)
    return xp.ascontiguousarray(a.swapaxes(0, 1)).reshape(a.shape[1], -1)


def conv_forward(x, w, b, geom, groups, cols=None):
    """y = conv(x, w) + b; returns (y, cols)."""
    if cols is None:
        cols = im2col(x, geom)
    O = w.shape[0]
    w2 = w.reshape(O, -1)
    if groups == 1:
        rows = cols @ w2.T
    else:
        wg = w2.reshape(groups, O // groups, -1)
        rows = _ungrouped(_grouped(cols, groups) @ wg.swapaxes(1, 2))
    if b is not None:
        rows += b
    return _from_rows(rows, x.shape[0], geom.out), cols


@functools.lru_cache(maxsize=512)
def full_geometry(geom):
    """For a stride-1 "same" convolution, the ``Geometry`` of the "full" convolution that maps
    its output back to its input's size (padding span - 1 - lo before, span - 1 - hi after).

    None otherwise: for a "valid" convolution the full one pads the gradient by span - 1 on
    both sides and its im2col grows accordingly (2x slower than col2im on LeNet's 5x5 layer).
    """
    if any(s != 1 for s in geom.stride) or tuple(geom.out) != tuple(geom.size):
        return None
    pads = []
    for k, dl, (lo, hi) in zip(geom.kernel, geom.dilation, geom.padding):
        span = dl * (k - 1) + 1
        if lo > span - 1 or hi > span - 1:
            return None
        pads.append((span - 1 - lo, span - 1 - hi))
    return Geometry(geom.out, geom.kernel, geom.stride, tuple(pads), geom.dilation, geom.size)


def _flipped(w, groups):
    """(O, C / G, *K) -> (C, O / G, *K) flipped in every spatial dim: the full conv's weight."""
    xp = backend.get_array_module(w)
    O, Cg = w.shape[:2]
    k = w.shape[2:]
    wg = w.reshape((groups, O // groups, Cg) + k).swapaxes(1, 2)      # (G, Cg, Og, *K)
    flip = (slice(None),) * 3 + (slice(None, None, -1),) * len(k)
    return xp.ascontiguousarray(wg[flip]).reshape((groups * Cg, O // groups) + k)


def conv_data(gy, w, geom, groups, x_shape):
    """gx = conv^T(gy, w), of shape ``x_shape``.

    Stride 1 and "same" sizes: the "full" convolution of gy with the flipped kernel (an im2col
    of gy and one GEMM; ~30% faster than col2im's strided adds on a 32-channel 3x3 layer).
    Otherwise the adjoint of im2col: one GEMM, then col2im.
    """
    full = full_geometry(geom)
    if full is not None:
        return conv_forward(gy, _flipped(w, groups), None, full, groups)[0]
    O = w.shape[0]
    w2 = w.reshape(O, -1)
    g = _rows(gy)
    if groups == 1:
        dcols = g @ w2
    else:
        wg = w2.reshape(groups, O // groups, -1)
        dcols = _ungrouped(_grouped(g, groups) @ wg)
    return col2im(dcols, geom, x_shape)


def conv_weight(x, gy, geom, groups, w_shape, cols=None):
    """gw = sum over windows of gy * x: the weight gradient, of shape ``w_shape``."""
    if cols is None:
        cols = im2col(x, geom)
    g = _rows(gy)
    if groups == 1:
        gw = g.T @ cols
    else:
        gw = (_grouped(g, groups).swapaxes(1, 2) @ _grouped(cols, groups))
    return gw.reshape(w_shape)


# --- the primitives ------------------------------------------------------------------------


class Conv(Op):
    """y = conv(x, w) + b, one GEMM over the im2col rows (kept for the weight gradient)."""

    caches = ("cols",)

    def forward(self, x, w, b, geom, groups):
        y, cols = conv_forward(x, w, b, geom, groups)
        self.cols = cols
        return y

    def backward(self, g, x, w, b, geom, groups):
        gx = gw = gb = None
        graph = either.is_graph(g)
        if _wants(self, 0):
            gx = ConvData.apply(g, w, geom, groups, tuple(x.shape)) if graph else \
                conv_data(g, w, geom, groups, x.shape)
        if _wants(self, 1):
            gw = ConvWeight.apply(x, g, geom, groups, tuple(w.shape)) if graph else \
                conv_weight(x, g, geom, groups, w.shape, getattr(self, "cols", None))
        if b is not None and _wants(self, 2):
            gb = either.sum(g, (0,) + tuple(range(2, g.ndim)))
        return gx, gw, gb, None, None


class ConvData(Op):
    """gx = conv^T(gy, w): linear in gy and in w (also ``conv_transpose`` with bias None)."""

    name = "conv_transpose"

    def forward(self, gy, w, geom, groups, x_shape):
        return conv_data(gy, w, geom, groups, x_shape)

    def backward(self, h, gy, w, geom, groups, x_shape):
        d_gy = d_w = None
        graph = either.is_graph(h)
        if _wants(self, 0):  # <h, conv^T(gy, w)> = <conv(h, w), gy>
            d_gy = Conv.apply(h, w, None, geom, groups) if graph else \
                conv_forward(h, w, None, geom, groups)[0]
        if _wants(self, 1):  # ... = <ConvWeight(h, gy), w>
            d_w = ConvWeight.apply(h, gy, geom, groups, tuple(w.shape)) if graph else \
                conv_weight(h, gy, geom, groups, w.shape)
        return d_gy, d_w, None, None, None


class ConvWeight(Op):
    """gw = ConvWeight(x, gy): linear in x and in gy."""

    name = "conv_weight_grad"

    def forward(self, x, gy, geom, groups, w_shape):
        return conv_weight(x, gy, geom, groups, w_shape)

    def backward(self, h, x, gy, geom, groups, w_shape):
        d_x = d_gy = None
        graph = either.is_graph(h)
        if _wants(self, 0):  # <h, ConvWeight(x, gy)> = <conv^T(gy, h), x>
            d_x = ConvData.apply(gy, h, geom, groups, tuple(x.shape)) if graph else \
                conv_data(gy, h, geom, groups, x.shape)
        if _wants(self, 1):  # ... = <conv(x, h), gy>
            d_gy = Conv.apply(x, h, None, geom, groups) if graph else \
                conv_forward(x, h, None, geom, groups)[0]
        return d_x, d_gy, None, None, None


def conv(x, w, b, geom, groups=1):
    return Conv.apply(x, w, b, geom, groups)


def conv_transpose(x, w, b, geom, groups, out_shape):
    """The adjoint of the convolution ``geom`` maps (N, Cin, *geom.out) to ``out_shape``."""
    y = ConvData.apply(x, w, geom, groups, tuple(out_shape))
    if b is not None:
        y = y + b.reshape((1, -1) + (1,) * (len(out_shape) - 2))
    return y


# --- unfold / fold: im2col as PyTorch shows it ------------------------------------------------

def unfold_array(x, geom):
    """(N, C, *S) -> (N, C * K, L), PyTorch's unfold layout."""
    N, C = x.shape[:2]
    L = _prod(geom.out)
    rows = im2col(x, geom).reshape(N, L, C * _prod(geom.kernel))
    return rows.swapaxes(1, 2)


def fold_array(cols, geom, shape):
    """(N, C * K, L) -> (N, C, *S), overlaps summed: unfold's adjoint."""
    return col2im(cols.swapaxes(1, 2).reshape(-1, cols.shape[1]), geom, shape)


class Unfold(Op):
    def forward(self, x, geom):
        return unfold_array(x, geom)

    def backward(self, g, x, geom):
        shape = tuple(x.shape)
        if either.is_graph(g):
            return Fold.apply(g, geom, shape), None
        return fold_array(g, geom, shape), None


class Fold(Op):
    def forward(self, cols, geom, shape):
        return fold_array(cols, geom, shape)

    def backward(self, g, cols, geom, shape):
        return (Unfold.apply(g, geom) if either.is_graph(g) else unfold_array(g, geom)), None, None
