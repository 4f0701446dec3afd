"""Reductions: sum, mean, var, std, prod, max, min, norm, all, any, ...

softmax, log_softmax and logsumexp are in ``softmax.py``.

``dim`` is an int, a tuple of ints or ``None`` (all dims); ``keepdim`` keeps reduced dims as
size 1. Gradients flow back by broadcasting the upstream gradient over the reduced dims.

    >>> x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> x.mean(dim=1).sum().backward()           # each row's mean spreads 1/2 to each entry
    >>> x.grad
    tensor([[0.5000, 0.5000],
            [0.5000, 0.5000]])
"""

from __future__ import annotations

import math

import numpy as np

from .. import return_types
from ..aliases import torch_aliases
from ..autograd.function import Op
from ..backend import get_array_module
from ..tensor import Tensor, _make
from . import either
from .unary import _sign


def normalize_dims(name, dim, ndim):
    """``dim`` as a sorted tuple of non-negative axes (``None`` means all), checked."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        n = ndim if ndim else 1
        if not -n <= d < n:
            raise IndexError(
                f"{name}: dim {d} is out of range for a tensor of {ndim} dimensions "
                f"(expected -{n} to {n - 1})")
        out.append(d % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: dim {dim} repeats a dimension")
    if not ndim:  # a 0-d tensor accepts dim 0 or -1, as in PyTorch, and has no axis to reduce
        return ()
    return tuple(sorted(out))


def normalize_dim(name, dim, ndim):
    """One ``dim`` as a non-negative axis (0 for a 0-d tensor, after checking it is 0 or -1)."""
    d = int(dim)
    n = ndim or 1
    if -n <= d < n:  # the common case, without normalize_dims's tuple, set and sort
        return d % n if ndim else 0
    return normalize_dims(name, d, ndim)  # raises, naming the op and the range


def _on(like, value, dtype=None):
    """``value`` (a result, maybe a NumPy scalar) as an array on ``like``'s device."""
    return get_array_module(like).asarray(value, dtype=dtype)


def _expand_back(g, shape, axes, keepdims):
    """Broadcast a reduced gradient back over ``axes`` to ``shape``."""
    if not keepdims and axes:
        kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
        g = g.reshape(kept)
    if either.is_graph(g):
        return g.broadcast_to(shape)
    # A fresh, writable array (not a read-only view): its consumer may own it as a .grad.
    out = get_array_module(g).empty(shape, dtype=g.dtype)
    out[...] = g
    return out


class Sum(Op):
    arg_names = ("input", "dim", "keepdim")  # torch's names, for traces
    @property
    def torch_name(self):  # over every dim, or over some
        x, axes = self.args[0], self.args[1]
        return "SumBackward0" if len(axes) == x.ndim else "SumBackward1"

    def forward(self, x, axes, keepdims):
        return x.sum(axis=axes, keepdims=keepdims)

    def backward(self, g, x, axes, keepdims):
        return _expand_back(g, x.shape, axes, keepdims), None, None


class SumToSize(Op):
    """Sum a broadcast gradient back to ``shape``; its backward broadcasts again."""

    torch_name = "SumBackward1"

    def forward(self, x, shape):
        from ..autograd.graph import sum_to_shape  # noqa: PLC0415 - one place for unbroadcasting
        return sum_to_shape(x, shape)

    def backward(self, g, x, shape):
        return either.broadcast_to(g, x.shape), None


class Mean(Op):
    arg_names = ("input", "dim", "keepdim")  # torch's names, for traces
    @property
    def torch_name(self):  # over every dim, or over some
        x, axes = self.args[0], self.args[1]
        return "MeanBackward0" if len(axes) == x.ndim else "MeanBackward1"

    def forward(self, x, axes, keepdims):
        return x.mean(axis=axes, keepdims=keepdims)

    def backward(self, g, x, axes, keepdims):
        n = 1
        for a in axes:
            n *= x.shape[a]
        return _expand_back(g / n, x.shape, axes, keepdims), None, None


