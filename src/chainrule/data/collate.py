"""default_collate and default_convert: samples -> batches, with torch.utils.data's rules.

``default_collate`` stacks a list of samples into one batch that keeps the samples'
structure: tensors and arrays are stacked on a new first axis, Python ints become int64,
Python floats float64 (as PyTorch: its ``torch.tensor(batch, dtype=torch.float64)``),
NumPy scalars keep their dtype, strings stay a list; dicts are collated key by key and
sequences field by field (a tuple of fields becomes a LIST of batches, as in PyTorch;
namedtuples keep their type).

    >>> xb, yb = default_collate([(cr.ones(2), 1), (cr.zeros(2), 0)])
    >>> tuple(xb.shape), yb.tolist()
    ((2, 2), [1, 0])

``default_convert`` is what a DataLoader with ``batch_size=None`` applies to each sample:
NumPy arrays and scalars become tensors, nothing is stacked.
"""

from __future__ import annotations

import collections.abc
import copy

import numpy as np

from .. import backend
from ..tensor import Tensor, _make

# NumPy dtype kinds that hold no numbers: bytes, str, unicode, object.
_NON_NUMERIC = "SaUO"


def _error(elem) -> TypeError:
    return TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, "
                     f"dicts or lists; found {type(elem)}; pass a collate_fn")


def _stack(arrays, shapes_of):
    first = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != first:
            raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, "
                               f"but got {shapes_of(0)} at entry 0 and {shapes_of(i)} at "
                               f"entry {i}")
    xp = backend.get_array_module(arrays[0])
    return xp.stack(arrays)


def _collate_tensors(batch):
    if any(t.requires_grad for t in batch):
        from ..ops import stack  # noqa: PLC0415 - keep the graph, as torch.stack does
        return stack(list(batch))
    arrays = [t._array for t in batch]
    return _make(_stack(arrays, lambda i: tuple(arrays[i].shape)))


def default_collate(batch):
    """Stack a list of samples into a batch, keeping the samples' structure.

        >>> b = default_collate([{"x": np.zeros(3), "y": 1.5}, {"x": np.ones(3), "y": 2.0}])
        >>> tuple(b["x"].shape), b["y"].dtype == cr.float64
        ((2, 3), True)
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _collate_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.char in _NON_NUMERIC:
            raise _error(elem)
        return _make(_stack([np.asarray(b) for b in batch], lambda i: tuple(batch[i].shape)))
    if isinstance(elem, np.generic):
        if elem.dtype.char in _NON_NUMERIC:
            raise _error(elem)
        return _make(np.asarray(batch))
    if isinstance(elem, float):
        return _make(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, int):  # bool too: an all-bool batch stays bool, as torch.tensor infers
        values = np.asarray(batch)
        if values.dtype.kind == "f":  # ints mixed with floats: torch.tensor gives the default
            return _make(values.astype(backend.default_float))
        return _make(values if values.dtype.kind == "b" else values.astype(np.int64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        fields = {key: default_collate([d[key] for d in batch]) for key in elem}
        return _rebuild_mapping(elem, fields)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple keeps its type
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        for i, sample in enumerate(batch):
            if len(sample) != size:
                raise RuntimeError(f"default_collate: each element in list of batch should be "
                                   f"of equal size; sample 0 has {size} fields, sample {i} has "
                                   f"{len(sample)}")
        fields = [default_collate(samples) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return fields  # PyTorch returns a list for tuples (for backward compatibility)
        return _rebuild_sequence(elem, fields)
    raise _error(elem)


def _rebuild_mapping(elem, fields):
    """A mapping of the sample's own type when it can be built (torch's rule), else a dict."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(fields)
            return clone
        return type(elem)(fields)
    except TypeError:
        return fields


def _rebuild_sequence(elem, fields):
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, field in enumerate(fields):
                clone[i] = field
            return clone
        return type(elem)(fields)
    except TypeError:
        return fields


def default_convert(data):
    """Turn NumPy arrays and scalars inside ``data`` into tensors, without batching.

        >>> out = default_convert({"x": np.zeros(2), "n": 3})
        >>> isinstance(out["x"], cr.Tensor), out["n"]
        (True, 3)
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)):
        if data.dtype.char in _NON_NUMERIC:
            return data
        return _make(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # a list, as PyTorch
    if isinstance(data, collections.abc.Sequence):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data
