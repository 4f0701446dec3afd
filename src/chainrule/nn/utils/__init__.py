"""Gradient clipping and flat-vector views of parameters, like ``torch.nn.utils``.

    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> (w * cr.tensor([3.0, 4.0])).sum().backward()      # w.grad = [3, 4], norm 5
    >>> cr.nn.utils.clip_grad_norm_([w], max_norm=1.0)    # returns the norm before clipping
    tensor(5.)
    >>> w.grad
    tensor([0.6000, 0.8000])

Everything here works on the raw arrays, outside the graph, and on any Tensors that
have a ``.grad`` (``nn.Parameter`` or plain ``requires_grad`` Tensors).
"""

from __future__ import annotations

import math

import numpy as np

from ... import backend, ops
from ...autograd import tracing
from ...tensor import Tensor, _make

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
           "parameters_to_vector", "vector_to_parameters"]


def _as_list(tensors):
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(x: np.ndarray, norm_type: float):
    """||x||_p of a flattened array in its own dtype, as torch.linalg.vector_norm."""
    x = x.reshape(-1)
    if norm_type == 2.0:
        return np.sqrt(np.dot(x, x)) if x.dtype.kind == "f" else np.linalg.norm(x)
    if norm_type == math.inf:
        return np.abs(x).max(initial=0)
    if norm_type == -math.inf:
        return np.abs(x).min()
    if norm_type == 0:
        return x.dtype.type(np.count_nonzero(x))
    if norm_type == 1.0:
        return np.abs(x).sum()
    return (np.abs(x) ** norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False):
    """The p-norm of all ``tensors`` together, as if they were one vector (a 0-d Tensor).

        >>> cr.nn.utils.get_total_norm([cr.tensor([3.0]), cr.tensor([4.0])])
        tensor(5.)
    """
    tracing.reads_values("get_total_norm", "computes the norm from the values in Python "
                                           "(no step records it)")
    arrays = [t._array for t in _as_list(tensors)]
    norm_type = float(norm_type)
    if not arrays:
        return _make(np.zeros((), np.float32))
    xp = backend.get_array_module(*arrays)
    norms = xp.stack([xp.asarray(_vector_norm(a, norm_type)) for a in arrays])
    total = xp.asarray(_vector_norm(norms, norm_type), dtype=norms.dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"non-finite ({float(total)}), so it cannot be clipped; pass "
            "error_if_nonfinite=False to scale the gradients by it anyway")
    return _make(total)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm) -> None:
    """Scale the gradients by ``min(1, max_norm / (total_norm + 1e-6))``, in place."""
    tracing.reads_values("clip_grads_with_norm_", "scales the gradients in place in Python "
                                                  "(no step records it)")
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    if isinstance(total_norm, Tensor):
        total = total_norm._array
    else:  # a number: made on the gradients' device
        total = backend.get_array_module(grads[0]._array).asarray(total_norm)
    coef = np.minimum(float(max_norm) / (total + total.dtype.type(1e-6)), 1.0)
    coef = coef.astype(total.dtype, copy=False)
    for g in grads:
        g._array *= coef.astype(g._array.dtype, copy=False)
        g._version += 1


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False):
    """Rescale the gradients so that their total ``norm_type``-norm is at most ``max_norm``.

    All gradients are treated as one vector; each is multiplied, in place, by
    ``min(1, max_norm / (total_norm + 1e-6))``. Returns the total norm before clipping as a
    0-d Tensor. ``norm_type`` may be ``float('inf')`` (the largest absolute entry).

        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> (w * cr.tensor([3.0, 4.0])).sum().backward()
        >>> clip_grad_norm_([w], max_norm=1.0), w.grad
        (tensor(5.), tensor([0.6000, 0.8000]))
    """
    tracing.reads_values("clip_grad_norm_", "reads and scales the gradients in place in "
                                            "Python (no step records it)")
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient entry into ``[-clip_value, clip_value]``, in place.

        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> (w * cr.tensor([3.0, -0.25])).sum().backward()
        >>> clip_grad_value_([w], clip_value=0.5)
        >>> w.grad
        tensor([ 0.5000, -0.2500])
    """
    tracing.reads_values("clip_grad_value_", "clamps the gradients in place in Python (no "
                                             "step records it)")
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            np.clip(p.grad._array, -clip_value, clip_value, out=p.grad._array)
            p.grad._version += 1


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-D Tensor (part of the graph).

        >>> model = nn.Linear(2, 1)                        # weight (1, 2) and bias (1,)
        >>> parameters_to_vector(model.parameters()).shape
        chainrule.Size([3])
    """
    params = list(parameters)
    _check_devices(params)
    return ops.cat([ops.reshape(p, (-1,)) for p in params])


def vector_to_parameters(vec, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into ``parameters`` (in place, no graph).

    PyTorch re-points ``param._array`` at views of ``vec``; chainrule copies, so a parameter
    never shares memory with the vector (optimizer state and saved arrays stay valid).

        >>> model = nn.Linear(2, 1)
        >>> vector_to_parameters(cr.tensor([1.0, 2.0, 3.0]), model.parameters())
        >>> model.weight.data, model.bias.data
        (tensor([[1., 2.]]), tensor([3.]))
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor, but got {type(vec).__name__}")
    params = list(parameters)
    _check_devices(params)
    total = sum(p._array.size for p in params)
    if vec._array.ndim != 1 or vec._array.size != total:
        raise ValueError(f"vector_to_parameters: vec has shape {tuple(vec.shape)}, the "
                         f"parameters have {total} elements in all")
    offset = 0
    for p in params:
        n = p._array.size
        p._array[...] = vec._array[offset:offset + n].reshape(p._array.shape)
        p._version += 1
        offset += n


def _check_devices(params):
    devices = {p.device for p in params}
    if len(devices) > 1:
        raise TypeError(f"Found parameters on different devices ({sorted(devices)}); "
                        "this is not supported")


from . import rnn  # noqa: E402,F401 - nn.utils.rnn: padding and packing sequences
