"""Adagrad: per-coordinate steps shrinking with the sum of squared gradients.

    >>> model = nn.Linear(3, 1)
    >>> opt = cr.optim.Adagrad(model.parameters(), lr=1e-2, lr_decay=1e-4)
    >>> model(cr.ones(2, 3)).sum().backward(); opt.step()
    >>> sorted(opt.state[model.weight])      # torch's state names
    ['step', 'sum']
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_hyper, effective_grad


def adagrad_update(param, grad, state_sum, tmp, tmp2, *, step, lr, lr_decay, weight_decay,
                   eps, maximize):
    """One Adagrad step in place on arrays; ``step`` counts from 1.

        g = -grad if maximize else grad;   g += weight_decay * w
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g^2
        w -= clr * g / (sqrt(s) + eps)
    """
    g = effective_grad(param, grad, weight_decay, maximize, tmp)
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum += np.multiply(g, g, out=tmp2)
    std = np.sqrt(state_sum, out=tmp2)
    std += eps
    update = np.multiply(g, -clr, out=tmp)
    update /= std
    param += update


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), like ``torch.optim.Adagrad``; the update is in
    :func:`adagrad_update`.

    Args: ``lr=1e-2``, ``lr_decay=0``, ``weight_decay=0``, ``initial_accumulator_value=0``,
    ``eps=1e-10``, ``maximize=False``.

        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = cr.optim.Adagrad([w], lr=0.1)
        >>> for _ in range(2):                  # two steps on sum(w ** 2)
        ...     opt.zero_grad(); (w ** 2).sum().backward(); opt.step()
        >>> w                                   # torch.optim.Adagrad's numbers
        tensor([ 0.8331, -1.8311], requires_grad=True)
    """

    implementation_flags = ("foreach", "differentiable", "fused")

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, *, maximize=False):
        check_hyper("learning rate", lr)
        check_hyper("lr_decay value", lr_decay)
        check_hyper("weight_decay value", weight_decay)
        check_hyper("initial_accumulator_value value", initial_accumulator_value)
        check_hyper("epsilon value", eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        # Like torch, the accumulators exist from the start (so state_dict shows them).
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, self.state[p], self._state_spec(group), group)

    update = staticmethod(adagrad_update)

    def _hyper(self, group):
        return dict(lr=float(group["lr"]), lr_decay=float(group["lr_decay"]),
                    weight_decay=float(group["weight_decay"]), eps=float(group["eps"]),
                    maximize=group["maximize"])

    def _state_spec(self, group):
        return (("sum", group["initial_accumulator_value"]),)
