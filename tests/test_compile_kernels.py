"""The plan's kernels (static/kernels.py) and replay fast paths: the eager numbers, bit for bit,
and the eager errors, on the inputs where a shortcut could go wrong (nan, -0, ignored or bad
class targets, logits still in use, grad mode)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn


def _bits(a):
    return np.ascontiguousarray(a).view(np.uint32)


def test_relu_backward_passes_the_eager_gradient_bit_for_bit_nan_and_signed_zero_included():
    c = cr.tensor([[-2.0, 3.0, -1.5, 4.0, -0.5, 1.0]])   # negative upstream gradients: -0
    f_values = [[np.nan, -0.0, 0.0, -1.0, 2.0, 5.0], [1.0, np.nan, -3.0, 0.0, -0.0, 7.0],
                [-1.0, 2.0, np.nan, np.nan, 0.5, -0.0]]

    def step(x):
        loss = (F.relu(x) * c).sum()
        loss.backward()
        return loss

    compiled = cr.compile(step)
    for values in f_values:
        xe = cr.tensor([values], requires_grad=True)
        xc = cr.tensor([values], requires_grad=True)
        step(xe)
        compiled(xc)
        np.testing.assert_array_equal(_bits(xc.grad.numpy()), _bits(xe.grad.numpy()))
    source = next(iter(compiled.plans.values()))[0].plan.source
    assert " != 0)" in source              # the one-pass mask of the kernel ran


def _mlp_step(ignore_index=-100):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = cr.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y, ignore_index=ignore_index)
        loss.backward()
        opt.step()
        return loss
    return model, step


@pytest.mark.parametrize("ignore_index", [-100, -1])
def test_ignored_targets_in_a_replay_give_the_eager_numbers(ignore_index):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 8, 4)).astype(np.float32)
    Y = rng.integers(0, 3, (6, 8))
    Y[1, [0, 5]] = ignore_index         # captured on a plain batch, replayed on these
    Y[4, :] = ignore_index              # every target ignored: nan, as eager
    runs = []
    for compiled in (False, True):
        model, step = _mlp_step(ignore_index)
        fn = cr.compile(step) if compiled else step
        losses = [fn(cr.tensor(x), cr.tensor(y)).item() for x, y in zip(X, Y)]
        runs.append((losses, [p.detach().numpy().copy() for p in model.parameters()]))
    (el, ew), (cl, cw) = runs
    np.testing.assert_array_equal(np.array(cl), np.array(el))
    assert np.isnan(cl[4])
    for a, b in zip(cw, ew):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", [-1, 3, 2**40, -100 - 1])
def test_a_bad_target_in_a_replay_raises_the_eager_error(bad):
    model, step = _mlp_step()
    compiled = cr.compile(step)
    x = cr.ones(4, 4)
    compiled(x, cr.tensor([0, 1, 2, 0]))
    compiled(x, cr.tensor([0, 1, 2, 1]))                        # a replay
    y = cr.tensor([0, bad, 2, 0])
    with pytest.raises(IndexError) as eager_error:
        F.cross_entropy(model(x), y)
    with pytest.raises(IndexError, match=f"cross_entropy: target {bad} is out of bounds"):
        compiled(x, y)
    assert str(eager_error.value).startswith(f"cross_entropy: target {bad} is out of bounds")
    assert compiled.captures == 1                               # refused by the replay


def test_logits_returned_as_well_are_not_overwritten_by_the_loss():
    cr.manual_seed(0)
    model = nn.Linear(4, 3)

    def f(x, y):
        logits = model(x)
        return F.cross_entropy(logits, y), logits

    compiled = cr.compile(f)
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = cr.tensor(rng.standard_normal((5, 4)).astype(np.float32))
        y = cr.tensor(rng.integers(0, 3, 5))
        with cr.no_grad():
            (le, ze), (lc, zc) = f(x, y), compiled(x, y)
        np.testing.assert_array_equal(zc.numpy(), ze.numpy())
        assert lc.item() == le.item()


def test_an_array_only_replay_leaves_grad_mode_and_one_with_a_user_function_too():
    model, step = _mlp_step()
    compiled = cr.compile(step)
    x, y = cr.ones(4, 4), cr.tensor([0, 1, 2, 0])
    compiled(x, y)
    compiled(x, y)
    entry = next(iter(compiled.plans.values()))[0]
    assert entry.plan.array_only
    assert cr.is_grad_enabled()

    class Double(cr.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    w = cr.ones(3, requires_grad=True)

    def g(a):
        loss = Double.apply(a * w).sum()
        loss.backward()
        return loss

    cg = cr.compile(g)
    for _ in range(3):
        cg(cr.ones(3))
    assert not next(iter(cg.plans.values()))[0].plan.array_only
    np.testing.assert_array_equal(w.grad.numpy(), np.full(3, 6.0, np.float32))
    assert cr.is_grad_enabled()


@pytest.mark.parametrize("rows", [
    [[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]],                              # the common case
    [[np.inf, 1.0, 2.0], [0.5, -1.0, 2.0]],                           # a row with +inf
    [[-np.inf, -np.inf, -np.inf], [0.5, -1.0, 2.0]],                  # a row of -inf
    [[np.nan, 1.0, 2.0], [0.5, -1.0, 2.0]],                           # a nan
    [[3e20, 1e20, -2e20], [0.5, -1.0, 2.0]],                          # maxima whose squares overflow
])
def test_the_loss_kernel_shifts_non_finite_rows_as_eager_does(rows):
    def f(z, y):
        loss = F.cross_entropy(z, y)
        loss.backward()
        return loss

    compiled = cr.compile(f)
    y = cr.tensor([2, 0])
    warm = cr.tensor([[0.0, 1.0, 2.0], [1.0, 0.0, 0.0]], requires_grad=True)
    compiled(warm, y)                                                 # captured on finite rows
    ze, zc = (cr.tensor(rows, requires_grad=True) for _ in range(2))
    with np.errstate(all="ignore"):
        le, lc = f(ze, y), compiled(zc, y)
    np.testing.assert_array_equal(lc.detach().numpy(), le.detach().numpy())
    np.testing.assert_array_equal(zc.grad.numpy(), ze.grad.numpy())


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "uint64"])
@pytest.mark.parametrize("logits", ["linear", "transposed"])
def test_the_loss_picks_the_target_entries_as_eager_for_every_target_dtype(dtype, logits):
    """Logits made by a Linear (C-contiguous) are picked by flat indices into them, read by
    the forward and written by the backward; other logits (a transposed product) and
    uint64 targets by (row, target) pairs: every way gives the eager numbers."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((5, 6, 4)).astype(np.float32)
    Y = rng.integers(0, 3, (5, 6)).astype(dtype)
    runs = []
    for compiled in (False, True):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        opt = cr.optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            z = model(x) if logits == "linear" else (model[2].weight @ model[:2](x).T).T
            loss = F.cross_entropy(z, y)
            loss.backward()
            opt.step()
            return loss

        fn = cr.compile(step) if compiled else step
        losses = [fn(cr.tensor(x), cr.from_numpy(y)).item() for x, y in zip(X, Y)]
        runs.append((losses, [p.detach().numpy().copy() for p in model.parameters()], fn))
    (el, ew, _), (cl, cw, fn) = runs
    assert cl == el
    for a, b in zip(cw, ew):
        np.testing.assert_array_equal(a, b)
    source = next(iter(fn.plans.values()))[0].plan.source
    flat = logits == "linear" and dtype != "uint64"
    assert ("] -= 1" in source) and (".reshape(-1)" in source) == flat
