"""Elementwise ops: arithmetic, transcendental functions, activations, comparisons.

Each op broadcasts like NumPy; the engine sums each gradient back to its input's shape, so
no rule here deals with broadcasting. Numbers on either side stay constants and never
upcast a float32 tensor (NumPy 2's promotion rules agree with PyTorch's here).

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
from ..tensor import Tensor, _make
from . import dual


def _wants(node, i) -> bool:
    """Whether argument ``i`` needs a gradient (skip work for constants)."""
    a = node.args[i]
    return isinstance(a, Tensor) and a._requires_grad


_float64 = np.dtype(np.float64)
_float16 = np.dtype(np.float16)


def _torch_float(a, b):
    """The float dtype PyTorch gives ``a op b``: that of the highest-ranked float operands
    (tensors with dims, then 0-d tensors), else the default float (Python numbers only)."""
    for zero_dim in (False, True):
        floats = [v.dtype for v in (a, b) if isinstance(v, np.ndarray)
                  and (v.ndim == 0) == zero_dim and v.dtype.kind == "f"]
        if floats:
            return np.result_type(*floats)
    return backend.default_float


def _promote(fn, a, b):
    """``fn(a, b)`` in PyTorch's result dtype where NumPy's promotion differs from it.

    NumPy makes int with float, int / int, and float32 with a 0-d float64 array float64, and
    small ints (uint8, bool) with a float float16; PyTorch keeps float32 (``uint8 / 255.0``).
    Only a float64 or float16 result can be wrong: the common case costs two comparisons.
    """
    out = fn(a, b)
    if out.dtype.char not in "de":  # neither float64 ('d') nor float16 ('e'): the hot path
        return out
    want = _torch_float(a, b)
    if out.dtype == want:
        return out
    if out.dtype == _float16:  # computed too coarsely: again from float32 operands
        out = fn(_as_float(a), _as_float(b))
    return out.astype(want, copy=False)


def _as_float(x):
    """Float functions of int and bool tensors compute in the default float, as in PyTorch."""
    if isinstance(x, np.ndarray) and x.dtype.kind in "biu":
        return x.astype(backend.default_float)
    return x


# --- arithmetic ----------------------------------------------------------------------------

class Add(Op):
    def forward(self, a, b):
        return _promote(np.add, a, b)

    def backward(self, g, a, b):
        return g, g


class Sub(Op):
    def forward(self, a, b):
        return _promote(np.subtract, a, b)

    def backward(self, g, a, b):
        return g, -g


class Mul(Op):
    def forward(self, a, b):
        return _promote(np.multiply, a, b)

    def backward(self, g, a, b):
        return (g * b if _wants(self, 0) else None), (g * a if _wants(self, 1) else None)


class Div(Op):
    def forward(self, a, b):
        return _promote(np.true_divide, a, b)

    def backward(self, g, a, b):
        ga = g / b if _wants(self, 0) else None
        gb = -g * a / (b * b) if _wants(self, 1) else None
        return ga, gb


class Pow(Op):
    """y = a ** b;  dy/da = b a^(b-1) (0 where b == 0, even at a == 0, as in PyTorch),
    dy/db = a^b log a (taken as 0 where a <= 0).

    A float tensor to a number goes through ``power`` (fast paths, see there), in forward
    and in the first-order backward alike.
    """

    @property
    def torch_name(self):  # tensor ** number, tensor ** tensor, number ** tensor
        base_is_tensor = isinstance(self.args[0], Tensor)
        if base_is_tensor and not isinstance(self.args[1], Tensor):
            return "PowBackward0"
        return "PowBackward1" if base_is_tensor else "PowBackward2"

    def forward(self, a, b):
        if type(b) in _NUMBER and type(a) is np.ndarray and a.dtype.kind == "f":
            return power(a, b)
        return _promote(np.power, a, b)

    def backward(self, g, a, b):
        ga = gb = None
        if _wants(self, 0):
            if isinstance(b, (int, float)):
                ga = g * 2 * a if b == 2 else g * 0 if b == 0 else g * b * _pow(a, b - 1)
            else:
                bv = dual.value(b)
                zero = bv == 0
                # b a^(b-1) with b == 0 and a == 0 is 0 * inf: use exponent 1 there instead
                exponent = dual.where(zero, 1, b - 1) if np.any(zero) else b - 1
                ga = g * b * a ** exponent
        if _wants(self, 1):
            av = dual.value(a)
            positive = av > 0
            safe_a = dual.where(positive, a, 1) if isinstance(av, np.ndarray) else a
            gb = g * dual.where(positive, a ** b * dual.log(safe_a), 0)
        return ga, gb


_NUMBER = (int, float, np.float64)
# Integer exponents up to this size go by repeated squaring (at most 2 log2(n) products, a
# few ulps), and half-integers up to it as x^k sqrt(x); beyond, np.power.
_FAST_POWER_MAX = 16


def power(x, exponent):
    """``x ** exponent`` for a float array and a Python number, by the fastest exact-enough route.

    np.power runs a scalar libm loop on most CPUs (milliseconds for 10^5 float32 elements),
    so, as PyTorch does: integers up to 16 by multiplication (2 and 3 exactly as PyTorch's
    x*x and x*x*x), 0.5 and -0.5 as sqrt and 1/sqrt, other half-integers k + 1/2 as
    x^k sqrt(x); for float32, any other exponent as exp(e log x) in SIMD float32 (relative
    error under |e log x| 2^-24 + a few ulps: below 1e-5 wherever the result is finite).
    float64 keeps np.power there (gradcheck's precision). Special values (0, -0, inf, -inf,
    NaN, negative bases) come out as PyTorch's.
    """
    if x.ndim == 0:  # NumPy gives scalars for 0-d products, which can't be written in place
        return power(x.reshape(1), exponent).reshape(())
    e = float(exponent)
    size = math.fabs(e)  # (this module's abs is the op)
    xp = backend.get_array_module(x)
    if e == int(e):
        if size > _FAST_POWER_MAX:
            return xp.power(x, exponent)
        if e == 0:
            return xp.ones_like(x)
        y = _int_power(x, int(size))
        return y if e > 0 else _reciprocal(y)
    if 2 * e == int(2 * e) and size <= _FAST_POWER_MAX:  # a half-integer: k + 1/2
        with np.errstate(invalid="ignore"):  # sqrt of a negative: NaN, as np.power gives
            root = xp.sqrt(x)
        if size == 0.5:
            return root if e > 0 else _reciprocal(root)
        y = _mul_into(_int_power(x, int(size - 0.5)), root)
        if e < 0:
            y = _reciprocal(y)
        return y if _smallest(x) > 0 else _fix_special_bases(x, y, e, signed_zero=True)
    if x.dtype == np.float32 and math.isfinite(e):
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            y = xp.log(x)
            y *= np.float32(e)
            y = xp.exp(y, out=y)
        return y if _smallest(x) > 0 else _fix_special_bases(x, y, e, signed_zero=False)
    return xp.power(x, exponent)


def _smallest(x):
    """min(x) skipping NaN (NumPy's fmin.reduce, one fast pass); elsewhere a plain min."""
    if not x.size:
        return math.inf
    xp = backend.get_array_module(x)
    return xp.fmin.reduce(x, axis=None) if xp is np else x.min()


def _fix_special_bases(x, y, e, signed_zero):
    """Where a base is 0 or below, make x^k sqrt(x) and exp(e log x) agree with pow: a
    non-integer power is never negative (x = -0 gave -0 or -inf), and pow(-inf, e) is inf
    (e > 0) or 0 where sqrt and log give NaN. Negative bases stay NaN."""
    xp = backend.get_array_module(x)
    if signed_zero:
        y = xp.abs(y, out=y)
    y[x == -math.inf] = math.inf if e > 0 else 0.0
    return y


def _int_power(x, n):
    """x^n (n >= 1) by square-and-multiply; x itself is never written."""
    if n <= 3:
        return x.copy() if n == 1 else x * x if n == 2 else _mul_into(x * x, x)
    result, base = None, x
    while n:
        if n & 1:
            result = base.copy() if result is None else _mul_into(result, base)
        n >>= 1
        if n:
            base = base * base
    return result


def _mul_into(a, b):
    a *= b
    return a


def _reciprocal(y):
    with np.errstate(divide="ignore"):  # 1 / 0 is inf, as 0 ** -n is
        return backend.get_array_module(y).reciprocal(y, out=y)


def _pow(a, exponent):
    """``a ** exponent`` on an array (through ``power``) or a Tensor (recorded)."""
    if dual.is_graph(a):
        return a ** exponent
    if type(a) is np.ndarray and a.dtype.kind == "f":
        return power(a, exponent)
    return a ** exponent


class Neg(Op):
    def forward(self, x):
        return -x

    def backward(self, g, x):
        return -g


def add(input, other, alpha=1):  # noqa: A002 - PyTorch's argument names
    """``input + alpha * other``, broadcasting."""
    return Add.apply(input, other if alpha == 1 else other * alpha)


def sub(input, other, alpha=1):  # noqa: A002 - PyTorch's argument names
    return Sub.apply(input, other if alpha == 1 else other * alpha)


def mul(input, other):  # noqa: A002 - PyTorch's argument names
    return Mul.apply(input, other)


def div(input, other):  # noqa: A002 - PyTorch's argument names
    """True division; integer tensors give floats, as in PyTorch."""
    return Div.apply(input, other)


def pow(input, exponent):  # noqa: A001,A002 - PyTorch's name
    return Pow.apply(input, exponent)


def neg(x):
    return Neg.apply(x)


def square(x):
    return Pow.apply(x, 2)


# --- one-input functions -----------------------------------------------------------------

class Exp(Op):
    saves_output = True
    caches = ("y",)

    def forward(self, x):
        self.y = np.exp(_as_float(x))
        return self.y

    def backward(self, g, x):
        return g * self.saved_output(dual.is_graph(g))


class Log(Op):
    def forward(self, x):
        return np.log(_as_float(x))

    def backward(self, g, x):
        return g / x


class Log1p(Op):
    def forward(self, x):
        return np.log1p(_as_float(x))

    def backward(self, g, x):
        return g / (x + 1)


class Log2(Op):
    def forward(self, x):
        return np.log2(_as_float(x))

    def backward(self, g, x):
        return g / (x * math.log(2))


class Log10(Op):
    def forward(self, x):
        return np.log10(_as_float(x))

    def backward(self, g, x):
        return g / (x * math.log(10))


class Expm1(Op):
    def forward(self, x):
        return np.expm1(_as_float(x))

    def backward(self, g, x):
        return g * dual.exp(x)


class Sqrt(Op):
    saves_output = True
    caches = ("y",)

    def forward(self, x):
        self.y = np.sqrt(_as_float(x))
        return self.y

    def backward(self, g, x):
        return g / (2 * self.saved_output(dual.is_graph(g)))


class Rsqrt(Op):
    def forward(self, x):
        return 1 / np.sqrt(_as_float(x))

    def backward(self, g, x):
        return g * -0.5 * _pow(x, -1.5)


class Abs(Op):
    def forward(self, x):
        return np.abs(x)

    def backward(self, g, x):
        return g * dual.sign(x)


class Sign(Op):
    def forward(self, x):
        return np.sign(x)

    def backward(self, g, x):
        return g * 0


class Sin(Op):
    def forward(self, x):
        return np.sin(_as_float(x))

    def backward(self, g, x):
        return g * dual.cos(x)


class Cos(Op):
    def forward(self, x):
        return np.cos(_as_float(x))

    def backward(self, g, x):
        return -g * dual.sin(x)


class Tanh(Op):
    saves_output = True
    caches = ("y",)

    def forward(self, x):
        self.y = np.tanh(_as_float(x))
        return self.y

    def backward(self, g, x):
        y = self.saved_output(dual.is_graph(g))
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
        y = self.saved_output(dual.is_graph(g))
        return g * (y * (1 - y))


class Relu(Op):
    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, g, x):
        return g * (dual.value(x) > 0)


