"""Replay safety: no library function freezes a data-dependent constant into a traced program.

Each row is traced once on input A (``trace(backward="vjp")``, with a backward where the
output is differentiable), replayed by ``chainrule.static.Plan`` on input B, and compared,
exactly, with the eager result on B: outputs and every gradient (inputs' and parameters').
A function that computed indices, masks or targets in Python from A's values would replay
A's constants on B and fail here. Random rows are traced with one seed, and replayed and
run eagerly with another. What cannot be made replay-safe is refused loudly under such a
trace (``tracing.reads_values``): the table at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.autograd import tracing
from chainrule.static import Plan


def _f(*shape, grad=True, low=None):
    def make(rng):
        a = rng.standard_normal(shape).astype(np.float32)
        if low is not None:
            a = low + (1 - 2 * low) * (1 / (1 + np.exp(-a)))  # in (low, 1 - low)
            a = a.astype(np.float32)
        return cr.tensor(a, requires_grad=grad)
    return make


def _i(high, *shape, low=0):
    return lambda rng: cr.tensor(rng.integers(low, high, shape))


def _b(*shape):
    return lambda rng: cr.tensor(rng.random(shape) < 0.5)


def _u(*shape, grad=False):  # probabilities in (0, 1), e.g. a soft target
    return lambda rng: cr.tensor(rng.random(shape).astype(np.float32) * 0.9 + 0.05,
                                 requires_grad=grad)


def _u0(*shape):  # a soft target with zeros (kl_div's t log t), requiring grad
    def make(rng):
        a = rng.random(shape).astype(np.float32)
        return cr.tensor(np.where(a < 0.3, 0, a).astype(np.float32), requires_grad=True)
    return make


def _pm1(*shape):  # -1 / +1 labels as floats
    return lambda rng: cr.tensor(np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32))


@dataclass
class Case:
    name: str
    fn: object                      # inputs -> a Tensor or a tuple of Tensors
    inputs: list                    # makers: rng -> Tensor
    model: object = None            # a factory of the Module whose parameters fn uses
    seed: int | None = None         # reseed before each run (random ops)
    mutate: object = None           # called (with the model) after the trace: live state
    xfail: str | None = None
    extra: dict = field(default_factory=dict)


def _lenet():
    cr.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6, 5))


def _cnn():
    cr.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(3, 2, 1), nn.Dropout2d(0.3), nn.Flatten(),
                         nn.Dropout(0.2), nn.Linear(4 * 4 * 4, 3))


def _mlp():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4))


def _lstm():
    cr.manual_seed(0)
    return nn.LSTM(3, 5)


def _emb():
    cr.manual_seed(0)
    return nn.Embedding(10, 4, padding_idx=0)


def _mha():
    cr.manual_seed(0)
    return nn.MultiheadAttention(4, 2)


def _bn_eval():
    cr.manual_seed(0)
    m = nn.BatchNorm2d(3)
    m.eval()
    return m


def _bump_stats(m):  # the running statistics change in place after the trace
    m.running_mean.data.add_(0.5)
    m.running_var.data.mul_(2.0)


def _then(t, update):
    """``t`` after ``update(t)`` changed it in place."""
    update(t)
    return t


_M = {}  # the current row's model (fn reads it)


def _m(*a, **kw):
    return _M["m"](*a, **kw)


CASES = [
    # pooling
    Case("max_pool1d", lambda x: F.max_pool1d(x, 2), [_f(2, 3, 8)]),
    Case("max_pool2d", lambda x: F.max_pool2d(x, 2), [_f(2, 3, 8, 8)]),
    Case("max_pool2d_overlap", lambda x: F.max_pool2d(x, 3, 2, 1), [_f(2, 3, 9, 9)]),
    Case("max_pool2d_indices", lambda x: F.max_pool2d(x, 2, return_indices=True),
         [_f(2, 3, 8, 8)]),
    Case("max_pool2d_unbatched", lambda x: F.max_pool2d(x, 2, return_indices=True),
         [_f(3, 8, 8)]),
    Case("max_unpool2d", lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2),
         [_f(2, 3, 8, 8)]),
    Case("adaptive_max_pool1d", lambda x: F.adaptive_max_pool1d(x, 3, return_indices=True),
         [_f(2, 3, 8)]),
    Case("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (3, 2)), [_f(2, 3, 7, 5)]),
    Case("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1), [_f(2, 3, 8, 8)]),
    Case("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, 3), [_f(2, 3, 7, 7)]),
    # reductions and orderings with indices
    Case("max_dim", lambda x: x.max(1), [_f(4, 6)]),
    Case("min_dim_keepdim", lambda x: x.min(0, keepdim=True), [_f(4, 6)]),
    Case("max_all", lambda x: x.max(), [_f(4, 6)]),
    Case("argmax", lambda x: x.argmax(1), [_f(4, 6)]),
    Case("argmin_all", lambda x: x.argmin(), [_f(10, 10)]),
    Case("sort", lambda x: x.sort(1), [_f(4, 6)]),
    Case("sort_descending", lambda x: cr.sort(x, 0, descending=True), [_f(4, 6)]),
    Case("argsort", lambda x: x.argsort(1), [_f(4, 6)]),
    Case("topk", lambda x: x.topk(3, 1), [_f(4, 6)]),
    Case("topk_smallest", lambda x: cr.topk(x, 2, 0, largest=False), [_f(4, 6)]),
    # comparisons, where, masks
    Case("gt", lambda x: x > 0, [_f(4, 6, grad=False)]),
    Case("eq_tensor", lambda x, y: x == y, [_i(3, 4, 6), _i(3, 4, 6)]),
    Case("logical", lambda x, y: (x > 0) & ~(y > 0) | x.isnan(),
         [_f(4, 6, grad=False), _f(4, 6, grad=False)]),
    Case("where_mask", lambda x: cr.where(x > 0, x, x * 0.1), [_f(4, 6)]),
    Case("where_tensor_cond", lambda c, x: cr.where(c, x, 2.0 * x), [_b(4, 6), _f(4, 6)]),
    Case("masked_fill", lambda c, x: x.masked_fill(c, 0.0), [_b(4, 6), _f(4, 6)]),
    # indexing with tensor indices
    Case("getitem_tensor", lambda i, x: x[i], [_i(6, 5), _f(6, 3)]),
    Case("getitem_bool", lambda x: x[x > 0].sum(), [_f(4, 6)]),
    Case("gather", lambda i, x: x.gather(1, i), [_i(6, 4, 3), _f(4, 6)]),
    Case("index_select", lambda i, x: x.index_select(0, i), [_i(6, 5), _f(6, 3)]),
    Case("take_along_dim", lambda i, x: cr.take_along_dim(x, i, 1), [_i(6, 4, 3), _f(4, 6)]),
    Case("embedding", lambda i: _m(i), [_i(10, 4, 3)], model=_emb),
    Case("F_embedding", lambda i, w: F.embedding(i, w), [_i(10, 5), _f(10, 4)]),
    Case("one_hot", lambda i: F.one_hot(i, 5), [_i(5, 7)]),
    # losses with targets and data-dependent branches
    Case("cross_entropy", lambda x, t: F.cross_entropy(x, t), [_f(5, 4), _i(4, 5)]),
    Case("nll_loss", lambda x, t: F.nll_loss(F.log_softmax(x, 1), t), [_f(5, 4), _i(4, 5)]),
    Case("nll_loss_weight_ignore",
         lambda x, t: F.nll_loss(x, t, weight=cr.tensor([1.0, 2.0, 0.5, 1.5]), ignore_index=0),
         [_f(6, 4), _i(4, 6)]),
    Case("nll_loss_none", lambda x, t: F.nll_loss(x, t, reduction="none"),
         [_f(2, 4, 3), _i(4, 2, 3)]),
    Case("mlp_nll", lambda x, t: F.nll_loss(F.log_softmax(_m(x), dim=1), t),
         [_f(5, 6, grad=False), _i(4, 5)], model=_mlp),
    Case("bce", lambda p, t: F.binary_cross_entropy(p, t), [_f(4, 3, low=0.05), _u(4, 3)]),
    Case("bce_weight", lambda p, t, w: F.binary_cross_entropy(p, t, weight=w),
         [_f(4, 3, low=0.05), _u(4, 3), _u(4, 3)]),
    Case("bce_int_target", lambda p, t: F.binary_cross_entropy(p, t.float()),
         [_f(4, 3, low=0.05), _i(2, 4, 3)]),
    Case("bce_with_logits", lambda x, t: F.binary_cross_entropy_with_logits(x, t),
         [_f(4, 3), _u(4, 3)]),
    Case("bce_with_logits_pos_weight",
         lambda x, t, w: F.binary_cross_entropy_with_logits(x, t, pos_weight=w),
         [_f(4, 3), _u(4, 3), _u(3)]),
    Case("huber", lambda x, y: F.huber_loss(x, y), [_f(4, 3), _f(4, 3, grad=False)]),
    Case("smooth_l1", lambda x, y: F.smooth_l1_loss(x, y, beta=0.5),
         [_f(4, 3), _f(4, 3, grad=False)]),
    Case("soft_margin", lambda x, y: F.soft_margin_loss(x, y), [_f(4, 3), _pm1(4, 3)]),
    Case("hinge_embedding", lambda x, y: F.hinge_embedding_loss(x, y), [_f(4, 3), _pm1(4, 3)]),
    Case("multi_margin", lambda x, t: F.multi_margin_loss(x, t), [_f(5, 4), _i(4, 5)]),
    Case("multi_margin_weight",
         lambda x, t: F.multi_margin_loss(x, t, p=2, weight=cr.tensor([1.0, 2.0, 3.0, 4.0])),
         [_f(5, 4), _i(4, 5)]),
    Case("kl_div", lambda x, t: F.kl_div(x, t, reduction="batchmean"), [_f(4, 3), _u(4, 3)]),
    Case("kl_div_target_grad", lambda x, t: F.kl_div(x, t), [_f(4, 3), _u0(4, 3)]),
    Case("gaussian_nll", lambda x, y, v: F.gaussian_nll_loss(x, y, v),
         [_f(4, 3), _f(4, 3, grad=False), _u(4, 3, grad=True)]),
    Case("mse", lambda x, y: F.mse_loss(x, y), [_f(4, 3), _f(4, 3, grad=False)]),
    Case("all_any", lambda x: (x > 0).all(1) | (x > 1).any(), [_f(4, 3, grad=False)]),
    Case("histc", lambda x: cr.histc(x, 5, -1.0, 1.0) + cr.histc(x, 5), [_f(20, grad=False)]),
    # detach / .data stand for the same value of the program, not a frozen copy
    Case("detach", lambda x: x * x.detach().exp(), [_f(4, 3)]),
    Case("data", lambda x: x + x.data * 2, [_f(4, 3)]),
    # in-place ops on tensors of the graph: later reads see the op's output
    Case("iadd", lambda x: _then(x * 2, lambda y: y.__iadd__(1)) * 3, [_f(4, 3)]),
    # (not mul_ on relu's output: relu's backward reads its output, as torch's, so that raises)
    Case("mul_relu_", lambda x: _then(x * 2, lambda y: y.mul_(2).relu_()).exp(), [_f(4, 3)]),
    Case("setitem_basic", lambda x: _then(x * 2, lambda y: y.__setitem__(0, 0.0)) * 3,
         [_f(4, 3)]),
    Case("setitem_mask", lambda m, x: _then(x * 2, lambda y: y.__setitem__(m, 0.0)) * 3,
         [_b(4, 3), _f(4, 3)]),
    Case("setitem_index", lambda i, x, v: _then(x * 1, lambda y: y.__setitem__(i, v)),
         [_i(4, 2), _f(4, 3), _f(3)]),
    Case("inplace_on_view", lambda x: _then(x * 2, lambda y: y[1:].mul_(3)) + 1, [_f(4, 3)]),
    # random: drawn anew at every replay
    Case("dropout", lambda x: F.dropout(x, 0.5), [_f(4, 6)], seed=3),
    Case("dropout1d", lambda x: F.dropout1d(x, 0.5), [_f(4, 6, 5)], seed=3),
    Case("dropout2d", lambda x: F.dropout2d(x, 0.5), [_f(4, 6, 3, 3)], seed=3),
    Case("attention_dropout",
         lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=0.5),
         [_f(2, 4, 3), _f(2, 5, 3), _f(2, 5, 3)], seed=3),
    Case("attention_bool_mask",
         lambda m, q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
         [lambda rng: cr.tensor(np.concatenate([np.ones((4, 1), bool), rng.random((4, 4)) < 0.5],
                                               1)), _f(2, 4, 3), _f(2, 5, 3), _f(2, 5, 3)]),
    Case("mha_key_padding_mask", lambda m, x: _m(x, x, x, key_padding_mask=m)[0],
         [lambda rng: cr.tensor(np.concatenate([np.zeros((2, 1), bool), rng.random((2, 4)) < 0.5],
                                               1)), _f(5, 2, 4)], model=_mha),
    Case("randn_like_noise", lambda x: x + 0.1 * cr.randn_like(x), [_f(4, 3)], seed=3),
    Case("rand_randint_randperm",
         lambda x: x * cr.rand(4, 3) + cr.randint(0, 5, (4, 3)) + cr.randperm(3),
         [_f(4, 3)], seed=3),
    Case("bernoulli", lambda p: cr.bernoulli(p), [_u(4, 3)], seed=3),
    Case("multinomial", lambda p: cr.multinomial(p, 2), [_u(4, 3)], seed=3),
    # normalization with live state
    Case("batch_norm_eval", lambda x: _m(x), [_f(2, 3, 4, 4)], model=_bn_eval,
         mutate=_bump_stats),
    Case("layer_norm", lambda x: F.layer_norm(x, (6,)), [_f(4, 6)]),
    Case("instance_norm_eval",
         lambda x: F.instance_norm(x, cr.zeros(3), cr.ones(3), use_input_stats=False),
         [_f(2, 3, 4)]),
    Case("prelu", lambda x, w: F.prelu(x, w), [_f(4, 3, 2), _f(3)]),
    # whole steps
    Case("lenet_step", lambda x, t: F.cross_entropy(_m(x), t), [_f(3, 1, 10, 10, grad=False),
                                                                 _i(5, 3)], model=_lenet),
    Case("cnn_step_train", lambda x, t: F.cross_entropy(_m(x), t),
         [_f(3, 2, 8, 8, grad=False), _i(3, 3)], model=_cnn, seed=5),
    Case("lstm_step", lambda x: _m(x)[0], [_f(4, 2, 3, grad=False)], model=_lstm),
]


def _outputs(result):
    if isinstance(result, cr.Tensor):
        return [result]
    return [o for o in result if isinstance(o, cr.Tensor)]


def _loss(outs, weights):
    """A scalar of the float outputs that need a gradient (fixed random weights), or None."""
    loss = None
    for o, w in zip(outs, weights):
        if o.requires_grad:
            term = (o * w).sum()
            loss = term if loss is None else loss + term
    return loss


def _grads(tensors):
    return [None if t.grad is None else t.grad._array.copy() for t in tensors]


def _clear(tensors):
    for t in tensors:
        t.grad = None


def _run(case):
    """(replayed outputs, replayed grads, eager outputs, eager grads) on input B."""
    ra, rb = np.random.default_rng(1), np.random.default_rng(2)
    A = [make(ra) for make in case.inputs]
    B = [make(rb) for make in case.inputs]
    model = case.model() if case.model is not None else None
    _M["m"] = model
    params = list(model.parameters()) if model is not None else []

    if case.seed is not None:  # traced with another draw than the one replayed
        cr.manual_seed(case.seed + 100)
    with tracing.trace(backward="vjp") as program:
        outs = _outputs(case.fn(*A))
        wrng = np.random.default_rng(7)
        weights = [cr.tensor(wrng.standard_normal(tuple(o.shape)).astype(np.float32))
                   if o.requires_grad else None for o in outs]
        loss = _loss(outs, weights)
        if loss is not None:
            loss.backward()
    if case.mutate is not None:
        case.mutate(model)
    plan = Plan(program, [program.value(a) for a in A], [program.value(o) for o in outs])

    _clear(A + params)
    if case.seed is not None:
        cr.manual_seed(case.seed)
    replayed = [np.asarray(o).copy() for o in plan.run([b._array for b in B])]
    replayed_grads = _grads(A + params)

    _clear(A + params)
    if case.seed is not None:
        cr.manual_seed(case.seed)
    eager_outs = _outputs(case.fn(*B))
    loss = _loss(eager_outs, weights)
    if loss is not None:
        loss.backward()
    eager = [o._array.copy() for o in eager_outs]
    return replayed, replayed_grads, eager, _grads(B + params), loss is not None


def _same(got, want, what):
    assert got.dtype == want.dtype and got.shape == want.shape, \
        f"{what}: {got.dtype}{got.shape} vs {want.dtype}{want.shape}"
    np.testing.assert_array_equal(got, want, err_msg=what)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_replay_on_new_data_equals_the_eager_call(case):
    replayed, rgrads, eager, egrads, differentiable = _run(case)
    assert len(replayed) == len(eager)
    for i, (r, e) in enumerate(zip(replayed, eager)):
        _same(r, e, f"{case.name}: output {i}")
    assert any(g is not None for g in egrads) or not differentiable, \
        f"{case.name}: no gradient reached the inputs"
    for i, (r, e) in enumerate(zip(rgrads, egrads)):
        assert (r is None) == (e is None), f"{case.name}: gradient {i} missing"
        if e is not None:
            _same(r, e, f"{case.name}: gradient {i}")


def test_the_detector_catches_a_constant_computed_in_python():
    """A function that reads its input's values in Python is caught (the detector can fail)."""
    def frozen(x):
        return x * cr.tensor((x._array > 0).astype(np.float32))
    with pytest.raises(AssertionError):
        test_a_replay_on_new_data_equals_the_eager_call(Case("frozen", frozen, [_f(4, 6)]))


