"""cr.compile: a captured training step replays the eager numbers bit for bit; guards
retrace; what cannot be replayed is refused at capture time; the known traps of other JITs."""

import logging
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.static import CaptureError
from custom_functions import Cube


def _data(steps, batch, features, classes, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((steps, batch, *features)).astype(np.float32)
    Y = rng.integers(0, classes, (steps, batch))
    return X, Y


def _run(make, X, Y, compiled, steps=None):
    """Losses and final state of ``steps`` training steps, eager or compiled."""
    model, opt, sched = make()

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        return loss

    fn = cr.compile(step) if compiled else step
    losses = [fn(cr.tensor(x), cr.tensor(y)).item() for x, y in zip(X, Y)]
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    grads = [None if p.grad is None else p.grad.numpy().copy() for p in model.parameters()]
    opt_state = [{k: (v.numpy().copy() if isinstance(v, cr.Tensor) else v)
                  for k, v in s.items()} for s in opt.state.values()]
    lrs = [g["lr"] for g in opt.param_groups]
    return losses, state, grads, opt_state, lrs, (fn if compiled else None)


def _assert_same(eager, compiled):
    assert compiled[0] == eager[0]                      # every loss, bit for bit
    for k in eager[1]:
        np.testing.assert_array_equal(compiled[1][k], eager[1][k], err_msg=k)
    for a, b in zip(compiled[2], eager[2]):
        np.testing.assert_array_equal(a, b)
    assert len(compiled[3]) == len(eager[3])
    for a, b in zip(compiled[3], eager[3]):
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert compiled[4] == eager[4]


def _mlp(dropout=0.0, batchnorm=False, optimizer="sgd", scheduler=None):
    def make():
        cr.manual_seed(0)
        layers = [nn.Linear(4, 16)]
        if batchnorm:
            layers.append(nn.BatchNorm1d(16))
        layers += [nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 16), nn.Tanh(),
                   nn.Linear(16, 3)]
        model = nn.Sequential(*layers)
        if optimizer == "sgd":
            opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
        elif optimizer == "plain":
            opt = cr.optim.SGD(model.parameters(), lr=0.05)
        elif optimizer == "nesterov":
            opt = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.8, nesterov=True,
                               weight_decay=1e-2)
        else:
            opt = cr.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-2)
        sched = None
        if scheduler == "step":
            sched = cr.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        elif scheduler == "onecycle":
            sched = cr.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=25)
        return model, opt, sched
    return make


MLP_CASES = {
    "plain": _mlp(optimizer="plain"),
    "momentum+wd+dropout": _mlp(dropout=0.3),
    "batchnorm+dropout+steplr": _mlp(dropout=0.2, batchnorm=True, scheduler="step"),
    "nesterov+onecycle": _mlp(optimizer="nesterov", scheduler="onecycle"),
    "adamw+batchnorm+dropout+onecycle": _mlp(dropout=0.3, batchnorm=True, optimizer="adamw",
                                             scheduler="onecycle"),
}


@pytest.mark.parametrize("case", list(MLP_CASES))
def test_a_compiled_mlp_step_gives_the_eager_numbers_bit_for_bit_over_20_steps(case):
    X, Y = _data(20, 16, (4,), 3)
    eager = _run(MLP_CASES[case], X, Y, compiled=False)
    compiled = _run(MLP_CASES[case], X, Y, compiled=True)
    _assert_same(eager, compiled)
    assert compiled[5].captures == 1                    # captured once, replayed 19 times


def _cnn(d):
    def make():
        cr.manual_seed(0)
        conv, pool = (nn.Conv1d, nn.MaxPool1d) if d == 1 else (nn.Conv2d, nn.MaxPool2d)
        model = nn.Sequential(conv(1, 4, 3, padding=1), nn.ReLU(), pool(2), conv(4, 6, 3),
                              nn.ReLU(), nn.Flatten(), nn.Linear(6 * (2 if d == 1 else 1), 3))
        return model, cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9), None
    return make


