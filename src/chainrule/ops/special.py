"""Special elementwise functions: trigonometric and hyperbolic (tan, asin, atanh, atan2 ...),
exp2 reciprocal sinc hypot xlogy logaddexp, erfc erfinv, and the gamma family (lgamma,
digamma, polygamma).

Each op computes in the default float for int inputs (as torch) and gives torch's values at
the edges of its domain: ``inf`` gradients where the derivative blows up (asin at +-1, acosh
at 1, atanh at +-1) and ``nan`` outside the domain, computed with NumPy's warnings off, since
these are results, not accidents. Every backward is written with operators and functions that
take arrays (first order) or Tensors (under ``create_graph``), so second derivatives work.

    >>> from chainrule.ops.special import asin, lgamma
    >>> x = cr.tensor([0.0, 0.5], requires_grad=True)
    >>> asin(x).sum().backward()
    >>> x.grad                                  # 1 / sqrt(1 - x^2)
    tensor([1.0000, 1.1547])
    >>> lgamma(cr.tensor([1.0, 2.5]))
    tensor([0.0000, 0.2847])
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import backend
from ..autograd.function import Op
from ..tensor import Tensor
from . import either
from .arithmetic import _as_float, _promote, _wants
from .unary import _erf


def _quiet(method):
    """Run a forward or backward with NumPy's floating-point warnings off: inf and nan at a
    domain edge are torch's answers there (a Tensor rule's inner ops run inside it too)."""
    @functools.wraps(method)
    def quiet(*args):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            return method(*args)
    return quiet


def _call(array_fn, tensor_fn, *args):
    """``tensor_fn`` when an argument is a Tensor (a rule under create_graph), else the
    array function: the one choice a backward rule makes to run on both."""
    if any(isinstance(a, Tensor) for a in args):
        return tensor_fn(*args)
    return array_fn(*args)


def _float_pair(name, a, b):
    """torch has no integer kernel for hypot and logaddexp: refuse two integer inputs."""
    kinds = {either.array_of(v).dtype.kind for v in (a, b)}
    if kinds <= set("biu"):
        raise TypeError(f"{name}: not implemented for integer tensors (as torch)")


# --- trigonometric and hyperbolic ----------------------------------------------------------

class Tan(Op):
    saves_output = True
    caches = ("y",)

    @_quiet
    def forward(self, x):
        self.y = np.tan(_as_float(x))
        return self.y

    @_quiet
    def backward(self, g, x):
        y = self.saved_output(g)
        return g * (1 + y * y)


class Sinh(Op):
    @_quiet
    def forward(self, x):
        return np.sinh(_as_float(x))

    @_quiet
    def backward(self, g, x):
        return g * _call(np.cosh, cosh, x)


class Cosh(Op):
    @_quiet
    def forward(self, x):
        return np.cosh(_as_float(x))

    @_quiet
    def backward(self, g, x):
        return g * _call(np.sinh, sinh, x)


class Asin(Op):
    @_quiet
    def forward(self, x):
        return np.arcsin(_as_float(x))

    @_quiet
    def backward(self, g, x):
        return g / either.sqrt(1 - x * x)  # inf at +-1, nan beyond: torch's rsqrt(1 - x^2)


class Acos(Op):
    @_quiet
    def forward(self, x):
        return np.arccos(_as_float(x))

    @_quiet
    def backward(self, g, x):
        return -g / either.sqrt(1 - x * x)


class Atan(Op):
    @_quiet
    def forward(self, x):
        return np.arctan(_as_float(x))

    @_quiet
    def backward(self, g, x):
        return g / (1 + x * x)


class Asinh(Op):
    @_quiet
    def forward(self, x):
        return np.arcsinh(_as_float(x))

    @_quiet
    def backward(self, g, x):
        return g / either.sqrt(x * x + 1)


class Acosh(Op):
    @_quiet
    def forward(self, x):
        return np.arccosh(_as_float(x))

    @_quiet
    def backward(self, g, x):
        return g / either.sqrt(x * x - 1)  # inf at 1, nan below


class Atanh(Op):
    @_quiet
    def forward(self, x):
        return np.arctanh(_as_float(x))

    @_quiet
    def backward(self, g, x):
        return g / (1 - x * x)  # +-inf at +-1


class Atan2(Op):
    """atan2(a, b), the angle of (b, a); gradients (b, -a) / (a^2 + b^2), and 0 where
    a^2 + b^2 is 0 (the origin), as torch's."""

    @_quiet
    def forward(self, a, b):
        return _promote(np.arctan2, a, b)

    @_quiet
    def backward(self, g, a, b):
        norm2 = a * a + b * b
        origin = either.value(norm2) == 0
        recip = 1 / either.where(origin, 1.0, norm2) if np.any(origin) else 1 / norm2
        ga = either.where(origin, 0.0, g * b * recip) if _wants(self, 0) else None
        gb = either.where(origin, 0.0, g * -a * recip) if _wants(self, 1) else None
        return ga, gb


