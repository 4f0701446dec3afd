"""``cr.accelerator``: which accelerator (if any) this machine offers, as ``torch.accelerator``.

    >>> device = cr.accelerator.current_accelerator() or cr.device("cpu")
"""

from __future__ import annotations

from .backend import device as _device
from .backend.device import cuda_device_count


def is_available() -> bool:
    return cuda_device_count() > 0


def device_count() -> int:
    return cuda_device_count()


def current_accelerator(check_available: bool = False):
    """``device('cuda')`` when a GPU is usable, else None."""
    return _device("cuda") if is_available() else None
