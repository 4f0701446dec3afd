"""torch's legacy tensor types: ``FloatTensor``, ``LongTensor``, ... and ``Tensor.type``.

Older course code builds tensors with them and casts with them, as torch still allows:

    >>> cr.FloatTensor([1, 2])          # data: a copy, as float32
    tensor([1., 2.])
    >>> cr.LongTensor(2, 3).shape        # sizes: uninitialized
    chainrule.Size([2, 3])
    >>> cr.arange(3).type(cr.FloatTensor).dtype
    chainrule.float32
    >>> isinstance(cr.zeros(2), cr.FloatTensor)
    True
"""

from __future__ import annotations

from .backend.dtype import (
    bfloat16, bool_, float16, float32, float64, int8, int16, int32, int64, uint8,
)
from .tensor import Tensor, legacy_array


class _LegacyType(type):
    """The class of ``FloatTensor`` & co: calling one makes a chainrule Tensor of its dtype,
    and ``isinstance`` asks for that dtype (as torch's ``tensortype``)."""

    def __call__(cls, *args, device=None):
        if len(args) == 1 and isinstance(args[0], Tensor):
            data = args[0]
            if data.dtype != cls.dtype:
                raise TypeError(f"{cls.__name__}(): expected a tensor of dtype {cls.dtype}, got "
                                f"{data.dtype} (cast it with .type({cls.__name__}) or .to())")
            return data
        return Tensor._of(legacy_array(args, device, cls.dtype), device=device)

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype and not obj.is_cuda

    def __repr__(cls):
        return f"<class 'chainrule.{cls.__name__}'>"


def _legacy(name, dtype):
    return _LegacyType(name, (), {"dtype": dtype, "__doc__": f"Legacy tensor type of {dtype}."})


FloatTensor = _legacy("FloatTensor", float32)
DoubleTensor = _legacy("DoubleTensor", float64)
HalfTensor = _legacy("HalfTensor", float16)
BFloat16Tensor = _legacy("BFloat16Tensor", bfloat16)
LongTensor = _legacy("LongTensor", int64)
IntTensor = _legacy("IntTensor", int32)
ShortTensor = _legacy("ShortTensor", int16)
CharTensor = _legacy("CharTensor", int8)
ByteTensor = _legacy("ByteTensor", uint8)
BoolTensor = _legacy("BoolTensor", bool_)

_BY_DTYPE = {t.dtype: t for t in (FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor,
                                  LongTensor, IntTensor, ShortTensor, CharTensor, ByteTensor,
                                  BoolTensor)}
_BY_NAME = {t.__name__: t for t in _BY_DTYPE.values()}


def tensor_type(t, dtype=None, non_blocking=False):
    """``t.type()``: its legacy type's name; ``t.type(T)``: ``t`` cast to ``T`` (a legacy
    type, its name as a string, or a dtype), ``t`` itself where it already is one."""
    if dtype is None:
        legacy = _BY_DTYPE.get(t.dtype)
        if legacy is None:
            raise TypeError(f"type: no legacy tensor type for dtype {t.dtype}")
        return f"chainrule.{legacy.__name__}"
    if isinstance(dtype, str):
        legacy = _BY_NAME.get(dtype.rpartition(".")[2])
        if legacy is None or dtype.split(".")[0] not in ("torch", "chainrule") \
                or dtype.count(".") != 1:
            raise ValueError(f"type: unknown tensor type {dtype!r} (e.g. 'torch.FloatTensor')")
        dtype = legacy.dtype
    elif isinstance(dtype, _LegacyType):
        dtype = dtype.dtype
    return t if t.dtype == dtype else t.to(dtype)