def test_the_inputs_differ_where_it_matters():
    """A and B give different maxima positions, so the max-pool rows test something."""
    ra, rb = np.random.default_rng(1), np.random.default_rng(2)
    a, b = _f(2, 3, 8, 8)(ra), _f(2, 3, 8, 8)(rb)
    ia = F.max_pool2d(a, 2, return_indices=True)[1].numpy()
    ib = F.max_pool2d(b, 2, return_indices=True)[1].numpy()
    assert (ia != ib).mean() > 0.5


REFUSED = [
    ("one_hot", lambda: F.one_hot(cr.tensor([0, 2]))),
    ("embedding", lambda: F.embedding(cr.tensor([1, 2]), cr.randn(4, 3), max_norm=1.0)),
    ("instance_norm", lambda: F.instance_norm(cr.randn(2, 3, 4), cr.zeros(3), cr.ones(3))),
    ("histogram", lambda: cr.histogram(cr.randn(10), 3)),
    ("repeat_interleave", lambda: cr.repeat_interleave(cr.tensor([2, 1]))),
    ("repeat_interleave", lambda: cr.repeat_interleave(cr.ones(2), cr.tensor([2, 1]))),
    ("allclose", lambda: cr.allclose(cr.ones(2), cr.ones(2))),
    ("equal", lambda: cr.equal(cr.ones(2), cr.ones(2))),
    ("getitem", lambda: cr.ones(3)[[cr.tensor(0), cr.tensor(2)]]),
    ("pack_padded_sequence", lambda: nn.utils.rnn.pack_padded_sequence(
        cr.randn(3, 2, 4), cr.tensor([3, 2]))),
    ("randn", lambda: cr.randn(3, requires_grad=True)),
    ("BatchNorm1d", lambda: nn.BatchNorm1d(3, momentum=None)(cr.randn(4, 3))),
]


