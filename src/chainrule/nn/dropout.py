"""Dropout: zero units with probability p while training, scale the rest by 1 / (1 - p).

    >>> _ = cr.manual_seed(0)
    >>> drop = nn.Dropout(0.5)
    >>> drop(cr.ones(4))            # training: torch's mask for this seed
    tensor([0., 0., 2., 0.])
    >>> drop.eval()(cr.ones(4))     # evaluation: the identity
    tensor([1., 1., 1., 1.])
"""

from __future__ import annotations

from . import functional as F
from .module import Module


class Dropout(Module):
    """Inverted dropout; the masks come from ``generator`` (default: the global generator)."""

    def __init__(self, p=0.5, inplace=False, generator=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace, self.generator = p, inplace, generator

    def forward(self, input):
        return F.dropout(input, self.p, self.training, generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """Zero whole channels of (N, C, L) (or (C, L)) while training (Tompson et al., 2015)."""

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, generator=self.generator)


class Dropout2d(Dropout):
    """Zero whole channels of (N, C, H, W) (or (C, H, W)) while training."""

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, generator=self.generator)


class AlphaDropout(Dropout):
    """Dropout for self-normalizing networks (Klambauer et al., 2017): while training a
    dropped unit takes SELU's negative saturation, and an affine map restores the mean and
    variance of a standardized input; the identity in evaluation.

        >>> nn.AlphaDropout(0.2).eval()(cr.tensor([1.0, -1.0]))
        tensor([ 1., -1.])
    """

    def forward(self, input):
        if not self.training or self.p == 0.0 or input.numel() == 0:
            return input
        return F.alpha_dropout(input, self.p, self.training, generator=self.generator)
