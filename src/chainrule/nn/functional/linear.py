"""Linear maps as functions (``nn/linear.py``'s layers call them): linear, bilinear.

    >>> F.linear(cr.ones(2, 3), cr.ones(4, 3), cr.zeros(4))
    tensor([[3., 3., 3., 3.],
            [3., 3., 3., 3.]])
"""

from __future__ import annotations

from ...errors import InvalidArgument
from ...ops.fused import linear  # one fused node (ops/fused/linear.py)
from ...ops.linalg import matmul
from ...tensor import Tensor


__all__ = [
    "bilinear", "linear",
]


def bilinear(input1, input2, weight, bias=None):
    """y_k = x1^T W_k x2 + b_k with W (out, in1, in2)."""
    if weight.ndim != 3:
        raise ValueError(f"bilinear: weight must be 3-D (out, in1, in2), got shape "
                         f"{tuple(weight.shape)}")
    for k, x in ((1, input1), (2, input2)):
        if not isinstance(x, Tensor):
            raise TypeError(f"bilinear: input{k} must be a Tensor, got {type(x).__name__}")
        if x.ndim == 0 or x.shape[-1] != weight.shape[k]:
            raise InvalidArgument(f"bilinear: input{k} of shape {tuple(x.shape)} does not "
                                  f"match weight size {weight.shape[k]} (weight shape "
                                  f"{tuple(weight.shape)})")
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise InvalidArgument(f"bilinear: input1 {tuple(input1.shape)} and input2 "
                              f"{tuple(input2.shape)} must agree in all but the last dim")
    # (N, in1) @ (out, in1, in2) -> (out, N, in2); times x2 summed over in2 -> (out, N)
    y = (matmul(input1, weight) * input2).sum(-1)
    y = y.permute(*range(1, y.ndim), 0)
    return y if bias is None else y + bias
