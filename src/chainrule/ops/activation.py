"""Activations: the elementwise functions that have a layer in ``nn/activation.py``.

The rule: an elementwise function is here when PyTorch has it as an activation layer
(``nn.ReLU``, ``nn.Sigmoid``, ``nn.Tanh``, ``nn.GELU``, ...), so sigmoid and tanh are here
even though they are also ``torch.sigmoid`` / ``torch.tanh``; plain math (exp, log, erf,
sin, ...) is in ``unary.py``; softmax and log_softmax, which are not elementwise, are in
``softmax.py``. Activations that are compositions (selu, mish, ...) are written in
``nn/functional/activation.py`` and need no op of their own; hardtanh (relu6), hardsigmoid
and hardswish are ops because torch's gradient at their bounds is not a clamp's (issue 11).

    >>> x = cr.tensor([-1.0, 2.0], requires_grad=True)
    >>> cr.relu(x * 3 + 1).sum().backward()
    >>> x.grad
    tensor([0., 3.])
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd.function import Op
from . import either
from .arithmetic import Mul, _as_float
from .unary import _erf, _erf_polynomial, erf, into_blocks


class Tanh(Op):
    saves_output = True
    caches = ("y",)

    def forward(self, x):
        self.y = np.tanh(_as_float(x))
        return self.y

    def backward(self, g, x):
        y = self.saved_output(g)
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
        y = self.saved_output(g)
        return g * (y * (1 - y))


# A read-only block of zeros per dtype, for relu_array: 256 KB, so it stays in L2 cache.
_ZEROS_BLOCK = 1 << 16
_zeros = {}
_memory_orders = {}  # strides -> the axes in memory order (sorting them costs ~1 us a call)


def relu_array(x, out=None):
    """max(x, 0) of a host array, elementwise, NaN kept: ``np.maximum(x, 0, out=out)``, bit
    for bit, 2.5-4x faster from a few thousand elements up.

    NumPy (2.4) runs ``maximum`` against a scalar in an unvectorized loop; against an array
    it is SIMD. So x is read in its memory order, a block at a time, against a block of
    zeros: float32 (1024, 256) takes 27 us instead of 81 (20 instead of 80 in place).

        >>> relu_array(np.array([-1.0, 2.0, np.nan]))
        array([ 0.,  2., nan])
    """
    if type(x) is not np.ndarray:  # another device's array: the quirk is NumPy's
        return backend.get_array_module(x).maximum(x, 0, out=out)
    n = x.size
    if n < 2048 or x.dtype.kind != "f":
        return np.maximum(x, 0, out=out)
    xp = backend.get_array_module(x)
    if out is None:
        out = xp.empty_like(x)  # x's memory order
    if x.flags.c_contiguous and out.flags.c_contiguous:
        flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    else:  # a permuted layout (a convolution's channels-last output): walk its memory
        order = _memory_orders.get(x.strides)
        if order is None:
            if len(_memory_orders) > 256:  # bounded: a few layouts recur in a model
                _memory_orders.clear()
            order = tuple(sorted(range(x.ndim), key=lambda i: -x.strides[i]))
            _memory_orders[x.strides] = order
        xm, om = x.transpose(order), out.transpose(order)
        if not (xm.flags.c_contiguous and om.flags.c_contiguous):
            return np.maximum(x, 0, out=out)
        flat_x, flat_out = xm.reshape(-1), om.reshape(-1)
    zeros = _zeros.get(x.dtype)
    if zeros is None:
        zeros = xp.zeros(_ZEROS_BLOCK, x.dtype)
        zeros.flags.writeable = False
        zeros = _zeros.setdefault(x.dtype, zeros)
    if n <= _ZEROS_BLOCK:
        np.maximum(flat_x, zeros[:n], out=flat_out)
        return out
    for start in range(0, n, _ZEROS_BLOCK):
        stop = min(start + _ZEROS_BLOCK, n)
        np.maximum(flat_x[start:stop], zeros[:stop - start], out=flat_out[start:stop])
    return out


class Relu(Op):
    """max(x, 0); its backward reads the output, as torch's (``threshold_backward`` of the
    result): the gradient passes where y != 0 and is 0 where y == 0, i.e. where x <= 0. A
    nan input gives a nan output, which passes it (torch's rule); y is never negative, so
    ``y != 0`` is the whole mask in one comparison (``not(x <= 0)`` on the input takes two
    passes: 35 against 26 us a step on the MNIST-1D CNN's three ReLUs). The output is kept
    alive by the next layer anyway (a Linear or a convolution holds its input).
    """

    saves_output = True
    caches = ("y",)

    def forward(self, x):
        self.y = y = relu_array(x)
        return y

    def backward(self, g, x):
        # A product with the mask, not a where: 15x faster on 10^6 elements (an inf or nan
        # upstream gradient where y == 0 gives nan here, 0 in torch).
        return g * (either.value(self.saved_output(g)) != 0)


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
        # As torch: elu'(x) takes the negative branch where x <= 0 (elu'(0) = alpha) and the
        # positive one elsewhere, nan included; elu''(x) takes it only where x < 0, so
        # elu''(0) = 0: the exponent is a constant 0 at x == 0 itself.
        xv = either.value(x)
        neg = xv <= 0
        neg_part = either.exp(either.where(xv < 0, x, 0)) if either.is_graph(g) \
            else np.exp(np.minimum(x, 0))
        return either.where(neg, g * alpha * neg_part, g), None

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _normal_cdf(x):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2 of an array (GELU's, blockwise by ``into_blocks``)."""
    if x.dtype == np.float32:
        return _normal_cdf_float32(x)
    cdf = _erf_polynomial(x * _INV_SQRT_2)
    cdf += 1
    cdf *= 0.5
    return cdf


# erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z / 2), z >= 0: a Chebyshev fit with a relative
# error below 1.2e-7 for every z (Numerical Recipes, "erfcc"); the coefficients of P, t^0 first.
_ERFC_P = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
           -1.13520398, 1.48851587, -0.82215223, 0.17087277)
_ERFC_P32 = tuple(np.float32(c) for c in _ERFC_P)


def _normal_cdf_float32(x, out=None):
    """Phi(x) of a float32 array from erfc(|x| / sqrt 2) / 2 = Phi(-|x|), which needs no
    table look-up (the float64 erf's ``take`` cost ~65 instructions an element) and keeps
    its relative accuracy in the lower tail, where 1 + erf cancels: within 7 ulp of the
    exact GELU on [-1, 1], 2 ulp above, 16 ulp on [-3, -1] (torch's float32 GELU: 2,000),
    and near the exact values further down where torch's underflow to 0. NaN stays NaN;
    Phi(inf) = 1, Phi(-inf) = 0."""
    if x.ndim == 0:  # NumPy's ufuncs give scalars for 0-d arrays, which take no out=
        cdf = _normal_cdf_float32(x.reshape(1)).reshape(())
        if out is not None:
            out[...] = cdf
        return cdf
    xp = backend.get_array_module(x)
    z = xp.abs(x)
    z *= np.float32(_INV_SQRT_2)
    t = z * np.float32(0.5)
    t += 1
    xp.reciprocal(t, out=t)
    c = _ERFC_P32
    p = t * c[9]
    for k in range(8, 0, -1):
        p += c[k]
        p *= t
    p += c[0]
    with np.errstate(over="ignore"):  # z^2 of |x| > 1.8e19 is inf: exp gives 0, as it should
        z *= z
    p -= z
    xp.exp(p, out=p)
    p *= t
    p *= np.float32(0.5)              # Phi(-|x|)
    # Phi(x) = p where x < 0, else 1 - p, as s p + (1 - s)(1 - p) with s = [x < 0]: both
    # products are exact (one of them is 0), and it runs 8x faster than a masked copy or
    # np.where, which mispredict a branch on every other element of a random sign.
    s = xp.less(x, 0, out=z)
    q = xp.subtract(1, p, out=t)
    cdf = xp.multiply(p, s, out=out)
    xp.subtract(1, s, out=s)
    s *= q
    cdf += s
    return cdf


def _gelu_forward(x, cdf, y):
    """Into ``cdf`` and ``y``: Phi(x) and x Phi(x) (one block of ``into_blocks``)."""
    if x.dtype == np.float32 and x.ndim:
        _normal_cdf_float32(x, cdf)
    else:
        cdf[...] = _normal_cdf(x)
    backend.get_array_module(x).multiply(x, cdf, out=y)


def _gelu_grad(x, cdf, g, out):
    """Into ``out``: g (Phi(x) + x phi(x)), exact GELU's first-order rule."""
    xp = backend.get_array_module(x)
    grad = x * x
    grad *= -0.5
    xp.exp(grad, out=grad)
    grad *= _INV_SQRT_2PI
    grad *= x
    grad += cdf
    xp.multiply(grad, g, out=out)


class Gelu(Op):
    """x Phi(x) (exact, erf) or PyTorch's tanh approximation with ``approximate='tanh'``."""

    caches = ("cdf",)  # Phi(x) of the exact form: backward needs it again, erf is dear

    def forward(self, x, approximate):
        if approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
        with np.errstate(invalid="ignore"):  # -inf * Phi(-inf) = nan, silently, as torch
            self.cdf, y = into_blocks(_gelu_forward, (x,), 2)
        return y

    def backward(self, g, x, approximate):
        if approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
            t = tanh(inner) if either.is_graph(g) else np.tanh(inner)
            dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dinner), None
        cdf = None if either.is_graph(g) else getattr(self, "cdf", None)
        if cdf is None:
            cdf = 0.5 * (1 + (erf(x * _INV_SQRT_2) if either.is_graph(g) else _erf(x * _INV_SQRT_2)))
        if not either.is_graph(g) and x.ndim:
            with np.errstate(invalid="ignore", over="ignore"):  # x^2 = inf: pdf = 0; nan at -inf
                return into_blocks(_gelu_grad, (x, cdf, g), 1)[0], None
        pdf = either.exp(-0.5 * x * x) * _INV_SQRT_2PI
        return g * (cdf + x * pdf), None


