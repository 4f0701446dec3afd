"""A strict stand-in device for the tests: arrays that refuse to mix with plain host ndarrays.

CuPy does not let a GPU array meet a NumPy array: ``cupy_x + numpy_y`` raises. Code that
allocates with ``np.zeros`` (instead of the array module of its inputs) therefore works on
the CPU and breaks on a GPU. This module makes that mistake visible on a CPU-only machine:

- ``StrictArray`` is an ndarray subclass whose ufuncs, NumPy functions and item assignment
  raise a TypeError naming the function when a plain host ``np.ndarray`` takes part (Python
  numbers, NumPy scalars and host index arrays are fine, as on CuPy). Results are
  StrictArrays again, and a NumPy scalar result becomes a 0-d StrictArray, as CuPy returns
  0-d arrays.
- ``strict`` is the array module of that device: ``strict.zeros``, ``strict.asarray``, ...
  make StrictArrays (``asarray`` of a host array is the explicit host-to-device copy);
  every other name is NumPy's, which dispatches back here through ``__array_function__``.
- ``register()`` / ``unregister()`` make "strict" a device of chainrule's backend, so that
  ``cr.zeros(3, device="strict")`` and ``backend.get_array_module(strict_array)`` work.

    >>> import numpy as np, chainrule as cr
    >>> register()
    >>> x = cr.ones(3, device="strict")
    >>> x._array + np.ones(3)
    Traceback (most recent call last):
    TypeError: strict device: add mixes a strict (device) array with a host numpy.ndarray...
    >>> unregister()

NumPy does not dispatch ``np.asarray(strict_array)`` (it would silently make a host view);
``register()`` therefore guards ``np.asarray``, ``np.array`` and ``np.ascontiguousarray``
as called through the ``numpy`` module, and the tests also check that results and
gradients are StrictArrays.
"""

from __future__ import annotations

import types

import numpy as np

from chainrule import backend

NAME = "strict"
_np_asarray, _np_array, _np_ascontiguousarray = np.asarray, np.array, np.ascontiguousarray


class StrictArray(np.ndarray):
    """An ndarray "on another device": it refuses to mix with plain host ndarrays."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        args = _to_host(name, inputs)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_to_host(name, out))
        if "where" in kwargs:
            kwargs["where"] = _to_host(name, kwargs["where"])
        result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _to_device(result)

    def __array_function__(self, func, types_, args, kwargs):
        name = getattr(func, "__name__", str(func))
        return _to_device(func(*_to_host(name, args), **_to_host(name, kwargs)))

    # Host index arrays are accepted, as CuPy (and torch, for CPU index tensors) accepts
    # them: they are copied to the device. Host *values* written into the array are not.
    def __getitem__(self, index):
        return _to_device(self.view(np.ndarray)[_index_to_host(index)])

    def __setitem__(self, index, value):
        self.view(np.ndarray)[_index_to_host(index)] = _to_host("__setitem__", value)

    def __repr__(self):
        return f"StrictArray({self.view(np.ndarray)!r})"

    def __reduce__(self):  # a copy (deepcopy, pickling by workers) stays on the device
        return (_rebuild, (self.view(np.ndarray).copy(),))


def _rebuild(host):
    return host.view(StrictArray)


def _to_host(name, obj):
    """``obj`` with StrictArrays as plain views; a plain host ndarray inside raises."""
    if isinstance(obj, StrictArray):
        return obj.view(np.ndarray)
    if isinstance(obj, np.ndarray):
        raise TypeError(f"strict device: {name} mixes a strict (device) array with a host "
                        f"numpy.ndarray of shape {obj.shape} and dtype {obj.dtype}; allocate "
                        f"with the array module of the inputs (backend.get_array_module)")
    if isinstance(obj, tuple):
        return tuple(_to_host(name, o) for o in obj)
    if isinstance(obj, list):
        return [_to_host(name, o) for o in obj]
    if isinstance(obj, dict):
        return {k: _to_host(name, v) for k, v in obj.items()}
    return obj


def _index_to_host(index):
    if isinstance(index, StrictArray):
        return index.view(np.ndarray)
    if isinstance(index, tuple):
        return tuple(_index_to_host(i) for i in index)
    return index


def _to_device(obj):
    if isinstance(obj, np.ndarray):
        return obj if isinstance(obj, StrictArray) else obj.view(StrictArray)
    if isinstance(obj, np.generic):
        return _np_asarray(obj).view(StrictArray)
    if isinstance(obj, tuple):
        return tuple(_to_device(o) for o in obj)
    if isinstance(obj, list):
        return [_to_device(o) for o in obj]
    return obj


def _host_input(obj):
    """A host value (list, number, ndarray) for a factory; StrictArrays pass as views."""
    return obj.view(np.ndarray) if isinstance(obj, StrictArray) else obj


def asarray(obj, dtype=None, order=None, copy=None):
    """The explicit host-to-device copy (``cupy.asarray``); a StrictArray is returned as is."""
    if isinstance(obj, StrictArray) and (dtype is None or obj.dtype == dtype) and not copy:
        return obj
    host = _np_asarray(_host_input(obj), dtype=dtype, order=order)
    if copy or not isinstance(obj, np.ndarray):
        host = _np_array(host, copy=True)
    return host.view(StrictArray)


def array(obj, dtype=None, copy=True, order="K", ndmin=0):
    return _np_array(_host_input(obj), dtype=dtype, copy=copy, order=order,
                     ndmin=ndmin).view(StrictArray)


def asnumpy(obj):
    """Device to host (``cupy.asnumpy``): a plain ndarray copy."""
    return _np_array(_host_input(obj), copy=True)


def _factory(numpy_factory):
    def make(*args, **kwargs):
        return _to_device(numpy_factory(*args, **kwargs))
    make.__name__ = numpy_factory.__name__
    return make


class _StrictModule(types.ModuleType):
    """The array module of the strict device: NumPy's names, factories making StrictArrays."""

    def __getattr__(self, name):
        return getattr(np, name)


