"""Lookups as functions (``nn/sparse.py``'s layer calls it): embedding, one_hot.

    >>> F.embedding(cr.tensor([2, 0]), cr.eye(3))
    tensor([[0., 0., 1.],
            [1., 0., 0.]])
    >>> F.one_hot(cr.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
"""

from __future__ import annotations

import numpy as np

from ...autograd import tracing
from ...ops import fused as _fused
from ...ops.index import one_hot  # F.one_hot, as PyTorch
from ...ops.either import array_of
from ...tensor import Tensor


__all__ = [
    "embedding", "one_hot",
]


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0):
    """Rows of ``weight`` (num_embeddings, dim) at the integer indices ``input``."""
    idx = array_of(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}")
    num = weight.shape[0]
    # Negative indices are refused (torch): -1 as a padding id must never read row num - 1.
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        raise IndexError(f"embedding: index {int(idx.max() if idx.max() >= num else idx.min())} "
                         f"is out of range for {num} embeddings")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    if max_norm is not None:
        tracing.reads_values("embedding", "renormalises the rows max_norm picks, in place, "
                                          "from the values in Python")
        _embedding_renorm(weight, idx, max_norm, norm_type)
    # The index Tensor is an input of the op, so that a replayed program reads new indices.
    return _fused.Embedding.apply(weight, input if isinstance(input, Tensor) else idx,
                                  padding_idx)


def _embedding_renorm(weight, idx, max_norm, norm_type):
    """Rescale, in place, the rows used by ``idx`` whose norm exceeds ``max_norm``."""
    rows = np.unique(idx)
    w = weight._array
    norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
        w[rows[big]] *= scale[:, None]
        weight._version += 1
