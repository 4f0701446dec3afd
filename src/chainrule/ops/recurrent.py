"""The recurrent cells as ops: one node per time step, and the split of a sequence into steps.

A recurrent layer hoists its input projection out of the loop (one GEMM over all steps,
``xg = x W_ih^T + b``) and then runs one fused cell op per step, so a step of an LSTM is
*one* node of the graph, not twenty. Each cell returns its new state; the optional
``mask`` (a constant bool array (B, 1)) keeps the old state where a sequence has already
ended, which is how packed (variable-length) batches run on a padded loop.

* ``RNNCellOp``:  h' = act(xg + h W^T), act = tanh or relu.
* ``LSTMCellOp``: [i f g o] = [s s tanh s](xg + h W^T), c' = f c + i g, h' = o tanh(c').
* ``GRUCellOp``:  hg = h W^T + b_hh, [r z] = s(xg_rz + hg_rz),
  n = tanh(xg_n + r hg_n), h' = (1 - z) n + z h.
* ``LSTMSequenceOp``: a padded LSTM direction without projection, the whole loop as one
  node (forward and backward loops inside, as cuDNN runs it): no node, Tensor or engine
  visit per step. Packed input and projections take the per-step cells.

On the first-order path, backward reuses the gates saved by forward (in-place NumPy);
under ``create_graph`` it recomputes them with Tensor ops, so the same formulas give
second derivatives. ``Unbind`` is the mirror of ``stack``: one node with T outputs.
``LoopWeight`` hands W_hh to the steps of a loop; on the first-order path the steps leave
their shares of its gradient to it, and it computes them as one GEMM over all T steps (the
steps write their hidden states into one array of their ``GradBuffer`` for that).

    >>> xg = cr.randn(3, 8, requires_grad=True)         # (B, 4H) with H = 2
    >>> h, c = cr.zeros(3, 2), cr.zeros(3, 2)
    >>> W = cr.randn(8, 2, requires_grad=True)
    >>> h1, c1, _ = LSTMCellOp.apply(xg, h, c, W, None, None)
"""

from __future__ import annotations

from .. import backend
from ..autograd.function import Op
from ..tensor import Tensor, _make
from . import either
from .activation import relu_array
from .either import wants as _wants

_new = object.__new__


class MultiOutputOp(Op):
    """An Op whose forward returns a tuple of arrays; ``apply`` (``Op.apply``, the one choke
    point) returns a tuple of Tensors. Backward gets a list with one upstream gradient per
    output (None where an output was not used) and returns one gradient per argument."""

    __slots__ = ()


def _zeros_for(g, like_shape, like):
    """``g``, or zeros of ``like_shape`` where that output got no gradient."""
    if g is not None:
        return g
    xp = backend.get_array_module(either.value(like))
    z = xp.zeros(like_shape, either.value(like).dtype)
    return _make(z, False, None) if either.is_graph(like) else z



def stack_graph_grads(grads, zero_shape, x, axis, each=None):
    """The upstream gradients of several outputs (Tensors, under create_graph) stacked along
    ``axis``, zeros of ``zero_shape`` where an output got none; ``each`` maps a gradient
    before stacking (a permutation back to the input's layout)."""
    from .shape import stack  # noqa: PLC0415 - same package, no cycle at call time
    zero = None
    parts = []
    for g in grads:
        if g is None:
            if zero is None:
                zero = _zeros_for(None, zero_shape,
                                  x if either.is_graph(x) else _make(x, False, None))
            parts.append(zero)
        else:
            parts.append(g if each is None else each(g))
    return stack(parts, axis)


def _split_masked(g, mask):
    """(the part of ``g`` that reaches the new state, the part that passes to the old one)."""
    if mask is None:
        return g, None
    m = mask.astype(either.value(g).dtype)
    g_new = g * m
    return g_new, g - g_new


def _sigmoid_(a):
    """In place: a <- sigmoid(a) = (1 + tanh(a / 2)) / 2, which never overflows."""
    a *= 0.5
    backend.get_array_module(a).tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _tanh_(a):
    xp = backend.get_array_module(a)
    return xp.tanh(a, out=a)


_LSTM_SCALES = {}


