"""Pooling: max pooling as a gather at the windows' argmax, average pooling as a window sum.

Max pooling picks, in every window, the first largest element: forward finds its flat
index in the input plane (what ``return_indices`` gives), then ``TakeFlat`` reads the
input there. The backward of reading is writing the gradient back at the same indices
(``PutFlat``, adding where windows overlap), and the backward of writing is reading:
the pair is closed under differentiation, as GetItem and IndexAdd are. ``max_unpool`` is
``PutFlat`` itself.

Average pooling is linear: ``WindowSum`` sums each window (of the zero-padded input) and
divides by a constant divisor (count_include_pad, ceil_mode and divisor_override only
change that divisor); its adjoint ``WindowSpread`` adds each divided gradient back over
its window. Each is the other's backward.

The gradient of a max pool lands on each window's maximum:

    >>> x = cr.arange(16.0).reshape(1, 1, 4, 4).requires_grad_()
    >>> F.max_pool2d(x, 2).sum().backward()
    >>> x.grad
    tensor([[[[0., 0., 0., 0.],
              [0., 1., 0., 1.],
              [0., 0., 0., 0.],
              [0., 1., 0., 1.]]]])
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..autograd.function import Op, constant_type
from . import either
from .conv import windows


@constant_type
@dataclass(frozen=True)
class PoolGeometry:
    """Windows of a pooling per spatial dim; ``padding`` pairs include ceil_mode's extra."""

    size: tuple
    kernel: tuple
    stride: tuple
    padding: tuple     # ((lo, hi), ...): hi may exceed lo where ceil_mode needs it
    dilation: tuple
    out: tuple
    pad: tuple         # the symmetric padding the user asked for

    @property
    def padded(self):
        return tuple(s + lo + hi for s, (lo, hi) in zip(self.size, self.padding))

    @property
    def overlapping(self):
        return any(s < dl * (k - 1) + 1 for s, k, dl in zip(self.stride, self.kernel,
                                                          self.dilation))


def pool_geometry(name, size, kernel, stride, padding, dilation, ceil_mode):
    """Check a pooling's arguments (tuples per dim) and return its ``PoolGeometry``."""
    return _pool_geometry(name, tuple(size), tuple(kernel), tuple(stride), tuple(padding),
                          tuple(dilation), bool(ceil_mode))


