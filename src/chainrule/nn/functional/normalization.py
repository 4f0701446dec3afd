"""Normalizations as functions (``nn/normalization.py``'s layers call them): batch_norm,
layer_norm (fused nodes of ``ops/fused/normalization.py``), group_norm and instance_norm
(composed from the fused LayerNorm node: GroupNorm normalizes each sample over groups of
channels and all positions; InstanceNorm is GroupNorm with one channel per group, plus
optional running statistics), normalize (L_p, composed) and rms_norm (composed).

    >>> x = cr.tensor([[1.0, 2.0], [3.0, 6.0]])
    >>> F.layer_norm(x, (2,))
    tensor([[-1.0000,  1.0000],
            [-1.0000,  1.0000]])
    >>> F.normalize(cr.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    >>> F.group_norm(cr.randn(4, 6, 8, 8), 3).shape
    chainrule.Size([4, 6, 8, 8])
"""

from __future__ import annotations

import numpy as np

from ...autograd import tracing
from ...ops import fused as _fused
from ...ops.fused.normalization import RunningStatistics


__all__ = [
    "batch_norm", "group_norm", "instance_norm", "layer_norm", "normalize", "rms_norm",
]


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """x / max(||x||_p, eps) along ``dim``."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def _bn_layout(name, input, n_features):
    if input.ndim < 2:
        raise ValueError(f"{name}: expected an input (N, C, *) of at least 2 dims, "
                         f"got shape {tuple(input.shape)}")
    if n_features is not None and input.shape[1] != n_features:
        raise ValueError(f"{name}: expected {n_features} channels in dim 1, "
                         f"got input of shape {tuple(input.shape)}")
    axes = (0,) + tuple(range(2, input.ndim))  # every dim but the channels
    view = (1, -1) + (1,) * (input.ndim - 2)
    return axes, view


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization over dim 1 of (N, C) or (N, C, L), as ``torch.nn.functional.batch_norm``.

    In training, normalizes with the batch statistics and, when running statistics are
    given, updates them in place: running = (1 - momentum) running + momentum batch, with the
    *unbiased* batch variance. In evaluation, normalizes with the running statistics.
    """
    C = input.shape[1] if input.ndim >= 2 else None
    axes, view = _bn_layout("batch_norm", input, C)
    for pname, prm in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                       ("running_var", running_var)):
        if prm is not None and tuple(prm.shape) != (C,):
            raise ValueError(f"batch_norm: {pname} must have shape ({C},), got {tuple(prm.shape)}")
    if training:
        n = input.numel() // C
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input of shape {tuple(input.shape)}")
        moments = _fused.BatchMoments.apply(input, axes)
        if running_mean is not None and running_var is not None:
            _fused.UpdateRunningStats.apply(running_mean, running_var, moments, momentum, n)
            running_mean._version += 1
            running_var._version += 1
        return _fused.BatchNormTrain.apply(input, weight, bias, moments, axes, view, eps)
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are needed when not training")
    shape = [1] * input.ndim
    shape[1] = C
    # An op reads the buffers, so that a replayed program sees them as they are at each run.
    mean, invstd = RunningStatistics.apply(running_mean, running_var, input._array.dtype, eps,
                                           tuple(shape))
    return _fused.BatchNormEval.apply(input, weight, bias, mean, invstd, axes, view)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize each sample over its trailing ``normalized_shape`` dims, then scale and shift."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if tuple(input.shape[input.ndim - k:]) != shape or input.ndim < k:
        raise ValueError(f"layer_norm: input shape {tuple(input.shape)} does not end with "
                         f"normalized_shape {shape}")
    for pname, prm in (("weight", weight), ("bias", bias)):
        if prm is not None and tuple(prm.shape) != shape:
            raise ValueError(f"layer_norm: {pname} must have shape {shape}, got {tuple(prm.shape)}")
    axes = tuple(range(input.ndim - k, input.ndim))
    return _fused.LayerNorm.apply(input, weight, bias, axes, eps)


