"""Tensor: an array, whether it requires grad, its gradient, and the node that made it.

    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4., 6.])

The methods and operators forward to the functions of ``chainrule.ops`` (bound at the
bottom of this file, once the ops exist); the Tensor itself holds only state.
"""

from __future__ import annotations

import sys
import weakref

import numpy as np

from . import aliases, backend
from .backend.host_blas import add_scaled
from . import printing as _printing
from .printing import format_array
from . import errors as _errors
from .size import Size

_new = object.__new__
_tuple_new = tuple.__new__
_ndarray = np.ndarray


def _make(data, requires_grad=False, grad_fn=None):
    """Wrap an array without copying or checking: the ops' fast path."""
    t = _new(Tensor)
    t._array = data
    t._requires_grad = requires_grad
    t.grad_fn = grad_fn
    t._grad = None
    t._version = 0
    t._output_nr = 0
    t._hooks = None
    return t


# random_()'s upper bounds (exclusive): the integers each dtype holds exactly, as torch's
# (checked draw for draw; int32, whose torch draws take another path, is not among them).
_FULL_RANDOM_RANGE = {np.dtype(np.int64): 2 ** 63, np.dtype(np.int16): 2 ** 15,
                      np.dtype(np.int8): 2 ** 7, np.dtype(np.uint8): 2 ** 8, np.dtype(np.bool_): 2,
                      np.dtype(np.float64): 2 ** 53 + 1, np.dtype(np.float32): 2 ** 24 + 1,
                      np.dtype(np.float16): 2 ** 11 + 1}


def _address(arr) -> int:
    """Where ``arr``'s first element lies in memory (host or device)."""
    return arr.ctypes.data if type(arr) is _ndarray else int(arr.data.ptr)


def legacy_array(args, device, dtype=None):
    """The array of torch's legacy constructors, ``Tensor(*args)`` and ``FloatTensor(*args)``
    & co: no argument, or sizes (ints or a Size), give an uninitialized array of ``dtype``
    (default: the default float); one sequence or array gives its data in that dtype (shared
    where it already is); a Tensor gives its own array (any dtype)."""
    dtype = backend.default_float if dtype is None else dtype
    xp = backend.array_module(backend.normalize_device(device))
    if not args:
        return xp.empty((0,), dtype=dtype)
    first = args[0]
    if len(args) == 1 and isinstance(first, Tensor):
        return first._array
    if len(args) == 1 and isinstance(first, np.ndarray) and first.ndim == 0 \
            and first.dtype.kind in "iu":
        args = (int(first),)  # a 0-d integer array is a size, as torch reads it
    sizes = tuple(first) if len(args) == 1 and isinstance(first, Size) else args
    if all(isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_))
           for n in sizes):
        negative = [int(n) for n in sizes if n < 0]
        if negative:
            raise RuntimeError(f"Tensor: trying to create a tensor with negative dimension "
                               f"{negative[0]}: {list(int(n) for n in sizes)}")
        return xp.empty(tuple(int(n) for n in sizes), dtype=dtype)
    if len(args) != 1:
        raise TypeError(f"Tensor(): give sizes (ints) or one sequence of data, got "
                        f"{len(args)} arguments")
    if not hasattr(first, "__len__") and not hasattr(first, "__array__"):
        raise TypeError(f"Tensor(): data must be a sequence (got {type(first).__name__})")
    if hasattr(first, "shape") and not len(getattr(first, "shape")):
        raise TypeError(f"Tensor(): data must be a sequence (got {type(first).__name__})")
    return as_array(first, dtype, backend.normalize_device(device))


def as_array(data, dtype=None, device="cpu"):
    """Turn nested lists, scalars, arrays or Tensors into an array with chainrule's dtype policy."""
    xp = backend.array_module(device)
    if isinstance(data, Tensor):
        data = data._array
    if type(data) is not _ndarray and hasattr(data, "dtype") and hasattr(data, "shape"):
        data = backend.to_device(data, device)  # an array of another device: copied across
    dtype = backend.to_dtype(dtype)
    if type(data) in (list, tuple) and data and isinstance(data[0], Tensor):
        data = _scalars_of(data)
    try:
        if dtype is not None:
            return xp.asarray(data, dtype=dtype)
        arr = xp.asarray(data)
    except ValueError as exc:  # ragged lists, or values that do not fit the dtype
        raise ValueError(f"tensor: cannot make a tensor from {type(data).__name__} data: "
                         f"{_ragged(data) or exc}") from None
    if arr.dtype.kind == "f" and not hasattr(data, "dtype"):
        # Python floats and lists become float32 (PyTorch); arrays keep their dtype.
        arr = arr.astype(backend.default_float, copy=False)
    elif arr.dtype.kind == "f" and arr.dtype == np.float16 and (
            isinstance(data, np.generic) or not hasattr(data, "shape")):
        arr = arr.astype(backend.default_float)
    elif arr.dtype.kind in "OUS":
        raise TypeError(f"tensor: cannot make a tensor from data of type {arr.dtype}")
    return arr


def _scalars_of(data):
    """A list of Tensors as the numbers they hold: torch makes a tensor of it only where each
    holds one element; joining tensors is ``cr.stack``'s job."""
    out = []
    for t in data:
        if isinstance(t, Tensor):
            if t._array.size != 1:
                raise ValueError(f"tensor: only one element tensors can be converted to Python "
                                 f"scalars (got one of shape {tuple(t._array.shape)}); join "
                                 "tensors with cr.stack or cr.cat")
            t = t._array.reshape(()).item()
        out.append(t)
    return out


def _device_of_data(arr):
    """The device of an array handed to ``Tensor(...)``, or None (the default) for host data."""
    name = backend.device_of(arr)
    return None if name == "cpu" else name


def _ragged(data, depth=0):
    """Where nested lists stop being rectangular, as torch says it, or None."""
    if not isinstance(data, (list, tuple)) or not data:
        return None
    lengths = [len(d) if isinstance(d, (list, tuple)) else None for d in data]
    if len(set(lengths)) > 1:
        bad = next(i for i, n in enumerate(lengths) if n != lengths[0])
        return (f"expected a sequence of length {lengths[0]} at dim {depth + 1} "
                f"(got {lengths[bad]} at index {bad})")
    for d in data:
        found = _ragged(d, depth + 1)
        if found:
            return found
    return None


