"""Fused batch and layer normalization, each one node with a hand-written backward.

BatchNorm is on the hot path of training, so its statistics, the normalization and its
gradient are each one node; the running-statistics update is an op of its own
(``UpdateRunningStats``), so a traced step shows it. The rules use operators and the
``either`` helpers, so ``create_graph=True`` gives second derivatives.

    >>> from chainrule.ops.fused import normalization
    >>> x = cr.randn(8, 3, requires_grad=True)
    >>> moments = normalization.BatchMoments.apply(x, (0,))
    >>> y = normalization.BatchNormTrain.apply(x, None, None, moments, (0,), (1, 3), 1e-5)
    >>> y.sum().backward()
    >>> bool(x.grad.abs().max() < 1e-4)          # the batch mean cancels a constant gradient
    True
"""

from __future__ import annotations

import numpy as np

from ...backend import get_array_module
from ...autograd.function import Op
from .. import either
from ..either import wants as _wants



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
        mean = either.sum(x, axes, True) / n
        xc = x - mean
        var = either.sum(xc * xc, axes, True) / n
        invstd = 1 / either.sqrt(var + eps)
        xhat = xc * invstd
    gw = g if w_view is None else g * w_view
    mean_g = either.sum(gw, axes, True) / n
    mean_gx = either.sum(gw * xhat, axes, True) / n
    if either.is_graph(g):
        return (gw - mean_g - xhat * mean_gx) * invstd, xhat
    # On arrays the same operations in place over one fresh array (two temporaries fewer).
    gx = g.copy() if w_view is None else gw
    gx -= mean_g
    gx -= xhat * mean_gx
    gx *= invstd
    return gx, xhat


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
        graph = either.is_graph(g)
        xhat = None if graph else getattr(self, "xhat", None)
        invstd = None if graph else getattr(self, "invstd", None)
        gx = None
        if _wants(self, 0):
            gx, xhat = _normalized_grad(g, x, w_view, axes, eps, xhat, invstd)
        gw = gb = None
        if _wants(self, 1):
            if xhat is None:
                _, xhat = _normalized_grad(g, x, None, axes, eps)
            gw = either.sum(g * xhat, axes)
        if _wants(self, 2):
            gb = either.sum(g, axes)
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
            gw = either.sum(g * ((x - mean) * invstd), axes)
        if _wants(self, 2):
            gb = either.sum(g, axes)
        return gx, gw, gb, None, None, None, None


class RunningStatistics(Op):
    """The running statistics as evaluation uses them: the mean and 1 / sqrt(var + eps) in
    ``dtype``, shaped ``shape`` (no gradient). An op of its own, so that a replayed program
    reads the live buffers, as they are at each run, not a copy made when it was traced."""

    differentiable = False
    name = "batch_norm"

    def forward(self, running_mean, running_var, dtype, eps, shape):
        xp = get_array_module(running_var)
        mean = running_mean.astype(dtype, copy=False).reshape(shape)
        var = running_var.astype(dtype, copy=False)
        return mean, (1 / xp.sqrt(var + dtype.type(eps))).reshape(shape)


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
        xp = get_array_module(x)
        mean = x.mean(axis=axes, keepdims=True)
        xhat = x - mean
        invstd = 1 / xp.sqrt(xp.mean(xhat * xhat, axis=axes, keepdims=True) + eps)
        xhat *= invstd
        self.xhat, self.invstd = xhat, invstd
        y = xhat * w if w is not None else xhat.copy()
        if b is not None:
            y += b
        return y

    def backward(self, g, x, w, b, axes, eps):
        graph = either.is_graph(g)
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
            gw = either.sum(g * xhat, lead) if lead else g * xhat
        if _wants(self, 2):
            gb = either.sum(g, lead) if lead else g
        return gx, gw, gb, None, None

