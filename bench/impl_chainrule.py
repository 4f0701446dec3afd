"""chainrule: the same cases written the way a chainrule user writes them.

(Until chainrule.nn / chainrule.optim land, the model is written with the core ops:
the fused ``linear`` and ``cross_entropy`` nodes and a manual SGD under ``no_grad``.)
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.ops.nn_ops import linear

from .cases import ADAM_LR, LR, Case


def _params(weights):
    out = []
    for W, b in weights:
        out.append(cr.from_numpy(W.copy()).requires_grad_())
        out.append(cr.from_numpy(b.copy()).requires_grad_())
    return out


def _batches(data):
    return [(cr.from_numpy(x), cr.from_numpy(y)) for x, y in data["batches"]]


def _forward(params, act, x):
    h = x
    n_layers = len(params) // 2
    for i in range(n_layers):
        h = linear(h, params[2 * i], params[2 * i + 1])
        if i < n_layers - 1:
            h = act(h)
    return h


class ChainruleTrain:
    name = "chainrule"

    def __init__(self, case: Case, data):
        self.ps = _params(data["weights"])
        self.act = cr.tanh if case.act == "tanh" else cr.relu
        self.batches = _batches(data)
        self.i = 0
        self.last_loss = None

    def step(self):
        x, y = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        for p in self.ps:
            p.grad = None
        loss = cr.cross_entropy(_forward(self.ps, self.act, x), y)
        loss.backward()
        with cr.no_grad():
            for p in self.ps:
                p.sub_(p.grad, alpha=LR)
        self.last_loss = loss
        return loss

    def loss(self):
        return float(self.last_loss.item())

    def params(self):
        return [p.data for p in self.ps]

    def grads(self):
        return [p.grad.data for p in self.ps]


class ChainruleInfer:
    name = "chainrule"

    def __init__(self, case: Case, data):
        self.ps = _params(data["weights"])
        self.act = cr.tanh if case.act == "tanh" else cr.relu
        self.batches = _batches(data)
        self.i = 0
        self.last = None

    def step(self):
        x, _ = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        with cr.no_grad():
            self.last = _forward(self.ps, self.act, x)
        return self.last

    def output(self):
        return self.last.data


class ChainruleAdam:
    """A vectorized Adam written with in-place tensor ops (until cr.optim.Adam exists)."""

    name = "chainrule"

    def __init__(self, case: Case, data):
        self.ps = [cr.from_numpy(p.copy()).requires_grad_() for p in data["params"]]
        for p, g in zip(self.ps, data["grads"]):
            p.grad = cr.from_numpy(g.copy())
        self.ms = [np.zeros_like(p.data) for p in self.ps]
        self.vs = [np.zeros_like(p.data) for p in self.ps]
        self.t = 0

    def step(self):
        self.t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        bc1 = 1 - b1 ** self.t
        bc2_sqrt = (1 - b2 ** self.t) ** 0.5
        with cr.no_grad():
            for p, m, v in zip(self.ps, self.ms, self.vs):
                g = p.grad.data
                m *= b1
                m += (1 - b1) * g
                v *= b2
                v += (1 - b2) * g * g
                p.data -= (ADAM_LR / bc1) * m / (np.sqrt(v) / bc2_sqrt + eps)

    def params(self):
        return [p.data for p in self.ps]


class ChainruleOp:
    name = "chainrule"

    def __init__(self, case: Case, data):
        grad = case.variant != "add"
        self.a, self.b = (cr.tensor(v, requires_grad=grad) for v in data["values"])
        self.n = case.ops
        self.backward = case.variant == "add_backward"
        self.last = None

    def step(self):
        a, b = self.a, self.b
        if self.backward:
            for _ in range(self.n):
                c = a + b
                c.backward()
        else:
            for _ in range(self.n):
                c = a + b
        self.last = c
        return c

    def output(self):
        return self.last.data

    def recorded(self):
        return bool(self.last.requires_grad)

    def op_grads(self):
        return [self.a.grad.data, self.b.grad.data]


def build(case: Case, data):
    return {"train": ChainruleTrain, "infer": ChainruleInfer, "adam": ChainruleAdam,
            "op": ChainruleOp}[case.kind](case, data)
