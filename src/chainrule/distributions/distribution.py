"""The base of every distribution, as ``torch.distributions.Distribution``.

A distribution has a ``batch_shape`` (independent, differently parameterized copies) and an
``event_shape`` (the shape of one draw). ``sample(sample_shape)`` has the shape
``sample_shape + batch_shape + event_shape``; ``log_prob(value)`` and ``entropy()`` have the
batch shape (and ``value``'s extra leading dims). With ``validate_args`` (on by default, as in
torch) the parameters are checked against ``arg_constraints`` when the distribution is made
and the values given to ``log_prob`` against ``support``: a ValueError names the distribution
and the argument.

    >>> import chainrule.distributions as D
    >>> d = D.Normal(cr.zeros(3), cr.ones(3))
    >>> d
    Normal(loc: chainrule.Size([3]), scale: chainrule.Size([3]))
    >>> d.batch_shape, d.event_shape
    (chainrule.Size([3]), chainrule.Size([]))
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend, creation, ops
from ..autograd import no_grad
from ..size import Size
from ..tensor import Tensor
from . import constraints


class lazy_property:
    """A property computed on first use and then kept in the instance's ``__dict__`` (so that
    ``__repr__`` and validation see only the parameters the user gave, as in torch)."""

    def __init__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = self.fn(instance)
        instance.__dict__[self.fn.__name__] = value
        return value


def broadcast_all(*values):
    """The values as Tensors of one broadcast shape: numbers become Tensors of the first
    Tensor's dtype (the default float when there is none), as torch's ``broadcast_all``."""
    first = next((v for v in values if isinstance(v, Tensor)), None)
    dtype = None if first is None else first.dtype
    device = None if first is None else first.device  # numbers go where the tensors are
    tensors = []
    for v in values:
        if isinstance(v, Tensor):
            tensors.append(v)
        elif isinstance(v, numbers.Number):
            tensors.append(creation.tensor(v, dtype=dtype or backend.default_float,
                                           device=device))
        else:
            raise ValueError("Input arguments must all be instances of numbers.Number or "
                             f"Tensor, got {type(v).__name__}")
    shape = np.broadcast_shapes(*(tuple(t.shape) for t in tensors))
    return tuple(t if tuple(t.shape) == shape else ops.broadcast_to(t, shape) for t in tensors)


def sum_rightmost(value, dim):
    """``value`` summed over its last ``dim`` dims."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:-dim]) + (-1,)).sum(-1)


def as_float_tensor(value):
    return value if isinstance(value, Tensor) else Tensor(np.asarray(value,
                                                                     dtype=backend.default_float))


class Distribution:
    has_rsample = False
    has_enumerate_support = False
    _validate_args = True

    @staticmethod
    def set_default_validate_args(value):
        if value not in (True, False):
            raise ValueError("set_default_validate_args: expected True or False")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            for param, constraint in self.arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue  # set by other parameters: checked by the subclass if at all
                if param not in self.__dict__ and isinstance(getattr(type(self), param),
                                                             lazy_property):
                    continue  # derived from the given parameter, not given
                value = getattr(self, param)
                if not bool(constraint.check(value)._array.all()):
                    raise ValueError(
                        f"Expected parameter {param} ({type(value).__name__} of shape "
                        f"{tuple(value.shape)}) of distribution {self!r} to satisfy the "
                        f"constraint {constraint!r}, but found invalid values:\n{value}")

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    @property
    def arg_constraints(self):
        raise NotImplementedError

    @property
    def support(self):
        raise NotImplementedError

    @property
    def mean(self):
        raise NotImplementedError

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self)} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError

    @property
    def stddev(self):
        return self.variance.sqrt()

    def expand(self, batch_shape, _instance=None):
        raise NotImplementedError

    def sample(self, sample_shape=()):
        """A draw of shape ``sample_shape + batch_shape + event_shape``, outside the graph."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterized sample")

    def log_prob(self, value):
        raise NotImplementedError

    def cdf(self, value):
        raise NotImplementedError

    def entropy(self):
        raise NotImplementedError

    def perplexity(self):
        return self.entropy().exp()

    def _extended_shape(self, sample_shape=()):
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def _validate_sample(self, value):
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_dim_start = value.ndim - len(self._event_shape)
        if tuple(value.shape[event_dim_start:]) != tuple(self._event_shape):
            raise ValueError(f"The right-most size of value must match event_shape: "
                             f"{value.shape} vs {self._event_shape}.")
        actual, expected = tuple(value.shape), tuple(self._batch_shape + self._event_shape)
        for i, j in zip(reversed(actual), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                 f"{value.shape} vs {Size(expected)}.")
        support = self.support
        if not bool(support.check(value)._array.all()):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape "
                f"{tuple(value.shape)}) to be within the support ({support!r}) of the "
                f"distribution {self!r}, but found invalid values:\n{value}")

    def _get_checked_instance(self, cls, _instance=None):
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {type(self).__name__} of {cls.__name__} that defines a custom "
                "__init__ method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    def __repr__(self):
        names = [k for k in self.arg_constraints if k in self.__dict__]
        args = ", ".join(
            f"{p}: {self.__dict__[p] if self.__dict__[p].numel() == 1 else self.__dict__[p].size()}"
            for p in names)
        return f"{type(self).__name__}({args})"
