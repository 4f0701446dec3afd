"""Binary cross-entropies: ``BCEWithLogits`` (stable in log-sum-exp form for any logit) and
``BCE`` on probabilities (each log clamped at -100, as in PyTorch), one node each.

    >>> from chainrule.ops.fused.binary_cross_entropy import BCEWithLogits
    >>> x = cr.zeros(2, requires_grad=True)
    >>> loss = BCEWithLogits.apply(x, np.array([0.0, 1.0], np.float32), None, None, "mean")
    >>> loss
    tensor(0.6931, grad_fn=<BinaryCrossEntropyWithLogitsBackward0>)
"""

from __future__ import annotations

import numpy as np

from ...autograd.function import Op
from ...backend import get_array_module
from .. import either
from ..activation import sigmoid as tensor_sigmoid
from ..activation import softplus as tensor_softplus
from ..either import wants as _wants



def _reduce(losses, reduction):
    if reduction == "none":
        return losses
    total = losses.sum() if reduction == "sum" else losses.mean()
    return get_array_module(losses).asarray(total, dtype=losses.dtype)


def _expand_grad(g, shape, reduction):
    """The upstream gradient of a reduced loss, spread back over the elementwise losses."""
    if reduction == "none":
        return g
    n = 1
    for s in shape:
        n *= s
    scale = g if reduction == "sum" else g / n
    return either.broadcast_to(scale, shape)


class BCEWithLogits(Op):
    """l = w [(1 - y) x + (1 + (pw - 1) y) softplus(-x)], stable for any logit x.

    softplus(-x) = log(1 + e^-|x|) + max(-x, 0) never overflows. dl/dx = w [(1 - y) -
    (1 + (pw - 1) y) sigmoid(-x)], dl/dy = w [-x + (pw - 1) softplus(-x)].
    """

    torch_name = "BinaryCrossEntropyWithLogitsBackward0"

    caches = ("e",)

    def forward(self, x, y, w, pw, reduction):
        self.e = e = np.exp(-np.abs(x))  # in (0, 1]: backward's sigmoid reuses it
        sp = np.log1p(e)
        sp += np.maximum(-x, 0)
        lw = 1 if pw is None else 1 + (pw - 1) * y
        losses = (1 - y) * x + lw * sp
        if w is not None:
            losses = losses * w
        self.shape = losses.shape
        return _reduce(losses, reduction)

    def backward(self, g, x, y, w, pw, reduction):
        ge = _expand_grad(g, self.shape, reduction)
        if w is not None:
            ge = ge * w
        gx = gy = None
        if _wants(self, 0):
            if either.is_graph(g):
                s_neg = tensor_sigmoid(-x)
            else:
                e = getattr(self, "e", None)
                if e is None:
                    e = np.exp(-np.abs(x))
                r = 1 / (1 + e)
                s_neg = np.where(x >= 0, e * r, r)  # sigmoid(-x)
            lw = 1 if pw is None else 1 + (pw - 1) * y
            gx = ge * ((1 - y) - lw * s_neg)
        if _wants(self, 1):
            if pw is None:
                gy = ge * -x
            else:
                sp = tensor_softplus(-x) if either.is_graph(g) else \
                    np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)
                gy = ge * (-x + (pw - 1) * sp)
        return gx, gy, None, None, None


class BCE(Op):
    """l = -w [y log p + (1 - y) log(1 - p)], each log clamped at -100 as in PyTorch.

    dl/dp = w (p - y) / max(p (1 - p), 1e-12); dl/dy = w [log(1 - p) - log p] (unclamped).
    """

    torch_name = "BinaryCrossEntropyBackward0"

    def forward(self, p, y, w, reduction):
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100)
            log_1mp = np.maximum(np.log1p(-p), -100)
        losses = -(y * log_p + (1 - y) * log_1mp)
        if w is not None:
            losses = losses * w
        self.shape = losses.shape
        return _reduce(losses, reduction)

    def backward(self, g, p, y, w, reduction):
        ge = _expand_grad(g, self.shape, reduction)
        if w is not None:
            ge = ge * w
        gp = gy = None
        if _wants(self, 0):
            denom = p * (1 - p)
            denom = denom.clamp(min=1e-12) if either.is_graph(denom) else np.maximum(denom, 1e-12)
            gp = ge * (p - y) / denom
        if _wants(self, 1):
            if either.is_graph(g):
                gy = ge * (either.log(1 - p) - either.log(p))
            else:
                # unclamped, as torch's target gradient (only the loss clamps its logs)
                with np.errstate(divide="ignore", invalid="ignore"):
                    gy = ge * (np.log1p(-p) - np.log(p))
        return gp, gy, None, None
