"""Padding, shrink/threshold/gated/randomized activations, RMSNorm, the distance layers and
AlphaDropout against their torch twins: forward in float32 and float64, input and parameter
gradients, reprs and state_dict keys; the random ones by torch's streams and by statistics."""

import math

import numpy as np
import pytest
import torch

import chainrule as cr
from oracle import intel_with_mkl
import chainrule.nn.functional as F
from chainrule import nn

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}
DTYPES = [np.float32, np.float64]




def _check_twin(layer, tlayer, shapes, dtype, seed=0):
    """Same output, input gradients and parameter gradients; weights copied from torch."""
    rng = np.random.default_rng(seed)
    if dtype == np.float64:  # parameters in float64 too (load_state_dict keeps their dtype)
        layer, tlayer = layer.double(), tlayer.double()
    with torch.no_grad():  # non-trivial weights (torch initializes some to ones)
        for p in tlayer.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape))))
    layer.load_state_dict({k: v.detach().numpy().copy() for k, v in tlayer.state_dict().items()})
    assert list(layer.state_dict()) == list(tlayer.state_dict())
    assert repr(layer) == repr(tlayer)
    xs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    cx = [cr.tensor(x, requires_grad=True) for x in xs]
    tx = [torch.tensor(x, requires_grad=True) for x in xs]
    out, tout = layer(*cx), tlayer(*tx)
    assert out.dtype == cr.float64 if dtype == np.float64 else out.dtype == cr.float32
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), **TOL[dtype])
    g = rng.standard_normal(tuple(tout.shape)).astype(dtype)
    out.backward(cr.tensor(g))
    tout.backward(torch.tensor(g))
    for c, t in zip(cx, tx):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), **TOL[dtype])
    tparams = dict(tlayer.named_parameters())
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), err_msg=name,
                                   **TOL[dtype])