class _LSTMClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 8, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.head(out[:, -1])


class _Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1,
                                                batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.layer(x).mean(dim=1))


def _seq(cls):
    def make():
        cr.manual_seed(0)
        model = cls()
        return model, cr.optim.Adam(model.parameters(), lr=1e-2), None
    return make


@pytest.mark.parametrize("name, make, features", [
    ("conv1d", _cnn(1), (1, 8)),
    ("conv2d", _cnn(2), (1, 6, 6)),
    ("lstm", _seq(_LSTMClassifier), (5, 3)),
    ("encoder", _seq(_Encoder), (4, 8)),
])
def test_cnn_lstm_and_encoder_steps_equal_eager(name, make, features):
    X, Y = _data(6, 8, features, 3, seed=1)
    eager = _run(make, X, Y, compiled=False)
    compiled = _run(make, X, Y, compiled=True)
    _assert_same(eager, compiled)
    assert compiled[5].captures == 1


def _train(step, model, X, Y, compiled):
    """The losses and final parameters of ``step`` run over the batches, eager or compiled."""
    fn = cr.compile(step) if compiled else step
    losses = [fn(cr.tensor(x), cr.tensor(y)).item() for x, y in zip(X, Y)]
    return losses, [p.detach().numpy().copy() for p in model.parameters()]


def _assert_replays_eager(run):
    """``run(compiled)`` gives (losses, arrays): compiled, the eager ones bit for bit."""
    (el, ea), (cl, ca) = run(False), run(True)
    assert cl == el
    for a, b in zip(ca, ea):
        np.testing.assert_array_equal(a, b)


def test_gradients_accumulated_over_calls_without_zero_grad_equal_eager():
    X, Y = _data(6, 8, (4,), 3)

    def run(compiled):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
        opt = cr.optim.SGD(model.parameters(), lr=0.1)

        def accumulate(x, y):
            loss = F.cross_entropy(model(x), y) / 3
            loss.backward()
            return loss

        fn = cr.compile(accumulate) if compiled else accumulate
        out = []
        for i in range(6):
            out.append(fn(cr.tensor(X[i]), cr.tensor(Y[i])).item())
            if i % 3 == 2:   # an update every 3 micro-batches
                opt.step()
                opt.zero_grad()
        return out, [p.detach().numpy().copy() for p in model.parameters()]

    _assert_replays_eager(run)


# --- guards -------------------------------------------------------------------------------

def test_a_new_shape_dtype_or_requires_grad_retraces_and_logs_what_changed(caplog):
    calls = []

    @cr.compile
    def f(x):
        calls.append(1)
        return (x * 2).sum()

    with caplog.at_level(logging.INFO, logger="chainrule.compile"):
        f(cr.ones(3))
        f(cr.ones(3))
        f(cr.ones(4))
        f(cr.ones(4, dtype=cr.float64))
        f(cr.ones(4, dtype=cr.float64, requires_grad=True))
    assert len(calls) == 4 and f.captures == 4
    text = caplog.text
    assert "x: tensor (3,) float32 -> tensor (4,) float32" in text
    assert "float32 -> tensor (4,) float64" in text
    assert "-> tensor (4,) float64 requires_grad" in text


def test_python_numbers_are_guarded_not_frozen():
    @cr.compile
    def scale(x, factor):
        return x * factor

    x = cr.ones(2)
    assert scale(x, 2.0).tolist() == [2.0, 2.0]
    assert scale(x, 3.0).tolist() == [3.0, 3.0]    # a frozen 2.0 would give [2, 2]
    assert scale(x, 2.0).tolist() == [2.0, 2.0]    # the first plan, replayed
    assert scale.captures == 2
    assert scale(x, 2).tolist() == [2.0, 2.0] and scale.captures == 3  # int is not float


