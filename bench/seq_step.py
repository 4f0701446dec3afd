"""The sequence cases' training step, one program for chainrule and PyTorch alike: nn.LSTM +
nn.Linear + F.cross_entropy, and nn.TransformerEncoderLayer(norm_first=True); optim.SGD.

It is written once against the framework it is given (``chainrule`` or ``torch``, which
have the same API here), so the two are timed running literally the same code.
"""

from __future__ import annotations

import importlib

from .cases import LR, Case


def _classifier(lib):
    """The LSTM case's model: the last hidden state through a Linear, in ``lib``."""
    nn = lib.nn

    class LSTMClassifier(nn.Module):
        def __init__(self, n_in, hidden, classes):
            super().__init__()
            self.rnn = nn.LSTM(n_in, hidden)
            self.head = nn.Linear(hidden, classes)

        def forward(self, x):
            _, (h_n, _) = self.rnn(x)
            return self.head(h_n[0])

    return LSTMClassifier


class SeqStep:
    """One implementation of the lstm / encoder cases, in the framework ``lib``."""

    def __init__(self, name, lib, case: Case, data):
        self.name = name
        self.lib = lib
        if case.model == "lstm":
            model = _classifier(lib)(*case.sizes)
        else:
            D, heads, FF = case.sizes
            model = lib.nn.TransformerEncoderLayer(D, heads, FF, dropout=0.0, activation="gelu",
                                                   batch_first=True, norm_first=True)
        model.load_state_dict({k: lib.from_numpy(w.copy()) for k, w in data["weights"]})
        self.model = model
        self.kind = case.model
        self.opt = lib.optim.SGD(model.parameters(), lr=LR)
        self.batches = [(lib.from_numpy(x), None if y is None else lib.from_numpy(y))
                        for x, y in data["batches"]]
        self.i = 0
        self.last_loss = None

    def step(self):
        x, y = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        self.opt.zero_grad()
        out = self.model(x)
        loss = (self.lib.nn.functional.cross_entropy(out, y) if self.kind == "lstm"
                else (out * out).mean())
        loss.backward()
        self.opt.step()
        self.last_loss = loss
        return loss

    def loss_dtype(self):
        return str(self.last_loss.dtype).split(".")[-1]

    def loss(self):
        return float(self.last_loss.item())

    def params(self):
        return [p.detach().numpy() for p in self.model.parameters()]

    def grads(self):
        return [p.grad.numpy() for p in self.model.parameters()]


def build(case: Case, data, framework: str):
    """The step of ``case`` in ``framework`` ("chainrule" or "torch")."""
    return SeqStep(framework, importlib.import_module(framework), case, data)