def test_gradient_clipping_is_a_step_a_replay_runs_again():
    """clip_grad_norm_ scales .grad in Python: it is recorded as one Call step (@replayable)."""
    w = cr.ones(3, requires_grad=True)
    x = cr.tensor([1.0, 2.0, 3.0])
    with tracing.trace(backward="vjp") as program:
        (w * x).sum().backward()
        nn.utils.clip_grad_norm_([w], 1.0)
    assert "Call" in program.ops()
    w.grad = None
    Plan(program, [program.value(x)], []).run([np.array([0.0, 3.0, 4.0], np.float32)])
    np.testing.assert_allclose(w.grad.numpy(), [0.0, 0.6, 0.8], rtol=1e-6)


@pytest.mark.parametrize("name, call", REFUSED, ids=[f"{n}-{i}" for i, (n, _) in
                                                     enumerate(REFUSED)])
def test_what_reads_values_in_python_is_refused_under_a_replayable_trace(name, call):
    call()  # eagerly, and under a trace that records ops only, it runs
    with tracing.trace():
        call()
    with pytest.raises(RuntimeError, match=rf"^{name}: .*cannot be replayed"):
        with tracing.trace(backward="vjp"):
            call()


def test_a_packed_sequence_through_an_lstm_is_refused_under_a_replayable_trace():
    lstm = nn.LSTM(4, 3)
    packed = nn.utils.rnn.pack_padded_sequence(cr.randn(3, 2, 4), [3, 2])
    with pytest.raises(RuntimeError, match="^LSTM: .*cannot be replayed"):
        with tracing.trace(backward="vjp"):
            lstm(packed)


def test_an_in_place_op_on_a_tensor_from_outside_is_refused_under_a_replayable_trace():
    w = cr.ones(3, requires_grad=True)
    x = cr.zeros(3)
    with pytest.raises(RuntimeError, match="add_: an in-place op on %.* cannot be replayed"):
        with tracing.trace(backward="vjp"):
            x.add_(w)


def test_an_index_put_outside_the_graph_is_refused_by_the_replay_not_run_stale():
    x = cr.zeros(4, 3)
    m = cr.tensor(np.random.default_rng(0).random((4, 3)) < 0.5)
    with tracing.trace(backward="vjp") as program:
        y = x * 2
        y[m] = 1.0
        out = y * 3
    with pytest.raises(RuntimeError, match="no replay for the traced step __setitem__"):
        Plan(program, [program.value(x), program.value(m)], [program.value(out)])
