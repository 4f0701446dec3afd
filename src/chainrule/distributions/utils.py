"""Conversions between probabilities and logits, as ``torch.distributions.utils``.

    >>> from chainrule.distributions.utils import probs_to_logits
    >>> probs_to_logits(cr.tensor([0.5]), is_binary=True)
    tensor([0.])
"""

from __future__ import annotations

from .. import ops
from ..backend.dtype import finfo


def clamp_probs(probs):
    """``probs`` kept in [eps, 1 - eps] so that their logs are finite (torch's clamp)."""
    eps = float(finfo(probs.dtype).eps)
    return probs.clamp(eps, 1 - eps)


def probs_to_logits(probs, is_binary=False):
    """log p (normalized logits of a categorical), or log(p / (1 - p)) when ``is_binary``."""
    clamped = clamp_probs(probs)
    if is_binary:
        return clamped.log() - ops.log1p(-clamped)
    return clamped.log()


def logits_to_probs(logits, is_binary=False):
    """sigmoid(logits) when ``is_binary``, else softmax over the last dim."""
    if is_binary:
        return logits.sigmoid()
    return ops.softmax(logits, -1)