PADDINGS = [
    ("ZeroPad1d", 2, (2, 3, 5)), ("ZeroPad1d", (1, 3), (3, 4)),
    ("ZeroPad2d", 1, (2, 2, 3, 4)), ("ZeroPad2d", (1, 0, 2, 3), (2, 3, 4)),
    ("ZeroPad3d", (1, 0, 0, 2, 1, 1), (1, 2, 2, 3, 3)), ("ZeroPad3d", 1, (2, 2, 2, 2)),
    ("ConstantPad1d", (2, -1), (2, 3, 5)), ("ConstantPad2d", 2, (2, 3, 4)),
    ("ConstantPad3d", (0, 1, 2, 0, 1, 1), (1, 2, 3, 3, 2)),
    ("ReflectionPad1d", 2, (2, 3, 5)), ("ReflectionPad1d", (3, 1), (3, 4)),
    ("ReflectionPad2d", (1, 2, 2, 0), (2, 2, 3, 4)), ("ReflectionPad2d", 1, (2, 3, 4)),
    ("ReflectionPad3d", 1, (1, 2, 2, 3, 3)),
    ("ReplicationPad1d", (0, 3), (2, 3, 5)), ("ReplicationPad2d", 2, (2, 2, 3, 4)),
    ("ReplicationPad2d", (1, 0, 0, 3), (2, 3, 4)), ("ReplicationPad3d", 1, (2, 2, 3, 2)),
    ("CircularPad1d", 2, (2, 3, 5)), ("CircularPad1d", (1, 3), (3, 4)),
    ("CircularPad2d", (1, 2, 2, 1), (2, 2, 3, 4)), ("CircularPad3d", 1, (1, 2, 2, 3, 3)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, padding, shape", PADDINGS,
                         ids=[f"{n}-{p}" for n, p, _ in PADDINGS])
def test_padding_layers_match_torch(name, padding, shape, dtype):
    args = (padding, 1.5) if name.startswith("Constant") else (padding,)
    _check_twin(getattr(nn, name)(*args), getattr(torch.nn, name)(*args), [shape], dtype)


def test_padding_keeps_the_value_and_the_tuple():
    pad = nn.ConstantPad2d((1, 0, 0, 2), -3.0)
    assert pad.padding == (1, 0, 0, 2) and pad.value == -3.0
    y = pad(cr.ones(1, 2, 2)).numpy()
    assert y.shape == (1, 4, 3) and (y[:, :, 0] == -3).all() and (y[:, 2:, :] == -3).all()
    assert nn.ReflectionPad1d(3).padding == (3, 3)


ACTIVATIONS = [
    ("GLU", lambda m: m.GLU(), (3, 6)), ("GLU-dim1", lambda m: m.GLU(dim=1), (2, 4, 3)),
    ("Hardshrink", lambda m: m.Hardshrink(), (4, 5)),
    ("Hardshrink-1", lambda m: m.Hardshrink(lambd=1.0), (4, 5)),
    ("Softshrink", lambda m: m.Softshrink(), (4, 5)),
    ("Softshrink-0.2", lambda m: m.Softshrink(0.2), (3, 7)),
    ("Tanhshrink", lambda m: m.Tanhshrink(), (4, 5)),
    ("Threshold", lambda m: m.Threshold(0.1, 20.0), (4, 5)),
    ("Threshold-neg", lambda m: m.Threshold(-0.5, -2), (3, 7)),
    ("Softmax2d-4d", lambda m: m.Softmax2d(), (2, 3, 4, 5)),
    ("Softmax2d-3d", lambda m: m.Softmax2d(), (3, 4, 5)),
    ("RReLU-eval", lambda m: m.RReLU().eval(), (4, 5)),
    ("RReLU-eval-bounds", lambda m: m.RReLU(0.1, 0.5).eval(), (4, 5)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, make, shape", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_layers_match_torch(name, make, shape, dtype):
    _check_twin(make(nn), make(torch.nn), [shape], dtype, seed=len(name))


def test_activation_reprs():
    for make in (lambda m: m.Threshold(1, 2, True), lambda m: m.RReLU(0.1, 0.3, True),
                 lambda m: m.Hardshrink(0.25), lambda m: m.GLU(2), lambda m: m.Tanhshrink()):
        assert repr(make(nn)) == repr(make(torch.nn))


KINKS = [
    ("hardshrink", lambda f, x: f.hardshrink(x, 0.5)),
    ("hardshrink-neg", lambda f, x: f.hardshrink(x, -1.0)),
    ("softshrink", lambda f, x: f.softshrink(x, 0.5)),
    ("softshrink-0", lambda f, x: f.softshrink(x, 0.0)),
    ("threshold", lambda f, x: f.threshold(x, 0.5, 7.0)),
    ("threshold-neg", lambda f, x: f.threshold(x, -0.5, 7.0)),
    ("tanhshrink", lambda f, x: f.tanhshrink(x)),
    ("rrelu-eval", lambda f, x: f.rrelu(x, 0.125, 1 / 3, False)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, fn", KINKS, ids=[k[0] for k in KINKS])
def test_values_and_gradients_at_the_kinks(name, fn, dtype):
    # the bounds themselves, just inside and outside them, zero, infinities and nan
    x = np.array([-0.5, 0.5, -0.5000001, 0.5000001, -0.4999999, 0.4999999, 0.0, -0.0, 1.0,
                  -1.0, 3.0, -np.inf, np.inf, np.nan], dtype=dtype)
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = fn(F, cx), fn(torch.nn.functional, tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
    g = np.linspace(0.5, 2.0, x.size).astype(dtype)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), **TOL[dtype])


def test_shape_and_argument_errors():
    with pytest.raises(ValueError, match="Halving dimension must be even"):
        F.glu(cr.ones(2, 5))
    with pytest.raises(ValueError, match="lambda must be greater or equal to 0"):
        F.softshrink(cr.ones(3), -0.1)
    with pytest.raises(ValueError, match="3D or 4D"):
        nn.Softmax2d()(cr.ones(2, 3))
    with pytest.raises(ValueError, match="normalized_shape"):
        F.rms_norm(cr.ones(2, 3), (2,))


# --- RReLU in training --------------------------------------------------------------------

def test_rrelu_training_slopes_are_uniform_and_the_gradient_is_the_slope():
    _ = cr.manual_seed(7)
    lower, upper = 0.1, 0.4
    x = cr.tensor(np.random.default_rng(3).standard_normal(20000), requires_grad=True)
    layer = nn.RReLU(lower, upper)
    y = layer(x)
    y.sum().backward()
    xv, yv, gv = x.detach().numpy(), y.detach().numpy(), x.grad.numpy()
    neg = xv <= 0
    slopes = yv[neg] / xv[neg]
    assert (slopes >= lower).all() and (slopes < upper).all()
    # U[lower, upper): mean (l + u) / 2, variance (u - l)^2 / 12; 5 standard errors
    n = slopes.size
    assert abs(slopes.mean() - (lower + upper) / 2) < 5 * (upper - lower) / math.sqrt(12 * n)
    assert abs(slopes.var() - (upper - lower) ** 2 / 12) < 0.1 * (upper - lower) ** 2 / 12
    np.testing.assert_array_equal(yv[~neg], xv[~neg])
    np.testing.assert_allclose(gv[neg], slopes, rtol=1e-12)
    np.testing.assert_array_equal(gv[~neg], 1.0)
    # a new draw each call, and the same slope is never reused for every element
    assert not np.array_equal(layer(x).detach().numpy(), yv)
    assert np.unique(slopes).size > n // 2


@pytest.mark.parametrize("dtype", DTYPES)
def test_rrelu_training_draws_torch_numbers_for_the_same_seed(dtype):
    x = np.random.default_rng(5).standard_normal((6, 7)).astype(dtype)
    x[0, :3] = 0.0   # x <= 0 draws a slope too
    _ = cr.manual_seed(11)
    torch.manual_seed(11)
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = F.rrelu(cx, 1 / 8, 1 / 3, training=True)
    ty = torch.nn.functional.rrelu(tx, 1 / 8, 1 / 3, training=True)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), **TOL[dtype])


# --- gumbel_softmax -----------------------------------------------------------------------

def _gumbel_reference(logits, tau, hard, seed, dim):
    """torch's formula on the noise chainrule's generator draws for ``seed``, in torch."""
    e = cr.backend.rng_of(cr.Generator().manual_seed(seed)).draw_exponential(
        logits.shape, 1.0, logits.dtype)
    t = torch.tensor(logits, requires_grad=True)
    y_soft = ((t - torch.log(torch.tensor(e))) / tau).softmax(dim)
    if not hard:
        return t, y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = torch.zeros_like(t).scatter_(dim, index, 1.0)
    return t, y_hard - y_soft.detach() + y_soft


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("tau, hard, dim", [(1.0, False, -1), (0.5, False, 0), (2.0, True, -1),
                                            (0.3, True, 1)])
def test_gumbel_softmax_matches_torch_formula_on_the_same_noise(tau, hard, dim, dtype):
    rng = np.random.default_rng(9)
    logits = rng.standard_normal((5, 6, 3)).astype(dtype)
    g = rng.standard_normal(logits.shape).astype(dtype)
    cl = cr.tensor(logits, requires_grad=True)
    y = F.gumbel_softmax(cl, tau, hard, dim=dim, generator=cr.Generator().manual_seed(21))
    tl, ty = _gumbel_reference(logits, tau, hard, 21, dim)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(cl.grad.numpy(), tl.grad.numpy(), **TOL[dtype])
    if hard:  # exactly one-hot along dim, at the argmax of the soft sample
        yv = y.detach().numpy()
        assert set(np.unique(yv)) <= {0.0, 1.0}
        np.testing.assert_array_equal(yv.sum(dim), 1.0)


def test_gumbel_softmax_hard_has_the_soft_gradient():
    logits = np.random.default_rng(2).standard_normal((4, 5))
    g = np.random.default_rng(3).standard_normal((4, 5))
    grads = []
    for hard in (False, True):
        cl = cr.tensor(logits, requires_grad=True)
        F.gumbel_softmax(cl, 0.7, hard, generator=cr.Generator().manual_seed(4)).backward(
            cr.tensor(g))
        grads.append(cl.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-14)
    assert np.abs(grads[0]).max() > 0


def test_gumbel_softmax_samples_follow_the_softmax_of_the_logits():
    # Gumbel-max: the argmax of logits + Gumbel noise is a draw from softmax(logits)
    _ = cr.manual_seed(1)
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    n = 20000
    y = F.gumbel_softmax(cr.tensor(np.tile(logits, (n, 1))), 1.0, hard=True).numpy()
    freq = y.mean(0)
    p = np.exp(logits)
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / n)), freq