def _lstm_gates_(a, H):
    """In place: [i f g o] <- [s s tanh s](a), as k * tanh(k * a) + c per column (k = 1/2 and
    c = 1/2 on the sigmoid gates, k = 1 and c = 0 on g): four passes for all four gates."""
    xp = backend.get_array_module(a)
    key = (H, a.dtype, xp)
    kc = _LSTM_SCALES.get(key)
    if kc is None:
        k = xp.full(4 * H, 0.5, a.dtype)
        k[2 * H:3 * H] = 1
        c = xp.full(4 * H, 0.5, a.dtype)
        c[2 * H:3 * H] = 0
        kc = _LSTM_SCALES[key] = (k, c)
    k, c = kc
    a *= k
    xp.tanh(a, out=a)
    a *= k
    a += c
    return a


def _lstm_step_grad_(a, tc, c, gh, gc, g_gates, d, dc, der):
    """One LSTM step's first-order rule on arrays, into ``d`` (the gradients of the gate
    pre-activations, (B, 4H)) and ``dc`` (of c', before the forget gate); ``der`` is scratch
    of ``a``'s shape. ``a``: the activated gates [i f g o], ``tc``: tanh(c'), ``c``: the
    previous cell, ``gh``/``gc``: upstream, ``g_gates``: the gates output's, or None."""
    H = c.shape[-1]
    xp = backend.get_array_module(a)
    i = a[..., :H]
    g, o = a[..., 2 * H:3 * H], a[..., 3 * H:]
    xp.multiply(tc, tc, out=dc)                        # dc = gh o (1 - tc^2) + gc
    xp.subtract(1, dc, out=dc)
    dc *= o
    dc *= gh
    dc += gc
    xp.multiply(dc, g, out=d[..., :H])                 # d i
    xp.multiply(dc, c, out=d[..., H:2 * H])            # d f
    xp.multiply(dc, i, out=d[..., 2 * H:3 * H])        # d g
    xp.multiply(gh, tc, out=d[..., 3 * H:])            # d o
    if g_gates is not None:  # the gates output itself was used (a double backward)
        d += g_gates
    # d sigmoid = s (1 - s) on i, f, o; d tanh = 1 - g^2 on g.
    xp.subtract(1, a, out=der)
    der *= a
    dg = der[..., 2 * H:3 * H]
    xp.multiply(g, g, out=dg)
    xp.subtract(1, dg, out=dg)
    d *= der


def _lstm_step_grad_graph(a, tc, c, gh, gc, g_gates):
    """``_lstm_step_grad_`` with Tensor ops (create_graph): returns (d, dc)."""
    H = c.shape[-1]
    i, f = a[..., :H], a[..., H:2 * H]
    g, o = a[..., 2 * H:3 * H], a[..., 3 * H:]
    dc = gh * o * (1 - tc * tc) + gc
    d = _cat([dc * g, dc * c, dc * i, gh * tc], -1)
    if g_gates is not None:
        d = d + g_gates
    return d * _cat([i * (1 - i), f * (1 - f), 1 - g * g, o * (1 - o)], -1), dc


