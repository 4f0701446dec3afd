"""The normal (Gaussian) distribution, as ``torch.distributions.Normal``.

``rsample`` is ``loc + eps * scale`` with ``eps`` drawn as ``cr.randn``: with the default
(torch-kind) generator the samples are torch's, bit for bit, for the same seed.

    >>> import chainrule.distributions as D
    >>> _ = cr.manual_seed(0)
    >>> d = D.Normal(cr.tensor([0.0, 10.0]), cr.tensor([1.0, 0.1]))
    >>> d.sample((2,)).shape
    chainrule.Size([2, 2])
    >>> d.log_prob(cr.tensor([0.0, 10.0]))
    tensor([-0.9189,  1.3836])
"""

from __future__ import annotations

import math

from .. import creation, ops
from . import constraints
from .distribution import Distribution, as_float_tensor, broadcast_all


class Normal(Distribution):
    """N(loc, scale^2): density exp(-(x - loc)^2 / (2 scale^2)) / (scale sqrt(2 pi))."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Normal, _instance)
        new.loc = self.loc.expand(*batch_shape)
        new.scale = self.scale.expand(*batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale.pow(2)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = creation.randn(*shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        value = as_float_tensor(value)
        if self._validate_args:
            self._validate_sample(value)
        var = self.scale ** 2
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() \
            - math.log(math.sqrt(2 * math.pi))

    def cdf(self, value):
        value = as_float_tensor(value)
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + ops.erf((value - self.loc) / self.scale / math.sqrt(2)))

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()
