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

Self-attention whose weights nobody asks for runs as ``SelfAttention``: one node from the
fused projection q|k|v (A, B, 3E) to the heads merged back into rows (A B, E), which reads
q, k and v as strided views of that buffer, writes ``P v`` straight into the merged layout,
and writes dq, dk and dv straight into one array of the buffer's shape (no copies around
the split and the merge, and two nodes fewer).
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.function import Op
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
        p = self.p = _softmax_rows(_scores(q, k, mask, scale), safe)
        pd = p * drop if drop is not None else p
        return pd @ v, pd

    def backward(self, grads, q, k, v, mask, scale, drop, safe):
        g_out, g_p = grads
        graph = any(either.is_graph(a) for a in (g_out, g_p, q, k, v))
        if graph:
            return _graph_backward(g_out, g_p, q, k, v, mask, scale, drop, safe,
                                   [either.wants(self, i) for i in range(4)])
        p = _saved_probs(self, q, k, mask, scale, safe)
        pd = p * drop if drop is not None else p
        g_out = _zeros_for(g_out, p.shape[:-1] + (v.shape[-1],), q)
        dpd = g_out @ _swap(v)
        if g_p is not None:
            dpd = dpd + g_p
        dv = _swap(pd) @ g_out if either.wants(self, 2) else None
        dp = dpd * drop if drop is not None else dpd
        _softmax_backward_(dp, p)  # dp is a fresh array here: ds and ds * scale go over it
        dmask = dp.copy() if either.wants(self, 3) else None
        dp *= scale
        dq = dp @ k if either.wants(self, 0) else None
        dk = _swap(dp) @ q if either.wants(self, 1) else None
        return dq, dk, dv, dmask, None, None, None


def _scores(q, k, mask, scale):
    """q k^T scale + mask, the mask added in place where it broadcasts to the scores."""
    s = q @ _swap(k)
    s *= scale
    if mask is not None:
        if np.broadcast_shapes(mask.shape, s.shape) == s.shape:
            s += mask  # s is fresh: no second (..., L, S) array
        else:
            s = s + mask
    return s


def _saved_probs(node, q, k, mask, scale, safe):
    """P as ``node``'s forward kept it, or recomputed (a second backward: caches dropped)."""
    p = getattr(node, "p", None)
    if p is None:
        p = _softmax_rows(_scores(q, k, mask, scale), safe)
    return p


def _softmax_backward_(dp, p):
    """In place: dp <- dS = P (dP - sum(dP P)), the softmax's rule along the last axis."""
    dp -= (dp * p).sum(axis=-1, keepdims=True)
    dp *= p
    return dp


def _graph_backward(g_out, g_p, q, k, v, mask, scale, drop, safe, wants):
    """The attention's rule on Tensors (create_graph): P recomputed with Tensor ops, so the
    backward of the backward runs through the same formulas. ``wants``: [q, k, v, mask]."""
    p = _graph_probs(q, k, mask, scale, safe)
    pd = p * drop if drop is not None else p
    shape_p = tuple(either.value(p).shape)
    ref = q if either.is_graph(q) else either.value(q)
    g_out = _zeros_for(g_out, shape_p[:-1] + (v.shape[-1],), ref)
    dpd = g_out @ _swap(v)
    if g_p is not None:
        dpd = dpd + g_p
    dv = _swap(pd) @ g_out if wants[2] else None
    dp = dpd * drop if drop is not None else dpd
    ds = p * (dp - either.sum(dp * p, -1, True))
    dq = (ds @ k) * scale if wants[0] else None
    dk = (_swap(ds) @ q) * scale if wants[1] else None
    dmask = ds if wants[3] else None
    return dq, dk, dv, dmask, None, None, None


def _graph_probs(q, k, mask, scale, safe):
    """P = softmax(q k^T scale + mask) with Tensor ops (fully masked rows as ``safe`` says)."""
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


def _head_axes(batch_first):
    """The permutation of (A, B, H, E / H) that gives (N, H, L, E / H) (its own inverse for
    batch-first; time-major (L, N) -> (N, H, L) is (1, 2, 0, 3))."""
    return (0, 2, 1, 3) if batch_first else (1, 2, 0, 3)


class SelfAttention(Op):
    """(qkv (A, B, 3E), heads, batch_first, mask, scale, drop, safe) -> rows (A B, E).

    Multi-head self-attention from the fused projection to the heads merged back into rows
    (in qkv's (A, B) order: ready for the output projection), as ``SplitHeads`` +
    ``Attention`` + the merge compute it, without their copies: q, k, v are strided views of
    qkv, ``P v`` is written straight into the merged layout, and backward writes dq, dk, dv
    straight into one array of qkv's shape. For a ``mask`` that needs no gradient and when
    the weights are not returned (``MultiheadAttention(need_weights=False)``, the
    Transformer's layers).
    """

    name = "self_attention"
    caches = ("p",)

    @staticmethod
    def _views(x, heads, batch_first):
        A, B, width = x.shape
        parts = x.reshape(A, B, 3, heads, width // (3 * heads))
        axes = _head_axes(batch_first)
        return [parts[:, :, i].transpose(axes) for i in range(3)]

    def forward(self, qkv, heads, batch_first, mask, scale, drop, safe):
        A, B, width = qkv.shape
        q, k, v = self._views(qkv, heads, batch_first)
        p = self.p = _softmax_rows(_scores(q, k, mask, scale), safe)
        pd = p * drop if drop is not None else p
        xp = backend.get_array_module(qkv)
        rows = xp.empty((A, B, heads, width // (3 * heads)), p.dtype)
        xp.matmul(pd, v, out=rows.transpose(_head_axes(batch_first)))
        return rows.reshape(A * B, width // 3)

    def backward(self, g, qkv, heads, batch_first, mask, scale, drop, safe):
        A, B, width = qkv.shape
        hd = width // (3 * heads)
        axes = _head_axes(batch_first)
        back = (0, 2, 1, 3) if batch_first else (2, 0, 1, 3)  # the inverse permutations
        if either.is_graph(g) or either.is_graph(qkv):
            from .shape import stack  # noqa: PLC0415 - same package, no cycle at call time
            q, k, v = (qkv.reshape(A, B, 3, heads, hd)[:, :, i].permute(axes) for i in range(3))
            g_out = g.reshape(A, B, heads, hd).permute(axes)
            dq, dk, dv = _graph_backward(g_out, None, q, k, v, mask, scale, drop, safe,
                                         [True, True, True, False])[:3]
            return (stack([d.permute(back) for d in (dq, dk, dv)], 2).reshape(qkv.shape),
                    None, None, None, None, None, None)
        q, k, v = self._views(qkv, heads, batch_first)
        p = _saved_probs(self, q, k, mask, scale, safe)
        pd = p * drop if drop is not None else p
        g_out = g.reshape(A, B, heads, hd).transpose(axes)
        xp = backend.get_array_module(qkv)
        dqkv = xp.empty(qkv.shape, g.dtype)
        dq, dk, dv = self._views(dqkv, heads, batch_first)
        xp.matmul(_swap(pd), g_out, out=dv)
        dp = g_out @ _swap(v)
        if drop is not None:
            dp *= drop
        _softmax_backward_(dp, p)
        dp *= scale
        xp.matmul(dp, k, out=dq)
        xp.matmul(_swap(dp), q, out=dk)
        return dqkv, None, None, None, None, None, None