class GradBuffer:
    """What the T step nodes of one direction of a recurrent layer share.

    * ``array``: one (T, ...) array that the steps write their gate gradients into, so that
      the backward of ``Unbind`` hands it on whole instead of copying T pieces together. A
      fresh array is taken whenever a step asks again for a slot already handed out (a
      second backward with retain_graph), so no gradient is ever overwritten.
    * ``states``: one (T + 1, B, P) array of the hidden states, h_0 at the loop's start
      (index 0, or T when ``reverse``) and each step's output next to it, written by the
      steps' forwards; so the states that the weight gradient multiplies are one array.
    * ``pending``: (t, gate gradient, h) of each step whose first-order backward left its
      share of W_hh's gradient to ``LoopWeight``, which then computes all of them as one
      GEMM over (T B) rows, as a hand-written loop does after its backward loop, instead of
      T small GEMMs summed by the engine.

    The arrays stay with the graph until the graph is dropped (a loss kept for logging keeps
    them to the next step). Forgetting it once Unbind has handed it on saves one (T, B, G H)
    array of peak memory (the LSTM case: 1.31x -> 1.02x the floor) but, measured, let glibc
    trim the heap at the end of every step, so the next step page-faults its arrays in
    again: 1,409 faults a step and 1.78x the floor's time instead of 0 and 1.25x
    (docs/benchmarks.md, sequence models). It is kept; so are the states (dropping them
    after the weight gradient: 105 page faults a step in the LSTM case instead of 0).
    """

    __slots__ = ("steps", "array", "views", "reverse", "states", "pending", "token",
                 "defers_weight", "hidden", "hidden_views")

    def __init__(self, steps, reverse=False):
        self.steps, self.array, self.views = steps, None, {}
        # GRU: the gradients of h W^T + b_hh, which differ from the gate gradients (r scales
        # the n part), also one (T, ...) array, for the weight gradient's GEMM.
        self.hidden, self.hidden_views = None, {}
        self.reverse, self.states, self.pending, self.token = reverse, None, [], None
        # Set by LoopWeight's forward (so also in a compiled replay, which runs it again):
        # the steps' W_hh is that node's output, whose backward computes the gradient.
        self.defers_weight = False

    def __repr__(self):
        return f"GradBuffer(steps={self.steps})"

    def view(self, t, shape, dtype, xp, hidden=False):
        """Step ``t``'s slot of the gate-gradient array (``hidden``: of the second array,
        GRU's gradients of h W^T + b_hh), a fresh array when that slot was handed out."""
        array, views = (self.hidden, self.hidden_views) if hidden else (self.array, self.views)
        if array is None or t in views or array.shape[1:] != shape or array.dtype != dtype:
            array, views = xp.empty((self.steps,) + tuple(shape), dtype), {}
            if hidden:
                self.hidden, self.hidden_views = array, views
            else:
                self.array, self.views = array, views
        v = views[t] = array[t]
        return v

    def whole(self, grads):
        """The array, when ``grads`` are exactly its T views in order; else None."""
        views = self.views
        if len(views) != self.steps or any(g is not views.get(t) for t, g in enumerate(grads)):
            return None
        return self.array

    # --- the hidden states, written by the forwards --------------------------------------
    def state_slot(self, t, h):
        """Where step ``t``'s output goes (``states[t + 1]``, or ``states[t]`` when reverse);
        the loop's first step (which reads h_0 = ``h``) makes the array and puts h_0 in."""
        start = self.steps - 1 if self.reverse else 0
        if t == start:
            states = self.states = backend.get_array_module(h).empty(
                (self.steps + 1,) + h.shape, h.dtype)
            states[self.steps if self.reverse else 0] = h
        states = self.states
        if states is None or states.shape[1:] != h.shape or states.dtype != h.dtype:
            self.states = None  # (a step applied out of its loop: no states array)
            return None
        return states[t] if self.reverse else states[t + 1]

    # --- the weight gradient, left to LoopWeight -----------------------------------------
    def defer(self, t, dgates, h, like):
        """Note step ``t``'s share of W_hh's gradient (``dgates^T h``) for ``LoopWeight``;
        returns what the step gives as that gradient: once a backward, zeros that hold no
        memory (so the engine calls LoopWeight, with nothing to sum), None afterwards."""
        self.pending.append((t, dgates, h))
        if len(self.pending) > 1:
            return None
        xp = backend.get_array_module(like)
        self.token = xp.broadcast_to(xp.zeros((), like.dtype), like.shape)
        return self.token

    def weight_grad(self, upstream):
        """W_hh's gradient from the deferred steps (one GEMM), plus ``upstream`` where it is
        more than this buffer's own zeros. None when no step deferred."""
        pending, self.pending = self.pending, []
        if not pending:
            return None
        xp = backend.get_array_module(pending[0][1])
        pending.sort(key=lambda p: p[0])  # in time order, as the fast branch sums them
        complete = [t for t, _, _ in pending] == list(range(self.steps)) \
            and self.states is not None
        dG = None
        for array, views in ((self.array, self.views), (self.hidden, self.hidden_views)):
            if complete and len(views) == self.steps \
                    and all(views.get(t) is g for t, g, _ in pending):
                # Every step of this backward, in one of this buffer's arrays: the states
                # were written next to each other by the forwards.
                dG = array
                hs = self.states[1:] if self.reverse else self.states[:-1]
                break
        if dG is None:
            dG = xp.stack([g for _, g, _ in pending])
            hs = xp.stack([h for _, _, h in pending])
        gW = dG.reshape(-1, dG.shape[-1]).T @ hs.reshape(-1, hs.shape[-1])
        if upstream is not None and upstream is not self.token:
            gW += upstream
        self.token = None
        return gW


class LoopWeight(Op):
    """W_hh as the steps of one recurrent loop see it: forward is the identity (no copy).

    On the first-order path the steps leave their W_hh gradients to this node's backward,
    which the engine runs after every step's backward (the steps are its consumers), and
    which computes them as one GEMM (``GradBuffer.weight_grad``). Under create_graph the
    steps give their gradients as usual and this backward passes their sum on.
    """

    name = "recurrent_weight"

    def forward(self, W, buffer):
        buffer.defers_weight = True
        return W

    def backward(self, g, W, buffer):
        if either.is_graph(g):
            return g, None
        gW = buffer.weight_grad(g)
        return (g if gW is None else gW), None


