"""Losses as functions (``nn/loss.py``'s layers call them), with PyTorch's names, reductions
and errors. cross_entropy and the binary cross-entropies are fused nodes
(``ops/fused/``); the other losses are compositions of primitives.

    >>> F.mse_loss(cr.tensor([1.0, 3.0]), cr.tensor([1.0, 1.0]))
    tensor(2.)
    >>> F.cross_entropy(cr.zeros(1, 4), cr.tensor([3]))      # log 4
    tensor(1.3863)
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ... import ops as _ops
from ...ops import fused as _fused
from ...ops import targets as _targets
from ...ops.fused import cross_entropy  # one fused node (ops/fused/cross_entropy.py)
from ...backend import device_of, to_device
from ...ops.either import array_of
from ...ops.index import gather
from ...tensor import Tensor
from ...errors import InvalidArgument, InvalidType


__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
    "cosine_embedding_loss", "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss", "kl_div",
    "l1_loss", "margin_ranking_loss", "mse_loss", "multi_margin_loss", "nll_loss",
    "smooth_l1_loss", "soft_margin_loss", "triplet_margin_loss",
]


_REDUCTIONS = ("mean", "sum", "none")


def _on_device_of(array, x):
    """A constant (target, weight) on the device of tensor ``x``: host labels for a GPU batch
    are copied over once."""
    if type(x._array) is np.ndarray or type(array) is not np.ndarray:
        return array
    return to_device(array, device_of(x._array))


def _check_reduction(name, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(name, losses, reduction):
    _check_reduction(name, reduction)
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _check_same_shape(name, input, target):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{name}: target shape {tuple(target.shape)} must match input shape "
                         f"{tuple(input.shape)}")


def _warn_if_broadcast(input, target):
    """torch's warning where a regression loss's target is shaped differently from its
    input (a (N, 1) prediction against a (N,) target: the difference broadcasts to (N, N),
    a student's classic bug); the loss is then computed as torch computes it, broadcast."""
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}). This will likely lead to incorrect results due "
                      "to broadcasting. Please ensure they have the same size.", UserWarning,
                      stacklevel=3)


def mse_loss(input, target, reduction="mean"):
    """mean((input - target)^2)."""
    _warn_if_broadcast(input, target)
    diff = input - target
    return _reduce("mse_loss", diff * diff, reduction)


