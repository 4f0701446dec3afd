"""``cr.cuda``: the probes and seeds that PyTorch programs call on ``torch.cuda``.

Without a GPU (or without CuPy) ``is_available()`` is False, ``device_count()`` is 0 and the
seeding calls do nothing, as in torch; calls that need a GPU raise an error that says
whether CuPy or the GPU is missing.

    >>> device = "cuda" if cr.cuda.is_available() else "cpu"
    >>> cr.cuda.manual_seed_all(0)      # harmless without a GPU

chainrule draws the random numbers of CUDA tensors from the CPU generators (torch's CPU
streams, then copied), so ``cr.manual_seed`` is what makes a GPU run reproducible.
"""

from __future__ import annotations

from .backend import device as _device
from .backend.device import cuda_device_count, cuda_runtime

_seed = None


def is_available() -> bool:
    """True when CuPy is installed and sees at least one GPU."""
    return cuda_device_count() > 0


def device_count() -> int:
    return cuda_device_count()


def is_initialized() -> bool:
    return is_available()


def manual_seed(seed: int) -> None:
    """Recorded only: chainrule's CUDA tensors draw from the CPU generator (module docstring)."""
    global _seed
    _seed = int(seed)


def manual_seed_all(seed: int) -> None:
    manual_seed(seed)


def initial_seed() -> int | None:
    return _seed


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: neither NumPy nor CuPy computes in bfloat16."""
    return False


def current_device() -> int:
    return int(cuda_runtime().cuda.runtime.getDevice())


def set_device(device) -> None:
    dev = _device(device)
    cuda_runtime().cuda.Device(dev.index or 0).use()


def get_device_name(device=None) -> str:
    runtime = cuda_runtime().cuda.runtime
    index = current_device() if device is None else (_device(device).index or 0)
    name = runtime.getDeviceProperties(index)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize(device=None) -> None:
    """Wait for the GPU to finish its queued work."""
    cuda_runtime().cuda.Device().synchronize()


def empty_cache() -> None:
    """Give CuPy's cached blocks back to the driver (nothing to do without a GPU)."""
    if is_available():
        cuda_runtime().get_default_memory_pool().free_all_blocks()
