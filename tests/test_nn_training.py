"""Models trained by hand: why random init matters (symmetry), and a chainrule model that
follows PyTorch's trajectory step by step with copied weights."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

RNG = np.random.default_rng(0)
X = RNG.standard_normal((32, 4)).astype(np.float32)
Y = RNG.integers(0, 3, 32)


def _mlp(act=nn.Sigmoid):
    return nn.Sequential(nn.Linear(4, 6), act(), nn.Linear(6, 3))


def _sgd_steps(model, steps=20, lr=0.5):
    loss_fn = nn.CrossEntropyLoss()
    x, y = cr.tensor(X), cr.tensor(Y)
    for _ in range(steps):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        with cr.no_grad():
            for p in model.parameters():
                p.sub_(lr * p.grad)
    return loss.item()


def _hidden_units_identical(model):
    W1, b1 = model[0].weight.detach().numpy(), model[0].bias.detach().numpy()
    W2 = model[2].weight.detach().numpy()
    return (np.allclose(W1, W1[:1]) and np.allclose(b1, b1[0])
            and np.allclose(W2, W2[:, :1]))


@pytest.mark.parametrize("fill", [0.0, 0.3])
def test_constant_init_keeps_hidden_units_identical(fill):
    model = _mlp()
    for p in model.parameters():
        nn.init.constant_(p, fill)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    _sgd_steps(model)
    after = [p.detach().numpy() for p in model.parameters()]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))  # it did train...
    assert _hidden_units_identical(model)  # ...but every hidden unit learned the same thing


def test_random_init_breaks_the_symmetry():
    cr.manual_seed(0)
    model = _mlp()
    first = _sgd_steps(model, steps=1)
    last = _sgd_steps(model, steps=30)
    assert not _hidden_units_identical(model)
    assert last < first


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.bn = nn.BatchNorm1d(8)
        self.fc2 = nn.Linear(8, 8)
        self.ln = nn.LayerNorm(8)
        self.drop = nn.Dropout(0.0)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        h = nn.functional.relu(self.bn(self.fc1(x)))
        h = nn.functional.gelu(self.ln(self.fc2(h)))
        return self.out(self.drop(h))


class _TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 8)
        self.bn = torch.nn.BatchNorm1d(8)
        self.fc2 = torch.nn.Linear(8, 8)
        self.ln = torch.nn.LayerNorm(8)
        self.drop = torch.nn.Dropout(0.0)
        self.out = torch.nn.Linear(8, 3)

    def forward(self, x):
        h = torch.nn.functional.relu(self.bn(self.fc1(x)))
        h = torch.nn.functional.gelu(self.ln(self.fc2(h)))
        return self.out(self.drop(h))


def test_training_trajectory_matches_torch():
    torch.manual_seed(0)
    tnet, net = _TorchNet(), _Net()
    net.load_state_dict({k: v.numpy().copy() for k, v in tnet.state_dict().items()})
    lr = 0.1
    for step in range(8):
        idx = RNG.choice(32, 16, replace=False)
        x, y = X[idx], Y[idx]
        loss = nn.CrossEntropyLoss(label_smoothing=0.05)(net(cr.tensor(x)), cr.tensor(y))
        tloss = torch.nn.CrossEntropyLoss(label_smoothing=0.05)(tnet(torch.tensor(x)),
                                                                torch.tensor(y))
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5, atol=1e-6)
        net.zero_grad()
        tnet.zero_grad()
        loss.backward()
        tloss.backward()
        with cr.no_grad():
            for p in net.parameters():
                p.sub_(lr * p.grad)
        with torch.no_grad():
            for p in tnet.parameters():
                p.sub_(lr * p.grad)
    tstate = tnet.state_dict()
    for k, v in net.state_dict().items():
        np.testing.assert_allclose(v.numpy(), tstate[k].numpy(), rtol=1e-4, atol=1e-5, err_msg=k)
    net.eval()
    tnet.eval()
    np.testing.assert_allclose(net(cr.tensor(X)).detach().numpy(),
                               tnet(torch.tensor(X)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_second_derivative_through_a_model():
    """A gradient penalty (create_graph=True) through Linear, BatchNorm, LayerNorm, BCE."""
    torch.manual_seed(1)
    tnet, net = _TorchNet(), _Net()
    net.load_state_dict({k: v.numpy().copy() for k, v in tnet.state_dict().items()})
    x = cr.tensor(X[:8], requires_grad=True)
    tx = torch.tensor(X[:8], requires_grad=True)
    target = (RNG.random((8, 3)) < 0.5).astype(np.float32)
    loss = nn.BCEWithLogitsLoss()(net(x), cr.tensor(target))
    tloss = torch.nn.BCEWithLogitsLoss()(tnet(tx), torch.tensor(target))
    (gx,) = cr.autograd.grad(loss, x, create_graph=True)
    (tgx,) = torch.autograd.grad(tloss, tx, create_graph=True)
    (gx * gx).sum().backward()
    (tgx * tgx).sum().backward()
    tparams = dict(tnet.named_parameters())
    for name, p in net.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), rtol=1e-3,
                                   atol=1e-6, err_msg=name)
