"""Padding layers: thin Modules over ``F.pad``, one per mode and number of padded dims.

``padding`` is an int (the same width on every side) or a tuple
``(left, right, top, bottom, front, back)`` cut to the dims padded, as torch.

    >>> pad = nn.ZeroPad1d((1, 2))
    >>> pad
    ZeroPad1d((1, 2))
    >>> pad(cr.tensor([[1.0, 2.0]]))
    tensor([[0., 1., 2., 0., 0.]])
    >>> nn.ReflectionPad1d(2)(cr.tensor([[1.0, 2.0, 3.0]]))
    tensor([[3., 2., 1., 2., 3., 2., 1.]])
"""

from __future__ import annotations

from . import functional as F
from .module import Module


def _widths(padding, dims):
    """An int repeated to 2 * dims widths; a sequence kept as given (torch's ``_ntuple``)."""
    if isinstance(padding, int):
        return (padding,) * (2 * dims)
    return tuple(padding)


class _PadNd(Module):
    mode = "constant"
    dims = 1

    def __init__(self, padding):
        super().__init__()
        self.padding = _widths(padding, self.dims)

    def forward(self, input):
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``."""

    dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with ``value``."""

    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with ``value``."""

    dims = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dim with zeros."""

    dims = 1


class ZeroPad2d(_ZeroPadNd):
    """Pad the last two dims with zeros."""

    dims = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last three dims with zeros."""

    dims = 3


class ReflectionPad1d(_PadNd):
    """Mirror the last dim at its edges, the edge not repeated."""

    mode, dims = "reflect", 1


class ReflectionPad2d(_PadNd):
    mode, dims = "reflect", 2


class ReflectionPad3d(_PadNd):
    mode, dims = "reflect", 3


class ReplicationPad1d(_PadNd):
    """Repeat the edge values of the last dim."""

    mode, dims = "replicate", 1


class ReplicationPad2d(_PadNd):
    mode, dims = "replicate", 2


class ReplicationPad3d(_PadNd):
    mode, dims = "replicate", 3


class CircularPad1d(_PadNd):
    """Wrap the last dim around: the left pad is taken from the right end and vice versa."""

    mode, dims = "circular", 1


class CircularPad2d(_PadNd):
    mode, dims = "circular", 2


class CircularPad3d(_PadNd):
    mode, dims = "circular", 3