class LeakyRelu(Op):
    def forward(self, x, slope):
        return np.where(x > 0, x, x * slope)

    def backward(self, g, x, slope):
        return dual.where(dual.value(x) > 0, g, g * slope), None


class Elu(Op):
    """alpha (e^x - 1) for x <= 0, x above."""

    def forward(self, x, alpha):
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, g, x, alpha):
        neg_part = dual.exp(dual.where(dual.value(x) > 0, 0, x)) if dual.is_graph(g) \
            else np.exp(np.minimum(x, 0))
        return dual.where(dual.value(x) > 0, g, g * alpha * neg_part), None


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _erf_taylor_table(step, n_centers, n_terms):
    """Taylor coefficients of erf around the centers 0, step, 2 step, ... (rows), in float64.

    erf^(n)(c) = 2/sqrt(pi) (-1)^(n-1) H_(n-1)(c) e^(-c^2), H the physicists' Hermite
    polynomials (H_(k+1) = 2c H_k - 2k H_(k-1)); erf(c) itself comes from ``math.erf``.
    """
    table = np.zeros((n_terms, n_centers))
    for j in range(n_centers):
        c = j * step
        table[0, j] = math.erf(c)
        h_prev, h, factorial = 0.0, 1.0, 1.0
        for n in range(1, n_terms):
            factorial *= n
            table[n, j] = 2 / math.sqrt(math.pi) * (-1) ** (n - 1) * h * math.exp(-c * c) / factorial
            h_prev, h = h, 2 * c * h - 2 * (n - 1) * h_prev
    return table