class Hypot(Op):
    """sqrt(a^2 + b^2) without overflow; gradients a / y and b / y (nan at the origin)."""

    saves_output = True
    caches = ("y",)

    @_quiet
    def forward(self, a, b):
        self.y = _promote(np.hypot, a, b)
        return self.y

    @_quiet
    def backward(self, g, a, b):
        y = self.saved_output(g)
        ga = g * a / y if _wants(self, 0) else None
        gb = g * b / y if _wants(self, 1) else None
        return ga, gb


# --- exponential, reciprocal and friends ---------------------------------------------------

class Exp2(Op):
    saves_output = True
    caches = ("y",)

    @_quiet
    def forward(self, x):
        self.y = np.exp2(_as_float(x))
        return self.y

    def backward(self, g, x):
        return g * self.saved_output(g) * math.log(2)


class Reciprocal(Op):
    saves_output = True
    caches = ("y",)

    @_quiet
    def forward(self, x):
        self.y = 1 / _as_float(x)
        return self.y

    @_quiet
    def backward(self, g, x):
        y = self.saved_output(g)
        return -g * (y * y)


class Sinc(Op):
    """sin(pi x) / (pi x), 1 at 0. The derivative (cos(pi x) - sinc(x)) / x is 0 at 0; x is
    replaced by 1 there before dividing, so that no 0 / 0 reaches a second derivative."""

    @_quiet
    def forward(self, x):
        return np.sinc(_as_float(x))

    @_quiet
    def backward(self, g, x):
        zero = either.value(x) == 0
        safe = either.where(zero, 1.0, x)
        px = math.pi * safe
        slope = (either.cos(px) - either.sin(px) / px) / safe
        return g * either.where(zero, 0.0, slope)


def _xlogy_array(x, y):
    out = x * np.log(y)
    return np.where((x == 0) & ~np.isnan(y), 0, out)  # torch: 0 log y is 0, unless y is nan


class Xlogy(Op):
    @_quiet
    def forward(self, x, y):
        return _promote(_xlogy_array, x, y)

    @_quiet
    def backward(self, g, x, y):
        ga = gb = None
        if _wants(self, 0):
            # torch's xlogy(g, y), 0 where x == 0 and y <= 0; y is 1 there before the log so
            # that no -inf or nan reaches a second derivative through the masked entries.
            yv = either.value(y)
            masked = (either.value(x) == 0) & (yv <= 0)
            safe = either.where(masked, 1.0, y) if np.any(masked) else y
            ga = either.where(masked, 0.0, _call(_xlogy_array, xlogy, g, safe))
        if _wants(self, 1):
            gb = g * x / y
        return ga, gb


class Logaddexp(Op):
    """log(e^a + e^b); gradients 1 / (1 + e^(b - a)) and 1 / (1 + e^(a - b)), as torch."""

    @_quiet
    def forward(self, a, b):
        return _promote(np.logaddexp, a, b)

    @_quiet
    def backward(self, g, a, b):
        ga = g / (1 + either.exp(b - a)) if _wants(self, 0) else None
        gb = g / (1 + either.exp(a - b)) if _wants(self, 1) else None
        return ga, gb


# --- error function family -----------------------------------------------------------------

_erfc_tail = np.frompyfunc(math.erfc, 1, 1)


def _on_host(x, compute):
    """``compute(x)`` on a host copy of a device array (these kernels are NumPy and Python
    per element), the result moved back to x's device: an explicit copy, never an implicit
    one (CuPy refuses those)."""
    if type(x) is np.ndarray:
        return compute(x)
    device = backend.device_of(x)
    return backend.to_device(compute(backend.to_device(x, "cpu")), device)


def _erfc_array(x):
    """erfc accurate in the tail: 1 - erf(x) loses every digit there (erfc(6) = 2e-17), so
    math.erfc is called for x >= 0.5; below, erfc >= 0.48 and 1 - erf(x) is exact enough."""
    x = np.asarray(x)
    out = np.array(1 - _erf(x), dtype=x.dtype)  # writable, also for a 0-d x
    tail = x >= 0.5
    if tail.any():
        out[tail] = _erfc_tail(x[tail]).astype(x.dtype)
    return out


