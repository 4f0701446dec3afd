"""Arithmetic: add, sub, mul, div, pow, neg, and the dtype rule they share.

Each op broadcasts like NumPy; the engine sums each gradient back to its input's shape, so
no rule here deals with broadcasting. Numbers on either side stay constants and never
upcast a float32 tensor (NumPy 2's promotion rules agree with PyTorch's here); where NumPy's
promotion differs from PyTorch's, ``_promote`` gives PyTorch's dtype (the other binary
elementwise ops use it too).

    >>> x = cr.tensor([-1.0, 2.0], requires_grad=True)
    >>> (x * 3 + 1).pow(2).sum().backward()
    >>> x.grad
    tensor([-12.,  42.])
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd.function import Op
from ..promotion import result_type
from ..tensor import Tensor
from . import either
from .either import wants as _wants



_float64 = np.dtype(np.float64)
_float16 = np.dtype(np.float16)
_ndarray = np.ndarray


def _is_array(v) -> bool:
    """An array of any device (NumPy's, CuPy's, the tests' strict one), not a NumPy scalar:
    the promotion rules below must see GPU arrays as tensors, as ``isinstance(v, np.ndarray)``
    would not."""
    return type(v) is _ndarray or (hasattr(v, "ndim") and hasattr(v, "dtype")
                                    and not isinstance(v, np.generic))


def _promote(fn, a, b):
    """``fn(a, b)`` in PyTorch's result dtype where NumPy's promotion differs from it.

    NumPy makes int with float, int / int, and float32 with a 0-d float64 array float64, small
    ints (uint8, bool) with a float float16, and uint8 with a 0-d int32 int32; PyTorch keeps
    float32 (``uint8 / 255.0``) and uint8. The answer is ``promotion.result_type``, the one
    rule; it is asked only where NumPy's can differ, so the common case costs two comparisons.
    """
    out = fn(a, b)
    char = out.dtype.char
    if char == "f":  # float32, the hot path: NumPy and PyTorch agree
        return out
    if char in "de":  # float64 or float16: maybe wider or coarser than torch's
        want = result_type(a, b)
        if want.kind in "biu":  # int / int, or a float function of ints: the default float
            want = backend.default_float
        if out.dtype == want:
            return out
        if out.dtype == _float16:  # computed too coarsely: again from float32 operands
            out = fn(_as_float(a), _as_float(b))
        return out.astype(want, copy=False)
    if char in _INT_CHARS and _zero_dim_meets_dims(a, b):  # NumPy widens to the 0-d's int
        return out.astype(result_type(a, b), copy=False)
    return out


_INT_CHARS = "bBhHiIlLqQ"


def _zero_dim_meets_dims(a, b) -> bool:
    """One operand a 0-d array, the other an array with dims: torch's dims win, NumPy's don't."""
    da, db = getattr(a, "ndim", None), getattr(b, "ndim", None)
    return da is not None and db is not None and (da == 0) != (db == 0)


def _as_float(x):
    """Float functions of int and bool tensors compute in the default float, as in PyTorch."""
    if type(x) is _ndarray:  # the common case, without a call
        return x.astype(backend.default_float) if x.dtype.kind in "biu" else x
    if _is_array(x) and x.dtype.kind in "biu":
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
        # -g (a / b) / b, as torch: its second derivative at b == 0 is +-inf (both terms of
        # the same sign), where -g a / (b b) would give inf * 0 = nan.
        gb = -g * ((a / b) / b) if _wants(self, 1) else None
        return ga, gb


def _trunc_divide(a, b):
    """C's integer division (toward zero) from NumPy's floor division, exact for any ints;
    for floats trunc(a / b)."""
    if np.result_type(a, b).kind == "f":
        return np.trunc(np.true_divide(a, b))
    q = np.floor_divide(a, b)
    return q + ((q < 0) & (q * b != a))


class DivRounding(Op):
    """``div(a, b, rounding_mode="floor" | "trunc")``: a step function of a and b, so its
    gradient is 0 for both (torch's)."""

    name = "div"
    torch_name = "DivBackward1"

    def forward(self, a, b, mode):
        ints = np.result_type(a, b).kind in "biu"
        if ints and bool((b == 0).any() if hasattr(b, "any") else b == 0):  # torch refuses too
            raise RuntimeError(f"div: integer division by zero (rounding_mode={mode!r})")
        with np.errstate(divide="ignore", invalid="ignore"):  # floats: inf and nan, as torch
            return _promote(np.floor_divide if mode == "floor" else _trunc_divide, a, b)

    def backward(self, g, a, b, mode):
        return (g * 0 if _wants(self, 0) else None), (g * 0 if _wants(self, 1) else None), None


class FloorDivide(DivRounding):
    """``a // b``: torch gives it no derivative at all (its backward raises); div with
    ``rounding_mode="floor"`` is the differentiable form (zero gradients)."""

    name = "floor_divide"
    torch_name = "NotImplemented"

    def backward(self, g, a, b, mode):
        raise RuntimeError("floor_divide (//): the derivative is not implemented, as in torch; "
                           "use div(a, b, rounding_mode='floor') for zero gradients")


class _Modulo(Op):
    """a - b * rounded(a / b): torch's gradients, 1 for a and -rounded(a / b) for b."""

    def backward(self, g, a, b):
        ga = g if _wants(self, 0) else None
        gb = None
        if _wants(self, 1):
            if either.is_graph(g):
                from . import unary  # noqa: PLC0415 - unary builds on this module
                gb = -g * getattr(unary, self.rounding)(a / b)
            else:
                gb = -g * getattr(np, self.rounding)(a / b)
        return ga, gb


class Fmod(_Modulo):
    """C's fmod: the remainder takes the sign of ``a``."""

    rounding = "trunc"

    def forward(self, a, b):
        return _promote(np.fmod, a, b)


class Remainder(_Modulo):
    """Python's %: the remainder takes the sign of ``b``."""

    rounding = "floor"

    def forward(self, a, b):
        return _promote(np.remainder, a, b)


class Pow(Op):
    """y = a ** b;  dy/da = b a^(b-1) (0 where b == 0, even where a^(b-1) is inf or nan,
    as in PyTorch), dy/db = a^b log a: nan where a < 0 (torch's value: the function is not
    real-valued around there), 0 where a == 0 and b >= 0, -inf where a == 0 and b < 0.

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
        if type(b) in _NUMBER and _is_array(a) and a.dtype.kind == "f":
            return power(a, b)
        return _promote(np.power, a, b)

    def backward(self, g, a, b):
        ga = gb = None
        if _wants(self, 0):
            if isinstance(b, (int, float)):
                ga = g * 2 * a if b == 2 else g * 0 if b == 0 else g * b * _pow(a, b - 1)
            else:
                zero = either.value(b) == 0
                with np.errstate(invalid="ignore", divide="ignore"):  # 0 ** -1 where b == 0
                    ga = g * b * a ** (b - 1)
                if np.any(zero):  # 0 there, not 0 * inf or 0 * nan (a = 0, +-inf, nan)
                    ga = either.where(zero, 0, ga)
        if _wants(self, 1):
            flat = (either.value(a) == 0) & (either.value(b) >= 0)
            with np.errstate(invalid="ignore", divide="ignore"):  # log of a <= 0, as torch
                gb = g * (a ** b * _log(a))
            if np.any(flat):
                gb = either.where(flat, 0, gb)
        return ga, gb


def _log(a):
    """log of a Tensor, an array or a number (the base of ``number ** tensor``)."""
    return either.log(a) if isinstance(a, (Tensor, np.ndarray)) else math.log(a) if a > 0 \
        else (-math.inf if a == 0 else math.nan)


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
    if either.is_graph(a):
        return a ** exponent
    if _is_array(a) and a.dtype.kind == "f":
        return power(a, exponent)
    return a ** exponent


class Neg(Op):
    def forward(self, x):
        return -x

    def backward(self, g, x):
        return -g


def add(input, other, alpha=1):  # noqa: A002 - PyTorch's argument names
    """``input + alpha * other``, broadcasting."""
    if alpha == 1:
        return Add.apply(input, other)
    check_alpha("add", input, other, alpha)
    return Add.apply(input, other * alpha)


def sub(input, other, alpha=1):  # noqa: A002 - PyTorch's argument names
    if alpha == 1:
        return Sub.apply(input, other)
    check_alpha("sub", input, other, alpha)
    return Sub.apply(input, other * alpha)


def check_alpha(name, input, other, alpha):
    """Refuse a float ``alpha`` where the sum is integral, as torch does (it would turn the
    integers into floats here, silently)."""
    if isinstance(alpha, (float, np.floating)) and _integral(input) and _integral(other):
        raise RuntimeError(f"{name}: for integral input tensors, argument alpha must not be a "
                           f"floating point number (got alpha={alpha})")


def _integral(v):
    if isinstance(v, Tensor):
        return v._array.dtype.kind in "biu"
    if isinstance(v, (bool, int, np.integer, np.bool_)):
        return True
    return isinstance(v, np.ndarray) and v.dtype.kind in "biu"


def mul(input, other):  # noqa: A002 - PyTorch's argument names
    return Mul.apply(input, other)


def div(input, other, *, rounding_mode=None):  # noqa: A002 - PyTorch's argument names
    """True division (integer tensors give floats, as in PyTorch); ``rounding_mode="floor"``
    rounds the quotient down (``//``), ``"trunc"`` toward zero, keeping integer dtypes."""
    if rounding_mode is None:
        return Div.apply(input, other)
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got "
                         f"{rounding_mode!r}")
    return DivRounding.apply(input, other, rounding_mode)


divide = true_divide = div


def floor_divide(input, other):  # noqa: A002 - PyTorch's argument names
    """``input // other``: the quotient rounded down, as torch's (and Python's)."""
    return FloorDivide.apply(input, other, "floor")


def fmod(input, other):  # noqa: A002 - PyTorch's argument names
    return Fmod.apply(input, other)


def remainder(input, other):  # noqa: A002 - PyTorch's argument names
    return Remainder.apply(input, other)


def pow(input, exponent):  # noqa: A001,A002 - PyTorch's name
    return Pow.apply(input, exponent)


def neg(x):
    return Neg.apply(x)


def square(x):
    return Pow.apply(x, 2)