def loop_weight(W, buffer):
    """``W`` through a ``LoopWeight`` node of ``buffer``'s loop."""
    return LoopWeight.apply(W, buffer)


def _cat(parts, axis):
    if any(isinstance(p, Tensor) for p in parts):
        from .shape import cat  # noqa: PLC0415 - same package, no cycle at call time
        return cat(parts, axis)
    return backend.get_array_module(parts[0]).concatenate(parts, axis)


class RNNCellOp(Op):
    """h' = act(xg + h W^T) with act ``"tanh"`` or ``"relu"``; masked rows keep h."""

    name = "rnn_cell"
    caches = ("h_new",)

    def forward(self, xg, h, W, mask, nonlinearity, slot=None):
        xp = backend.get_array_module(xg)
        out = None if slot is None else slot[0].state_slot(slot[1], h)
        if out is not None and mask is None:
            a = xp.matmul(h, W.T, out=out)
        else:
            a = h @ W.T
        a += xg
        if nonlinearity == "tanh":
            _tanh_(a)
        else:
            relu_array(a, out=a)
        self.h_new = a
        if mask is not None:
            a = xp.where(mask, a, h)
            if out is not None:
                out[...] = a
                a = out
        return a

    def backward(self, g, xg, h, W, mask, nonlinearity, slot=None):
        g_new, g_pass = _split_masked(g, mask)
        graph = either.is_graph(g) or either.is_graph(xg)
        if graph:
            pre = xg + h @ W.T
            y = pre.tanh() if nonlinearity == "tanh" else pre.relu()
        else:
            y = getattr(self, "h_new", None)
            if y is None:
                y = self.forward(xg, h, W, None, nonlinearity)
        if not graph and slot is not None:
            xp = backend.get_array_module(y)
            da = slot[0].view(slot[1], y.shape, y.dtype, xp)
            if nonlinearity == "tanh":
                xp.multiply(y, y, out=da)
                xp.subtract(1, da, out=da)
            else:
                xp.greater(y, 0, out=da)
            da *= g_new
        elif nonlinearity == "tanh":
            da = g_new * (1 - y * y)
        else:
            da = g_new * (either.value(y) > 0).astype(either.value(g).dtype)
        gh = None
        if _wants(self, 1):
            gh = da @ W
            if g_pass is not None:
                gh = gh + g_pass
        gW = None
        if _wants(self, 2):
            if not graph and slot is not None and slot[0].defers_weight:
                gW = slot[0].defer(slot[1], da, h, W)  # one GEMM for all steps
            else:
                gW = da.T @ h
        return da, gh, gW, None, None, None


