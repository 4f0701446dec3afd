"""``y += alpha * x`` rounded once, as torch rounds it: BLAS's axpy from the OpenBLAS NumPy ships.

NumPy has no fused multiply-add, so ``y += alpha * x`` rounds the product and then the sum,
in two passes over memory. torch's ``y.add_(x, alpha=alpha)`` -- every update of its SGD --
rounds once (a fused multiply-add): the two differ in the last bit of ~2% of the elements.
BLAS's axpy rounds once, in one pass: torch's numbers, and the SGD update of a 784 x 256
float32 weight takes 17 us instead of 46 in cache, 75 instead of 113 from memory. Arrays
below ``MIN_SIZE`` elements (biases, small layers) keep NumPy's two roundings, which are
faster there than a call into the library.

The library is the OpenBLAS of NumPy's wheel (``numpy.libs``, ``numpy/.dylibs``), checked
once on numbers whose single rounding differs from two roundings; where it is missing or
rounds twice, and for arrays that are not contiguous, ``add_scaled`` is NumPy's
``y += alpha * x`` (two roundings, a cache-sized block at a time).

    >>> y = np.ones(MIN_SIZE, np.float32)
    >>> add_scaled(y, 0.5, np.arange(MIN_SIZE, dtype=np.float32))[:3]
    array([1. , 1.5, 2. ], dtype=float32)
"""

from __future__ import annotations

import ctypes
import os
import threading

import numpy as np

BLOCK = 1 << 16  # the fallback's elements per pass: a block of each operand stays in cache
# Below this many elements NumPy's two roundings are kept: a call through ctypes costs ~1 us
# more than NumPy's two passes take there (float32, in cache: 2.8 us against 2.6 at 16,384).
MIN_SIZE = 1 << 14

_WINDOW = ctypes.c_char * 0  # a ctypes view of an array's buffer: its address for a C call
_axpy = {}                   # dtype -> axpy(n, alpha, x, incx, y, incy), when it rounds once
# OpenBLAS's kernels fuse the multiply-add in their SIMD body, on runs of 32 elements, and
# round twice in the scalar loop after it: the last n % 64 elements go through the body
# too, padded to 64.
_BODY = 64
_local = threading.local()


def add_scaled(y, alpha, x, scratch=None):
    """``y += alpha * x`` in place, with one rounding per element (torch's ``add_`` with
    ``alpha``) where BLAS's axpy is at hand and ``y`` has ``MIN_SIZE`` elements or more;
    returns ``y``. Where NumPy computes it, ``scratch`` (shaped like ``x``), if given, takes
    the product, so that nothing is allocated."""
    if y.size < MIN_SIZE:  # checked first: the common call (biases, small layers)
        y += x * alpha if scratch is None else np.multiply(x, alpha, out=scratch)
        return y
    if _fuses(y, alpha, x):
        return _fused(_axpy[y.dtype], y, alpha, x)
    with np.errstate(invalid="ignore"):  # alpha 0: torch gives y + 0 * inf = nan, quietly
        if scratch is not None:
            y += np.multiply(x, alpha, out=scratch)
        elif y.size > BLOCK and y.dtype.kind == "f" and _same_layout(y, x):
            _blocks(y.reshape(-1), alpha, x.reshape(-1))
        else:
            y += x * alpha
    return y


def scaled_sum(a, alpha, x, out):
    """``out = a + alpha * x`` (``a``, ``x`` and ``out`` of one shape, ``out`` neither of
    them), rounded once as ``add_scaled`` rounds; NumPy's two roundings otherwise, the
    product written into ``out`` first (two passes, nothing allocated). Returns ``out``."""
    if out.size >= MIN_SIZE and _fuses(out, alpha, x):
        np.copyto(out, a)
        return _fused(_axpy[out.dtype], out, alpha, x)
    np.multiply(x, alpha, out=out)
    out += a
    return out


def _same_layout(y, x):
    return type(y) is np.ndarray and type(x) is np.ndarray and y.flags.c_contiguous \
        and x.flags.c_contiguous and y.shape == x.shape and x.dtype == y.dtype


def _fuses(y, alpha, x):
    """Whether axpy computes ``y += alpha x`` here (alpha 0: BLAS returns y as it is). Not
    where ``x`` and ``y`` share memory but are not one array: axpy would read elements of x
    that it has already overwritten through y (NumPy copies the product first)."""
    return bool(alpha) and y.dtype in _axpy and _same_layout(y, x) and y.flags.writeable \
        and (x is y or not np.may_share_memory(y, x))


def fused() -> bool:
    """Whether ``add_scaled`` rounds once (BLAS's axpy was found and checked) for float32."""
    return np.dtype(np.float32) in _axpy


def _address(a):
    # ``from_buffer`` (0.35 us) needs a writable buffer; a read-only one gives its address.
    return _WINDOW.from_buffer(a) if a.flags.writeable else a.ctypes.data


