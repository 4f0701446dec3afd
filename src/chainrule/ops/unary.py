"""Unary math and selection: exp, log, sqrt, sin, abs, sign, erf, clamp, maximum, where, ...

The elementwise math functions that are neither arithmetic (``arithmetic.py``) nor
activations (``activation.py``, for the functions that have an ``nn`` layer), together with
the elementwise selections (clamp, maximum, minimum, where) and the dtype / device / copy
ops (cast, to_device, clone). Float functions of int tensors compute in the default float,
as in PyTorch.

    >>> x = cr.tensor([1.0, 4.0], requires_grad=True)
    >>> cr.sqrt(x).sum().backward()
    >>> x.grad
    tensor([0.5000, 0.2500])
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd.function import Op
from ..tensor import Tensor
from . import either
from .arithmetic import _as_float, _promote, _wants


class Exp(Op):
    saves_output = True
    caches = ("y",)

    def forward(self, x):
        self.y = np.exp(_as_float(x))
        return self.y

    def backward(self, g, x):
        return g * self.saved_output(g)


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
        return g * either.exp(x)


class Sqrt(Op):
    saves_output = True
    caches = ("y",)

    def forward(self, x):
        self.y = np.sqrt(_as_float(x))
        return self.y

    def backward(self, g, x):
        return g / (2 * self.saved_output(g))


class Rsqrt(Op):
    """y = 1 / sqrt(x); dy = -y^3 / 2, written in the output as torch (so rsqrt(-0) = -inf
    has gradient +inf, and a nan output a nan gradient)."""

    saves_output = True
    caches = ("y",)

    def forward(self, x):
        self.y = 1 / np.sqrt(_as_float(x))
        return self.y

    def backward(self, g, x):
        y = self.saved_output(g)
        return g * (-0.5 * y * y * y)


class Abs(Op):
    def forward(self, x):
        return np.abs(x)

    def backward(self, g, x):
        return g * _sign(either.value(x))


def _sign(x):
    """torch's sign: -1, 0 or 1, and 0 for nan (NumPy's sign gives nan there)."""
    return (x > 0).astype(x.dtype) - (x < 0) if x.dtype.kind == "f" else np.sign(x)


class Sign(Op):
    def forward(self, x):
        return _sign(x)

    def backward(self, g, x):
        return g * 0


class Sin(Op):
    def forward(self, x):
        return np.sin(_as_float(x))

    def backward(self, g, x):
        return g * either.cos(x)


class Cos(Op):
    def forward(self, x):
        return np.cos(_as_float(x))

    def backward(self, g, x):
        return -g * either.sin(x)


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
_ERF_ON_DEVICE = {}  # (array module, dtype) -> the table copied there once


def _erf_table(x):
    if type(x) is np.ndarray:
        return _ERF_TABLE.get(x.dtype)
    xp = backend.get_array_module(x)
    key = (xp, x.dtype)
    if key not in _ERF_ON_DEVICE:
        host = _ERF_TABLE.get(x.dtype)
        _ERF_ON_DEVICE[key] = None if host is None else xp.asarray(host)
    return _ERF_ON_DEVICE[key]


#: Bytes of the first input per block of ``in_blocks``: a few L2-sized pieces.
_BLOCK_BYTES = 1 << 18


def _block_size(arrays):
    """Elements per block for same-shaped large host ``arrays``, else None (one call)."""
    x = arrays[0]
    block = _BLOCK_BYTES // x.itemsize
    if x.size <= 2 * block or any(type(a) is not np.ndarray or a.shape != x.shape
                                  for a in arrays):
        return None
    return block


def in_blocks(fn, *arrays):
    """``fn(*arrays)`` for an elementwise ``fn`` of same-shaped arrays, computed over 256 KB
    blocks when they are large host arrays: fn's passes (erf has ~20) then run in the L2
    cache instead of streaming the whole arrays through memory each time. The result is
    fn's, bit for bit (2.5x faster for erf of GELU's (1024, 512) float32 hidden layer)."""
    x = arrays[0]
    block = _block_size(arrays)
    if block is None:
        return fn(*arrays)
    flats = [a.reshape(-1) for a in arrays]
    out = None
    for start in range(0, x.size, block):
        part = fn(*(f[start:start + block] for f in flats))
        if out is None:
            out = backend.get_array_module(part).empty(x.size, part.dtype)
        out[start:start + block] = part
    return out.reshape(x.shape)


def into_blocks(fn, arrays, n_out):
    """``in_blocks`` for an ``fn(*arrays, *outs)`` that writes ``n_out`` fresh arrays of the
    first one's shape: each result is written once, where it belongs, instead of block
    results being copied together. Returns the outputs."""
    x = arrays[0]
    xp = backend.get_array_module(x)
    outs = [xp.empty(x.shape, x.dtype) for _ in range(n_out)]
    block = _block_size(arrays)
    if block is None:
        fn(*arrays, *outs)
        return outs
    flats = [a.reshape(-1) for a in arrays] + [o.reshape(-1) for o in outs]
    for start in range(0, x.size, block):
        fn(*(f[start:start + block] for f in flats))
    return outs


def _erf(x):
    """Vectorized erf, accurate to an ulp of float64 (NumPy has none; no SciPy in the core)."""
    return in_blocks(_erf_polynomial, x)


def _erf_polynomial(x):
    table = _erf_table(x)
    if table is None:  # float16 and friends: compute in float32
        return _erf_polynomial(x.astype(np.float32)).astype(x.dtype)
    a = np.minimum(np.abs(x), 6)  # NaN stays NaN here and in d, so erf(NaN) is NaN
    # The nearest table point, in x's dtype: k / 16 is exact in any float, so d has the bits
    # of the float64 offset at half the memory traffic (fmin: a NaN reads entry 96).
    nearest = np.rint(np.fmin(a, 6) * (1 / _ERF_STEP))
    d = a - nearest * _ERF_STEP
    idx = nearest.astype(np.intp)
    r = np.take(table[-1], idx)
    for k in range(len(table) - 2, -1, -1):
        r *= d
        r += np.take(table[k], idx)
    return np.copysign(r, x)


class Erf(Op):
    def forward(self, x):
        return _erf(x)

    def backward(self, g, x):
        return g * (2 / math.sqrt(math.pi)) * either.exp(-x * x)


class Clamp(Op):
    torch_name = "ClampBackward1"

    def forward(self, x, lo, hi):
        return np.clip(x, lo, hi)

    def backward(self, g, x, lo, hi):
        xv = either.value(x)
        inside = backend.get_array_module(xv).ones(xv.shape, dtype=bool)
        if lo is not None:
            inside &= xv >= either.value(lo)
        if hi is not None:
            inside &= xv <= either.value(hi)
        return g * inside, None, None


class Maximum(Op):
    """Ties split the gradient in half between both sides, as in PyTorch."""

    def forward(self, a, b):
        return _promote(np.maximum, a, b)

    def backward(self, g, a, b):
        av, bv = either.value(a), either.value(b)
        share = (av > bv) + 0.5 * (av == bv)
        dtype = either.value(g).dtype
        return g * share.astype(dtype), g * (1 - share).astype(dtype)


class Minimum(Op):
    def forward(self, a, b):
        return _promote(np.minimum, a, b)

    def backward(self, g, a, b):
        av, bv = either.value(a), either.value(b)
        share = (av < bv) + 0.5 * (av == bv)
        dtype = either.value(g).dtype
        return g * share.astype(dtype), g * (1 - share).astype(dtype)


class Where(Op):
    def forward(self, condition, a, b):
        return _promote(lambda x, y: np.where(condition, x, y), a, b)

    def backward(self, g, condition, a, b):
        c = either.value(condition)
        ga = either.where(c, g, 0) if _wants(self, 1) else None
        gb = either.where(c, 0, g) if _wants(self, 2) else None
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
        return (g.to(backend.device_of(x)) if either.is_graph(g)
                else backend.to_device(g, backend.device_of(x))), None


class _Rounding(Op):
    """floor, ceil, trunc, round: a step function, its gradient 0 everywhere (as torch's);
    integers come back as they are."""

    def backward(self, g, x, *args):
        return (g * 0,) + (None,) * len(args)


class Floor(_Rounding):
    def forward(self, x):
        return np.floor(x) if x.dtype.kind == "f" else x.copy()


class Ceil(_Rounding):
    def forward(self, x):
        return np.ceil(x) if x.dtype.kind == "f" else x.copy()


class Trunc(_Rounding):
    def forward(self, x):
        return np.trunc(x) if x.dtype.kind == "f" else x.copy()


class Round(_Rounding):
    """Halves to even, as torch (and NumPy); ``decimals`` as torch's: x * 10^d rounded, / 10^d."""

    def forward(self, x, decimals):
        if x.dtype.kind != "f":
            return x.copy()
        if not decimals:
            return np.rint(x)
        scale = x.dtype.type(10.0 ** abs(decimals))
        return np.rint(x * scale) / scale if decimals > 0 else np.rint(x / scale) * scale


class Frac(Op):
    """x - trunc(x), the sign of x kept; its gradient 1."""

    def forward(self, x):
        if x.dtype.kind != "f":
            raise TypeError(f"frac: needs a floating-point tensor, got dtype {x.dtype}")
        return x - np.trunc(x)

    def backward(self, g, x):
        return g


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


def erf(x):
    return Erf.apply(x)


def floor(x):
    return Floor.apply(x)


def ceil(x):
    return Ceil.apply(x)


def trunc(x):
    return Trunc.apply(x)


fix = trunc


def round(x, decimals=0):  # noqa: A001 - PyTorch's name
    if not isinstance(decimals, (int, np.integer)) or isinstance(decimals, bool):
        raise TypeError(f"round: decimals must be an int, got {type(decimals).__name__}")
    return Round.apply(x, int(decimals))


def frac(x):
    return Frac.apply(x)


class NanToNum(Op):
    """nan, +inf and -inf replaced (by 0 and the dtype's largest and smallest finite values
    unless given, as torch); the gradient passes where x is finite, 0 elsewhere (torch's)."""

    def forward(self, x, nan, posinf, neginf):
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g, x, nan, posinf, neginf):
        finite = either.value(x)
        finite = backend.get_array_module(finite).isfinite(finite)
        return (either.where(finite, g, 0.0) if either.is_graph(g) else g * finite), \
            None, None, None


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    if x.dtype.kind != "f":
        return clone(x)
    return NanToNum.apply(x, nan, posinf, neginf)


