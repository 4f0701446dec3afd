"""Fused ops for the nn layers: batch_norm, layer_norm, embedding, binary cross-entropies.

Each is one node with a hand-written backward, for speed (BatchNorm is on the hot path of
training) or numerical stability (BCE with logits in log-sum-exp form). The rules use
operators and ``dual`` helpers, so ``create_graph=True`` gives second derivatives.

    >>> x = cr.randn(8, 3, requires_grad=True)
    >>> y = cr.ops.nn_extra.batch_norm_train(x, None, None, eps=1e-5)[0]
    >>> y.sum().backward()
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..backend import get_array_module

from ..autograd.function import Op
from ..tensor import Tensor
from . import dual
from .elementwise import sigmoid as tensor_sigmoid
from .elementwise import softplus as tensor_softplus
from .index import IndexAdd


def _wants(node, i) -> bool:
    a = node.args[i]
    return isinstance(a, Tensor) and a._requires_grad


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _normalized_grad(g, x, w_view, axes, eps, xhat=None, invstd=None):
    """d/dx of y = xhat * w with xhat = (x - mean) / sqrt(var + eps) over ``axes``:

    gx = invstd / n * (n * gw - sum(gw) - xhat * sum(gw * xhat)),  gw = g * w.
    Recomputes the statistics from ``x`` when not given (always under create_graph).
    """
    n = _count(x.shape, axes)
    if xhat is None:
        mean = dual.sum(x, axes, True) / n
        xc = x - mean
        var = dual.sum(xc * xc, axes, True) / n
        invstd = 1 / dual.sqrt(var + eps)
        xhat = xc * invstd
    gw = g if w_view is None else g * w_view
    mean_g = dual.sum(gw, axes, True) / n
    mean_gx = dual.sum(gw * xhat, axes, True) / n
    return (gw - mean_g - xhat * mean_gx) * invstd, xhat


class BatchNormTrain(Op):
    """y = (x - mean_B) / sqrt(var_B + eps) * w + b, statistics over ``axes`` of this batch.

    ``moments`` (``BatchMoments``: mean and biased variance, dims kept) are the batch
    statistics, computed once by their own step and also read by ``UpdateRunningStats``.
    """

    torch_name = "NativeBatchNormBackward0"

    caches = ("xhat", "invstd")

    def forward(self, x, w, b, moments, axes, view, eps):
        mean, var = moments[0], moments[1]
        invstd = 1 / np.sqrt(var + eps)
        xhat = (x - mean) * invstd
        self.xhat, self.invstd = xhat, invstd
        y = xhat * w.reshape(view) if w is not None else xhat.copy()
        if b is not None:
            y += b.reshape(view)
        return y

    def backward(self, g, x, w, b, moments, axes, view, eps):
        w_view = None if w is None else w.reshape(view)
        graph = dual.is_graph(g)
        xhat = None if graph else getattr(self, "xhat", None)
        invstd = None if graph else getattr(self, "invstd", None)
        gx = None
        if _wants(self, 0):
            gx, xhat = _normalized_grad(g, x, w_view, axes, eps, xhat, invstd)
        gw = gb = None
        if _wants(self, 1):
            if xhat is None:
                _, xhat = _normalized_grad(g, x, None, axes, eps)
            gw = dual.sum(g * xhat, axes)
        if _wants(self, 2):
            gb = dual.sum(g, axes)
        return gx, gw, gb, None, None, None, None


class BatchNormEval(Op):
    """y = (x - running_mean) * invstd * w + b: affine in x, statistics are constants."""

    torch_name = "NativeBatchNormBackward0"

    def forward(self, x, w, b, mean, invstd, axes, view):
        scale = invstd if w is None else invstd * w.reshape(view)
        y = (x - mean) * scale
        if b is not None:
            y += b.reshape(view)
        return y

    def backward(self, g, x, w, b, mean, invstd, axes, view):
        gx = gw = gb = None
        if _wants(self, 0):
            gx = g * invstd if w is None else g * (w.reshape(view) * invstd)
        if _wants(self, 1):
            gw = dual.sum(g * ((x - mean) * invstd), axes)
        if _wants(self, 2):
            gb = dual.sum(g, axes)
        return gx, gw, gb, None, None, None, None


class BatchMoments(Op):
    """The batch mean and biased variance over ``axes`` (dims kept), stacked: ``out[0]`` is the
    mean, ``out[1]`` the variance. Not differentiated: ``BatchNormTrain``'s rule already
    accounts for the statistics' dependence on x."""

    differentiable = False

    def forward(self, x, axes):
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
        return get_array_module(x).stack([mean, var])


