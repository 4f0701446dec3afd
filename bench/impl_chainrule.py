"""chainrule: the same cases written the way a chainrule user writes them.

``nn.Sequential`` of ``nn.Linear`` and ``nn.ReLU``/``nn.Tanh``, ``F.cross_entropy``,
``optim.SGD`` / ``optim.Adam``, ``loss.backward()``, ``opt.zero_grad()``, ``opt.step()``.
"""

from __future__ import annotations

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim

from . import cnn
from .cases import ADAM_LR, LR, Case, op_spec


def _mlp(case: Case, weights):
    layers = []
    for i, (W, b) in enumerate(weights):
        lin = nn.Linear(W.shape[1], W.shape[0])
        with cr.no_grad():
            lin.weight.copy_(cr.from_numpy(W))
            lin.bias.copy_(cr.from_numpy(b))
        layers.append(lin)
        if i < len(weights) - 1:
            layers.append(nn.Tanh() if case.act == "tanh" else nn.ReLU())
    return nn.Sequential(*layers)


def _batches(data):
    return [(cr.from_numpy(x), cr.from_numpy(y)) for x, y in data["batches"]]


class ChainruleTrain:
    name = "chainrule"

    def __init__(self, case: Case, data):
        self.model = _mlp(case, data["weights"])
        self.opt = optim.SGD(self.model.parameters(), lr=LR)
        self.batches = _batches(data)
        self.i = 0
        self.last_loss = None

    def step(self):
        x, y = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        self.opt.zero_grad()
        loss = F.cross_entropy(self.model(x), y)
        loss.backward()
        self.opt.step()
        self.last_loss = loss
        return loss

    def loss_dtype(self):
        return self.last_loss.dtype

    def loss(self):
        return float(self.last_loss.item())

    def params(self):
        return [p._array for p in self.model.parameters()]

    def grads(self):
        return [p.grad._array for p in self.model.parameters()]


class ChainruleInfer:
    name = "chainrule"

    def __init__(self, case: Case, data):
        self.model = _mlp(case, data["weights"])
        self.batches = _batches(data)
        self.i = 0
        self.last = None

    def step(self):
        x, _ = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        with cr.no_grad():
            self.last = self.model(x)
        return self.last

    def recorded(self):
        return bool(self.last.requires_grad)

    def output(self):
        return self.last._array


class ChainruleAdam:
    name = "chainrule"

    def __init__(self, case: Case, data):
        self.ps = [nn.Parameter(cr.from_numpy(p.copy())) for p in data["params"]]
        for p, g in zip(self.ps, data["grads"]):
            p.grad = cr.from_numpy(g.copy())
        self.opt = optim.Adam(self.ps, lr=ADAM_LR)

    def step(self):
        self.opt.step()

    def params(self):
        return [p._array for p in self.ps]


class ChainruleOp:
    name = "chainrule"

    def __init__(self, case: Case, data):
        spec = op_spec(case.variant)
        self.pow, self.exponent = spec.op == "pow", spec.exponent
        self.a, self.b = self._operands(data["values"], spec.grad)
        self.n = case.ops
        self.backward = spec.backward
        self.ones = cr.ones_like(self.a) if self.pow else None
        self.last = None

    @staticmethod
    def _operands(values, grad):
        tensors = [cr.tensor(v, requires_grad=grad) for v in values]
        return tensors[0], (tensors[1] if len(tensors) > 1 else None)

    def step(self):
        a, b = self.a, self.b
        if self.pow:
            e = self.exponent
            for _ in range(self.n):
                c = a ** e
                if self.backward:
                    c.backward(self.ones)
        elif self.backward:
            for _ in range(self.n):
                c = a + b
                c.backward()
        else:
            for _ in range(self.n):
                c = a + b
        self.last = c
        return c

    def output(self):
        return self.last._array

    def recorded(self):
        return bool(self.last.requires_grad)

    def op_grads(self):
        return [t.grad._array for t in (self.a, self.b) if t is not None]


class ChainruleCNN(ChainruleTrain):
    def __init__(self, case: Case, data):
        self.model = cnn.model(case, data["weights"], cr)
        self.opt = optim.SGD(self.model.parameters(), lr=LR)
        self.batches = _batches(data)
        self.i = 0
        self.last_loss = None


def build(case: Case, data):
    if case.model != "mlp":  # the sequence models (issue 14)
        from . import seq_step  # noqa: PLC0415
        return seq_step.build(case, data, "chainrule")
    return {"train": ChainruleTrain, "infer": ChainruleInfer, "adam": ChainruleAdam,
            "op": ChainruleOp, "cnn": ChainruleCNN}[case.kind](case, data)
