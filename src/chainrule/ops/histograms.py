"""Histograms: ``histc`` (equal bins over [min, max]) and ``histogram`` (counts and edges).

Counting is not differentiable: the results never require grad, as in PyTorch.

    >>> cr.histc(cr.tensor([0.0, 1.0, 2.0, 2.0, 5.0]), bins=4)
    tensor([2., 2., 0., 1.])
"""

from __future__ import annotations


from .. import backend, return_types
from ..autograd import tracing
from ..autograd.function import Op
from ..promotion import check_float_input
from ..tensor import Tensor, _make

HistogramResult = return_types.histogram


def _float_data(name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    check_float_input(name, x._array.dtype, "floating-point tensors, as PyTorch counts")
    return x._array.reshape(-1)


def _range(name, data, lo, hi, grow):
    """[lo, hi] as given, else the data's min and max; an empty range grows by ``grow`` each
    way (PyTorch: 1 for histc, 0.5 for histogram)."""
    lo, hi = float(lo), float(hi)
    if lo > hi:
        raise RuntimeError(f"{name}: max ({hi}) must be larger than or equal to min ({lo})")
    if lo == hi and data.size:
        lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        lo, hi = lo - grow, hi + grow
    if not (abs(lo) < float("inf") and abs(hi) < float("inf")):
        raise RuntimeError(f"{name}: range of [{lo}, {hi}] is not finite")
    return lo, hi


def _count(data, lo, hi, bins, weight):
    """Counts of ``data`` in ``bins`` equal bins of [lo, hi] (the last bin includes hi).

    The bin is (x - lo) * bins / (hi - lo) rounded down, computed in the data's dtype.
    """
    xp = backend.get_array_module(data)
    inside = (data >= lo) & (data <= hi)
    values = data[inside]
    scale = xp.asarray(bins / (hi - lo), dtype=data.dtype)
    index = ((values - xp.asarray(lo, dtype=data.dtype)) * scale).astype(xp.int64)
    index = xp.minimum(index, bins - 1)
    w = None if weight is None else weight[inside]
    return xp.bincount(index, weights=w, minlength=bins).astype(data.dtype)


def _linspace(xp, start, end, steps, dtype):
    """PyTorch's CPU linspace: start + i step for the first half, end - (steps - 1 - i) step
    for the rest, each a fused multiply-add (one rounding), emulated in a wider float."""
    wide = xp.float64 if dtype.itemsize <= 4 else getattr(xp, "longdouble", xp.float64)
    start, end = xp.asarray(start, dtype), xp.asarray(end, dtype)
    step = ((end - start) / xp.asarray(steps - 1, dtype)).astype(wide)
    i = xp.arange(steps)
    from_start = start.astype(wide) + step * i
    from_end = end.astype(wide) - step * (steps - 1 - i)
    return xp.where(i < steps // 2, from_start, from_end).astype(dtype)


def histc(input, bins=100, min=0, max=0):  # noqa: A001,A002 - PyTorch's names
    """Counts of ``input``'s elements in ``bins`` equal bins of [min, max].

    With ``min == max`` (the default) the range is that of the data. Elements outside the
    range are not counted.
    """
    data = _float_data("histc", input)
    bins = int(bins)
    if bins <= 0:
        raise RuntimeError(f"histc: bins must be > 0, got {bins}")
    return Histc.apply(input, bins, min, max)   # an op: a replayed program counts anew


class Histc(Op):
    """``histc``'s counts as an op (no gradient), so that a replayed program counts anew."""

    differentiable = False
    name = "histc"

    def forward(self, x, bins, min, max):  # noqa: A002 - PyTorch's names
        data = x.reshape(-1)
        lo, hi = _range("histc", data, min, max, 1.0)
        return _count(data, lo, hi, bins, None)


def histogram(input, bins=100, *, range=None, weight=None, density=False):  # noqa: A002
    """``(hist, bin_edges)``: counts of ``input`` in ``bins`` equal bins (an int) or between
    the given increasing edges (a 1-D tensor); ``weight`` weighs each element, ``density``
    divides by the total and the bin widths so that the histogram integrates to 1.

        >>> cr.histogram(cr.tensor([0.0, 1.0, 4.0]), cr.tensor([0.0, 2.0, 4.0]))
        chainrule.return_types.histogram(
        hist=tensor([2., 1.]),
        bin_edges=tensor([0., 2., 4.]))
    """
    tracing.reads_values("histogram", "computes the counts and edges from the tensor's "
                                      "values in Python")
    data = _float_data("histogram", input)
    xp = backend.get_array_module(data)
    w = None
    if weight is not None:
        w = weight._array if isinstance(weight, Tensor) else xp.asarray(weight)
        if tuple(w.shape) != tuple(input.shape):
            raise RuntimeError(f"histogram: weight of shape {tuple(w.shape)} must have the "
                               f"input's shape {tuple(input.shape)}")
        w = w.reshape(-1).astype(data.dtype)
    if isinstance(bins, Tensor):
        edges = bins._array.astype(data.dtype)
        if edges.ndim != 1 or edges.size < 1:
            raise RuntimeError(f"histogram: bins must be a 1-D tensor of edges, got shape "
                               f"{tuple(edges.shape)}")
        if edges.size > 1 and bool((edges[1:] < edges[:-1]).any()):
            raise RuntimeError("histogram: bin edges must be increasing")
        # The right edge of every bin is open except the last one's, as in PyTorch.
        hist = xp.histogram(data, edges, weights=w)[0].astype(data.dtype)
    else:
        n = int(bins)
        if n <= 0:
            raise RuntimeError(f"histogram: bins must be > 0, got {n}")
        lo, hi = _range("histogram", data, *(range if range is not None else (0, 0)), 0.5)
        edges = _linspace(xp, lo, hi, n + 1, data.dtype)
        hist = xp.histogram(data, edges, weights=w)[0].astype(data.dtype)
    if density:
        widths = edges[1:] - edges[:-1]
        with xp.errstate(invalid="ignore", divide="ignore"):  # nothing counted: NaN, as torch
            hist = hist / (hist.sum() * widths)
    return HistogramResult(_make(hist), _make(edges))


def bincount(x, weights=None, minlength=0):
    """How often each value 0, 1, ... occurs in the 1-D non-negative integer tensor ``x``
    (or the sum of ``weights`` at each), at least ``minlength`` bins, as torch's."""
    tracing.reads_values("bincount", "its output's length depends on the tensor's values")
    data = x._array if isinstance(x, Tensor) else x
    if data.ndim != 1 or data.dtype.kind not in "iu":
        raise ValueError(f"bincount: expects a 1-D tensor of integers, got shape "
                         f"{tuple(data.shape)} and dtype {data.dtype}")
    if data.size and data.min() < 0:
        raise ValueError(f"bincount: values must be non-negative, got {int(data.min())}")
    xp = backend.get_array_module(data)
    if weights is None:
        return _make(xp.bincount(data, minlength=minlength).astype(xp.int64))
    w = weights._array if isinstance(weights, Tensor) else xp.asarray(weights)
    if w.shape != data.shape:
        raise ValueError(f"bincount: weights shape {tuple(w.shape)} must match the input's "
                         f"{tuple(data.shape)}")
    # torch: float weights keep their dtype (double for float64), others count in double
    out_dtype = w.dtype if w.dtype.kind == "f" else xp.float64
    return _make(xp.bincount(data, weights=w, minlength=minlength).astype(out_dtype))
