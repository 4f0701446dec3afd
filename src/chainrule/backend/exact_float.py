"""Bit-exact float arithmetic that NumPy lacks: fused multiply-add and torch's AVX2 log/sincos.

torch's CPU kernels are compiled with fused multiply-adds and, for ``randn`` of float32 at
sizes >= 16, with Cephes-style polynomial ``log``/``sincos`` on 8 lanes (ATen's
``avx_mathfun.h``). To reproduce their numbers bit for bit we evaluate the same algorithms
here with NumPy's correctly rounded elementwise +, -, * and bit operations.

    >>> fma32(np.float32([0.5]), np.float32([3.0]), np.float32([1.0]))
    array([2.5], dtype=float32)
"""

from __future__ import annotations

import numpy as np

_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's constant splits a double into two 26-bit halves


def _two_sum(a, b):
    """s, e with s = fl(a + b) and s + e = a + b exactly (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_prod(a, b):
    """p, e with p = fl(a * b) and p + e = a * b exactly (Dekker, Veltkamp split)."""
    p = a * b
    ca, cb = _SPLIT * a, _SPLIT * b
    ah, bh = ca - (ca - a), cb - (cb - b)
    al, bl = a - ah, b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _round_to_odd_sum(a, b):
    """a + b in float64 rounded to odd: the neighbour with an odd last bit when inexact.

    Rounding to odd first and to nearest second gives a correctly rounded result
    (Boldo and Melquiond, 2008); it is what makes the emulated fused operations exact.
    """
    s, e = _two_sum(a, b)
    inexact = e != 0
    even = (s.view(np.int64) & 1) == 0
    fix = inexact & even
    if np.any(fix):
        s = np.where(fix, np.nextafter(s, np.where(e > 0, np.inf, -np.inf)), s)
    return s


def fma32(a, b, c):
    """float32 ``a * b + c`` rounded once, as an FMA instruction computes it."""
    a, b, c = (np.asarray(v, np.float32).astype(np.float64) for v in (a, b, c))
    # The product of two float32 is exact in float64; only the sum needs care.
    return _round_to_odd_sum(a * b, c).astype(np.float32)


def fma64(a, b, c):
    """float64 ``a * b + c`` rounded once (exact unless an intermediate over- or underflows)."""
    a, b, c = (np.asarray(v, np.float64) for v in (a, b, c))
    ph, pl = _two_prod(a, b)
    th, tl = _two_sum(c, ph)
    return th + _round_to_odd_sum(tl, pl)


# --- torch's 8-lane float32 log and sincos (Cephes polynomials), used by randn ------------

_f = np.float32
_LOG_P = [_f(v) for v in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
                          1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
                          3.3333331174e-1)]
_LOG_Q1, _LOG_Q2 = _f(-2.12194440e-4), _f(0.693359375)
_SQRT_HALF = _f(0.707106781186547524)
_FOUR_OVER_PI = _f(1.27323954473516)
_DP = [_f(v) for v in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8)]
_SIN_P = [_f(v) for v in (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)]
_COS_P = [_f(v) for v in (2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2)]
_ONE, _HALF = _f(1.0), _f(0.5)


def _muladd(a, b, c):
    # The compiler fuses each multiply followed by an add into one FMA in torch's build.
    return fma32(a, b, c)


def log_avx(x):
    """Natural log of positive normal float32 ``x``, as torch's vectorized randn computes it."""
    x = np.maximum(x.astype(np.float32), _f(1.1754944e-38))
    bits = x.view(np.int32)
    e = ((bits >> 23) - 127).astype(np.float32) + _ONE
    m = ((bits & ~0x7F800000) | np.float32(0.5).view(np.int32)).view(np.float32)  # in [0.5, 1)
    small = m < _SQRT_HALF
    e = e - np.where(small, _ONE, _f(0))
    m = (m - _ONE) + np.where(small, m, _f(0))
    z = m * m
    y = np.full_like(m, _LOG_P[0])
    for p in _LOG_P[1:]:
        y = _muladd(y, m, p)
    y = y * m
    y = _muladd(y, z, e * _LOG_Q1)
    y = _muladd(-z, _HALF, y)  # exact products (a power of two; a short constant): fused
    return _muladd(e, _LOG_Q2, m + y)  # or not, the result is the same


def sincos_avx(x):
    """(sin x, cos x) of float32 ``x`` (|x| < 8192), as torch's vectorized randn computes them."""
    x = x.astype(np.float32)
    sin_sign = np.signbit(x)
    x = np.abs(x)
    j = (x * _FOUR_OVER_PI).astype(np.int32)
    j = (j + 1) & ~1
    y = j.astype(np.float32)
    sin_sign ^= (j & 4) != 0
    cos_sign = (~(j - 2) & 4) != 0
    use_sin_poly = (j & 2) == 0  # for sin: the sine polynomial; for cos: the cosine one
    for dp in _DP:  # extended-precision reduction x - y * pi/4
        x = _muladd(y, dp, x)
    z = x * x
    c = _muladd(np.full_like(z, _COS_P[0]), z, _COS_P[1])
    c = _muladd(c, z, _COS_P[2])
    c = c * z
    c = _muladd(c, z, -(z * _HALF)) + _ONE
    s = _muladd(np.full_like(z, _SIN_P[0]), z, _SIN_P[1])
    s = _muladd(s, z, _SIN_P[2])
    s = s * z
    s = _muladd(s, x, x)
    sin = np.where(use_sin_poly, s, c)
    cos = np.where(use_sin_poly, c, s)
    return np.where(sin_sign, -sin, sin), np.where(cos_sign, -cos, cos)
