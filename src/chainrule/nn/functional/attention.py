"""Attention as functions: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

Both end in one fused ``ops.attention.Attention`` node; masks are turned into one additive
float mask first (0 where a query may look, -inf where it may not).

    >>> q, k, v = cr.randn(2, 4, 6, 8), cr.randn(2, 4, 7, 8), cr.randn(2, 4, 7, 8)
    >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
    chainrule.Size([2, 4, 6, 8])

Note the opposite meanings of a bool mask, as in PyTorch: for
``scaled_dot_product_attention`` True means "may attend"; for ``MultiheadAttention``'s
``attn_mask`` and ``key_padding_mask`` True means "masked out".
"""

from __future__ import annotations

import math

import numpy as np

from ... import backend
from ...ops import shape as _shape
from ...ops.attention import Attention, SelfAttention, SplitHeads
from ...ops.index import index_select
from ...ops.fused.linear import linear
from ...ops.random import KeepMask as _KeepMask
from ...ops.unary import where as _where
from ...tensor import Tensor, _make


def _xp(t):
    return backend.get_array_module(t._array)


def _dropout_mask(like, shape, p, dtype):
    """The attention dropout mask, drawn by an op (a replay draws anew); None when p is 0."""
    if p <= 0.0:
        return None
    if p >= 1.0:
        return _xp(like).zeros(shape, dtype)
    return _KeepMask.apply(like, shape, p, None, None)


