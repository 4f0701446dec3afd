"""The API added on 2026-12-01 runs on the strict test device (tests/strict_device.py), as
it must on CuPy: every result stays on the device and backward runs there, so no op of it
allocates a host array where the device's array module should have (special functions and
distribution checks that are NumPy on purpose copy to the host and back explicitly)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.distributions as D
import chainrule.nn as nn
import chainrule.nn.functional as F
import strict_device as sd

dev = sd.NAME
RNG = np.random.default_rng(0)
a = RNG.standard_normal((3, 4))
p = np.abs(a) + 0.5


@pytest.fixture(autouse=True)
def strict():
    sd.register()
    yield
    sd.unregister()


def T(values, rg=True):
    t = cr.tensor(np.asarray(values, dtype=np.float32), device=dev)
    return t.requires_grad_() if rg else t


CASES = {
    'floor': lambda: T(a).floor(),
    'round2': lambda: T(a).round(decimals=2),
    'frac': lambda: T(a).frac(),
    'fmod': lambda: cr.fmod(T(a), T(p)),
    'remainder': lambda: cr.remainder(T(a), 2.5),
    'lerp': lambda: cr.lerp(T(a), T(p), 0.3),
    'addcmul': lambda: cr.addcmul(T(a), T(a), T(p)),
    'nan_to_num': lambda: cr.nan_to_num(T(a)),
    'median': lambda: T(a).median(1).values,
    'quantile': lambda: cr.quantile(T(a), 0.3, 1),
    'scatter': lambda: cr.scatter(T(a), 1, cr.tensor([[0], [1], [2]], device=dev), T(a[:, :1])),
    'scatter_add':
        lambda: cr.scatter_add(T(a), 1, cr.tensor([[0], [1], [2]], device=dev), T(a[:, :1])),
    'masked_select': lambda: cr.masked_select(T(a), T(a, False) > 0),
    'index_fill': lambda: T(a).index_fill(1, cr.tensor([0], device=dev), 1.0),
    'meshgrid': lambda: cr.meshgrid(T(a[0]), T(a[1]))[0],
    'diag1': lambda: cr.diag(T(a[0]), 1),
    'diag2': lambda: cr.diag(T(a), 1),
    'div_floor': lambda: cr.div(T(a), T(p), rounding_mode='floor'),
    'isclose': lambda: cr.isclose(T(a), T(a)),
    'movedim': lambda: T(a).movedim(0, 1),
    'tile': lambda: T(a).tile((2, 1)),
    'diff': lambda: T(a).diff(),
    'hstack': lambda: cr.hstack([T(a), T(a)]),
    'index_add': lambda: cr.index_add(T(a), 1, cr.tensor([0, 2], device=dev), T(a[:, :2])),
    'index_copy': lambda: cr.index_copy(T(a), 1, cr.tensor([0, 2], device=dev), T(a[:, :2])),
    'take': lambda: cr.take(T(a), cr.tensor([0, 5], device=dev)),
    'rot90': lambda: cr.rot90(T(a)),
    'tensor_split': lambda: cr.tensor_split(T(a), 2, 1)[0],
    'nansum': lambda: T(a).nansum(),
    'nanmean': lambda: T(a).nanmean(0),
    'cov': lambda: cr.cov(T(a)),
    'corrcoef': lambda: cr.corrcoef(T(a)),
    'count_nonzero': lambda: cr.count_nonzero(T(a, False)),
    'unique': lambda: cr.unique(cr.tensor([1, 2, 1], device=dev)),
    'bincount': lambda: cr.bincount(cr.tensor([1, 2, 1], device=dev)),
    'nonzero': lambda: cr.nonzero(T(a, False)),
    'tan': lambda: cr.tan(T(a)),
    'atan2': lambda: cr.atan2(T(a), T(p)),
    'erfinv': lambda: cr.erfinv(T(a * 0.1)),
    'lgamma': lambda: cr.lgamma(T(p)),
    'digamma': lambda: cr.digamma(T(p)),
    'xlogy': lambda: cr.xlogy(T(a), T(p)),
    'erfc': lambda: cr.erfc(T(a)),
    'linalg.inv': lambda: cr.linalg.inv(T(np.eye(3) + 0.1 * a[:, :3])),
    'linalg.det': lambda: cr.linalg.det(T(np.eye(3) + 0.1 * a[:, :3])),
    'vector_norm': lambda: cr.linalg.vector_norm(T(a)),
    'cdist': lambda: cr.cdist(T(a), T(p)),
    'kron': lambda: cr.kron(T(a), T(p)),
    'solve_triangular':
        lambda: cr.linalg.solve_triangular(T(np.tril(np.eye(3) + 0.1 * a[:, :3])), T(a[:, :2]), upper=False),
    'rms_norm': lambda: F.rms_norm(T(a), (4,)),
    'glu': lambda: F.glu(T(a)),
    'hardshrink': lambda: F.hardshrink(T(a)),
    'softshrink': lambda: F.softshrink(T(a)),
    'threshold': lambda: F.threshold(T(a), 0.1, 0.0),
    'ZeroPad2d': lambda: nn.ZeroPad2d(1).to(dev)(T(a[None, None])),
    'ReflectionPad1d': lambda: nn.ReflectionPad1d(1)(T(a[None])),
    'margin_ranking': lambda: F.margin_ranking_loss(T(a[0]), T(p[0]), T([1, -1, 1, -1], False)),
    'triplet': lambda: F.triplet_margin_loss(T(a), T(p), T(a * 2)),
    'cosine_emb': lambda: F.cosine_embedding_loss(T(a), T(p), T([1, -1, 1], False)),
    'contiguous': lambda: T(a).t().contiguous(),
    'view_conv': lambda: T(a).view(12),
    'jacobian': lambda: cr.autograd.functional.jacobian(lambda x: x * 2, T(a[0], False)),
    'Normal': lambda: D.Normal(T([0.0, 1.0]), T([1.0, 2.0])).log_prob(T([0.5, 0.5], False)),
    'Normal.rsample': lambda: D.Normal(T([0.0, 1.0]), T([1.0, 2.0])).rsample((3,)),
    'Categorical.log_prob':
        lambda: D.Categorical(logits=T([[0.1, 0.2, 0.3]])).log_prob(cr.tensor([1], device=dev)),
    'Categorical.sample': lambda: D.Categorical(logits=T([[0.1, 0.2, 0.3]])).sample().float(),
    'Bernoulli': lambda: D.Bernoulli(probs=T([0.3, 0.6])).entropy(),
    'Gamma.log_prob': lambda: D.Gamma(T([2.0]), T([1.0])).log_prob(T([0.5], False)),
    'MVN':
        lambda: D.MultivariateNormal(T([0.0, 0.0]), scale_tril=T([[1.0, 0.0], [0.5, 1.0]])).log_prob(T([0.1, 0.2], False)),
    'kl': lambda: D.kl_divergence(D.Normal(T([0.0]), T([1.0])), D.Normal(T([1.0]), T([2.0]))),
    'RReLU': lambda: nn.RReLU()(T([[-1.0, 2.0]])),
    'gumbel': lambda: F.gumbel_softmax(T([[0.1, 0.2]])),
    'RMSNorm': lambda: nn.RMSNorm(2).to(dev)(T([[1.0, 2.0]])),
    'AlphaDropout': lambda: nn.AlphaDropout(0.2)(T([[1.0, 2.0]])),
    'normal': lambda: cr.normal(T([0.0, 1.0], False), 1.0),
    'bernoulli_': lambda: cr.zeros(3, device=dev).bernoulli_(0.5),
    'exponential_': lambda: cr.zeros(3, device=dev).exponential_(),
    'random_': lambda: cr.zeros(3, device=dev).random_(5),
    'int floor division': lambda: cr.tensor([7, -7], device=dev) // cr.tensor([2, 3], device=dev),
    'masked_select, broadcast mask': lambda: cr.masked_select(T(a), T(a[0], False) > 0),
    'quantile, tensor levels': lambda: cr.quantile(T(a), T([0.2, 0.8], False), 1),
    'median of a 0-d tensor': lambda: T(1.5).median(0).values,
    'Normal with a number': lambda: D.Normal(T([0.0, 1.0]), 2.0).log_prob(T([0.5, 0.5], False)),
    'anomaly mode': lambda: _anomaly_backward(T(a)),
}


def _anomaly_backward(x):
    with cr.autograd.detect_anomaly():
        (x * 2).sum().backward()
    return x.grad


@pytest.mark.parametrize("name", sorted(CASES))
def test_runs_on_the_device(name):
    y = CASES[name]()
    if isinstance(y, tuple):
        y = y[0]
    assert sd.is_strict(y._array), f"{name}: the result is on the host"
    if y.requires_grad:
        y.sum().backward()
