"""cr.static.Graph: placeholders, variables, the derivative graph, run, updates, errors.

The derivative graph's values are checked against the eager engine (``cr.autograd.grad``,
``create_graph=True`` for second derivatives) on several feeds of different batch sizes, and
against central differences in float64.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

BATCHES = (1, 5, 64)


def _rng(seed=0):
    return np.random.default_rng(seed)


# --- graphs written once, run eagerly and statically ----------------------------------------
# Each case: (placeholder specs, variable initial values, loss(inputs, variables)).

def _broadcasting(x, v):
    return ((x["x"] * v["w"] + v["b"]) ** 2).sum()


def _paths_summed(x, v):
    y = x["x"] * v["w"]          # w reaches the loss along three paths, y along two
    return (y * y + y * v["w"]).mean() + v["w"].sum()


def _tanh_mlp(x, v):
    h = (x["x"] @ v["W1"] + v["b1"]).tanh()
    return F.cross_entropy(h @ v["W2"] + v["b2"], x["label"])


def _cross_entropy(x, v):
    return F.cross_entropy(x["x"] @ v["W"], x["label"], reduction="sum")


def _neuron(x, v):
    y_hat = (v["alpha"] * x["x1"] + v["beta"] * x["x2"]).sigmoid()
    return -(x["y"] * y_hat.log() + (1 - x["y"]) * (1 - y_hat).log()).mean()


CASES = {
    "broadcasting": ({"x": ((None, 3), np.float32)},
                     {"w": (3,), "b": (1,)}, _broadcasting),
    "paths summed": ({"x": ((None, 4), np.float32)}, {"w": (4,)}, _paths_summed),
    "tanh MLP": ({"x": ((None, 2), np.float32), "label": ((None,), np.int64)},
                 {"W1": (2, 8), "b1": (8,), "W2": (8, 3), "b2": (3,)}, _tanh_mlp),
    "cross_entropy": ({"x": ((None, 5), np.float32), "label": ((None,), np.int64)},
                      {"W": (5, 4)}, _cross_entropy),
    "neuron": ({"x1": ((None,), np.float32), "x2": ((None,), np.float32),
                "y": ((None,), np.float32)}, {"alpha": (), "beta": ()}, _neuron),
}


def _initial(shapes, seed=1):
    rng = _rng(seed)
    return {k: (0.5 * rng.standard_normal(s)).astype(np.float32) for k, s in shapes.items()}


def _feed(specs, n, seed):
    rng = _rng(seed)
    out = {}
    for k, (shape, dtype) in specs.items():
        concrete = tuple(n if d is None else d for d in shape)
        if np.dtype(dtype).kind == "i":
            out[k] = rng.integers(0, 3, concrete).astype(dtype)
        elif k == "y":
            out[k] = rng.integers(0, 2, concrete).astype(dtype)
        else:
            out[k] = rng.standard_normal(concrete).astype(dtype)
    return out


def _build(case):
    specs, shapes, loss_fn = CASES[case]
    g = cr.static.Graph()
    with g:
        xs = {k: g.placeholder(k, shape, dtype) for k, (shape, dtype) in specs.items()}
        vs = {k: g.variable(k, a) for k, a in _initial(shapes).items()}
        loss = loss_fn(xs, vs)
        grads = g.gradients(loss, list(vs.values()))
    return g, xs, vs, loss, grads


def _eager(case, feed):
    specs, shapes, loss_fn = CASES[case]
    vs = {k: nn.Parameter(cr.tensor(a)) for k, a in _initial(shapes).items()}
    loss = loss_fn({k: cr.tensor(a) for k, a in feed.items()}, vs)
    return loss, cr.autograd.grad(loss, list(vs.values()))


@pytest.mark.parametrize("case", CASES)
def test_the_derivative_graph_gives_the_eager_gradients_on_every_batch_size(case):
    g, xs, vs, loss, grads = _build(case)
    for seed, n in enumerate(BATCHES):
        feed = _feed(CASES[case][0], n, seed)
        got_loss, *got = g.run([loss, *grads], feed={xs[k]: a for k, a in feed.items()})
        want_loss, want = _eager(case, feed)
        # The same rules on the same arrays, gradients summed in the same order: bit for bit.
        np.testing.assert_array_equal(got_loss, want_loss.detach().numpy(),
                                      err_msg=f"{case}, n={n}")
        for name, a, b in zip(vs, got, want):
            np.testing.assert_array_equal(a, b.numpy(), err_msg=f"{case}: d/d{name}, n={n}")


def test_a_leaf_reached_along_several_paths_gets_one_sum_step():
    g, xs, vs, loss, grads = _build("paths summed")
    ops = g.program.ops()
    assert ops.count("AddGrad") >= 2   # w: three paths, y: two
    feed = {xs["x"]: _feed(CASES["paths summed"][0], 7, 3)["x"]}
    x = feed[xs["x"]]
    w = vs["w"].detach().numpy()
    # d/dw [mean(x² w² + x w²) + sum(w)] = sum over the batch of (2 x² w + 2 x w) / x.size + 1
    expected = (2 * x ** 2 * w + 2 * x * w).sum(axis=0) / x.size + 1
    np.testing.assert_allclose(g.run(grads[0], feed=feed), expected, rtol=1e-5)


# --- second (and third) derivatives, on feeds the graph never saw -------------------------------

def _second_order_cases():
    return {
        "x**3": lambda x, v: (v * x ** 3).sum(),
        "sigmoid": lambda x, v: (x * v).sigmoid().sum(),
        "tanh": lambda x, v: (x * v).tanh().sum(),
        "relu mask": lambda x, v: ((x * v).relu() ** 2).sum(),
    }


@pytest.mark.parametrize("case", list(_second_order_cases()))
def test_second_derivatives_are_right_on_new_feeds(case):
    fn = _second_order_cases()[case]
    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", (None,), requires_grad=True)
        v = g.variable("v", np.float32(1.5))
        y = fn(x, v)
        dx, dv = g.gradients(y, [x, v])
        d2x = g.gradients(dx, x)            # d/dx sum(dy/dx): the Hessian's row sums
        dxv = g.gradients((dx * dx).sum(), v)
    for seed, n in enumerate((3, 11, 64)):
        a = _rng(seed).standard_normal(n).astype(np.float32)
        got = g.run([dx, d2x, dxv], feed={x: a})
        xt = cr.tensor(a, requires_grad=True)
        vt = cr.tensor(np.float32(1.5), requires_grad=True)
        (ex,) = cr.autograd.grad(fn(xt, vt), xt, create_graph=True)
        (e2,) = cr.autograd.grad(ex.sum(), xt, retain_graph=True)
        (exv,) = cr.autograd.grad((ex * ex).sum(), vt)
        for name, got_a, want in (("dx", got[0], ex), ("d2x", got[1], e2), ("dxv", got[2], exv)):
            np.testing.assert_allclose(got_a, want.detach().numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{case}: {name}, n={n}")


def test_second_derivatives_through_a_tanh_mlp_match_create_graph():
    rng = _rng(4)
    init = {"W1": rng.standard_normal((3, 6)).astype(np.float32) * 0.7,
            "b1": rng.standard_normal(6).astype(np.float32) * 0.1,
            "W2": rng.standard_normal((6, 2)).astype(np.float32) * 0.7}

    def loss_of(x, y, p):
        h = (x @ p["W1"] + p["b1"]).tanh()
        return F.cross_entropy(h @ p["W2"], y)

    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", (None, 3))
        y = g.placeholder("y", (None,), cr.int64)
        p = {k: g.variable(k, a) for k, a in init.items()}
        loss = loss_of(x, y, p)
        grads = g.gradients(loss, list(p.values()))
        penalty = sum((d * d).sum() for d in grads)       # |dL/dW|², a gradient penalty
        second = g.gradients(penalty, list(p.values()))
    for seed, n in enumerate((4, 33)):
        r = _rng(10 + seed)
        X, Y = r.standard_normal((n, 3)).astype(np.float32), r.integers(0, 2, n)
        got = g.run(second, feed={x: X, y: Y})
        pt = {k: nn.Parameter(cr.tensor(a)) for k, a in init.items()}
        eg = cr.autograd.grad(loss_of(cr.tensor(X), cr.tensor(Y), pt), list(pt.values()),
                              create_graph=True)
        want = cr.autograd.grad(sum((d * d).sum() for d in eg), list(pt.values()))
        for k, a, b in zip(init, got, want):
            np.testing.assert_allclose(a, b.numpy(), rtol=2e-4, atol=1e-6, err_msg=f"{k}, n={n}")


def test_third_derivative_of_x_to_the_fourth():
    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", (None,), requires_grad=True)
        d1 = g.gradients((x ** 4).sum(), x)
        d2 = g.gradients(d1.sum(), x)
        d3 = g.gradients(d2.sum(), x)
    a = np.array([1.0, -2.0, 0.5], np.float32)
    got = g.run([d1, d2, d3], feed={x: a})
    np.testing.assert_allclose(got[0], 4 * a ** 3, rtol=1e-6)
    np.testing.assert_allclose(got[1], 12 * a ** 2, rtol=1e-6)
    np.testing.assert_allclose(got[2], 24 * a, rtol=1e-6)


def test_static_gradients_match_central_differences_in_float64():
    g = cr.static.Graph()
    rng = _rng(5)
    with g:
        x = g.placeholder("x", (None, 3), cr.float64)
        W = g.variable("W", rng.standard_normal((3, 4)))
        b = g.variable("b", rng.standard_normal(4))
        loss = ((x @ W + b).tanh() * (x @ W).sigmoid()).mean() + (W ** 2).sum() * 0.01
        dW, db = g.gradients(loss, [W, b])
    X = rng.standard_normal((9, 3))
    feed = {x: X}
    got = g.run({"W": dW, "b": db}, feed=feed)
    eps = 1e-6
    for name, var in (("W", W), ("b", b)):
        arr = var._array
        numeric = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            arr[i] = old + eps
            up = g.run(loss, feed=feed)
            arr[i] = old - eps
            down = g.run(loss, feed=feed)
            arr[i] = old
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(got[name], numeric, rtol=1e-6, atol=1e-9, err_msg=name)


# --- run: only what the fetches need, variables kept, structure of the results ------------------

class _Counted(cr.autograd.Function):
    calls = 0

    @staticmethod
    def forward(ctx, x):
        _Counted.calls += 1
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * 2


def test_run_evaluates_only_what_the_fetches_need():
    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", (None,))
        w = g.variable("w", np.ones(1, np.float32))
        loss = (x * w).sum()
        other = _Counted.apply(x).exp()      # a branch the loss does not need
        (dw,) = g.gradients(loss, [w])
        train = g.assign_sub(w, 0.5 * dw)
    _Counted.calls = 0
    feed = {x: np.arange(3, dtype=np.float32)}
    assert g.run(loss, feed=feed) == 3.0
    assert _Counted.calls == 0
    assert [s.op for s in g.steps_for(loss)] == ["Mul", "Sum"]
    assert "VJP" not in [s.op for s in g.steps_for(loss)]
    assert "sub_" not in [s.op for s in g.steps_for(dw)]   # a gradient does not update
    g.run(other, feed=feed)
    assert _Counted.calls == 1
    np.testing.assert_array_equal(g.run(dw, feed=feed), [3.0])
    assert w.item() == 1.0                                 # fetching dw changed nothing
    assert g.run(train, feed=feed) is None
    assert w.item() == -0.5                                # 1 - 0.5 * 3


def test_variables_keep_their_values_between_runs_and_results_are_fresh_arrays():
    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", ())
        w = g.variable("w", 2.0)
        y = w * x
        inc = g.assign_add(w, x)
    first = g.run(w)
    first[...] = 100.0                      # a result is a copy, not the variable
    assert g.run(w) == 2.0
    for _ in range(3):
        g.run(inc, feed={x: 1.0})
    assert g.run(w) == 5.0
    assert g.run(y, feed={"x": 2.0}) == 10.0
    out = g.run({"y": y, "both": [w, y]}, feed={x: 1.0})
    assert out["y"] == 5.0 and out["both"][0] == 5.0 and isinstance(out["both"], list)
    assert isinstance(g.run((w, y), feed={x: 1.0}), tuple)


def test_a_modules_parameters_are_variables_and_train_in_the_graph():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", (None, 2))
        y = g.placeholder("y", (None,), cr.int64)
        for name, p in model.named_parameters():
            g.variable(name, p)               # shared, not copied
        loss = F.cross_entropy(model(x), y)
        train = g.minimize(loss, lr=0.5)
    X, Y = cr.data.datasets.two_clouds(256, distance=4.0, seed=0)
    X, Y = X.numpy().astype(np.float32), Y.numpy().astype(np.int64)
    before = g.run(loss, feed={x: X, y: Y})
    for i in range(60):
        batch = slice((i * 32) % 256, (i * 32) % 256 + 32)
        g.run(train, feed={x: X[batch], y: Y[batch]})
    after = g.run(loss, feed={x: X, y: Y})
    assert after < before / 3
    eager = F.cross_entropy(model(cr.tensor(X)), cr.tensor(Y)).item()   # the module trained
    assert eager == pytest.approx(float(after), rel=1e-6)


def test_training_by_fetching_gradients_and_updating_outside():
    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", (None,))
        w = g.variable("w", 0.0)
        loss = ((w - x) ** 2).mean()
        dw = g.gradients(loss, w)
    data = np.array([3.0, 5.0], np.float32)
    for _ in range(100):
        grad = g.run(dw, feed={x: data})
        with cr.no_grad():
            w -= 0.1 * float(grad)            # outside the graph, in place: the graph sees it
    assert w.item() == pytest.approx(4.0, abs=1e-4)


# --- errors ------------------------------------------------------------------------------------

def _small():
    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", (None, 2))
        lab = g.placeholder("lab", (None,), cr.int64)
        w = g.variable("w", np.ones((2, 3), np.float32))
        loss = F.cross_entropy(x @ w, lab)
    return g, x, lab, loss


def test_feeding_errors_name_the_placeholder():
    g, x, lab, loss = _small()
    X, L = np.ones((4, 2), np.float32), np.zeros(4, np.int64)
    with pytest.raises(ValueError, match="placeholder 'lab' .* not fed"):
        g.run(loss, feed={x: X})
    with pytest.raises(TypeError, match="placeholder 'x' has dtype chainrule.float32, fed an "
                                        "array of dtype chainrule.float64"):
        g.run(loss, feed={x: X.astype(np.float64), lab: L})
    with pytest.raises(ValueError, match=r"placeholder 'x' has shape \(None, 2\) \(rank 2\), "
                                         r"fed an array of shape \(4,\)"):
        g.run(loss, feed={x: np.ones(4, np.float32), lab: L})
    with pytest.raises(ValueError, match="dimension 1 must be 2"):
        g.run(loss, feed={x: np.ones((4, 3), np.float32), lab: L})
    with pytest.raises(ValueError, match="feed key 'z' is not a placeholder of this graph"):
        g.run(loss, feed={"z": X})
    with pytest.raises(ValueError, match="fetch 0 .* is not a value of this graph"):
        g.run(cr.ones(2))
    with pytest.raises(ValueError, match="Graph.run: .*lab: \\(3,\\)"):   # batch sizes disagree
        g.run(loss, feed={x: X, lab: np.zeros(3, np.int64)})
    assert np.isfinite(g.run(loss, feed={"x": X, "lab": L}))


def test_building_errors():
    g = cr.static.Graph()
    x = g.placeholder("x", (None,))
    with pytest.raises(RuntimeError, match="inside `with graph:`"):
        g.gradients(x.sum(), x)
    with g:
        with pytest.raises(ValueError, match="does not require grad .*requires_grad=True"):
            g.gradients(x.sum(), x)
        with pytest.raises(ValueError, match="already has a value named 'x'"):
            g.variable("x", 1.0)
        with pytest.raises(ValueError, match="stand-in size"):
            g.placeholder("bad", (None, 37))
        w = g.variable("w", 1.0)
    outside = w * 2                          # an op run outside the graph
    with pytest.raises(ValueError, match="goes through mul, an op computed outside"):
        with g:
            g.gradients(outside * 1, w)
    with pytest.raises(ValueError, match="ys.0. .* is not a value of this graph"):
        with g:
            g.gradients(cr.tensor(1.0, requires_grad=True), w)


def test_updates_done_while_building_are_refused():
    g = cr.static.Graph()
    with pytest.raises(RuntimeError, match="sub_ ran while the graph was being built"):
        with g:
            w = g.variable("w", 1.0)
            with cr.no_grad():
                w -= 0.1
    g = cr.static.Graph()
    with pytest.raises(RuntimeError, match="AccumulateGrad ran while the graph"):
        with g:
            x = g.placeholder("x", (None,))
            w = g.variable("w", 1.0)
            (w * x).sum().backward()


def test_a_constant_made_from_the_stand_in_size_is_refused_on_other_sizes():
    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", (None, 3))
        mean_by_hand = x.sum() / x.shape[0]
        flat = x.reshape(x.shape[0] * 3)
        good = x.mean() + x.reshape(-1, 3).sum()
    with pytest.raises(RuntimeError, match=r"Div \(step \d+\) has the constant b=37, made from "
                                           r"the stand-in size 37"):
        g.run(mean_by_hand, feed={x: np.ones((8, 3), np.float32)})
    with pytest.raises(RuntimeError, match="Reshape .* stand-in size"):
        g.run(flat, feed={x: np.ones((8, 3), np.float32)})
    assert g.run(mean_by_hand, feed={x: np.ones((37, 3), np.float32)}) == 3.0  # it fits there
    assert g.run(good, feed={x: np.ones((8, 3), np.float32)}) == 25.0


def test_a_constant_made_from_a_placeholders_values_is_refused():
    g = cr.static.Graph()
    with g:
        p = g.placeholder("p", (4,))
        y = g.placeholder("y", (4,))
        loss = (p * y._array).sum()             # an array read from a placeholder by hand
        bce = F.binary_cross_entropy(p, y)      # reads its target as a tensor: follows the feed
    feed = {p: np.full(4, 0.5, np.float32), y: np.ones(4, np.float32)}
    with pytest.raises(RuntimeError, match="stand-in values"):
        g.run(loss, feed=feed)
    assert g.run(bce, feed=feed) == F.binary_cross_entropy(cr.tensor(feed[p]),
                                                           cr.tensor(feed[y])).item()


def _bn_model():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def test_batch_norm_trains_in_the_graph_as_eagerly_with_its_running_statistics():
    model = _bn_model()
    g = cr.static.Graph()
    with pytest.warns(UserWarning, match="UpdateRunningStats .* stand-in values"):
        with g:
            x = g.placeholder("x", (16, 3))
            y = g.placeholder("y", (16,), cr.int64)
            loss = F.cross_entropy(model(x), y)
            train = g.minimize(loss, 0.1, variables=list(model.parameters()))
    model[1].reset_running_stats()
    rng = _rng(7)
    batches = [(rng.standard_normal((16, 3)).astype(np.float32), rng.integers(0, 2, 16))
               for _ in range(4)]
    static = [float(g.run([loss, train], feed={x: X, y: Y})[0]) for X, Y in batches]
    eager_model = _bn_model()
    opt = cr.optim.SGD(eager_model.parameters(), lr=0.1)
    eager = []
    for X, Y in batches:
        out = F.cross_entropy(eager_model(cr.tensor(X)), cr.tensor(Y))
        opt.zero_grad()
        out.backward()
        opt.step()
        eager.append(out.item())
    assert static == eager
    for (k, a), b in zip(model.state_dict().items(), eager_model.state_dict().values()):
        if k.endswith("num_batches_tracked"):
            continue   # counted by an update outside the graph (not replayed)
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_batch_norm_over_a_free_batch_size_is_refused_with_the_op_named():
    model = _bn_model()
    g = cr.static.Graph()
    with pytest.warns(UserWarning):
        with g:
            x = g.placeholder("x", (None, 3))
            out = model(x).sum()
    with pytest.raises(RuntimeError, match="UpdateRunningStats .* constant n=37"):
        g.run(out, feed={x: np.ones((8, 3), np.float32)})


def test_an_lstm_runs_on_any_batch_size_with_its_initial_state_fed():
    cr.manual_seed(0)
    lstm = nn.LSTM(3, 4, batch_first=True)
    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", (None, 5, 3))
        out, (h, c) = lstm(x)                     # default zero state: made at the stand-in size
        refused = out.sum()
        h0, c0 = g.placeholder("h0", (1, None, 4)), g.placeholder("c0", (1, None, 4))
        out, (h, c) = lstm(x, (h0, c0))
        loss = out.sum() + (h ** 2).sum()
        dW = g.gradients(loss, lstm.weight_ih_l0)
    X = _rng(3).standard_normal((7, 5, 3)).astype(np.float32)
    with pytest.raises(RuntimeError, match="reads the constant tensor .* pass it in as a "
                                           "placeholder"):
        g.run(refused, feed={x: X})
    zeros = np.zeros((1, 7, 4), np.float32)
    got = g.run(dW, feed={x: X, h0: zeros, c0: zeros})
    out, (h, c) = lstm(cr.tensor(X))
    (want,) = cr.autograd.grad(out.sum() + (h ** 2).sum(), lstm.weight_ih_l0)
    np.testing.assert_array_equal(got, want.numpy())


def test_gradients_with_respect_to_an_intermediate_and_weighted_by_grad_ys():
    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", (None, 3))
        v = g.placeholder("v", (3,))
        w = g.variable("w", np.array([0.5, -1.0, 2.0], np.float32))
        h = (x * w).tanh()
        loss = (h ** 2).mean()
        dh, dw = g.gradients(loss, [h, w])
        hvp = g.gradients(dw, w, grad_ys=v)            # the Hessian times v
        both = g.gradients(loss + 0.1 * (dw * dw).sum(), w)   # a loss with a gradient penalty
    X = _rng(8).standard_normal((6, 3)).astype(np.float32)
    V = np.array([1.0, 0.0, -2.0], np.float32)
    got_dh, got_hvp, got_both = g.run([dh, hvp, both], feed={x: X, v: V})
    wt = nn.Parameter(cr.tensor(w.detach().numpy()))
    ht = (cr.tensor(X) * wt).tanh()
    lt = (ht ** 2).mean()
    e_dh, e_dw = cr.autograd.grad(lt, [ht, wt], create_graph=True)
    (e_hvp,) = cr.autograd.grad(e_dw, wt, grad_outputs=cr.tensor(V), retain_graph=True)
    (e_both,) = cr.autograd.grad(lt + 0.1 * (e_dw * e_dw).sum(), wt)
    np.testing.assert_array_equal(got_dh, e_dh.detach().numpy())
    np.testing.assert_allclose(got_hvp, e_hvp.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got_both, e_both.numpy(), rtol=1e-5, atol=1e-7)


def test_sizes_near_the_stand_in_are_not_mistaken_for_it():
    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", (None, 6, 6))
        flat = x.reshape(-1, 36).sum(1)            # 36 = 37 - 1, in a shape: a real size
    assert g.run(flat, feed={x: np.ones((5, 6, 6), np.float32)}).tolist() == [36.0] * 5
    g = cr.static.Graph(free_size=11)
    with g:
        x = g.placeholder("x", (None, 37))
        y = x.reshape(-1, 37).sum()                # 37 is real here: another stand-in
    assert g.run(y, feed={x: np.ones((2, 37), np.float32)}) == 74.0


def test_an_array_read_from_a_placeholder_while_building_is_refused_on_every_feed():
    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", (None, 4))
        stale = x.gather(1, x._array.argmax(1)[:, None]).sum()  # indices read by hand
        fine = x.amax(1).sum()          # an op that finds the maximum when it runs
        also_fine = x.max(1, keepdim=True)[0].sum()   # its indices are an op too
    for n in (37, 5):                   # even on a feed of the stand-in size
        X = _rng(n).standard_normal((n, 4)).astype(np.float32)
        with pytest.raises(RuntimeError, match="Gather .* an array along a free .*amax"):
            g.run(stale, feed={x: X})
        assert g.run(fine, feed={x: X}) == pytest.approx(X.max(1).sum(), rel=1e-6)
        assert g.run(also_fine, feed={x: X}) == pytest.approx(X.max(1).sum(), rel=1e-6)


def test_update_errors_name_the_method():
    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", (None,))
        w = g.variable("w", np.zeros(3, np.float32))
        with pytest.raises(ValueError, match=r"Graph.assign_sub: a value of shape \(4,\) cannot "
                                             r"update a variable of shape \(3,\)"):
            g.assign_sub(w, np.ones(4, np.float32))
        with pytest.raises(TypeError, match="Graph.assign: the target must be a variable"):
            g.assign(w * 2, w)
        with pytest.raises(TypeError, match="Graph.group: expected updates"):
            g.group(w)
        both = g.group(g.assign(w, np.ones(3, np.float32)), g.assign_add(w, w))
    assert g.run(both) is None and w.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match="Graph.assign_add: call it inside `with graph:`"):
        g.assign_add(w, 1.0)