def _affine(y, weight, bias):
    view = (1, -1) + (1,) * (y.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(view)
    if bias is not None:
        y = y + bias.reshape(view)
    return y


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """y = (x - mean_g) / sqrt(var_g + eps) * weight + bias, statistics per sample and group."""
    if input.ndim < 2:
        raise ValueError(f"group_norm: expected an input with at least 2 dims (N, C, ...), got "
                         f"shape {tuple(input.shape)}")
    N, C = input.shape[:2]
    if num_groups <= 0 or C % num_groups:
        raise ValueError(f"group_norm: expected the number of channels {C} (input shape "
                         f"{tuple(input.shape)}) to be divisible by num_groups={num_groups}")
    for pname, prm in (("weight", weight), ("bias", bias)):
        if prm is not None and tuple(prm.shape) != (C,):
            raise ValueError(f"group_norm: {pname} must have shape ({C},), got {tuple(prm.shape)}")
    x = input.reshape(N, num_groups, -1)
    y = _fused.LayerNorm.apply(x, None, None, (2,), eps).reshape(*input.shape)
    return _affine(y, weight, bias)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalize each channel of each sample over its spatial positions, as ``torch``'s.

    With running statistics and ``use_input_stats``, they move by the mean over the batch of
    each sample's statistics (unbiased variance); without ``use_input_stats`` they are used.
    """
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected an input with spatial dims (N, C, ...), got "
                         f"shape {tuple(input.shape)}")
    N, C = input.shape[:2]
    spatial = tuple(range(2, input.ndim))
    n = input.numel() // (N * C)
    if use_input_stats:
        if n <= 1:
            raise ValueError(f"instance_norm: expected more than 1 spatial element when training, "
                             f"got input of shape {tuple(input.shape)}")
        if running_mean is not None and running_var is not None:
            tracing.reads_values("instance_norm", "updates the running statistics in place, "
                                                  "in Python (no step records it)")
            a = input._array
            mean = a.mean(axis=spatial)                       # (N, C)
            var = a.var(axis=spatial) * (n / (n - 1))
            rm, rv = running_mean._array, running_var._array
            rm *= 1 - momentum
            rm += momentum * mean.mean(axis=0).astype(rm.dtype, copy=False)
            rv *= 1 - momentum
            rv += momentum * var.mean(axis=0).astype(rv.dtype, copy=False)
            running_mean._version += 1
            running_var._version += 1
        y = _fused.LayerNorm.apply(input.reshape(N, C, -1), None, None, (2,), eps)
        return _affine(y.reshape(*input.shape), weight, bias)
    if running_mean is None or running_var is None:
        raise ValueError("instance_norm: running_mean and running_var are needed when "
                         "use_input_stats=False")
    view = (1, -1) + (1,) * len(spatial)
    mean = running_mean.detach().reshape(view)
    invstd = (running_var.detach().reshape(view) + eps).rsqrt()
    return _affine((input - mean) * invstd, weight, bias)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) * weight over the trailing ``normalized_shape`` dims
    (Zhang & Sennrich, 2019); ``eps=None`` is the machine epsilon of x's dtype, as torch.

        >>> F.rms_norm(cr.tensor([[3.0, 4.0, 0.0]]), (3,), eps=0.0)
        tensor([[1.0392, 1.3856, 0.0000]])
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise ValueError(f"rms_norm: input shape {tuple(input.shape)} does not end with "
                         f"normalized_shape {shape}")
    if weight is not None and tuple(weight.shape) != shape:
        raise ValueError(f"rms_norm: weight must have shape {shape}, got {tuple(weight.shape)}")
    if eps is None:
        eps = float(np.finfo(input._array.dtype).eps)
    axes = tuple(range(input.ndim - k, input.ndim))
    y = input * ((input * input).mean(axes, keepdim=True) + eps).rsqrt()
    return y if weight is None else y * weight
