"""``cross_entropy``: log-softmax and the negative log-likelihood in one stable node whose
gradient is the familiar ``softmax(x) - onehot(y)``, for class indices and for class
probabilities. The target is checked by an op of its own (``CheckClassTarget``); the kernel
is chosen by the arguments, never by the target's values.

    >>> logits = cr.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], requires_grad=True)
    >>> loss = cr.ops.cross_entropy(logits, cr.tensor([0, 2]))
    >>> loss.backward()
    >>> logits.grad
    tensor([[-0.1065,  0.0533,  0.0533],
            [ 0.1667,  0.1667, -0.3333]])
"""

from __future__ import annotations

import math

import numpy as np

from ...autograd.function import Op
from ...autograd.grad_mode import state as _state
from ...backend import get_array_module
from ...tensor import Tensor, _make
from .. import either
from ..softmax import log_softmax_array, row_max, softmax
from ...errors import InvalidArgument
from ...promotion import NoKernelForDtype

_ndarray = np.ndarray


class SoftCrossEntropy(Op):
    """loss_i = -sum_c A_ic log_softmax(x)_ic over rows of x (M, C); A is a constant.

    Hard labels, class weights, ignored rows and label smoothing are all a choice of A;
    reduction 'sum' or 'mean' divides the summed loss by ``denom`` (1 for 'sum').
    d loss_i / d x_i = softmax(x_i) sum_c A_ic - A_i.
    """

    caches = ("p",)

    def forward(self, x, A, reduction, denom):
        logp = log_softmax_array(x, 1)
        self.p = np.exp(logp)
        # Classes with no weight in A contribute 0 even where logp is -inf (masked logits).
        losses = -(A * np.where(A == 0, 0, logp)).sum(axis=1)
        if reduction == "none":
            return losses
        if denom == 0:  # every target ignored: the mean of nothing is nan, as in PyTorch
            return get_array_module(x).asarray(np.nan, dtype=x.dtype)
        return get_array_module(x).asarray(losses.sum() / denom, dtype=x.dtype)

    def backward(self, g, x, A, reduction, denom):
        if either.is_graph(g):
            p = softmax(x, 1)
        else:
            p = getattr(self, "p", None)
            if p is None:
                p = np.exp(log_softmax_array(x, 1))
        local = p * A.sum(axis=1, keepdims=True) - A
        if reduction == "none":
            return local * g.reshape(-1, 1), None, None, None
        return local * (g / denom if denom else g * 0), None, None, None


class CheckClassTarget(Op):
    """Refuse class indices outside [0, C) (``ignore_index`` aside): a step of its own, so the
    loss kernel never branches on the target's values. It outputs nothing."""

    name = "cross_entropy"

    def forward(self, target, num_classes, ignore_index):
        if classes_in_range(target, num_classes):
            return None  # the common case, in one reduction
        keep = target != ignore_index
        bad = keep & ((target < 0) | (target >= num_classes))
        if bad.any():
            raise IndexError(f"target {target[bad][0]} is out of bounds for {num_classes} "
                             f"classes (ignore_index={ignore_index})")
        return None


