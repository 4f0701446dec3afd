"""Pooling as functions: max, average and adaptive pooling in 1-D and 2-D, and max_unpool.

    >>> import chainrule.nn.functional as F
    >>> y, idx = F.max_pool2d(cr.randn(64, 6, 28, 28), 2, return_indices=True)
    >>> y.shape, F.max_unpool2d(y, idx, 2).shape
    (chainrule.Size([64, 6, 14, 14]), chainrule.Size([64, 6, 28, 28]))

Max pooling reads each window's first maximum (``ops.pool.TakeFlat``); average pooling is
a window sum over a constant divisor; adaptive average pooling (and pooling whose windows
have unequal sizes) is a product with constant averaging matrices.
"""

from __future__ import annotations

from ... import backend
from ...ops import pool as _pool
from ...ops import pool_index as _pool_index
from ...ops.conv import _tuple
from .conv import _batched  # (N, C, *S) or unbatched, as the convolutions take
from ...ops.linalg import matmul
from ...tensor import Tensor, _make


def _geometry(name, x, d, kernel_size, stride, padding, dilation, ceil_mode):
    k = _tuple(name, kernel_size, d, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _tuple(name, stride, d, "stride")
    return _pool.pool_geometry(name, tuple(x.shape[2:]), k, s,
                               _tuple(name, padding, d, "padding"),
                               _tuple(name, dilation, d, "dilation"), ceil_mode)


def _max_poolnd(name, d, input, kernel_size, stride, padding, dilation, ceil_mode,
                return_indices):
    x, unbatched = _batched(name, input, d)
    geom = _geometry(name, x, d, kernel_size, stride, padding, dilation, ceil_mode)
    if not geom.overlapping and not return_indices:
        y = _pool.MaxPoolDirect.apply(x, geom)
        return y.squeeze(0) if unbatched else y
    indices = _pool_index.MaxPoolIndices.apply(x, geom)   # an op: replays find new maxima
    y = _pool.TakeFlat.apply(x, indices, not geom.overlapping)
    if unbatched:
        y, indices = y.squeeze(0), indices.squeeze(0)
    return (y, indices) if return_indices else y


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The maximum of every window of (N, C, L); ``stride`` defaults to ``kernel_size``."""
    return _max_poolnd("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The maximum of every window of (N, C, H, W), as ``torch``'s (padding counts as -inf).

    ``return_indices`` also gives each maximum's flat index into its H * W plane.
    """
    return _max_poolnd("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices)


def _max_unpoolnd(name, d, input, indices, kernel_size, stride, padding, output_size):
    x, unbatched = _batched(name, input, d)
    idx = indices._array if isinstance(indices, Tensor) else indices
    if unbatched:
        idx = idx[None]
        if isinstance(indices, Tensor):
            indices = indices.unsqueeze(0)
    if tuple(idx.shape) != tuple(x.shape):
        raise ValueError(f"{name}: indices shape {tuple(idx.shape)} must match input shape "
                         f"{tuple(x.shape)}")
    k = _tuple(name, kernel_size, d, "kernel_size")
    s = k if stride is None else _tuple(name, stride, d, "stride")
    p = _tuple(name, padding, d, "padding")
    default = tuple((n - 1) * st - 2 * pp + kk for n, st, pp, kk in zip(x.shape[2:], s, p, k))
    if output_size is None:
        size = default
    else:
        size = tuple(int(v) for v in tuple(output_size)[-d:])
        for n, lo in zip(size, default):
            if not lo - max(s) < n < lo + max(s):
                raise ValueError(f"{name}: output_size {size} must lie within one stride of the "
                                 f"default size {default}")
    plane = 1
    for n in size:
        plane *= n
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        raise IndexError(f"{name}: found an invalid max index {int(idx.max())} for an output "
                         f"of size {size}")
    if isinstance(indices, Tensor):  # an input of the op: a replay puts at the new indices
        idx = indices if indices._array.dtype.name == "int64" else indices.long()
    else:
        idx = idx.astype("int64", copy=False)
    y = _pool.PutFlat.apply(x, idx, tuple(x.shape[:2]) + size, True)
    return y.squeeze(0) if unbatched else y


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Put each value back at its max_pool1d index, zeros elsewhere."""
    return _max_unpoolnd("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                         output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Put each value back at its max_pool2d index, zeros elsewhere (max_pool2d's inverse)."""
    return _max_unpoolnd("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                         output_size)


def _avg_poolnd(name, d, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
    x, unbatched = _batched(name, input, d)
    if divisor_override is not None and divisor_override == 0:
        raise ValueError(f"{name}: divisor_override must be non-zero")
    geom = _geometry(name, x, d, kernel_size, stride, padding, 1, ceil_mode)
    xp = backend.get_array_module(x._array)
    divisor = _pool.avg_divisor(xp, geom, count_include_pad, divisor_override, x.dtype)
    y = _pool.WindowSum.apply(x, geom) * _make(1 / divisor, False, None)
    return y.squeeze(0) if unbatched else y


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """The mean of every window of (N, C, L)."""
    return _avg_poolnd("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                       count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """The mean of every window of (N, C, H, W), as ``torch``'s.

    ``count_include_pad`` counts the zero padding in the divisor; ``divisor_override``
    replaces the divisor.
    """
    return _avg_poolnd("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                       count_include_pad, divisor_override)


_adaptive_bounds = _pool_index.adaptive_bounds


def _output_size(name, x, output_size, d):
    if isinstance(output_size, int) or output_size is None:
        output_size = (output_size,) * d
    output_size = tuple(output_size)
    if len(output_size) != d:
        raise ValueError(f"{name}: output_size must be an int or {d} ints, got {output_size}")
    size = tuple(s if o is None else int(o) for s, o in zip(x.shape[2:], output_size))
    if any(o <= 0 for o in size):
        raise ValueError(f"{name}: output_size {size} must be positive")
    return size


def _averaging_matrix(xp, size, out, dtype):
    """(out, size) rows that average each adaptive window."""
    m = xp.zeros((out, size), dtype=dtype)
    starts, ends = _adaptive_bounds(size, out)
    for i, (a, b) in enumerate(zip(starts, ends)):
        m[i, a:b] = 1.0 / (b - a)
    return m


def apply_separable(x, matrices):
    """x (N, C, *S) with spatial dim i mapped by the constant matrix (out_i, S_i): linear in x.

    The last dim is ``y @ M.T``, the one before it ``M @ y`` (1-D and 2-D inputs).
    """
    y = x
    for i, m in enumerate(matrices):
        axis = 2 + i
        if axis == x.ndim - 1:
            y = matmul(y, _make(m.T, False, None))
        elif axis == x.ndim - 2:
            y = matmul(_make(m, False, None), y)
        else:
            raise ValueError(f"apply_separable: only the last two dims, got shape {tuple(x.shape)}")
    return y


def _adaptive_avg_poolnd(name, d, input, output_size):
    x, unbatched = _batched(name, input, d)
    size = _output_size(name, x, output_size, d)
    if all(s % o == 0 for s, o in zip(x.shape[2:], size)):  # equal windows: a plain avg pool
        k = tuple(s // o for s, o in zip(x.shape[2:], size))
        geom = _pool.pool_geometry(name, tuple(x.shape[2:]), k, k, (0,) * d, (1,) * d, False)
        y = _pool.WindowSum.apply(x, geom) * (1.0 / _prod(k))
    else:
        xp = backend.get_array_module(x._array)
        y = apply_separable(x, [_averaging_matrix(xp, s, o, x.dtype)
                                for s, o in zip(x.shape[2:], size)])
    return y.squeeze(0) if unbatched else y


def _prod(values):
    n = 1
    for v in values:
        n *= v
    return n


def adaptive_avg_pool1d(input, output_size):
    """Average pooling of (N, C, L) to length ``output_size`` (windows as PyTorch's)."""
    return _adaptive_avg_poolnd("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling of (N, C, H, W) to ``output_size`` (an int, a pair, None keeps a dim).

        >>> F.adaptive_avg_pool2d(cr.randn(2, 64, 7, 7), 1).shape      # global average pool
        chainrule.Size([2, 64, 1, 1])
    """
    return _adaptive_avg_poolnd("adaptive_avg_pool2d", 2, input, output_size)


def _adaptive_max_poolnd(name, d, input, output_size, return_indices):
    x, unbatched = _batched(name, input, d)
    size = _output_size(name, x, output_size, d)
    bounds = [_adaptive_bounds(s, o) for s, o in zip(x.shape[2:], size)]
    indices = _pool_index.AdaptiveMaxIndices.apply(x, size)   # an op: replays find new maxima
    unique = all(e <= s for b in bounds for s, e in zip(b[0][1:], b[1][:-1]))
    y = _pool.TakeFlat.apply(x, indices, unique)
    if unbatched:
        y, indices = y.squeeze(0), indices.squeeze(0)
    return (y, indices) if return_indices else y


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of (N, C, L) to length ``output_size``."""
    return _adaptive_max_poolnd("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling of (N, C, H, W) to ``output_size`` (windows as PyTorch's)."""
    return _adaptive_max_poolnd("adaptive_max_pool2d", 2, input, output_size, return_indices)
