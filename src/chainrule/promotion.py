"""The one dtype rule: what dtype ``a op b`` has, and which casts an in-place op may make.

PyTorch's type promotion, which every binary op, ``cat``, ``where`` and in-place op follow:

- Categories rank bool < integer < floating. The result takes the highest category among
  the operands, and within it the widest dtype among the operands *of that category*, where
  tensors with dimensions count first, then 0-d tensors, then Python numbers.
- A Python float (or a 0-d float tensor) meeting only integer tensors gives the default
  float (float32), never float64; a Python int never widens an integer tensor.
- ``matmul``/``mm``/``linear`` do not promote: operands of different dtypes raise (as
  PyTorch does), and so do integer operands of ``linear``.
- An in-place op keeps its tensor's dtype, and refuses a result of a higher category
  (a float into an int tensor, an int into a bool tensor).

    >>> result_type(cr.ones(2, dtype=cr.int64), 2.5)
    dtype('float32')
    >>> result_type(cr.ones(2), cr.ones((), dtype=cr.float64))   # dims win: float32
    dtype('float32')
"""

from __future__ import annotations

import numpy as np

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _category(dtype) -> int:
    return _CATEGORY[np.dtype(dtype).kind]


def result_type(*operands, default_float=None):
    """The dtype of an elementwise op on ``operands`` (Tensors, arrays or Python numbers)."""
    from . import backend  # noqa: PLC0415 - backend's default float can change at run time

    tiers = ([], [], [])      # dtypes of dimensioned tensors, 0-d tensors, Python numbers
    for x in operands:
        arr = getattr(x, "_array", x)
        if isinstance(arr, (bool, np.bool_)):
            tiers[2].append(np.dtype(np.bool_))
        elif isinstance(arr, (int, np.integer)) and not isinstance(arr, np.ndarray):
            tiers[2].append(np.dtype(np.int64))
        elif isinstance(arr, (float, np.floating)) and not isinstance(arr, np.ndarray):
            tiers[2].append(None)  # a Python float: the default float if it decides
        elif hasattr(arr, "dtype") and hasattr(arr, "ndim"):
            tiers[0 if arr.ndim else 1].append(np.dtype(arr.dtype))
        else:
            raise TypeError(f"result_type: unsupported operand of type {type(x).__name__}")
    floating = default_float or backend.default_float

    def cat(d):
        return 2 if d is None else _category(d)

    top = max(cat(d) for tier in tiers for d in tier)
    for tier in tiers:
        members = [d for d in tier if cat(d) == top]
        if members:
            known = [d for d in members if d is not None]
            if not known:
                return np.dtype(floating)
            return np.result_type(*known)
    raise TypeError("result_type: no operands")


def check_inplace_cast(name, result_dtype, target_dtype) -> None:
    """Refuse writing a result into a tensor of a lower category (torch's ``canCast``)."""
    if _category(result_dtype) > _category(target_dtype):
        raise RuntimeError(
            f"{name}: result type {np.dtype(result_dtype)} can't be cast to the desired output "
            f"type {np.dtype(target_dtype)} of the tensor modified in place")


def check_same_dtype(name, *arrays) -> None:
    """Ops that do not promote (matmul, linear) refuse operands of different dtypes."""
    dtypes = [np.dtype(a.dtype) for a in arrays if a is not None and hasattr(a, "dtype")]
    if len(set(dtypes)) > 1:
        raise RuntimeError(
            f"{name}: expected both operands to have the same dtype, but got "
            f"{' and '.join(str(d) for d in dtypes)}; convert one with .to(dtype)")


class NoKernelForDtype(TypeError, NotImplementedError):
    """An op that has no kernel for a dtype (softmax of ints, histc of ints): torch raises
    NotImplementedError there; as a TypeError too, it is caught as the dtype error it is."""


def check_float_input(name, dtype, what="floating-point tensors") -> None:
    """Refuse a non-float input to an op that computes only on floats."""
    if dtype.kind not in "fc":
        raise NoKernelForDtype(f"{name}: not implemented for dtype {dtype} (it takes {what} "
                               "only; convert the input with .float() first)")


def result_type_of(tensor, other):
    """``torch.result_type``: the dtype an elementwise op of the two would give (a chainrule
    dtype)."""
    from . import backend  # noqa: PLC0415
    return backend.of_numpy(result_type(tensor, other))


def promote_types(type1, type2):
    """The smallest dtype both promote to, by torch's categories (bool < int < float)."""
    from . import backend  # noqa: PLC0415
    a, b = np.dtype(backend.to_dtype(type1)), np.dtype(backend.to_dtype(type2))
    ca, cb = _category(a), _category(b)
    if ca != cb:  # the higher category wins with its own dtype (int32 with float16: float16)
        return backend.of_numpy(a if ca > cb else b)
    return backend.of_numpy(np.promote_types(a, b))


def can_cast(from_, to):
    """Whether torch casts ``from_`` to ``to`` implicitly (not to a lower category)."""
    from . import backend  # noqa: PLC0415
    return _category(backend.to_dtype(from_)) <= _category(backend.to_dtype(to))
