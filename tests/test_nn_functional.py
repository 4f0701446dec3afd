"""nn.functional in float64: gradients against central differences (gradcheck), second
derivatives of the fused ops (gradgradcheck), and nn.init against its formulas."""

import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.nn import functional as F

RNG = np.random.default_rng(3)


def _t(*shape, requires_grad=True, scale=1.0, shift=0.0):
    return cr.tensor(RNG.standard_normal(shape) * scale + shift, dtype=cr.float64,
                     requires_grad=requires_grad)


def _probs(*shape):
    return cr.tensor(RNG.random(shape) * 0.8 + 0.1, dtype=cr.float64, requires_grad=True)


def _labels(n, c):
    return cr.tensor(RNG.integers(0, c, n))


def _signs(*shape):
    return cr.tensor(np.where(RNG.random(shape) < 0.5, -1.0, 1.0), dtype=cr.float64)


def _bn_train(x, w, b):
    rm, rv = cr.zeros(x.shape[1], dtype=cr.float64), cr.ones(x.shape[1], dtype=cr.float64)
    return F.batch_norm(x, rm, rv, w, b, training=True)


def _bn_eval(x, w, b, rm, rv):
    return F.batch_norm(x, rm, rv, w, b, training=False)


CASES = [
    ("linear", lambda x, w, b: F.linear(x, w, b), lambda: (_t(4, 3), _t(2, 3), _t(2))),
    ("bilinear", lambda a, b, w, c: F.bilinear(a, b, w, c),
     lambda: (_t(3, 2), _t(3, 4), _t(5, 2, 4), _t(5))),
    ("batch_norm_2d", _bn_train, lambda: (_t(6, 3), _t(3), _t(3))),
    ("batch_norm_3d", _bn_train, lambda: (_t(3, 2, 4), _t(2), _t(2))),
    ("batch_norm_no_affine", lambda x: _bn_train(x, None, None), lambda: (_t(5, 3),)),
    ("batch_norm_eval", _bn_eval, lambda: (_t(4, 3, 2), _t(3), _t(3), _t(3, requires_grad=False),
                                           _probs(3).detach() + 0.5)),
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b), lambda: (_t(3, 4), _t(4), _t(4))),
    ("layer_norm_2d", lambda x, w, b: F.layer_norm(x, (2, 3), w, b),
     lambda: (_t(2, 2, 3), _t(2, 3), _t(2, 3))),
    ("layer_norm_no_affine", lambda x: F.layer_norm(x, 4), lambda: (_t(3, 4),)),
    ("embedding", lambda w: F.embedding(cr.tensor([[0, 2], [2, 3]]), w),
     lambda: (_t(4, 3),)),
    ("dropout", lambda x: F.dropout(x, 0.4, generator=cr.Generator().manual_seed(0)),
     lambda: (_t(4, 5),)),
    ("softmax", lambda x: F.softmax(x, dim=1), lambda: (_t(3, 4),)),
    ("log_softmax", lambda x: F.log_softmax(x, dim=-1), lambda: (_t(3, 4),)),
    ("logsigmoid", F.logsigmoid, lambda: (_t(6, scale=5),)),
    ("softsign", F.softsign, lambda: (_t(6),)),
    ("mish", F.mish, lambda: (_t(6),)),
    ("selu", F.selu, lambda: (_t(6),)),
    ("celu", lambda x: F.celu(x, 0.7), lambda: (_t(6),)),
    ("prelu", F.prelu, lambda: (_t(4, 3, 2), _t(3))),
    ("hardswish", F.hardswish, lambda: (_t(6),)),
    ("normalize", lambda x: F.normalize(x, dim=1), lambda: (_t(3, 4),)),
    ("mse", F.mse_loss, lambda: (_t(3, 4), _t(3, 4))),
    ("l1", F.l1_loss, lambda: (_t(3, 4), _t(3, 4))),
    ("huber", lambda x, y: F.huber_loss(x, y, delta=0.5), lambda: (_t(3, 4), _t(3, 4))),
    ("smooth_l1", lambda x, y: F.smooth_l1_loss(x, y, beta=0.5), lambda: (_t(3, 4), _t(3, 4))),
    ("bce", lambda p, y: F.binary_cross_entropy(p, y, reduction="sum"),
     lambda: (_probs(3, 4), _probs(3, 4))),
    ("bce_with_logits", lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw),
     lambda: (_t(3, 4, scale=3), _probs(3, 4), cr.tensor(RNG.random(4) + 0.5, dtype=cr.float64))),
    ("bce_with_logits_none", lambda x, y: F.binary_cross_entropy_with_logits(
        x, y, weight=cr.tensor([0.5, 2.0], dtype=cr.float64), reduction="none"),
     lambda: (_t(3, 2, scale=3), _probs(3, 2))),
    ("cross_entropy", lambda x: F.cross_entropy(x, cr.tensor([0, 2, 1]), label_smoothing=0.1),
     lambda: (_t(3, 4),)),
    ("nll", lambda x: F.nll_loss(x, cr.tensor([0, 2, 1]), ignore_index=2), lambda: (_t(3, 4),)),
    ("soft_margin", F.soft_margin_loss, lambda: (_t(5, scale=3), _signs(5))),
    ("multi_margin", lambda x: F.multi_margin_loss(x, cr.tensor([0, 2, 1]), p=2),
     lambda: (_t(3, 4),)),
    ("hinge_embedding", F.hinge_embedding_loss, lambda: (_t(6), _signs(6))),
    ("kl_div", lambda x, y: F.kl_div(x, y, reduction="batchmean"),
     lambda: (_t(3, 4), _probs(3, 4))),
]


