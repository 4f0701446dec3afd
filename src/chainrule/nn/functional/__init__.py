"""``nn.functional``: the layers and losses as functions, with PyTorch's names and signatures.

    >>> import chainrule.nn.functional as F
    >>> logits = F.linear(x, W, b)
    >>> loss = F.cross_entropy(logits, y, label_smoothing=0.1)

Activations and ``linear`` / ``cross_entropy`` come from the core ops; ``batch_norm``,
``layer_norm``, ``embedding`` and the binary cross-entropies are fused nodes from
``chainrule.ops.fused``; the other losses are compositions of primitives.
"""

from __future__ import annotations

import math

import numpy as np

from ... import backend
from ... import ops as _el
from ...ops import fused as _fused
from ...ops.fused import cross_entropy, linear  # noqa: F401 - F.linear, F.cross_entropy
from ...ops.index import gather, one_hot  # noqa: F401 - F.one_hot, as PyTorch
from ...ops.random import DropoutMask as _DropoutMask
from ...ops.softmax import log_softmax as _log_softmax
from ...ops.softmax import softmax as _softmax
from ...tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _array(x):
    return x._array if isinstance(x, Tensor) else np.asarray(x)


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


# --- activations ---------------------------------------------------------------------------

def relu(input, inplace=False):
    """max(x, 0); ``inplace=True`` writes into ``input`` (recorded in the graph, as torch)."""
    return input.relu_() if inplace else _el.relu(input)


def relu6(input, inplace=False):
    return _el.clamp(input, 0.0, 6.0)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _el.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    return _el.elu(input, alpha)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalizing constants (Klambauer et al., 2017)."""
    return _el.elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1))."""
    return _el.elu(input / alpha, 1.0) * alpha


def prelu(input, weight):
    """x where x > 0, weight * x elsewhere; ``weight`` has 1 or C (= input dim 1) entries."""
    if weight.numel() not in (1, input.shape[1] if input.ndim > 1 else 1):
        raise ValueError(f"prelu: weight has {weight.numel()} entries; expected 1 or the "
                         f"{input.shape[1] if input.ndim > 1 else 1} channels of input shape "
                         f"{tuple(input.shape)}")
    if input.ndim > 1 and weight.numel() > 1:
        weight = weight.reshape((1, -1) + (1,) * (input.ndim - 2))
    elif weight.ndim:
        weight = weight.reshape(())
    return _el.where(_array(input) > 0, input, input * weight)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    return _el.clamp(input / 6 + 0.5, 0.0, 1.0)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6."""
    return input * hardsigmoid(input)


def gelu(input, approximate="none"):
    return _el.gelu(input, approximate)


def silu(input, inplace=False):
    return _el.silu(input)


def softplus(input, beta=1.0, threshold=20.0):
    return _el.softplus(input, beta, threshold)


def sigmoid(input):
    return _el.sigmoid(input)


def tanh(input):
    return _el.tanh(input)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    return _el.clamp(input, min_val, max_val)


def logsigmoid(input):
    """log sigmoid(x) = -softplus(-x), stable for any x."""
    return -_el.softplus(-input)


def softsign(input):
    return input / (_el.abs(input) + 1)


def mish(input):
    return input * _el.tanh(_el.softplus(input))


def _softmax_dim(name, input, dim):
    if dim is None:
        # PyTorch's legacy implicit choice, kept so that old code gives the same numbers.
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return dim


def softmax(input, dim=None, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    return _softmax(input, _softmax_dim("softmax", input, dim))


def log_softmax(input, dim=None, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    return _log_softmax(input, _softmax_dim("log_softmax", input, dim))


def softmin(input, dim=None, dtype=None):
    return softmax(-input, dim, dtype)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """x / max(||x||_p, eps) along ``dim``."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


# --- layers ---------------------------------------------------------------------------------

def bilinear(input1, input2, weight, bias=None):
    """y_k = x1^T W_k x2 + b_k with W (out, in1, in2)."""
    from ...ops.linalg import matmul  # noqa: PLC0415
    # (N, in1) @ (out, in1, in2) -> (out, N, in2); times x2 summed over in2 -> (out, N)
    y = (matmul(input1, weight) * input2).sum(-1)
    y = y.permute(*range(1, y.ndim), 0)
    return y if bias is None else y + bias


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) (training only).

    The mask is a constant of the graph: backward multiplies by the same mask.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * np.zeros((), dtype=input.dtype)
    return _el.mul(input, _DropoutMask.apply(input, p, generator))


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


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0):
    """Rows of ``weight`` (num_embeddings, dim) at the integer indices ``input``."""
    idx = _array(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}")
    num = weight.shape[0]
    if idx.size and (idx.min() < -num or idx.max() >= num):
        raise IndexError(f"embedding: index {int(idx.max() if idx.max() >= num else idx.min())} "
                         f"is out of range for {num} embeddings")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    idx = np.where(idx < 0, idx + num, idx)
    if max_norm is not None:
        _embedding_renorm(weight, idx, max_norm, norm_type)
    return _fused.Embedding.apply(weight, idx, padding_idx)