class Prod(Op):
    arg_names = ("input", "dim", "keepdim")  # torch's names, for traces
    @property
    def torch_name(self):  # over every dim, or over some
        x, axes = self.args[0], self.args[1]
        return "ProdBackward0" if len(axes) == x.ndim else "ProdBackward1"

    def forward(self, x, axes, keepdims):
        return x.prod(axis=axes, keepdims=keepdims)

    def backward(self, g, x, axes, keepdims):
        gk = _expand_back(g, x.shape, axes, keepdims)
        if not axes:
            return gk, None, None
        if either.is_graph(g):
            return gk * _prod_of_others(x, axes), None, None
        # Product of all the others, safe when some x are zero: exclusive products both ways.
        moved = np.moveaxis(x, axes, range(x.ndim - len(axes), x.ndim))
        flat = moved.reshape(moved.shape[:moved.ndim - len(axes)] + (-1,))
        ones = get_array_module(x).ones(flat.shape[:-1] + (1,), dtype=x.dtype)
        left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = np.moveaxis((left * right).reshape(moved.shape),
                             range(x.ndim - len(axes), x.ndim), axes)
        return gk * others, None, None


def _prod_of_others(x, axes):
    """For each element of Tensor ``x``, the product of the others along ``axes``, as a graph.

    Each element is replaced by 1 in its own copy of the reduced slice ((..., n, n) with ones
    on the diagonal) and that copy is multiplied out: exact with zeros, unlike prod / x.
    """
    rest = tuple(i for i in range(x.ndim) if i not in axes)
    order = rest + tuple(axes)
    moved = x.permute(order)
    lead = moved.shape[:len(rest)]
    n = 1
    for a in axes:
        n *= x.shape[a]
    rows = moved.reshape(lead + (1, n)).expand(lead + (n, n))
    diagonal = get_array_module(x._array).eye(n, dtype=bool)
    others = rows.masked_fill(diagonal, 1.0).prod(-1)   # lead + (n,)
    return others.reshape(moved.shape).permute(tuple(np.argsort(order)))


class Amax(Op):
    """Max over ``axes``; ties share the gradient evenly, as in PyTorch's amax."""

    def extreme(self, x, axes, keepdims):
        return x.max(axis=axes, keepdims=keepdims)

    arg_names = ("input", "dim", "keepdim")  # torch's names, for traces

    def forward(self, x, axes, keepdims):
        return self.extreme(x, axes, keepdims)

    def backward(self, g, x, axes, keepdims):
        xv = either.value(x)
        mask = self.winners(xv, self.extreme(xv, axes, True))
        with np.errstate(invalid="ignore"):  # amax of a row with nan: 0/0, nan as torch
            share = mask / mask.sum(axis=axes, keepdims=True)
        return _expand_back(g, x.shape, axes, keepdims) * share.astype(xv.dtype), None, None

    @staticmethod
    def winners(xv, extreme):
        return xv == extreme


class Amin(Amax):
    """Min over ``axes``; ties share the gradient evenly."""

    def extreme(self, x, axes, keepdims):
        return x.min(axis=axes, keepdims=keepdims)


class MaxAll(Amax):
    """``max(x)`` of every element: as amax, but where the max is nan the nan elements share
    the gradient (torch's evenly_distribute_backward), where amax gives nan everywhere."""

    torch_name = "MaxBackward1"

    @staticmethod
    def winners(xv, extreme):
        return (xv == extreme) | (np.isnan(xv) & np.isnan(extreme))


class MinAll(MaxAll):
    torch_name = "MinBackward1"

    def extreme(self, x, axes, keepdims):
        return x.min(axis=axes, keepdims=keepdims)


class Norm(Op):
    """The p-norm over ``axes``; the gradient at 0 is 0 (a subgradient), as in PyTorch."""

    arg_names = ("input", "p", "dim", "keepdim")  # torch's names, for traces
    torch_name = "LinalgVectorNormBackward0"

    def forward(self, x, p, axes, keepdims):
        a = np.abs(x)
        if p == 2:
            y = np.sqrt((x * x).sum(axis=axes, keepdims=keepdims))
        elif p == 1:
            y = a.sum(axis=axes, keepdims=keepdims)
        elif p == float("inf"):
            y = a.max(axis=axes, keepdims=keepdims)
        else:
            y = (a ** p).sum(axis=axes, keepdims=keepdims) ** (1.0 / p)
        return y

    def backward(self, g, x, p, axes, keepdims):
        xv = either.value(x)
        gk = _expand_back(g, x.shape, axes, keepdims)
        if p == 1:
            return gk * _sign(either.value(x)), None, None, None
        y = self.forward(xv, p, axes, True)
        if p == float("inf"):
            a = np.abs(xv)
            mask = a == y
            share = (mask / mask.sum(axis=axes, keepdims=True) * np.sign(xv)).astype(xv.dtype)
            return gk * share, None, None, None
        if either.is_graph(g):
            y = norm(x, p, axes, True)
        zero = either.value(y) == 0
        safe_y = either.where(zero, 1, y)
        if p == 2:
            local = x / safe_y
        else:
            a = x.abs() if either.is_graph(x) else np.abs(x)  # |x| is differentiated in graph mode
            local = x * a ** (p - 2) / safe_y ** (p - 1)
        return gk * either.where(zero, 0, local), None, None, None


