"""chainrule.distributions against torch.distributions (torch 2.13): log_prob, entropy,
moments and KL with their gradients in the parameters; samples bit for bit where chainrule's
torch-kind generator reproduces torch's stream (Normal, Uniform, Bernoulli, Categorical,
OneHotCategorical, MultivariateNormal up to matmul rounding), statistically for Gamma and
Beta (NumPy's sampler); validation errors and reprs."""

import numpy as np
import pytest
import torch
import torch.distributions as TD

import chainrule as cr
import chainrule.distributions as D
from oracle import assert_close, to_numpy

RNG = np.random.default_rng(0)


def _params(*shapes_and_ranges):
    return [RNG.uniform(lo, hi, shape).astype(np.float32) for shape, lo, hi in shapes_and_ranges]


def _pair(arrays):
    """The same parameters as chainrule and torch leaves that require grad."""
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


def _logits_pd(shape):
    m = RNG.standard_normal(shape + (3, 3)).astype(np.float32)
    return (m @ np.swapaxes(m, -1, -2) + 2 * np.eye(3, dtype=np.float32)).astype(np.float32)


# (name, chainrule ctor, torch ctor, parameter arrays, value array)
CASES = [
    ("normal", lambda a, b: D.Normal(a, b), lambda a, b: TD.Normal(a, b),
     _params(((2, 3), -1, 1), ((2, 3), 0.5, 2)), RNG.standard_normal((4, 2, 3))),
    ("uniform", lambda a, b: D.Uniform(a, a + b), lambda a, b: TD.Uniform(a, a + b),
     _params(((3,), -1, 0), ((3,), 2, 3)), RNG.uniform(0, 1, (5, 3))),
    ("bernoulli_probs", lambda p: D.Bernoulli(probs=p), lambda p: TD.Bernoulli(probs=p),
     _params(((4,), 0.1, 0.9)), RNG.integers(0, 2, (3, 4))),
    ("bernoulli_logits", lambda z: D.Bernoulli(logits=z), lambda z: TD.Bernoulli(logits=z),
     _params(((4,), -3, 3)), RNG.integers(0, 2, (3, 4))),
    ("categorical_probs", lambda p: D.Categorical(probs=p), lambda p: TD.Categorical(probs=p),
     _params(((2, 5), 0.1, 1)), RNG.integers(0, 5, (3, 2))),
    ("categorical_logits", lambda z: D.Categorical(logits=z),
     lambda z: TD.Categorical(logits=z), _params(((2, 5), -2, 2)), RNG.integers(0, 5, (2,))),
    ("onehot", lambda z: D.OneHotCategorical(logits=z),
     lambda z: TD.OneHotCategorical(logits=z), _params(((2, 4), -2, 2)),
     np.eye(4)[RNG.integers(0, 4, (3, 2))]),
    ("gamma", lambda c, r: D.Gamma(c, r), lambda c, r: TD.Gamma(c, r),
     _params(((3,), 0.5, 4), ((3,), 0.5, 3)), RNG.uniform(0.1, 5, (2, 3))),
    ("beta", lambda a, b: D.Beta(a, b), lambda a, b: TD.Beta(a, b),
     _params(((3,), 0.5, 4), ((3,), 0.5, 3)), RNG.uniform(0.05, 0.95, (2, 3))),
    ("mvn_cov", lambda m, c: D.MultivariateNormal(m, covariance_matrix=c),
     lambda m, c: TD.MultivariateNormal(m, covariance_matrix=c),
     [_params(((2, 3), -1, 1))[0], _logits_pd((2,))], RNG.standard_normal((4, 2, 3))),
    ("mvn_tril", lambda m, L: D.MultivariateNormal(m, scale_tril=L.tril()),
     lambda m, L: TD.MultivariateNormal(m, scale_tril=L.tril()),
     [_params(((3,), -1, 1))[0], np.linalg.cholesky(_logits_pd(()))], RNG.standard_normal((5, 3))),
    ("independent", lambda a, b: D.Independent(D.Normal(a, b), 1),
     lambda a, b: TD.Independent(TD.Normal(a, b), 1),
     _params(((2, 3), -1, 1), ((2, 3), 0.5, 2)), RNG.standard_normal((4, 2, 3))),
]
IDS = [c[0] for c in CASES]


