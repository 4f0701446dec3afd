"""Each layer against its torch.nn twin with the same weights: outputs, input and parameter
gradients, train and eval mode, several shapes."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

RNG = np.random.default_rng(1234)


def _copy_weights(src_torch, dst):
    dst.load_state_dict({k: v.detach().numpy().copy() for k, v in src_torch.state_dict().items()})


def _check_twin(layer, tlayer, *shapes, train=True, rtol=1e-5, atol=1e-5, dtype=np.float32,
                int_input=None):
    """Same forward and backward (input and parameter grads) for ``layer`` and ``tlayer``."""
    _copy_weights(tlayer, layer)
    layer.train(train)
    tlayer.train(train)
    if int_input is not None:
        xs = [int_input]
        cx = [cr.tensor(int_input)]
        tx = [torch.tensor(int_input)]
    else:
        xs = [RNG.standard_normal(s).astype(dtype) for s in shapes]
        cx = [cr.tensor(x, requires_grad=True) for x in xs]
        tx = [torch.tensor(x, requires_grad=True) for x in xs]
    out = layer(*cx)
    tout = tlayer(*tx)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=rtol, atol=atol)
    g = RNG.standard_normal(tout.shape).astype(dtype)
    out.backward(cr.tensor(g))
    tout.backward(torch.tensor(g))
    if int_input is None:
        for c, t in zip(cx, tx):
            np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)
    tparams = dict(tlayer.named_parameters())
    for name, p in layer.named_parameters():
        tp = tparams[name]
        if tp.grad is None:
            assert p.grad is None or not p.grad.numpy().any(), name
            continue
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)
    tbufs = dict(tlayer.named_buffers())
    for name, b in layer.named_buffers():
        np.testing.assert_allclose(b.numpy(), tbufs[name].numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)
    return out


LAYERS = [
    ("Linear", lambda: nn.Linear(5, 3), lambda: torch.nn.Linear(5, 3), [(4, 5), (2, 3, 5), (5,)]),
    ("Linear-nobias", lambda: nn.Linear(5, 3, bias=False),
     lambda: torch.nn.Linear(5, 3, bias=False), [(4, 5)]),
    ("Bilinear", lambda: nn.Bilinear(3, 4, 2), lambda: torch.nn.Bilinear(3, 4, 2),
     [((6, 3), (6, 4))]),
    ("ReLU", nn.ReLU, torch.nn.ReLU, [(4, 5), (2, 3, 4)]),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2), [(4, 5)]),
    ("ELU", lambda: nn.ELU(0.7), lambda: torch.nn.ELU(0.7), [(4, 5)]),
    ("GELU", nn.GELU, torch.nn.GELU, [(4, 5)]),
    ("GELU-tanh", lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh"), [(4, 5)]),
    ("SiLU", nn.SiLU, torch.nn.SiLU, [(4, 5)]),
    ("Softplus", lambda: nn.Softplus(2.0, 3.0), lambda: torch.nn.Softplus(2.0, 3.0), [(4, 5)]),
    ("Sigmoid", nn.Sigmoid, torch.nn.Sigmoid, [(4, 5)]),
    ("Tanh", nn.Tanh, torch.nn.Tanh, [(4, 5)]),
    ("Hardtanh", nn.Hardtanh, torch.nn.Hardtanh, [(4, 5)]),
    ("LogSigmoid", nn.LogSigmoid, torch.nn.LogSigmoid, [(4, 5)]),
    ("Softsign", nn.Softsign, torch.nn.Softsign, [(4, 5)]),
    ("Mish", nn.Mish, torch.nn.Mish, [(4, 5)]),
    ("Softmax", lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1), [(4, 5), (2, 3, 4)]),
    ("Softmax-last", lambda: nn.Softmax(dim=-1), lambda: torch.nn.Softmax(dim=-1), [(2, 3, 4)]),
    ("LogSoftmax", lambda: nn.LogSoftmax(dim=1), lambda: torch.nn.LogSoftmax(dim=1), [(4, 5)]),
    ("Softmin", lambda: nn.Softmin(dim=1), lambda: torch.nn.Softmin(dim=1), [(4, 5)]),
    ("SELU", nn.SELU, torch.nn.SELU, [(4, 5)]),
    ("CELU", lambda: nn.CELU(0.5), lambda: torch.nn.CELU(0.5), [(4, 5)]),
    ("PReLU", nn.PReLU, torch.nn.PReLU, [(4, 5), (2, 3, 4)]),
    ("PReLU-channels", lambda: nn.PReLU(3), lambda: torch.nn.PReLU(3), [(4, 3), (2, 3, 4)]),
    ("Hardsigmoid", nn.Hardsigmoid, torch.nn.Hardsigmoid, [(4, 5)]),
    ("Hardswish", nn.Hardswish, torch.nn.Hardswish, [(4, 5)]),
    ("ReLU6", nn.ReLU6, torch.nn.ReLU6, [(4, 5)]),
    ("Flatten", nn.Flatten, torch.nn.Flatten, [(2, 3, 4)]),
    ("Identity", nn.Identity, torch.nn.Identity, [(2, 3)]),
    ("LayerNorm", lambda: nn.LayerNorm(5), lambda: torch.nn.LayerNorm(5), [(4, 5), (2, 3, 5)]),
    ("LayerNorm-2d", lambda: nn.LayerNorm((3, 5)), lambda: torch.nn.LayerNorm((3, 5)),
     [(2, 3, 5)]),
    ("LayerNorm-noaffine", lambda: nn.LayerNorm(5, elementwise_affine=False),
     lambda: torch.nn.LayerNorm(5, elementwise_affine=False), [(4, 5)]),
    ("BatchNorm1d", lambda: nn.BatchNorm1d(5), lambda: torch.nn.BatchNorm1d(5),
     [(8, 5), (4, 5, 6)]),
    ("BatchNorm1d-noaffine", lambda: nn.BatchNorm1d(5, affine=False),
     lambda: torch.nn.BatchNorm1d(5, affine=False), [(8, 5), (4, 5, 3)]),
    ("BatchNorm1d-nostats", lambda: nn.BatchNorm1d(5, track_running_stats=False),
     lambda: torch.nn.BatchNorm1d(5, track_running_stats=False), [(8, 5), (4, 5, 3)]),
    ("Dropout-p0", lambda: nn.Dropout(0.0), lambda: torch.nn.Dropout(0.0), [(4, 5)]),
]


def _randomize(tlayer):
    """Give the torch layer non-trivial parameters and buffers (e.g. BatchNorm's)."""
    with torch.no_grad():
        for p in tlayer.parameters():
            p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(7)))
        for name, b in tlayer.named_buffers():
            if name.endswith("running_var"):
                b.copy_(torch.rand(b.shape) + 0.5)
            elif name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape))


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name,make,make_torch,shapes", LAYERS, ids=[row[0] for row in LAYERS])
def test_layer_matches_torch(name, make, make_torch, shapes, train):
    for shape in shapes:
        tlayer = make_torch()
        _randomize(tlayer)
        layer = make()
        args = shape if isinstance(shape[0], tuple) else (shape,)
        _check_twin(layer, tlayer, *args, train=train)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers_keep_dtype(dtype):
    for layer in (nn.Linear(3, 2), nn.BatchNorm1d(3), nn.LayerNorm(3), nn.ReLU()):
        layer.to(dtype)
        out = layer(cr.tensor(RNG.standard_normal((4, 3)).astype(dtype)))
        assert out.dtype == dtype, type(layer).__name__


