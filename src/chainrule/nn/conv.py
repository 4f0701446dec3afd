"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d.

    >>> conv = nn.Conv2d(1, 6, 5, padding=2)      # weight (6, 1, 5, 5): 150 weights + 6 biases
    >>> conv(cr.randn(64, 1, 28, 28)).shape
    chainrule.Size([64, 6, 28, 28])

A filter of a few weights is applied at every position of the image, so it detects the
same primitive everywhere: 156 parameters here where a dense layer from 784 to 6 x 784
outputs would hold 3.7 million.
"""

from __future__ import annotations

import math

from .. import backend
from ..creation import empty
from ..ops.conv import _tuple
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    _d = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None,
                 output_padding=0):
        super().__init__()
        name, d = type(self).__name__, self._d
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels {in_channels} must be divisible by "
                             f"groups={groups}")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels {out_channels} must be divisible by "
                             f"groups={groups}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _tuple(name, kernel_size, d, "kernel_size")
        self.stride = _tuple(name, stride, d, "stride")
        self.dilation = _tuple(name, dilation, d, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be an int, a tuple, 'valid' or 'same', "
                                 f"got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions (stride {self.stride})")
            self.padding = padding
        else:
            self.padding = _tuple(name, padding, d, "padding")
            if any(p < 0 for p in self.padding):
                raise ValueError(f"{name}: negative padding {self.padding} is not supported")
        self.output_padding = _tuple(name, output_padding, d, "output_padding")
        self.groups, self.padding_mode = groups, padding_mode
        dtype = backend.to_dtype(dtype)
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(empty(*shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: W ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform_ with
        a = sqrt(5)), bias likewise, fan_in = weight.shape[1] * prod(kernel_size)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _mode_padding(self):
        """The F.pad widths (last dim first) of a non-zeros padding_mode."""
        if self.padding == "same":
            totals = [dl * (k - 1) for dl, k in zip(self.dilation, self.kernel_size)]
            pairs = [(t // 2, t - t // 2) for t in totals]
        elif self.padding == "valid":
            pairs = [(0, 0)] * self._d
        else:
            pairs = [(p, p) for p in self.padding]
        return tuple(v for pair in reversed(pairs) for v in pair)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._d:
            s += f", padding={self.padding}"  # torch prints a string padding unquoted
        if self.dilation != (1,) * self._d:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._d:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    _fn = staticmethod(F.conv2d)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype)

    def forward(self, input):
        params = self._parameters
        if self.padding_mode != "zeros":
            x = F.pad(input, self._mode_padding(), mode=self.padding_mode)
            return self._fn(x, params["weight"], params["bias"], self.stride, 0, self.dilation,
                            self.groups)
        return self._fn(input, params["weight"], params["bias"], self.stride, self.padding,
                        self.dilation, self.groups)


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L) -> (N, C_out, L_out), as ``torch.nn.Conv1d``.

    L_out = floor((L + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1.
    """

    _d = 1
    _fn = staticmethod(F.conv1d)


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W) -> (N, C_out, H_out, W_out), as ``torch.nn.Conv2d``.

    ``padding`` is an int, a pair, ``"valid"`` or ``"same"``; ``padding_mode`` is zeros,
    reflect, replicate or circular; ``groups=in_channels`` is a depthwise convolution.
    """

    _d = 2
    _fn = staticmethod(F.conv2d)


class _ConvTranspose(_ConvNd):
    _transposed = True
    _fn = staticmethod(F.conv_transpose2d)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f"{type(self).__name__}: only 'zeros' padding_mode is supported, "
                             f"got {padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple, got "
                             f"{padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype, output_padding)

    def forward(self, input, output_size=None):
        output_padding = self.output_padding
        if output_size is not None:  # choose output_padding so that the output has that size
            size = tuple(output_size)[-self._d:]
            minimal = tuple((n - 1) * s - 2 * p + dl * (k - 1) + 1 for n, s, p, dl, k in zip(
                input.shape[-self._d:], self.stride, self.padding, self.dilation,
                self.kernel_size))
            output_padding = tuple(o - m for o, m in zip(size, minimal))
        params = self._parameters
        return self._fn(input, params["weight"], params["bias"], self.stride, self.padding,
                        output_padding, self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """The adjoint of Conv1d: (N, C_in, L) -> (N, C_out, L_out), weight (C_in, C_out / groups, K).

    L_out = (L - 1) stride - 2 padding + dilation (K - 1) + output_padding + 1.
    """

    _d = 1
    _fn = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """The adjoint of Conv2d (a "deconvolution"): upsamples (N, C_in, H, W) by ``stride``."""

    _d = 2
    _fn = staticmethod(F.conv_transpose2d)