# erf(|x|) for |x| <= 6 (beyond, erf is 1 in float64) as a Taylor polynomial around the nearest
# multiple of 1/16: |x - c| <= 1/32, so 9 terms give float64 to an ulp and 5 terms float32.
_ERF_STEP, _ERF_CENTERS = 1 / 16, 97
_ERF_TABLE = {np.dtype(np.float64): _erf_taylor_table(_ERF_STEP, _ERF_CENTERS, 9)}
_ERF_TABLE[np.dtype(np.float32)] = _ERF_TABLE[np.dtype(np.float64)][:5].astype(np.float32)


def _erf(x):
    """Vectorized erf, accurate to an ulp of float64 (NumPy has none; no SciPy in the core)."""
    table = _ERF_TABLE.get(x.dtype)
    if table is None:  # float16 and friends: compute in float32
        return _erf(x.astype(np.float32)).astype(x.dtype)
    a = np.minimum(np.abs(x), 6)  # NaN stays NaN here and in d, so erf(NaN) is NaN
    idx = np.rint(np.fmin(a, 6) * (1 / _ERF_STEP)).astype(np.intp)
    d = a - (idx * _ERF_STEP).astype(x.dtype)  # intp * float would give float64
    r = np.take(table[-1], idx)
    for k in range(len(table) - 2, -1, -1):
        r *= d
        r += np.take(table[k], idx)
    return np.copysign(r, x)


