"""PyTorch eager on the sequence cases, the same code as ``seq_chainrule.py``: nn.LSTM +
nn.Linear + F.cross_entropy, and nn.TransformerEncoderLayer(norm_first=True); optim.SGD."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn, optim

from .cases import LR, Case


class LSTMClassifier(nn.Module):
    def __init__(self, n_in, hidden, classes):
        super().__init__()
        self.rnn = nn.LSTM(n_in, hidden)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        _, (h_n, _) = self.rnn(x)
        return self.head(h_n[0])


def _load(model, weights):
    model.load_state_dict({name: torch.from_numpy(w.copy()) for name, w in weights})
    return model


class TorchSeq:
    name = "torch"

    def __init__(self, case: Case, data):
        if case.model == "lstm":
            self.model = _load(LSTMClassifier(*case.sizes), data["weights"])
        else:
            D, heads, FF = case.sizes
            self.model = _load(nn.TransformerEncoderLayer(D, heads, FF, dropout=0.0,
                                                          activation="gelu", batch_first=True,
                                                          norm_first=True), data["weights"])
        self.kind = case.model
        self.opt = optim.SGD(self.model.parameters(), lr=LR)
        self.batches = [(torch.from_numpy(x), None if y is None else torch.from_numpy(y))
                        for x, y in data["batches"]]
        self.i = 0
        self.last_loss = None

    def step(self):
        x, y = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        self.opt.zero_grad()
        out = self.model(x)
        loss = F.cross_entropy(out, y) if self.kind == "lstm" else (out * out).mean()
        loss.backward()
        self.opt.step()
        self.last_loss = loss
        return loss

    def loss_dtype(self):
        return str(self.last_loss.dtype).replace("torch.", "")

    def loss(self):
        return float(self.last_loss.item())

    def params(self):
        return [p.detach().numpy() for p in self.model.parameters()]

    def grads(self):
        return [p.grad.numpy() for p in self.model.parameters()]


def build(case: Case, data):
    return TorchSeq(case, data)
