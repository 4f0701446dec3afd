"""chainrule's dtypes: ``cr.float32``, ``cr.bfloat16``, ... printing as torch's do.

Each ``cr.<name>`` wraps a NumPy dtype and stands in for it anywhere NumPy takes one
(``np.zeros(3, dtype=cr.float32)``, ``arr.astype(cr.int64)``, ``np.dtype(cr.float32)``): it
compares equal to ``np.float32`` and ``np.dtype("float32")``, hashes as the latter, and
has the NumPy dtype's attributes (``itemsize``, ``kind``, ``type``, ...) plus torch's
(``is_floating_point``, ``is_complex``, ``is_signed``). ``bfloat16`` has a name but no
NumPy dtype: using it for data raises a TypeError that says so.

    >>> cr.float32, cr.tensor([1.0]).dtype
    (chainrule.float32, chainrule.float32)
    >>> cr.float32 == np.float32, np.dtype(cr.int64)
    (True, dtype('int64'))
"""

from __future__ import annotations

import numpy as np


class dtype:  # noqa: N801 - torch's name
    """A tensor element type (see the module docstring)."""

    __slots__ = ("name", "_np", "kind", "char", "type")

    def __init__(self, name: str, numpy_dtype):
        np_dtype = None if numpy_dtype is None else np.dtype(numpy_dtype)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_np", np_dtype)
        # read on the ops' paths (``t.dtype.kind``): plain slots, not a lookup through NumPy
        object.__setattr__(self, "kind", "f" if np_dtype is None else np_dtype.kind)
        object.__setattr__(self, "char", None if np_dtype is None else np_dtype.char)
        object.__setattr__(self, "type", None if np_dtype is None else np_dtype.type)

    def __setattr__(self, name, value):
        raise AttributeError("dtype objects are immutable")

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype: how NumPy reads ``np.dtype(cr.float32)`` and ``dtype=cr.float32``."""
        if self._np is None:
            raise TypeError(f"chainrule.{self.name} is not supported for compute: NumPy has no "
                            f"{self.name} type; use chainrule.float32 (or float16)")
        return self._np

    @property
    def is_floating_point(self) -> bool:
        return self._np is None or self._np.kind == "f"  # bfloat16 is a float

    @property
    def is_complex(self) -> bool:
        return self._np is not None and self._np.kind == "c"

    @property
    def is_signed(self) -> bool:
        return self._np is None or self._np.kind in "fic"

    @property
    def itemsize(self) -> int:
        return 2 if self._np is None else self._np.itemsize

    def __getattr__(self, name):  # kind, char, type, str, ...: the NumPy dtype's
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.dtype, name)

    def __repr__(self):
        return f"chainrule.{self.name}"

    __str__ = __repr__

    def __eq__(self, other):
        if isinstance(other, dtype):
            return self.name == other.name
        if self._np is None or other is None:  # np.dtype(None) would be float64
            return False
        try:
            return self._np == np.dtype(other)
        except TypeError:
            return False

    def __hash__(self):
        return hash(self._np) if self._np is not None else hash(self.name)

    def __reduce__(self):
        return (_by_name, (self.name,))


_ALL = {}


def _define(name, numpy_dtype, *aliases):
    d = dtype(name, numpy_dtype)
    _ALL[name] = d
    for alias in aliases:
        _ALL[alias] = d
    return d


float32 = _define("float32", np.float32, "float")
float64 = _define("float64", np.float64, "double")
float16 = _define("float16", np.float16, "half")
bfloat16 = _define("bfloat16", None)
int64 = _define("int64", np.int64, "long")
int32 = _define("int32", np.int32, "int")
int16 = _define("int16", np.int16, "short")
int8 = _define("int8", np.int8)
uint8 = _define("uint8", np.uint8)
uint16 = _define("uint16", np.uint16)
uint32 = _define("uint32", np.uint32)
uint64 = _define("uint64", np.uint64)
bool_ = _define("bool", np.bool_)
complex64 = cfloat = _define("complex64", np.complex64, "cfloat")
complex128 = cdouble = _define("complex128", np.complex128, "cdouble")
double, half, long, short = float64, float16, int64, int16

# NumPy dtype -> chainrule dtype, for Tensor.dtype
_FROM_NUMPY = {d._np: d for d in _ALL.values() if d._np is not None}


def _by_name(name: str) -> dtype:
    return _ALL[name]


def of_numpy(numpy_dtype):
    """The chainrule dtype of a NumPy dtype (the NumPy dtype itself when chainrule has none)."""
    return _FROM_NUMPY.get(numpy_dtype, numpy_dtype)


def names() -> dict:
    """Every chainrule dtype by its names and aliases."""
    return dict(_ALL)


def is_floating_point(t) -> bool:
    """Whether tensor ``t`` holds floats (``cr.is_floating_point(t)``, as torch)."""
    return t._array.dtype.kind == "f"


class finfo:
    """A float dtype's limits, as ``torch.finfo``: ``bits``, ``eps``, ``max``, ``min``,
    ``tiny`` (= ``smallest_normal``), ``resolution`` as Python numbers, ``dtype`` its name
    (default: the default float; ``bfloat16`` too, which NumPy lacks).

        >>> cr.finfo(cr.float32).eps, cr.finfo(cr.float16).max
        (1.1920928955078125e-07, 65504.0)
    """

    def __init__(self, type=None):  # noqa: A002 - torch's argument name
        from . import get_default_dtype  # noqa: PLC0415 - the package imports this module

        t = type if type is not None else get_default_dtype()
        if getattr(t, "name", None) == "bfloat16":  # 8 exponent bits, 7 of mantissa
            self.bits, self.eps, self.resolution = 16, 2.0 ** -7, 0.01
            self.max = float((2 - 2.0 ** -7) * 2.0 ** 127)
            self.tiny = 2.0 ** -126
            name = "bfloat16"
        else:
            info = np.finfo(np.dtype(t))
            self.bits, self.eps = int(info.bits), float(info.eps)
            self.resolution = 10.0 ** -int(info.precision)  # torch's: 1e-06, not float32's
            self.max, self.tiny = float(info.max), float(info.tiny)
            name = np.dtype(t).name
        self.min = -self.max
        self.smallest_normal = self.tiny
        self.dtype = name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """An integer dtype's limits, as ``torch.iinfo``: ``bits``, ``min``, ``max`` as Python
    ints, ``dtype`` its name."""

    def __init__(self, type):  # noqa: A002 - torch's argument name
        info = np.iinfo(np.dtype(type))
        self.bits, self.min, self.max = int(info.bits), int(info.min), int(info.max)
        self.dtype = np.dtype(type).name

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"