def lerp(input, end, weight):  # noqa: A002 - PyTorch's argument names
    """``input + weight (end - input)``, computed as torch's formula does: from ``end`` where
    ``|weight| >= 0.5``, so that weight 1 gives ``end`` exactly (torch's vectorized kernel
    fuses the multiply-add: its last bit may differ from this one's)."""
    if isinstance(weight, Tensor):
        near = abs(weight) < 0.5
        return where(near, input + weight * (end - input), end - (end - input) * (1 - weight))
    if abs(weight) < 0.5:
        return input + weight * (end - input)
    return end - (end - input) * (1 - weight)


def addcmul(input, tensor1, tensor2, value=1):  # noqa: A002 - PyTorch's argument names
    """``input + value * tensor1 * tensor2``."""
    return input + value * tensor1 * tensor2


def addcdiv(input, tensor1, tensor2, value=1):  # noqa: A002 - PyTorch's argument names
    """``input + value * tensor1 / tensor2``."""
    return input + value * tensor1 / tensor2


def clamp_min(x, min):  # noqa: A002 - PyTorch's names
    return clamp(x, min=min)


def clamp_max(x, max):  # noqa: A002 - PyTorch's names
    return clamp(x, max=max)


def clamp(x, min=None, max=None):  # noqa: A002 - PyTorch's names
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return Clamp.apply(x, min, max)


clip = clamp


def maximum(input, other):  # noqa: A002 - PyTorch's argument names
    return Maximum.apply(input, other)


def minimum(input, other):  # noqa: A002 - PyTorch's argument names
    return Minimum.apply(input, other)


def where(condition, input=None, other=None):  # noqa: A002 - PyTorch's argument names
    """Elements of ``input`` where ``condition`` holds, else of ``other``; no gradient to the
    condition. ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``, as torch's."""
    if input is None and other is None:
        from .index import nonzero  # noqa: PLC0415
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: give both input and other, or neither")
    c = either.array_of(condition)
    if c.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got dtype {c.dtype}")
    if type(c) is np.ndarray:  # a host mask (a constant of a rule, a list) for device inputs
        data = [t._array for t in (input, other) if isinstance(t, Tensor)]
        if data and type(data[0]) is not np.ndarray:
            c = backend.to_device(c, backend.device_of(data[0]))
        elif isinstance(condition, Tensor):  # an input of the op: a replay reads it anew
            c = condition
    return Where.apply(c, input, other)


def cast(x, dtype):
    return Cast.apply(x, np.dtype(dtype))


def clone(x):
    return Clone.apply(x)


def to_device(x, device):
    return ToDevice.apply(x, device)
