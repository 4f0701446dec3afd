"""default_collate: a list of samples -> one batch with the samples' structure.

    >>> xb, yb = default_collate([(cr.ones(2), 1), (cr.zeros(2), 0)])
    >>> xb.shape, yb.tolist()
    ((2, 2), [1, 0])
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..tensor import Tensor, _make


def default_collate(samples):
    """Stack a list of samples into a batch, keeping the samples' structure.

    Tensors and arrays are stacked on a new first axis; Python ints become int64 and
    floats float32 (as PyTorch); tuples, lists and dicts are collated field by field.
    """
    first = samples[0]
    if isinstance(first, Tensor):
        return _make(np.stack([s._array for s in samples]))
    if isinstance(first, np.ndarray):
        return _make(np.stack(samples))
    if isinstance(first, (bool, np.bool_)):
        return _make(np.asarray(samples, dtype=np.bool_))
    if isinstance(first, numbers.Integral):
        return _make(np.asarray(samples, dtype=np.int64))
    if isinstance(first, numbers.Real):
        return _make(np.asarray(samples, dtype=backend.default_float))
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: samples have different numbers of fields")
        return type(first)(default_collate(list(field)) for field in zip(*samples)) \
            if isinstance(first, tuple) else [default_collate(list(f)) for f in zip(*samples)]
    if isinstance(first, str):
        return list(samples)
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; "
                    f"pass a collate_fn")