def test_gumbel_softmax_default_generator_draws_torch_numbers():
    logits = np.random.default_rng(6).standard_normal((3, 8)).astype(np.float32)
    _ = cr.manual_seed(13)
    torch.manual_seed(13)
    y = F.gumbel_softmax(cr.tensor(logits), tau=0.5)
    ty = torch.nn.functional.gumbel_softmax(torch.tensor(logits), tau=0.5)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-5, atol=1e-6)


# --- RMSNorm ------------------------------------------------------------------------------

RMS = [
    ("last", lambda m: m.RMSNorm(5), (3, 5)),
    ("two-dims", lambda m: m.RMSNorm([4, 5], eps=1e-3), (2, 3, 4, 5)),
    ("no-affine", lambda m: m.RMSNorm((5,), elementwise_affine=False), (2, 3, 5)),
    ("eps", lambda m: m.RMSNorm(6, eps=0.5), (4, 6)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, make, shape", RMS, ids=[r[0] for r in RMS])
def test_rmsnorm_matches_torch(name, make, shape, dtype):
    layer = make(nn)
    if layer.elementwise_affine:
        assert list(layer.state_dict()) == ["weight"] and (layer.weight.detach().numpy() == 1).all()
    else:
        assert layer.weight is None and not list(layer.state_dict())
    _check_twin(layer, make(torch.nn), [shape], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rms_norm_default_eps_is_the_dtype_epsilon(dtype):
    # tiny inputs: mean(x^2) is far below eps, so the result shows which eps was used
    x = np.full((2, 3), 1e-9, dtype=dtype)
    w = np.array([1.0, 2.0, -1.0], dtype=dtype)
    y = F.rms_norm(cr.tensor(x), (3,), cr.tensor(w)).numpy()
    ty = torch.nn.functional.rms_norm(torch.tensor(x), (3,), torch.tensor(w)).numpy()
    np.testing.assert_allclose(y, ty, **TOL[dtype])
    np.testing.assert_allclose(y, x * w / np.sqrt(x * x + np.finfo(dtype).eps), rtol=1e-5)


# --- distance layers ----------------------------------------------------------------------

DISTANCES = [
    ("pairwise", lambda m: m.PairwiseDistance(), [(4, 5), (4, 5)]),
    ("pairwise-p1-keepdim", lambda m: m.PairwiseDistance(p=1.0, keepdim=True), [(4, 5), (4, 5)]),
    ("pairwise-p3-broadcast", lambda m: m.PairwiseDistance(3.0, eps=1e-3), [(4, 5), (1, 5)]),
    ("cosine", lambda m: m.CosineSimilarity(), [(4, 5), (4, 5)]),
    ("cosine-dim-last", lambda m: m.CosineSimilarity(dim=-1, eps=1e-6), [(2, 3, 5), (2, 3, 5)]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, make, shapes", DISTANCES, ids=[d[0] for d in DISTANCES])
def test_distance_layers_match_torch(name, make, shapes, dtype):
    layer = make(nn)
    assert not list(layer.state_dict())
    _check_twin(layer, make(torch.nn), shapes, dtype)


# --- AlphaDropout -------------------------------------------------------------------------

def test_alpha_dropout_eval_and_p0_are_the_identity():
    x = cr.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert nn.AlphaDropout(0.3).eval()(x) is x
    assert nn.AlphaDropout(0.0)(x) is x
    assert repr(nn.AlphaDropout(0.2)) == repr(torch.nn.AlphaDropout(0.2))
    with pytest.raises(ValueError):
        nn.AlphaDropout(1.5)


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_alpha_dropout_training_keeps_mean_and_variance(p):
    _ = cr.manual_seed(3)
    n = 200000
    x = cr.tensor(np.random.default_rng(4).standard_normal(n), requires_grad=True)
    y = nn.AlphaDropout(p)(x)
    y.sum().backward()
    xv, yv, gv = x.detach().numpy(), y.detach().numpy(), x.grad.numpy()
    alpha = 1.7580993408473766
    a = 1 / math.sqrt((alpha ** 2 * p + 1) * (1 - p))
    dropped = np.isclose(yv, -alpha * a * (1 - p), rtol=0, atol=1e-12) & (gv == 0)
    kept = ~dropped
    np.testing.assert_allclose(yv[kept], a * xv[kept] + alpha * a * p, rtol=1e-12)
    np.testing.assert_allclose(gv[kept], a, rtol=1e-12)
    assert abs(dropped.mean() - p) < 5 * math.sqrt(p * (1 - p) / n)
    assert abs(yv.mean()) < 0.02 and abs(yv.std() - 1) < 0.02   # self-normalizing


@pytest.mark.skipif(intel_with_mkl(),
                    reason="torch draws bernoulli_(p) from MKL's stream on Intel CPUs")
@pytest.mark.parametrize("dtype", DTYPES)
def test_alpha_dropout_draws_torch_mask_for_the_same_seed(dtype):
    x = np.random.default_rng(8).standard_normal((5, 9)).astype(dtype)
    _ = cr.manual_seed(17)
    torch.manual_seed(17)
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = nn.AlphaDropout(0.3)(cx), torch.nn.AlphaDropout(0.3)(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("padding", [(1, -1), (-1, 2), (-2, -1), (2, 0), (1, -2, -1, 2)])
def test_circular_padding_with_negative_widths_as_torch(padding):
    # torch crops a negative side first and wraps what is left
    shape = (1, 1, 5) if len(padding) == 2 else (1, 1, 3, 4)
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    got = cr.nn.functional.pad(cr.tensor(x), padding, mode="circular")
    want = torch.nn.functional.pad(torch.tensor(x), padding, mode="circular")
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_alpha_dropout_is_public_and_the_identity_in_eval():
    x = cr.randn(5)
    assert cr.nn.functional.alpha_dropout(x, 0.3, training=False) is x