# --- public functions ----------------------------------------------------------------------

def _dims(name, x, dim):
    ndim = x.ndim if isinstance(x, Tensor) else np.ndim(x)
    return normalize_dims(name, dim, ndim)


@torch_aliases
def sum(x, dim=None, keepdim=False, dtype=None):  # noqa: A001 - PyTorch's name
    if dtype is not None:
        x = x.to(dtype)
    elif isinstance(x, Tensor) and x.dtype.kind in "bui":
        x = x.to(np.int64)
    return Sum.apply(x, _dims("sum", x, dim), keepdim)


def sum_to_size(x, *shape):
    shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
    if tuple(x.shape) == shape:
        return x
    return SumToSize.apply(x, shape)


@torch_aliases
def mean(x, dim=None, keepdim=False):
    if isinstance(x, Tensor) and x.dtype.kind != "f":
        raise TypeError(f"mean: expected a floating-point tensor, got dtype {x.dtype}")
    return Mean.apply(x, _dims("mean", x, dim), keepdim)


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


@torch_aliases
def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """Variance with ``correction`` (Bessel's, 1, by default), built from primitives."""
    axes = _dims("var", x, dim)
    n = 1
    for a in axes:
        n *= x.shape[a]
    c = _correction(unbiased, correction)
    return Var.apply(x, axes, keepdim, n - c if n > c else 0)


