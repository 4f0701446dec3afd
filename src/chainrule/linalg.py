"""``chainrule.linalg``: torch.linalg's functions, with gradients (and second derivatives).

Norms (``vector_norm``, ``matrix_norm``, ``norm``), inverses and solves (``inv``, ``solve``,
``pinv``, ``lstsq``), determinants (``det``, ``slogdet``), decompositions (``cholesky``, ``qr``,
``eigh``, ``eigvalsh``, ``svd``, ``svdvals``) and ``matrix_rank``; all batch over leading dims
and take float32 or float64, as torch's. A factorization that fails raises ``LinAlgError``
(a ``RuntimeError``). The op classes and their backward rules live in
``chainrule.ops.decompositions``.

    >>> import chainrule as cr
    >>> A = cr.tensor([[4.0, 2.0], [2.0, 3.0]], requires_grad=True)
    >>> cr.linalg.solve(A, cr.tensor([2.0, 1.0])).detach()
    tensor([0.5000, 0.0000])
    >>> cr.linalg.det(A).backward()              # d det(A) / dA = det(A) A^-T
    >>> A.grad
    tensor([[ 3., -2.],
            [-2.,  4.]])
"""

from .ops.decompositions import (  # noqa: F401
    LinAlgError, cholesky, det, eigh, eigvalsh, inv, matrix_norm, matrix_rank, norm, pinv, qr,
    slogdet, solve, solve_triangular, svd, svdvals, vector_norm,
)



def cross(input, other, dim=-1):  # noqa: A002 - PyTorch's argument names
    """The cross product of 3-vectors along ``dim`` (the last by default), broadcast."""
    from .ops.linalg import cross as _cross  # noqa: PLC0415

    return _cross(input, other, dim)


__all__ = ["LinAlgError", "cross", "cholesky", "det", "eigh", "eigvalsh", "inv", "matrix_norm",
           "matrix_rank", "norm", "pinv", "qr", "slogdet", "solve", "solve_triangular", "svd",
           "svdvals", "vector_norm"]
