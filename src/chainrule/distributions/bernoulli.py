"""The Bernoulli distribution, as ``torch.distributions.Bernoulli``: 1 with probability
``probs`` (or ``sigmoid(logits)``), else 0.

``sample`` draws as ``cr.bernoulli``: torch's numbers for the same seed (default generator).
There is no ``rsample`` (a discrete draw has no reparameterization).

    >>> import chainrule.distributions as D
    >>> d = D.Bernoulli(logits=cr.tensor([0.0, 2.0]))
    >>> d.probs
    tensor([0.5000, 0.8808])
    >>> d.log_prob(cr.tensor([1.0, 0.0]))
    tensor([-0.6931, -2.1269])
"""

from __future__ import annotations

from .. import creation, ops
from ..autograd import no_grad
from . import constraints
from .distribution import Distribution, as_float_tensor, broadcast_all, lazy_property
from .utils import logits_to_probs, probs_to_logits


class Bernoulli(Distribution):
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            param = self.probs
        else:
            (self.logits,) = broadcast_all(logits)
            param = self.logits
        self._param = param
        super().__init__(param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Bernoulli, _instance)
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(*batch_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(*batch_shape)
            new._param = new.logits
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        mode = ops.cast(self.probs >= 0.5, self.probs.dtype)
        return ops.where(self.probs == 0.5, float("nan"), mode)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        probs = self.probs  # outside no_grad: a lazy probs is kept, and must keep its graph
        with no_grad():
            return creation.bernoulli(probs.expand(*shape).contiguous())

    def log_prob(self, value):
        value = as_float_tensor(value)
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        # -BCE-with-logits = value * logits - softplus(logits): stable for any logit
        return logits * value - ops.softplus(logits)

    def entropy(self):
        return ops.softplus(self.logits) - self.logits * self.probs

    def enumerate_support(self, expand=True):
        values = creation.arange(2, dtype=self._param.dtype)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand(2, *self._batch_shape)
        return values
