"""nn.RNN / LSTM / GRU, the Cells and nn.utils.rnn against torch 2.13 in float64, with torch's
weights copied in: outputs, final states, and the gradients of inputs, initial states and every
parameter; packed and padded batches; gradcheck / gradgradcheck; state_dict both ways; errors."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import rnn as rnn_utils
from oracle import assert_close, to_numpy

RNG = np.random.default_rng(14)
TOL = dict(atol=1e-10, rtol=1e-8)


def _twin(kind, *args, **kwargs):
    """(chainrule module, torch module) of ``kind`` with torch's float64 weights copied in."""
    t = getattr(torch.nn, kind)(*args, **kwargs).double()
    m = getattr(nn, kind)(*args, **kwargs, dtype=cr.float64)
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    return m, t


def _leaf(a):
    return cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _check_params(m, t):
    tgrads = {n: p.grad for n, p in t.named_parameters()}
    for n, p in m.named_parameters():
        assert_close(p.grad, tgrads[n], what=f"grad of {n}", **TOL)


def _backprop(outs_cr, outs_t):
    """Backpropagate one random upstream gradient through each pair of outputs."""
    roots_cr, roots_t = 0, 0
    for o, e in zip(outs_cr, outs_t):
        assert_close(o, e, what="forward", **TOL)
        g = RNG.standard_normal(tuple(e.shape))
        roots_cr = roots_cr + (o * cr.tensor(g)).sum()
        roots_t = roots_t + (e * torch.tensor(g)).sum()
    roots_cr.backward()
    roots_t.backward()


CONFIGS = [
    # (kind, kwargs, batch shape (T, B) or (B, T) with batch_first, None for unbatched)
    ("RNN", dict(), (5, 3)),
    ("RNN", dict(nonlinearity="relu", num_layers=2), (4, 2)),
    ("RNN", dict(bidirectional=True, batch_first=True), (3, 4)),
    ("RNN", dict(bias=False, num_layers=3, bidirectional=True), (4, 2)),
    ("LSTM", dict(), (5, 3)),
    ("LSTM", dict(num_layers=2), (4, 2)),
    ("LSTM", dict(num_layers=3, bidirectional=True), (3, 2)),
    ("LSTM", dict(batch_first=True, bidirectional=True), (2, 6)),
    ("LSTM", dict(bias=False), (4, 3)),
    ("LSTM", dict(proj_size=2, num_layers=2, bidirectional=True), (4, 3)),
    ("LSTM", dict(proj_size=3, batch_first=True), (3, 4)),
    ("LSTM", dict(num_layers=2, bidirectional=True), None),
    ("GRU", dict(), (5, 3)),
    ("GRU", dict(num_layers=2, bidirectional=True), (4, 2)),
    ("GRU", dict(num_layers=3, batch_first=True), (2, 5)),
    ("GRU", dict(bias=False, bidirectional=True), (3, 3)),
    ("GRU", dict(), None),
    ("RNN", dict(num_layers=2), None),
]


def _state_shapes(kind, kw, batch, hidden):
    D = 2 if kw.get("bidirectional") else 1
    L = kw.get("num_layers", 1) * D
    h_out = kw.get("proj_size", 0) or hidden
    lead = (L,) if batch is None else (L, batch)
    shapes = [lead + (h_out,)]
    if kind == "LSTM":
        shapes.append(lead + (hidden,))
    return shapes


@pytest.mark.parametrize("kind,kw,shape", CONFIGS, ids=lambda v: str(v))
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
def test_recurrent_layer_matches_torch(kind, kw, shape, with_state):
    m, t = _twin(kind, 4, 5, **kw)
    if shape is None:
        x_shape, batch = (4, 4), None
    else:
        x_shape, batch = shape + (4,), shape[0] if kw.get("batch_first") else shape[1]
    xc, xt = _leaf(RNG.standard_normal(x_shape))
    states_c, states_t = [], []
    if with_state:
        for s in _state_shapes(kind, kw, batch, 5):
            c, tt = _leaf(RNG.standard_normal(s))
            states_c.append(c)
            states_t.append(tt)
    if kind == "LSTM":
        hc = tuple(states_c) if with_state else None
        ht = tuple(states_t) if with_state else None
        oc, (hnc, cnc) = m(xc, hc)
        ot, (hnt, cnt) = t(xt, ht)
        _backprop([oc, hnc, cnc], [ot, hnt, cnt])
    else:
        oc, hnc = m(xc, states_c[0] if with_state else None)
        ot, hnt = t(xt, states_t[0] if with_state else None)
        _backprop([oc, hnc], [ot, hnt])
    assert_close(xc.grad, xt.grad, what="grad of input", **TOL)
    for c, tt in zip(states_c, states_t):
        assert_close(c.grad, tt.grad, what="grad of initial state", **TOL)
    _check_params(m, t)