class Erfc(Op):
    def forward(self, x):
        return _on_host(_as_float(x), _erfc_array)

    @_quiet
    def backward(self, g, x):
        return g * (-2 / math.sqrt(math.pi)) * either.exp(-x * x)


def _erfinv_array(x):
    """erfinv in float64: Giles' single-precision approximation ("Approximating the erfinv
    function", 2010), good to float32 for |x| < 1 - 1e-7 (coarser beyond), then Halley steps on
    erf(y) = x until they no longer move y. Where |x| > 0.5 the residual is
    taken from erfc as (1 - |x|) - erfc(|y|): from erf it would round away near |x| = 1."""
    x64 = np.asarray(x, dtype=np.float64)
    w = -np.log((1 - x64) * (1 + x64))
    central = w < 5
    wc = np.where(central, w - 2.5, np.sqrt(np.where(central, 5.0, w)) - 3)
    coefs_c = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
               0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
    coefs_t = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
               0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)
    p = np.where(central, coefs_c[0], coefs_t[0])
    for c, t in zip(coefs_c[1:], coefs_t[1:]):
        p = np.where(central, c, t) + p * wc
    y = p * x64
    a = np.abs(x64)
    inner = np.isfinite(y) & (a < 1)
    for _ in range(8):  # one or two steps where the guess is good, up to 5 at 1 - 1e-16
        ay = np.abs(y)
        residual = np.where(a <= 0.5, _erf(np.where(inner, y, 0)) - x64,
                            np.sign(x64) * ((1 - a) - _erfc_array(np.where(inner, ay, 1))))
        slope = 2 / math.sqrt(math.pi) * np.exp(-y * y)
        # Halley's step r / (f' - r f'' / (2 f')), with f'' = -2 y f' for f = erf - x.
        step = np.where(inner, residual / (slope + y * residual), 0.0)
        y = y - step
        if not np.any(np.abs(step) > 1e-15 * np.abs(y)):
            break
    y = np.where(a == 1, np.copysign(np.inf, x64), y)
    return np.where(a > 1, np.nan, y)


class Erfinv(Op):
    saves_output = True
    caches = ("y",)

    @_quiet
    def forward(self, x):
        x = _as_float(x)
        self.y = _on_host(x, lambda h: _erfinv_array(h).astype(h.dtype))
        return self.y

    @_quiet
    def backward(self, g, x):
        y = self.saved_output(g)
        return g * (math.sqrt(math.pi) / 2) * either.exp(y * y)  # inf at +-1, as torch


# --- gamma family --------------------------------------------------------------------------

def _safe_lgamma(v):
    try:
        return math.lgamma(v)
    except ValueError:  # a pole (0, -1, -2, ...): torch gives +inf
        return math.inf


_lgamma_array = np.frompyfunc(_safe_lgamma, 1, 1)

# Bernoulli numbers B_2, B_4, ..., B_12 of the asymptotic series of the polygamma functions.
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730)
_SHIFT = 15.0  # the series is used from here on: its first omitted term is below 1e-15


def _polygamma_series(n, x):
    """psi^(n)(x) in float64 for finite x that is not a pole: the recurrence
    psi^(n)(x) = psi^(n)(x + 1) - (-1)^n n! / x^(n+1) moves x past ``_SHIFT`` (one pass per
    unit below it, so a very negative x costs as many), then the asymptotic series in 1/x."""
    z = x.copy()
    acc = np.zeros_like(z)
    sign = -1.0 if n % 2 else 1.0  # (-1)^n
    n_fact = math.factorial(n)
    while True:
        small = z < _SHIFT
        if not small.any():
            break
        zs = np.where(small, z, 1.0)
        acc -= np.where(small, sign * n_fact / zs ** (n + 1), 0.0)
        z = np.where(small, z + 1, z)
    inv = 1.0 / z
    if n == 0:
        series = np.log(z) - 0.5 * inv
        for k, b in enumerate(_BERNOULLI, start=1):
            series -= b / (2 * k) * inv ** (2 * k)
    else:
        series = math.factorial(n - 1) * inv ** n + 0.5 * n_fact * inv ** (n + 1)
        for k, b in enumerate(_BERNOULLI, start=1):
            series += b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) * inv ** (2 * k + n)
        series *= -sign  # (-1)^(n+1)
    return series + acc