def test_embedding_matches_torch():
    for padding_idx in (None, 0, -1):
        temb = torch.nn.Embedding(7, 3, padding_idx=padding_idx)
        emb = nn.Embedding(7, 3, padding_idx=padding_idx)
        idx = np.array([[0, 2, 6], [2, 2, 1]], dtype=np.int64)  # repeats accumulate
        for train in (True, False):
            emb.zero_grad()
            temb.zero_grad()
            _check_twin(emb, temb, train=train, int_input=idx)
    assert not nn.Embedding(5, 2, padding_idx=3).weight.detach().numpy()[3].any()
    with pytest.raises(IndexError, match="out of range for 7"):
        emb(cr.tensor([7]))


def test_embedding_max_norm_matches_torch():
    temb = torch.nn.Embedding(6, 4, max_norm=1.0)
    emb = nn.Embedding(6, 4, max_norm=1.0)
    _copy_weights(temb, emb)
    idx = np.array([1, 3, 3, 5])
    out = emb(cr.tensor(idx))
    tout = temb(torch.tensor(idx))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(emb.weight.detach().numpy(), temb.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
@pytest.mark.parametrize("shape", [(16, 4), (6, 4, 5)])
def test_batchnorm_running_stats_follow_torch_over_steps(momentum, shape):
    tbn = torch.nn.BatchNorm1d(4, momentum=momentum)
    bn = nn.BatchNorm1d(4, momentum=momentum)
    _copy_weights(tbn, bn)
    for step in range(5):
        x = (RNG.standard_normal(shape) * 3 + step).astype(np.float32)
        y = bn(cr.tensor(x))
        ty = tbn(torch.tensor(x))
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(bn, name).numpy(), getattr(tbn, name).numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=name)
    assert int(bn.num_batches_tracked.item()) == int(tbn.num_batches_tracked.item()) == 5
    bn.eval()
    tbn.eval()
    x = RNG.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(bn(cr.tensor(x)).detach().numpy(),
                               tbn(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_batchnorm_unbiased_running_var_by_hand():
    bn = nn.BatchNorm1d(1, momentum=1.0)
    x = np.array([[1.0], [2.0], [4.0]], dtype=np.float32)
    bn(cr.tensor(x))
    # momentum 1: the running variance is the batch variance with B / (B - 1)
    np.testing.assert_allclose(bn.running_var.numpy(), [np.var(x, ddof=1)], rtol=1e-6)
    np.testing.assert_allclose(bn.running_mean.numpy(), [np.mean(x)], rtol=1e-6)


def test_batchnorm_errors():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        bn(cr.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match="expected 3 channels"):
        bn(cr.zeros(2, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(cr.zeros(1, 3))


def test_batchnorm_is_one_node_forward_and_backward():
    bn = nn.BatchNorm1d(3)
    x = cr.randn(4, 3, requires_grad=True)
    y = bn(x)
    assert type(y.grad_fn).__name__ == "BatchNormTrain"
    assert all(a.grad_fn is None for a in y.grad_fn.inputs())
    ln = nn.LayerNorm(3)
    assert type(ln(x).grad_fn).__name__ == "LayerNorm"


def test_dropout_statistics():
    cr.manual_seed(0)
    p = 0.3
    drop = nn.Dropout(p)
    z = cr.full((200, 500), 2.0)
    y = drop(z).numpy()
    kept = y != 0
    assert abs(1 - kept.mean() - p) < 0.01            # drops about p of the units
    np.testing.assert_allclose(y[kept], 2.0 / (1 - p), rtol=1e-6)  # inverted scaling
    assert abs(y.mean() - 2.0) < 0.02                   # E[y] = z
    drop.eval()
    assert drop(z) is z                                 # identity in eval mode
    assert nn.Dropout(1.0)(z).numpy().sum() == 0


def test_dropout_gradient_uses_the_same_mask_and_generator_reproduces():
    x = cr.randn(50, 40, requires_grad=True)
    g = cr.Generator().manual_seed(3)
    y = nn.Dropout(0.5, generator=g)(x)
    y.sum().backward()
    mask = (y.detach().numpy() != 0) * 2.0
    np.testing.assert_array_equal(x.grad.numpy(), mask)
    y2 = nn.Dropout(0.5, generator=cr.Generator().manual_seed(3))(x)
    np.testing.assert_array_equal(y.detach().numpy(), y2.detach().numpy())
    cr.manual_seed(11)
    a = nn.functional.dropout(x, 0.5).detach().numpy()
    cr.manual_seed(11)
    b = nn.functional.dropout(x, 0.5).detach().numpy()
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_linear_default_init_distribution():
    cr.manual_seed(0)
    fc = nn.Linear(400, 300)
    w = fc.weight.detach().numpy()
    bound = 1 / np.sqrt(400)
    assert w.shape == (300, 400) and np.abs(w).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound  # U(-b, b) has std b / sqrt(3)
    b = fc.bias.detach().numpy()
    assert np.abs(b).max() <= bound and b.std() > 0.3 * bound
    cr.manual_seed(0)
    np.testing.assert_array_equal(nn.Linear(400, 300).weight.detach().numpy(), w)


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is in the [test] extra
    given = None

if given is not None:
    @settings(max_examples=25, deadline=None)
    @given(n=st.integers(2, 6), c=st.integers(1, 5), length=st.integers(0, 4),
           train=st.booleans(), scale=st.floats(0.01, 100.0), seed=st.integers(0, 2**16))
    def test_norm_layers_match_torch_on_drawn_shapes(n, c, length, train, scale, seed):
        rng = np.random.default_rng(seed)
        shape = (n, c) if length == 0 else (n, c, length)
        x = (rng.standard_normal(shape) * scale).astype(np.float32)
        pairs = [(lambda: nn.BatchNorm1d(c), lambda: torch.nn.BatchNorm1d(c))]
        if shape[-1] > 1:  # LayerNorm of one element is exactly 0 (torch's is rounding noise)
            pairs.append((lambda: nn.LayerNorm(shape[-1]), lambda: torch.nn.LayerNorm(shape[-1])))
        for make, make_torch in pairs:
            tlayer = make_torch()
            _randomize(tlayer)
            layer = make()
            _copy_weights(tlayer, layer)
            layer.train(train)
            tlayer.train(train)
            # float64 on both sides: near-degenerate draws (values almost equal, variance ~ eps)
            # amplify float32 rounding in both frameworks; float32 is checked by the table above
            tlayer.double()
            layer.double()
            cx = cr.tensor(x.astype(np.float64), requires_grad=True)
            tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
            out, tout = layer(cx), tlayer(tx)
            np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(),
                                       rtol=1e-7, atol=1e-9)
            g = rng.standard_normal(shape).astype(np.float32)
            out.backward(cr.tensor(g, dtype=cr.float64))
            tout.backward(torch.tensor(g, dtype=torch.float64))
            np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-7, atol=1e-9)
            tparams = dict(tlayer.named_parameters())
            for name, p in layer.named_parameters():
                np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(),
                                           rtol=1e-7, atol=1e-9)
            for name, b in tlayer.named_buffers():
                np.testing.assert_allclose(getattr(layer, name).numpy(), b.numpy(), rtol=1e-7)


def test_embedding_from_pretrained():
    w = cr.randn(4, 2)
    frozen = nn.Embedding.from_pretrained(w)
    assert not frozen.weight.requires_grad and frozen.weight._array is not w._array
    np.testing.assert_array_equal(frozen(cr.tensor([3])).numpy(), w.numpy()[[3]])
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    with pytest.raises(ValueError, match="sparse"):
        nn.Embedding(3, 2, sparse=True)
