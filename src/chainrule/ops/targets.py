"""Class targets made into constants of a loss, as ops: the selection matrix of ``nll_loss``
and the "other classes" mask of ``multi_margin_loss`` are computed in forward from the
target it is given (no gradient), so a traced training step replayed on a new batch uses
the new labels.

    >>> A, n = NLLTargets.apply(cr.zeros(2, 3), cr.tensor([2, 0]), None, -100)
    >>> A, n
    (tensor([[0., 0., 1.],
            [1., 0., 0.]]), tensor(2.))
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import device_of, get_array_module, to_device


def _on(array, x):
    """A host ``array`` (labels, weights) moved to the device of ``x``."""
    if type(x) is np.ndarray or type(array) is not np.ndarray:
        return array
    return to_device(array, device_of(x))


class NLLTargets(Op):
    """For rows ``x`` (M, C) and labels ``t`` (any shape with M elements): ``A`` (M, C), the
    class weight at each row's label (0 where ``ignore_index``), and their sum (nan when
    every label is ignored: 'mean' gives nan, as PyTorch)."""

    differentiable = False
    name = "nll_loss"

    def forward(self, x, t, weight, ignore_index):
        C = x.shape[1]
        t = _on(t, x).reshape(-1)
        keep = t != ignore_index
        if keep.any() and (t[keep].min() < 0 or t[keep].max() >= C):
            bad = t[keep].max() if t[keep].max() >= C else t[keep].min()
            raise IndexError(f"{self.name}: target {bad} is out of range for {C} classes")
        xp = get_array_module(x)
        safe_t = xp.where(keep, t, 0)
        w = xp.ones(C, dtype=x.dtype) if weight is None else _on(weight, x).astype(x.dtype)
        row_w = xp.where(keep, w[safe_t], 0).astype(x.dtype)
        A = xp.zeros((t.shape[0], C), dtype=x.dtype)
        A[xp.arange(t.shape[0]), safe_t] = row_w
        denom = row_w.sum()
        if denom == 0:  # every target ignored
            denom = xp.asarray(np.nan, dtype=x.dtype)
        return A, xp.asarray(denom, dtype=x.dtype)


class OtherClasses(Op):
    """(N, C) ones except at each row's label ``t`` (N,), times ``weight[t]`` when given:
    the terms that ``multi_margin_loss`` sums (no gradient)."""

    differentiable = False
    name = "multi_margin_loss"

    def forward(self, x, t, weight):
        t = _on(t, x)
        others = (get_array_module(t).arange(x.shape[1]) != t[:, None]).astype(x.dtype)
        if weight is not None:
            others = others * _on(weight, x).astype(x.dtype)[t][:, None]
        return others
