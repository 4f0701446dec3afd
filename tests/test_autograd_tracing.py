"""trace(): every op that runs is recorded, with its constants by name: the graph as data."""

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.autograd import trace
from custom_functions import Cube


def _mlp_step():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(),
                          nn.Dropout(0.5), nn.Linear(3, 2))
    x, y = cr.randn(5, 2, 2), cr.tensor([0, 1, 0, 1, 1])
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    with trace() as program:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return model, program


def test_the_program_of_a_two_layer_mlp_step_prints_every_op():
    model, program = _mlp_step()
    text = str(program)
    print(text)
    ops = program.ops()
    # Forward: the Flatten of an input that requires no grad is a step too.
    # add_: num_batches_tracked; the update of the optimizer comes last.
    assert ops[:5] == ["zero_grad", "Flatten", "Linear", "add_", "BatchMoments"]
    assert ops[-1] == "SGD.step" and "lr=0.1" in str(program.steps[-1])
    for op in ["zero_grad", "UpdateRunningStats", "BatchNormTrain", "Relu", "DropoutMask", "Mul",
               "CheckClassTarget", "HardCrossEntropy", "Backward", "AccumulateGrad", "SGD.step"]:
        assert op in ops, op
    # The backward pass is recorded op by op, after the forward.
    assert ops.index("Backward") > ops.index("HardCrossEntropy")
    assert ops.count("AccumulateGrad") == len(list(model.parameters()))
    assert "HardCrossEntropy(%" in text and "reduction='mean'" in text
    params = [v for v in program.inputs if v.kind == "parameter"]
    assert [v.shape for v in params[:2]] == [(3, 4), (3,)]


def test_constants_are_recorded_by_name():
    x = cr.ones(4, 3)
    with trace() as program:
        (x * 2).sum(dim=1, keepdim=True)
    step = program.steps[-1]
    assert step.op == "Sum" and step.attrs == {"dim": (1,), "keepdim": True}
    assert "Sum(%1, dim=(1,), keepdim=True)" in str(program)
    assert step.outputs[0].shape == (4, 1) and step.outputs[0].dtype == np.float32


def test_tracing_is_off_outside_the_block_and_per_thread():
    import threading

    seen = []
    with trace() as program:
        t = threading.Thread(target=lambda: seen.append(cr.autograd.tracing.is_tracing()))
        t.start()
        t.join()
        cr.ones(2) + 1
    assert seen == [False]
    n = len(program)
    cr.ones(2) + 1
    assert len(program) == n == 1


def test_a_custom_function_is_one_step():
    x = cr.ones(3, requires_grad=True)
    with trace() as program:
        Cube.apply(x)
    assert program.ops() == ["Cube"]


def test_a_traced_step_computes_what_an_untraced_one_does():
    def step(traced):
        cr.manual_seed(1)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
        x, y = cr.randn(6, 4), cr.tensor([0, 1, 2, 0, 1, 2])
        loss = nn.functional.cross_entropy(model(x), y)
        if traced:
            with trace():
                loss.backward()
        else:
            loss.backward()
        return [p.grad.numpy() for p in model.parameters()]

    for a, b in zip(step(True), step(False)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_ops_of_tensors_without_grad_are_traced_and_the_tracing_count_returns_to_zero():
    # Op.apply skips its per-thread read while no thread traces (grad_mode.tracing_threads):
    # inside a trace the ops of plain tensors must still be recorded, and afterwards the
    # count must be back at zero, also when the traced code raised.
    from chainrule.autograd import grad_mode
    a, b = cr.ones(3), cr.ones(3)
    with trace() as program:
        with cr.no_grad():
            c = a + b
    assert [s.op for s in program.steps] == ["Add"] and c.grad_fn is None
    assert grad_mode.tracing_threads[0] == 0
    try:
        with trace():
            raise KeyError("inside")
    except KeyError:
        pass
    assert grad_mode.tracing_threads[0] == 0


def test_a_trace_in_one_thread_records_nothing_of_another():
    import threading
    from chainrule.autograd import grad_mode
    started, done = threading.Event(), threading.Event()
    seen = {}

    def traced():
        with trace() as program:
            started.set()
            done.wait()
        seen["steps"] = [s.op for s in program.steps]

    t = threading.Thread(target=traced)
    t.start()
    started.wait()
    assert grad_mode.tracing_threads[0] == 1
    c = cr.ones(2) * 3          # this thread does not trace: nothing of it goes there
    done.set()
    t.join()
    assert seen["steps"] == [] and c.grad_fn is None
    assert grad_mode.tracing_threads[0] == 0
