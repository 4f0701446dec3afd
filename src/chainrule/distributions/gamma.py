"""The gamma distribution, as ``torch.distributions.Gamma``, and the beta distribution, as
``torch.distributions.Beta``.

log_prob, entropy, mean and variance are torch's and differentiable in the parameters.
Sampling differs from torch: torch's gamma sampler (Marsaglia-Tsang with its own stream
use) is not reproduced, so ``sample`` draws with NumPy's ``standard_gamma`` from a NumPy
Generator seeded by one draw of chainrule's generator (``cr.manual_seed`` makes it
repeatable, but the numbers are not torch's), and there is no ``rsample`` (torch's
implicit-reparameterization gradient of the gamma draw is not implemented).

    >>> import chainrule.distributions as D
    >>> d = D.Gamma(cr.tensor([2.0]), cr.tensor([3.0]))
    >>> d.log_prob(cr.tensor([0.5])), d.mean
    (tensor([0.0041]), tensor([0.6667]))
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..backend.dtype import finfo
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, as_float_tensor, broadcast_all
from .special import digamma, lgamma


def xlogy(x, y):
    """x * log(y), 0 where x == 0 (also when y == 0), with no nan in the gradient there."""
    x, y = broadcast_all(x, y)
    zero = x == 0
    safe_y = y.masked_fill(zero, 1.0)
    return (x * safe_y.log()).masked_fill(zero, 0.0)


def _standard_gamma(concentration):
    """Standard gamma draws of ``concentration``'s shape from a NumPy Generator seeded by
    chainrule's default generator (see the module docstring)."""
    seed = int(backend.rng_of(None).draw_int(0, 2 ** 62, (), np.int64))
    rng = np.random.Generator(np.random.PCG64(seed))
    alpha = np.asarray(backend.to_device(concentration._array, "cpu"), dtype=np.float64)
    return Tensor._of(rng.standard_gamma(alpha).astype(concentration._array.dtype))


class Gamma(Distribution):
    """Density rate^c x^(c-1) exp(-rate x) / Gamma(c), c = ``concentration``."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Gamma, _instance)
        new.concentration = self.concentration.expand(*batch_shape)
        new.rate = self.rate.expand(*batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            value = _standard_gamma(self.concentration.expand(*shape)) / self.rate.expand(*shape)
            return value.clamp(min=float(finfo(value.dtype).tiny))

    def log_prob(self, value):
        value = as_float_tensor(value)
        if self._validate_args:
            self._validate_sample(value)
        return (xlogy(self.concentration, self.rate) + xlogy(self.concentration - 1, value)
                - self.rate * value - lgamma(self.concentration))

    def entropy(self):
        c = self.concentration
        return c - self.rate.log() + lgamma(c) + (1.0 - c) * digamma(c)


class Beta(Distribution):
    """Density x^(a-1) (1-x)^(b-1) / B(a, b), a = ``concentration1``, b = ``concentration0``.

    Samples are X / (X + Y) for gamma draws X, Y (NumPy's, see the module docstring).
    """

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        super().__init__(self.concentration1.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Beta, _instance)
        new.concentration1 = self.concentration1.expand(*batch_shape)
        new.concentration0 = self.concentration0.expand(*batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return (self.concentration1 - 1) / (self.concentration1 + self.concentration0 - 2)

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            x = _standard_gamma(self.concentration1.expand(*shape))
            y = _standard_gamma(self.concentration0.expand(*shape))
            tiny = float(finfo(x.dtype).tiny)
            return (x / (x + y)).clamp(tiny, 1 - float(finfo(x.dtype).eps))

    def log_prob(self, value):
        value = as_float_tensor(value)
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        return (xlogy(a - 1, value) + xlogy(b - 1, 1 - value)
                + lgamma(a + b) - lgamma(a) - lgamma(b))

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        total = a + b
        return (lgamma(a) + lgamma(b) - lgamma(total) - (2 - total) * digamma(total)
                - (a - 1) * digamma(a) - (b - 1) * digamma(b))
