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

import numpy as _np

from . import autograd, backend, ops  # noqa: F401
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .backend import Generator, get_default_dtype, manual_seed, set_default_dtype  # noqa: F401
from .creation import (  # noqa: F401
    arange, as_tensor, bernoulli, empty, empty_like, eye, from_numpy, full, full_like, linspace,
    ones, ones_like, rand, rand_like, randint, randn, randn_like, randperm, tensor, zeros,
    zeros_like,
)
from .ops import *  # noqa: F401,F403 - every op is also cr.<name>
from .ops import abs, all, any, max, min, pow, sum  # noqa: F401 - PyTorch's names shadow builtins
from .tensor import Tensor  # noqa: F401
from . import random  # noqa: F401,E402 - cr.random, as torch.random
from .random import get_rng_state, initial_seed, multinomial, seed, set_rng_state  # noqa: F401

__version__ = "0.1.0"

float32 = _np.dtype(_np.float32)
float64 = _np.dtype(_np.float64)
float16 = _np.dtype(_np.float16)
float = float32  # noqa: A001 - PyTorch's alias
double = float64
int64 = _np.dtype(_np.int64)
long = int64
int32 = _np.dtype(_np.int32)
int16 = _np.dtype(_np.int16)
int8 = _np.dtype(_np.int8)
uint8 = _np.dtype(_np.uint8)
bool = _np.dtype(_np.bool_)  # noqa: A001 - PyTorch's alias


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(t) -> int:
    return t.numel()


from . import optim  # noqa: E402,F401 - optimizers sit above the core
from . import nn  # noqa: E402,F401 - layers, losses, init: cr.nn

# Loaded on first use, so that `import chainrule` stays fast: cr.viz (see the graph), cr.data
# (loaders, datasets), cr.train (fit), cr.io and cr.save / cr.load (safetensors).
_LAZY_MODULES = ("viz", "data", "train", "io")
_LAZY_FUNCTIONS = {"save": "io.serialization", "load": "io.serialization"}


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


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_FUNCTIONS))