class UpdateRunningStats(Op):
    """The side effect of a training batch norm, as a step of the graph of its own:
    running = (1 - momentum) running + momentum batch, in place, with the unbiased batch
    variance (n / (n - 1)) as PyTorch. It outputs nothing."""

    differentiable = False

    def forward(self, running_mean, running_var, moments, momentum, n):
        C = running_mean.shape[0]
        running_mean *= 1 - momentum
        running_mean += momentum * moments[0].reshape(C).astype(running_mean.dtype, copy=False)
        running_var *= 1 - momentum
        running_var += (momentum * n / (n - 1)) * moments[1].reshape(C).astype(
            running_var.dtype, copy=False)
        return None


class LayerNorm(Op):
    """y = (x - mean) / sqrt(var + eps) * w + b over the trailing ``axes`` of each sample."""
    torch_name = "NativeLayerNormBackward0"

    caches = ("xhat", "invstd")

    def forward(self, x, w, b, axes, eps):
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        invstd = 1 / np.sqrt(np.mean(xc * xc, axis=axes, keepdims=True) + eps)
        xhat = xc * invstd
        self.xhat, self.invstd = xhat, invstd
        y = xhat * w if w is not None else xhat.copy()
        if b is not None:
            y += b
        return y

    def backward(self, g, x, w, b, axes, eps):
        graph = dual.is_graph(g)
        xhat = None if graph else getattr(self, "xhat", None)
        invstd = None if graph else getattr(self, "invstd", None)
        gx = None
        if _wants(self, 0):
            gx, xhat = _normalized_grad(g, x, w, axes, eps, xhat, invstd)
        lead = tuple(range(x.ndim - len(axes)))
        gw = gb = None
        if _wants(self, 1):
            if xhat is None:
                _, xhat = _normalized_grad(g, x, None, axes, eps)
            gw = dual.sum(g * xhat, lead) if lead else g * xhat
        if _wants(self, 2):
            gb = dual.sum(g, lead) if lead else g
        return gx, gw, gb, None, None


class Embedding(Op):
    """Rows of ``weight`` at integer ``indices``; the gradient adds rows back (repeats add up)."""

    def forward(self, weight, indices, padding_idx):
        return weight[indices]

    def backward(self, g, weight, indices, padding_idx):
        shape = tuple(weight.shape)
        if dual.is_graph(g):
            gw = IndexAdd.apply(g, indices, shape)
            if padding_idx is not None:
                keep = np.ones((shape[0], 1), dtype=dual.value(g).dtype)
                keep[padding_idx] = 0
                gw = gw * keep
            return gw, None, None
        flat_idx = indices.reshape(-1)
        g2 = g.reshape(-1, shape[1])
        gw = np.zeros(shape, dtype=g.dtype)
        # Sorting once and summing runs is far faster than np.add.at on big batches.
        order = np.argsort(flat_idx, kind="stable")
        sorted_idx = flat_idx[order]
        if sorted_idx.size:
            starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
            gw[sorted_idx[starts]] = np.add.reduceat(g2[order], starts, axis=0)
        if padding_idx is not None:
            gw[padding_idx] = 0
        return gw, None, None


def _reduce(losses, reduction):
    if reduction == "none":
        return losses
    total = losses.sum() if reduction == "sum" else losses.mean()
    return np.asarray(total, dtype=losses.dtype)


def _expand_grad(g, shape, reduction):
    """The upstream gradient of a reduced loss, spread back over the elementwise losses."""
    if reduction == "none":
        return g
    n = 1
    for s in shape:
        n *= s
    scale = g if reduction == "sum" else g / n
    return dual.broadcast_to(scale, shape)


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
            if dual.is_graph(g):
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
                sp = tensor_softplus(-x) if dual.is_graph(g) else \
                    np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)
                gy = ge * (-x + (pw - 1) * sp)
        return gx, gy, None, None, None


class BCE(Op):
    """l = -w [y log p + (1 - y) log(1 - p)], each log clamped at -100 as in PyTorch.

    dl/dp = w (p - y) / max(p (1 - p), 1e-12); dl/dy = w [log(1 - p) - log p].
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
            denom = denom.clamp(min=1e-12) if dual.is_graph(denom) else np.maximum(denom, 1e-12)
            gp = ge * (p - y) / denom
        if _wants(self, 1):
            if dual.is_graph(g):
                gy = ge * (dual.log(1 - p) - dual.log(p))
            else:
                with np.errstate(divide="ignore"):
                    gy = ge * (np.maximum(np.log1p(-p), -100) - np.maximum(np.log(p), -100))
        return gp, gy, None, None


class DropoutMask(Op):
    """The mask of dropout, drawn from ``generator`` (the default one when None) as a step of
    its own: kept elements are 1 / (1 - p), dropped ones 0, in the dtype of ``x``."""

    differentiable = False

    def forward(self, x, p, generator):
        dtype = x.dtype if x.dtype.kind == "f" else backend.default_float
        # torch: noise = bernoulli_(1 - p) (keep where a uniform < 1 - p), noise /= 1 - p
        keep = backend.rng_of(generator).draw_bernoulli(x.shape, 1.0 - p, dtype)
        return backend.to_device(keep / dtype.type(1.0 - p), backend.device_of(x))
