"""The uniform distribution on [low, high), as ``torch.distributions.Uniform``.

``rsample`` is ``low + u * (high - low)`` with ``u`` drawn as ``cr.rand``: torch's numbers,
bit for bit, for the same seed (default generator).

    >>> import chainrule.distributions as D
    >>> d = D.Uniform(cr.tensor(0.0), cr.tensor(4.0))
    >>> d.log_prob(cr.tensor(1.0)), d.entropy(), d.mean
    (tensor(-1.3863), tensor(1.3863), tensor(2.))
"""

from __future__ import annotations

from .. import creation, ops
from . import constraints
from .distribution import Distribution, as_float_tensor, broadcast_all


class Uniform(Distribution):
    has_rsample = True

    @property
    def arg_constraints(self):
        return {"low": constraints.less_than(self.high),
                "high": constraints.greater_than(self.low)}

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(self.low.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Uniform, _instance)
        new.low = self.low.expand(*batch_shape)
        new.high = self.high.expand(*batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def support(self):
        return constraints.interval(self.low, self.high)

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def mode(self):
        return self.low * float("nan")

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        rand = creation.rand(*shape, dtype=self.low.dtype, device=self.low.device)
        return self.low + rand * (self.high - self.low)

    def log_prob(self, value):
        value = as_float_tensor(value)
        if self._validate_args:
            self._validate_sample(value)
        lb = ops.cast(self.low.le(value), self.low.dtype)
        ub = ops.cast(self.high.gt(value), self.low.dtype)
        return (lb * ub).log() - (self.high - self.low).log()

    def cdf(self, value):
        value = as_float_tensor(value)
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)

    def entropy(self):
        return (self.high - self.low).log()
