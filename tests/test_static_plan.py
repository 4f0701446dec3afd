"""Plan: a program traced with backward="vjp" replays the eager step, bit for bit."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.static import Plan


def _model(dropout=0.3, batchnorm=False):
    cr.manual_seed(0)
    layers = [nn.Linear(4, 8)]
    if batchnorm:
        layers.append(nn.BatchNorm1d(8))
    layers += [nn.ReLU(), nn.Dropout(dropout), nn.Linear(8, 3)]
    m = nn.Sequential(*layers)
    return m, cr.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)


def _step(m, opt, x, y):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(m(x), y)
    loss.backward()
    opt.step()
    return loss


@pytest.mark.parametrize("batchnorm", [False, True])
def test_a_replayed_training_step_equals_the_eager_one_bit_for_bit(batchnorm):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 16, 4)).astype(np.float32)
    Y = rng.integers(0, 3, (6, 16))
    m, opt = _model(batchnorm=batchnorm)
    eager = [_step(m, opt, cr.tensor(X[i]), cr.tensor(Y[i])).item() for i in range(6)]
    eager_state = {k: v.numpy().copy() for k, v in m.state_dict().items()}

    m, opt = _model(batchnorm=batchnorm)
    x, y = cr.tensor(X[0]), cr.tensor(Y[0])
    with cr.autograd.trace(backward="vjp") as program:
        loss = _step(m, opt, x, y)
    plan = Plan(program, [program.value(x), program.value(y)], [program.value(loss)])
    replayed = [loss.item()] + [float(plan.run([X[i], Y[i]])[0]) for i in range(1, 6)]
    assert replayed == eager  # dropout drawn anew, momentum, running statistics
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), eager_state[k], err_msg=k)


def test_vjp_trace_names_each_rule_and_where_gradients_go():
    w = cr.ones(2, 3, requires_grad=True)
    b = cr.zeros(3, requires_grad=True)
    x = cr.ones(4, 2)
    with cr.autograd.trace(backward="vjp") as program:
        (x @ w + b).tanh().sum().backward()
    text = str(program)
    assert "VJP[Tanh]" in text and "VJP[MatMul]" in text
    assert "SumToShape" in text      # b's gradient summed over the batch
    assert text.count("AccumulateGrad") == 2
    vjps = [s for s in program if s.op == "VJP"]
    assert all(s.of is not None and s.of.node is not None for s in vjps)


def test_gradients_summed_over_paths_are_a_step():
    x = cr.tensor(3.0, requires_grad=True)
    with cr.autograd.trace(backward="vjp") as program:
        y = x * 1
        (y * y + y).backward()
    assert "AddGrad" in program.ops()
    x.grad = None
    Plan(program, [], []).run([])
    assert x.grad.item() == 7.0


def test_the_plan_only_runs_what_its_outputs_need():
    x = cr.ones(3)
    with cr.autograd.trace() as program:
        a = x * 2
        b = x.exp()   # not wanted
    plan = Plan(program, [program.value(x)], [program.value(a)])
    assert [s.op for s in plan.steps] == ["Mul"]
    [out] = plan.run([np.full(3, 5.0, np.float32)])
    np.testing.assert_array_equal(out, np.full(3, 10.0, np.float32))
    assert b is not None


def test_a_step_it_cannot_replay_is_refused_loudly():
    x = cr.ones(3)
    with cr.autograd.trace() as program:
        cr.autograd.tracing.note("SomethingElse", [x])
    with pytest.raises(RuntimeError, match="no replay for the traced step SomethingElse"):
        Plan(program, [], []).run([])
