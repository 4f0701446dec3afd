"""Rprop: per-coordinate step sizes that grow while the gradient keeps its sign and shrink
when it flips; only the gradient's sign is used.

    >>> model = nn.Linear(3, 1)
    >>> opt = cr.optim.Rprop(model.parameters(), lr=1e-2)   # full-batch training
    >>> model(cr.ones(2, 3)).sum().backward(); opt.step()
    >>> sorted(opt.state[model.weight])      # torch's state names
    ['prev', 'step', 'step_size']
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_hyper


def rprop_update(param, grad, prev, step_size, tmp, tmp2, *, etaminus, etaplus, step_size_min,
                 step_size_max, maximize):
    """One Rprop step in place on arrays; ``prev`` is the last gradient that was used.

        g = -grad if maximize else grad
        s = sign(g * prev)
        step_size *= etaplus where s > 0, etaminus where s < 0 (1 where s = 0),
                     then clipped to [step_size_min, step_size_max]
        g = 0 where s < 0            (after a sign flip, wait one step: Rprop without
                                      weight backtracking, as in PyTorch)
        w -= sign(g) * step_size;   prev = g

    (Riedmiller & Braun, 1993.) The first step_size is the lr.
    """
    g = np.negative(grad, out=tmp) if maximize else grad
    factor = np.multiply(g, prev, out=tmp2)
    np.sign(factor, out=factor)
    flipped = factor < 0
    np.copyto(factor, etaplus, where=factor > 0)
    np.copyto(factor, etaminus, where=flipped)
    np.copyto(factor, 1, where=factor == 0)
    step_size *= factor
    np.clip(step_size, step_size_min, step_size_max, out=step_size)
    np.copyto(prev, g)
    np.copyto(prev, 0, where=flipped)
    update = np.sign(prev, out=tmp2)
    update *= step_size
    param -= update


class Rprop(Optimizer):
    """Resilient backpropagation, like ``torch.optim.Rprop``; the update is in
    :func:`rprop_update`. Meant for full-batch training: mini-batch noise flips signs.

    Args: ``lr=1e-2`` (the first step size), ``etas=(0.5, 1.2)`` (shrink and growth
    factors), ``step_sizes=(1e-6, 50)`` (the bounds of a step), ``maximize=False``.

        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = cr.optim.Rprop([w], lr=0.01)
        >>> for _ in range(2):                  # two steps on sum(w ** 2)
        ...     opt.zero_grad(); (w ** 2).sum().backward(); opt.step()
        >>> w                                   # torch.optim.Rprop's numbers
        tensor([ 0.9780, -1.9780], requires_grad=True)
    """

    implementation_flags = ("foreach", "capturable", "differentiable")

    update = staticmethod(rprop_update)
    update_takes_step = False  # torch counts Rprop's steps, the update does not use them

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 maximize=False):
        check_hyper("learning rate", lr)
        etas = tuple(float(e) for e in etas)
        if len(etas) != 2 or not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {', '.join(map(str, etas))} (Rprop needs "
                             "0 < etaminus < 1 < etaplus)")
        step_sizes = tuple(step_sizes)
        if len(step_sizes) != 2 or not 0 <= step_sizes[0] <= step_sizes[1]:
            raise ValueError(f"Invalid step_sizes: {step_sizes} (Rprop needs "
                             "0 <= min <= max)")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize)
        super().__init__(params, defaults)

    def _hyper(self, group):
        etaminus, etaplus = (float(e) for e in group["etas"])
        step_size_min, step_size_max = (float(s) for s in group["step_sizes"])
        return dict(etaminus=etaminus, etaplus=etaplus, step_size_min=step_size_min,
                    step_size_max=step_size_max, maximize=group["maximize"])

    def _state_spec(self, group):
        return (("prev", 0), ("step_size", float(group["lr"])))
