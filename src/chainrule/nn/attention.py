"""Multi-head attention, with PyTorch's parameters, initialization and state_dict keys.

    >>> mha = nn.MultiheadAttention(embed_dim=16, num_heads=4, batch_first=True)
    >>> x = cr.randn(2, 5, 16)
    >>> out, weights = mha(x, x, x)          # out (2, 5, 16), weights (2, 5, 5)

Parameters: ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,) -- or ``q_proj_weight``,
``k_proj_weight``, ``v_proj_weight`` when ``kdim`` or ``vdim`` differ from E --,
``out_proj.weight``/``out_proj.bias``, and ``bias_k``/``bias_v`` (1, 1, E) with
``add_bias_kv``. Projections are Xavier-uniform, biases zero, ``bias_k``/``bias_v``
Xavier-normal, as PyTorch.
"""

from __future__ import annotations

from .. import backend
from ..creation import empty
from . import init
from .functional.attention import multi_head_attention
from .linear import Linear
from .module import Module
from .parameter import Parameter


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under PyTorch's name for ``out_proj`` (the name shows in repr)."""


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of size embed_dim / num_heads, as torch.nn's.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns (output, weights or None).
    ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or (N * H, L, S): True, or -inf
    for a float mask, means "do not attend".
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be greater than "
                             f"0, got embed_dim={embed_dim} and num_heads={num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim must be divisible by num_heads, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads}")
        dtype = backend.to_dtype(dtype)
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, dtype=dtype, device=device))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, dtype=dtype, device=device))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, dtype=dtype, device=device))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, dtype=dtype, device=device))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, dtype=dtype, device=device))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        dtype=dtype, device=device)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, dtype=dtype, device=device))
            self.bias_v = Parameter(empty(1, 1, embed_dim, dtype=dtype, device=device))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        p = self._parameters
        # batch_first is a layout of the projections, not a transpose (F.multi_head_attention)
        out, weights = multi_head_attention(
            query, key, value, self.embed_dim, self.num_heads, p["in_proj_weight"],
            p["in_proj_bias"], p.get("bias_k"), p.get("bias_v"), self.add_zero_attn,
            self.dropout, self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=p["q_proj_weight"], k_proj_weight=p["k_proj_weight"],
            v_proj_weight=p["v_proj_weight"], average_attn_weights=average_attn_weights,
            is_causal=is_causal, batch_first=self.batch_first)
        return out, weights
