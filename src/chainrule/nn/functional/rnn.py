"""The recurrent loop behind ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``, time-major (T, B, F).

Per layer and direction: one GEMM projects every step's input at once (``xg = x W_ih^T +
b``). A padded LSTM without projection then runs the whole loop as one node
(``LSTMSequenceOp``: 2 nodes per layer and direction, plus one that adds b_ih + b_hh).
Otherwise one node splits xg into steps, then one fused cell node per step
(``ops.recurrent``) and one ``stack`` at the end; one more node hands W_hh to the steps and
computes its gradient as one GEMM over all of them (``LoopWeight``). So a sequence of T
steps costs T + 4 nodes per layer and direction there.

    >>> x, h0, c0 = cr.randn(7, 2, 3), cr.zeros(1, 2, 5), cr.zeros(1, 2, 5)    # T=7, B=2, H=5
    >>> w_ih, w_hh = cr.randn(20, 3, requires_grad=True), cr.randn(20, 5, requires_grad=True)
    >>> b_ih, b_hh = cr.zeros(20, requires_grad=True), cr.zeros(20, requires_grad=True)
    >>> weights = [(w_ih, w_hh, b_ih, b_hh, None)]                   # one layer, one direction
    >>> out, h_n, c_n = recurrent("LSTM", x, [h0, c0], weights, num_layers=1)
    >>> out.shape, h_n.shape, c_n.shape
    (chainrule.Size([7, 2, 5]), chainrule.Size([1, 2, 5]), chainrule.Size([1, 2, 5]))
    >>> from chainrule.autograd.graph import topological_order
    >>> len(topological_order([out.grad_fn]))          # the loop, the projection, the bias sum
    3
"""

from __future__ import annotations

from ...ops import recurrent as _cells
from ...ops import shape as _shape
from ...ops.fused.linear import linear


def _direction(mode, steps, h, c, w, masks, reverse, nonlinearity, buffer):
    """Run one direction over ``steps``; returns (outputs in time order, h_T, c_T)."""
    w_ih, w_hh, b_ih, b_hh, w_hr = w
    T = len(steps)
    outs = [None] * T
    order = range(T - 1, -1, -1) if reverse else range(T)
    w_hh = _cells.loop_weight(w_hh, buffer)  # the steps leave its gradient to one GEMM
    if mode == "LSTM":
        apply = _cells.LSTMCellOp.apply
        for t in order:
            # The steps are views of this layer's own projection: the gates overwrite them.
            h, c, _ = apply(steps[t], h, c, w_hh, w_hr, masks[t] if masks else None,
                            (buffer, t), True)
            outs[t] = h
    elif mode == "GRU":
        apply = _cells.GRUCellOp.apply
        for t in order:
            h = apply(steps[t], h, w_hh, b_hh, masks[t] if masks else None, (buffer, t))
            outs[t] = h
    else:
        apply = _cells.RNNCellOp.apply
        for t in order:
            h = apply(steps[t], h, w_hh, masks[t] if masks else None, nonlinearity, (buffer, t))
            outs[t] = h
    return outs, h, c


def input_projection(mode, x, w_ih, b_ih, b_hh):
    """x W_ih^T plus the biases that can be hoisted (both, except GRU's hidden bias)."""
    if b_ih is None:
        bias = None
    elif mode == "GRU":
        bias = b_ih
    else:
        bias = b_ih + b_hh
    return linear(x, w_ih, bias)


def recurrent(mode, x, hx, weights, num_layers, bidirectional=False, dropout=0.0,
              training=False, nonlinearity="tanh", masks=None, dropout_fn=None):
    """A stack of recurrent layers over x (T, B, F).

    ``hx``: (h0, c0) for LSTM, (h0,) otherwise, each (num_layers * D, B, H). ``weights``:
    per layer and direction ``(w_ih, w_hh, b_ih, b_hh, w_hr)`` (None where absent).
    ``masks``: per step a constant bool (B, 1), True while the sequence runs (packed input).
    Returns (output (T, B, D * H_out), h_n, c_n or None).
    """
    D = 2 if bidirectional else 1
    h0 = _shape.unbind(hx[0], 0)
    c0 = _shape.unbind(hx[1], 0) if mode == "LSTM" else None
    h_n, c_n = [], []
    layer_input = x
    for layer in range(num_layers):
        outputs = []
        for d in range(D):
            k = layer * D + d
            w = weights[k]
            # The steps write their gradients into one buffer that the split hands on whole.
            xg = input_projection(mode, layer_input, w[0], w[2], w[3])
            if mode == "LSTM" and masks is None and w[4] is None:
                # The whole loop as one node (the fast path): no node, Tensor or engine
                # visit per step. Packed input and projections take the per-step path.
                out, h, c = _cells.lstm_sequence(xg, h0[k], c0[k], w[1], reverse=d == 1)
                outputs.append(out)
                h_n.append(h)
                c_n.append(c)
                continue
            buffer = _cells.GradBuffer(layer_input.shape[0], reverse=d == 1)
            steps = _cells.unbind_steps(xg, buffer)
            outs, h, c = _direction(mode, steps, h0[k], c0[k] if c0 else None, w, masks,
                                    reverse=d == 1, nonlinearity=nonlinearity, buffer=buffer)
            outputs.append(_shape.stack(outs, 0))
            h_n.append(h)
            c_n.append(c)
        layer_input = outputs[0] if D == 1 else _shape.cat(outputs, -1)
        if dropout and training and layer < num_layers - 1:
            layer_input = dropout_fn(layer_input, dropout, training)
    c_out = _shape.stack(c_n, 0) if mode == "LSTM" else None
    return layer_input, _shape.stack(h_n, 0), c_out
