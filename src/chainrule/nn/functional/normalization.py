"""Group and instance normalization, composed from the fused LayerNorm node.

GroupNorm normalizes each sample over groups of channels (and all spatial positions);
InstanceNorm is GroupNorm with one channel per group, plus optional running statistics.

    >>> import chainrule.nn.functional as F
    >>> F.group_norm(cr.randn(4, 6, 8, 8), 3).shape
    chainrule.Size([4, 6, 8, 8])
"""

from __future__ import annotations

from ...ops import nn_extra as _fused


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