class Tensor:
    """A multi-dimensional array that can record the operations applied to it.

    ``Tensor(...)`` is torch's legacy constructor: sizes give an uninitialized tensor of the
    default float dtype, data (a sequence or an array) a copy in that dtype, a Tensor the same
    memory; most code uses ``cr.tensor``. (chainrule's own code wraps arrays with
    ``Tensor._of``, which keeps their dtype.)

        >>> cr.Tensor(2, 3).shape, cr.Tensor([1, 2]).dtype, cr.Tensor().shape
        (chainrule.Size([2, 3]), chainrule.float32, chainrule.Size([0]))
    """

    # _origin (unset on most tensors): how a tensor that does not require grad was cut from a
    # graph (detach() or no_grad), read by autograd.diagnose.why_no_grad.
    __slots__ = ("_array", "_requires_grad", "grad_fn", "_grad", "_version", "_output_nr",
                 "_hooks", "_retains_grad", "_origin", "name", "__weakref__")
    # True on nn.Parameter: the pictures draw learnable weights apart from inputs.
    is_parameter = False
    # NumPy must hand `ndarray <op> Tensor` to the Tensor's reflected operator.
    __array_ufunc__ = None
    __array_priority__ = 1000

    def __init__(self, *args, device=None):
        self._init(legacy_array(args, device), device=device)

    @classmethod
    def _of(cls, data, requires_grad=False, dtype=None, device=None):
        """A Tensor of ``data`` (an array shared, anything else converted) that keeps its
        dtype unless ``dtype`` is given: how chainrule wraps the arrays it makes."""
        t = _new(cls)
        t._init(data, requires_grad, dtype, device)
        return t

    def _init(self, data, requires_grad=False, dtype=None, device=None):
        if device is None:  # a tensor or device array keeps its device, as torch.tensor does
            arr = data._array if isinstance(data, Tensor) else data
            device = None if type(arr) is _ndarray else _device_of_data(arr)
        self._array = as_array(data, dtype, backend.normalize_device(device))
        self._requires_grad = False
        self.grad_fn = None
        self._grad = None
        self._version = 0
        self._output_nr = 0
        self._hooks = None
        if requires_grad:
            self.requires_grad = True

    # --- autograd state ------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool):
        if value and self._array.dtype.kind not in "fc":
            raise RuntimeError(
                f"requires_grad: only floating-point tensors can require gradients, "
                f"got dtype {self._array.dtype}")
        if not value and self.grad_fn is not None:
            raise RuntimeError("requires_grad: cannot turn it off on a non-leaf tensor; use detach()")
        self._requires_grad = bool(value)

    @property
    def grad(self):
        """The gradient that backward() accumulated into this leaf, or None.

        A non-leaf's ``.grad`` stays None unless ``retain_grad()`` was called: reading it then
        warns, as PyTorch does.
        """
        grad = self._grad
        if grad is None and self.grad_fn is not None and not self.retains_grad:
            _warn_nonleaf_grad(self)
        return grad

    @grad.setter
    def grad(self, value):
        if _grad_mode.state.tracer is not None:  # `p.grad = None` is a step of a trace
            if value is None:
                _tracing.note("set_grad_none", (self,))
            elif _grad_mode.state.capture is not None:
                _grad_mode.state.capture.refuse(self, "set_grad")
        if value is not None:  # as torch: a Tensor of this tensor's shape and dtype, or None
            if not isinstance(value, Tensor):
                raise TypeError(f"grad: expected a Tensor or None, got {type(value).__name__}")
            if value._array.shape != self._array.shape or value.dtype != self.dtype:
                raise RuntimeError(
                    f"grad: cannot assign a gradient of shape {tuple(value.shape)} and dtype "
                    f"{value.dtype} to a tensor of shape {tuple(self.shape)} and dtype "
                    f"{self.dtype}")
        self._grad = value

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    @property
    def data(self) -> "Tensor":
        """The same array as a Tensor that does not require grad (PyTorch's ``.data``).

        Changes through it reach this tensor but are not seen by autograd:
        ``p.data += -lr * p.grad`` is the lectures' update line.
        """
        t = _make(self._array, False, None)
        if self.grad_fn is not None:  # cut from a graph, as detach()
            t._origin = _detached_at(self.grad_fn, ".data")
        if _grad_mode.state.tracer is not None:  # the same value of a traced program
            _grad_mode.state.tracer.alias(t, self)
        return t

    @data.setter
    def data(self, value):
        if _grad_mode.state.capture is not None and not (  # `p.data -= d` sets it back
                isinstance(value, Tensor) and value._array is self._array):
            _grad_mode.state.capture.refuse(self, "set_data")  # not replayable: refused
        self._array = value._array if isinstance(value, Tensor) else as_array(value, device=self.device)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        t = _make(self._array, False, None)
        if self.grad_fn is not None:  # remember where the graph was cut, for why_no_grad
            t._origin = _detached_at(self.grad_fn, "detach()")
        if _grad_mode.state.tracer is not None:  # the same value of a traced program
            _grad_mode.state.tracer.alias(t, self)
        return t

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if _grad_mode.state.capture is not None:  # a value read while compiling: refused
            _grad_mode.state.capture.refuse(self, 'retain_grad')
        if self.grad_fn is None:
            return
        if not getattr(self, "_retains_grad", False):
            ref = weakref.ref(self)

            def retain(grad):
                t = ref()
                if t is not None:
                    t.grad = _make(grad._array.copy(), False, None) if t.grad is None else t.grad + grad
            self.grad_fn.register_hook(self._output_nr, retain)
            self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return getattr(self, "_retains_grad", False)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor replaces it.

        Returns a handle whose ``remove()`` takes the hook away.
        """
        if _grad_mode.state.capture is not None:  # a value read while compiling: refused
            _grad_mode.state.capture.refuse(self, 'register_hook')
        if not self._requires_grad:
            raise RuntimeError("register_hook: the tensor does not require grad")
        if self.grad_fn is not None:
            self.grad_fn.register_hook(self._output_nr, hook)
            hooks = self.grad_fn._post_hooks
            entry = hooks[-1]
        else:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            hooks, entry = self._hooks, hook
        return _HookHandle(hooks, entry)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Backpropagate from this tensor, accumulating gradients into the leaves' ``.grad``."""
        _engine.backward(self, gradient, retain_graph, create_graph, inputs)

    # --- array facts ---------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return _tuple_new(Size, self._array.shape)  # an array's shape is already ints

    @property
    def ndim(self) -> int:
        return self._array.ndim

    def dim(self) -> int:
        return self._array.ndim

    @property
    def dtype(self):
        return backend.of_numpy(self._array.dtype)

    @property
    def device(self):
        return backend.device(backend.device_of(self._array))

    def size(self, dim=None):
        if dim is None:
            return Size(self._array.shape)
        return self._array.shape[dim]

    def numel(self) -> int:
        return int(self._array.size)

    nelement = numel

    def ndimension(self) -> int:
        return self._array.ndim

    def element_size(self) -> int:
        """Bytes per element (4 for float32)."""
        return self._array.itemsize

    @property
    def itemsize(self) -> int:
        return self._array.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._array.nbytes)

    @property
    def is_cuda(self) -> bool:
        return backend.device_of(self._array) != "cpu"

    def is_floating_point(self) -> bool:
        return self._array.dtype.kind == "f"

    def stride(self, dim=None):
        """Steps in elements between neighbours along each dim, as torch reports them: a
        contiguous tensor's are its shape's C-order strides, whatever order chainrule keeps
        its memory in (a convolution's output is channels-last)."""
        arr = self._array
        if _layout_is_contiguous(arr):
            strides, step = [], 1
            for n in reversed(arr.shape):
                strides.append(step)
                step *= max(n, 1)
            strides = tuple(reversed(strides))
        else:
            strides = tuple(s // arr.itemsize for s in arr.strides)
        if dim is None:
            return strides
        return strides[_ops.reduce.normalize_dim("stride", dim, max(arr.ndim, 1))] \
            if arr.ndim else strides[dim]

    def storage_offset(self) -> int:
        """Elements between the start of the memory this tensor views and its first element
        (0 for a tensor that owns its memory; ``t[1:]`` of a vector: 1), as torch's."""
        arr = self._array
        root = arr
        while isinstance(root.base, type(arr)):
            root = root.base
        if root is arr:
            return 0
        return (_address(arr) - _address(root)) // arr.itemsize

    def data_ptr(self) -> int:
        """The address of the first element (for comparing storages, as in torch)."""
        return _address(self._array)

    def is_complex(self) -> bool:
        return self._array.dtype.kind == "c"

    def type(self, dtype=None, non_blocking=False):
        """The legacy type's name (``'chainrule.FloatTensor'``), or this tensor cast to
        ``dtype``: ``x.type(cr.FloatTensor)``, ``x.type('torch.LongTensor')``, a dtype."""
        from .legacy_types import tensor_type  # noqa: PLC0415 - it builds on Tensor

        return tensor_type(self, dtype, non_blocking)

    # --- new tensors like this one: its dtype and device unless given -------------------
    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A copy of ``data`` with this tensor's dtype and device (``x.new_tensor([1, 2])``)."""
        return _creation.tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                                requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return _creation.zeros(*size, dtype=dtype or self.dtype, device=device or self.device,
                               requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return _creation.ones(*size, dtype=dtype or self.dtype, device=device or self.device,
                              requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return _creation.empty(*size, dtype=dtype or self.dtype, device=device or self.device,
                               requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return _creation.full(size, fill_value, dtype=dtype or self.dtype,
                              device=device or self.device, requires_grad=requires_grad)

    def __format__(self, format_spec):
        """A 0-d tensor formats as its number (``f"{loss:.4f}"``), as in PyTorch."""
        if _grad_mode.state.capture is not None:  # a value read while compiling: refused
            _grad_mode.state.capture.refuse(self, 'format')
        if self._array.ndim == 0:
            return self._array.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def __len__(self):
        if self._array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._array.shape[0]

    def item(self):
        if _grad_mode.state.capture is not None:  # a value read while compiling: refused
            _grad_mode.state.capture.refuse(self, 'item')
        if self._array.size != 1:
            raise _errors.InvalidArgument(
                f"item: only one-element tensors can be converted, got shape {self._array.shape}")
        return self._array.item()

    def tolist(self):
        if _grad_mode.state.capture is not None:  # a value read while compiling: refused
            _grad_mode.state.capture.refuse(self, 'tolist')
        return self._array.tolist()

    def numpy(self):
        if _grad_mode.state.capture is not None:  # a value read while compiling: refused
            _grad_mode.state.capture.refuse(self, 'numpy')
        if self._requires_grad:
            raise RuntimeError("numpy: the tensor requires grad; call .detach().numpy() instead")
        return backend.to_device(self._array, "cpu")

    def __array__(self, dtype=None, copy=None):
        if _grad_mode.state.capture is not None:  # a value read while compiling: refused
            _grad_mode.state.capture.refuse(self, '__array__')
        arr = backend.to_device(self._array, "cpu")
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __float__(self):
        if _grad_mode.state.capture is not None:  # a value read while compiling: refused
            _grad_mode.state.capture.refuse(self, 'float')
        return float(self.item())

    def __int__(self):
        if _grad_mode.state.capture is not None:  # a value read while compiling: refused
            _grad_mode.state.capture.refuse(self, 'int')
        return int(self.item())

    def __bool__(self):
        if _grad_mode.state.capture is not None:  # a value read while compiling: refused
            _grad_mode.state.capture.refuse(self, 'bool')
        if self._array.size != 1:
            raise RuntimeError(
                f"bool: the truth value of a tensor with {self._array.size} elements is ambiguous")
        return bool(self._array)

    def __index__(self):
        if _grad_mode.state.capture is not None:  # a value read while compiling: refused
            _grad_mode.state.capture.refuse(self, 'index')
        if self._array.dtype.kind not in "iu" or self._array.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._array)

    def __hash__(self):
        return id(self)

    def __iter__(self):
        if self._array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._array.shape[0]))

    def __repr__(self):
        if _grad_mode.state.capture is not None:  # a value read while compiling: refused
            _grad_mode.state.capture.refuse(self, 'repr')
        data = backend.to_device(self._array, "cpu")
        body = format_array(data)  # PyTorch's layout (chainrule/printing.py)
        extras = []
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if data.size == 0 and data.ndim != 1:  # as torch: an empty tensor names its shape
            extras.append(f"size={tuple(data.shape)}")
        default = (backend.default_float,) if data.size == 0 else \
            (backend.default_float, np.int64, np.bool_)
        if self._array.dtype not in default:  # as torch
            extras.append(f"dtype=chainrule.{self._array.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return _printing.with_suffixes("tensor(" + body, extras, len("tensor("))

    # --- conversion ------------------------------------------------------------------------
    def to(self, *args, **kwargs):
        """``t.to(dtype)``, ``t.to(device)`` or ``t.to(device, dtype)``, like PyTorch."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        for a in args:
            if backend.is_device_like(a):
                device = a
            else:
                dtype = a
        out = self
        if device is not None and backend.normalize_device(device) != self.device:
            out = _ops.to_device(out, backend.normalize_device(device))
        if dtype is not None and backend.to_dtype(dtype) != out.dtype:
            out = _ops.cast(out, backend.to_dtype(dtype))
        return out

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def clone(self):
        return _ops.clone(self)

    def is_contiguous(self):
        """Whether torch would call this tensor contiguous (see ``_layout_is_contiguous``)."""
        return _layout_is_contiguous(self._array)

    def contiguous(self):
        """This tensor where it is contiguous, else a contiguous copy (recorded as a clone,
        as torch records it): ``x.transpose(1, 2).contiguous().view(n, -1)``."""
        return self if _layout_is_contiguous(self._array) else _ops.clone(self)

    # --- in place ---------------------------------------------------------------------------
    # Outside the graph (plain tensors, or under no_grad: ``w -= lr * w.grad``) an in-place op
    # writes into the array. Inside it, ``ops.inplace`` records it, as PyTorch does.
    def _check_inplace(self, name):
        if self._requires_grad and self.grad_fn is None and _grad_mode.state.enabled:
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad is used in an in-place operation; "
                "wrap the update in `with cr.no_grad():`")

    def _inplace(self, name, value, arithmetic=False, into_whole=True, **recorded):
        self._check_inplace(name)
        if arithmetic and isinstance(value, Tensor):
            _refuse_partial_overlap(name, self._array, value._array)
        if _grad_mode.state.tracer is not None:  # an update in place is a step of a trace
            if not isinstance(value, Tensor):  # a number, by name (a replay needs it)
                recorded["value"] = value
            _tracing.note(name, (self, value), **recorded)
        if arithmetic:  # an int tensor cannot take a float result (as PyTorch)
            result = _promotion.result_type(self, value)
            if arithmetic == "divide" and result.kind in "biu":  # true division gives floats
                result = backend.default_float
            _promotion.check_inplace_cast(name, result, self._array.dtype)
        value = value._array if isinstance(value, Tensor) else value
        if type(value) is _ndarray and type(self._array) is not _ndarray:
            value = backend.to_device(value, backend.device_of(self._array))  # host data: copied
        if self._array.dtype != getattr(value, "dtype", self._array.dtype):
            # made by the array module of this tensor: a host 0-d array cannot meet a GPU one
            value = backend.get_array_module(self._array).asarray(value).astype(
                self._array.dtype, copy=False)
        shape = getattr(value, "shape", ())
        if into_whole and shape and shape != self._array.shape:  # broadcast to self, not grow it
            _check_writable_shape(name, shape, self._array.shape)
        self._version += 1
        fn = self.grad_fn
        if fn is not None and fn.saves_output:  # its backward reads this very array: refuse it
            fn.version = -1
        return value

    def _recorded(self, name, other, compute, reads_self):
        """The in-graph path of an in-place op: run ``compute(previous, other)`` out of place,
        write back, rebase. ``t.add_(t)`` reads t's previous value as both operands: t
        itself is the op's output by then, and would fail the node's version check, although
        the sum's backward never reads it (a product's does: ``t.mul_(t)`` then fails at
        backward, as in torch)."""
        self._check_inplace(name)
        if isinstance(other, Tensor):
            _refuse_partial_overlap(name, self._array, other._array)
        fn = self.grad_fn
        if fn is not None and fn.saves_output:  # the node that made self reads this array
            fn.version = -1
        if other is self and not reads_self:
            return _ops.inplace.rebase(name, self, lambda old: compute(old, old), False)
        return _ops.inplace.rebase(name, self, lambda old: compute(old, other), reads_self)

    def add_(self, other, alpha=1):
        if alpha != 1:
            _ops.arithmetic.check_alpha("add_", self, other, alpha)
        if _in_graph(self, other):
            return self._recorded("add_", other, lambda old, o: _ops.add(old, o, alpha), False)
        other = self._inplace("add_", other, True, **({} if alpha == 1 else {"alpha": alpha}))
        if alpha == 1:
            self._array += other
        else:  # rounded once, as torch's add_ with alpha
            add_scaled(self._array, alpha, other)
        return self

    def sub_(self, other, alpha=1):
        if alpha != 1:
            _ops.arithmetic.check_alpha("sub_", self, other, alpha)
        if _in_graph(self, other):
            return self._recorded("sub_", other, lambda old, o: _ops.sub(old, o, alpha), False)
        other = self._inplace("sub_", other, True, **({} if alpha == 1 else {"alpha": alpha}))
        if alpha == 1:
            self._array -= other
        else:
            add_scaled(self._array, -alpha, other)
        return self

    def mul_(self, other):
        if _in_graph(self, other):
            return self._recorded("mul_", other, lambda old, o: _ops.mul(old, o),
                                  _requires(other))
        self._array *= self._inplace("mul_", other, True)
        return self

    def div_(self, other):
        if _in_graph(self, other):
            return self._recorded("div_", other, lambda old, o: _ops.div(old, o),
                                  _requires(other))
        self._array /= self._inplace("div_", other, "divide")
        return self

    def relu_(self):
        """max(x, 0) in place; in the graph too (its backward needs only the sign, which the
        result keeps, so no copy of the input is made)."""
        if _in_graph(self, None):
            return self._recorded("relu_", None, lambda old, _: _ops.relu(old), False)
        self._inplace("relu_", 0)
        _ops.activation.relu_array(self._array, out=self._array)
        return self

    def _unary_(self, name, op, *args):
        """``self = op(self, *args)`` in place (``exp_``, ``floor_``...): ``_indexed_`` with
        no other operand, the previous values kept for the op's backward."""
        return self._indexed_(name, None, lambda old, _: op(old, *args), True)

    def exp_(self):
        return self._unary_("exp_", _ops.exp)

    def log_(self):
        return self._unary_("log_", _ops.log)

    def sqrt_(self):
        return self._unary_("sqrt_", _ops.sqrt)

    def abs_(self):
        return self._unary_("abs_", _ops.abs)

    def neg_(self):
        return self._unary_("neg_", _ops.neg)

    def sigmoid_(self):
        return self._unary_("sigmoid_", _ops.sigmoid)

    def tanh_(self):
        return self._unary_("tanh_", _ops.tanh)

    def floor_(self):
        return self._unary_("floor_", _ops.floor)

    def ceil_(self):
        return self._unary_("ceil_", _ops.ceil)

    def trunc_(self):
        return self._unary_("trunc_", _ops.trunc)

    def round_(self, decimals=0):
        return self._unary_("round_", _ops.round, decimals)

    def frac_(self):
        return self._unary_("frac_", _ops.frac)

    def lerp_(self, end, weight):
        return self._indexed_("lerp_", end, lambda old, e: _ops.lerp(old, e, weight),
                              isinstance(weight, Tensor))  # d weight reads end - self

    def addcmul_(self, tensor1, tensor2, value=1):
        return self._indexed_("addcmul_", tensor1,
                              lambda old, t1: _ops.addcmul(old, t1, tensor2, value))

    def addcdiv_(self, tensor1, tensor2, value=1):
        return self._indexed_("addcdiv_", tensor1,
                              lambda old, t1: _ops.addcdiv(old, t1, tensor2, value))

    def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
        return self._unary_("nan_to_num_", _ops.nan_to_num, nan, posinf, neginf)

    def _reshape_(self, name, fn):
        """An in-place view op (``unsqueeze_``): the tensor takes the new shape of the same
        memory; in the graph it becomes the output of the view's node, as in torch."""
        self._check_inplace(name)
        if _in_graph(self, None):
            old = _make(self._array, self._requires_grad, self.grad_fn)
            old._output_nr, old._version = self._output_nr, self._version
            new = fn(old)
            self._array, self.grad_fn, self._output_nr = new._array, new.grad_fn, new._output_nr
        else:
            self._array = fn(_make(self._array))._array
        self._version += 1
        return self

    def unsqueeze_(self, dim):
        return self._reshape_("unsqueeze_", lambda t: _ops.unsqueeze(t, dim))

    def squeeze_(self, dim=None):
        return self._reshape_("squeeze_", lambda t: _ops.squeeze(t, dim))

    def t_(self):
        return self._reshape_("t_", lambda t: t.t())

    def clamp_min_(self, min):
        return self.clamp_(min=min)

    def clamp_max_(self, max):
        return self.clamp_(max=max)

    def select(self, dim, index):
        return _ops.select(self, dim, index)

    def narrow(self, dim, start, length):
        return _ops.narrow(self, dim, start, length)

    def scatter(self, dim, index, src=None, value=None):
        return _ops.scatter(self, dim, index, src, value)

    def scatter_add(self, dim, index, src):
        return _ops.scatter_add(self, dim, index, src)

    def masked_select(self, mask):
        return _ops.masked_select(self, mask)

    def index_fill(self, dim, index, value):
        return _ops.index_fill(self, dim, index, value)

    def _indexed_(self, name, other, compute, reads_self=False):
        """``self = compute(self, other)`` in place (scatter_, lerp_, ...): recorded in the
        graph (``reads_self``: the op's backward reads self's previous values, so they are
        kept), else written into the array; a float result is refused for an integer
        tensor, as torch refuses it."""
        if _in_graph(self, other):
            return self._recorded(name, other, compute, reads_self)
        self._inplace(name, 0)
        result = compute(_make(self._array), other)._array
        _promotion.check_inplace_cast(name, result.dtype, self._array.dtype)
        self._array[...] = result
        return self

    def scatter_(self, dim, index, src=None, value=None):
        if (src is None) == (value is None):
            raise TypeError("scatter_: give exactly one of src and value")
        return self._indexed_("scatter_", value if src is None else src,
                              lambda old, s: _ops.scatter(old, dim, index, s))

    def scatter_add_(self, dim, index, src):
        return self._indexed_("scatter_add_", src,
                              lambda old, s: _ops.scatter_add(old, dim, index, s))

    def index_fill_(self, dim, index, value):
        return self._indexed_("index_fill_", value,
                              lambda old, v: _ops.index_fill(old, dim, index, v))

    def nonzero(self, *, as_tuple=False):
        return _ops.nonzero(self, as_tuple=as_tuple)

    def argwhere(self):
        return _ops.nonzero(self)

    def masked_fill_(self, mask, value):
        """``self[mask] = value`` in place, ``mask`` broadcasting to self (as torch's)."""
        if _in_graph(self, value):
            return self._recorded("masked_fill_", value,
                                  lambda old, v: _ops.masked_fill(old, mask, v), False)
        self._inplace("masked_fill_", 0)
        self._array[...] = _ops.masked_fill(_make(self._array), mask, value)._array
        return self

    def zero_(self):
        return self.fill_(0, name="zero_")

    def fill_(self, value, name="fill_"):
        if _in_graph(self, value):
            return _ops.inplace.setitem(self, Ellipsis, value)
        self._array[...] = self._inplace(name, value)
        return self

    def copy_(self, src):
        if isinstance(src, Tensor):
            _refuse_partial_overlap("copy_", self._array, src._array)
        if _in_graph(self, src):
            if tuple(src.shape) != tuple(self.shape):
                src = _ops.broadcast_to(src, self.shape)
            return _ops.inplace.setitem(self, Ellipsis, src.to(self.dtype))
        if isinstance(src, Tensor) and src.device != self.device:  # copy_ crosses devices
            src = src.to(self.device)
        src = self._inplace("copy_", src)
        self._array[...] = src
        return self

    def clamp_(self, min=None, max=None):
        if _in_graph(self, None):
            return self._recorded("clamp_", None, lambda old, _: _ops.clamp(old, min, max), True)
        self._inplace("clamp_", 0)
        np.clip(self._array, min, max, out=self._array)
        return self

    def uniform_(self, a=0.0, b=1.0, generator=None):
        self._inplace("uniform_", 0)
        view = backend.memory_order(self._array)  # torch fills in memory order
        values = backend.rng_of(generator).draw_uniform(view.shape, a, b, view.dtype)
        view[...] = backend.to_device(values, backend.device_of(view))  # drawn on the CPU
        return self

    def bernoulli_(self, p=0.5, generator=None):
        """1 with probability ``p`` (a number, or a tensor broadcasting to self), else 0."""
        self._inplace("bernoulli_", 0)
        view = backend.memory_order(self._array)
        rng = backend.rng_of(generator)
        if isinstance(p, Tensor):
            probs = np.broadcast_to(backend.to_device(p._array, "cpu"), self._array.shape)
            values = rng.draw_bernoulli_tensor(np.ascontiguousarray(probs), view.dtype)
            self._array[...] = backend.to_device(values, backend.device_of(view))
            return self
        if not 0 <= p <= 1:
            raise ValueError(f"bernoulli_: p must be in [0, 1], got {p}")
        values = rng.draw_bernoulli(view.shape, float(p), view.dtype)
        view[...] = backend.to_device(values, backend.device_of(view))
        return self

    def exponential_(self, lambd=1.0, generator=None):
        """Draws of the exponential distribution of rate ``lambd``."""
        if lambd <= 0:
            raise ValueError(f"exponential_: lambd must be positive, got {lambd}")
        self._inplace("exponential_", 0)
        view = backend.memory_order(self._array)
        values = backend.rng_of(generator).draw_exponential(view.shape, float(lambd), view.dtype)
        view[...] = backend.to_device(values, backend.device_of(view))
        return self

    def random_(self, from_=0, to=None, generator=None):
        """Integers drawn uniformly from [from_, to) (``random_(to)``: [0, to)), as torch's;
        ``random_()`` draws from the whole range the dtype holds exactly ([0, 2^63) for
        int64, [0, 2^24] for float32), as torch's (DataLoader draws its seeds so)."""
        if to is None:
            if from_ == 0:
                to = _FULL_RANDOM_RANGE.get(self._array.dtype)
                if to is None:
                    raise TypeError(f"random_: no default range for dtype {self.dtype}; "
                                    "give the bounds (random_(to) or random_(from_, to))")
            else:
                from_, to = 0, from_
        if to <= from_:
            raise ValueError(f"random_: expects from_ < to, got [{from_}, {to})")
        self._inplace("random_", 0)
        view = backend.memory_order(self._array)
        values = backend.rng_of(generator).draw_int(int(from_), int(to), view.shape,
                                                    dtype=view.dtype)
        view[...] = backend.to_device(values, backend.device_of(view))
        return self

    def normal_(self, mean=0.0, std=1.0, generator=None):
        self._inplace("normal_", 0)
        view = backend.memory_order(self._array)
        values = backend.rng_of(generator).draw_normal(
            view.shape, mean, std, view.dtype, contiguous=self._array.flags.c_contiguous)
        view[...] = backend.to_device(values, backend.device_of(view))
        return self

    def __setitem__(self, index, value):
        if isinstance(value, Tensor) and type(value._array) is _ndarray \
                and type(self._array) is _ndarray \
                and np.may_share_memory(self._array, value._array):
            key = _ops.index_key(index)  # basic: the slots written; else, as torch, all of self
            basic = not _ops.index._has_tensor(index) and _ops.index._is_basic(key)
            _refuse_partial_overlap("setitem", self._array[key] if basic else self._array,
                                    value._array)
        if _in_graph(self, value) and _ops.index._has_tensor(index):  # index Tensors: inputs
            _ops.inplace.setitem(self, index, value)
            return
        index = _ops.index_key(index)
        if _in_graph(self, value):
            _ops.inplace.setitem(self, index, value)
            return
        value = self._inplace("__setitem__", value, into_whole=False)
        try:
            self._array[index] = value
        except ValueError as exc:
            raise _errors.InvalidArgument(
                f"setitem: cannot write a value of shape {tuple(getattr(value, 'shape', ()))} "
                f"into tensor of shape {tuple(self.shape)} at {index!r}: {exc}") from None

    # --- operators ------------------------------------------------------------------------
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    # x += y is in place, as in PyTorch: recorded when x or y is in the graph (ops.inplace)
    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __eq__(self, other):
        return _ops.eq(self, other)

    def __ne__(self, other):
        return _ops.ne(self, other)

    def __lt__(self, other):
        return _ops.lt(self, other)

    def __le__(self, other):
        return _ops.le(self, other)

    def __gt__(self, other):
        return _ops.gt(self, other)

    def __ge__(self, other):
        return _ops.ge(self, other)

    def __and__(self, other):
        return _ops.logical_and(self, other)

    def __or__(self, other):
        return _ops.logical_or(self, other)

    def __xor__(self, other):
        return _ops.logical_xor(self, other)

    def __invert__(self):
        return _ops.logical_not(self)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    # --- methods: the same functions as cr.<name> --------------------------------------------
    @property
    def T(self):
        return _ops.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self):
        return _ops.transpose(self, -2, -1)

    def add(self, other, alpha=1):
        return _ops.add(self, other, alpha)

    def sub(self, other, alpha=1):
        return _ops.sub(self, other, alpha)

    def mul(self, other):
        return _ops.mul(self, other)

    def div(self, other, *, rounding_mode=None):
        return _ops.div(self, other, rounding_mode=rounding_mode)

    divide = div

    def floor_divide(self, other):
        return _ops.floor_divide(self, other)

    def __floordiv__(self, other):
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops.floor_divide(other, self)

    def __ifloordiv__(self, other):
        return self.copy_(_ops.floor_divide(self, other))

    def pow(self, exponent):
        return _ops.pow(self, exponent)

    def matmul(self, other):
        return _ops.matmul(self, other)

    def mm(self, mat2):
        return _ops.mm(self, mat2)

    def neg(self):
        return _ops.neg(self)

    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def log1p(self):
        return _ops.log1p(self)

    def expm1(self):
        return _ops.expm1(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def rsqrt(self):
        return _ops.rsqrt(self)

    def abs(self):
        return _ops.abs(self)

    def sign(self):
        return _ops.sign(self)

    def sin(self):
        return _ops.sin(self)

    def cos(self):
        return _ops.cos(self)

    def tanh(self):
        return _ops.tanh(self)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def relu(self):
        return _ops.relu(self)

    def clamp(self, min=None, max=None):
        return _ops.clamp(self, min, max)

    clip = clamp

    def clamp_min(self, min):
        return _ops.clamp(self, min=min)

    def clamp_max(self, max):
        return _ops.clamp(self, max=max)

    def tan(self):
        return _ops.tan(self)

    def sinh(self):
        return _ops.sinh(self)

    def cosh(self):
        return _ops.cosh(self)

    def asin(self):
        return _ops.asin(self)

    def acos(self):
        return _ops.acos(self)

    def atan(self):
        return _ops.atan(self)

    def asinh(self):
        return _ops.asinh(self)

    def acosh(self):
        return _ops.acosh(self)

    def atanh(self):
        return _ops.atanh(self)

    arcsin, arccos, arctan = asin, acos, atan
    arcsinh, arccosh, arctanh = asinh, acosh, atanh

    def atan2(self, other):
        return _ops.atan2(self, other)

    arctan2 = atan2

    def hypot(self, other):
        return _ops.hypot(self, other)

    def exp2(self):
        return _ops.exp2(self)

    def reciprocal(self):
        return _ops.reciprocal(self)

    def sinc(self):
        return _ops.sinc(self)

    def xlogy(self, other):
        return _ops.xlogy(self, other)

    def logaddexp(self, other):
        return _ops.logaddexp(self, other)

    def erfc(self):
        return _ops.erfc(self)

    def erfinv(self):
        return _ops.erfinv(self)

    def lgamma(self):
        return _ops.lgamma(self)

    def digamma(self):
        return _ops.digamma(self)

    def polygamma(self, n):
        return _ops.polygamma(n, self)

    def det(self):
        return _ops.det(self)

    def inverse(self):
        return _ops.inverse(self)

    def logdet(self):
        return _ops.logdet(self)

    def slogdet(self):
        return _ops.decompositions.slogdet(self)

    def trace(self):
        return _ops.trace(self)

    def kron(self, other):
        return _ops.kron(self, other)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return _ops.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def fmod(self, other):
        return _ops.fmod(self, other)

    def remainder(self, other):
        return _ops.remainder(self, other)

    __mod__ = remainder

    def __rmod__(self, other):
        return _ops.remainder(other, self)

    def lerp(self, end, weight):
        return _ops.lerp(self, end, weight)

    def addcmul(self, tensor1, tensor2, value=1):
        return _ops.addcmul(self, tensor1, tensor2, value)

    def addcdiv(self, tensor1, tensor2, value=1):
        return _ops.addcdiv(self, tensor1, tensor2, value)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return _ops.nan_to_num(self, nan, posinf, neginf)

    def median(self, dim=None, keepdim=False):
        return _ops.median(self, dim, keepdim)

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return _ops.quantile(self, q, dim, keepdim, interpolation=interpolation)

    def unique(self, sorted=True, return_inverse=False, return_counts=False,  # noqa: A002
               dim=None):
        return _ops.unique(self, sorted, return_inverse, return_counts, dim)

    def half(self):
        return self.to(np.float16)

    def byte(self):
        return self.to(np.uint8)

    def char(self):
        return self.to(np.int8)

    def short(self):
        return self.to(np.int16)

    def type_as(self, other):
        return self.to(other.dtype)

    def movedim(self, source, destination):
        return _ops.movedim(self, source, destination)

    moveaxis = movedim

    def tile(self, dims):
        return _ops.tile(self, dims)

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        return _ops.diff(self, n, dim, prepend, append)

    def count_nonzero(self, dim=None):
        return _ops.count_nonzero(self, dim)

    def tensor_split(self, indices_or_sections, dim=0):
        return _ops.tensor_split(self, indices_or_sections, dim)

    def rot90(self, k=1, dims=(0, 1)):
        return _ops.rot90(self, k, dims)

    def take(self, index):
        return _ops.take(self, index)

    def index_copy(self, dim, index, source):
        return _ops.index_copy(self, dim, index, source)

    def index_copy_(self, dim, index, source):
        return self._indexed_("index_copy_", source,
                              lambda old, src: _ops.index_copy(old, dim, index, src))

    def nansum(self, dim=None, keepdim=False):
        return _ops.nansum(self, dim, keepdim)

    def nanmean(self, dim=None, keepdim=False):
        return _ops.nanmean(self, dim, keepdim)

    def aminmax(self, *, dim=None, keepdim=False):
        return _ops.aminmax(self, dim=dim, keepdim=keepdim)

    def sign_(self):
        return self._unary_("sign_", _ops.sign)

    def fill_diagonal_(self, fill_value, wrap=False):
        """The main diagonal set to ``fill_value`` in place (all dims of one size, or a tall
        matrix with ``wrap`` restarting it every n + 1 rows), as torch's."""
        arr = self._array
        if arr.ndim < 2 or (arr.ndim > 2 and len(set(arr.shape)) != 1):
            raise RuntimeError(f"fill_diagonal_: needs a matrix or a tensor whose dims all have "
                               f"one size, got shape {tuple(arr.shape)}")
        mask = np.zeros(arr.shape, np.bool_)
        if arr.ndim == 2:
            np.fill_diagonal(mask, True, wrap=wrap)
        else:
            mask[(np.arange(arr.shape[0]),) * arr.ndim] = True
        return self.masked_fill_(Tensor._of(backend.to_device(mask, backend.device_of(arr))),
                                 fill_value)

    def conj(self):
        """Real tensors: the tensor itself (there is no complex support to conjugate)."""
        if self._array.dtype.kind == "c":
            raise TypeError("conj: complex tensors are not supported")
        return self

    @property
    def real(self):
        return self.conj()

    @property
    def H(self):
        if self.ndim > 2:
            raise RuntimeError(f"H: defined for matrices only, got shape {tuple(self.shape)}")
        return self.conj().T

    @property
    def mH(self):
        return self.conj().mT

    def isclose(self, other, rtol=1e-5, atol=1e-8, equal_nan=False):
        return _ops.isclose(self, other, rtol, atol, equal_nan)

    def index_add(self, dim, index, source, *, alpha=1):
        return _ops.index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._indexed_("index_add_", source,
                              lambda old, src: _ops.index_add(old, dim, index, src, alpha=alpha))

    def pow_(self, exponent):
        return self._indexed_("pow_", exponent, lambda old, e: _ops.pow(old, e), True)

    def bincount(self, weights=None, minlength=0):
        return _ops.bincount(self, weights, minlength)

    def floor(self):
        return _ops.floor(self)

    def ceil(self):
        return _ops.ceil(self)

    def trunc(self):
        return _ops.trunc(self)

    fix = trunc

    def round(self, decimals=0):
        return _ops.round(self, decimals)

    def frac(self):
        return _ops.frac(self)

    def maximum(self, other):
        return _ops.maximum(self, other)

    def minimum(self, other):
        return _ops.minimum(self, other)

    def sum(self, dim=None, keepdim=False, dtype=None):
        return _ops.sum(self, dim, keepdim, dtype=dtype)

    def sum_to_size(self, *shape):
        return _ops.sum_to_size(self, *shape)

    def mean(self, dim=None, keepdim=False):
        return _ops.mean(self, dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, correction=None):
        return _ops.var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim=None, unbiased=None, keepdim=False, correction=None):
        return _ops.std(self, dim, unbiased, keepdim, correction=correction)

    def prod(self, dim=None, keepdim=False):
        return _ops.prod(self, dim, keepdim)

    def max(self, dim=None, keepdim=False):
        return _ops.max(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return _ops.min(self, dim, keepdim)

    def amax(self, dim=None, keepdim=False):
        return _ops.amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        return _ops.amin(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return _ops.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return _ops.argmin(self, dim, keepdim)

    def logsumexp(self, dim, keepdim=False):
        return _ops.logsumexp(self, dim, keepdim)

    def norm(self, p=2, dim=None, keepdim=False):
        return _ops.norm(self, p, dim, keepdim)

    def softmax(self, dim):
        return _ops.softmax(self, dim)

    def log_softmax(self, dim):
        return _ops.log_softmax(self, dim)

    def reshape(self, *shape):
        return _ops.reshape(self, *shape)

    def view(self, *shape):
        """The same values in ``shape``, sharing memory; like torch, refused where the memory
        layout does not allow it (a transposed tensor: use ``reshape``, which copies). A
        convolution's output, contiguous for torch but channels-last in chainrule's memory,
        is viewed through a copy where its memory order needs one:
        ``conv(x).view(n, -1)`` works as in torch, without sharing memory."""
        _check_viewable(self, shape)
        return _ops.reshape(self, *shape)

    def view_as(self, other):
        return _ops.reshape(self, other.shape)

    def reshape_as(self, other):
        return _ops.reshape(self, other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return _ops.flatten(self, start_dim, end_dim)

    def transpose(self, dim0, dim1):
        return _ops.transpose(self, dim0, dim1)

    def swapaxes(self, dim0, dim1):
        return _ops.transpose(self, dim0, dim1)

    def t(self):
        return _ops.transpose(self, 0, 1) if self.ndim == 2 else self

    def permute(self, *dims):
        return _ops.permute(self, *dims)

    def squeeze(self, dim=None):
        return _ops.squeeze(self, dim)

    def unsqueeze(self, dim):
        return _ops.unsqueeze(self, dim)

    def expand(self, *shape):
        return _ops.expand(self, *shape)

    def expand_as(self, other):
        return _ops.expand(self, other.shape)

    def broadcast_to(self, shape):
        return _ops.broadcast_to(self, shape)

    def split(self, split_size_or_sections, dim=0):
        return _ops.split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        return _ops.chunk(self, chunks, dim)

    def gather(self, dim, index):
        return _ops.gather(self, dim, index)

    def index_select(self, dim, index):
        return _ops.index_select(self, dim, index)

    def masked_fill(self, mask, value):
        return _ops.masked_fill(self, mask, value)

    # issue 12: ordering, scans, batched products, triangles and repetition
    def sort(self, dim=-1, descending=False, stable=False):
        return _ops.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _ops.argsort(self, dim, descending, stable)

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's name
        return _ops.topk(self, k, dim, largest, sorted)

    def msort(self):
        return _ops.msort(self)

    def cumsum(self, dim, dtype=None):
        return _ops.cumsum(self, dim, dtype)

    def cumprod(self, dim, dtype=None):
        return _ops.cumprod(self, dim, dtype)

    def bmm(self, mat2):
        return _ops.bmm(self, mat2)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _ops.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def tril(self, diagonal=0):
        return _ops.tril(self, diagonal)

    def triu(self, diagonal=0):
        return _ops.triu(self, diagonal)

    def repeat(self, *sizes):
        return _ops.repeat(self, *sizes)

    def repeat_interleave(self, repeats, dim=None, output_size=None):
        return _ops.repeat_interleave(self, repeats, dim, output_size)

    def roll(self, shifts, dims=None):
        return _ops.roll(self, shifts, dims)

    def unbind(self, dim=0):
        return _ops.unbind(self, dim)

    def square(self):
        return _ops.square(self)

    def erf(self):
        return _ops.erf(self)

    def log2(self):
        return _ops.log2(self)

    def log10(self):
        return _ops.log10(self)

    def dot(self, tensor):
        return _ops.dot(self, tensor)

    def outer(self, vec2):
        return _ops.outer(self, vec2)

    def mv(self, vec):
        return _ops.mv(self, vec)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return _ops.addmv(self, mat, vec, beta=beta, alpha=alpha)

    def inner(self, other):
        return _ops.inner(self, other)

    def vdot(self, other):
        return _ops.vdot(self, other)

    def cross(self, other, dim=None):
        return _ops.cross(self, other, dim)

    def dist(self, other, p=2):
        return _ops.dist(self, other, p)

    def ravel(self):
        return _ops.ravel(self)

    def mode(self, dim=-1, keepdim=False):
        return _ops.mode(self, dim, keepdim)

    def flip(self, *args, dims=None):  # x.flip(0, 1), x.flip((0, 1)), x.flip(dims=[0])
        if dims is None:
            dims = args[0] if len(args) == 1 and not isinstance(args[0], int) else args
        return _ops.flip(self, dims)

    def histc(self, bins=100, min=0, max=0):  # noqa: A002 - PyTorch's names
        return _ops.histc(self, bins, min, max)

    def histogram(self, bins=100, *, range=None, weight=None, density=False):  # noqa: A002
        return _ops.histogram(self, bins, range=range, weight=weight, density=density)

    def where(self, condition, other):
        return _ops.where(condition, self, other)

    def eq(self, other):
        return _ops.eq(self, other)

    def ne(self, other):
        return _ops.ne(self, other)

    def lt(self, other):
        return _ops.lt(self, other)

    def le(self, other):
        return _ops.le(self, other)

    def gt(self, other):
        return _ops.gt(self, other)

    def ge(self, other):
        return _ops.ge(self, other)

    def logical_not(self):
        return _ops.logical_not(self)

    def all(self, dim=None, keepdim=False):
        return _ops.all(self, dim, keepdim)

    def any(self, dim=None, keepdim=False):
        return _ops.any(self, dim, keepdim)

    def isnan(self):
        return _ops.isnan(self)

    def isfinite(self):
        return _ops.isfinite(self)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return _random.multinomial(self, num_samples, replacement, generator=generator)


def _warn_nonleaf_grad(t):
    import warnings  # noqa: PLC0415 - rare path

    caller = sys._getframe(2).f_globals.get("__name__", "")
    if caller == "chainrule" or caller.startswith("chainrule."):
        return  # the engine and viz read it on purpose; the warning is for user code
    warnings.warn(
        f"Tensor.grad: this tensor is not a leaf (made by {t.grad_fn.name}), so backward() "
        "does not fill its .grad; call .retain_grad() on it before backward() to keep it, or "
        "read the leaf's .grad (cr.autograd.why_no_grad(tensor, loss) explains)",
        UserWarning, stacklevel=3)


class _Cut:
    """Where a tensor was cut from a graph by ``detach()`` or ``.data``: read by why_no_grad."""

    __slots__ = ("how", "node", "filename", "line")

    def __init__(self, how, node, filename, line):
        self.how, self.node, self.filename, self.line = how, node, filename, line

    def __reduce__(self):  # a weak reference cannot be pickled; the copy still says where
        return (_Cut, (self.how, None, self.filename, self.line))


def _detached_at(node, how):
    """The cut: how, a weak reference to the node whose output was cut, file and line."""
    frame = sys._getframe(2)
    return _Cut(how, weakref.ref(node), frame.f_code.co_filename, frame.f_lineno)

# PyTorch takes NumPy's axis= / keepdims= for dim= / keepdim= in these methods (aliases.py).
for _name in aliases.TENSOR_METHODS:
    setattr(Tensor, _name, aliases.torch_aliases(getattr(Tensor, _name)))


class _HookHandle:
    def __init__(self, hooks, entry):
        self._hooks, self._entry = hooks, entry

    def remove(self):
        if self._entry in self._hooks:
            self._hooks.remove(self._entry)


# The one late binding of the import circle: the ops and the engine are built on Tensor, and
# Tensor's methods call them, so they are bound here, once all of them exist. Nothing below
# viz imports viz: ``chainrule.viz`` installs the Jupyter picture (``_repr_svg_``) itself.
from . import ops as _ops  # noqa: E402
from . import creation as _creation  # noqa: E402
from .autograd import engine as _engine  # noqa: E402
from .autograd import grad_mode as _grad_mode  # noqa: E402
from .autograd import tracing as _tracing  # noqa: E402
from . import promotion as _promotion  # noqa: E402
from . import random as _random  # noqa: E402


def _check_writable_shape(name, value_shape, shape):
    """An in-place write of a ``value_shape`` value into a ``shape`` tensor must broadcast."""
    ok = len(value_shape) <= len(shape) and all(
        v == 1 or v == s for v, s in zip(reversed(value_shape), reversed(shape)))
    if not ok:
        raise _errors.InvalidArgument(
            f"{name}: a value of shape {tuple(value_shape)} cannot be written into a tensor of "
            f"shape {tuple(shape)} (it must broadcast to it)")


def _refuse_partial_overlap(name, out, src):
    """Raise, as torch does, where an in-place op's input ``src`` and the array it writes,
    ``out``, share memory without being the same elements in the same order: the result
    would depend on the order the elements are written in (``t[1:].add_(t[:-1])``). As in
    torch, only arrays that tile their memory densely are compared (others, a strided slice,
    pass: NumPy computes them as if ``src`` were copied first), and only host arrays here.
    """
    if src is out or type(src) is not _ndarray or type(out) is not _ndarray \
            or not np.may_share_memory(out, src):
        return
    if not (_dense(out) and _dense(src)):
        return
    if out.shape == src.shape and out.strides == src.strides \
            and out.__array_interface__["data"][0] == src.__array_interface__["data"][0]:
        return  # the same elements: ``t.add_(t)``
    raise RuntimeError(
        f"{name}: the input (shape {tuple(src.shape)}) and the tensor written in place (shape "
        f"{tuple(out.shape)}) share part of their memory, so some elements would be read "
        "after they were overwritten; clone() the input first")


def _dense(a):
    """Whether ``a``'s elements tile its memory exactly, in some order of its axes (torch's
    non-overlapping and dense); negative strides (a flip, which torch copies) do not."""
    if a.flags.c_contiguous or a.flags.f_contiguous:
        return True
    expected = a.itemsize
    for stride, n in sorted((st, n) for st, n in zip(a.strides, a.shape) if n != 1):
        if stride != expected:
            return False
        expected *= n
    return True


def _layout_is_contiguous(arr):
    """Whether ``arr`` is laid out as a contiguous torch tensor of its shape would be, or as
    chainrule lays out the results that torch holds contiguous: a convolution's output
    (N, C, *S) is channels-last (N, *S, C) in memory. That layout counts from three dims up
    only, so a transposed matrix is not contiguous, as in torch (a transpose of (N, L, C)
    to (N, C, L) is taken for contiguous: its ``view`` copies where torch's would refuse)."""
    if arr.flags.c_contiguous:
        return True
    n = arr.ndim
    return n >= 3 and arr.transpose(_ops.shape.to_last(n)).flags.c_contiguous


def _check_viewable(t, shape):
    """Raise as torch does when ``t.view(shape)`` would need a copy (NumPy's no-copy reshape
    follows the same rule as torch's strides); a wrong size is left to reshape to report.
    A tensor in one of chainrule's own layouts (``_layout_is_contiguous``) is viewed as
    torch's contiguous one would be, by a copy where the memory order needs one."""
    arr = t._array
    if not isinstance(arr, np.ndarray) or _layout_is_contiguous(arr):
        return
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        np.reshape(arr, shape, copy=False)
    except ValueError:
        try:
            np.reshape(arr, shape)  # the size is wrong too: let reshape say that
        except (ValueError, TypeError):
            return
        raise RuntimeError(
            f"view: a tensor of shape {tuple(t.shape)} and strides {arr.strides} cannot be "
            f"viewed as {tuple(shape)} without a copy (it is not contiguous, e.g. transposed); "
            "use .reshape(...) instead") from None
    except TypeError:
        return


def _in_graph(t, other):
    """Whether ``t op= other`` is recorded: grad mode is on and t or other is in the graph
    (a leaf that requires grad is refused by ``_check_inplace`` instead)."""
    if not _grad_mode.state.enabled:
        return False
    if t._requires_grad:
        return t.grad_fn is not None
    return isinstance(other, Tensor) and other._requires_grad


def _requires(x):
    return isinstance(x, Tensor) and x._requires_grad
