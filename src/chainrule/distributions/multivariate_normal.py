"""The multivariate normal, as ``torch.distributions.MultivariateNormal``, parameterized by
``loc`` and one of ``covariance_matrix`` or ``scale_tril`` (lower Cholesky factor L, the
covariance being L L^T).

log_prob = -(k log(2 pi) + |L^-1 (x - loc)|^2) / 2 - sum(log diag L); ``rsample`` is
``loc + L eps`` with ``eps`` drawn as ``cr.randn`` (torch's eps for the same seed; the
product L eps agrees with torch's to rounding). All of it is differentiable, through the
Cholesky factorization too.

    >>> import chainrule.distributions as D
    >>> d = D.MultivariateNormal(cr.zeros(2), covariance_matrix=cr.eye(2) * 4)
    >>> d.log_prob(cr.zeros(2)), d.entropy()
    (tensor(-3.2242), tensor(4.2242))
"""

from __future__ import annotations

import math

import numpy as np

from .. import creation
from . import constraints
from .distribution import Distribution, lazy_property
from ..ops.decompositions import cholesky, solve_triangular


def _diagonal(matrix):
    """The diagonal of the last two dims, through ops (differentiable)."""
    n = matrix.shape[-1]
    return (matrix * creation.eye(n, dtype=matrix.dtype, device=matrix.device)).sum(-1)


class MultivariateNormal(Distribution):
    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, scale_tril=None, validate_args=None):
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is None) == (scale_tril is None):
            raise ValueError("Exactly one of covariance_matrix or scale_tril may be specified.")
        matrix = scale_tril if scale_tril is not None else covariance_matrix
        name = "scale_tril" if scale_tril is not None else "covariance_matrix"
        if matrix.ndim < 2:
            raise ValueError(f"{name} matrix must be at least two-dimensional, "
                             "with optional leading batch dimensions")
        batch_shape = np.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1]))
        event = tuple(loc.shape[-1:])
        setattr(self, name, matrix.expand(*batch_shape, *matrix.shape[-2:]))
        self.loc = loc.expand(*batch_shape, *event)
        super().__init__(batch_shape, event, validate_args=validate_args)
        # the factor before broadcasting: one factorization per distinct matrix
        self._unbroadcasted_scale_tril = scale_tril if scale_tril is not None \
            else cholesky(covariance_matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        loc_shape = tuple(batch_shape) + tuple(self.event_shape)
        cov_shape = loc_shape + tuple(self.event_shape)
        new.loc = self.loc.expand(*loc_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(*cov_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def scale_tril(self):
        L = self._unbroadcasted_scale_tril
        return L.expand(*self._batch_shape, *L.shape[-2:])

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        cov = L @ L.mT
        return cov.expand(*self._batch_shape, *cov.shape[-2:])

    @lazy_property
    def precision_matrix(self):
        L = self._unbroadcasted_scale_tril
        eye = creation.eye(L.shape[-1], dtype=L.dtype, device=L.device)
        L_inv = solve_triangular(L, eye, upper=False)
        precision = L_inv.mT @ L_inv
        return precision.expand(*self._batch_shape, *precision.shape[-2:])

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        var = self._unbroadcasted_scale_tril.pow(2).sum(-1)
        return var.expand(*self._batch_shape, *self._event_shape)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = creation.randn(*shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return _diagonal(self._unbroadcasted_scale_tril).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        L = self._unbroadcasted_scale_tril
        batch = np.broadcast_shapes(tuple(diff.shape[:-1]), tuple(L.shape[:-2]))
        k = self._event_shape[0]
        L = L.expand(*batch, k, k)
        # the Mahalanobis term |L^-1 diff|^2, by a triangular solve rather than an inverse
        z = solve_triangular(L, diff.expand(*batch, k).unsqueeze(-1), upper=False).squeeze(-1)
        mahalanobis = z.pow(2).sum(-1)
        return -0.5 * (k * math.log(2 * math.pi) + mahalanobis) - self._half_log_det()

    def entropy(self):
        k = self._event_shape[0]
        H = 0.5 * k * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        if len(self._batch_shape) == 0:
            return H
        return H.expand(*self._batch_shape)