class LSTMCellOp(MultiOutputOp):
    """One LSTM step: (xg (B, 4H), h (B, P), c (B, H), W_hh (4H, P), W_hr, mask) -> (h', c',
    gates).

    Gates in PyTorch's order i, f, g, o. h' = o tanh(c'), or with a projection W_hr (P, H)
    h' = (o tanh(c')) W_hr^T (P = proj_size); without one P = H. The third output is the
    activated gates [s(i) s(f) tanh(g) s(o)] (B, 4H), which backward reads; callers drop it.

    ``inplace``: xg is the caller's own scratch (the loop's input projection of this step,
    read by nothing else), so the gates are computed in its memory instead of a new array:
    a step then keeps one (B, 4H) array, not two. Backward never needs the pre-activations:
    the first-order rule is written in the gates, and under create_graph the gates enter as
    this node's third output (as ``saved_output`` does for sigmoid), so the backward of the
    backward runs through this node again.
    """

    name = "lstm_cell"
    caches = ("gates", "tc", "h_raw")

    def forward(self, xg, h, c, W, W_hr, mask, slot=None, inplace=False):
        H = c.shape[-1]
        if inplace:
            a = xg
            a += h @ W.T
        else:
            a = h @ W.T
            a += xg
        _lstm_gates_(a, H)
        i, f, gg, o = a[..., :H], a[..., H:2 * H], a[..., 2 * H:3 * H], a[..., 3 * H:]
        c_new = f * c
        c_new += i * gg
        xp = backend.get_array_module(a)
        tc = xp.tanh(c_new)
        self.gates, self.tc = a, tc
        out = None if slot is None else slot[0].state_slot(slot[1], h)
        if W_hr is None and mask is None and out is not None:
            h_new = xp.multiply(o, tc, out=out)
            return h_new, c_new, a
        h_new = o * tc
        if W_hr is not None:
            self.h_raw = h_new
            h_new = h_new @ W_hr.T
        if mask is not None:
            h_new = xp.where(mask, h_new, h)
            c_new = xp.where(mask, c_new, c)
        if out is not None:
            out[...] = h_new
            h_new = out
        return h_new, c_new, a

    def _saved(self, xg, h, c, W, W_hr, inplace):
        """(gates, tanh(c'), o tanh(c')) as forward kept them; recomputed if they were dropped
        (in place, the gates *are* xg's memory: only tanh(c') is recomputed)."""
        gates = self.__dict__.get("gates")
        if gates is None:
            if inplace:
                H = c.shape[-1]
                gates = self.gates = xg
                tc = backend.get_array_module(xg).tanh(gates[..., H:2 * H] * c
                                                       + gates[..., :H] * gates[..., 2 * H:3 * H])
                self.tc = tc
                if W_hr is not None:
                    self.h_raw = gates[..., 3 * H:] * tc
            else:
                self.forward(xg, h, c, W, W_hr, None)
        return self.gates, self.tc, self.__dict__.get("h_raw")

    def backward(self, grads, xg, h, c, W, W_hr, mask, slot=None, inplace=False):
        gh, gc, g_gates = grads
        gh = _zeros_for(gh, h.shape, h)
        gc = _zeros_for(gc, c.shape, c)
        gh, gh_pass = _split_masked(gh, mask)
        gc, gc_pass = _split_masked(gc, mask)
        H = c.shape[-1]
        if either.is_graph(gh) or either.is_graph(xg):
            return self._graph_backward(gh, gc, g_gates, gh_pass, gc_pass, xg, h, c, W, W_hr,
                                        H, inplace)
        gates, tc, h_raw = self._saved(xg, h, c, W, W_hr, inplace)
        gW_hr = None
        if W_hr is not None:
            if _wants(self, 4):
                gW_hr = gh.reshape(-1, gh.shape[-1]).T @ h_raw.reshape(-1, H)
            gh = gh @ W_hr
        xp = backend.get_array_module(gates)
        if slot is None:
            dgates = xp.empty(gates.shape, gates.dtype)
        else:
            dgates = slot[0].view(slot[1], gates.shape, gates.dtype, xp)
        dc = xp.empty(tc.shape, tc.dtype)
        _lstm_step_grad_(gates, tc, c, gh, gc, g_gates, dgates, dc,
                         xp.empty(gates.shape, gates.dtype))
        f = gates[..., H:2 * H]
        ghp = gcp = gW = None
        if _wants(self, 1):
            ghp = dgates @ W
            if gh_pass is not None:
                ghp += gh_pass
        if _wants(self, 2):
            gcp = dc * f
            if gc_pass is not None:
                gcp += gc_pass
        if _wants(self, 3):
            if slot is not None and slot[0].defers_weight:
                gW = slot[0].defer(slot[1], dgates, h, W)  # one GEMM for all steps
            else:
                gW = dgates.reshape(-1, 4 * H).T @ h.reshape(-1, h.shape[-1])
        return dgates, ghp, gcp, gW, gW_hr, None, None, None

    def _graph_backward(self, gh, gc, g_gates, gh_pass, gc_pass, xg, h, c, W, W_hr, H,
                        inplace):
        gates_array = self._saved(either.value(xg), either.value(h), either.value(c),
                                  either.value(W), either.value(W_hr), inplace)[0]
        gates = _make(gates_array, True, self)  # this node's output 2: see the docstring
        gates._output_nr = 2
        i, f = gates[..., :H], gates[..., H:2 * H]
        gg, o = gates[..., 2 * H:3 * H], gates[..., 3 * H:]
        tc = (f * c + i * gg).tanh()
        gW_hr = None
        if W_hr is not None:
            gW_hr = gh.reshape(-1, gh.shape[-1]).T @ (o * tc).reshape(-1, H)
            gh = gh @ W_hr
        dgates, dc = _lstm_step_grad_graph(gates, tc, c, gh, gc, g_gates)
        ghp = dgates @ W
        gcp = dc * f
        if gh_pass is not None:
            ghp = ghp + gh_pass
            gcp = gcp + gc_pass
        gW = dgates.reshape(-1, 4 * H).T @ h.reshape(-1, h.shape[-1])
        return dgates, ghp, gcp, gW, gW_hr, None, None, None