class Gelu(Op):
    """x Phi(x) (exact, erf) or PyTorch's tanh approximation with ``approximate='tanh'``."""

    caches = ("cdf",)  # Phi(x) of the exact form: backward needs it again, erf is dear

    def forward(self, x, approximate):
        if approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
        cdf = _erf(x * _INV_SQRT_2)
        cdf += 1
        cdf *= 0.5
        self.cdf = cdf
        return x * cdf

    def backward(self, g, x, approximate):
        if approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
            t = tanh(inner) if dual.is_graph(g) else np.tanh(inner)
            dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dinner), None
        cdf = None if dual.is_graph(g) else getattr(self, "cdf", None)
        if cdf is None:
            cdf = 0.5 * (1 + (erf(x * _INV_SQRT_2) if dual.is_graph(g) else _erf(x * _INV_SQRT_2)))
        pdf = dual.exp(-0.5 * x * x) * _INV_SQRT_2PI
        return g * (cdf + x * pdf), None


class Erf(Op):
    def forward(self, x):
        return _erf(x)

    def backward(self, g, x):
        return g * (2 / math.sqrt(math.pi)) * dual.exp(-x * x)


class Softplus(Op):
    """log(1 + e^(beta x)) / beta, linear above ``threshold`` as in PyTorch."""

    def forward(self, x, beta, threshold):
        bx = x * beta
        return np.where(bx > threshold, x, np.logaddexp(0, bx) / beta)

    def backward(self, g, x, beta, threshold):
        bx = x * beta
        s = sigmoid(bx) if dual.is_graph(g) else Sigmoid().forward(bx)
        return dual.where(dual.value(bx) > threshold, g, g * s), None, None


class Clamp(Op):
    torch_name = "ClampBackward1"

    def forward(self, x, lo, hi):
        return np.clip(x, lo, hi)

    def backward(self, g, x, lo, hi):
        xv = dual.value(x)
        inside = np.ones(xv.shape, dtype=bool)
        if lo is not None:
            inside &= xv >= dual.value(lo)
        if hi is not None:
            inside &= xv <= dual.value(hi)
        return g * inside, None, None


class Maximum(Op):
    """Ties split the gradient in half between both sides, as in PyTorch."""

    def forward(self, a, b):
        return _promote(np.maximum, a, b)

    def backward(self, g, a, b):
        av, bv = dual.value(a), dual.value(b)
        share = (av > bv) + 0.5 * (av == bv)
        return g * share.astype(dual.value(g).dtype), g * (1 - share).astype(dual.value(g).dtype)


