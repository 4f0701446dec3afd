"""Which array module runs the numbers, the dtype policy, and random generators.

The CPU runs on NumPy; "cuda" runs on CuPy when it is installed. Everything above this
module asks here for the array module of a device and never imports CuPy itself.

    >>> g = cr.Generator().manual_seed(0)
    >>> cr.rand(2, generator=g)               # torch's numbers for seed 0
    tensor([0.4963, 0.7682])
"""

from __future__ import annotations

import numpy as np

# PyTorch's default: float data becomes float32 unless asked otherwise.
default_float = np.dtype(np.float32)

from .dtype import bfloat16, dtype, of_numpy  # noqa: E402,F401 - chainrule's dtype objects
from . import host_memory  # noqa: E402

host_memory.tune()  # freed arrays reused by the next step, not refaulted (host_memory)
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
    REGISTERED, check_runnable, cuda_device_count, cuda_runtime, device, get_default_device,
    is_device_like, set_default_device,
)

_ndarray = np.ndarray
# Array type -> (array module, device name) for arrays that are not NumPy's: filled by
# register_device and, on first sight of a CuPy array, by get_array_module.
_BY_ARRAY_TYPE: dict = {}


def _cupy():
    return cuda_runtime()


def register_device(name: str, module, array_type) -> None:
    """Plug in a device: ``module`` is its array module (NumPy's API), ``array_type`` its arrays.

    ``module`` must offer NumPy's names, ``asarray`` (host to device) and ``asnumpy`` (device
    to host). The tests register a strict stand-in device this way (tests/strict_device.py).
    """
    REGISTERED[name] = module
    _BY_ARRAY_TYPE[array_type] = (module, name)


def unregister_device(name: str) -> None:
    REGISTERED.pop(name, None)
    for array_type, (_, dev) in list(_BY_ARRAY_TYPE.items()):
        if dev == name:
            del _BY_ARRAY_TYPE[array_type]


def normalize_device(device_like) -> str:
    """'cpu', 'cuda' or 'cuda:N' for a device, its string, or None (the default device)."""
    dev = get_default_device() if device_like is None else device(device_like)
    if dev.type == "cpu":
        return "cpu"
    if dev.type in REGISTERED:
        return dev.type
    if dev.type != "cuda":
        check_runnable(dev)  # raises: chainrule runs on cpu and cuda
    return str(dev)


def _registered(cls):
    """(module, device name) of a non-NumPy array type, or None for host types."""
    entry = _BY_ARRAY_TYPE.get(cls)
    if entry is None and cls.__module__.startswith("cupy"):
        cupy = _cupy()
        entry = _BY_ARRAY_TYPE[cls] = (cupy, "cuda")
    return entry


def get_array_module(*arrays):
    """The array module (numpy, or cupy for GPU arrays) of ``arrays``: allocate with it.

        >>> x = np.ones(3, dtype=np.float32)
        >>> xp = get_array_module(x)
        >>> xp.__name__, xp.zeros_like(x)
        ('numpy', array([0., 0., 0.], dtype=float32))
    """
    if len(arrays) == 1 and type(arrays[0]) is _ndarray:  # the common call: one host array
        return np
    for a in arrays:
        cls = type(a)
        if cls is _ndarray:  # no dictionary lookup for host arrays
            continue
        entry = _registered(cls)
        if entry is not None:
            return entry[0]
    return np


def array_module(device: str = "cpu"):
    """The array module (numpy or cupy) that holds arrays of ``device``."""
    if device == "cpu":
        return np
    module = REGISTERED.get(device)
    return module if module is not None else _cupy()


def place(array, device_like):
    """``array`` (made on the CPU) on ``device_like`` (None: the default device)."""
    name = normalize_device(device_like)
    if name == "cpu":
        return array
    check_runnable(device(name))
    return to_device(array, name)


def device_of(array) -> str:
    """'cpu' for a NumPy array, 'cuda:N' for a CuPy one, the name of a registered device."""
    cls = type(array)
    if cls is _ndarray or np.isscalar(array):
        return "cpu"
    entry = _BY_ARRAY_TYPE.get(cls)
    if entry is not None and entry[1] != "cuda":
        return entry[1]
    if isinstance(array, np.ndarray):
        return "cpu"
    dev = getattr(array, "device", None)
    return f"cuda:{dev.id}" if dev is not None and hasattr(dev, "id") else "cpu"


def to_device(array, device: str):
    """Copy ``array`` to ``device`` when it is elsewhere."""
    if device == "cpu":
        cls = type(array)
        if cls is _ndarray:
            return array
        if isinstance(array, np.generic):
            return np.asarray(array)
        entry = _BY_ARRAY_TYPE.get(cls)
        if entry is not None:
            return entry[0].asnumpy(array)
        return array if isinstance(array, np.ndarray) else _cupy().asnumpy(array)
    module = REGISTERED.get(device.split(":")[0])
    if module is not None:
        return module.asarray(to_device(array, "cpu") if device_of(array) != device else array)
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
