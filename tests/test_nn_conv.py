"""The CNN layers against their torch.nn twins: forward, backward, buffers, repr, init, state_dict
interchange (LeNet and a ResNet block, both ways), summary() counts and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

RNG = np.random.default_rng(4321)


def _copy(src_torch, dst):
    dst.load_state_dict({k: v.detach().numpy().copy() for k, v in src_torch.state_dict().items()})


def _randomize(tlayer):
    with torch.no_grad():
        gen = torch.Generator().manual_seed(5)
        for p in tlayer.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.5)
        for name, b in tlayer.named_buffers():
            if name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=gen) + 0.5)
            elif name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=gen))


def _check_twin(layer, tlayer, shape, train=True, atol=1e-9, extra=()):
    layer.to(np.float64)
    tlayer.double()
    _randomize(tlayer)
    _copy(tlayer, layer)
    layer.train(train)
    tlayer.train(train)
    x = RNG.standard_normal(shape)
    cx = cr.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    out, tout = layer(cx, *extra), tlayer(tx, *extra)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=atol, rtol=1e-8)
    g = RNG.standard_normal(tuple(tout.shape))
    out.backward(cr.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), atol=atol, rtol=1e-8)
    tparams = dict(tlayer.named_parameters())
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), atol=atol,
                                   rtol=1e-8, err_msg=name)
    tbufs = dict(tlayer.named_buffers())
    for name, b in layer.named_buffers():
        np.testing.assert_allclose(b.numpy(), tbufs[name].numpy(), atol=atol, err_msg=name)
    assert str(layer) == str(tlayer)
    assert sorted(layer.state_dict()) == sorted(tlayer.state_dict())


LAYERS = [
    ("Conv2d", lambda m: m.Conv2d(3, 4, 3), (2, 3, 7, 6)),
    ("Conv2d-pad-stride", lambda m: m.Conv2d(3, 4, 5, stride=2, padding=2), (1, 3, 9, 8)),
    ("Conv2d-same", lambda m: m.Conv2d(3, 4, (3, 2), padding="same", dilation=2), (2, 3, 7, 6)),
    ("Conv2d-groups", lambda m: m.Conv2d(4, 6, 3, groups=2, bias=False), (2, 4, 6, 6)),
    ("Conv2d-depthwise", lambda m: m.Conv2d(4, 4, 3, groups=4, padding=1), (2, 4, 6, 6)),
    ("Conv2d-reflect", lambda m: m.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"),
     (2, 3, 6, 5)),
    ("Conv2d-replicate", lambda m: m.Conv2d(3, 4, 3, padding=2, padding_mode="replicate"),
     (2, 3, 6, 5)),
    ("Conv2d-circular", lambda m: m.Conv2d(3, 4, 3, padding=1, padding_mode="circular"),
     (2, 3, 6, 5)),
    ("Conv2d-same-reflect", lambda m: m.Conv2d(3, 2, 4, padding="same", padding_mode="reflect"),
     (2, 3, 6, 5)),
    ("Conv2d-unbatched", lambda m: m.Conv2d(3, 4, 3), (3, 7, 6)),
    ("Conv1d", lambda m: m.Conv1d(3, 5, 3, padding=1), (2, 3, 10)),
    ("Conv1d-stride-dil", lambda m: m.Conv1d(4, 2, 5, stride=2, dilation=2, groups=2), (2, 4, 17)),
    ("Conv1d-circular", lambda m: m.Conv1d(3, 2, 3, padding=1, padding_mode="circular"),
     (2, 3, 8)),
    ("ConvTranspose2d", lambda m: m.ConvTranspose2d(4, 3, 3, stride=2, padding=1,
                                                     output_padding=1), (2, 4, 5, 5)),
    ("ConvTranspose2d-groups", lambda m: m.ConvTranspose2d(4, 6, 2, stride=2, groups=2),
     (2, 4, 3, 4)),
    ("ConvTranspose1d", lambda m: m.ConvTranspose1d(4, 3, 4, stride=2, padding=1), (2, 4, 7)),
    ("MaxPool2d", lambda m: m.MaxPool2d(2), (2, 3, 8, 7)),
    ("MaxPool2d-ceil", lambda m: m.MaxPool2d(3, 2, 1, ceil_mode=True), (2, 3, 8, 7)),
    ("MaxPool1d", lambda m: m.MaxPool1d(3, 2), (2, 3, 11)),
    ("AvgPool2d", lambda m: m.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 8, 7)),
    ("AvgPool2d-div", lambda m: m.AvgPool2d(2, divisor_override=3), (2, 3, 8, 7)),
    ("AvgPool1d", lambda m: m.AvgPool1d(2, ceil_mode=True), (2, 3, 11)),
    ("AdaptiveAvgPool2d", lambda m: m.AdaptiveAvgPool2d((2, 3)), (2, 3, 8, 7)),
    ("AdaptiveAvgPool2d-1", lambda m: m.AdaptiveAvgPool2d(1), (2, 3, 8, 7)),
    ("AdaptiveAvgPool1d", lambda m: m.AdaptiveAvgPool1d(4), (2, 3, 11)),
    ("AdaptiveMaxPool2d", lambda m: m.AdaptiveMaxPool2d(3), (2, 3, 8, 7)),
    ("AdaptiveMaxPool1d", lambda m: m.AdaptiveMaxPool1d(4), (2, 3, 11)),
    ("BatchNorm2d", lambda m: m.BatchNorm2d(3), (4, 3, 5, 4)),
    ("BatchNorm2d-momentum-None", lambda m: m.BatchNorm2d(3, momentum=None), (4, 3, 5, 4)),
    ("BatchNorm1d-NCL", lambda m: m.BatchNorm1d(3), (4, 3, 5)),
    ("GroupNorm", lambda m: m.GroupNorm(2, 4), (2, 4, 5, 3)),
    ("GroupNorm-1d", lambda m: m.GroupNorm(3, 6, affine=False), (2, 6, 5)),
    ("InstanceNorm2d", lambda m: m.InstanceNorm2d(3), (2, 3, 5, 4)),
    ("InstanceNorm2d-affine-stats", lambda m: m.InstanceNorm2d(3, affine=True,
                                                                track_running_stats=True),
     (2, 3, 5, 4)),
    ("InstanceNorm1d", lambda m: m.InstanceNorm1d(3, affine=True), (2, 3, 7)),
    ("Upsample-nearest", lambda m: m.Upsample(scale_factor=2), (2, 3, 4, 5)),
    ("Upsample-bilinear", lambda m: m.Upsample(size=(7, 3), mode="bilinear",
                                                align_corners=True), (2, 3, 4, 5)),
    ("PixelShuffle", lambda m: m.PixelShuffle(2), (2, 8, 3, 4)),
    ("PixelUnshuffle", lambda m: m.PixelUnshuffle(2), (2, 2, 4, 6)),
    ("Unfold", lambda m: m.Unfold(3, padding=1, stride=2), (2, 3, 7, 6)),
    ("Fold", lambda m: m.Fold((4, 5), 2), (2, 12, 12)),
    ("Dropout2d-p0", lambda m: m.Dropout2d(0.0), (2, 3, 4, 4)),
    ("Dropout1d-eval", lambda m: m.Dropout1d(0.5), (2, 3, 4)),
]


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name, make, shape", LAYERS, ids=[r[0] for r in LAYERS])
def test_layer_matches_torch(name, make, shape, train):
    if name == "Dropout1d-eval":
        train = False
    _check_twin(make(nn), make(torch.nn), shape, train=train)


def test_max_unpool2d_layer():
    pool, tpool = nn.MaxPool2d(2, return_indices=True), torch.nn.MaxPool2d(2, return_indices=True)
    x = RNG.standard_normal((2, 3, 6, 5))
    y, idx = pool(cr.tensor(x))
    ty, tidx = tpool(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    unpool, tunpool = nn.MaxUnpool2d(2), torch.nn.MaxUnpool2d(2)
    out = unpool(y, idx, output_size=(6, 5))
    tout = tunpool(ty, tidx, output_size=(6, 5))
    np.testing.assert_allclose(out.numpy(), tout.numpy())
    assert str(unpool) == str(tunpool)


def test_channel_dropout_zeros_whole_channels():
    cr.manual_seed(0)
    x = cr.ones(8, 16, 5, 5)
    y = nn.Dropout2d(0.5)(x).numpy()
    per_channel = y.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    y1 = nn.Dropout1d(0.5)(cr.ones(4, 6, 7)).numpy()
    assert np.all((y1 == 0).all(-1) | (y1 == 2).all(-1))


@pytest.mark.parametrize("make, fan_in", [
    (lambda: nn.Conv2d(3, 8, 5), 3 * 25),
    (lambda: nn.Conv2d(4, 8, 3, groups=2), 2 * 9),
    (lambda: nn.Conv1d(40, 8, 5), 40 * 5),
    (lambda: nn.ConvTranspose2d(8, 6, 3, groups=2), 3 * 9),
])
def test_default_init_is_torchs(make, fan_in):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, fan_in as torch computes it."""
    cr.manual_seed(0)
    layer = make()
    assert torch.nn.init._calculate_fan_in_and_fan_out(
        torch.empty(tuple(layer.weight.shape)))[0] == fan_in
    bound = 1 / math.sqrt(fan_in)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.8 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.2 * bound