@functools.lru_cache(maxsize=512)  # a layer asks the same question at every step
def _pool_geometry(name, size, kernel, stride, padding, dilation, ceil_mode):
    out, pads = [], []
    for s, k, st, p, dl in zip(size, kernel, stride, padding, dilation):
        if k <= 0 or st <= 0 or dl <= 0:
            raise ValueError(f"{name}: kernel_size {kernel}, stride {stride} and dilation "
                             f"{dilation} must be positive")
        if p < 0:
            raise ValueError(f"{name}: negative padding {padding} is not supported")
        if p > k // 2:
            raise ValueError(f"{name}: padding {padding} should be at most half of the kernel "
                             f"size {kernel}")
        span = dl * (k - 1) + 1
        if ceil_mode:
            o = -(-(s + 2 * p - span) // st) + 1
            if (o - 1) * st >= s + p:  # the last window must start inside the input or left pad
                o -= 1
        else:
            o = (s + 2 * p - span) // st + 1
        if o <= 0:
            raise RuntimeError(f"{name}: kernel size {kernel} (padding {padding}, dilation "
                               f"{dilation}) is larger than the input size {tuple(size)}; the "
                               f"output would be empty")
        extra = max((o - 1) * st + span - (s + 2 * p), 0)
        out.append(o)
        pads.append((p, p + extra))
    return PoolGeometry(tuple(size), tuple(kernel), tuple(stride), tuple(pads), tuple(dilation),
                        tuple(out), tuple(padding))


def _padded(x, geom, value):
    if not any(lo or hi for lo, hi in geom.padding):
        return x
    xp = backend.get_array_module(x)
    out = xp.full(x.shape[:2] + geom.padded, value, dtype=x.dtype)
    out[(slice(None),) * 2 + tuple(slice(lo, lo + s) for s, (lo, _) in
                                   zip(geom.size, geom.padding))] = x
    return out


def max_pool_indices(x, geom):
    """Flat indices (into each input plane) of every window's first maximum."""
    xp = backend.get_array_module(x)
    d = len(geom.size)
    low = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min
    v = windows(_padded(x, geom, low), geom)               # (N, C, *out, *K)
    flat = v.reshape(v.shape[:2 + d] + (-1,))              # one copy
    arg = flat.argmax(axis=-1)                              # (N, C, *out)
    local = xp.unravel_index(arg, geom.kernel)
    index = 0
    for i in range(d):
        o = xp.arange(geom.out[i]).reshape((-1,) + (1,) * (d - 1 - i))
        pos = o * geom.stride[i] + local[i] * geom.dilation[i] - geom.padding[i][0]
        index = index * geom.size[i] + pos
    return index.astype(xp.int64)


def take_flat(x, idx):
    """x[n, c].flat[idx[n, c]] for every plane: (N, C, *S), (N, C, *out) -> (N, C, *out)."""
    xp = backend.get_array_module(x)
    n, c = x.shape[:2]
    rows = xp.take_along_axis(x.reshape(n * c, -1), idx.reshape(n * c, -1), axis=1)
    return rows.reshape(idx.shape)


def put_flat(g, idx, shape, unique):
    """zeros(shape) with ``g`` written at ``idx`` per plane, added where indices repeat."""
    xp = backend.get_array_module(g)
    n, c = shape[:2]
    plane = 1
    for s in shape[2:]:
        plane *= s
    if unique:
        out = xp.zeros((n * c, plane), dtype=g.dtype)
        xp.put_along_axis(out, idx.reshape(n * c, -1), g.reshape(n * c, -1), axis=1)
        return out.reshape(shape)
    flat = (idx.reshape(n * c, -1) + xp.arange(n * c).reshape(-1, 1) * plane).reshape(-1)
    out = xp.bincount(flat, weights=g.reshape(-1), minlength=n * c * plane)
    return out.astype(g.dtype, copy=False).reshape(shape)


class TakeFlat(Op):
    """Read each plane at flat indices (max pooling's forward)."""

    name = "max_pool"

    def forward(self, x, idx, unique):
        return take_flat(x, idx)

    def backward(self, g, x, idx, unique):
        shape = tuple(x.shape)
        if either.is_graph(g):
            return PutFlat.apply(g, idx, shape, unique), None, None
        return put_flat(g, idx, shape, unique), None, None


class PutFlat(Op):
    """Write into zero planes at flat indices (max pooling's backward, max_unpool)."""

    name = "max_unpool"

    def forward(self, g, idx, shape, unique):
        return put_flat(g, idx, shape, unique)

    def backward(self, gg, g, idx, shape, unique):
        if either.is_graph(gg):
            return TakeFlat.apply(gg, idx, unique), None, None, None
        return take_flat(gg, idx), None, None, None


def window_sum(x, geom):
    d = len(geom.size)
    v = windows(_padded(x, geom, 0), geom)
    return v.sum(axis=tuple(range(2 + d, 2 + 2 * d)))


def window_spread(g, geom, shape):
    """Add ``g`` (N, C, *out) back over every window: window_sum's adjoint."""
    xp = backend.get_array_module(g)
    buf = xp.zeros(tuple(shape[:2]) + geom.padded, dtype=g.dtype)
    for offset in np.ndindex(*geom.kernel):
        index = (slice(None), slice(None))
        for k, o, s, dl in zip(offset, geom.out, geom.stride, geom.dilation):
            index += (slice(k * dl, k * dl + (o - 1) * s + 1, s),)
        buf[index] += g
    return buf[(slice(None),) * 2 + tuple(slice(lo, lo + s) for s, (lo, _) in
                                          zip(geom.size, geom.padding))]


def _offset_views(a, geom):
    """One strided view (N, C, *out) of ``a`` (padded) per kernel offset, in row-major order."""
    views = []
    for offset in np.ndindex(*geom.kernel):
        index = (slice(None), slice(None))
        for k, o, s, dl in zip(offset, geom.out, geom.stride, geom.dilation):
            index += (slice(k * dl, k * dl + (o - 1) * s + 1, s),)
        views.append((index, a[index]))
    return views


class MaxPoolDirect(Op):
    """Max pooling with windows that do not overlap (the common stride = kernel case).

    Forward is an elementwise maximum over one strided view per kernel offset, so the
    output keeps the input's memory layout (channels-last stays channels-last); backward
    writes the gradient at each window's first maximum, found by comparing the views in
    order. Under create_graph the same indices become a ``PutFlat`` (as ``TakeFlat``'s).
    """

    name = "max_pool"
    saves_output = True
    caches = ("y",)

    def forward(self, x, geom):
        xp = backend.get_array_module(x)
        low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        views = _offset_views(_padded(x, geom, low), geom)
        y = views[0][1].copy(order="K")
        for _, v in views[1:]:
            xp.maximum(y, v, out=y)
        self.y = y
        return y

    def backward(self, g, x, geom):
        shape = tuple(x.shape)
        if either.is_graph(g):
            return PutFlat.apply(g, max_pool_indices(either.value(x), geom), shape, True), None
        y = getattr(self, "y", None)
        if y is None:
            y = self.forward(x, geom)
        xp = backend.get_array_module(g)
        low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        padded = _padded(x, geom, low)
        # Where the windows tile the (padded) input exactly (2x2 pooling of an even size),
        # the loop below writes every element of the gradient: nothing to zero first.
        tiles = all(s == k and dl == 1 and n == o * s for s, k, dl, n, o in zip(
            geom.stride, geom.kernel, geom.dilation, geom.padded, geom.out))
        gx = (xp.empty_like if tiles else xp.zeros_like)(padded, dtype=g.dtype)
        # A NaN is its window's maximum, as in PyTorch; one sum tells whether there is any
        # (NaN propagates through it) for a pass less than isnan(y).any().
        nan = y.dtype.kind == "f" and bool(xp.isnan(y.sum()))
        if g.strides != y.strides:
            # (the gradient of a Flatten comes back NCHW where y is channels-last): one copy
            # into y's layout, not four multiplies that each mix the two (~5x slower)
            g_like = xp.empty_like(y, dtype=g.dtype)
            g_like[...] = g
            g = g_like
        views = _offset_views(padded, geom)
        left = None  # the windows whose maximum is still to be found
        for n, (index, v) in enumerate(views):
            hit = v == y
            if nan:
                hit |= xp.isnan(v)
            if left is None:
                left = ~hit
            else:
                hit &= left
                if n + 1 < len(views):
                    left ^= hit  # = left & ~hit, as hit is within left: no new array
            xp.multiply(g, hit, out=gx[index])
        if padded is not x:
            gx = gx[(slice(None),) * 2 + tuple(slice(lo, lo + n) for n, (lo, _) in
                                               zip(geom.size, geom.padding))]
        return gx, None


class WindowSum(Op):
    """The sum of every window of the zero-padded input."""

    name = "avg_pool"

    def forward(self, x, geom):
        return window_sum(x, geom)

    def backward(self, g, x, geom):
        shape = tuple(x.shape)
        if either.is_graph(g):
            return WindowSpread.apply(g, geom, shape), None
        return window_spread(g, geom, shape), None


class WindowSpread(Op):
    name = "avg_pool_backward"

    def forward(self, g, geom, shape):
        return window_spread(g, geom, shape)

    def backward(self, gg, g, geom, shape):
        if either.is_graph(gg):
            return WindowSum.apply(gg, geom), None, None
        return window_sum(gg, geom), None, None


def avg_divisor(xp, geom, count_include_pad, divisor_override, dtype):
    """The divisor of every output position, (*out), as PyTorch's avg_pool counts it."""
    if divisor_override is not None:
        return xp.asarray(float(divisor_override), dtype=dtype)
    total = xp.ones((), dtype=dtype)
    for s, k, st, p, o in zip(geom.size, geom.kernel, geom.stride, geom.pad, geom.out):
        start = xp.arange(o) * st - p
        end = xp.minimum(start + k, s + p)   # windows may reach into the right pad, not beyond
        if count_include_pad:
            n = end - start
        else:
            n = xp.minimum(end, s) - xp.maximum(start, 0)
        total = total[..., None] * n.astype(dtype)
    return total
