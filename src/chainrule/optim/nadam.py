"""NAdam: Adam with Nesterov momentum, its momentum warming up over the first steps.

    >>> model = nn.Linear(3, 1)
    >>> opt = cr.optim.NAdam(model.parameters(), lr=2e-3, momentum_decay=4e-3)
    >>> model(cr.ones(2, 3)).sum().backward(); opt.step()
    >>> sorted(opt.state[model.weight])      # torch's state names
    ['exp_avg', 'exp_avg_sq', 'mu_product', 'step']
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import _make
from .optimizer import Optimizer, check_betas, check_hyper, effective_grad, lerp_


def nadam_mu(beta1: float, momentum_decay: float, step) -> float:
    """The momentum coefficient of step ``step``: ``beta1 * (1 - 0.96^(step * psi) / 2)``."""
    return beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))


def nadam_update(param, grad, exp_avg, exp_avg_sq, tmp, tmp2, *, step, mu_product, lr, beta1,
                 beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize):
    """One NAdam step in place on arrays; ``step`` counts from 1 and ``mu_product`` is
    mu_1 * ... * mu_t, this step's mu included (the optimizer keeps it in its state).

        g = -grad if maximize else grad
        w = w * (1 - lr * weight_decay)          decoupled_weight_decay (as AdamW)
        g = g + weight_decay * w                 otherwise (L2 in the gradient)
        mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))
        m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
        d = sqrt(v / (1 - beta2^t)) + eps
        w -= lr * (1 - mu_t) / (1 - mu_product) * g / d
        w -= lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / d

    The first moment is bias-corrected by the product of the mu's (Dozat, 2016), not by
    1 - beta1^t; decoupled weight decay is NAdamW, as in PyTorch.
    """
    if weight_decay != 0 and decoupled_weight_decay:
        param *= 1 - lr * weight_decay
        g = effective_grad(param, grad, 0, maximize, tmp)
    else:
        g = effective_grad(param, grad, weight_decay, maximize, tmp)
    mu = nadam_mu(beta1, momentum_decay, step)
    mu_next = nadam_mu(beta1, momentum_decay, step + 1)
    lerp_(exp_avg, g, 1 - beta1, tmp2)
    exp_avg_sq *= beta2
    sq = np.multiply(g, 1 - beta2, out=tmp2)
    sq *= g
    exp_avg_sq += sq
    denom = np.divide(exp_avg_sq, 1 - beta2 ** step, out=tmp2)
    np.sqrt(denom, out=denom)
    denom += eps
    # The gradient's term first: g (maybe in tmp) is free once it is written into tmp.
    term = np.divide(g, denom, out=tmp)
    term *= -lr * (1.0 - mu) / (1.0 - mu_product)
    param += term
    term = np.divide(exp_avg, denom, out=tmp)
    term *= (-lr * mu_next) / (1.0 - mu_product * mu_next)
    param += term


class NAdam(Optimizer):
    """NAdam (Dozat), like ``torch.optim.NAdam``; the update is in :func:`nadam_update`.

    Args: ``lr=2e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``, ``weight_decay=0``,
    ``momentum_decay=4e-3`` (how fast the momentum warms up to beta1),
    ``decoupled_weight_decay=False`` (True: NAdamW), ``maximize=False``.

        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = cr.optim.NAdam([w], lr=0.002, weight_decay=0.01, decoupled_weight_decay=True)
        >>> for _ in range(2):                  # two steps on sum(w ** 2)
        ...     opt.zero_grad(); (w ** 2).sum().backward(); opt.step()
        >>> w                                   # torch.optim.NAdam's numbers
        tensor([ 0.9963, -1.9962], requires_grad=True)
    """

    implementation_flags = ("foreach", "capturable", "differentiable")

    update = staticmethod(nadam_update)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, maximize=False):
        check_hyper("learning rate", lr)
        check_hyper("epsilon value", eps)
        betas = check_betas(betas)
        check_hyper("weight_decay value", weight_decay)
        check_hyper("momentum_decay value", momentum_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _hyper(self, group):
        beta1, beta2 = (float(b) for b in group["betas"])
        return dict(lr=float(group["lr"]), beta1=beta1, beta2=beta2, eps=float(group["eps"]),
                    weight_decay=float(group["weight_decay"]),
                    momentum_decay=float(group["momentum_decay"]),
                    decoupled_weight_decay=group["decoupled_weight_decay"],
                    maximize=group["maximize"])

    def _state_spec(self, group):
        return (("exp_avg", 0), ("exp_avg_sq", 0))

    def _init_state(self, p, state, spec, group):
        if "mu_product" not in state:
            # A float32 scalar, like torch's (its rounding is part of the trajectory).
            xp = backend.get_array_module(p._array)
            state["mu_product"] = _make(xp.ones((), np.float32))
        return super()._init_state(p, state, spec, group)

    def _update_param(self, p, grad, state, spec, hyper, fresh):
        mu_product = state["mu_product"]._array
        mu_product *= nadam_mu(hyper["beta1"], hyper["momentum_decay"], hyper["step"])
        super()._update_param(p, grad, state, spec, dict(hyper, mu_product=float(mu_product)),
                              fresh)
