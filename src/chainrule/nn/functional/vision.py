"""Image-shaped helpers: ``pad`` (four modes), ``interpolate``, ``pixel_shuffle``, and the
channel dropouts ``dropout1d`` / ``dropout2d``.

    >>> import chainrule.nn.functional as F
    >>> F.pad(cr.arange(4.0).reshape(1, 1, 4), (2, 1), mode="reflect")
    tensor([[[2., 1., 0., 1., 2., 3., 2.]]])

All are compositions of primitives (indexing, constant padding, matrix products with
constant interpolation matrices, reshape / permute, a constant mask), so every one has
backward and double backward for free.
"""

from __future__ import annotations

import math

import numpy as np

from ... import backend
from ...ops import arithmetic as _el
from ...ops.index import index_select
from ...ops.random import KeepMask as _KeepMask
from ...ops.shape import pad as _constant_pad
from ...tensor import _make
from .pooling import apply_separable

_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_index(xp, size, lo, hi, mode):
    """Source indices of a dim padded by (lo, hi) in ``mode``."""
    pos = xp.arange(-lo, size + hi)
    if mode == "reflect":
        period = 2 * (size - 1)
        pos = xp.abs(pos) % period if period else xp.zeros_like(pos)
        pos = xp.where(pos >= size, period - pos, pos)
    elif mode == "replicate":
        pos = xp.clip(pos, 0, size - 1)
    else:  # circular: torch crops a negative side first and wraps the cropped dim
        start, stop = max(-lo, 0), size - max(-hi, 0)
        pos = start + (xp.arange(-max(lo, 0), (stop - start) + max(hi, 0)) % (stop - start))
    return pos


def pad(input, pad, mode="constant", value=None):
    """Pad the last ``len(pad) // 2`` dims, ``pad = (left, right, top, bottom, ...)``.

    ``mode``: ``"constant"`` (``value``, default 0; negative widths crop), ``"reflect"``
    (mirror without repeating the edge), ``"replicate"`` (repeat the edge), ``"circular"``
    (wrap around).
    """
    if mode not in _MODES:
        raise ValueError(f"pad: mode must be one of {_MODES}, got {mode!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: padding {pad} must have an even length of at most "
                         f"2 * {input.ndim} (input shape {tuple(input.shape)})")
    k = len(pad) // 2
    if mode == "constant":
        crop = [slice(None)] * input.ndim
        grow = []
        for i in range(k):
            lo, hi = pad[2 * i], pad[2 * i + 1]
            axis = input.ndim - 1 - i
            n = input.shape[axis]
            crop[axis] = slice(max(-lo, 0), n - max(-hi, 0))
            grow += [max(lo, 0), max(hi, 0)]
        x = input[tuple(crop)] if any(p < 0 for p in pad) else input
        return _constant_pad(x, tuple(grow), value=0.0 if value is None else value)
    if value not in (None, 0, 0.0):
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in value argument")
    if input.ndim not in (k + 1, k + 2) or k > 3:
        raise ValueError(f"pad: {mode} padding of {k} dims needs a {k + 1}-D or {k + 2}-D "
                         f"input, got shape {tuple(input.shape)}")
    xp = backend.get_array_module(input._array)
    y = input
    for i in range(k):
        lo, hi = pad[2 * i], pad[2 * i + 1]
        axis = input.ndim - 1 - i
        n = input.shape[axis]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"pad: reflect padding {(lo, hi)} must be smaller than the input "
                             f"size {n} of dim {axis} (input shape {tuple(input.shape)})")
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError(f"pad: circular padding {(lo, hi)} must be at most the input size "
                             f"{n} of dim {axis} (input shape {tuple(input.shape)})")
        if min(lo, hi) < 0 and mode != "circular":
            raise ValueError(f"pad: negative padding {pad} is only supported in constant and "
                             f"circular modes")
        if lo or hi:
            y = index_select(y, axis, _pad_index(xp, n, lo, hi, mode))
    return y


# --- interpolate ----------------------------------------------------------------------------

def _interp_matrix(xp, size, out, mode, align_corners, scale, dtype):
    """(out, size): row i holds the weights of output i over the input positions."""
    m = xp.zeros((out, size), dtype=np.float64)
    dst = xp.arange(out, dtype=np.float64)
    rows = xp.arange(out)
    if mode == "nearest":
        ratio = size / out if scale is None else 1.0 / scale
        src = xp.minimum(xp.floor(dst * ratio).astype(np.int64), size - 1)
        m[rows, src] = 1.0
        return m.astype(dtype)
    if mode == "nearest-exact":
        ratio = size / out if scale is None else 1.0 / scale
        src = xp.minimum(xp.floor((dst + 0.5) * ratio).astype(np.int64), size - 1)
        m[rows, src] = 1.0
        return m.astype(dtype)
    if align_corners:
        src = dst * ((size - 1) / (out - 1)) if out > 1 else xp.zeros_like(dst)
    else:
        ratio = size / out if scale is None else 1.0 / scale
        src = xp.maximum((dst + 0.5) * ratio - 0.5, 0.0)
    i0 = xp.minimum(xp.floor(src).astype(np.int64), size - 1)
    i1 = xp.minimum(i0 + 1, size - 1)
    lam = src - i0
    xp.add.at(m, (rows, i0), 1.0 - lam)
    xp.add.at(m, (rows, i1), lam)
    return m.astype(dtype)