def test_a_python_bool_branch_on_an_argument_retraces_so_each_branch_runs():
    @cr.compile
    def f(x, negate):
        if negate:
            return -x
        return x + 1

    x = cr.tensor([1.0, 2.0])
    assert f(x, False).tolist() == [2.0, 3.0]
    assert f(x, True).tolist() == [-1.0, -2.0]
    assert f(cr.tensor([5.0, 6.0]), False).tolist() == [6.0, 7.0]
    assert f.captures == 2


def test_train_and_eval_are_guards():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    f = cr.compile(model)
    x = cr.ones(4, 3)
    with cr.no_grad():
        f(x)
        model.eval()
        a, b = f(x), model(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())   # eval: no dropout in the replay
    assert f.captures == 2


def test_a_module_setting_is_a_guard():
    drop = nn.Dropout(0.5)
    f = cr.compile(lambda x: drop(x))
    x = cr.ones(1000)
    f(x)
    drop.p = 0.0
    np.testing.assert_array_equal(f(x).numpy(), np.ones(1000, np.float32))
    assert f.captures == 2


def test_grad_mode_is_a_guard():
    w = cr.ones(2, requires_grad=True)
    f = cr.compile(lambda x: x * w)
    assert f(cr.ones(2)).requires_grad
    with cr.no_grad():
        assert not f(cr.ones(2)).requires_grad
    assert f.captures == 2


def test_many_retraces_warn_loudly_naming_the_guard():
    f = cr.compile(lambda x: x + 1, warn_after=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 6):
            f(cr.ones(n))
    messages = [str(w.message) for w in caught]
    assert messages and "captured 4 times" in messages[0]
    assert "tensor (3,) float32 -> tensor (4,) float32" in messages[0]


def test_one_compiled_method_shared_by_instances_captures_per_instance():
    class Scaler:
        def __init__(self, k):
            self.k = k

        @cr.compile
        def __call__(self, x):
            return x * self.k

    a, b = Scaler(2.0), Scaler(5.0)
    x = cr.ones(2)
    assert a(x).tolist() == [2.0, 2.0]
    assert b(x).tolist() == [5.0, 5.0]      # not a's plan
    assert a(x).tolist() == [2.0, 2.0]
    assert Scaler.__call__.captures == 2


# --- capture errors -------------------------------------------------------------------------

@pytest.mark.parametrize("body, what", [
    (lambda x: x.sum().item(), ".item()"),
    (lambda x: x.numpy(), ".numpy()"),
    (lambda x: x.tolist(), ".tolist()"),
    (lambda x: float(x.sum()), "float(tensor)"),
    (lambda x: int(x.sum()), "int(tensor)"),
    (lambda x: x if x.sum() > 0 else -x, "bool(tensor)"),
    (lambda x: repr(x), "print/repr/str"),
    (lambda x: str(x), "print/repr/str"),
    (lambda x: f"{x.sum():.3f}", "f-string"),
    (lambda x: np.asarray(x), "np.asarray"),
])
def test_reading_a_tensor_value_while_capturing_is_refused_naming_the_line(body, what):
    f = cr.compile(body)
    with pytest.raises(CaptureError, match="while it is being captured") as info:
        f(cr.ones(3))
    message = str(info.value)
    assert what in message
    assert f"{__file__}:" in message                # the user's file and line, not ours
    assert f.captures == 1 and not f.plans          # nothing stale kept


def test_print_of_a_tensor_inside_is_refused(capsys):
    def f(x):
        y = x * 2
        print(y)
        return y
    with pytest.raises(CaptureError, match=r"print\(y\)"):
        cr.compile(f)(cr.ones(2))


def test_a_branch_on_a_tensor_value_is_a_capture_error_never_a_stale_replay():
    @cr.compile
    def relu_ish(x):
        if (x > 0).all():
            return x
        return x * 0
    with pytest.raises(CaptureError, match=r"if \(x > 0\).all\(\):"):
        relu_ish(cr.ones(2))


def test_hooks_inside_are_refused():
    w = cr.ones(2, requires_grad=True)

    def hooked(x):
        y = x * w
        y.register_hook(lambda g: g * 2)
        y.sum().backward()
        return y

    with pytest.raises(CaptureError, match="register_hook"):
        cr.compile(hooked)(cr.ones(2))


