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


def _to_last(ndim):
    """The axes that take (N, C, *S) to (N, *S, C)."""
    return (0,) + tuple(range(2, ndim)) + (1,)


def _to_first(ndim):
    """The axes that take (N, *S, C) to (N, C, *S)."""
    return (0, ndim - 1) + tuple(range(1, ndim - 1))


def _crop(geom):
    """The index of the unpadded input in a channels-last padded buffer (N, *Sp, ...)."""
    return (slice(None),) + tuple(slice(lo, lo + s) for s, (lo, _) in
                                  zip(geom.size, geom.padding))


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


def padded_last(x, geom):
    """``x`` (N, C, *S) as a C-contiguous channels-last array (N, *Sp, C), zero-padded.

    No copy when ``x`` is already channels-last memory and needs no padding (the output of
    a convolution, a ReLU of it, a max pool of that).
    """
    xp = backend.get_array_module(x)
    xl = x.transpose(_to_last(x.ndim))
    if not any(lo or hi for lo, hi in geom.padding):
        return xp.ascontiguousarray(xl)
    buf = xp.zeros((x.shape[0],) + geom.padded + (x.shape[1],), dtype=x.dtype)
    buf[_crop(geom)] = xl
    return buf


def _view(a, shape, strides):
    """A strided view of the contiguous array ``a`` (no copy)."""
    xp = backend.get_array_module(a)
    if xp is np and a.flags.c_contiguous:
        # ~0.3 us instead of ~6 us for as_strided; NumPy checks the bounds against the buffer
        return np.ndarray(shape, a.dtype, a, 0, strides)
    return xp.lib.stride_tricks.as_strided(a, shape, strides, writeable=False)


def windows(xp_, geom):
    """The view (N, C, *out, *K) of every window of the padded input ``xp_`` (no copy).

    Built from strides directly: the view's step along an output dim is stride x the
    input's, along a kernel dim dilation x the input's.
    """
    st = xp_.strides
    shape = tuple(xp_.shape[:2]) + tuple(geom.out) + tuple(geom.kernel)
    strides = tuple(st[:2]) + tuple(st[2 + i] * s for i, s in enumerate(geom.stride)) + \
        tuple(st[2 + i] * dl for i, dl in enumerate(geom.dilation))
    return _view(xp_, shape, strides)


