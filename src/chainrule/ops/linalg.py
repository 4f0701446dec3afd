"""Matrix products: ``matmul`` / ``@`` with the cases of ``torch.matmul``.

1-D @ 1-D is a dot product; a 1-D operand on the left (right) is a row (column) that is
removed from the result; anything with more dims is a batch of matrices that broadcasts.

    >>> W = cr.randn(10, 784, requires_grad=True)
    >>> x = cr.randn(32, 784)
    >>> (x @ W.T).shape
    (32, 10)
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..tensor import Tensor


def _shape(x):
    return tuple(x.shape) if isinstance(x, Tensor) else np.shape(x)


def check_matmul(name, a_shape, b_shape):
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise ValueError(f"{name}: both operands need at least 1 dimension, got shapes "
                         f"{a_shape} and {b_shape}")
    k_a = a_shape[-1]
    k_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if k_a != k_b:
        raise ValueError(f"{name}: shapes {a_shape} and {b_shape} are not aligned ({k_a} != {k_b})")


class MatMul(Op):
    def forward(self, a, b):
        try:
            return a @ b
        except ValueError:
            check_matmul("matmul", a.shape, b.shape)  # says which shapes disagree
            raise

    def backward(self, g, a, b):
        a_vec, b_vec = a.ndim == 1, b.ndim == 1
        A = a.reshape(1, -1) if a_vec else a          # (..., n, k)
        B = b.reshape(-1, 1) if b_vec else b          # (..., k, m)
        G = g
        if a_vec and b_vec:
            G = g.reshape(1, 1)
        elif a_vec:
            G = g[..., None, :]
        elif b_vec:
            G = g[..., None]
        ga = gb = None
        a_wanted = isinstance(self.args[0], Tensor) and self.args[0]._requires_grad
        b_wanted = isinstance(self.args[1], Tensor) and self.args[1]._requires_grad
        if a_wanted:
            ga = G @ B.swapaxes(-1, -2)                # (..., n, k)
            if a_vec:
                ga = ga.reshape(ga.shape[:-2] + (ga.shape[-1],))
        if b_wanted:
            gb = A.swapaxes(-1, -2) @ G                # (..., k, m)
            if b_vec:
                gb = gb.reshape(gb.shape[:-1])
        return ga, gb


def matmul(a, b):
    """The matrix product of ``a`` and ``b`` (see the module docstring for the cases)."""
    return MatMul.apply(a, b)


def mm(a, b):
    if len(_shape(a)) != 2 or len(_shape(b)) != 2:
        raise ValueError(f"mm: expected 2-D tensors, got shapes {_shape(a)} and {_shape(b)}")
    return matmul(a, b)


def dot(a, b):
    if len(_shape(a)) != 1 or len(_shape(b)) != 1:
        raise ValueError(f"dot: expected 1-D tensors, got shapes {_shape(a)} and {_shape(b)}")
    return matmul(a, b)


def outer(a, b):
    return a.reshape(-1, 1) * b.reshape(1, -1)