def test_a_hook_on_a_parameter_is_refused_at_capture():
    w = cr.ones(2, requires_grad=True)
    w.register_hook(lambda g: g * 2)
    with pytest.raises(RuntimeError, match="hook"):
        cr.compile(lambda x: (x * w).sum().backward())(cr.ones(2))


def test_a_backward_through_a_graph_built_before_the_call_is_refused():
    w = cr.ones(2, requires_grad=True)
    outside = w * 3           # built before the compiled call

    def f(x):
        (outside * x).sum().backward()

    with pytest.raises(RuntimeError, match="made before the trace started"):
        cr.compile(f)(cr.ones(2))


# --- the other traps ------------------------------------------------------------------------

def test_outputs_of_one_call_are_not_overwritten_by_the_next():
    f = cr.compile(lambda x: x * 2)
    a = f(cr.tensor([1.0]))
    b = f(cr.tensor([2.0]))
    c = f(cr.tensor([3.0]))
    assert (a.tolist(), b.tolist(), c.tolist()) == ([2.0], [4.0], [6.0])
    assert a is not b and a._array is not b._array


def test_an_argument_updated_in_place_is_updated_in_every_call():
    @cr.compile
    def bump(x):
        x.add_(1)
        return x * 2

    a, b = cr.zeros(2), cr.full((2,), 10.0)
    bump(a)
    out = bump(b)
    bump(b)
    assert a.tolist() == [1.0, 1.0] and b.tolist() == [12.0, 12.0]
    assert out.tolist() == [22.0, 22.0]


def test_batch_norm_running_statistics_are_updated_by_every_replay():
    cr.manual_seed(0)
    bn = nn.BatchNorm1d(3)
    f = cr.compile(bn)
    X = np.random.default_rng(0).standard_normal((4, 8, 3)).astype(np.float32)
    cr.manual_seed(0)
    eager = nn.BatchNorm1d(3)
    with cr.no_grad():
        for x in X:
            np.testing.assert_array_equal(f(cr.tensor(x)).numpy(), eager(cr.tensor(x)).numpy())
    np.testing.assert_array_equal(bn.running_mean.numpy(), eager.running_mean.numpy())
    np.testing.assert_array_equal(bn.running_var.numpy(), eager.running_var.numpy())
    assert bn.num_batches_tracked.item() == eager.num_batches_tracked.item() == 4


def test_a_compiled_forward_has_a_backward_equal_to_eager():
    """cr.compile(model) in an eager training loop: the replay's outputs hang on one node
    whose backward is the plan's second half (AOT style)."""
    X, Y = _data(6, 8, (4,), 3)

    def run(compiled):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.2),
                              nn.Linear(6, 3))
        opt = cr.optim.Adam(model.parameters(), lr=1e-2)
        forward = cr.compile(model) if compiled else model
        losses = []
        for x, y in zip(X, Y):
            opt.zero_grad()
            loss = F.cross_entropy(forward(cr.tensor(x)), cr.tensor(y))   # eager loss
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, [p.detach().numpy().copy() for p in model.parameters()], forward

    (el, ew, _), (cl, cw, f) = run(False), run(True)
    assert cl == el and f.captures == 1
    for a, b in zip(cw, ew):
        np.testing.assert_array_equal(a, b)


def test_the_backward_of_a_compiled_forward_reaches_its_argument():
    w = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    f = cr.compile(lambda a: (a * w).tanh())
    f(cr.ones(3, requires_grad=True) * 2)     # captured with a non-leaf argument
    w.grad = None
    x = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = x * 2
    out = f(y)
    assert repr(out.grad_fn) == "<CompiledBackward>"
    (out * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    x2 = x.detach().clone().requires_grad_(True)
    w2 = w.detach().clone().requires_grad_(True)
    ((x2 * 2 * w2).tanh() * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), x2.grad.numpy())
    np.testing.assert_array_equal(w.grad.numpy(), w2.grad.numpy())
    with pytest.raises(RuntimeError, match="second time"):
        out.sum().backward()