class Var(Op):
    """sum((x - mean)^2) / divisor over ``axes``; dx = 2 g (x - mean) / divisor, torch's rule.

    The path through the mean is left out of the first derivative (it sums to zero in exact
    arithmetic): with an inf in a row it would make every gradient of the row nan, where
    torch gives nan at the inf and +-inf elsewhere. A divisor of 0 (one element, Bessel's
    correction) gives nan, as torch.
    """

    torch_name = "VarBackward0"

    def forward(self, x, axes, keepdims, divisor):
        centered = x - x.mean(axis=axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (centered * centered).sum(axis=axes, keepdims=keepdims) / divisor

    def backward(self, g, x, axes, keepdims, divisor):
        if either.is_graph(g):
            mean = Mean.apply(x, axes, True)
        else:
            mean = x.mean(axis=axes, keepdims=True)
        scale = 2.0 / divisor if divisor else math.inf
        with np.errstate(invalid="ignore"):  # inf * 0 where the divisor is 0: nan, as torch
            gx = _expand_back(g, x.shape, axes, keepdims) * (x - mean) * scale
        return gx, None, None, None


class Std(Op):
    """sqrt of a variance, with torch's gradient at a zero spread: 0, not g / 0 = inf (which
    times the zero deviations gave NaN), so a constant input has zero gradient."""

    torch_name = "StdBackward0"
    saves_output = True
    caches = ("y",)

    def forward(self, v):
        self.y = np.sqrt(v)
        return self.y

    def backward(self, g, v):
        y = self.saved_output(g)
        zero = either.value(y) == 0
        if not np.any(zero):
            return g / (2 * y)
        return either.where(zero, 0, g / (2 * either.where(zero, 1, y)))


@torch_aliases
def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    _dims("std", x, dim)  # so that a bad dim is reported as std's
    return Std.apply(var(x, dim, unbiased, keepdim, correction))


@torch_aliases
def prod(x, dim=None, keepdim=False):
    return Prod.apply(x, _dims("prod", x, dim), keepdim)


@torch_aliases
def amax(x, dim=None, keepdim=False):
    return Amax.apply(x, _dims("amax", x, dim), keepdim)


@torch_aliases
def amin(x, dim=None, keepdim=False):
    return Amin.apply(x, _dims("amin", x, dim), keepdim)


MaxResult, MinResult = return_types.max, return_types.min


def _extreme(name, x, dim, keepdim, arg):
    if dim is None:
        return (MaxAll if name == "max" else MinAll).apply(x, _dims(name, x, None), False)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an int when indices are returned, got {dim!r}")
    normalize_dim(name, dim, x.ndim)  # a bad dim is reported as max's / min's
    if x.ndim == 0:  # the element itself, at index 0
        from .unary import clone  # noqa: PLC0415
        return (MaxResult if name == "max" else MinResult)(
            clone(x), _make(get_array_module(x._array).zeros((), dtype=np.int64)))
    indices = arg(x, dim, keepdim=True)
    from .index import gather  # noqa: PLC0415 - values are gathered at the indices
    values = gather(x, dim, indices)
    if not keepdim:
        values, indices = values.squeeze(dim), indices.squeeze(dim)
    return (MaxResult if name == "max" else MinResult)(values, indices)


@torch_aliases
def max(x, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """``max(x)`` is the largest element; ``max(x, dim)`` gives ``(values, indices)``."""
    if isinstance(dim, Tensor):
        from .unary import maximum  # noqa: PLC0415
        return maximum(x, dim)
    return _extreme("max", x, dim, keepdim, argmax)


@torch_aliases
def min(x, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    if isinstance(dim, Tensor):
        from .unary import minimum  # noqa: PLC0415
        return minimum(x, dim)
    return _extreme("min", x, dim, keepdim, argmin)


class ArgMax(Op):
    """The (first) index of the largest element, along ``dim`` or of the flattened input: an
    op (no gradient), so that a replayed program finds the new maxima."""

    differentiable = False
    name = "argmax"  # also the array method that finds it

    def forward(self, x, dim, keepdim):
        find = getattr(x, self.name)
        return _on(x, find() if dim is None else find(axis=dim, keepdims=keepdim), np.int64)


class ArgMin(ArgMax):
    """The (first) index of the smallest element (see ``ArgMax``)."""

    name = "argmin"


def _arg(op, x, dim, keepdim):
    data = either.array_of(x)
    d = None if dim is None else normalize_dim(op.name, dim, data.ndim)
    if isinstance(x, Tensor):
        return op.apply(x, d, keepdim)
    return _make(object.__new__(op).forward(data, d, keepdim))


@torch_aliases
def argmax(x, dim=None, keepdim=False):
    return _arg(ArgMax, x, dim, keepdim)


@torch_aliases
def argmin(x, dim=None, keepdim=False):
    return _arg(ArgMin, x, dim, keepdim)


def norm(x, p=2, dim=None, keepdim=False):
    """The vector p-norm (p = 1, 2, inf or any positive number; 'fro' is 2)."""
    if p == "fro":
        p = 2
    if not isinstance(p, (int, float)) or p <= 0:
        raise ValueError(f"norm: p must be a positive number, 'fro' or inf, got {p!r}")
    return Norm.apply(x, p, _dims("norm", x, dim), keepdim)


def dist(input, other, p=2):  # noqa: A002 - PyTorch's argument names
    """The p-norm of ``input - other`` (broadcast), as ``torch.dist``.

        >>> cr.dist(cr.tensor([0.0, 3.0]), cr.tensor([4.0, 0.0]))
        tensor(5.)
    """
    return norm(input - other, p)


class All(Op):
    """Whether every element (along ``axis``) is true: an op without gradient."""

    differentiable = False
    name = "all"

    def forward(self, x, axis, keepdim):
        return _on(x, x.all(axis=axis, keepdims=keepdim))


class Any(Op):
    """Whether some element (along ``axis``) is true: an op without gradient."""

    differentiable = False
    name = "any"

    def forward(self, x, axis, keepdim):
        return _on(x, x.any(axis=axis, keepdims=keepdim))


def _logical_reduce(op, x, dim, keepdim):
    data = either.array_of(x)
    axis = None if dim is None else normalize_dims(op.name, dim, data.ndim)
    if isinstance(x, Tensor):  # an op: a replayed program tests the new values
        return op.apply(x, axis, keepdim)
    return _make(op.forward(None, data, axis, keepdim))


@torch_aliases
def all(x, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    return _logical_reduce(All, x, dim, keepdim)


@torch_aliases
def any(x, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    return _logical_reduce(Any, x, dim, keepdim)


def count_nonzero(x, dim=None):
    """How many elements are non-zero (along ``dim``, an int or a tuple), an int64 tensor."""
    data = x._array
    axis = None if dim is None else normalize_dims("count_nonzero", dim, data.ndim)
    xp = get_array_module(data)
    return _make(xp.asarray(xp.count_nonzero(data, axis=axis)).astype(xp.int64))


AminmaxResult = return_types.aminmax


def aminmax(x, *, dim=None, keepdim=False):
    """``(min, max)`` of ``x`` (along ``dim``), as ``torch.aminmax``."""
    return AminmaxResult(amin(x, dim, keepdim), amax(x, dim, keepdim))


def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)``, as torch's."""
    return std(x, dim, unbiased, keepdim, correction), mean(x, dim, keepdim)


def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)``, as torch's."""
    return var(x, dim, unbiased, keepdim, correction), mean(x, dim, keepdim)


def nansum(x, dim=None, keepdim=False):
    """The sum with nans taken as zeros (their gradient 0), as torch's."""
    from .unary import where  # noqa: PLC0415
    from .comparison import isnan  # noqa: PLC0415
    return sum(where(isnan(x), 0.0, x), dim, keepdim) if x.dtype.kind == "f" \
        else sum(x, dim, keepdim)


def nanmean(x, dim=None, keepdim=False):
    """The mean of the elements that are not nan, as torch's."""
    from .comparison import isnan  # noqa: PLC0415
    if x.dtype.kind != "f":
        raise TypeError(f"nanmean: needs a floating-point input, got dtype {x.dtype}")
    kept = sum(~isnan(x), dim, keepdim)
    return nansum(x, dim, keepdim) / kept


def cov(x, *, correction=1, fweights=None, aweights=None):
    """The covariance matrix of the variables in the rows of ``x`` (observations in the
    columns), as ``torch.cov``: ``fweights`` (integer repeat counts) and ``aweights``
    (importance weights) weigh the observations, with torch's (and NumPy's) normalization."""
    if x.ndim > 2:
        raise ValueError(f"cov: expects a 1-D or 2-D tensor, got shape {tuple(x.shape)}")
    rows = x.reshape(1, -1) if x.ndim < 2 else x
    n = rows.shape[1]
    w = None
    for name, weights in (("fweights", fweights), ("aweights", aweights)):
        if weights is None:
            continue
        if weights.ndim != 1 or weights.shape[0] != n:
            raise ValueError(f"cov: {name} must be 1-D with one weight per observation ({n}), "
                             f"got shape {tuple(weights.shape)}")
        if name == "fweights" and weights.dtype.kind not in "iu":
            raise TypeError(f"cov: fweights must be integers, got dtype {weights.dtype}")
        if bool((weights < 0).any()):
            raise ValueError(f"cov: {name} cannot be negative")
        w = weights if w is None else w * weights
    if w is None:
        centered = rows - rows.mean(1, keepdim=True)
        products = centered @ centered.mT
        dof = n - correction
    else:
        w = w.to(rows.dtype)
        w_sum = w.sum()
        centered = rows - (rows * w).sum(1, keepdim=True) / w_sum
        products = (centered * w) @ centered.mT
        if correction == 0:
            dof = w_sum
        elif aweights is None:
            dof = w_sum - correction
        else:
            dof = w_sum - correction * (w * aweights.to(rows.dtype)).sum() / w_sum
    if isinstance(dof, Tensor):
        dof = dof.clamp(min=0)
    else:
        dof = dof if dof > 0 else 0  # torch: <= 0 degrees of freedom give inf / nan
    with np.errstate(divide="ignore", invalid="ignore"):
        out = products / dof
    return out.reshape(()) if x.ndim < 2 else out


def corrcoef(x):
    """Pearson's correlation coefficients of the rows of ``x``, clipped to [-1, 1] (torch's)."""
    from .shape import diag  # noqa: PLC0415
    c = cov(x)
    if c.ndim == 0:
        return c / c
    d = diag(c).sqrt()
    return (c / d.unsqueeze(1) / d.unsqueeze(0)).clamp(-1, 1)
