"""Convolution as im2col + one GEMM, its two adjoints, and unfold / fold.

A convolution of ``x`` (N, C, *S) with ``w`` (O, C / groups, *K) reads, for every output
position, a window of the (zero-padded) input: the windows are a strided *view* of the
input in channels-last memory (N, *S, C), built from the strides directly, copied once into
a matrix of rows (N * L, K * C) ("im2col", L the number of output positions, the channels
innermost so that each kernel row of a window is one contiguous run), so the whole
convolution is one matrix product with ``w`` permuted to the same (O, K * C) order. Its
output rows (N * L, O) are the output, as a (N, O, *S) view of channels-last memory, which
the next layer reads without a transpose. The input gradient is one GEMM per kernel offset
and a strided add each (``spread``), or for a stride-1 "same" layer the full convolution of
the output gradient with the flipped kernel.

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
from ..autograd.function import Op, constant_type
from ..tensor import Tensor
from . import either
from .either import wants as _wants
from .gemm import column_sums
from .shape import to_last


@constant_type
@dataclass(frozen=True)
class Geometry:
    """Where the windows of a convolution lie, per spatial dim (d = 1 or 2, or more)."""

    size: tuple        # input spatial size S
    kernel: tuple      # K
    stride: tuple
    padding: tuple     # ((lo, hi), ...) zero padding per dim
    dilation: tuple
    out: tuple         # output spatial size

    def __post_init__(self):
        # What is derived from this geometry at every step (its Plans, its full geometry),
        # looked up here instead of by an lru_cache keyed on the geometry: hashing the six
        # tuples of a dataclass costs a Python call per lookup. Not a field: equality, hash
        # and repr ignore it.
        object.__setattr__(self, "memo", {})

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


@functools.lru_cache(maxsize=None)
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


@dataclass(frozen=True)
class Plan:
    """The shapes, strides and indices of one convolution's kernels, per input shape (cached:
    a layer asks for the same ones at every step)."""

    padded_shape: tuple    # (N, *Sp, C): the channels-last zero-padded input
    crop: tuple            # the index of the input in it
    pads: bool             # whether there is any padding
    window_shape: tuple    # (N, *out, G, *K, C / G): every window, a view of the padded input
    window_strides: tuple  # its strides (bytes) over a C-contiguous padded input
    rows_shape: tuple      # (N L, C K): im2col's rows
    to_last: tuple         # the axes (N, C, *S) -> (N, *S, C)
    to_first: tuple        # and back
    offsets: tuple         # per kernel offset, (slice(None), *strided slices) it reads
    block_shape: tuple     # (N, *out, C): one offset's contribution to the input gradient


def plan(geom, groups, n, c, itemsize):
    """The ``Plan`` of ``geom`` for ``groups`` and an input of N = ``n``, C = ``c``
    (cached on the geometry: a layer asks for the same one at every step)."""
    key = (groups, n, c, itemsize)
    memo = geom.memo
    p = memo.get(key)
    if p is None:
        if len(memo) > 64:  # batch sizes seen once must not pile up
            memo.clear()
        p = memo[key] = _plan(geom, groups, n, c, itemsize)
    return p


def _plan(geom, groups, n, c, itemsize):
    d = len(geom.kernel)
    padded = geom.padded
    step = [itemsize * c]                                  # bytes between positions, last dim first
    for size in reversed(padded[1:]):
        step.insert(0, step[0] * size)
    cg = c // groups
    window_strides = (step[0] * padded[0],) + \
        tuple(st * s for st, s in zip(step, geom.stride)) + (itemsize * cg,) + \
        tuple(st * dl for st, dl in zip(step, geom.dilation)) + (itemsize,)
    offsets = tuple((slice(None),) + tuple(
        slice(k * dl, k * dl + (o - 1) * s + 1, s)
        for k, o, s, dl in zip(offset, geom.out, geom.stride, geom.dilation))
        for offset in np.ndindex(*geom.kernel))
    return Plan(
        padded_shape=(n,) + padded + (c,), crop=_crop(geom),
        pads=any(lo or hi for lo, hi in geom.padding),
        window_shape=(n,) + tuple(geom.out) + (groups,) + tuple(geom.kernel) + (cg,),
        window_strides=window_strides,
        rows_shape=(n * _prod(geom.out), c * _prod(geom.kernel)),
        to_last=to_last(d + 2), to_first=_to_first(d + 2), offsets=offsets,
        block_shape=(n,) + tuple(geom.out) + (c,))


def padded_last(x, geom, p=None, xp=None):
    """``x`` (N, C, *S) as a C-contiguous channels-last array (N, *Sp, C), zero-padded.

    No copy when ``x`` is already channels-last memory and needs no padding (the output of
    a convolution, a ReLU of it, a max pool of that).
    """
    p = p or plan(geom, 1, x.shape[0], x.shape[1], x.dtype.itemsize)
    xp = xp or backend.get_array_module(x)
    xl = x.transpose(p.to_last)
    if not p.pads:
        return xp.ascontiguousarray(xl)
    buf = xp.zeros(p.padded_shape, dtype=x.dtype)
    buf[p.crop] = xl
    return buf


def _view(a, shape, strides, xp=None):
    """A strided view of the contiguous array ``a`` (no copy)."""
    xp = xp or backend.get_array_module(a)
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


def im2col(x, geom, groups=1):
    """Rows (N * L, C * K) of every window, channels-last, columns in (G, *K, C / G) order.

    The windows are a view (N, *out, G, *K, C / G) of the channels-last padded input: along
    (*K, C / G) a window is, for every kernel row, one run of kW x C / G contiguous elements
    (dilation 1), so the one copy that makes the rows is a few long memcpys per window,
    where the (C, *K) order of PyTorch's weight reads runs of kW elements (~10x slower on 25
    channels, kernel 3). ``weight_rows`` orders the weight the same way.
    """
    p = plan(geom, groups, x.shape[0], x.shape[1], x.dtype.itemsize)
    xp = backend.get_array_module(x)
    win = _view(padded_last(x, geom, p, xp), p.window_shape, p.window_strides, xp)
    return xp.ascontiguousarray(win).reshape(p.rows_shape)


def spread(gy, w, geom, groups, shape, rows=None, w2=None):
    """conv^T(gy, w) as one GEMM per kernel offset and one strided add each (col2im fused).

    ``gy @ w[:, :, offset]`` (one broadcast matmul over the offsets, (G, K, N L, C / G)) is
    a contiguous block per offset, added at that offset's strided positions of a
    channels-last padded buffer whose last two dims (the window's columns and the channels)
    are contiguous too: ~1.8x faster than the GEMM to rows (N L, K C) and their K strided
    adds (LeNet's 5x5 layer), which read runs of C elements only. ``w2``, the forward's
    ``weight_rows(w)`` when at hand, gives the (K, O, C) weights as a view (BLAS reads its
    rows with a stride): no copy of the weight.
    """
    N, C = shape[0], shape[1]
    O, Cg = w.shape[:2]
    p = plan(geom, groups, N, C, gy.dtype.itemsize)
    xp = backend.get_array_module(gy)
    kk = len(p.offsets)
    g = _rows(gy) if rows is None else rows                     # (N L, O)
    buf = xp.zeros(p.padded_shape, dtype=gy.dtype)
    if groups == 1:
        if w2 is not None:                                                    # (K, O, C)
            wk = w2.reshape(O, kk, C).transpose(1, 0, 2)
        else:
            wk = xp.ascontiguousarray(w.reshape(O, C, kk).transpose(2, 0, 1))
        blocks = g @ wk                                                       # (K, N L, C)
        block_shape = p.block_shape
        for i, index in enumerate(p.offsets):
            part = buf[index]  # add into the view: ``buf[index] +=`` would index twice
            xp.add(part, blocks[i].reshape(block_shape), out=part)
    else:
        wk = xp.ascontiguousarray(w.reshape(groups, O // groups, Cg, kk).transpose(0, 3, 1, 2))
        g = g.reshape(g.shape[0], groups, O // groups).swapaxes(0, 1)[:, None]
        blocks = g @ wk                                          # (G, K, N L, C / G)
        grouped = buf.reshape(p.padded_shape[:-1] + (groups, Cg))
        sizes = (groups,) + p.block_shape[:-1] + (Cg,)
        perm = tuple(range(1, len(sizes) - 1)) + (0, len(sizes) - 1)   # G next to C / G
        for i, index in enumerate(p.offsets):
            grouped[index] += blocks[:, i].reshape(sizes).transpose(perm)
    return buf[p.crop].transpose(p.to_first)


def weight_rows(w):
    """(O, C / G, *K) -> (O, K * C / G), each row in ``im2col``'s (*K, C / G) order."""
    xp = backend.get_array_module(w)
    rows = xp.ascontiguousarray(w.transpose(to_last(w.ndim)))
    return rows.reshape(w.shape[0], -1)


def _rows(g):
    """(N, O, *out) -> rows (N * L, O), channels-last (free when ``g`` already is)."""
    return g.transpose(to_last(g.ndim)).reshape(-1, g.shape[1])


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


def conv_forward(x, w, b, geom, groups, cols=None, w2=None):
    """y = conv(x, w) + b; returns (y, cols). ``w2``: ``weight_rows(w)``, if already made."""
    if cols is None:
        cols = im2col(x, geom, groups)
    if w2 is None:
        w2 = weight_rows(w)
    if groups == 1:
        rows = cols @ w2.T
    else:
        wg = w2.reshape(groups, w.shape[0] // groups, -1)
        rows = _ungrouped(_grouped(cols, groups) @ wg.swapaxes(1, 2))
    if b is not None:
        add_bias(rows, b)  # in place into the GEMM's fresh output
    return _from_rows(rows, x.shape[0], geom.out), cols


_JOINED = 1024  # add_bias: rows of a few channels are joined up to about this many elements


def add_bias(rows, b):
    """``rows += b`` for rows (M, N) C-contiguous and ``b`` (N,), the same bits.

    NumPy's broadcast runs one inner loop per row, slow on a convolution's short rows (6 to
    64 channels): ``2^j`` consecutive rows are one row of a ``2^j``-fold tiled bias instead,
    about 1,024 long. LeNet's first layer (50,176 rows of 6): 37 us instead of 192.

        >>> add_bias(np.zeros((4096, 2), np.float32), np.array([1.0, 2.0], np.float32))[3]
        array([1., 2.], dtype=float32)
    """
    m, n = rows.shape
    k = 1
    if m * n >= 4096 and b.shape == (n,) and rows.flags.c_contiguous:  # else: not worth it
        while k * n < _JOINED and m % (2 * k) == 0:
            k *= 2
    if k == 1:
        rows += b
    else:
        # b repeated k times, by one broadcast assignment (np.tile is ~5 us of Python)
        tiled = backend.get_array_module(b).empty((k, n), dtype=b.dtype)
        tiled[...] = b
        joined = rows.reshape(m // k, k * n)
        joined += tiled.reshape(-1)
    return rows


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


def _full_of(geom):
    """``full_geometry(geom)``, remembered on ``geom``."""
    memo = geom.memo
    try:
        return memo["full"]
    except KeyError:
        full = memo["full"] = full_geometry(geom)
        return full


def _flipped(w, groups):
    """(O, C / G, *K) -> (C, O / G, *K) flipped in every spatial dim: the full conv's weight."""
    xp = backend.get_array_module(w)
    O, Cg = w.shape[:2]
    k = w.shape[2:]
    wg = w.reshape((groups, O // groups, Cg) + k).swapaxes(1, 2)      # (G, Cg, Og, *K)
    flip = (slice(None),) * 3 + (slice(None, None, -1),) * len(k)
    return xp.ascontiguousarray(wg[flip]).reshape((groups * Cg, O // groups) + k)


def conv_data(gy, w, geom, groups, x_shape, rows=None, w2=None):
    """gx = conv^T(gy, w), of shape ``x_shape``.

    Stride 1 and "same" sizes: the "full" convolution of gy with the flipped kernel (an im2col
    of gy and one GEMM; ~10% faster than ``spread`` on a 32-channel 3x3 layer). Otherwise
    ``spread``: one GEMM per kernel offset and a strided add each.
    """
    full = _full_of(geom)
    if full is not None:
        return conv_forward(gy, _flipped(w, groups), None, full, groups)[0]
    return spread(gy, w, geom, groups, x_shape, rows, w2)


def conv_weight(x, gy, geom, groups, w_shape, cols=None, rows=None):
    """gw = sum over windows of gy * x: the weight gradient, of shape ``w_shape``."""
    if cols is None:
        cols = im2col(x, geom, groups)
    g = _rows(gy) if rows is None else rows
    if groups == 1:
        gw = g.T @ cols                                     # (O, K * C)
    else:
        gw = _grouped(g, groups).swapaxes(1, 2) @ _grouped(cols, groups)   # (G, O / G, K * C / G)
    gw = gw.reshape((w_shape[0],) + tuple(w_shape[2:]) + (w_shape[1],))   # (O, *K, C / G)
    xp = backend.get_array_module(gw)
    # To (O, C / G, *K) by a ufunc copy into the transposed view of the result: its loop runs
    # along the source's contiguous C / G (NumPy's copy would run along the kernel's kW
    # elements, C apart: 1.3x the instructions on a 25-channel 1-D layer, kernel 3).
    out = xp.empty(w_shape, dtype=gw.dtype)
    xp.positive(gw, out=out.transpose(to_last(gw.ndim)))
    return out


# --- the primitives ------------------------------------------------------------------------


class Conv(Op):
    """y = conv(x, w) + b, one GEMM over the im2col rows (kept for the weight gradient) and
    the weight's rows (kept for the input gradient)."""

    caches = ("cols", "w2")

    def forward(self, x, w, b, geom, groups):
        self.w2 = w2 = weight_rows(w)
        y, self.cols = conv_forward(x, w, b, geom, groups, w2=w2)
        return y

    def backward(self, g, x, w, b, geom, groups):
        if isinstance(g, Tensor):  # create_graph
            return self._graph_backward(g, x, w, b, geom, groups)
        gx = gw = gb = None
        args = self.args
        rows = _rows(g)  # once (a copy where g is not channels-last), for all three
        a = args[0]
        if isinstance(a, Tensor) and a._requires_grad:
            gx = conv_data(g, w, geom, groups, x.shape, rows, getattr(self, "w2", None))
        a = args[1]
        if isinstance(a, Tensor) and a._requires_grad:
            gw = conv_weight(x, g, geom, groups, w.shape, getattr(self, "cols", None), rows)
        a = args[2]
        if isinstance(a, Tensor) and a._requires_grad:
            gb = column_sums(rows)  # a GEMV: ~5x faster than NumPy's sum over the rows' axis 0
        return gx, gw, gb, None, None

    def _graph_backward(self, g, x, w, b, geom, groups):
        """Under create_graph: the same gradients as recorded ops (conv's adjoints again)."""
        gx = gw = gb = None
        if _wants(self, 0):
            gx = ConvData.apply(g, w, geom, groups, tuple(x.shape))
        if _wants(self, 1):
            gw = ConvWeight.apply(x, g, geom, groups, tuple(w.shape))
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
    for i, index in enumerate(plan(geom, 1, N, C, cols.dtype.itemsize).offsets):
        buf[(slice(None),) + index] += blocks[:, :, i]
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