class HardCrossEntropy(Op):
    """Class-index targets without weights or smoothing: -log_softmax(x)[i, t_i] per row,
    rows whose target is ``ignore_index`` giving 0 and left out of the mean.

    d loss / d x = (softmax(x) - onehot(t)) * keep * g / denom, denom = the kept rows
    ('mean'; nan when none is kept, as PyTorch) or 1 ('sum').
    """

    torch_name = "NllLossBackward0"

    name = "cross_entropy"
    caches = ("p", "kept")

    def forward(self, x, target, ignore_index, reduction):
        xp = np if type(x) is _ndarray else get_array_module(x)
        keep, t, denom, rows = self.kept = _kept_rows(target, ignore_index, reduction, xp)
        m = row_max(x, 1)
        # Every row's maximum finite (one dot product of them says so, as it is finite only
        # then; an overflow of it takes the careful path too): then s >= 1 below and nothing
        # can warn, so no errstate is needed (entering one costs as much as two ufunc calls).
        # Else stable_max's shift (by 0 for rows of -inf), with the warnings off.
        quiet = math.isfinite(xp.vdot(m, m))
        shifted = x - m if quiet else x - xp.where(xp.isfinite(m), m, 0)
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        if quiet:
            losses = np.log(s[:, 0]) - shifted[rows, t]
            e /= s
        else:
            with np.errstate(divide="ignore", invalid="ignore"):  # rows of -inf: nan, as torch
                losses = np.log(s[:, 0]) - shifted[rows, t]
                e /= s
        self.p = e  # softmax(x), handed to backward once
        if reduction == "none":  # not a product: an ignored row's may be inf
            return losses if keep is None else np.where(keep, losses, 0)
        total = losses.sum() if keep is None else losses.sum(where=keep)  # kept rows, one pass
        # Every target ignored: the mean of nothing is nan, as in PyTorch.
        return xp.asarray(total / denom if denom else np.nan, dtype=x.dtype)

    def backward(self, g, x, target, ignore_index, reduction):
        kept = self.__dict__.get("kept")
        if kept is None:  # dropped with the caches (a second backward): recompute
            target = either.value(target)   # indices: a constant of the graph
            kept = _kept_rows(target, ignore_index, reduction, get_array_module(target))
        keep, t, denom, rows = kept
        if reduction == "none":
            scale = g.reshape(-1, 1)
        else:
            scale = g / denom if denom else g * np.nan
        if either.is_graph(g):
            onehot = get_array_module(t).zeros(x.shape, dtype=x.dtype)
            onehot[rows, t] = 1
            local = softmax(x, 1) - onehot
            if keep is not None:
                local = local * keep[:, None]
            return local * scale, None, None, None
        # The cached softmax becomes the gradient in place; a second backward recomputes it.
        local = self.__dict__.pop("p", None)
        if local is None:
            local = np.exp(log_softmax_array(x, 1))
        local[rows, t] -= 1
        if keep is None:  # every row counts: one scale (or one per row, for 'none')
            local *= scale
        else:  # one weight per row (0 for an ignored row): N products, then one pass over (N, C)
            local *= keep[:, None] * scale if reduction == "none" else (keep * scale)[:, None]
        return local, None, None, None


def _kept_rows(target, ignore_index, reduction, xp):
    """(keep, t, denom, rows) for the rows of ``target``: ``keep`` masks the rows not
    ignored (None when every row is kept, the common case: no masking pass then), ``t`` reads
    class 0 on ignored rows (they count for nothing), ``denom`` divides a 'mean'.
    ``ignore_index`` None: the caller has checked that no row is ignored."""
    n = target.shape[0]
    keep = None if ignore_index is None else target != ignore_index
    n_kept = n if keep is None else int(np.count_nonzero(keep))
    if n_kept == n:
        keep = None
    denom = 1.0 if reduction == "sum" else float(n_kept)
    return keep, target if keep is None else target * keep, denom, xp.arange(n)


# Signed integer dtypes and their unsigned twins: viewed unsigned, a negative index is huge.
_UNSIGNED = {np.dtype(s): np.dtype(u) for s, u in
             (("int8", "uint8"), ("int16", "uint16"), ("int32", "uint32"), ("int64", "uint64"))}


