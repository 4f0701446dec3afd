"""``cr.backends``: the flags and probes that PyTorch programs read or set on ``torch.backends``.

    >>> cr.backends.mps.is_available()
    False
    >>> cr.backends.cudnn.benchmark = True     # accepted; chainrule has no cuDNN to tune
    >>> cr.backends.cudnn.benchmark
    True
    >>> cr.backends.cudnn.benchmark = False    # (back to the default for what runs next)

The flags are plain attributes that keep what a program sets; chainrule's kernels (NumPy,
CuPy) have no cuDNN autotuner, TF32 mode or reduced-precision reductions to switch.
"""

from __future__ import annotations


class _Namespace:
    def __repr__(self):
        flags = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"<chainrule.backends.{type(self).__name__.strip('_').lower()} {flags}>"


class _Cuda(_Namespace):
    class _Matmul(_Namespace):
        def __init__(self):
            self.allow_tf32 = False
            self.allow_fp16_reduced_precision_reduction = True
            self.allow_bf16_reduced_precision_reduction = True

    def __init__(self):
        self.matmul = self._Matmul()

    @staticmethod
    def is_built() -> bool:
        """True when CuPy is installed (chainrule's CUDA support), whether or not a GPU is."""
        try:
            import cupy  # noqa: F401,PLC0415 - a probe
        except ImportError:
            return False
        return True


class _Cudnn(_Namespace):
    def __init__(self):
        self.enabled = True
        self.benchmark = False
        self.deterministic = False
        self.allow_tf32 = True

    @staticmethod
    def is_available() -> bool:
        return False  # chainrule calls no cuDNN kernels

    @staticmethod
    def version():
        return None


class _Mps(_Namespace):
    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def is_built() -> bool:
        return False


class _Mkl(_Namespace):
    @staticmethod
    def is_available() -> bool:
        return False


class _Cpu(_Namespace):
    @staticmethod
    def get_cpu_capability() -> str:
        return "NUMPY"


cuda = _Cuda()
cudnn = _Cudnn()
mps = _Mps()
mkl = _Mkl()
cpu = _Cpu()
