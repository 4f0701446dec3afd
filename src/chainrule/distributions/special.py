"""The ops the distributions need that chainrule's core lacks: lgamma and digamma /
polygamma, each a forward with its backward (the Cholesky factor and the triangular solve
are ``cr.linalg``'s).

Each backward is written with functions that take arrays (first order) or Tensors (under
``create_graph``, where they record ops again), so double backward works.

    >>> from chainrule.distributions.special import lgamma, digamma
    >>> x = cr.tensor([1.0, 2.5], requires_grad=True)
    >>> lgamma(x).sum().backward()
    >>> x.grad                                  # digamma(x)
    tensor([-0.5772,  0.7032])
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Op
from ..tensor import Tensor


def _float(x):
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def _safe_lgamma(v):
    try:
        return math.lgamma(v)
    except ValueError:  # a pole (0, -1, -2, ...): torch gives +inf
        return math.inf


_lgamma_array = np.frompyfunc(_safe_lgamma, 1, 1)


# Bernoulli numbers B_2, B_4, ..., B_12 of the asymptotic series of the polygamma functions.
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730)
_SHIFT = 15.0  # the series is used from here on: its first omitted term is below 1e-15


def polygamma_array(n, x):
    """psi^(n)(x) for x > 0 (nan elsewhere, but -inf for digamma at 0) in float64: the
    recurrence psi^(n)(x) = psi^(n)(x + 1) - (-1)^n n! / x^(n+1) moves x past ``_SHIFT``,
    then the asymptotic series in 1/x finishes."""
    x = np.asarray(x, dtype=np.float64)
    z = x.copy()
    acc = np.zeros_like(z)
    sign = -1.0 if n % 2 else 1.0  # (-1)^n
    n_fact = math.factorial(n)
    while True:
        small = z < _SHIFT
        if not small.any():
            break
        zs = np.where(small & (z > 0), z, 1.0)
        acc -= np.where(small, sign * n_fact / zs ** (n + 1), 0.0)
        z = np.where(small, z + 1, z)
    inv = 1.0 / z
    if n == 0:
        series = np.log(z) - 0.5 * inv
        for k, b in enumerate(_BERNOULLI, start=1):
            series -= b / (2 * k) * inv ** (2 * k)
    else:
        series = math.factorial(n - 1) * inv ** n + 0.5 * n_fact * inv ** (n + 1)
        for k, b in enumerate(_BERNOULLI, start=1):
            series += b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) * inv ** (2 * k + n)
        series *= -sign  # (-1)^(n+1)
    out = series + acc
    out = np.where(x > 0, out, np.nan)
    if n == 0:
        out = np.where(x == 0, -np.inf, out)
    return out


class Lgamma(Op):
    def forward(self, x):
        x = _float(x)
        return _lgamma_array(x).astype(x.dtype)

    def backward(self, g, x):
        return g * polygamma(0, x)


class Polygamma(Op):
    """The n-th derivative of digamma; its backward is the (n+1)-th."""

    def forward(self, n, x):
        x = _float(x)
        return polygamma_array(n, x).astype(x.dtype)

    def backward(self, g, n, x):
        return None, g * polygamma(n + 1, x)


def lgamma(x):
    """log |Gamma(x)|, as ``torch.lgamma``."""
    return Lgamma.apply(x)


def polygamma(n, x):
    """psi^(n)(x) for x > 0: a Tensor for a Tensor, an array for an array (backward rules)."""
    if isinstance(x, Tensor):
        return Polygamma.apply(int(n), x)
    return polygamma_array(n, x).astype(_float(np.asarray(x)).dtype)


def digamma(x):
    """d/dx lgamma(x) for x > 0, as ``torch.digamma``."""
    return polygamma(0, x)
