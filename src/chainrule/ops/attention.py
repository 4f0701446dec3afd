"""Scaled dot-product attention as one fused node: softmax(q k^T * scale + mask) v.

    out = P v,   P = softmax(S),   S = q k^T * scale + mask        (q (..., L, E), k (..., S, E))

The node has two outputs, ``out`` and the attention weights ``P`` (after dropout, as
PyTorch's MultiheadAttention returns them), so a loss may use either. Backward:

    dP = g_out v^T + g_P,   dv = P^T g_out,   dS = P * (dP - sum(dP * P, -1)),
    dq = dS k * scale,      dk = dS^T q * scale,   d mask = dS

Dropout multiplies P by a constant mask (kept / (1 - p)). With ``safe``, a row whose
every score is masked gets zero weights (``scaled_dot_product_attention``); without, NaN
(MultiheadAttention with need_weights, as PyTorch). Under ``create_graph`` the rule
recomputes P with Tensor ops, so second derivatives flow through the same formulas.

    >>> q = k = v = cr.randn(2, 5, 8, requires_grad=True)
    >>> out, weights = Attention.apply(q, k, v, None, 8 ** -0.5, None, True)
"""

from __future__ import annotations

import numpy as np

from .. import backend
from . import either
from .recurrent import MultiOutputOp, _zeros_for, stack_graph_grads


def _swap(x):
    return x.swapaxes(-1, -2)


def _softmax_rows(s, safe):
    """softmax over the last axis of the raw array ``s``, in its memory (callers pass a
    fresh array); fully masked rows: 0 or NaN."""
    xp = backend.get_array_module(s)
    m = s.max(axis=-1, keepdims=True)
    finite = xp.isfinite(m)
    m = xp.where(finite, m, 0)
    e = s
    e -= m
    xp.exp(e, out=e)
    z = e.sum(axis=-1, keepdims=True)
    if safe:
        z = xp.where(z == 0, 1, z)
    elif not finite.all():
        z = xp.where(finite, z, xp.nan)
    e /= z
    return e


class Attention(MultiOutputOp):
    """(q, k, v, mask, scale, dropout mask or None, safe) -> (softmax(q k^T s + mask) v, P)."""

    name = "attention"
    caches = ("p",)

    def forward(self, q, k, v, mask, scale, drop, safe):
        s = q @ _swap(k)
        s *= scale
        if mask is not None:
            if np.broadcast_shapes(mask.shape, s.shape) == s.shape:
                s += mask  # s is fresh: no second (..., L, S) array
            else:
                s = s + mask
        p = _softmax_rows(s, safe)
        self.p = p
        pd = p * drop if drop is not None else p
        return pd @ v, pd

    def backward(self, grads, q, k, v, mask, scale, drop, safe):
        g_out, g_p = grads
        graph = any(either.is_graph(a) for a in (g_out, g_p, q, k, v))
        if graph:
            p = self._graph_probs(q, k, mask, scale, safe)
        else:
            p = getattr(self, "p", None)
            if p is None:
                p = _softmax_rows((q @ _swap(k)) * scale + (0 if mask is None else mask), safe)
        pd = p * drop if drop is not None else p
        shape_p = tuple(either.value(p).shape)
        ref = q if either.is_graph(q) else either.value(q)
        g_out = _zeros_for(g_out, shape_p[:-1] + (v.shape[-1],), ref)
        dpd = g_out @ _swap(v)
        if g_p is not None:
            dpd = dpd + g_p
        dv = _swap(pd) @ g_out if self._wants(2) else None
        dp = dpd * drop if drop is not None else dpd
        if graph:
            ds = p * (dp - either.sum(dp * p, -1, True))
            dq = (ds @ k) * scale if self._wants(0) else None
            dk = (_swap(ds) @ q) * scale if self._wants(1) else None
            dmask = ds if self._wants(3) else None
            return dq, dk, dv, dmask, None, None, None
        # dp is a fresh array here: ds and ds * scale are written over it.
        dp -= (dp * p).sum(axis=-1, keepdims=True)
        dp *= p
        dmask = dp.copy() if self._wants(3) else None
        dp *= scale
        dq = dp @ k if self._wants(0) else None
        dk = _swap(dp) @ q if self._wants(1) else None
        return dq, dk, dv, dmask, None, None, None

    def _wants(self, i):
        a = self.args[i]
        return getattr(a, "_requires_grad", False)

    @staticmethod
    def _graph_probs(q, k, mask, scale, safe):
        from .unary import where  # noqa: PLC0415 - same package, no cycle at call time
        from .softmax import softmax  # noqa: PLC0415
        s = (q @ _swap(k)) * scale
        if mask is not None:
            s = s + mask
        sv = either.value(s)
        xp = backend.get_array_module(sv)
        dead = ~xp.isfinite(sv.max(axis=-1, keepdims=True))
        if safe and dead.any():
            s = where(xp.broadcast_to(dead, sv.shape), 0.0, s)
            return where(xp.broadcast_to(dead, sv.shape), 0.0, softmax(s, -1))
        if not either.is_graph(s):
            return _softmax_rows(sv.copy(), safe)
        return softmax(s, -1)


class SplitHeads(MultiOutputOp):
    """The fused projection qkv (A, B, n E) -> n Tensors (N, H, L, E / H), strided views.

    ``batch_first``: (A, B) is (N, L); else (L, N) (time-major). The views read straight from
    the projection's buffer, so the heads cost no copy; backward writes the n gradients into
    one array of qkv's shape (no zeros per piece and no sum of them).
    """

    def forward(self, x, n, heads, batch_first):
        A, B, width = x.shape
        parts = x.reshape(A, B, n, heads, width // (n * heads))
        axes = (0, 2, 1, 3) if batch_first else (1, 2, 0, 3)
        return tuple(parts[:, :, i].transpose(axes) for i in range(n))

    def backward(self, grads, x, n, heads, batch_first):
        A, B, width = x.shape
        back = (0, 2, 1, 3) if batch_first else (2, 0, 1, 3)  # the inverse permutations
        if any(either.is_graph(g) for g in grads):
            stacked = stack_graph_grads(grads, (A, B, heads, width // (n * heads)), x, 2,
                                        lambda g: g.permute(back))
            return stacked.reshape(x.shape), None, None, None
        xp = backend.get_array_module(x)
        out = xp.empty(x.shape, next(g for g in grads if g is not None).dtype)
        parts = out.reshape(A, B, n, heads, width // (n * heads))
        for i, g in enumerate(grads):
            if g is None:
                parts[:, :, i] = 0
            else:
                parts[:, :, i] = g.transpose(back)
        return out, None, None, None
