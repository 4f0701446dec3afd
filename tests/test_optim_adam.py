"""Adam and AdamW against torch.optim, and AdamW vs Adam + L2 as the decoupled formula says."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import Adam, AdamW
from chainrule.optim.adam import adam_update
from test_optim_base import Pair, assert_state_like_torch, run_pair

GRID = [
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.02, weight_decay=0.05, amsgrad=True, maximize=True),
    dict(lr=0.01, betas=(0.3, 0.9)),  # 1 - beta1 >= 0.5: the other branch of lerp
]
IDS = lambda k: ",".join(f"{a}={b}" for a, b in k.items())  # noqa: E731


@pytest.mark.parametrize("kwargs", GRID, ids=IDS)
@pytest.mark.parametrize("cls, th_cls", [(Adam, torch.optim.Adam), (AdamW, torch.optim.AdamW)],
                         ids=["Adam", "AdamW"])
def test_adam_matches_torch(cls, th_cls, kwargs):
    _, opt, topt = run_pair(lambda ps: cls(ps, **kwargs), lambda ps: th_cls(ps, **kwargs),
                            steps=25, maximize=kwargs.get("maximize", False))
    assert_state_like_torch(opt, topt)


def test_adamw_default_weight_decay_and_closure():
    _, opt, topt = run_pair(lambda ps: AdamW(ps, lr=0.01),
                            lambda ps: torch.optim.AdamW(ps, lr=0.01), steps=20, use_closure=True)
    assert opt.defaults["weight_decay"] == 1e-2 == topt.defaults["weight_decay"]
    assert opt.param_groups[0]["decoupled_weight_decay"] is True


def test_adam_with_decoupled_flag_is_adamw():
    a, b = Pair(), Pair()
    opt1 = Adam(a.cr_params, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)
    opt2 = AdamW(b.cr_params, lr=0.01, weight_decay=0.1)
    for _ in range(10):
        for pair, opt in ((a, opt1), (b, opt2)):
            opt.zero_grad()
            pair.cr_loss().backward()
            opt.step()
    for p, q in zip(a.cr_params, b.cr_params):
        np.testing.assert_array_equal(p._array, q._array)


def _adam_reference(w, g, m, v, t, lr, b1, b2, eps, wd, decoupled):
    """Adam / AdamW written as in the papers, in float64."""
    if decoupled:
        w = w * (1 - lr * wd)
    else:
        g = g + wd * w
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@pytest.mark.parametrize("decoupled", [False, True])
def test_update_function_follows_the_paper(decoupled):
    rng = np.random.default_rng(3)
    w, g = rng.standard_normal(6), rng.standard_normal(6)
    m, v = rng.standard_normal(6) * 0.1, rng.random(6) * 0.01
    t, hyper = 7, dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1)
    expected = _adam_reference(w, g, m, v, t, hyper["lr"], hyper["beta1"], hyper["beta2"],
                               hyper["eps"], hyper["weight_decay"], decoupled)
    adam_update(w, g, m, v, None, np.empty(6), np.empty(6), step=t, amsgrad=False,
                maximize=False, decoupled_weight_decay=decoupled, **hyper)
    for got, want in zip((w, m, v), expected):
        np.testing.assert_allclose(got, want, rtol=1e-13)


def test_denominator_is_sqrt_of_v_hat_plus_eps():
    """The step is lr * m_hat / (sqrt(v_hat) + eps) -- not m_hat / (v_hat + eps)."""
    w, g = np.array([0.0]), np.array([0.5])
    m, v = np.zeros(1), np.zeros(1)
    adam_update(w, g, m, v, None, np.empty(1), np.empty(1), step=1, lr=0.1, beta1=0.9,
                beta2=0.999, eps=0.0, weight_decay=0.0, amsgrad=False, maximize=False,
                decoupled_weight_decay=False)
    # m_hat = g and v_hat = g^2 on step 1, so the first step has length lr whatever g is.
    np.testing.assert_allclose(w, [-0.1], rtol=1e-12)


def test_adamw_and_adam_l2_differ_exactly_as_the_decoupled_formula_says():
    """From the same state: AdamW shrinks w by lr*wd*w and keeps the decay out of m and v;
    Adam+L2 puts wd*w into the gradient (so into m and v). Each equals its formula, and
    AdamW equals plain Adam applied to the shrunk weights."""
    lr, wd = 0.01, 0.1
    rng = np.random.default_rng(4)
    w0 = rng.standard_normal((4, 3)).astype(np.float32)
    grads = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(5)]
    w_l2, w_dec, w_plain = (cr.tensor(w0.copy(), requires_grad=True) for _ in range(3))
    opt_l2 = Adam([w_l2], lr=lr, weight_decay=wd)
    opt_dec = AdamW([w_dec], lr=lr, weight_decay=wd)
    opt_plain = Adam([w_plain], lr=lr)  # used at the end
    ref_l2 = ref_dec = (w0.astype(np.float64), np.zeros((4, 3)), np.zeros((4, 3)))
    for t, g in enumerate(grads, start=1):
        w_l2.grad, w_dec.grad = cr.tensor(g), cr.tensor(g)
        opt_l2.step()
        opt_dec.step()
        ref_l2 = _adam_reference(*ref_l2[:1], g, *ref_l2[1:], t, lr, 0.9, 0.999, 1e-8, wd, False)
        ref_dec = _adam_reference(*ref_dec[:1], g, *ref_dec[1:], t, lr, 0.9, 0.999, 1e-8, wd,
                                  True)
        np.testing.assert_allclose(w_l2._array, ref_l2[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(w_dec._array, ref_dec[0], rtol=1e-5, atol=1e-6)
        # AdamW's m and v never see the decay: they are plain Adam's moments of g.
        np.testing.assert_allclose(opt_dec.state[w_dec]["exp_avg"]._array, ref_dec[1], rtol=1e-5)
        np.testing.assert_allclose(opt_l2.state[w_l2]["exp_avg"]._array, ref_l2[1], rtol=1e-5)
    # The two methods really differ (the test above is not vacuous).
    assert np.abs(w_l2._array - w_dec._array).max() > 1e-4
    # AdamW step == (w *= 1 - lr*wd) then a plain Adam step, bit for bit.
    w_dec._array[...] = w0
    opt_dec = AdamW([w_dec], lr=lr, weight_decay=wd)
    for g in grads:
        w_dec.grad, w_plain.grad = cr.tensor(g), cr.tensor(g)
        opt_dec.step()
        w_plain._array *= 1 - lr * wd
        opt_plain.step()
        np.testing.assert_array_equal(w_dec._array, w_plain._array)


def test_adam_on_a_large_parameter_matches_torch():
    rng = np.random.default_rng(5)
    w0 = rng.standard_normal((256, 300)).astype(np.float32)
    w, tw = cr.tensor(w0.copy(), requires_grad=True), torch.tensor(w0.copy(), requires_grad=True)
    opt = AdamW([w], lr=1e-3, amsgrad=True)
    topt = torch.optim.AdamW([tw], lr=1e-3, amsgrad=True)
    for _ in range(4):
        g = rng.standard_normal((256, 300)).astype(np.float32)
        w.grad, tw.grad = cr.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        np.testing.assert_allclose(w._array, tw.detach().numpy(), rtol=1e-6, atol=1e-7)
    assert opt.state[w]["exp_avg_sq"].dtype == np.float32  # no float64 upcast of the state
