"""PyTorch eager: the same cases written the way a PyTorch user writes them."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import cnn
from .cases import ADAM_LR, LR, Case, op_spec


def _mlp(case: Case, weights):
    layers = []
    for i, (W, b) in enumerate(weights):
        lin = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(weights) - 1:
            layers.append(torch.nn.Tanh() if case.act == "tanh" else torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def _batches(data):
    return [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data["batches"]]


class TorchTrain:
    name = "torch"

    def __init__(self, case: Case, data):
        self.model = _mlp(case, data["weights"])
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)
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
        return str(self.last_loss.dtype).replace("torch.", "")

    def loss(self):
        return float(self.last_loss.item())

    def params(self):
        return [p.detach().numpy() for p in self.model.parameters()]

    def grads(self):
        return [p.grad.numpy() for p in self.model.parameters()]


class TorchInfer:
    name = "torch"

    def __init__(self, case: Case, data):
        self.model = _mlp(case, data["weights"])
        self.batches = _batches(data)
        self.i = 0
        self.last = None

    def step(self):
        x, _ = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        with torch.no_grad():
            self.last = self.model(x)
        return self.last

    def recorded(self):
        return bool(self.last.requires_grad)

    def output(self):
        return self.last.numpy()


class TorchAdam:
    name = "torch"

    def __init__(self, case: Case, data):
        self.ps = [torch.from_numpy(p.copy()).requires_grad_() for p in data["params"]]
        for p, g in zip(self.ps, data["grads"]):
            p.grad = torch.from_numpy(g.copy())
        self.opt = torch.optim.Adam(self.ps, lr=ADAM_LR)  # PyTorch's default implementation

    def step(self):
        self.opt.step()

    def params(self):
        return [p.detach().numpy() for p in self.ps]


class TorchOp:
    name = "torch"

    def __init__(self, case: Case, data):
        spec = op_spec(case.variant)
        self.pow, self.exponent = spec.op == "pow", spec.exponent
        tensors = [torch.from_numpy(v.copy()).requires_grad_(spec.grad) for v in data["values"]]
        self.a, self.b = tensors[0], (tensors[1] if len(tensors) > 1 else None)
        self.n = case.ops
        self.backward = spec.backward
        self.ones = torch.ones_like(self.a) if self.pow else None
        self.last = None

    def step(self):
        a, b = self.a, self.b
        if self.pow:
            e = self.exponent
            for _ in range(self.n):
                c = torch.pow(a, e)
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
        return self.last.detach().numpy()

    def recorded(self):
        return bool(self.last.requires_grad)

    def op_grads(self):
        return [t.grad.numpy() for t in (self.a, self.b) if t is not None]


class TorchCNN(TorchTrain):
    def __init__(self, case: Case, data):
        self.model = cnn.model(case, data["weights"], torch)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)
        self.batches = _batches(data)
        self.i = 0
        self.last_loss = None


def build(case: Case, data):
    if case.model != "mlp":  # the sequence models (issue 14)
        from . import seq_step  # noqa: PLC0415
        return seq_step.build(case, data, "torch")
    return {"train": TorchTrain, "infer": TorchInfer, "adam": TorchAdam,
            "op": TorchOp, "cnn": TorchCNN}[case.kind](case, data)


def set_threads(n: int) -> None:
    torch.set_num_threads(n)


def version() -> str:
    return torch.__version__


def blas() -> str:
    cfg = torch.__config__.show()
    if "Math Kernel Library" in cfg or "BLAS_INFO=mkl" in cfg:
        return "MKL"
    for line in cfg.splitlines():
        if "BLAS_INFO=" in line:
            return line.split("BLAS_INFO=")[1].split(",")[0]
    return "unknown"