def _same_bits(ours, theirs):
    """The same parameters in the same order, bit for bit (dtype and shape included)."""
    a, b = list(ours.named_parameters()), list(theirs.named_parameters())
    assert [n for n, _ in a] == [n for n, _ in b]
    for (name, p), (_, q) in zip(a, b):
        x, y = p.detach().numpy(), q.detach().numpy()
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert np.array_equal(x, y), f"{name}: {np.count_nonzero(x != y)} of {x.size} differ"


@pytest.mark.parametrize("seed", [0, 7, 2147483647])
@pytest.mark.parametrize("make", [
    lambda m: m.Conv1d(3, 8, 5),
    lambda m: m.Conv1d(4, 6, 3, groups=2, bias=False),
    lambda m: m.Conv2d(1, 6, 5, padding=2),
    lambda m: m.Conv2d(4, 8, 3, stride=2, groups=4),
    lambda m: m.ConvTranspose1d(6, 4, 3),
    lambda m: m.ConvTranspose2d(8, 6, 3, groups=2),
    lambda m: m.BatchNorm2d(5),
    lambda m: m.Sequential(m.Conv2d(3, 4, 3), m.BatchNorm2d(4), m.Conv2d(4, 2, 1)),
    lambda m: lenet(m),
], ids=["conv1d", "conv1d_groups_nobias", "conv2d", "conv2d_depthwise", "convtranspose1d",
        "convtranspose2d_groups", "batchnorm2d", "conv_bn_conv", "lenet"])