class GRUCellOp(Op):
    """One GRU step: (xg (B, 3H) = x W_ih^T + b_ih, h (B, H), W_hh (3H, H), b_hh, mask) -> h'.

    The hidden bias sits inside the reset gate's product (PyTorch's formula), so it is an
    argument here and not folded into ``xg``.
    """

    name = "gru_cell"
    caches = ("rz", "n", "hg_n")

    def forward(self, xg, h, W, b, mask, slot=None):
        H = h.shape[-1]
        hg = h @ W.T
        if b is not None:
            hg += b
        rz = xg[..., :2 * H] + hg[..., :2 * H]
        _sigmoid_(rz)
        r, z = rz[..., :H], rz[..., H:]
        hg_n = hg[..., 2 * H:]
        n = r * hg_n
        n += xg[..., 2 * H:]
        _tanh_(n)
        xp = backend.get_array_module(n)
        out = None if slot is None else slot[0].state_slot(slot[1], h)
        h_new = xp.subtract(h, n, out=out if mask is None else None)
        h_new *= z
        h_new += n
        self.rz, self.n, self.hg_n = rz, n, hg_n
        if mask is not None:
            h_new = xp.where(mask, h_new, h)
            if out is not None:
                out[...] = h_new
                h_new = out
        return h_new

    def backward(self, g, xg, h, W, b, mask, slot=None):
        H = h.shape[-1]
        g, g_pass = _split_masked(g, mask)
        graph = either.is_graph(g) or either.is_graph(xg)
        if graph:
            hg = h @ W.T
            if b is not None:
                hg = hg + b
            rz = (xg[..., :2 * H] + hg[..., :2 * H]).sigmoid()
            r, z = rz[..., :H], rz[..., H:]
            hg_n = hg[..., 2 * H:]
            n = (xg[..., 2 * H:] + r * hg_n).tanh()
            dn = g * (1 - z) * (1 - n * n)
            dr = dn * hg_n * r * (1 - r)
            dz = g * (h - n) * z * (1 - z)
            dxg = _cat([dr, dz, dn], -1)
            dhg = _cat([dr, dz, dn * r], -1)
        else:
            rz, n, hg_n = getattr(self, "rz", None), getattr(self, "n", None), \
                getattr(self, "hg_n", None)
            if rz is None:
                self.forward(xg, h, W, b, None)
                rz, n, hg_n = self.rz, self.n, self.hg_n
            r, z = rz[..., :H], rz[..., H:]
            xp = backend.get_array_module(rz)
            dxg = xp.empty(xg.shape, xg.dtype) if slot is None else \
                slot[0].view(slot[1], xg.shape, xg.dtype, xp)
            dn = dxg[..., 2 * H:]
            xp.multiply(n, n, out=dn)
            xp.subtract(1, dn, out=dn)
            dn *= 1 - z
            dn *= g
            drz = 1 - rz
            drz *= rz
            dr, dz = dxg[..., :H], dxg[..., H:2 * H]
            xp.multiply(drz[..., :H], hg_n, out=dr)
            dr *= dn
            xp.subtract(h, n, out=dz)
            dz *= drz[..., H:]
            dz *= g
            defer = slot is not None and slot[0].defers_weight and _wants(self, 2)
            if defer:  # into the buffer's second array: W_hh's gradient is one GEMM
                dhg = slot[0].view(slot[1], dxg.shape, dxg.dtype, xp, hidden=True)
                dhg[...] = dxg
            else:
                dhg = dxg.copy()
            dhg[..., 2 * H:] *= r
        gh = gW = gb = None
        if _wants(self, 1):
            gh = dhg @ W + g * z
            if g_pass is not None:
                gh = gh + g_pass
        if _wants(self, 2):
            if not graph and slot is not None and slot[0].defers_weight:
                gW = slot[0].defer(slot[1], dhg, h, W)  # one GEMM for all steps
            else:
                gW = dhg.reshape(-1, 3 * H).T @ h.reshape(-1, H)
        if b is not None and _wants(self, 3):
            gb = either.sum(dhg.reshape(-1, 3 * H), 0)
        return dxg, gh, gW, gb, None, None


