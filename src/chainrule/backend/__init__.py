"""Which array module runs the numbers, the dtype policy, and random generators.

The CPU runs on NumPy; "cuda" runs on CuPy when it is installed. Everything above this
module asks here for the array module of a device and never imports CuPy itself.

    >>> import chainrule as cr
    >>> g = cr.Generator().manual_seed(0)
    >>> cr.rand(2, generator=g).shape
    (2,)
"""

from __future__ import annotations

import numpy as np

# PyTorch's default: float data becomes float32 unless asked otherwise.
default_float = np.dtype(np.float32)

from .dtype import bfloat16, dtype, of_numpy  # noqa: E402,F401 - chainrule's dtype objects
from .dtype import names as _dtype_names  # noqa: E402


def to_dtype(dtype_like) -> np.dtype | None:
    """Turn ``cr.float32``, ``np.float32``, ``"float32"`` or ``None`` into a NumPy dtype."""
    if dtype_like is None:
        return None
    if isinstance(dtype_like, str):
        known = _dtype_names()
        if dtype_like not in known:
            raise TypeError(f"unknown dtype {dtype_like!r}; expected one of {sorted(known)}")
        dtype_like = known[dtype_like]
    if isinstance(dtype_like, dtype):
        return dtype_like.dtype  # raises for bfloat16, which NumPy cannot compute in
    return np.dtype(dtype_like)


def set_default_dtype(dtype) -> None:
    """Set the dtype that float data gets by default (``float32`` or ``float64``)."""
    global default_float
    dtype = to_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a float dtype, got {dtype}")
    default_float = dtype


def get_default_dtype():
    """The default float dtype (``chainrule.float32`` unless set otherwise)."""
    return of_numpy(default_float)


def is_floating(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


# --- devices -------------------------------------------------------------------------------

from .device import (  # noqa: E402,F401 - device objects and probes live in device.py
    check_runnable, cuda_device_count, cuda_runtime, device, get_default_device,
    is_device_like, set_default_device,
)


def _cupy():
    return cuda_runtime()


def normalize_device(device_like) -> str:
    """'cpu', 'cuda' or 'cuda:N' for a device, its string, or None (the default device)."""
    dev = get_default_device() if device_like is None else device(device_like)
    if dev.type not in ("cpu", "cuda"):
        check_runnable(dev)  # raises: chainrule runs on cpu and cuda
    return str(dev) if dev.type == "cuda" else "cpu"


def get_array_module(*arrays):
    """The array module (numpy, or cupy for GPU arrays) of ``arrays``: allocate with it.

        >>> xp = get_array_module(x)
        >>> out = xp.zeros_like(x)
    """
    for a in arrays:
        if a is not None and not isinstance(a, (np.ndarray, np.generic, int, float, bool)):
            module = type(a).__module__
            if module.startswith("cupy"):
                return _cupy()
    return np


def array_module(device: str = "cpu"):
    """The array module (numpy or cupy) that holds arrays of ``device``."""
    return np if device == "cpu" else _cupy()


def place(array, device_like):
    """``array`` (made on the CPU) on ``device_like`` (None: the default device)."""
    name = normalize_device(device_like)
    if name == "cpu":
        return array
    check_runnable(device(name))
    return to_device(array, name)


def device_of(array) -> str:
    """'cpu' for a NumPy array, 'cuda:N' for a CuPy one."""
    if isinstance(array, np.ndarray) or np.isscalar(array):
        return "cpu"
    dev = getattr(array, "device", None)
    return f"cuda:{dev.id}" if dev is not None and hasattr(dev, "id") else "cpu"


def to_device(array, device: str):
    """Copy ``array`` to ``device`` when it is elsewhere."""
    if device == "cpu":
        if isinstance(array, np.generic):
            return np.asarray(array)
        return array if isinstance(array, np.ndarray) else _cupy().asnumpy(array)
    cupy = _cupy()
    if ":" not in device:
        return cupy.asarray(array)
    with cupy.cuda.Device(int(device.split(":")[1])):
        return cupy.asarray(array)


# --- randomness: cr.Generator (torch's streams or NumPy's), in generator.py ---------------

from .generator import (  # noqa: E402,F401 - after normalize_device, which Generator uses
    Generator, default_generator, get_rng_state, initial_seed, manual_seed, memory_order, rng_of,
    seed, set_rng_state,
)

from types import ModuleType as _ModuleType  # noqa: E402

# __all__: the public names imported above (a line added above joins it).
__all__ = sorted(
    {name for name, value in globals().items()
     if not name.startswith("_") and not isinstance(value, _ModuleType) and name != "annotations"}
)