def classes_in_range(target, num_classes):
    """True when every index of the integer array ``target`` is in [0, num_classes).

    One reduction, not two: viewed as unsigned, a negative index becomes larger than any
    class count, so the maximum alone says whether all are in range.
    """
    if not target.size:
        return True
    unsigned = _UNSIGNED.get(target.dtype)
    if unsigned is not None:
        return bool(target.view(unsigned).max() < num_classes)
    return bool(target.min() >= 0 and target.max() < num_classes)  # uint, non-native order


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy of logits ``input`` (N, C) or (N, C, d...) against class indices or
    class probabilities ``target``, as ``torch.nn.functional.cross_entropy``."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    logits = input._array  # raw facts: the Tensor properties build objects on each read
    if logits.ndim < 1:
        raise ValueError("cross_entropy: input must have a class dimension")
    if logits.dtype.kind != "f":  # torch refuses; an int "loss" would be silently wrong
        raise NoKernelForDtype(f"cross_entropy: input (logits) must be floating point, got dtype "
                               f"{input.dtype}")
    x = input if logits.ndim > 1 else input.reshape(1, -1)
    C = x._array.shape[1]
    t = either.array_of(target)
    spatial = x._array.shape[2:]
    if x._array.ndim > 2:  # (N, C, d...) -> (N*d..., C)
        x = x.permute(0, *range(2, x._array.ndim), 1).reshape(-1, C)
    dtype = x._array.dtype
    w = None
    if weight is not None:
        w = (either.array_of(weight)).astype(dtype)
        if w.shape != (C,):
            raise ValueError(f"cross_entropy: weight must have shape ({C},), got {w.shape}")
    if t.dtype.kind == "f":  # class probabilities
        if t.shape != tuple(input.shape):  # as torch: one probability per logit
            raise InvalidArgument(f"cross_entropy: probability target shape {t.shape} must "
                                  f"match input shape {tuple(input.shape)}")
        t_rows = (t if input.ndim > 1 else t.reshape(1, -1))
        if t_rows.ndim > 2:
            t_rows = np.moveaxis(t_rows, 1, -1)
        t_rows = t_rows.reshape(-1, C).astype(dtype)
        if t_rows.shape[0] != x.shape[0]:
            raise ValueError(f"cross_entropy: target shape {t.shape} does not match input shape "
                             f"{tuple(input.shape)}")
        A = t_rows * (1 - label_smoothing) + label_smoothing / C
        if w is not None:
            A = A * w
        denom = x.shape[0]
    else:
        if t.dtype.kind not in "iu":
            raise TypeError(f"cross_entropy: target must be class indices (integers) or "
                            f"probabilities (floats), got dtype {t.dtype}")
        expected = (logits.shape[0],) + spatial if logits.ndim > 1 else ()
        if t.shape != expected:
            raise ValueError(f"cross_entropy: target shape {t.shape} does not match input shape "
                             f"{tuple(input.shape)} (expected {expected})")
        flat = target if isinstance(target, Tensor) else _make(t)
        if t.ndim != 1:
            flat = flat.reshape(-1)
            t = t.reshape(-1)
        # The check is an op of its own (a trace shows it); run eagerly, the common case of
        # indices all in range needs no node, so it is tested first, in one reduction.
        in_range = _state.tracer is None and classes_in_range(t, C)
        if not in_range:
            CheckClassTarget.apply(flat, C, ignore_index)
        # Untraced (no replay on other targets) with every index in [0, C), no row can be
        # ignored unless ignore_index is a class: None tells the kernel so (no mask).
        ignored = None if in_range and not 0 <= ignore_index < C else ignore_index
        if weight is None and not label_smoothing:  # the kernel is chosen by the arguments only
            out = HardCrossEntropy.apply(x, flat, ignored, reduction)
            return out if reduction != "none" else _restore_shape(out, input, spatial, reduction)
        keep = t != ignore_index
        safe_t = np.where(keep, t, 0)
        xp = get_array_module(t)
        A = xp.zeros((t.shape[0], C), dtype=dtype)
        A[xp.arange(t.shape[0]), safe_t] = 1 - label_smoothing
        if label_smoothing:
            A += label_smoothing / C
        if w is not None:
            A *= w
        A[~keep] = 0
        if w is not None:
            denom = float(w[safe_t][keep].sum())
        else:
            denom = float(keep.sum())
    if reduction == "sum":
        denom = 1.0
    out = SoftCrossEntropy.apply(x, A, reduction, denom)
    return _restore_shape(out, input, spatial, reduction)


def _restore_shape(out, input, spatial, reduction):
    """Per-element losses ('none') take the input's batch and spatial shape back."""
    if reduction == "none":
        if input.ndim == 1:
            return out.reshape(())
        if spatial:
            return out.reshape((input.shape[0],) + tuple(spatial))
    return out
