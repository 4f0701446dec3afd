"""chainrule compiled: the chainrule implementations with their step in ``cr.compile``.

The whole training step (zero_grad, forward, loss, backward, optimizer step) is one
compiled function of the batch, captured at the first step and replayed after; inference
is ``cr.compile(model)`` called under ``no_grad``. The Adam-alone and per-op cases have no
compiled form here (a step of nothing but the optimizer gains nothing from a plan).
"""

from __future__ import annotations

import time

import chainrule as cr
import chainrule.nn.functional as F

from . import impl_chainrule
from .cases import Case

class CompiledTrain:
    """Wraps a chainrule training implementation: the same model, optimizer and batches."""

    name = "compiled"

    def __init__(self, inner, loss_of):
        self.inner = inner
        model, opt = inner.model, inner.opt

        def train_step(x, y):
            opt.zero_grad()
            loss = loss_of(model(x), y)
            loss.backward()
            opt.step()
            return loss

        self.train_step = cr.compile(train_step)
        self._capture_now(model, opt)

    def _capture_now(self, model, opt):
        """Capture at build time on the first batch, then put the weights back: the timed
        and the memory-measured steps are replays (the capture is a one-time cost, reported
        as ``capture_s``), and the checks compare replays with the floor."""
        params = list(model.parameters())
        saved = [p._array.copy() for p in params]
        had_state = bool(opt.state)
        x, y = self.inner.batches[0]
        start = time.perf_counter()
        self.train_step(x, y)
        self.capture_s = time.perf_counter() - start
        for p, w in zip(params, saved):
            p._array[...] = w
            p._grad = None
        if not had_state:
            opt.state.clear()

    def step(self):
        inner = self.inner
        x, y = inner.batches[inner.i]
        inner.i = (inner.i + 1) % len(inner.batches)
        inner.last_loss = self.train_step(x, y)
        return inner.last_loss

    def __getattr__(self, name):  # model, opt, batches: the chainrule implementation's
        return getattr(self.inner, name)

    def loss_dtype(self):
        return self.inner.loss_dtype()

    def loss(self):
        return self.inner.loss()

    def params(self):
        return self.inner.params()

    def grads(self):
        return self.inner.grads()


class CompiledInfer:
    name = "compiled"

    def __init__(self, inner):
        self.inner = inner
        self.forward = cr.compile(inner.model)

    def step(self):
        inner = self.inner
        x, _ = inner.batches[inner.i]
        inner.i = (inner.i + 1) % len(inner.batches)
        with cr.no_grad():
            inner.last = self.forward(x)
        return inner.last

    def recorded(self):
        return self.inner.recorded()

    def output(self):
        return self.inner.output()


def _mean_square(out, _):
    return (out * out).mean()


def build(case: Case, data):
    """The compiled implementation of ``case``, or None where there is none."""
    if case.kind in ("adam", "op"):
        return None
    inner = impl_chainrule.build(case, data)
    if case.kind == "infer":
        return CompiledInfer(inner)
    if case.model == "encoder":
        return CompiledTrain(inner, _mean_square)
    return CompiledTrain(inner, F.cross_entropy)