def _additive(name, mask, dtype, true_means_masked):
    """A bool or float mask as an additive float mask (an array, or a Tensor needing grad)."""
    if mask is None:
        return None
    arr = mask._array if isinstance(mask, Tensor) else np.asarray(mask)
    xp = backend.get_array_module(arr)
    if arr.dtype.kind not in "bf":
        raise TypeError(f"{name}: only bool and floating types of masks are supported, got "
                        f"dtype {arr.dtype}")
    if isinstance(mask, Tensor):  # by ops, so that a replayed program reads the new mask
        if arr.dtype == np.bool_:
            blocked = mask if true_means_masked else ~mask
            return _where(blocked, xp.asarray(-np.inf, dtype), xp.asarray(0, dtype))
        return mask if mask.dtype == dtype else mask.to(dtype)
    if arr.dtype == np.bool_:
        blocked = arr if true_means_masked else ~arr
        return xp.where(blocked, dtype.type(-np.inf), dtype.type(0))
    return arr.astype(dtype, copy=False)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(q k^T * scale + mask) v over q (..., L, E), k (..., S, E), v (..., S, Ev).

    ``attn_mask``: bool (True = may attend) or float (added), broadcastable to (..., L, S).
    ``is_causal``: query i attends to keys j <= i. ``scale`` defaults to 1/sqrt(E).
    ``enable_gqa``: k and v may have fewer heads (dim -3) than q, each shared by a group.
    Dropout is applied whenever ``dropout_p > 0`` (pass 0 in evaluation, as in PyTorch).

        With q = k = 0 every allowed key weighs the same: each query averages its rows of v.

        >>> q, k, v = cr.zeros(1, 2, 4), cr.zeros(1, 3, 4), cr.arange(6.).reshape(1, 3, 2)
        >>> mask = cr.tensor([[True, False, False], [True, True, False]])
        >>> F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        tensor([[[0., 1.],
                 [1., 2.]]])
    """
    name = "scaled_dot_product_attention"
    for what, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor) or t.ndim < 2:
            raise ValueError(f"{name}: {what} must be a Tensor of at least 2 dims (..., L, E), "
                             f"got {getattr(t, 'shape', type(t).__name__)}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"{name}: query {tuple(query.shape)}, key {tuple(key.shape)} and value "
                         f"{tuple(value.shape)} disagree (query and key need one E, key and "
                         "value one S)")
    if is_causal and attn_mask is not None:
        raise RuntimeError(f"{name}: an explicit attn_mask should not be set when "
                           "is_causal=True")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{name}: dropout_p must be in [0, 1], got {dropout_p}")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if hk == 0 or hq % hk or value.shape[-3] != hk:
            raise ValueError(f"{name}: with enable_gqa the query heads ({hq}) must be a multiple "
                             f"of the key and value heads ({hk}, {value.shape[-3]})")
        groups = np.repeat(np.arange(hk), hq // hk)
        key, value = index_select(key, -3, groups), index_select(value, -3, groups)
    L, S = query.shape[-2], key.shape[-2]
    dtype = query.dtype
    xp = _xp(query)
    if is_causal:
        mask = xp.where(xp.tril(xp.ones((L, S), dtype=bool)), dtype.type(0), dtype.type(-np.inf))
    else:
        mask = _additive(name, attn_mask, dtype, true_means_masked=False)
    batch = np.broadcast_shapes(tuple(query.shape[:-2]), tuple(key.shape[:-2]))
    if mask is not None:
        try:
            full = np.broadcast_shapes(tuple(mask.shape), batch + (L, S))
        except ValueError:
            full = None
        if full != batch + (L, S):
            raise RuntimeError(f"{name}: attn_mask of shape {tuple(mask.shape)} does not "
                               f"broadcast to the attention shape {batch + (L, S)}")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    drop = _dropout_mask(query, batch + (L, S), dropout_p, dtype)
    out, _ = Attention.apply(query, key, value, mask, scale, drop, True)
    return out


def _pad_last(mask, xp):
    """Append one column of 0 (an always-visible extra key) to an additive mask."""
    if mask is None:
        return None
    if isinstance(mask, Tensor):
        return _shape.pad(mask, (0, 1))
    return xp.concatenate([mask, xp.zeros(mask.shape[:-1] + (1,), mask.dtype)], -1)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None,
                                 average_attn_weights=True, is_causal=False):
    """Multi-head attention over time-major (L, N, E) inputs (or unbatched (L, E)).

    Returns (output (L, N, E), weights (N, L, S) averaged over heads, (N, H, L, S), or None).
    """
    return multi_head_attention(
        query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
        bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training,
        key_padding_mask, need_weights, attn_mask, use_separate_proj_weight, q_proj_weight,
        k_proj_weight, v_proj_weight, average_attn_weights, is_causal, batch_first=False)


def _heads(x, heads, batch_first):
    """(A, B, E) -> (N, H, L, E / H) as a view (a reshape and a permute), either layout."""
    A, B, E = x.shape
    x = x.reshape(A, B, heads, E // heads)
    return x.permute(0, 2, 1, 3) if batch_first else x.permute(1, 2, 0, 3)


def multi_head_attention(query, key, value, embed_dim_to_check, num_heads, in_proj_weight,
                         in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p,
                         out_proj_weight, out_proj_bias, training=True, key_padding_mask=None,
                         need_weights=True, attn_mask=None, use_separate_proj_weight=False,
                         q_proj_weight=None, k_proj_weight=None, v_proj_weight=None,
                         average_attn_weights=True, is_causal=False, batch_first=False):
    """``multi_head_attention_forward`` in either layout: (N, L, E) with ``batch_first``.

    The heads are (N, H, L, E / H) views of the projections in the layout they come in
    (self-attention: strided views of the one fused q|k|v buffer), so neither layout pays a
    transpose or a copy before the attention; the only copy is the one that gathers the
    heads back into rows for the output projection.
    """
    name = "MultiheadAttention"
    if query.ndim not in (2, 3):
        raise ValueError(f"{name}: query should be unbatched 2-D or batched 3-D, got shape "
                         f"{tuple(query.shape)}")
    unbatched = query.ndim == 2
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"{name}: query {tuple(query.shape)}, key {tuple(key.shape)} and value "
                         f"{tuple(value.shape)} must all be {query.ndim}-D")
    if unbatched:
        batch_first = False
        self_attention = query is key and key is value
        query = query.unsqueeze(1)
        key = query if self_attention else key.unsqueeze(1)
        value = key if value is key or self_attention else value.unsqueeze(1)
        if key_padding_mask is not None:
            if key_padding_mask.ndim != 1:
                raise ValueError(f"{name}: for unbatched query, key_padding_mask should be 1-D, "
                                 f"got shape {tuple(key_padding_mask.shape)}")
            key_padding_mask = key_padding_mask.unsqueeze(0)
    t_axis = 1 if batch_first else 0  # the sequence axis of query, key and value
    n_axis = 1 - t_axis
    L, N, E = query.shape[t_axis], query.shape[n_axis], query.shape[2]
    S = key.shape[t_axis]
    H = num_heads
    if E != embed_dim_to_check:
        raise ValueError(f"{name}: was expecting embedding dimension of {embed_dim_to_check}, "
                         f"but got {E} (query shape {tuple(query.shape)})")
    if key.shape[:2] != value.shape[:2] or key.shape[n_axis] != N:
        raise ValueError(f"{name}: key {tuple(key.shape)} and value {tuple(value.shape)} must "
                         f"share (S, N) with the batch of query {tuple(query.shape)}")
    if not use_separate_proj_weight and key.shape != value.shape:
        raise ValueError(f"{name}: key shape {tuple(key.shape)} does not match value shape "
                         f"{tuple(value.shape)}")
    if is_causal and attn_mask is None:
        raise RuntimeError(f"{name}: need attn_mask if specifying the is_causal hint (the mask "
                           "says which keys are causal)")
    head_dim = E // H
    dtype = query.dtype
    xp = _xp(query)

    # --- projections, as (N, H, L or S, head_dim) views ---------------------------------
    fused = not use_separate_proj_weight and query is key and key is value \
        and bias_k is None and not add_zero_attn
    if fused:
        qkv = linear(query, in_proj_weight, in_proj_bias)
        q = k = v = None  # split below, unless SelfAttention reads the buffer itself
    else:
        if use_separate_proj_weight:
            bq = bk = bv = None
            if in_proj_bias is not None:
                bq, bk, bv = in_proj_bias[:E], in_proj_bias[E:2 * E], in_proj_bias[2 * E:]
            q = linear(query, q_proj_weight, bq)
            k = linear(key, k_proj_weight, bk)
            v = linear(value, v_proj_weight, bv)
        else:
            b = in_proj_bias
            q = linear(query, in_proj_weight[:E], None if b is None else b[:E])
            k = linear(key, in_proj_weight[E:2 * E], None if b is None else b[E:2 * E])
            v = linear(value, in_proj_weight[2 * E:], None if b is None else b[2 * E:])
        if bias_k is not None and bias_v is not None:
            extra = (N, 1, E) if batch_first else (1, N, E)
            k = _shape.cat([k, bias_k.reshape(1, 1, E).broadcast_to(extra)], t_axis)
            v = _shape.cat([v, bias_v.reshape(1, 1, E).broadcast_to(extra)], t_axis)
        q, k, v = (_heads(t, H, batch_first) for t in (q, k, v))
        if add_zero_attn:
            zeros = _make(xp.zeros((N, H, 1, head_dim), dtype))
            k, v = _shape.cat([k, zeros], 2), _shape.cat([v, zeros], 2)

    # --- masks, as one additive float mask broadcasting to (N, H, L, S) -----------------
    mask = _additive(name, attn_mask, dtype, true_means_masked=True)
    if mask is not None:
        if mask.ndim == 2:
            if tuple(mask.shape) != (L, S):
                raise RuntimeError(f"{name}: the shape of the 2-D attn_mask is "
                                   f"{tuple(mask.shape)}, but should be {(L, S)}")
        elif mask.ndim == 3:
            if tuple(mask.shape) != (N * H, L, S):
                raise RuntimeError(f"{name}: the shape of the 3-D attn_mask is "
                                   f"{tuple(mask.shape)}, but should be {(N * H, L, S)}")
            mask = mask.reshape(N, H, L, S)
        else:
            raise RuntimeError(f"{name}: attn_mask must be 2-D or 3-D, got shape "
                               f"{tuple(mask.shape)}")
    kpm = _additive(name, key_padding_mask, dtype, true_means_masked=True)
    if kpm is not None and tuple(kpm.shape) != (N, S):
        raise RuntimeError(f"{name}: key_padding_mask has shape {tuple(kpm.shape)}, expected "
                           f"(batch, source length) = {(N, S)}")
    if bias_k is not None and bias_v is not None:
        mask, kpm = _pad_last(mask, xp), _pad_last(kpm, xp)
    if add_zero_attn:
        mask, kpm = _pad_last(mask, xp), _pad_last(kpm, xp)
    S_full = S if fused else k.shape[2]
    if kpm is not None:
        kpm = kpm.reshape(N, 1, 1, S_full)
        mask = kpm if mask is None else mask + kpm

    # --- attention and the output projection ------------------------------------------
    p = dropout_p if training else 0.0
    drop = _dropout_mask(qkv if fused else q, (N, H, L, S_full), p, dtype)
    if fused and not need_weights and not getattr(mask, "_requires_grad", False):
        # One node from the q|k|v buffer to the merged heads (no split, no merge copies).
        rows = SelfAttention.apply(qkv, H, batch_first, mask, 1.0 / math.sqrt(head_dim),
                                   drop, True)
        weights = None
    else:
        if fused:
            q, k, v = SplitHeads.apply(qkv, 3, H, batch_first)
        out, weights = Attention.apply(q, k, v, mask, 1.0 / math.sqrt(head_dim), drop,
                                       not need_weights)
        rows = out.permute(0, 2, 1, 3) if batch_first else out.permute(2, 0, 1, 3)
        rows = rows.reshape(L * N, E)
    out = linear(rows, out_proj_weight, out_proj_bias)
    out = out.reshape((N, L, E) if batch_first else (L, N, E))
    if unbatched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    if average_attn_weights:
        weights = weights.mean(1)
    if unbatched:
        weights = weights.squeeze(0)
    return out, weights