def polygamma_array(n, x):
    """psi^(n)(x) in float64 with torch's values: digamma by reflection for x < 0
    (psi(1 - x) - pi / tan(pi x)), nan at its negative poles and -+inf at +-0; for n >= 1,
    (-1)^(n+1) inf at the poles 0, -1, -2, ..., and at +inf 0 for n = 1, nan beyond (torch's)."""
    x = np.asarray(x, dtype=np.float64)
    pole = (x <= 0) & (x == np.floor(x))
    ordinary = np.isfinite(x) & ~pole
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        if n == 0:
            z = np.where(ordinary, np.where(x < 0, 1 - x, x), _SHIFT)
            out = _polygamma_series(0, z)
            out = np.where(x < 0, out - math.pi / np.tan(math.pi * x), out)
            out = np.where(pole, np.nan, out)
            out = np.where(x == 0, np.copysign(np.inf, -x), out)
            out = np.where(x == np.inf, np.inf, out)
        else:
            out = _polygamma_series(n, np.where(ordinary, x, _SHIFT))
            out = np.where(pole, (1.0 if n % 2 else -1.0) * np.inf, out)
            # torch: trigamma(inf) is 0, but its higher orders give nan there.
            out = np.where(x == np.inf, 0.0 if n == 1 else np.nan, out)
    return np.where(np.isnan(x) | (x == -np.inf), np.nan, out)


def _polygamma_any(n, x):
    """psi^(n)(x) for a backward rule: a Tensor (recorded) for a Tensor, else an array."""
    if isinstance(x, Tensor):
        return polygamma(n, x)
    return _on_host(x, lambda h: polygamma_array(n, h).astype(h.dtype))


class Lgamma(Op):
    def forward(self, x):
        return _on_host(_as_float(x), lambda h: _lgamma_array(h).astype(h.dtype))

    def backward(self, g, x):
        return g * _polygamma_any(0, x)


class Digamma(Op):
    def forward(self, x):
        return _on_host(_as_float(x), lambda h: polygamma_array(0, h).astype(h.dtype))

    def backward(self, g, x):
        return g * _polygamma_any(1, x)


class Polygamma(Op):
    """The n-th derivative of digamma; its backward is the (n+1)-th."""

    def forward(self, n, x):
        return _on_host(_as_float(x), lambda h: polygamma_array(n, h).astype(h.dtype))

    def backward(self, g, n, x):
        return None, g * _polygamma_any(n + 1, x)


# --- the public functions ------------------------------------------------------------------

def tan(x):
    return Tan.apply(x)


def sinh(x):
    return Sinh.apply(x)


def cosh(x):
    return Cosh.apply(x)


def asin(x):
    return Asin.apply(x)


def acos(x):
    return Acos.apply(x)


def atan(x):
    return Atan.apply(x)


def asinh(x):
    return Asinh.apply(x)


def acosh(x):
    return Acosh.apply(x)


def atanh(x):
    return Atanh.apply(x)


def atan2(input, other):  # noqa: A002 - PyTorch's argument names
    """The angle of the point (other, input) in (-pi, pi], as ``torch.atan2``."""
    return Atan2.apply(input, other)


def hypot(input, other):  # noqa: A002 - PyTorch's argument names
    """sqrt(input^2 + other^2), as ``torch.hypot`` (float tensors only, as torch)."""
    _float_pair("hypot", input, other)
    return Hypot.apply(input, other)


def exp2(x):
    return Exp2.apply(x)


def reciprocal(x):
    return Reciprocal.apply(x)


def sinc(x):
    """sin(pi x) / (pi x), and 1 at 0."""
    return Sinc.apply(x)


def xlogy(input, other):  # noqa: A002 - PyTorch's argument names
    """input * log(other), and 0 where input is 0 (unless other is nan), as ``torch.xlogy``."""
    return Xlogy.apply(input, other)


def logaddexp(input, other):  # noqa: A002 - PyTorch's argument names
    """log(exp(input) + exp(other)) without overflow (float tensors only, as torch)."""
    _float_pair("logaddexp", input, other)
    return Logaddexp.apply(input, other)


def erfc(x):
    """1 - erf(x), accurate where it is tiny."""
    return Erfc.apply(x)


def erfinv(x):
    """The inverse of erf on [-1, 1]: +-inf at +-1, nan outside."""
    return Erfinv.apply(x)


def lgamma(x):
    """log |Gamma(x)|, as ``torch.lgamma`` (+inf at the poles 0, -1, -2, ...)."""
    return Lgamma.apply(x)


def digamma(x):
    """d/dx lgamma(x), as ``torch.digamma``."""
    return Digamma.apply(x)


def polygamma(n, x):
    """psi^(n)(x), the n-th derivative of digamma, as ``torch.polygamma(n, x)``."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative int, got {n!r}")
    if n == 0:
        return digamma(x)
    return Polygamma.apply(int(n), x)


arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh
arctan2 = atan2