def _assert_grads(mine, ref, what):
    """Each parameter's gradient equals torch's; one torch leaves without a gradient (the
    output does not depend on it) has none or a zero one here."""
    for i, (a, b) in enumerate(zip(mine, ref)):
        if b.grad is None:
            assert a.grad is None or not np.any(to_numpy(a.grad)), f"{what} grad {i}"
        else:
            assert_close(a.grad, b.grad, atol=1e-4, rtol=1e-4, what=f"{what} grad {i}")


def _value(name, array):
    if name.startswith("categorical"):
        return cr.tensor(array.astype(np.int64)), torch.tensor(array.astype(np.int64))
    return cr.tensor(array.astype(np.float32)), torch.tensor(array.astype(np.float32))


@pytest.mark.parametrize("name, ours, theirs, params, value", CASES, ids=IDS)
def test_log_prob_and_entropy_match_torch_with_gradients(name, ours, theirs, params, value):
    for method in ("log_prob", "entropy"):
        mine, ref = _pair(params)
        d, td = ours(*mine), theirs(*ref)
        assert d.batch_shape == tuple(td.batch_shape) and d.event_shape == tuple(td.event_shape)
        v, tv = _value(name, value)
        out = d.log_prob(v) if method == "log_prob" else d.entropy()
        tout = td.log_prob(tv) if method == "log_prob" else td.entropy()
        assert_close(out, tout, atol=1e-5, rtol=1e-5, what=f"{name}.{method}")
        upstream = RNG.standard_normal(tuple(tout.shape)).astype(np.float32)
        (out * cr.tensor(upstream)).sum().backward()
        (tout * torch.tensor(upstream)).sum().backward()
        _assert_grads(mine, ref, f"{name}.{method}")


@pytest.mark.parametrize("name, ours, theirs, params, value", CASES, ids=IDS)
def test_moments_and_repr_match_torch(name, ours, theirs, params, value):
    d = ours(*[cr.tensor(a) for a in params])
    td = theirs(*[torch.tensor(a) for a in params])
    for moment in ("mean", "variance", "stddev"):
        assert_close(getattr(d, moment), getattr(td, moment), atol=1e-5, rtol=1e-5,
                     what=f"{name}.{moment}")
    if name != "beta":  # torch's Beta keeps its parameters in an inner Dirichlet: "Beta()"
        assert repr(d) == repr(td).replace("torch.", "chainrule.")


@pytest.mark.parametrize("name, ours, theirs, params", [
    ("normal", lambda a, b: D.Normal(a, b), lambda a, b: TD.Normal(a, b),
     _params(((20, 3), -1, 1), ((20, 3), 0.5, 2))),
    ("normal_small", lambda a, b: D.Normal(a, b), lambda a, b: TD.Normal(a, b),
     _params(((3,), -1, 1), ((3,), 0.5, 2))),
    ("uniform", lambda a, b: D.Uniform(a, a + b), lambda a, b: TD.Uniform(a, a + b),
     _params(((4,), -1, 0), ((4,), 1, 2))),
    ("mvn", lambda m, c: D.MultivariateNormal(m, covariance_matrix=c),
     lambda m, c: TD.MultivariateNormal(m, covariance_matrix=c),
     [_params(((2, 3), -1, 1))[0], _logits_pd((2,))]),
    ("independent", lambda a, b: D.Independent(D.Normal(a, b), 1),
     lambda a, b: TD.Independent(TD.Normal(a, b), 1), _params(((3,), -1, 1), ((3,), 1, 2))),
], ids=["normal", "normal_small", "uniform", "mvn", "independent"])
def test_rsample_is_torchs_draw_and_differentiable(name, ours, theirs, params):
    mine, ref = _pair(params)
    d, td = ours(*mine), theirs(*ref)
    for shape in ((), (7,)):
        cr.manual_seed(123)
        torch.manual_seed(123)
        x, tx = d.rsample(shape), td.rsample(shape)
        if name == "mvn":  # the same eps; L @ eps rounds as NumPy's matmul does
            assert_close(x, tx, atol=1e-5, rtol=1e-5, what=f"{name}.rsample")
        else:
            np.testing.assert_array_equal(to_numpy(x), to_numpy(tx), err_msg=f"{name}.rsample")
        cr.manual_seed(5)
        torch.manual_seed(5)
        s, ts = d.sample(shape), td.sample(shape)
        assert s.grad_fn is None and not s.requires_grad
        if name == "mvn":
            assert_close(s, ts, atol=1e-5, rtol=1e-5, what=f"{name}.sample")
        else:
            np.testing.assert_array_equal(to_numpy(s), to_numpy(ts), err_msg=f"{name}.sample")
    upstream = RNG.standard_normal(tuple(tx.shape)).astype(np.float32)
    (x * cr.tensor(upstream)).sum().backward()
    (tx * torch.tensor(upstream)).sum().backward()
    _assert_grads(mine, ref, f"{name}.rsample")


