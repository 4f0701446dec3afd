"""Activations as functions (``nn/activation.py``'s layers call them): relu, gelu, selu,
prelu, mish, ..., softmax, log_softmax, softmin. The ones with an op of their own are in
``chainrule/ops/activation.py``; the rest are compositions of primitives.

    >>> F.relu(cr.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    >>> F.softmax(cr.tensor([0.0, 0.0]), dim=0)
    tensor([0.5000, 0.5000])
"""

from __future__ import annotations

from ... import ops as _ops
from ...creation import zeros_like as _zeros_like
from ...ops.random import Draw as _Draw
from ...ops import activation as _act
from ...ops.softmax import log_softmax as _log_softmax
from ...ops.softmax import softmax as _softmax


__all__ = [
    "celu", "elu", "gelu", "glu", "gumbel_softmax", "hardshrink", "hardsigmoid", "hardswish",
    "hardtanh", "leaky_relu", "log_softmax", "logsigmoid", "mish", "prelu", "relu", "relu6",
    "rrelu", "selu", "sigmoid", "silu", "softmax", "softmin", "softplus", "softshrink",
    "softsign", "tanh", "tanhshrink", "threshold",
]


def relu(input, inplace=False):
    """max(x, 0); ``inplace=True`` writes into ``input`` (recorded in the graph, as torch)."""
    return input.relu_() if inplace else _ops.relu(input)


def relu6(input, inplace=False):
    """hardtanh(x, 0, 6): its gradient at 0 and at 6 is 0, as torch."""
    return _act.hardtanh(input, 0.0, 6.0)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _ops.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    return _ops.elu(input, alpha)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalizing constants (Klambauer et al., 2017)."""
    return _ops.elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1))."""
    return _ops.elu(input / alpha, 1.0) * alpha


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
    return _ops.where(input > 0, input, input * weight)   # the mask by an op: replay-safe


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6 (gradient 0 at -3 and 3, as torch)."""
    return _act.hardsigmoid(input)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6 (one op: torch's gradient at -3, 3 and inf)."""
    return _act.hardswish(input)


def gelu(input, approximate="none"):
    return _ops.gelu(input, approximate)


def silu(input, inplace=False):
    return _ops.silu(input)


def softplus(input, beta=1.0, threshold=20.0):
    return _ops.softplus(input, beta, threshold)


def sigmoid(input):
    return _ops.sigmoid(input)


def tanh(input):
    return _ops.tanh(input)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(x, min_val, max_val), with gradient 0 at the bounds (torch's rule, not clamp's)."""
    return _act.hardtanh(input, min_val, max_val)


def logsigmoid(input):
    """log sigmoid(x) = -softplus(-x), stable for any x."""
    return -_ops.softplus(-input)


def softsign(input):
    return input / (_ops.abs(input) + 1)


def mish(input):
    return input * _ops.tanh(_ops.softplus(input))


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


def glu(input, dim=-1):
    """a * sigmoid(b), where a and b are the two halves of ``input`` along ``dim``.

        >>> F.glu(cr.tensor([2.0, 0.0]))
        tensor([1.])
    """
    if input.ndim == 0:
        raise ValueError("glu: glu does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2:
        raise ValueError(f"glu: Halving dimension must be even, but dimension "
                         f"{dim % input.ndim} is size {size} (input shape {tuple(input.shape)})")
    a, b = input.chunk(2, dim)
    return a * _ops.sigmoid(b)


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0; the gradient is 0 on [-lambd, lambd], bounds included,
    and nan passes through (torch's rule, which tests ``-lambd <= x <= lambd``)."""
    inside = (input >= -lambd) & (input <= lambd)
    return _ops.where(~inside, input, 0.0)


def softshrink(input, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, 0 between; gradient 0 on
    [-lambd, lambd], bounds included, as torch.

    Written x - clamp(x, -lambd, lambd): clamp's gradient is 1 at its bounds, so the
    difference has gradient 0 there, torch's value at the kinks.
    """
    if lambd < 0:
        raise ValueError(f"softshrink: lambda must be greater or equal to 0, but found {lambd}")
    return input - input.clamp(-lambd, lambd)


def tanhshrink(input):
    """x - tanh(x)."""
    return input - _ops.tanh(input)


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else ``value``; gradient 0 where x <= threshold (the threshold
    itself included) and nan passes through, as torch."""
    return _ops.where(~(input <= threshold), input, value)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False, generator=None):
    """Randomized leaky ReLU (Xu et al., 2015): x for x > 0, a * x otherwise.

    Training: a is drawn uniformly from [lower, upper) for each non-positive element (from
    ``generator``, the default one when None); evaluation: a = (lower + upper) / 2.

        >>> F.rrelu(cr.tensor([-3.0, 2.0]), 0.1, 0.3)
        tensor([-0.6000,  2.0000])
    """
    if not training:
        return _ops.leaky_relu(input, (lower + upper) / 2)
    return input * _act.RreluNoise.apply(input, lower, upper, generator)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1, generator=None):
    """softmax((logits + g) / tau) along ``dim`` with Gumbel(0, 1) noise g = -log(Exp(1))
    (Jang et al., 2016), drawn as torch draws it. ``hard=True`` returns the one-hot of the
    argmax with the soft sample's gradient (straight-through: y_hard - y_soft.detach() +
    y_soft). ``eps`` is unused, as in torch.
    """
    dtype = logits._array.dtype
    exponential = _Draw.apply("draw_exponential", (tuple(logits.shape), 1.0, dtype), generator,
                              logits.device)
    gumbels = -_ops.log(exponential)
    y_soft = _softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = _zeros_like(logits).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