_INTERP_DIMS = {"nearest": (1, 2), "nearest-exact": (1, 2), "linear": (1,), "bilinear": (2,)}


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize (N, C, L) or (N, C, H, W) to ``size`` or by ``scale_factor``, as ``torch``'s.

    Modes ``nearest``, ``nearest-exact``, ``linear`` (1-D) and ``bilinear`` (2-D); each spatial
    dim is a product with a constant interpolation matrix, so the gradient is its transpose.

        >>> F.interpolate(cr.randn(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
        chainrule.Size([1, 3, 8, 8])
    """
    if mode not in _INTERP_DIMS:
        raise ValueError(f"interpolate: mode {mode!r} is not supported; expected one of "
                         f"{sorted(_INTERP_DIMS)}")
    d = input.ndim - 2
    if d not in _INTERP_DIMS[mode]:
        raise ValueError(f"interpolate: mode {mode!r} expects a {_INTERP_DIMS[mode][0] + 2}-D "
                         f"input, got shape {tuple(input.shape)}")
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported")
    if mode.startswith("nearest"):
        if align_corners is not None:
            raise ValueError("interpolate: align_corners option can only be set with the "
                             "interpolating modes: linear | bilinear")
    elif align_corners is None:
        align_corners = False
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: exactly one of size and scale_factor must be given")
    spatial = tuple(input.shape[2:])
    if size is not None:
        out = (int(size),) * d if isinstance(size, (int, np.integer)) else \
            tuple(int(s) for s in size)
        if len(out) != d:
            raise ValueError(f"interpolate: size {size} must have {d} entries for input shape "
                             f"{tuple(input.shape)}")
        scales = (None,) * d
    else:
        scales = (float(scale_factor),) * d if isinstance(scale_factor, (int, float)) else \
            tuple(float(s) for s in scale_factor)
        if len(scales) != d:
            raise ValueError(f"interpolate: scale_factor {scale_factor} must have {d} entries")
        out = tuple(int(math.floor(s * f)) for s, f in zip(spatial, scales))
        if recompute_scale_factor:
            scales = (None,) * d
    if any(o <= 0 for o in out):
        raise ValueError(f"interpolate: output size {out} must be positive "
                         f"(input shape {tuple(input.shape)})")
    xp = backend.get_array_module(input._array)
    mats = [_interp_matrix(xp, s, o, mode, align_corners, sc, input.dtype)
            for s, o, sc in zip(spatial, out, scales)]
    return apply_separable(input, mats)


def pixel_shuffle(input, upscale_factor):
    """(N, C r^2, H, W) -> (N, C, H r, W r): sub-pixel convolution's rearrangement."""
    r = int(upscale_factor)
    if input.ndim < 3:
        raise ValueError(f"pixel_shuffle: expected at least 3 dims, got shape {tuple(input.shape)}")
    *lead, c, h, w = input.shape
    if r <= 0 or c % (r * r):
        raise ValueError(f"pixel_shuffle: channels {c} (input shape {tuple(input.shape)}) are not "
                         f"divisible by upscale_factor^2 = {r * r}")
    n = len(lead)
    y = input.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(N, C, H r, W r) -> (N, C r^2, H, W): pixel_shuffle's inverse."""
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if r <= 0 or h % r or w % r:
        raise ValueError(f"pixel_unshuffle: spatial size {(h, w)} (input shape "
                         f"{tuple(input.shape)}) is not divisible by downscale_factor {r}")
    n = len(lead)
    y = input.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


# --- channel dropout ------------------------------------------------------------------------

def _channel_dropout(name, d, input, p, training, generator):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (d + 1, d + 2):
        raise ValueError(f"{name}: expected a {d + 1}-D or {d + 2}-D input, got shape "
                         f"{tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    batched = input.ndim == d + 2
    lead = tuple(input.shape[:2]) if batched else tuple(input.shape[:1])
    shape = lead + (1,) * d
    dtype = input.dtype
    if p == 1.0:
        return input * _make(backend.get_array_module(input._array).zeros((), dtype=dtype),
                             False, None)
    # The mask is drawn by an op, so that a replayed program draws anew.
    mask = _KeepMask.apply(input, shape, p, generator,
                           np.float32 if dtype == np.float32 else np.float64)
    return _el.mul(input, mask)


def dropout1d(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero whole channels of (N, C, L) with probability ``p``, scale the rest by 1 / (1 - p)."""
    return _channel_dropout("dropout1d", 1, input, p, training, generator)


def dropout2d(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero whole channels of (N, C, H, W) with probability ``p``, scale the rest by 1 / (1 - p)."""
    return _channel_dropout("dropout2d", 2, input, p, training, generator)