class Softplus(Op):
    """log(1 + e^(beta x)) / beta, linear above ``threshold`` as in PyTorch."""

    def forward(self, x, beta, threshold):
        bx = x * beta
        return np.where(bx > threshold, x, np.logaddexp(0, bx) / beta)

    def backward(self, g, x, beta, threshold):
        bx = x * beta
        bxv = either.value(bx)
        if either.is_graph(g):  # as torch, softplus'' is 0 from the threshold on (inclusive)
            s = sigmoid(either.where(bxv >= threshold, threshold, bx))
        else:
            s = Sigmoid().forward(bx)
        return either.where(bxv > threshold, g, g * s), None, None


class Hardtanh(Op):
    """clamp(x, lo, hi) with torch's hardtanh gradient: 0 at the bounds themselves and
    beyond (``relu6`` is hardtanh(0, 6): its gradient at 0 is 0), the gradient elsewhere,
    nan included. ``clamp`` keeps the bounds inside (torch's clamp rule)."""

    def forward(self, x, lo, hi):
        return np.clip(x, lo, hi)

    def backward(self, g, x, lo, hi):
        xv = either.value(x)
        return g * np.logical_not((xv <= lo) | (xv >= hi)), None, None  # a mask, as relu's


class RreluNoise(Op):
    """The slopes of rrelu in training: a uniform draw on [lower, upper) from ``generator``
    for each element x <= 0, in order, and 1 elsewhere, as torch's CPU kernel (one double
    uniform per non-positive element, rounded to x's dtype). A step of its own, so that a
    replayed program draws anew; no gradient flows into it (rrelu is x * noise)."""

    differentiable = False

    def forward(self, x, lower, upper, generator):
        non_positive = x <= 0  # nan is not: its slope is 1, as torch's
        noise = backend.get_array_module(x).ones(x.shape, x.dtype)
        count = int(non_positive.sum())
        if count:  # the generator's stream is the host's: the draws are copied over
            drawn = backend.rng_of(generator).draw_uniform((count,), lower, upper, np.float64)
            noise[non_positive] = backend.to_device(drawn.astype(x.dtype), backend.device_of(x))
        return noise


class Hardsigmoid(Op):
    """relu6(x + 3) / 6; gradient 1/6 strictly inside (-3, 3), 0 elsewhere (nan too), as
    torch (which has no second derivative of it; ours is 0)."""

    def forward(self, x):
        return np.clip(x / 6 + 0.5, 0, 1)

    def backward(self, g, x):
        xv = either.value(x)
        return (g / 6) * ((xv > -3) & (xv < 3))


class Hardswish(Op):
    """x relu6(x + 3) / 6; gradient 0 up to -3, x/3 + 1/2 on (-3, 3), 1 from 3 on (and at
    nan and +inf, where x * hardsigmoid(x) would give nan), as torch."""

    def forward(self, x):
        return x * np.clip(x / 6 + 0.5, 0, 1)

    def backward(self, g, x):
        xv = either.value(x)
        inside = g * (x / 3 + 0.5)
        return either.where(xv <= -3, 0, either.where(xv < 3, inside, g))


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


def hardtanh(x, min_val=-1.0, max_val=1.0):
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} must not be greater than max_val {max_val}")
    return Hardtanh.apply(x, min_val, max_val)


def hardsigmoid(x):
    return Hardsigmoid.apply(x)


def hardswish(x):
    return Hardswish.apply(x)
