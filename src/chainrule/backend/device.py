"""Devices: ``cr.device`` objects as ``torch.device``, the default device, and CUDA probes.

chainrule computes on "cpu" (NumPy) and on "cuda" (CuPy, when it is installed and a GPU is
present). Other torch device types ("mps", "xla", ...) can be named but not used.

    >>> d = cr.device("cuda:0")
    >>> d.type, d.index, str(d)
    ('cuda', 0, 'cuda:0')
    >>> cr.device("cpu") == "cpu"       # chainrule also compares with strings
    True
"""

from __future__ import annotations

import re

# torch's device types: chainrule knows the names, and runs on the first two.
KNOWN_TYPES = ("cpu", "cuda", "mps", "xpu", "xla", "meta", "hip", "ipu", "hpu", "mtia", "lazy",
               "vulkan", "privateuseone")
RUNNABLE_TYPES = ("cpu", "cuda")
# Devices plugged in at run time by backend.register_device (the tests' strict device): name
# -> array module. Known and runnable while registered.
REGISTERED: dict = {}
_PATTERN = re.compile(r"^([a-z]+)(?::(\d+))?$")


class DeviceError(ValueError, RuntimeError):
    """A device string or index that names no device: torch raises RuntimeError, chainrule's
    callers have caught ValueError; this is both."""


class device:  # noqa: N801 - torch's name
    """A device type and an optional index: ``device("cuda:1")``, ``device("cuda", 1)``.

    Equal to another device with the same type and index, and to its string form
    (``device("cuda:0") == "cuda:0"``; torch answers False there, chainrule True, so that
    code comparing ``t.device == "cpu"`` reads as it means).
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002 - torch's argument name
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device: an index cannot be given with a device")
            object.__setattr__(self, "type", type.type)
            object.__setattr__(self, "index", type.index)
            return
        if isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type  # torch.device(0) is the first accelerator
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string, int or device, got {type!r}")
        match = _PATTERN.match(type)
        if match is None:
            raise DeviceError(f"device: unknown device {type!r} (invalid device string)")
        name, parsed = match.group(1), match.group(2)
        if name not in KNOWN_TYPES and name not in REGISTERED:
            raise DeviceError(f"device: unknown device {type!r}: expected one of "
                              f"{', '.join(KNOWN_TYPES)} at the start of the device string")
        if parsed is not None:
            if index is not None:
                raise DeviceError(f"device: type {type!r} already names an index; got {index}")
            index = int(parsed)
        if index is not None:
            index = int(index)
            if index < 0:
                raise DeviceError(f"device: device index must not be negative, got {index}")
        object.__setattr__(self, "type", name)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError("device objects are immutable")

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (DeviceError, TypeError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash(str(self))  # as its string, since the two compare equal

    def __reduce__(self):
        return (device, (self.type, self.index))


    def __enter__(self):
        """``with cr.device("cuda"):`` makes it the default device inside, as torch does."""
        self._previous_defaults().append(get_default_device())
        set_default_device(self)
        return self

    def __exit__(self, *exc):
        set_default_device(self._previous_defaults().pop())
        return False

    @staticmethod
    def _previous_defaults() -> list:
        return _DEFAULT_STACK


_DEFAULT_STACK: list = []


def is_device_like(obj) -> bool:
    """Whether ``obj`` names a device (a ``device``, or a string such as "cpu", "cuda:1")."""
    if isinstance(obj, device):
        return True
    if not isinstance(obj, str):
        return False
    match = _PATTERN.match(obj)
    return match is not None and (match.group(1) in KNOWN_TYPES or match.group(1) in REGISTERED)


_default = device("cpu")


def set_default_device(dev) -> None:
    """Where factories put tensors when no ``device=`` is given (``None`` resets to "cpu")."""
    global _default
    dev = device("cpu") if dev is None else device(dev)
    check_runnable(dev)
    _default = dev


def get_default_device() -> device:
    return _default


def check_runnable(dev: device) -> None:
    """Raise a clear error unless chainrule can compute on ``dev`` here."""
    if dev.type in REGISTERED:
        return
    if dev.type not in RUNNABLE_TYPES:
        raise RuntimeError(f"device '{dev}': chainrule runs on 'cpu' and 'cuda' only")
    if dev.type == "cpu":
        return
    cupy = cuda_runtime()
    count = cupy.cuda.runtime.getDeviceCount()
    if dev.index is not None and dev.index >= count:
        raise RuntimeError(f"device '{dev}': there are only {count} CUDA device(s)")


def cuda_runtime():
    """CuPy, if it is installed and sees a GPU; otherwise an error that says which is missing."""
    try:
        import cupy  # noqa: PLC0415 - optional, only on a GPU machine
    except ImportError as exc:
        raise RuntimeError("device 'cuda' needs CuPy, which is not installed: "
                           "pip install 'chainrule[gpu]'") from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - CuPy raises its own CUDA errors
        raise RuntimeError(f"device 'cuda': CuPy is installed but no GPU is usable ({exc})") \
            from exc
    if count == 0:
        raise RuntimeError("device 'cuda': CuPy is installed but this machine has no GPU")
    return cupy


def cuda_device_count() -> int:
    try:
        return cuda_runtime().cuda.runtime.getDeviceCount()
    except RuntimeError:
        return 0
