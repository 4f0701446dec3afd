"""Adamax: Adam with the infinity norm in place of the second moment.

    >>> model = nn.Linear(3, 1)
    >>> opt = cr.optim.Adamax(model.parameters(), lr=2e-3)
    >>> model(cr.ones(2, 3)).sum().backward(); opt.step()
    >>> sorted(opt.state[model.weight])      # torch's state names
    ['exp_avg', 'exp_inf', 'step']
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_betas, check_hyper, effective_grad, lerp_


def adamax_update(param, grad, exp_avg, exp_inf, tmp, tmp2, *, step, lr, beta1, beta2, eps,
                  weight_decay, maximize):
    """One Adamax step in place on arrays; ``step`` counts from 1.

        g = -grad if maximize else grad;   g += weight_decay * w
        m = beta1 * m + (1 - beta1) * g              (computed as lerp(m, g, 1 - beta1))
        u = max(beta2 * u, |g| + eps)                (exp_inf)
        w -= lr / (1 - beta1^t) * m / u

    As in PyTorch, eps goes inside the max (the paper, Kingma & Ba 2015, has none), so u
    is never 0.
    """
    g = effective_grad(param, grad, weight_decay, maximize, tmp)
    lerp_(exp_avg, g, 1 - beta1, tmp2)
    exp_inf *= beta2
    norm = np.abs(g, out=tmp2)
    norm += eps
    np.maximum(exp_inf, norm, out=exp_inf)
    clr = lr / (1 - beta1 ** step)
    update = np.divide(exp_avg, exp_inf, out=tmp2)
    update *= -clr
    param += update


class Adamax(Optimizer):
    """Adamax (Kingma & Ba), like ``torch.optim.Adamax``; the update is in
    :func:`adamax_update`.

    Args: ``lr=2e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``, ``weight_decay=0`` (L2, in the
    gradient), ``maximize=False``.

        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = cr.optim.Adamax([w], lr=0.002)
        >>> for _ in range(2):                  # two steps on sum(w ** 2)
        ...     opt.zero_grad(); (w ** 2).sum().backward(); opt.step()
        >>> w                                   # torch.optim.Adamax's numbers
        tensor([ 0.9960, -1.9960], requires_grad=True)
    """

    implementation_flags = ("foreach", "capturable", "differentiable")

    update = staticmethod(adamax_update)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *,
                 maximize=False):
        check_hyper("learning rate", lr)
        check_hyper("epsilon value", eps)
        betas = check_betas(betas)
        check_hyper("weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _hyper(self, group):
        beta1, beta2 = (float(b) for b in group["betas"])
        return dict(lr=float(group["lr"]), beta1=beta1, beta2=beta2, eps=float(group["eps"]),
                    weight_decay=float(group["weight_decay"]), maximize=group["maximize"])

    def _state_spec(self, group):
        return (("exp_avg", 0), ("exp_inf", 0))
