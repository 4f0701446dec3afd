"""Adadelta: steps sized by the ratio of running RMS of past updates to that of gradients.

    >>> model = nn.Linear(3, 1)
    >>> opt = cr.optim.Adadelta(model.parameters(), lr=1.0, rho=0.9)
    >>> model(cr.ones(2, 3)).sum().backward(); opt.step()
    >>> sorted(opt.state[model.weight])      # torch's state names
    ['acc_delta', 'square_avg', 'step']
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_hyper, effective_grad


def adadelta_update(param, grad, square_avg, acc_delta, tmp, tmp2, tmp3, *, lr, rho, eps,
                    weight_decay, maximize):
    """One Adadelta step in place on arrays; ``tmp*`` are scratch arrays shaped like ``param``.

        g = -grad if maximize else grad;   g += weight_decay * w
        v = rho * v + (1 - rho) * g^2                      (square_avg)
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta^2                  (acc_delta)
        w -= lr * delta

    ``lr`` scales the step; the paper (Zeiler, 2012) has no learning rate (lr = 1).
    """
    g = effective_grad(param, grad, weight_decay, maximize, tmp)
    square_avg *= rho
    sq = np.multiply(g, 1 - rho, out=tmp2)
    sq *= g
    square_avg += sq
    std = np.add(square_avg, eps, out=tmp2)
    np.sqrt(std, out=std)
    delta = np.add(acc_delta, eps, out=tmp3)
    np.sqrt(delta, out=delta)
    delta /= std
    delta *= g
    acc_delta *= rho
    sq = np.multiply(delta, 1 - rho, out=tmp2)
    sq *= delta
    acc_delta += sq
    param += np.multiply(delta, -lr, out=tmp2)


class Adadelta(Optimizer):
    """Adadelta (Zeiler), like ``torch.optim.Adadelta``; the update is in
    :func:`adadelta_update`.

    Args: ``lr=1.0``, ``rho=0.9``, ``eps=1e-6``, ``weight_decay=0`` (L2, in the gradient),
    ``maximize=False``.

        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = cr.optim.Adadelta([w], lr=1.0)
        >>> for _ in range(2):                  # two steps on sum(w ** 2)
        ...     opt.zero_grad(); (w ** 2).sum().backward(); opt.step()
        >>> w                                   # torch.optim.Adadelta's numbers
        tensor([ 0.9936, -1.9936], requires_grad=True)
    """

    implementation_flags = ("foreach", "capturable", "differentiable")

    update = staticmethod(adadelta_update)
    update_takes_step = False  # torch counts Adadelta's steps, the update does not use them
    scratch_count = 3

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *,
                 maximize=False):
        check_hyper("learning rate", lr)
        check_hyper("rho value", rho, 0.0, 1.0)
        check_hyper("epsilon value", eps)
        check_hyper("weight_decay value", weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _hyper(self, group):
        return dict(lr=float(group["lr"]), rho=float(group["rho"]), eps=float(group["eps"]),
                    weight_decay=float(group["weight_decay"]), maximize=group["maximize"])

    def _state_spec(self, group):
        return (("square_avg", 0), ("acc_delta", 0))