class Unbind(MultiOutputOp):
    """x (T, ...) -> T Tensors x[0], ..., x[T-1]: one node, whose backward stacks.

    With a ``GradBuffer`` that the consumers of the steps filled, backward returns its array
    as it is (no copy).
    """

    def forward(self, x, buffer=None):
        return tuple(x[t] for t in range(x.shape[0]))

    def backward(self, grads, x, buffer=None):
        if buffer is not None:
            whole = buffer.whole(grads)
            if whole is not None:
                return whole, None
        if any(either.is_graph(g) for g in grads):
            return stack_graph_grads(grads, x.shape[1:], x, 0), None
        xp = backend.get_array_module(x)
        ref = next(g for g in grads if g is not None)
        out = xp.empty(x.shape, ref.dtype)
        for t, g in enumerate(grads):
            if g is None:
                out[t] = 0
            else:
                out[t] = g
        return out, None


def unbind_steps(x, buffer=None):
    """The T steps of x (T, ...) as a tuple, through one node."""
    return Unbind.apply(x, buffer)


class LSTMSequenceOp(MultiOutputOp):
    """One direction of one LSTM layer over the whole sequence as one node, as cuDNN runs it:
    (xg (T, B, 4H), h0 (B, H), c0 (B, H), W_hh (4H, H), reverse) -> (out (T, B, H), h_T, c_T,
    gates (T, B, 4H)).

    ``xg`` is the layer's own input projection (x W_ih^T + b, read by nothing else): the
    forward loop overwrites it with the activated gates [s(i) s(f) tanh(g) s(o)], which are
    the fourth output (callers drop it) and all that the first-order backward needs besides
    the states. The backward loop writes the gate gradients of all steps into one array
    (xg's gradient, which the projection's backward reads whole) and W_hh's gradient is one
    GEMM over all steps afterwards. Per step this costs a few NumPy calls and no node, no
    Tensor and no engine visit: the per-step path (``LSTMCellOp``, one node per step) stays
    for packed sequences and projections.

    Under create_graph the rule is recomputed with Tensor ops from the gates output (as
    ``LSTMCellOp`` does from its own), so the backward of the backward runs through this
    node again; its first-order backward adds the gates' upstream gradient in.
    """

    name = "lstm_sequence"
    # The states (hs, cs, tanh(cs)) are not ``caches``: they stay with the graph until it is
    # dropped, as GradBuffer's arrays do, for the same measured reason. Releasing them after
    # backward left the heap free at the end of every step, glibc trimmed it and the next
    # step page-faulted its arrays in again: 1,448 faults a step in the LSTM case (2.6 ms of
    # system time) instead of 0. The gates live in xg's memory, which backward releases.
    caches = ()

    def forward(self, xg, h0, c0, W, reverse):
        T, B, G = xg.shape
        H = G // 4
        xp = backend.get_array_module(xg)
        # States by time: without ``reverse`` step t reads index t and writes t + 1; with it,
        # reads t + 1 and writes t (h0 at T), so the states before each step are one slice.
        hs = xp.empty((T + 1, B, H), xg.dtype)
        cs = xp.empty((T + 1, B, H), xg.dtype)
        tcs = xp.empty((T, B, H), xg.dtype)
        hs[T if reverse else 0] = h0
        cs[T if reverse else 0] = c0
        hw = xp.empty((B, G), xg.dtype)  # h W^T of a step
        ig = xp.empty((B, H), xg.dtype)  # i * g of a step
        WT = W.T
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            prev, new = (t + 1, t) if reverse else (t, t + 1)
            a = xg[t]
            xp.matmul(hs[prev], WT, out=hw)
            a += hw
            _lstm_gates_(a, H)
            c_new = cs[new]
            xp.multiply(a[:, H:2 * H], cs[prev], out=c_new)
            xp.multiply(a[:, :H], a[:, 2 * H:3 * H], out=ig)
            c_new += ig
            tc = xp.tanh(c_new, out=tcs[t])
            xp.multiply(a[:, 3 * H:], tc, out=hs[new])
        self.hs, self.cs, self.tcs = hs, cs, tcs
        last = 0 if reverse else T
        # The outputs are copies: the states must stay as they are for backward, whatever a
        # caller does to its output in place.
        out = (hs[:T] if reverse else hs[1:]).copy()
        return out, hs[last].copy(), cs[last].copy(), xg

    def _saved(self, gates, h0, c0, reverse):
        """(hs, cs, tanh(cs)) as forward kept them; recomputed from the gates if dropped."""
        hs = self.__dict__.get("hs")
        if hs is None:
            T, B, G = gates.shape
            H = G // 4
            xp = backend.get_array_module(gates)
            hs = xp.empty((T + 1, B, H), gates.dtype)
            cs = xp.empty((T + 1, B, H), gates.dtype)
            hs[T if reverse else 0] = h0
            cs[T if reverse else 0] = c0
            for t in (range(T - 1, -1, -1) if reverse else range(T)):
                prev, new = (t + 1, t) if reverse else (t, t + 1)
                a = gates[t]
                cs[new] = a[:, H:2 * H] * cs[prev] + a[:, :H] * a[:, 2 * H:3 * H]
            tcs = xp.tanh(cs[:T] if reverse else cs[1:])
            xp.multiply(gates[:, :, 3 * H:], tcs, out=hs[:T] if reverse else hs[1:])
            self.hs, self.cs, self.tcs = hs, cs, tcs
        return self.hs, self.cs, self.tcs

    def backward(self, grads, xg, h0, c0, W, reverse):
        g_out, g_h, g_c, g_gates = grads
        if any(either.is_graph(a) for a in (g_out, g_h, g_c, g_gates, xg)):
            return self._graph_backward(grads, xg, h0, c0, W, reverse)
        gates = xg
        hs, cs, tcs = self._saved(gates, h0, c0, reverse)
        T, B, G = gates.shape
        H = G // 4
        xp = backend.get_array_module(gates)
        dG = xp.empty(gates.shape, gates.dtype)
        gh = xp.zeros((B, H), gates.dtype) if g_h is None else g_h.copy()
        gc = xp.zeros((B, H), gates.dtype) if g_c is None else g_c.copy()
        dc = xp.empty((B, H), gates.dtype)
        der = xp.empty((B, G), gates.dtype)
        for t in (range(T) if reverse else range(T - 1, -1, -1)):
            prev = t + 1 if reverse else t
            if g_out is not None:
                gh += g_out[t]
            a, d = gates[t], dG[t]
            _lstm_step_grad_(a, tcs[t], cs[prev], gh, gc,
                             None if g_gates is None else g_gates[t], d, dc, der)
            xp.matmul(d, W, out=gh)
            xp.multiply(dc, a[:, H:2 * H], out=gc)
        gW = None
        if _wants(self, 3):
            h_prev = hs[1:] if reverse else hs[:T]
            gW = dG.reshape(-1, G).T @ h_prev.reshape(-1, H)
        return (dG, gh if _wants(self, 1) else None, gc if _wants(self, 2) else None, gW,
                None)

    def _graph_backward(self, grads, xg, h0, c0, W, reverse):
        """The rule with Tensor ops (create_graph): the states are recomputed from the gates,
        which enter as this node's fourth output."""
        from .shape import stack  # noqa: PLC0415 - same package, no cycle at call time
        g_out, g_h, g_c, g_gates = grads
        gates = _make(either.value(xg), True, self)
        gates._output_nr = 3
        T, B, G = gates.shape
        H = G // 4
        order = range(T - 1, -1, -1) if reverse else range(T)
        h, c = h0, c0
        h_prev, c_prev, tcs = [None] * T, [None] * T, [None] * T
        for t in order:
            a = gates[t]
            h_prev[t], c_prev[t] = h, c
            c = a[:, H:2 * H] * c + a[:, :H] * a[:, 2 * H:3 * H]
            tcs[t] = c.tanh()
            h = a[:, 3 * H:] * tcs[t]
        gh, gc = g_h, g_c
        dgates = [None] * T
        for t in reversed(order):
            a = gates[t]
            if g_out is not None:
                gh = g_out[t] if gh is None else gh + g_out[t]
            gh = _zeros_for(gh, (B, H), a)
            gc = _zeros_for(gc, (B, H), a)
            d, dc = _lstm_step_grad_graph(a, tcs[t], c_prev[t], gh, gc,
                                          None if g_gates is None else g_gates[t])
            dgates[t] = d
            gh = d @ W
            gc = dc * a[:, H:2 * H]
        dG = stack(dgates, 0)
        gW = None
        if _wants(self, 3):
            hp = stack(h_prev, 0)
            gW = dG.reshape(-1, G).T @ hp.reshape(-1, H)
        return dG, gh, gc, gW, None


def lstm_sequence(xg, h0, c0, W, reverse=False):
    """(out, h_T, c_T) of one LSTM direction over ``xg`` (T, B, 4H), which it overwrites."""
    out, h, c, _ = LSTMSequenceOp.apply(xg, h0, c0, W, reverse)
    return out, h, c