def test_a_compiled_output_without_a_plannable_backward_refuses_backward_clearly():
    w = cr.ones(2, requires_grad=True)
    f = cr.compile(lambda x: x * w + x * w)   # w's gradient summed by the engine's sink
    f(cr.ones(2))
    out = f(cr.ones(2))
    assert out.requires_grad
    with pytest.raises(RuntimeError, match="replay builds no graph"):
        out.sum().backward()


def test_a_forward_captured_without_grad_captures_again_with_it():
    model = nn.Linear(3, 2)
    f = cr.compile(model)
    with cr.no_grad():      # captured without grad: the replay under grad captures again
        f(cr.ones(1, 3))
    first = f(cr.ones(1, 3))
    first.sum().backward()            # the captured call is eager: its graph is real
    out = f(cr.ones(1, 3))            # a replay: the planned backward
    out.sum().backward()
    np.testing.assert_array_equal(model.weight.grad.numpy(), np.full((2, 3), 2, np.float32))
    with pytest.raises(RuntimeError, match="create_graph=True through a compiled function"):
        f(cr.ones(1, 3)).sum().backward(create_graph=True)


def test_manual_sgd_reading_grad_inside_the_step_equals_eager():
    X, Y = _data(5, 8, (4,), 3)

    def run(compiled):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))

        def step(x, y):
            model.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            with cr.no_grad():
                for p in model.parameters():
                    p.data -= 0.1 * p.grad
            return loss

        return _train(step, model, X, Y, compiled)

    _assert_replays_eager(run)


def test_clip_grad_norm_inside_the_step_equals_eager():
    X, Y = _data(5, 8, (4,), 3)

    def run(compiled):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
        opt = cr.optim.SGD(model.parameters(), lr=0.5)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            opt.step()
            return loss

        return _train(step, model, X, Y, compiled)

    _assert_replays_eager(run)


def test_a_compiled_function_called_inside_a_trace_runs_inline():
    f = cr.compile(lambda x: x * 2)
    x = cr.ones(2)
    with cr.autograd.trace() as program:
        f(x)
    assert program.ops() == ["Mul"] and f.captures == 0


def test_results_keep_their_structure():
    w = cr.ones(2, requires_grad=True)

    @cr.compile
    def f(x):
        return {"double": x * 2, "pair": (x + 1, 3), "weight": w, "x": x}

    x = cr.ones(2)
    f(x)
    y = cr.full((2,), 4.0)
    out = f(y)
    assert out["double"].tolist() == [8.0, 8.0]
    assert out["pair"][0].tolist() == [5.0, 5.0] and out["pair"][1] == 3
    assert out["weight"] is w and out["x"] is y


def test_ndarray_arguments_are_refused():
    with pytest.raises(TypeError, match="pass arrays as Tensors"):
        cr.compile(lambda a: a)(np.ones(2))


def test_the_plan_source_is_straight_line_code():
    model = nn.Linear(3, 2)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)

    @cr.compile
    def step(x):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()

    step(cr.ones(4, 3))
    [entry] = [e for entries in step.plans.values() for e in entries]
    source = entry.plan.source
    assert source.startswith("def replay(A, T):")
    assert "for " not in source and "isinstance" not in source


def test_random_numbers_drawn_inside_are_drawn_anew_by_every_replay_as_eagerly():
    def noisy(x):
        return x + cr.randn(3)
    compiled = cr.compile(noisy)
    cr.manual_seed(5)
    got = [compiled(cr.ones(3)).numpy() for _ in range(3)]   # capture, then two replays
    cr.manual_seed(5)
    want = [noisy(cr.ones(3)).numpy() for _ in range(3)]
    np.testing.assert_array_equal(np.stack(got), np.stack(want))
    assert not np.array_equal(got[1], got[2])


def test_dropout_draws_anew_at_every_replay():
    f = cr.compile(lambda x: F.dropout(x, 0.5))
    x = cr.ones(1000)
    masks = [f(x).numpy() for _ in range(3)]
    assert not np.array_equal(masks[1], masks[2])