def _embedding_renorm(weight, idx, max_norm, norm_type):
    """Rescale, in place, the rows used by ``idx`` whose norm exceeds ``max_norm``."""
    rows = np.unique(idx)
    w = weight._array
    norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
        w[rows[big]] *= scale[:, None]
        weight._version += 1


# --- losses ---------------------------------------------------------------------------------

def mse_loss(input, target, reduction="mean"):
    """mean((input - target)^2)."""
    _check_same_shape("mse_loss", input, target)
    diff = input - target
    return _reduce("mse_loss", diff * diff, reduction)


def l1_loss(input, target, reduction="mean"):
    _check_same_shape("l1_loss", input, target)
    return _reduce("l1_loss", _el.abs(input - target), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), with d = input - target."""
    _check_same_shape("huber_loss", input, target)
    d = input - target
    ad = _el.abs(d)
    small = _array(ad) < delta
    losses = _el.where(small, 0.5 * d * d, delta * (ad - 0.5 * delta))
    return _reduce("huber_loss", losses, reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta."""
    _check_same_shape("smooth_l1_loss", input, target)
    d = input - target
    ad = _el.abs(d)
    if beta == 0:
        return _reduce("smooth_l1_loss", ad, reduction)
    small = _array(ad) < beta
    losses = _el.where(small, 0.5 * d * d / beta, ad - 0.5 * beta)
    return _reduce("smooth_l1_loss", losses, reduction)