def windows_last(buf, geom, groups):
    """The view (N, *out, G, *K, C / G) of every window of a channels-last padded ``buf``.

    Along (*K, C / G) a window is, for every kernel row, one run of kW x C / G contiguous
    elements (dilation 1): copying it is a few long memcpys, where the (C, *K) order of
    PyTorch's weight reads runs of kW elements (~10x slower on 25 channels, kernel 3).
    """
    st = buf.strides
    C = buf.shape[-1]
    shape = (buf.shape[0],) + tuple(geom.out) + (groups,) + tuple(geom.kernel) + (C // groups,)
    strides = (st[0],) + tuple(st[1 + i] * s for i, s in enumerate(geom.stride)) + \
        (st[-1] * (C // groups),) + tuple(st[1 + i] * dl for i, dl in enumerate(geom.dilation)) + \
        (st[-1],)
    return _view(buf, shape, strides)


def im2col(x, geom, groups=1):
    """Rows (N * L, C * K) of every window, channels-last, columns in (G, *K, C / G) order.

    One contiguous copy of ``windows_last``; ``weight_rows`` orders the weight the same way.
    """
    xp = backend.get_array_module(x)
    cols = xp.ascontiguousarray(windows_last(padded_last(x, geom), geom, groups))
    return cols.reshape(x.shape[0] * _prod(geom.out), x.shape[1] * _prod(geom.kernel))


@functools.lru_cache(maxsize=512)
def offset_indices(geom):
    """Per kernel offset, the index (over the spatial dims) of the input positions that
    offset reads in every window of the padded input: the strided slices col2im adds to."""
    out = []
    for offset in np.ndindex(*geom.kernel):
        out.append(tuple(slice(k * dl, k * dl + (o - 1) * s + 1, s) for k, o, s, dl in
                         zip(offset, geom.out, geom.stride, geom.dilation)))
    return tuple(out)


def spread(gy, w, geom, groups, shape):
    """conv^T(gy, w) as one GEMM per kernel offset and one strided add each (col2im fused).

    ``gy @ w[:, :, offset]`` (one broadcast matmul over the offsets, (G, K, N L, C / G)) is
    a contiguous block per offset, added at that offset's strided positions of a
    channels-last padded buffer whose last two dims (the window's columns and the channels)
    are contiguous too: ~1.8x faster than the GEMM to rows (N L, K C) and their K strided
    adds (LeNet's 5x5 layer), which read runs of C elements only.
    """
    N, C = shape[0], shape[1]
    O, Cg = w.shape[:2]
    d = len(geom.kernel)
    xp = backend.get_array_module(gy)
    kk = _prod(geom.kernel)
    wk = xp.ascontiguousarray(w.reshape(groups, O // groups, Cg, kk).transpose(0, 3, 1, 2))
    g = _rows(gy)                                               # (N L, O)
    g = g.reshape(g.shape[0], groups, O // groups).swapaxes(0, 1)[:, None]   # (G, 1, N L, O / G)
    blocks = g @ wk                                             # (G, K, N L, C / G)
    buf = xp.zeros((N,) + geom.padded + (groups, Cg), dtype=blocks.dtype)
    perm = tuple(range(1, d + 2)) + (0, d + 2)                  # (G, N, *out, Cg) -> (N, *out, G, Cg)
    sizes = (groups, N) + tuple(geom.out) + (Cg,)
    for i, index in enumerate(offset_indices(geom)):
        buf[(slice(None),) + index] += blocks[:, i].reshape(sizes).transpose(perm)
    gx = buf.reshape((N,) + geom.padded + (C,))[_crop(geom)]
    return gx.transpose(_to_first(gx.ndim))


def weight_rows(w):
    """(O, C / G, *K) -> (O, K * C / G), each row in ``im2col``'s (*K, C / G) order."""
    xp = backend.get_array_module(w)
    return xp.ascontiguousarray(w.transpose((0,) + tuple(range(2, w.ndim)) + (1,))) \
        .reshape(w.shape[0], -1)


def _rows(g):
    """(N, O, *out) -> rows (N * L, O), channels-last (free when ``g`` already is)."""
    return g.transpose(_to_last(g.ndim)).reshape(-1, g.shape[1])


def _from_rows(rows, n, out):
    """Rows (N * L, O) -> (N, O, *out), a view of the channels-last rows."""
    y = rows.reshape((n,) + tuple(out) + (rows.shape[1],))
    return y.transpose(_to_first(y.ndim))


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
        cols = im2col(x, geom, groups)
    w2 = weight_rows(w)
    if groups == 1:
        rows = cols @ w2.T
    else:
        wg = w2.reshape(groups, w.shape[0] // groups, -1)
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
    of gy and one GEMM; ~10% faster than ``spread`` on a 32-channel 3x3 layer). Otherwise
    ``spread``: one GEMM per kernel offset and a strided add each.
    """
    full = full_geometry(geom)
    if full is not None:
        return conv_forward(gy, _flipped(w, groups), None, full, groups)[0]
    return spread(gy, w, geom, groups, x_shape)


def conv_weight(x, gy, geom, groups, w_shape, cols=None):
    """gw = sum over windows of gy * x: the weight gradient, of shape ``w_shape``."""
    if cols is None:
        cols = im2col(x, geom, groups)
    g = _rows(gy)
    if groups == 1:
        gw = g.T @ cols                                     # (O, K * C)
    else:
        gw = _grouped(g, groups).swapaxes(1, 2) @ _grouped(cols, groups)   # (G, O / G, K * C / G)
    d = len(w_shape) - 2
    gw = gw.reshape((w_shape[0],) + tuple(w_shape[2:]) + (w_shape[1],))   # (O, *K, C / G)
    xp = backend.get_array_module(gw)
    return xp.ascontiguousarray(gw.transpose((0, d + 1) + tuple(range(1, d + 1))))


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
    """(N, C, *S) -> (N, C * K, L), PyTorch's unfold layout (rows in (C, *K) order)."""
    d = len(geom.kernel)
    xp = backend.get_array_module(x)
    v = windows(pad_zeros(x, geom.padding), geom)           # (N, C, *out, *K)
    perm = (0,) + tuple(range(2, 2 + d)) + (1,) + tuple(range(2 + d, 2 + 2 * d))
    N, C = x.shape[:2]
    rows = xp.ascontiguousarray(v.transpose(perm)).reshape(N, _prod(geom.out),
                                                            C * _prod(geom.kernel))
    return rows.swapaxes(1, 2)


def fold_array(cols, geom, shape):
    """(N, C * K, L) -> (N, C, *S), overlaps summed: unfold's adjoint (one add per offset)."""
    N, C = shape[0], shape[1]
    xp = backend.get_array_module(cols)
    blocks = cols.reshape((N, C, _prod(geom.kernel)) + tuple(geom.out))
    buf = xp.zeros((N, C) + geom.padded, dtype=cols.dtype)
    for i, index in enumerate(offset_indices(geom)):
        buf[(slice(None), slice(None)) + index] += blocks[:, :, i]
    return buf[(slice(None), slice(None)) + tuple(slice(lo, lo + n) for n, (lo, _) in
                                                  zip(geom.size, geom.padding))]


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