def test_freezing_a_layer_or_changing_a_dtype_after_capture_captures_again():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    opt = cr.optim.SGD(model.parameters(), lr=0.1)

    @cr.compile
    def step(x):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()

    x = cr.ones(5, 3)
    step(x)
    step(x)
    model[0].weight.requires_grad_(False)
    before = model[0].weight.detach().numpy().copy()
    step(x)
    assert step.captures == 2 and model[0].weight.grad is None
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), before)


def _source(compiled):
    [entry] = [e for entries in compiled.plans.values() for e in entries]
    return entry.plan.source


def test_a_tensor_created_inside_is_made_anew_by_every_replay():
    @cr.compile
    def total(x):
        acc = cr.zeros(3)          # eager makes a new one at every call
        acc += x
        acc += x
        return acc

    outs = [total(cr.full((3,), float(k))).tolist() for k in (1, 2, 3)]
    assert outs == [[2.0] * 3, [4.0] * 3, [6.0] * 3]      # never accumulated across calls


def test_constants_made_inside_are_folded_once():
    @cr.compile
    def f(x):
        ramp = cr.arange(4.0)
        return x * ramp.exp()      # exp of a constant: computed when the plan is built

    x = cr.ones(4)
    f(x)
    out = f(cr.full((4,), 2.0))
    np.testing.assert_array_equal(out.numpy(), 2 * np.exp(np.arange(4.0, dtype=np.float32)))
    assert "Exp" not in _source(f) and "FOLD" in _source(f)


def test_a_repeated_subexpression_runs_once():
    @cr.compile
    def f(x):
        return x.exp() + x.exp()

    with cr.no_grad():
        f(cr.ones(3))
        out = f(cr.zeros(3))
    assert out.tolist() == [2.0, 2.0, 2.0]
    assert _source(f).count(".forward(") == 2   # one Exp, one Add


def test_an_in_place_op_on_a_graph_tensor_is_refused_while_capturing():
    w = cr.ones(3, requires_grad=True)

    def f(x):
        y = x * w
        y += 1
        return y.sum()

    with pytest.raises(CaptureError, match=r"in-place op on a tensor of the graph.*`y \+= 1`"):
        cr.compile(f)(cr.ones(3))


def test_keyword_arguments_are_guarded_and_fed():
    f = cr.compile(lambda x, *, scale=1.0, shift=None: x * scale + (0 if shift is None
                                                                   else shift))
    x = cr.ones(2)
    assert f(x, scale=2.0).tolist() == [2.0, 2.0]
    assert f(cr.full((2,), 3.0), scale=2.0).tolist() == [6.0, 6.0]
    assert f(x, scale=2.0, shift=cr.full((2,), 5.0)).tolist() == [7.0, 7.0]
    assert f(x, scale=2.0, shift=cr.full((2,), 1.0)).tolist() == [3.0, 3.0]
    assert f.captures == 2


def test_a_user_function_inside_a_compiled_step_equals_eager():
    def run(compiled):
        w = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
        opt = cr.optim.SGD([w], lr=0.01)

        def step(x):
            opt.zero_grad()
            loss = (Cube.apply(w * x)).sum()
            loss.backward()
            opt.step()
            return loss

        fn = cr.compile(step) if compiled else step
        losses = [fn(cr.tensor([1.0, 2.0, 0.5]) * k).item() for k in (1.0, 0.5, 2.0)]
        return losses, [w.detach().numpy().copy()]

    _assert_replays_eager(run)


def test_an_error_in_a_replay_is_named_as_eager_names_it():
    model = nn.Linear(3, 2)
    f = cr.compile(lambda x, y: F.cross_entropy(model(x), y))
    f(cr.ones(2, 3), cr.tensor([0, 1]))
    with pytest.raises(IndexError, match="cross_entropy: target 5 is out of bounds for 2"):
        f(cr.ones(2, 3), cr.tensor([0, 5]))