@pytest.mark.parametrize("make, tmake", [
    (lambda: D.Bernoulli(probs=cr.tensor([0.2, 0.5, 0.9])),
     lambda: TD.Bernoulli(probs=torch.tensor([0.2, 0.5, 0.9]))),
    (lambda: D.Bernoulli(logits=cr.tensor([[-1.0], [2.0]])),
     lambda: TD.Bernoulli(logits=torch.tensor([[-1.0], [2.0]]))),
    (lambda: D.Categorical(probs=cr.tensor([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]])),
     lambda: TD.Categorical(probs=torch.tensor([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]]))),
    (lambda: D.Categorical(logits=cr.tensor([0.0, 1.0, -1.0, 2.0])),
     lambda: TD.Categorical(logits=torch.tensor([0.0, 1.0, -1.0, 2.0]))),
    (lambda: D.OneHotCategorical(probs=cr.tensor([0.2, 0.3, 0.5])),
     lambda: TD.OneHotCategorical(probs=torch.tensor([0.2, 0.3, 0.5]))),
], ids=["bernoulli_probs", "bernoulli_logits", "categorical_2d", "categorical_logits",
        "onehot"])
def test_discrete_samples_are_torchs(make, tmake):
    d, td = make(), tmake()
    for shape in ((), (6,), (2, 3)):
        cr.manual_seed(7)
        torch.manual_seed(7)
        s, ts = d.sample(shape), td.sample(shape)
        assert s.dtype == ts.dtype if isinstance(ts.dtype, str) else str(s.dtype).split(".")[1] \
            == str(ts.dtype).split(".")[1]
        np.testing.assert_array_equal(to_numpy(s), to_numpy(ts))


