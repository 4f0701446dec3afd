"""Recurrent layers: RNN (tanh or relu), LSTM (with an optional projection), GRU, and the Cells.

PyTorch's names, arguments, shapes, weight layout and initialization: input (T, B, F), or
(B, T, F) with ``batch_first``, or unbatched (T, F), or a ``PackedSequence``; parameters
``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0`` (``..._reverse`` for the
backward direction, ``weight_hr_l0`` for an LSTM's projection), all ~ U(-1/sqrt(H), 1/sqrt(H)).

    >>> lstm = nn.LSTM(10, 20, num_layers=2, batch_first=True)
    >>> out, (h_n, c_n) = lstm(cr.randn(3, 5, 10))      # out (3, 5, 20), h_n (2, 3, 20)

Each time step is one fused node of the graph (see ``ops.recurrent``); the input projection
of all steps is one GEMM.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import tracing
from ..creation import empty
from ..ops import recurrent as _cells
from ..ops.index import GetItem, IndexAdd, index_select
from ..tensor import Tensor, _make
from . import functional as F
from . import init
from .functional.rnn import input_projection, recurrent
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence, packed_coordinates
from ..errors import InvalidArgument

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """The parameters and the forward shared by RNN, LSTM and GRU (``mode`` says which)."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if mode not in _GATES:
            raise ValueError(f"{name}: unknown mode {mode!r}; expected one of {sorted(_GATES)}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
                or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing "
                             f"the probability of an element being zeroed, got {dropout}")
        for what, n in (("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"{name}: {what} must be an integer greater than zero, got {n!r}")
        if proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a positive integer or zero to "
                             f"disable projections, got {proj_size}")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size ({proj_size}) has to be smaller than "
                             f"hidden_size ({hidden_size})")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not "
                             f"{name}")
        self.mode, self._name = mode, name
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        dtype = backend.to_dtype(dtype)
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        D = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else real_hidden * D
            for d in range(D):
                suffix = f"_l{layer}" + ("_reverse" if d == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_in)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for pname, shape in shapes:
                    setattr(self, pname + suffix, Parameter(empty(*shape, dtype=dtype, device=device)))
                    self._flat_weights_names.append(pname + suffix)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self):
        """A no-op (PyTorch compacts cuDNN's weight buffer here); kept for compatible code."""

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in self._layer_names(k)]
                for k in range(self.num_layers * (2 if self.bidirectional else 1))]

    def _layer_names(self, k):
        D = 2 if self.bidirectional else 1
        suffix = f"_l{k // D}" + ("_reverse" if k % D else "")
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        names += ["weight_hr"] if self.proj_size else []
        return [n + suffix for n in names]

    def _weights(self):
        """Per layer and direction (w_ih, w_hh, b_ih, b_hh, w_hr), None where absent."""
        params = self._parameters
        out = []
        for k in range(self.num_layers * (2 if self.bidirectional else 1)):
            names = self._layer_names(k)
            suffix = names[0][len("weight_ih"):]
            out.append((params["weight_ih" + suffix], params["weight_hh" + suffix],
                        params.get("bias_ih" + suffix), params.get("bias_hh" + suffix),
                        params.get("weight_hr" + suffix)))
        return out

    # --- forward --------------------------------------------------------------------------
    def _state_shapes(self, batch):
        D = 2 if self.bidirectional else 1
        h_out = self.proj_size if self.proj_size > 0 else self.hidden_size
        shapes = [(self.num_layers * D, batch, h_out)]
        if self.mode == "LSTM":
            shapes.append((self.num_layers * D, batch, self.hidden_size))
        return shapes

    def _initial_state(self, hx, x, batch, unbatched, sorted_indices):
        shapes = self._state_shapes(batch)
        xp = backend.get_array_module(x._array)
        if hx is None:
            return [_make(xp.zeros(s, x.dtype)) for s in shapes]
        states = list(hx) if self.mode == "LSTM" else [hx]
        if self.mode == "LSTM" and (not isinstance(hx, (tuple, list)) or len(states) != 2):
            raise TypeError(f"{self._name}: hx must be a tuple (h_0, c_0), got "
                            f"{type(hx).__name__}")
        out = []
        for k, (state, shape) in enumerate(zip(states, shapes)):
            if not isinstance(state, Tensor):
                raise TypeError(f"{self._name}: hx must be Tensors, got {type(state).__name__}")
            if unbatched:
                if state.ndim != 2:
                    raise RuntimeError(f"{self._name}: for unbatched 2-D input, hx should also "
                                       f"be 2-D but got a {state.ndim}-D tensor")
                state = state.unsqueeze(1)
            elif state.ndim != 3:
                raise RuntimeError(f"{self._name}: for batched 3-D input, hx should also be "
                                   f"3-D but got a {state.ndim}-D tensor")
            if tuple(state.shape) != shape:
                which = "hidden size" if k == 0 else "cell size"
                got = tuple(state.shape[:1] + state.shape[2:]) if unbatched else tuple(state.shape)
                want = (shape[0], shape[2]) if unbatched else shape
                raise RuntimeError(f"{self._name}: expected {which} {want}, got {got}")
            if state.dtype != x.dtype:
                raise TypeError(f"{self._name}: hx dtype {state.dtype} does not match input "
                                f"dtype {x.dtype}")
            if sorted_indices is not None:
                state = index_select(state, 1, sorted_indices)
            out.append(state)
        return out

    def forward(self, input, hx=None):
        name = self._name
        packed = isinstance(input, PackedSequence)
        masks = sorted_indices = unsorted_indices = None
        unbatched = False
        if packed:
            tracing.reads_values(name, "computes masks from a packed sequence's batch sizes "
                                        "in Python")
            data, batch_sizes = input.data, np.asarray(input.batch_sizes._array)
            sorted_indices, unsorted_indices = input.sorted_indices, input.unsorted_indices
            T, B = int(batch_sizes.size), int(batch_sizes[0]) if batch_sizes.size else 0
            t_idx, b_idx = packed_coordinates(batch_sizes)
            x = IndexAdd.apply(data, (t_idx, b_idx), (T, B) + tuple(data.shape[1:]))
            if batch_sizes.size and batch_sizes[-1] != batch_sizes[0]:
                xp = backend.get_array_module(data._array)
                lengths = (batch_sizes[None, :] > np.arange(B)[:, None]).sum(1)
                running = xp.asarray(np.arange(T)[:, None] < lengths[None, :])
                masks = [running[t][:, None] for t in range(T)]
        else:
            x = input
            if not isinstance(x, Tensor):
                raise TypeError(f"{name}: expected a Tensor or a PackedSequence, got "
                                f"{type(x).__name__}")
            if x.ndim not in (2, 3):
                raise ValueError(f"{name}: expected input to be 2-D or 3-D, got a {x.ndim}-D "
                                 f"tensor of shape {tuple(x.shape)}")
            unbatched = x.ndim == 2
            if unbatched:
                x = x.unsqueeze(1)
            elif self.batch_first:
                x = x.transpose(0, 1)
        T, B = x.shape[0], x.shape[1]
        if x.shape[-1] != self.input_size:
            raise InvalidArgument(f"{name}: input.size(-1) must be equal to input_size. Expected "
                             f"{self.input_size}, got {x.shape[-1]} (input shape "
                             f"{tuple(input.data.shape if packed else input.shape)})")
        if T == 0:
            raise ValueError(f"{name}: the input has a sequence length of 0 (shape "
                             f"{tuple(input.shape)}); expected at least one step")
        if x.dtype.kind != "f":
            raise TypeError(f"{name}: expected a floating-point input, got dtype {x.dtype}")
        states = self._initial_state(hx, x, B, unbatched, sorted_indices)
        mode = "LSTM" if self.mode == "LSTM" else "GRU" if self.mode == "GRU" else "RNN"
        nonlinearity = "relu" if self.mode == "RNN_RELU" else "tanh"
        output, h_n, c_n = recurrent(mode, x, states, self._weights(), self.num_layers,
                                     self.bidirectional, self.dropout, self.training,
                                     nonlinearity, masks, F.dropout)
        if packed:
            output = PackedSequence(GetItem.apply(output, (t_idx, b_idx)), input.batch_sizes,
                                    sorted_indices, unsorted_indices)
            if unsorted_indices is not None:
                h_n = index_select(h_n, 1, unsorted_indices)
                c_n = None if c_n is None else index_select(c_n, 1, unsorted_indices)
        elif unbatched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if self.mode == "LSTM" else (output, h_n)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu.

        >>> rnn = nn.RNN(10, 20, 2, nonlinearity="relu")
        >>> out, h_n = rnn(cr.randn(5, 3, 10))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; select from 'tanh' "
                             "or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, g, o; c_t = f c_{t-1} + i g, h_t = o tanh(c_t).

    With ``proj_size`` P > 0, h_t = (o tanh(c_t)) W_hr^T has P features.

        >>> out, (h_n, c_n) = nn.LSTM(10, 20)(cr.randn(5, 3, 10))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit: r, z = s(...), n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn)),
    h_t = (1 - z) n + z h_{t-1}.

        >>> out, h_n = nn.GRU(10, 20, bidirectional=True)(cr.randn(5, 3, 10))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