def _fused(axpy, y, alpha, x):
    """axpy on contiguous ``y`` and ``x``: the body of runs of 64, then the tail padded."""
    n = y.size
    body = n - n % _BODY
    if body:
        axpy(body, alpha, _address(x), 1, _WINDOW.from_buffer(y), 1)
    if body != n:
        _tail(axpy, y.reshape(-1)[body:], alpha, x.reshape(-1)[body:])
    return y


def _tail(axpy, y, alpha, x):
    k = y.size
    pads = getattr(_local, "pads", None)
    if pads is None:
        pads = _local.pads = {}
    pad = pads.get(y.dtype)
    if pad is None:  # two padded runs and their addresses, per thread
        px, py = np.empty(_BODY, y.dtype), np.empty(_BODY, y.dtype)
        pad = pads[y.dtype] = (px, py, _WINDOW.from_buffer(px), _WINDOW.from_buffer(py))
    px, py, wx, wy = pad
    px[:k] = x
    py[:k] = y
    axpy(_BODY, alpha, wx, 1, wy, 1)
    y[...] = py[:k]


def _blocks(y, alpha, x):
    scratch = np.empty(BLOCK, y.dtype)
    for start in range(0, y.size, BLOCK):
        stop = min(start + BLOCK, y.size)
        y[start:stop] += np.multiply(x[start:stop], alpha, out=scratch[:stop - start])


def _libraries():
    """NumPy's bundled OpenBLAS, where its wheel put it."""
    root = os.path.dirname(np.__file__)
    for folder in (root + ".libs", os.path.join(root, ".dylibs")):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        yield from (os.path.join(folder, n) for n in names if "openblas" in n)


# The interfaces OpenBLAS builds export: symbol prefix, suffix and the integer type.
_SYMBOLS = (("scipy_cblas_", "64_", ctypes.c_int64), ("cblas_", "64_", ctypes.c_int64),
            ("scipy_cblas_", "", ctypes.c_int), ("cblas_", "", ctypes.c_int))


def _find():
    for path in _libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix, integer in _SYMBOLS:
            fns = {}
            for letter, dtype, real in (("s", np.float32, ctypes.c_float),
                                        ("d", np.float64, ctypes.c_double)):
                fn = getattr(lib, f"{prefix}{letter}axpy{suffix}", None)
                if fn is None:
                    break
                fn.argtypes = [integer, real, ctypes.c_void_p, integer, ctypes.c_void_p, integer]
                fn.restype = None
                fns[np.dtype(dtype)] = fn
            else:
                return fns
    return {}


def _rounds_once(axpy):
    """Whether float32 ``axpy`` is a fused multiply-add, body and tail: on x, y, alpha in
    [1, 2) the exact ``y + alpha x`` fits a float64, so rounding that to float32 is the one
    correct rounding (and on ~2% of such numbers two roundings differ from it)."""
    i = np.arange(3 * _BODY + 37, dtype=np.float64)
    x = (1 + (i * 0.6180339887) % 1).astype(np.float32)
    y = (1 + (i * 0.4142135623) % 1).astype(np.float32)
    alpha = 1.2345678
    exact = (y + np.float64(np.float32(alpha)) * x).astype(np.float32)
    got = _fused(axpy, y.copy(), alpha, x)
    return bool(np.array_equal(got, exact)) and not np.array_equal(y + x * alpha, exact)


def _load():
    try:
        found = _find()
        if found and _rounds_once(found[np.dtype(np.float32)]):
            _axpy.update(found)
    except (AttributeError, OSError, TypeError, ValueError):  # an unusual build: NumPy then
        _axpy.clear()


_load()


# --- the BLAS's thread count: cr.get_num_threads / set_num_threads -------------------------
_THREAD_SYMBOLS = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
                   ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
                   ("openblas_get_num_threads", "openblas_set_num_threads"))
_threads = {}


def _thread_functions():
    if "found" not in _threads:
        _threads["found"] = None
        for path in _libraries():
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for get, set_ in _THREAD_SYMBOLS:
                if hasattr(lib, get) and hasattr(lib, set_):
                    getter, setter = getattr(lib, get), getattr(lib, set_)
                    getter.restype, setter.restype = ctypes.c_int, None
                    setter.argtypes = [ctypes.c_int]
                    _threads["found"] = (getter, setter)
                    return _threads["found"]
    return _threads["found"]


def get_num_threads() -> int:
    """The threads chainrule's CPU kernels use: those of the BLAS that NumPy ships (its
    elementwise loops are single-threaded). Without a known BLAS, 1."""
    found = _thread_functions()
    return int(found[0]()) if found else 1


def set_num_threads(n: int) -> None:
    """Set the BLAS's thread count for the whole process (as torch's ``set_num_threads``)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: expects a positive int, got {n!r}")
    found = _thread_functions()
    if found is None:
        raise RuntimeError("set_num_threads: NumPy's BLAS does not expose its thread count "
                           "here; set OMP_NUM_THREADS / OPENBLAS_NUM_THREADS before starting")
    found[1](n)
