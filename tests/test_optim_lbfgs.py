"""LBFGS against torch.optim.LBFGS: convex and Rosenbrock, with and without strong Wolfe."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import LBFGS
from chainrule.optim.lbfgs import cubic_minimizer, strong_wolfe


def rosenbrock(x):
    return ((1 - x[:-1]) ** 2).sum() + (100 * (x[1:] - x[:-1] ** 2) ** 2).sum()


def least_squares_problem(dtype, seed=9, n=10, m=40):
    """0.5 ||A w - b||^2 with A's singular values from 1 down to 0.1: convex, condition 100."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = ((U * np.logspace(0, -1, n)) @ V.T).astype(dtype)
    b = rng.standard_normal(m).astype(dtype)
    Ac, bc, At, bt = cr.tensor(A), cr.tensor(b), torch.tensor(A), torch.tensor(b)

    def loss(w):
        if isinstance(w, cr.Tensor):
            return ((Ac @ w - bc) ** 2).sum() * 0.5
        return ((At @ w - bt) ** 2).sum() * 0.5
    return loss


def _runner(params, loss_fn, **kwargs):
    opt = (LBFGS if isinstance(params[0], cr.Tensor) else torch.optim.LBFGS)(params, **kwargs)

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss
    return opt, closure


def _compare(x0, loss_fn, steps, rtol, atol, **kwargs):
    x = cr.tensor(x0.copy(), requires_grad=True)
    tx = torch.tensor(x0.copy(), requires_grad=True)
    opt, closure = _runner([x], lambda: loss_fn(x), **kwargs)
    topt, tclosure = _runner([tx], lambda: loss_fn(tx), **kwargs)
    for step in range(steps):
        loss, tloss = opt.step(closure), topt.step(tclosure)
        assert float(loss) == pytest.approx(float(tloss.detach()), rel=rtol, abs=atol)
        np.testing.assert_allclose(x._array, tx.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"step {step + 1}")
        assert opt.state[x]["func_evals"] == topt.state[tx]["func_evals"]
        assert opt.state[x]["n_iter"] == topt.state[tx]["n_iter"]
    return x, opt


CONFIGS = {
    "fixed": dict(line_search_fn=None, lr=1, max_iter=5),
    "fixed-short-history": dict(line_search_fn=None, lr=0.5, max_iter=5, history_size=3),
    "wolfe": dict(line_search_fn="strong_wolfe", max_iter=5),
    "wolfe-max-eval": dict(line_search_fn="strong_wolfe", max_iter=20, history_size=4,
                           max_eval=6),
}


@pytest.mark.parametrize("name", ["fixed", "wolfe", "wolfe-max-eval"])
def test_convex_matches_torch_in_float32(name):
    # 15 iterations: far enough to build the history, short of the float32 noise floor
    # where 1-ulp differences in the loss flip LBFGS's stopping tests.
    loss = least_squares_problem(np.float32)
    _compare(np.zeros(10, np.float32), loss, steps=3, rtol=1e-5, atol=1e-5, **CONFIGS[name])


@pytest.mark.parametrize("name", list(CONFIGS))
def test_convex_matches_torch_in_float64_and_converges(name):
    loss = least_squares_problem(np.float64)
    x, _ = _compare(np.zeros(10), loss, steps=8, rtol=1e-9, atol=1e-9, **CONFIGS[name])
    x.grad = None
    loss(x).backward()
    assert np.abs(x.grad._array).max() < 2e-3


@pytest.mark.parametrize("name", list(CONFIGS))
def test_rosenbrock_matches_torch_in_float64(name):
    # Rosenbrock's curved valley amplifies rounding: a difference of one ulp grows about
    # tenfold every few iterations (in float32 it soon flips line-search branches). In
    # float64 the two trajectories agree to many digits for 30 iterations and more.
    x0 = np.array([-1.5, 2.0, -0.5, 1.2])
    _compare(x0, rosenbrock, steps=6, rtol=1e-6, atol=1e-8, **CONFIGS[name])


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_rosenbrock_float32_first_step_matches_and_wolfe_converges(line_search_fn):
    x0 = np.array([-1.5, 2.0, -0.5, 1.2], np.float32)
    kwargs = dict(line_search_fn=line_search_fn, lr=1 if line_search_fn else 0.1,
                  history_size=5, max_iter=10)
    x, opt = _compare(x0, rosenbrock, steps=1, rtol=1e-4, atol=1e-5, **kwargs)
    if line_search_fn:
        def closure():
            opt.zero_grad()
            loss = rosenbrock(x)
            loss.backward()
            return loss
        for _ in range(10):
            opt.step(closure)
        np.testing.assert_allclose(x._array, np.ones(4), atol=1e-3)


def test_stops_at_once_when_the_gradient_is_small():
    x = cr.tensor(np.ones(4), requires_grad=True)
    opt, closure = _runner([x], lambda: rosenbrock(x), tolerance_grad=1e-7)
    loss = opt.step(closure)
    assert float(loss) == 0.0 and opt.state[x]["n_iter"] == 0
    np.testing.assert_array_equal(x._array, np.ones(4))


