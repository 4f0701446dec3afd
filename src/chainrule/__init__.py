"""chainrule: deep learning on NumPy with a computational graph you can see.

    >>> import chainrule as cr
    >>> x = cr.tensor([-2.0], requires_grad=True)
    >>> y = cr.tensor([5.0], requires_grad=True)
    >>> z = cr.tensor([-4.0], requires_grad=True)
    >>> f = ((x + y) * z).sum()
    >>> f.backward()
    >>> x.grad, y.grad, z.grad
    (tensor([-4.]), tensor([-4.]), tensor([3.]))
"""

import builtins as _builtins
import math as _math

import numpy as _np

from . import autograd, backend, ops  # noqa: F401
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .backend import Generator, get_default_dtype, manual_seed, set_default_dtype  # noqa: F401
from .creation import (  # noqa: F401
    arange, as_tensor, bernoulli, empty, empty_like, eye, from_numpy, full, full_like, linspace,
    logspace, normal, ones, ones_like, rand, rand_like, randint, randint_like, randn, randn_like,
    randperm, tensor, zeros, zeros_like,
)
from .ops import *  # noqa: F401,F403 - every op is also cr.<name>
from .ops import abs, all, any, max, min, pow, sum  # noqa: F401 - PyTorch's names shadow builtins
from .tensor import Tensor  # noqa: F401
from .size import Size  # noqa: F401
from . import random  # noqa: F401,E402 - cr.random, as torch.random
from .random import get_rng_state, initial_seed, multinomial, seed, set_rng_state  # noqa: F401

__version__ = "0.1.0"

from .backend.dtype import (  # noqa: F401,E402 - torch's dtype names, printing as chainrule.*
    bfloat16, cdouble, cfloat, complex64, complex128, double, dtype, finfo, float16, float32,
    float64, half, iinfo, int8, int16, int32, int64, is_floating_point, long, short, uint8,
    uint16, uint32, uint64,
)
from .backend.dtype import bool_ as bool  # noqa: A001,E402 - PyTorch's alias
from .backend.dtype import float32 as float  # noqa: A001,E402 - PyTorch's alias
from .backend.dtype import int32 as int  # noqa: A001,E402 - PyTorch's alias
from .backend import device, get_default_device, set_default_device  # noqa: F401,E402
from .autograd.inference_mode import inference_mode, is_inference_mode_enabled  # noqa: F401,E402
from . import accelerator, backends, cuda  # noqa: F401,E402 - torch.cuda's probes and flags
from .printing import set_printoptions  # noqa: F401,E402
from .legacy_types import (  # noqa: F401,E402 - torch's legacy tensor types (old course code)
    BFloat16Tensor, BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor,
    IntTensor, LongTensor, ShortTensor,
)


# torch's constants (math's values: ``torch.pi`` is a Python float there too).
pi, e, inf, nan = _math.pi, _math.e, _math.inf, _math.nan


from .backend.host_blas import get_num_threads, set_num_threads  # noqa: F401,E402
from .promotion import can_cast, promote_types, result_type_of as result_type  # noqa: F401,E402


def is_nonzero(t) -> bool:
    """The truth of a one-element tensor (torch's; more elements raise)."""
    if t.numel() != 1:
        raise RuntimeError(f"is_nonzero: a tensor with {t.numel()} elements is ambiguous, "
                           "expected one")
    return _builtins.bool(t.item())  # (``bool`` here is torch's dtype alias)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(t) -> int:
    return t.numel()


from . import linalg  # noqa: F401,E402 - cr.linalg, as torch.linalg
from . import optim  # noqa: E402,F401 - optimizers sit above the core
from . import nn  # noqa: E402,F401 - layers, losses, init: cr.nn

# Loaded on first use, so that `import chainrule` stays fast: cr.viz (see the graph), cr.data
# (loaders, datasets), cr.train (fit), cr.io and cr.save / cr.load (safetensors), cr.utils
# (torch.utils.data's names), cr.testing (assert_close), cr.distributions (torch.distributions).
_LAZY_MODULES = ("viz", "data", "train", "io", "utils", "static", "testing", "distributions")
_LAZY_FUNCTIONS = {"save": "io.serialization", "load": "io.serialization",
                   "compile": "static.compile"}  # cr.compile: capture once, replay (issue 15)


def __getattr__(name):
    import importlib  # noqa: PLC0415

    if name in _LAZY_MODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in _LAZY_FUNCTIONS:
        fn = getattr(importlib.import_module(f".{_LAZY_FUNCTIONS[name]}", __name__), name)
        globals()[name] = fn
        return fn
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


from . import out_argument as _out_argument  # noqa: E402 - after every public name

for _name in _out_argument.FUNCTIONS:  # torch's out= on the public names only
    globals()[_name] = _out_argument.with_out(globals()[_name])
del _name


# The public surface: every public name imported above, the public subpackages below and the
# lazy ones. Any other module here (creation, tensor, promotion, ...) is internal: Python sets
# it as an attribute when it is imported, but it is not listed. cr.linalg is kept free for a
# torch-style cr.linalg. A new public module is added to _PUBLIC_MODULES on purpose.
_PUBLIC_MODULES = ("accelerator", "autograd", "backend", "backends", "cuda", "linalg", "nn",
                   "ops", "optim", "random", "static")


def _public_names():
    import types  # noqa: PLC0415

    names = {name for name, value in globals().items()
             if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    return sorted(names | set(_PUBLIC_MODULES) | set(_LAZY_MODULES) | set(_LAZY_FUNCTIONS))


__all__ = _public_names()


def __dir__():
    return sorted(set(_public_names()) | {name for name in globals() if name.startswith("__")})