# --- cells -------------------------------------------------------------------------------

class RNNCellBase(Module):
    """weight_ih (G H, in), weight_hh (G H, H), bias_ih, bias_hh, all ~ U(+-1/sqrt(H))."""

    _mode = "RNN"

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        dtype = backend.to_dtype(dtype)
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, dtype=dtype, device=device))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _check(self, input, hx, n_states):
        name = type(self).__name__
        if not isinstance(input, Tensor) or input.ndim not in (1, 2):
            shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"{name}: expected input to be 1-D or 2-D, got {shape}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has {input.shape[-1]} features (shape "
                             f"{tuple(input.shape)}), expected input_size {self.input_size}")
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        B = x.shape[0]
        if hx is None:
            xp = backend.get_array_module(x._array)
            states = [_make(xp.zeros((B, self.hidden_size), x.dtype)) for _ in range(n_states)]
            return x, states, unbatched
        states = list(hx) if n_states == 2 else [hx]
        out = []
        for k, s in enumerate(states):
            if unbatched:
                s = s.unsqueeze(0) if s.ndim == 1 else s
            if tuple(s.shape) != (B, self.hidden_size):
                raise RuntimeError(f"{name}: hidden state {k} has shape {tuple(s.shape)}, "
                                   f"expected {(B, self.hidden_size)[1 if unbatched else 0:]}")
            out.append(s)
        return x, out, unbatched

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """One step of ``nn.RNN``: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh).

        >>> h = nn.RNNCell(10, 20)(cr.randn(3, 10))
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; select from "
                             "'tanh' or 'relu'")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, (h,), unbatched = self._check(input, hx, 1)
        xg = input_projection("RNN", x, self.weight_ih, self.bias_ih, self.bias_hh)
        h = _cells.RNNCellOp.apply(xg, h, self.weight_hh, None, self.nonlinearity)
        return h.squeeze(0) if unbatched else h


class LSTMCell(RNNCellBase):
    """One step of ``nn.LSTM``; returns (h', c').

        >>> h, c = nn.LSTMCell(10, 20)(cr.randn(3, 10))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        x, (h, c), unbatched = self._check(input, hx, 2)
        xg = input_projection("LSTM", x, self.weight_ih, self.bias_ih, self.bias_hh)
        h, c, _ = _cells.LSTMCellOp.apply(xg, h, c, self.weight_hh, None, None, None, True)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """One step of ``nn.GRU``.

        >>> h = nn.GRUCell(10, 20)(cr.randn(3, 10))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), unbatched = self._check(input, hx, 1)
        xg = input_projection("GRU", x, self.weight_ih, self.bias_ih, self.bias_hh)
        h = _cells.GRUCellOp.apply(xg, h, self.weight_hh, self.bias_hh, None)
        return h.squeeze(0) if unbatched else h


__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
