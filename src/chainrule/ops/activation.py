"""Activations: the elementwise functions that have a layer in ``nn/activation.py``.

The rule: an elementwise function is here when PyTorch has it as an activation layer
(``nn.ReLU``, ``nn.Sigmoid``, ``nn.Tanh``, ``nn.GELU``, ...), so sigmoid and tanh are here
even though they are also ``torch.sigmoid`` / ``torch.tanh``; plain math (exp, log, erf,
sin, ...) is in ``unary.py``; softmax and log_softmax, which are not elementwise, are in
``softmax.py``. Activations that are compositions (selu, hardtanh, mish, ...) are written
in ``nn/functional/activation.py`` and need no op of their own.

    >>> x = cr.tensor([-1.0, 2.0], requires_grad=True)
    >>> cr.relu(x * 3 + 1).sum().backward()
    >>> x.grad
    tensor([0., 3.])
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Op
from . import either
from .arithmetic import Mul, _as_float
from .unary import _erf, erf


class Tanh(Op):
    saves_output = True
    caches = ("y",)

    def forward(self, x):
        self.y = np.tanh(_as_float(x))
        return self.y

    def backward(self, g, x):
        y = self.saved_output(either.is_graph(g))
        return g * (1 - y * y)


class Sigmoid(Op):
    """sigma(x) = 1 / (1 + e^-x), computed without overflow for any x; dsigma = sigma (1 - sigma)."""

    saves_output = True
    caches = ("y",)

    def forward(self, x):
        x = _as_float(x)
        e = np.exp(-np.abs(x))
        r = 1 / (1 + e)
        self.y = np.where(x >= 0, r, e * r)
        return self.y

    def backward(self, g, x):
        y = self.saved_output(either.is_graph(g))
        return g * (y * (1 - y))


class Relu(Op):
    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, g, x):
        return g * (either.value(x) > 0)


class LeakyRelu(Op):
    def forward(self, x, slope):
        return np.where(x > 0, x, x * slope)

    def backward(self, g, x, slope):
        return either.where(either.value(x) > 0, g, g * slope), None


class Elu(Op):
    """alpha (e^x - 1) for x <= 0, x above."""

    def forward(self, x, alpha):
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, g, x, alpha):
        neg_part = either.exp(either.where(either.value(x) > 0, 0, x)) if either.is_graph(g) \
            else np.exp(np.minimum(x, 0))
        return either.where(either.value(x) > 0, g, g * alpha * neg_part), None

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)

class Gelu(Op):
    """x Phi(x) (exact, erf) or PyTorch's tanh approximation with ``approximate='tanh'``."""

    def forward(self, x, approximate):
        if approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
        return 0.5 * x * (1 + _erf(x * _INV_SQRT_2))

    def backward(self, g, x, approximate):
        if approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
            t = tanh(inner) if either.is_graph(g) else np.tanh(inner)
            dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dinner), None
        cdf = 0.5 * (1 + (erf(x * _INV_SQRT_2) if either.is_graph(g) else _erf(x * _INV_SQRT_2)))
        pdf = either.exp(-0.5 * x * x) * _INV_SQRT_2PI
        return g * (cdf + x * pdf), None


class Softplus(Op):
    """log(1 + e^(beta x)) / beta, linear above ``threshold`` as in PyTorch."""

    def forward(self, x, beta, threshold):
        bx = x * beta
        return np.where(bx > threshold, x, np.logaddexp(0, bx) / beta)

    def backward(self, g, x, beta, threshold):
        bx = x * beta
        s = sigmoid(bx) if either.is_graph(g) else Sigmoid().forward(bx)
        return either.where(either.value(bx) > threshold, g, g * s), None, None


def tanh(x):
    return Tanh.apply(x)


def sigmoid(x):
    """1 / (1 + exp(-x)), stable for any x (sigmoid(-1e4) is 0, with no overflow warning)."""
    return Sigmoid.apply(x)


def relu(x):
    return Relu.apply(x)


def leaky_relu(x, negative_slope=0.01):
    return LeakyRelu.apply(x, negative_slope)


def elu(x, alpha=1.0):
    return Elu.apply(x, alpha)


def gelu(x, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(x, approximate)


def softplus(x, beta=1.0, threshold=20.0):
    return Softplus.apply(x, beta, threshold)


def silu(x):
    """x * sigmoid(x)."""
    return Mul.apply(x, Sigmoid.apply(x))