def _sequences(lengths, features=3):
    return [RNG.standard_normal((n, features)) for n in lengths]


PACKED = [
    ("LSTM", dict(), [5, 3, 3, 1], True),
    ("LSTM", dict(num_layers=2, bidirectional=True), [2, 5, 1, 4], False),
    ("LSTM", dict(proj_size=2, bidirectional=True), [4, 2, 3], False),
    ("GRU", dict(bidirectional=True), [3, 1, 4, 2], False),
    ("GRU", dict(num_layers=3), [4, 4, 2], True),
    ("RNN", dict(nonlinearity="relu", bidirectional=True), [1, 3, 2], False),
    ("RNN", dict(), [3, 3, 3], True),
]


@pytest.mark.parametrize("kind,kw,lengths,sorted_", PACKED, ids=lambda v: str(v))
def test_packed_input_matches_torch(kind, kw, lengths, sorted_):
    """A PackedSequence through the layer: packed output, h_n in the caller's order, grads."""
    m, t = _twin(kind, 3, 4, **kw)
    seqs = _sequences(lengths)
    pairs = [_leaf(s) for s in seqs]
    pc = rnn_utils.pack_sequence([p[0] for p in pairs], enforce_sorted=sorted_)
    pt = torch.nn.utils.rnn.pack_sequence([p[1] for p in pairs], enforce_sorted=sorted_)
    assert_close(pc.batch_sizes, pt.batch_sizes, what="batch_sizes")
    assert_close(pc.data, pt.data, what="packed data", **TOL)
    h_shapes = _state_shapes(kind, kw, len(lengths), 4)
    states = [_leaf(RNG.standard_normal(s)) for s in h_shapes]
    hc = tuple(s[0] for s in states) if kind == "LSTM" else states[0][0]
    ht = tuple(s[1] for s in states) if kind == "LSTM" else states[0][1]
    oc, hnc = m(pc, hc)
    ot, hnt = t(pt, ht)
    assert isinstance(oc, rnn_utils.PackedSequence)
    outs_c = [oc.data] + (list(hnc) if kind == "LSTM" else [hnc])
    outs_t = [ot.data] + (list(hnt) if kind == "LSTM" else [hnt])
    padded_c, len_c = rnn_utils.pad_packed_sequence(oc, batch_first=True)
    padded_t, len_t = torch.nn.utils.rnn.pad_packed_sequence(ot, batch_first=True)
    assert_close(len_c, len_t, what="lengths")
    _backprop(outs_c + [padded_c], outs_t + [padded_t])
    for (c, tt) in pairs + states:
        assert_close(c.grad, tt.grad, what="grad of a sequence or state", **TOL)
    _check_params(m, t)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [4, 2, 2, 1]), (False, [2, 4, 1, 3])])