def test_several_parameters_are_one_flat_vector():
    """Two tensors optimized together move exactly like one tensor holding both."""
    x0 = np.array([-1.5, 2.0, -0.5, 1.2])
    a = cr.tensor(x0[:1].copy(), requires_grad=True)
    b = cr.tensor(x0[1:].copy().reshape(3, 1), requires_grad=True)
    whole = cr.tensor(x0.copy(), requires_grad=True)
    opt_ab, closure_ab = _runner([a, b], lambda: rosenbrock(cr.cat([a, b.reshape(-1)])),
                                 line_search_fn="strong_wolfe")
    opt_w, closure_w = _runner([whole], lambda: rosenbrock(whole), line_search_fn="strong_wolfe")
    for _ in range(3):
        opt_ab.step(closure_ab)
        opt_w.step(closure_w)
    np.testing.assert_allclose(np.concatenate([a._array, b._array.ravel()]), whole._array,
                               rtol=1e-12)


def test_needs_a_closure_and_one_group():
    x = cr.zeros(2, requires_grad=True)
    opt = LBFGS([x])
    with pytest.raises(RuntimeError, match="closure"):
        opt.step()
    with pytest.raises(ValueError, match="parameter groups"):
        LBFGS([{"params": [x]}, {"params": [cr.zeros(2, requires_grad=True)]}])
    with pytest.raises(ValueError, match="parameter groups"):
        opt.add_param_group({"params": [cr.zeros(2, requires_grad=True)]})


def test_state_dict_resume_through_save_and_load(tmp_path):
    x0 = np.array([-1.5, 2.0, -0.5, 1.2])
    kwargs = dict(line_search_fn="strong_wolfe", max_iter=3, history_size=5)
    x = cr.tensor(x0.copy(), requires_grad=True)
    opt, closure = _runner([x], lambda: rosenbrock(x), **kwargs)
    for _ in range(6):
        opt.step(closure)
    straight = x._array.copy()

    y = cr.tensor(x0.copy(), requires_grad=True)
    opt1, closure1 = _runner([y], lambda: rosenbrock(y), **kwargs)
    for _ in range(3):
        opt1.step(closure1)
    cr.save({"x": y.detach(), "optimizer": opt1.state_dict()}, tmp_path / "lbfgs.safetensors")
    ckpt = cr.load(tmp_path / "lbfgs.safetensors")
    z = cr.tensor(ckpt["x"]._array.copy(), requires_grad=True)
    opt2, closure2 = _runner([z], lambda: rosenbrock(z), **kwargs)
    opt2.load_state_dict(ckpt["optimizer"])
    assert len(opt2.state[z]["old_dirs"]) == len(opt1.state[y]["old_dirs"]) > 0
    for _ in range(3):
        opt2.step(closure2)
    np.testing.assert_array_equal(z._array, straight)


def test_torch_state_dict_loads_and_continues_like_torch():
    x0 = np.array([-1.5, 2.0, -0.5, 1.2])
    tx = torch.tensor(x0.copy(), requires_grad=True)
    topt, tclosure = _runner([tx], lambda: rosenbrock(tx), line_search_fn="strong_wolfe",
                             max_iter=4)
    topt.step(tclosure)
    x = cr.tensor(tx.detach().numpy().copy(), requires_grad=True)
    opt, closure = _runner([x], lambda: rosenbrock(x), line_search_fn="strong_wolfe", max_iter=4)
    opt.load_state_dict(topt.state_dict())
    for _ in range(3):
        opt.step(closure)
        topt.step(tclosure)
    np.testing.assert_allclose(x._array, tx.detach().numpy(), rtol=1e-9)


def test_cubic_minimizer_finds_the_minimum_of_a_cubic():
    f = lambda t: t ** 3 - 3 * t  # noqa: E731 - minimum at t = 1
    df = lambda t: 3 * t ** 2 - 3  # noqa: E731
    assert cubic_minimizer(0.0, f(0.0), df(0.0), 2.0, f(2.0), df(2.0)) == pytest.approx(1.0)
    # Clipped to the bounds, and the middle when there is no real minimizer.
    assert cubic_minimizer(0.0, f(0.0), df(0.0), 2.0, f(2.0), df(2.0), bounds=(1.5, 3)) == 1.5
    assert cubic_minimizer(0.0, 0.0, 1.0, 1.0, 2 / 3, 1.0) == 0.5


def test_strong_wolfe_step_satisfies_the_conditions():
    """On f(x) = sum((x - 3)^2) from 0 along d = 1: the accepted step meets both conditions."""
    d = np.ones(3)

    def evaluate(t):
        x = t * d
        return float(((x - 3) ** 2).sum()), 2 * (x - 3)
    f0, g0 = evaluate(0.0)
    gtd = g0.dot(d)
    f, g, t, evals = strong_wolfe(evaluate, 1.0, d, f0, g0, gtd)
    assert f <= f0 + 1e-4 * t * gtd
    assert abs(g.dot(d)) <= -0.9 * gtd
    assert evals >= 1 and 0 < t <= 6