def test_seeded_init_draws_torchs_weights(make, seed):
    """After the same manual_seed, the layer holds exactly the weights torch builds: the same
    draws (kaiming_uniform_ with a = sqrt(5), then the bias), in the same order."""
    cr.manual_seed(seed)
    ours = make(nn)
    torch.manual_seed(seed)
    theirs = make(torch.nn)
    _same_bits(ours, theirs)
    np.testing.assert_array_equal(cr.rand(5).numpy(), torch.rand(5).numpy())  # in step after


def lenet(m):
    return m.Sequential(
        m.Conv2d(1, 6, 5, padding=2), m.ReLU(), m.MaxPool2d(2),
        m.Conv2d(6, 16, 5), m.ReLU(), m.MaxPool2d(2), m.Flatten(),
        m.Linear(400, 120), m.ReLU(), m.Linear(120, 84), m.ReLU(), m.Linear(84, 10))


def _resnet_block(m):
    class Block(m.Module):
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.conv1 = m.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
            self.bn1 = m.BatchNorm2d(c_out)
            self.relu = m.ReLU()
            self.conv2 = m.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
            self.bn2 = m.BatchNorm2d(c_out)
            self.downsample = m.Sequential(m.Conv2d(c_in, c_out, 1, stride, bias=False),
                                           m.BatchNorm2d(c_out))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + self.downsample(x))
    return Block(4, 8, 2)


@pytest.mark.parametrize("make, shape", [(lenet, (3, 1, 28, 28)), (_resnet_block, (3, 4, 9, 9))],
                         ids=["lenet", "resnet_block"])