def test_reinforce_gradient_through_categorical_logits():
    logits = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    z, tz = cr.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    cr.manual_seed(3)
    torch.manual_seed(3)
    d, td = D.Categorical(logits=z), TD.Categorical(logits=tz)
    a, ta = d.sample((10,)), td.sample((10,))
    reward = cr.tensor(np.arange(10, dtype=np.float32))
    (-(d.log_prob(a) * reward).mean() - 0.01 * d.entropy()).backward()
    (-(td.log_prob(ta) * torch.tensor(reward.numpy())).mean() - 0.01 * td.entropy()).backward()
    assert_close(z.grad, tz.grad, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("make, mean, var", [
    (lambda: D.Gamma(cr.tensor([0.5, 2.0, 9.0]), cr.tensor([1.0, 3.0, 0.5])),
     [0.5, 2 / 3, 18.0], [0.5, 2 / 9, 36.0]),
    (lambda: D.Beta(cr.tensor([0.5, 2.0, 5.0]), cr.tensor([0.5, 3.0, 1.0])),
     [0.5, 0.4, 5 / 6], [0.125, 0.04, 5 / 252]),
], ids=["gamma", "beta"])
def test_gamma_beta_samples_have_the_moments(make, mean, var):
    d = make()
    cr.manual_seed(0)
    s = d.sample((40000,))
    assert s.shape == (40000, 3) and s.dtype == cr.float32
    np.testing.assert_allclose(to_numpy(d.mean), mean, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(d.variance), var, rtol=1e-5)
    # 40000 draws: the sample mean is within ~4 standard errors
    assert np.all(np.abs(s.numpy().mean(0) - mean) < 4 * np.sqrt(np.array(var) / 4e4))
    np.testing.assert_allclose(s.numpy().var(0), var, rtol=0.08)
    cr.manual_seed(0)
    np.testing.assert_array_equal(d.sample((40000,)).numpy(), s.numpy())  # repeatable
    assert not d.has_rsample


KL_PAIRS = [
    ("normal", lambda a, b, c, e: (D.Normal(a, b), D.Normal(c, e)),
     lambda a, b, c, e: (TD.Normal(a, b), TD.Normal(c, e)),
     _params(((3,), -1, 1), ((3,), 0.5, 2), ((3,), -1, 1), ((3,), 0.5, 2))),
    ("categorical", lambda p, q: (D.Categorical(logits=p), D.Categorical(logits=q)),
     lambda p, q: (TD.Categorical(logits=p), TD.Categorical(logits=q)),
     _params(((2, 4), -2, 2), ((2, 4), -2, 2))),
    ("categorical_probs", lambda p, q: (D.Categorical(probs=p), D.Categorical(probs=q)),
     lambda p, q: (TD.Categorical(probs=p), TD.Categorical(probs=q)),
     _params(((2, 4), 0.1, 1), ((2, 4), 0.1, 1))),
    ("bernoulli", lambda p, q: (D.Bernoulli(probs=p), D.Bernoulli(probs=q)),
     lambda p, q: (TD.Bernoulli(probs=p), TD.Bernoulli(probs=q)),
     _params(((4,), 0.05, 0.95), ((4,), 0.05, 0.95))),
    ("bernoulli_logits", lambda p, q: (D.Bernoulli(logits=p), D.Bernoulli(logits=q)),
     lambda p, q: (TD.Bernoulli(logits=p), TD.Bernoulli(logits=q)),
     _params(((4,), -3, 3), ((4,), -3, 3))),
    ("gamma", lambda a, b, c, e: (D.Gamma(a, b), D.Gamma(c, e)),
     lambda a, b, c, e: (TD.Gamma(a, b), TD.Gamma(c, e)),
     _params(((3,), 0.5, 3), ((3,), 0.5, 3), ((3,), 0.5, 3), ((3,), 0.5, 3))),
    ("beta", lambda a, b, c, e: (D.Beta(a, b), D.Beta(c, e)),
     lambda a, b, c, e: (TD.Beta(a, b), TD.Beta(c, e)),
     _params(((3,), 0.5, 3), ((3,), 0.5, 3), ((3,), 0.5, 3), ((3,), 0.5, 3))),
    ("independent", lambda a, b, c, e: (D.Independent(D.Normal(a, b), 1),
                                        D.Independent(D.Normal(c, e), 1)),
     lambda a, b, c, e: (TD.Independent(TD.Normal(a, b), 1), TD.Independent(TD.Normal(c, e), 1)),
     _params(((2, 3), -1, 1), ((2, 3), 0.5, 2), ((2, 3), -1, 1), ((2, 3), 0.5, 2))),
    ("uniform", lambda a, b, c, e: (D.Uniform(a, a + b), D.Uniform(c - 2, c + e)),
     lambda a, b, c, e: (TD.Uniform(a, a + b), TD.Uniform(c - 2, c + e)),
     _params(((3,), -1, 0), ((3,), 0.5, 1), ((3,), -0.5, 0.5), ((3,), 2, 3))),
]


@pytest.mark.parametrize("name, ours, theirs, params", KL_PAIRS, ids=[k[0] for k in KL_PAIRS])
def test_kl_divergence_matches_torch_with_gradients(name, ours, theirs, params):
    mine, ref = _pair(params)
    kl, tkl = D.kl_divergence(*ours(*mine)), TD.kl_divergence(*theirs(*ref))
    assert_close(kl, tkl, atol=1e-5, rtol=1e-5, what=f"kl {name}")
    kl.sum().backward()
    tkl.sum().backward()
    _assert_grads(mine, ref, f"kl {name}")


def test_kl_infinite_where_q_has_no_mass_and_unknown_pair_raises():
    p = D.Categorical(probs=cr.tensor([0.5, 0.5, 0.0]))
    q = D.Categorical(probs=cr.tensor([1.0, 0.0, 0.0]))
    tp = TD.Categorical(probs=torch.tensor([0.5, 0.5, 0.0]))
    tq = TD.Categorical(probs=torch.tensor([1.0, 0.0, 0.0]))
    assert_close(D.kl_divergence(p, q), TD.kl_divergence(tp, tq))
    assert_close(D.kl_divergence(q, p), TD.kl_divergence(tq, tp))
    with pytest.raises(NotImplementedError, match="Normal.*Categorical"):
        D.kl_divergence(D.Normal(0.0, 1.0), q)


@pytest.mark.parametrize("make, tmake, match", [
    (lambda: D.Normal(cr.tensor([0.0]), cr.tensor([-1.0])),
     lambda: TD.Normal(torch.tensor([0.0]), torch.tensor([-1.0])), "parameter scale"),
    (lambda: D.Bernoulli(probs=cr.tensor([1.5])),
     lambda: TD.Bernoulli(probs=torch.tensor([1.5])), "parameter probs"),
    (lambda: D.Categorical(logits=cr.tensor([0.0, float("nan")])),
     lambda: TD.Categorical(logits=torch.tensor([0.0, float("nan")])), "parameter logits"),
    (lambda: D.Gamma(cr.tensor([1.0]), cr.tensor([0.0])),
     lambda: TD.Gamma(torch.tensor([1.0]), torch.tensor([0.0])), "parameter rate"),
    (lambda: D.Uniform(cr.tensor([1.0]), cr.tensor([0.0])),
     lambda: TD.Uniform(torch.tensor([1.0]), torch.tensor([0.0])), "parameter low"),
    (lambda: D.MultivariateNormal(cr.zeros(2), scale_tril=cr.tensor([[1.0, 1.0], [0.0, 1.0]])),
     lambda: TD.MultivariateNormal(torch.zeros(2),
                                   scale_tril=torch.tensor([[1.0, 1.0], [0.0, 1.0]])),
     "parameter scale_tril"),
    (lambda: D.MultivariateNormal(cr.zeros(2),
                                  covariance_matrix=cr.tensor([[1.0, 2.0], [2.0, 1.0]])),
     lambda: TD.MultivariateNormal(torch.zeros(2),
                                   covariance_matrix=torch.tensor([[1.0, 2.0], [2.0, 1.0]])),
     "parameter covariance_matrix"),
], ids=["normal", "bernoulli", "categorical", "gamma", "uniform", "mvn_tril", "mvn_cov"])
def test_invalid_parameters_raise_as_torch(make, tmake, match):
    with pytest.raises(ValueError, match=match) as ours:
        make()
    with pytest.raises(ValueError) as theirs:
        tmake()
    assert str(ours.value).split(" of distribution")[0] == \
        str(theirs.value).split(" of distribution")[0]


def test_invalid_values_and_shapes_raise_as_torch():
    cases = [
        (D.Bernoulli(probs=cr.tensor([0.5])), TD.Bernoulli(probs=torch.tensor([0.5])), [0.5]),
        (D.Gamma(cr.tensor([1.0]), cr.tensor([1.0])),
         TD.Gamma(torch.tensor([1.0]), torch.tensor([1.0])), [-1.0]),
        (D.Categorical(probs=cr.tensor([0.5, 0.5])),
         TD.Categorical(probs=torch.tensor([0.5, 0.5])), [2.0]),
    ]
    for d, td, bad in cases:
        with pytest.raises(ValueError) as ours:
            d.log_prob(cr.tensor(bad))
        with pytest.raises(ValueError) as theirs:
            td.log_prob(torch.tensor(bad))
        assert str(ours.value).split("of the distribution")[0] == \
            str(theirs.value).split("of the distribution")[0]
        assert "Expected value argument" in str(ours.value) and type(d).__name__ in str(ours.value)
    with pytest.raises(ValueError, match="not broadcastable"):
        D.Normal(cr.zeros(3), cr.ones(3)).log_prob(cr.zeros(2))
    with pytest.raises(ValueError, match="right-most size"):
        D.MultivariateNormal(cr.zeros(3), cr.eye(3)).log_prob(cr.zeros(2))
    # validate_args=False: the invalid parameter is accepted, as in torch
    assert D.Normal(cr.tensor([0.0]), cr.tensor([-1.0]), validate_args=False).scale.item() == -1
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        D.Bernoulli()


def test_expand_and_numbers_as_parameters():
    d = D.Normal(0.0, 1.0)
    assert d.loc.dtype == cr.float32 and d.batch_shape == () and repr(d) == \
        repr(TD.Normal(0.0, 1.0))
    e = d.expand((2, 3))
    assert e.batch_shape == (2, 3) and e.sample().shape == (2, 3)
    c = D.Categorical(logits=cr.zeros(4)).expand((5,))
    assert c.batch_shape == (5,) and c.sample((2,)).shape == (2, 5)
    m = D.MultivariateNormal(cr.zeros(2), cr.eye(2)).expand((3,))
    assert m.batch_shape == (3,) and m.log_prob(cr.zeros(3, 2)).shape == (3,)
    i = D.Independent(D.Normal(cr.zeros(4, 2), cr.ones(4, 2)), 1).expand((3, 4))
    assert i.batch_shape == (3, 4) and i.event_shape == (2,)
    assert D.Bernoulli(probs=cr.tensor([0.3])).expand((2, 1)).sample().shape == (2, 1)


def test_enumerate_support_and_mvn_matrices_match_torch():
    d, td = D.Bernoulli(probs=cr.tensor([0.3, 0.6])), TD.Bernoulli(probs=torch.tensor([0.3, 0.6]))
    assert_close(d.enumerate_support(), td.enumerate_support())
    c = D.Categorical(logits=cr.zeros(2, 3))
    tc = TD.Categorical(logits=torch.zeros(2, 3))
    assert_close(c.enumerate_support(), tc.enumerate_support())
    cov = _logits_pd(())
    m = D.MultivariateNormal(cr.zeros(3), covariance_matrix=cr.tensor(cov))
    tm = TD.MultivariateNormal(torch.zeros(3), covariance_matrix=torch.tensor(cov))
    for name in ("scale_tril", "precision_matrix", "covariance_matrix"):
        assert_close(getattr(m, name), getattr(tm, name), atol=1e-5, rtol=1e-4, what=name)


def test_special_functions_match_torch():
    from chainrule.distributions.special import digamma, lgamma, polygamma
    x = np.array([1e-3, 0.1, 0.5, 1.0, 2.5, 7.3, 30.0, 200.0])
    np.testing.assert_allclose(to_numpy(lgamma(cr.tensor(x))), torch.lgamma(torch.tensor(x)),
                               rtol=1e-13, atol=1e-13)
    for n in range(4):
        np.testing.assert_allclose(to_numpy(polygamma(n, cr.tensor(x))),
                                   torch.special.polygamma(n, torch.tensor(x)), rtol=1e-8)
    t = cr.tensor(x, requires_grad=True)
    (g,) = cr.autograd.grad(digamma(t).sum(), t, create_graph=True)
    g.sum().backward()  # the second derivative: polygamma(2)
    np.testing.assert_allclose(to_numpy(t.grad), torch.special.polygamma(2, torch.tensor(x)),
                               rtol=1e-8)
