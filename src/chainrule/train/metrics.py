"""Metrics: functions of a batch's model output and targets (raw arrays) -> the batch's mean.

``fit`` and ``evaluate`` weight each batch's value by its size, so a mean-type metric comes
out exact over the whole epoch. Pass a name from ``METRICS`` or any such function.

    >>> accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
    0.5
"""

from __future__ import annotations

import numpy as np

from ..backend import get_array_module


def _array(x):
    """``x`` as an array where it lives (a GPU batch is scored on the GPU, one float back)."""
    return get_array_module(x).asarray(x)


def predictions(output: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
    """Class predictions from logits: argmax over classes, or ``logit > 0`` for one output.

    With one output and targets in {-1, +1} (the SoftMarginLoss convention) the prediction
    is -1 or +1; otherwise 0 or 1.
    """
    output = _array(output)
    if output.ndim == 2 and output.shape[1] > 1:
        return output.argmax(axis=1)
    positive = output.reshape(len(output)) > 0
    target = None if target is None else _array(target)
    if target is not None and target.size and target.min() < 0:
        return np.where(positive, 1, -1)
    return positive.astype(np.int64)


def accuracy(output, target) -> float:
    """Fraction of samples whose predicted class is the target (class indices or one-hot)."""
    output, target = _array(output), _array(target)
    if target.ndim == 2 and output.ndim == 2 and target.shape == output.shape \
            and output.shape[1] > 1:
        target = target.argmax(axis=1)  # one-hot or soft targets
    target = target.reshape(len(target))
    if len(target) == 0:
        return 0.0
    return float(np.mean(predictions(output, target) == target))


def error_rate(output, target) -> float:
    """1 - accuracy."""
    return 1.0 - accuracy(output, target)


METRICS = {"accuracy": accuracy, "acc": accuracy, "error_rate": error_rate}


def resolve(metrics) -> dict:
    """``{name: function}`` from names and/or functions (a function's name is its ``__name__``)."""
    resolved = {}
    for metric in metrics or ():
        if isinstance(metric, str):
            if metric not in METRICS:
                raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(METRICS)} "
                                 f"or a function (output, target) -> float")
            resolved["accuracy" if metric == "acc" else metric] = METRICS[metric]
        elif callable(metric):
            resolved[getattr(metric, "__name__", type(metric).__name__)] = metric
        else:
            raise TypeError(f"metrics: expected names or functions, got {metric!r}")
    return resolved