def l1_loss(input, target, reduction="mean"):
    _warn_if_broadcast(input, target)
    return _reduce("l1_loss", _ops.abs(input - target), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), with d = input - target."""
    _warn_if_broadcast(input, target)
    if not delta > 0:  # torch refuses it; a negative delta would give negative losses
        raise InvalidArgument(f"huber_loss: delta must be positive, got {delta}")
    d = input - target
    ad = _ops.abs(d)
    small = ad < delta   # an op: a replay compares the new differences
    losses = _ops.where(small, 0.5 * d * d, delta * (ad - 0.5 * delta))
    return _reduce("huber_loss", losses, reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta."""
    _warn_if_broadcast(input, target)
    if not beta >= 0:
        raise InvalidArgument(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    d = input - target
    ad = _ops.abs(d)
    if beta == 0:
        return _reduce("smooth_l1_loss", ad, reduction)
    small = ad < beta
    losses = _ops.where(small, 0.5 * d * d / beta, ad - 0.5 * beta)
    return _reduce("smooth_l1_loss", losses, reduction)


def _const(x, dtype):
    """A target- or weight-like argument in ``dtype``: a Tensor stays a Tensor (cast by an
    op where its dtype differs), so that a replayed program reads its new values; anything
    else becomes an array."""
    if x is None:
        return None
    if isinstance(x, Tensor):
        return x if x._array.dtype == dtype else _ops.cast(x, dtype)
    return array_of(x).astype(dtype, copy=False)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """BCE on logits in one stable node: -w [pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))].

    Stable for any logit (no log of 0, no overflow). ``pos_weight`` weighs the positive
    class, broadcast along the last dimension.
    """
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    dtype = input.dtype
    t = _const(target, dtype)
    return _fused.BCEWithLogits.apply(input, t, _const(weight, dtype), _const(pos_weight, dtype),
                                      reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-w [y log p + (1 - y) log(1 - p)] on probabilities p; logs clamped at -100 as PyTorch."""
    _check_reduction("binary_cross_entropy", reduction)
    _check_same_shape("binary_cross_entropy", input, target)
    p = array_of(input)
    if p.size and (p.min() < 0 or p.max() > 1):
        raise InvalidArgument("binary_cross_entropy: all elements of input should be between 0 "
                              f"and 1 (got min {p.min():.4g}, max {p.max():.4g})")
    dtype = input.dtype
    t = _const(target, dtype)
    return _fused.BCE.apply(input, t, _const(weight, dtype), reduction)


def _class_rows(name, input, target, weight, ignore_index):
    """Flatten (N, C, d...) to (M, C) rows; the labels become a selection matrix made by an op
    (``ops/targets.py``, so that a replay reads new labels).

    Returns (rows, A, denom, out_shape): loss_i = -sum_c A_ic rows_ic; ``denom`` (a 0-d
    Tensor) is the weighted count of kept targets ('mean' divides by it, as PyTorch).
    """
    x = input if input.ndim > 1 else input.reshape(1, -1)
    C = x.shape[1]
    spatial = tuple(x.shape[2:])
    if x.ndim > 2:
        x = x.permute(0, *range(2, x.ndim), 1).reshape(-1, C)
    t = array_of(target)   # dtype and shape only: the values are read by the op
    if t.dtype.kind not in "iu":
        raise InvalidType(f"{name}: target must be class indices (integers), got dtype "
                          f"{t.dtype}")
    expected = (input.shape[0],) + spatial if input.ndim > 1 else ()
    if t.shape != expected:
        raise ValueError(f"{name}: target shape {t.shape} does not match input shape "
                         f"{tuple(input.shape)} (expected {expected})")
    if weight is not None and tuple(array_of(weight).shape) != (C,):
        raise ValueError(f"{name}: weight must have shape ({C},), got "
                         f"{tuple(array_of(weight).shape)}")
    A, denom = _targets.NLLTargets.apply(x, target if isinstance(target, Tensor) else t,
                                         weight, ignore_index)
    out_shape = (input.shape[0],) + spatial if input.ndim > 1 else ()
    return x, A, denom, out_shape


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w[y] input[y] for log-probabilities ``input`` (N, C) or (N, C, d...), labels ``target``."""
    _check_reduction("nll_loss", reduction)
    x, A, denom, out_shape = _class_rows("nll_loss", input, target, weight, ignore_index)
    losses = -(x * A).sum(1)
    if reduction == "none":
        return losses.reshape(out_shape)
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / denom   # nan when every target is ignored, as PyTorch


def soft_margin_loss(input, target, reduction="mean"):
    """log(1 + exp(-y x)) with y in {-1, +1}: the lectures' logistic loss -log sigmoid(y x)."""
    _check_same_shape("soft_margin_loss", input, target)
    y = _const(target, input.dtype)
    return _reduce("soft_margin_loss", _ops.softplus(-(input * y)), reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """Multiclass hinge (SVM) loss: sum_{j != y} max(0, margin - x_y + x_j)^p / C.

    ``weight[y]`` scales each sample's terms, as in PyTorch.
    """
    _check_reduction("multi_margin_loss", reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 are supported, got {p}")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    N, C = x.shape
    t = _on_device_of(array_of(target), x).reshape(-1)
    if t.dtype.kind not in "iu" or t.shape != (N,):
        raise ValueError(f"multi_margin_loss: target must be {N} class indices, got "
                         f"{t.dtype} of shape {tuple(array_of(target).shape)}")
    if N and (t.min() < 0 or t.max() >= C):  # a check only: the ops below read the labels
        raise IndexError(f"multi_margin_loss: target out of range for {C} classes")
    if isinstance(target, Tensor):  # inputs of the ops, so that a replay reads new labels
        t = target.reshape(-1)
    x_y = gather(x, 1, t.reshape(-1, 1))
    others = _targets.OtherClasses.apply(x, t, weight)
    hinge = _ops.relu(margin - x_y + x)
    if p == 2:
        hinge = hinge * hinge
    losses = (hinge * others).sum(1) / C
    if input.ndim == 1:
        losses = losses.reshape(())
    return _reduce("multi_margin_loss", losses, reduction)


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    """x where y = 1, max(0, margin - x) where y = -1."""
    _check_same_shape("hinge_embedding_loss", input, target)
    y = target if isinstance(target, Tensor) else array_of(target)   # a Tensor: masks by ops
    clamp = _ops.relu(margin - input)
    losses = _ops.where(y != 1, clamp, 0.0) + _ops.where(y != -1, input, 0.0)
    return _reduce("hinge_embedding_loss", losses, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """max(0, -y (x1 - x2) + margin): y = 1 ranks x1 above x2, y = -1 below."""
    if input1.ndim != input2.ndim or (isinstance(target, Tensor) and target.ndim != input1.ndim):
        raise ValueError(f"margin_ranking_loss: input1, input2 and target must have the same "
                         f"number of dims, got shapes {tuple(input1.shape)}, {tuple(input2.shape)} "
                         f"and {tuple(getattr(target, 'shape', ()))}")
    losses = _ops.relu(-target * (input1 - input2) + margin)
    return _reduce("margin_ranking_loss", losses, reduction)


_COSINE_EPS = 1e-12  # torch's: inside the square root of each squared norm


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1, for rows (N, D)
    or one pair (D); the cosine as torch computes it here (x1.x2 / sqrt((|x1|^2 + 1e-12)
    (|x2|^2 + 1e-12)))."""
    if input1.shape != input2.shape or input1.ndim not in (1, 2):
        raise ValueError(f"cosine_embedding_loss: inputs must be two (N, D) or (D) tensors of "
                         f"one shape, got {tuple(input1.shape)} and {tuple(input2.shape)}")
    dim = input1.ndim - 1
    dot = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + _COSINE_EPS
    mag2 = (input2 * input2).sum(dim) + _COSINE_EPS
    cos = dot / (mag1 * mag2).sqrt()
    y = target if isinstance(target, Tensor) else array_of(target)
    losses = _ops.where(y == 1, 1 - cos, 0.0) + _ops.where(y == -1, _ops.relu(cos - margin), 0.0)
    return _reduce("cosine_embedding_loss", losses, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        reduction="mean"):
    """max(d(a, p) - d(a, n) + margin, 0) with d the p-norm distance (``pairwise_distance``);
    ``swap`` takes d(a, n) as min(d(a, n), d(p, n))."""
    from .distance import pairwise_distance  # noqa: PLC0415
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ValueError(f"triplet_margin_loss: anchor, positive and negative must have the "
                         f"same number of dims, got shapes {tuple(anchor.shape)}, "
                         f"{tuple(positive.shape)} and {tuple(negative.shape)}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _ops.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce("triplet_margin_loss", _ops.relu(d_pos - d_neg + margin), reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise: target (log target - input); 'batchmean' divides by N.

    Where target is 0 the loss is 0 and its gradient in the target is -input (t log t taken
    as 0, so only the -t input term is differentiated); torch gives nan there (log 0 + 0/0
    in its xlogy backward), which would poison a whole batch for a sparse target.
    """
    if reduction not in (*_REDUCTIONS, "batchmean"):
        raise ValueError(f"kl_div: reduction must be 'mean', 'sum', 'none' or 'batchmean', "
                         f"got {reduction!r}")
    if log_target:
        losses = _ops.exp(target) * (target - input)
    elif isinstance(target, Tensor) and target.requires_grad:
        # t log t taken as 0 where t == 0 (xlogy), differentiable in t elsewhere
        safe = _ops.where(target > 0, target, 1.0)
        losses = target * (safe.log() - input)
    elif isinstance(target, Tensor):  # by ops, so that a replay reads the new target
        log_t = _ops.where(target > 0, target, 1).log()
        losses = (log_t - input) * target
    else:
        t = array_of(target)
        log_t = np.log(np.where(t > 0, t, 1))
        losses = (log_t - input) * t
    if reduction == "batchmean":
        return losses.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce("kl_div", losses, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 (log v + (input - target)^2 / v) with v = max(var, eps).

    As torch: a negative ``var`` is refused, and the clamp to ``eps`` changes the value only:
    torch clamps under no_grad, so the gradient reaches ``var`` as if v were var itself
    (``var - var.detach() + clamped`` here: exactly the clamped value, identity gradient).
    """
    values = array_of(var)
    if (values < 0).any():  # a check only: the clamp below is an op
        raise ValueError(f"gaussian_nll_loss: var has negative entries (min {values.min()})")
    if isinstance(var, Tensor):
        clamped = var.detach().clamp(min=eps)
        v = var - var.detach() + clamped if var.requires_grad else clamped
    else:
        v = values.clip(eps, None).astype(values.dtype, copy=False)
    logv = v.log() if isinstance(v, Tensor) else np.log(v)
    d = input - target
    losses = 0.5 * (logv + d * d / v)
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return _reduce("gaussian_nll_loss", losses, reduction)
