"""ASGD: stochastic gradient descent with a decaying step and a running average of the
weights (Polyak-Ruppert averaging), kept in the state as ``ax``.

    >>> model = nn.Linear(3, 1)
    >>> opt = cr.optim.ASGD(model.parameters(), lr=1e-2, t0=1000)
    >>> model(cr.ones(2, 3)).sum().backward(); opt.step()
    >>> sorted(opt.state[model.weight])      # torch's state names
    ['ax', 'eta', 'mu', 'step']
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import _make
from .optimizer import Optimizer, check_hyper, effective_grad


def asgd_update(param, grad, ax, tmp, tmp2, *, eta, mu, lambd, weight_decay, maximize):
    """One ASGD step in place on arrays, with this step's ``eta`` and ``mu``.

        g = -grad if maximize else grad;   g += weight_decay * w
        w = w * (1 - lambd * eta) - eta * g
        ax = w                   if mu == 1 (before averaging starts)
        ax = ax + mu * (w - ax)  otherwise
    """
    g = effective_grad(param, grad, weight_decay, maximize, tmp)
    param *= 1 - lambd * eta
    param += np.multiply(g, -eta, out=tmp2)
    if mu != 1:
        diff = np.subtract(param, ax, out=tmp2)
        diff *= mu
        ax += diff
    else:
        np.copyto(ax, param)


def asgd_schedule(step, *, lr, lambd, alpha, t0):
    """``(eta, mu)`` for the step after ``step``: eta = lr / (1 + lambd lr t)^alpha, and the
    averaging weight mu = 1 / max(1, t - t0) (averaging starts after t0 steps)."""
    return lr / ((1 + lambd * lr * step) ** alpha), 1 / max(1, step - t0)


class ASGD(Optimizer):
    """Averaged SGD (Polyak & Juditsky), like ``torch.optim.ASGD``; the update is in
    :func:`asgd_update` and the decay of eta and mu in :func:`asgd_schedule`. The averaged
    weights are ``opt.state[p]["ax"]``: copy them into the model to evaluate it.

    Args: ``lr=1e-2``, ``lambd=1e-4`` (decay term), ``alpha=0.75`` (power of the eta
    decay), ``t0=1e6`` (the step at which averaging starts), ``weight_decay=0``,
    ``maximize=False``.

        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = cr.optim.ASGD([w], lr=0.01, t0=100)
        >>> for _ in range(2):                  # two steps on sum(w ** 2)
        ...     opt.zero_grad(); (w ** 2).sum().backward(); opt.step()
        >>> w                                   # torch.optim.ASGD's numbers
        tensor([ 0.9604, -1.9208], requires_grad=True)
    """

    implementation_flags = ("foreach", "capturable", "differentiable")

    update = staticmethod(asgd_update)

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, *,
                 maximize=False):
        check_hyper("learning rate", lr)
        check_hyper("weight_decay value", weight_decay)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _hyper(self, group):
        return dict(lr=float(group["lr"]), lambd=float(group["lambd"]),
                    alpha=float(group["alpha"]), t0=float(group["t0"]),
                    weight_decay=float(group["weight_decay"]), maximize=group["maximize"])

    def _state_spec(self, group):
        return (("ax", 0),)

    def _init_state(self, p, state, spec, group):
        # eta and mu are float32 scalars, like torch's (their rounding is in the trajectory).
        xp = backend.get_array_module(p._array)
        if "eta" not in state:
            state["eta"] = _make(xp.full((), float(group["lr"]), np.float32))
        if "mu" not in state:
            state["mu"] = _make(xp.ones((), np.float32))
        return super()._init_state(p, state, spec, group)

    def _update_param(self, p, grad, state, spec, hyper, fresh):
        eta, mu = state["eta"]._array, state["mu"]._array
        arrays = [p._array, grad, state["ax"]._array]
        for (w, g, ax), scratch in self._blocks(arrays, 2):
            asgd_update(w, g, ax, *scratch, eta=float(eta), mu=float(mu), lambd=hyper["lambd"],
                        weight_decay=hyper["weight_decay"], maximize=hyper["maximize"])
        new_eta, new_mu = asgd_schedule(hyper["step"], lr=hyper["lr"], lambd=hyper["lambd"],
                                        alpha=hyper["alpha"], t0=hyper["t0"])
        eta[...] = new_eta
        mu[...] = new_mu