class Minimum(Op):
    def forward(self, a, b):
        return _promote(np.minimum, a, b)

    def backward(self, g, a, b):
        av, bv = dual.value(a), dual.value(b)
        share = (av < bv) + 0.5 * (av == bv)
        return g * share.astype(dual.value(g).dtype), g * (1 - share).astype(dual.value(g).dtype)


class Where(Op):
    def forward(self, condition, a, b):
        return _promote(lambda x, y: np.where(condition, x, y), a, b)

    def backward(self, g, condition, a, b):
        c = dual.value(condition)
        ga = dual.where(c, g, 0) if _wants(self, 1) else None
        gb = dual.where(c, 0, g) if _wants(self, 2) else None
        return None, ga, gb


class Cast(Op):
    """Change dtype; the engine casts the gradient back to the input's dtype."""

    torch_name = "ToCopyBackward0"

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, g, x, dtype):
        return g, None


class ToDevice(Op):
    """Move between CPU and GPU inside the graph; the gradient moves back."""

    torch_name = "ToCopyBackward0"

    def forward(self, x, device):
        return backend.to_device(x, device)

    def backward(self, g, x, device):
        return (g.to(backend.device_of(x)) if dual.is_graph(g)
                else backend.to_device(g, backend.device_of(x))), None


class Clone(Op):
    def forward(self, x):
        return x.copy()

    def backward(self, g, x):
        return g


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def log1p(x):
    return Log1p.apply(x)


def expm1(x):
    return Expm1.apply(x)


def log2(x):
    return Log2.apply(x)


def log10(x):
    return Log10.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def rsqrt(x):
    return Rsqrt.apply(x)


def abs(x):  # noqa: A001 - PyTorch's name
    return Abs.apply(x)


def sign(x):
    return Sign.apply(x)


def sin(x):
    return Sin.apply(x)


def cos(x):
    return Cos.apply(x)


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


def erf(x):
    return Erf.apply(x)


def softplus(x, beta=1.0, threshold=20.0):
    return Softplus.apply(x, beta, threshold)


def silu(x):
    """x * sigmoid(x)."""
    return Mul.apply(x, Sigmoid.apply(x))


def clamp(x, min=None, max=None):  # noqa: A002 - PyTorch's names
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return Clamp.apply(x, min, max)


clip = clamp


def maximum(input, other):  # noqa: A002 - PyTorch's argument names
    return Maximum.apply(input, other)


def minimum(input, other):  # noqa: A002 - PyTorch's argument names
    return Minimum.apply(input, other)


def where(condition, input, other):  # noqa: A002 - PyTorch's argument names
    """Elements of ``input`` where ``condition`` holds, else of ``other``; no gradient to the
    condition."""
    c = condition._array if isinstance(condition, Tensor) else np.asarray(condition)
    if c.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got dtype {c.dtype}")
    return Where.apply(c, input, other)


def cast(x, dtype):
    return Cast.apply(x, np.dtype(dtype))


def clone(x):
    return Clone.apply(x)


def to_device(x, device):
    return ToDevice.apply(x, device)


# --- comparisons and logic: no gradient --------------------------------------------------

def _data(x):
    return x._array if isinstance(x, Tensor) else x


def _named(name, fn, a, b):
    try:
        return _make(fn(_data(a), _data(b)))
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def eq(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("eq", np.equal, input, other)


def ne(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("ne", np.not_equal, input, other)


def lt(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("lt", np.less, input, other)


def le(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("le", np.less_equal, input, other)


def gt(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("gt", np.greater, input, other)


def ge(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("ge", np.greater_equal, input, other)


def logical_and(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("logical_and", np.logical_and, input, other)


def logical_or(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("logical_or", np.logical_or, input, other)


def logical_xor(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("logical_xor", np.logical_xor, input, other)


def logical_not(x):
    return _make(np.logical_not(_data(x)))


def isnan(x):
    return _make(np.isnan(_data(x)))


def isinf(x):
    return _make(np.isinf(_data(x)))


def isfinite(x):
    return _make(np.isfinite(_data(x)))


def allclose(input, other, rtol=1e-5, atol=1e-8):  # noqa: A002 - PyTorch's argument names
    return bool(np.allclose(_data(input), _data(other), rtol=rtol, atol=atol))


def equal(input, other):  # noqa: A002 - PyTorch's argument names
    return bool(np.array_equal(_data(input), _data(other)))