def _const(x, dtype):
    """A weight-like argument as a constant array in ``dtype`` (or a Tensor kept in the graph)."""
    if x is None:
        return None
    if isinstance(x, Tensor) and x.requires_grad:
        return x
    return _array(x).astype(dtype, copy=False)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """BCE on logits in one stable node: -w [pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))].

    Stable for any logit (no log of 0, no overflow). ``pos_weight`` weighs the positive
    class, broadcast along the last dimension.
    """
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    dtype = input.dtype
    t = target if isinstance(target, Tensor) and target.requires_grad else _const(target, dtype)
    return _fused.BCEWithLogits.apply(input, t, _const(weight, dtype), _const(pos_weight, dtype),
                                      reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-w [y log p + (1 - y) log(1 - p)] on probabilities p; logs clamped at -100 as PyTorch."""
    _check_reduction("binary_cross_entropy", reduction)
    _check_same_shape("binary_cross_entropy", input, target)
    p = _array(input)
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1 "
                         f"(got min {p.min():.4g}, max {p.max():.4g})")
    dtype = input.dtype
    t = target if isinstance(target, Tensor) and target.requires_grad else _const(target, dtype)
    return _fused.BCE.apply(input, t, _const(weight, dtype), reduction)


def _class_rows(name, input, target, weight, ignore_index):
    """Flatten (N, C, d...) to (M, C) rows and hard labels to a constant selection matrix.

    Returns (rows, A, denom, out_shape): loss_i = -sum_c A_ic rows_ic; ``denom`` is the
    weighted count of kept targets ('mean' divides by it, as PyTorch).
    """
    x = input if input.ndim > 1 else input.reshape(1, -1)
    C = x.shape[1]
    spatial = tuple(x.shape[2:])
    if x.ndim > 2:
        x = x.permute(0, *range(2, x.ndim), 1).reshape(-1, C)
    t = _array(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must be class indices (integers), got dtype {t.dtype}")
    expected = (input.shape[0],) + spatial if input.ndim > 1 else ()
    if t.shape != expected:
        raise ValueError(f"{name}: target shape {t.shape} does not match input shape "
                         f"{tuple(input.shape)} (expected {expected})")
    t = t.reshape(-1)
    keep = t != ignore_index
    if keep.any() and (t[keep].min() < 0 or t[keep].max() >= C):
        bad = t[keep].max() if t[keep].max() >= C else t[keep].min()
        raise IndexError(f"{name}: target {bad} is out of range for {C} classes")
    safe_t = np.where(keep, t, 0)
    w = np.ones(C, dtype=x.dtype) if weight is None else _array(weight).astype(x.dtype)
    if w.shape != (C,):
        raise ValueError(f"{name}: weight must have shape ({C},), got {w.shape}")
    row_w = np.where(keep, w[safe_t], 0).astype(x.dtype)
    A = np.zeros((t.shape[0], C), dtype=x.dtype)
    A[np.arange(t.shape[0]), safe_t] = row_w
    out_shape = (input.shape[0],) + spatial if input.ndim > 1 else ()
    return x, A, float(row_w.sum()), out_shape, safe_t, row_w


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w[y] input[y] for log-probabilities ``input`` (N, C) or (N, C, d...), labels ``target``."""
    _check_reduction("nll_loss", reduction)
    x, A, denom, out_shape, _, _ = _class_rows("nll_loss", input, target, weight, ignore_index)
    losses = -(x * A).sum(1)
    if reduction == "none":
        return losses.reshape(out_shape)
    if reduction == "sum":
        return losses.sum()
    if denom == 0:  # every target ignored: nan, as PyTorch, without a 0/0 warning
        return losses.sum() * float("nan")
    return losses.sum() / denom


def soft_margin_loss(input, target, reduction="mean"):
    """log(1 + exp(-y x)) with y in {-1, +1}: the lectures' logistic loss -log sigmoid(y x)."""
    _check_same_shape("soft_margin_loss", input, target)
    y = _const(target, input.dtype) if not isinstance(target, Tensor) or not target.requires_grad \
        else target
    return _reduce("soft_margin_loss", _el.softplus(-(input * y)), reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """Multiclass hinge (SVM) loss: sum_{j != y} max(0, margin - x_y + x_j)^p / C.

    ``weight[y]`` scales each sample's terms, as in PyTorch.
    """
    _check_reduction("multi_margin_loss", reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 are supported, got {p}")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    N, C = x.shape
    t = _array(target).reshape(-1)
    if t.dtype.kind not in "iu" or t.shape != (N,):
        raise ValueError(f"multi_margin_loss: target must be {N} class indices, got "
                         f"{t.dtype} of shape {tuple(_array(target).shape)}")
    if N and (t.min() < 0 or t.max() >= C):
        raise IndexError(f"multi_margin_loss: target out of range for {C} classes")
    x_y = gather(x, 1, t.reshape(-1, 1))
    others = (np.arange(C) != t[:, None]).astype(x.dtype)
    hinge = _el.relu(margin - x_y + x)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        others = others * _array(weight).astype(x.dtype)[t][:, None]
    losses = (hinge * others).sum(1) / C
    if input.ndim == 1:
        losses = losses.reshape(())
    return _reduce("multi_margin_loss", losses, reduction)


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    """x where y = 1, max(0, margin - x) where y = -1."""
    _check_same_shape("hinge_embedding_loss", input, target)
    y = _array(target)
    clamp = _el.relu(margin - input)
    losses = _el.where(y != 1, clamp, 0.0) + _el.where(y != -1, input, 0.0)
    return _reduce("hinge_embedding_loss", losses, reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise: target (log target - input); 'batchmean' divides by N."""
    if reduction not in (*_REDUCTIONS, "batchmean"):
        raise ValueError(f"kl_div: reduction must be 'mean', 'sum', 'none' or 'batchmean', "
                         f"got {reduction!r}")
    if log_target:
        losses = _el.exp(target) * (target - input)
    elif isinstance(target, Tensor) and target.requires_grad:
        # t log t taken as 0 where t == 0 (xlogy), differentiable in t elsewhere
        safe = _el.where(target._array > 0, target, 1.0)
        losses = target * (safe.log() - input)
    else:
        t = _array(target)
        log_t = np.log(np.where(t > 0, t, 1))
        losses = (log_t - input) * t
    if reduction == "batchmean":
        return losses.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce("kl_div", losses, reduction)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    n1 = x1.norm(2, dim).clamp(min=eps)
    n2 = x2.norm(2, dim).clamp(min=eps)
    return (x1 * x2).sum(dim) / (n1 * n2)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    return (x1 - x2 + eps).norm(p, -1, keepdim)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    v = var.clamp(min=eps) if isinstance(var, Tensor) else np.maximum(_array(var), eps)
    logv = v.log() if isinstance(v, Tensor) else np.log(v)
    d = input - target
    losses = 0.5 * (logv + d * d / v)
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return _reduce("gaussian_nll_loss", losses, reduction)