strict = _StrictModule("strict", "The array module of the strict test device.")
strict.asarray = asarray
strict.array = array
strict.asnumpy = asnumpy
strict.ascontiguousarray = lambda a, dtype=None: asarray(_np_ascontiguousarray(_host_input(a),
                                                                                   dtype=dtype))
for _name in ("zeros", "ones", "empty", "full", "arange", "eye", "identity", "linspace",
              "indices", "tri", "frombuffer", "fromiter"):
    setattr(strict, _name, _factory(getattr(np, _name)))
# zeros_like(x) and friends dispatch through __array_function__ when x is strict; a host x
# here is a caller's bug that the mixing check would not see, so they are factories too.
for _name in ("zeros_like", "ones_like", "empty_like", "full_like"):
    setattr(strict, _name, _factory(getattr(np, _name)))


def _as_strided(x, shape=None, strides=None, subok=False, writeable=True):
    """The device's own strided view, as ``cupy.lib.stride_tricks.as_strided``: NumPy's
    would make a host view of a device array (through np.asarray, refused here)."""
    view = np.lib.stride_tricks.as_strided(_host_input(x), shape, strides,
                                           writeable=writeable)
    return view.view(StrictArray)


# cupy.lib.stride_tricks holds as_strided (not sliding_window_view): so does the stand-in.
strict.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))


_HOST_CONVERSIONS = {name: getattr(np, name) for name in ("asarray", "array",
                                                          "ascontiguousarray")}


def _refusing(name):
    convert = _HOST_CONVERSIONS[name]

    def guarded(obj, *args, **kwargs):
        if isinstance(obj, StrictArray) or (isinstance(obj, (list, tuple)) and any(
                isinstance(o, StrictArray) for o in obj)):
            raise TypeError(f"strict device: np.{name} of a strict (device) array would copy it "
                            f"to the host implicitly (CuPy refuses this); use the array "
                            f"module of the input, or backend.to_device(x, 'cpu')")
        return convert(obj, *args, **kwargs)
    guarded.__name__ = name
    return guarded


def register():
    """Make "strict" a device of chainrule's backend (the tests' fixture calls this).

    While registered, ``np.asarray``/``np.array``/``np.ascontiguousarray`` of a StrictArray
    raise (as they do for CuPy arrays): NumPy does not dispatch them, so they are guarded
    where chainrule calls them, as attributes of the ``numpy`` module.
    """
    backend.register_device(NAME, strict, StrictArray)
    for name in _HOST_CONVERSIONS:
        setattr(np, name, _refusing(name))


def unregister():
    for name, convert in _HOST_CONVERSIONS.items():
        setattr(np, name, convert)
    backend.unregister_device(NAME)


def is_strict(array) -> bool:
    return isinstance(array, StrictArray)
