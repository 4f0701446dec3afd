"""Parameter: a Tensor that a Module registers as learnable when assigned as an attribute.

    >>> w = nn.Parameter(cr.zeros(3, 2))
    >>> w.requires_grad, isinstance(w, cr.Tensor)
    (True, True)
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor, as_array


class Parameter(Tensor):
    """A leaf Tensor that requires grad (by default) and is a Module's learnable state.

    ``Parameter(data)`` shares ``data``'s array (a Tensor or an ndarray), as in PyTorch.
    It is a Tensor in every other respect: ops on it return plain Tensors.
    """

    __slots__ = ()
    # Read by the pictures (viz sits below nn and does not import it): a learnable weight.
    is_parameter = True

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            arr = np.empty((0,), dtype=backend.default_float)
        elif isinstance(data, Tensor):
            arr = data._array
        elif hasattr(data, "dtype") and hasattr(data, "shape") and not np.isscalar(data):
            arr = data  # an array of any device, shared
        else:
            arr = as_array(data)
        self._init(arr, requires_grad=requires_grad)  # shares arr; validates the dtype

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """Marks a Tensor as a buffer when assigned to a Module (``self.x = nn.Buffer(t)``)."""

    __slots__ = ("persistent",)

    def __init__(self, data, persistent=True):
        self._init(data._array if isinstance(data, Tensor) else as_array(data))
        self.persistent = persistent