def test_setting_grad_to_none_by_hand_is_replayed():
    X, Y = _data(4, 8, (4,), 3)

    def run(compiled):
        cr.manual_seed(0)
        model = nn.Linear(4, 3)

        def step(x, y):
            for p in model.parameters():
                p.grad = None
            F.cross_entropy(model(x), y).backward()
            with cr.no_grad():
                for p in model.parameters():
                    p -= 0.1 * p.grad
        fn = cr.compile(step) if compiled else step
        for x, y in zip(X, Y):
            fn(cr.tensor(x), cr.tensor(y))
        return [p.detach().numpy().copy() for p in model.parameters()]

    for a, b in zip(run(True), run(False)):
        np.testing.assert_array_equal(a, b)


def test_assigning_data_or_a_grad_tensor_inside_is_refused():
    w = cr.ones(2, requires_grad=True)

    def set_data(x):
        w.data = x

    def set_grad(x):
        w.grad = x

    with pytest.raises(CaptureError, match="assignment to .data"):
        cr.compile(set_data)(cr.zeros(2))
    with pytest.raises(CaptureError, match="assignment of a tensor to .grad"):
        cr.compile(set_grad)(cr.zeros(2))


def test_a_compiled_step_on_another_device_equals_eager_and_stays_there():
    import strict_device as sd
    sd.register()
    try:
        X, Y = _data(4, 8, (4,), 3)

        def run(compiled, opt_cls):
            cr.manual_seed(0)
            model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3)).to(sd.NAME)
            opt = opt_cls(model.parameters(), lr=0.1)

            def step(x, y):
                opt.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
                return loss

            fn = cr.compile(step) if compiled else step
            losses = [fn(cr.tensor(x).to(sd.NAME), cr.tensor(y).to(sd.NAME)).cpu().item()
                      for x, y in zip(X, Y)]
            assert all(sd.is_strict(p._array) for p in model.parameters())
            return losses, [p.detach().cpu().numpy() for p in model.parameters()]

        for opt_cls in (cr.optim.SGD, cr.optim.Adam):
            (el, ew), (cl, cw) = run(False, opt_cls), run(True, opt_cls)
            assert cl == el
            for a, b in zip(cw, ew):
                np.testing.assert_array_equal(a, b)
    finally:
        sd.unregister()


def test_the_plans_kept_are_bounded():
    f = cr.compile(lambda x: x + 1, warn_after=10 ** 6)
    for n in range(1, f.max_signatures + 6):
        f(cr.ones(n))
    assert len(f.plans) == f.max_signatures
    assert f(cr.ones(3)).tolist() == [2.0, 2.0, 2.0]   # dropped long ago: captured again


def _small_sgd_step():
    """A seeded 4-5-3 ReLU MLP, plain SGD (lr 0.1) and its training step."""
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    opt = cr.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return model, opt, step


def test_a_parameter_list_edited_in_place_is_followed_by_the_update():
    """The fused SGD update is baked per parameter: swapping one in the optimizer's own
    list must stop the updates of the one taken out, as the eager step does."""
    X, Y = _data(5, 8, (4,), 3)

    def run(compiled):
        model, opt, step = _small_sgd_step()
        spare = nn.Linear(4, 5)
        fn = cr.compile(step) if compiled else step
        for i, (x, y) in enumerate(zip(X, Y)):
            if i == 2:  # the optimizer's list drops the first weight for the spare one
                opt.param_groups[0]["params"][0] = spare.weight
            fn(cr.tensor(x), cr.tensor(y))
        return [p.detach().numpy().copy() for p in model.parameters()]

    for a, b in zip(run(True), run(False)):
        np.testing.assert_array_equal(a, b)


def test_optimizer_hyperparameters_are_read_at_every_replay_not_frozen():
    def change(i, model, opt):
        if i == 2:
            opt.param_groups[0]["lr"] = 0.05
        if i == 4:   # momentum from now on: the plain update no longer applies
            opt.param_groups[0]["momentum"] = 0.9
            opt.param_groups[0]["weight_decay"] = 1e-3

    _assert_sgd_steps_replay_eager(6, change)


