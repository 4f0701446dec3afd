"""Normalizations as functions (``nn/normalization.py``'s layers call them): batch_norm,
layer_norm (fused nodes of ``ops/fused/normalization.py``) and normalize (L_p, composed).

    >>> x = cr.tensor([[1.0, 2.0], [3.0, 6.0]])
    >>> F.layer_norm(x, (2,))
    tensor([[-1.0000,  1.0000],
            [-1.0000,  1.0000]])
    >>> F.normalize(cr.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
"""

from __future__ import annotations

import numpy as np

from ...ops import fused as _fused


__all__ = [
    "batch_norm", "layer_norm", "normalize",
]


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """x / max(||x||_p, eps) along ``dim``."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def _bn_layout(name, input, n_features):
    if input.ndim not in (2, 3):
        raise ValueError(f"{name}: expected 2-D (N, C) or 3-D (N, C, L) input, "
                         f"got shape {tuple(input.shape)}")
    if n_features is not None and input.shape[1] != n_features:
        raise ValueError(f"{name}: expected {n_features} channels in dim 1, "
                         f"got input of shape {tuple(input.shape)}")
    axes = (0,) if input.ndim == 2 else (0, 2)
    view = (1, -1) if input.ndim == 2 else (1, -1, 1)
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
    dtype = input.dtype
    mean = running_mean._array.astype(dtype, copy=False).reshape(shape)
    var = running_var._array.astype(dtype, copy=False)
    invstd = (1 / np.sqrt(var + dtype.type(eps))).reshape(shape)
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
