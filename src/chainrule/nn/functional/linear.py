"""Linear maps as functions (``nn/linear.py``'s layers call them): linear, bilinear.

    >>> F.linear(cr.ones(2, 3), cr.ones(4, 3), cr.zeros(4))
    tensor([[3., 3., 3., 3.],
            [3., 3., 3., 3.]])
"""

from __future__ import annotations

from ...ops.fused import linear  # one fused node (ops/fused/linear.py)
from ...ops.linalg import matmul


__all__ = [
    "bilinear", "linear",
]


def bilinear(input1, input2, weight, bias=None):
    """y_k = x1^T W_k x2 + b_k with W (out, in1, in2)."""
    # (N, in1) @ (out, in1, in2) -> (out, N, in2); times x2 summed over in2 -> (out, N)
    y = (matmul(input1, weight) * input2).sum(-1)
    y = y.permute(*range(1, y.ndim), 0)
    return y if bias is None else y + bias