@pytest.mark.parametrize("direction", ["torch_to_cr", "cr_to_torch"])
def test_state_dict_interchange(make, shape, direction):
    model, tmodel = make(nn), make(torch.nn)
    assert list(model.state_dict()) == list(tmodel.state_dict())
    if direction == "torch_to_cr":
        _randomize(tmodel)
        _copy(tmodel, model)
    else:
        cr.manual_seed(1)
        model = make(nn)
        tmodel.load_state_dict({k: torch.from_numpy(np.array(v.numpy()))
                                for k, v in model.state_dict().items()})
    x = RNG.standard_normal(shape).astype(np.float32)
    for train in (True, False):
        model.train(train)
        tmodel.train(train)
        out = model(cr.tensor(x, requires_grad=True))
        tout = tmodel(torch.tensor(x))
        np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=2e-5,
                                   rtol=1e-4)
    for k, v in tmodel.state_dict().items():  # buffers moved the same way in training
        np.testing.assert_allclose(model.state_dict()[k].numpy(), v.numpy(), atol=1e-6,
                                   err_msg=k)


def test_summary_counts_lenet(capsys):
    stats = lenet(nn).summary(input_size=(64, 1, 28, 28))
    text = capsys.readouterr().out
    assert stats.total_params == sum(p.numel() for p in lenet(torch.nn).parameters()) == 61706
    row = next(line for line in text.splitlines() if line.startswith("0 "))
    assert "Conv2d" in row and "(64, 6, 28, 28)" in row and "156" in row
    assert "weight 6x1x5x5 + bias 6" in row


def test_cnn_trains_on_digits():
    """A tiny CNN fits a few 8x8 digits: the whole stack (conv, pool, BN, SGD) learns."""
    from chainrule.data.datasets import digits  # noqa: PLC0415
    X, y = digits(flatten=False)
    X, y = X[:256].reshape(-1, 1, 8, 8), y[:256]
    cr.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 16, 10))
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.2


MODULE_ERRORS = [
    (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, r"Conv2d: in_channels 3 must be divisible"),
    (lambda: nn.Conv2d(4, 3, 3, groups=2), ValueError, r"Conv2d: out_channels 3 must be divisible"),
    (lambda: nn.Conv2d(4, 4, 3, padding=-1), ValueError, r"Conv2d: negative padding \(-1, -1\)"),
    (lambda: nn.Conv2d(4, 4, 3, stride=2, padding="same"), ValueError,
     r"Conv2d: padding='same' is not supported for strided"),
    (lambda: nn.Conv2d(4, 4, 3, padding_mode="mirror"), ValueError, r"Conv2d: padding_mode"),
    (lambda: nn.Conv2d(3, 4, 3)(cr.randn(2, 3, 2, 2)), RuntimeError,
     r"conv2d: kernel size \(3, 3\).*padded input \(2, 2\) of input shape \(2, 3, 2, 2\)"),
    (lambda: nn.Conv2d(3, 4, 3)(cr.randn(2, 5, 6, 6)), RuntimeError,
     r"conv2d: weight of shape \(4, 3, 3, 3\).*got input of shape \(2, 5, 6, 6\)"),
    (lambda: nn.Conv2d(3, 4, 3)(cr.randn(6, 6)), ValueError,
     r"conv2d: expected a 3-D \(unbatched\) or 4-D \(batched\) input, got shape \(6, 6\)"),
    (lambda: nn.Conv2d(3, 4, 3)(cr.randn(6, 6, 6)), RuntimeError,
     r"conv2d: .*got input of shape \(1, 6, 6, 6\)"),
    (lambda: nn.BatchNorm2d(3)(cr.randn(2, 3, 4)), ValueError, r"BatchNorm2d: expected 4D input"),
    (lambda: nn.GroupNorm(4, 6), ValueError, r"GroupNorm: num_channels 6 must be divisible"),
    (lambda: nn.MaxPool2d(2)(cr.randn(2, 3)), ValueError, r"max_pool2d: expected a 3-D"),
]


@pytest.mark.parametrize("call, exc, pattern", MODULE_ERRORS)
def test_module_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_viz_draws_a_cnn_as_one_box_per_layer_with_shapes():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    with cr.viz.trace_modules(model):
        out = model(cr.randn(2, 1, 8, 8))
    loss = nn.functional.cross_entropy(out, cr.tensor([0, 2]))
    dot = cr.viz.to_dot(loss, group_modules=True)
    for text in ("Conv2d", "MaxPool2d", "Linear", "2, 4, 8, 8", "2, 4, 4, 4"):
        assert text in dot, text
