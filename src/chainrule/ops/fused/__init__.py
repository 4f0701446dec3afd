"""Fused ops: one node with a hand-written backward where a benchmark or numerical stability
says so (PyTorch fuses the same ones): linear, cross-entropy, batch and layer norm,
embedding, the binary cross-entropies. Everything else is composed from the primitives.

    >>> logits = cr.randn(4, 3, requires_grad=True)
    >>> cr.ops.cross_entropy(logits, cr.tensor([0, 2, 1, 0])).backward()
    >>> logits.grad.shape
    chainrule.Size([4, 3])
"""

from .binary_cross_entropy import BCE, BCEWithLogits
from .cross_entropy import cross_entropy
from .embedding import Embedding
from .linear import linear
from .normalization import (
    BatchMoments, BatchNormEval, BatchNormTrain, LayerNorm, UpdateRunningStats,
)

__all__ = [
    "BCE", "BCEWithLogits", "BatchMoments", "BatchNormEval", "BatchNormTrain", "Embedding",
    "LayerNorm", "UpdateRunningStats", "cross_entropy", "linear",
]
