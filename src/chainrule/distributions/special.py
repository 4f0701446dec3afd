"""The ops the distributions need that chainrule's core lacks: lgamma, digamma / polygamma,
cholesky and a triangular solve, each a forward with its backward.

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


def _tri(x, upper, k=0):
    if isinstance(x, Tensor):
        return x.triu(k) if upper else x.tril(k)
    return np.triu(x, k) if upper else np.tril(x, k)


def _mT(x):
    return x.swapaxes(-1, -2)


class SolveTriangular(Op):
    """X with A X = B (``left``) or X A = B, A lower (or ``upper``) triangular; the other
    triangle of A is not read. A and B broadcast over their batch dims."""

    def forward(self, A, B, upper, left):
        A = _tri(A, upper)
        if left:
            batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
            return np.linalg.solve(np.broadcast_to(A, batch + A.shape[-2:]),
                                   np.broadcast_to(B, batch + B.shape[-2:]))
        return _mT(self.forward(_mT(A), _mT(B), not upper, True))

    def backward(self, g, A, B, upper, left):
        # X = A^-1 B: gB = A^-T g, gA = -gB X^T; X = B A^-1: gB = g A^-T, gA = -X^T gB.
        # gA keeps A's triangle: the other one is not an input of the function.
        X = solve_triangular(A, B, upper=upper, left=left)
        gB = solve_triangular(_mT(A), g, upper=not upper, left=left)
        gA = -(gB @ _mT(X)) if left else -(_mT(X) @ gB)
        return _tri(gA, upper), gB, None, None


def solve_triangular(A, B, *, upper, left=True):
    """As ``torch.linalg.solve_triangular``."""
    if isinstance(A, Tensor) or isinstance(B, Tensor):
        return SolveTriangular.apply(A, B, bool(upper), bool(left))
    return SolveTriangular().forward(A, B, upper, left)


class Cholesky(Op):
    """L lower triangular with A = L L^T (A symmetric positive definite).

    The backward is torch's: gA = L^-T Phi L^-1 with Phi = T + tril(T, -1)^T halved and
    T = tril(L^T gL). Like torch's, it is not symmetrized.
    """

    saves_output = True
    caches = ("y",)

    def forward(self, A):
        try:
            self.y = np.linalg.cholesky(_float(A))
        except np.linalg.LinAlgError:
            raise ValueError("cholesky: the input is not positive-definite") from None
        return self.y

    def backward(self, g, A):
        L = self.saved_output(g)
        T = _tri(_mT(L) @ g, upper=False)
        T = 0.5 * (T + _mT(_tri(T, upper=False, k=-1)))
        T = solve_triangular(_mT(L), T, upper=True, left=True)
        return solve_triangular(L, T, upper=False, left=False)


def cholesky(A):
    """As ``torch.linalg.cholesky`` (lower)."""
    return Cholesky.apply(A)
