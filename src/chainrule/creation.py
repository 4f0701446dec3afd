"""Tensor factories: ``tensor``, ``zeros``, ``ones``, ``arange``, ``randn``, ...

Float results are float32 unless ``dtype`` says otherwise; random ones draw from
``generator`` or the default generator that ``cr.manual_seed`` seeds.

    >>> _ = cr.manual_seed(0)
    >>> w = cr.randn(3, 2, requires_grad=True)
    >>> cr.zeros_like(w).shape, w.dtype
    (chainrule.Size([3, 2]), chainrule.float32)
"""

from __future__ import annotations

import operator

import numpy as np

from . import backend
from .autograd import grad_mode as _grad_mode
from .tensor import Tensor, _make
from .errors import InvalidArgument


def _shape(size, name):
    """``size`` as a tuple of ints; a float size (``nn.Linear(3.5, 2)``) is refused, as torch
    does, rather than truncated."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        shape = tuple(operator.index(n) for n in size)
    except TypeError:
        raise TypeError(f"{name}: size must be a sequence of ints, got "
                        f"({', '.join(repr(n) for n in size)})") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"{name}: negative dimension in shape {shape}")
    return shape


def _sizes(shape, size, name):
    """The shape of ``name(*shape)`` or ``name(size=...)`` (d2l writes ``randn(size=(2, 3))``);
    both at once is refused, as torch refuses it."""
    if size is None:
        return _shape(shape, name)
    if shape:
        raise TypeError(f"{name}: give the size positionally or as size=, not both")
    return _shape((size,), name)


def _finish(array, requires_grad, device=None):
    """Wrap ``array`` (made on the CPU, or already on ``device``) as a tensor on ``device``."""
    t = _make(backend.place(array, device))
    if requires_grad:
        t.requires_grad = True  # validates the dtype
    capture = _grad_mode.state.capture
    if capture is not None:  # made inside a function being compiled: made anew by a replay
        capture.created(t)
    return t


def _draw(name, method, args, generator, requires_grad, device):
    """``method`` of the generator on ``args`` as a tensor; while a trace records, drawn by an
    op (``ops.random.Draw``) so that a replayed program draws anew."""
    if _grad_mode.state.tracer is None:
        return _finish(getattr(backend.rng_of(generator), method)(*args), requires_grad, device)
    if requires_grad:
        from .autograd import tracing  # noqa: PLC0415
        tracing.reads_values(name, "draws a leaf that requires grad (a replay would "
                                    "not draw it again)")
        return _finish(getattr(backend.rng_of(generator), method)(*args), requires_grad, device)
    from .ops.random import Draw  # noqa: PLC0415
    return Draw.apply(method, args, generator, device)


def _xp(device):
    """The array module of ``device`` (None: the default device), checked to be usable."""
    name = backend.normalize_device(device)
    if name != "cpu":
        backend.check_runnable(backend.device(name))
    return backend.array_module(name), name


def _float(dtype):
    dtype = backend.to_dtype(dtype)
    return backend.default_float if dtype is None else dtype


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor holding a copy of ``data`` (lists, numbers, arrays or a Tensor)."""
    arr = Tensor._of(data, dtype=dtype, device=device)._array
    if isinstance(data, Tensor) or hasattr(data, "shape"):  # an array of any device: copied
        arr = arr.copy()
    return _finish(arr, requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, without a copy when it already is one of that dtype and device."""
    if isinstance(data, Tensor):
        same_dtype = dtype is None or backend.to_dtype(dtype) == data._array.dtype
        same_device = device is None or backend.normalize_device(device) == data.device
        if same_dtype and same_device:
            return data
        if device is None:
            device = data.device
    return Tensor._of(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (its dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return _make(array)


def zeros(*shape, size=None, dtype=None, requires_grad=False, device=None):
    xp, device = _xp(device)
    return _finish(xp.zeros(_sizes(shape, size, "zeros"), dtype=_float(dtype)), requires_grad,
                   device)


def ones(*shape, size=None, dtype=None, requires_grad=False, device=None):
    xp, device = _xp(device)
    return _finish(xp.ones(_sizes(shape, size, "ones"), dtype=_float(dtype)), requires_grad,
                   device)


def empty(*shape, size=None, dtype=None, requires_grad=False, device=None):
    xp, device = _xp(device)
    return _finish(xp.empty(_sizes(shape, size, "empty"), dtype=_float(dtype)), requires_grad,
                   device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    if dtype is None:
        dtype = (np.bool_ if isinstance(fill_value, bool) else
                 np.int64 if isinstance(fill_value, int) else backend.default_float)
    xp, device = _xp(device)
    return _finish(xp.full(_shape((size,), "full"), fill_value, dtype=backend.to_dtype(dtype)),
                   requires_grad, device)


def zeros_like(t, dtype=None, requires_grad=False, device=None):
    xp, device = _xp(device or t.device)
    return _finish(xp.zeros(t.shape, dtype=backend.to_dtype(dtype) or t._array.dtype),
                   requires_grad, device)


def ones_like(t, dtype=None, requires_grad=False, device=None):
    xp, device = _xp(device or t.device)
    return _finish(xp.ones(t.shape, dtype=backend.to_dtype(dtype) or t._array.dtype),
                   requires_grad, device)


def empty_like(t, dtype=None, requires_grad=False, device=None):
    xp, device = _xp(device or t.device)
    return _finish(xp.empty(t.shape, dtype=backend.to_dtype(dtype) or t._array.dtype),
                   requires_grad, device)


def full_like(t, fill_value, dtype=None, requires_grad=False, device=None):
    xp, device = _xp(device or t.device)
    return _finish(xp.full(t.shape, fill_value, dtype=backend.to_dtype(dtype) or t._array.dtype),
                   requires_grad, device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """``arange(5)``, ``arange(1, 5)``, ``arange(0, 1, 0.25)``: ints give int64, floats float32."""
    if end is None:
        start, end = 0, start
    dtype = backend.to_dtype(dtype)
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.dtype(np.int64) if is_int else backend.default_float
    if step == 0:
        raise InvalidArgument("arange: step must be nonzero")
    xp, device = _xp(device)
    return _finish(xp.arange(start, end, step).astype(dtype), requires_grad, device)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    xp, device = _xp(device)
    return _finish(xp.linspace(start, end, int(steps)).astype(_float(dtype)), requires_grad,
                   device)


def logspace(start, end, steps, base=10.0, dtype=None, requires_grad=False, device=None):
    """``steps`` values from ``base ** start`` to ``base ** end``, evenly spaced in the exponent."""
    xp, device = _xp(device)
    exponents = xp.linspace(start, end, int(steps))
    return _finish((float(base) ** exponents).astype(_float(dtype)), requires_grad, device)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    xp, device = _xp(device)
    return _finish(xp.eye(n, m, dtype=_float(dtype)), requires_grad, device)


def rand(*shape, size=None, generator=None, dtype=None, requires_grad=False, device=None):
    """Uniform on [0, 1) (torch's stream with the default generator: see ``cr.Generator``)."""
    dtype = _float(dtype)
    return _draw("rand", "draw_uniform", (_sizes(shape, size, "rand"), 0.0, 1.0, dtype), generator,
                 requires_grad, device)


def randn(*shape, size=None, generator=None, dtype=None, requires_grad=False, device=None):
    """Standard normal."""
    dtype = _float(dtype)
    return _draw("randn", "draw_normal", (_sizes(shape, size, "randn"), 0.0, 1.0, dtype), generator,
                 requires_grad, device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False,
           device=None):
    """Normal draws, as ``torch.normal``: with numbers and ``size``, N(mean, std) of that
    shape; with tensors (``mean``, ``std`` or both), one draw per element of their broadcast
    shape, standard normals scaled by ``std`` and shifted by ``mean`` (torch's recipe, so the
    same seed gives torch's numbers)."""
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal: give size when mean and std are numbers")
        if std < 0:
            raise RuntimeError(f"normal: std must be >= 0, got {std}")
        dtype = _float(dtype)
        return _draw("normal", "draw_normal", (_shape((size,) if isinstance(size, int)
                                                      else tuple(size), "normal"),
                                               float(mean), float(std), dtype),
                     generator, requires_grad, device)
    if size is not None:
        raise TypeError("normal: size is for numbers only; the tensors' shape gives the shape")
    shape = np.broadcast_shapes(*[tuple(t.shape) for t in tensors])
    out = randn(*shape, generator=generator, dtype=dtype or tensors[0].dtype,
                device=device or tensors[0].device)
    return out * std + mean


def randint(low, high=None, size=(), generator=None, dtype=None, requires_grad=False,
            device=None):
    """Integers in [low, high) (``randint(high, size)`` works too), int64 by default."""
    if isinstance(high, (tuple, list)):  # randint(high, size), as torch allows
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    elif isinstance(high, (tuple, list)) and size == ():  # randint(high, size), positional
        low, high, size = 0, low, high
    if high <= low:
        raise InvalidArgument(f"randint: high ({high}) must be greater than low ({low})")
    dtype = backend.to_dtype(dtype) or np.dtype(np.int64)
    return _draw("randint", "draw_int", (low, high, _shape((size,), "randint"), dtype),
                 generator, requires_grad, device)


def randperm(n, generator=None, dtype=None, requires_grad=False, device=None):
    """A random permutation of 0 .. n-1 (int64)."""
    if _grad_mode.state.tracer is not None:  # drawn by an op: a replay draws anew
        from .ops.unary import cast  # noqa: PLC0415
        perm = _draw("randperm", "draw_perm", (int(n),), generator, requires_grad, device)
        want = backend.to_dtype(dtype) or np.dtype(np.int64)
        return perm if perm._array.dtype == want else cast(perm, want)
    perm = backend.rng_of(generator).draw_perm(int(n))
    return _finish(perm.astype(backend.to_dtype(dtype) or np.int64, copy=False), requires_grad,
                   device)


def rand_like(t, generator=None, dtype=None, requires_grad=False, device=None):
    return rand(*t.shape, generator=generator, dtype=dtype or t._array.dtype,
                device=device or t.device, requires_grad=requires_grad)


def randint_like(t, low=0, high=None, *, generator=None, dtype=None, requires_grad=False,
                 device=None):
    """Integers in [low, high) shaped like ``t`` (``randint_like(t, high)`` too), in ``t``'s
    dtype unless ``dtype`` is given, as ``torch.randint_like``."""
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(t.shape), generator=generator,
                   dtype=dtype or t._array.dtype, device=device or t.device,
                   requires_grad=requires_grad)


def randn_like(t, generator=None, dtype=None, requires_grad=False, device=None):
    return randn(*t.shape, generator=generator, dtype=dtype or t._array.dtype,
                 device=device or t.device, requires_grad=requires_grad)


def bernoulli(p, generator=None):
    """1 with probability ``p`` (a tensor or number), else 0, in ``p``'s float dtype."""
    rng = backend.rng_of(generator)
    if isinstance(p, Tensor) and _grad_mode.state.tracer is not None:
        from .ops.random import BernoulliDraw  # noqa: PLC0415 - an op: a replay draws anew
        return BernoulliDraw.apply(p, generator)
    if isinstance(p, Tensor):
        where = backend.device_of(p._array)
        host = backend.to_device(p._array, "cpu")
        return _make(backend.to_device(rng.draw_bernoulli_tensor(host, host.dtype), where))
    return _make(rng.draw_bernoulli((), float(p), backend.default_float))
