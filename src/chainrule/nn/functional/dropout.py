"""Dropout as a function (``nn/dropout.py``'s layer calls it); the mask is drawn by an op of
its own (``ops/random.py``), so a traced step shows the draw.

    >>> F.dropout(cr.ones(4), p=0.5, training=False)     # evaluation: the identity
    tensor([1., 1., 1., 1.])
"""

from __future__ import annotations

import numpy as np

from ... import ops as _ops
from ...ops.random import DropoutMask as _DropoutMask


__all__ = [
    "dropout",
]


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) (training only).

    The mask is a constant of the graph: backward multiplies by the same mask.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * np.zeros((), dtype=input.dtype)
    return _ops.mul(input, _DropoutMask.apply(input, p, generator))
