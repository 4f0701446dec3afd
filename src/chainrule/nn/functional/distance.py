"""Distances as functions (the layers CosineSimilarity and PairwiseDistance of PyTorch's
``nn/modules/distance.py``): cosine_similarity, pairwise_distance.

    >>> F.cosine_similarity(cr.tensor([[1.0, 0.0]]), cr.tensor([[1.0, 1.0]]))
    tensor([0.7071])
"""

from __future__ import annotations


__all__ = [
    "cosine_similarity", "pairwise_distance",
]


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    n1 = x1.norm(2, dim).clamp(min=eps)
    n2 = x2.norm(2, dim).clamp(min=eps)
    return (x1 * x2).sum(dim) / (n1 * n2)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    return (x1 - x2 + eps).norm(p, -1, keepdim)
