"""The Optimizer base class, and the harness the optimizer tests share.

The harness trains the same small MLP (tanh, MSE) on the same data in chainrule and in
PyTorch and compares every parameter after every step. A fifth parameter takes no part in
the loss: its gradient stays None, so every run also checks that it is skipped.
"""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import SGD, Adam

SHAPES = [(8, 4), (8,), (3, 8), (3,), (2, 2)]  # W1, b1, W2, b2, unused
# float32 trajectories: the update math matches torch's to an ulp or two per step; the
# forward/backward adds its own rounding, so allow a few float32 ulps of the values.
RTOL, ATOL = 2e-5, 2e-6


def make_data(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    arrays = [(rng.standard_normal(s) * 0.5).astype(dtype) for s in SHAPES]
    X = rng.standard_normal((32, 4)).astype(dtype)
    Y = rng.standard_normal((32, 3)).astype(dtype)
    return arrays, X, Y


def mlp_loss(params, X, Y):
    """Works for both libraries: the same operators in the same order."""
    W1, b1, W2, b2 = params[:4]
    h = (X @ W1.T + b1).tanh()
    return ((h @ W2.T + b2 - Y) ** 2).mean()


class Pair:
    """The same parameters and data in chainrule and PyTorch."""

    def __init__(self, seed=0, dtype=np.float32):
        arrays, X, Y = make_data(seed, dtype)
        self.cr_params = [cr.tensor(a.copy(), requires_grad=True) for a in arrays]
        self.th_params = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
        self.cr_X, self.cr_Y = cr.tensor(X), cr.tensor(Y)
        self.th_X, self.th_Y = torch.tensor(X), torch.tensor(Y)

    def cr_loss(self, sign=1.0):
        return mlp_loss(self.cr_params, self.cr_X, self.cr_Y) * sign

    def th_loss(self, sign=1.0):
        return mlp_loss(self.th_params, self.th_X, self.th_Y) * sign

    def assert_close(self, where, rtol=RTOL, atol=ATOL):
        for i, (a, b) in enumerate(zip(self.cr_params, self.th_params)):
            np.testing.assert_allclose(a._array, b.detach().numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"param {i} after {where}")


def run_pair(make_cr, make_th, steps=25, maximize=False, use_closure=False, pair=None,
             rtol=RTOL, atol=ATOL):
    """Train both for ``steps`` steps, comparing all parameters after each; return both."""
    pair = pair or Pair()
    opt, topt = make_cr(pair.cr_params), make_th(pair.th_params)
    sign = -1.0 if maximize else 1.0  # maximizing -loss is minimizing the loss
    for step in range(steps):
        if use_closure:
            def closure():
                opt.zero_grad()
                loss = pair.cr_loss(sign)
                loss.backward()
                return loss

            def th_closure():
                topt.zero_grad()
                loss = pair.th_loss(sign)
                loss.backward()
                return loss
            loss, th_loss = opt.step(closure), topt.step(th_closure)
            assert float(loss) == pytest.approx(float(th_loss.detach()), rel=1e-5, abs=1e-6)
        else:
            opt.zero_grad()
            topt.zero_grad()
            pair.cr_loss(sign).backward()
            pair.th_loss(sign).backward()
            assert opt.step() is None
            topt.step()
        pair.assert_close(f"step {step + 1}", rtol, atol)
    assert pair.cr_params[-1].grad is None
    return pair, opt, topt


def grid_id(kwargs) -> str:
    """A test id for a grid row of optimizer options: ``lr=0.01,eps=1e-06``."""
    return ",".join(f"{a}={b}" for a, b in kwargs.items()) or "defaults"


def check_like_torch(cls, torch_cls, kwargs, float64=False):
    """``cls(**kwargs)`` trains the test MLP as ``torch_cls(**kwargs)`` does (25 steps in
    float32, 30 in float64 to ~1e-12), its state included; returns the chainrule optimizer."""
    tol = dict(rtol=1e-12, atol=1e-14) if float64 else {}
    _, opt, topt = run_pair(lambda ps: cls(ps, **kwargs), lambda ps: torch_cls(ps, **kwargs),
                            steps=30 if float64 else 25, maximize=kwargs.get("maximize", False),
                            pair=Pair(dtype=np.float64) if float64 else None, **tol)
    assert_state_like_torch(opt, topt, **tol)
    return opt


def assert_state_like_torch(opt, topt, rtol=1e-4, atol=1e-5):
    """Our state_dict has torch's layout: same indices, keys, shapes and (close) values.

    ``atol`` is relative to each array's largest entry: buffers such as RMSprop's momentum
    sum g / sqrt(v), where a tiny v turns rounding into a visible absolute difference.
    """
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert sorted(ours["state"]) == sorted(theirs["state"])
    for idx, th_state in theirs["state"].items():
        assert set(ours["state"][idx]) == set(th_state), idx
        for key, value in th_state.items():
            mine = ours["state"][idx][key]
            if isinstance(value, torch.Tensor):
                assert isinstance(mine, cr.Tensor)
                scale = max(1.0, float(np.abs(value.numpy()).max(initial=0)))
                np.testing.assert_allclose(mine._array, value.numpy(), rtol=rtol, atol=atol * scale,
                                           err_msg=f"state[{idx}][{key!r}]")
            else:
                assert mine == value
    assert len(ours["param_groups"]) == len(theirs["param_groups"])
    for g, tg in zip(ours["param_groups"], theirs["param_groups"]):
        assert g["params"] == tg["params"]
        for key, value in g.items():
            assert key in tg, key
            assert value == tg[key], key


# --- the base class ----------------------------------------------------------------------

def _params():
    return [cr.tensor(np.ones((2, 3), np.float32), requires_grad=True),
            cr.tensor(np.zeros(3, np.float32), requires_grad=True)]


def test_param_groups_fill_defaults_and_keep_their_own():
    w, b = _params()
    opt = SGD([{"params": [w]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["momentum"] == 0.9
    c = cr.tensor(np.zeros(2, np.float32), requires_grad=True)
    opt.add_param_group({"params": [c], "momentum": 0.0})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.0


def test_param_groups_match_torch_training():
    make = lambda cls, ps: cls([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.3}],  # noqa: E731
                               lr=0.05, momentum=0.5)
    run_pair(lambda ps: make(SGD, ps), lambda ps: make(torch.optim.SGD, ps), steps=20)


def test_add_param_group_during_training_matches_torch():
    pair = Pair()
    opt = Adam(pair.cr_params[:2], lr=0.01)
    topt = torch.optim.Adam(pair.th_params[:2], lr=0.01)
    for step in range(20):
        if step == 5:  # unfreeze the second layer
            opt.add_param_group({"params": pair.cr_params[2:], "lr": 0.02})
            topt.add_param_group({"params": pair.th_params[2:], "lr": 0.02})
        opt.zero_grad()
        topt.zero_grad()
        pair.cr_loss().backward()
        pair.th_loss().backward()
        opt.step()
        topt.step()
        pair.assert_close(f"step {step + 1}")
    assert_state_like_torch(opt, topt)


def test_bad_params_are_refused():
    w, b = _params()
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([w * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(ValueError, match="duplicate"):
        SGD([w, w], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        SGD({w, b}, lr=0.1)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    w, b = _params()
    opt = SGD([w, b], lr=0.1)
    (w.sum() * 2 + b.sum()).backward()
    grad = w.grad
    opt.zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert w.grad is None and b.grad is None
    else:
        assert w.grad is grad and not w.grad._array.any() and not b.grad._array.any()


def test_named_parameters_are_accepted():
    w, b = _params()
    opt = SGD([("weight", w), ("bias", b)], lr=0.1)
    assert opt.param_groups[0]["params"] == [w, b]
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]


def test_step_returns_the_closure_loss_and_updates_in_place():
    w, b = _params()
    data = w._array
    opt = SGD([w, b], lr=0.1)
    version = w._version

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert float(loss) == 6.0
    assert w._array is data and w._version > version  # in place, and saved tensors notice
    np.testing.assert_allclose(w._array, np.full((2, 3), 0.8, np.float32))
    assert w.grad_fn is None and w.requires_grad


def test_step_under_no_grad_and_inside_a_graph_free_context():
    w, b = _params()
    opt = SGD([w, b], lr=0.1)
    (w.sum() + b.sum()).backward()
    with cr.no_grad():
        opt.step()
    np.testing.assert_allclose(w._array, np.full((2, 3), 0.9, np.float32))


def test_state_dict_is_a_snapshot_with_torch_layout():
    w, b = _params()
    opt = SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    (w.sum() + b.sum()).backward()
    opt.step()
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1]
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    buf = sd["state"][0]["momentum_buffer"]
    opt.step()
    np.testing.assert_allclose(buf._array, np.ones((2, 3)))  # unchanged by the second step
    assert opt.state[w]["momentum_buffer"]._array[0, 0] == pytest.approx(1.9)


def test_load_state_dict_checks_groups():
    w, b = _params()
    opt = SGD([w, b], lr=0.1, momentum=0.9)
    other = SGD([{"params": [w]}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match="parameter groups"):
        opt.load_state_dict(other.state_dict())
    small = SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="group 0 has 1 parameters"):
        opt.load_state_dict(small.state_dict())


def test_load_state_dict_casts_to_the_parameter_dtype():
    w = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = Adam([w], lr=0.1)
    state = {"state": {0: {"step": np.array(2.0), "exp_avg": np.ones(3),
                           "exp_avg_sq": np.ones(3)}},
             "param_groups": [dict(opt.state_dict()["param_groups"][0])]}
    opt.load_state_dict(state)
    assert opt.state[w]["exp_avg"].dtype == np.float32
    assert opt.state[w]["step"].dtype == np.float32 and float(opt.state[w]["step"]) == 2.0


def test_repr_lists_the_groups():
    w, b = _params()
    text = repr(SGD([w, b], lr=0.1))
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "lr: 0.1" in text


@pytest.mark.parametrize("make, message", [
    (lambda p: cr.optim.SGD(p, lr=-1), "Invalid learning rate: -1"),
    (lambda p: cr.optim.SGD(p, lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: cr.optim.SGD(p, lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: cr.optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires"),
    (lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     "Nesterov momentum requires"),
    (lambda p: cr.optim.Adam(p, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda p: cr.optim.Adam(p, eps=-1e-8), "Invalid epsilon value"),
    (lambda p: cr.optim.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: cr.optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
    (lambda p: cr.optim.AdamW(p, weight_decay=-0.1), "Invalid weight_decay value"),
    (lambda p: cr.optim.RMSprop(p, alpha=-0.1), "Invalid alpha value"),
    (lambda p: cr.optim.RMSprop(p, momentum=-1), "Invalid momentum value"),
    (lambda p: cr.optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value"),
    (lambda p: cr.optim.Adagrad(p, initial_accumulator_value=-1),
     "Invalid initial_accumulator_value value"),
    (lambda p: cr.optim.LBFGS(p, lr=-1), "Invalid learning rate"),
    (lambda p: cr.optim.LBFGS(p, line_search_fn="armijo"), "strong_wolfe"),
])
def test_hyperparameters_are_validated(make, message):
    with pytest.raises(ValueError, match=message):
        make(_params())


def test_torch_refuses_the_same_hyperparameters():
    # The messages above are PyTorch's: check a few against the oracle itself.
    t = [torch.zeros(2, requires_grad=True)]
    for make, message in [(lambda: torch.optim.SGD(t, lr=-1), "Invalid learning rate: -1"),
                          (lambda: torch.optim.Adam(t, betas=(1.0, 0.999)),
                           "Invalid beta parameter at index 0: 1.0")]:
        with pytest.raises(ValueError, match=message):
            make()


# --- the template step: one loop, one set of checks for every optimizer ----------------------

ALL = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
       "Rprop", "ASGD", "LBFGS"]


def _step(opt):
    if isinstance(opt, cr.optim.LBFGS):
        return opt.step(lambda: cr.tensor(0.0))
    return opt.step()


@pytest.mark.parametrize("name", ALL)
def test_a_gradient_of_the_wrong_shape_is_refused_with_names_and_shapes(name):
    w, b = _params()
    c = cr.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    opt = getattr(cr.optim, name)([b, c, w])
    b.grad = cr.tensor(np.ones(3, np.float32))  # a good one before the bad one
    # the right size, the wrong shape; set behind the .grad setter, which refuses it (as
    # torch), to check the optimizer's own guard against a gradient that got there anyway
    w._grad = cr.tensor(np.ones((3, 2), np.float32))
    before = b._array.copy()
    state_before = opt.state_dict()["state"]
    with pytest.raises(ValueError, match=rf"^{name}\.step: the gradient of parameter 2 of "
                                         r"param group 0 has shape \(3, 2\), the parameter "
                                         r"has shape \(2, 3\)"):
        _step(opt)
    np.testing.assert_array_equal(b._array, before)  # a refused step changes nothing
    if name != "LBFGS":  # LBFGS counts the closure's evaluation before it reads the grads
        state_after = opt.state_dict()["state"]
        assert state_after.keys() == state_before.keys()
        for i, entry in state_after.items():
            for key, value in entry.items():
                np.testing.assert_array_equal(value._array, state_before[i][key]._array)


@pytest.mark.parametrize("name", ALL)
def test_a_gradient_of_another_dtype_is_refused(name):
    w, b = _params()
    opt = getattr(cr.optim, name)([w, b])
    b._grad = cr.tensor(np.ones(3, np.float64))  # behind the setter, which refuses it
    with pytest.raises(TypeError, match=rf"^{name}\.step: the gradient of parameter 1 .*"
                                        "float64, the parameter has dtype float32"):
        _step(opt)


@pytest.mark.parametrize("name", ALL)
def test_an_integer_parameter_is_refused(name):
    w = cr.tensor(np.ones(3, np.int64))
    opt = getattr(cr.optim, name)([w])
    w.grad = cr.tensor(np.ones(3, np.int64))
    with pytest.raises(TypeError, match=rf"^{name}\.step: parameter 0 of param group 0 has "
                                        "dtype int64; optimizers update floating-point"):
        _step(opt)


def test_torch_refuses_a_gradient_of_the_wrong_shape_too():
    t = torch.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="same size"):
        t.grad = torch.ones(3, 2)


def test_the_template_step_counts_and_bumps_versions_once_per_step():
    w, b = _params()
    opt = cr.optim.NAdam([w, b], lr=0.01)
    versions = [w._version, b._version]
    w.grad = cr.tensor(np.ones((2, 3), np.float32))  # b has no gradient: skipped
    for _ in range(3):
        opt.step()
    assert float(opt.state[w]["step"]) == 3.0 and b not in opt.state
    assert w._version == versions[0] + 3 and b._version == versions[1]
    assert opt._opt_called


def test_a_subclass_without_hooks_or_step_says_what_to_define():
    class Nothing(cr.optim.Optimizer):
        pass

    w, _ = _params()
    with pytest.raises(TypeError, match="Nothing must define step"):
        Nothing([w], {}).step()


def test_a_new_algorithm_is_a_pure_function_and_three_hooks():
    """The template step drives a user-written optimizer: here sign descent with momentum."""
    def signum_update(w, g, buf, tmp, *, lr, beta):
        buf *= beta
        buf += (1 - beta) * g
        w -= lr * np.sign(buf, out=tmp)

    class Signum(cr.optim.Optimizer):
        update = staticmethod(signum_update)
        scratch_count = 1
        update_takes_step = False

        def __init__(self, params, lr=0.01, beta=0.9):
            super().__init__(params, dict(lr=lr, beta=beta))

        def _hyper(self, group):
            return dict(lr=group["lr"], beta=group["beta"])

        def _state_spec(self, group):
            return (("momentum_buffer", 0),)

    w = cr.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    opt = Signum([w], lr=0.5)
    w.grad = cr.tensor(np.array([1.0, -1.0, 0.0]))
    opt.step()
    np.testing.assert_allclose(w._array, [0.5, -1.5, 3.0])
    assert float(opt.state[w]["step"]) == 1.0