def test_pack_pad_utilities_match_torch(batch_first, enforce_sorted, lengths):
    seqs = _sequences(lengths, 2)
    pairs = [_leaf(s) for s in seqs]
    padded_c = rnn_utils.pad_sequence([p[0] for p in pairs], batch_first, padding_value=-1.5)
    padded_t = torch.nn.utils.rnn.pad_sequence([p[1] for p in pairs], batch_first, -1.5)
    assert_close(padded_c, padded_t, what="pad_sequence", **TOL)
    pc = rnn_utils.pack_padded_sequence(padded_c, lengths, batch_first, enforce_sorted)
    pt = torch.nn.utils.rnn.pack_padded_sequence(padded_t, torch.tensor(lengths), batch_first,
                                                 enforce_sorted)
    for name in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        a, b = getattr(pc, name), getattr(pt, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert_close(a, b, what=name)
    back_c, len_c = rnn_utils.pad_packed_sequence(pc, batch_first, padding_value=7.0,
                                                  total_length=6)
    back_t, len_t = torch.nn.utils.rnn.pad_packed_sequence(pt, batch_first, 7.0, 6)
    assert_close(len_c, len_t, what="lengths")
    _backprop([pc.data, back_c], [pt.data, back_t])
    for c, tt in pairs:
        assert_close(c.grad, tt.grad, what="grad through pack and pad", **TOL)
    left_c = rnn_utils.pad_sequence([p[0] for p in pairs], True, padding_side="left")
    left_t = torch.nn.utils.rnn.pad_sequence([p[1] for p in pairs], True, padding_side="left")
    assert_close(left_c, left_t, what="left padding", **TOL)
    unpacked = rnn_utils.unpack_sequence(pc)
    for u, s in zip(unpacked, seqs):
        np.testing.assert_allclose(u.detach().numpy(), s)


@pytest.mark.parametrize("kind,kw", [("RNNCell", dict()), ("RNNCell", dict(nonlinearity="relu")),
                                     ("LSTMCell", dict()), ("LSTMCell", dict(bias=False)),
                                     ("GRUCell", dict()), ("GRUCell", dict(bias=False))],
                         ids=lambda v: str(v))
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(kind, kw, batched):
    m, t = _twin(kind, 3, 4, **kw)
    xs = (2, 3) if batched else (3,)
    hs = (2, 4) if batched else (4,)
    xc, xt = _leaf(RNG.standard_normal(xs))
    states = [_leaf(RNG.standard_normal(hs)) for _ in range(2 if kind == "LSTMCell" else 1)]
    if kind == "LSTMCell":
        oc = m(xc, (states[0][0], states[1][0]))
        ot = t(xt, (states[0][1], states[1][1]))
        _backprop(list(oc), list(ot))
        assert_close(m(xc)[0], t(xt)[0], what="zero state", **TOL)
    else:
        _backprop([m(xc, states[0][0])], [t(xt, states[0][1])])
        assert_close(m(xc), t(xt), what="zero state", **TOL)
    assert_close(xc.grad, xt.grad, what="grad of input", **TOL)
    for c, tt in states:
        assert_close(c.grad, tt.grad, what="grad of state", **TOL)
    _check_params(m, t)


@pytest.mark.parametrize("kind,kw", [("RNN", dict()), ("LSTM", dict(bidirectional=True)),
                                     ("LSTM", dict(proj_size=1)), ("GRU", dict(num_layers=2))],
                         ids=lambda v: str(v))
def test_gradcheck_and_gradgradcheck(kind, kw):
    """Finite differences of output and states in x, h0 and a weight; then second order."""
    cr.manual_seed(0)
    m = getattr(nn, kind)(2, 2, **kw, dtype=cr.float64)
    D = 2 if kw.get("bidirectional") else 1
    L = kw.get("num_layers", 1) * D
    P = kw.get("proj_size", 0) or 2
    x = cr.tensor(RNG.standard_normal((3, 2, 2)), requires_grad=True)
    h0 = cr.tensor(RNG.standard_normal((L, 2, P)), requires_grad=True)
    w = m.weight_hh_l0

    def fn(x, h0, w):
        m._parameters["weight_hh_l0"] = w
        if kind == "LSTM":
            out, (h, c) = m(x, (h0, cr.zeros(L, 2, 2, dtype=cr.float64)))
            return out.sum() + (h * h).sum() + c.sum()
        out, h = m(x, h0)
        return (out * out).sum() + h.sum()

    w2 = cr.tensor(w.detach().numpy(), requires_grad=True)
    assert cr.autograd.gradcheck(fn, [x, h0, w2], atol=1e-6, rtol=1e-4)
    assert cr.autograd.gradgradcheck(fn, [x, h0, w2], atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_second_order_matches_torch(kind):
    """The gradient of a gradient through packed, bidirectional layers, against torch."""
    m, t = _twin(kind, 2, 3, bidirectional=True)
    seqs = _sequences([3, 1, 2], 2)
    xc = [cr.tensor(s, requires_grad=True) for s in seqs]
    xt = [torch.tensor(s, requires_grad=True) for s in seqs]
    oc, _ = m(rnn_utils.pack_sequence(xc, enforce_sorted=False))
    ot, _ = t(torch.nn.utils.rnn.pack_sequence(xt, enforce_sorted=False))
    u = RNG.standard_normal(tuple(ot.data.shape))
    gc = cr.autograd.grad((oc.data * cr.tensor(u)).sum(), xc + [m.weight_hh_l0],
                          create_graph=True)
    gt = torch.autograd.grad((ot.data * torch.tensor(u)).sum(), xt + [t.weight_hh_l0],
                             create_graph=True)
    for a, b in zip(gc, gt):
        assert_close(a, b, what="first derivative", **TOL)
    sc = sum((g * g).sum() for g in gc)
    st = sum((g * g).sum() for g in gt)
    hc = cr.autograd.grad(sc, xc + [m.weight_ih_l0_reverse])
    ht = torch.autograd.grad(st, xt + [t.weight_ih_l0_reverse])
    for a, b in zip(hc, ht):
        assert_close(a, b, what="second derivative", atol=1e-9, rtol=1e-7)


def test_state_dict_both_ways_and_init():
    cr.manual_seed(3)
    m = nn.LSTM(3, 8, num_layers=2, bidirectional=True, proj_size=4)
    t = torch.nn.LSTM(3, 8, num_layers=2, bidirectional=True, proj_size=4)
    assert list(m.state_dict()) == list(t.state_dict())
    for (name, p), (tname, tp) in zip(m.named_parameters(), t.named_parameters()):
        assert name == tname and tuple(p.shape) == tuple(tp.shape)
        bound = 1 / np.sqrt(8)
        assert np.abs(p.detach().numpy()).max() <= bound
        assert np.abs(p.detach().numpy()).max() > 0.5 * bound  # U(-b, b), not zeros
    t.load_state_dict({k: torch.from_numpy(to_numpy(v).copy()) for k, v in m.state_dict().items()})
    x = RNG.standard_normal((4, 2, 3)).astype(np.float32)
    with cr.no_grad(), torch.no_grad():
        assert_close(m(cr.tensor(x))[0], t(torch.tensor(x))[0], atol=1e-6, rtol=1e-5)
    assert repr(m) == repr(t)
    assert repr(nn.GRU(3, 4, 2, batch_first=True, dropout=0.5)) == \
        repr(torch.nn.GRU(3, 4, 2, batch_first=True, dropout=0.5))
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == \
        repr(torch.nn.RNNCell(3, 4, nonlinearity="relu"))


def test_dropout_between_layers_only_in_training():
    cr.manual_seed(0)
    m = nn.GRU(3, 16, num_layers=2, dropout=0.5)
    x = cr.randn(4, 2, 3)
    m.eval()
    a, b = m(x)[0], m(x)[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    m.train()
    c = m(x)[0]
    assert not np.allclose(a.detach().numpy(), c.detach().numpy())
    single = nn.GRU(3, 16, num_layers=1, dropout=0.5)
    np.testing.assert_array_equal(single(x)[0].detach().numpy(), single(x)[0].detach().numpy())


def _node_names(out):
    nodes, stack = set(), [out.grad_fn]
    while stack:
        n = stack.pop()
        if n is None or n in nodes:
            continue
        nodes.add(n)
        stack.extend(a.grad_fn for a in n.args if isinstance(a, cr.Tensor))
    return sorted(n.name for n in nodes)


def test_one_node_per_step():
    """The recurrence records one cell node per step, not one per gate; a padded LSTM
    without projection records one node for the whole loop."""
    names = _node_names(nn.GRU(3, 4)(cr.randn(7, 2, 3))[0])
    assert names.count("gru_cell") == 7
    assert len(names) <= 7 + 5, names
    packed = rnn_utils.pack_sequence([cr.randn(7, 3), cr.randn(5, 3)])
    names = _node_names(nn.LSTM(3, 4)(packed)[0].data)
    assert names.count("lstm_cell") == 7
    assert len(names) <= 7 + 8, names
    names = _node_names(nn.LSTM(3, 4, bidirectional=True)(cr.randn(7, 2, 3))[0])
    assert names.count("lstm_sequence") == 2 and "lstm_cell" not in names
    assert len(names) <= 2 * 3 + 1, names


ERRORS = [
    (lambda: nn.LSTM(3, 4)(cr.randn(5, 2, 6)), ValueError,
     r"LSTM: input.size\(-1\) must be equal to input_size. Expected 3, got 6"),
    (lambda: nn.LSTM(3, 4)(cr.randn(5, 2, 3), (cr.zeros(2, 2, 4), cr.zeros(1, 2, 4))),
     RuntimeError, r"LSTM: expected hidden size \(1, 2, 4\), got \(2, 2, 4\)"),
    (lambda: nn.LSTM(3, 4)(cr.randn(5, 2, 3), (cr.zeros(1, 2, 4), cr.zeros(1, 2, 5))),
     RuntimeError, r"LSTM: expected cell size \(1, 2, 4\), got \(1, 2, 5\)"),
    (lambda: nn.GRU(3, 4, 2)(cr.randn(5, 2, 3), cr.zeros(1, 2, 4)), RuntimeError,
     r"GRU: expected hidden size \(2, 2, 4\), got \(1, 2, 4\)"),
    (lambda: nn.GRU(3, 4)(cr.randn(5, 3), cr.zeros(1, 2, 4)), RuntimeError,
     "GRU: for unbatched 2-D input, hx should also be 2-D"),
    (lambda: nn.RNN(3, 4)(cr.randn(0, 2, 3)), ValueError,
     "RNN: the input has a sequence length of 0"),
    (lambda: nn.RNN(3, 4)(cr.randn(2, 2, 2, 3)), ValueError,
     "RNN: expected input to be 2-D or 3-D"),
    (lambda: nn.RNN(3, 4, nonlinearity="gelu"), ValueError, "RNN: unknown nonlinearity"),
    (lambda: nn.LSTM(3, 4, proj_size=4), ValueError, "LSTM: proj_size .* smaller than hidden_size"),
    (lambda: nn.RNNBase("GRU", 3, 4, proj_size=2), ValueError,
     "proj_size argument is only supported for LSTM"),
    (lambda: nn.LSTM(3, 4, dropout=1.5), ValueError, "LSTM: dropout should be a number in range"),
    (lambda: nn.LSTM(3, 0), ValueError, "LSTM: hidden_size must be an integer greater than zero"),
    (lambda: nn.LSTMCell(3, 4)(cr.randn(2, 5)), ValueError, "LSTMCell: input has 5 features"),
    (lambda: nn.GRUCell(3, 4)(cr.randn(2, 3), cr.zeros(3, 4)), RuntimeError,
     r"GRUCell: hidden state 0 has shape \(3, 4\)"),
    (lambda: rnn_utils.pack_padded_sequence(cr.randn(4, 3, 2), [1, 3, 2]), RuntimeError,
     "pack_padded_sequence: lengths .* must be sorted in decreasing order"),
    (lambda: rnn_utils.pack_padded_sequence(cr.randn(4, 2, 2), [3, 0]), RuntimeError,
     "pack_padded_sequence: every length must be greater than 0"),
    (lambda: rnn_utils.pack_padded_sequence(cr.randn(4, 2, 2), [3, 2, 1]), ValueError,
     "pack_padded_sequence: expected 2 lengths"),
    (lambda: rnn_utils.pad_packed_sequence(rnn_utils.pack_sequence([cr.ones(3, 1)]),
                                           total_length=2), ValueError,
     "pad_packed_sequence: expected total_length to be at least"),
]


@pytest.mark.parametrize("make,exc,match", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors_name_module_and_shapes(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


@pytest.mark.parametrize("kind", ["LSTM", "LSTMCell"])
def test_lstm_gates_in_place_second_order_and_retain_graph(kind):
    """The LSTM computes its gates in the memory of its own input projection: the second
    derivative (through the gates output) matches torch's, a second backward with
    retain_graph gives the first one's gradients again, and the user's input is untouched."""
    m, t = _twin(kind, 3, 4)
    shape = (5, 2, 3) if kind == "LSTM" else (2, 3)
    a = RNG.standard_normal(shape)
    xc, xt = _leaf(a)
    oc, ot = m(xc), t(xt)
    oc, ot = (oc[0], ot[0]) if kind == "LSTM" else (oc[0] + oc[1], ot[0] + ot[1])
    u = RNG.standard_normal(tuple(ot.shape))
    lc, lt = (oc * cr.tensor(u)).sum(), (ot * torch.tensor(u)).sum()
    sfx = "_l0" if kind == "LSTM" else ""
    w_ih, w_hh = m.get_parameter("weight_ih" + sfx), m.get_parameter("weight_hh" + sfx)
    t_ih, t_hh = t.get_parameter("weight_ih" + sfx), t.get_parameter("weight_hh" + sfx)
    gc = cr.autograd.grad(lc, [xc, w_hh], create_graph=True)
    gt = torch.autograd.grad(lt, [xt, t_hh], create_graph=True)
    for p, q in zip(gc, gt):
        assert_close(p, q, what="first derivative", **TOL)
    sc, st = sum((g * g).sum() for g in gc), sum((g * g).sum() for g in gt)
    for p, q in zip(cr.autograd.grad(sc, [xc, w_ih, w_hh], retain_graph=True),
                    torch.autograd.grad(st, [xt, t_ih, t_hh], retain_graph=True)):
        assert_close(p, q, what="second derivative", atol=1e-9, rtol=1e-7)
    first = cr.autograd.grad(lc, [xc, w_hh], retain_graph=True)
    again = cr.autograd.grad(lc, [xc, w_hh])
    for p, q, r in zip(first, again, gt):
        assert_close(p, q.detach(), what="second backward", atol=0, rtol=0)
        assert_close(p, r, what="retained backward", **TOL)
    np.testing.assert_array_equal(xc.detach().numpy(), a)


def test_graph_kept_after_backward_holds_no_gates():
    """A loss held after backward (for logging) keeps no gates: they live in the memory of
    the input projection, which backward released, and the caches are gone. (The steps'
    gradient buffer stays with the graph on purpose: see ``GradBuffer``.)"""
    from chainrule.autograd.graph import topological_order
    m = nn.LSTM(3, 64)
    out, (h, c) = m(cr.randn(20, 4, 3, requires_grad=True))
    loss = (h * h).sum() + out.sum()
    loss.backward()
    for node in topological_order([loss.grad_fn]):
        for a in node.args:
            if isinstance(a, cr.Tensor) and a._array.size >= 4096 and a.grad_fn is not None:
                assert a._array.strides == (0,) * a._array.ndim, (node.name, a.shape)
        assert not {"gates", "tc"} & set(vars(node)), node.name


# --- the weight gradient of the recurrence: one GEMM over all steps (LoopWeight) ----------

WEIGHT_GRAD = [
    ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("LSTM", dict(proj_size=2, bidirectional=True)),
    ("RNN", dict(num_layers=2, bidirectional=True, nonlinearity="relu")),
    ("GRU", dict(num_layers=2, bidirectional=True)),
]


@pytest.mark.parametrize("kind,kw", WEIGHT_GRAD, ids=lambda v: str(v))
@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
def test_steps_leave_the_weight_gradient_to_one_node(kind, kw, packed):
    """On the first-order path no step sends W_hh a gradient of its own (one sends zeros that
    hold no memory, so that the engine calls the loop's weight node); the weight node of each
    layer and direction sends the whole gradient, which is torch's."""
    m, t = _twin(kind, 3, 4, **kw)
    if packed:
        pairs = [_leaf(s) for s in _sequences([4, 2, 3, 1])]
        oc = m(rnn_utils.pack_sequence([p[0] for p in pairs], enforce_sorted=False))[0].data
        ot = t(torch.nn.utils.rnn.pack_sequence([p[1] for p in pairs],
                                                enforce_sorted=False))[0].data
    else:
        xc, xt = _leaf(RNG.standard_normal((5, 2, 3)))
        oc, ot = m(xc)[0], t(xt)[0]
    u = RNG.standard_normal(tuple(ot.shape))
    loss = (oc * cr.tensor(u)).sum()
    with cr.viz.keep_graph():
        loss.backward()
    (ot * torch.tensor(u)).sum().backward()
    _check_params(m, t)
    if kind == "LSTM" and not packed and "proj_size" not in kw:
        _check_sequence_weight_grads(loss, m, t, kw)
        return
    cell = kind.lower() + "_cell"
    sent = {}   # id of the weight Tensor the steps read -> the gradients the steps sent it
    weight_nodes = []
    for node, _, grads in loss.grad_fn.backward_record.steps:
        if node.name == cell:
            w = node.args[3 if kind == "LSTM" else 2]
            sent.setdefault(id(w), []).append(grads[3 if kind == "LSTM" else 2])
        elif node.name == "recurrent_weight":
            weight_nodes.append((node, grads[0]))
    D = 2 if kw.get("bidirectional") else 1
    assert len(weight_nodes) == len(sent) == kw.get("num_layers", 1) * D
    for grads in sent.values():
        given = [g for g in grads if g is not None]
        assert len(given) == 1 and not np.any(given[0]), "a step computed its own W_hh grad"
    tgrads = {id(p): p.grad for p in t.parameters()}
    by_name = dict(zip((id(p) for p in m.parameters()), t.parameters()))
    for node, g in weight_nodes:
        assert_close(g, tgrads[id(by_name[id(node.args[0])])], what="the loop's W_hh grad",
                     **TOL)


@pytest.mark.parametrize("kind", ["LSTM", "RNN", "GRU"])
def test_weight_gradient_of_part_of_the_steps_and_a_retained_second_backward(kind):
    """A loss on the first steps' outputs reaches only those steps (the weight node then sums
    their shares from what each step kept); a second backward with retain_graph gives the
    first one's gradients again, bidirectional and two layers deep."""
    m, t = _twin(kind, 3, 4, num_layers=2, bidirectional=True)
    xc, xt = _leaf(RNG.standard_normal((6, 2, 3)))
    oc, ot = m(xc)[0], t(xt)[0]
    u = RNG.standard_normal((2, 2, 8))
    lc, lt = (oc[:2] * cr.tensor(u)).sum(), (ot[:2] * torch.tensor(u)).sum()
    names = [n for n, _ in m.named_parameters()]
    first = cr.autograd.grad(lc, [xc] + list(m.parameters()), retain_graph=True)
    again = cr.autograd.grad(lc, [xc] + list(m.parameters()))
    expected = torch.autograd.grad(lt, [xt] + list(t.parameters()))
    for name, p, q, r in zip(["x"] + names, first, again, expected):
        assert_close(p, r, what=f"grad of {name}", **TOL)
        assert_close(p, q.detach(), what=f"second backward, {name}", atol=0, rtol=0)
    # Only the first steps of the forward direction ran: the second layer's last ones did not.
    oc, ot = m(xc)[0], t(xt)[0]
    (oc[0, :, :4] * cr.tensor(u[0, :, :4])).sum().backward()
    (ot[0, :, :4] * torch.tensor(u[0, :, :4])).sum().backward()
    assert_close(m.weight_hh_l1.grad, t.weight_hh_l1.grad, what="grad of weight_hh_l1, one "
                 "step", **TOL)
    assert_close(m.weight_hh_l0_reverse.grad, t.weight_hh_l0_reverse.grad,
                 what="grad of weight_hh_l0_reverse, one step", **TOL)


def _check_sequence_weight_grads(loss, m, t, kw):
    """A padded LSTM: one ``lstm_sequence`` node per layer and direction, which sends W_hh
    its whole gradient (torch's)."""
    tgrads = {id(p): p.grad for p in t.parameters()}
    by_name = dict(zip((id(p) for p in m.parameters()), t.parameters()))
    sent = [(node, grads) for node, _, grads in loss.grad_fn.backward_record.steps
            if node.name == "lstm_sequence"]
    D = 2 if kw.get("bidirectional") else 1
    assert len(sent) == kw.get("num_layers", 1) * D
    assert not any(node.name in ("lstm_cell", "recurrent_weight")
                   for node, _, _ in loss.grad_fn.backward_record.steps)
    for node, grads in sent:
        assert_close(grads[3], tgrads[id(by_name[id(node.args[3])])],
                     what="the sequence node's W_hh grad", **TOL)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_lstm_sequence_recomputes_dropped_states_and_ignores_output_writes(reverse):
    """The sequence node's backward gives the same gradients when its saved states were
    dropped (recomputed from the gates) and after a caller wrote into its final states
    (copies, not views of the states that backward reads)."""
    from chainrule.ops.recurrent import LSTMSequenceOp
    T, B, H = 4, 3, 5
    arrays = [RNG.standard_normal(s) for s in [(T, B, 4 * H), (B, H), (B, H), (4 * H, H)]]
    ups = [RNG.standard_normal((T, B, H))]
    results = []
    for variant in ("plain", "dropped", "written"):
        leaves = [cr.tensor(a, requires_grad=True) for a in arrays]
        xg = leaves[0] * 1.0  # the node overwrites its xg: give it a scratch copy
        out, h, c, _ = LSTMSequenceOp.apply(xg, *leaves[1:], reverse)
        if variant == "dropped":
            for name in ("hs", "cs", "tcs"):
                vars(out.grad_fn).pop(name)
        loss = (out * cr.tensor(ups[0])).sum()  # h, c: written below, by one variant
        if variant == "written":
            with cr.no_grad():
                h.mul_(2.0)
                c.zero_()
        loss.backward()
        results.append([p.grad.numpy() for p in leaves])
    for got in results[1:]:
        for p, q in zip(results[0], got):
            np.testing.assert_array_equal(p, q)