@pytest.mark.parametrize("name,fn,make", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name, fn, make):
    inputs = make()
    assert gradcheck(fn, inputs)


SECOND_ORDER = ["batch_norm_2d", "batch_norm_3d", "batch_norm_eval", "layer_norm",
                "layer_norm_2d", "embedding", "bce", "bce_with_logits", "bce_with_logits_none",
                "dropout"]


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_gradgradcheck_fused_ops(name):
    _, fn, make = next(c for c in CASES if c[0] == name)
    assert gradgradcheck(fn, make())


def test_functional_activations_match_torch():
    x = RNG.standard_normal((4, 5)).astype(np.float32) * 3
    cx, tx = cr.tensor(x), torch.tensor(x)
    tf = torch.nn.functional
    pairs = [
        (F.relu(cx), tf.relu(tx)), (F.relu6(cx), tf.relu6(tx)),
        (F.leaky_relu(cx, 0.1), tf.leaky_relu(tx, 0.1)), (F.elu(cx), tf.elu(tx)),
        (F.gelu(cx), tf.gelu(tx)), (F.silu(cx), tf.silu(tx)),
        (F.softplus(cx, 2, 5), tf.softplus(tx, 2, 5)), (F.hardtanh(cx), tf.hardtanh(tx)),
        (F.logsigmoid(cx), tf.logsigmoid(tx)), (F.softmax(cx, 1), tf.softmax(tx, 1)),
        (F.log_softmax(cx, 0), tf.log_softmax(tx, 0)), (F.normalize(cx), tf.normalize(tx)),
        (F.cosine_similarity(cx, cx * 2 + 1), tf.cosine_similarity(tx, tx * 2 + 1)),
        (F.pairwise_distance(cx, cx + 1), tf.pairwise_distance(tx, tx + 1)),
    ]
    for mine, theirs in pairs:
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(F.one_hot(cr.tensor([0, 2]), 3).numpy(),
                                  tf.one_hot(torch.tensor([0, 2]), 3).numpy())


# --- nn.init --------------------------------------------------------------------------------

def test_calculate_gain_matches_torch():
    for name in ("linear", "conv2d", "sigmoid", "tanh", "relu", "selu"):
        assert nn.init.calculate_gain(name) == torch.nn.init.calculate_gain(name)
    for slope in (None, 0.2, 1):
        assert nn.init.calculate_gain("leaky_relu", slope) == \
            torch.nn.init.calculate_gain("leaky_relu", slope)
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        nn.init.calculate_gain("swish")


@pytest.mark.parametrize("fn,kwargs,bound,std", [
    (nn.init.xavier_uniform_, {}, math.sqrt(6 / (200 + 300)), math.sqrt(2 / 500)),
    (nn.init.xavier_uniform_, {"gain": 2.0}, 2 * math.sqrt(6 / 500), 2 * math.sqrt(2 / 500)),
    (nn.init.xavier_normal_, {}, None, math.sqrt(2 / 500)),
    (nn.init.kaiming_uniform_, {"nonlinearity": "relu"}, math.sqrt(6 / 200),
     math.sqrt(2 / 200)),
    (nn.init.kaiming_uniform_, {"a": math.sqrt(5)}, 1 / math.sqrt(200), 1 / math.sqrt(600)),
    (nn.init.kaiming_normal_, {"nonlinearity": "relu"}, None, math.sqrt(2 / 200)),
    (nn.init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"}, None,
     math.sqrt(2 / 300)),
    (nn.init.uniform_, {"a": -0.5, "b": 0.5}, 0.5, 1 / math.sqrt(12)),
    (nn.init.normal_, {"std": 0.02}, None, 0.02),
    (nn.init.trunc_normal_, {"std": 1.0, "a": -2.0, "b": 2.0}, 2.0, 0.8796),
])
def test_init_distributions(fn, kwargs, bound, std):
    w = cr.empty(300, 200)
    out = fn(w, generator=cr.Generator().manual_seed(0), **kwargs)
    assert out is w
    values = w.numpy()
    if bound is not None:
        assert np.abs(values).max() <= bound * (1 + 1e-6)
    assert abs(values.std() - std) < 0.02 * std
    assert abs(values.mean()) < 0.02 * std * 3


def test_init_is_reproducible_and_uses_the_default_generator():
    cr.manual_seed(5)
    a = nn.init.kaiming_normal_(cr.empty(20, 10)).numpy().copy()
    cr.manual_seed(5)
    b = nn.init.kaiming_normal_(cr.empty(20, 10)).numpy()
    np.testing.assert_array_equal(a, b)


def test_init_constants_and_parameters():
    p = nn.Parameter(cr.empty(3, 4))
    nn.init.constant_(p, 0.5)  # in place on a leaf that requires grad: no error, no graph
    assert (p.detach().numpy() == 0.5).all() and p.grad_fn is None
    assert not nn.init.zeros_(cr.empty(2)).numpy().any()
    assert (nn.init.ones_(cr.empty(2)).numpy() == 1).all()
    np.testing.assert_array_equal(nn.init.eye_(cr.empty(2, 3)).numpy(), np.eye(2, 3))
    q = nn.init.orthogonal_(cr.empty(4, 6), generator=cr.Generator().manual_seed(1)).numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-5)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(cr.empty(5))
