"""Dropout as a function (``nn/dropout.py``'s layer calls it); the mask is drawn by an op of
its own (``ops/random.py``), so a traced step shows the draw.

    >>> F.dropout(cr.ones(4), p=0.5, training=False)     # evaluation: the identity
    tensor([1., 1., 1., 1.])
"""

from __future__ import annotations

import math

from ... import ops as _ops
from ...backend import get_array_module
from ...ops.random import DropoutMask as _DropoutMask


__all__ = [
    "alpha_dropout", "dropout",
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
        return input * get_array_module(input._array).zeros((), dtype=input.dtype)
    return _ops.mul(input, _DropoutMask.apply(input, p, generator))


# SELU's scale * alpha: a dropped unit of alpha dropout is set to SELU's negative saturation.
_SELU_SCALED_ALPHA = 1.7580993408473766


def alpha_dropout(input, p=0.5, training=False, inplace=False, generator=None):
    """torch's alpha dropout (for SELU networks): keep = Bernoulli(1 - p) (dropout's mask),
    then y = a (keep x + (1 - keep)(-alpha') + alpha' p) with alpha' = SELU's scale * alpha
    and a = 1 / sqrt((alpha'^2 p + 1)(1 - p)), which keeps a zero-mean, unit-variance input
    so; the identity when not ``training``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"alpha_dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:  # torch: input * 0, like dropout
        return input * 0.0
    alpha = _SELU_SCALED_ALPHA
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    keep = (_DropoutMask.apply(input, p, generator) != 0).to(input.dtype)
    return input * (keep * a) + ((keep - 1) * (alpha * a) + alpha * a * p)
