"""The categorical distribution over 0 .. K-1, as ``torch.distributions.Categorical``, and
its one-hot form ``OneHotCategorical``.

``sample`` draws with ``cr.multinomial`` (with replacement) as torch does: torch's numbers
for the same seed (default generator). The probabilities need not sum to 1 (they are
normalized); logits are normalized by logsumexp.

    >>> import chainrule.distributions as D
    >>> _ = cr.manual_seed(0)
    >>> d = D.Categorical(probs=cr.tensor([0.1, 0.6, 0.3]))
    >>> d.sample((4,))
    tensor([2, 2, 1, 2])
    >>> d.log_prob(cr.tensor([1]))
    tensor([-0.5108])
"""

from __future__ import annotations

import numpy as np

from .. import creation, ops
from ..autograd import no_grad
from ..backend.dtype import finfo
from ..random import multinomial
from . import constraints
from .distribution import Distribution, lazy_property
from .utils import logits_to_probs, probs_to_logits


class Categorical(Distribution):
    arg_constraints = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            if probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        batch_shape = self._param.shape[:-1] if self._param.ndim > 1 else ()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Categorical, _instance)
        param_shape = tuple(batch_shape) + (self._num_events,)
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(*param_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(*param_shape)
            new._param = new.logits
        new._num_events = self._num_events
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self):
        return creation.full(self._extended_shape(), float("nan"), dtype=self.probs.dtype,
                              device=self.probs.device)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return creation.full(self._extended_shape(), float("nan"), dtype=self.probs.dtype,
                              device=self.probs.device)

    def sample(self, sample_shape=()):
        n = 1
        for size in sample_shape:
            n *= size
        probs = self.probs  # outside no_grad: a lazy probs is kept, and must keep its graph
        with no_grad():
            probs_2d = probs.reshape(-1, self._num_events)
            samples_2d = multinomial(probs_2d, n, True).T
            return samples_2d.reshape(*self._extended_shape(sample_shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        batch = np.broadcast_shapes(tuple(value.shape[:-1]), tuple(self.logits.shape[:-1]))
        value = value.expand(*batch, 1)
        log_pmf = self.logits.expand(*batch, self._num_events)
        return log_pmf.gather(-1, value).squeeze(-1)

    def entropy(self):
        # a logit of -inf (probability 0) would give 0 * -inf = nan: clamp it to the
        # smallest float, whose product with 0 is 0
        logits = self.logits.clamp(min=float(finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        values = creation.arange(self._num_events).reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand(self._num_events, *self._batch_shape)
        return values


class OneHotCategorical(Distribution):
    """Categorical draws as one-hot vectors of length K (event shape (K,))."""

    arg_constraints = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(OneHotCategorical, _instance)
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def _param(self):
        return self._categorical._param

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def mean(self):
        return self._categorical.probs

    @property
    def mode(self):
        probs = self._categorical.probs
        return ops.one_hot(probs.argmax(-1), probs.shape[-1]).to(probs.dtype)

    @property
    def variance(self):
        return self._categorical.probs * (1 - self._categorical.probs)

    @property
    def param_shape(self):
        return self._categorical.param_shape

    def sample(self, sample_shape=()):
        probs = self._categorical.probs
        indices = self._categorical.sample(sample_shape)
        return ops.one_hot(indices, self._categorical._num_events).to(probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        indices = value.max(-1)[1]
        return self._categorical.log_prob(indices)

    def entropy(self):
        return self._categorical.entropy()