def _assert_sgd_steps_replay_eager(n, change):
    """``n`` steps of ``_small_sgd_step``, ``change(i, model, opt)`` before each: compiled
    (one capture) and eager give the same losses, weights and momentum buffers, bit for bit."""
    X, Y = _data(n, 8, (4,), 3)

    def run(compiled):
        model, opt, step = _small_sgd_step()
        fn = cr.compile(step) if compiled else step
        losses = []
        for i, (x, y) in enumerate(zip(X, Y)):
            change(i, model, opt)
            losses.append(fn(cr.tensor(x), cr.tensor(y)).item())
        state = [s["momentum_buffer"].numpy().copy() for s in opt.state.values()]
        return losses, [p.detach().numpy().copy() for p in model.parameters()], state, fn

    (el, ew, es, _), (cl, cw, cs, fn) = run(False), run(True)
    assert cl == el and fn.captures == 1
    for a, b in zip(cw + cs, ew + es):
        np.testing.assert_array_equal(a, b)


def test_a_parameter_given_a_new_array_is_checked_again_and_read_afresh():
    """The guard checks a tensor through the array it was captured with: a new array of
    the same shape (``p.data = ...``) keeps the plan and is what the replay reads; a new
    array of another shape captures again."""
    def change(i, model, opt):
        if i == 2:
            model[0].weight.data = model[0].weight.detach() * 0.5

    _assert_sgd_steps_replay_eager(4, change)
    X, Y = _data(1, 8, (4,), 3)
    model, opt, step = _small_sgd_step()
    fn = cr.compile(step)
    fn(cr.tensor(X[0]), cr.tensor(Y[0]))
    model[2].bias.data = cr.zeros(3, dtype=cr.float64)
    assert not next(iter(fn.plans.values()))[0].modules.holds()


def test_the_signature_of_plain_tensors_equals_the_general_one():
    """``signature`` has a path for calls of plain Tensors alone; its key is the general
    path's (a Parameter, a number or a keyword argument takes the general one)."""
    from chainrule.static.guards import signature  # noqa: PLC0415
    x, y = cr.randn(3, 4), cr.tensor([1, 2, 0])
    p = nn.Parameter(cr.randn(3, 4))
    plain = signature((x, y), {})[0]
    assert plain == signature((x, y, 1.5), {})[0][:-1]
    assert signature((x, x), {})[0][-1] == ("aliases", (0, 0))
    assert signature((x, y, x), {})[0][-1] == ("aliases", (0, 1, 0))
    assert signature((p, y), {})[0][2:] == plain[2:] and signature((p, y), {})[1][0] is p
    assert signature((x,), {"t": y})[0][:2] == plain[:2]
    assert signature((x, y), {})[1] == [x, y]


def test_the_fused_sgd_step_of_float32_and_float64_parameters_equals_eager():
    """The plain SGD step writes ``lr * grad`` into buffers of the plan (one per dtype):
    parameters of two dtypes in one optimizer, and the gradients a user kept, stay the
    eager ones."""
    X, Y = _data(4, 8, (4,), 3)

    def run(compiled):
        cr.manual_seed(0)
        a, b = nn.Linear(4, 5), nn.Linear(4, 5).double()
        opt = cr.optim.SGD([*a.parameters(), *b.parameters()], lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(a(x) + b(x.double()).float(), y)
            loss.backward()
            opt.step()
            return loss

        fn = cr.compile(step) if compiled else step
        losses, kept = [], []
        for x, y in zip(X, Y):
            losses.append(fn(cr.tensor(x), cr.tensor(y)).item())
            kept.append([p.grad for p in opt.param_groups[0]["params"]])
        grads = [g.numpy().copy() for gs in kept for g in gs]
        return losses, [p.detach().numpy().copy() for p in opt.param_groups[0]["params"]] \
            + grads

    _assert_replays_eager(run)
