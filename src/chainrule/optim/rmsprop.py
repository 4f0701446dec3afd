"""RMSprop: divide the step by a running root mean square of the gradient.

    >>> model = nn.Linear(3, 1)
    >>> opt = cr.optim.RMSprop(model.parameters(), lr=1e-2, alpha=0.99, centered=True)
    >>> model(cr.ones(2, 3)).sum().backward(); opt.step()
    >>> sorted(opt.state[model.weight])      # torch's state names
    ['grad_avg', 'square_avg', 'step']
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_hyper, effective_grad, lerp_


def rmsprop_update(param, grad, square_avg, grad_avg, buf, tmp, tmp2, *, lr, alpha, eps,
                   weight_decay, momentum, centered, maximize):
    """One RMSprop step in place on arrays; ``tmp`` and ``tmp2`` are scratch arrays.

        g = -grad if maximize else grad;   g += weight_decay * w
        v = alpha * v + (1 - alpha) * g^2
        centered:  g_avg = lerp(g_avg, g, 1 - alpha);   s = sqrt(v - g_avg^2) + eps
        otherwise: s = sqrt(v) + eps
        momentum:  buf = momentum * buf + g / s;   w -= lr * buf
        otherwise: w -= lr * g / s
    """
    g = effective_grad(param, grad, weight_decay, maximize, tmp)
    square_avg *= alpha
    sq = np.multiply(g, 1 - alpha, out=tmp2)
    sq *= g
    square_avg += sq
    if centered:
        lerp_(grad_avg, g, 1 - alpha, tmp2)
        avg = np.multiply(grad_avg, grad_avg, out=tmp2)
        np.subtract(square_avg, avg, out=avg)
        np.sqrt(avg, out=avg)
    else:
        avg = np.sqrt(square_avg, out=tmp2)
    avg += eps
    if momentum > 0:
        buf *= momentum
        buf += np.divide(g, avg, out=avg)
        param += np.multiply(buf, -lr, out=avg)
    else:
        update = np.multiply(g, -lr, out=tmp)
        update /= avg
        param += update


class RMSprop(Optimizer):
    """RMSprop (Hinton), like ``torch.optim.RMSprop``; the update is in :func:`rmsprop_update`.

    Args: ``lr=1e-2``, ``alpha=0.99``, ``eps=1e-8``, ``weight_decay=0``, ``momentum=0``,
    ``centered=False``, ``maximize=False``.

        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = cr.optim.RMSprop([w], lr=0.001, momentum=0.9)
        >>> for _ in range(2):                  # two steps on sum(w ** 2)
        ...     opt.zero_grad(); (w ** 2).sum().backward(); opt.step()
        >>> w                                   # torch.optim.RMSprop's numbers
        tensor([ 0.9739, -1.9739], requires_grad=True)
    """

    implementation_flags = ("foreach", "capturable", "differentiable")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, maximize=False):
        check_hyper("learning rate", lr)
        check_hyper("epsilon value", eps)
        check_hyper("momentum value", momentum)
        check_hyper("weight_decay value", weight_decay)
        check_hyper("alpha value", alpha)
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    update = staticmethod(rmsprop_update)
    update_takes_step = False  # torch counts RMSprop's steps, the update does not use them

    def _hyper(self, group):
        return dict(lr=float(group["lr"]), alpha=float(group["alpha"]), eps=float(group["eps"]),
                    weight_decay=float(group["weight_decay"]),
                    momentum=float(group["momentum"]), centered=group["centered"],
                    maximize=group["maximize"])

    def _state_spec(self, group):
        return (("square_avg", 0),
                ("grad_avg", 0) if group["centered"] else None,
                ("momentum_buffer", 0) if group["momentum"] > 0 else None)
