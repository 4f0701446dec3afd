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

_DTYPE_NAMES = {
    "float32": np.float32, "float": np.float32, "float64": np.float64, "double": np.float64,
    "float16": np.float16, "half": np.float16, "int64": np.int64, "long": np.int64,
    "int32": np.int32, "int": np.int32, "int16": np.int16, "int8": np.int8,
    "uint8": np.uint8, "bool": np.bool_,
}


def to_dtype(dtype) -> np.dtype | None:
    """Turn ``cr.float32``, ``np.float32``, ``"float32"`` or ``None`` into a NumPy dtype."""
    if dtype is None:
        return None
    if isinstance(dtype, str):
        if dtype not in _DTYPE_NAMES:
            raise TypeError(f"unknown dtype {dtype!r}; expected one of {sorted(_DTYPE_NAMES)}")
        dtype = _DTYPE_NAMES[dtype]
    return np.dtype(dtype)


def set_default_dtype(dtype) -> None:
    """Set the dtype that float data gets by default (``float32`` or ``float64``)."""
    global default_float
    dtype = to_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a float dtype, got {dtype}")
    default_float = dtype


def get_default_dtype() -> np.dtype:
    return default_float


def is_floating(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


# --- devices -------------------------------------------------------------------------------

def _cupy():
    try:
        import cupy  # noqa: PLC0415 - optional, only on a GPU machine
    except ImportError as exc:
        raise RuntimeError("device 'cuda' needs CuPy: pip install 'chainrule[gpu]'") from exc
    return cupy


def normalize_device(device) -> str:
    if device is None:
        return "cpu"
    name = str(device)
    if name == "cpu" or name == "cuda" or name.startswith("cuda:"):
        return name
    raise ValueError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")


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
    return _cupy().asarray(array)


# --- randomness: cr.Generator (torch's streams or NumPy's), in generator.py ---------------

from .generator import (  # noqa: E402,F401 - after normalize_device, which Generator uses
    Generator, default_generator, get_rng_state, initial_seed, manual_seed, rng_of, seed,
    set_rng_state,
)
