"""``Embedding``: rows of a weight matrix at integer indices; the gradient adds the rows
back, repeated indices summing up, and ``padding_idx`` gets none.

    >>> from chainrule.ops.fused.embedding import Embedding
    >>> w = cr.ones(4, 2, requires_grad=True)
    >>> Embedding.apply(w, np.array([1, 1, 3]), None).sum().backward()
    >>> w.grad
    tensor([[0., 0.],
            [2., 2.],
            [0., 0.],
            [1., 1.]])
"""

from __future__ import annotations

import numpy as np

from ...autograd.function import Op
from ...backend import device_of, get_array_module, to_device
from .. import either
from ..index import IndexAdd


class Embedding(Op):
    """Rows of ``weight`` at integer ``indices``; the gradient adds rows back (repeats add up)."""

    def forward(self, weight, indices, padding_idx):
        return weight[indices]

    def backward(self, g, weight, indices, padding_idx):
        shape = tuple(weight.shape)
        indices = either.value(indices)  # a Tensor under create_graph
        xp = get_array_module(either.value(g))
        if xp is not np and type(indices) is np.ndarray:  # host indices of a device weight
            indices = to_device(indices, device_of(either.value(g)))
        if either.is_graph(g):
            gw = IndexAdd.apply(g, indices, shape)
            if padding_idx is not None:
                keep = xp.ones((shape[0], 1), dtype=either.value(g).dtype)
                keep[padding_idx] = 0
                gw = gw * keep
            return gw, None, None
        flat_idx = indices.reshape(-1)
        g2 = g.reshape(-1, shape[1])
        gw = xp.zeros(shape, dtype=g.dtype)
        # Sorting once and summing runs is far faster than np.add.at on big batches.
        order = np.argsort(flat_idx, kind="stable")
        sorted_idx = flat_idx[order]
        if sorted_idx.size:
            first = xp.ones(1, dtype=bool)
            starts = np.flatnonzero(np.concatenate([first, sorted_idx[1:] != sorted_idx[:-1]]))
            gw[sorted_idx[starts]] = np.add.reduceat(g2[order], starts, axis=0)
        if padding_idx is not None:
            gw[padding_idx] = 0
        return gw, None, None
