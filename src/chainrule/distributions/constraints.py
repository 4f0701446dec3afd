"""What a parameter or a value must satisfy, as ``torch.distributions.constraints``.

``check(value)`` gives a bool Tensor of the batch shape (an event-level constraint reduces
its event dims); the reprs are torch's, since validation errors print them.

    >>> from chainrule.distributions import constraints
    >>> constraints.positive.check(cr.tensor([1.0, -1.0]))
    tensor([ True, False])
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor


def _array(x):
    """A host array of ``x``: the checks are NumPy (validation, not compute), so a device
    tensor is copied over explicitly."""
    return backend.to_device(x._array, "cpu") if isinstance(x, Tensor) else np.asarray(x)


class Constraint:
    is_discrete = False
    event_dim = 0

    def check(self, value):
        """A bool Tensor on ``value``'s device."""
        device = backend.device_of(value._array) if isinstance(value, Tensor) else "cpu"
        return Tensor._of(backend.to_device(np.asarray(self._check(_array(value))), device))

    def _check(self, v):
        raise NotImplementedError

    def __repr__(self):
        return type(self).__name__[1:] + "()"


class _Dependent(Constraint):
    """A constraint set by other parameters (Uniform's low < high): never checked here."""

    def _check(self, v):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint):
    return isinstance(constraint, _Dependent)


class _Real(Constraint):
    def _check(self, v):
        return v == v  # not nan


class _Boolean(Constraint):
    is_discrete = True

    def _check(self, v):
        return (v == 0) | (v == 1)


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def _check(self, v):
        return _array(self.lower_bound) < v

    def __repr__(self):
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def _check(self, v):
        return v < _array(self.upper_bound)

    def __repr__(self):
        return f"LessThan(upper_bound={self.upper_bound})"


class _GreaterThanEq(_GreaterThan):
    def _check(self, v):
        return self.lower_bound <= v

    def __repr__(self):
        return f"GreaterThanEq(lower_bound={self.lower_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, v):
        return (_array(self.lower_bound) <= v) & (v <= _array(self.upper_bound))

    def __repr__(self):
        return f"Interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _HalfOpenInterval(_Interval):
    def _check(self, v):
        return (_array(self.lower_bound) <= v) & (v < _array(self.upper_bound))

    def __repr__(self):
        return f"HalfOpenInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, v):
        return (v % 1 == 0) & (self.lower_bound <= v) & (v <= self.upper_bound)

    def __repr__(self):
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _Simplex(Constraint):
    event_dim = 1

    def _check(self, v):
        return (v >= 0).all(axis=-1) & (np.abs(v.sum(axis=-1) - 1) < 1e-6)


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def _check(self, v):
        return ((v == 0) | (v == 1)).all(axis=-1) & (v.sum(axis=-1) == 1)


class _LowerCholesky(Constraint):
    event_dim = 2

    def _check(self, v):
        lower = (np.tril(v) == v).reshape(v.shape[:-2] + (-1,)).all(axis=-1)
        positive_diagonal = (np.diagonal(v, axis1=-2, axis2=-1) > 0).all(axis=-1)
        return lower & positive_diagonal


class _PositiveDefinite(Constraint):
    event_dim = 2

    def _check(self, v):
        symmetric = np.isclose(v, np.swapaxes(v, -1, -2), atol=1e-6).reshape(
            v.shape[:-2] + (-1,)).all(axis=-1)
        # positive definite where the smallest eigenvalue is > 0 (torch: cholesky succeeds);
        # eigvalsh takes the whole stack, matrices with a non-finite entry are not
        finite = np.isfinite(v).all(axis=(-2, -1))
        safe = np.where(finite[..., None, None], v, np.eye(v.shape[-1], dtype=v.dtype))
        ok = finite & (np.linalg.eigvalsh(safe) > 0).all(axis=-1)
        return symmetric & ok


class _IndependentConstraint(Constraint):
    """``base`` with its last ``reinterpreted_batch_ndims`` dims reduced by all()."""

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        self.event_dim = base_constraint.event_dim + reinterpreted_batch_ndims
        self.is_discrete = base_constraint.is_discrete

    def _check(self, v):
        result = self.base_constraint._check(v)
        for _ in range(self.reinterpreted_batch_ndims):
            result = result.all(axis=-1)
        return result

    def __repr__(self):
        return (f"IndependentConstraint({self.base_constraint!r}, "
                f"{self.reinterpreted_batch_ndims})")


dependent = _Dependent()
real = _Real()
real_vector = _IndependentConstraint(real, 1)
boolean = _Boolean()
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
unit_interval = _Interval(0.0, 1.0)
simplex = _Simplex()
one_hot = _OneHot()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
interval = _Interval
half_open_interval = _HalfOpenInterval
integer_interval = _IntegerInterval
independent = _IndependentConstraint
greater_than = _GreaterThan
less_than = _LessThan
