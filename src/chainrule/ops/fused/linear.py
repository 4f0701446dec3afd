"""``linear``: x W^T + b as one node instead of matmul + transpose + add (the hot path of
every MLP), with PyTorch's grad_fn names (AddmmBackward0, MmBackward0).

    >>> x = cr.randn(4, 3)
    >>> w = cr.randn(2, 3, requires_grad=True)
    >>> y = cr.ops.linear(x, w)
    >>> y.shape, y.grad_fn
    (chainrule.Size([4, 2]), <MmBackward0>)
"""

from __future__ import annotations

from ...autograd.function import Op
from ...promotion import check_same_dtype
from ...tensor import Tensor
from ..gemm import times_transposed
from ..linalg import check_matmul


class Linear(Op):
    """y = x W^T + b with x (..., in), W (out, in), b (out,)."""

    @property
    def torch_name(self):  # F.linear of a batch of rows is addmm (mm without a bias)
        if len(self.args[0].shape) != 2:
            return "ViewBackward0"
        return "MmBackward0" if self.args[2] is None else "AddmmBackward0"

    def forward(self, x, W, b):
        if x.dtype != W.dtype or (b is not None and b.dtype != W.dtype):  # no promotion (torch)
            check_same_dtype("linear", x, W, b)
        try:
            if x.ndim > 2:  # one GEMM over all rows: NumPy loops over the leading dims instead
                y = times_transposed(x.reshape(-1, x.shape[-1]), W).reshape(
                    x.shape[:-1] + (W.shape[0],))
            elif x.ndim == 2:
                y = times_transposed(x, W)
            else:
                y = x @ W.T
        except ValueError:
            check_matmul("linear", x.shape, W.T.shape)  # says which shapes disagree
            raise
        if b is not None:
            y += b  # y is fresh: adding in place saves an allocation
        return y

    def backward(self, g, x, W, b):
        x_arg, W_arg, b_arg = self.args
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        gx = None
        if isinstance(x_arg, Tensor) and x_arg._requires_grad:
            gx = (g2 @ W).reshape(tuple(g.shape[:-1]) + (W.shape[1],)) if g.ndim > 2 else g @ W
        gW = gb = None
        if W_arg._requires_grad:
            x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
            gW = g2.T @ x2
        if b_arg is not None and b_arg._requires_grad:
            gb = g2.sum(0)
        return gx, gW, gb


def linear(x, weight, bias=None):
    """``x @ weight.T + bias`` as one fused node."""
    w_shape = weight._array.shape  # the raw shapes: Tensor.shape builds a Size each time
    if len(w_shape) != 2:
        raise ValueError(f"linear: weight must be 2-D (out, in), got shape {tuple(weight.shape)}")
    if bias is not None and bias._array.shape != w_shape[:1] and bias._array.ndim != 0:
        raise ValueError(f"linear: bias shape {tuple(bias.shape)} does not match "
                         f"out_features {weight.shape[0]}")
    return Linear.apply(x, weight, bias)
